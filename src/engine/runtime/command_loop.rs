//! The engine's one loop: takes commands and job reports, starts applies,
//! and publishes a snapshot after each round. On stop it lets the running
//! apply finish its items in flight and waits for every job.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Notify, OwnedMutexGuard, mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::EngineOptions;
use crate::astrow::AstrowClient;
use crate::config::Settings;
use crate::engine::bookings::BookingImport;
use crate::engine::command::{Command, EventLevel};
use crate::engine::command_audit::command_audit;
use crate::engine::plan::RemovalDecision;
use crate::engine::request::{Actor, Request};
use crate::engine::snapshot::{ItemState, JobKind};
use crate::engine::state::{EngineState, Internal};
use crate::engine::store_handle::StoreHandle;
use crate::pac::PacClient;
use crate::store::{PlanState, Selection};

/// Everything the command loop works with.
pub(super) struct Engine {
    pub opts: EngineOptions,
    pub settings: watch::Sender<Arc<Settings>>,
    pub pac: PacClient,
    pub astrow: AstrowClient,
    pub store: StoreHandle,
    pub state: EngineState,
    pub report: mpsc::Sender<Internal>,
    pub triggers: HashMap<JobKind, Arc<Notify>>,
    pub intervals: HashMap<JobKind, watch::Sender<Duration>>,
    pub paused: watch::Sender<bool>,
    pub bookings: Option<BookingImport>,
    /// The booking import not started because the store is bound to
    /// another site: started by a re-bind.
    pub bookings_after_rebind: Option<super::bookings_job::ImportStarter>,
    /// Why nothing may be written (the store is bound to another site).
    pub site: watch::Sender<Option<String>>,
    pub apply_running: Option<JoinHandle<()>>,
    /// Stops the apply last started (a settings change voids its plan).
    pub apply_stop: Option<super::apply_task::ApplyStop>,
    /// Held while an apply writes; the employee job waits for it.
    pub writing: Arc<Mutex<()>>,
    /// A roll call started by command (apart from `bookings.roll_call_active`).
    pub roll_call: bool,
    /// The interrupted applies (oldest first): the newest is finished
    /// first, the older retired; the write lock already held.
    pub resume: Option<(Vec<String>, OwnedMutexGuard<()>)>,
    /// Older interrupted plans the resume's apply retires.
    pub retire: Vec<String>,
    /// An auto apply came while another ran: plan again when it ends.
    pub apply_missed: bool,
    /// A person's decisions on the mirror removals the guard holds.
    pub mirror_decisions: crate::engine::jobs::definitions::MirrorDecisions,
    /// Who sent the command being handled (the engine itself for its own work).
    pub actor: Actor,
    /// Short tasks the loop starts (recording a job run, opening a door):
    /// they hold the store, so the engine waits for them when it stops.
    pub detached: JoinSet<()>,
    pub cancel: CancellationToken,
}

/// The receiving ends the loop takes from.
pub(super) struct Inputs {
    pub commands: mpsc::Receiver<Request>,
    pub internal: mpsc::Receiver<Internal>,
    pub apply_requests: mpsc::Receiver<super::employees_job::ApplyRequest>,
    pub tasks: Vec<JoinHandle<()>>,
}

impl Engine {
    pub async fn run(mut self, inputs: Inputs) {
        let Inputs {
            mut commands,
            mut internal,
            mut apply_requests,
            tasks,
        } = inputs;
        let mut bookings_view = self.bookings.as_ref().map(|b| b.view.clone());
        // Read-only, or held back until a re-bind: the import does not run.
        if self.bookings.is_some() {
            self.state.apply(Internal::JobStarted(JobKind::Bookings));
        }
        self.state.publish();
        self.resume_interrupted_apply().await;
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                req = commands.recv() => match req {
                    Some(Request { command: Command::Shutdown, .. }) | None => break,
                    Some(req) => {
                        self.audit_request(&req).await;
                        self.actor = req.actor;
                        self.command(req.command).await;
                        self.actor = Actor::auto();
                        // A re-bind may have started the import.
                        if bookings_view.is_none() {
                            bookings_view = self.bookings.as_ref().map(|b| b.view.clone());
                        }
                    }
                },
                Some(msg) = internal.recv() => {
                    self.report_in(msg);
                    // Take every report that is already waiting: one snapshot for all.
                    while let Ok(more) = internal.try_recv() {
                        self.report_in(more);
                    }
                }
                Some(request) = apply_requests.recv() => self.apply_requested(request).await,
                () = finished(&mut self.apply_running) => {
                    self.apply_running = None;
                    // A plan made meanwhile was not applied: make it again
                    // from fresh listings, and auto mode applies it.
                    if std::mem::take(&mut self.apply_missed)
                        && let Some(t) = self.triggers.get(&JobKind::Employees)
                    {
                        t.notify_one();
                    }
                }
                Ok(()) = changed(&mut bookings_view) => {
                    if let Some(v) = &mut bookings_view {
                        let view = v.borrow_and_update().clone();
                        self.state.set_bookings(view);
                    }
                }
            }
            self.state.publish();
        }
        self.stop(internal, tasks).await;
    }

    async fn stop(mut self, mut internal: mpsc::Receiver<Internal>, tasks: Vec<JoinHandle<()>>) {
        tracing::info!("engine stopping");
        self.cancel.cancel();
        if let Some(a) = self.apply_running.take() {
            // The items in flight finish; the rest waits for the next start.
            // Reports keep being taken meanwhile, so the apply never blocks
            // on a full channel.
            tokio::pin!(a);
            loop {
                tokio::select! {
                    _ = &mut a => break,
                    Some(msg) = internal.recv() => self.report_in(msg),
                }
            }
        }
        if let Some(b) = self.bookings.take() {
            b.stop().await;
        }
        for t in tasks {
            let _ = t.await;
        }
        // The job runs reported meanwhile are recorded too.
        while let Ok(msg) = internal.try_recv() {
            self.report_in(msg);
        }
        // Reports keep being taken (a door opening reports when done).
        loop {
            tokio::select! {
                done = self.detached.join_next() => if done.is_none() { break },
                Some(msg) = internal.recv() => self.report_in(msg),
            }
        }
        // A job's store call cut short by the cancel still runs on the
        // blocking pool: the store is free only once closed.
        self.store.close().await;
        tracing::info!("engine stopped");
    }

    /// A job's report: into the picture, and finished runs into the store.
    fn report_in(&mut self, msg: Internal) {
        if let Internal::JobFinished { kind, run } = &msg
            && *kind != JobKind::Heartbeat
        {
            let (job, result) = (
                format!("{kind:?}").to_lowercase(),
                if run.ok && run.warning {
                    format!("warning: {}", run.summary)
                } else if run.ok {
                    format!("ok: {}", run.summary)
                } else {
                    format!("failed: {}", run.summary)
                },
            );
            let store = self.store.clone();
            self.spawn_detached(async move {
                let r = store
                    .call("record a job run", move |s| {
                        let id = s.job_started(&job)?;
                        s.job_finished(id, &result, &Default::default())
                    })
                    .await;
                if let Err(e) = r {
                    tracing::warn!(error = %e, "job run not recorded");
                }
            });
        }
        self.state.apply(msg);
    }

    /// A write command goes to the audit log with who sent it (before it
    /// is carried out), and to the consoles' log as a notice naming them.
    async fn audit_request(&self, req: &Request) {
        let Some(record) = command_audit(req, self.state.snapshot()) else {
            return;
        };
        self.notice(
            EventLevel::Info,
            format!("{} by {}: {}", record.action, req.actor, record.record),
        );
        let by = req.actor.user.clone();
        let r = self
            .store
            .call("audit a command", move |s| s.append_audit_as(&record, &by))
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "command not audited");
        }
    }

    /// Start a short task the engine waits for when it stops; finished
    /// ones are reaped here so the set stays small.
    pub(super) fn spawn_detached(
        &mut self,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        while self.detached.try_join_next().is_some() {}
        self.detached.spawn(task);
    }

    pub(super) fn notice(&self, level: EventLevel, message: impl Into<String>) {
        let message = message.into();
        match level {
            EventLevel::Error => tracing::error!("{message}"),
            EventLevel::Warning => tracing::warn!("{message}"),
            EventLevel::Info => tracing::info!("{message}"),
        }
        self.state.notice(level, message);
    }

    pub(super) fn refuse_read_only(&self, what: &str) -> bool {
        if self.opts.read_only {
            self.notice(
                EventLevel::Warning,
                format!("read-only: {what} refused (started with --read-only)"),
            );
        }
        self.opts.read_only
    }

    /// Refuse a write while the store is bound to another site, saying why.
    pub(super) fn refuse_other_site(&self, what: &str) -> bool {
        let refusal = self.site.borrow().clone();
        if let Some(why) = &refusal {
            self.notice(EventLevel::Error, format!("{what} refused: {why}"));
        }
        refusal.is_some()
    }

    async fn command(&mut self, cmd: Command) {
        match cmd {
            Command::RunNow(kind) => {
                if let Some(t) = self.triggers.get(&kind) {
                    t.notify_one();
                }
            }
            Command::DecideMirrorRemovals { keys, decision } => {
                self.decide_mirror_removals(keys, decision);
            }
            Command::RebindStore => self.rebind_store().await,
            Command::ForgetEmployee { pac_id, pers_no } => {
                self.forget_employee(pac_id, pers_no).await
            }
            Command::Approve(ids) => self.set_states(ids, PlanState::Approved).await,
            Command::Reject(ids) => self.set_states(ids, PlanState::Rejected).await,
            Command::Apply {
                plan_id,
                allow_held,
            } => {
                let held = self
                    .state
                    .snapshot()
                    .plan
                    .as_ref()
                    .filter(|p| p.plan_id == plan_id)
                    .and_then(|p| p.held.clone());
                match held {
                    Some(reason) if !allow_held => self.notice(
                        EventLevel::Warning,
                        format!("plan {plan_id} is held by the deletion guard ({reason}): confirm the held plan to apply it"),
                    ),
                    _ => self.start_apply(plan_id, false, allow_held).await,
                }
            }
            Command::Pause => {
                self.paused.send_replace(true);
                self.state.apply(Internal::Paused(true));
                self.notice(EventLevel::Info, "scheduled syncs paused");
            }
            Command::Resume => {
                self.paused.send_replace(false);
                self.state.apply(Internal::Paused(false));
                self.notice(EventLevel::Info, "scheduled syncs resumed");
            }
            Command::ReloadSettings => self.reload().await,
            Command::OpenDoor { reader_id } => self.open_door(reader_id),
            Command::StartRollCall => self.roll_call(true).await,
            Command::StopRollCall => self.roll_call(false).await,
            Command::ResetCursor { to } => self.reset_cursor(to).await,
            Command::MoveAstrowCursor { to, force } => self.move_astrow_cursor(to, force).await,
            Command::ResendLostBookings { source_ids } => self.resend_lost(source_ids).await,
            Command::Shutdown => self.cancel.cancel(),
            Command::Query { id, query } => self.query(id, query),
        }
    }

    /// Answer a console's query on a short task (the loop does not wait
    /// for the store); the answer goes out as an event naming the query.
    fn query(&mut self, id: u64, query: crate::engine::query::Query) {
        use crate::engine::query::{employee_of, employee_rows};
        let rows = employee_of(&query)
            .map(|k| employee_rows(&self.state.snapshot().employees, k))
            .unwrap_or_default();
        let store = self.store.clone();
        let out = self.state.answers();
        self.spawn_detached(async move {
            let body = store
                .call("answer a query", move |s| {
                    crate::engine::query::answer(s, &query, &rows)
                })
                .await
                .unwrap_or_else(crate::engine::query::AnswerBody::Failed);
            let answer = crate::engine::query::Answer { query: id, body };
            let _ = out.send(crate::engine::command::EngineEvent::answering(answer));
        });
    }

    async fn rebind_store(&mut self) {
        if self.refuse_read_only("re-binding the store") {
            return;
        }
        if self.site.borrow().is_none() {
            return self.notice(
                EventLevel::Info,
                "the store is bound to the settings' site already: nothing to re-bind",
            );
        }
        let settings = self.settings.borrow().clone();
        let site = match crate::engine::site::site_identity(&settings) {
            Ok(s) => s,
            Err(e) => return self.notice(EventLevel::Error, format!("store not re-bound: {e}")),
        };
        let here = site.clone();
        match self
            .store
            .call("re-bind the store", move |s| s.rebind(&here))
            .await
        {
            Ok(done) => {
                self.state.apply(Internal::Plan(None));
                self.site.send_replace(None);
                self.state.apply(Internal::SiteRefusal {
                    reason: None,
                    old_site_pending: 0,
                });
                self.notice(
                    EventLevel::Warning,
                    format!("store bound to {site}: {}", done.describe()),
                );
                self.start_bookings_after_rebind(&settings);
                for kind in [JobKind::Employees, JobKind::Definitions, JobKind::Heartbeat] {
                    if let Some(t) = self.triggers.get(&kind) {
                        t.notify_one();
                    }
                }
            }
            Err(e) => self.notice(EventLevel::Error, format!("store not re-bound: {e}")),
        }
    }

    /// The booking import held back by the old binding starts now, from
    /// the cursor the re-bind set.
    fn start_bookings_after_rebind(&mut self, settings: &Settings) {
        let Some(starter) = self.bookings_after_rebind.take() else {
            return;
        };
        match starter.start(settings, self.roll_call) {
            Ok(import) => {
                self.bookings = Some(import);
                self.state.apply(Internal::JobStarted(JobKind::Bookings));
            }
            Err(e) => self.notice(
                EventLevel::Error,
                format!(
                    "the booking import did not start after the re-bind: {e}; restart the engine"
                ),
            ),
        }
    }

    fn decide_mirror_removals(&mut self, keys: Vec<String>, decision: RemovalDecision) {
        if self.refuse_read_only("deciding on removals from Astrow's mirror") {
            return;
        }
        let held: Vec<String> = self
            .state
            .snapshot()
            .definitions
            .removals
            .iter()
            .map(|r| r.key.clone())
            .collect();
        let (known, unknown): (Vec<String>, Vec<String>) =
            keys.into_iter().partition(|k| held.contains(k));
        if !unknown.is_empty() {
            self.notice(
                EventLevel::Warning,
                format!(
                    "not a held mirror removal (the list changed?): {}",
                    unknown.join(", ")
                ),
            );
        }
        if known.is_empty() {
            return;
        }
        let n = known.len();
        match self.mirror_decisions.lock() {
            Ok(mut d) => {
                for k in known {
                    d.insert(k, decision);
                }
            }
            Err(_) => {
                return self.notice(
                    EventLevel::Error,
                    "mirror decisions unavailable (a job panicked holding them): restart the engine",
                );
            }
        }
        self.notice(
            EventLevel::Info,
            match decision {
                RemovalDecision::Approved => format!(
                    "{n} mirror removals approved: written by the next definitions sync (or apply now)"
                ),
                RemovalDecision::Rejected => {
                    format!("{n} mirror removals rejected: they stay in Astrow's mirror")
                }
            },
        );
    }

    async fn set_states(&mut self, ids: Vec<String>, state: PlanState) {
        if self.refuse_read_only("approving or rejecting changes") {
            return;
        }
        let Some(plan) = self.state.snapshot().plan.clone() else {
            return;
        };
        let plan_id = plan.plan_id.clone();
        let ids2 = ids.clone();
        let r = self
            .store
            .call("set item states", move |s| {
                s.set_item_states(&plan_id, Selection::Items(&ids2), state)
            })
            .await;
        match r {
            Ok(_) => {
                let mut view = (*plan).clone();
                let to = crate::engine::views::item_state(state);
                for item in &mut view.items {
                    if ids.iter().any(|id| **id == *item.id)
                        && matches!(
                            item.state,
                            ItemState::Pending
                                | ItemState::Approved
                                | ItemState::Rejected
                                | ItemState::Failed
                        )
                    {
                        item.state = to;
                    }
                }
                self.state.apply(Internal::Plan(Some(Arc::new(view))));
            }
            Err(e) => self.notice(EventLevel::Error, e),
        }
    }
}

/// The running apply ended (never, when none runs).
async fn finished(apply: &mut Option<JoinHandle<()>>) {
    match apply {
        Some(h) => {
            let _ = h.await;
        }
        None => std::future::pending().await,
    }
}

async fn changed<T>(rx: &mut Option<watch::Receiver<T>>) -> Result<(), watch::error::RecvError> {
    match rx {
        Some(r) => r.changed().await,
        None => std::future::pending().await,
    }
}
