//! Saving a plan: its identity follows the work, not the interval.
//!
//! The plan id is a hash of the work the plan does. Saving the same work
//! again keeps the live plan as it is (its id, every approval and
//! rejection); new work becomes the live plan and carries over the state of
//! each item whose change is the same (same key, same body), so approvals,
//! failures and their attempts survive a re-plan; items no longer planned
//! (their change is made) leave the plan. The same work as a plan applied
//! whole is not saved again. One plan is live at a time; the history of
//! older plans is bounded ([`PLAN_HISTORY`]).

use std::collections::HashMap;

use chrono::Utc;
use rusqlite::{OptionalExtension, Transaction, params};

use super::plans::{NewPlan, PlanState, SaveOutcome, SavedPlan, StoredItem, StoredPlan};
use super::{SqlContext, Store, StoreError, fingerprint_text, parse_time, time_text};

/// How many plans that are no longer live (applied, stale, rejected) the
/// store keeps.
pub const PLAN_HISTORY: usize = 50;

/// Applied destructive items older than this are forgotten (no guard
/// window may be longer).
pub const DESTRUCTIVE_MEMORY_DAYS: i64 = 31;

/// An item's state as a re-plan inherits it.
#[derive(Debug, Clone)]
struct Carried {
    body: Vec<u8>,
    state: String,
    attempts: i64,
    detail: Option<String>,
    retry_at: Option<String>,
    failure_kind: Option<String>,
    origin_plan: String,
}

/// What the insert of a new plan wrote for one item besides the plan's own
/// columns: its state, new or carried over from the live plan.
#[derive(Debug, Clone)]
struct Inserted {
    state: PlanState,
    attempts: u32,
    detail: Option<String>,
    retry_at: Option<chrono::DateTime<Utc>>,
    failure_kind: Option<String>,
    origin_plan: Option<String>,
}

/// A new plan as inserted: its time and its items' states, in plan order.
struct InsertedPlan {
    at: chrono::DateTime<Utc>,
    items: Vec<Inserted>,
}

impl Store {
    /// Store a plan as the live plan (see the module's rules). One
    /// transaction: a crash leaves the old live plan or the new one.
    pub fn save_plan(&mut self, plan: &NewPlan) -> Result<SavedPlan, StoreError> {
        self.save(plan).map(|(saved, _)| saved)
    }

    /// [`Store::save_plan`], and the plan as the store now holds it. A new
    /// plan is not read back: it is built from what was inserted (its
    /// items' bodies moved from `plan`); a kept or applied one is loaded.
    pub fn save_plan_stored(
        &mut self,
        plan: NewPlan,
    ) -> Result<(SaveOutcome, StoredPlan), StoreError> {
        let (saved, inserted) = self.save(&plan)?;
        match inserted {
            Some(inserted) => Ok((saved.outcome, stored_from(plan, inserted))),
            None => Ok((saved.outcome, self.load_plan(&saved.plan_id)?)),
        }
    }

    fn save(&mut self, plan: &NewPlan) -> Result<(SavedPlan, Option<InsertedPlan>), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin saving a plan")?;
        let same: Option<String> = tx
            .query_row(
                "SELECT state FROM plans WHERE plan_id = ?1",
                [&plan.plan_id],
                |r| r.get(0),
            )
            .optional()
            .ctx("look for a plan with the same id")?;
        let saved = |outcome| SavedPlan {
            plan_id: plan.plan_id.clone(),
            outcome,
        };
        match same.as_deref() {
            Some("applied") => return Ok((saved(SaveOutcome::AlreadyApplied), None)),
            Some("pending" | "approved") => {
                refresh(&tx, plan)?;
                supersede(&tx, &plan.plan_id)?;
                tx.commit().ctx("commit a kept plan")?;
                return Ok((saved(SaveOutcome::Kept), None));
            }
            Some(_) => {
                // An older, no longer live plan of the same work: the new
                // one takes its place (and its id).
                tx.execute("DELETE FROM plans WHERE plan_id = ?1", [&plan.plan_id])
                    .ctx("replace an older plan of the same work")?;
            }
            None => {}
        }
        let carried = match live_plan(&tx)? {
            Some(live) => carry_from(&tx, &live)?,
            None => HashMap::new(),
        };
        supersede(&tx, &plan.plan_id)?;
        let inserted = insert(&tx, plan, &carried)?;
        prune(&tx)?;
        tx.commit().ctx("commit a plan")?;
        Ok((saved(SaveOutcome::New), Some(inserted)))
    }

    /// How many plans the store holds, live or not (for tests and `status`).
    pub fn plan_count(&self) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM plans", [], |r| r.get(0))
            .ctx("count plans")?;
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

/// The live plan's id: the newest pending one.
fn live_plan(tx: &Transaction<'_>) -> Result<Option<String>, StoreError> {
    tx.query_row(
        "SELECT plan_id FROM plans WHERE state = 'pending'
         ORDER BY created_at DESC, rowid DESC LIMIT 1",
        [],
        |r| r.get(0),
    )
    .optional()
    .ctx("find the live plan")
}

/// Every other pending plan becomes stale: one plan is live.
fn supersede(tx: &Transaction<'_>, plan_id: &str) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE plans SET state = 'stale', updated_at = ?1, note = ?2
         WHERE state = 'pending' AND plan_id != ?3",
        params![
            time_text(Utc::now()),
            format!("superseded by plan {plan_id}"),
            plan_id
        ],
    )
    .ctx("supersede the live plan")?;
    Ok(())
}

/// The same work again: new texts (reasons, the guard's hold), same states.
fn refresh(tx: &Transaction<'_>, plan: &NewPlan) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE plans SET held_reason = ?1, body = ?2, updated_at = ?3,
                          settings = COALESCE(?5, settings)
         WHERE plan_id = ?4",
        params![
            plan.held_reason,
            plan.body_json,
            time_text(Utc::now()),
            plan.plan_id,
            plan.settings
        ],
    )
    .ctx("refresh the live plan")?;
    let mut update = tx
        .prepare_cached("UPDATE plan_items SET body = ?1 WHERE plan_id = ?2 AND item_id = ?3")
        .ctx("prepare the item refresh")?;
    for item in &plan.items {
        update
            .execute(params![item.body, plan.plan_id, item.item_id])
            .ctx("refresh an item")?;
    }
    Ok(())
}

/// The items of the live plan whose state a re-plan inherits.
fn carry_from(tx: &Transaction<'_>, plan_id: &str) -> Result<HashMap<String, Carried>, StoreError> {
    let mut stmt = tx
        .prepare(
            "SELECT item_id, body, state, attempts, detail, retry_at,
                    COALESCE(origin_plan, plan_id), done_at IS NOT NULL, failure_kind
             FROM plan_items WHERE plan_id = ?1",
        )
        .ctx("prepare the carry-over")?;
    let rows = stmt
        .query_map([plan_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Carried {
                    body: super::plans::body_bytes(r, 1)?,
                    state: r.get(2)?,
                    attempts: r.get(3)?,
                    detail: r.get(4)?,
                    retry_at: r.get(5)?,
                    origin_plan: r.get(6)?,
                    failure_kind: r.get(8)?,
                },
                r.get::<_, bool>(7)?,
            ))
        })
        .ctx("read the live plan's items")?
        .collect::<Result<Vec<_>, _>>()
        .ctx("read a live item")?;
    Ok(rows
        .into_iter()
        .map(|(id, c, done)| (id, inherit(c, done)))
        .collect())
}

/// What an unchanged item keeps: a person's approval or rejection, and a
/// failure with its attempts; anything else (stale, applied yet planned
/// again, pending) starts pending.
fn inherit(c: Carried, done: bool) -> Carried {
    let keep = !done && matches!(c.state.as_str(), "approved" | "rejected" | "failed");
    if keep {
        c
    } else {
        Carried {
            state: "pending".into(),
            attempts: 0,
            detail: None,
            retry_at: None,
            failure_kind: None,
            ..c
        }
    }
}

fn insert(
    tx: &Transaction<'_>,
    plan: &NewPlan,
    carried: &HashMap<String, Carried>,
) -> Result<InsertedPlan, StoreError> {
    let now = time_text(Utc::now());
    let mut inserted = InsertedPlan {
        at: parse_time("a plan's creation time", &now)?,
        items: Vec::with_capacity(plan.items.len()),
    };
    tx.execute(
        "INSERT INTO plans
         (plan_id, master, state, held_reason, body, created_at, updated_at, settings)
         VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?5, ?6)",
        params![
            plan.plan_id,
            plan.master.as_str(),
            plan.held_reason,
            plan.body_json,
            now,
            plan.settings
        ],
    )
    .ctx("insert a plan")?;
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO plan_items
             (plan_id, item_id, position, action, target, state, source_fingerprint, body,
              destructive, attempts, detail, retry_at, origin_plan, failure_kind)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .ctx("prepare the item insert")?;
    for (position, item) in plan.items.iter().enumerate() {
        let same = carried.get(&item.item_id).filter(|c| {
            c.body == item.body || (plan.upgrade_body)(&c.body).is_some_and(|b| b == item.body)
        });
        insert
            .execute(params![
                plan.plan_id,
                item.item_id,
                position as i64,
                item.action,
                item.target.as_str(),
                same.map_or("pending", |c| c.state.as_str()),
                fingerprint_text(item.source_fingerprint),
                item.body,
                item.destructive,
                same.map_or(0, |c| c.attempts),
                same.and_then(|c| c.detail.clone()),
                same.and_then(|c| c.retry_at.clone()),
                same.map(|c| c.origin_plan.clone()),
                same.and_then(|c| c.failure_kind.clone()),
            ])
            .ctx("insert a plan item")?;
        inserted.items.push(match same {
            Some(c) => carried_state(c)?,
            None => Inserted {
                state: PlanState::Pending,
                attempts: 0,
                detail: None,
                retry_at: None,
                failure_kind: None,
                origin_plan: None,
            },
        });
    }
    Ok(inserted)
}

/// A carried item's state as a load would read it.
fn carried_state(c: &Carried) -> Result<Inserted, StoreError> {
    let corrupt = |what, value: String| StoreError::Corrupt { what, value };
    Ok(Inserted {
        state: PlanState::parse(&c.state)
            .ok_or_else(|| corrupt("a plan state", c.state.clone()))?,
        attempts: u32::try_from(c.attempts)
            .map_err(|_| corrupt("an item's attempts", c.attempts.to_string()))?,
        detail: c.detail.clone(),
        retry_at: c
            .retry_at
            .as_deref()
            .map(|t| parse_time("an item's retry time", t))
            .transpose()?,
        failure_kind: c.failure_kind.clone(),
        origin_plan: Some(c.origin_plan.clone()),
    })
}

/// The plan as stored, from the plan given and what its insert wrote.
fn stored_from(plan: NewPlan, inserted: InsertedPlan) -> StoredPlan {
    let items = plan
        .items
        .into_iter()
        .zip(inserted.items)
        .enumerate()
        .map(|(position, (item, state))| StoredItem {
            item_id: item.item_id,
            position: u32::try_from(position).unwrap_or(u32::MAX),
            action: item.action,
            target: item.target,
            state: state.state,
            source_fingerprint: item.source_fingerprint,
            body: item.body,
            started_at: None,
            done_at: None,
            detail: state.detail,
            attempts: state.attempts,
            retry_at: state.retry_at,
            failure_kind: state.failure_kind,
            destructive: item.destructive,
            origin_plan: state.origin_plan,
        })
        .collect();
    StoredPlan {
        plan_id: plan.plan_id,
        master: plan.master,
        state: PlanState::Pending,
        held_reason: plan.held_reason,
        body_json: plan.body_json,
        created_at: inserted.at,
        updated_at: inserted.at,
        note: None,
        settings: plan.settings,
        items,
    }
}

/// Keep the newest [`PLAN_HISTORY`] plans that are no longer live, and a
/// month of applied destructive items.
fn prune(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM plans WHERE state NOT IN ('pending', 'approved') AND plan_id NOT IN (
             SELECT plan_id FROM plans WHERE state NOT IN ('pending', 'approved')
             ORDER BY updated_at DESC, rowid DESC LIMIT ?1)",
        [PLAN_HISTORY as i64],
    )
    .ctx("prune the plan history")?;
    let month_ago = Utc::now() - chrono::Duration::days(DESTRUCTIVE_MEMORY_DAYS);
    tx.execute(
        "DELETE FROM destructive_applied WHERE at < ?1",
        [time_text(month_ago)],
    )
    .ctx("forget old destructive items")?;
    Ok(())
}
