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
use crate::store::astrow_tally;
use crate::store::db::Db;

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
                Ok(Step::Idle) => self.wait(self.cfg.poll_every, None).await,
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

    /// Wait until PAC's reader list changes (or the gate does).
    async fn wait_for_readers(&mut self) -> bool {
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            r = self.pac_readers.changed() => r.is_ok(),
            _ = self.gate.changed() => true,
        }
    }

    async fn step(&self) -> Result<Step, String> {
        let Some(pac_readers) = self.pac_readers.borrow().clone() else {
            return Ok(Step::NoReaders);
        };
        let (after, pending) = self
            .db
            .call(|c| {
                Ok::<_, AstrowLedgerError>((
                    astrow_ledger::cursor(c)?.0,
                    astrow_tally::current(c)?.pending,
                ))
            })
            .await
            .map_err(|e| e.to_string())?;
        if pending >= self.cfg.max_pending {
            return Ok(Step::Full);
        }
        let page = self
            .astrow
            .bookings_after(after, self.cfg.page_size)
            .await
            .map_err(|e| e.to_string())?;
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
