//! Starts the booking import (PAC swipes to Astrow bookings). It sends only
//! once the linked badges are known and Astrow's reader mirror holds PAC's
//! readers; new readers it sees are mirrored at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::definitions_job::MirroredSerials;
use super::wiring::Wiring;
use super::{EngineError, booking_rules};
use crate::config::Settings;
use crate::engine::bookings::reader::ReadLimits;
use crate::engine::bookings::{BookingImport, ImportConfig};
use crate::engine::people::People;
use crate::engine::snapshot::JobKind;
use crate::store::ledger;

/// Whether a roll call started by command is on: it survives a restart
/// (it is in the ledger).
pub(super) fn roll_call_on(w: &Wiring) -> Result<bool, EngineError> {
    let conn = crate::store::db::open_connection(&w.store.database_path())
        .map_err(|e| EngineError::Ledger(e.to_string()))?;
    Ok(ledger::roll_call(&conn)
        .map_err(|e| EngineError::Ledger(e.to_string()))?
        .is_some())
}

/// The import, or `None` when read-only.
pub(super) fn start(
    w: &mut Wiring,
    settings: &Settings,
    roll_call: bool,
    people: watch::Receiver<Option<Arc<People>>>,
    mirror: MirroredSerials,
) -> Result<Option<BookingImport>, EngineError> {
    let (booking_people_tx, booking_people_rx) = watch::channel::<Option<Arc<People>>>(None);
    w.spawn(gate_people(
        people,
        mirror,
        booking_people_tx,
        w.cancel.clone(),
    ));
    if w.read_only {
        return Ok(None);
    }
    let import = BookingImport::start(
        Arc::new(w.pac.clone()),
        Arc::new(w.astrow.clone()),
        &w.store.database_path(),
        ImportConfig {
            organization_id: settings.pac.organization_id,
            batch_size: settings.bookings.batch_size as usize,
            limits: ReadLimits {
                max_pending: u64::from(settings.bookings.max_pending),
                ..ReadLimits::default()
            },
            monitor_every: Duration::from_millis(500),
            waits: Default::default(),
            readers_every: super::wiring::secs(settings.sync.definitions_interval_s),
        },
        booking_rules(settings, roll_call),
        booking_people_rx,
        w.cancel.clone(),
    )
    .map_err(|e| EngineError::Ledger(e.to_string()))?;
    mirror_new_readers(w, &import);
    Ok(Some(import))
}

/// Bookings wait for a reader Astrow's mirror lacks (the sender asks at
/// most once a minute per reader): mirror it now, not at the next
/// definitions interval.
fn mirror_new_readers(w: &mut Wiring, import: &BookingImport) {
    let Some(mirror) = w.trigger(JobKind::Definitions) else {
        return;
    };
    let (seen, stop) = (import.readers_changed.clone(), w.cancel.clone());
    w.spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = seen.notified() => mirror.notify_one(),
            }
        }
    });
}

/// Publish the people map to the booking sender once the mirror is ready.
async fn gate_people(
    mut people: watch::Receiver<Option<Arc<People>>>,
    mut mirror: MirroredSerials,
    out: watch::Sender<Option<Arc<People>>>,
    cancel: CancellationToken,
) {
    loop {
        let serials = mirror.borrow_and_update().clone();
        let p = people.borrow_and_update().clone();
        if let (Some(serials), Some(p)) = (serials, p) {
            out.send_replace(Some(Arc::new(p.with_mirror(serials))));
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = people.changed() => if r.is_err() { return },
            r = mirror.changed() => if r.is_err() { return },
        }
    }
}
