//! The immutable picture of the engine that readers (the console, `status`)
//! get through a `watch` channel. Large parts sit behind `Arc` so that a new
//! snapshot shares what did not change and cloning one is cheap.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use super::row_records::{AstrowRecord, FieldSet, PacRecord};
use crate::model::{AccessGroup, BookingStatus, Direction, EventType, Reader, Seq, System};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// Grows by one with every snapshot published: readers redraw on change.
    pub version: u64,
    pub generated_at: Option<DateTime<Utc>>,
    pub settings: SettingsSummary,
    pub health: Health,
    pub jobs: Vec<JobStatus>,
    pub paused: bool,
    /// Both sides' employees aligned by link.
    pub employees: Arc<Vec<EmployeeRow>>,
    /// The pending employee plan, if any.
    pub plan: Option<Arc<PlanView>>,
    /// The last or running apply.
    pub apply: Option<Arc<ApplyProgress>>,
    pub definitions: Arc<DefinitionsView>,
    pub bookings: Arc<BookingsView>,
    /// The store is bound to another site: why nothing is written (no plan,
    /// no mirror write, no booking read or sent), and the way out
    /// (`astrow-pac store rebind`).
    #[serde(default)]
    pub site_refusal: Option<String>,
    /// While `site_refusal`: the old site's bookings still to be sent, which
    /// a re-bind abandons (the booking import is not running to count them).
    #[serde(default)]
    pub old_site_pending: u64,
    /// Where this picture comes from: the engine in this process, or a
    /// service reached over its control socket (set by the socket client).
    #[serde(default)]
    pub origin: Origin,
    /// Records the last reads of each listing set aside as unreadable.
    #[serde(default)]
    pub unreadable: Arc<Vec<UnreadableView>>,
    /// Bookings from Astrow into PAC (`bookings.astrow_to_pac`).
    #[serde(default)]
    pub astrow_to_pac: Arc<crate::engine::astrow_to_pac::AstrowToPacView>,
}

/// A record a listing set aside as unreadable, with the reason (outside
/// text: sanitised where drawn).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct UnreadableView {
    /// Which listing: "PAC employees", "Astrow employees", "PAC readers",
    /// "PAC access groups".
    pub listing: String,
    pub record_id: Option<u64>,
    pub reason: String,
    pub seen_at: DateTime<Utc>,
}

impl UnreadableView {
    /// An employee listing's (shown in the Employees pane).
    pub fn is_employee(&self) -> bool {
        self.listing.ends_with("employees")
    }
}

/// Whose engine a console looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Origin {
    /// Runs in this process: it stops when the console quits.
    #[default]
    Embedded,
    /// A service (another process) reached over its control socket.
    Service {
        pid: u32,
        /// `false` while the service is gone: the picture is its last one.
        connected: bool,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyModeView {
    #[default]
    Manual,
    Auto,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SettingsSummary {
    pub master: Option<System>,
    pub apply_mode: ApplyModeView,
    pub delete_employees_on_sync: bool,
    pub read_only: bool,
    pub demo: bool,
    pub config_path: String,
    pub pac_address: String,
    pub astrow_url: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Health {
    pub pac: SystemHealth,
    pub astrow: SystemHealth,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    #[default]
    Unknown,
    Up,
    Degraded,
    Down,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SystemHealth {
    pub state: HealthState,
    pub latency_ms: Option<u64>,
    pub last_contact: Option<DateTime<Utc>>,
    /// Why it is degraded or down, in words.
    pub detail: Option<String>,
    /// Astrow only: `(file_terminal, employees_import)`.
    pub licences: Option<Licences>,
    pub server_version: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Licences {
    pub file_terminal: bool,
    pub employees_import: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Employees,
    Definitions,
    Bookings,
    Heartbeat,
    /// PAC's granted swipes against Astrow's bookings, last 24 hours.
    Reconcile,
}

impl JobKind {
    pub fn title(self) -> &'static str {
        match self {
            JobKind::Employees => "Employee sync",
            JobKind::Definitions => "Definitions sync",
            JobKind::Bookings => "Booking import",
            JobKind::Heartbeat => "Heartbeat",
            JobKind::Reconcile => "Reconciliation",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    #[default]
    Idle,
    Running,
    Paused,
    /// The last run did its work but refused or held something.
    Warning,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobStatus {
    pub kind: JobKind,
    pub state: JobState,
    pub last_run: Option<JobRun>,
    pub next_run: Option<DateTime<Utc>>,
    /// Recent runs, newest last (bounded).
    pub history: Vec<JobRun>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRun {
    pub started: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    pub ok: bool,
    /// Done, but something was refused or held: the summary says what.
    #[serde(default)]
    pub warning: bool,
    /// "12 changes planned", "held by the deletion guard", or the error.
    pub summary: String,
}

/// How a row of the Employees pane came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// Linked and managed.
    Linked,
    /// On the master only: the next plan creates or matches it.
    MasterOnly,
    /// On the slave only and never linked: shown, never touched.
    Unmanaged,
    /// Ambiguous match or a record that cannot be mapped.
    Conflict,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmployeeRow {
    pub kind: RowKind,
    /// Compact copies of the records (one allocation of text each); on the
    /// wire they are the model's records.
    pub pac: Option<PacRecord>,
    pub astrow: Option<AstrowRecord>,
    /// Owned fields that differ between the two sides (`first_name`,
    /// `badge_no`, ...); on the wire the list of their names.
    pub differences: FieldSet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Create,
    Update,
    Delete,
    RemoveBadges,
    Link,
    Conflict,
}

impl ActionKind {
    pub const ALL: [ActionKind; 6] = [
        ActionKind::Create,
        ActionKind::Update,
        ActionKind::Delete,
        ActionKind::RemoveBadges,
        ActionKind::Link,
        ActionKind::Conflict,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Create => "create",
            ActionKind::Update => "update",
            ActionKind::Delete => "delete",
            ActionKind::RemoveBadges => "remove_badges",
            ActionKind::Link => "link",
            ActionKind::Conflict => "conflict",
        }
    }
    pub fn is_destructive(self) -> bool {
        matches!(self, ActionKind::Delete | ActionKind::RemoveBadges)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Pending,
    Approved,
    Rejected,
    Applied,
    Failed,
    Stale,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// A field name (the planner's own words: shared, not copied per item).
    pub field: std::borrow::Cow<'static, str>,
    pub before: Option<Box<str>>,
    pub after: Option<Box<str>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanItemView {
    pub id: Box<str>,
    pub action: ActionKind,
    pub target: System,
    pub master_id: Option<u64>,
    pub slave_id: Option<u64>,
    /// The person's name, for lists.
    pub label: Box<str>,
    pub changes: Box<[FieldChange]>,
    /// Why, as data: [`PlanView::reason_text`] puts it in words.
    pub reason: crate::engine::plan::Reason,
    pub state: ItemState,
    /// Why it failed (its last error) or went stale.
    pub message: Option<Box<str>>,
    /// How many times its apply failed.
    #[serde(default)]
    pub attempts: u32,
    /// A failed item: when the engine tries it again.
    #[serde(default)]
    pub retry_at: Option<DateTime<Utc>>,
    /// A failed item: the kind of its last failure.
    #[serde(default)]
    pub failure_kind: Option<super::item_error::FailureKind>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanView {
    pub plan_id: String,
    pub master: System,
    pub created_at: DateTime<Utc>,
    /// Held by the deletion guard, with the reason.
    pub held: Option<String>,
    pub items: Vec<PlanItemView>,
    /// Notes on the plan as a whole ("PAC listed no employee: nothing is deleted").
    pub notes: Vec<String>,
    /// The names its items' reasons show that their labels do not give.
    #[serde(default)]
    pub names: ReasonNames,
}

impl PlanView {
    /// An item's reason in words, its persons named.
    pub fn reason_text(&self, item: &PlanItemView) -> String {
        let master = self.master;
        let name = |system: System, id: u64| {
            self.names.get(system, id).map(str::to_string).or_else(|| {
                (system == master && item.master_id == Some(id)).then(|| item.label.to_string())
            })
        };
        let fields: Vec<&str> = item.changes.iter().map(|c| c.field.as_ref()).collect();
        item.reason.render(&crate::engine::plan::ReasonContext {
            master_id: item.master_id,
            slave_id: item.slave_id,
            fields: &fields,
            name: &name,
        })
    }
}

/// Persons' names as reasons show them ("first last"), each once, by id:
/// those an item's label does not give already (the other side of a link).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonNames {
    /// Sorted by id.
    pub pac: Vec<(u64, Box<str>)>,
    /// Sorted by id.
    pub astrow: Vec<(u64, Box<str>)>,
}

impl ReasonNames {
    pub fn get(&self, system: System, id: u64) -> Option<&str> {
        let list = match system {
            System::Pac => &self.pac,
            System::Astrow => &self.astrow,
        };
        list.binary_search_by_key(&id, |(i, _)| *i)
            .ok()
            .map(|k| &*list[k].1)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ApplyProgress {
    pub plan_id: String,
    pub running: bool,
    pub total: usize,
    pub applied: usize,
    pub stale: usize,
    pub failed: usize,
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    /// Who started it (`engine (auto)` for auto mode).
    #[serde(default)]
    pub started_by: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DefinitionsView {
    pub pac_groups: Vec<AccessGroup>,
    pub astrow_groups: Vec<AccessGroup>,
    pub pac_readers: Vec<Reader>,
    pub astrow_readers: Vec<Reader>,
    /// Per-reader booking settings in force, by serial.
    pub reader_settings: Vec<ReaderBookingView>,
    /// What the next definitions sync would change, in words.
    pub pending: Vec<String>,
    /// Why the deletion guard holds removals from the mirror, with the
    /// limit passed.
    #[serde(default)]
    pub held: Option<String>,
    /// The removals a person decides on in pane 4 (a / r / A, apply):
    /// held, approved (written by the next definitions sync) or rejected
    /// (kept in the mirror).
    #[serde(default)]
    pub removals: Vec<crate::engine::plan::HeldRemoval>,
    /// What the mirror's guard refused outright (an empty PAC list), and
    /// what it kept instead.
    #[serde(default)]
    pub refused: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReaderBookingView {
    pub serial: String,
    pub booking: bool,
    pub direction: Direction,
    pub roll_call: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedEntry {
    pub seq: Seq,
    pub time: DateTime<chrono::FixedOffset>,
    pub event_type: EventType,
    pub badge_number: Option<String>,
    pub employee: Option<String>,
    pub reader: String,
    pub direction: Option<Direction>,
    pub delivery: Delivery,
    /// Why a booking goes with PAC's raw badge number though its employee
    /// is known: their pairing with Astrow is in dispute.
    #[serde(default)]
    pub pairing_note: Option<String>,
}

/// Where a ledger entry stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Delivery {
    /// Not a booking (denied, door, reader, or a reader that does not book).
    FeedOnly,
    /// A roll-call confirmation, not a T&A booking.
    RollCall,
    Pending,
    Answered {
        status: BookingStatus,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    pub from_seq: Seq,
    pub to_seq: Seq,
    pub detected_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BookingsView {
    /// Newest last, bounded.
    pub feed: Vec<FeedEntry>,
    pub cursor: Option<Seq>,
    pub pending: u64,
    pub delivered: u64,
    pub queued: u64,
    pub rejected: u64,
    pub per_minute: f64,
    pub lag_p50_ms: Option<u64>,
    pub lag_p99_ms: Option<u64>,
    pub gaps: Vec<Gap>,
    pub last_error: Option<String>,
    /// Astrow marked down after repeated failures (circuit open).
    pub astrow_down: bool,
    pub reading_paused: bool,
    pub roll_call: Option<RollCallView>,
    /// Pending bookings that cannot go yet, by reason, oldest first.
    pub waiting: Vec<WaitingView>,
    /// When the oldest pending booking was read off PAC.
    pub oldest_pending: Option<DateTime<Utc>>,
    /// PAC's event sequence started again below our cursor: reading stopped
    /// until a person moves the cursor (`bookings reset-cursor`).
    pub sequence_reset: Option<SequenceResetView>,
}

/// Bookings waiting for one reason.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct WaitingView {
    pub reason: String,
    pub count: u64,
    /// When the oldest of them was read off PAC.
    pub since: DateTime<Utc>,
}

/// A detected, unresolved reset of PAC's event sequence.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SequenceResetView {
    pub detected_at: DateTime<Utc>,
    /// Our cursor then.
    pub cursor: Seq,
    /// PAC's newest seq then (below the cursor).
    pub pac_last_seq: Seq,
    /// Where PAC and the ledger part: reading goes on after it by default.
    pub resume_after: Seq,
    /// Astrow->PAC bookings PAC stored after its backup (lost in the
    /// restore), pending again to be sent again.
    #[serde(default)]
    pub a2p_requeued: u64,
}

impl SequenceResetView {
    /// The one sentence shown everywhere (console banner, log, heartbeat, status).
    pub fn message(&self) -> String {
        format!(
            "PAC's event sequence was reset (restored from a backup?): it ended at {} while we had read up to {}; reading stopped. PAC's events up to {} are the ones already read: continue with `astrow-pac bookings reset-cursor --to {}`",
            self.pac_last_seq, self.cursor, self.resume_after, self.resume_after
        ) + &match self.a2p_requeued {
            0 => String::new(),
            n => format!(
                ". {n} Astrow->PAC bookings PAC had stored after seq {} (lost in its restore) are sent again",
                self.resume_after
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollCallView {
    pub started: DateTime<Utc>,
    /// Who is on site (last direction in), with whether they confirmed.
    pub on_site: Vec<RollCallPerson>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollCallPerson {
    pub name: String,
    pub badge_number: String,
    pub last_seen: DateTime<chrono::FixedOffset>,
    pub confirmed: bool,
}
