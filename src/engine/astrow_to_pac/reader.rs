//! Astrow's feed -> the ledger: each page stored with the advanced cursor
//! in one transaction, so nothing read is lost or read twice. Nothing is
//! read before PAC's reader list is known (a File terminal booking at one
//! of its serials came from PAC and must be told apart).

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::restore::WentBack;
use super::{A2pConfig, Gate, PacReaders, TaskHealth, gate_open};
use crate::astrow::AstrowClient;
use crate::astrow::feed::FeedPage;
use crate::http::Backoff;
use crate::store::astrow_ledger::{self, AstrowLedgerError, Page};
use crate::store::db::Db;
use crate::store::{astrow_restore, astrow_tally};

pub(super) struct FeedReader {
    pub astrow: AstrowClient,
    pub db: Db,
    pub cfg: A2pConfig,
    pub gate: Gate,
    pub pac_readers: PacReaders,
    pub wake_sender: Arc<Notify>,
    pub drained: Arc<Notify>,
    pub health: watch::Sender<TaskHealth>,
    pub cancel: CancellationToken,
    /// The cursor at which the last read saw Astrow go back: recorded only
    /// when a second read (a poll interval later) sees it again, so a
    /// passing glitch (an empty page) is not taken for a restore.
    pub suspect: Option<u64>,
}

/// What one step found.
enum Step {
    /// A full page: read on at once.
    More,
    /// Nothing newer: wait a poll interval.
    Idle,
    /// Too many rows wait for PAC: wait until the sender drains some.
    Full,
    /// PAC's reader list is not known yet: wait for it.
    NoReaders,
    /// Astrow went back below the cursor (restored from a backup):
    /// recorded, nothing read until a person moves the cursor.
    WentBack,
}

/// What the reader says while it waits for PAC's reader list.
pub(super) const NO_READERS: &str = "waiting for PAC's reader list (the definitions sync): \
    File terminal bookings at a PAC reader came from PAC and are told apart by it";

impl FeedReader {
    pub(super) async fn run(mut self) {
        let mut backoff = Backoff::new(self.cfg.poll_every, self.cfg.max_backoff);
        let mut waiting_for_readers_since = None;
        loop {
            if !*self.gate.borrow() {
                // Turned off: a wait for PAC's reader list starts afresh.
                waiting_for_readers_since = None;
            }
            if !gate_open(&mut self.gate, &self.cancel).await {
                return;
            }
            let step = self.step().await;
            let paused = matches!(step, Ok(Step::Full));
            match &step {
                Ok(_) => backoff.succeeded(),
                Err(e) => tracing::warn!("Astrow->PAC: reading Astrow's bookings: {e}"),
            }
            waiting_for_readers_since = match &step {
                Ok(Step::NoReaders) => {
                    waiting_for_readers_since.or_else(|| Some(chrono::Utc::now()))
                }
                Err(_) => waiting_for_readers_since,
                Ok(_) => None,
            };
            let last_error = match &step {
                Err(e) => Some(e.clone()),
                Ok(Step::NoReaders) => Some(NO_READERS.to_string()),
                Ok(_) => None,
            };
            self.health.send_replace(TaskHealth {
                failures: backoff.failures() + u32::from(step.is_err()),
                last_error,
                paused,
                waiting_for_readers_since,
            });
            let go_on = match step {
                Ok(Step::More) => !self.cancel.is_cancelled(),
                Ok(Step::Idle | Step::WentBack) => self.wait(self.cfg.poll_every, None).await,
                Ok(Step::Full) => {
                    let drained = self.drained.clone();
                    self.wait(self.cfg.poll_every, Some(drained)).await
                }
                Ok(Step::NoReaders) => self.wait_for_readers().await,
                Err(_) => backoff.wait_after_failure(None, &self.cancel).await,
            };
            if !go_on {
                return;
            }
        }
    }

    /// Wait `d`, or until `early` is notified or the gate changes.
    async fn wait(&mut self, d: std::time::Duration, early: Option<Arc<Notify>>) -> bool {
        let notified = async {
            match early {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            _ = tokio::time::sleep(d) => true,
            _ = notified => true,
            _ = self.gate.changed() => true,
        }
    }

    /// Astrow went back below the cursor: record it (reading stops) and
    /// say so loudly, once.
    async fn record_went_back(&self, cursor: u64, why: String) -> Result<(), String> {
        let open = self
            .db
            .call(|c| astrow_restore::open_restore(c))
            .await
            .map_err(|e| e.to_string())?;
        if open.is_some() {
            return Ok(());
        }
        let resume = super::resume::resume_point(&self.astrow, &self.db).await;
        let text = why.clone();
        let news = self
            .db
            .call(move |c| {
                astrow_restore::record_restore_requeuing(c, cursor, &text, resume, Utc::now())
            })
            .await
            .map_err(|e| e.to_string())?;
        if let Some(n) = news.filter(|n| *n > 0) {
            tracing::warn!(
                requeued = n,
                "Astrow lost PAC->Astrow bookings in its restore: sent again"
            );
        }
        if news.is_some() {
            tracing::error!(
                cursor,
                "Astrow's bookings went back (restored from a backup?): {why}; reading Astrow's bookings stopped until `astrow-pac bookings astrow-cursor --to N`"
            );
        }
        Ok(())
    }

    /// Wait until PAC's reader list changes (or the gate does).
    async fn wait_for_readers(&mut self) -> bool {
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            r = self.pac_readers.changed() => r.is_ok(),
            _ = self.gate.changed() => true,
        }
    }

    /// One page: read after `cursor - 1`, so that the page begins with the
    /// booking at the cursor, still the one read (else Astrow went back:
    /// `restore::went_back`), then store what is newer.
    async fn step(&mut self) -> Result<Step, String> {
        let Some(pac_readers) = self.pac_readers.borrow().clone() else {
            return Ok(Step::NoReaders);
        };
        let (after, pending, mark, went_back) = self
            .db
            .call(|c| {
                let after = astrow_ledger::cursor(c)?.0;
                // Without the cursor's mark (kept since migration 11), the
                // ledger row's own.
                let mark = match astrow_restore::cursor_mark(c)? {
                    Some(m) => Some(m),
                    None => astrow_restore::ledger_mark(c, astrow_restore::epoch(c)?, after)?,
                };
                Ok::<_, AstrowLedgerError>((
                    after,
                    astrow_tally::current(c)?.pending,
                    mark,
                    astrow_restore::open_restore(c)?,
                ))
            })
            .await
            .map_err(|e| e.to_string())?;
        if went_back.is_some() {
            return Ok(Step::WentBack);
        }
        if pending >= self.cfg.max_pending {
            return Ok(Step::Full);
        }
        let page = self
            .astrow
            .bookings_after(after.saturating_sub(1), self.cfg.page_size.max(2))
            .await
            .map_err(|e| e.to_string())?;
        let sign = super::restore::went_back(after, mark.as_deref(), &page);
        let Some(sign) = sign else {
            self.suspect = None;
            return self.store_page(after, page, pac_readers).await;
        };
        if sign == WentBack::Empty && self.newest_deleted(after).await? {
            self.suspect = None;
            return Ok(Step::Idle);
        }
        if self.suspect.replace(after) != Some(after) {
            // Seen once: read again after a poll interval.
            return Ok(Step::Idle);
        }
        self.record_went_back(after, sign.why(after)).await?;
        Ok(Step::WentBack)
    }

    /// Nothing at or after the cursor: whether Astrow's newest bookings
    /// were deleted (the ledger's row before the cursor is still there as
    /// read) rather than Astrow going back. If Astrow did go back, its new
    /// ids reach the cursor and the mark tells it then.
    async fn newest_deleted(&self, cursor: u64) -> Result<bool, String> {
        let before = self
            .db
            .call(move |c| astrow_restore::newest_before(c, astrow_restore::epoch(c)?, cursor))
            .await
            .map_err(|e| e.to_string())?;
        let Some((id, was)) = before else {
            return Ok(false);
        };
        let there = super::resume::still_there(&self.astrow, id, &was).await;
        Ok(there.ok_or("Astrow's bookings could not be read to tell a deletion from a restore")?)
    }

    /// Store what is newer than the cursor on `page` (read after
    /// `after - 1`).
    async fn store_page(
        &self,
        after: u64,
        page: FeedPage,
        pac_readers: Arc<astrow_ledger::PacReaderSerials>,
    ) -> Result<Step, String> {
        let page = super::restore::after_cursor(page, after);
        let Some(to) = page.last_id() else {
            return Ok(Step::Idle);
        };
        let more = page.more;
        let stored = self
            .db
            .call(move |c| {
                let read = Page {
                    from: after,
                    to,
                    bookings: &page.bookings,
                    unreadable: &page.unreadable,
                };
                let marks = &page.unreadable_marks;
                astrow_ledger::append_page_marked(c, &read, marks, &pac_readers, Utc::now())
            })
            .await
            .map_err(|e| e.to_string())?;
        if stored {
            self.wake_sender.notify_one();
        }
        Ok(if more { Step::More } else { Step::Idle })
    }
}
