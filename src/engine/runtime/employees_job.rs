//! Starts the employee sync: plan on its interval, and in auto mode hand
//! each plan with work in it to the command loop to apply. Also finds the
//! apply a stop or crash cut short, which runs before any new plan.

use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard, mpsc, watch};

use super::EngineError;
use super::wiring::{Wiring, secs};
use crate::config::{ApplyMode, Settings};
use crate::engine::jobs::employees::EmployeeJob;
use crate::engine::jobs::employees::SyncResult;
use crate::engine::jobs::scheduler::run_scheduled;
use crate::engine::people::People;
use crate::engine::snapshot::JobKind;
use crate::engine::store_handle::StoreHandle;

/// What the employee job hands on: the linked people (for the booking
/// import) and the plans auto mode applies.
pub(super) struct EmployeeOutputs {
    pub people: watch::Receiver<Option<Arc<People>>>,
    pub apply_requests: mpsc::Receiver<ApplyRequest>,
}

pub(super) fn start(
    w: &mut Wiring,
    settings: &Settings,
    writing: Arc<Mutex<()>>,
) -> EmployeeOutputs {
    let ctl = w.job_control(JobKind::Employees, secs(settings.sync.employee_interval_s));
    let (people_tx, people) = watch::channel::<Option<Arc<People>>>(None);
    let (apply_tx, apply_requests) = mpsc::channel::<ApplyRequest>(8);
    let job = EmployeeJob {
        writing,
        pac: w.pac.clone(),
        astrow: w.astrow.clone(),
        store: w.store.clone(),
        settings: w.settings.clone(),
        report: w.report.clone(),
        people: people_tx,
    };
    let auto = w.settings.clone();
    let read_only = w.read_only;
    w.spawn(run_scheduled(ctl, move || {
        let job = job.clone();
        let auto = auto.clone();
        let apply_tx = apply_tx.clone();
        async move {
            let r = job.run().await?;
            let auto_apply = auto.borrow().sync.apply == ApplyMode::Auto;
            if let Some(request) = apply_request(&r, auto_apply, read_only) {
                let _ = apply_tx.send(request).await;
            }
            Ok(r.summary)
        }
    }));
    EmployeeOutputs {
        people,
        apply_requests,
    }
}

/// What the employee job asks of the command loop after a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ApplyRequest {
    /// Auto mode: approve every pending item (and failed ones due) and apply.
    Auto(String),
    /// Manual mode: try again the failed items whose wait is over (a person
    /// approved them); other approvals wait for the person's apply.
    RetryFailed(String),
}

/// The apply a sync calls for, if any. A held plan waits for a person.
fn apply_request(r: &SyncResult, auto: bool, read_only: bool) -> Option<ApplyRequest> {
    let id = r.plan_id.clone()?;
    if read_only || r.held {
        return None;
    }
    if auto && r.to_apply > 0 {
        Some(ApplyRequest::Auto(id))
    } else if !auto && r.retry_due > 0 {
        Some(ApplyRequest::RetryFailed(id))
    } else {
        None
    }
}

/// An apply cut short is resumed first, and nothing is planned before it
/// ends (a plan made now would repeat its unfinished creates): its lock is
/// taken before the employee job starts. The interrupted plans, oldest
/// first: the older are retired by the resume, after a check of what their
/// applies began (see `ApplyRun`).
pub(super) async fn find_interrupted_apply(
    store: &StoreHandle,
    writing: &Arc<Mutex<()>>,
    read_only: bool,
) -> Result<Option<(Vec<String>, OwnedMutexGuard<()>)>, EngineError> {
    if read_only {
        return Ok(None);
    }
    let found = store
        .call("find an interrupted apply", |s| s.interrupted_plans())
        .await
        .map_err(EngineError::StoreCall)?;
    Ok(if found.is_empty() {
        None
    } else {
        Some((found, writing.clone().lock_owned().await))
    })
}
