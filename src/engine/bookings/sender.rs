//! Sends pending bookings to Astrow in sequence order, in batches, and keeps
//! Astrow's answer per booking. Transient failures back off with jitter
//! (honouring Retry-After); after repeated failures Astrow is marked down
//! and probed while the backlog waits in the ledger.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::classify::{badge_for, booking_for};
use super::ports::{BookingSink, SinkError};
use super::readiness::{self, Readiness};
use crate::engine::people::People;
use crate::http::Backoff;
use crate::model::{BookingStatus, PacId, Seq};
use crate::model::{LogBadge, mask_badges_in};
use crate::store::booking_waits::{self, WaitKey};
use crate::store::db::Db;
use crate::store::ledger::{self, Entry, LedgerError};

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
    pub waits: WaitPolicy,
    pub memory: WaitMemory,
}

/// How long bookings wait, and how often the mirror is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitPolicy {
    /// A booking waits this long at most for its employee's link.
    pub link_wait: Duration,
    /// The mirror is asked for the same missing reader at most this often.
    pub mirror_retry: Duration,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy {
            link_wait: Duration::from_secs(600),
            mirror_retry: Duration::from_secs(60),
        }
    }
}

/// What the sender remembers about waiting bookings between rounds.
#[derive(Debug, Default)]
pub struct WaitMemory {
    /// When the mirror was last asked for each missing reader.
    asked: HashMap<String, Instant>,
    /// When the ledger was last told why each key's bookings wait.
    marked: HashMap<WaitKey, Instant>,
    /// The mirror the rejected bookings were last checked against.
    mirror_seen: Option<Arc<HashSet<String>>>,
}

/// Waiting bookings are marked again in the ledger at most this often (new
/// ones arrive meanwhile).
const MARK_EVERY: Duration = Duration::from_secs(5);
/// Each round skips at most this many distinct wait reasons.
const MAX_SKIP_ROUNDS: usize = 16;

/// After each failed batch in a row the sender waits longer.
fn backoff() -> Backoff {
    Backoff::new(Duration::from_millis(200), Duration::from_secs(30))
}

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
        let mut backoff = backoff();
        while !self.cancel.is_cancelled() {
            match self.round().await {
                Round::Sent => {
                    backoff.succeeded();
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
                    let failures = backoff.failures() + 1;
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
                    if !backoff.wait_after_failure(retry_after, &self.cancel).await {
                        return;
                    }
                }
            }
        }
    }

    async fn round(&mut self) -> Round {
        let limit = self.batch_size.clamp(1, 500);
        // Without the people map yet, wait for it only when something is
        // pending (and say so); with it, go straight to the ledger.
        if self.people.borrow().is_none() {
            let any = match self.db.call(move |c| ledger::pending(c, 1)).await {
                Ok(b) => !b.is_empty(),
                Err(e) => return failed(format!("reading the ledger: {e}")),
            };
            if !any {
                self.show_waiting(false);
                return Round::Idle;
            }
        }
        let people = match self.wait_for_people().await {
            Some(p) => p,
            None => return Round::Idle,
        };
        // Before the ledger: with nothing pending, these are all there is.
        if let Err(e) = self.requeue_mirror_rejections(&people).await {
            return failed(format!("sending again what the mirror lacked: {e}"));
        }
        let (batch, waits) = match self.ready_batch(&people, limit).await {
            Ok(b) => b,
            Err(e) => return failed(format!("reading the ledger: {e}")),
        };
        if let Err(e) = self.note_waits(&waits).await {
            return failed(format!("recording waiting bookings: {e}"));
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
            let mut booking = booking_for(org, entry, badge);
            // A reader whose serial changed in PAC since: the mirror's serial.
            if let Some(serial) = people.mirrored_serial(entry.reader_id, &booking.terminal_serial)
            {
                booking.terminal_serial = serial;
            }
            bookings.push(booking);
        }
        let seqs: Vec<Seq> = batch.iter().map(|e| e.seq).collect();
        let sent_with = marks.clone();
        if let Err(e) = self.db.call(move |c| ledger::mark_sending(c, &marks)).await {
            return failed(format!("recording the send: {e}"));
        }
        let sent = tokio::select! {
            _ = self.cancel.cancelled() => return Round::Idle,
            a = self.sink.send(bookings) => a,
        };
        // mark_sending counted one send; the connector may have sent more.
        let extra = sent.tries.saturating_sub(1);
        if extra > 0 {
            let resent = seqs.clone();
            if let Err(e) = self
                .db
                .call(move |c| ledger::count_resends(c, &resent, extra))
                .await
            {
                return failed(format!("recording the resends: {e}"));
            }
        }
        match sent.answer {
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

    /// Bookings Astrow rejected for a reader missing from its mirror go
    /// again once the mirror holds it (checked when the mirror changes).
    async fn requeue_mirror_rejections(&mut self, people: &People) -> Result<(), LedgerError> {
        let Some(mirror) = people.mirrored_serials.clone() else {
            return Ok(());
        };
        if self
            .memory
            .mirror_seen
            .as_ref()
            .is_some_and(|m| Arc::ptr_eq(m, &mirror) || **m == *mirror)
        {
            return Ok(());
        }
        let m = mirror.clone();
        let n = self
            .db
            .call(move |c| booking_waits::requeue_mirror_rejections(c, &m))
            .await?;
        if n > 0 {
            tracing::info!(
                bookings = n,
                "bookings rejected for a reader missing from Astrow's mirror are sent again"
            );
        }
        self.memory.mirror_seen = Some(mirror);
        Ok(())
    }

    /// The oldest pending bookings that can go now, and why others wait:
    /// each query leaves out what the one before found waiting.
    async fn ready_batch(
        &self,
        people: &People,
        limit: usize,
    ) -> Result<(Vec<Entry>, Vec<WaitKey>), LedgerError> {
        let link_wait =
            chrono::Duration::from_std(self.waits.link_wait).unwrap_or(chrono::Duration::MAX);
        let mut waits: Vec<WaitKey> = Vec::new();
        let mut ready_found: Vec<Entry> = Vec::new();
        for _ in 0..MAX_SKIP_ROUNDS {
            let (serials, employees) = skip_lists(&waits);
            let batch = self
                .db
                .call(move |c| booking_waits::pending_except(c, limit, &serials, &employees))
                .await?;
            let readiness = Readiness::of(people, link_wait, Utc::now());
            let (ready, found) = readiness::split(batch, &readiness);
            let found: Vec<WaitKey> = found.into_iter().filter(|k| !waits.contains(k)).collect();
            // A full batch, or nothing new skipped: send what is ready.
            if found.is_empty() || ready.len() == limit {
                waits.extend(found);
                return Ok((ready, waits));
            }
            waits.extend(found);
            // Each round's batch holds the earlier rounds' ready bookings
            // too (only waiting keys are skipped): keep the latest.
            ready_found = ready;
        }
        // Out of rounds: what was found ready still goes.
        Ok((ready_found, waits))
    }

    /// Show what waits, record the reasons in the ledger, and ask for a
    /// mirror refresh (at most once per `mirror_retry` per missing reader).
    async fn note_waits(&mut self, waits: &[WaitKey]) -> Result<(), LedgerError> {
        let readers: Vec<&String> = waits
            .iter()
            .filter_map(|k| match k {
                WaitKey::Reader(s) => Some(s),
                WaitKey::Employee(_) => None,
            })
            .collect();
        self.show_waiting(!readers.is_empty());
        let now = Instant::now();
        let retry = self.waits.mirror_retry;
        let mut ask = false;
        for serial in readers {
            let due = self
                .memory
                .asked
                .get(serial)
                .is_none_or(|t| now.duration_since(*t) >= retry);
            if due {
                self.memory.asked.insert(serial.clone(), now);
                ask = true;
            }
        }
        if ask {
            tracing::info!(
                "bookings wait for readers Astrow's mirror lacks: asking for a mirror refresh"
            );
            self.mirror_needed.notify_one();
        }
        let stale: Vec<WaitKey> = waits
            .iter()
            .filter(|k| {
                self.memory
                    .marked
                    .get(*k)
                    .is_none_or(|t| now.duration_since(*t) >= MARK_EVERY)
            })
            .cloned()
            .collect();
        if stale.is_empty() {
            return Ok(());
        }
        for k in &stale {
            self.memory.marked.insert(k.clone(), now);
        }
        self.memory.marked.retain(|k, _| waits.contains(k));
        self.db
            .call(move |c| booking_waits::mark_waiting(c, &stale))
            .await?;
        Ok(())
    }

    fn show_waiting(&self, for_mirror: bool) {
        self.status.send_if_modified(|s| {
            let was = s.waiting_for_mirror;
            s.waiting_for_mirror = for_mirror;
            was != for_mirror
        });
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

/// The reader serials and employee ids to leave out of the next query.
fn skip_lists(waits: &[WaitKey]) -> (Vec<String>, Vec<PacId>) {
    let mut serials = Vec::new();
    let mut employees = Vec::new();
    for k in waits {
        match k {
            WaitKey::Reader(s) => serials.push(s.clone()),
            WaitKey::Employee(id) => employees.push(*id),
        }
    }
    (serials, employees)
}

fn failed(message: String) -> Round {
    Round::Failed {
        message,
        retry_after: None,
    }
}
