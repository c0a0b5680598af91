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
use super::ports::{EventSource, SourceError};
use crate::http::{RetryPolicy, backoff_delay};
use crate::model::{Reader, Seq};
use crate::store::db::Db;
use crate::store::ledger::{self, LedgerError};

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
}

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
}

const BACKOFF: RetryPolicy = RetryPolicy {
    max_attempts: u32::MAX,
    base_delay: Duration::from_millis(250),
    max_delay: Duration::from_secs(30),
};

impl<S: EventSource> EventReader<S> {
    pub async fn run(self) {
        let mut readers: HashMap<u32, Reader> = HashMap::new();
        let mut readers_fetched: Option<tokio::time::Instant> = None;
        let mut failures: u32 = 0;
        while !self.cancel.is_cancelled() {
            match self
                .step(&mut readers, &mut readers_fetched, &mut failures)
                .await
            {
                Ok(()) => {}
                Err(message) => {
                    failures += 1;
                    tracing::warn!(failures, error = %message, "reading PAC events failed");
                    self.status.send_modify(|s| {
                        s.last_error = Some(message);
                        s.consecutive_failures = failures;
                    });
                    let wait = backoff_delay(&BACKOFF, failures, None);
                    tokio::select! {
                        _ = self.cancel.cancelled() => return,
                        _ = tokio::time::sleep(wait) => {}
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
        if missing.is_empty() {
            return Ok(());
        }
        let fresh = readers_fetched.is_some_and(|t| t.elapsed() <= Duration::from_secs(30));
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
        let before = readers.len();
        *readers = list.into_iter().map(|r| (r.id, r)).collect();
        if before > 0 && readers.len() != before {
            // New readers: Astrow's mirror must learn them before their bookings.
            self.readers_changed.notify_one();
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

    fn confirmed_unknown(&self, id: u32) -> bool {
        self.unknown_readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&id)
    }

    /// One round: back-pressure check, one page, one transaction.
    async fn step(
        &self,
        readers: &mut HashMap<u32, Reader>,
        readers_fetched: &mut Option<tokio::time::Instant>,
        failures: &mut u32,
    ) -> Result<(), String> {
        let pending = self
            .db
            .call(|c| ledger::pending_count(c))
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
        let after = self
            .db
            .call(|c| ledger::cursor(c))
            .await
            .map_err(|e| e.to_string())?;
        let page = tokio::select! {
            _ = self.cancel.cancelled() => return Ok(()),
            page = self.source.events(after, self.limits.page, self.limits.wait_s) => page,
        };
        let page = match page {
            Ok(p) => p,
            Err(SourceError::Expired { oldest_seq }) => {
                let gap = self
                    .db
                    .call(move |c| ledger::record_gap(c, oldest_seq, Utc::now()))
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some((from, to)) = gap {
                    tracing::error!(
                        from = from.0,
                        to = to.0,
                        "PAC no longer holds events {from}..={to}: they are lost to the integration"
                    );
                }
                return Ok(());
            }
            Err(e) => return Err(format!("PAC events: {e}")),
        };
        self.learn_readers(&page.items, readers, readers_fetched)
            .await?;
        let rules = self.rules.borrow().clone();
        let entries: Vec<_> = page
            .items
            .iter()
            .map(|e| classify(e, readers, &rules))
            .collect();
        let count = entries.len();
        let added = self
            .db
            .call(move |c| -> Result<usize, LedgerError> {
                ledger::append_page(c, &entries, Utc::now())
            })
            .await
            .map_err(|e| e.to_string())?;
        let cursor = self
            .db
            .call(|c| ledger::cursor(c))
            .await
            .map_err(|e| e.to_string())?;
        *failures = 0;
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
