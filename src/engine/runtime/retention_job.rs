//! The audit's retention (`store.audit_retention_months`): trimmed when the
//! engine starts and once a day after, with the setting as published (a
//! reload counts from the next pass).

use std::time::Duration;

use super::wiring::Wiring;

const EVERY: Duration = Duration::from_secs(24 * 3600);

pub(super) fn start(w: &mut Wiring) {
    let (store, settings, cancel) = (w.store.clone(), w.settings.clone(), w.cancel.clone());
    w.spawn(async move {
        loop {
            let months = settings.borrow().store.audit_retention_months;
            let trimmed = store
                .call("apply the audit retention", move |s| {
                    s.apply_audit_retention(months);
                    Ok(())
                })
                .await;
            if let Err(e) = trimmed {
                tracing::warn!("audit retention: {e}");
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(EVERY) => {}
            }
        }
    });
}
