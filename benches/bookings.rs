//! Booking import throughput and lag against both simulators on loopback.
//!
//! `cargo bench --bench bookings` prints:
//! - sustained throughput: N swipes made at once, time until every one is
//!   in Astrow (bookings per second), repeated, median reported, for each
//!   sender pipeline (serial; one commit, the default: a batch's answers
//!   with the next batch's marks; grouped: four batches marked, sent and
//!   recorded per commit; "before 12": one commit on a store with the
//!   partial index of pending rows that migration 12 dropped), with the
//!   reader storing one page per transaction
//!   (the default) or up to four while PAC holds a backlog, each against
//!   simulators of its own, round by round in turn; where each one's time
//!   went, by stage;
//! - the ceiling, measured in the same run between those rounds: the Astrow
//!   simulator fed directly (its own client, one connection, batches of
//!   500, one at a time), and each pipeline's ratio to it;
//! - a second bound, in the same rounds: the reader alone (PAC's events read
//!   and stored in the ledger, nothing sent), and each pipeline's ratio to it;
//! - lag at a steady 50 swipes per second: event time to Astrow's answer,
//!   median and 99th percentile over the run.
//!
//! A bench binary rather than criterion: each sample is seconds of real
//! network work, and what matters is the figure, not its regression noise.

use std::sync::Arc;
use std::time::{Duration, Instant};

use astrow_pac::astrow::AstrowClient;
use astrow_pac::cli::sim::settings_for;
use astrow_pac::engine::bookings::classify::BookingRules;
use astrow_pac::engine::bookings::monitor::percentile;
use astrow_pac::engine::bookings::reader::READ_AHEAD;
use astrow_pac::engine::bookings::sender::Pipeline;
use astrow_pac::engine::bookings::{BookingImport, ImportConfig};
use astrow_pac::engine::connect::{astrow_client, pac_client};
use astrow_pac::engine::people::People;
use astrow_pac::model::Booking;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::Store;
use astrow_pac::store::db::open_connection;
use astrow_pac::store::ledger;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

struct Rig {
    site: RunningSite,
    import: BookingImport,
    /// A client of its own for the direct feed (the ceiling).
    direct: AstrowClient,
    /// A serial Astrow's mirror holds (a booking on it is not rejected).
    serial: String,
    db: std::path::PathBuf,
    /// No sender: done when the reader stored everything.
    reads_only: bool,
    _people: watch::Sender<Option<Arc<People>>>,
    _dir: tempfile::TempDir,
}

/// `pipeline`; `None`: no sender at work (the people map never comes),
/// the reader alone storing PAC's events (the second bound).
/// `before_12`: the store as it was before migration 12 (the partial index
/// of pending rows put back), to compare the two in the same run.
async fn rig(pipeline: Option<Pipeline>, read_ahead: usize, before_12: bool) -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = SiteOptions::new(dir.path().join("sim"));
    opts.employees = 300;
    opts.event_history = 1_000_000;
    let site = RunningSite::start(Which::Both, &opts)
        .await
        .expect("simulators");
    let settings = settings_for(&site, dir.path());
    let pac = pac_client(&settings).expect("pac client");
    let astrow = astrow_client(&settings).expect("astrow client");
    let readers = pac.readers().await.expect("readers");
    astrow.put_readers(&readers).await.expect("mirror");
    let serial = readers.first().expect("a reader").serial.clone();
    let direct = astrow_client(&settings).expect("direct astrow client");
    let store_dir = dir.path().join("store");
    drop(Store::open(&store_dir).expect("store"));
    let db = store_dir.join(astrow_pac::store::DATABASE_FILE);
    if before_12 {
        open_connection(&db)
            .expect("db")
            .execute_batch("CREATE INDEX ledger_pending ON ledger(seq) WHERE state = 'pending'")
            .expect("the index of before");
    }
    let people = pipeline.map(|_| Arc::new(People::default()));
    let (people_tx, people) = watch::channel(people);
    let mut limits = astrow_pac::engine::bookings::reader::ReadLimits::default();
    if pipeline.is_none() {
        // Nothing is sent: no back-pressure pause.
        limits.max_pending = u64::MAX;
    }
    let import = BookingImport::start(
        Arc::new(pac),
        Arc::new(astrow),
        &db,
        ImportConfig {
            monitor_every: Duration::from_secs(5),
            pipeline: pipeline.unwrap_or_default(),
            limits,
            read_ahead,
            ..ImportConfig::default()
        },
        BookingRules {
            enabled: true,
            ..Default::default()
        },
        people,
        CancellationToken::new(),
    )
    .expect("import");
    Rig {
        site,
        import,
        direct,
        serial,
        db,
        reads_only: pipeline.is_none(),
        _people: people_tx,
        _dir: dir,
    }
}

async fn drained(rig: &Rig, last: u64) {
    let conn = open_connection(&rig.db).expect("db");
    loop {
        let cursor = ledger::cursor(&conn).expect("cursor");
        let pending = if rig.reads_only {
            0
        } else {
            ledger::pending_count(&conn).expect("pending")
        };
        if cursor.0 >= last && pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The ceiling: `n` bookings straight into the Astrow simulator, batches of
/// 500 one after the other on one connection, made before the clock starts.
/// Bookings per second.
async fn direct_feed(rig: &Rig, round: usize, n: usize) -> f64 {
    let time = chrono::Utc::now().fixed_offset();
    let bookings: Vec<Booking> = (0..n)
        .map(|i| Booking {
            source_id: format!("ceiling:{round}:{i}"),
            badge_no: format!("{:08X}", 0xC000_0000u32 + i as u32),
            time,
            terminal_serial: rig.serial.clone(),
            direction: None,
        })
        .collect();
    let start = Instant::now();
    for batch in bookings.chunks(500) {
        let answers = rig.direct.send_bookings(batch).await.expect("direct feed");
        assert_eq!(answers.len(), batch.len());
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn delivered(db: &std::path::Path) -> u64 {
    let conn = open_connection(db).expect("db");
    let c = ledger::counts(&conn).expect("counts");
    c.processed + c.queued + c.duplicate + c.rejected
}

fn stored_bookings(db: &std::path::Path) -> u64 {
    let conn = open_connection(db).expect("db");
    let c = ledger::counts(&conn).expect("counts");
    c.pending + c.processed + c.queued + c.duplicate + c.rejected
}

/// `n` swipes at once; bookings answered and bookings per second until
/// every one is in Astrow (reads only: in the ledger).
async fn import_round(rig: &Rig, n: usize) -> (u64, f64) {
    let pac = &rig.site.pac.as_ref().expect("pac").0;
    let count = if rig.reads_only {
        stored_bookings
    } else {
        delivered
    };
    let before = count(&rig.db);
    let last = pac.swipe(n).await;
    let start = Instant::now();
    drained(rig, last).await;
    let secs = start.elapsed().as_secs_f64();
    let bookings = count(&rig.db) - before;
    (bookings, bookings as f64 / secs)
}

fn print_stages(name: &str, rig: &Rig) {
    let stages = rig.import.stages.take();
    let line: Vec<String> = stages
        .iter()
        .map(|(s, d)| format!("{s} {:.2} s", d.as_secs_f64()))
        .collect();
    println!(
        "  {name}, time by stage over the rounds: {}",
        line.join(", ")
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // cargo bench passes --bench; nothing else is taken.
    // "one commit, 1 page": the default (the reader storing each page in a
    // transaction of its own); last, it also gives the steady lag.
    // "before 12": the same with the store as before migration 12.
    // BOOKINGS_ONLY (names, separated by ';') runs some of them (the last
    // gives the steady lag).
    // (name, pipeline, pages per transaction, store before 12)
    let pipelines = [
        ("serial", Some(Pipeline::Serial), 1, false),
        (
            "one commit, 4 pages",
            Some(Pipeline::OneCommit),
            READ_AHEAD,
            false,
        ),
        ("read only, 1 page", None, 1, false),
        ("read only", None, READ_AHEAD, false),
        (
            "grouped, 4 pages",
            Some(Pipeline::Grouped),
            READ_AHEAD,
            false,
        ),
        ("before 12, 1 page", Some(Pipeline::OneCommit), 1, true),
        ("one commit, 1 page", Some(Pipeline::OneCommit), 1, false),
    ];
    let only = std::env::var("BOOKINGS_ONLY").ok();
    let chosen = |name: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(';').any(|n| n.trim() == name))
    };
    let mut rigs = Vec::new();
    for (name, p, pages, before_12) in pipelines {
        if chosen(name) {
            let r = rig(p, pages, before_12).await;
            rigs.push((name, r, Vec::new()));
        }
    }
    // The simulators start with a history of events: read and sent before
    // the rounds, and their time by stage left out.
    for (_, rig, _) in &rigs {
        let pac = &rig.site.pac.as_ref().expect("pac").0;
        drained(rig, pac.stats().await.last_seq).await;
        rig.import.stages.take();
    }
    let n = 20_000;
    let mut ceilings = Vec::new();
    for round in 0..5 {
        let mut bookings = 0;
        for (name, rig, rates) in rigs.iter_mut() {
            let (b, per_s) = import_round(rig, n).await;
            println!("round {round}: {n} events, {b} bookings: {name} {per_s:.0}/s");
            rates.push(per_s);
            bookings = b;
        }
        let direct = direct_feed(&rigs[0].1, round, bookings as usize).await;
        println!("round {round}: the simulator fed directly, {bookings} bookings: {direct:.0}/s");
        ceilings.push(direct);
    }
    for (name, rig, _) in &rigs {
        print_stages(name, rig);
    }
    let ceiling = median(&mut ceilings);
    println!(
        "\nsustained import, median of 5 rounds of {n} events (loopback, simulators in this process):"
    );
    let serial = rigs
        .iter()
        .find(|(name, _, _)| *name == "serial")
        .map_or(f64::NAN, |(_, _, rates)| median(&mut rates.clone()));
    let read_only = rigs
        .iter()
        .find(|(name, _, _)| *name == "read only")
        .map_or(f64::NAN, |(_, _, rates)| median(&mut rates.clone()));
    for (name, _, rates) in rigs.iter_mut() {
        let r = median(rates);
        let spread = format!(
            "{:.0}-{:.0}",
            rates.first().copied().unwrap_or(0.0),
            rates.last().copied().unwrap_or(0.0)
        );
        println!(
            "  {name:<18} {r:.0} bookings/s ({spread}) = {:.2}x the ceiling, {:.2}x the read alone, {:.2}x serial (goal >= 0.8x the ceiling)",
            r / ceiling,
            r / read_only,
            r / serial
        );
    }
    println!(
        "  ceiling: the Astrow simulator fed directly (one connection, batches of 500): {ceiling:.0} bookings/s\n  \
         second bound, \"read only\": PAC's events read and stored in the ledger by the reader alone, nothing sent: {read_only:.0} bookings/s"
    );
    let (_, rig, _) = rigs.pop().expect("the default pipeline");
    for (_, other, _) in rigs {
        other.import.stop().await;
    }

    // Steady 50 swipes per second for 20 seconds (the default: one commit, 1 page).
    let pac = &rig.site.pac.as_ref().expect("pac").0;
    let before = delivered(&rig.db);
    let mut last = 0;
    let tick = Duration::from_millis(100);
    let mut interval = tokio::time::interval(tick);
    for _ in 0..200 {
        interval.tick().await;
        last = pac.swipe(5).await;
    }
    drained(&rig, last).await;
    let conn = open_connection(&rig.db).expect("db");
    let steady = (delivered(&rig.db) - before) as usize;
    let mut lags = ledger::recent_lags_ms(&conn, steady.max(1)).expect("lags");
    lags.sort_unstable();
    println!(
        "steady 50 swipes/s for 20 s: lag p50 {} ms, p99 {} ms over {} bookings",
        percentile(&lags, 50).unwrap_or(0),
        percentile(&lags, 99).unwrap_or(0),
        lags.len()
    );
    rig.import.stop().await;
}
