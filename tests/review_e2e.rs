//! Review that holds, end to end against both simulators over real HTTP(S):
//! approvals survive re-plans, the store keeps one live plan, failed items
//! are retried once the cause is gone, the guard's window holds leavers
//! spread over intervals.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use astrow_pac::astrow::AstrowClient;
use astrow_pac::cli::sim::settings_for;
use astrow_pac::config::{ApplyMode, Settings};
use astrow_pac::engine::apply::{ApplyCtx, apply_plan};
use astrow_pac::engine::command::Command;
use astrow_pac::engine::connect::{astrow_client, pac_client};
use astrow_pac::engine::handle::EngineHandle;
use astrow_pac::engine::jobs::employees::{compute_plan, new_plan};
use astrow_pac::engine::plan::{Plan, RemovalDecision, RemovalKey, RemovalState};
use astrow_pac::engine::runtime::{EngineOptions, RunningEngine, start};
use astrow_pac::engine::snapshot::ApplyProgress;
use astrow_pac::engine::snapshot::{ItemState, JobKind, PlanView, Snapshot};
use astrow_pac::engine::store_handle::StoreHandle;
use astrow_pac::model::{AstrowEmployee, PacId, PersNo, parse_astrow_ref, parse_pac_ref};
use astrow_pac::pac::PacClient;
use astrow_pac::sim::faults::FaultUpdate;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::{PlanState, Selection, Store};
use serde_json::json;
use tokio_util::sync::CancellationToken;

struct Rig {
    site: RunningSite,
    settings: Settings,
    pac: PacClient,
    astrow: AstrowClient,
    dir: tempfile::TempDir,
}

async fn rig(employees: usize) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = SiteOptions::new(dir.path().join("sim"));
    opts.employees = employees;
    opts.seed = 23;
    let site = RunningSite::start(Which::Both, &opts).await.unwrap();
    let mut settings = settings_for(&site, dir.path());
    // Only the tests' own RunNow commands sync.
    settings.sync.employee_interval_s = 3600;
    settings.sync.definitions_interval_s = 3600;
    let pac = pac_client(&settings).unwrap();
    let astrow = astrow_client(&settings).unwrap();
    Rig {
        site,
        settings,
        pac,
        astrow,
        dir,
    }
}

impl Rig {
    fn store_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("store")
    }

    /// The first sync by hand: every master employee created and linked.
    async fn first_sync(&self) {
        let (_, p) = self.sync_by_hand().await;
        assert_eq!(p.failed, 0, "{p:?}");
    }

    /// Plan, approve everything, apply (no engine running).
    async fn sync_by_hand(&self) -> (Plan, ApplyProgress) {
        let store = StoreHandle::new(Store::open(&self.store_dir()).unwrap());
        let (plan, ..) = compute_plan(&self.pac, &self.astrow, &store, &self.settings)
            .await
            .unwrap();
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
            pac: self.pac.clone(),
            astrow: self.astrow.clone(),
            store: store.clone(),
            concurrency: 4,
            actor: "review".into(),
        };
        let p = apply_plan(&ctx, &id, &|_| {}, &CancellationToken::new())
            .await
            .unwrap();
        (plan, p)
    }

    /// Master Astrow: Astrow pers_no -> its PAC twin's id.
    async fn pac_twins(&self) -> BTreeMap<u64, u64> {
        let mut out = BTreeMap::new();
        for p in self.pac.list_employees().await.unwrap() {
            if let Some(pers_no) = parse_astrow_ref(p.external_ref.as_deref()) {
                out.insert(pers_no.0, p.id.0);
            }
        }
        out
    }

    async fn set_astrow_badge(&self, pers_no: u64, badge: Option<&str>) {
        let mut e = self
            .astrow
            .get_employee(PersNo(pers_no))
            .await
            .unwrap()
            .unwrap();
        e.badge_no = badge.map(str::to_string);
        self.astrow.update_employee(&e).await.unwrap();
    }

    async fn pac_badges(&self, id: u64) -> Vec<String> {
        let e = self.pac.get_employee(PacId(id)).await.unwrap().unwrap();
        e.badges.into_iter().map(|b| b.number).collect()
    }

    async fn twins(&self) -> BTreeMap<u64, AstrowEmployee> {
        let mut out = BTreeMap::new();
        for a in self.astrow.list_employees(true).await.unwrap() {
            if let Some(id) = parse_pac_ref(a.external_ref.as_deref()) {
                out.insert(id.0, a);
            }
        }
        out
    }

    async fn rename_in_pac(&self, id: u64, suffix: &str) {
        let mut e = self.pac.get_employee(PacId(id)).await.unwrap().unwrap();
        e.last_name = format!("{}-{suffix}", e.last_name);
        self.pac.update_employee(&e).await.unwrap();
    }

    async fn delete_in_pac(&self, id: u64) {
        let e = self.pac.get_employee(PacId(id)).await.unwrap().unwrap();
        self.pac.delete_employee(e.id, e.version).await.unwrap();
    }

    async fn astrow_licence(&self, employees_import: bool) {
        let url = format!("{}/_sim/licences", self.site.astrow_url().unwrap());
        let r = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .put(url)
            .json(&json!({"file_terminal": true, "employees_import": employees_import}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }

    /// Requests Astrow answered for one employee, by method ("PUT ").
    fn astrow_employee_writes(&self, method: &str) -> u64 {
        let stats = self.site.astrow.as_ref().unwrap().2.stats();
        stats
            .by_route
            .iter()
            .filter(|(r, _)| r.starts_with(method) && r.contains("/employees/"))
            .map(|(_, n)| n)
            .sum()
    }

    async fn engine(&self, settings: Settings) -> (EngineHandle, RunningEngine) {
        start(EngineOptions {
            settings,
            config_path: self.dir.path().join("astrow-pac.toml"),
            read_only: false,
            demo: false,
        })
        .await
        .unwrap()
    }

    /// Plans in the store and how many are live, read beside the engine.
    fn stored_plans(&self) -> (usize, usize) {
        let mut store = Store::open_read_only(&self.store_dir()).unwrap();
        let total = store.plan_count().unwrap();
        let live: i64 = store
            .connection()
            .query_row(
                "SELECT COUNT(*) FROM plans WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        (total, live as usize)
    }
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

fn last_run(s: &Snapshot, kind: JobKind) -> Option<astrow_pac::engine::snapshot::JobRun> {
    s.jobs
        .iter()
        .find(|j| j.kind == kind)
        .and_then(|j| j.last_run.clone())
}

/// One employee sync now, waited for; its summary.
async fn sync_now(handle: &EngineHandle) -> String {
    run_now(handle, JobKind::Employees, None).await
}

/// Run a job now (or send `command`, which makes it run), wait for the run
/// to end; its summary.
async fn run_now(handle: &EngineHandle, kind: JobKind, command: Option<Command>) -> String {
    let before = last_run(&snapshot(handle), kind).map(|r| r.started);
    handle
        .commands
        .send(command.unwrap_or(Command::RunNow(kind)))
        .await
        .unwrap();
    wait_for("a job run", Duration::from_secs(30), async || {
        let run = last_run(&snapshot(handle), kind)?;
        (Some(run.started) > before && run.finished.is_some()).then_some(run.summary)
    })
    .await
}

async fn stop(handle: EngineHandle, engine: RunningEngine) {
    let _ = handle.commands.send(Command::Shutdown).await;
    tokio::time::timeout(Duration::from_secs(20), engine.join())
        .await
        .expect("the engine stops");
}

fn plan_of(handle: &EngineHandle) -> Option<Arc<PlanView>> {
    snapshot(handle).plan.clone()
}

fn state_of(plan: &PlanView, id: &str) -> Option<ItemState> {
    plan.items.iter().find(|i| *i.id == *id).map(|i| i.state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_survive_replans_and_the_store_keeps_one_live_plan() {
    let rig = rig(30).await;
    rig.first_sync().await;
    let ids: Vec<u64> = rig.twins().await.keys().copied().take(4).collect();
    for id in &ids[..3] {
        rig.rename_in_pac(*id, "Renamed").await;
    }
    let (handle, engine) = rig.engine(rig.settings.clone()).await;
    let first = wait_for("the plan", Duration::from_secs(30), async || {
        plan_of(&handle).filter(|p| p.items.len() == 3)
    })
    .await;
    let approved = first.items[0].id.to_string();
    let rejected = first.items[1].id.to_string();
    handle
        .commands
        .send(Command::Approve(vec![approved.clone()]))
        .await
        .unwrap();
    handle
        .commands
        .send(Command::Reject(vec![rejected.clone()]))
        .await
        .unwrap();
    wait_for("the approval", Duration::from_secs(10), async || {
        plan_of(&handle).filter(|p| state_of(p, &approved) == Some(ItemState::Approved))
    })
    .await;
    // Three re-plans of unchanged content: same id, same states.
    for n in 0..3 {
        sync_now(&handle).await;
        let p = plan_of(&handle).unwrap();
        assert_eq!(p.plan_id, first.plan_id, "re-plan {n} keeps the id");
        assert_eq!(
            state_of(&p, &approved),
            Some(ItemState::Approved),
            "re-plan {n}"
        );
        assert_eq!(
            state_of(&p, &rejected),
            Some(ItemState::Rejected),
            "re-plan {n}"
        );
    }
    // An unrelated item changes: new work, the approval stays.
    rig.rename_in_pac(ids[3], "Other").await;
    sync_now(&handle).await;
    let p = plan_of(&handle).unwrap();
    assert_ne!(p.plan_id, first.plan_id, "new work, new id");
    assert_eq!(state_of(&p, &approved), Some(ItemState::Approved));
    assert_eq!(p.items.len(), 3, "the rejected item is suppressed: {p:#?}");
    // Twenty intervals: one live plan, no copy per interval.
    for _ in 0..16 {
        sync_now(&handle).await;
    }
    assert_eq!(plan_of(&handle).unwrap().plan_id, p.plan_id);
    assert_eq!(
        rig.stored_plans(),
        (3, 1),
        "first sync's plan, the superseded one, the live one"
    );
    stop(handle, engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_items_are_retried_once_the_licence_is_back() {
    let rig = rig(30).await;
    rig.first_sync().await;
    let ids: Vec<u64> = rig.twins().await.keys().copied().take(4).collect();
    for id in &ids {
        rig.rename_in_pac(*id, "Moved").await;
    }
    rig.astrow_licence(false).await;
    let mut settings = rig.settings.clone();
    settings.sync.apply = ApplyMode::Auto;
    let (handle, engine) = rig.engine(settings).await;
    let failed = wait_for("the failed apply", Duration::from_secs(30), async || {
        plan_of(&handle)
            .filter(|p| p.items.len() == 4 && p.items.iter().all(|i| i.state == ItemState::Failed))
    })
    .await;
    for item in &failed.items {
        assert_eq!(item.attempts, 1, "{item:?}");
        let why = item.message.as_deref().unwrap_or("");
        assert!(why.to_lowercase().contains("licen"), "{why}");
        assert_eq!(
            item.failure_kind,
            Some(astrow_pac::engine::item_error::FailureKind::LicenceMissing),
            "typed, not matched in words"
        );
    }
    let puts_before = rig.astrow_employee_writes("PUT ");
    rig.astrow_licence(true).await;
    sync_now(&handle).await;
    wait_for("the retry", Duration::from_secs(30), async || {
        snapshot(&handle)
            .apply
            .clone()
            .filter(|a| !a.running && a.applied == 4)
    })
    .await;
    assert_eq!(
        rig.astrow_employee_writes("PUT ") - puts_before,
        4,
        "each failed item written exactly once"
    );
    let twins = rig.twins().await;
    for id in &ids {
        assert!(twins[id].last_name.ends_with("-Moved"), "{:?}", twins[id]);
    }
    // Nothing left: the next sync finds both systems in step.
    let summary = sync_now(&handle).await;
    assert!(summary.starts_with("in step"), "{summary}");
    stop(handle, engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leavers_spread_over_intervals_are_held_by_the_window() {
    let rig = rig(60).await;
    rig.first_sync().await;
    let twins = rig.twins().await;
    let leavers: Vec<u64> = twins.keys().copied().take(20).collect();
    let mut settings = rig.settings.clone();
    settings.sync.apply = ApplyMode::Auto;
    settings.sync.delete_employees_on_sync = true;
    settings.sync.deletion_guard.count = 5;
    settings.sync.deletion_guard.percent = 100;
    settings.sync.deletion_guard.window_h = 24;
    for id in &leavers[..5] {
        rig.delete_in_pac(*id).await;
    }
    let (handle, engine) = rig.engine(settings).await;
    wait_for(
        "the first 5 deletions",
        Duration::from_secs(30),
        async || {
            snapshot(&handle)
                .apply
                .clone()
                .filter(|a| !a.running && a.applied == 5)
        },
    )
    .await;
    let deletes_after_first = rig.astrow_employee_writes("DELETE ");
    assert_eq!(deletes_after_first, 5);
    for round in 1..4 {
        for id in &leavers[round * 5..round * 5 + 5] {
            rig.delete_in_pac(*id).await;
        }
        let summary = sync_now(&handle).await;
        assert!(summary.contains("held"), "round {round}: {summary}");
        let p = plan_of(&handle).unwrap();
        let reason = p.held.clone().unwrap_or_default();
        // The second interval's 5 pass only with the window's 5; later
        // plans carry the held ones too and pass the count alone.
        let expected = if round == 1 {
            "5 destructive items planned and 5 applied in the last 24 h (sync.deletion_guard.window_h) make 10".to_string()
        } else {
            format!(
                "{} destructive items (deletes, badge removals, deactivations) pass the count limit of 5",
                round * 5
            )
        };
        assert!(reason.starts_with(&expected), "round {round}: {reason}");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        rig.astrow_employee_writes("DELETE "),
        5,
        "nothing more deleted"
    );
    stop(handle, engine).await;
}

/// Master Astrow: the badges of `movers` move one place along the ring in
/// Astrow (each takes the next one's badge; two movers are a swap). Done in
/// Astrow through a free intermediate state, as a person would.
async fn move_badges_in_a_ring(rig: &Rig, movers: &[u64]) -> Vec<String> {
    let mut badges = Vec::new();
    for pers_no in movers {
        let a = rig
            .astrow
            .get_employee(PersNo(*pers_no))
            .await
            .unwrap()
            .unwrap();
        badges.push(a.badge_no.clone().expect("a badge"));
    }
    for pers_no in movers {
        rig.set_astrow_badge(*pers_no, None).await;
    }
    for (i, pers_no) in movers.iter().enumerate() {
        let next = &badges[(i + 1) % badges.len()];
        rig.set_astrow_badge(*pers_no, Some(next)).await;
    }
    badges
}

async fn badge_ring_applies_in_one_go(movers: usize) {
    let mut rig = rig(20).await;
    rig.settings.sync.master = astrow_pac::config::Master::Astrow;
    rig.first_sync().await;
    let twins = rig.pac_twins().await;
    let mut chosen = Vec::new();
    for a in rig.astrow.list_employees(true).await.unwrap() {
        if a.active && a.badge_no.is_some() && twins.contains_key(&a.pers_no.0) {
            chosen.push(a.pers_no.0);
        }
    }
    chosen.truncate(movers);
    assert_eq!(chosen.len(), movers, "enough linked employees with badges");
    for pers_no in &chosen {
        assert_eq!(
            rig.pac_badges(twins[pers_no]).await.len(),
            1,
            "one badge each"
        );
    }
    let badges = move_badges_in_a_ring(&rig, &chosen).await;
    let (plan, p) = rig.sync_by_hand().await;
    assert_eq!((p.failed, p.stale), (0, 0), "{p:?}\n{plan:#?}");
    let frees = plan
        .items
        .iter()
        .filter(|i| i.id.ends_with(":free-badge"))
        .count();
    assert_eq!(
        frees, 1,
        "one item of the cycle frees its badge first: {plan:#?}"
    );
    assert!(plan.items.iter().any(|i| i.wave > 0), "{plan:#?}");
    for (i, pers_no) in chosen.iter().enumerate() {
        let want = badges[(i + 1) % badges.len()].to_uppercase();
        let have: Vec<String> = rig
            .pac_badges(twins[pers_no])
            .await
            .into_iter()
            .map(|b| b.to_uppercase())
            .collect();
        assert_eq!(have, [want], "Astrow {pers_no}");
    }
    let (again, _) = rig.sync_by_hand().await;
    assert!(again.is_empty(), "in step after one apply: {again:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_badge_swap_between_two_employees_applies_in_one_go() {
    badge_ring_applies_in_one_go(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_badge_chain_a_b_c_a_applies_in_one_go() {
    badge_ring_applies_in_one_go(3).await;
}

/// A badge freed by one employee and taken by another in the same plan
/// (no cycle): the taking write waits for the freeing one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_badge_freed_and_taken_in_one_plan_applies_in_order() {
    let mut rig = rig(20).await;
    rig.settings.sync.master = astrow_pac::config::Master::Astrow;
    rig.first_sync().await;
    let twins = rig.pac_twins().await;
    let chosen: Vec<u64> = rig
        .astrow
        .list_employees(true)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.active && a.badge_no.is_some() && twins.contains_key(&a.pers_no.0))
        .map(|a| a.pers_no.0)
        .take(2)
        .collect();
    let (giver, taker) = (chosen[0], chosen[1]);
    let badge = rig
        .astrow
        .get_employee(PersNo(giver))
        .await
        .unwrap()
        .unwrap()
        .badge_no
        .unwrap();
    rig.set_astrow_badge(giver, None).await;
    rig.set_astrow_badge(taker, Some(&badge)).await;
    let (plan, p) = rig.sync_by_hand().await;
    assert_eq!((p.failed, p.stale), (0, 0), "{p:?}\n{plan:#?}");
    assert!(
        !plan.items.iter().any(|i| i.id.ends_with(":free-badge")),
        "no cycle: {plan:#?}"
    );
    assert_eq!(
        rig.pac_badges(twins[&taker]).await,
        [badge.to_uppercase()],
        "the taker holds it"
    );
    assert!(rig.pac_badges(twins[&giver]).await.is_empty());
}

async fn pac_keep_readers(rig: &Rig, keep: usize) {
    let pem = rig
        .site
        .pac
        .as_ref()
        .unwrap()
        .0
        .certificate_pem()
        .to_string();
    let tls = astrow_pac::pac::tls::client_config(&pem).unwrap();
    astrow_pac::http::install_crypto_provider();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .unwrap();
    let url = format!("{}/_sim/readers", rig.site.pac_url().unwrap());
    let r = client
        .post(url)
        .json(&json!({"keep": keep}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

/// Removals from Astrow's reader mirror: an empty PAC list is refused, a
/// 50 % drop is held (nothing removed) until a person confirms it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mirror_refuses_an_empty_reader_list_and_holds_a_big_drop() {
    let rig = rig(10).await;
    let (handle, engine) = rig.engine(rig.settings.clone()).await;
    let mirrored = wait_for("the first mirror", Duration::from_secs(30), async || {
        let n = rig.astrow.readers().await.ok()?.len();
        (n > 0
            && last_run(&snapshot(&handle), JobKind::Definitions)?
                .finished
                .is_some())
        .then_some(n)
    })
    .await;
    assert!(mirrored >= 4, "enough readers to halve: {mirrored}");

    let half = mirrored / 2;
    pac_keep_readers(&rig, half).await;
    let summary = run_now(&handle, JobKind::Definitions, None).await;
    assert!(summary.starts_with("held: "), "{summary}");
    assert_definitions_warn(&handle);
    let held = snapshot(&handle)
        .definitions
        .held
        .clone()
        .unwrap_or_default();
    assert!(
        held.starts_with(&format!(
            "{} removals from Astrow's mirror",
            mirrored - half
        )),
        "{held}"
    );
    assert_eq!(
        rig.astrow.readers().await.unwrap().len(),
        mirrored,
        "held, nothing removed"
    );
    let d = snapshot(&handle).definitions.clone();
    assert_eq!(d.removals.len(), mirrored - half, "{:?}", d.removals);
    assert!(d.removals.iter().all(|r| r.state == RemovalState::Held));
    // One rejected (it stays), the others approved, then applied.
    let keys: Vec<String> = d.removals.iter().map(|r| r.key.clone()).collect();
    handle
        .commands
        .send(Command::DecideMirrorRemovals {
            keys: keys[..1].to_vec(),
            decision: RemovalDecision::Rejected,
        })
        .await
        .unwrap();
    handle
        .commands
        .send(Command::DecideMirrorRemovals {
            keys: keys[1..].to_vec(),
            decision: RemovalDecision::Approved,
        })
        .await
        .unwrap();
    run_now(&handle, JobKind::Definitions, None).await;
    let left: Vec<String> = rig
        .astrow
        .readers()
        .await
        .unwrap()
        .iter()
        .map(|r| RemovalKey::reader(&r.serial))
        .collect();
    assert_eq!(left.len(), half + 1, "approved ones removed: {left:?}");
    assert!(left.contains(&keys[0]), "the rejected one stays: {left:?}");
    let d = snapshot(&handle).definitions.clone();
    assert_eq!(
        d.removals
            .iter()
            .map(|r| (r.key.clone(), r.state))
            .collect::<Vec<_>>(),
        vec![(keys[0].clone(), RemovalState::Rejected)],
        "the rejected one stays listed"
    );
    // Approved now, it goes too.
    handle
        .commands
        .send(Command::DecideMirrorRemovals {
            keys: keys[..1].to_vec(),
            decision: RemovalDecision::Approved,
        })
        .await
        .unwrap();
    run_now(&handle, JobKind::Definitions, None).await;
    assert_eq!(
        rig.astrow.readers().await.unwrap().len(),
        half,
        "removed once approved"
    );
    assert!(snapshot(&handle).definitions.held.is_none());

    pac_keep_readers(&rig, 0).await;
    let summary = run_now(&handle, JobKind::Definitions, None).await;
    // A refusal is no "matches PAC": the job ends in a warning saying what
    // was refused and what was kept.
    assert!(
        summary.starts_with(&format!(
            "refused: PAC listed no reader: the mirror's {half} readers are kept"
        )),
        "{summary}"
    );
    assert!(!summary.contains("matches PAC"), "{summary}");
    assert_definitions_warn(&handle);
    assert!(
        !snapshot(&handle).definitions.refused.is_empty(),
        "the refusal is in the view"
    );
    assert_eq!(
        rig.astrow.readers().await.unwrap().len(),
        half,
        "nothing removed"
    );
    let d = snapshot(&handle).definitions.clone();
    assert!(
        d.pending
            .iter()
            .any(|p| p.starts_with("PAC listed no reader")),
        "{:?}",
        d.pending
    );
    // Refused outright: nothing to approve, nothing removed.
    assert!(d.removals.is_empty(), "{:?}", d.removals);
    run_now(&handle, JobKind::Definitions, None).await;
    assert_eq!(rig.astrow.readers().await.unwrap().len(), half);
    stop(handle, engine).await;
    // `status` reads the job's result from the store: a warning there too.
    let store = Store::open_read_only(&rig.store_dir()).unwrap();
    let runs = store.last_job_runs().unwrap();
    let result = runs
        .iter()
        .find(|r| r.job == "definitions")
        .and_then(|r| r.result.clone())
        .unwrap_or_default();
    assert!(
        result.starts_with("warning: refused: PAC listed no reader"),
        "{result}"
    );
}

/// The definitions job's last run ended in a warning, and its row says so.
fn assert_definitions_warn(handle: &EngineHandle) {
    let snap = snapshot(handle);
    let job = snap
        .jobs
        .iter()
        .find(|j| j.kind == JobKind::Definitions)
        .expect("the definitions job");
    assert_eq!(job.state, astrow_pac::engine::snapshot::JobState::Warning);
    let run = job.last_run.as_ref().expect("a run");
    assert!(run.ok && run.warning, "{run:?}");
}

/// Removals from the mirror count in the rolling window: one reader gone
/// per definitions sync passes unheld until the window's count is reached,
/// then the next is held, not drained unseen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mirror_removals_count_in_the_rolling_window() {
    let rig = rig(10).await;
    let mut settings = rig.settings.clone();
    settings.sync.deletion_guard.count = 2;
    settings.sync.deletion_guard.percent = 100;
    settings.sync.deletion_guard.window_h = 24;
    let (handle, engine) = rig.engine(settings).await;
    let mirrored = wait_for("the first mirror", Duration::from_secs(30), async || {
        let n = rig.astrow.readers().await.ok()?.len();
        (n > 0
            && last_run(&snapshot(&handle), JobKind::Definitions)?
                .finished
                .is_some())
        .then_some(n)
    })
    .await;
    assert!(mirrored >= 4, "enough readers: {mirrored}");
    for gone in 1..=2 {
        pac_keep_readers(&rig, mirrored - gone).await;
        let summary = run_now(&handle, JobKind::Definitions, None).await;
        assert!(!summary.contains("held"), "{summary}");
        assert_eq!(rig.astrow.readers().await.unwrap().len(), mirrored - gone);
    }
    pac_keep_readers(&rig, mirrored - 3).await;
    run_now(&handle, JobKind::Definitions, None).await;
    let d = snapshot(&handle).definitions.clone();
    let held = d.held.clone().unwrap_or_default();
    assert!(
        held.starts_with("1 removals from Astrow's mirror")
            && held.contains("with 2 removed in the last 24 h"),
        "{held}"
    );
    assert_eq!(
        rig.astrow.readers().await.unwrap().len(),
        mirrored - 2,
        "the third is held"
    );
    assert_eq!(d.removals.len(), 1);
    stop(handle, engine).await;
}

/// A store made against one site, pointed at another (a second simulator
/// seed): no plan, a clear message, nothing written to either system; after
/// `astrow-pac store rebind` it plans from scratch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_another_site_plans_nothing_until_rebound() {
    let rig = rig(20).await;
    rig.first_sync().await;
    let mut opts = SiteOptions::new(rig.dir.path().join("sim-other"));
    opts.employees = 20;
    opts.seed = 24;
    let other = RunningSite::start(Which::Both, &opts).await.unwrap();
    // The same store directory, the other site's servers.
    let settings = settings_for(&other, rig.dir.path());
    assert_eq!(settings.store.dir, rig.settings.store.dir);
    let (pac, astrow) = (
        pac_client(&settings).unwrap(),
        astrow_client(&settings).unwrap(),
    );
    let store = StoreHandle::new(Store::open(&rig.store_dir()).unwrap());
    let refused = compute_plan(&pac, &astrow, &store, &settings)
        .await
        .err()
        .unwrap_or_default();
    assert!(
        refused.starts_with("no plan: this store was made for PAC certificate sha256:"),
        "{refused}"
    );
    assert!(refused.contains("astrow-pac store rebind"), "{refused}");
    let astrow_stats = other.astrow.as_ref().unwrap().2.stats();
    assert_eq!(
        astrow_stats.total, 0,
        "not even read: {:?}",
        astrow_stats.by_route
    );
    let links_before = store.call("links", |s| s.links()).await.unwrap().len();
    assert!(links_before > 0);
    drop(store);

    let config = rig.dir.path().join("other.toml");
    astrow_pac::config::save(&config, &settings).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_astrow-pac"))
        .args(["store", "rebind", "--yes", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(&format!("{links_before} links")), "{text}");

    let store = StoreHandle::new(Store::open(&rig.store_dir()).unwrap());
    let (plan, ..) = compute_plan(&pac, &astrow, &store, &settings)
        .await
        .unwrap();
    assert!(!plan.items.is_empty());
    assert_eq!(
        plan.destructive_count(),
        0,
        "from scratch: no old link drives a deletion"
    );
    let audit = store.call("audit", |s| s.audit_log(10)).await.unwrap();
    assert!(
        audit.iter().any(|e| e.record.action == "rebind_store"),
        "{audit:?}"
    );
    other.stop().await;
}

/// Manual mode: an item a person approved and applied that failed is tried
/// again by the engine once its wait is over; the person's other items are
/// left for the person.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_mode_retries_a_failed_item_and_leaves_the_rest_to_the_person() {
    let rig = rig(20).await;
    rig.first_sync().await;
    let ids: Vec<u64> = rig.twins().await.keys().copied().take(2).collect();
    for id in &ids {
        rig.rename_in_pac(*id, "Later").await;
    }
    rig.astrow_licence(false).await;
    let (handle, engine) = rig.engine(rig.settings.clone()).await;
    let plan = wait_for("the plan", Duration::from_secs(30), async || {
        plan_of(&handle).filter(|p| p.items.len() == 2)
    })
    .await;
    let (chosen, other) = (plan.items[0].id.to_string(), plan.items[1].id.to_string());
    handle
        .commands
        .send(Command::Approve(vec![chosen.clone()]))
        .await
        .unwrap();
    handle
        .commands
        .send(Command::Apply {
            plan_id: plan.plan_id.clone(),
            allow_held: false,
        })
        .await
        .unwrap();
    wait_for("the failure", Duration::from_secs(30), async || {
        plan_of(&handle).filter(|p| state_of(p, &chosen) == Some(ItemState::Failed))
    })
    .await;
    rig.astrow_licence(true).await;
    sync_now(&handle).await;
    // Written without a person's apply; the plan made after it holds only
    // the item the person has not approved.
    let renamed = wait_for("the retry", Duration::from_secs(30), async || {
        let twins = rig.twins().await;
        let n = ids
            .iter()
            .filter(|id| twins[id].last_name.ends_with("-Later"))
            .count();
        (n > 0).then_some(n)
    })
    .await;
    assert_eq!(renamed, 1, "only the approved one was written");
    let p = wait_for("the next plan", Duration::from_secs(30), async || {
        plan_of(&handle).filter(|p| state_of(p, &chosen).is_none())
    })
    .await;
    assert_eq!(
        state_of(&p, &other),
        Some(ItemState::Pending),
        "left for the person"
    );
    stop(handle, engine).await;
}

/// A plan the deletion guard held is refused by the apply itself, whoever
/// asks for it (not only when it is the snapshot's current plan).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_plan_is_refused_by_the_apply_itself() {
    let mut rig = rig(20).await;
    rig.first_sync().await;
    let leavers: Vec<u64> = rig.twins().await.keys().copied().take(3).collect();
    for id in &leavers {
        rig.delete_in_pac(*id).await;
    }
    rig.settings.sync.delete_employees_on_sync = true;
    rig.settings.sync.deletion_guard.count = 1;
    rig.settings.sync.deletion_guard.percent = 100;
    rig.settings.sync.deletion_guard.window_h = 0;
    let store = StoreHandle::new(Store::open(&rig.store_dir()).unwrap());
    let (plan, ..) = compute_plan(&rig.pac, &rig.astrow, &store, &rig.settings)
        .await
        .unwrap();
    assert!(plan.held.is_some(), "{plan:?}");
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
    let deletes_before = rig.astrow_employee_writes("DELETE ");
    let ctx = ApplyCtx {
        pac: rig.pac.clone(),
        astrow: rig.astrow.clone(),
        store,
        concurrency: 4,
        actor: "review".into(),
    };
    let refused = apply_plan(&ctx, &id, &|_| {}, &CancellationToken::new())
        .await
        .err()
        .unwrap_or_default();
    assert!(refused.contains("held by the deletion guard"), "{refused}");
    assert_eq!(rig.astrow_employee_writes("DELETE "), deletes_before);
    let twins = rig.twins().await;
    assert!(
        leavers.iter().all(|id| twins.contains_key(id)),
        "nothing deleted"
    );
}

/// Review finding 8: the master or the delete setting changing while an
/// apply runs stops it between items (its plan was made with the old
/// settings): the items in flight finish and are recorded, the items not
/// begun are not written and go back to not started, the plan is void
/// (stale, never resumed as interrupted), and the engine plans again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settings_change_stops_the_apply_in_progress_and_voids_its_plan() {
    a_change_stops_the_apply_and_voids_its_plan(
        |s| s.sync.delete_employees_on_sync = !s.sync.delete_employees_on_sync,
        "sync.delete_employees_on_sync",
    )
    .await;
}

/// The same for every setting that changes what a plan means, not only
/// the master and the delete setting: here `sync.match_key`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_match_key_change_stops_the_apply_in_progress_and_voids_its_plan() {
    a_change_stops_the_apply_and_voids_its_plan(
        |s| s.sync.match_key = astrow_pac::config::MatchKey::BadgeNumber,
        "sync.match_key",
    )
    .await;
}

async fn a_change_stops_the_apply_and_voids_its_plan(
    change: fn(&mut astrow_pac::config::Settings),
    setting: &str,
) {
    let rig = rig(150).await;
    // Astrow answers late: the first sync's apply runs for seconds.
    rig.site
        .astrow
        .as_ref()
        .unwrap()
        .2
        .update(FaultUpdate {
            latency_ms: Some(50),
            ..FaultUpdate::default()
        })
        .unwrap();
    let config = rig.dir.path().join("astrow-pac.toml");
    astrow_pac::config::save(&config, &rig.settings).unwrap();
    let (handle, engine) = rig.engine(rig.settings.clone()).await;
    sync_now(&handle).await;
    let plan_id = plan_of(&handle).expect("the first plan").plan_id.clone();
    let items = {
        let store = Store::open_read_only(&rig.store_dir()).unwrap();
        store.load_plan(&plan_id).unwrap().items
    };
    let ids: Vec<String> = items
        .iter()
        .filter(|i| i.action != "conflict")
        .map(|i| i.item_id.clone())
        .collect();
    assert!(ids.len() > 100, "enough to stop mid-way: {}", ids.len());
    for command in [
        Command::Approve(ids.clone()),
        Command::Apply {
            plan_id: plan_id.clone(),
            allow_held: false,
        },
    ] {
        handle.commands.send(command).await.unwrap();
    }
    wait_for("the first results", Duration::from_secs(30), async || {
        snapshot(&handle)
            .apply
            .clone()
            .filter(|a| a.plan_id == plan_id && a.applied > 0)
    })
    .await;

    let mut changed = rig.settings.clone();
    change(&mut changed);
    astrow_pac::config::save(&config, &changed).unwrap();
    handle.commands.send(Command::ReloadSettings).await.unwrap();
    let done = wait_for("the apply to stop", Duration::from_secs(60), async || {
        snapshot(&handle)
            .apply
            .clone()
            .filter(|a| a.plan_id == plan_id && !a.running && a.finished.is_some())
    })
    .await;
    let ended = done.applied + done.stale + done.failed;
    assert!(ended > 0 && ended < done.total, "stopped mid-way: {done:?}");
    let next = wait_for(
        "a plan with the new settings",
        Duration::from_secs(60),
        async || plan_of(&handle).filter(|p| p.plan_id != plan_id),
    )
    .await;
    stop(handle, engine).await;

    let store = Store::open_read_only(&rig.store_dir()).unwrap();
    let stored = store.load_plan(&plan_id).unwrap();
    assert_eq!(stored.state, PlanState::Stale, "{:?}", stored.note);
    assert!(
        stored.note.as_deref().is_some_and(|n| n.contains(setting)),
        "{:?}",
        stored.note
    );
    let recorded = stored.items.iter().filter(|i| i.done_at.is_some()).count();
    assert_eq!(recorded, done.applied + done.stale, "{done:?}");
    let begun_unrecorded: Vec<_> = stored
        .items
        .iter()
        .filter(|i| i.started_at.is_some() && i.done_at.is_none())
        .map(|i| i.item_id.as_str())
        .collect();
    assert!(
        begun_unrecorded.is_empty(),
        "items left marked started: {begun_unrecorded:?}"
    );
    assert!(
        store.interrupted_plans().unwrap().is_empty(),
        "the void plan is not resumed"
    );
    assert!(!next.items.is_empty(), "the rest is planned again");
}

/// A pending plan the deletion guard let pass is judged again when the
/// guard's limits are lowered (a reload): planned again, it is held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lowered_guard_holds_the_pending_plan_it_let_pass() {
    let rig = rig(30).await;
    rig.first_sync().await;
    let leavers: Vec<u64> = rig.twins().await.keys().copied().take(4).collect();
    for id in &leavers {
        rig.delete_in_pac(*id).await;
    }
    let mut settings = rig.settings.clone();
    settings.sync.delete_employees_on_sync = true;
    settings.sync.deletion_guard.count = 100;
    settings.sync.deletion_guard.percent = 100;
    let config = rig.dir.path().join("astrow-pac.toml");
    astrow_pac::config::save(&config, &settings).unwrap();
    let (handle, engine) = rig.engine(settings.clone()).await;
    sync_now(&handle).await;
    let plan = plan_of(&handle).expect("a plan");
    assert!(plan.held.is_none(), "passed: {:?}", plan.held);
    let mut lowered = settings.clone();
    lowered.sync.deletion_guard.count = 2;
    astrow_pac::config::save(&config, &lowered).unwrap();
    handle.commands.send(Command::ReloadSettings).await.unwrap();
    let held = wait_for("the plan held", Duration::from_secs(30), async || {
        plan_of(&handle).and_then(|p| p.held.clone())
    })
    .await;
    stop(handle, engine).await;
    assert!(
        format!("{held:?}").contains("sync.deletion_guard.count"),
        "{held:?}"
    );
    assert_eq!(rig.astrow_employee_writes("DELETE "), 0, "nothing deleted");
}
