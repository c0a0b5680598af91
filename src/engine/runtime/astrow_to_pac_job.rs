//! Starts the Astrow -> PAC bookings (`engine::astrow_to_pac`). Its tasks
//! run while the engine runs and work only while the gate is open:
//! `bookings.astrow_to_pac` on (as reloaded) and the store bound to this
//! site. Read-only engines never start it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::EngineError;
use super::definitions_job::MirroredSerials;
use super::wiring::Wiring;
use crate::config::Settings;
use crate::engine::astrow_to_pac::{A2pConfig, AstrowToPac};
use crate::engine::state::Internal;

pub(super) fn config(settings: &Settings) -> A2pConfig {
    A2pConfig {
        batch_size: settings.bookings.batch_size as usize,
        max_pending: u64::from(settings.bookings.max_pending),
        badges_are_pac_ids: settings.sync.master == crate::config::Master::Pac,
        ..A2pConfig::default()
    }
}

pub(super) fn start(
    w: &mut Wiring,
    settings: &Settings,
    mirror: MirroredSerials,
) -> Result<(), EngineError> {
    if w.read_only {
        return Ok(());
    }
    let (readers_tx, readers_rx) = watch::channel(None);
    w.spawn(pac_readers(mirror, readers_tx, w.cancel.clone()));
    let (gate_tx, gate_rx) = watch::channel(false);
    w.spawn(keep_gate(
        w.settings.clone(),
        w.site.clone(),
        gate_tx,
        w.cancel.clone(),
    ));
    let job = AstrowToPac::start(
        w.astrow.clone(),
        w.pac.clone(),
        &w.store.database_path(),
        config(settings),
        (gate_rx, readers_rx),
        w.cancel.child_token(),
    )
    .map_err(|e| EngineError::Ledger(e.to_string()))?;
    w.spawn(forward(job, w.report.clone(), w.cancel.clone()));
    w.spawn(retention(
        w.store.database_path(),
        w.settings.clone(),
        w.cancel.clone(),
    ));
    Ok(())
}

/// Rows PAC stored leave the ledger after `bookings.retention_days` (by
/// the time PAC answered), and rows kept aside at a re-bind after as long
/// (by when they were abandoned), hourly, in batches; rejected and pending
/// stay.
async fn retention(
    db_path: std::path::PathBuf,
    settings: watch::Receiver<Arc<Settings>>,
    cancel: tokio_util::sync::CancellationToken,
) {
    const EVERY: Duration = Duration::from_secs(3600);
    const BATCH: usize = 5_000;
    let db = match crate::store::db::Db::open(&db_path) {
        Ok(db) => db,
        Err(e) => {
            tracing::warn!("Astrow->PAC retention: {e}");
            return;
        }
    };
    loop {
        let days = settings.borrow().bookings.retention_days;
        let before = chrono::Utc::now() - chrono::TimeDelta::days(days as i64);
        loop {
            let trimmed = db
                .call(move |c| {
                    let n = crate::store::astrow_ledger::trim(c, before, BATCH)?;
                    // Rows kept aside at a re-bind: personal data, kept
                    // as long as what PAC stored.
                    let m = crate::store::astrow_ledger::trim_abandoned(c, before, BATCH)?;
                    Ok::<_, crate::store::astrow_ledger::AstrowLedgerError>(n.max(m))
                })
                .await;
            match trimmed {
                Ok(n) if n as usize == BATCH && !cancel.is_cancelled() => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!("Astrow->PAC retention: {e}");
                    break;
                }
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}

/// PAC's reader serials as Astrow's mirror holds them (the definitions
/// job publishes them each time it ran): a File terminal booking at one of
/// them came from PAC.
async fn pac_readers(
    mut mirror: MirroredSerials,
    out: watch::Sender<Option<Arc<crate::store::astrow_ledger::PacReaderSerials>>>,
    cancel: tokio_util::sync::CancellationToken,
) {
    loop {
        let serials = mirror
            .borrow_and_update()
            .as_ref()
            .map(|m| Arc::new(m.values().cloned().collect()));
        if serials.is_some() {
            out.send_replace(serials);
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = mirror.changed() => if r.is_err() { return },
        }
    }
}

/// Open the gate while the setting is on and the store is this site's.
async fn keep_gate(
    mut settings: watch::Receiver<Arc<Settings>>,
    mut site: watch::Receiver<Option<String>>,
    gate: watch::Sender<bool>,
    cancel: tokio_util::sync::CancellationToken,
) {
    loop {
        let open = settings.borrow_and_update().bookings.astrow_to_pac
            && site.borrow_and_update().is_none();
        gate.send_if_modified(|g| {
            let changed = *g != open;
            *g = open;
            changed
        });
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = settings.changed() => if r.is_err() { return },
            r = site.changed() => if r.is_err() { return },
        }
    }
}

/// Hand the job's view to the snapshot; stop the job with the engine.
async fn forward(
    job: AstrowToPac,
    report: tokio::sync::mpsc::Sender<Internal>,
    cancel: tokio_util::sync::CancellationToken,
) {
    let mut view = job.view.clone();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            r = view.changed() => {
                if r.is_err() {
                    break;
                }
                let v = view.borrow_and_update().clone();
                if report.send(Internal::AstrowToPac(v)).await.is_err() {
                    break;
                }
            }
        }
    }
    // A batch in flight is answered and recorded, or left to go again.
    let _ = tokio::time::timeout(Duration::from_secs(30), job.stop()).await;
}
