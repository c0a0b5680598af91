//! The Settings pane's form: one field per setting, edited in place,
//! checked as typed with `config::validate` (the rules of `check`), saved
//! with `config::save` (comments kept, atomic, owner-only).

use std::path::{Path, PathBuf};

use tui_input::Input;

use crate::config::schema::{self, Kind, Value, reader_key, split_reader_key};
use crate::config::{ReaderSettings, Settings};

use super::list::ListState;
use super::safe_text::SafeText;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Number,
    Bool,
    Choice(&'static [&'static str]),
    Path,
    Secret,
}

/// `Debug` is written by hand: a secret field's text never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Field {
    pub key: String,
    pub kind: FieldKind,
    pub help: String,
    pub value: String,
    pub original: String,
    pub problem: Option<String>,
}

impl Field {
    pub fn changed(&self) -> bool {
        self.value != self.original
    }
}

/// `Debug` is written by hand: the text being typed may be a password.
#[derive(Clone, Default)]
pub struct SettingsState {
    pub fields: Vec<Field>,
    pub list: ListState,
    pub editing: Option<Input>,
    /// No settings file yet: show the guide.
    pub first_run: bool,
    /// Why the file could not be read (the form is then not saved).
    pub load_error: Option<String>,
    /// Problems the file had when read (the form shows defaults for those);
    /// they quote the file, so they are cleaned.
    pub file_problems: Vec<SafeText>,
    /// Problems that belong to no single field.
    pub general: Vec<SafeText>,
    /// The settings as read: what the form does not show is kept from here.
    pub base: Settings,
    /// The last connection test, in words (a server's answer: cleaned).
    pub test_result: Option<(bool, SafeText)>,
}

impl SettingsState {
    pub fn dirty(&self) -> bool {
        self.fields.iter().any(Field::changed)
    }
    pub fn problems(&self) -> usize {
        self.fields.iter().filter(|f| f.problem.is_some()).count() + self.general.len()
    }
    /// The settings the form describes, or the first field that cannot be read.
    pub fn to_settings(&self) -> Result<Settings, (String, String)> {
        let mut s = self.base.clone();
        for f in &self.fields {
            set(&mut s, &f.key, &f.value).map_err(|m| (f.key.clone(), m))?;
        }
        Ok(s)
    }
}

/// What `Debug` shows of a field's text: secrets as `***`.
fn shown_text(kind: FieldKind, text: &str) -> &str {
    if kind == FieldKind::Secret && !text.is_empty() {
        "***"
    } else {
        text
    }
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field")
            .field("key", &self.key)
            .field("kind", &self.kind)
            .field("value", &shown_text(self.kind, &self.value))
            .field("original", &shown_text(self.kind, &self.original))
            .field("problem", &self.problem)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SettingsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettingsState")
            .field("fields", &self.fields)
            .field("selected", &self.list.selected)
            .field("editing", &self.editing.as_ref().map(|_| "(text withheld)"))
            .field("first_run", &self.first_run)
            .field("load_error", &self.load_error)
            .field("general", &self.general)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

const OPT_BOOL: &[&str] = &["", "true", "false"];

/// How the form edits a setting of `kind`.
fn field_kind(kind: Kind) -> FieldKind {
    match kind {
        Kind::Text | Kind::OptText => FieldKind::Text,
        Kind::Path | Kind::OptPath => FieldKind::Path,
        Kind::Secret => FieldKind::Secret,
        Kind::Int { .. } => FieldKind::Number,
        Kind::Bool => FieldKind::Bool,
        Kind::OptBool => FieldKind::Choice(OPT_BOOL),
        Kind::Choice(words) | Kind::OptChoice(words) => FieldKind::Choice(words),
    }
}

fn help_for(key: &str, kind: FieldKind) -> String {
    let mut h = match schema::find(key) {
        Some(d) => format!(
            "{}. Accepts {}. Default: {}.",
            capital(d.meaning),
            d.allowed,
            d.default
        ),
        None => String::new(),
    };
    match kind {
        FieldKind::Bool | FieldKind::Choice(_) => h.push_str(" Enter switches the value."),
        FieldKind::Secret => {
            h.push_str(" Enter types a new one; an empty entry keeps the current one.")
        }
        _ => h.push_str(" Enter edits; Enter again keeps, Esc cancels."),
    }
    h
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A value as the form shows it (`""`: not set).
fn text_of(v: Value) -> String {
    match v {
        Value::Unset => String::new(),
        Value::Text(t) => t,
        Value::Path(p) => p.display().to_string(),
        Value::Int(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Secret(s) => s.expose().to_string(),
    }
}

/// The text of `key` in `s`.
pub fn get(s: &Settings, key: &str) -> String {
    if let Some((serial, field)) = split_reader_key(key) {
        let r = s.readers.get(&serial).cloned().unwrap_or_default();
        let row = schema::per_reader().find(|d| d.field() == field);
        return row.map(|d| text_of(d.get_reader(&r))).unwrap_or_default();
    }
    schema::fixed()
        .find(|d| d.key == key)
        .map(|d| text_of(d.get(s)))
        .unwrap_or_default()
}

fn wrong(key: &str) -> String {
    format!("expected {}", schema::allowed(key))
}

/// Put the text `v` of `key` into `s`.
pub fn set(s: &mut Settings, key: &str, v: &str) -> Result<(), String> {
    if let Some((serial, field)) = split_reader_key(key) {
        let Some(row) = schema::per_reader().find(|d| d.field() == field) else {
            return Err(format!("{key} is not a setting"));
        };
        let value = row.kind.value_of(v).ok_or_else(|| wrong(key))?;
        // A reader left at its defaults gets no table in the file.
        let default = row.get_reader(&ReaderSettings::default());
        if value == default && !s.readers.contains_key(&serial) {
            return Ok(());
        }
        let r = s.readers.entry(serial).or_default();
        return row.set_reader(r, value).ok_or_else(|| wrong(key));
    }
    let Some(row) = schema::fixed().find(|d| d.key == key) else {
        return Err(format!("{key} is not a setting"));
    };
    let value = row.kind.value_of(v).ok_or_else(|| wrong(key))?;
    row.set(s, value).ok_or_else(|| wrong(key))
}

/// The form for `s`, with a field per setting and per reader setting of
/// every reader in `s` and in `serials` (readers PAC reported).
pub fn fields_for(s: &Settings, serials: &[String]) -> Vec<Field> {
    let mut out: Vec<Field> = schema::fixed()
        .map(|d| {
            let value = get(s, d.key);
            let kind = field_kind(d.kind);
            Field {
                key: d.key.to_string(),
                kind,
                help: help_for(d.key, kind),
                original: value.clone(),
                value,
                problem: None,
            }
        })
        .collect();
    let mut all: Vec<String> = s.readers.keys().cloned().collect();
    for serial in serials {
        if !all.contains(serial) {
            all.push(serial.clone());
        }
    }
    for serial in all {
        for d in schema::per_reader() {
            let key = reader_key(&serial, d.field());
            let value = get(s, &key);
            let kind = field_kind(d.kind);
            out.push(Field {
                help: help_for(d.key, kind),
                key,
                kind,
                original: value.clone(),
                value,
                problem: None,
            });
        }
    }
    out
}

/// Add the reader fields of serials PAC reported that the form lacks (a
/// form that was not read, e.g. behind a broken file, stays as it is).
pub fn add_readers(state: &mut SettingsState, serials: &[String]) {
    if state.fields.is_empty() {
        return;
    }
    let missing: Vec<String> = serials
        .iter()
        .filter(|s| {
            !state
                .fields
                .iter()
                .any(|f| f.key == reader_key(s, "booking"))
        })
        .cloned()
        .collect();
    if missing.is_empty() {
        return;
    }
    let extra = fields_for(&Settings::default(), &missing);
    state
        .fields
        .extend(extra.into_iter().filter(|f| f.key.starts_with("readers.")));
    validate(state, None);
}

/// Check every field (the field being typed at `draft`'s text): first that
/// it reads as its kind, then `config::validate` on the whole.
pub fn validate(state: &mut SettingsState, draft: Option<(usize, String)>) {
    let mut s = state.base.clone();
    state.general.clear();
    for (i, f) in state.fields.iter_mut().enumerate() {
        let text = match &draft {
            Some((d, t)) if *d == i => t.as_str(),
            _ => f.value.as_str(),
        };
        f.problem = set(&mut s, &f.key, text).err();
    }
    for p in crate::config::validate(&s, false) {
        match state.fields.iter_mut().find(|f| f.key == p.setting) {
            Some(f) if f.problem.is_none() => f.problem = Some(p.message),
            Some(_) => {}
            None => state
                .general
                .push(format!("{}: {}", p.setting, p.message).into()),
        }
    }
}

/// The file has been written: what is in the form is now the original.
///
/// `saved` is the form as it was written: edits typed while the file was
/// being written stay edits.
pub fn mark_saved(state: &mut SettingsState, saved: &SettingsState) {
    if let Ok(s) = saved.to_settings() {
        state.base = s;
    }
    for f in &mut state.fields {
        if let Some(w) = saved.fields.iter().find(|w| w.key == f.key) {
            f.original = w.value.clone();
        }
    }
    state.first_run = false;
    state.file_problems.clear();
}

/// Fill the form from the settings file (or mark a first run).
pub fn load_into(state: &mut SettingsState, path: &Path, serials: &[String]) {
    state.load_error = None;
    state.file_problems.clear();
    let base = match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            state.first_run = true;
            Settings::default()
        }
        Err(e) => {
            state.load_error = Some(format!("cannot read {}: {e}", path.display()));
            Settings::default()
        }
        Ok(text) => match crate::config::parse(&text) {
            Ok((s, problems)) => {
                state.file_problems = problems.iter().map(|p| p.to_string().into()).collect();
                s
            }
            Err(p) => {
                state.load_error = Some(format!("{} is not valid TOML: {p}", path.display()));
                Settings::default()
            }
        },
    };
    state.fields = fields_for(&base, serials);
    state.base = base;
    validate(state, None);
}

/// Saves the form to `path` with `config::save`.
pub fn file_saver(path: PathBuf) -> super::SettingsSaver {
    std::sync::Arc::new(move |state: &SettingsState| {
        if let Some(e) = &state.load_error {
            return Err(format!("not saved: {e}"));
        }
        let settings = state
            .to_settings()
            .map_err(|(k, m)| format!("not saved: {k}: {m}"))?;
        crate::config::save(&path, &settings).map_err(|e| format!("not saved: {e}"))?;
        Ok(format!(
            "saved to {}; the engine reloads it",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn the_form_never_prints_the_password() {
        let mut s = Settings::default();
        s.astrow.password = Some(Secret::new("hunter2"));
        let mut state = SettingsState {
            fields: fields_for(&s, &[]),
            base: s,
            ..Default::default()
        };
        state.editing = Some(Input::new("hunter3".into()));
        let text = format!("{state:?}");
        assert!(!text.contains("hunter"), "{text}");
        assert!(
            text.contains("astrow.password") && text.contains("***"),
            "{text}"
        );
        assert!(text.contains("pac.port"), "the rest still shows: {text}");
    }

    #[test]
    fn every_fixed_setting_round_trips() {
        let s = Settings::default();
        for d in schema::fixed() {
            let k = d.key;
            let mut t = s.clone();
            set(&mut t, k, &get(&s, k)).unwrap_or_else(|e| panic!("{k}: {e}"));
            assert_eq!(t, s, "{k}");
            assert!(schema::find(k).is_some(), "{k} is in the reference");
        }
    }

    #[test]
    fn typed_values_are_checked_with_the_rules_of_check() {
        let mut st = SettingsState {
            fields: fields_for(&Settings::default(), &["R-1".to_string()]),
            ..SettingsState::default()
        };
        let port = st
            .fields
            .iter()
            .position(|f| f.key == "pac.port")
            .unwrap_or(0);
        validate(&mut st, Some((port, "eighty".into())));
        assert!(
            st.fields[port]
                .problem
                .as_deref()
                .unwrap_or("")
                .contains("1 to 65535")
        );
        let iv = st
            .fields
            .iter()
            .position(|f| f.key == "sync.employee_interval_s")
            .unwrap_or(0);
        st.fields[iv].value = "2".into();
        validate(&mut st, None);
        assert!(st.fields[port].problem.is_none());
        assert!(st.fields[iv].problem.is_some(), "{:?}", st.fields[iv]);
        assert!(
            st.fields
                .iter()
                .any(|f| f.key == "readers.\"R-1\".direction")
        );
    }

    #[test]
    fn saving_keeps_comments_and_writes_the_form() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("a.toml");
        std::fs::write(&path, "# my comment\n[pac]\naddress = \"old\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut st = SettingsState::default();
        load_into(&mut st, &path, &[]);
        assert!(!st.first_run);
        let f = st
            .fields
            .iter_mut()
            .find(|f| f.key == "pac.address")
            .unwrap_or_else(|| panic!("field"));
        assert_eq!(f.value, "old");
        f.value = "pac.site.local".into();
        let save = file_saver(path.clone());
        save(&st).unwrap_or_else(|e| panic!("{e}"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            text.contains("# my comment") && text.contains("pac.site.local"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_file_is_a_first_run() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut st = SettingsState::default();
        load_into(&mut st, &dir.path().join("none.toml"), &[]);
        assert!(st.first_run);
        assert_eq!(st.fields.len(), schema::fixed().count());
    }
}

#[cfg(test)]
mod reader_tests {
    use super::*;

    #[test]
    fn readers_reported_later_get_their_fields() {
        let mut st = SettingsState {
            fields: fields_for(&Settings::default(), &["R-1".into()]),
            ..SettingsState::default()
        };
        let n = st.fields.len();
        add_readers(&mut st, &["R-1".into(), "R-2".into()]);
        assert_eq!(st.fields.len(), n + 3);
        assert!(
            st.fields
                .iter()
                .any(|f| f.key == "readers.\"R-2\".roll_call")
        );
        assert!(!st.dirty(), "new fields are not edits");
        let s = st.to_settings().unwrap_or_default();
        assert!(
            s.readers.is_empty(),
            "readers at their defaults write nothing"
        );
    }
}
