//! The engine as tokio tasks: a scheduler per job, the booking import, the
//! Astrow notification watcher, and one loop that takes commands and job
//! reports and publishes snapshots.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::apply::{ApplyCtx, apply_plan};
use super::bookings::classify::{BookingRules, ReaderRule};
use super::bookings::reader::ReadLimits;
use super::bookings::{BookingImport, ImportConfig};
use super::command::{Command, EventLevel};
use super::connect::{ConnectError, astrow_client, pac_client};
use super::core::{Core, Internal};
use super::handle::{EngineChannels, EngineHandle, channels};
use super::jobs::employees::{EmployeeJob, master};
use super::jobs::scheduler::{JobControl, run_scheduled};
use super::jobs::{definitions, heartbeat};
use super::people::People;
use super::snapshot::{ActionKind, ApplyModeView, ItemState, JobKind, SettingsSummary};
use super::storage::StoreHandle;
use crate::astrow::AstrowClient;
use crate::config::{self, ApplyMode, Settings};
use crate::model::System;
use crate::pac::PacClient;
use crate::store::{AuditRecord, PlanState, Selection, Store, StoreError, ledger};

#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub settings: Settings,
    /// Read again on `ReloadSettings`.
    pub config_path: PathBuf,
    /// No write to either system: plans are shown, never applied.
    pub read_only: bool,
    pub demo: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("the booking ledger: {0}")]
    Ledger(String),
    #[error("the store: {0}")]
    StoreCall(String),
}

/// A running engine: wait for it with [`RunningEngine::join`].
pub struct RunningEngine {
    pub cancel: CancellationToken,
    /// Another sender of commands (the handle has one too).
    pub commands: mpsc::Sender<Command>,
    main: JoinHandle<()>,
}

impl RunningEngine {
    /// Wait until the engine has stopped (after `Command::Shutdown` or cancel).
    pub async fn join(self) {
        let _ = self.main.await;
    }
}

/// The store directory the settings name, else the platform's.
pub fn store_dir(settings: &Settings) -> PathBuf {
    settings
        .store
        .dir
        .clone()
        .unwrap_or_else(|| config::default_data_dir().join("store"))
}

pub fn settings_summary(s: &Settings, opts: &EngineOptions) -> SettingsSummary {
    SettingsSummary {
        master: Some(master(s)),
        apply_mode: match s.sync.apply {
            ApplyMode::Manual => ApplyModeView::Manual,
            ApplyMode::Auto => ApplyModeView::Auto,
        },
        delete_employees_on_sync: s.sync.delete_employees_on_sync,
        read_only: opts.read_only,
        demo: opts.demo,
        config_path: opts.config_path.display().to_string(),
        pac_address: format!("{}:{}", s.pac.address, s.pac.port),
        astrow_url: s.astrow.url.clone(),
    }
}

pub fn booking_rules(s: &Settings, roll_call_active: bool) -> BookingRules {
    BookingRules {
        enabled: s.bookings.enabled,
        roll_call_active: roll_call_active || s.bookings.roll_call_active,
        readers: s
            .readers
            .iter()
            .map(|(serial, r)| {
                (
                    serial.clone(),
                    ReaderRule {
                        booking: r.booking,
                        direction: r.direction,
                        roll_call: r.roll_call,
                    },
                )
            })
            .collect(),
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s.max(1))
}

/// Everything the command loop works with.
struct Engine {
    opts: EngineOptions,
    settings: watch::Sender<Arc<Settings>>,
    pac: PacClient,
    astrow: AstrowClient,
    store: StoreHandle,
    core: Core,
    report: mpsc::Sender<Internal>,
    triggers: HashMap<JobKind, Arc<Notify>>,
    intervals: HashMap<JobKind, watch::Sender<Duration>>,
    paused: watch::Sender<bool>,
    bookings: Option<BookingImport>,
    apply_running: Option<JoinHandle<()>>,
    /// Held while an apply writes; the employee job waits for it.
    writing: Arc<tokio::sync::Mutex<()>>,
    /// A roll call started by command (apart from `bookings.roll_call_active`).
    roll_call: bool,
    /// The interrupted apply to finish first, with the write lock already held.
    resume: Option<(String, tokio::sync::OwnedMutexGuard<()>)>,
    /// An auto apply came while another ran: plan again when it ends.
    apply_missed: bool,
    cancel: CancellationToken,
}

/// Open the store (refused when another engine holds it), make the
/// connectors, start every job, and return the handle readers use.
pub async fn start(opts: EngineOptions) -> Result<(EngineHandle, RunningEngine), EngineError> {
    let settings = opts.settings.clone();
    let store = Store::open(&store_dir(&settings))?;
    let store = StoreHandle::new(store);
    let pac = pac_client(&settings)?;
    let astrow = astrow_client(&settings)?;
    let (handle, ch) = channels();
    let EngineChannels {
        commands,
        snapshots,
        events,
    } = ch;
    let own_snapshots = snapshots.subscribe();
    let core = Core::new(settings_summary(&settings, &opts), snapshots, events);
    let cancel = CancellationToken::new();
    let (report, internal) = mpsc::channel::<Internal>(1024);
    let (settings_tx, settings_rx) = watch::channel(Arc::new(settings.clone()));
    let (paused_tx, paused_rx) = watch::channel(false);
    let (people_tx, people_rx) = watch::channel::<Option<Arc<People>>>(None);
    // The reader serials Astrow's mirror holds, once the definitions job ran.
    let (mirror_tx, mirror_rx) = watch::channel::<Option<Arc<HashSet<String>>>>(None);
    let (booking_people_tx, booking_people_rx) = watch::channel::<Option<Arc<People>>>(None);
    let (apply_tx, apply_rx) = mpsc::channel::<String>(8);

    let mut triggers = HashMap::new();
    let mut intervals = HashMap::new();
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    let job_control =
        |kind: JobKind,
         every: Duration,
         triggers: &mut HashMap<JobKind, Arc<Notify>>,
         intervals: &mut HashMap<JobKind, watch::Sender<Duration>>| {
            let trigger = Arc::new(Notify::new());
            let (itx, irx) = watch::channel(every);
            triggers.insert(kind, trigger.clone());
            intervals.insert(kind, itx);
            JobControl {
                kind,
                trigger,
                paused: paused_rx.clone(),
                interval: irx,
                cancel: cancel.clone(),
                report: report.clone(),
            }
        };

    // Employee sync.
    let ctl = job_control(
        JobKind::Employees,
        secs(settings.sync.employee_interval_s),
        &mut triggers,
        &mut intervals,
    );
    let writing = Arc::new(tokio::sync::Mutex::new(()));
    // An apply cut short is resumed first, and nothing is planned before it
    // ends (a plan made now would repeat its unfinished creates): its lock is
    // taken before the employee job starts.
    let resume = if opts.read_only {
        None
    } else {
        let found = store
            .call("find an interrupted apply", |s| {
                let mut ids = s.interrupted_plans()?;
                let newest = ids.pop();
                for old in &ids {
                    s.set_plan_state(old, PlanState::Stale)?;
                }
                Ok(newest)
            })
            .await
            .map_err(EngineError::StoreCall)?;
        match found {
            Some(id) => Some((id, writing.clone().lock_owned().await)),
            None => None,
        }
    };
    let job = EmployeeJob {
        writing: writing.clone(),
        pac: pac.clone(),
        astrow: astrow.clone(),
        store: store.clone(),
        settings: settings_rx.clone(),
        report: report.clone(),
        people: people_tx,
    };
    let auto = settings_rx.clone();
    let read_only = opts.read_only;
    tasks.push(tokio::spawn(run_scheduled(ctl, move || {
        let job = job.clone();
        let auto = auto.clone();
        let apply_tx = apply_tx.clone();
        async move {
            let r = job.run().await?;
            let auto_apply = auto.borrow().sync.apply == ApplyMode::Auto;
            if auto_apply
                && !read_only
                && !r.held
                && r.actionable > 0
                && let Some(id) = &r.plan_id
            {
                let _ = apply_tx.send(id.clone()).await;
            }
            Ok(r.summary)
        }
    })));

    // Definitions mirror.
    let ctl = job_control(
        JobKind::Definitions,
        secs(settings.sync.definitions_interval_s),
        &mut triggers,
        &mut intervals,
    );
    let (p, a, s, r) = (
        pac.clone(),
        astrow.clone(),
        settings_rx.clone(),
        report.clone(),
    );
    tasks.push(tokio::spawn(run_scheduled(ctl, move || {
        let (p, a, s, r, mirror) = (
            p.clone(),
            a.clone(),
            s.clone(),
            r.clone(),
            mirror_tx.clone(),
        );
        async move {
            let settings = s.borrow().clone();
            let (summary, view) = definitions::sync(&p, &a, &settings, !read_only).await?;
            mirror.send_replace(Some(Arc::new(
                view.astrow_readers
                    .iter()
                    .map(|r| r.serial.clone())
                    .collect(),
            )));
            let _ = r.send(Internal::Definitions(view)).await;
            Ok(summary)
        }
    })));

    // Health and heartbeat.
    let ctl = job_control(
        JobKind::Heartbeat,
        secs(settings.bookings.heartbeat_interval_s),
        &mut triggers,
        &mut intervals,
    );
    // Pausing the syncs never stops the heartbeat: Astrow would show the
    // service red while bookings still flow.
    let ctl = JobControl {
        paused: watch::channel(false).1,
        ..ctl
    };
    let (p, a, r) = (pac.clone(), astrow.clone(), report.clone());
    tasks.push(tokio::spawn(run_scheduled(ctl, move || {
        let (p, a, r, snaps) = (p.clone(), a.clone(), r.clone(), own_snapshots.clone());
        async move { heartbeat::run_once(&p, &a, &snaps, &r, !read_only).await }
    })));

    // The booking import sends only once the linked badges are known and
    // Astrow's reader mirror holds PAC's readers.
    tasks.push(tokio::spawn(gate_people(
        people_rx,
        mirror_rx,
        booking_people_tx,
        cancel.clone(),
    )));
    // A roll call started by command survives a restart (it is in the ledger).
    let roll_call = {
        let path = store.database_path();
        let conn = crate::store::db::open_connection(&path)
            .map_err(|e| EngineError::Ledger(e.to_string()))?;
        ledger::roll_call(&conn)
            .map_err(|e| EngineError::Ledger(e.to_string()))?
            .is_some()
    };
    let bookings = if opts.read_only {
        None
    } else {
        Some(
            BookingImport::start(
                Arc::new(pac.clone()),
                Arc::new(astrow.clone()),
                &store.database_path(),
                ImportConfig {
                    organization_id: settings.pac.organization_id,
                    batch_size: settings.bookings.batch_size as usize,
                    limits: ReadLimits {
                        max_pending: u64::from(settings.bookings.max_pending),
                        ..ReadLimits::default()
                    },
                    monitor_every: Duration::from_millis(500),
                },
                booking_rules(&settings, roll_call),
                booking_people_rx,
                cancel.clone(),
            )
            .map_err(|e| EngineError::Ledger(e.to_string()))?,
        )
    };

    // New PAC readers seen by the booking reader: mirror them now, not at
    // the next definitions interval.
    if let (Some(b), Some(t)) = (&bookings, triggers.get(&JobKind::Definitions)) {
        let (seen, mirror, stop) = (b.readers_changed.clone(), t.clone(), cancel.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = seen.notified() => mirror.notify_one(),
                }
            }
        }));
    }

    // Master Astrow: a change in Astrow reaches PAC within seconds. Always
    // running: it idles while PAC is master, and a reload may change that.
    if let Some(t) = triggers.get(&JobKind::Employees) {
        tasks.push(tokio::spawn(watch_notifications(
            astrow.clone(),
            t.clone(),
            settings_rx.clone(),
            cancel.clone(),
        )));
    }

    let engine = Engine {
        opts,
        settings: settings_tx,
        pac,
        astrow,
        store,
        core,
        report,
        triggers,
        intervals,
        paused: paused_tx,
        bookings,
        apply_running: None,
        writing,
        apply_missed: false,
        roll_call,
        resume,
        cancel: cancel.clone(),
    };
    let main = tokio::spawn(engine.run(commands, internal, apply_rx, tasks));
    let commands = handle.commands.clone();
    Ok((
        handle,
        RunningEngine {
            cancel,
            commands,
            main,
        },
    ))
}

/// Publish the people map to the booking sender once the mirror is ready.
async fn gate_people(
    mut people: watch::Receiver<Option<Arc<People>>>,
    mut mirror: watch::Receiver<Option<Arc<HashSet<String>>>>,
    out: watch::Sender<Option<Arc<People>>>,
    cancel: CancellationToken,
) {
    loop {
        let serials = mirror.borrow_and_update().clone();
        let p = people.borrow_and_update().clone();
        if let (Some(serials), Some(p)) = (serials, p) {
            out.send_replace(Some(Arc::new(People {
                mirrored_serials: Some(serials),
                ..(*p).clone()
            })));
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = people.changed() => if r.is_err() { return },
            r = mirror.changed() => if r.is_err() { return },
        }
    }
}

/// Long-poll Astrow's notifications; any employee change triggers the
/// employee sync (debounced one second so a burst makes one plan).
async fn watch_notifications(
    astrow: AstrowClient,
    trigger: Arc<Notify>,
    settings: watch::Receiver<Arc<Settings>>,
    cancel: CancellationToken,
) {
    let mut after: Option<u64> = None;
    let mut failures = 0u32;
    while !cancel.is_cancelled() {
        if master(&settings.borrow()) != System::Astrow {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(5)) => continue,
            }
        }
        let from = after.unwrap_or(u64::MAX);
        let answer = tokio::select! {
            _ = cancel.cancelled() => return,
            a = astrow.notifications(if from == u64::MAX { 0 } else { from }, 1000, Duration::from_secs(20)) => a,
        };
        match answer {
            Ok(n) => {
                failures = 0;
                let first_look = after.is_none();
                after = Some(n.last_seq);
                // The first answer only finds where the feed stands now.
                if !first_look && !n.items.is_empty() {
                    tracing::info!(changes = n.items.len(), "Astrow employee changes: planning");
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    trigger.notify_one();
                }
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %e, "Astrow notifications");
                let wait = crate::http::backoff_delay(
                    &crate::http::RetryPolicy {
                        max_attempts: u32::MAX,
                        base_delay: Duration::from_millis(500),
                        max_delay: Duration::from_secs(30),
                    },
                    failures,
                    None,
                );
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

impl Engine {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut internal: mpsc::Receiver<Internal>,
        mut apply_requests: mpsc::Receiver<String>,
        tasks: Vec<JoinHandle<()>>,
    ) {
        let mut bookings_view = self.bookings.as_ref().map(|b| b.view.clone());
        self.core.apply(Internal::JobStarted(JobKind::Bookings));
        self.core.publish();
        self.resume_interrupted_apply().await;
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                cmd = commands.recv() => match cmd {
                    Some(Command::Shutdown) | None => break,
                    Some(cmd) => self.command(cmd).await,
                },
                Some(msg) = internal.recv() => {
                    self.report_in(msg);
                    // Take every report that is already waiting: one snapshot for all.
                    while let Ok(more) = internal.try_recv() {
                        self.report_in(more);
                    }
                }
                Some(plan_id) = apply_requests.recv() => self.start_apply(plan_id, true).await,
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
                        self.core.set_bookings(view);
                    }
                }
            }
            self.core.publish();
        }
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
        tracing::info!("engine stopped");
    }

    /// A job's report: into the picture, and finished runs into the store.
    fn report_in(&mut self, msg: Internal) {
        if let Internal::JobFinished { kind, run } = &msg
            && *kind != JobKind::Heartbeat
        {
            let (job, result) = (
                format!("{kind:?}").to_lowercase(),
                if run.ok {
                    format!("ok: {}", run.summary)
                } else {
                    format!("failed: {}", run.summary)
                },
            );
            let store = self.store.clone();
            tokio::spawn(async move {
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
        self.core.apply(msg);
    }

    fn notice(&self, level: EventLevel, message: impl Into<String>) {
        let message = message.into();
        match level {
            EventLevel::Error => tracing::error!("{message}"),
            EventLevel::Warning => tracing::warn!("{message}"),
            EventLevel::Info => tracing::info!("{message}"),
        }
        self.core.notice(level, message);
    }

    fn refuse_read_only(&self, what: &str) -> bool {
        if self.opts.read_only {
            self.notice(
                EventLevel::Warning,
                format!("read-only: {what} refused (started with --read-only)"),
            );
        }
        self.opts.read_only
    }

    async fn command(&mut self, cmd: Command) {
        match cmd {
            Command::RunNow(kind) => {
                if let Some(t) = self.triggers.get(&kind) {
                    t.notify_one();
                }
            }
            Command::Approve(ids) => self.set_states(ids, PlanState::Approved).await,
            Command::Reject(ids) => self.set_states(ids, PlanState::Rejected).await,
            Command::Apply {
                plan_id,
                allow_held,
            } => {
                let held = self
                    .core
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
                    _ => self.start_apply(plan_id, false).await,
                }
            }
            Command::Pause => {
                self.paused.send_replace(true);
                self.core.apply(Internal::Paused(true));
                self.notice(EventLevel::Info, "scheduled syncs paused");
            }
            Command::Resume => {
                self.paused.send_replace(false);
                self.core.apply(Internal::Paused(false));
                self.notice(EventLevel::Info, "scheduled syncs resumed");
            }
            Command::ReloadSettings => self.reload().await,
            Command::OpenDoor { reader_id } => self.open_door(reader_id),
            Command::StartRollCall => self.roll_call(true).await,
            Command::StopRollCall => self.roll_call(false).await,
            Command::Shutdown => self.cancel.cancel(),
        }
    }

    async fn set_states(&mut self, ids: Vec<String>, state: PlanState) {
        if self.refuse_read_only("approving or rejecting changes") {
            return;
        }
        let Some(plan) = self.core.snapshot().plan.clone() else {
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
                let to = super::views::item_state(state);
                for item in &mut view.items {
                    if ids.contains(&item.id)
                        && matches!(
                            item.state,
                            ItemState::Pending | ItemState::Approved | ItemState::Rejected
                        )
                    {
                        item.state = to;
                    }
                }
                self.core.apply(Internal::Plan(Some(Arc::new(view))));
            }
            Err(e) => self.notice(EventLevel::Error, e),
        }
    }

    /// An apply that a stop or a crash cut short is finished first: its
    /// approved items that are not done run now (each re-checks its target,
    /// so nothing is written twice). Older interrupted plans are retired.
    async fn resume_interrupted_apply(&mut self) {
        if let Some((plan_id, held)) = self.resume.take() {
            self.notice(
                EventLevel::Warning,
                format!("resuming the apply of plan {plan_id}, which was interrupted"),
            );
            self.start_apply_holding(plan_id, false, Some(held)).await;
        }
    }

    async fn start_apply(&mut self, plan_id: String, auto: bool) {
        self.start_apply_holding(plan_id, auto, None).await;
    }

    async fn start_apply_holding(
        &mut self,
        plan_id: String,
        auto: bool,
        held: Option<tokio::sync::OwnedMutexGuard<()>>,
    ) {
        if self.refuse_read_only("applying a plan") {
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
                self.notice(EventLevel::Warning, "an apply is already running");
            }
            return;
        }
        if auto {
            // Auto mode approves every item but conflicts (a person resolves
            // those). From the store, not the snapshot: the job's report of
            // this plan may not have reached the snapshot yet.
            let pid = plan_id.clone();
            let approved = self
                .store
                .call("approve the plan's items", move |s| {
                    let plan = s.load_plan(&pid)?;
                    let ids: Vec<String> = plan
                        .items
                        .iter()
                        .filter(|i| {
                            i.state == PlanState::Pending
                                && i.action != ActionKind::Conflict.as_str()
                        })
                        .map(|i| i.item_id.clone())
                        .collect();
                    s.set_item_states(&pid, Selection::Items(&ids), PlanState::Approved)?;
                    Ok(ids)
                })
                .await;
            match approved {
                Ok(ids) => {
                    let ids: std::collections::HashSet<String> = ids.into_iter().collect();
                    if let Some(plan) = self
                        .core
                        .snapshot()
                        .plan
                        .clone()
                        .filter(|p| p.plan_id == plan_id)
                    {
                        let mut view = (*plan).clone();
                        for item in &mut view.items {
                            if ids.contains(&item.id) {
                                item.state = ItemState::Approved;
                            }
                        }
                        self.core.apply(Internal::Plan(Some(Arc::new(view))));
                    }
                }
                Err(e) => {
                    self.notice(EventLevel::Error, e);
                    return;
                }
            }
        }
        let ctx = ApplyCtx {
            pac: self.pac.clone(),
            astrow: self.astrow.clone(),
            store: self.store.clone(),
            concurrency: 4,
        };
        let report = self.report.clone();
        let cancel = self.cancel.clone();
        let rerun = self.triggers.get(&JobKind::Employees).cloned();
        self.notice(EventLevel::Info, format!("applying plan {plan_id}"));
        let writing = self.writing.clone();
        self.apply_running = Some(tokio::spawn(async move {
            let _writing = match held {
                Some(g) => g,
                None => writing.lock_owned().await,
            };
            let r2 = report.clone();
            let progress = move |p: super::snapshot::ApplyProgress| {
                let _ = r2.try_send(Internal::Apply(Arc::new(p)));
            };
            let result = apply_plan(&ctx, &plan_id, &progress, &cancel).await;
            // Plan again when the apply changed something or left stale items
            // to re-plan. Not when every item failed: in auto mode the new plan
            // would carry the same failing items, be applied at once and fail
            // again, in a tight loop against both systems. Those wait for the
            // next scheduled sync.
            let replan = matches!(&result, Ok(p) if p.applied + p.stale > 0);
            let (level, message) = match result {
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
            let _ = report.send(Internal::Notice(level, message)).await;
            let id = plan_id.clone();
            if let Ok(stored) = ctx
                .store
                .call("read the apply's outcome", move |s| s.load_plan(&id))
                .await
            {
                let items = stored
                    .items
                    .iter()
                    .map(|i| {
                        (
                            i.item_id.clone(),
                            super::views::item_state(i.state),
                            i.detail.clone(),
                        )
                    })
                    .collect();
                let _ = report.send(Internal::ItemOutcomes { plan_id, items }).await;
            }
            // Plan again: stale items are re-planned, applied ones vanish.
            if replan && let Some(t) = rerun {
                t.notify_one();
            }
        }));
    }

    async fn reload(&mut self) {
        let loaded = match config::load(&self.opts.config_path) {
            Ok(l) => l,
            Err(e) => {
                self.notice(EventLevel::Error, format!("settings not reloaded: {e}"));
                return;
            }
        };
        let new = loaded.settings;
        let old = self.settings.borrow().clone();
        // Published first: a plan being made now either sees the new settings
        // when it is saved (and is dropped), or is saved before the pending
        // plans are voided below.
        self.settings.send_replace(Arc::new(new.clone()));
        if new.sync.master != old.sync.master
            || new.sync.delete_employees_on_sync != old.sync.delete_employees_on_sync
        {
            let r = self
                .store
                .call("invalidate pending plans", |s| {
                    s.invalidate_pending_plans("the master or the delete setting changed")
                })
                .await;
            if let Err(e) = r {
                self.notice(EventLevel::Error, e);
            }
            self.core.apply(Internal::Plan(None));
            self.notice(
                EventLevel::Warning,
                "the master or the delete setting changed: pending plans are void, planning again",
            );
            if let Some(t) = self.triggers.get(&JobKind::Employees) {
                t.notify_one();
            }
        }
        for (kind, every) in [
            (JobKind::Employees, new.sync.employee_interval_s),
            (JobKind::Definitions, new.sync.definitions_interval_s),
            (JobKind::Heartbeat, new.bookings.heartbeat_interval_s),
        ] {
            if let Some(tx) = self.intervals.get(&kind) {
                tx.send_replace(secs(every));
            }
        }
        if let Some(b) = &self.bookings {
            b.rules
                .send_replace(Arc::new(booking_rules(&new, self.roll_call)));
        }
        if new.pac != old.pac || new.astrow != old.astrow {
            self.notice(
                EventLevel::Warning,
                "connection settings changed: restart astrow-pac to connect with them",
            );
        }
        self.core
            .apply(Internal::Settings(settings_summary(&new, &self.opts)));
        self.notice(EventLevel::Info, "settings reloaded");
    }

    fn open_door(&mut self, reader_id: u32) {
        if self.refuse_read_only("opening a door") {
            return;
        }
        let pac = self.pac.clone();
        let store = self.store.clone();
        let report = self.report.clone();
        tokio::spawn(async move {
            let result = pac.open_door(reader_id).await;
            let text = match &result {
                Ok(()) => "ok".to_string(),
                Err(e) => format!("failed: {e}"),
            };
            let record = AuditRecord {
                system: System::Pac,
                action: "open_door".into(),
                record: format!("reader {reader_id}"),
                before: None,
                after: None,
                result: text.clone(),
            };
            let _ = store
                .call("audit a door opening", move |s| s.append_audit(&record))
                .await;
            let (level, message) = match result {
                Ok(()) => (
                    EventLevel::Info,
                    format!("door of reader {reader_id} opened for 5 seconds"),
                ),
                Err(e) => (
                    EventLevel::Error,
                    format!("door of reader {reader_id} not opened: {e}"),
                ),
            };
            let _ = report.send(Internal::Notice(level, message)).await;
        });
    }

    async fn roll_call(&mut self, start: bool) {
        if self.refuse_read_only("a roll call") {
            return;
        }
        let path = self.store.database_path();
        let r = tokio::task::spawn_blocking(move || -> Result<(), String> {
            let conn = crate::store::db::open_connection(&path).map_err(|e| e.to_string())?;
            if start {
                ledger::start_roll_call(&conn, chrono::Utc::now()).map_err(|e| e.to_string())?;
            } else {
                ledger::stop_roll_call(&conn).map_err(|e| e.to_string())?;
            }
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        match r {
            Ok(()) => {
                self.roll_call = start;
                if let Some(b) = &self.bookings {
                    let settings = self.settings.borrow().clone();
                    b.rules
                        .send_replace(Arc::new(booking_rules(&settings, start)));
                }
                self.notice(
                    EventLevel::Warning,
                    if start {
                        "roll call started: swipes on roll-call readers confirm people as safe"
                    } else {
                        "roll call stopped"
                    },
                );
            }
            Err(e) => self.notice(EventLevel::Error, format!("roll call: {e}")),
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
