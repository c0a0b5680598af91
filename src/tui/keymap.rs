//! The one table of key bindings: `(context, key, action, description)`. The
//! app loop resolves keys through it, and the bottom bar and the help screen
//! are drawn from it, so what is shown is what works. Entries can be
//! overridden by action name (`approve = "y"`) from the settings file.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use super::state::Pane;

/// Where a binding applies. A pane's bindings are looked up first, then
/// `Global`; dialogs, help and text fields see only their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Pane(Pane),
    Dialog,
    Help,
    /// A text field has the keys: filter, palette, form field.
    Text,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Pane(p) => p.title(),
            Context::Dialog => "Confirmation",
            Context::Help => "Help",
            Context::Text => "Typing (filter, command, field)",
        }
    }
}

/// A key with its modifiers, normalised: Shift is folded into the character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub const fn new(code: KeyCode, mods: KeyModifiers) -> Key {
        Key { code, mods }
    }
    pub const fn plain(code: KeyCode) -> Key {
        Key::new(code, KeyModifiers::NONE)
    }
    pub const fn ch(c: char) -> Key {
        Key::plain(KeyCode::Char(c))
    }
    pub const fn ctrl(c: char) -> Key {
        Key::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    pub fn from_event(ev: &KeyEvent) -> Key {
        let mut mods =
            ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match ev.code {
            KeyCode::Char(c) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::Char(c)
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, mods }
    }

    /// `q`, `Q`, `ctrl-s`, `alt-x`, `enter`, `esc`, `tab`, `shift-tab`,
    /// `space`, `up`, `pgdn`, `home`, `f5`.
    pub fn parse(s: &str) -> Option<Key> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.chars().count() > 1 && lower.starts_with("ctrl-") {
                mods |= KeyModifiers::CONTROL;
                rest = &rest[5..];
            } else if rest.chars().count() > 1 && lower.starts_with("alt-") {
                mods |= KeyModifiers::ALT;
                rest = &rest[4..];
            } else if lower == "shift-tab" || lower == "backtab" {
                return Some(Key::new(KeyCode::BackTab, mods));
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(if mods.contains(KeyModifiers::CONTROL) {
                c.to_ascii_lowercase()
            } else {
                c
            }),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pagedown" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                f if f.starts_with('f') => {
                    KeyCode::F(f[1..].parse().ok().filter(|n| (1..=24).contains(n))?)
                }
                _ => return None,
            },
        };
        Some(Key::new(code, mods))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("del"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::F(n) => write!(f, "f{n}"),
            _ => f.write_str("?"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub context: Context,
    pub key: Key,
    pub action: Action,
    pub desc: &'static str,
    /// Shown in the bottom bar of its pane.
    pub bar: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

/// Ctrl-C quits whatever the table says.
const HARD_QUIT: Key = Key::ctrl('c');

impl Default for Keymap {
    fn default() -> Self {
        Keymap {
            bindings: default_bindings(),
        }
    }
}

impl Keymap {
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The action of `key` in `ctx`: the context's own binding first, then,
    /// for panes, the global one. Ctrl-C always quits.
    pub fn resolve(&self, ctx: Context, key: Key) -> Option<Action> {
        if key == HARD_QUIT {
            return Some(Action::ForceQuit);
        }
        let find = |c: Context| {
            self.bindings
                .iter()
                .find(|b| b.context == c && b.key == key)
                .map(|b| b.action.clone())
        };
        match ctx {
            Context::Pane(_) => find(ctx).or_else(|| find(Context::Global)),
            _ => find(ctx),
        }
    }

    /// The keys of `action` in `ctx` (for hints such as "press x to apply").
    pub fn keys_for(&self, ctx: Context, action: &Action) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|b| b.context == ctx && &b.action == action)
            .map(|b| b.key)
            .collect()
    }

    /// The first key of `action`, looked up in `ctx` then globally, as text.
    pub fn hint(&self, ctx: Context, action: &Action) -> String {
        self.keys_for(ctx, action)
            .into_iter()
            .chain(self.keys_for(Context::Global, action))
            .next()
            .map(|k| k.to_string())
            .unwrap_or_else(|| format!(":{}", action.name()))
    }

    /// Bindings of `ctx` grouped by action, in table order: `(keys, desc, bar)`.
    pub fn grouped(&self, ctx: Context) -> Vec<(Vec<Key>, &'static str, bool)> {
        let mut out: Vec<(Action, Vec<Key>, &'static str, bool)> = Vec::new();
        for b in self.bindings.iter().filter(|b| b.context == ctx) {
            match out.iter_mut().find(|(a, ..)| a == &b.action) {
                Some((_, keys, _, _)) => keys.push(b.key),
                None => out.push((b.action.clone(), vec![b.key], b.desc, b.bar)),
            }
        }
        out.into_iter().map(|(_, k, d, bar)| (k, d, bar)).collect()
    }

    /// Rebind actions by name: `{"approve": "y", "apply": "ctrl-a"}`; several
    /// keys may be given separated by spaces. Returns what could not be
    /// applied, in words; the rest is applied.
    pub fn with_overrides(mut self, overrides: &BTreeMap<String, String>) -> (Keymap, Vec<String>) {
        let mut problems = Vec::new();
        for (name, spec) in overrides {
            let contexts: Vec<(Context, Action, &'static str, bool)> = {
                let mut seen: Vec<(Context, Action, &'static str, bool)> = Vec::new();
                for b in self.bindings.iter().filter(|b| b.action.name() == name) {
                    if !seen.iter().any(|(c, ..)| *c == b.context) {
                        seen.push((b.context, b.action.clone(), b.desc, b.bar));
                    }
                }
                seen
            };
            if contexts.is_empty() {
                problems.push(format!("keys.{name}: no such action (see ? for the names)"));
                continue;
            }
            let keys: Option<Vec<Key>> = spec.split_whitespace().map(Key::parse).collect();
            let keys = match keys {
                Some(k) if !k.is_empty() => k,
                _ => {
                    problems.push(format!("keys.{name} = {spec:?}: not a key (try \"x\", \"ctrl-s\", \"f5\", \"enter\")"));
                    continue;
                }
            };
            if keys.contains(&HARD_QUIT) {
                problems.push(format!(
                    "keys.{name}: ctrl-c always quits and cannot be rebound"
                ));
                continue;
            }
            self.bindings.retain(|b| b.action.name() != name);
            for (ctx, action, desc, bar) in contexts {
                for key in &keys {
                    if let Some(pos) = self
                        .bindings
                        .iter()
                        .position(|b| b.context == ctx && b.key == *key)
                    {
                        let old = self.bindings.remove(pos);
                        problems.push(format!(
                            "keys.{name}: {key} no longer does \"{}\"",
                            old.desc
                        ));
                    }
                    self.bindings.push(Binding {
                        context: ctx,
                        key: *key,
                        action: action.clone(),
                        desc,
                        bar,
                    });
                }
            }
        }
        (self, problems)
    }
}

fn default_bindings() -> Vec<Binding> {
    use Context::*;
    use KeyCode as K;
    let mut v = Vec::new();
    let mut add =
        |context: Context, keys: &[Key], action: Action, desc: &'static str, bar: bool| {
            for key in keys {
                v.push(Binding {
                    context,
                    key: *key,
                    action: action.clone(),
                    desc,
                    bar,
                });
            }
        };
    let k = Key::plain;
    let c = Key::ch;

    add(Global, &[c('q')], Action::Quit, "quit", true);
    add(
        Global,
        &[Key::ctrl('c')],
        Action::ForceQuit,
        "quit at once",
        false,
    );
    add(Global, &[c('?')], Action::Help, "help", true);
    add(Global, &[c(':')], Action::Palette, "command", false);
    add(Global, &[k(K::Tab)], Action::NextPane, "next pane", false);
    add(
        Global,
        &[k(K::BackTab)],
        Action::PrevPane,
        "previous pane",
        false,
    );
    for p in super::state::Pane::ALL {
        add(
            Global,
            &[c(p.digit())],
            Action::GoTo(p),
            p.goto_desc(),
            false,
        );
    }
    add(Global, &[k(K::Up), c('k')], Action::Up, "up", false);
    add(Global, &[k(K::Down), c('j')], Action::Down, "down", false);
    add(Global, &[k(K::Left), c('h')], Action::Left, "left", false);
    add(
        Global,
        &[k(K::Right), c('l')],
        Action::Right,
        "right",
        false,
    );
    add(
        Global,
        &[k(K::PageUp), Key::ctrl('b')],
        Action::PageUp,
        "page up",
        false,
    );
    add(
        Global,
        &[k(K::PageDown), Key::ctrl('f')],
        Action::PageDown,
        "page down",
        false,
    );
    add(
        Global,
        &[c('g'), k(K::Home)],
        Action::Top,
        "first row",
        false,
    );
    add(
        Global,
        &[c('G'), k(K::End)],
        Action::Bottom,
        "last row",
        false,
    );
    add(Global, &[k(K::Esc)], Action::Back, "back", false);
    add(Global, &[k(K::Enter)], Action::Enter, "open", false);
    add(
        Global,
        &[c('8')],
        Action::History,
        "history: the audit log (in the Log pane)",
        false,
    );
    add(
        Global,
        &[c('s')],
        Action::SyncEmployees,
        "sync employees now",
        false,
    );
    add(
        Global,
        &[c('S')],
        Action::SyncDefinitions,
        "sync definitions now",
        false,
    );
    add(
        Global,
        &[c('p')],
        Action::TogglePause,
        "pause or resume the jobs",
        false,
    );

    let emp = Pane(super::state::Pane::Employees);
    add(emp, &[c('/')], Action::Filter, "filter", true);
    add(emp, &[k(K::Enter)], Action::Enter, "trace", true);
    add(emp, &[c('d')], Action::Details, "details", true);
    add(emp, &[c('s')], Action::SyncEmployees, "sync now", true);

    let ch = Pane(super::state::Pane::Changes);
    add(ch, &[c('a')], Action::Approve, "approve", true);
    add(ch, &[c('r')], Action::Reject, "reject", true);
    add(ch, &[c('v')], Action::Visual, "select", true);
    add(ch, &[c('A')], Action::ApproveAll, "approve all", true);
    add(ch, &[c('R')], Action::RejectAll, "reject all", false);
    add(ch, &[c('x')], Action::Apply, "apply", true);
    add(ch, &[c('s')], Action::SyncEmployees, "plan again", false);

    let def = Pane(super::state::Pane::Definitions);
    add(
        def,
        &[k(K::Left), c('h'), k(K::Right), c('l')],
        Action::Right,
        "groups / readers",
        true,
    );
    add(def, &[c('o')], Action::OpenDoor, "open door", true);
    add(def, &[c('a')], Action::Approve, "approve removal", false);
    add(def, &[c('r')], Action::Reject, "reject removal", false);
    add(def, &[c('v')], Action::Visual, "select removals", false);
    add(
        def,
        &[c('A')],
        Action::ApproveAll,
        "approve all removals",
        false,
    );
    add(
        def,
        &[c('R')],
        Action::RejectAll,
        "reject all removals",
        false,
    );
    add(def, &[c('x')], Action::Apply, "apply removals", false);
    add(def, &[c('S')], Action::SyncDefinitions, "sync now", true);

    let bk = Pane(super::state::Pane::Bookings);
    add(
        bk,
        &[k(K::Enter)],
        Action::Enter,
        "trace: what became of the swipe",
        false,
    );
    add(bk, &[c('f')], Action::ToggleFollow, "follow/freeze", true);
    add(bk, &[c('/')], Action::Filter, "filter", true);
    add(bk, &[c('c')], Action::RollCallView, "roll call", true);
    add(
        bk,
        &[c('a')],
        Action::AstrowToPacView,
        "Astrow→PAC / PAC→Astrow",
        false,
    );
    add(
        bk,
        &[c('X')],
        Action::ResetCursor,
        "reset event cursor",
        true,
    );

    let st = Pane(super::state::Pane::Settings);
    add(st, &[k(K::Enter), c('e')], Action::Enter, "edit", true);
    add(st, &[Key::ctrl('s'), c('w')], Action::Save, "save", true);
    add(
        st,
        &[c('t')],
        Action::TestConnection,
        "test connections",
        true,
    );
    add(st, &[c('u')], Action::Discard, "discard", true);

    let lg = Pane(super::state::Pane::Log);
    add(lg, &[c('l')], Action::LogLevel, "level", true);
    add(lg, &[c('f')], Action::ToggleFollow, "follow", true);
    add(lg, &[c('/')], Action::Filter, "filter", true);
    add(
        lg,
        &[c('H')],
        Action::ToggleHistory,
        "history (audit log)",
        true,
    );

    // Arrows move without wrapping: Left ends on "No" (the safe answer,
    // leftmost), Right on the yes answer; Tab toggles.
    add(Dialog, &[k(K::Left), c('h')], Action::Left, "No", true);
    add(Dialog, &[k(K::Right), c('l')], Action::Right, "Yes", true);
    add(
        Dialog,
        &[k(K::Tab)],
        Action::ToggleChoice,
        "No / Yes",
        false,
    );
    add(
        Dialog,
        &[k(K::Enter)],
        Action::Enter,
        "answer the highlighted one",
        true,
    );
    add(Dialog, &[c('y')], Action::Yes, "yes", true);
    add(Dialog, &[c('n'), k(K::Esc)], Action::No, "no", true);

    add(
        Help,
        &[k(K::Esc), c('?'), c('q')],
        Action::Back,
        "close",
        true,
    );
    add(Help, &[k(K::Up), c('k')], Action::Up, "scroll up", false);
    add(
        Help,
        &[k(K::Down), c('j')],
        Action::Down,
        "scroll down",
        false,
    );
    add(Help, &[k(K::PageUp)], Action::PageUp, "page up", false);
    add(
        Help,
        &[k(K::PageDown)],
        Action::PageDown,
        "page down",
        false,
    );

    add(Text, &[k(K::Enter)], Action::Enter, "accept", true);
    add(
        Text,
        &[Key::ctrl('s')],
        Action::Save,
        "keep and save (settings)",
        false,
    );
    add(Text, &[k(K::Esc)], Action::Back, "cancel", true);
    add(
        Text,
        &[k(K::Up), k(K::BackTab)],
        Action::Up,
        "previous suggestion or field",
        false,
    );
    add(
        Text,
        &[k(K::Down), k(K::Tab)],
        Action::Down,
        "next suggestion or field",
        false,
    );
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_print() {
        assert_eq!(Key::parse("ctrl-s"), Some(Key::ctrl('s')));
        assert_eq!(Key::parse("A"), Some(Key::ch('A')));
        assert_eq!(Key::parse("shift-tab"), Some(Key::plain(KeyCode::BackTab)));
        assert_eq!(Key::parse("f5"), Some(Key::plain(KeyCode::F(5))));
        assert_eq!(Key::parse("space"), Some(Key::ch(' ')));
        assert_eq!(Key::parse("nonsense"), None);
        assert_eq!(Key::ctrl('s').to_string(), "ctrl-s");
    }

    #[test]
    fn shifted_letters_match_their_binding() {
        let ev = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&ev), Key::ch('G'));
    }

    #[test]
    fn pane_bindings_win_over_global_ones() {
        let km = Keymap::default();
        let ch = Context::Pane(Pane::Changes);
        assert_eq!(km.resolve(ch, Key::ch('a')), Some(Action::Approve));
        assert_eq!(km.resolve(ch, Key::ch('q')), Some(Action::Quit));
        assert_eq!(km.resolve(Context::Dialog, Key::ch('q')), None);
        assert_eq!(
            km.resolve(Context::Text, Key::ctrl('c')),
            Some(Action::ForceQuit)
        );
    }

    #[test]
    fn overrides_rebind_by_action_name() {
        let mut o = BTreeMap::new();
        o.insert("approve".to_string(), "y".to_string());
        o.insert("nope".to_string(), "z".to_string());
        o.insert("quit".to_string(), "ctrl-c".to_string());
        let (km, problems) = Keymap::default().with_overrides(&o);
        let ch = Context::Pane(Pane::Changes);
        assert_eq!(km.resolve(ch, Key::ch('y')), Some(Action::Approve));
        assert_eq!(km.resolve(ch, Key::ch('a')), None);
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
