//! The engine's state, its picture of itself (the tasks that change it are
//! `runtime`): jobs report to it, it assembles and publishes immutable
//! snapshots. Plain state changes, tested without I/O.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, watch};

use super::command::{EngineEvent, EventLevel};
use super::snapshot::{
    ApplyProgress, BookingsView, DefinitionsView, EmployeeRow, ItemState, JobKind, JobRun,
    JobState, JobStatus, PlanView, SettingsSummary, Snapshot, SystemHealth,
};
use crate::model::System;

/// How one item of an applied plan ended, for the plan's view.
#[derive(Debug, Clone)]
pub struct ItemOutcomeView {
    pub id: String,
    pub state: ItemState,
    /// Why it failed (the last error) or went stale.
    pub message: Option<String>,
    pub attempts: u32,
    pub retry_at: Option<DateTime<Utc>>,
    pub failure_kind: Option<super::item_error::FailureKind>,
}

/// Runs kept per job in the snapshot.
pub const JOB_HISTORY: usize = 20;

/// What jobs tell the engine state.
#[derive(Debug, Clone)]
pub enum Internal {
    NextRun {
        kind: JobKind,
        at: Option<DateTime<Utc>>,
    },
    JobStarted(JobKind),
    JobFinished {
        kind: JobKind,
        run: JobRun,
    },
    Health {
        system: System,
        health: SystemHealth,
    },
    Employees(Arc<Vec<EmployeeRow>>),
    Plan(Option<Arc<PlanView>>),
    Apply(Arc<ApplyProgress>),
    /// How the items of an applied plan ended (id, state, message): the
    /// pending plan's view shows them until the next sync replaces it.
    ItemOutcomes {
        plan_id: String,
        items: Vec<ItemOutcomeView>,
    },
    Definitions(Arc<DefinitionsView>),
    /// Every record the last reads set aside as unreadable.
    Unreadable(Arc<Vec<super::snapshot::UnreadableView>>),
    Settings(SettingsSummary),
    Paused(bool),
    /// The store is bound to another site (`None`: the settings' site), and
    /// the old site's bookings still to be sent.
    SiteRefusal {
        reason: Option<String>,
        old_site_pending: u64,
    },
    Notice(EventLevel, String),
    /// The Astrow -> PAC bookings, as the job's monitor sees them.
    AstrowToPac(Arc<crate::engine::astrow_to_pac::AstrowToPacView>),
}

pub struct EngineState {
    snapshot: Snapshot,
    out: watch::Sender<Arc<Snapshot>>,
    events: broadcast::Sender<EngineEvent>,
}

impl EngineState {
    pub fn new(
        settings: SettingsSummary,
        out: watch::Sender<Arc<Snapshot>>,
        events: broadcast::Sender<EngineEvent>,
    ) -> EngineState {
        let jobs = [
            JobKind::Employees,
            JobKind::Definitions,
            JobKind::Bookings,
            JobKind::Heartbeat,
            JobKind::Reconcile,
        ]
        .into_iter()
        .map(|kind| JobStatus {
            kind,
            state: JobState::Idle,
            last_run: None,
            next_run: None,
            history: Vec::new(),
        })
        .collect();
        EngineState {
            snapshot: Snapshot {
                settings,
                jobs,
                ..Snapshot::default()
            },
            out,
            events,
        }
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Apply one report to the picture (nothing is published yet).
    pub fn apply(&mut self, msg: Internal) {
        let s = &mut self.snapshot;
        match msg {
            Internal::NextRun { kind, at } => {
                if let Some(j) = job(s, kind) {
                    j.next_run = at;
                    if at.is_none() && j.state != JobState::Running {
                        j.state = JobState::Paused;
                    }
                }
            }
            Internal::JobStarted(kind) => {
                if let Some(j) = job(s, kind) {
                    j.state = JobState::Running;
                }
            }
            Internal::JobFinished { kind, run } => {
                let failed = !run.ok;
                let warning = run.ok && run.warning;
                let line = format!("{}: {}", kind.title(), run.summary);
                if let Some(j) = job(s, kind) {
                    j.state = if failed {
                        JobState::Failed
                    } else if warning {
                        JobState::Warning
                    } else {
                        JobState::Idle
                    };
                    j.history.push(run.clone());
                    if j.history.len() > JOB_HISTORY {
                        j.history.remove(0);
                    }
                    j.last_run = Some(run);
                }
                // Frequent quiet jobs do not flood the event stream.
                if failed || kind == JobKind::Employees || kind == JobKind::Definitions {
                    let level = if failed {
                        EventLevel::Error
                    } else if warning {
                        EventLevel::Warning
                    } else {
                        EventLevel::Info
                    };
                    self.notice(level, line);
                }
            }
            Internal::Health { system, mut health } => {
                let slot = match system {
                    System::Pac => &mut s.health.pac,
                    System::Astrow => &mut s.health.astrow,
                };
                // A failed probe keeps the time of the last good contact.
                if health.last_contact.is_none() {
                    health.last_contact = slot.last_contact;
                }
                *slot = health;
            }
            Internal::Employees(rows) => s.employees = rows,
            Internal::Plan(plan) => s.plan = plan,
            Internal::Apply(progress) => s.apply = Some(progress),
            Internal::ItemOutcomes { plan_id, items } => {
                if let Some(plan) = s.plan.as_ref().filter(|p| p.plan_id == plan_id) {
                    let mut view = (**plan).clone();
                    let by_id: std::collections::HashMap<_, _> =
                        items.into_iter().map(|o| (o.id.clone(), o)).collect();
                    for item in &mut view.items {
                        if let Some(o) = by_id.get(&*item.id) {
                            item.state = o.state;
                            item.message = o.message.as_deref().map(Box::from);
                            item.attempts = o.attempts;
                            item.retry_at = o.retry_at;
                            item.failure_kind = o.failure_kind;
                        }
                    }
                    s.plan = Some(Arc::new(view));
                }
            }
            Internal::Definitions(d) => s.definitions = d,
            Internal::Unreadable(u) => s.unreadable = u,
            Internal::Settings(summary) => s.settings = summary,
            Internal::SiteRefusal {
                reason,
                old_site_pending,
            } => {
                s.site_refusal = reason;
                s.old_site_pending = old_site_pending;
            }
            Internal::Paused(p) => {
                s.paused = p;
                for j in &mut s.jobs {
                    if p && j.state == JobState::Idle {
                        j.state = JobState::Paused;
                    } else if !p && j.state == JobState::Paused {
                        j.state = JobState::Idle;
                    }
                }
            }
            Internal::Notice(level, message) => self.notice(level, message),
            Internal::AstrowToPac(v) => s.astrow_to_pac = v,
        }
    }

    pub fn set_bookings(&mut self, view: Arc<BookingsView>) {
        self.snapshot.bookings = view;
    }

    /// Tell readers something (status line, log pane). A reader that lags
    /// loses the oldest notices; the engine never waits for it.
    pub fn notice(&self, level: EventLevel, message: String) {
        let _ = self.events.send(EngineEvent {
            time: Utc::now(),
            level,
            message,
            answer: None,
        });
    }

    /// Where answers to queries go (the same stream as notices: they reach
    /// attached consoles the same way); each answer names its query.
    pub fn answers(&self) -> broadcast::Sender<EngineEvent> {
        self.events.clone()
    }

    /// Publish the current picture as a new immutable snapshot.
    pub fn publish(&mut self) {
        self.snapshot.version += 1;
        self.snapshot.generated_at = Some(Utc::now());
        self.out.send_replace(Arc::new(self.snapshot.clone()));
    }
}

fn job(s: &mut Snapshot, kind: JobKind) -> Option<&mut JobStatus> {
    s.jobs.iter_mut().find(|j| j.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::handle::channels;

    fn core() -> (EngineState, crate::engine::handle::EngineHandle) {
        let (handle, ch) = channels();
        (
            EngineState::new(SettingsSummary::default(), ch.snapshots, ch.events),
            handle,
        )
    }

    #[test]
    fn a_job_run_moves_through_running_to_its_result_and_is_kept_in_history() {
        let (mut c, mut h) = core();
        c.apply(Internal::JobStarted(JobKind::Employees));
        assert_eq!(c.snapshot().jobs[0].state, JobState::Running);
        let run = JobRun {
            started: Utc::now(),
            finished: Some(Utc::now()),
            ok: false,
            warning: false,
            summary: "PAC unreachable".into(),
        };
        c.apply(Internal::JobFinished {
            kind: JobKind::Employees,
            run,
        });
        let j = &c.snapshot().jobs[0];
        assert_eq!(j.state, JobState::Failed);
        assert_eq!(j.history.len(), 1);
        let ev = h.events.try_recv().unwrap();
        assert_eq!(ev.level, EventLevel::Error);
        assert!(ev.message.contains("PAC unreachable"));
    }

    #[test]
    fn history_is_bounded() {
        let (mut c, _h) = core();
        for i in 0..(JOB_HISTORY + 5) {
            c.apply(Internal::JobFinished {
                kind: JobKind::Heartbeat,
                run: JobRun {
                    started: Utc::now(),
                    finished: None,
                    ok: true,
                    warning: false,
                    summary: format!("{i}"),
                },
            });
        }
        let j = c
            .snapshot()
            .jobs
            .iter()
            .find(|j| j.kind == JobKind::Heartbeat)
            .unwrap();
        assert_eq!(j.history.len(), JOB_HISTORY);
        assert_eq!(
            j.history.last().unwrap().summary,
            format!("{}", JOB_HISTORY + 4)
        );
    }

    #[test]
    fn publishing_bumps_the_version_readers_see() {
        let (mut c, h) = core();
        c.apply(Internal::Paused(true));
        c.publish();
        let s = h.snapshots.borrow().clone();
        assert_eq!(s.version, 1);
        assert!(s.paused);
        assert!(s.jobs.iter().all(|j| j.state == JobState::Paused));
    }
}
