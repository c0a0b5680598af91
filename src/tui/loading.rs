//! Whether the engine's first picture of the employees is still on its way.
//!
//! The console draws its first frame at once, before the engine's first
//! employee sync has listed both systems (seconds at 100,000 employees a
//! side). Until that sync ends, the panes that show its results say
//! "loading" instead of "no employees" or "nothing pending".

use super::state::AppState;
use crate::engine::snapshot::{JobKind, JobState, Snapshot};

/// What a pane shows while the first employee sync runs.
pub const EMPLOYEES_LOADING: &str = "loading: the first employee sync is reading both systems";

/// The console's employees and plan are still loading (see the module).
pub fn employees_loading(s: &AppState) -> bool {
    !s.settings.first_run && !s.engine_gone && first_sync_pending(&s.snap)
}

/// No employees, no plan, and the engine's employee sync has not ended a
/// run yet (or the engine has not published its first snapshot). A paused
/// engine or a store of another site runs no sync: nothing is loading.
pub fn first_sync_pending(snap: &Snapshot) -> bool {
    if !snap.employees.is_empty()
        || snap.plan.is_some()
        || snap.site_refusal.is_some()
        || snap.paused
    {
        return false;
    }
    match snap.jobs.iter().find(|j| j.kind == JobKind::Employees) {
        None => snap.generated_at.is_none(),
        Some(job) => {
            matches!(job.state, JobState::Idle | JobState::Running)
                && !job
                    .history
                    .iter()
                    .chain(job.last_run.as_ref())
                    .any(|r| r.finished.is_some())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::snapshot::JobStatus;
    use crate::tui::testkit::{snapshot, snapshot_with};

    fn first_start() -> Snapshot {
        let mut snap = snapshot_with(0, 0, false);
        snap.plan = None;
        for job in &mut snap.jobs {
            job.last_run = None;
            job.history.clear();
        }
        snap
    }

    #[test]
    fn loading_until_the_first_employee_sync_ends() {
        assert!(first_sync_pending(&Snapshot::default()), "no snapshot yet");
        let mut snap = first_start();
        assert!(first_sync_pending(&snap));
        fn job(s: &mut Snapshot) -> Option<&mut JobStatus> {
            s.jobs.iter_mut().find(|j| j.kind == JobKind::Employees)
        }
        if let Some(j) = job(&mut snap) {
            j.state = JobState::Running;
        }
        assert!(first_sync_pending(&snap), "running, never ended");
        let ended = snapshot().jobs[0].last_run.clone();
        if let Some(j) = job(&mut snap) {
            j.last_run = ended;
            j.state = JobState::Failed;
        }
        assert!(
            !first_sync_pending(&snap),
            "a failed sync says why, not loading"
        );
    }

    #[test]
    fn not_loading_with_employees_a_plan_a_pause_or_another_site() {
        assert!(!first_sync_pending(&snapshot()));
        let mut with_plan = first_start();
        with_plan.plan = snapshot().plan;
        assert!(!first_sync_pending(&with_plan));
        let mut paused = first_start();
        paused.paused = true;
        assert!(!first_sync_pending(&paused));
        let mut refused = first_start();
        refused.site_refusal = Some("bound to another site".into());
        assert!(!first_sync_pending(&refused));
        let mut no_job = first_start();
        no_job.jobs.retain(|j| j.kind != JobKind::Employees);
        assert!(
            !first_sync_pending(&no_job),
            "a published snapshot without the sync"
        );
    }
}
