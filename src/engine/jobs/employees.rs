//! The employee sync: list both sides, plan (pure), store the plan, publish
//! rows and the plan; the people map for the booking import.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::astrow::AstrowClient;
use crate::config::{self, Settings};
use crate::engine::people::People;
use crate::engine::plan::Fingerprint;
use crate::engine::plan::{
    EmployeePairing, Listing, MatchKey, Plan, PlanInput, PlanSettings, Printable, RecordPrint,
    Suppression, listing_prints, plan_and_pair_employees, window_guard,
};
use crate::engine::state::Internal;
use crate::engine::store_handle::StoreHandle;
use crate::engine::views::{Names, awaiting_link, employee_rows, people, plan_view};
use crate::http::tolerant::SetAside;
use crate::model::System;
use crate::pac::PacClient;
use crate::store::{NewPlan, NewPlanItem, SaveOutcome};

/// The plan settings of the settings file.
pub fn plan_settings(
    s: &Settings,
    pac_default_group: Option<u32>,
    pac_groups: Option<Vec<u32>>,
) -> PlanSettings {
    PlanSettings {
        master: master(s),
        delete_employees_on_sync: s.sync.delete_employees_on_sync,
        sync_inactive_employees: s.sync.sync_inactive_employees,
        match_key: match s.sync.match_key {
            config::MatchKey::EmployeeNumber => MatchKey::EmployeeNumber,
            config::MatchKey::BadgeNumber => MatchKey::BadgeNumber,
        },
        default_cycle_code: s.astrow.default_cycle_code.clone(),
        default_paygroup_code: s.astrow.default_paygroup_code.clone(),
        pac_default_access_group_id: pac_default_group,
        pac_access_group_ids: pac_groups,
        guard_count: s.sync.deletion_guard.count,
        guard_percent: s.sync.deletion_guard.percent,
    }
}

pub fn master(s: &Settings) -> System {
    match s.sync.master {
        config::Master::Pac => System::Pac,
        config::Master::Astrow => System::Astrow,
    }
}

/// A plan as the store keeps it.
pub fn new_plan(plan: &Plan) -> NewPlan {
    // The plan without its items (stored one by one below), made without
    // cloning them.
    let body = Plan {
        plan_id: plan.plan_id.clone(),
        master: plan.master,
        held: plan.held.clone(),
        items: Vec::new(),
        unmanaged: plan.unmanaged.clone(),
        notes: plan.notes.clone(),
        managed_slave_employees: plan.managed_slave_employees,
    };
    NewPlan {
        plan_id: plan.plan_id.clone(),
        master: plan.master,
        held_reason: plan.held.as_ref().map(|h| h.reason.clone()),
        body_json: serde_json::to_string(&body).unwrap_or_default(),
        upgrade_body: crate::engine::plan::upgrade_body,
        settings: None,
        items: plan
            .items
            .iter()
            .map(|i| NewPlanItem {
                item_id: i.id.clone(),
                action: i.action.as_str().to_string(),
                target: i.target,
                source_fingerprint: i.source_fingerprint.0,
                destructive: i.destructive,
                body: crate::engine::plan::encode_item(i),
            })
            .collect(),
    }
}

/// [`new_plan`], with the settings it was made under: applied under
/// others, it is void (`engine::plan_meaning`).
pub fn new_plan_under(plan: &Plan, settings: &Settings) -> NewPlan {
    NewPlan {
        settings: Some(crate::engine::plan_meaning::PlanMeaning::of(settings).to_text()),
        ..new_plan(plan)
    }
}

/// What one sync found.
#[derive(Debug, Clone)]
pub struct SyncResult {
    pub summary: String,
    /// The stored pending plan, when there is something to do.
    pub plan_id: Option<String>,
    pub held: bool,
    pub actionable: usize,
    /// Items auto mode would write now: pending ones and failed ones whose
    /// retry is due (and approved ones not done).
    pub to_apply: usize,
    /// Failed items whose retry is due (manual mode retries these alone).
    pub retry_due: usize,
}

#[derive(Clone)]
pub struct EmployeeJob {
    pub pac: PacClient,
    pub astrow: AstrowClient,
    pub store: StoreHandle,
    pub settings: watch::Receiver<Arc<Settings>>,
    pub report: mpsc::Sender<Internal>,
    pub people: watch::Sender<Option<Arc<People>>>,
    /// Held by an apply while it writes: a plan made meanwhile would be
    /// made from listings the apply is changing.
    pub writing: Arc<tokio::sync::Mutex<()>>,
}

/// A listing as read, with its records' prints (the planner's fast path)
/// computed on a blocking thread. A read error passes through.
async fn printed<T, E>(
    read: Result<(Vec<T>, Vec<SetAside>), E>,
) -> Result<(Vec<T>, Vec<SetAside>, Vec<RecordPrint>), String>
where
    T: Printable + Send + 'static,
    E: std::fmt::Display,
{
    let (list, aside) = read.map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(move || {
        let prints = listing_prints(&list);
        (list, aside, prints)
    })
    .await
    .map_err(|e| format!("printing the listing for the planner failed: {e}"))
}

/// Compute the plan from fresh listings (no write to either system), with
/// both listings and the pairing the plan was made from.
pub async fn compute_plan(
    pac: &PacClient,
    astrow: &AstrowClient,
    store: &StoreHandle,
    settings: &Settings,
) -> Result<
    (
        Plan,
        Vec<crate::model::PacEmployee>,
        Vec<crate::model::AstrowEmployee>,
        EmployeePairing,
    ),
    String,
> {
    // Links made against one site never drive changes on another.
    crate::engine::site::require_same_site(store, settings).await?;
    // Each listing is printed for the planner's fast path as soon as it is
    // read, on a blocking thread, while the other one may still be reading.
    let (pac_list, astrow_list, groups) = tokio::join!(
        async { printed(pac.list_employees_tolerant().await).await },
        async { printed(astrow.list_employees_tolerant(true).await).await },
        pac.access_groups()
    );
    let (mut pac_list, pac_aside, mut pac_prints) =
        pac_list.map_err(|e| format!("no plan: the PAC employee listing failed: {e}"))?;
    let (mut astrow_list, astrow_aside, mut astrow_prints) =
        astrow_list.map_err(|e| format!("no plan: the Astrow employee listing failed: {e}"))?;
    let groups = groups.map_err(|e| format!("no plan: PAC's access groups: {e}"))?;
    let default_group = groups.iter().find(|g| g.is_default).map(|g| g.id);
    let (mut links, suppressions) = store
        .call("read links and suppressions", |s| {
            Ok((s.links()?, s.suppressions()?))
        })
        .await?;
    crate::engine::set_aside::record(store, "PAC employees", &pac_aside).await?;
    crate::engine::set_aside::record(store, "Astrow employees", &astrow_aside).await?;
    // Unreadable records are never read as leavers: their pairs sit out.
    let left_out = crate::engine::set_aside::leave_out_pairs(
        &mut pac_list,
        &mut astrow_list,
        &mut links,
        &pac_aside,
        &astrow_aside,
    )?;
    if left_out > 0 {
        tracing::warn!(
            records = left_out,
            "employee records set aside as unreadable: their pairs are left out of the plan"
        );
        // Records left out: the prints follow the listings as they are now.
        pac_prints = listing_prints(&pac_list);
        astrow_prints = listing_prints(&astrow_list);
    }
    let input = PlanInput {
        pac: Listing::complete(pac_list).with_read_prints(pac_prints),
        astrow: Listing::complete(astrow_list).with_read_prints(astrow_prints),
        links,
        suppressions: suppressions
            .into_iter()
            .map(|s| Suppression {
                item_key: s.item_key,
                source_fingerprint: Fingerprint(s.source_fingerprint),
            })
            .collect(),
        today: chrono::Local::now().date_naive(),
        settings: plan_settings(
            settings,
            default_group,
            Some(groups.iter().map(|g| g.id).collect()),
        ),
    };
    let planning = std::time::Instant::now();
    let (mut plan, pairing) = plan_and_pair_employees(&input).map_err(|e| e.to_string())?;
    tracing::debug!(
        plan_ms = planning.elapsed().as_millis() as u64,
        items = plan.items.len(),
        "employee plan computed"
    );
    let window_h = settings.sync.deletion_guard.window_h;
    if plan.held.is_none() && window_h > 0 && plan.destructive_count() > 0 {
        let since = chrono::Utc::now() - chrono::Duration::hours(i64::from(window_h));
        let recent = store
            .call("count the destructive items applied lately", move |s| {
                s.applied_destructive_since(since)
            })
            .await?;
        plan.held = window_guard(
            &plan.items,
            plan.managed_slave_employees,
            recent,
            window_h,
            &input.settings,
        );
    }
    Ok((plan, input.pac.items, input.astrow.items, pairing))
}

impl EmployeeJob {
    pub async fn run(&self) -> Result<SyncResult, String> {
        let _quiet = self.writing.lock().await;
        let settings = self.settings.borrow().clone();
        // One pairing per sync: the plan's, shared by the rows and the
        // badge map bookings are sent with.
        let started = std::time::Instant::now();
        let planned = compute_plan(&self.pac, &self.astrow, &self.store, &settings).await;
        let listed_and_planned = started.elapsed();
        // What was set aside is shown even when no plan could be made.
        crate::engine::set_aside::publish(&self.store, &self.report).await;
        let (plan, pac, astrow, pairing) = planned?;
        let master = plan.master;
        let rows = employee_rows(&pac, &astrow, &pairing, Some(&plan), master);
        let _ = self.report.send(Internal::Employees(Arc::new(rows))).await;
        let mut known = people(&pac, &astrow, &pairing);
        // Bookings wait for a link only when one is on its way: PAC is
        // master and plans are applied at once. In manual mode a person
        // decides when; the swipes go with PAC's badge meanwhile.
        if master == crate::model::System::Pac
            && settings.sync.apply == crate::config::ApplyMode::Auto
        {
            known.awaiting_link = awaiting_link(&pac, &known);
        }
        self.people.send_replace(Some(Arc::new(known)));
        let rows_made = started.elapsed();
        let actionable = plan.actionable().count();
        let conflicts = plan.items.len() - actionable;
        if plan.items.is_empty() {
            self.store
                .call("retire pending plans", |s| {
                    s.invalidate_pending_plans("superseded: both systems are in step")
                })
                .await?;
            let _ = self.report.send(Internal::Plan(None)).await;
            return Ok(SyncResult {
                summary: format!(
                    "in step: {} PAC and {} Astrow employees, nothing to change",
                    pac.len(),
                    astrow.len()
                ),
                plan_id: None,
                held: false,
                actionable: 0,
                to_apply: 0,
                retry_due: 0,
            });
        }
        let held = plan.held.clone();
        let destructive = plan.destructive_count();
        let Some((outcome, stored)) = self
            .save_live(new_plan_under(&plan, &settings), &settings)
            .await?
        else {
            return Err(
                "a setting that changes what a plan means (sync.master, sync.match_key, ...) changed while planning: this plan is dropped, the next one uses the new settings"
                    .into(),
            );
        };
        if outcome == SaveOutcome::AlreadyApplied {
            let _ = self.report.send(Internal::Plan(None)).await;
            return Ok(SyncResult {
                summary: format!(
                    "the same changes as plan {}, which was applied whole: not planned again",
                    stored.plan_id
                ),
                plan_id: None,
                held: false,
                actionable,
                to_apply: 0,
                retry_due: 0,
            });
        }
        let saved = started.elapsed();
        let names = Names::new(&pac, &astrow);
        let view = plan_view(&plan, &stored, &names)?;
        let _ = self.report.send(Internal::Plan(Some(Arc::new(view)))).await;
        log_timings([listed_and_planned, rows_made, saved, started.elapsed()]);
        let counts = Counts {
            actionable,
            conflicts,
            destructive,
        };
        let result = sync_result(&stored, counts, held.as_ref());
        // What the sync read and built is freed: give it back.
        drop((pac, astrow, pairing, plan, names, stored));
        crate::engine::memory::release_freed();
        Ok(result)
    }
}

/// Where a sync's time went (times since it started): reading both
/// listings and planning, the employee rows and people map, saving the
/// plan, the plan's view.
fn log_timings([listed_and_planned, rows_made, saved, viewed]: [Duration; 4]) {
    let ms = |d: Duration| d.as_millis() as u64;
    tracing::debug!(
        listed_and_planned_ms = ms(listed_and_planned),
        rows_ms = ms(rows_made.saturating_sub(listed_and_planned)),
        saved_ms = ms(saved.saturating_sub(rows_made)),
        viewed_ms = ms(viewed.saturating_sub(saved)),
        "employee sync timings"
    );
}

impl EmployeeJob {
    /// Store the plan as the live one, if the settings it was made with are
    /// still in force: checked under the store's lock, the same one a
    /// reload's voiding of pending plans takes, so no plan of the old
    /// settings survives it. The outcome and the plan as stored.
    async fn save_live(
        &self,
        new: NewPlan,
        settings: &Settings,
    ) -> Result<Option<(SaveOutcome, crate::store::StoredPlan)>, String> {
        let current = self.settings.clone();
        let then = settings.clone();
        self.store
            .call("store the plan", move |s| {
                let now = current.borrow().clone();
                if crate::engine::plan_meaning::settings_change_voids_plans(&then, &now).is_some() {
                    return Ok(None);
                }
                s.save_plan_stored(new).map(Some)
            })
            .await
    }
}

/// How many items of which kind a plan carries.
#[derive(Debug, Clone, Copy)]
struct Counts {
    actionable: usize,
    conflicts: usize,
    destructive: usize,
}

/// The job's result for a stored live plan: its summary names the hold
/// and what still fails.
fn sync_result(
    stored: &crate::store::StoredPlan,
    c: Counts,
    held: Option<&crate::engine::plan::Hold>,
) -> SyncResult {
    let now = chrono::Utc::now();
    let mut summary = format!(
        "plan {}: {} changes planned for {}",
        stored.plan_id,
        c.actionable,
        stored.master.other()
    );
    if c.destructive > 0 {
        summary.push_str(&format!(", {} destructive", c.destructive));
    }
    if c.conflicts > 0 {
        summary.push_str(&format!(", {} conflicts to resolve", c.conflicts));
    }
    if let Some(h) = held {
        summary.push_str(&format!("; held: {}", h.reason));
    }
    if let Some(failing) = crate::engine::retry::failing_summary(&stored.items, 5) {
        summary.push_str(&format!("; {failing}"));
    }
    SyncResult {
        summary,
        plan_id: Some(stored.plan_id.clone()),
        held: held.is_some(),
        actionable: c.actionable,
        to_apply: crate::engine::retry::to_apply(&stored.items, now),
        retry_due: stored
            .items
            .iter()
            .filter(|i| crate::engine::retry::is_due(i, now))
            .count(),
    }
}
