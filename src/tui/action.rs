//! What a key means (`Action`), and what the console asks of the world after
//! an update (`Effect`): engine commands, and the few local things (save the
//! settings file, test the connections, quit).

use crossterm::event::KeyEvent;

use crate::engine::command::Command;

use super::state::Pane;

/// Everything the console can be asked to do. Keys map to actions through the
/// keymap; the app loop adds `Resize` and `Input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    // leaving
    Quit,
    ForceQuit,
    // panes
    NextPane,
    PrevPane,
    GoTo(Pane),
    // moving in lists
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Top,
    Bottom,
    // general
    Back,
    Enter,
    Help,
    Palette,
    Filter,
    SyncEmployees,
    SyncDefinitions,
    TogglePause,
    // changes
    Approve,
    Reject,
    ApproveAll,
    RejectAll,
    Visual,
    Apply,
    // definitions
    OpenDoor,
    // bookings
    ToggleFollow,
    RollCallView,
    /// Show the other direction: Astrow's own bookings going to PAC.
    AstrowToPacView,
    StartRollCall,
    StopRollCall,
    /// After PAC's event sequence was reset: move the cursor (confirmed).
    ResetCursor,
    // log
    LogLevel,
    /// The audit history in the Log pane (read again when shown already).
    History,
    /// In the Log pane: the audit history, or the log lines again.
    ToggleHistory,
    /// The selected employee's every field.
    Details,
    // settings
    Save,
    Discard,
    TestConnection,
    ReloadSettings,
    /// Bind the store to the site the settings name (asks first).
    RebindStore,
    // dialogs
    Yes,
    No,
    ToggleChoice,
    // from the loop
    /// A key typed into a text field (filter, palette, form field).
    Input(KeyEvent),
    Resize(u16, u16),
    /// A command typed into the palette.
    Run(String),
}

impl Action {
    /// The stable name used in the settings file's `[keys]` table and in help.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::ForceQuit => "force_quit",
            Action::NextPane => "next_pane",
            Action::PrevPane => "prev_pane",
            Action::GoTo(p) => p.goto_name(),
            Action::Up => "up",
            Action::Down => "down",
            Action::Left => "left",
            Action::Right => "right",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Back => "back",
            Action::Enter => "enter",
            Action::Help => "help",
            Action::Palette => "palette",
            Action::Filter => "filter",
            Action::SyncEmployees => "sync_employees",
            Action::SyncDefinitions => "sync_definitions",
            Action::TogglePause => "pause",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::ApproveAll => "approve_all",
            Action::RejectAll => "reject_all",
            Action::Visual => "select",
            Action::Apply => "apply",
            Action::OpenDoor => "open_door",
            Action::RebindStore => "rebind_store",
            Action::ToggleFollow => "follow",
            Action::RollCallView => "roll_call_view",
            Action::AstrowToPacView => "astrow_to_pac_view",
            Action::StartRollCall => "roll_call_start",
            Action::StopRollCall => "roll_call_stop",
            Action::ResetCursor => "reset_cursor",
            Action::LogLevel => "log_level",
            Action::History => "history",
            Action::ToggleHistory => "toggle_history",
            Action::Details => "details",
            Action::Save => "save",
            Action::Discard => "discard",
            Action::TestConnection => "test_connection",
            Action::ReloadSettings => "reload",
            Action::Yes => "yes",
            Action::No => "no",
            Action::ToggleChoice => "toggle_choice",
            Action::Input(_) => "input",
            Action::Resize(..) => "resize",
            Action::Run(_) => "run",
        }
    }
}

/// What must happen outside the console's state after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send this to the engine (never waits: a full queue is reported).
    Engine(Command),
    /// Write the settings form to the settings file, then ask the engine to reload.
    SaveSettings,
    /// Try both connections with the settings in the form.
    TestConnection,
    Quit,
}
