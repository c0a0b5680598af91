//! Sends pending bookings to Astrow in sequence order, in batches, and keeps
//! Astrow's answer per booking. Transient failures back off with jitter
//! (honouring Retry-After); after repeated failures Astrow is marked down
//! and probed while the backlog waits in the ledger.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::classify::{badge_for, booking_for};
use super::ports::{BookingSink, SinkError};
use crate::engine::people::People;
use crate::http::{RetryPolicy, backoff_delay};
use crate::model::{BookingStatus, Seq};
use crate::model::{LogBadge, mask_badges_in};
use crate::store::db::Db;
use crate::store::ledger::{self, LedgerError};

/// Failures in a row after which Astrow is shown as down.
pub const DOWN_AFTER: u32 = 5;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SenderStatus {
    pub astrow_down: bool,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    /// Waiting for the employee sync to say which badges are linked.
    pub waiting_for_people: bool,
    /// Bookings wait for Astrow's reader mirror to learn a new reader.
    pub waiting_for_mirror: bool,
    pub last_batch_at: Option<chrono::DateTime<Utc>>,
}

pub struct BookingSender<K> {
    pub sink: Arc<K>,
    pub db: Db,
    pub organization_id: u32,
    pub batch_size: usize,
    pub people: watch::Receiver<Option<Arc<People>>>,
    pub wake: Arc<Notify>,
    /// Notified after each answered batch (ends the reader's back-pressure pause).
    pub drained: Arc<Notify>,
    pub status: watch::Sender<SenderStatus>,
    pub cancel: CancellationToken,
    /// Notified when bookings wait for a reader Astrow's mirror lacks.
    pub mirror_needed: Arc<Notify>,
}

const BACKOFF: RetryPolicy = RetryPolicy {
    max_attempts: u32::MAX,
    base_delay: Duration::from_millis(200),
    max_delay: Duration::from_secs(30),
};

enum Round {
    Idle,
    Sent,
    Failed {
        message: String,
        retry_after: Option<Duration>,
    },
}

impl<K: BookingSink> BookingSender<K> {
    pub async fn run(mut self) {
        let mut failures: u32 = 0;
        while !self.cancel.is_cancelled() {
            match self.round().await {
                Round::Sent => {
                    failures = 0;
                    self.drained.notify_waiters();
                }
                Round::Idle => {
                    tokio::select! {
                        _ = self.cancel.cancelled() => return,
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
                Round::Failed {
                    message,
                    retry_after,
                } => {
                    failures += 1;
                    let down = failures >= DOWN_AFTER;
                    if down {
                        tracing::error!(failures, error = %message, "Astrow keeps refusing bookings: marked down, probing");
                    } else {
                        tracing::warn!(failures, error = %message, "sending bookings failed");
                    }
                    self.status.send_modify(|s| {
                        s.astrow_down = down;
                        s.last_error = Some(message);
                        s.consecutive_failures = failures;
                    });
                    let wait = backoff_delay(&BACKOFF, failures, retry_after);
                    tokio::select! {
                        _ = self.cancel.cancelled() => return,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    async fn round(&mut self) -> Round {
        let limit = self.batch_size.clamp(1, 500);
        let batch = match self.db.call(move |c| ledger::pending(c, limit)).await {
            Ok(b) => b,
            Err(e) => return failed(format!("reading the ledger: {e}")),
        };
        if batch.is_empty() {
            return Round::Idle;
        }
        let people = match self.wait_for_people().await {
            Some(p) => p,
            None => return Round::Idle,
        };
        // Bookings on a reader Astrow's mirror does not hold yet wait (they
        // stay pending): sent now, Astrow would reject them for good.
        let (batch, held): (Vec<_>, Vec<_>) =
            batch
                .into_iter()
                .partition(|e| match (&people.mirrored_serials, &e.reader_serial) {
                    (Some(mirror), Some(serial)) => {
                        mirror.contains(serial) || serial.starts_with("unknown-reader-")
                    }
                    _ => true,
                });
        let waiting = !held.is_empty();
        self.status.send_if_modified(|s| {
            let was = s.waiting_for_mirror;
            s.waiting_for_mirror = waiting;
            was != waiting
        });
        if waiting {
            self.mirror_needed.notify_one();
        }
        if batch.is_empty() {
            return Round::Idle;
        }
        let org = self.organization_id;
        let mut marks = Vec::with_capacity(batch.len());
        let mut bookings = Vec::with_capacity(batch.len());
        for entry in &batch {
            // A booking sent before keeps the badge it first went out with.
            let badge = entry
                .badge_no
                .clone()
                .unwrap_or_else(|| badge_for(entry, &people.linked_badges));
            marks.push((entry.seq, badge.clone()));
            bookings.push(booking_for(org, entry, badge));
        }
        let seqs: Vec<Seq> = batch.iter().map(|e| e.seq).collect();
        let sent_with = marks.clone();
        if let Err(e) = self.db.call(move |c| ledger::mark_sending(c, &marks)).await {
            return failed(format!("recording the send: {e}"));
        }
        let answer = tokio::select! {
            _ = self.cancel.cancelled() => return Round::Idle,
            a = self.sink.send(bookings) => a,
        };
        match answer {
            Ok(statuses) if statuses.len() == seqs.len() => {
                let answers: Vec<(Seq, BookingStatus)> = seqs.into_iter().zip(statuses).collect();
                let n = answers.len();
                let logged = answers.clone();
                if let Err(e) = self.store_answers(answers).await {
                    return failed(format!("recording Astrow's answers: {e}"));
                }
                super::answer_log::log_answers(&sent_with, &logged);
                tracing::debug!(bookings = n, "batch answered");
                self.status.send_modify(|s| {
                    s.astrow_down = false;
                    s.last_error = None;
                    s.consecutive_failures = 0;
                    s.last_batch_at = Some(Utc::now());
                });
                Round::Sent
            }
            Ok(statuses) => failed(format!(
                "Astrow answered {} results for {} bookings; nothing recorded, the batch is sent again",
                statuses.len(),
                seqs.len()
            )),
            Err(SinkError::Malformed { index, message }) => {
                // One poison booking: keep it with the reason and let the rest go on.
                let Some(seq) = seqs.get(index).copied() else {
                    return failed(format!(
                        "Astrow named booking {index} of {}: {message}",
                        seqs.len()
                    ));
                };
                let badge = sent_with.get(index).map_or("", |(_, b)| b.as_str());
                tracing::error!(
                    seq = seq.0,
                    "booking of badge {} refused as malformed: {}",
                    LogBadge::new(badge),
                    mask_badges_in(&message, [badge])
                );
                let reason = format!("refused by Astrow as malformed: {message}");
                match self
                    .store_answers(vec![(seq, BookingStatus::Rejected { reason })])
                    .await
                {
                    Ok(()) => Round::Sent,
                    Err(e) => failed(format!("recording a malformed booking: {e}")),
                }
            }
            Err(SinkError::Failed {
                message,
                retry_after,
                ..
            }) => Round::Failed {
                message,
                retry_after,
            },
        }
    }

    async fn store_answers(&self, answers: Vec<(Seq, BookingStatus)>) -> Result<(), LedgerError> {
        self.db
            .call(move |c| ledger::record_answers(c, &answers, Utc::now()))
            .await
    }

    /// The people map, waiting for the first employee sync if need be.
    async fn wait_for_people(&mut self) -> Option<Arc<People>> {
        loop {
            if let Some(p) = self.people.borrow_and_update().clone() {
                self.status.send_if_modified(|s| {
                    let was = s.waiting_for_people;
                    s.waiting_for_people = false;
                    was
                });
                return Some(p);
            }
            self.status.send_if_modified(|s| {
                let was = s.waiting_for_people;
                s.waiting_for_people = true;
                !was
            });
            tokio::select! {
                _ = self.cancel.cancelled() => return None,
                changed = self.people.changed() => if changed.is_err() { return None },
            }
        }
    }
}

fn failed(message: String) -> Round {
    Round::Failed {
        message,
        retry_after: None,
    }
}
