//! What readers may ask of the engine, and the bounded stream of things it
//! tells them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::plan::RemovalDecision;
use super::query::{Answer, Query};
use super::snapshot::JobKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Run a job now instead of waiting for its interval.
    RunNow(JobKind),
    /// Approve these plan items (ids from the snapshot's plan).
    Approve(Vec<String>),
    /// Reject these plan items: they stay suppressed until their source changes.
    Reject(Vec<String>),
    /// A person's word on removals from Astrow's definitions mirror that
    /// the deletion guard holds (keys from the snapshot's
    /// `definitions.removals`): approved ones are written by the next
    /// definitions sync (`RunNow(Definitions)` applies them at once),
    /// rejected ones stay mirrored. An empty PAC list stays refused.
    DecideMirrorRemovals {
        keys: Vec<String>,
        decision: RemovalDecision,
    },
    /// Bind the store to the site the settings name, forgetting the old
    /// site's links and plans (audited), as `astrow-pac store rebind` does
    /// when no engine runs.
    RebindStore,
    /// Erase what the store keeps of one employee (an erasure request), as
    /// `astrow-pac forget employee` does when no engine runs.
    ForgetEmployee {
        pac_id: u64,
        pers_no: Option<u64>,
    },
    /// Apply the approved items of this plan.
    Apply {
        plan_id: String,
        allow_held: bool,
    },
    Pause,
    Resume,
    /// Read the settings file again (after the console saved it).
    ReloadSettings,
    /// Open a door for 5 seconds.
    OpenDoor {
        reader_id: u32,
    },
    StartRollCall,
    StopRollCall,
    /// After PAC's event sequence was reset (restored from a backup): read
    /// PAC's events after `to` from now on, in a new epoch (audited).
    ResetCursor {
        to: u64,
    },
    /// After Astrow was restored from a backup (its booking ids went back
    /// below the Astrow->PAC cursor): read Astrow's bookings after `to`
    /// from now on, in a new epoch (audited).
    /// `force`: a person confirmed it while no restore is open (the CLI's
    /// question or `--yes`); else it is refused without one.
    MoveAstrowCursor {
        to: u64,
        #[serde(default)]
        force: bool,
    },
    /// Bookings a reconciliation found missing from Astrow (by source id,
    /// `pac:<org>:<seq>`): those Astrow once answered as stored go back to
    /// pending and are sent again (audited); Astrow keeps each source id
    /// once, so one it holds after all is answered `duplicate`.
    ResendLostBookings {
        source_ids: Vec<String>,
    },
    /// Stop cleanly: finish or safely abandon the item in flight.
    Shutdown,
    /// Ask about the store (a page of the audit log, a trace): the answer
    /// comes back as an event carrying `id`. Reads only.
    Query {
        id: u64,
        query: Query,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventLevel {
    Info,
    Warning,
    Error,
}

/// A notice for the console's status line and log ("apply finished: 40 applied, 2 stale"),
/// or the answer to one console's query (then `message` is empty and the
/// other consoles ignore it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineEvent {
    pub time: DateTime<Utc>,
    pub level: EventLevel,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Box<Answer>>,
}

impl EngineEvent {
    /// The event carrying `answer`.
    pub fn answering(answer: Answer) -> EngineEvent {
        EngineEvent {
            time: Utc::now(),
            level: EventLevel::Info,
            message: String::new(),
            answer: Some(Box::new(answer)),
        }
    }
}
