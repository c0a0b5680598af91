//! What the console and `status` see of the Astrow -> PAC bookings: the
//! newest rows, the counts, rate, lag and health (in the snapshot).

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::store::astrow_ledger::{Row, RowState, Tally};

/// Most rows the view carries.
pub const FEED_ROWS: usize = 200;

/// The Astrow -> PAC direction as the snapshot shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AstrowToPacView {
    /// `bookings.astrow_to_pac`: off, nothing is read or sent.
    pub enabled: bool,
    /// Newest first, at most [`FEED_ROWS`].
    pub feed: Vec<A2pEntry>,
    pub tally: Tally,
    /// Events PAC answered in the last minute.
    pub per_minute: f64,
    /// From the Astrow booking's time to PAC's answer, of the newest answered.
    pub lag_ms: Option<u64>,
    pub last_error: Option<String>,
    /// Reading Astrow failed this many times in a row.
    pub astrow_failures: u32,
    /// Sending to PAC failed this many times in a row.
    pub pac_failures: u32,
    /// Reading paused: `bookings.max_pending` rows wait for PAC.
    pub reading_paused: bool,
    /// When the oldest pending row was read (nothing sent since): stuck.
    pub oldest_pending: Option<DateTime<Utc>>,
    /// Nothing is read until the definitions sync has published PAC's
    /// reader list (the File-terminal loop rule): waiting for it since.
    #[serde(default)]
    pub waiting_for_readers_since: Option<DateTime<Utc>>,
    /// Astrow went back below the cursor (restored from a backup): reading
    /// stopped until a person moves the cursor.
    #[serde(default)]
    pub astrow_restore: Option<crate::store::astrow_restore::OpenRestore>,
}

impl AstrowToPacView {
    /// Failing this many times in a row marks a side down (and the
    /// heartbeat degraded).
    pub const DOWN_AFTER: u32 = 3;

    /// Why the direction is stuck, when it is: a side down, or a row
    /// pending longer than `stuck_after_s`.
    pub fn stuck(&self, now: DateTime<Utc>, stuck_after_s: u64) -> Option<String> {
        if !self.enabled {
            return None;
        }
        if let Some(r) = &self.astrow_restore {
            return Some(format!("Astrow->PAC: {}", r.message()));
        }
        if self.astrow_failures >= Self::DOWN_AFTER {
            return Some(format!(
                "Astrow->PAC: reading Astrow's bookings failed {} times in a row",
                self.astrow_failures
            ));
        }
        if self.pac_failures >= Self::DOWN_AFTER {
            return Some(format!(
                "Astrow->PAC: sending to PAC failed {} times in a row ({} waiting)",
                self.pac_failures, self.tally.pending
            ));
        }
        if let Some(since) = self.waiting_for_readers_since {
            let waited = (now - since).num_seconds().max(0) as u64;
            if waited > stuck_after_s {
                return Some(format!(
                    "Astrow->PAC: nothing read for {waited} s: waiting for PAC's reader list, \
                     which the definitions sync has not read (see its job)"
                ));
            }
        }
        let since = self.oldest_pending?;
        let waited = (now - since).num_seconds().max(0) as u64;
        (waited > stuck_after_s).then(|| {
            format!(
                "Astrow->PAC: {} bookings waiting ({} of them for a link to PAC), the oldest for {waited} s",
                self.tally.pending, self.tally.waiting
            )
        })
    }
}

/// One Astrow booking on its way to PAC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct A2pEntry {
    /// Astrow's booking id (in its epoch, see `source_id`).
    pub booking_id: u64,
    /// The PAC `source_id` it goes under: `astrow:<id>`, or
    /// `astrow:e<epoch>:<id>` after a restore of Astrow.
    #[serde(default)]
    pub source_id: String,
    pub time: DateTime<FixedOffset>,
    pub badge_no: String,
    pub pers_no: Option<u64>,
    pub pac_id: Option<u64>,
    /// `web`, `mobile`, `terminal`, `file`.
    pub terminal_kind: String,
    pub direction: Option<String>,
    pub state: RowState,
    pub attempts: u32,
    /// Pending and held back: why (not linked yet, no real badge).
    #[serde(default)]
    pub wait: Option<String>,
}

impl A2pEntry {
    /// The entry for a row; `badges_are_pac_ids` when PAC is master (why a
    /// pending row waits, `map::decide`).
    pub fn of(
        r: &Row,
        badges_are_pac_ids: bool,
        pac_readers: &crate::store::astrow_ledger::PacReaderSerials,
    ) -> Self {
        let wait = match r.state {
            RowState::Pending => super::map::wait_reason(r, badges_are_pac_ids, pac_readers),
            _ => None,
        };
        A2pEntry {
            booking_id: crate::store::astrow_restore::split_key(r.booking.booking_id).1,
            source_id: crate::model::external_source_id(r.booking.booking_id),
            time: r.booking.time,
            badge_no: r.booking.badge_no.clone(),
            pers_no: r.booking.pers_no.map(|p| p.0),
            pac_id: r.linked_pac_id.map(|p| p.0),
            terminal_kind: r.booking.terminal_kind.clone(),
            direction: r.booking.direction.map(|d| d.as_str().to_string()),
            state: r.state.clone(),
            attempts: r.attempts,
            wait,
        }
    }

    /// The state in a few words (outside text in `reason`: sanitise to draw).
    pub fn status_text(&self) -> String {
        use crate::model::ExternalOutcome as O;
        match &self.state {
            RowState::Pending => match &self.wait {
                Some(why) => format!("waiting: {why}"),
                None => "sending".to_string(),
            },
            RowState::Answered(O::Stored { seq }) => format!("stored (PAC seq {seq})"),
            RowState::Answered(O::Duplicate { seq }) => format!("duplicate (PAC seq {seq})"),
            RowState::Answered(O::Rejected { reason }) => format!("rejected: {reason}"),
            RowState::Unreadable { reason } => format!("unreadable: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuck_when_a_side_keeps_failing_or_a_row_waits_too_long() {
        let now = Utc::now();
        let mut v = AstrowToPacView {
            enabled: true,
            ..Default::default()
        };
        assert_eq!(v.stuck(now, 900), None);
        v.pac_failures = 3;
        assert!(v.stuck(now, 900).unwrap().contains("sending to PAC"));
        v.pac_failures = 0;
        v.oldest_pending = Some(now - chrono::TimeDelta::seconds(1000));
        assert!(v.stuck(now, 900).unwrap().contains("oldest"));
        v.oldest_pending = None;
        v.waiting_for_readers_since = Some(now - chrono::TimeDelta::seconds(100));
        assert_eq!(
            v.stuck(now, 900),
            None,
            "a short wait for the reader list is normal"
        );
        v.waiting_for_readers_since = Some(now - chrono::TimeDelta::seconds(1000));
        assert!(v.stuck(now, 900).unwrap().contains("reader list"));
        v.enabled = false;
        assert_eq!(v.stuck(now, 900), None);
    }
}
