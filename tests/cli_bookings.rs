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
