//! Booking import: PAC events -> ledger -> Astrow bookings, exactly once.
//!
//! Three tasks, each with its own store connection: the reader (PAC ->
//! ledger), the sender (ledger -> Astrow) and the monitor (ledger -> the
//! snapshot's Bookings view).

pub mod adapters;
mod answer_log;
pub mod classify;
pub mod monitor;
pub mod ports;
pub mod reader;
pub mod readiness;
pub mod resend;
pub mod reset;
pub mod resume;
pub mod rollcall;
pub mod sender;
pub mod stages;
#[cfg(test)]
mod timed_queries_tests;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::engine::people::People;
use crate::engine::snapshot::BookingsView;
use crate::store::db::{Db, DbError};
use classify::BookingRules;
use monitor::BookingMonitor;
use ports::{BookingSink, EventSource};
use reader::{EventReader, ReadLimits, ReaderStatus};
use sender::{BookingSender, Pipeline, SenderStatus, WaitPolicy};
use stages::StageTimes;

#[derive(Debug, Clone)]
pub struct ImportConfig {
    pub organization_id: u32,
    pub batch_size: usize,
    pub limits: ReadLimits,
    /// How often the monitor looks at the ledger when nothing wakes it.
    pub monitor_every: Duration,
    /// How long bookings wait for a link, how often the mirror is asked.
    pub waits: WaitPolicy,
    /// PAC's reader list is read again this often (the definitions interval).
    pub readers_every: Duration,
    /// Whether the sender overlaps choosing, sending and recording.
    pub pipeline: Pipeline,
    /// Pages the reader stores in one transaction while PAC holds a
    /// backlog (1: each page in its own; see [`reader::READ_AHEAD`]).
    pub read_ahead: usize,
}

impl Default for ImportConfig {
    fn default() -> Self {
        ImportConfig {
            organization_id: 1,
            batch_size: 500,
            limits: ReadLimits::default(),
            monitor_every: Duration::from_millis(500),
            waits: WaitPolicy::default(),
            readers_every: Duration::from_secs(3600),
            pipeline: Pipeline::default(),
            read_ahead: 1,
        }
    }
}

/// The running import.
pub struct BookingImport {
    pub view: watch::Receiver<Arc<BookingsView>>,
    pub rules: watch::Sender<Arc<BookingRules>>,
    pub reader_status: watch::Receiver<ReaderStatus>,
    pub sender_status: watch::Receiver<SenderStatus>,
    /// Notified when PAC lists new readers: the engine mirrors them into Astrow.
    pub readers_changed: Arc<Notify>,
    /// Where the import's time goes, by stage.
    pub stages: Arc<StageTimes>,
    tasks: Vec<JoinHandle<()>>,
    cancel: CancellationToken,
}

impl BookingImport {
    /// Start reader, sender and monitor on the store database at `db_path`
    /// (whose schema must hold the ledger). The sender waits until `people`
    /// is `Some`: the engine publishes it once it knows the linked badges and
    /// Astrow knows our readers.
    pub fn start<S: EventSource, K: BookingSink>(
        source: Arc<S>,
        sink: Arc<K>,
        db_path: &Path,
        cfg: ImportConfig,
        rules: BookingRules,
        people: watch::Receiver<Option<Arc<People>>>,
        cancel: CancellationToken,
    ) -> Result<BookingImport, DbError> {
        let (rules_tx, rules_rx) = watch::channel(Arc::new(rules));
        let (reader_tx, reader_rx) = watch::channel(ReaderStatus::default());
        let (sender_tx, sender_rx) = watch::channel(SenderStatus::default());
        let (view_tx, view_rx) = watch::channel(Arc::new(BookingsView::default()));
        let wake = Arc::new(Notify::new());
        let drained = Arc::new(Notify::new());
        let readers_changed = Arc::new(Notify::new());
        let stages = Arc::new(StageTimes::default());
        let reader = EventReader {
            stages: stages.clone(),
            backlog: Default::default(),
            read_ahead: cfg.read_ahead.max(1),
            readers_changed: readers_changed.clone(),
            unknown_readers: Default::default(),
            readers_every: cfg.readers_every,
            source,
            db: Db::open(db_path)?,
            rules: rules_rx,
            limits: cfg.limits,
            wake_sender: wake.clone(),
            drained: drained.clone(),
            status: reader_tx,
            cancel: cancel.clone(),
        };
        let sender = BookingSender {
            sink,
            db: Db::open(db_path)?,
            organization_id: cfg.organization_id,
            batch_size: cfg.batch_size,
            people: people.clone(),
            wake,
            drained,
            status: sender_tx,
            cancel: cancel.clone(),
            mirror_needed: readers_changed.clone(),
            waits: cfg.waits,
            memory: Default::default(),
            pipeline: cfg.pipeline,
            stages: stages.clone(),
        };
        let monitor = BookingMonitor {
            db: Db::open(db_path)?,
            reader: reader_rx.clone(),
            sender: sender_rx.clone(),
            people,
            out: view_tx,
            cancel: cancel.clone(),
            every: cfg.monitor_every,
        };
        let tasks = vec![
            tokio::spawn(reader.run()),
            tokio::spawn(sender.run()),
            tokio::spawn(monitor.run()),
        ];
        Ok(BookingImport {
            view: view_rx,
            rules: rules_tx,
            reader_status: reader_rx,
            sender_status: sender_rx,
            readers_changed,
            stages,
            tasks,
            cancel,
        })
    }

    /// Stop the three tasks and wait for them: a batch in flight is either
    /// answered and recorded, or left pending to be sent again (Astrow
    /// answers `duplicate` if it had stored it).
    /// Stop every task where it stands, as a crash would (a write already
    /// handed to the database finishes or rolls back on its own).
    pub fn abort(self) {
        for t in self.tasks {
            t.abort();
        }
    }

    pub async fn stop(self) {
        self.cancel.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
