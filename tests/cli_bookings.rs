//! The real binary: `status` says what bookings wait for and exits 3 when a
//! person is needed; `bookings reset-cursor` asks, moves the cursor in a new
//! epoch and writes the audit log.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use astrow_pac::cli::sim::settings_for;
use astrow_pac::config;
use astrow_pac::model::{Direction, Event, EventType, PacId, Seq};
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::booking_waits::{self, WaitKey};
use astrow_pac::store::ledger::{self, EntryKind, NewEntry};
use astrow_pac::store::{Store, astrow_restore, seq_reset};
use chrono::{FixedOffset, TimeZone, Utc};

fn run(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_astrow-pac"))
        .args(args)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn booking(seq: u64, serial: &str) -> NewEntry {
    NewEntry {
        event: Event {
            seq: Seq(seq),
            time: FixedOffset::east_opt(3600)
                .unwrap()
                .with_ymd_and_hms(2026, 11, 28, 8, 0, 0)
                .unwrap(),
            event_type: EventType::AccessGranted,
            reader_id: Some(9),
            badge_number: Some("00A1".into()),
            employee_id: Some(PacId(7)),
        },
        reader_serial: Some(serial.into()),
        kind: EntryKind::Booking {
            direction: Some(Direction::In),
        },
    }
}

async fn setup(dir: &Path) -> (RunningSite, PathBuf, PathBuf) {
    let site = RunningSite::start(Which::Both, &SiteOptions::new(dir.join("sim")))
        .await
        .unwrap();
    let settings = settings_for(&site, dir);
    let path = dir.join("astrow-pac.toml");
    config::save(&path, &settings).unwrap();
    (site, path, dir.join("store"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_exits_3_for_an_old_wait_and_a_sequence_reset_that_reset_cursor_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let (_site, config, store_dir) = setup(dir.path()).await;
    {
        let mut store = Store::open(&store_dir).unwrap();
        let conn = store.connection();
        // Read two hours ago, waiting for a reader Astrow does not mirror.
        let long_ago = Utc::now() - chrono::Duration::hours(2);
        ledger::append_page(conn, &[booking(1, "R-9"), booking(2, "R-9")], long_ago).unwrap();
        booking_waits::mark_waiting(conn, &[WaitKey::Reader("R-9".into())]).unwrap();
        seq_reset::record_reset(conn, Seq(2), Seq(1), Seq(1), Utc::now()).unwrap();
    }
    let out = run(&config, &["status", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = &v["bookings"];
    assert_eq!(b["waiting"][0]["count"], 2, "{b}");
    assert!(b["waiting"][0]["reason"].as_str().unwrap().contains("R-9"));
    assert!(b["oldest_pending_age_s"].as_i64().unwrap() >= 7000, "{b}");
    assert_eq!(b["sequence_reset"]["resume_after"], 1, "{b}");
    assert_eq!(b["attention"].as_array().unwrap().len(), 2, "{b}");
    let text = run(&config, &["status"]);
    assert_eq!(text.status.code(), Some(3));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("WAITING 2 bookings"), "{text}");
    assert!(text.contains("reset-cursor --to 1"), "{text}");

    // Without a yes, nothing moves.
    let out = run(&config, &["bookings", "reset-cursor", "--to", "1"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = run(&config, &["bookings", "reset-cursor", "--to", "1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("epoch 1"));

    let out = run(&config, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["bookings"]["sequence_reset"].is_null());
    assert_eq!(v["bookings"]["epoch"], 1);
    assert_eq!(v["bookings"]["cursor"], 1);
    // The old wait still needs someone.
    assert_eq!(out.status.code(), Some(3));
    let store = Store::open(&store_dir).unwrap();
    let audit = store.audit_log(5).unwrap();
    assert_eq!(audit[0].record.action, "reset_cursor");
    assert_eq!(audit[0].record.result, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_cursor_is_refused_while_an_engine_holds_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (_site, config, store_dir) = setup(dir.path()).await;
    let _held = Store::open(&store_dir).unwrap();
    let out = run(&config, &["bookings", "reset-cursor", "--to", "1", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("console"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_exits_3_for_an_astrow_restore_that_astrow_cursor_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let (_site, config, store_dir) = setup(dir.path()).await;
    {
        let mut store = Store::open(&store_dir).unwrap();
        let conn = store.connection();
        conn.execute(
            "UPDATE astrow_cursor SET after_booking_id = 40 WHERE id = 1",
            [],
        )
        .unwrap();
        astrow_restore::record_restore(
            conn,
            40,
            "Astrow's newest booking id is below our cursor 40",
            None,
            Utc::now(),
        )
        .unwrap();
    }
    let out = run(&config, &["status", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &v["astrow_to_pac"];
    assert_eq!(a["astrow_restore"]["cursor"], 40, "{a}");
    assert!(
        a["attention"][0]
            .as_str()
            .unwrap()
            .contains("astrow-cursor"),
        "{a}"
    );
    let text = run(&config, &["status"]);
    assert_eq!(text.status.code(), Some(3));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("STOPPED Astrow's bookings went back"),
        "{text}"
    );

    // Without a yes, nothing moves.
    let out = run(&config, &["bookings", "astrow-cursor", "--to", "30"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = run(
        &config,
        &["bookings", "astrow-cursor", "--to", "30", "--yes"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("epoch 1"),
        "{out:?}"
    );

    let out = run(&config, &["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["astrow_to_pac"]["astrow_restore"].is_null());
    assert_eq!(v["astrow_to_pac"]["cursor"], 30);
    let store = Store::open(&store_dir).unwrap();
    let audit = store.audit_log(5).unwrap();
    assert_eq!(audit[0].record.action, "move_booking_cursor");
    assert_eq!(audit[0].record.result, "ok");
}

/// A count from the store (`None` while it is not made or busy).
fn store_count(store_dir: &Path, sql: &str) -> Option<i64> {
    let path = store_dir.join(astrow_pac::store::DATABASE_FILE);
    let c = astrow_pac::store::db::open_connection(&path).ok()?;
    c.query_row(sql, [], |r| r.get(0)).ok()
}

/// Wait until every booking in the ledger is answered and at least `min`
/// are stored in Astrow.
async fn until_answered(store_dir: &Path, min: i64) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let stored = store_count(
            store_dir,
            "SELECT count(*) FROM ledger WHERE kind = 'booking' AND state IN ('processed', 'queued')",
        );
        let pending = store_count(
            store_dir,
            "SELECT count(*) FROM ledger WHERE kind = 'booking' AND state = 'pending'",
        );
        if stored.is_some_and(|n| n >= min) && pending == Some(0) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "bookings not answered: stored {stored:?}, pending {pending:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// `reconcile` over yesterday to tomorrow: the simulated controllers'
/// clocks run up to 90 s ahead, out of a window that ends now.
async fn reconcile(config: &Path, more: &[&str]) -> Output {
    let today = chrono::Local::now().date_naive();
    let (from, to) = (
        (today - chrono::Days::new(1)).to_string(),
        (today + chrono::Days::new(1)).to_string(),
    );
    let mut args = vec!["reconcile", "--from", &from, "--to", &to];
    args.extend_from_slice(more);
    run_async(config, &args).await
}

async fn run_async(config: &Path, args: &[&str]) -> Output {
    let config = config.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&config, &args)
    })
    .await
    .unwrap()
}

/// The engine as a service (`run --headless`), killed when dropped.
fn headless(config: &Path) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_astrow-pac"))
        .args(["run", "--headless", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Astrow restored from a backup loses bookings it had answered as stored:
/// `reconcile` reports them missing; `reconcile --resend-missing --yes`,
/// beside the running service, has the service send them again (audited);
/// afterwards `reconcile` is clean and Astrow holds each booking once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_resend_missing_sends_again_what_astrow_lost_in_a_restore() {
    let dir = tempfile::tempdir().unwrap();
    let (site, config, store_dir) = setup(dir.path()).await;
    let pac = site.pac.as_ref().unwrap().0.clone();
    let astrow = site.astrow.as_ref().unwrap().0.clone();
    pac.swipe(80).await;
    let mut engine = headless(&config);
    until_answered(&store_dir, 20).await;

    // Astrow goes back to a backup: our bookings after the middle are gone.
    let ours: Vec<u64> = astrow
        .stored_bookings()
        .iter()
        .filter(|b| b.source_id.starts_with("pac:"))
        .map(|b| b.booking_id)
        .collect();
    let through = ours[ours.len() / 2];
    let lost = ours.iter().filter(|id| **id > through).count();
    assert!(lost >= 5, "{ours:?}");
    astrow.restore_bookings(through);

    let o = reconcile(&config, &[]).await;
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert_eq!(out.matches("MISSING").count(), lost, "{out}");

    let o = reconcile(&config, &["--resend-missing", "--yes"]).await;
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("lost bookings: {lost} sent again")),
        "{err}"
    );
    until_answered(&store_dir, 20).await;
    let o = reconcile(&config, &[]).await;
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(0), "{out}");
    let mut seen = std::collections::HashSet::new();
    for b in astrow.stored_bookings() {
        assert!(seen.insert(b.source_id.clone()), "{} twice", b.source_id);
    }
    assert!(
        store_count(
            &store_dir,
            "SELECT count(*) FROM audit WHERE action = 'resend_lost_bookings' AND result = 'ok'"
        )
        .is_some_and(|n| n == 1),
        "the store's own audit entry"
    );
    let _ = engine.start_kill();
    let _ = engine.wait().await;
}

/// A site whose 40 swipes an engine booked, then stopped.
async fn booked_then_stopped(dir: &Path) -> (RunningSite, PathBuf, PathBuf) {
    let (site, config, store_dir) = setup(dir).await;
    site.pac.as_ref().unwrap().0.swipe(40).await;
    let mut engine = headless(&config);
    until_answered(&store_dir, 5).await;
    let _ = engine.start_kill();
    let _ = engine.wait().await;
    (site, config, store_dir)
}

/// Without a service the command writes the store itself; refused for the
/// other direction; without --yes and no terminal it sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_resend_missing_without_a_service_and_its_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let (site, config, store_dir) = booked_then_stopped(dir.path()).await;
    let astrow = site.astrow.as_ref().unwrap().0.clone();

    let gone = astrow
        .stored_bookings()
        .into_iter()
        .find(|b| b.source_id.starts_with("pac:"))
        .unwrap()
        .source_id;
    assert!(astrow.delete_booking(&gone));

    let o = reconcile(&config, &["--resend-missing"]).await;
    assert_eq!(
        o.status.code(),
        Some(2),
        "no terminal, no --yes: nothing sent"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("Nothing sent again."));
    let o = run_async(
        &config,
        &[
            "reconcile",
            "--direction",
            "astrow-to-pac",
            "--resend-missing",
            "--yes",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is for --direction pac-to-astrow"));

    let o = reconcile(&config, &["--resend-missing", "--yes"]).await;
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("lost bookings: 1 sent again"), "{err}");
    let key = gone.rsplit(':').next().unwrap().parse::<i64>().unwrap();
    assert_eq!(
        store_count(
            &store_dir,
            &format!("SELECT count(*) FROM ledger WHERE seq = {key} AND state = 'pending'")
        ),
        Some(1),
        "pending again, for the next engine to send"
    );
}

/// With --resend-missing the exit code is 0 only when nothing else is off:
/// a booking Astrow holds twice keeps it at 2 (review finding).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resend_missing_keeps_exit_2_for_a_doubled_booking() {
    let dir = tempfile::tempdir().unwrap();
    let (site, config, _store_dir) = booked_then_stopped(dir.path()).await;
    let astrow = site.astrow.as_ref().unwrap().0.clone();
    let ours: Vec<String> = astrow
        .stored_bookings()
        .into_iter()
        .filter(|b| b.source_id.starts_with("pac:"))
        .map(|b| b.source_id)
        .collect();
    assert!(astrow.delete_booking(&ours[0]));
    assert!(astrow.double_booking(&ours[1]));
    let o = reconcile(&config, &["--resend-missing", "--yes"]).await;
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains("lost bookings: 1 sent again"), "{err}");
    assert_eq!(o.status.code(), Some(2), "a doubled booking is still off");
}
