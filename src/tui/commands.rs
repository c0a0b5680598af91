//! The command palette's commands: typed after `:`, each an action.

use super::action::Action;
use super::state::Pane;

pub struct PaletteCommand {
    pub name: &'static str,
    pub desc: &'static str,
    pub action: Action,
}

pub fn all() -> Vec<PaletteCommand> {
    let c = |name, desc, action| PaletteCommand { name, desc, action };
    let mut v = vec![
        c(
            "sync employees",
            "run the employee sync now",
            Action::SyncEmployees,
        ),
        c(
            "sync definitions",
            "run the access group and reader sync now",
            Action::SyncDefinitions,
        ),
        c(
            "apply",
            "apply the approved changes (asks first)",
            Action::Apply,
        ),
        c(
            "approve all",
            "approve every pending change",
            Action::ApproveAll,
        ),
        c(
            "reject all",
            "reject every pending change",
            Action::RejectAll,
        ),
        c("pause", "pause the jobs", Action::TogglePause),
        c("resume", "resume the jobs", Action::TogglePause),
        c("rollcall start", "start a roll call", Action::StartRollCall),
        c("rollcall stop", "stop the roll call", Action::StopRollCall),
        c(
            "reload settings",
            "ask the engine to read the settings file again",
            Action::ReloadSettings,
        ),
        c(
            "test connection",
            "try both systems with the settings in the form",
            Action::TestConnection,
        ),
        c("save", "save the settings form", Action::Save),
        c(
            "rebind store",
            "bind the store to the PAC and Astrow the settings name, forgetting the old site's links and plans (asks first)",
            Action::RebindStore,
        ),
        c(
            "history",
            "the audit log: who changed what, when, with what result (/ employee:pac:ID or employee:astrow:ID picks one employee)",
            Action::History,
        ),
        c("help", "show every key", Action::Help),
        c("quit", "leave the console", Action::Quit),
    ];
    for p in Pane::ALL {
        v.push(c(pane_command(p), p.goto_desc(), Action::GoTo(p)));
    }
    v
}

fn pane_command(p: Pane) -> &'static str {
    match p {
        Pane::Overview => "overview",
        Pane::Employees => "employees",
        Pane::Changes => "changes",
        Pane::Definitions => "definitions",
        Pane::Bookings => "bookings",
        Pane::Settings => "settings",
        Pane::Log => "log",
    }
}

fn normalise(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Commands matching what was typed: exact or prefix matches first, then
/// those containing every typed word.
pub fn suggest(typed: &str) -> Vec<PaletteCommand> {
    let t = normalise(typed);
    let words: Vec<&str> = t.split(' ').filter(|w| !w.is_empty()).collect();
    let mut all = all();
    if t.is_empty() {
        return all;
    }
    all.retain(|c| words.iter().all(|w| c.name.contains(w)));
    all.sort_by_key(|c| !c.name.starts_with(&t));
    all
}

/// The action of a typed command (exact name, or the only match).
pub fn parse(typed: &str) -> Option<Action> {
    let t = normalise(typed);
    let t = t.strip_prefix(':').unwrap_or(&t).trim().to_string();
    if t == "q" || t == "q!" {
        return Some(Action::Quit);
    }
    let all = all();
    if let Some(c) = all.iter().find(|c| c.name == t) {
        return Some(c.action.clone());
    }
    let found = suggest(&t);
    match found.as_slice() {
        [one] => Some(one.action.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(parse("sync employees"), Some(Action::SyncEmployees));
        assert_eq!(
            parse("  Sync   Definitions "),
            Some(Action::SyncDefinitions)
        );
        assert_eq!(parse("q"), Some(Action::Quit));
        assert_eq!(parse("pau"), Some(Action::TogglePause));
        assert_eq!(parse("sync"), None);
        assert_eq!(parse("frobnicate"), None);
        assert_eq!(suggest("sync")[0].name, "sync employees");
    }
}
