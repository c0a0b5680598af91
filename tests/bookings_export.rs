//! `astrow-pac bookings export` (issue 13), the real binary on a ledger the
//! real booking import filled from both simulators over loopback: a window
//! with processed, queued, rejected and non-booking events parses back
//! (csv crate) with the ledger's counts; an empty window is the header only.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use astrow_pac::cli::sim::settings_for;
use astrow_pac::config;
use astrow_pac::engine::bookings::classify::BookingRules;
use astrow_pac::engine::bookings::reader::ReadLimits;
use astrow_pac::engine::bookings::{BookingImport, ImportConfig};
use astrow_pac::engine::connect::{astrow_client, pac_client};
use astrow_pac::engine::people::People;
use astrow_pac::sim::faults::FaultUpdate;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::db::open_connection;
use astrow_pac::store::ledger;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const BIN: &str = env!("CARGO_BIN_EXE_astrow-pac");

fn export(config: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["bookings", "export"])
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

struct Filled {
    _site: RunningSite,
    config_path: std::path::PathBuf,
    db_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// Both simulators, employees applied, and the real import run over 600
/// swipes (with `faults` on Astrow while they are sent) until the ledger
/// is quiescent.
async fn filled_ledger(faults: Option<FaultUpdate>) -> Filled {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = SiteOptions::new(dir.path().join("sim"));
    opts.employees = 40;
    let site = RunningSite::start(Which::Both, &opts).await.unwrap();
    let settings = settings_for(&site, dir.path());
    let config_path = dir.path().join("astrow-pac.toml");
    config::save(&config_path, &settings).unwrap();
    let store_dir = settings.store.dir.clone().unwrap();
    let db_path = store_dir.join(astrow_pac::store::DATABASE_FILE);

    // Employees applied: Astrow knows most badges (they process), not
    // those of PAC employees it lacks (they queue). Astrow mirrors all
    // readers but one: that one's bookings are rejected.
    let o = Command::new(BIN)
        .args(["apply", "--yes", "--config"])
        .arg(&config_path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let pac = pac_client(&settings).unwrap();
    let astrow = astrow_client(&settings).unwrap();
    let mut readers = pac.readers().await.unwrap();
    readers.remove(0);
    astrow.put_readers(&readers).await.unwrap();
    // The people map the engine would give the import (linked PAC ids to
    // their Astrow badge numbers), less every third employee: their swipes
    // go with PAC's badge number, which Astrow does not know, and queue.
    let conn = open_connection(&db_path).unwrap();
    let links: Vec<(u64, u64)> = conn
        .prepare("SELECT pac_id, pers_no FROM links")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(conn);
    let astrow_badges: std::collections::HashMap<u64, String> = astrow
        .list_employees(true)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.badge_no.map(|b| (e.pers_no.0, b)))
        .collect();
    let linked_badges = links
        .iter()
        .step_by(3)
        .chain(links.iter().skip(1).step_by(3))
        .filter_map(|(pac, pers)| {
            astrow_badges
                .get(pers)
                .map(|b| (astrow_pac::model::PacId(*pac), b.clone()))
        })
        .collect();
    let (people_tx, people) = watch::channel(Some(Arc::new(People {
        linked_badges,
        ..People::default()
    })));
    let import = BookingImport::start(
        Arc::new(pac.clone()),
        Arc::new(astrow.clone()),
        &db_path,
        ImportConfig {
            limits: ReadLimits {
                page: 1000,
                wait_s: 1,
                max_pending: 100_000,
            },
            monitor_every: Duration::from_millis(100),
            ..ImportConfig::default()
        },
        BookingRules {
            enabled: true,
            ..Default::default()
        },
        people,
        CancellationToken::new(),
    )
    .unwrap();
    let astrow_faults = &site.astrow.as_ref().unwrap().2;
    let faulted = faults.is_some();
    if let Some(f) = faults {
        astrow_faults.update(f).unwrap();
    }
    // Under faults, swipes go on until a batch's reply was lost (Astrow
    // answered a resend 'duplicate'): how often that happens is chance.
    let mut last = 0;
    for round in 1.. {
        last = site.pac.as_ref().unwrap().0.swipe(150).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        if round >= 4 && (!faulted || holds_a_duplicate(&db_path)) {
            break;
        }
        assert!(round < 200, "no reply lost in {round} rounds of swipes");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    astrow_faults.clear();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let conn = open_connection(&db_path).unwrap();
        if ledger::cursor(&conn).unwrap().0 >= last && ledger::pending_count(&conn).unwrap() == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "import not quiescent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    import.stop().await;
    drop(people_tx);
    Filled {
        _site: site,
        config_path,
        db_path,
        _dir: dir,
    }
}

fn holds_a_duplicate(db_path: &Path) -> bool {
    let conn = open_connection(db_path).unwrap();
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM ledger WHERE state = 'duplicate')",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_of_a_window_parses_back_with_the_ledgers_counts() {
    let filled = filled_ledger(None).await;
    let (config_path, db_path) = (&filled.config_path, &filled.db_path);
    let o = export(config_path, &["--from", "2026-11-31", "--to", "2026-12-01"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--from \"2026-11-31\""), "{}", text(&o));

    // The whole ledger's window: far back to far ahead of the sim's clock.
    let conn = open_connection(db_path).unwrap();
    let counts = ledger::counts(&conn).unwrap();
    let o = export(config_path, &["--from", "2000-01-01", "--to", "2099-12-31"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut reader = csv::Reader::from_reader(o.stdout.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[..3], ["seq", "epoch", "time"]);
    let outcome_col = header.iter().position(|h| h == "outcome").unwrap();
    let reason_col = header.iter().position(|h| h == "reason").unwrap();
    let time_col = header.iter().position(|h| h == "time").unwrap();
    let mut by_outcome = BTreeMap::<String, u64>::new();
    let mut rows = 0u64;
    for rec in reader.records() {
        let rec = rec.unwrap();
        rows += 1;
        *by_outcome.entry(rec[outcome_col].to_string()).or_default() += 1;
        // Times keep their offset; rejections and non-bookings say why.
        assert!(
            chrono::DateTime::parse_from_rfc3339(&rec[time_col]).is_ok(),
            "{:?}",
            &rec[time_col]
        );
        if matches!(&rec[outcome_col], "rejected" | "not a booking") {
            assert!(!rec[reason_col].is_empty(), "{rec:?}");
        }
    }
    let n = |k: &str| by_outcome.get(k).copied().unwrap_or(0);
    assert_eq!(rows, counts.events, "{by_outcome:?} vs {counts:?}");
    assert_eq!(n("processed"), counts.processed, "{by_outcome:?}");
    assert_eq!(n("queued"), counts.queued, "{by_outcome:?}");
    assert_eq!(n("rejected"), counts.rejected, "{by_outcome:?}");
    assert_eq!(n("duplicate"), counts.duplicate, "{by_outcome:?}");
    for must in ["processed", "queued", "rejected", "not a booking"] {
        assert!(n(must) > 0, "no {must}: {by_outcome:?}");
    }

    // JSON: the same events.
    let o = export(
        config_path,
        &[
            "--from",
            "2000-01-01",
            "--to",
            "2099-12-31",
            "--format",
            "json",
        ],
    );
    let json: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json.len() as u64, rows);

    // An empty window: just the header; an empty JSON array.
    let o = export(config_path, &["--from", "2001-01-01", "--to", "2001-01-02"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("seq,epoch,time,"));
    let o = export(
        config_path,
        &[
            "--from",
            "2001-01-01",
            "--to",
            "2001-01-02",
            "--format",
            "json",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
}

fn trace(config: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("trace")
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_of_a_booking_through_a_lost_reply_shows_the_resend_and_one_booking() {
    let filled = filled_ledger(Some(FaultUpdate {
        drop_rate: Some(0.4),
        ..Default::default()
    }))
    .await;
    let settings = config::load(&filled.config_path).unwrap().settings;
    let astrow = astrow_client(&settings).unwrap();
    let conn = open_connection(&filled.db_path).unwrap();
    // A lost reply: the import sent the booking again and Astrow answered
    // "duplicate" with the booking the first send made. Only a resend gets
    // that answer here, so every such row must count two sends or more
    // (the connector's own retries included).
    let sent_once: Vec<(u64, u32)> = conn
        .prepare("SELECT seq, attempts FROM ledger WHERE state = 'duplicate' AND attempts < 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        sent_once.is_empty(),
        "{} bookings answered 'duplicate' yet recorded as sent once (seq, attempts), first: {:?}",
        sent_once.len(),
        &sent_once[..sent_once.len().min(5)]
    );
    let (seq, booking_id, attempts): (u64, u64, u32) = conn
        .query_row(
            "SELECT seq, booking_id, attempts FROM ledger
             WHERE state = 'duplicate' ORDER BY seq LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("a booking resent after a lost reply under 40 % dropped connections");
    assert!(attempts >= 2, "seq {seq}: sent {attempts} time(s)");
    let org = settings.pac.organization_id;
    // Astrow holds that booking once, under its source_id, resent or not.
    let source_id = format!("pac:{org}:{seq}");
    let stored = astrow.list_bookings(None).await.unwrap();
    let held: Vec<_> = stored
        .iter()
        .filter(|b| b.booking.source_id == source_id)
        .collect();
    assert_eq!(held.len(), 1, "{source_id}: {held:?}");
    for key in [format!("pac:{org}:{seq}"), booking_id.to_string()] {
        let o = trace(&filled.config_path, &["booking", &key, "--json"]);
        assert_eq!(o.status.code(), Some(0), "{key}: {}", text(&o));
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(rows.len(), 1, "{key}: {rows:?}");
        assert_eq!(rows[0]["seq"], seq);
        assert_eq!(rows[0]["attempts"], attempts);
        assert_eq!(rows[0]["booking_id"], booking_id);
        assert_eq!(rows[0]["outcome"], "duplicate");
        assert!(
            rows[0]["reason"]
                .as_str()
                .unwrap()
                .contains("reply was lost")
        );
    }
    let o = trace(
        &filled.config_path,
        &["booking", &format!("pac:{org}:{seq}")],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(&format!("seq {seq}")), "{out}");
    assert!(
        out.contains(&format!(
            "Sent        {attempts} times (Astrow keeps one booking per source_id"
        )),
        "{out}"
    );
    assert!(
        out.contains("Became      duplicate: Astrow already held"),
        "{out}"
    );
    assert!(out.contains(&format!("booking id {booking_id}")), "{out}");
    // Unknown and malformed keys.
    let o = trace(&filled.config_path, &["booking", "pac:1:999999999"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = trace(&filled.config_path, &["booking", "web:4411"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
