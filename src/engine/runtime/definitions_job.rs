//! Starts the definitions mirror (PAC's readers and the rest into Astrow)
//! and publishes the readers Astrow's mirror holds once it ran.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::watch;

use super::wiring::{Wiring, secs};
use crate::config::Settings;
use crate::engine::jobs::definitions;
use crate::engine::jobs::scheduler::run_scheduled;
use crate::engine::snapshot::JobKind;
use crate::engine::state::Internal;

/// Astrow's reader mirror, PAC reader id -> serial (`None` until the job ran).
pub(super) type MirroredSerials = watch::Receiver<Option<Arc<HashMap<u32, String>>>>;

pub(super) fn start(
    w: &mut Wiring,
    settings: &Settings,
    decisions: definitions::MirrorDecisions,
) -> MirroredSerials {
    let ctl = w.job_control(
        JobKind::Definitions,
        secs(settings.sync.definitions_interval_s),
    );
    let (mirror_tx, mirror_rx) = watch::channel::<Option<Arc<HashMap<u32, String>>>>(None);
    let job = definitions::DefinitionsJob {
        pac: w.pac.clone(),
        astrow: w.astrow.clone(),
        store: w.store.clone(),
        decisions,
    };
    let (s, r) = (w.settings.clone(), w.report.clone());
    let read_only = w.read_only;
    let site = w.site.clone();
    w.spawn(run_scheduled(ctl, move || {
        let (job, s, r, mirror) = (job.clone(), s.clone(), r.clone(), mirror_tx.clone());
        let refusal = site.borrow().clone();
        async move {
            // Another site's store: neither read into the view nor written.
            if let Some(why) = refusal {
                return Err(format!("definitions not mirrored: {why}"));
            }
            let settings = s.borrow().clone();
            let synced = definitions::sync(&job, &settings, !read_only).await;
            crate::engine::set_aside::publish(&job.store, &r).await;
            let (done, view) = synced?;
            mirror.send_replace(Some(Arc::new(
                view.astrow_readers
                    .iter()
                    .map(|r| (r.id, r.serial.clone()))
                    .collect(),
            )));
            let _ = r.send(Internal::Definitions(view)).await;
            Ok(done)
        }
    }));
    mirror_rx
}
