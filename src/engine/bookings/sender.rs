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
use super::ports::{BookingSink, Sent, SinkError};
use super::readiness::{self, Readiness};
use super::stages::{Stage, StageTimes};
use crate::engine::people::People;
use crate::http::Backoff;
use crate::model::{Booking, BookingStatus, PacId, Seq};
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
    pub pipeline: Pipeline,
    /// Where the time goes (the bookings bench reads it).
    pub stages: Arc<StageTimes>,
}

/// How the sender overlaps its work. Either way one batch at a time is in
/// flight towards Astrow, in ledger order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Pipeline {
    /// Choose a batch, mark it, send it, record the answers; then the next.
    Serial,
    /// The next batch is chosen while one is in flight, and goes out while
    /// the previous answers are written.
    Overlapped,
    /// The next batch is chosen while one is in flight; once answered, its
    /// answers and the next batch's marks are written in one transaction
    /// (one commit per batch), then the next batch goes.
    #[default]
    OneCommit,
    /// Up to [`GROUP`] batches are chosen at once and marked in one
    /// transaction, then sent one after the other; while the first is in
    /// flight the next group is chosen; once the last is answered, the
    /// group's answers and the next group's marks are written in one
    /// transaction (one commit per group). Not the default: side by side
    /// in the bookings bench it was no faster than [`Pipeline::OneCommit`]
    /// (0.78-1.19x over three runs): the ledger's row writes, not its
    /// commits, bound the sender.
    Grouped,
}

/// Batches a [`Pipeline::Grouped`] sender marks, sends and records per commit.
pub const GROUP: usize = 4;

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
    /// A batch answered in full and recorded.
    Sent,
    /// Astrow refused one booking of a batch as malformed; it is kept as
    /// rejected and the rest go on.
    Poisoned,
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
                Round::Sent | Round::Poisoned => {
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

    /// One round: the oldest ready batch, marked, sent, its answers
    /// recorded; overlapped, the batches after it follow in the same round
    /// while the ledger holds full ones.
    async fn round(&mut self) -> Round {
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
        if self.wait_for_people().await.is_none() {
            return Round::Idle;
        }
        let batches = if self.pipeline == Pipeline::Grouped {
            GROUP
        } else {
            1
        };
        let mut group = match self.prepare_up_to(Vec::new(), batches).await {
            Ok(g) if !g.is_empty() => g,
            Ok(_) => return Round::Idle,
            Err(r) => return r,
        };
        if let Err(r) = self.mark_all(&group).await {
            return r;
        }
        if self.pipeline == Pipeline::Grouped {
            return self.grouped(group).await;
        }
        let batch = group.remove(0);
        match self.pipeline {
            Pipeline::Serial => {
                let Some(sent) = self.send(&batch).await else {
                    return Round::Idle;
                };
                let round = record(self.db.clone(), self.stages.clone(), batch, sent).await;
                self.answered(round)
            }
            Pipeline::Overlapped => self.overlapped(batch).await,
            Pipeline::OneCommit | Pipeline::Grouped => self.one_commit(batch).await,
        }
    }

    /// Send the marked batches of `group` one after the other (the next
    /// group chosen while the first is in flight); write their answers and
    /// the next group's marks in one transaction; send that group; and so
    /// on. A batch not answered in full ends the round: the answers before
    /// it are written, its own as [`record`] does; batches of the group not
    /// sent yet stay pending with their attempt counted (as after a crash
    /// between marking and sending) and go again.
    async fn grouped(&mut self, first: Vec<Prepared>) -> Round {
        let mut group = first;
        loop {
            let mut answered: Vec<(Prepared, Sent)> = Vec::new();
            let mut next: Vec<Prepared> = Vec::new();
            let mut unanswered: Option<(Prepared, Sent)> = None;
            let mut stopped = false;
            let mut queue = group.into_iter();
            while let Some(batch) = queue.next() {
                let busy: Vec<Seq> = answered
                    .iter()
                    .map(|(b, _)| b)
                    .chain(queue.as_slice())
                    .flat_map(|b| b.seqs.iter().copied())
                    .collect();
                let choose = if answered.is_empty() { GROUP } else { 0 };
                let Some((sent, chosen)) = self.send_and_prepare_up_to(&batch, &busy, choose).await
                else {
                    stopped = true;
                    break;
                };
                if let Ok(n) = chosen {
                    next.extend(n);
                }
                if !matches!(&sent.answer, Ok(s) if s.len() == batch.seqs.len()) {
                    unanswered = Some((batch, sent));
                    break;
                }
                answered.push((batch, sent));
                if self.cancel.is_cancelled() {
                    stopped = true;
                    break;
                }
            }
            let go_on = unanswered.is_none() && !stopped && queue.len() == 0 && !next.is_empty();
            let marks: Vec<(Seq, String)> = if go_on {
                next.iter().flat_map(|b| b.marks.iter().cloned()).collect()
            } else {
                Vec::new()
            };
            let round = self.answered(record_group(&self.db, &self.stages, answered, marks).await);
            if !matches!(round, Round::Sent) {
                return round;
            }
            if let Some((batch, sent)) = unanswered {
                return self
                    .answered(record(self.db.clone(), self.stages.clone(), batch, sent).await);
            }
            if !go_on {
                return if stopped { Round::Idle } else { round };
            }
            self.drained.notify_waiters();
            group = next;
        }
    }

    /// Send `batch` while the next is chosen; write its answers and the
    /// next batch's marks in one transaction; send the next; and so on.
    async fn one_commit(&mut self, first: Prepared) -> Round {
        let mut batch = first;
        loop {
            let Some((sent, next)) = self.send_and_prepare(&batch, &[]).await else {
                return Round::Idle;
            };
            let in_full = matches!(&sent.answer, Ok(s) if s.len() == batch.seqs.len());
            let following = match next {
                Ok(Some(n)) if in_full && !self.cancel.is_cancelled() => n,
                _ => {
                    let round = record(self.db.clone(), self.stages.clone(), batch, sent).await;
                    return self.answered(round);
                }
            };
            let marks = following.marks.clone();
            let round = record_then_mark(&self.db, &self.stages, batch, sent, marks).await;
            let round = self.answered(round);
            if !matches!(round, Round::Sent) {
                return round;
            }
            self.drained.notify_waiters();
            batch = following;
        }
    }

    /// Send `batch`; while it is in flight, choose the next one (above it);
    /// once answered, mark and send that one while the answers of the
    /// first are written. One batch in flight towards Astrow at a time.
    async fn overlapped(&mut self, first: Prepared) -> Round {
        let mut batch = first;
        let (mut sent, mut next) = match self.send_and_prepare(&batch, &[]).await {
            Some(r) => r,
            None => return Round::Idle,
        };
        loop {
            let in_full = matches!(&sent.answer, Ok(s) if s.len() == batch.seqs.len());
            let following = match next {
                Ok(Some(n)) if in_full && !self.cancel.is_cancelled() => n,
                // A failed choice is found again by the next round.
                _ => break,
            };
            if let Err(r) = self.mark(&following).await {
                self.answered(record(self.db.clone(), self.stages.clone(), batch, sent).await);
                return r;
            }
            let written = batch.seqs.clone();
            let recording = record(self.db.clone(), self.stages.clone(), batch, sent);
            let (recorded, go) =
                tokio::join!(recording, self.send_and_prepare(&following, &written));
            let round = self.answered(recorded);
            let Some((s, n)) = go else {
                // Stopped: what went out unanswered stays pending.
                return round;
            };
            if !matches!(round, Round::Sent) {
                // The ledger refused the answers: those bookings go again
                // (Astrow answers duplicate); record what came for this one.
                self.answered(record(self.db.clone(), self.stages.clone(), following, s).await);
                return round;
            }
            self.drained.notify_waiters();
            batch = following;
            sent = s;
            next = n;
        }
        let round = record(self.db.clone(), self.stages.clone(), batch, sent).await;
        self.answered(round)
    }

    /// `batch` to Astrow, and meanwhile the next batch chosen, leaving out
    /// `batch` and `recording` (a batch whose answers are being written at
    /// the same time: still pending until they are). `None` when stopped.
    async fn send_and_prepare(
        &mut self,
        batch: &Prepared,
        recording: &[Seq],
    ) -> Option<(Sent, Result<Option<Prepared>, Round>)> {
        let (sent, next) = self.send_and_prepare_up_to(batch, recording, 1).await?;
        Some((sent, next.map(|n| n.into_iter().next())))
    }

    /// As [`Self::send_and_prepare`], choosing up to `batches` batches
    /// (none: only the send).
    async fn send_and_prepare_up_to(
        &mut self,
        batch: &Prepared,
        recording: &[Seq],
        batches: usize,
    ) -> Option<(Sent, Result<Vec<Prepared>, Round>)> {
        let mut in_flight = batch.seqs.clone();
        in_flight.extend_from_slice(recording);
        let sink = self.sink.clone();
        let stages = self.stages.clone();
        let bookings = batch.bookings.clone();
        let send = async move {
            let started = std::time::Instant::now();
            let sent = sink.send(bookings).await;
            stages.add(Stage::Send, started.elapsed());
            sent
        };
        let cancel = self.cancel.clone();
        tokio::select! {
            _ = cancel.cancelled() => None,
            r = async {
                tokio::join!(send, async {
                    if batches == 0 {
                        Ok(Vec::new())
                    } else {
                        self.prepare_up_to(in_flight, batches).await
                    }
                })
            } => Some(r),
        }
    }

    /// The next batches (up to `batches`): the oldest ready bookings but
    /// those in flight (`in_flight`: still pending until their answers are
    /// written), with why others wait recorded. A booking older than the
    /// batch in flight that became ready (its link came, the mirror got its
    /// reader) goes in the next batch, not after the whole backlog. Empty:
    /// nothing to send.
    async fn prepare_up_to(
        &mut self,
        in_flight: Vec<Seq>,
        batches: usize,
    ) -> Result<Vec<Prepared>, Round> {
        let size = self.batch_size.clamp(1, 500);
        let limit = size * batches.max(1);
        let Some(people) = self.people.borrow().clone() else {
            return Ok(Vec::new());
        };
        let started = std::time::Instant::now();
        // Before the ledger: with nothing pending, these are all there is.
        if let Err(e) = self.requeue_mirror_rejections(&people).await {
            return Err(failed(format!("sending again what the mirror lacked: {e}")));
        }
        let (batch, waits) = match self.ready_batch(&people, limit, in_flight).await {
            Ok(b) => b,
            Err(e) => return Err(failed(format!("reading the ledger: {e}"))),
        };
        if let Err(e) = self.note_waits(&waits).await {
            return Err(failed(format!("recording waiting bookings: {e}")));
        }
        self.stages.add(Stage::Select, started.elapsed());
        Ok(batch
            .chunks(size)
            .map(|b| Prepared::of(b, self.organization_id, &people))
            .collect())
    }

    /// Before a batch goes: its badges and one more attempt, in the ledger.
    async fn mark(&self, batch: &Prepared) -> Result<(), Round> {
        self.mark_all(std::slice::from_ref(batch)).await
    }

    /// [`Self::mark`] for batches at once, in one transaction.
    async fn mark_all(&self, batches: &[Prepared]) -> Result<(), Round> {
        let started = std::time::Instant::now();
        let marks: Vec<(Seq, String)> = batches
            .iter()
            .flat_map(|b| b.marks.iter().cloned())
            .collect();
        let marked = self.db.call(move |c| ledger::mark_sending(c, &marks)).await;
        self.stages.add(Stage::Mark, started.elapsed());
        marked.map_err(|e| failed(format!("recording the send: {e}")))
    }

    /// `batch` to Astrow; `None` when stopped meanwhile.
    async fn send(&self, batch: &Prepared) -> Option<Sent> {
        let started = std::time::Instant::now();
        let sent = tokio::select! {
            _ = self.cancel.cancelled() => return None,
            a = self.sink.send(batch.bookings.clone()) => a,
        };
        self.stages.add(Stage::Send, started.elapsed());
        Some(sent)
    }

    /// After a batch's answers were recorded: Astrow is up.
    fn answered(&self, round: Round) -> Round {
        if matches!(round, Round::Sent) {
            self.status.send_modify(|s| {
                s.astrow_down = false;
                s.last_error = None;
                s.consecutive_failures = 0;
                s.last_batch_at = Some(Utc::now());
            });
        }
        round
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
        in_flight: Vec<Seq>,
    ) -> Result<(Vec<Entry>, Vec<WaitKey>), LedgerError> {
        let in_flight: std::collections::HashSet<Seq> = in_flight.into_iter().collect();
        let asked = limit + in_flight.len();
        let link_wait =
            chrono::Duration::from_std(self.waits.link_wait).unwrap_or(chrono::Duration::MAX);
        let mut waits: Vec<WaitKey> = Vec::new();
        let mut ready_found: Vec<Entry> = Vec::new();
        for _ in 0..MAX_SKIP_ROUNDS {
            let (serials, employees) = skip_lists(&waits);
            let batch = self
                .db
                .call(move |c| booking_waits::pending_except(c, asked, &serials, &employees))
                .await?;
            let batch: Vec<Entry> = batch
                .into_iter()
                .filter(|e| !in_flight.contains(&e.seq))
                .take(limit)
                .collect();
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

/// A batch chosen and made ready to go: its ledger seqs, the badge each
/// booking goes out with, and the bookings.
struct Prepared {
    seqs: Vec<Seq>,
    marks: Vec<(Seq, String)>,
    bookings: Vec<Booking>,
}

impl Prepared {
    fn of(batch: &[Entry], org: u32, people: &People) -> Prepared {
        let mut marks = Vec::with_capacity(batch.len());
        let mut bookings = Vec::with_capacity(batch.len());
        for entry in batch {
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
        Prepared {
            seqs: batch.iter().map(|e| e.seq).collect(),
            marks,
            bookings,
        }
    }
}

/// Record what Astrow answered for `batch` (and how often it went out).
async fn record(db: Db, stages: Arc<StageTimes>, batch: Prepared, sent: Sent) -> Round {
    record_then_mark(&db, &stages, batch, sent, Vec::new()).await
}

/// As [`record`]; a batch answered in full also marks `next` as sent in the
/// same transaction (nothing is marked otherwise: the caller passes `next`
/// only for a batch answered in full).
async fn record_then_mark(
    db: &Db,
    stages: &StageTimes,
    batch: Prepared,
    sent: Sent,
    next: Vec<(Seq, String)>,
) -> Round {
    let started = std::time::Instant::now();
    let round = record_answer(db, batch, sent, next).await;
    stages.add(Stage::Record, started.elapsed());
    round
}

/// The answers of batches each answered in full, and `next`'s marks, in
/// one transaction (resends counted first, as [`record_answer`] does).
async fn record_group(
    db: &Db,
    stages: &StageTimes,
    answered: Vec<(Prepared, Sent)>,
    next: Vec<(Seq, String)>,
) -> Round {
    if answered.is_empty() && next.is_empty() {
        return Round::Sent;
    }
    let started = std::time::Instant::now();
    let round = record_group_answers(db, answered, next).await;
    stages.add(Stage::Record, started.elapsed());
    round
}

async fn record_group_answers(
    db: &Db,
    answered: Vec<(Prepared, Sent)>,
    next: Vec<(Seq, String)>,
) -> Round {
    let mut answers: Vec<(Seq, BookingStatus)> = Vec::new();
    let mut logged = Vec::new();
    for (batch, sent) in answered {
        let extra = sent.tries.saturating_sub(1);
        if extra > 0 {
            let resent = batch.seqs.clone();
            if let Err(e) = db
                .call(move |c| ledger::count_resends(c, &resent, extra))
                .await
            {
                return failed(format!("recording the resends: {e}"));
            }
        }
        let Ok(statuses) = sent.answer else {
            return failed("a batch of a group was not answered; nothing recorded".into());
        };
        let these: Vec<(Seq, BookingStatus)> = batch.seqs.into_iter().zip(statuses).collect();
        answers.extend(these.iter().cloned());
        logged.push((batch.marks, these));
    }
    let n = answers.len();
    let stored = db
        .call(move |c| ledger::record_answers_then_mark(c, &answers, Utc::now(), &next))
        .await;
    if let Err(e) = stored {
        return failed(format!("recording Astrow's answers: {e}"));
    }
    for (marks, these) in &logged {
        super::answer_log::log_answers(marks, these);
    }
    tracing::debug!(bookings = n, "group of batches answered");
    Round::Sent
}

async fn record_answer(db: &Db, batch: Prepared, sent: Sent, next: Vec<(Seq, String)>) -> Round {
    let Prepared { seqs, marks, .. } = batch;
    // mark_sending counted one send; the connector may have sent more.
    let extra = sent.tries.saturating_sub(1);
    if extra > 0 {
        let resent = seqs.clone();
        if let Err(e) = db
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
            let stored = db
                .call(move |c| ledger::record_answers_then_mark(c, &answers, Utc::now(), &next))
                .await;
            if let Err(e) = stored {
                return failed(format!("recording Astrow's answers: {e}"));
            }
            super::answer_log::log_answers(&marks, &logged);
            tracing::debug!(bookings = n, "batch answered");
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
            let badge = marks.get(index).map_or("", |(_, b)| b.as_str());
            tracing::error!(
                seq = seq.0,
                "booking of badge {} refused as malformed: {}",
                LogBadge::new(badge),
                mask_badges_in(&message, [badge])
            );
            let reason = format!("refused by Astrow as malformed: {message}");
            match store_answers(db, vec![(seq, BookingStatus::Rejected { reason })]).await {
                Ok(()) => Round::Poisoned,
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

async fn store_answers(db: &Db, answers: Vec<(Seq, BookingStatus)>) -> Result<(), LedgerError> {
    db.call(move |c| ledger::record_answers(c, &answers, Utc::now()))
        .await
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
