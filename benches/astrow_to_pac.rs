//! Astrow -> PAC throughput and lag against both simulators on loopback.
//!
//! `cargo bench --bench astrow_to_pac` prints:
//! - sustained throughput: N web/mobile bookings made at once in Astrow,
//!   time until PAC has answered every one (events per second), 5 rounds,
//!   median reported;
//! - lag at a steady 50 bookings per second for 20 s: Astrow's booking time
//!   to PAC's answer, median and 99th percentile.
//!
//! A bench binary like `benches/bookings.rs`: each sample is seconds of real
//! network work.

use std::time::{Duration, Instant};

use astrow_pac::cli::sim::settings_for;
use astrow_pac::engine::astrow_to_pac::{A2pConfig, AstrowToPac};
use astrow_pac::engine::bookings::monitor::percentile;
use astrow_pac::engine::connect::{astrow_client, pac_client};
use astrow_pac::model::ExternalOutcome;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::Store;
use astrow_pac::store::astrow_ledger::{self, RowState};
use astrow_pac::store::db::open_connection;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

fn answered(db: &std::path::Path) -> u64 {
    let conn = open_connection(db).expect("db");
    let t = astrow_ledger::tally(&conn, false).expect("tally");
    t.stored + t.duplicate + t.rejected
}

async fn drained(db: &std::path::Path, last: u64) {
    let conn = open_connection(db).expect("db");
    loop {
        let t = astrow_ledger::tally(&conn, false).expect("tally");
        if t.after_booking_id >= last && t.pending == t.waiting {
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
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = SiteOptions::new(dir.path().join("sim"));
    opts.employees = 300;
    let site = RunningSite::start(Which::Both, &opts)
        .await
        .expect("simulators");
    let settings = settings_for(&site, dir.path());
    let store_dir = dir.path().join("store");
    let mut store = Store::open(&store_dir).expect("store");
    // Link the seeded twins, as the employee sync would: their bookings go
    // by PAC id and PAC stores them (the others PAC rejects: no keyholder).
    let pac_ids: std::collections::BTreeSet<u64> = pac_client(&settings)
        .expect("pac")
        .list_employees()
        .await
        .expect("employees")
        .iter()
        .map(|e| e.id.0)
        .collect();
    for e in site.astrow.as_ref().expect("astrow").0.employees() {
        if let Some(pac_id) = astrow_pac::model::parse_pac_ref(e.external_ref.as_deref())
            && pac_ids.contains(&pac_id.0)
        {
            store
                .upsert_link(&astrow_pac::model::Link {
                    pac_id,
                    pers_no: e.pers_no,
                    origin: astrow_pac::model::LinkOrigin::Matched,
                    at: chrono::Utc::now(),
                })
                .expect("link");
        }
    }
    drop(store);
    let db = store_dir.join(astrow_pac::store::DATABASE_FILE);
    let (_gate, gate_rx) = watch::channel(true);
    // Astrow's own bookings only: no File terminal bookings at PAC's readers.
    let (_readers, readers_rx) = watch::channel(Some(std::sync::Arc::new(
        astrow_pac::store::astrow_ledger::PacReaderSerials::new(),
    )));
    let job = AstrowToPac::start(
        astrow_client(&settings).expect("astrow"),
        pac_client(&settings).expect("pac"),
        &db,
        A2pConfig {
            poll_every: Duration::from_millis(20),
            monitor_every: Duration::from_secs(5),
            ..A2pConfig::default()
        },
        (gate_rx, readers_rx),
        CancellationToken::new(),
    )
    .expect("job");
    let astrow = &site.astrow.as_ref().expect("astrow").0;
    let n = 10_000;
    let mut rates = Vec::new();
    for round in 0..5 {
        let before = answered(&db);
        let mut last = 0;
        for _ in 0..n / 1000 {
            last = *astrow.own_bookings(1000, None).last().expect("made");
        }
        let start = Instant::now();
        drained(&db, last).await;
        let secs = start.elapsed().as_secs_f64();
        let events = answered(&db) - before;
        let per_s = events as f64 / secs;
        println!("round {round}: {events} events answered in {secs:.2} s = {per_s:.0} events/s");
        rates.push(per_s);
    }
    let throughput = median(&mut rates);

    // Steady 50 a second for 20 s.
    let from = astrow.stored_bookings().last().map_or(0, |b| b.booking_id);
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    let mut last = from;
    for _ in 0..200 {
        interval.tick().await;
        last = *astrow.own_bookings(5, None).last().expect("made");
    }
    drained(&db, last).await;
    let conn = open_connection(&db).expect("db");
    let mut lags: Vec<u64> = astrow_ledger::recent(&conn, 1000)
        .expect("rows")
        .iter()
        .filter(|r| r.booking.booking_id > from)
        .filter(|r| {
            matches!(
                r.state,
                RowState::Answered(ExternalOutcome::Stored { .. })
                    | RowState::Answered(ExternalOutcome::Rejected { .. })
            )
        })
        .filter_map(|r| {
            let answered = chrono::DateTime::parse_from_rfc3339(r.answered_at.as_deref()?).ok()?;
            Some((answered - r.booking.time).num_milliseconds().max(0) as u64)
        })
        .collect();
    lags.sort_unstable();
    println!(
        "\nsustained: median {throughput:.0} events/s over 5 rounds of {n} Astrow bookings (loopback, both simulators in this process)"
    );
    println!(
        "steady 50 bookings/s for 20 s: booking to PAC's answer p50 {} ms, p99 {} ms over {} bookings",
        percentile(&lags, 50).unwrap_or(0),
        percentile(&lags, 99).unwrap_or(0),
        lags.len()
    );
    let t = astrow_ledger::tally(&conn, false).expect("tally");
    println!(
        "PAC answered: {} stored, {} duplicate, {} rejected (bookings of Astrow employees PAC does not know)",
        t.stored, t.duplicate, t.rejected
    );
    job.stop().await;
    site.stop().await;
}
