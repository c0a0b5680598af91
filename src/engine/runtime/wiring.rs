//! What every job is started with: the connectors, the store, the settings
//! as published, the report channel, the pause switch and the stop signal;
//! and what starting them collects: each job's "run now" trigger, its
//! interval, and its task.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::astrow::AstrowClient;
use crate::config::Settings;
use crate::engine::jobs::scheduler::JobControl;
use crate::engine::snapshot::JobKind;
use crate::engine::state::Internal;
use crate::engine::store_handle::StoreHandle;
use crate::pac::PacClient;

pub(super) struct Wiring {
    pub pac: PacClient,
    pub astrow: AstrowClient,
    pub store: StoreHandle,
    pub settings: watch::Receiver<Arc<Settings>>,
    pub report: mpsc::Sender<Internal>,
    pub paused: watch::Receiver<bool>,
    pub cancel: CancellationToken,
    pub read_only: bool,
    /// Why nothing may be written: the store is bound to another site
    /// (`None`: the settings' site). Cleared by a re-bind.
    pub site: watch::Receiver<Option<String>>,
    pub triggers: HashMap<JobKind, Arc<Notify>>,
    pub intervals: HashMap<JobKind, watch::Sender<Duration>>,
    pub tasks: Vec<JoinHandle<()>>,
}

impl Wiring {
    /// The controls of a scheduled job: its trigger and interval are kept
    /// for the command loop ("run now", settings reload).
    pub fn job_control(&mut self, kind: JobKind, every: Duration) -> JobControl {
        let trigger = Arc::new(Notify::new());
        let (itx, irx) = watch::channel(every);
        self.triggers.insert(kind, trigger.clone());
        self.intervals.insert(kind, itx);
        JobControl {
            kind,
            trigger,
            paused: self.paused.clone(),
            interval: irx,
            cancel: self.cancel.clone(),
            report: self.report.clone(),
        }
    }

    /// Run `task` until the engine stops; the command loop waits for it.
    pub fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.push(tokio::spawn(task));
    }

    pub fn trigger(&self, kind: JobKind) -> Option<Arc<Notify>> {
        self.triggers.get(&kind).cloned()
    }
}

/// A job's interval from settings in seconds (never zero).
pub(super) fn secs(s: u64) -> Duration {
    Duration::from_secs(s.max(1))
}
