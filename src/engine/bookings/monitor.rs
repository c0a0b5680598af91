//! Builds the Bookings part of the snapshot from the ledger and the reader's
//! and sender's status; publishes only when something changed.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::reader::ReaderStatus;
use super::rollcall::roll_call;
use super::sender::SenderStatus;
use crate::engine::people::People;
use crate::engine::snapshot::{
    BookingsView, Delivery, FeedEntry, Gap, RollCallView, SequenceResetView, WaitingView,
};
use crate::store::db::Db;
use crate::store::ledger::{self, Entry, EntryKind, LedgerError};
use crate::store::{booking_waits, seq_reset, tally};

/// Entries kept in the snapshot's feed.
pub const FEED_LEN: usize = 500;

pub struct BookingMonitor {
    pub db: Db,
    pub reader: watch::Receiver<ReaderStatus>,
    pub sender: watch::Receiver<SenderStatus>,
    pub people: watch::Receiver<Option<Arc<People>>>,
    pub out: watch::Sender<Arc<BookingsView>>,
    pub cancel: CancellationToken,
    pub every: Duration,
}

impl BookingMonitor {
    pub async fn run(mut self) {
        loop {
            match self.build().await {
                Ok(view) => {
                    self.out.send_if_modified(|cur| {
                        if **cur == view {
                            false
                        } else {
                            *cur = Arc::new(view);
                            true
                        }
                    });
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the booking ledger"),
            }
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = tokio::time::sleep(self.every) => {}
                _ = self.reader.changed() => {}
                _ = self.sender.changed() => {}
            }
        }
    }

    async fn build(&self) -> Result<BookingsView, LedgerError> {
        let people = self.people.borrow().clone().unwrap_or_default();
        let reader = self.reader.borrow().clone();
        let sender = self.sender.borrow().clone();
        let Facts {
            waiting,
            oldest_pending,
            reset,
            recent,
            counts,
            gaps,
            mut lags,
            last_minute,
            cursor,
            started,
            granted,
        } = self.db.call(|c| facts(c, Utc::now())).await?;
        lags.sort_unstable();
        let last_error = sender
            .last_error
            .clone()
            .or_else(|| reader.last_error.clone())
            .or_else(|| {
                sender.waiting_for_people.then(|| {
                    "waiting for the first employee sync to know linked badges".to_string()
                })
            });
        Ok(BookingsView {
            feed: recent.iter().map(|e| feed_entry(e, &people)).collect(),
            cursor: Some(cursor),
            pending: counts.pending,
            delivered: counts.processed + counts.duplicate,
            queued: counts.queued,
            rejected: counts.rejected,
            per_minute: last_minute as f64,
            lag_p50_ms: percentile(&lags, 50),
            lag_p99_ms: percentile(&lags, 99),
            gaps: gaps
                .into_iter()
                .map(|(from_seq, to_seq, detected_at)| Gap {
                    from_seq,
                    to_seq,
                    detected_at,
                })
                .collect(),
            last_error,
            astrow_down: sender.astrow_down,
            reading_paused: reader.paused_for_backlog,
            roll_call: started.map(|s| RollCallView {
                started: s,
                on_site: roll_call(&granted, s, &people),
            }),
            waiting: waiting
                .into_iter()
                .map(|w| WaitingView {
                    reason: w.reason,
                    count: w.count,
                    since: w.since,
                })
                .collect(),
            oldest_pending,
            sequence_reset: reset.map(|r| SequenceResetView {
                detected_at: r.detected_at,
                cursor: r.cursor,
                pac_last_seq: r.pac_last_seq,
                resume_after: r.resume_after,
                a2p_requeued: r.a2p_requeued,
            }),
        })
    }
}

/// What the Bookings view is built from, read in one call. Runs on every
/// change and every tick, so nothing here counts the ledger: counts, lags
/// and the last minute come from the in-memory tally, and every query is
/// answered from an index or a short walk down the primary key (see the
/// test below that checks each one's plan).
pub fn facts(c: &mut rusqlite::Connection, now: DateTime<Utc>) -> Result<Facts, LedgerError> {
    let started = ledger::roll_call(c)?;
    let granted = match started {
        Some(s) => {
            let since = s - chrono::Duration::hours(24);
            super::rollcall::merge_attendance(
                ledger::granted_since(c, since)?,
                crate::store::astrow_ledger::attendance_since(c, since)?,
            )
        }
        None => Vec::new(),
    };
    let (tally, last_minute) = tally::current(c, now)?;
    Ok(Facts {
        waiting: booking_waits::waiting(c, 20)?,
        oldest_pending: booking_waits::oldest_pending(c)?,
        reset: seq_reset::open_reset(c)?,
        recent: ledger::recent(c, FEED_LEN)?,
        counts: tally.counts,
        gaps: ledger::gaps(c)?,
        lags: tally.lags_ms(),
        last_minute,
        cursor: ledger::cursor(c)?,
        started,
        granted,
    })
}

/// What [`facts`] reads.
pub struct Facts {
    pub waiting: Vec<booking_waits::WaitGroup>,
    pub oldest_pending: Option<DateTime<Utc>>,
    pub reset: Option<seq_reset::OpenReset>,
    pub recent: Vec<Entry>,
    pub counts: ledger::Counts,
    pub gaps: Vec<(crate::model::Seq, crate::model::Seq, DateTime<Utc>)>,
    /// Newest first.
    pub lags: Vec<u64>,
    pub last_minute: u64,
    pub cursor: crate::model::Seq,
    pub started: Option<DateTime<Utc>>,
    pub granted: Vec<Entry>,
}

/// The `p`th percentile of sorted values (nearest rank).
pub fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn feed_entry(e: &Entry, people: &People) -> FeedEntry {
    let delivery = match (&e.kind, &e.status) {
        (EntryKind::Feed, _) => Delivery::FeedOnly,
        (EntryKind::RollCall, _) => Delivery::RollCall,
        (EntryKind::Booking { .. }, None) => Delivery::Pending,
        (EntryKind::Booking { .. }, Some(s)) => Delivery::Answered { status: s.clone() },
    };
    FeedEntry {
        seq: seq_reset::split_key(e.seq).1,
        time: e.time,
        event_type: e.event_type,
        badge_number: e.badge_number.clone(),
        employee: e.employee_id.and_then(|id| people.names.get(&id).cloned()),
        reader: e.reader_serial.clone().unwrap_or_default(),
        direction: match e.kind {
            EntryKind::Booking { direction } => direction,
            _ => None,
        },
        delivery,
        pairing_note: match e.kind {
            EntryKind::Booking { .. } => e
                .employee_id
                .and_then(|id| people.unpaired_why.get(&id).cloned()),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 99), Some(99));
        assert_eq!(percentile(&[7], 99), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }
}
