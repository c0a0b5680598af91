//! Apply's progress written for many items at once: a group of items marked
//! started in one transaction, and the results of several items (state,
//! audit entries, links) committed together. Each result's parts commit or
//! roll back as one, so a crash leaves an item either done with its audit
//! and link, or not done (apply re-reads and compares it on resume).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::audit::append_audit_in_as;
use super::links::upsert_link_in;
use super::plans::{ItemFailure, PlanState, item_done_in, item_failed_in};
use super::{SqlContext, Store, StoreError, time_text};
use crate::model::Link;
use crate::store::AuditRecord;

/// How one item of an apply ended, ready to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemResult {
    pub item_id: String,
    /// `Applied` or `Stale` (done), or `Failed` (open, retried).
    pub state: PlanState,
    pub detail: Option<String>,
    /// A failed item: the kind of failure and when it is retried.
    pub failure: Option<(String, DateTime<Utc>)>,
    /// The writes it made to either system.
    pub audits: Vec<AuditRecord>,
    /// A link to store with the result (an item whose link nothing in the
    /// same group depends on).
    pub link: Option<Link>,
}

impl Store {
    /// Apply is about to write these items: one transaction for all. Only
    /// an item still approved and not done is marked (a person may have
    /// rejected it since the apply read the plan); returns the ids marked,
    /// the only ones apply may write.
    pub fn mark_items_started(
        &mut self,
        plan_id: &str,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let now = time_text(Utc::now());
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin marking items started")?;
        let mut marked = Vec::with_capacity(ids.len());
        for id in ids {
            let row: Option<String> = tx
                .prepare_cached(
                    "UPDATE plan_items SET started_at = ?1
                     WHERE plan_id = ?2 AND item_id = ?3
                       AND state = 'approved' AND done_at IS NULL
                     RETURNING item_id",
                )
                .ctx("prepare marking an item started")?
                .query_row(params![now, plan_id, id], |r| r.get(0))
                .optional()
                .ctx("mark an item started")?;
            match row {
                Some(id) => marked.push(id),
                None => require_item_in(&tx, 0, plan_id, id)?,
            }
        }
        tx.commit().ctx("commit items started")?;
        Ok(marked)
    }

    /// An apply stopped because the settings its plan was made with
    /// changed: the plan becomes stale with `why` (void, never resumed),
    /// unless it was applied meanwhile, and its items marked started and
    /// not done go back to not started. Only with `recorded`: the apply
    /// ended `Ok`, so every item begun has its result recorded and those
    /// still marked are the ones it marked and stopped before (an earlier
    /// apply's are checked first, see `engine::apply`). Without it (a store
    /// or check failure) nothing changes: the plan stays interrupted and a
    /// resume checks what was begun. Whether the plan was voided.
    pub fn void_stopped_apply(
        &mut self,
        plan_id: &str,
        why: &str,
        recorded: bool,
    ) -> Result<bool, StoreError> {
        if !recorded {
            return Ok(false);
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin voiding a stopped apply")?;
        let n = tx
            .execute(
                "UPDATE plans SET state = 'stale', updated_at = ?1, note = ?2
                 WHERE plan_id = ?3 AND state IN ('approved', 'pending')",
                params![time_text(Utc::now()), why, plan_id],
            )
            .ctx("void a stopped apply's plan")?;
        if n > 0 {
            tx.execute(
                "UPDATE plan_items SET started_at = NULL
                 WHERE plan_id = ?1 AND done_at IS NULL AND started_at IS NOT NULL",
                [plan_id],
            )
            .ctx("unmark the items a stopped apply did not begin")?;
        }
        tx.commit().ctx("commit voiding a stopped apply")?;
        Ok(n > 0)
    }

    /// [`Store::record_item_results`]; if that transaction fails, each
    /// result in a transaction of its own, so that one bad row does not
    /// lose the others (their writes were made). One answer per result.
    pub fn record_item_results_each(
        &mut self,
        plan_id: &str,
        results: &[ItemResult],
        os_user: &str,
    ) -> Vec<Result<(), StoreError>> {
        if self.record_item_results(plan_id, results, os_user).is_ok() {
            return results.iter().map(|_| Ok(())).collect();
        }
        results
            .iter()
            .map(|r| self.record_item_results(plan_id, std::slice::from_ref(r), os_user))
            .collect()
    }

    /// Record the results of several items in one transaction: each item's
    /// link, state and audit entries (as `os_user`).
    pub fn record_item_results(
        &mut self,
        plan_id: &str,
        results: &[ItemResult],
        os_user: &str,
    ) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin recording item results")?;
        for r in results {
            let n = match (&r.failure, r.state) {
                (Some((kind, retry_at)), PlanState::Failed) => {
                    let failure = ItemFailure {
                        error: r.detail.as_deref().unwrap_or("failed"),
                        kind,
                        retry_at: *retry_at,
                    };
                    item_failed_in(&tx, plan_id, &r.item_id, &failure)?
                }
                (_, PlanState::Failed) => {
                    let failure = ItemFailure {
                        error: r.detail.as_deref().unwrap_or("failed"),
                        kind: "other",
                        retry_at: Utc::now(),
                    };
                    item_failed_in(&tx, plan_id, &r.item_id, &failure)?
                }
                (_, state) => item_done_in(&tx, plan_id, &r.item_id, state, r.detail.as_deref())?,
            };
            require_item_in(&tx, n, plan_id, &r.item_id)?;
            // A link item a person rejected meanwhile (0 changed) keeps no link.
            if let Some(link) = r.link.as_ref().filter(|_| n > 0) {
                upsert_link_in(&tx, link)?;
            }
            for a in &r.audits {
                append_audit_in_as(&tx, a, os_user)?;
            }
        }
        tx.commit().ctx("commit item results")
    }
}

/// Nothing changed for this item: fine if it exists (the write was a
/// no-op), an error naming it if the plan has no such item.
pub(super) fn require_item_in(
    conn: &rusqlite::Connection,
    changed: usize,
    plan_id: &str,
    item_id: &str,
) -> Result<(), StoreError> {
    if changed > 0 {
        return Ok(());
    }
    let exists: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM plan_items WHERE plan_id = ?1 AND item_id = ?2)",
            [plan_id, item_id],
            |r| r.get(0),
        )
        .ctx("look up an item")?;
    if exists {
        Ok(())
    } else {
        Err(StoreError::UnknownItem {
            plan_id: plan_id.to_string(),
            item_id: item_id.to_string(),
        })
    }
}
