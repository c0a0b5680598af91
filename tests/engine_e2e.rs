//! End to end: both simulators over real HTTP(S) on loopback, the real
//! connectors, plan computation, apply and the engine, and the real binary
//! for the command line. Each test starts its own site.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::Command as Process;
use std::sync::Arc;
use std::time::Duration;

use astrow_pac::astrow::AstrowClient;
use astrow_pac::cli::sim::settings_for;
use astrow_pac::config::{self, ApplyMode, Master, Settings};
use astrow_pac::engine::apply::{ApplyCtx, apply_plan};
use astrow_pac::engine::command::Command;
use astrow_pac::engine::connect::{astrow_client, pac_client};
use astrow_pac::engine::handle::EngineHandle;
use astrow_pac::engine::jobs::employees::{compute_plan, new_plan, new_plan_under};
use astrow_pac::engine::plan::{Action, Plan};
use astrow_pac::engine::plan_meaning::PlanMeaning;
use astrow_pac::engine::runtime::{EngineOptions, RunningEngine, start};
use astrow_pac::engine::snapshot::{ApplyProgress, JobKind, JobState, Snapshot};
use astrow_pac::engine::store_handle::StoreHandle;
use astrow_pac::model::{
    AstrowEmployee, EventType, PacEmployee, PacId, Seq, booking_source_id, parse_pac_ref,
};
use astrow_pac::pac::PacClient;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::{PlanState, Selection, Store};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

struct Rig {
    site: RunningSite,
    settings: Settings,
    pac: PacClient,
    astrow: AstrowClient,
    raw_pac: reqwest::Client,
    dir: tempfile::TempDir,
}

async fn rig(employees: usize) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = SiteOptions::new(dir.path().join("sim"));
    opts.employees = employees;
    opts.seed = 11;
    let site = RunningSite::start(Which::Both, &opts).await.unwrap();
    let settings = settings_for(&site, dir.path());
    let pac = pac_client(&settings).unwrap();
    let astrow = astrow_client(&settings).unwrap();
    let pem = site.pac.as_ref().unwrap().0.certificate_pem().to_string();
    let tls = astrow_pac::pac::tls::client_config(&pem).unwrap();
    astrow_pac::http::install_crypto_provider();
    let raw_pac = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .unwrap();
    Rig {
        site,
        settings,
        pac,
        astrow,
        raw_pac,
        dir,
    }
}

impl Rig {
    fn store(&self) -> StoreHandle {
        StoreHandle::new(Store::open(&self.dir.path().join("store")).unwrap())
    }

    async fn plan(&self, store: &StoreHandle) -> Plan {
        compute_plan(&self.pac, &self.astrow, store, &self.settings)
            .await
            .unwrap()
            .0
    }

    /// Store the plan, approve every actionable item; the stored id.
    async fn save_and_approve(&self, store: &StoreHandle, plan: &Plan) -> String {
        let new = new_plan(plan);
        let id = store
            .call("save", move |s| s.save_plan(&new))
            .await
            .unwrap()
            .plan_id;
        let ids: Vec<String> = plan.actionable().map(|i| i.id.clone()).collect();
        let pid = id.clone();
        store
            .call("approve", move |s| {
                s.set_item_states(&pid, Selection::Items(&ids), PlanState::Approved)
            })
            .await
            .unwrap();
        id
    }

    async fn apply(&self, store: &StoreHandle, plan_id: &str) -> ApplyProgress {
        let ctx = ApplyCtx {
            pac: self.pac.clone(),
            astrow: self.astrow.clone(),
            store: store.clone(),
            concurrency: 4,
            actor: "e2e".into(),
        };
        apply_plan(&ctx, plan_id, &|_| {}, &CancellationToken::new())
            .await
            .unwrap()
    }

    /// Plan, approve everything, apply.
    async fn sync(&self, store: &StoreHandle) -> (Plan, ApplyProgress) {
        let plan = self.plan(store).await;
        let id = self.save_and_approve(store, &plan).await;
        let p = self.apply(store, &id).await;
        (plan, p)
    }

    async fn pac_control(&self, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.site.pac_url().unwrap());
        let r = self.raw_pac.post(url).json(&body).send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    async fn pac_employees(&self) -> Vec<PacEmployee> {
        self.pac.list_employees().await.unwrap()
    }

    async fn astrow_employees(&self) -> Vec<AstrowEmployee> {
        self.astrow.list_employees(true).await.unwrap()
    }

    /// Astrow employees by the PAC id their external_ref names.
    async fn twins(&self) -> BTreeMap<u64, AstrowEmployee> {
        let mut out = BTreeMap::new();
        for a in self.astrow_employees().await {
            if let Some(id) = parse_pac_ref(a.external_ref.as_deref()) {
                assert!(
                    out.insert(id.0, a.clone()).is_none(),
                    "two Astrow employees name PAC {}",
                    id.0
                );
            }
        }
        out
    }

    fn engine_options(&self, settings: Settings) -> EngineOptions {
        EngineOptions {
            settings,
            config_path: self.dir.path().join("astrow-pac.toml"),
            read_only: false,
            demo: false,
        }
    }
}

fn count(plan: &Plan, action: Action) -> usize {
    plan.items.iter().filter(|i| i.action == action).count()
}

/// The owned fields of the Astrow twin match its PAC employee.
fn assert_in_step(p: &PacEmployee, a: &AstrowEmployee) {
    assert_eq!(a.first_name, p.first_name, "PAC {}", p.id);
    assert_eq!(a.last_name, p.last_name, "PAC {}", p.id);
    assert_eq!(a.employee_no, p.employee_number, "PAC {}", p.id);
    assert_eq!(a.active, p.active, "PAC {}", p.id);
    let mut groups = p.access_group_ids.clone();
    groups.sort_unstable();
    let mut agroups = a.pac_access_group_ids.clone();
    agroups.sort_unstable();
    assert_eq!(agroups, groups, "PAC {}", p.id);
    let badge_type = p
        .badges
        .iter()
        .find(|b| b.active)
        .or_else(|| p.badges.first())
        .map(|b| b.badge_type);
    assert_eq!(a.pac_badge_type, badge_type, "PAC {}", p.id);
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
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_writes_everything_and_the_next_plan_is_empty() {
    let rig = rig(120).await;
    let store = rig.store();
    let astrow_before = rig.astrow_employees().await.len();
    let (plan, p) = rig.sync(&store).await;
    let creates = count(&plan, Action::Create);
    assert!(creates > 0, "a seeded site has PAC employees to create");
    assert!(count(&plan, Action::Link) > 0, "and Astrow twins to match");
    assert!(
        count(&plan, Action::Update) > 0,
        "and drifted twins to update"
    );
    assert_eq!(p.failed, 0, "{p:?}");
    assert_eq!(p.stale, 0, "{p:?}");
    assert_eq!(p.applied, plan.actionable().count());

    // Every PAC employee has exactly one Astrow twin holding its fields.
    let pac = rig.pac_employees().await;
    let twins = rig.twins().await;
    let conflicted: HashSet<u64> = plan
        .items
        .iter()
        .filter(|i| i.action == Action::Conflict)
        .filter_map(|i| i.master_id)
        .collect();
    for p in &pac {
        if conflicted.contains(&p.id.0) {
            continue;
        }
        let a = twins
            .get(&p.id.0)
            .unwrap_or_else(|| panic!("PAC {} has no Astrow twin", p.id));
        assert_in_step(p, a);
        assert_eq!(
            p.external_ref.as_deref(),
            Some(format!("astrow:{}", a.pers_no.0).as_str()),
            "PAC remembers its twin"
        );
    }
    assert_eq!(rig.astrow_employees().await.len(), astrow_before + creates);
    // A new employee: badge number = PAC's id, contract from today, defaults.
    let today = chrono::Local::now().date_naive();
    let created = plan
        .items
        .iter()
        .find(|i| i.action == Action::Create)
        .unwrap();
    let a = &twins[&created.master_id.unwrap()];
    assert_eq!(
        a.badge_no.as_deref(),
        Some(created.master_id.unwrap().to_string().as_str())
    );
    assert_eq!(a.contract_start, Some(today));
    assert_eq!(a.cycle_code, "STD");
    assert_eq!(a.paygroup_code, "MONTHLY");

    // Idempotent: the same data plans nothing.
    let again = rig.plan(&store).await;
    assert!(again.is_empty(), "second plan: {:#?}", again.items);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_on_the_master_reach_astrow() {
    let rig = rig(80).await;
    let store = rig.store();
    rig.sync(&store).await;
    let edited = rig.pac_control("/_sim/edit", json!({"count": 12})).await;
    let ids: HashSet<u64> = edited["edited"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(!ids.is_empty());
    let (plan, p) = rig.sync(&store).await;
    assert!(
        count(&plan, Action::Update) > 0,
        "edits make updates: {plan:#?}"
    );
    assert_eq!(p.failed, 0);
    let twins = rig.twins().await;
    for p in rig.pac_employees().await {
        if ids.contains(&p.id.0) {
            assert_in_step(&p, &twins[&p.id.0]);
        }
    }
    assert!(rig.plan(&store).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_edit_of_an_owned_field_is_overwritten_an_unowned_one_kept() {
    let rig = rig(60).await;
    let store = rig.store();
    rig.sync(&store).await;
    let twins = rig.twins().await;
    let (&pac_id, twin) = twins.iter().next().unwrap();
    let other_cycle = rig
        .astrow
        .cycles()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.code)
        .find(|c| *c != twin.cycle_code)
        .expect("the simulator has more than one cycle");
    let mut edit = twin.clone();
    edit.first_name = "Edited-in-Astrow".into();
    edit.cycle_code = other_cycle.clone();
    rig.astrow.update_employee(&edit).await.unwrap();

    let (plan, p) = rig.sync(&store).await;
    let item = plan
        .items
        .iter()
        .find(|i| i.slave_id == Some(twin.pers_no.0))
        .expect("the edited twin is planned");
    assert_eq!(item.action, Action::Update);
    let fields: Vec<&str> = item.changes.iter().map(|c| c.field.as_ref()).collect();
    assert_eq!(fields, ["first_name"], "only the owned field");
    assert_eq!(p.applied, 1, "{p:?}");
    let now = rig
        .astrow
        .get_employee(twin.pers_no)
        .await
        .unwrap()
        .unwrap();
    let pac = rig.pac.get_employee(PacId(pac_id)).await.unwrap().unwrap();
    assert_eq!(now.first_name, pac.first_name, "PAC's again");
    assert_eq!(
        now.cycle_code, other_cycle,
        "an unowned field is left alone"
    );
    assert!(rig.plan(&store).await.is_empty());
}

async fn delete_in_pac(rig: &Rig, id: u64) {
    let e = rig.pac.get_employee(PacId(id)).await.unwrap().unwrap();
    rig.pac.delete_employee(e.id, e.version).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaver_loses_the_badge_or_is_deleted_as_the_setting_says() {
    let mut rig = rig(60).await;
    let store = rig.store();
    rig.sync(&store).await;
    let twins = rig.twins().await;
    let mut it = twins
        .iter()
        .filter(|(_, a)| a.active && a.badge_no.is_some());
    let (&kept_id, kept) = it.next().unwrap();
    let (&gone_id, gone) = it.next().unwrap();

    // Delete employees on sync off: badge removed, stays active.
    delete_in_pac(&rig, kept_id).await;
    let (plan, p) = rig.sync(&store).await;
    assert_eq!(plan.items.len(), 1, "{plan:#?}");
    assert_eq!(plan.items[0].action, Action::RemoveBadges);
    assert_eq!(p.applied, 1);
    let a = rig
        .astrow
        .get_employee(kept.pers_no)
        .await
        .unwrap()
        .expect("the twin keeps existing");
    assert!(a.active, "and stays active");
    assert!(
        a.badge_no.as_deref().is_none_or(|b| b.is_empty()),
        "badge removed: {:?}",
        a.badge_no
    );
    assert!(rig.plan(&store).await.is_empty());

    // On: deleted.
    rig.settings.sync.delete_employees_on_sync = true;
    delete_in_pac(&rig, gone_id).await;
    let (plan, p) = rig.sync(&store).await;
    assert!(
        plan.items
            .iter()
            .any(|i| i.action == Action::Delete && i.slave_id == Some(gone.pers_no.0)),
        "{plan:#?}"
    );
    assert_eq!(p.failed, 0);
    assert!(
        rig.astrow
            .get_employee(gone.pers_no)
            .await
            .unwrap()
            .is_none(),
        "deleted in Astrow"
    );
    assert!(rig.plan(&store).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_edited_between_plan_and_apply_is_skipped_as_stale() {
    let rig = rig(60).await;
    let store = rig.store();
    rig.sync(&store).await;
    let twins = rig.twins().await;
    let chosen: Vec<(u64, AstrowEmployee)> =
        twins.iter().take(3).map(|(k, v)| (*k, v.clone())).collect();
    for (id, _) in &chosen {
        let mut e = rig.pac.get_employee(PacId(*id)).await.unwrap().unwrap();
        e.last_name = format!("{}-Renamed", e.last_name);
        rig.pac.update_employee(&e).await.unwrap();
    }
    let plan = rig.plan(&store).await;
    assert_eq!(count(&plan, Action::Update), 3, "{plan:#?}");
    let id = rig.save_and_approve(&store, &plan).await;
    // Someone edits one target in Astrow meanwhile (an unowned field).
    let (_, victim) = &chosen[1];
    let mut e = rig
        .astrow
        .get_employee(victim.pers_no)
        .await
        .unwrap()
        .unwrap();
    e.middle_name = "Meanwhile".into();
    rig.astrow.update_employee(&e).await.unwrap();

    let p = rig.apply(&store, &id).await;
    assert_eq!((p.applied, p.stale, p.failed), (2, 1, 0), "{p:?}");
    let pid = id.clone();
    let stored = store
        .call("load", move |s| s.load_plan(&pid))
        .await
        .unwrap();
    for item in &stored.items {
        let body: astrow_pac::engine::plan::PlanItem =
            astrow_pac::engine::plan::decode_item(&item.body).unwrap();
        let want = if body.slave_id == Some(victim.pers_no.0) {
            PlanState::Stale
        } else {
            PlanState::Applied
        };
        assert_eq!(item.state, want, "{}", item.item_id);
    }
    let now = rig
        .astrow
        .get_employee(victim.pers_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.middle_name, "Meanwhile");
    assert!(!now.last_name.ends_with("-Renamed"), "not overwritten");
    for (pac_id, twin) in [&chosen[0], &chosen[2]] {
        let a = rig
            .astrow
            .get_employee(twin.pers_no)
            .await
            .unwrap()
            .unwrap();
        let p = rig.pac.get_employee(PacId(*pac_id)).await.unwrap().unwrap();
        assert_eq!(a.last_name, p.last_name);
    }
    // Planned again: the stale one comes back, applies, and all is in step.
    let (plan, p) = rig.sync(&store).await;
    assert_eq!(plan.items.len(), 1, "{plan:#?}");
    assert_eq!(plan.items[0].slave_id, Some(victim.pers_no.0));
    assert_eq!(p.applied, 1);
    let now = rig
        .astrow
        .get_employee(victim.pers_no)
        .await
        .unwrap()
        .unwrap();
    assert!(now.last_name.ends_with("-Renamed"));
    assert_eq!(now.middle_name, "Meanwhile", "unowned, kept");
}

async fn stop(handle: EngineHandle, engine: RunningEngine) {
    let _ = handle.commands.send(Command::Shutdown).await;
    tokio::time::timeout(Duration::from_secs(20), engine.join())
        .await
        .expect("the engine stops");
}

fn snapshot(handle: &EngineHandle) -> Arc<Snapshot> {
    handle.snapshots.borrow().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_holds_a_mass_deletion_in_auto_mode() {
    let rig = rig(80).await;
    {
        let store = rig.store();
        rig.sync(&store).await;
    }
    let twins = rig.twins().await;
    let leavers: Vec<u64> = twins.keys().copied().take(20).collect();
    for id in &leavers {
        delete_in_pac(&rig, *id).await;
    }
    let mut settings = rig.settings.clone();
    settings.sync.apply = ApplyMode::Auto;
    settings.sync.delete_employees_on_sync = true;
    settings.sync.deletion_guard.count = 3;
    settings.sync.deletion_guard.percent = 5;
    let (handle, engine) = start(rig.engine_options(settings)).await.unwrap();
    let plan = wait_for("a held plan", Duration::from_secs(20), async || {
        snapshot(&handle).plan.clone().filter(|p| p.held.is_some())
    })
    .await;
    let deletes = plan
        .items
        .iter()
        .filter(|i| i.action == astrow_pac::engine::snapshot::ActionKind::Delete)
        .count();
    assert_eq!(deletes, leavers.len());
    // Give auto mode every chance to do what it must not.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let s = snapshot(&handle);
    assert!(s.apply.is_none(), "nothing applied: {:?}", s.apply);
    let now = rig.twins().await;
    for id in &leavers {
        let a = &now[id];
        assert!(a.badge_no.is_some(), "badge kept");
        assert_eq!(a.version, twins[id].version, "untouched");
    }
    stop(handle, engine).await;
    let stats = rig.site.astrow.as_ref().unwrap().2.stats();
    assert!(
        !stats.by_route.keys().any(|r| r.starts_with("DELETE ")),
        "no delete reached Astrow: {:?}",
        stats.by_route
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_astrow_an_astrow_edit_reaches_pac_within_seconds() {
    if std::env::var("E2E_DEBUG").is_ok() {
        let _ = tracing_subscriber::fmt().with_env_filter("info").try_init();
    }
    let rig = rig(60).await;
    let mut settings = rig.settings.clone();
    settings.sync.master = Master::Astrow;
    settings.sync.apply = ApplyMode::Auto;
    settings.sync.deletion_guard.count = 10_000;
    settings.sync.deletion_guard.percent = 100;
    // Only the notification watcher can be quick enough.
    settings.sync.employee_interval_s = 3600;
    settings.sync.definitions_interval_s = 3600;
    let (handle, engine) = start(rig.engine_options(settings)).await.unwrap();
    // The first reconcile applies and the engine goes quiet.
    let settled = wait_for("the first apply", Duration::from_secs(30), async || {
        let s = snapshot(&handle);
        let a = s.apply.clone()?;
        let job = s.jobs.iter().find(|j| j.kind == JobKind::Employees)?;
        let done = !a.running && job.state == JobState::Idle;
        let open = s.plan.as_ref().is_some_and(|p| {
            p.items.iter().any(|i| {
                i.action != astrow_pac::engine::snapshot::ActionKind::Conflict
                    && matches!(
                        i.state,
                        astrow_pac::engine::snapshot::ItemState::Pending
                            | astrow_pac::engine::snapshot::ItemState::Approved
                    )
            })
        });
        (done && !open).then_some(a)
    })
    .await;
    // Nothing fails: an Astrow employee naming a group PAC lacks is a
    // conflict for a person, not a write PAC refuses on every sync.
    assert_eq!(settled.failed, 0, "{settled:?}");
    let plan = snapshot(&handle).plan.clone();
    let conflicts = plan.iter().flat_map(|p| {
        p.items.iter().filter(|i| {
            i.action == astrow_pac::engine::snapshot::ActionKind::Conflict
                && p.reason_text(i).contains("does not have")
        })
    });
    assert!(conflicts.count() > 0, "the seeded site has such employees");
    // Let the notifications of the engine's own writes pass.
    tokio::time::sleep(Duration::from_secs(2)).await;
    // A linked pair: the Astrow employee names the PAC one and back.
    let pac: BTreeMap<u64, PacEmployee> = rig
        .pac_employees()
        .await
        .into_iter()
        .map(|p| (p.id.0, p))
        .collect();
    let (pac_id, pers_no) = rig
        .astrow_employees()
        .await
        .iter()
        .filter(|a| a.active)
        .find_map(|a| {
            let id = parse_pac_ref(a.external_ref.as_deref())?;
            let p = pac.get(&id.0)?;
            (p.external_ref.as_deref() == Some(format!("astrow:{}", a.pers_no.0).as_str()))
                .then_some((id, a.pers_no))
        })
        .expect("a linked pair");
    let mut a = rig.astrow.get_employee(pers_no).await.unwrap().unwrap();
    a.last_name = "Notified".into();
    rig.astrow.update_employee(&a).await.unwrap();
    let started = std::time::Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let p = rig.pac.get_employee(pac_id).await.unwrap().unwrap();
        if p.last_name == "Notified" {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            let s = snapshot(&handle);
            panic!(
                "the Astrow edit did not reach PAC {pac_id} in 20 s; apply {:?}; jobs {:?}; plan {:#?}",
                s.apply, s.jobs, s.plan
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("Astrow edit reached PAC in {:?}", started.elapsed());
    stop(handle, engine).await;
}

fn bin() -> Process {
    Process::new(env!("CARGO_BIN_EXE_astrow-pac"))
}

fn write_config(rig: &Rig) -> PathBuf {
    let path = rig.dir.path().join("astrow-pac.toml");
    config::save(&path, &rig.settings).unwrap();
    path
}

async fn run_cli(args: &[&str], config: &std::path::Path) -> std::process::Output {
    let mut cmd = bin();
    cmd.args(args).arg("--config").arg(config);
    cmd.env_remove("NO_COLOR");
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_plan_exits_2_apply_writes_then_plan_exits_0() {
    let rig = rig(50).await;
    let config = write_config(&rig);
    let out = run_cli(&["plan"], &config).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("create"), "{text}");

    let out = run_cli(&["plan", "--json"], &config).await;
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).expect("plan --json is JSON");
    assert!(v["plan_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(v["master"], "pac");
    assert!(v["held"].is_null());
    let items = v["items"].as_array().unwrap();
    assert!(!items.is_empty());
    let actions = [
        "create",
        "update",
        "delete",
        "remove_badges",
        "link",
        "conflict",
    ];
    for i in items {
        for key in [
            "id",
            "action",
            "target",
            "master_id",
            "slave_id",
            "changes",
            "reason",
        ] {
            assert!(i.get(key).is_some(), "item without {key}: {i}");
        }
        assert!(actions.contains(&i["action"].as_str().unwrap()), "{i}");
        assert!(
            matches!(i["target"].as_str(), Some("pac" | "astrow")),
            "{i}"
        );
        for c in i["changes"].as_array().unwrap() {
            assert!(
                c["field"].is_string() && c.get("before").is_some() && c.get("after").is_some()
            );
        }
    }
    let creates = items.iter().filter(|i| i["action"] == "create").count();

    let before = rig.astrow_employees().await.len();
    let out = run_cli(&["apply", "--yes"], &config).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(rig.astrow_employees().await.len(), before + creates);

    let out = run_cli(&["plan"], &config).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run_cli(&["plan", "--json"], &config).await;
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["action"] == "conflict")
    );
}

/// Killed after its last result committed and before the plan was marked
/// finished (a window of a few milliseconds at the end of every apply): the
/// plan still says "being applied" with nothing left to do. `apply --plan`
/// finishes it, instead of answering "nothing left" and leaving it so, with
/// every later `apply` refused as "interrupted, finish it first".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_apply_finishes_a_plan_killed_after_its_last_result() {
    let rig = rig(30).await;
    let config = write_config(&rig);
    let out = run_cli(&["plan", "--json"], &config).await;
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let plan_id = v["plan_id"].as_str().unwrap().to_string();
    let out = run_cli(&["apply", "--yes", "--plan", &plan_id], &config).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let store = rig.store();
    let state = async |store: &StoreHandle| {
        let pid = plan_id.clone();
        store
            .call("load", move |s| s.load_plan(&pid))
            .await
            .unwrap()
            .state
    };
    assert_eq!(state(&store).await, PlanState::Applied);
    // Every item done; the kill came before the plan's own mark.
    let pid = plan_id.clone();
    store
        .call("as killed", move |s| {
            s.set_plan_state(&pid, PlanState::Approved)
        })
        .await
        .unwrap();
    drop(store);

    let out = run_cli(&["apply", "--yes", "--plan", &plan_id], &config).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        state(&rig.store()).await,
        PlanState::Applied,
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run_cli(&["apply", "--yes"], &config).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "no apply left interrupted: {out:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_cut_short_is_resumed_when_the_engine_starts() {
    let rig = rig(60).await;
    let plan_id = {
        let store = rig.store();
        let plan = rig.plan(&store).await;
        let id = rig.save_and_approve(&store, &plan).await;
        // The apply began (the plan is marked as applying) and the process died.
        let pid = id.clone();
        store
            .call("mark applying", move |s| {
                s.set_plan_state(&pid, astrow_pac::store::PlanState::Approved)
            })
            .await
            .unwrap();
        id
    };
    // Manual mode: only the resume can apply anything.
    let (handle, engine) = start(rig.engine_options(rig.settings.clone()))
        .await
        .unwrap();
    let done = wait_for("the resumed apply", Duration::from_secs(30), async || {
        snapshot(&handle)
            .apply
            .clone()
            .filter(|a| a.plan_id == plan_id && !a.running && a.finished.is_some())
    })
    .await;
    stop(handle, engine).await;
    assert!(done.applied > 0, "{done:?}");
    assert_eq!(done.failed, 0, "{done:?}");
    let store = rig.store();
    let pid = plan_id.clone();
    let stored = store
        .call("load", move |s| s.load_plan(&pid))
        .await
        .unwrap();
    assert_eq!(stored.state, astrow_pac::store::PlanState::Applied);
    assert!(
        rig.plan(&store).await.is_empty(),
        "in step after the resume"
    );
}

/// Two Astrow employees name the same PAC employee in `external_ref` (a
/// lost store, a copy made by hand): the plan holds a conflict, and until
/// it is resolved that PAC employee's swipes are booked with PAC's own
/// badge number, never to either claimant, and the Bookings feed says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pairing_conflict_books_no_swipe_to_either_claimant() {
    let rig = rig(12).await;
    let pac = rig.pac_employees().await;
    let p = pac
        .iter()
        .find(|p| p.external_ref.is_none() && p.badges.iter().any(|b| b.active))
        .expect("a seeded PAC employee with a badge")
        .clone();
    let template = rig.astrow_employees().await[0].clone();
    let mut claimants = Vec::new();
    for n in 1..=2u64 {
        let mut a = template.clone();
        a.employee_no = format!("CLAIM-{n}");
        a.badge_no = Some(format!("99000{n}"));
        a.external_ref = Some(format!("pac:{}", p.id.0));
        let made = rig
            .astrow
            .create_employee(&a, &format!("claimant-{n}"))
            .await
            .unwrap();
        claimants.push(made);
    }
    let claimant_pers: HashSet<u64> = claimants.iter().map(|a| a.pers_no.0).collect();
    let claimant_badges: HashSet<String> = claimants
        .iter()
        .filter_map(|a| a.badge_no.clone())
        .collect();
    let raw_badges: HashSet<String> = p.badges.iter().map(|b| b.number.clone()).collect();

    let (handle, engine) = start(rig.engine_options(rig.settings.clone()))
        .await
        .unwrap();
    let plan = wait_for("the first plan", Duration::from_secs(30), async || {
        snapshot(&handle).plan.clone()
    })
    .await;
    assert!(
        plan.items.iter().any(
            |i| i.action == astrow_pac::engine::snapshot::ActionKind::Conflict
                && i.master_id == Some(p.id.0)
        ),
        "the plan holds the conflict: {plan:#?}"
    );
    // The disputed employee's granted swipes, as Astrow booked them.
    let booked = wait_for(
        "a swipe of the disputed employee booked",
        Duration::from_secs(60),
        async || {
            rig.pac_control("/_sim/swipes", json!({"count": 20})).await;
            let theirs: HashSet<String> = rig
                .pac
                .events(Seq(0), 1000, Duration::ZERO)
                .await
                .unwrap()
                .events
                .iter()
                .filter(|e| e.employee_id == Some(p.id) && e.event_type == EventType::AccessGranted)
                .map(|e| booking_source_id(rig.settings.pac.organization_id, e.seq))
                .collect();
            let booked: Vec<_> = rig
                .astrow
                .list_bookings(None)
                .await
                .unwrap()
                .into_iter()
                .filter(|b| theirs.contains(&b.booking.source_id))
                .collect();
            (!booked.is_empty()).then_some(booked)
        },
    )
    .await;
    for b in &booked {
        assert!(
            !claimant_badges.contains(&b.booking.badge_no)
                && !b.pers_no.is_some_and(|n| claimant_pers.contains(&n.0)),
            "a swipe was booked to a claimant: {b:?}"
        );
        assert!(
            raw_badges.contains(&b.booking.badge_no),
            "booked with PAC's badge number: {b:?}"
        );
    }
    let why = wait_for("the feed says why", Duration::from_secs(10), async || {
        snapshot(&handle)
            .bookings
            .feed
            .iter()
            .find_map(|e| e.pairing_note.clone())
    })
    .await;
    assert!(why.contains("pairing conflict"), "{why}");
    stop(handle, engine).await;
}

/// The store is free the moment the engine says it stopped, even when it
/// is stopped in the middle of its first jobs (a job's store call cut
/// short, a job run still being recorded): a new engine, `status` or
/// `apply --plan` can open it at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_is_free_as_soon_as_the_engine_has_stopped() {
    let rig = rig(30).await;
    for round in 0..6u64 {
        let (handle, engine) = start(rig.engine_options(rig.settings.clone()))
            .await
            .unwrap();
        for kind in [JobKind::Employees, JobKind::Definitions, JobKind::Heartbeat] {
            let _ = handle.commands.send(Command::RunNow(kind)).await;
        }
        // Stop at a different point of the first jobs each round.
        tokio::time::sleep(Duration::from_millis(15 * round)).await;
        stop(handle, engine).await;
        if let Err(e) = Store::open(&rig.dir.path().join("store")) {
            panic!("round {round}: the store is still held after the engine stopped: {e}");
        }
    }
}

/// Issue 13: after the definitions sync mirrored PAC's groups and readers,
/// its view said the next sync would add them all again ("+8 added"): what
/// the run had written, not what was left. Nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_definitions_sync_mirrored_everything_nothing_is_left_for_the_next() {
    let rig = rig(10).await;
    let mut settings = rig.settings.clone();
    settings.sync.apply = ApplyMode::Manual;
    let (handle, engine) = start(rig.engine_options(settings)).await.unwrap();
    let snap = wait_for("a definitions run", Duration::from_secs(30), async || {
        let s = snapshot(&handle);
        s.jobs
            .iter()
            .find(|j| j.kind == JobKind::Definitions)
            .and_then(|j| j.last_run.clone())
            .map(|run| (s.clone(), run))
    })
    .await;
    let (s, run) = snap;
    assert!(run.ok, "{run:?}");
    assert!(
        run.summary.contains("mirrored into Astrow") && run.summary.contains("added"),
        "the first run wrote the mirror: {run:?}"
    );
    let d = &s.definitions;
    assert!(!d.pac_groups.is_empty() && !d.pac_readers.is_empty());
    assert_eq!(d.astrow_groups.len(), d.pac_groups.len());
    assert!(
        d.pending.is_empty(),
        "left for the next sync: {:?}",
        d.pending
    );
    stop(handle, engine).await;
    // The write is in the audit log, with what it added.
    let dir = astrow_pac::engine::runtime::store_dir(&rig.settings);
    let mut store = Store::open(&dir).unwrap();
    let filter = astrow_pac::store::audit_page::AuditFilter {
        text: Some("mirror".into()),
        ..Default::default()
    };
    let rows = astrow_pac::store::audit_page::page(
        store.connection(),
        &filter,
        astrow_pac::store::audit_page::FIRST_PAGE,
        10,
    )
    .unwrap();
    let records: Vec<&str> = rows.iter().map(|e| e.record.record.as_str()).collect();
    assert!(
        records.contains(&"access group mirror") && records.contains(&"reader mirror"),
        "{records:?}"
    );
    let groups = rows
        .iter()
        .find(|e| e.record.record == "access group mirror")
        .unwrap();
    assert_eq!(groups.os_user, "engine (auto)");
    assert_eq!(
        groups.record.result,
        format!("ok: +{} added, ~0 changed, -0 removed", d.pac_groups.len())
    );
}

/// A plan as an earlier version stored it: each item's body as JSON.
async fn save_as_json_and_approve(store: &StoreHandle, plan: &Plan) -> String {
    let mut old = new_plan(plan);
    for (stored, item) in old.items.iter_mut().zip(&plan.items) {
        stored.body = serde_json::to_vec(item).unwrap();
    }
    let id = store
        .call("save", move |s| s.save_plan(&old))
        .await
        .unwrap()
        .plan_id;
    let ids: Vec<String> = plan.actionable().map(|i| i.id.clone()).collect();
    let pid = id.clone();
    store
        .call("approve", move |s| {
            s.set_item_states(&pid, Selection::Items(&ids), PlanState::Approved)
        })
        .await
        .unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_plan_stored_as_json_by_an_earlier_version_is_applied_after_an_upgrade() {
    let rig = rig(25).await;
    let store = rig.store();
    let plan = rig.plan(&store).await;
    assert!(count(&plan, Action::Create) > 0, "{plan:#?}");
    let id = save_as_json_and_approve(&store, &plan).await;
    let p = rig.apply(&store, &id).await;
    let actionable = plan.actionable().count();
    assert_eq!((p.applied, p.stale, p.failed), (actionable, 0, 0), "{p:?}");
    let twins = rig.twins().await;
    let pac = rig.pac_employees().await;
    assert_eq!(twins.len(), pac.len());
    for p in &pac {
        assert_in_step(p, &twins[&p.id.0]);
    }
    assert!(rig.plan(&store).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_plan_planned_again_in_the_compact_format_keeps_its_approvals() {
    let rig = rig(20).await;
    let store = rig.store();
    let plan = rig.plan(&store).await;
    let id = save_as_json_and_approve(&store, &plan).await;
    // The upgraded engine plans the same work and stores it compactly.
    let again = rig.plan(&store).await;
    assert_eq!(again.plan_id, plan.plan_id);
    let new = new_plan(&again);
    let outcome = store
        .call("save", move |s| s.save_plan(&new))
        .await
        .unwrap()
        .outcome;
    assert_eq!(outcome, astrow_pac::store::SaveOutcome::Kept);
    let pid = id.clone();
    let stored = store
        .call("load", move |s| s.load_plan(&pid))
        .await
        .unwrap();
    for item in &stored.items {
        let body = astrow_pac::engine::plan::decode_item(&item.body).unwrap();
        assert_ne!(item.body.first(), Some(&b'{'), "{}", item.item_id);
        let want = if body.action == Action::Conflict {
            PlanState::Pending
        } else {
            PlanState::Approved
        };
        assert_eq!(item.state, want, "{}", item.item_id);
    }
    let p = rig.apply(&store, &id).await;
    assert_eq!(p.failed, 0, "{p:?}");
    assert!(rig.plan(&store).await.is_empty());
}

/// New work after an upgrade (other records edited since): the items of the
/// old JSON plan that are the same change keep their approval, compared in
/// today's encoding, and only the changed ones go back to pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_work_after_an_upgrade_keeps_the_approvals_of_unchanged_items() {
    let rig = rig(20).await;
    let store = rig.store();
    let plan = rig.plan(&store).await;
    save_as_json_and_approve(&store, &plan).await;
    rig.pac_control("/_sim/edit", json!({"count": 3})).await;
    let again = rig.plan(&store).await;
    assert_ne!(again.plan_id, plan.plan_id, "the edits make new work");
    let new = new_plan(&again);
    let saved = store
        .call("save", move |s| s.save_plan(&new))
        .await
        .unwrap();
    assert_eq!(saved.outcome, astrow_pac::store::SaveOutcome::New);
    let stored = store
        .call("load", move |s| s.load_plan(&saved.plan_id))
        .await
        .unwrap();
    let before: BTreeMap<&str, &astrow_pac::engine::plan::PlanItem> =
        plan.items.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut kept = 0;
    for item in &stored.items {
        let body = astrow_pac::engine::plan::decode_item(&item.body).unwrap();
        let same = before.get(item.item_id.as_str()) == Some(&&body);
        let want = if same && body.action != Action::Conflict {
            kept += 1;
            PlanState::Approved
        } else {
            PlanState::Pending
        };
        assert_eq!(item.state, want, "{}", item.item_id);
    }
    assert!(kept > 0, "some items are the same change: {stored:#?}");
}

/// Items of `plan_id` with a result recorded (applied, stale or failed).
async fn recorded(store: &StoreHandle, plan_id: &str) -> Vec<astrow_pac::store::StoredItem> {
    let id = plan_id.to_string();
    let plan = store.call("load", move |s| s.load_plan(&id)).await.unwrap();
    plan.items
        .into_iter()
        .filter(|i| {
            matches!(
                i.state,
                PlanState::Applied | PlanState::Stale | PlanState::Failed
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_apply_commits_each_result_within_its_wait_and_counts_only_committed_ones() {
    let rig = rig(30).await;
    let store = rig.store();
    let plan = rig.plan(&store).await;
    let plan_id = rig.save_and_approve(&store, &plan).await;
    // Each Astrow request takes 150 ms (an item makes two or more): one item finishes long after the
    // one before (concurrency 1), never within the 100 ms result wait.
    let (_, _, faults) = rig.site.astrow.as_ref().unwrap();
    faults
        .update(astrow_pac::sim::faults::FaultUpdate {
            latency_ms: Some(150),
            ..Default::default()
        })
        .unwrap();
    let ctx = ApplyCtx {
        pac: rig.pac.clone(),
        astrow: rig.astrow.clone(),
        store: store.clone(),
        concurrency: 1,
        actor: "e2e".into(),
    };
    // Every count published is checked against the store at once: it may
    // not run ahead of the results committed.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let (checker_store, checker_plan) = (store.clone(), plan_id.clone());
    let checker = tokio::spawn(async move {
        let mut ahead = Vec::new();
        while let Some(counted) = rx.recv().await {
            let committed = recorded(&checker_store, &checker_plan).await.len();
            if committed < counted {
                ahead.push((counted, committed));
            }
        }
        ahead
    });
    let publish = move |p: ApplyProgress| {
        let _ = tx.send(p.applied + p.stale + p.failed);
    };
    let p = apply_plan(&ctx, &plan_id, &publish, &CancellationToken::new())
        .await
        .unwrap();
    drop(publish);
    assert_eq!(p.failed, 0, "{p:?}");
    assert_eq!(p.applied + p.stale, p.total, "{p:?}");
    let ahead = checker.await.unwrap();
    assert!(
        ahead.is_empty(),
        "counts published before their commit (counted, committed): {ahead:?}"
    );
    // Each slow write was committed alone, by RESULT_WAIT after it
    // finished, not held until the next result arrived (then both commit in
    // one transaction, under a millisecond apart).
    let mut writes: Vec<_> = recorded(&store, &plan_id)
        .await
        .into_iter()
        .filter(|i| i.target == astrow_pac::model::System::Astrow)
        .filter(|i| matches!(i.action.as_str(), "create" | "update"))
        .filter_map(|i| i.done_at)
        .collect();
    writes.sort();
    assert!(writes.len() >= 2, "the seeded site has writes: {writes:?}");
    for pair in writes.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= chrono::Duration::milliseconds(20),
            "two slow writes committed together ({gap}): {writes:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_update_whose_record_changed_meanwhile_is_audited_as_a_possible_write() {
    let rig = rig(30).await;
    let store = rig.store();
    rig.sync(&store).await;
    let twins = rig.twins().await;
    let chosen: Vec<(u64, AstrowEmployee)> =
        twins.iter().take(2).map(|(k, v)| (*k, v.clone())).collect();
    for (id, _) in &chosen {
        let mut e = rig.pac.get_employee(PacId(*id)).await.unwrap().unwrap();
        e.last_name = format!("{}-Renamed", e.last_name);
        rig.pac.update_employee(&e).await.unwrap();
    }
    let plan = rig.plan(&store).await;
    assert_eq!(count(&plan, Action::Update), 2, "{plan:#?}");
    let id = rig.save_and_approve(&store, &plan).await;
    // An apply was killed with both begun (started, no result); then
    // someone edited one target before the resume.
    let ids: Vec<String> = plan.actionable().map(|i| i.id.clone()).collect();
    let pid = id.clone();
    store
        .call("mark started", move |s| s.mark_items_started(&pid, &ids))
        .await
        .unwrap();
    let (_, victim) = &chosen[1];
    let mut e = rig
        .astrow
        .get_employee(victim.pers_no)
        .await
        .unwrap()
        .unwrap();
    e.middle_name = "Meanwhile".into();
    rig.astrow.update_employee(&e).await.unwrap();

    let p = rig.apply(&store, &id).await;
    assert_eq!((p.applied, p.stale, p.failed), (1, 1, 0), "{p:?}");
    let log = store.call("audit log", |s| s.audit_log(100)).await.unwrap();
    let possible: Vec<_> = log
        .iter()
        .filter(|a| {
            a.record
                .result
                .contains("an interrupted apply may have written this")
        })
        .collect();
    assert_eq!(possible.len(), 1, "{log:#?}");
    let a = &possible[0].record;
    assert_eq!(a.record, format!("employee {}", victim.pers_no.0));
    assert!(a.result.starts_with("stale"), "{a:?}");
    assert!(
        a.before.as_deref().is_some_and(|b| b.contains("Meanwhile")),
        "before: the record as read now: {a:?}"
    );
    assert!(
        a.after.as_deref().is_some_and(|b| b.contains("-Renamed")),
        "after: the desired record: {a:?}"
    );
}

/// Review 5b, finding 1: a resumed apply stopped by a settings change
/// before it re-checks an item the killed apply had begun. The killed run
/// wrote the item (its result and audit entry were lost with it); the
/// resume is stopped before reaching it (the void stops "between items");
/// `void_stopped_apply(.., true)` un-marks it as "not begun" and marks the
/// plan stale, so no resume ever re-checks it: the write stays unaudited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review5b_a_voided_resume_leaves_the_killed_runs_write_unaudited() {
    let rig = rig(30).await;
    let store = rig.store();
    rig.sync(&store).await;
    let twins = rig.twins().await;
    let (&pac_id, _) = twins.iter().next().unwrap();
    let mut e = rig.pac.get_employee(PacId(pac_id)).await.unwrap().unwrap();
    e.last_name = format!("{}-Renamed", e.last_name);
    rig.pac.update_employee(&e).await.unwrap();
    let plan = rig.plan(&store).await;
    assert_eq!(count(&plan, Action::Update), 1, "{plan:#?}");
    let plan_id = rig.save_and_approve(&store, &plan).await;
    let item = plan
        .items
        .iter()
        .find(|i| i.action == Action::Update)
        .unwrap()
        .clone();
    // The first apply: plan applying, item marked started, its write made,
    // then killed before the batch with its result and audit committed.
    let (pid, ids) = (plan_id.clone(), vec![item.id.clone()]);
    store
        .call("as killed", move |s| {
            s.set_plan_state(&pid, PlanState::Approved)?;
            s.mark_items_started(&pid, &ids)
        })
        .await
        .unwrap();
    let Some(astrow_pac::engine::plan::DesiredRecord::Astrow(want)) = item.desired.clone() else {
        panic!("an Astrow update: {item:?}")
    };
    rig.astrow.update_employee(&want).await.unwrap();

    // Restart: the plan is resumed; the master/delete setting changes
    // before the resume reaches the item. ApplyRun::run does exactly this:
    // apply_plan_items with the stopped token, then void_if_stopped with
    // recorded = result.is_ok().
    let ctx = ApplyCtx {
        pac: rig.pac.clone(),
        astrow: rig.astrow.clone(),
        store: store.clone(),
        concurrency: 4,
        actor: "e2e".into(),
    };
    let stopped = CancellationToken::new();
    stopped.cancel();
    let result = apply_plan(&ctx, &plan_id, &|_| {}, &stopped).await;
    let pid = plan_id.clone();
    let recorded = result.is_ok();
    let voided = store
        .call("void", move |s| {
            s.void_stopped_apply(&pid, "the master or the delete setting changed", recorded)
        })
        .await
        .unwrap();
    assert!(voided);

    let now = rig
        .astrow
        .get_employee(want.pers_no)
        .await
        .unwrap()
        .unwrap();
    assert!(now.last_name.ends_with("-Renamed"), "the write was made");
    let log = store.call("audit", |s| s.audit_log(10_000)).await.unwrap();
    let audited = log.iter().any(|a| {
        a.record.record == format!("employee {}", want.pers_no.0)
            && a.record
                .after
                .as_deref()
                .is_some_and(|x| x.contains("-Renamed"))
    });
    let pid = plan_id.clone();
    let stored = store
        .call("load", move |s| s.load_plan(&pid))
        .await
        .unwrap();
    assert!(
        audited,
        "the write to Astrow {} has no audit entry, and nothing will ever make one: plan {:?}, item started_at {:?}",
        want.pers_no.0,
        stored.state,
        stored
            .items
            .iter()
            .find(|i| i.item_id == item.id)
            .map(|i| i.started_at)
    );
}

/// Review 5b, finding 2: the master changes while the engine is down
/// (stopped mid-apply, or killed in the window between a reload's stop and
/// the void's commit): the plan made under the old master is resumed at
/// start and written under the new one. Here PAC was master and a PAC
/// rename was planned into Astrow; Astrow is master now, yet the resume
/// writes PAC's name over the master's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review5b_a_plan_of_the_old_master_is_resumed_under_the_new_one() {
    let rig = rig(30).await;
    let store = rig.store();
    rig.sync(&store).await;
    let twins = rig.twins().await;
    let (&pac_id, twin) = twins.iter().next().unwrap();
    let mut e = rig.pac.get_employee(PacId(pac_id)).await.unwrap().unwrap();
    e.last_name = format!("{}-Renamed", e.last_name);
    rig.pac.update_employee(&e).await.unwrap();
    let plan = rig.plan(&store).await;
    assert_eq!(count(&plan, Action::Update), 1, "{plan:#?}");
    let plan_id = rig.save_and_approve(&store, &plan).await;
    let pid = plan_id.clone();
    store
        .call("apply began, process stopped", move |s| {
            s.set_plan_state(&pid, PlanState::Approved)
        })
        .await
        .unwrap();
    drop(store);
    let mut changed = rig.settings.clone();
    changed.sync.master = Master::Astrow;
    let (handle, engine) = start(rig.engine_options(changed)).await.unwrap();
    let done = wait_for("the resumed apply", Duration::from_secs(30), async || {
        snapshot(&handle)
            .apply
            .clone()
            .filter(|a| a.plan_id == plan_id && !a.running && a.finished.is_some())
    })
    .await;
    stop(handle, engine).await;
    let now = rig
        .astrow
        .get_employee(twin.pers_no)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !now.last_name.ends_with("-Renamed"),
        "Astrow (the master now) was overwritten by the old master's plan: {done:?}"
    );
}

/// A plan stored with the settings it was made under, interrupted, and a
/// setting other than the master changed while the service was down
/// (`sync.match_key`): the resume voids it (stale, naming the setting)
/// instead of applying it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_plan_made_under_another_match_key_is_void_at_the_resume() {
    let rig = rig(30).await;
    let store = rig.store();
    rig.sync(&store).await;
    let twins = rig.twins().await;
    let (&pac_id, twin) = twins.iter().next().unwrap();
    let mut e = rig.pac.get_employee(PacId(pac_id)).await.unwrap().unwrap();
    e.last_name = format!("{}-Renamed", e.last_name);
    rig.pac.update_employee(&e).await.unwrap();
    let plan = rig.plan(&store).await;
    assert_eq!(count(&plan, Action::Update), 1, "{plan:#?}");
    let new = new_plan_under(&plan, &rig.settings);
    let plan_id = store
        .call("save", move |s| s.save_plan(&new))
        .await
        .unwrap()
        .plan_id;
    let (pid, ids): (String, Vec<String>) = (
        plan_id.clone(),
        plan.actionable().map(|i| i.id.clone()).collect(),
    );
    store
        .call("approved, apply began, process stopped", move |s| {
            s.set_item_states(&pid, Selection::Items(&ids), PlanState::Approved)?;
            s.set_plan_state(&pid, PlanState::Approved)
        })
        .await
        .unwrap();
    drop(store);
    let mut changed = rig.settings.clone();
    changed.sync.match_key = config::MatchKey::BadgeNumber;
    let (handle, engine) = start(rig.engine_options(changed)).await.unwrap();
    let done = wait_for("the resumed apply", Duration::from_secs(30), async || {
        snapshot(&handle)
            .apply
            .clone()
            .filter(|a| a.plan_id == plan_id && !a.running && a.finished.is_some())
    })
    .await;
    stop(handle, engine).await;
    let now = rig
        .astrow
        .get_employee(twin.pers_no)
        .await
        .unwrap()
        .unwrap();
    assert!(!now.last_name.ends_with("-Renamed"), "applied: {now:?}");
    assert_eq!(done.applied, 0, "{done:?}");
    let store = rig.store();
    let pid = plan_id.clone();
    let stored = store
        .call("load", move |s| s.load_plan(&pid))
        .await
        .unwrap();
    // Void (stale, naming the setting), or already planned again under the
    // new settings with the same work (a plan's id names its work).
    let made_under = stored
        .settings
        .as_deref()
        .and_then(PlanMeaning::from_text)
        .map(|m| m.match_key);
    assert!(
        (stored.state == PlanState::Stale
            && stored
                .note
                .as_deref()
                .is_some_and(|n| n.contains("sync.match_key")))
            || (stored.state == PlanState::Pending
                && made_under == Some(config::MatchKey::BadgeNumber)),
        "{:?} {:?} {made_under:?}",
        stored.state,
        stored.note
    );
}

/// Two interrupted plans at start: the newest is resumed and the older
/// retired (stale), but only once what its killed apply began is checked:
/// the write that apply made (its audit entry lost with it) is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_interrupted_plan_is_retired_with_its_begun_write_audited() {
    let rig = rig(30).await;
    let store = rig.store();
    rig.sync(&store).await;
    let twins = rig.twins().await;
    let mut pacs = twins.keys().copied();
    let (first, second) = (pacs.next().unwrap(), pacs.next().unwrap());
    let rename = async |id: u64| {
        let mut e = rig.pac.get_employee(PacId(id)).await.unwrap().unwrap();
        e.last_name = format!("{}-Renamed", e.last_name);
        rig.pac.update_employee(&e).await.unwrap();
    };
    // The older plan: its item marked started and written, then killed.
    rename(first).await;
    let older = rig.plan(&store).await;
    assert_eq!(count(&older, Action::Update), 1, "{older:#?}");
    let older_id = rig.save_and_approve(&store, &older).await;
    let item = older
        .items
        .iter()
        .find(|i| i.action == Action::Update)
        .unwrap();
    let (pid, ids) = (older_id.clone(), vec![item.id.clone()]);
    store
        .call("as killed", move |s| {
            s.set_plan_state(&pid, PlanState::Approved)?;
            s.mark_items_started(&pid, &ids)
        })
        .await
        .unwrap();
    let Some(astrow_pac::engine::plan::DesiredRecord::Astrow(want)) = item.desired.clone() else {
        panic!("an Astrow update: {item:?}")
    };
    rig.astrow.update_employee(&want).await.unwrap();
    // The newer plan, interrupted before it wrote anything.
    rename(second).await;
    let newer = rig.plan(&store).await;
    let newer_id = rig.save_and_approve(&store, &newer).await;
    assert_ne!(newer_id, older_id);
    let pid = newer_id.clone();
    store
        .call("apply began", move |s| {
            s.set_plan_state(&pid, PlanState::Approved)
        })
        .await
        .unwrap();
    drop(store);

    let (handle, engine) = start(rig.engine_options(rig.settings.clone()))
        .await
        .unwrap();
    wait_for("the resumed apply", Duration::from_secs(30), async || {
        snapshot(&handle)
            .apply
            .clone()
            .filter(|a| a.plan_id == newer_id && !a.running && a.finished.is_some())
    })
    .await;
    stop(handle, engine).await;
    let store = rig.store();
    let pid = older_id.clone();
    let retired = store
        .call("load", move |s| s.load_plan(&pid))
        .await
        .unwrap();
    assert_eq!(retired.state, PlanState::Stale, "{:?}", retired.note);
    assert!(
        retired
            .items
            .iter()
            .all(|i| i.started_at.is_none() || i.done_at.is_some()),
        "left marked started"
    );
    let log = store.call("audit", |s| s.audit_log(10_000)).await.unwrap();
    assert!(
        log.iter().any(|a| {
            a.record.record == format!("employee {}", want.pers_no.0)
                && a.record
                    .after
                    .as_deref()
                    .is_some_and(|x| x.contains("-Renamed"))
        }),
        "the older plan's write to Astrow {} is not audited",
        want.pers_no.0
    );
}
