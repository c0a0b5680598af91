//! A store bound to one site, pointed at another (two simulator sites over
//! real HTTP(S), one store directory): everything that writes holds (plans,
//! the definitions mirror, the booking reader and sender); the heartbeat says
//! `degraded` with the reason; `status` exits 2 and says so. A re-bind
//! abandons the old site's unsent bookings (kept, marked, never sent to the
//! new Astrow) and starts bookings for the new PAC.

use std::sync::Arc;
use std::time::Duration;

use astrow_pac::astrow::HeartbeatStatus;
use astrow_pac::cli::sim::settings_for;
use astrow_pac::config::Settings;
use astrow_pac::engine::apply::{ApplyCtx, apply_plan};
use astrow_pac::engine::command::Command;
use astrow_pac::engine::connect::{astrow_client, pac_client};
use astrow_pac::engine::handle::EngineHandle;
use astrow_pac::engine::jobs::employees::{compute_plan, new_plan};
use astrow_pac::engine::runtime::{EngineOptions, RunningEngine, start};
use astrow_pac::engine::snapshot::{JobKind, Snapshot};
use astrow_pac::engine::store_handle::StoreHandle;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::{ABANDONED_REASON, PlanState, Selection, Store};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn site_settings(site: &RunningSite, dir: &std::path::Path) -> Settings {
    let mut s = settings_for(site, dir);
    // Only the tests' own commands sync employees and definitions.
    s.sync.employee_interval_s = 3600;
    s.sync.definitions_interval_s = 3600;
    s.bookings.heartbeat_interval_s = 1;
    s
}

async fn site(dir: &std::path::Path, name: &str, seed: u64) -> RunningSite {
    let mut opts = SiteOptions::new(dir.join(name));
    opts.employees = 10;
    opts.seed = seed;
    RunningSite::start(Which::Both, &opts).await.unwrap()
}

/// The first sync by hand: every employee linked.
async fn first_sync(settings: &Settings, store_dir: &std::path::Path) {
    let (pac, astrow) = (
        pac_client(settings).unwrap(),
        astrow_client(settings).unwrap(),
    );
    let store = StoreHandle::new(Store::open(store_dir).unwrap());
    let (plan, ..) = compute_plan(&pac, &astrow, &store, settings).await.unwrap();
    let new = new_plan(&plan);
    let id = store
        .call("save", move |s| s.save_plan(&new))
        .await
        .unwrap()
        .plan_id;
    let pid = id.clone();
    store
        .call("approve", move |s| {
            s.set_item_states(&pid, Selection::All, PlanState::Approved)
        })
        .await
        .unwrap();
    let ctx = ApplyCtx {
        pac,
        astrow,
        store,
        concurrency: 4,
        actor: "site-binding".into(),
    };
    let p = apply_plan(&ctx, &id, &|_| {}, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(p.failed, 0, "{p:?}");
}

/// A pending plan of real work on a site: one employee renamed in PAC.
async fn pending_plan(settings: &Settings, store_dir: &std::path::Path) -> String {
    let pac = pac_client(settings).unwrap();
    let mut e = pac.list_employees().await.unwrap().remove(0);
    e.last_name = format!("{}-Renamed", e.last_name);
    pac.update_employee(&e).await.unwrap();
    let astrow = astrow_client(settings).unwrap();
    let store = StoreHandle::new(Store::open(store_dir).unwrap());
    let (plan, ..) = compute_plan(&pac, &astrow, &store, settings).await.unwrap();
    assert!(!plan.is_empty());
    let new = new_plan(&plan);
    let id = store
        .call("save", move |s| s.save_plan(&new))
        .await
        .unwrap()
        .plan_id;
    let pid = id.clone();
    store
        .call("approve", move |s| {
            s.set_item_states(&pid, Selection::All, PlanState::Approved)
        })
        .await
        .unwrap();
    id
}

async fn file_terminal(site: &RunningSite, on: bool) {
    let url = format!("{}/_sim/licences", site.astrow_url().unwrap());
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .put(url)
        .json(&json!({"file_terminal": on, "employees_import": true}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

async fn engine(settings: Settings, dir: &std::path::Path) -> (EngineHandle, RunningEngine) {
    start(EngineOptions {
        settings,
        config_path: dir.join("astrow-pac.toml"),
        read_only: false,
        demo: false,
    })
    .await
    .unwrap()
}

fn snapshot(handle: &EngineHandle) -> Arc<Snapshot> {
    handle.snapshots.borrow().clone()
}

async fn wait_for<T>(what: &str, within: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn runs(s: &Snapshot, kind: JobKind) -> usize {
    s.jobs
        .iter()
        .find(|j| j.kind == kind)
        .map_or(0, |j| j.history.len() + usize::from(j.last_run.is_some()))
}

async fn stop(handle: EngineHandle, engine: RunningEngine) {
    let _ = handle.commands.send(Command::Shutdown).await;
    tokio::time::timeout(Duration::from_secs(20), engine.join())
        .await
        .expect("the engine stops");
}

/// Ledger rows by state and reason, read beside the engine.
fn ledger_states(store_dir: &std::path::Path) -> Vec<(String, Option<String>)> {
    let mut store = Store::open_read_only(store_dir).unwrap();
    let conn = store.connection();
    let mut stmt = conn
        .prepare("SELECT state, reason FROM ledger WHERE kind = 'booking' ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_another_site_writes_nothing_until_rebound_and_abandons_the_old_bookings() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let a = site(dir.path(), "sim-a", 23).await;
    let settings_a = site_settings(&a, dir.path());
    first_sync(&settings_a, &store_dir).await;
    let a_plan = pending_plan(&settings_a, &store_dir).await;

    // Site A: swipes read into the ledger while A's Astrow refuses bookings
    // (no File terminal licence): they stay pending.
    file_terminal(&a, false).await;
    let mut manual_a = settings_a.clone();
    manual_a.sync.apply = astrow_pac::config::ApplyMode::Manual;
    let (handle, running) = engine(manual_a, dir.path()).await;
    a.pac.as_ref().unwrap().0.swipe(30).await;
    let pending = wait_for(
        "A's pending bookings",
        Duration::from_secs(30),
        async || {
            let n = snapshot(&handle).bookings.pending;
            (n > 0 && snapshot(&handle).bookings.cursor.is_some_and(|c| c.0 >= 30)).then_some(n)
        },
    )
    .await;
    stop(handle, running).await;
    let a_bookings = a.astrow.as_ref().unwrap().0.stats().bookings;

    // Site B on the same store directory.
    let b = site(dir.path(), "sim-b", 24).await;
    let settings_b = site_settings(&b, dir.path());
    assert_eq!(settings_b.store.dir, settings_a.store.dir);
    let b_pac = b.pac.as_ref().unwrap();
    b_pac.0.swipe(10).await;
    let (mut handle, running) = engine(settings_b.clone(), dir.path()).await;
    let refusal = wait_for("the refusal", Duration::from_secs(10), async || {
        snapshot(&handle).site_refusal.clone()
    })
    .await;
    assert_eq!(snapshot(&handle).old_site_pending, pending);
    // A's approved plan (links of A) is never applied to B.
    handle
        .commands
        .send(Command::Apply {
            plan_id: a_plan.clone(),
            allow_held: true,
        })
        .await
        .unwrap();
    let refused = loop {
        let e = tokio::time::timeout(Duration::from_secs(10), handle.events.recv())
            .await
            .expect("a notice")
            .unwrap();
        if e.message.starts_with("applying a plan refused") {
            break e.message;
        }
    };
    assert!(refused.contains("astrow-pac store rebind"), "{refused}");
    assert!(
        refusal.contains("this store was made for PAC certificate sha256:")
            && refusal.contains("astrow-pac store rebind"),
        "{refusal}"
    );
    // The heartbeat runs every second: after two, whatever could run has.
    let before = runs(&snapshot(&handle), JobKind::Heartbeat);
    wait_for("two heartbeats", Duration::from_secs(20), async || {
        (runs(&snapshot(&handle), JobKind::Heartbeat) >= before + 2).then_some(())
    })
    .await;
    handle
        .commands
        .send(Command::RunNow(JobKind::Definitions))
        .await
        .unwrap();
    let summary = wait_for("the refused mirror", Duration::from_secs(20), async || {
        let s = snapshot(&handle);
        let j = s.jobs.iter().find(|j| j.kind == JobKind::Definitions)?;
        j.last_run.as_ref().map(|r| r.summary.clone())
    })
    .await;
    assert!(summary.contains("definitions not mirrored"), "{summary}");

    let b_astrow = b.astrow.as_ref().unwrap();
    let stats = b_astrow.0.stats();
    assert_eq!(stats.bookings, 0, "nothing booked into B");
    let writes: Vec<&String> = stats
        .requests
        .by_route
        .keys()
        .filter(|r| !r.starts_with("GET ") && !r.contains("/heartbeat") && !r.contains("/session"))
        .collect();
    assert!(writes.is_empty(), "writes to B's Astrow: {writes:?}");
    let beat = stats
        .last_heartbeat
        .expect("a heartbeat reached B's Astrow");
    assert_eq!(beat.heartbeat.status, HeartbeatStatus::Degraded);
    let detail = beat.heartbeat.detail.unwrap_or_default();
    assert!(detail.contains("astrow-pac store rebind"), "{detail}");
    let pac_routes = b_pac.0.stats().await.requests.by_route;
    assert!(
        !pac_routes.keys().any(|r| r.contains("/events")),
        "B's events not read with A's cursor: {pac_routes:?}"
    );
    assert_eq!(
        a.astrow.as_ref().unwrap().0.stats().bookings,
        a_bookings,
        "nothing sent to A either"
    );

    // `status` beside the engine: exit 2, says why.
    let config = dir.path().join("b.toml");
    let mut saved = settings_b.clone();
    saved.bookings.heartbeat_interval_s = 5;
    astrow_pac::config::save(&config, &saved).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_astrow-pac"))
        .args(["status", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("SITE    this store was made for"), "{text}");

    // The re-bind, by the running engine (the console's palette sends it).
    handle.commands.send(Command::RebindStore).await.unwrap();
    wait_for("the re-bind", Duration::from_secs(20), async || {
        snapshot(&handle).site_refusal.is_none().then_some(())
    })
    .await;
    let rows = ledger_states(&store_dir);
    let abandoned = rows
        .iter()
        .filter(|(s, r)| s == "rejected" && r.as_deref() == Some(ABANDONED_REASON))
        .count();
    assert_eq!(abandoned as u64, pending, "{rows:?}");
    let audit = Store::open_read_only(&store_dir)
        .unwrap()
        .audit_log(5)
        .unwrap();
    let entry = audit
        .iter()
        .find(|e| e.record.action == "rebind_store")
        .expect("the re-bind is audited");
    assert!(
        entry
            .record
            .result
            .contains(&format!("{pending} of its bookings")),
        "{:?}",
        entry.record
    );
    assert!(
        entry
            .record
            .after
            .as_deref()
            .unwrap_or("")
            .contains("-> 0 (epoch 1)"),
        "{:?}",
        entry.record
    );
    // Bookings start for B as in a fresh store: B's events from its first,
    // in a new epoch; the old site's bookings are never sent to B's Astrow.
    let b_last = b_pac.0.swipe(10).await;
    wait_for("B's events read", Duration::from_secs(30), async || {
        snapshot(&handle)
            .bookings
            .cursor
            .is_some_and(|c| c.0 >= b_last)
            .then_some(())
    })
    .await;
    let b_client = astrow_client(&settings_b).unwrap();
    let booked = wait_for("B's bookings", Duration::from_secs(30), async || {
        let list = b_client.list_bookings(None).await.ok()?;
        (!list.is_empty() && snapshot(&handle).bookings.pending == 0).then_some(list)
    })
    .await;
    let org = settings_b.pac.organization_id;
    for b in &booked {
        let id = &b.booking.source_id;
        assert!(id.starts_with(&format!("pac:{org}:e1:")), "{id}");
    }
    let rows = ledger_states(&store_dir);
    assert_eq!(
        rows.iter()
            .filter(|(s, r)| s == "rejected" && r.as_deref() == Some(ABANDONED_REASON))
            .count() as u64,
        pending,
        "{rows:?}"
    );
    stop(handle, running).await;
    a.stop().await;
    b.stop().await;
}
