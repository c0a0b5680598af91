//! Starting an apply from the command loop: one at a time, under the write
//! lock, auto mode approving every item but conflicts first; when it ends,
//! its outcome is reported and the employee sync plans again.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use tokio::sync::{Mutex, Notify, OwnedMutexGuard, mpsc};
use tokio_util::sync::CancellationToken;

use super::command_loop::Engine;
use super::employees_job::ApplyRequest;
use crate::engine::apply::{ApplyCtx, apply_plan_items};
use crate::engine::command::EventLevel;
use crate::engine::plan_meaning::{PlanMeaning, stored_plan_void_reason};
use crate::engine::request::Actor;
use crate::engine::snapshot::{ApplyProgress, ItemState, JobKind};
use crate::engine::state::Internal;
use crate::engine::views::item_state;
use crate::store::{PlanState, Selection};

impl Engine {
    /// An apply that a stop or a crash cut short is finished first: its
    /// approved items that are not done run now (each re-checks its target,
    /// so nothing is written twice). Older interrupted plans are retired.
    pub(super) async fn resume_interrupted_apply(&mut self) {
        if let Some((mut ids, held)) = self.resume.take()
            && let Some(plan_id) = ids.pop()
        {
            self.notice(
                EventLevel::Warning,
                format!("resuming the apply of plan {plan_id}, which was interrupted"),
            );
            self.retire = ids;
            // Resumed as it was started: the guard was passed then.
            self.start_apply_holding(plan_id, false, true, Some(held))
                .await;
        }
    }

    /// What the employee job asked for after a sync.
    pub(super) async fn apply_requested(&mut self, request: ApplyRequest) {
        match request {
            ApplyRequest::Auto(plan_id) => self.start_apply(plan_id, true, false).await,
            ApplyRequest::RetryFailed(plan_id) => self.retry_failed(plan_id).await,
        }
    }

    /// Manual mode: the failed items whose wait is over are approved again
    /// (a person approved them before) and applied alone.
    async fn retry_failed(&mut self, plan_id: String) {
        if self.refuse_other_site("retrying failed items") {
            return;
        }
        if self
            .apply_running
            .as_ref()
            .is_some_and(|h| !h.is_finished())
        {
            return; // the next sync tries again
        }
        let pid = plan_id.clone();
        let due = self
            .store
            .call("approve the failed items due", move |s| {
                let now = chrono::Utc::now();
                let plan = s.load_plan(&pid)?;
                let ids: Vec<String> = plan
                    .items
                    .iter()
                    .filter(|i| crate::engine::retry::is_due(i, now))
                    .map(|i| i.item_id.clone())
                    .collect();
                s.set_item_states(&pid, Selection::Items(&ids), PlanState::Approved)?;
                Ok(ids)
            })
            .await;
        match due {
            Ok(ids) if !ids.is_empty() => {
                self.notice(
                    EventLevel::Info,
                    format!("retrying {} failed item(s) of plan {plan_id}", ids.len()),
                );
                // Only asked for a plan the guard did not hold.
                let run = self.apply_run(Some(ids), Actor::auto().user, false);
                self.apply_running = Some(tokio::spawn(run.run(plan_id, None)));
            }
            Ok(_) => {}
            Err(e) => self.notice(EventLevel::Error, e),
        }
    }

    /// Settings its plan was made with changed (`why`): the apply in
    /// progress stops between items, the items in flight finish and are
    /// recorded, and its plan is void (see [`ApplyRun::run`]).
    pub(super) fn void_running_apply(&mut self, why: &str) {
        let running = self
            .apply_running
            .as_ref()
            .is_some_and(|h| !h.is_finished());
        if let Some(stop) = self.apply_stop.as_ref().filter(|_| running) {
            stop.void(why);
            self.notice(
                EventLevel::Warning,
                format!(
                    "{why}: the apply in progress stops after the changes in flight \
                     (its plan was made with the old settings)"
                ),
            );
        }
    }

    /// An apply of `only` these items (else all approved), audited as `actor`.
    fn apply_run(
        &mut self,
        only: Option<Vec<String>>,
        actor: String,
        allow_held: bool,
    ) -> ApplyRun {
        let stop = ApplyStop::new(&self.cancel);
        self.apply_stop = Some(stop.clone());
        let settings_now = PlanMeaning::of(&self.settings.borrow());
        ApplyRun {
            settings_now,
            retire: std::mem::take(&mut self.retire),
            ctx: ApplyCtx {
                pac: self.pac.clone(),
                astrow: self.astrow.clone(),
                store: self.store.clone(),
                concurrency: 4,
                actor,
            },
            report: self.report.clone(),
            stop,
            rerun: self.triggers.get(&JobKind::Employees).cloned(),
            writing: self.writing.clone(),
            only,
            allow_held,
        }
    }

    pub(super) async fn start_apply(&mut self, plan_id: String, auto: bool, allow_held: bool) {
        self.start_apply_holding(plan_id, auto, allow_held, None)
            .await;
    }

    async fn start_apply_holding(
        &mut self,
        plan_id: String,
        auto: bool,
        allow_held: bool,
        held: Option<OwnedMutexGuard<()>>,
    ) {
        if self.refuse_read_only("applying a plan") || self.refuse_other_site("applying a plan") {
            return;
        }
        if self
            .apply_running
            .as_ref()
            .is_some_and(|h| !h.is_finished())
        {
            if auto {
                tracing::info!(
                    "plan {plan_id} waits: an apply is running; planning again after it"
                );
                self.apply_missed = true;
            } else {
                let by = self
                    .state
                    .snapshot()
                    .apply
                    .as_ref()
                    .and_then(|a| a.started_by.clone())
                    .unwrap_or_else(|| "someone".into());
                self.notice(
                    EventLevel::Warning,
                    format!(
                        "an apply is already running, started by {by}: {} was refused",
                        self.actor
                    ),
                );
            }
            return;
        }
        if auto && !self.approve_all_but_conflicts(&plan_id).await {
            return;
        }
        let actor = if auto || held.is_some() {
            Actor::auto().user
        } else {
            self.actor.user.clone()
        };
        let run = self.apply_run(None, actor, allow_held);
        self.notice(EventLevel::Info, format!("applying plan {plan_id}"));
        self.apply_running = Some(tokio::spawn(run.run(plan_id, held)));
    }

    /// Auto mode approves every item but conflicts (a person resolves
    /// those). From the store, not the snapshot: the job's report of this
    /// plan may not have reached the snapshot yet. False when that failed.
    async fn approve_all_but_conflicts(&mut self, plan_id: &str) -> bool {
        let pid = plan_id.to_string();
        let approved = self
            .store
            .call("approve the plan's items", move |s| {
                let plan = s.load_plan(&pid)?;
                let now = chrono::Utc::now();
                let ids: Vec<String> = plan
                    .items
                    .iter()
                    .filter(|i| crate::engine::retry::auto_approvable(i, now))
                    .map(|i| i.item_id.clone())
                    .collect();
                s.set_item_states(&pid, Selection::Items(&ids), PlanState::Approved)?;
                Ok(ids)
            })
            .await;
        let ids: HashSet<String> = match approved {
            Ok(ids) => ids.into_iter().collect(),
            Err(e) => {
                self.notice(EventLevel::Error, e);
                return false;
            }
        };
        if let Some(plan) = self
            .state
            .snapshot()
            .plan
            .clone()
            .filter(|p| p.plan_id == plan_id)
        {
            let mut view = (*plan).clone();
            for item in &mut view.items {
                if ids.iter().any(|id| **id == *item.id) {
                    item.state = ItemState::Approved;
                }
            }
            self.state.apply(Internal::Plan(Some(Arc::new(view))));
        }
        true
    }
}

/// How the command loop stops the apply it started before its end: the
/// engine stopping (the plan is resumed at the next start), or the settings
/// its plan was made with changing (the plan is void).
#[derive(Clone)]
pub(super) struct ApplyStop {
    /// Stops the apply between items; the engine's cancel stops it too.
    cancel: CancellationToken,
    /// Why its plan is void, set before `cancel`.
    void: Arc<OnceLock<String>>,
}

impl ApplyStop {
    fn new(engine: &CancellationToken) -> Self {
        ApplyStop {
            cancel: engine.child_token(),
            void: Arc::default(),
        }
    }

    fn void(&self, why: &str) {
        let _ = self.void.set(why.to_string());
        self.cancel.cancel();
    }
}

/// One apply as a task of its own.
struct ApplyRun {
    ctx: ApplyCtx,
    report: mpsc::Sender<Internal>,
    stop: ApplyStop,
    /// The employee sync's trigger: plan again after the apply.
    rerun: Option<Arc<Notify>>,
    writing: Arc<Mutex<()>>,
    /// Only these approved items (a retry), else every approved item.
    only: Option<Vec<String>>,
    /// A person confirmed a plan the deletion guard held.
    allow_held: bool,
    /// The settings in force when it was started: a plan made under
    /// others is void, not applied.
    settings_now: PlanMeaning,
    /// Older interrupted plans the resume retires before it runs.
    retire: Vec<String>,
}

impl ApplyRun {
    async fn run(self, plan_id: String, held: Option<OwnedMutexGuard<()>>) {
        let _writing = match held {
            Some(g) => g,
            None => self.writing.clone().lock_owned().await,
        };
        for old in &self.retire {
            self.retire_checked(old, &plan_id).await;
        }
        // Made under other settings (edited while the service was down, or
        // before a pending plan was applied): void, not applied. The run
        // goes on stopped: it writes nothing and checks what an earlier,
        // killed apply began.
        if let Some(why) = self.made_under_other_settings(&plan_id).await {
            self.stop.void(&why);
        }
        let r2 = self.report.clone();
        let progress = move |p: ApplyProgress| {
            let _ = r2.try_send(Internal::Apply(Arc::new(p)));
        };
        let result = apply_plan_items(
            &self.ctx,
            &plan_id,
            self.only.as_deref(),
            self.allow_held,
            &progress,
            &self.stop.cancel,
        )
        .await;
        let voided = self.void_if_stopped(&plan_id, result.is_ok()).await;
        // Plan again when the apply changed something or left stale items
        // to re-plan. Not when every item failed: in auto mode the new plan
        // would carry the same failing items, be applied at once and fail
        // again, in a tight loop against both systems. Those wait for the
        // next scheduled sync.
        let replan = voided || matches!(&result, Ok(p) if p.applied + p.stale > 0);
        let (level, message) = match result {
            Ok(p) if voided => (
                EventLevel::Warning,
                format!(
                    "apply of plan {plan_id} stopped: {}; {} applied, {} stale, {} failed \
                     before the stop, {} not begun (planning again with the new settings)",
                    self.stop.void.get().map_or("", String::as_str),
                    p.applied,
                    p.stale,
                    p.failed,
                    p.total - (p.applied + p.stale + p.failed)
                ),
            ),
            Ok(p) => (
                if p.failed > 0 {
                    EventLevel::Warning
                } else {
                    EventLevel::Info
                },
                format!(
                    "apply of plan {plan_id} finished: {} applied, {} stale, {} failed",
                    p.applied, p.stale, p.failed
                ),
            ),
            Err(e) => (EventLevel::Error, format!("apply of plan {plan_id}: {e}")),
        };
        self.report_item_outcomes(plan_id, level, message).await;
        // Plan again: stale items are re-planned, applied ones vanish.
        if replan && let Some(t) = &self.rerun {
            t.notify_one();
        }
    }

    /// An older interrupted plan is retired (stale), not resumed: what its
    /// killed apply began is checked first (no write), so a write it made
    /// is audited. It stays interrupted when that check fails.
    async fn retire_checked(&self, old: &str, newest: &str) {
        let stopped = CancellationToken::new();
        stopped.cancel();
        let checked = apply_plan_items(&self.ctx, old, None, true, &|_| {}, &stopped).await;
        let why = format!("an older interrupted apply, retired: plan {newest} is resumed");
        let (pid, recorded) = (old.to_string(), checked.is_ok());
        let voided = self
            .ctx
            .store
            .call("retire an older interrupted plan", move |s| {
                s.void_stopped_apply(&pid, &why, recorded)
            })
            .await;
        if let Err(e) = checked.and(voided) {
            let _ = self
                .report
                .send(Internal::Notice(
                    EventLevel::Error,
                    format!("older interrupted plan {old} not retired: {e}"),
                ))
                .await;
        }
    }

    /// Why its plan is void under the settings in force, if it is.
    async fn made_under_other_settings(&self, plan_id: &str) -> Option<String> {
        let pid = plan_id.to_string();
        let made = self
            .ctx
            .store
            .call("read what the plan was made under", move |s| {
                s.plan_made_under(&pid)
            })
            .await;
        // Unreadable: the apply's own load reports the store's failure.
        let (master, settings) = made.ok()?;
        stored_plan_void_reason(master, settings.as_deref(), &self.settings_now)
    }

    /// Stopped because its plan's settings changed: when every item begun
    /// is recorded (`recorded`: the apply ended `Ok`, an earlier apply's
    /// begun items checked) the plan is void (not resumed at the next
    /// start) and the items it did not begin go back to not started; else
    /// the plan stays interrupted, for a resume to check. Whether it was
    /// voided.
    async fn void_if_stopped(&self, plan_id: &str, recorded: bool) -> bool {
        let Some(why) = self.stop.void.get().cloned() else {
            return false;
        };
        let pid = plan_id.to_string();
        let r = self
            .ctx
            .store
            .call("void the stopped apply's plan", move |s| {
                s.void_stopped_apply(&pid, &why, recorded)
            })
            .await;
        match r {
            Ok(voided) => voided,
            Err(e) => {
                let _ = self
                    .report
                    .send(Internal::Notice(EventLevel::Error, e))
                    .await;
                false
            }
        }
    }

    /// The apply's notice (naming what still fails) and how each item
    /// ended, from the store, for the plan's view.
    async fn report_item_outcomes(&self, plan_id: String, level: EventLevel, message: String) {
        let id = plan_id.clone();
        let stored = self
            .ctx
            .store
            .call("read the apply's outcome", move |s| s.load_plan(&id))
            .await;
        let failing = stored
            .as_ref()
            .ok()
            .and_then(|p| crate::engine::retry::failing_summary(&p.items, 5));
        let message = match failing {
            Some(f) => format!("{message}; {f}"),
            None => message,
        };
        let _ = self.report.send(Internal::Notice(level, message)).await;
        let Ok(stored) = stored else {
            return;
        };
        let items = stored
            .items
            .iter()
            .map(|i| crate::engine::state::ItemOutcomeView {
                id: i.item_id.clone(),
                state: item_state(i.state),
                message: i.detail.clone(),
                attempts: i.attempts,
                retry_at: i.retry_at,
                failure_kind: crate::engine::retry::failure_kind(i),
            })
            .collect();
        let _ = self
            .report
            .send(Internal::ItemOutcomes { plan_id, items })
            .await;
    }
}
