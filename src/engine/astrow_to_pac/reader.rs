//! Astrow's feed -> the ledger: each page stored with the advanced cursor
//! in one transaction, so nothing read is lost or read twice. Nothing is
//! read before PAC's reader list is known (a File terminal booking at one
//! of its serials came from PAC and must be told apart).

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::{A2pConfig, Gate, PacReaders, TaskHealth, gate_open};
use crate::astrow::AstrowClient;
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
        loop {
            if !gate_open(&mut self.gate, &self.cancel).await {
                return;
            }
            let step = self.step().await;
            let paused = matches!(step, Ok(Step::Full));
            match &step {
                Ok(_) => backoff.succeeded(),
                Err(e) => tracing::warn!("Astrow->PAC: reading Astrow's bookings: {e}"),
            }
            let last_error = match &step {
                Err(e) => Some(e.clone()),
                Ok(Step::NoReaders) => Some(NO_READERS.to_string()),
                Ok(_) => None,
            };
            self.health.send_replace(TaskHealth {
                failures: backoff.failures() + u32::from(step.is_err()),
                last_error,
                paused,
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
            .call(move |c| astrow_restore::record_restore(c, cursor, &text, resume, Utc::now()))
            .await
            .map_err(|e| e.to_string())?;
        if news {
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
    async fn step(&self) -> Result<Step, String> {
        let Some(pac_readers) = self.pac_readers.borrow().clone() else {
            return Ok(Step::NoReaders);
        };
        let (after, pending, mark, went_back) = self
            .db
            .call(|c| {
                Ok::<_, AstrowLedgerError>((
                    astrow_ledger::cursor(c)?.0,
                    astrow_tally::current(c)?.pending,
                    astrow_restore::cursor_mark(c)?,
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
        if let Some(why) = super::restore::went_back(after, mark.as_deref(), &page) {
            self.record_went_back(after, why).await?;
            return Ok(Step::WentBack);
        }
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
                astrow_ledger::append_page(c, &read, &pac_readers, Utc::now())
            })
            .await
            .map_err(|e| e.to_string())?;
        if stored {
            self.wake_sender.notify_one();
        }
        Ok(if more { Step::More } else { Step::Idle })
    }
}
