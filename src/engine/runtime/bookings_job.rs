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

/// What the booking import is started from: at once, or, while the store
/// is bound to another site, once a person re-binds it.
pub(super) struct ImportStarter {
    pac: crate::pac::PacClient,
    astrow: crate::astrow::AstrowClient,
    db_path: std::path::PathBuf,
    people: watch::Receiver<Option<Arc<People>>>,
    cancel: CancellationToken,
    mirror_trigger: Option<Arc<tokio::sync::Notify>>,
}

/// How the import begins: running, waiting for a re-bind, or not at all
/// (read-only).
pub(super) enum ImportStart {
    Running(BookingImport),
    /// The store is bound to another site: no event is read, no booking sent.
    AfterRebind(ImportStarter),
    ReadOnly,
}

pub(super) fn start(
    w: &mut Wiring,
    settings: &Settings,
    roll_call: bool,
    people: watch::Receiver<Option<Arc<People>>>,
    mirror: MirroredSerials,
) -> Result<ImportStart, EngineError> {
    let (booking_people_tx, booking_people_rx) = watch::channel::<Option<Arc<People>>>(None);
    w.spawn(gate_people(
        people,
        mirror,
        booking_people_tx,
        w.cancel.clone(),
    ));
    if w.read_only {
        return Ok(ImportStart::ReadOnly);
    }
    let starter = ImportStarter {
        pac: w.pac.clone(),
        astrow: w.astrow.clone(),
        db_path: w.store.database_path(),
        people: booking_people_rx,
        cancel: w.cancel.clone(),
        mirror_trigger: w.trigger(JobKind::Definitions),
    };
    if w.site.borrow().is_some() {
        return Ok(ImportStart::AfterRebind(starter));
    }
    starter.start(settings, roll_call).map(ImportStart::Running)
}

impl ImportStarter {
    /// Start reader, sender and monitor.
    pub(super) fn start(
        self,
        settings: &Settings,
        roll_call: bool,
    ) -> Result<BookingImport, EngineError> {
        let import = BookingImport::start(
            Arc::new(self.pac),
            Arc::new(self.astrow),
            &self.db_path,
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
                pipeline: Default::default(),
                ..Default::default()
            },
            booking_rules(settings, roll_call),
            self.people,
            self.cancel.clone(),
        )
        .map_err(|e| EngineError::Ledger(e.to_string()))?;
        if let Some(mirror) = self.mirror_trigger {
            tokio::spawn(mirror_new_readers(
                import.readers_changed.clone(),
                mirror,
                self.cancel,
            ));
        }
        Ok(import)
    }
}

/// Bookings wait for a reader Astrow's mirror lacks (the sender asks at
/// most once a minute per reader): mirror it now, not at the next
/// definitions interval. Ends when the engine stops.
async fn mirror_new_readers(
    seen: Arc<tokio::sync::Notify>,
    mirror: Arc<tokio::sync::Notify>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = seen.notified() => mirror.notify_one(),
        }
    }
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
