//! Booking import against both simulators over real HTTP(S) on loopback:
//! every granted swipe on a booking reader becomes exactly one Astrow
//! booking, with and without faults.

#[path = "support/exactly_once.rs"]
mod exactly_once;

use std::sync::Arc;
use std::time::Duration;

use astrow_pac::astrow::AstrowClient;
use astrow_pac::cli::sim::settings_for;
use astrow_pac::engine::bookings::classify::BookingRules;
use astrow_pac::engine::bookings::reader::{READ_AHEAD, ReadLimits};
use astrow_pac::engine::bookings::sender::Pipeline;
use astrow_pac::engine::bookings::{BookingImport, ImportConfig};
use astrow_pac::engine::connect::{astrow_client, pac_client};
use astrow_pac::engine::people::People;
use astrow_pac::model::Seq;
use astrow_pac::pac::PacClient;
use astrow_pac::sim::faults::FaultUpdate;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::db::open_connection;
use astrow_pac::store::ledger;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

struct Rig {
    site: RunningSite,
    pac: PacClient,
    astrow: AstrowClient,
    db_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = SiteOptions::new(dir.path().join("sim"));
    opts.employees = 40;
    let site = RunningSite::start(Which::Both, &opts).await.unwrap();
    let settings = settings_for(&site, dir.path());
    let pac = pac_client(&settings).unwrap();
    let astrow = astrow_client(&settings).unwrap();
    // Astrow must know PAC's readers before it accepts their bookings
    // (the definitions job's work in the engine).
    let readers = pac.readers().await.unwrap();
    astrow.put_readers(&readers).await.unwrap();
    // The real store, with its migrations (the ledger is migration 2).
    let store_dir = dir.path().join("store");
    drop(astrow_pac::store::Store::open(&store_dir).unwrap());
    let db_path = store_dir.join(astrow_pac::store::DATABASE_FILE);
    Rig {
        site,
        pac,
        astrow,
        db_path,
        _dir: dir,
    }
}

fn start(rig: &Rig, cancel: CancellationToken) -> BookingImport {
    start_with(rig, Arc::new(rig.pac.clone()), cancel)
}

fn start_with<S: astrow_pac::engine::bookings::ports::EventSource>(
    rig: &Rig,
    source: Arc<S>,
    cancel: CancellationToken,
) -> BookingImport {
    start_limited(rig, source, 100_000, cancel)
}

fn start_limited<S: astrow_pac::engine::bookings::ports::EventSource>(
    rig: &Rig,
    source: Arc<S>,
    max_pending: u64,
    cancel: CancellationToken,
) -> BookingImport {
    let (_tx, people) = watch::channel(Some(Arc::new(People::default())));
    // Keep the sender's people channel open for the whole test.
    std::mem::forget(_tx);
    start_full(rig, source, max_pending, people, cancel)
}

/// The import on the rig with the sender pipelined as `pipeline`.
fn start_pipelined(rig: &Rig, pipeline: Pipeline, cancel: CancellationToken) -> BookingImport {
    let (tx, people) = watch::channel(Some(Arc::new(People::default())));
    // Keep the sender's people channel open for the whole test.
    std::mem::forget(tx);
    let cfg = ImportConfig {
        monitor_every: Duration::from_millis(100),
        pipeline,
        // The grouped sender's run also has the reader store several pages
        // a transaction: both options through the same backlog and faults.
        read_ahead: if pipeline == Pipeline::Grouped {
            READ_AHEAD
        } else {
            1
        },
        ..ImportConfig::default()
    };
    BookingImport::start(
        Arc::new(rig.pac.clone()),
        Arc::new(rig.astrow.clone()),
        &rig.db_path,
        cfg,
        BookingRules {
            enabled: true,
            ..Default::default()
        },
        people,
        cancel,
    )
    .unwrap()
}

/// The import on the rig with the test's own people channel.
fn start_full<S: astrow_pac::engine::bookings::ports::EventSource>(
    rig: &Rig,
    source: Arc<S>,
    max_pending: u64,
    people: watch::Receiver<Option<Arc<People>>>,
    cancel: CancellationToken,
) -> BookingImport {
    let cfg = ImportConfig {
        limits: ReadLimits {
            page: 1000,
            wait_s: 1,
            max_pending,
        },
        monitor_every: Duration::from_millis(100),
        ..ImportConfig::default()
    };
    BookingImport::start(
        source,
        Arc::new(rig.astrow.clone()),
        &rig.db_path,
        cfg,
        BookingRules {
            enabled: true,
            ..Default::default()
        },
        people,
        cancel,
    )
    .unwrap()
}

fn pac_sim(rig: &Rig) -> &astrow_pac::sim::pac::PacSim {
    &rig.site.pac.as_ref().unwrap().0
}

/// Wait until the ledger holds every PAC event and nothing is pending.
async fn quiescent(rig: &Rig, last_seq: u64, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let conn = open_connection(&rig.db_path).unwrap();
        let cursor = ledger::cursor(&conn).unwrap();
        let pending = ledger::pending_count(&conn).unwrap();
        if cursor.0 >= last_seq && pending == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not quiescent: cursor {} of {last_seq}, {pending} pending",
            cursor.0
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Astrow's stored bookings must be the granted events, one to one by source_id.
async fn assert_exactly_once(rig: &Rig) {
    exactly_once::assert_exactly_once(&rig.pac, &rig.astrow, &rig.db_path).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_granted_swipe_is_booked_exactly_once() {
    let rig = rig().await;
    let cancel = CancellationToken::new();
    let import = start(&rig, cancel.clone());
    let last = pac_sim(&rig).swipe(700).await;
    quiescent(&rig, last, Duration::from_secs(30)).await;
    let view = import.view.borrow().clone();
    import.stop().await;
    assert_exactly_once(&rig).await;
    assert!(!view.feed.is_empty());
}

async fn under_faults(astrow_faults: FaultUpdate, pac_faults: FaultUpdate) {
    let rig = rig().await;
    let cancel = CancellationToken::new();
    let import = start(&rig, cancel.clone());
    rig.site
        .astrow
        .as_ref()
        .unwrap()
        .2
        .update(astrow_faults)
        .unwrap();
    pac_sim(&rig).faults().update(pac_faults).unwrap();
    let mut last = 0;
    for _ in 0..5 {
        last = pac_sim(&rig).swipe(150).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Faults stay on while the work drains; they must not lose or double anything.
    tokio::time::sleep(Duration::from_secs(2)).await;
    rig.site.astrow.as_ref().unwrap().2.clear();
    pac_sim(&rig).faults().clear();
    quiescent(&rig, last, Duration::from_secs(60)).await;
    import.stop().await;
    assert_exactly_once(&rig).await;
}

/// Each way the sender can overlap its work, through backlogs of full
/// batches (so that batches follow one another in a round): without faults
/// every booking went out once and its ledger row says so (a batch marked
/// ahead but never sent would count an attempt too many); then with errors
/// and dropped connections, still each swipe booked once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sender_pipeline_books_a_backlog_once_with_honest_attempts() {
    for pipeline in [
        Pipeline::Serial,
        Pipeline::Overlapped,
        Pipeline::OneCommit,
        Pipeline::Grouped,
    ] {
        let rig = rig().await;
        let import = start_pipelined(&rig, pipeline, CancellationToken::new());
        let last = pac_sim(&rig).swipe(3000).await;
        quiescent(&rig, last, Duration::from_secs(60)).await;
        let conn = open_connection(&rig.db_path).unwrap();
        let bookings: Vec<_> = ledger::recent(&conn, 10_000)
            .unwrap()
            .into_iter()
            .filter(|e| matches!(e.kind, ledger::EntryKind::Booking { .. }))
            .collect();
        assert!(
            bookings.len() > 1000,
            "{pipeline:?}: a backlog of full batches"
        );
        let resent: Vec<_> = bookings.iter().filter(|e| e.attempts != 1).collect();
        assert!(
            resent.is_empty(),
            "{pipeline:?}: sent once each without faults, yet {} rows say otherwise, e.g. {:?}",
            resent.len(),
            resent.first()
        );
        let faults = &rig.site.astrow.as_ref().unwrap().2;
        faults
            .update(FaultUpdate {
                error_rate: Some(0.15),
                drop_rate: Some(0.15),
                ..Default::default()
            })
            .unwrap();
        let last = pac_sim(&rig).swipe(3000).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        faults.clear();
        quiescent(&rig, last, Duration::from_secs(60)).await;
        import.stop().await;
        assert_exactly_once(&rig).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_under_twenty_percent_errors() {
    under_faults(
        FaultUpdate {
            error_rate: Some(0.2),
            ..Default::default()
        },
        FaultUpdate {
            error_rate: Some(0.2),
            ..Default::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_with_dropped_connections_and_lost_answers() {
    under_faults(
        FaultUpdate {
            drop_rate: Some(0.3),
            ..Default::default()
        },
        FaultUpdate {
            drop_rate: Some(0.2),
            ..Default::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_with_truncated_answers() {
    under_faults(
        FaultUpdate {
            truncate_rate: Some(0.3),
            ..Default::default()
        },
        FaultUpdate {
            truncate_rate: Some(0.3),
            ..Default::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_through_429_bursts_and_expired_tokens() {
    under_faults(
        FaultUpdate {
            rate_limit: Some(0.4),
            retry_after_s: Some(0),
            expire_tokens: Some(true),
            ..Default::default()
        },
        FaultUpdate {
            rate_limit: Some(0.3),
            retry_after_s: Some(0),
            ..Default::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn astrow_down_for_a_while_then_back_loses_nothing() {
    let rig = rig().await;
    let cancel = CancellationToken::new();
    let import = start(&rig, cancel.clone());
    let faults = rig.site.astrow.as_ref().unwrap().2.clone();
    faults
        .update(FaultUpdate {
            error_rate: Some(1.0),
            ..Default::default()
        })
        .unwrap();
    let last = pac_sim(&rig).swipe(300).await;
    // Reading goes on into the ledger while Astrow is down.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let down = import.sender_status.borrow().astrow_down;
        let cursor = ledger::cursor(&open_connection(&rig.db_path).unwrap()).unwrap();
        if down && cursor.0 >= last {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Astrow was not marked down (or reading stopped)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    faults.clear();
    quiescent(&rig, last, Duration::from_secs(60)).await;
    assert!(!import.sender_status.borrow().astrow_down);
    import.stop().await;
    assert_exactly_once(&rig).await;
}

/// PAC answers some pages twice (a replayed page): nothing is booked twice.
struct Replaying {
    inner: PacClient,
    calls: std::sync::atomic::AtomicU32,
}

impl astrow_pac::engine::bookings::ports::EventSource for Replaying {
    async fn events(
        &self,
        after: Seq,
        limit: u32,
        wait_s: u32,
    ) -> Result<
        astrow_pac::engine::bookings::ports::EventPage,
        astrow_pac::engine::bookings::ports::SourceError,
    > {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // Every other call starts 50 events too early: a page that overlaps
        // what was already read, in the order PAC sends it.
        let from = if n % 2 == 1 {
            Seq(after.0.saturating_sub(50))
        } else {
            after
        };
        astrow_pac::engine::bookings::ports::EventSource::events(
            &self.inner,
            from,
            limit.min(97),
            wait_s,
        )
        .await
    }

    async fn readers(
        &self,
    ) -> Result<Vec<astrow_pac::model::Reader>, astrow_pac::engine::bookings::ports::SourceError>
    {
        astrow_pac::engine::bookings::ports::EventSource::readers(&self.inner).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_and_overlapping_pages_from_pac_book_nothing_twice() {
    let rig = rig().await;
    let last = pac_sim(&rig).swipe(600).await;
    let source = Arc::new(Replaying {
        inner: rig.pac.clone(),
        calls: Default::default(),
    });
    let import = start_with(&rig, source, CancellationToken::new());
    quiescent(&rig, last, Duration::from_secs(30)).await;
    import.stop().await;
    assert_exactly_once(&rig).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_history_is_recorded_as_a_gap_and_reading_resumes() {
    let rig = rig().await;
    let first = pac_sim(&rig).swipe(500).await;
    // PAC keeps only the newest 100 events: 1..=400 are gone before we read.
    let url = rig.site.pac_url().unwrap();
    let pac = &rig.site.pac.as_ref().unwrap().0;
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(pac.certificate_pem().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let r = client
        .post(format!("{url}/_sim/expire_events"))
        .json(&serde_json::json!({"keep": 100}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    let import = start(&rig, CancellationToken::new());
    quiescent(&rig, first, Duration::from_secs(30)).await;
    let view = import.view.clone();
    // The monitor shows the gap loudly.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while view.borrow().gaps.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the gap is not shown"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    import.stop().await;
    let conn = open_connection(&rig.db_path).unwrap();
    let gaps = ledger::gaps(&conn).unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!((gaps[0].0, gaps[0].1), (Seq(1), Seq(400)));
    // What PAC still had is booked exactly once.
    assert_exactly_once(&rig).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_booking_keeps_its_reason_and_does_not_block_later_ones() {
    let rig = rig().await;
    // Astrow's reader mirror lacks one reader: its bookings are rejected.
    let mut readers = rig.pac.readers().await.unwrap();
    let dropped = readers.remove(0);
    rig.astrow.put_readers(&readers).await.unwrap();
    let import = start(&rig, CancellationToken::new());
    let last = pac_sim(&rig).swipe(800).await;
    quiescent(&rig, last, Duration::from_secs(30)).await;
    import.stop().await;
    let conn = open_connection(&rig.db_path).unwrap();
    let counts = ledger::counts(&conn).unwrap();
    assert!(counts.rejected > 0, "{counts:?}");
    assert!(
        counts.processed + counts.queued > counts.rejected,
        "{counts:?}"
    );
    assert_eq!(counts.pending, 0);
    for e in ledger::recent(&conn, 2000).unwrap() {
        match &e.status {
            Some(astrow_pac::model::BookingStatus::Rejected { reason }) => {
                assert_eq!(e.reader_serial.as_deref(), Some(dropped.serial.as_str()));
                assert!(!reason.is_empty());
            }
            Some(_) => assert_ne!(e.reader_serial.as_deref(), Some(dropped.serial.as_str())),
            None => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_pauses_while_too_many_bookings_wait_and_resumes() {
    let rig = rig().await;
    let faults = rig.site.astrow.as_ref().unwrap().2.clone();
    faults
        .update(FaultUpdate {
            error_rate: Some(1.0),
            ..Default::default()
        })
        .unwrap();
    let import = start_limited(
        &rig,
        Arc::new(rig.pac.clone()),
        100,
        CancellationToken::new(),
    );
    let last = pac_sim(&rig).swipe(3000).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !import.reader_status.borrow().paused_for_backlog {
        assert!(
            tokio::time::Instant::now() < deadline,
            "reading never paused"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let conn = open_connection(&rig.db_path).unwrap();
    let pending = ledger::pending_count(&conn).unwrap();
    let cursor = ledger::cursor(&conn).unwrap();
    assert!(pending >= 100, "{pending}");
    // One page may pass the bound; reading stopped well before the end.
    assert!(pending < 100 + 1000, "{pending}");
    assert!(cursor.0 < last, "cursor {} of {last}", cursor.0);
    faults.clear();
    quiescent(&rig, last, Duration::from_secs(60)).await;
    // The reader notices on its next round that the backlog is gone.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while import.reader_status.borrow().paused_for_backlog {
        assert!(
            tokio::time::Instant::now() < deadline,
            "reading stayed paused"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    import.stop().await;
    assert_exactly_once(&rig).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_on_a_reader_astrow_does_not_mirror_yet_wait_instead_of_being_rejected() {
    let rig = rig().await;
    // A reader PAC has and Astrow's mirror lacks (added in PAC since the
    // last definitions sync).
    let all = rig.pac.readers().await.unwrap();
    let new_reader = all[0].clone();
    rig.astrow.put_readers(&all[1..]).await.unwrap();
    let mirrored: std::collections::HashSet<String> =
        all[1..].iter().map(|r| r.serial.clone()).collect();
    let (people_tx, people) = watch::channel(Some(Arc::new(People {
        mirrored_serials: Some(Arc::new(mirrored)),
        ..People::default()
    })));
    let import = start_full(
        &rig,
        Arc::new(rig.pac.clone()),
        100_000,
        people,
        CancellationToken::new(),
    );
    let last = pac_sim(&rig).swipe(600).await;
    // Everything else is delivered; the new reader's bookings wait.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let conn = open_connection(&rig.db_path).unwrap();
        let waiting = ledger::pending(&conn, 10_000).unwrap();
        let cursor = ledger::cursor(&conn).unwrap();
        if cursor.0 >= last
            && !waiting.is_empty()
            && waiting
                .iter()
                .all(|e| e.reader_serial.as_deref() == Some(new_reader.serial.as_str()))
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "did not settle");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(import.sender_status.borrow().waiting_for_mirror);
    // The definitions sync mirrors the new reader; the waiting bookings go.
    rig.astrow.put_readers(&all).await.unwrap();
    people_tx.send_replace(Some(Arc::new(People {
        mirrored_serials: Some(Arc::new(all.iter().map(|r| r.serial.clone()).collect())),
        ..People::default()
    })));
    quiescent(&rig, last, Duration::from_secs(30)).await;
    import.stop().await;
    assert_exactly_once(&rig).await;
}

/// The counts the Bookings view shows come from memory, updated as the
/// ledger is written: through faults, answers lost and repeated, and the
/// import killed mid-work and started again in the same process, they must
/// stay the ledger's own counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counts_shown_equal_the_ledgers_after_faults_and_a_kill() {
    let rig = rig().await;
    let astrow_faults = rig.site.astrow.as_ref().unwrap().2.clone();
    astrow_faults
        .update(FaultUpdate {
            error_rate: Some(0.2),
            drop_rate: Some(0.2),
            ..Default::default()
        })
        .unwrap();
    pac_sim(&rig)
        .faults()
        .update(FaultUpdate {
            error_rate: Some(0.2),
            ..Default::default()
        })
        .unwrap();
    let import = start(&rig, CancellationToken::new());
    for _ in 0..3 {
        pac_sim(&rig).swipe(150).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // Killed mid-work, then started again on the same store.
    import.abort();
    let last = pac_sim(&rig).swipe(200).await;
    let import = start(&rig, CancellationToken::new());
    tokio::time::sleep(Duration::from_secs(1)).await;
    astrow_faults.clear();
    pac_sim(&rig).faults().clear();
    quiescent(&rig, last, Duration::from_secs(60)).await;
    let conn = open_connection(&rig.db_path).unwrap();
    let truth = ledger::counts(&conn).unwrap();
    assert!(
        truth.processed + truth.duplicate + truth.queued >= 500,
        "{truth:?}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let view = loop {
        let v = import.view.borrow().clone();
        let shown = (v.pending, v.delivered, v.queued, v.rejected);
        let want = (
            truth.pending,
            truth.processed + truth.duplicate,
            truth.queued,
            truth.rejected,
        );
        if shown == want || tokio::time::Instant::now() > deadline {
            break (shown, want);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    import.stop().await;
    assert_eq!(
        view.0, view.1,
        "shown (pending, delivered, queued, rejected) vs the ledger"
    );
    // And the tally itself, against a count of every row.
    let (tally, _) = astrow_pac::store::tally::current(&conn, chrono::Utc::now()).unwrap();
    assert_eq!(tally.counts, truth);
    assert_exactly_once(&rig).await;
}
