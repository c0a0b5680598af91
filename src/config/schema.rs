//! What a setting is: the row type of the settings table (`table.rs`) and
//! what is derived from the table alone (lookups, ordering, the README
//! reference, which changes need a restart). Reading, saving, validation and
//! the console's form all walk the same table; adding a setting is one row
//! there plus its field in `settings.rs`.

use std::path::PathBuf;

use super::settings::{ReaderSettings, Secret, SettingEnum, Settings};
use crate::model::Direction;

pub use super::table::SETTINGS;

/// A setting's value as the table's accessors hand it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An optional setting left out.
    Unset,
    Text(String),
    Path(PathBuf),
    Int(u64),
    Bool(bool),
    /// `Debug` prints `***`.
    Secret(Secret),
}

impl Value {
    /// The text of a text value (`""` for any other).
    pub fn text(&self) -> &str {
        match self {
            Value::Text(t) => t,
            _ => "",
        }
    }
}

/// How a setting is written in the file and edited in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Text that may be left out.
    OptText,
    Path,
    /// A path that may be left out.
    OptPath,
    /// Text that is never shown.
    Secret,
    /// A whole number in `min..=max`.
    Int {
        min: u64,
        max: u64,
    },
    Bool,
    /// `true`, `false` or left out.
    OptBool,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// `""` (left out) or one of the other words.
    OptChoice(&'static [&'static str]),
}

impl Kind {
    /// Text typed (or a default written) for a setting of this kind as a
    /// value (`None`: not one).
    /// Text is trimmed, except a secret's; empty leaves an optional setting out.
    pub fn value_of(self, v: &str) -> Option<Value> {
        let t = v.trim();
        let optional = matches!(
            self,
            Kind::OptText | Kind::OptPath | Kind::OptBool | Kind::OptChoice(_)
        );
        if optional && t.is_empty() {
            return Some(Value::Unset);
        }
        Some(match self {
            Kind::Secret if v.is_empty() => Value::Unset,
            Kind::Secret => Value::Secret(Secret::new(v)),
            Kind::Path | Kind::OptPath => Value::Path(PathBuf::from(t)),
            Kind::Int { .. } => Value::Int(t.parse().ok()?),
            Kind::Bool | Kind::OptBool => Value::Bool(match t {
                "true" => true,
                "false" => false,
                _ => return None,
            }),
            Kind::Text | Kind::OptText | Kind::Choice(_) | Kind::OptChoice(_) => {
                Value::Text(t.to_string())
            }
        })
    }
}

/// When a changed value takes effect in a running engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// On the next `reload` (the console saves, then reloads).
    Reload,
    /// Only when astrow-pac is started again.
    Restart,
}

/// The rule a single value must follow beyond its kind (ranges and choices
/// are checked from the kind).
#[derive(Clone, Copy)]
pub enum Rule {
    Free,
    /// Must not be empty: "is not set: <hint>".
    Required(&'static str),
    /// May be left out, but not written empty: "is empty: <hint>".
    NotEmpty(&'static str),
    /// The kind's choices, and this refused word gets this hint.
    Refuse(&'static str, &'static str),
    /// A rule of its own (instead of the kind's checks): given the key as
    /// written and the value.
    Own(fn(&str, &Value) -> Option<super::Problem>),
}

/// Where a setting lives in [`Settings`].
#[derive(Clone, Copy)]
pub enum Access {
    Settings {
        get: fn(&Settings) -> Value,
        set: fn(&mut Settings, Value) -> Option<()>,
    },
    /// A field of every `[readers."<serial>"]` table.
    Reader {
        get: fn(&ReaderSettings) -> Value,
        set: fn(&mut ReaderSettings, Value) -> Option<()>,
    },
}

/// One row of the settings table.
#[derive(Clone, Copy)]
pub struct SettingRow {
    /// Dotted key; `<serial>` stands for a reader's serial.
    pub key: &'static str,
    pub kind: Kind,
    /// What the setting accepts, in words fit for an error message.
    pub allowed: &'static str,
    /// The default, in words (a test checks it against `Settings::default()`).
    pub default: &'static str,
    /// What the setting means (the README and the form's help).
    pub meaning: &'static str,
    pub takes: Takes,
    pub rule: Rule,
    pub access: Access,
}

impl std::fmt::Debug for SettingRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettingRow")
            .field("key", &self.key)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl SettingRow {
    /// A secret: its value never appears in a message.
    pub fn secret(&self) -> bool {
        self.kind == Kind::Secret
    }

    /// A field of every reader's table.
    pub fn per_reader(&self) -> bool {
        matches!(self.access, Access::Reader { .. })
    }

    /// The last part of the key (a reader table's field name).
    pub fn field(&self) -> &'static str {
        self.key.rsplit('.').next().unwrap_or(self.key)
    }

    /// The value in `s` (`Unset` for a reader row: see [`get_reader`](Self::get_reader)).
    pub fn get(&self, s: &Settings) -> Value {
        match self.access {
            Access::Settings { get, .. } => get(s),
            Access::Reader { .. } => Value::Unset,
        }
    }

    /// Put `v` into `s`; `None` when `v` is not a value of this setting's type.
    pub fn set(&self, s: &mut Settings, v: Value) -> Option<()> {
        match self.access {
            Access::Settings { set, .. } => set(s, v),
            Access::Reader { .. } => None,
        }
    }

    pub fn get_reader(&self, r: &ReaderSettings) -> Value {
        match self.access {
            Access::Reader { get, .. } => get(r),
            Access::Settings { .. } => Value::Unset,
        }
    }

    pub fn set_reader(&self, r: &mut ReaderSettings, v: Value) -> Option<()> {
        match self.access {
            Access::Reader { set, .. } => set(r, v),
            Access::Settings { .. } => None,
        }
    }
}

/// A Rust type a setting can be held in, converted to and from [`Value`].
pub trait FieldValue: Sized {
    fn to_value(&self) -> Value;
    fn from_value(v: Value) -> Option<Self>;
}

impl FieldValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

impl FieldValue for PathBuf {
    fn to_value(&self) -> Value {
        Value::Path(self.clone())
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Path(p) => Some(p),
            Value::Text(t) => Some(PathBuf::from(t)),
            _ => None,
        }
    }
}

impl FieldValue for Secret {
    fn to_value(&self) -> Value {
        Value::Secret(self.clone())
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Secret(s) => Some(s),
            Value::Text(t) => Some(Secret::new(t)),
            _ => None,
        }
    }
}

impl FieldValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
}

macro_rules! whole_numbers {
    ($($t:ty),+) => {$(
        impl FieldValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(u64::from(*self))
            }
            fn from_value(v: Value) -> Option<Self> {
                match v {
                    Value::Int(n) => <$t>::try_from(n).ok(),
                    _ => None,
                }
            }
        }
    )+};
}
whole_numbers!(u8, u16, u32, u64);

macro_rules! words {
    ($($t:ty),+) => {$(
        impl FieldValue for $t {
            fn to_value(&self) -> Value {
                Value::Text(SettingEnum::as_str(*self).to_string())
            }
            fn from_value(v: Value) -> Option<Self> {
                match v {
                    Value::Text(t) => <$t as SettingEnum>::parse(&t),
                    _ => None,
                }
            }
        }
    )+};
}
words!(
    super::settings::Master,
    super::settings::ApplyMode,
    super::settings::MatchKey,
    Direction
);

impl<T: FieldValue> FieldValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Unset, T::to_value)
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Unset => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// The accessors of a field of [`Settings`] (`on_settings!(pac.port)`).
macro_rules! on_settings {
    ($($f:ident).+) => {
        $crate::config::schema::Access::Settings {
            get: |s| $crate::config::schema::FieldValue::to_value(&s.$($f).+),
            set: |s, v| {
                s.$($f).+ = $crate::config::schema::FieldValue::from_value(v)?;
                Some(())
            },
        }
    };
}

/// The accessors of a field of [`ReaderSettings`] (`on_reader!(booking)`).
macro_rules! on_reader {
    ($f:ident) => {
        $crate::config::schema::Access::Reader {
            get: |r| $crate::config::schema::FieldValue::to_value(&r.$f),
            set: |r, v| {
                r.$f = $crate::config::schema::FieldValue::from_value(v)?;
                Some(())
            },
        }
    };
}
pub(crate) use {on_reader, on_settings};

/// The row of `key` (`readers."R-1".booking` finds `readers.<serial>.booking`).
pub fn find(key: &str) -> Option<&'static SettingRow> {
    let generic = generic_key(key);
    SETTINGS.iter().find(|d| d.key == generic)
}

/// What `key` accepts (empty when the key is unknown).
pub fn allowed(key: &str) -> &'static str {
    find(key).map(|d| d.allowed).unwrap_or("")
}

/// The rows of `[sections]` (not per reader), in file order.
pub fn fixed() -> impl Iterator<Item = &'static SettingRow> {
    SETTINGS.iter().filter(|d| !d.per_reader())
}

/// The rows of each `[readers."<serial>"]`, in file order.
pub fn per_reader() -> impl Iterator<Item = &'static SettingRow> {
    SETTINGS.iter().filter(|d| d.per_reader())
}

/// `readers."R-1".booking` -> `readers.<serial>.booking`; other keys unchanged.
pub fn generic_key(key: &str) -> String {
    match key.strip_prefix("readers.") {
        Some(rest) => match rest.rsplit_once('.') {
            Some((_, field)) => format!("readers.<serial>.{field}"),
            None => key.to_string(),
        },
        None => key.to_string(),
    }
}

/// `readers."R-0012".field`
pub fn reader_key(serial: &str, field: &str) -> String {
    format!("readers.\"{}\".{field}", serial.replace('"', "\\\""))
}

/// `readers."R-1".booking` -> `("R-1", "booking")`.
pub fn split_reader_key(key: &str) -> Option<(String, &str)> {
    let rest = key.strip_prefix("readers.\"")?;
    let (serial, field) = rest.rsplit_once("\".")?;
    Some((serial.replace("\\\"", "\""), field))
}

/// Where `key` sorts: its section's place in the reference, then its own
/// (unknown keys last in their section, unknown sections last).
pub fn order(key: &str) -> (usize, usize) {
    let generic = generic_key(key);
    let section = generic.split('.').next().unwrap_or("");
    let end = SETTINGS.len();
    let in_section = |d: &&SettingRow| d.key.split('.').next() == Some(section);
    let section_at = SETTINGS.iter().position(|d| in_section(&d)).unwrap_or(end);
    let at = SETTINGS
        .iter()
        .position(|d| d.key == generic)
        .unwrap_or(end);
    (section_at, at)
}

/// Put every setting whose default the table gives in words that are a
/// value ("8443", "false") into `s`; "required ..." and "not set ..." are
/// the empty value `s` already holds.
pub(crate) fn set_defaults(s: &mut Settings) {
    for row in fixed() {
        if let Some(v) = default_value(row) {
            // A default the row does not take is caught by the table's test.
            let _ = row.set(s, v);
        }
    }
}

/// The row's default as a value (`None`: "required ..." or "not set ...").
fn default_value(row: &SettingRow) -> Option<Value> {
    let words = row.default;
    if words.starts_with("required") || words.starts_with("not set") {
        return None;
    }
    row.kind.value_of(words)
}

/// The settings that take effect only at a restart and differ between
/// `old` and `new`, by key.
pub fn restart_changes(old: &Settings, new: &Settings) -> Vec<&'static str> {
    fixed()
        .filter(|d| d.takes == Takes::Restart && d.get(old) != d.get(new))
        .map(|d| d.key)
        .collect()
}

/// The settings reference as a Markdown table (the README embeds it).
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "| setting | accepts | default | takes effect | meaning |\n|---|---|---|---|---|\n",
    );
    for d in SETTINGS {
        let takes = match d.takes {
            Takes::Reload => "on reload",
            Takes::Restart => "at restart",
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            d.key, d.allowed, d.default, takes, d.meaning
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_reader_keys_generalise() {
        let mut keys: Vec<_> = SETTINGS.iter().map(|d| d.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), SETTINGS.len());
        assert_eq!(
            generic_key("readers.\"R-1.2\".booking"),
            "readers.<serial>.booking"
        );
        assert!(find("readers.\"R-0012\".direction").is_some());
        assert_eq!(
            split_reader_key(&reader_key("R\"1", "booking")),
            Some(("R\"1".to_string(), "booking"))
        );
    }

    /// Every row's accessors agree with its kind: the default's value is of
    /// the kind, and each choice the kind offers is taken and given back.
    #[test]
    fn every_row_holds_a_value_of_its_kind() {
        let s = Settings::default();
        let r = ReaderSettings::default();
        for d in SETTINGS {
            let v = if d.per_reader() {
                d.get_reader(&r)
            } else {
                d.get(&s)
            };
            let fits = matches!(
                (d.kind, &v),
                (Kind::Text | Kind::Choice(_), Value::Text(_))
                    | (Kind::Path, Value::Path(_))
                    | (Kind::Int { .. }, Value::Int(_))
                    | (Kind::Bool, Value::Bool(_))
                    | (
                        Kind::OptText
                            | Kind::OptPath
                            | Kind::Secret
                            | Kind::OptBool
                            | Kind::OptChoice(_),
                        Value::Unset,
                    )
            );
            assert!(fits, "{}: {v:?} is not a {:?}", d.key, d.kind);
            if let Kind::Choice(words) | Kind::OptChoice(words) = d.kind {
                for w in words.iter().filter(|w| !w.is_empty()) {
                    let (mut s, mut r) = (s.clone(), r.clone());
                    let v = Value::Text(w.to_string());
                    let back = if d.per_reader() {
                        d.set_reader(&mut r, v.clone()).map(|()| d.get_reader(&r))
                    } else {
                        d.set(&mut s, v.clone()).map(|()| d.get(&s))
                    };
                    assert_eq!(back, Some(v), "{}: {w}", d.key);
                }
            }
            if let Kind::Int { min, max } = d.kind {
                for n in [min, max] {
                    let mut s = s.clone();
                    assert_eq!(d.set(&mut s, Value::Int(n)), Some(()), "{}: {n}", d.key);
                    assert_eq!(d.get(&s), Value::Int(n), "{}", d.key);
                }
            }
        }
    }

    /// `Settings::default()` comes from the table's words: each is a value
    /// the row takes, or says the setting is required or not set.
    #[test]
    fn every_default_in_words_is_taken() {
        for d in SETTINGS {
            let words = d.default;
            if words.starts_with("required") || words.starts_with("not set") {
                continue;
            }
            let v = d.kind.value_of(words);
            assert!(v.is_some(), "{}: default {words:?}", d.key);
            let taken = match v {
                Some(v) if d.per_reader() => d.set_reader(&mut ReaderSettings::default(), v),
                Some(v) => d.set(&mut Settings::default(), v),
                None => None,
            };
            assert_eq!(taken, Some(()), "{}: default {words:?}", d.key);
        }
    }

    #[test]
    fn restart_changes_name_only_restart_settings() {
        let old = Settings::default();
        let mut new = old.clone();
        new.sync.employee_interval_s = 60;
        assert!(restart_changes(&old, &new).is_empty());
        new.pac.port = 9443;
        new.log.level = "debug".into();
        assert_eq!(restart_changes(&old, &new), ["pac.port", "log.level"]);
    }
}
