//! Everything the console shows, one struct per pane. The view only reads it;
//! `update` changes it; the app loop feeds it snapshots and log lines.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use tui_input::Input;

use crate::engine::command::EventLevel;
use crate::engine::snapshot::{BookingsView, Snapshot};

use super::derive;
use super::keymap::{Context, Keymap};
use super::list::ListState;
use super::logbuf::{LogLevel, LogLine};
use super::safe_text::{SafeSnapshot, SafeText};
use super::settings_form::SettingsState;
use super::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pane {
    Overview,
    Employees,
    Changes,
    Definitions,
    Bookings,
    Settings,
    Log,
}

impl Pane {
    pub const ALL: [Pane; 7] = [
        Pane::Overview,
        Pane::Employees,
        Pane::Changes,
        Pane::Definitions,
        Pane::Bookings,
        Pane::Settings,
        Pane::Log,
    ];

    pub fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
    pub fn digit(self) -> char {
        char::from(b'1' + self.index() as u8)
    }
    pub fn title(self) -> &'static str {
        match self {
            Pane::Overview => "Overview",
            Pane::Employees => "Employees",
            Pane::Changes => "Changes",
            Pane::Definitions => "Definitions",
            Pane::Bookings => "Bookings",
            Pane::Settings => "Settings",
            Pane::Log => "Log",
        }
    }
    pub fn goto_name(self) -> &'static str {
        match self {
            Pane::Overview => "goto_overview",
            Pane::Employees => "goto_employees",
            Pane::Changes => "goto_changes",
            Pane::Definitions => "goto_definitions",
            Pane::Bookings => "goto_bookings",
            Pane::Settings => "goto_settings",
            Pane::Log => "goto_log",
        }
    }
    pub fn goto_desc(self) -> &'static str {
        match self {
            Pane::Overview => "Overview pane",
            Pane::Employees => "Employees pane",
            Pane::Changes => "Changes pane",
            Pane::Definitions => "Definitions pane",
            Pane::Bookings => "Bookings pane",
            Pane::Settings => "Settings pane",
            Pane::Log => "Log pane",
        }
    }
    pub fn next(self) -> Pane {
        Pane::ALL[(self.index() + 1) % Pane::ALL.len()]
    }
    pub fn prev(self) -> Pane {
        Pane::ALL[(self.index() + Pane::ALL.len() - 1) % Pane::ALL.len()]
    }
}

/// A line of filter text and whether it is being typed.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub input: Input,
    pub editing: bool,
}

impl Filter {
    pub fn text(&self) -> &str {
        self.input.value()
    }
    pub fn active(&self) -> bool {
        !self.input.value().is_empty()
    }
}

#[derive(Debug, Clone, Default)]
pub struct EmployeesState {
    pub list: ListState,
    pub filter: Filter,
    /// Indices into the snapshot's rows that pass the filter, in order.
    pub visible: Vec<u32>,
    /// The selected row's every field is shown below the list.
    pub detail: bool,
    /// Rows by kind, counted when the rows change (not per frame).
    pub counts: EmployeeCounts,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmployeeCounts {
    pub linked: usize,
    pub differ: usize,
    pub master_only: usize,
    pub unmanaged: usize,
    pub conflict: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeRow {
    Header {
        action: crate::engine::snapshot::ActionKind,
        count: usize,
    },
    Item(usize),
}

#[derive(Debug, Clone, Default)]
pub struct ChangesState {
    pub list: ListState,
    /// The plan grouped by action: headers and item indices.
    pub rows: Vec<ChangeRow>,
    /// Row where a visual selection started.
    pub anchor: Option<usize>,
    /// Items of the last plan that ended applied, stale or failed: kept on
    /// screen after the engine drops or replaces that plan.
    pub results: Vec<crate::engine::snapshot::PlanItemView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DefSection {
    #[default]
    Groups,
    Readers,
    /// The mirror removals the deletion guard holds (shown when any).
    Removals,
}

#[derive(Debug, Clone, Default)]
pub struct DefinitionsState {
    pub section: DefSection,
    pub groups: ListState,
    pub readers: ListState,
    pub removals: ListState,
    /// Where `v` started a selection of removals.
    pub anchor: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct BookingsState {
    pub list: ListState,
    pub follow: bool,
    /// The feed as it was when frozen.
    pub frozen: Option<Arc<BookingsView>>,
    pub filter: Filter,
    /// Feed indices (newest first) that pass the filter.
    pub visible: Vec<u32>,
    pub roll_call: bool,
    pub roll_list: ListState,
    /// Showing the other direction (Astrow's bookings going to PAC).
    pub astrow_to_pac: bool,
    pub a2p_list: ListState,
}

impl Default for BookingsState {
    fn default() -> Self {
        BookingsState {
            list: ListState::default(),
            follow: true,
            frozen: None,
            filter: Filter::default(),
            visible: Vec::new(),
            roll_call: false,
            roll_list: ListState::default(),
            astrow_to_pac: false,
            a2p_list: ListState::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LogState {
    pub lines: VecDeque<LogLine>,
    pub capacity: usize,
    pub level: LogLevel,
    pub follow: bool,
    pub list: ListState,
    pub filter: Filter,
    pub visible: Vec<u32>,
    pub last_seq: u64,
}

impl Default for LogState {
    fn default() -> Self {
        LogState {
            lines: VecDeque::new(),
            capacity: 5000,
            level: LogLevel::Info,
            follow: true,
            list: ListState::default(),
            filter: Filter::default(),
            visible: Vec::new(),
            last_seq: 0,
        }
    }
}

/// The audit history, a view of the Log pane (`H`, or `8` from anywhere):
/// one page of the store's audit log at a time, asked of the engine; pages
/// above the one shown are remembered by where they start, never kept.
#[derive(Debug, Clone, Default)]
pub struct HistoryState {
    /// The Log pane shows the history instead of the log lines.
    pub shown: bool,
    pub list: ListState,
    pub filter: Filter,
    /// The page on screen.
    pub page: Option<crate::engine::query::HistoryPage>,
    /// Where each page above the one shown starts (`None`: the newest).
    pub above: Vec<Option<i64>>,
    /// The page asked for and not answered yet.
    pub waiting: Option<HistoryWaiting>,
    /// Why the last page could not be read.
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryWaiting {
    pub query: u64,
    /// Select the page's last entry when it comes (moving up into it).
    pub select_last: bool,
}

/// A trace (Enter on an employee or a booking row), as the engine answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceView {
    pub query: u64,
    pub title: String,
    /// `None` until the answer comes.
    pub lines: Option<Vec<String>>,
    pub scroll: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmKind {
    Apply { plan_id: String, allow_held: bool },
    OpenDoor { reader_id: u32 },
    ResetCursor { to: u64 },
    MoveAstrowCursor { to: u64 },
    Quit,
    DiscardSettings,
    RebindStore,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub kind: ConfirmKind,
    pub title: String,
    pub lines: Vec<String>,
    pub yes_label: String,
    /// The highlighted answer; `false` (No) when the dialog opens.
    pub yes: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Palette {
    pub input: Input,
    pub selected: usize,
}

#[derive(Debug, Clone)]
pub enum Modal {
    Confirm(Confirm),
    Help { scroll: usize },
    Palette(Palette),
    Trace(TraceView),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub level: EventLevel,
    /// Notices carry outside text (a server's error): cleaned when made.
    pub text: SafeText,
}

/// What the console was started with.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub read_only: bool,
    pub demo: bool,
    pub config_path: String,
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub pane: Pane,
    /// The engine's snapshot, every string in it cleaned (one conversion,
    /// in `derive::set_snapshot`): what the panes draw from.
    pub snap: SafeSnapshot,
    pub flags: Flags,
    pub theme: Theme,
    pub keymap: Arc<Keymap>,
    pub tz: FixedOffset,
    pub size: (u16, u16),
    pub modal: Option<Modal>,
    pub status: Option<Status>,
    pub engine_gone: bool,
    pub quit: bool,
    pub employees: EmployeesState,
    pub changes: ChangesState,
    pub definitions: DefinitionsState,
    pub bookings: BookingsState,
    pub settings: SettingsState,
    pub log: LogState,
    pub history: HistoryState,
    /// Ids of this console's queries: this process's id above, a count below
    /// (answers to other consoles' queries are ignored).
    pub query_base: u64,
    pub queries: u64,
}

/// Lines taken by the header, tabs, status line and key bar.
pub const CHROME_ROWS: u16 = 5;
/// Rows of the banner shown while the store is bound to another site.
pub const SITE_BANNER_ROWS: u16 = 4;

impl AppState {
    pub fn new(snap: Arc<Snapshot>, flags: Flags, theme: Theme, keymap: Keymap) -> AppState {
        let mut s = AppState {
            pane: Pane::Overview,
            snap: SafeSnapshot::default(),
            flags,
            theme,
            keymap: Arc::new(keymap),
            tz: Utc.fix(),
            size: (80, 24),
            modal: None,
            status: None,
            engine_gone: false,
            quit: false,
            employees: EmployeesState::default(),
            changes: ChangesState::default(),
            definitions: DefinitionsState::default(),
            bookings: BookingsState::default(),
            settings: SettingsState::default(),
            log: LogState::default(),
            history: HistoryState::default(),
            query_base: u64::from(std::process::id()) << 32,
            queries: 0,
        };
        derive::set_snapshot(&mut s, snap);
        s
    }

    /// Where keys go now.
    pub fn context(&self) -> Context {
        match &self.modal {
            Some(Modal::Confirm(_)) => Context::Dialog,
            Some(Modal::Help { .. } | Modal::Trace(_)) => Context::Help,
            Some(Modal::Palette(_)) => Context::Text,
            None if self.typing() => Context::Text,
            None => Context::Pane(self.pane),
        }
    }

    /// A filter or form field on the focused pane has the keys.
    pub fn typing(&self) -> bool {
        match self.pane {
            Pane::Employees => self.employees.filter.editing,
            Pane::Bookings => self.bookings.filter.editing,
            Pane::Log if self.history.shown => self.history.filter.editing,
            Pane::Log => self.log.filter.editing,
            Pane::Settings => self.settings.editing.is_some(),
            _ => false,
        }
    }

    /// Rows of list a pane has, given the terminal size (estimate shared with the view).
    pub fn body_rows(&self) -> usize {
        let banner = if self.snap.site_refusal.is_some() {
            SITE_BANNER_ROWS
        } else {
            0
        };
        self.size.1.saturating_sub(CHROME_ROWS + banner) as usize
    }

    /// A new id for a query to the engine.
    pub fn next_query(&mut self) -> u64 {
        self.queries += 1;
        self.query_base | (self.queries & 0xffff_ffff)
    }

    pub fn read_only(&self) -> bool {
        self.flags.read_only || self.snap.settings.read_only
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            level: EventLevel::Info,
            text: SafeText::from(text.into()),
        });
    }
    pub fn warn(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            level: EventLevel::Warning,
            text: SafeText::from(text.into()),
        });
    }

    /// Local time of day for a UTC instant.
    pub fn clock(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.tz).format("%H:%M:%S").to_string()
    }

    /// "12s ago" relative to the snapshot's time (deterministic for tests).
    pub fn ago(&self, t: DateTime<Utc>) -> String {
        match self.snap.generated_at {
            Some(now) => human_duration(now.signed_duration_since(t), "ago"),
            None => self.clock(t),
        }
    }

    pub fn until(&self, t: DateTime<Utc>) -> String {
        match self.snap.generated_at {
            Some(now) => {
                let d = t.signed_duration_since(now);
                if d.num_seconds() <= 0 {
                    "due".to_string()
                } else {
                    format!("in {}", human_duration(d, ""))
                }
            }
            None => self.clock(t),
        }
    }
}

use chrono::Offset as _;

/// `90s` -> "1m 30s", with an optional suffix.
pub fn human_duration(d: chrono::TimeDelta, suffix: &str) -> String {
    let s = d.num_seconds().max(0);
    let text = if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d {}h", s / 86_400, (s % 86_400) / 3600)
    };
    if suffix.is_empty() {
        text
    } else {
        format!("{text} {suffix}")
    }
}
