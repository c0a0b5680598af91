//! Booking import throughput and lag against both simulators on loopback.
//!
//! `cargo bench --bench bookings` prints:
//! - sustained throughput: N swipes made at once, time until every one is
//!   in Astrow (bookings per second), repeated, median reported;
//! - lag at a steady 50 swipes per second: event time to Astrow's answer,
//!   median and 99th percentile over the run.
//!
//! A bench binary rather than criterion: each sample is seconds of real
//! network work, and what matters is the figure, not its regression noise.

use std::sync::Arc;
use std::time::{Duration, Instant};

use astrow_pac::cli::sim::settings_for;
use astrow_pac::engine::bookings::classify::BookingRules;
use astrow_pac::engine::bookings::monitor::percentile;
use astrow_pac::engine::bookings::{BookingImport, ImportConfig};
use astrow_pac::engine::connect::{astrow_client, pac_client};
use astrow_pac::engine::people::People;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::Store;
use astrow_pac::store::db::open_connection;
use astrow_pac::store::ledger;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

struct Rig {
    site: RunningSite,
    import: BookingImport,
    db: std::path::PathBuf,
    _people: watch::Sender<Option<Arc<People>>>,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
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
    let store_dir = dir.path().join("store");
    drop(Store::open(&store_dir).expect("store"));
    let db = store_dir.join(astrow_pac::store::DATABASE_FILE);
    let (people_tx, people) = watch::channel(Some(Arc::new(People::default())));
    let import = BookingImport::start(
        Arc::new(pac),
        Arc::new(astrow),
        &db,
        ImportConfig {
            monitor_every: Duration::from_secs(5),
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
        db,
        _people: people_tx,
        _dir: dir,
    }
}

async fn drained(rig: &Rig, last: u64) {
    let conn = open_connection(&rig.db).expect("db");
    loop {
        let cursor = ledger::cursor(&conn).expect("cursor");
        let pending = ledger::pending_count(&conn).expect("pending");
        if cursor.0 >= last && pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // cargo bench passes --bench; nothing else is taken.
    let rig = rig().await;
    let pac = &rig.site.pac.as_ref().expect("pac").0;
    let n = 20_000;
    let mut rates = Vec::new();
    let delivered = |db: &std::path::Path| {
        let conn = open_connection(db).expect("db");
        let c = ledger::counts(&conn).expect("counts");
        c.processed + c.queued + c.duplicate + c.rejected
    };
    for round in 0..5 {
        let before = delivered(&rig.db);
        let last = pac.swipe(n).await;
        let start = Instant::now();
        drained(&rig, last).await;
        let secs = start.elapsed().as_secs_f64();
        let bookings = delivered(&rig.db) - before;
        let per_s = bookings as f64 / secs;
        println!(
            "round {round}: {n} events, {bookings} bookings answered in {secs:.2} s = {per_s:.0} bookings/s"
        );
        rates.push(per_s);
    }
    let throughput = median(&mut rates);

    // Steady 50 swipes per second for 20 seconds.
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
        "\nsustained import: median {throughput:.0} bookings/s over 5 rounds of {n} events (loopback, both simulators in this process)"
    );
    println!(
        "steady 50 swipes/s for 20 s: lag p50 {} ms, p99 {} ms over {} bookings",
        percentile(&lags, 50).unwrap_or(0),
        percentile(&lags, 99).unwrap_or(0),
        lags.len()
    );
    rig.import.stop().await;
}
