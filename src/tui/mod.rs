//! The full-screen console: draws the engine's snapshots and sends it
//! commands. State, update and view are separate: keys become actions
//! (`keymap`), `update` turns an action into state changes and effects, and
//! `view` draws from state only.
//!
//! Outside text (from PAC, Astrow, the store, the log) reaches the panes
//! already clean: the state keeps the engine's snapshot only as a
//! `safe_text::SafeSnapshot` (every string cleaned once, when it arrives),
//! and log lines, notices and settings problems as `safe_text::SafeText`.
//! `widgets::ext` remains for text that does not come that way (a settings
//! file's values as typed).
//!
//! Wiring it (what `cli` does for the console and `demo`):
//!
//! ```text
//! let log = tui::LogBuffer::default();
//! tracing_subscriber::registry().with(file_layer).with(log.layer()).init();
//! let handle = engine.handle();
//! tui::run(handle, tui::ConsoleOptions {
//!     read_only, no_color, demo, config_path,
//!     keys: settings.keys.clone(),          // `[keys]` of the settings file, by action name
//!     log: Some(log),
//!     connection_test: Some(tester),        // tries PAC and Astrow with unsaved settings
//! }).await?;
//! ```

pub mod action;
pub mod app;
pub mod commands;
pub mod derive;
pub mod keymap;
pub mod list;
pub mod loading;
pub mod logbuf;
pub mod panes;
pub mod safe_text;
pub mod sanitize;
pub mod settings_form;
pub mod state;
#[doc(hidden)]
pub mod testkit;
pub mod theme;
pub mod update;
pub mod update_history;
mod update_mirror;
mod update_panes;
#[cfg(test)]
mod update_tests;
pub mod view;
pub mod widgets;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use crate::engine::handle::EngineHandle;

pub use app::{LoopIo, run_loop};
pub use logbuf::LogBuffer;

use settings_form::SettingsState;

/// Writes the settings form to the file; `Ok` carries what to tell the user.
/// Runs on a blocking thread (a file write and fsync), never on the loop.
pub type SettingsSaver = Arc<dyn Fn(&SettingsState) -> Result<String, String> + Send + Sync>;

/// Tries both connections with the settings in the form (not yet saved);
/// resolves to `(ok, what happened in words)`. It runs on its own task: the
/// console never waits for it.
pub type ConnectionTest = Arc<
    dyn Fn(crate::config::Settings) -> Pin<Box<dyn Future<Output = (bool, String)> + Send>>
        + Send
        + Sync,
>;

/// How the console was asked to start.
#[derive(Clone, Default)]
pub struct ConsoleOptions {
    /// `--read-only`: show RO and refuse every write.
    pub read_only: bool,
    /// `--no-color` (`NO_COLOR` is honoured as well).
    pub no_color: bool,
    /// Running on the simulators (`demo`): shown in the header.
    pub demo: bool,
    /// The settings file the Settings pane reads and writes.
    pub config_path: PathBuf,
    /// Key overrides by action name (`approve = "y"`), from the settings file.
    pub keys: BTreeMap<String, String>,
    /// The engine's tracing output, when the caller installed `LogBuffer::layer`.
    pub log: Option<LogBuffer>,
    /// The connection test of the Settings pane (the caller owns the connectors).
    pub connection_test: Option<ConnectionTest>,
}

impl std::fmt::Debug for ConsoleOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleOptions")
            .field("read_only", &self.read_only)
            .field("no_color", &self.no_color)
            .field("demo", &self.demo)
            .field("config_path", &self.config_path)
            .field("keys", &self.keys)
            .field("log", &self.log.is_some())
            .field("connection_test", &self.connection_test.is_some())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("terminal: {0}")]
    Io(#[from] std::io::Error),
    #[error("drawing the console: {0}")]
    Terminal(String),
}

/// The console's starting state for `opts` and the engine's current snapshot.
pub fn initial_state(handle: &EngineHandle, opts: &ConsoleOptions) -> state::AppState {
    let colour = theme::colour_wanted(opts.no_color, std::env::var_os("NO_COLOR").as_deref());
    let (keymap, key_problems) = keymap::Keymap::default().with_overrides(&opts.keys);
    let flags = state::Flags {
        read_only: opts.read_only,
        demo: opts.demo,
        config_path: opts.config_path.display().to_string(),
    };
    let snap = handle.snapshots.borrow().clone();
    let mut s = state::AppState::new(snap, flags, theme::Theme::new(colour), keymap);
    s.tz = chrono::Local::now().offset().fix();
    let serials: Vec<String> = s
        .snap
        .definitions
        .pac_readers
        .iter()
        .map(|r| r.serial.clone())
        .collect();
    settings_form::load_into(&mut s.settings, &opts.config_path, &serials);
    if s.settings.first_run {
        s.pane = state::Pane::Settings;
        s.info("no settings file yet: fill in the form and save with ctrl-s (or quit and run `astrow-pac demo`)");
    }
    if let Some(p) = key_problems.first() {
        s.warn(format!("key settings: {p}"));
    }
    s
}

use chrono::Offset as _;

/// Run the console on the real terminal until the user quits.
pub async fn run(handle: EngineHandle, opts: ConsoleOptions) -> Result<(), TuiError> {
    let state = initial_state(&handle, &opts);
    let io = LoopIo {
        log: opts.log.clone(),
        save: Some(settings_form::file_saver(opts.config_path.clone())),
        test: opts.connection_test.clone(),
    };
    let guard = app::TerminalGuard::enter()?;
    let backend = ratatui::backend::CrosstermBackend::new(std::io::stdout());
    let mut terminal = ratatui::Terminal::new(backend)?;
    let events = crossterm::event::EventStream::new();
    let result = run_loop(&mut terminal, events, handle, state, io).await;
    drop(terminal);
    drop(guard);
    result.map(|_| ())
}
