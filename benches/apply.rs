//! First-sync apply against its ceiling, both simulators on loopback.
//!
//! `cargo bench --bench apply` (`APPLY_EMPLOYEES`, default 10000; `APPLY_RUNS`,
//! default 3; `APPLY_CONCURRENCY`, default 4; `APPLY_ENGINE=0`: the direct
//! writes only) starts, per run, two identical sites (same seed) and
//! computes the first-sync plan on each (before any clock starts). Then, in
//! turn:
//! - the engine applies the first plan (`apply_plan`, every actionable item
//!   approved, the concurrency the engine uses): items per second;
//! - the ceiling: the same writes made directly on the second site by the
//!   connectors alone, the same number at a time, group by group in the
//!   plan's order: a create, the master's `external_ref` written back, an
//!   update with the version from the listing, a delete; no re-read, no
//!   store. Items per second (a link with nothing to write costs it nothing).
//!
//! Printed: both rates per run, medians, the ratio (goal >= 0.8x).

use std::collections::HashMap;
use std::time::Instant;

use astrow_pac::astrow::AstrowClient;
use astrow_pac::cli::sim::settings_for;
use astrow_pac::config::Settings;
use astrow_pac::engine::apply::{ApplyCtx, apply_plan, idempotency_key};
use astrow_pac::engine::connect::{astrow_client, pac_client};
use astrow_pac::engine::jobs::employees::{compute_plan, new_plan};
use astrow_pac::engine::plan::{Action, DesiredRecord, Plan, PlanItem};
use astrow_pac::engine::store_handle::StoreHandle;
use astrow_pac::model::{AstrowEmployee, PacEmployee, PacId, PersNo, System, astrow_ref, pac_ref};
use astrow_pac::pac::PacClient;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::{PlanState, Selection, Store};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

/// The engine's apply concurrency (engine/runtime/apply_task.rs);
/// `APPLY_CONCURRENCY` tries another (both sides use it).
fn concurrency() -> usize {
    env_usize("APPLY_CONCURRENCY", 4).max(1)
}

struct Rig {
    _site: RunningSite,
    settings: Settings,
    pac: PacClient,
    astrow: AstrowClient,
    dir: tempfile::TempDir,
}

async fn rig(employees: usize) -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = SiteOptions::new(dir.path().join("sim"));
    opts.employees = employees;
    opts.seed = 11;
    let site = RunningSite::start(Which::Both, &opts)
        .await
        .expect("simulators");
    let settings = settings_for(&site, dir.path());
    let pac = pac_client(&settings).expect("pac client");
    let astrow = astrow_client(&settings).expect("astrow client");
    Rig {
        _site: site,
        settings,
        pac,
        astrow,
        dir,
    }
}

struct Planned {
    plan: Plan,
    pac: HashMap<u64, PacEmployee>,
    astrow: HashMap<u64, AstrowEmployee>,
}

async fn plan(rig: &Rig, store: &StoreHandle) -> Planned {
    let (plan, pac, astrow, _) = compute_plan(&rig.pac, &rig.astrow, store, &rig.settings)
        .await
        .expect("plan");
    Planned {
        plan,
        pac: pac.into_iter().map(|e| (e.id.0, e)).collect(),
        astrow: astrow.into_iter().map(|e| (e.pers_no.0, e)).collect(),
    }
}

/// The engine: the plan saved and approved (before the clock), applied.
/// Items per second.
async fn engine_apply(rig: &Rig, store: &StoreHandle, plan: &Plan) -> f64 {
    let new = new_plan(plan);
    let id = store
        .call("save", move |s| s.save_plan(&new))
        .await
        .expect("save")
        .plan_id;
    let ids: Vec<String> = plan.actionable().map(|i| i.id.clone()).collect();
    let pid = id.clone();
    store
        .call("approve", move |s| {
            s.set_item_states(&pid, Selection::Items(&ids), PlanState::Approved)
        })
        .await
        .expect("approve");
    let ctx = ApplyCtx {
        pac: rig.pac.clone(),
        astrow: rig.astrow.clone(),
        store: store.clone(),
        concurrency: concurrency(),
        actor: "bench".into(),
    };
    let start = Instant::now();
    let done = apply_plan(&ctx, &id, &|_| {}, &CancellationToken::new())
        .await
        .expect("apply");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(done.failed, 0, "the engine's apply failed items");
    assert_eq!(done.stale, 0, "the engine's apply found stale items");
    done.applied as f64 / secs
}

/// One item's writes, made directly.
async fn direct_item(rig: &Rig, planned: &Planned, item: &PlanItem) {
    let pac_of = |id: u64| planned.pac.get(&id).cloned().expect("listed in PAC");
    let astrow_of = |id: u64| planned.astrow.get(&id).cloned().expect("listed in Astrow");
    match (item.action, &item.desired) {
        (Action::Create, Some(DesiredRecord::Astrow(e))) => {
            let key = idempotency_key("direct", &item.id);
            let made = rig.astrow.create_employee(e, &key).await.expect("create");
            if let Some(m) = item.master_id {
                let mut master = pac_of(m);
                master.external_ref = Some(astrow_ref(made.pers_no));
                rig.pac.update_employee(&master).await.expect("master ref");
            }
        }
        (Action::Create, Some(DesiredRecord::Pac(e))) => {
            let key = idempotency_key("direct", &item.id);
            let made = rig.pac.create_employee(e, &key).await.expect("create");
            if let Some(m) = item.master_id {
                let mut master = astrow_of(m);
                master.external_ref = Some(pac_ref(made.id));
                rig.astrow
                    .update_employee(&master)
                    .await
                    .expect("master ref");
            }
        }
        (Action::Link, _) if item.changes.is_empty() => {}
        (_, Some(DesiredRecord::Astrow(e))) => {
            let mut e = e.clone();
            e.version = astrow_of(e.pers_no.0).version;
            rig.astrow.update_employee(&e).await.expect("update");
        }
        (_, Some(DesiredRecord::Pac(e))) => {
            let mut e = e.clone();
            e.version = pac_of(e.id.0).version;
            rig.pac.update_employee(&e).await.expect("update");
        }
        (Action::Delete, None) => {
            let id = item.slave_id.expect("a delete names its record");
            match item.target {
                System::Pac => rig
                    .pac
                    .delete_employee(PacId(id), pac_of(id).version)
                    .await
                    .expect("delete"),
                System::Astrow => rig
                    .astrow
                    .delete_employee(PersNo(id), astrow_of(id).version)
                    .await
                    .expect("delete"),
            }
        }
        _ => {}
    }
}

/// The ceiling: the plan's writes made directly, group by group (one
/// action of one wave), [`concurrency`] at a time. Items per second.
async fn direct_apply(rig: &Rig, planned: &Planned) -> f64 {
    let items: Vec<&PlanItem> = planned.plan.actionable().collect();
    let start = Instant::now();
    let mut at = 0;
    while at < items.len() {
        let group = (items[at].wave, items[at].action);
        let end = items[at..]
            .iter()
            .position(|i| (i.wave, i.action) != group)
            .map_or(items.len(), |n| at + n);
        futures::stream::iter(&items[at..end])
            .map(|item| direct_item(rig, planned, item))
            .buffer_unordered(concurrency())
            .collect::<Vec<()>>()
            .await;
        at = end;
    }
    items.len() as f64 / start.elapsed().as_secs_f64()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let employees = env_usize("APPLY_EMPLOYEES", 10_000);
    let runs = env_usize("APPLY_RUNS", 3).max(1);
    // APPLY_ENGINE=0: the direct writes alone (the simulators' own cost at
    // a size where the engine's apply would take minutes).
    let engine_too = env_usize("APPLY_ENGINE", 1) != 0;
    let (mut engine, mut direct) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let (a, b) = (rig(employees).await, rig(employees).await);
        let store_a = StoreHandle::new(Store::open(&a.dir.path().join("store")).expect("store"));
        let store_b = StoreHandle::new(Store::open(&b.dir.path().join("store")).expect("store"));
        let planned_a = plan(&a, &store_a).await;
        let planned_b = plan(&b, &store_b).await;
        let n = planned_a.plan.actionable().count();
        let mut by_action: HashMap<&str, usize> = HashMap::new();
        for i in planned_a.plan.actionable() {
            *by_action.entry(i.action.as_str()).or_default() += 1;
        }
        if !engine_too {
            let d = direct_apply(&b, &planned_b).await;
            println!(
                "run {run}: {employees} employees a side, {n} items {by_action:?}: direct {d:.0} items/s"
            );
            direct.push(d);
            continue;
        }
        // Alternate which goes first: neither always gets the cooler machine.
        let (e, d) = if run % 2 == 0 {
            let e = engine_apply(&a, &store_a, &planned_a.plan).await;
            (e, direct_apply(&b, &planned_b).await)
        } else {
            let d = direct_apply(&b, &planned_b).await;
            (engine_apply(&a, &store_a, &planned_a.plan).await, d)
        };
        println!(
            "run {run}: {employees} employees a side, {n} items {by_action:?}: engine {e:.0} items/s, direct {d:.0} items/s = {:.2}x",
            e / d
        );
        engine.push(e);
        direct.push(d);
    }
    if !engine_too {
        println!(
            "\nthe same writes made directly, {employees} employees a side, median of {runs} runs: {:.0} items/s",
            median(&mut direct)
        );
        return;
    }
    let (e, d) = (median(&mut engine), median(&mut direct));
    println!(
        "\nfirst-sync apply, {employees} employees a side, median of {runs} runs: engine {e:.0} items/s, \
         the same writes made directly {d:.0} items/s: {:.2}x (goal >= 0.8x)",
        e / d
    );
}
