//! The booking import through PAC changing under it, against both
//! simulators over real HTTP(S) on loopback: a reader Astrow's mirror lacks
//! holds back nothing else, bookings Astrow rejected for a missing reader go
//! again once it is mirrored, and PAC restored from a backup (its sequence
//! going back below the cursor) is raised and recovered without a collision.

#[path = "support/exactly_once.rs"]
mod exactly_once;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use astrow_pac::astrow::AstrowClient;
use astrow_pac::cli::sim::settings_for;
use astrow_pac::engine::bookings::classify::BookingRules;
use astrow_pac::engine::bookings::ports::{EventPage, EventSource, SourceError};
use astrow_pac::engine::bookings::reader::ReadLimits;
use astrow_pac::engine::bookings::reset::reset_cursor_audited;
use astrow_pac::engine::bookings::{BookingImport, ImportConfig};
use astrow_pac::engine::connect::{astrow_client, pac_client};
use astrow_pac::engine::people::People;
use astrow_pac::model::{BookingStatus, Direction, EventType, Reader, Seq};
use astrow_pac::pac::PacClient;
use astrow_pac::sim::pac::PacSim;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::db::open_connection;
use astrow_pac::store::{Store, ledger, seq_reset};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

struct Rig {
    site: RunningSite,
    pac: PacClient,
    astrow: AstrowClient,
    store_dir: std::path::PathBuf,
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
    let store_dir = dir.path().join("store");
    drop(Store::open(&store_dir).unwrap());
    let db_path = store_dir.join(astrow_pac::store::DATABASE_FILE);
    Rig {
        site,
        pac,
        astrow,
        store_dir,
        db_path,
        _dir: dir,
    }
}

fn pac_sim(rig: &Rig) -> &PacSim {
    &rig.site.pac.as_ref().unwrap().0
}

fn start(rig: &Rig, people: watch::Receiver<Option<Arc<People>>>) -> BookingImport {
    start_on(rig, Arc::new(rig.pac.clone()), people)
}

fn start_on<S: EventSource>(
    rig: &Rig,
    source: Arc<S>,
    people: watch::Receiver<Option<Arc<People>>>,
) -> BookingImport {
    let cfg = ImportConfig {
        limits: ReadLimits {
            page: 1000,
            wait_s: 1,
            max_pending: 100_000,
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
        CancellationToken::new(),
    )
    .unwrap()
}

fn people_with_mirror(readers: &[Reader]) -> Option<Arc<People>> {
    Some(Arc::new(People {
        mirrored_serials: Some(Arc::new(readers.iter().map(|r| r.serial.clone()).collect())),
        ..People::default()
    }))
}

/// Count how often the import asks for a mirror refresh (in the engine, each
/// one runs the definitions job).
fn count_mirror_requests(import: &BookingImport) -> Arc<AtomicU32> {
    let n = Arc::new(AtomicU32::new(0));
    let (seen, count) = (import.readers_changed.clone(), n.clone());
    tokio::spawn(async move {
        loop {
            seen.notified().await;
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    n
}

async fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait until PAC's events up to `last` are read and none is pending.
async fn read_and_sent(rig: &Rig, last: u64) {
    wait_until(
        "the swipes were not all read and sent",
        Duration::from_secs(30),
        || {
            let conn = open_connection(&rig.db_path).unwrap();
            ledger::cursor(&conn).unwrap().0 >= last && ledger::pending_count(&conn).unwrap() == 0
        },
    )
    .await;
}

fn counts(rig: &Rig) -> ledger::Counts {
    ledger::counts(&open_connection(&rig.db_path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_waiting_on_an_unmirrored_reader_hold_back_none_of_a_thousand() {
    let rig = rig().await;
    let all = rig.pac.readers().await.unwrap();
    let (missing, good) = (all[0].clone(), all[1..].to_vec());
    rig.astrow.put_readers(&good).await.unwrap();
    let (people_tx, people) = watch::channel(people_with_mirror(&good));
    let import = start(&rig, people);
    let asked = count_mirror_requests(&import);
    // The oldest 500 wait for the missing reader; 1,000 newer ones follow.
    let sim = pac_sim(&rig);
    sim.swipe_on(missing.id, 500).await;
    let mut last = 0;
    for i in 0..1000 {
        last = sim.swipe_on(good[i % good.len()].id, 1).await;
    }
    wait_until(
        "the 1,000 bookings on mirrored readers were not all delivered",
        Duration::from_secs(60),
        || {
            let c = counts(&rig);
            c.processed + c.queued + c.duplicate == 1000 && c.pending == 500
        },
    )
    .await;
    wait_until(
        "the wait is not shown with its reason",
        Duration::from_secs(10),
        || {
            let v = import.view.borrow();
            v.waiting.len() == 1
                && v.waiting[0].count == 500
                && v.waiting[0].reason.contains(&missing.serial)
        },
    )
    .await;
    // The sender's status follows its rounds: wait for it, as for the view.
    wait_until(
        "the sender does not say it waits for the mirror",
        Duration::from_secs(10),
        || import.sender_status.borrow().waiting_for_mirror,
    )
    .await;
    assert!(import.view.borrow().oldest_pending.is_some());
    // Waiting on: the mirror is not asked again and again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(asked.load(Ordering::SeqCst) <= 1, "{asked:?}");
    // The definitions job mirrors the reader: the 500 go.
    rig.astrow.put_readers(&all).await.unwrap();
    people_tx.send_replace(people_with_mirror(&all));
    wait_until(
        "the 500 did not go once their reader was mirrored",
        Duration::from_secs(30),
        || counts(&rig).pending == 0,
    )
    .await;
    wait_until("the wait is still shown", Duration::from_secs(10), || {
        import.view.borrow().waiting.is_empty()
    })
    .await;
    assert!(asked.load(Ordering::SeqCst) <= 2, "{asked:?}");
    import.stop().await;
    assert_eq!(sim.stats().await.last_seq, last);
    exactly_once::assert_exactly_once(&rig.pac, &rig.astrow, &rig.db_path).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_rejected_for_a_reader_missing_from_the_mirror_go_again_once_it_is_there() {
    let rig = rig().await;
    let all = rig.pac.readers().await.unwrap();
    rig.astrow.put_readers(&all[1..]).await.unwrap();
    // The mirror is not known yet: everything is sent, one reader's rejected.
    let (people_tx, people) = watch::channel(Some(Arc::new(People::default())));
    let import = start(&rig, people);
    sim_swipes_on_every_reader(pac_sim(&rig), &all, 300).await;
    wait_until("nothing was rejected", Duration::from_secs(30), || {
        let c = counts(&rig);
        c.pending == 0 && c.rejected > 0
    })
    .await;
    let conn = open_connection(&rig.db_path).unwrap();
    for e in ledger::recent(&conn, 1000).unwrap() {
        if let Some(BookingStatus::Rejected { reason }) = &e.status {
            assert_eq!(e.reader_serial.as_deref(), Some(all[0].serial.as_str()));
            assert!(reason.contains("mirror"), "{reason}");
        }
    }
    // The reader reaches the mirror: those bookings are sent again and booked.
    rig.astrow.put_readers(&all).await.unwrap();
    people_tx.send_replace(people_with_mirror(&all));
    wait_until(
        "the rejected bookings were not sent again",
        Duration::from_secs(30),
        || {
            let c = counts(&rig);
            c.pending == 0 && c.rejected == 0
        },
    )
    .await;
    import.stop().await;
    exactly_once::assert_exactly_once(&rig.pac, &rig.astrow, &rig.db_path).await;
}

async fn sim_swipes_on_every_reader(sim: &PacSim, readers: &[Reader], n: usize) -> u64 {
    let mut last = 0;
    for i in 0..n {
        last = sim.swipe_on(readers[i % readers.len()].id, 1).await;
    }
    last
}

/// Astrow's stored bookings by source id.
async fn stored(astrow: &AstrowClient) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for b in astrow.list_bookings(None).await.unwrap() {
        *counts.entry(b.booking.source_id.clone()).or_default() += 1;
    }
    counts
}

/// One ready booking ahead of many waiting for different readers: the
/// sender's skip rounds run out, and what it found ready still goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_booking_ahead_of_many_waiting_readers_is_sent() {
    let rig = rig().await;
    let all = rig.pac.readers().await.unwrap();
    rig.astrow.put_readers(&all).await.unwrap();
    let sim = pac_sim(&rig);
    sim.swipe_on(all[0].id, 1).await;
    // More readers Astrow's mirror lacks than the sender has skip rounds.
    for i in 0..20u32 {
        let id = 900 + i;
        sim.set_reader(Reader {
            id,
            name: format!("New door {id}"),
            controller_id: 1,
            controller_name: "Lobby".into(),
            serial: format!("R-WAIT-{id}"),
            direction: Direction::In,
            online: true,
        })
        .await;
        sim.swipe_on(id, 1).await;
    }
    let (_people_tx, people) = watch::channel(people_with_mirror(&all));
    let cfg = ImportConfig {
        batch_size: 2,
        limits: ReadLimits {
            page: 1000,
            wait_s: 1,
            max_pending: 100_000,
        },
        monitor_every: Duration::from_millis(100),
        ..ImportConfig::default()
    };
    let import = BookingImport::start(
        Arc::new(rig.pac.clone()),
        Arc::new(rig.astrow.clone()),
        &rig.db_path,
        cfg,
        BookingRules {
            enabled: true,
            ..Default::default()
        },
        people,
        CancellationToken::new(),
    )
    .unwrap();
    wait_until(
        "the ready booking was not sent",
        Duration::from_secs(20),
        || {
            let c = counts(&rig);
            c.events == 21 && c.processed + c.queued == 1
        },
    )
    .await;
    assert_eq!(counts(&rig).pending, 20, "the waiting ones wait");
    import.stop().await;
}

/// Holes in the ledger (forget and retention delete rows) are no sign that
/// PAC and the ledger part: the suggested cursor is still the backup's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holes_in_the_ledger_do_not_drag_the_suggested_cursor_back() {
    let rig = rig().await;
    let all = rig.pac.readers().await.unwrap();
    rig.astrow.put_readers(&all).await.unwrap();
    let (_people_tx, people) = watch::channel(people_with_mirror(&all));
    let import = start(&rig, people);
    let sim = pac_sim(&rig);
    let before = sim.swipe(300).await;
    read_and_sent(&rig, before).await;
    // Rows 100..=199 gone from the ledger, as forget and retention do.
    let conn = open_connection(&rig.db_path).unwrap();
    let gone = conn
        .execute("DELETE FROM ledger WHERE seq BETWEEN 100 AND 199", [])
        .unwrap();
    assert_eq!(gone, 100);
    drop(conn);
    sim.restore_backup(200).await;
    assert_eq!(sim.swipe(50).await, 250);
    wait_until(
        "the sequence reset was not raised",
        Duration::from_secs(10),
        || import.view.borrow().sequence_reset.is_some(),
    )
    .await;
    let reset = import.view.borrow().sequence_reset.clone().unwrap();
    assert_eq!(reset.resume_after, Seq(200), "{reset:?}");
    import.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pac_restored_from_a_backup_is_raised_at_once_and_recovered_without_collisions() {
    let rig = rig().await;
    let all = rig.pac.readers().await.unwrap();
    rig.astrow.put_readers(&all).await.unwrap();
    let (_people_tx, people) = watch::channel(people_with_mirror(&all));
    let import = start(&rig, people);
    let sim = pac_sim(&rig);
    let before = sim.swipe(300).await;
    read_and_sent(&rig, before).await;
    let old = stored(&rig.astrow).await;
    // PAC restored from its backup of seq 200, then 50 new swipes: their
    // seqs 201..=250 are new events under numbers we have already read.
    sim.restore_backup(200).await;
    let after = sim.swipe(50).await;
    assert_eq!(after, 250);
    wait_until(
        "the sequence reset was not raised",
        Duration::from_secs(10),
        || {
            import.reader_status.borrow().sequence_reset
                && import.view.borrow().sequence_reset.is_some()
        },
    )
    .await;
    let reset = import.view.borrow().sequence_reset.clone().unwrap();
    assert_eq!(reset.cursor, Seq(300));
    assert!(reset.pac_last_seq.0 <= 250, "{reset:?}");
    // What PAC kept from before the backup is recognised as already read.
    assert_eq!(reset.resume_after, Seq(200), "{reset:?}");
    assert!(reset.message().contains("reset-cursor --to 200"));
    // Reading stopped: nothing new was stored meanwhile.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(counts(&rig).events, 300);
    // A person moves the cursor (what `bookings reset-cursor` and the
    // console's X do). The engine holds no lock in this test.
    let mut store = Store::open(&rig.store_dir).unwrap();
    let done = reset_cursor_audited(&mut store, reset.resume_after).unwrap();
    assert_eq!((done.old_epoch, done.new_epoch), (0, 1));
    let audit = store.audit_log(10).unwrap();
    assert!(
        audit.iter().any(|a| a.record.action == "reset_cursor"),
        "{audit:?}"
    );
    drop(store);
    wait_until(
        "the new swipes were not booked",
        Duration::from_secs(30),
        || {
            let c = counts(&rig);
            c.events == 350 && c.pending == 0 && import.view.borrow().sequence_reset.is_none()
        },
    )
    .await;
    import.stop().await;
    // Every old booking once under its old id, every new granted swipe once
    // under an id of epoch 1: nothing collided, nothing doubled.
    let now = stored(&rig.astrow).await;
    assert!(now.values().all(|n| *n == 1), "booked twice: {now:?}");
    let page = rig
        .pac
        .events(Seq(200), 1000, Duration::ZERO)
        .await
        .unwrap();
    let new_granted: HashSet<String> = page
        .events
        .iter()
        .filter(|e| e.event_type == EventType::AccessGranted)
        .map(|e| seq_reset::source_id(1, seq_reset::ledger_key(1, e.seq)))
        .collect();
    assert!(!new_granted.is_empty());
    for id in &new_granted {
        assert!(id.starts_with("pac:1:e1:"), "{id}");
        assert!(now.contains_key(id), "new swipe {id} not booked");
    }
    let expected: HashSet<&String> = old.keys().chain(new_granted.iter()).collect();
    let got: HashSet<&String> = now.keys().collect();
    assert_eq!(got, expected);
    // The reconciliation knows which of PAC's events were read before the
    // reset (epoch 0) and which after (epoch 1): nothing off.
    let conn = open_connection(&rig.db_path).unwrap();
    let (epoch, waiting) = astrow_pac::engine::jobs::reconcile::ledger_facts(&conn, 1).unwrap();
    assert_eq!(epoch.current, 1);
    let settings = astrow_pac::cli::sim::settings_for(&rig.site, rig._dir.path());
    let t = chrono::Utc::now();
    let r = astrow_pac::engine::jobs::reconcile::run(
        &rig.pac,
        &rig.astrow,
        &settings,
        epoch,
        &waiting,
        t - chrono::Duration::hours(1),
        t + chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    assert!(r.clean(), "{r:?}");
    assert_eq!(r.expected, r.booked_once);
}

/// PAC whose one-event reads (the restore bisection's) fail while `failing`.
struct SingleReadsFail {
    pac: PacClient,
    failing: std::sync::atomic::AtomicBool,
}

impl EventSource for SingleReadsFail {
    async fn events(&self, after: Seq, limit: u32, wait_s: u32) -> Result<EventPage, SourceError> {
        if limit == 1 && self.failing.load(Ordering::SeqCst) {
            return Err(SourceError::Failed {
                message: "connection reset by peer".into(),
                retry_after: None,
            });
        }
        EventSource::events(&self.pac, after, limit, wait_s).await
    }

    async fn readers(&self) -> Result<Vec<Reader>, SourceError> {
        EventSource::readers(&self.pac).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_whose_resume_point_cannot_be_found_suggests_no_cursor_and_is_tried_again() {
    let rig = rig().await;
    let all = rig.pac.readers().await.unwrap();
    rig.astrow.put_readers(&all).await.unwrap();
    let (_people_tx, people) = watch::channel(people_with_mirror(&all));
    let source = Arc::new(SingleReadsFail {
        pac: rig.pac.clone(),
        failing: std::sync::atomic::AtomicBool::new(true),
    });
    let import = start_on(&rig, source.clone(), people);
    let sim = pac_sim(&rig);
    let before = sim.swipe(300).await;
    read_and_sent(&rig, before).await;
    sim.restore_backup(200).await;
    sim.swipe(50).await;
    // The bisection cannot read: no reset recorded with a guessed cursor
    // (it used to suggest PAC's last seq, 250: 201..=250 would be skipped).
    wait_until(
        "the failed search is not said",
        Duration::from_secs(10),
        || {
            let s = import.reader_status.borrow();
            s.last_error.as_deref().unwrap_or("").contains("went back")
        },
    )
    .await;
    assert!(import.view.borrow().sequence_reset.is_none());
    let conn = open_connection(&rig.db_path).unwrap();
    assert!(seq_reset::open_reset(&conn).unwrap().is_none());
    assert_eq!(counts(&rig).events, 300, "nothing read meanwhile");
    // PAC answers again: the reset is raised with the right point.
    source.failing.store(false, Ordering::SeqCst);
    wait_until(
        "the sequence reset was not raised once PAC could be read",
        Duration::from_secs(20),
        || import.view.borrow().sequence_reset.is_some(),
    )
    .await;
    let reset = import.view.borrow().sequence_reset.clone().unwrap();
    assert_eq!(reset.resume_after, Seq(200), "{reset:?}");
    import.stop().await;
}

/// A PAC whose every answer is 410 with nothing to record as a gap.
struct AlwaysExpired {
    calls: AtomicU32,
}

impl EventSource for AlwaysExpired {
    async fn events(
        &self,
        _after: Seq,
        _limit: u32,
        _wait_s: u32,
    ) -> Result<EventPage, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(SourceError::Expired { oldest_seq: Seq(1) })
    }

    async fn readers(&self) -> Result<Vec<Reader>, SourceError> {
        Ok(Vec::new())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_with_no_gap_to_record_backs_off_instead_of_looping() {
    let rig = rig().await;
    let source = Arc::new(AlwaysExpired {
        calls: AtomicU32::new(0),
    });
    let (_people_tx, people) = watch::channel(Some(Arc::new(People::default())));
    let import = start_on(&rig, source.clone(), people);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let calls = source.calls.load(Ordering::SeqCst);
    // Backing off from 250 ms, doubling: a handful in 3 s (without it,
    // thousands).
    assert!((2..=12).contains(&calls), "{calls} calls in 3 s");
    let status = import.reader_status.borrow().clone();
    assert!(status.consecutive_failures >= 2, "{status:?}");
    assert!(
        status.last_error.as_deref().unwrap_or("").contains("410"),
        "{status:?}"
    );
    import.stop().await;
    assert!(
        ledger::gaps(&open_connection(&rig.db_path).unwrap())
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_reports_zero_after_a_clean_run_then_finds_a_deleted_and_a_doubled_booking() {
    use astrow_pac::cli::sim::settings_for as settings_of;
    use astrow_pac::engine::jobs::reconcile;
    let rig = rig().await;
    let all = rig.pac.readers().await.unwrap();
    rig.astrow.put_readers(&all).await.unwrap();
    let (_people_tx, people) = watch::channel(people_with_mirror(&all));
    let import = start(&rig, people);
    let last = pac_sim(&rig).swipe(400).await;
    wait_until(
        "the swipes were not booked",
        Duration::from_secs(30),
        || {
            let conn = open_connection(&rig.db_path).unwrap();
            ledger::cursor(&conn).unwrap().0 >= last && ledger::pending_count(&conn).unwrap() == 0
        },
    )
    .await;
    import.stop().await;
    let settings = settings_of(&rig.site, rig._dir.path());
    let now = chrono::Utc::now();
    let window = (
        now - chrono::Duration::hours(1),
        now + chrono::Duration::hours(1),
    );
    let r = reconcile::run(
        &rig.pac,
        &rig.astrow,
        &settings,
        Default::default(),
        &Default::default(),
        window.0,
        window.1,
    )
    .await
    .unwrap();
    assert!(r.clean(), "{r:?}");
    assert!(r.expected > 100, "{r:?}");
    assert_eq!(r.booked_once, r.expected);
    // Behind our back: one booking deleted in Astrow, another stored twice.
    let stored = stored(&rig.astrow).await;
    let mut ids = stored.keys();
    let (gone, twice) = (ids.next().unwrap().clone(), ids.next().unwrap().clone());
    let sim = &rig.site.astrow.as_ref().unwrap().0;
    assert!(sim.delete_booking(&gone));
    assert!(sim.double_booking(&twice));
    let r = reconcile::run(
        &rig.pac,
        &rig.astrow,
        &settings,
        Default::default(),
        &Default::default(),
        window.0,
        window.1,
    )
    .await
    .unwrap();
    assert_eq!(r.missing, vec![gone]);
    assert_eq!(r.doubled, vec![(twice, 2)]);
    assert!(r.unexpected.is_empty());
    assert_eq!(r.booked_once, r.expected - 2);
    assert!(!r.clean());
}
