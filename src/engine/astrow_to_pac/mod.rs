//! Bookings from Astrow into PAC (protocol.md, "Bookings from Astrow into
//! PAC"): Astrow's own bookings (web clock, mobile app, other terminals) are
//! read by `booking_id` into a ledger of their own together with the
//! advanced cursor (one transaction), then sent to PAC's
//! `POST /external-events` as `astrow:<booking_id>`, exactly once through
//! faults and kills (PAC answers `duplicate` to a resend), each answer kept.
//!
//! Three tasks, each with its own store connection: the reader (Astrow ->
//! ledger), the sender (ledger -> PAC) and the monitor (ledger -> view).
//! They idle while `bookings.astrow_to_pac` is off or the store is bound to
//! another site, so the setting takes effect on a reload.
//!
//! No loops: a booking whose `source_id` came from PAC (`pac:`), or that
//! Astrow's File terminal took at the serial of one of PAC's readers (the
//! old Astrow IO Service's bookings of PAC's swipes), is counted and passed
//! over, never stored or sent ([`map::decide`] refuses it as well); the
//! reader waits until PAC's reader list is known. The PAC -> Astrow import
//! never books an `external_attendance` event (`engine::bookings::classify`).
//!
//! The counts shown are kept in memory (`store::astrow_tally`), read from
//! SQLite once; while the gate is closed the monitor touches no store.

pub mod cursor;
pub mod map;
mod reader;
pub mod restore;
mod resume;
mod sender;
pub mod view;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::astrow::AstrowClient;
use crate::pac::PacClient;
use crate::store::astrow_ledger::{self, PacReaderSerials};
use crate::store::astrow_tally;
use crate::store::db::{Db, DbError};
pub use view::{A2pEntry, AstrowToPacView};

/// How the job runs.
#[derive(Debug, Clone)]
pub struct A2pConfig {
    /// Events per `POST /external-events` (1..=500).
    pub batch_size: usize,
    /// Reading Astrow pauses while this many rows wait for PAC.
    pub max_pending: u64,
    /// Bookings per feed page (1..=1000).
    pub page_size: u32,
    /// How often Astrow's feed is read when it had nothing new.
    pub poll_every: Duration,
    /// The longest wait after failures (backoff doubles up to it).
    pub max_backoff: Duration,
    /// How often the monitor refreshes the view when nothing wakes it.
    pub monitor_every: Duration,
    /// PAC is master: Astrow's badge numbers are PAC's decimal ids, not
    /// badges; a booking of no known Astrow employee waits (`map::decide`).
    pub badges_are_pac_ids: bool,
}

impl Default for A2pConfig {
    fn default() -> Self {
        A2pConfig {
            batch_size: 500,
            max_pending: 100_000,
            page_size: 500,
            poll_every: Duration::from_secs(2),
            max_backoff: Duration::from_secs(60),
            monitor_every: Duration::from_millis(500),
            badges_are_pac_ids: false,
        }
    }
}

/// Whether the job may work now (setting on, store bound to this site).
pub type Gate = watch::Receiver<bool>;

/// The serials of PAC's readers (Astrow's mirror of them, published by the
/// definitions job); `None` until known: nothing is read before.
pub type PacReaders = watch::Receiver<Option<Arc<PacReaderSerials>>>;

/// The serials known now (none while the list is not known).
pub(crate) fn serials_now(readers: &PacReaders) -> Arc<PacReaderSerials> {
    readers.borrow().clone().unwrap_or_default()
}

/// A task's run of failures and its last error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskHealth {
    pub failures: u32,
    pub last_error: Option<String>,
    /// Reader only: paused by back-pressure.
    pub paused: bool,
    /// Reader only: since when it has waited for PAC's reader list.
    pub waiting_for_readers_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// The running job.
pub struct AstrowToPac {
    pub view: watch::Receiver<Arc<AstrowToPacView>>,
    tasks: Vec<JoinHandle<()>>,
    cancel: CancellationToken,
}

impl AstrowToPac {
    /// Start reader, sender and monitor on the store database at `db_path`;
    /// `pac_readers` tells File terminal bookings that came from PAC.
    pub fn start(
        astrow: AstrowClient,
        pac: PacClient,
        db_path: &Path,
        cfg: A2pConfig,
        gates: (Gate, PacReaders),
        cancel: CancellationToken,
    ) -> Result<AstrowToPac, DbError> {
        let (gate, pac_readers) = gates;
        let (reader_tx, reader_rx) = watch::channel(TaskHealth::default());
        let (sender_tx, sender_rx) = watch::channel(TaskHealth::default());
        let (view_tx, view_rx) = watch::channel(Arc::new(AstrowToPacView::default()));
        let wake_sender = Arc::new(Notify::new());
        let drained = Arc::new(Notify::new());
        let reader = reader::FeedReader {
            astrow,
            db: Db::open(db_path)?,
            cfg: cfg.clone(),
            gate: gate.clone(),
            pac_readers: pac_readers.clone(),
            wake_sender: wake_sender.clone(),
            drained: drained.clone(),
            health: reader_tx,
            cancel: cancel.clone(),
            suspect: None,
        };
        let sender = sender::EventSender {
            pac,
            db: Db::open(db_path)?,
            cfg: cfg.clone(),
            gate: gate.clone(),
            pac_readers: pac_readers.clone(),
            wake: wake_sender,
            drained,
            health: sender_tx,
            cancel: cancel.clone(),
        };
        let monitor = Monitor {
            db: Db::open(db_path)?,
            gate,
            pac_readers,
            reader: reader_rx,
            sender: sender_rx,
            out: view_tx,
            every: cfg.monitor_every,
            badges_are_pac_ids: cfg.badges_are_pac_ids,
            cancel: cancel.clone(),
        };
        Ok(AstrowToPac {
            view: view_rx,
            tasks: vec![
                tokio::spawn(reader.run()),
                tokio::spawn(sender.run()),
                tokio::spawn(monitor.run()),
            ],
            cancel,
        })
    }

    /// Stop at once, as a kill does: each task is dropped at its next
    /// await (a store write in flight commits whole or not at all).
    pub fn abort(self) {
        for t in self.tasks {
            t.abort();
        }
    }

    /// Stop the tasks and wait for them: a batch in flight is either
    /// answered and recorded, or left pending to be sent again.
    pub async fn stop(self) {
        self.cancel.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Wait until the gate opens; whether to go on.
pub(crate) async fn gate_open(gate: &mut Gate, cancel: &CancellationToken) -> bool {
    loop {
        if *gate.borrow_and_update() {
            return true;
        }
        tokio::select! {
            _ = cancel.cancelled() => return false,
            changed = gate.changed() => if changed.is_err() { return false },
        }
    }
}

/// What the monitor reads on every tick while the direction is on: the
/// counts kept in memory, the pending rows' details, the newest rows and
/// the last minute's answers (each indexed: `timed_queries_tests`).
#[allow(clippy::type_complexity)]
pub(crate) fn view_facts(
    c: &rusqlite::Connection,
    now: chrono::DateTime<chrono::Utc>,
    badges_are_pac_ids: bool,
) -> Result<
    (
        astrow_ledger::Tally,
        Vec<astrow_ledger::Row>,
        (u64, Option<u64>),
    ),
    astrow_ledger::AstrowLedgerError,
> {
    let mut t = astrow_tally::current(c)?;
    astrow_ledger::pending_details(c, &mut t, badges_are_pac_ids)?;
    Ok((
        t,
        astrow_ledger::recent(c, view::FEED_ROWS)?,
        astrow_ledger::activity(c, now - chrono::TimeDelta::seconds(60))?,
    ))
}

struct Monitor {
    db: Db,
    gate: Gate,
    pac_readers: PacReaders,
    reader: watch::Receiver<TaskHealth>,
    sender: watch::Receiver<TaskHealth>,
    out: watch::Sender<Arc<AstrowToPacView>>,
    every: Duration,
    badges_are_pac_ids: bool,
    cancel: CancellationToken,
}

impl Monitor {
    async fn run(mut self) {
        loop {
            let on = *self.gate.borrow_and_update();
            let view = if on {
                self.view().await
            } else {
                // Off: no store work at all; the last view, marked off.
                Ok(AstrowToPacView {
                    enabled: false,
                    ..(**self.out.borrow()).clone()
                })
            };
            match view {
                Ok(v) => {
                    self.out.send_if_modified(|old| {
                        let changed = **old != v;
                        if changed {
                            *old = Arc::new(v);
                        }
                        changed
                    });
                }
                Err(e) => tracing::warn!("Astrow->PAC view: {e}"),
            }
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = tokio::time::sleep(self.every), if on => {}
                r = self.gate.changed() => if r.is_err() { return },
            }
        }
    }

    /// The view, from the counts kept in memory and indexed reads (the
    /// newest rows, the pending rows' details, the last minute's answers).
    async fn view(&self) -> Result<AstrowToPacView, astrow_ledger::AstrowLedgerError> {
        let now = chrono::Utc::now();
        let pac_ids = self.badges_are_pac_ids;
        let (tally, rows, (per_minute, lag_ms)) =
            self.db.call(move |c| view_facts(c, now, pac_ids)).await?;
        let astrow_restore = self
            .db
            .call(|c| crate::store::astrow_restore::open_restore(c))
            .await?;
        let reader = self.reader.borrow().clone();
        let sender = self.sender.borrow().clone();
        let oldest_pending = tally
            .oldest_pending_read_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc));
        let serials = serials_now(&self.pac_readers);
        Ok(AstrowToPacView {
            enabled: true,
            feed: rows
                .iter()
                .map(|r| A2pEntry::of(r, pac_ids, &serials))
                .collect(),
            tally,
            per_minute: per_minute as f64,
            lag_ms,
            last_error: sender.last_error.or(reader.last_error),
            astrow_failures: reader.failures,
            pac_failures: sender.failures,
            reading_paused: reader.paused,
            waiting_for_readers_since: reader.waiting_for_readers_since,
            oldest_pending,
            astrow_restore,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use rusqlite::trace::{TraceEvent, TraceEventCodes};

    use super::*;

    static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

    fn count(e: TraceEvent<'_>) {
        if let TraceEvent::Stmt(..) = e {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// While the direction is off the monitor runs no statement at all
    /// (not even on its timer); on, it reads the store on every tick.
    #[tokio::test]
    async fn the_monitor_does_no_store_work_while_the_direction_is_off() {
        let dir = tempfile::tempdir().unwrap();
        drop(crate::store::Store::open(dir.path()).unwrap());
        let db = Db::open(&dir.path().join(crate::store::DATABASE_FILE)).unwrap();
        db.call(|c| {
            c.trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, Some(count));
            Ok::<_, DbError>(())
        })
        .await
        .unwrap();
        let (gate_tx, gate) = watch::channel(false);
        let (_readers_tx, pac_readers) = watch::channel(None);
        let (_r, reader) = watch::channel(TaskHealth::default());
        let (_s, sender) = watch::channel(TaskHealth::default());
        let (out, view) = watch::channel(Arc::new(AstrowToPacView::default()));
        let cancel = CancellationToken::new();
        let monitor = Monitor {
            db,
            gate,
            pac_readers,
            reader,
            sender,
            out,
            every: Duration::from_millis(5),
            badges_are_pac_ids: false,
            cancel: cancel.clone(),
        };
        let task = tokio::spawn(monitor.run());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(STATEMENTS.load(Ordering::SeqCst), 0, "store work while off");
        assert!(!view.borrow().enabled);
        gate_tx.send_replace(true);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let on = STATEMENTS.load(Ordering::SeqCst);
        assert!(on > 10, "the view is read while on: {on} statements");
        assert!(view.borrow().enabled);
        gate_tx.send_replace(false);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let off = STATEMENTS.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            STATEMENTS.load(Ordering::SeqCst),
            off,
            "store work off again"
        );
        assert!(!view.borrow().enabled);
        cancel.cancel();
        task.await.unwrap();
    }
}
