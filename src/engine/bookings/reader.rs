//! Reads PAC's events from the stored cursor (long poll) into the ledger:
//! each page together with the advanced cursor in one transaction, before
//! anything is sent. Pauses while too many bookings wait (back-pressure).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::classify::{BookingRules, classify};
use super::ports::{EventPage, EventSource, SourceError};
use super::stages::{Stage, StageTimes};
use crate::http::Backoff;
use crate::model::{Reader, Seq};
use crate::store::db::Db;
use crate::store::ledger::{self, LedgerError};
use crate::store::seq_reset;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Events per `/events` call (PAC allows up to 1000).
    pub page: u32,
    /// Long-poll seconds (PAC allows up to 30; keep below the request timeout).
    pub wait_s: u32,
    /// Reading pauses while this many bookings wait to be sent.
    pub max_pending: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            page: 1000,
            wait_s: 20,
            max_pending: 100_000,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReaderStatus {
    pub cursor: Option<Seq>,
    pub paused_for_backlog: bool,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    pub last_page_at: Option<chrono::DateTime<Utc>>,
    /// PAC's sequence went back below the cursor: reading stopped.
    pub sequence_reset: bool,
}

/// While a sequence reset is open, the reader looks this often whether a
/// person has moved the cursor.
const RESET_CHECK_EVERY: Duration = Duration::from_secs(2);

pub struct EventReader<S> {
    pub source: Arc<S>,
    pub db: Db,
    pub rules: watch::Receiver<Arc<BookingRules>>,
    pub limits: ReadLimits,
    /// Woken when new bookings are in the ledger.
    pub wake_sender: Arc<Notify>,
    /// Woken by the sender when it drained some (ends a back-pressure pause).
    pub drained: Arc<Notify>,
    pub status: watch::Sender<ReaderStatus>,
    pub cancel: CancellationToken,
    /// Notified when PAC lists new readers (the definitions sync mirrors them).
    pub readers_changed: Arc<Notify>,
    /// Reader ids PAC's events name but its reader list lacked on a fresh look.
    pub unknown_readers: std::sync::Mutex<std::collections::HashSet<u32>>,
    /// PAC's reader list is read again this often (serials and directions
    /// change in PAC too), besides when an event names an unknown reader.
    pub readers_every: Duration,
    /// Where the time goes (the bookings bench reads it).
    pub stages: Arc<StageTimes>,
    /// The last page was full: a full page after it read a backlog (it did
    /// not wait on the long poll).
    pub backlog: std::sync::atomic::AtomicBool,
    /// Pages stored in one transaction while PAC holds a backlog.
    pub read_ahead: usize,
}

/// Pages read and stored in one transaction while PAC holds a backlog,
/// when read-ahead is on ([`super::ImportConfig::read_ahead`], default 1:
/// off). The reader alone stores a backlog 1.3-2.3x faster with 4, but
/// beside a sender the longer transactions hold the ledger's write lock
/// while the sender waits to record answers: 0.75-0.94x over three runs.
pub const READ_AHEAD: usize = 4;

/// The highest seq a page holds, readable or not (`None`: empty).
fn highest_seq(page: &EventPage) -> Option<Seq> {
    let read = page.items.iter().map(|e| e.seq);
    read.chain(page.unreadable.iter().map(|(s, _)| *s)).max()
}

/// After each failed round in a row the reader waits longer.
fn backoff() -> Backoff {
    Backoff::new(Duration::from_millis(250), Duration::from_secs(30))
}

impl<S: EventSource> EventReader<S> {
    pub async fn run(self) {
        let mut readers: HashMap<u32, Reader> = HashMap::new();
        let mut readers_fetched: Option<tokio::time::Instant> = None;
        let mut backoff = backoff();
        while !self.cancel.is_cancelled() {
            match self.step(&mut readers, &mut readers_fetched).await {
                Ok(()) => backoff.succeeded(),
                Err(message) => {
                    let failures = backoff.failures() + 1;
                    tracing::warn!(failures, error = %message, "reading PAC events failed");
                    self.status.send_modify(|s| {
                        s.last_error = Some(message);
                        s.consecutive_failures = failures;
                    });
                    if !backoff.wait_after_failure(None, &self.cancel).await {
                        return;
                    }
                }
            }
        }
    }

    /// Make sure every reader the page names is known before it is
    /// classified: a swipe on a reader added in PAC since the last look would
    /// otherwise go to Astrow under a made-up serial and be rejected. Until
    /// the readers are read again (at most every 30 s) the page is not
    /// stored: the cursor stays and the same page is read again. A reader
    /// PAC still does not list after a fresh look is taken as unknown.
    async fn learn_readers(
        &self,
        events: &[crate::model::Event],
        readers: &mut HashMap<u32, Reader>,
        readers_fetched: &mut Option<tokio::time::Instant>,
    ) -> Result<(), String> {
        let missing: Vec<u32> = events
            .iter()
            .filter_map(|e| e.reader_id)
            .filter(|id| !readers.contains_key(id))
            .collect();
        let due = readers_fetched.is_none_or(|t| t.elapsed() >= self.readers_every);
        // Only a page with events makes a due look worth it.
        let look = due && !events.is_empty();
        if missing.is_empty() && !look {
            return Ok(());
        }
        let fresh = readers_fetched
            .is_some_and(|t| t.elapsed() <= Duration::from_secs(30).min(self.readers_every));
        if fresh {
            // Looked less than 30 s ago: take what PAC said then as final
            // for these ids only if that look already missed them.
            if missing.iter().all(|id| self.confirmed_unknown(*id)) {
                return Ok(());
            }
            return Err(format!(
                "PAC events name reader(s) {missing:?} not in PAC's reader list yet: reading again shortly"
            ));
        }
        *readers_fetched = Some(tokio::time::Instant::now());
        let list = self
            .source
            .readers()
            .await
            .map_err(|e| format!("PAC readers: {e}"))?;
        let before = std::mem::take(readers);
        *readers = list.into_iter().map(|r| (r.id, r)).collect();
        if !before.is_empty() && *readers != before {
            // The sender asks for a mirror refresh when bookings wait for a
            // reader the mirror lacks (at most once a minute per reader);
            // the definitions interval carries the rest.
            tracing::info!("PAC's reader list changed");
        }
        for id in missing.iter().filter(|id| !readers.contains_key(id)) {
            tracing::warn!(
                reader_id = id,
                "PAC names a reader it does not list: its swipes are sent as unknown-reader-{id}"
            );
            self.unknown_readers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(*id);
        }
        Ok(())
    }

    /// PAC's newest seq is below our cursor: PAC was restored from a backup
    /// or reinstalled. Record it (reading stops) and say so loudly. When the
    /// point where PAC and the ledger part cannot be found (PAC or the store
    /// could not be read), nothing is recorded and the step fails: the next
    /// one finds the reset again and tries again, rather than suggest a
    /// cursor that would skip PAC's new events (bookings lost) or read its
    /// old ones again (booked twice). Nothing is read meanwhile.
    async fn sequence_went_back(&self, cursor: Seq, page: &EventPage) -> Result<(), String> {
        let pac_last = page.last_seq;
        let Some(resume) =
            super::resume::resume_point(&*self.source, &self.db, page.oldest_seq, pac_last).await
        else {
            return Err(format!(
                "PAC's event sequence went back (it ends at {pac_last}, we had read up to {cursor}: restored from a backup?); \
                 finding where PAC and the ledger part failed (PAC or the store could not be read): reading stays stopped and it is tried again"
            ));
        };
        let news = self
            .db
            .call(move |c| {
                seq_reset::record_reset_requeuing(c, cursor, pac_last, resume, Utc::now())
            })
            .await
            .map_err(|e| e.to_string())?;
        if let Some(requeued) = news {
            tracing::error!(
                cursor = cursor.0,
                pac_last_seq = pac_last.0,
                "PAC's event sequence was reset (restored from a backup?): it ends at {pac_last} while we had read up to {cursor}; reading stopped until `astrow-pac bookings reset-cursor --to N`"
            );
            self.audit_requeued(resume, requeued).await;
        }
        self.status.send_modify(|s| s.sequence_reset = true);
        Ok(())
    }

    /// Audit (and log) the Astrow->PAC bookings PAC lost in its restore
    /// and that go to it again; an audit failure is logged, the rows are
    /// pending either way.
    async fn audit_requeued(&self, resume: Seq, requeued: u64) {
        if requeued > 0 {
            tracing::warn!(
                requeued,
                kept_through = resume.0,
                "Astrow->PAC: {requeued} bookings PAC stored after its backup (seq above {resume}) are sent again"
            );
        }
        let record = crate::store::AuditRecord {
            system: crate::model::System::Pac,
            action: "resend_external_events".into(),
            record: "Astrow->PAC bookings".into(),
            before: Some(format!(
                "PAC restored from a backup: it agrees with the ledger up to seq {resume}"
            )),
            after: Some(format!(
                "{requeued} bookings PAC had stored above seq {resume} pending again"
            )),
            result: "ok".into(),
        };
        let audited = self
            .db
            .call(move |c| crate::store::append_audit_in(c, &record))
            .await;
        if let Err(e) = audited {
            tracing::error!(
                "Astrow->PAC rows sent again, but the audit log refused the entry: {e}"
            );
        }
    }

    fn confirmed_unknown(&self, id: u32) -> bool {
        self.unknown_readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&id)
    }

    /// While PAC holds more than `first` (a backlog), the pages after it,
    /// read at once (no long-poll), up to `read_ahead` in all: stored
    /// together in one transaction, a commit per several pages instead of
    /// one per page. A page after the first that fails, goes back or names
    /// a reader not known yet ends the run; it is read again next round.
    /// Back-pressure holds: no page is read ahead once the pages read hold
    /// `room` events (what may still wait before reading pauses).
    async fn read_ahead(
        &self,
        first: EventPage,
        room: u64,
        readers: &mut HashMap<u32, Reader>,
        readers_fetched: &mut Option<tokio::time::Instant>,
    ) -> Vec<EventPage> {
        let mut pages = vec![first];
        while let Some(last) = pages.last() {
            let Some(top) = highest_seq(last) else { break };
            let more = last.last_seq > top;
            self.backlog
                .store(more, std::sync::atomic::Ordering::Relaxed);
            let read: usize = pages.iter().map(|p| p.items.len()).sum();
            if !more
                || pages.len() >= self.read_ahead
                || read as u64 >= room
                || self.cancel.is_cancelled()
            {
                break;
            }
            let asked = std::time::Instant::now();
            let next = tokio::select! {
                _ = self.cancel.cancelled() => break,
                page = self.source.events(top, self.limits.page, 0) => page,
            };
            self.stages.add(Stage::ReadPac, asked.elapsed());
            let next = match next {
                Ok(p) if p.last_seq >= top && highest_seq(&p).is_some() => p,
                _ => break,
            };
            if self
                .learn_readers(&next.items, readers, readers_fetched)
                .await
                .is_err()
            {
                break;
            }
            pages.push(next);
        }
        pages
    }

    /// One round: back-pressure check, one page (more while PAC holds a
    /// backlog: [`Self::read_ahead`]), one transaction.
    async fn step(
        &self,
        readers: &mut HashMap<u32, Reader>,
        readers_fetched: &mut Option<tokio::time::Instant>,
    ) -> Result<(), String> {
        let pending = self
            .db
            .call(|c| crate::store::tally::current(c, Utc::now()).map(|(t, _)| t.counts.pending))
            .await
            .map_err(|e| e.to_string())?;
        if pending >= self.limits.max_pending {
            self.status.send_modify(|s| s.paused_for_backlog = true);
            tokio::select! {
                _ = self.cancel.cancelled() => {}
                _ = self.drained.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            return Ok(());
        }
        self.status.send_if_modified(|s| {
            let was = s.paused_for_backlog;
            s.paused_for_backlog = false;
            was
        });
        let (from, open_reset) = self
            .db
            .call(|c| Ok::<_, LedgerError>((ledger::read_point(c)?, seq_reset::open_reset(c)?)))
            .await
            .map_err(|e| e.to_string())?;
        let after = from.cursor;
        if open_reset.is_some() {
            // Stopped until a person moves the cursor: reading on would lose
            // PAC's new events up to our old cursor and reuse their seqs.
            self.status.send_if_modified(|s| {
                let was = s.sequence_reset;
                s.sequence_reset = true;
                !was
            });
            tokio::select! {
                _ = self.cancel.cancelled() => {}
                _ = tokio::time::sleep(RESET_CHECK_EVERY) => {}
            }
            return Ok(());
        }
        self.status.send_if_modified(|s| {
            let was = s.sequence_reset;
            s.sequence_reset = false;
            was
        });
        let asked = std::time::Instant::now();
        let page = tokio::select! {
            _ = self.cancel.cancelled() => return Ok(()),
            page = self.source.events(after, self.limits.page, self.limits.wait_s) => page,
        };
        if page.is_ok()
            && self
                .backlog
                .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            // PAC held more than the last page when it answered it: this
            // call found events at once (no long-poll wait in it).
            self.stages.add(Stage::ReadPac, asked.elapsed());
        }
        let page = match page {
            Ok(p) => p,
            Err(SourceError::Expired { oldest_seq }) => {
                let gap = self
                    .db
                    .call(move |c| ledger::record_gap(c, oldest_seq, Utc::now()))
                    .await
                    .map_err(|e| e.to_string())?;
                return match gap {
                    Some((from, to)) => {
                        tracing::error!(
                            from = from.0,
                            to = to.0,
                            "PAC no longer holds events {from}..={to}: they are lost to the integration"
                        );
                        Ok(())
                    }
                    // Nothing to record and the cursor cannot move: asking
                    // again at once would loop against PAC. Back off.
                    None => Err(format!(
                        "PAC answered 410 (events expired, oldest {oldest_seq}) after {after} with no gap to record"
                    )),
                };
            }
            Err(e) => return Err(format!("PAC events: {e}")),
        };
        if page.last_seq < after {
            self.sequence_went_back(after, &page).await?;
            return Ok(());
        }
        self.learn_readers(&page.items, readers, readers_fetched)
            .await?;
        let room = self.limits.max_pending.saturating_sub(pending);
        let pages = self.read_ahead(page, room, readers, readers_fetched).await;
        let storing = std::time::Instant::now();
        let unreadable: Vec<(Seq, String)> = pages
            .iter()
            .flat_map(|p| p.unreadable.iter().cloned())
            .collect();
        let rules = self.rules.borrow().clone();
        let entries: Vec<_> = pages
            .iter()
            .flat_map(|p| p.items.iter())
            .map(|e| classify(e, readers, &rules))
            .collect();
        let count = entries.len();
        let aside = unreadable.clone();
        let stored = self
            .db
            .call(move |c| ledger::append_page_after(c, from, &entries, &aside, Utc::now()))
            .await
            .map_err(|e: LedgerError| e.to_string())?;
        self.stages.add(Stage::StorePage, storing.elapsed());
        let Some(ledger::PageStored { added, passed }) = stored else {
            tracing::info!(
                after = after.0,
                "the event cursor moved while a page was read (reset-cursor): the page is dropped and read again from the new cursor"
            );
            return Ok(());
        };
        for (seq, reason) in unreadable.iter().filter(|(s, _)| passed.contains(s)) {
            tracing::error!(
                seq = seq.0,
                %reason,
                "PAC event {seq} cannot be read: set aside and recorded as a gap of one event"
            );
        }
        let cursor = self
            .db
            .call(|c| ledger::cursor(c))
            .await
            .map_err(|e| e.to_string())?;
        if added > 0 {
            self.wake_sender.notify_one();
        }
        tracing::debug!(count, added, cursor = cursor.0, "events page stored");
        self.status.send_modify(|s| {
            s.cursor = Some(cursor);
            s.last_error = None;
            s.consecutive_failures = 0;
            s.last_page_at = Some(Utc::now());
        });
        Ok(())
    }
}
