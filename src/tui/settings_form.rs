//! The Settings pane's form: one field per setting, edited in place.

use tui_input::Input;

use super::list::ListState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Number,
    Bool,
    Choice(&'static [&'static str]),
    Path,
    Secret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub key: String,
    pub label: String,
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

#[derive(Debug, Clone, Default)]
pub struct SettingsState {
    pub fields: Vec<Field>,
    pub list: ListState,
    pub editing: Option<Input>,
    /// No settings file yet: show the guide.
    pub first_run: bool,
    /// Why the file could not be read, when it exists but is broken.
    pub load_error: Option<String>,
    /// The last connection test, in words.
    pub test_result: Option<(bool, String)>,
}

impl SettingsState {
    pub fn dirty(&self) -> bool {
        self.fields.iter().any(Field::changed)
    }
    pub fn problems(&self) -> usize {
        self.fields.iter().filter(|f| f.problem.is_some()).count()
    }
}

/// Check every field (the field being typed at `draft`'s text).
pub fn validate(state: &mut SettingsState, draft: Option<(usize, String)>) {
    let _ = (state, draft);
}

/// The file has been written: what is in the form is now the original.
pub fn mark_saved(state: &mut SettingsState) {
    for f in &mut state.fields {
        f.original = f.value.clone();
    }
    state.first_run = false;
}

/// Fill the form from the settings file (or mark a first run).
pub fn load_into(state: &mut SettingsState, path: &std::path::Path) {
    state.first_run = !path.exists();
}

/// Saves the form to `path`.
pub fn file_saver(path: std::path::PathBuf) -> super::SettingsSaver {
    Box::new(move |_state| Err(format!("saving to {} is not wired yet", path.display())))
}
