//! Runs one job on its interval, on demand ("run now"), paused or not, and
//! reports each run to the engine state.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::engine::snapshot::{JobKind, JobRun};
use crate::engine::state::Internal;

/// What a scheduled job listens to.
#[derive(Clone)]
pub struct JobControl {
    pub kind: JobKind,
    /// "Run now".
    pub trigger: std::sync::Arc<Notify>,
    pub paused: watch::Receiver<bool>,
    pub interval: watch::Receiver<Duration>,
    pub cancel: CancellationToken,
    pub report: mpsc::Sender<Internal>,
}

/// A run that did its work, and whether it ends in a warning (something
/// refused or held that a person should look at: the summary says what).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDone {
    pub summary: String,
    pub warning: bool,
}

impl From<String> for JobDone {
    fn from(summary: String) -> JobDone {
        JobDone {
            summary,
            warning: false,
        }
    }
}

/// Loop: wait for the interval (the first run is at once) or a trigger; skip
/// scheduled runs while paused (a "run now" still runs); run; report.
/// The job returns a one-line summary, or the error in words.
pub async fn run_scheduled<F, Fut, D>(ctl: JobControl, mut job: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<D, String>>,
    D: Into<JobDone>,
{
    let mut paused = ctl.paused.clone();
    let mut first = true;
    // A failed run is tried again sooner than the interval (5 s doubling,
    // jittered, up to 2 min): one lost answer must not hold a job's result
    // back for a whole interval (the definitions job's reader list gates
    // the Astrow -> PAC bookings).
    let mut backoff = crate::http::Backoff::new(Duration::from_secs(5), Duration::from_secs(120));
    let mut retry: Option<Duration> = None;
    loop {
        let interval = *ctl.interval.borrow();
        let wait = match (first, retry) {
            (true, _) => Duration::ZERO,
            (false, Some(r)) => r.min(interval),
            (false, None) => interval,
        };
        first = false;
        let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
        let _ = ctl
            .report
            .send(Internal::NextRun {
                kind: ctl.kind,
                at: Some(next),
            })
            .await;
        let triggered = tokio::select! {
            _ = ctl.cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => false,
            _ = ctl.trigger.notified() => true,
        };
        if *paused.borrow_and_update() && !triggered {
            let _ = ctl
                .report
                .send(Internal::NextRun {
                    kind: ctl.kind,
                    at: None,
                })
                .await;
            // Wait for resume or an explicit run.
            tokio::select! {
                _ = ctl.cancel.cancelled() => return,
                _ = paused.wait_for(|p| !*p) => {}
                _ = ctl.trigger.notified() => {}
            }
        }
        let started = Utc::now();
        let _ = ctl.report.send(Internal::JobStarted(ctl.kind)).await;
        let result = tokio::select! {
            _ = ctl.cancel.cancelled() => return,
            r = job() => r,
        };
        let (ok, warning, summary) = match result.map(Into::into) {
            Ok(d) => (true, d.warning, d.summary),
            Err(e) => (false, false, e),
        };
        if ok {
            backoff.succeeded();
            retry = None;
        } else {
            tracing::warn!(job = ctl.kind.title(), error = %summary, "job failed");
            retry = Some(backoff.failed(None));
        }
        let _ = ctl
            .report
            .send(Internal::JobFinished {
                kind: ctl.kind,
                run: JobRun {
                    started,
                    finished: Some(Utc::now()),
                    ok,
                    warning,
                    summary,
                },
            })
            .await;
    }
}
