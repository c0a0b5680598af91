//! The ledger -> PAC: pending rows in booking id order, in batches, each
//! send counted before it goes out and every answer kept. A resend after a
//! lost answer or a crash is answered `duplicate` by PAC: stored once.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::map::{Decision, decide};
use super::{A2pConfig, Gate, PacReaders, TaskHealth, gate_open, serials_now};
use crate::http::Backoff;
use crate::model::{ExternalEvent, ExternalOutcome};
use crate::pac::{PacClient, PacError};
use crate::store::astrow_ledger::{self, AstrowLedgerError, PacReaderSerials, Row};
use crate::store::db::Db;

pub(super) struct EventSender {
    pub pac: PacClient,
    pub db: Db,
    pub cfg: A2pConfig,
    pub gate: Gate,
    pub pac_readers: PacReaders,
    pub wake: Arc<Notify>,
    pub drained: Arc<Notify>,
    pub health: watch::Sender<TaskHealth>,
    pub cancel: CancellationToken,
}

/// What one step did.
enum Sent {
    /// A batch went and was answered: send on.
    Batch,
    /// Nothing pending.
    Nothing,
}

impl EventSender {
    pub(super) async fn run(mut self) {
        let mut backoff = Backoff::new(self.cfg.poll_every / 4, self.cfg.max_backoff);
        loop {
            if !gate_open(&mut self.gate, &self.cancel).await {
                return;
            }
            let step = self.step().await;
            match &step {
                Ok(_) => backoff.succeeded(),
                Err(e) => tracing::warn!("Astrow->PAC: sending to PAC: {e}"),
            }
            self.health.send_replace(TaskHealth {
                failures: backoff.failures() + u32::from(step.is_err()),
                last_error: step.as_ref().err().cloned(),
                paused: false,
                waiting_for_readers_since: None,
            });
            let go_on = match step {
                Ok(Sent::Batch) => {
                    self.drained.notify_one();
                    !self.cancel.is_cancelled()
                }
                Ok(Sent::Nothing) => self.idle().await,
                Err(_) => backoff.wait_after_failure(None, &self.cancel).await,
            };
            if !go_on {
                return;
            }
        }
    }

    async fn idle(&mut self) -> bool {
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            _ = self.wake.notified() => true,
            _ = tokio::time::sleep(self.cfg.poll_every) => true,
            _ = self.gate.changed() => true,
        }
    }

    async fn step(&self) -> Result<Sent, String> {
        let limit = self
            .cfg
            .batch_size
            .clamp(1, crate::pac::wire::MAX_EXTERNAL_BATCH);
        let pac_ids = self.cfg.badges_are_pac_ids;
        let rows = self
            .db
            .call(move |c| astrow_ledger::pending(c, limit, pac_ids))
            .await
            .map_err(|e| e.to_string())?;
        if rows.is_empty() {
            return Ok(Sent::Nothing);
        }
        let (ids, events, refused) = split(&rows, pac_ids, &serials_now(&self.pac_readers));
        if !refused.is_empty() {
            self.record(refused).await?;
        }
        if events.is_empty() {
            return Ok(Sent::Batch);
        }
        let counted = ids.clone();
        self.db
            .call(move |c| astrow_ledger::count_attempt(c, &counted))
            .await
            .map_err(|e| e.to_string())?;
        match self.pac.send_external_events(&events).await {
            Ok(outcomes) => {
                self.record(ids.into_iter().zip(outcomes).collect()).await?;
                Ok(Sent::Batch)
            }
            Err(e) => match malformed_index(&e).filter(|i| *i < ids.len()) {
                // One event PAC calls malformed fails its whole batch: keep
                // it rejected with PAC's reason, so it does not hold back
                // the rest; they go again at once.
                Some(i) => {
                    let reason = format!("PAC refused it as malformed: {e}");
                    self.record(vec![(ids[i], ExternalOutcome::Rejected { reason })])
                        .await?;
                    Ok(Sent::Batch)
                }
                None => Err(e.to_string()),
            },
        }
    }

    async fn record(&self, outcomes: Vec<(u64, ExternalOutcome)>) -> Result<(), String> {
        self.db
            .call(move |c| -> Result<(), AstrowLedgerError> {
                astrow_ledger::record_outcomes(c, &outcomes, Utc::now())
            })
            .await
            .map_err(|e| e.to_string())
    }
}

/// The rows to send (ids and events, same order), and those refused here
/// (the loop rule) with their outcome; rows that wait stay pending.
#[allow(clippy::type_complexity)]
fn split(
    rows: &[Row],
    badges_are_pac_ids: bool,
    pac_readers: &PacReaderSerials,
) -> (Vec<u64>, Vec<ExternalEvent>, Vec<(u64, ExternalOutcome)>) {
    let mut ids = Vec::new();
    let mut events = Vec::new();
    let mut refused = Vec::new();
    for r in rows {
        match decide(r, badges_are_pac_ids, pac_readers) {
            Decision::Send(e) => {
                ids.push(r.booking.booking_id);
                events.push(e);
            }
            Decision::Wait(_) => {}
            Decision::Refuse(reason) => refused.push((
                r.booking.booking_id,
                ExternalOutcome::Rejected {
                    reason: reason.to_string(),
                },
            )),
        }
    }
    (ids, events, refused)
}

/// The index of the event a 400 names (`events[3].time` -> 3).
fn malformed_index(e: &PacError) -> Option<usize> {
    let PacError::Http(h) = e else { return None };
    if h.status() != Some(400) {
        return None;
    }
    let field = h.api()?.field.as_deref()?;
    let rest = field.strip_prefix("events[")?;
    rest.split(']').next()?.parse().ok()
}
