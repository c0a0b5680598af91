//! Astrow's feed -> the ledger: each page stored with the advanced cursor
//! in one transaction, so nothing read is lost or read twice.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::{A2pConfig, Gate, TaskHealth, gate_open};
use crate::astrow::AstrowClient;
use crate::http::Backoff;
use crate::store::astrow_ledger::{self, AstrowLedgerError};
use crate::store::db::Db;

pub(super) struct FeedReader {
    pub astrow: AstrowClient,
    pub db: Db,
    pub cfg: A2pConfig,
    pub gate: Gate,
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
}

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
            self.health.send_replace(TaskHealth {
                failures: backoff.failures() + u32::from(step.is_err()),
                last_error: step.as_ref().err().cloned(),
                paused,
            });
            let go_on = match step {
                Ok(Step::More) => !self.cancel.is_cancelled(),
                Ok(Step::Idle) => self.wait(self.cfg.poll_every, None).await,
                Ok(Step::Full) => {
                    let drained = self.drained.clone();
                    self.wait(self.cfg.poll_every, Some(drained)).await
                }
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

    async fn step(&self) -> Result<Step, String> {
        let (after, pending) = self
            .db
            .call(|c| {
                Ok::<_, AstrowLedgerError>((
                    astrow_ledger::cursor(c)?.0,
                    astrow_ledger::pending_count(c)?,
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
                astrow_ledger::append_page(
                    c,
                    after,
                    to,
                    &page.bookings,
                    &page.unreadable,
                    Utc::now(),
                )
            })
            .await
            .map_err(|e| e.to_string())?;
        if stored {
            self.wake_sender.notify_one();
        }
        Ok(if more { Step::More } else { Step::Idle })
    }
}
