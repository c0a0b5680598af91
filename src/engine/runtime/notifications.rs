//! Starts the Astrow notification watcher: while Astrow is master, a change
//! in Astrow reaches PAC within seconds. Always running: it idles while PAC
//! is master, and a reload may change that.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::wiring::Wiring;
use crate::astrow::AstrowClient;
use crate::config::Settings;
use crate::engine::jobs::employees::master;
use crate::engine::snapshot::JobKind;
use crate::model::System;

pub(super) fn start(w: &mut Wiring) {
    if let Some(t) = w.trigger(JobKind::Employees) {
        let task = watch_notifications(w.astrow.clone(), t, w.settings.clone(), w.cancel.clone());
        w.spawn(task);
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
    let mut backoff =
        crate::http::Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
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
                backoff.succeeded();
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
                tracing::warn!(error = %e, "Astrow notifications");
                if !backoff
                    .wait_after_failure(crate::http::Retryable::retry_after(&e), &cancel)
                    .await
                {
                    return;
                }
            }
        }
    }
}
