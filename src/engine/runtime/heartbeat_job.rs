//! Starts the health probes and the heartbeat Astrow shows the service by.

use std::sync::Arc;

use tokio::sync::watch;

use super::wiring::{Wiring, secs};
use crate::config::Settings;
use crate::engine::jobs::heartbeat;
use crate::engine::jobs::scheduler::{JobControl, run_scheduled};
use crate::engine::snapshot::{JobKind, Snapshot};

pub(super) fn start(
    w: &mut Wiring,
    settings: &Settings,
    snapshots: watch::Receiver<Arc<Snapshot>>,
) {
    let ctl = w.job_control(
        JobKind::Heartbeat,
        secs(settings.bookings.heartbeat_interval_s),
    );
    // Pausing the syncs never stops the heartbeat: Astrow would show the
    // service red while bookings still flow.
    let ctl = JobControl {
        paused: watch::channel(false).1,
        ..ctl
    };
    let (p, a, r) = (w.pac.clone(), w.astrow.clone(), w.report.clone());
    let read_only = w.read_only;
    let site = w.site.clone();
    w.spawn(run_scheduled(ctl, move || {
        let (p, a, r, snaps) = (p.clone(), a.clone(), r.clone(), snapshots.clone());
        let refusal = site.borrow().clone();
        async move { heartbeat::run_once(&p, &a, &snaps, &r, !read_only, refusal).await }
    }));
}

/// Proof that nothing was lost: the last 24 hours, every hour (it only
/// reads, so it runs in read-only mode too).
pub(super) fn start_reconcile(w: &mut Wiring) {
    let ctl = w.job_control(JobKind::Reconcile, crate::engine::jobs::reconcile::EVERY);
    let (p, a, s, st) = (
        w.pac.clone(),
        w.astrow.clone(),
        w.settings.clone(),
        w.store.clone(),
    );
    let site = w.site.clone();
    w.spawn(run_scheduled(ctl, move || {
        let (p, a, s, st) = (p.clone(), a.clone(), s.clone(), st.clone());
        let refusal = site.borrow().clone();
        async move {
            // Another site's ledger against this site's systems proves
            // nothing, and a clean result would trim the old site's ledger.
            if let Some(why) = refusal {
                return Err(format!("no reconciliation: {why}"));
            }
            crate::engine::jobs::reconcile::scheduled(&p, &a, &s, &st).await
        }
    }));
}
