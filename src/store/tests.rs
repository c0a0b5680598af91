use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use chrono::{TimeZone, Utc};

use super::*;
use crate::model::{Link, LinkOrigin, PacId, PersNo, System};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const CHILD_ENV: &str = "ASTROW_PAC_TEST_STORE_CHILD";

pub(super) fn plan(id: &str, items: &[&str]) -> NewPlan {
    NewPlan {
        plan_id: id.to_string(),
        master: System::Pac,
        held_reason: None,
        body_json: format!("{{\"plan_id\":\"{id}\"}}"),
        upgrade_body: |_| None,
        settings: None,
        items: items
            .iter()
            .enumerate()
            .map(|(i, item)| NewPlanItem {
                item_id: (*item).to_string(),
                action: "update".into(),
                target: System::Astrow,
                source_fingerprint: u64::MAX - i as u64,
                destructive: false,
                body: format!("{{\"id\":\"{item}\"}}").into_bytes(),
            })
            .collect(),
    }
}

#[test]
fn store_migrates_an_empty_directory_to_the_latest_schema() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store_dir = dir.path().join("nested/store");
    let store = Store::open(&store_dir)?;
    assert_eq!(store.schema_version()?, migrations::latest());
    assert!(store_dir.join(DATABASE_FILE).exists());
    let mode: String = store
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    assert_eq!(mode, "wal");
    let sync: i64 = store
        .conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))?;
    assert_eq!(sync, 2, "synchronous=FULL");
    drop(store);
    // Opening again runs no migration twice.
    let store = Store::open(&store_dir)?;
    assert_eq!(store.schema_version()?, migrations::latest());
    Ok(())
}

#[test]
fn every_way_into_the_database_waits_the_same_busy_timeout() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let path = dir.path().join(DATABASE_FILE);
    let wait = |c: &Connection| -> rusqlite::Result<u64> {
        c.query_row("PRAGMA busy_timeout", [], |r| r.get(0))
    };
    let want = db::BUSY_TIMEOUT.as_millis() as u64;
    assert_eq!(wait(&store.conn)?, want, "the engine's store");
    assert_eq!(
        wait(&db::open_connection(&path)?)?,
        want,
        "a task's own connection"
    );
    let status = Store::open_read_only(dir.path())?;
    assert_eq!(wait(&status.conn)?, want, "status, read-only");
    let mode: String =
        db::open_connection(&path)?.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    assert_eq!(mode, "wal");
    Ok(())
}

/// A store as an older astrow-pac left it: migrations up to `version` only.
fn store_at_version(dir: &Path, version: u32) -> TestResult {
    let conn = db::open_connection(&dir.join(DATABASE_FILE))?;
    for m in migrations::MIGRATIONS
        .iter()
        .filter(|m| m.version <= version)
    {
        conn.execute_batch(m.sql)?;
    }
    conn.pragma_update(None, "user_version", version)?;
    Ok(())
}

#[test]
fn a_store_older_than_the_binding_table_reads_as_not_bound() -> TestResult {
    let dir = tempfile::tempdir()?;
    store_at_version(dir.path(), 2)?;
    let store = Store::open_read_only(dir.path())?;
    assert_eq!(store.schema_version()?, 2);
    assert_eq!(store.site_binding()?, None);
    Ok(())
}

#[test]
fn store_refuses_a_schema_newer_than_it_knows() -> TestResult {
    let dir = tempfile::tempdir()?;
    {
        let store = Store::open(dir.path())?;
        store.conn.pragma_update(None, "user_version", 99)?;
    }
    let err = Store::open(dir.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("schema version 99"), "{err}");
    Ok(())
}

#[test]
fn store_lock_file_holds_the_pid() -> TestResult {
    let dir = tempfile::tempdir()?;
    let _store = Store::open(dir.path())?;
    let text = std::fs::read_to_string(dir.path().join(LOCK_FILE))?;
    assert_eq!(text.trim(), std::process::id().to_string());
    Ok(())
}

#[test]
fn store_second_open_in_one_process_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let err = Store::open(dir.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains(&format!("in use by process {}", std::process::id())),
        "{err}"
    );
    drop(store);
    // Another test of this binary may be spawning a child at this moment:
    // between fork and exec the child shares our open lock file, so the lock
    // can outlive the drop by a moment. Production never forks.
    let mut reopened = Store::open(dir.path());
    for _ in 0..100 {
        if reopened.is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        reopened = Store::open(dir.path());
    }
    reopened?;
    Ok(())
}

/// Run by the test below in a child process: opens the store named by the
/// environment and prints the outcome. Does nothing in a normal test run.
#[test]
fn store_child_process_helper() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    match Store::open(Path::new(&dir)) {
        Ok(_) => println!("CHILD-RESULT: opened"),
        Err(e) => println!("CHILD-RESULT: {e}"),
    }
}

#[test]
fn store_second_engine_process_is_refused_naming_the_pid() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let run_child = || -> Result<String, Box<dyn std::error::Error>> {
        let out = Command::new(std::env::current_exe()?)
            .args([
                "--exact",
                "store::tests::store_child_process_helper",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        Ok(stdout
            .lines()
            .find_map(|l| l.split_once("CHILD-RESULT: ").map(|(_, r)| r))
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!(
                    "(no result) stdout: {stdout} stderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            }))
    };
    let refused = run_child()?;
    assert!(
        refused.contains(&format!("in use by process {}", std::process::id())),
        "{refused}"
    );
    drop(store);
    assert_eq!(run_child()?, "opened");
    Ok(())
}

#[test]
fn store_links_upsert_list_delete() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    let at = Utc
        .with_ymd_and_hms(2026, 11, 28, 8, 0, 0)
        .single()
        .unwrap_or_default();
    let link = |p, a, origin| Link {
        pac_id: PacId(p),
        pers_no: PersNo(a),
        origin,
        at,
    };
    store.upsert_link(&link(10, 1001, LinkOrigin::Created))?;
    store.upsert_link(&link(11, 1002, LinkOrigin::Matched))?;
    // Relinking PAC 10 replaces its old link; pers_no 1002's link goes too.
    store.upsert_link(&link(10, 1002, LinkOrigin::Matched))?;
    assert_eq!(store.links()?, vec![link(10, 1002, LinkOrigin::Matched)]);
    assert!(store.delete_link_by_pers_no(PersNo(1002))?);
    assert!(!store.delete_link_by_pac_id(PacId(10))?);
    assert!(store.links()?.is_empty());
    Ok(())
}

#[test]
fn store_audit_is_append_only() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    let record = AuditRecord {
        system: System::Astrow,
        action: "update".into(),
        record: "employee 1001".into(),
        before: Some("{\"first_name\":\"Ana\"}".into()),
        after: Some("{\"first_name\":\"Anna\"}".into()),
        result: "ok".into(),
    };
    let first = store.append_audit(&record)?;
    let second = store.append_audit(&AuditRecord {
        result: "409 badge_in_use".into(),
        ..record.clone()
    })?;
    assert!(second > first);
    let log = store.audit_log(10)?;
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].record, record);
    assert_eq!(log[0].record.result, "409 badge_in_use");
    assert!(!log[0].os_user.is_empty());
    // Not even raw SQL may change or remove an entry.
    let update = store.conn.execute("UPDATE audit SET result = 'forged'", []);
    assert!(update.is_err());
    let delete = store.conn.execute("DELETE FROM audit", []);
    assert!(
        delete
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("append-only")
    );
    assert_eq!(store.audit_log(10)?.len(), 2);
    Ok(())
}

#[test]
fn store_plan_and_item_states_round_trip() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    let saved = store.save_plan(&plan("p1", &["a", "b", "c"]))?;
    assert_eq!(saved.plan_id, "p1");
    let pending = store.pending_plan()?.ok_or("no pending plan")?;
    assert_eq!(pending.state, PlanState::Pending);
    assert_eq!(pending.items.len(), 3);
    assert_eq!(pending.items[0].source_fingerprint, u64::MAX);
    assert_eq!(pending.items[1].body, b"{\"id\":\"b\"}");
    assert!(
        pending
            .items
            .iter()
            .all(|i| i.progress() == ItemProgress::NotStarted)
    );

    let selection = ["a".to_string(), "c".to_string()];
    assert_eq!(
        store.set_item_states("p1", Selection::Items(&selection), PlanState::Approved)?,
        2
    );
    assert_eq!(
        store.set_item_states(
            "p1",
            Selection::Items(&["b".to_string()]),
            PlanState::Rejected
        )?,
        1
    );
    store.set_plan_state("p1", PlanState::Approved)?;

    // Apply: a done, c started when the process "crashed".
    store.mark_item_started("p1", "a")?;
    store.mark_item_done("p1", "a", PlanState::Applied, None)?;
    store.mark_item_started("p1", "c")?;
    let resume = store.unfinished_items("p1")?;
    assert_eq!(resume.len(), 1);
    assert_eq!(
        (resume[0].item_id.as_str(), resume[0].progress()),
        ("c", ItemProgress::Started)
    );
    store.mark_item_done("p1", "c", PlanState::Stale, Some("changed since planning"))?;
    assert!(store.unfinished_items("p1")?.is_empty());

    let loaded = store.load_plan("p1")?;
    let states: Vec<_> = loaded
        .items
        .iter()
        .map(|i| (i.item_id.as_str(), i.state))
        .collect();
    assert_eq!(
        states,
        [
            ("a", PlanState::Applied),
            ("b", PlanState::Rejected),
            ("c", PlanState::Stale)
        ]
    );
    assert_eq!(
        loaded.items[2].detail.as_deref(),
        Some("changed since planning")
    );
    assert_eq!(loaded.items[0].progress(), ItemProgress::Done);
    // A done item keeps its state.
    assert_eq!(
        store.set_item_states("p1", Selection::All, PlanState::Pending)?,
        1
    );
    assert_eq!(store.load_plan("p1")?.items[0].state, PlanState::Applied);

    store.set_plan_state("p1", PlanState::Applied)?;
    assert!(store.pending_plan()?.is_none());
    assert!(matches!(
        store.mark_item_done("p1", "zz", PlanState::Applied, None),
        Err(StoreError::UnknownItem { .. })
    ));
    assert!(matches!(
        store.load_plan("nope"),
        Err(StoreError::UnknownPlan(_))
    ));
    Ok(())
}

#[test]
fn store_rejecting_an_item_suppresses_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    store.save_plan(&plan("p1", &["a", "b"]))?;
    store.set_item_states(
        "p1",
        Selection::Items(&["b".to_string()]),
        PlanState::Rejected,
    )?;
    assert_eq!(
        store.suppressions()?,
        vec![StoredSuppression {
            item_key: "b".into(),
            source_fingerprint: u64::MAX - 1
        }]
    );
    assert_eq!(store.clear_suppression("b")?, 1);
    assert!(store.suppressions()?.is_empty());
    Ok(())
}

#[test]
fn store_new_plans_supersede_and_settings_changes_invalidate() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    store.save_plan(&plan("p1", &["a"]))?;
    // The same plan again keeps the pending one, approvals included.
    store.set_item_states("p1", Selection::All, PlanState::Approved)?;
    assert_eq!(
        store.save_plan(&plan("p1", &["a"]))?.outcome,
        SaveOutcome::Kept
    );
    assert_eq!(store.load_plan("p1")?.items[0].state, PlanState::Approved);
    store.save_plan(&plan("p2", &["a"]))?;
    let p1 = store.load_plan("p1")?;
    assert_eq!(p1.state, PlanState::Stale);
    assert_eq!(p1.note.as_deref(), Some("superseded by plan p2"));
    // The same work as an older plan takes its id again: no suffix, no copy.
    assert_eq!(store.save_plan(&plan("p1", &["a"]))?.plan_id, "p1");
    assert_eq!(store.plan_count()?, 2);
    assert_eq!(store.invalidate_pending_plans("sync.master changed")?, 1);
    assert!(store.pending_plan()?.is_none());
    assert_eq!(
        store.load_plan("p1")?.note.as_deref(),
        Some("sync.master changed")
    );
    Ok(())
}

#[test]
fn store_job_runs_keep_the_latest_per_job() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    let first = store.job_started("employees")?;
    store.job_finished(first, "ok", &BTreeMap::new())?;
    let second = store.job_started("employees")?;
    let counts = BTreeMap::from([("updated".to_string(), 3u64), ("created".to_string(), 1)]);
    store.job_finished(second, "ok", &counts)?;
    let defs = store.job_started("definitions")?;
    let runs = store.last_job_runs()?;
    assert_eq!(runs.len(), 2);
    assert_eq!((runs[0].id, runs[0].finished_at), (defs, None));
    assert_eq!((runs[1].id, &runs[1].counts), (second, &counts));
    Ok(())
}
