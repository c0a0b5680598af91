//! Plans and their items: states, approvals, per-item apply progress.
//!
//! A plan's body and each item's body are the engine's JSON; the store
//! keeps the columns it must query beside them.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{
    SqlContext, Store, StoreError, fingerprint_text, parse_fingerprint, parse_system, parse_time,
    suppressions, time_text,
};
use crate::model::System;

/// The state of a plan or of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlanState {
    /// Waiting for a person (or for auto apply).
    Pending,
    /// Approved: to be applied (an item), or being applied (a plan).
    Approved,
    Rejected,
    Applied,
    Failed,
    /// The target changed since planning (an item), or the plan was
    /// superseded or invalidated by a settings change (a plan).
    Stale,
}

impl PlanState {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanState::Pending => "pending",
            PlanState::Approved => "approved",
            PlanState::Rejected => "rejected",
            PlanState::Applied => "applied",
            PlanState::Failed => "failed",
            PlanState::Stale => "stale",
        }
    }

    pub fn parse(text: &str) -> Option<PlanState> {
        Some(match text {
            "pending" => PlanState::Pending,
            "approved" => PlanState::Approved,
            "rejected" => PlanState::Rejected,
            "applied" => PlanState::Applied,
            "failed" => PlanState::Failed,
            "stale" => PlanState::Stale,
            _ => return None,
        })
    }
}

/// A plan to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlan {
    pub plan_id: String,
    pub master: System,
    pub held_reason: Option<String>,
    /// The plan as JSON (without its items, or with: the store does not look).
    pub body_json: String,
    pub items: Vec<NewPlanItem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlanItem {
    pub item_id: String,
    pub action: String,
    pub target: System,
    pub source_fingerprint: u64,
    pub body_json: String,
}

/// Where an item's apply got to: a crash between `Started` and `Done` means
/// the write may or may not have happened (apply re-reads and compares).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemProgress {
    NotStarted,
    Started,
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    pub item_id: String,
    pub position: u32,
    pub action: String,
    pub target: System,
    pub state: PlanState,
    pub source_fingerprint: u64,
    pub body_json: String,
    pub started_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    pub detail: Option<String>,
}

impl StoredItem {
    pub fn progress(&self) -> ItemProgress {
        match (self.started_at, self.done_at) {
            (_, Some(_)) => ItemProgress::Done,
            (Some(_), None) => ItemProgress::Started,
            (None, None) => ItemProgress::NotStarted,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPlan {
    pub plan_id: String,
    pub master: System,
    pub state: PlanState,
    pub held_reason: Option<String>,
    pub body_json: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Why it went stale, when it did.
    pub note: Option<String>,
    pub items: Vec<StoredItem>,
}

/// Which items of a plan.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    All,
    Items(&'a [String]),
}

/// What [`Store::save_plan`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedPlan {
    /// The id it is stored under: the plan's own, or with a `.n` suffix when
    /// an older plan (applied, stale, ...) had the same id.
    pub plan_id: String,
    /// The same plan was already pending: kept as it was, with its approvals.
    pub unchanged: bool,
}

impl Store {
    /// Store a new pending plan; an older pending plan becomes stale
    /// (superseded). One transaction.
    pub fn save_plan(&mut self, plan: &NewPlan) -> Result<SavedPlan, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin saving a plan")?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT state FROM plans WHERE plan_id = ?1",
                [&plan.plan_id],
                |r| r.get(0),
            )
            .optional()
            .ctx("look for a plan with the same id")?;
        if existing.as_deref() == Some("pending") {
            return Ok(SavedPlan {
                plan_id: plan.plan_id.clone(),
                unchanged: true,
            });
        }
        let plan_id = match existing {
            None => plan.plan_id.clone(),
            Some(_) => {
                let n: i64 = tx
                    .query_row(
                        "SELECT COUNT(*) FROM plans WHERE plan_id = ?1 OR plan_id LIKE ?1 || '.%'",
                        [&plan.plan_id],
                        |r| r.get(0),
                    )
                    .ctx("count plans with the same id")?;
                format!("{}.{n}", plan.plan_id)
            }
        };
        let now = time_text(Utc::now());
        tx.execute(
            "UPDATE plans SET state = 'stale', updated_at = ?1, note = ?2 WHERE state = 'pending'",
            params![now, format!("superseded by plan {plan_id}")],
        )
        .ctx("supersede the pending plan")?;
        tx.execute(
            "INSERT INTO plans (plan_id, master, state, held_reason, body, created_at, updated_at)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?5)",
            params![
                plan_id,
                plan.master.as_str(),
                plan.held_reason,
                plan.body_json,
                now
            ],
        )
        .ctx("insert a plan")?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO plan_items
                     (plan_id, item_id, position, action, target, state, source_fingerprint, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)",
                )
                .ctx("prepare the item insert")?;
            for (position, item) in plan.items.iter().enumerate() {
                insert
                    .execute(params![
                        plan_id,
                        item.item_id,
                        position as i64,
                        item.action,
                        item.target.as_str(),
                        fingerprint_text(item.source_fingerprint),
                        item.body_json
                    ])
                    .ctx("insert a plan item")?;
            }
        }
        tx.commit().ctx("commit a plan")?;
        Ok(SavedPlan {
            plan_id,
            unchanged: false,
        })
    }

    /// The newest pending plan, if any.
    pub fn pending_plan(&self) -> Result<Option<StoredPlan>, StoreError> {
        let id: Option<String> = self
            .conn
            .query_row(
                "SELECT plan_id FROM plans WHERE state = 'pending'
                 ORDER BY created_at DESC, rowid DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .ctx("find the pending plan")?;
        id.map(|id| self.load_plan(&id)).transpose()
    }

    /// Plans whose apply began and did not end (the process stopped or was
    /// killed): their state is still `approved`. Oldest first.
    pub fn interrupted_plans(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT plan_id FROM plans WHERE state = 'approved'
                 ORDER BY created_at, rowid",
            )
            .ctx("find interrupted plans")?;
        stmt.query_map([], |r| r.get(0))
            .ctx("find interrupted plans")?
            .collect::<Result<_, _>>()
            .ctx("read an interrupted plan")
    }

    pub fn load_plan(&self, plan_id: &str) -> Result<StoredPlan, StoreError> {
        let raw = self
            .conn
            .query_row(
                "SELECT plan_id, master, state, held_reason, body, created_at, updated_at, note
                 FROM plans WHERE plan_id = ?1",
                [plan_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, Option<String>>(7)?,
                    ))
                },
            )
            .optional()
            .ctx("load a plan")?
            .ok_or_else(|| StoreError::UnknownPlan(plan_id.to_string()))?;
        let (plan_id, master, state, held_reason, body_json, created, updated, note) = raw;
        Ok(StoredPlan {
            items: self.items(&plan_id, false)?,
            master: parse_system(&master)?,
            state: parse_state(&state)?,
            held_reason,
            body_json,
            created_at: parse_time("a plan's creation time", &created)?,
            updated_at: parse_time("a plan's update time", &updated)?,
            note,
            plan_id,
        })
    }

    /// Approved items not yet done, in plan order: what apply must (re)do.
    /// Items with progress `Started` were interrupted mid-write.
    pub fn unfinished_items(&self, plan_id: &str) -> Result<Vec<StoredItem>, StoreError> {
        self.items(plan_id, true)
    }

    fn items(&self, plan_id: &str, unfinished_only: bool) -> Result<Vec<StoredItem>, StoreError> {
        let sql = if unfinished_only {
            "SELECT item_id, position, action, target, state, source_fingerprint, body,
                    started_at, done_at, detail
             FROM plan_items WHERE plan_id = ?1 AND state = 'approved' AND done_at IS NULL
             ORDER BY position"
        } else {
            "SELECT item_id, position, action, target, state, source_fingerprint, body,
                    started_at, done_at, detail
             FROM plan_items WHERE plan_id = ?1 ORDER BY position"
        };
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .ctx("prepare the item listing")?;
        let rows = stmt
            .query_map([plan_id], raw_item)
            .ctx("list plan items")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("read a plan item")?;
        rows.into_iter().map(item_from_raw).collect()
    }

    pub fn set_plan_state(&mut self, plan_id: &str, state: PlanState) -> Result<(), StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE plans SET state = ?1, updated_at = ?2 WHERE plan_id = ?3",
                params![state.as_str(), time_text(Utc::now()), plan_id],
            )
            .ctx("set a plan's state")?;
        if n == 0 {
            return Err(StoreError::UnknownPlan(plan_id.to_string()));
        }
        Ok(())
    }

    /// Approve, reject (or reset to pending) items not yet done. Rejected
    /// items are suppressed (key + source fingerprint) in the same
    /// transaction. Returns how many items changed.
    pub fn set_item_states(
        &mut self,
        plan_id: &str,
        selection: Selection<'_>,
        state: PlanState,
    ) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin setting item states")?;
        let ids: Vec<String> = match selection {
            Selection::All => {
                let mut stmt = tx
                    .prepare(
                        "SELECT item_id FROM plan_items WHERE plan_id = ?1 AND done_at IS NULL",
                    )
                    .ctx("prepare the item selection")?;
                stmt.query_map([plan_id], |r| r.get(0))
                    .ctx("select items")?
                    .collect::<Result<_, _>>()
                    .ctx("read an item id")?
            }
            Selection::Items(ids) => ids.to_vec(),
        };
        let mut changed = 0;
        for id in &ids {
            changed += set_one_state(&tx, plan_id, id, state)?;
        }
        tx.commit().ctx("commit item states")?;
        Ok(changed)
    }

    /// Apply is about to write this item.
    pub fn mark_item_started(&mut self, plan_id: &str, item_id: &str) -> Result<(), StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE plan_items SET started_at = ?1
                 WHERE plan_id = ?2 AND item_id = ?3 AND done_at IS NULL",
                params![time_text(Utc::now()), plan_id, item_id],
            )
            .ctx("mark an item started")?;
        self.require_item(n, plan_id, item_id)
    }

    /// Apply finished this item: `Applied`, `Failed` or `Stale`, with detail.
    pub fn mark_item_done(
        &mut self,
        plan_id: &str,
        item_id: &str,
        state: PlanState,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE plan_items SET state = ?1, done_at = ?2, detail = ?3
                 WHERE plan_id = ?4 AND item_id = ?5",
                params![
                    state.as_str(),
                    time_text(Utc::now()),
                    detail,
                    plan_id,
                    item_id
                ],
            )
            .ctx("mark an item done")?;
        self.require_item(n, plan_id, item_id)
    }

    /// Every pending plan becomes stale (the master or the delete setting
    /// changed). Returns how many.
    pub fn invalidate_pending_plans(&mut self, why: &str) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "UPDATE plans SET state = 'stale', updated_at = ?1, note = ?2 WHERE state = 'pending'",
                params![time_text(Utc::now()), why],
            )
            .ctx("invalidate pending plans")
    }

    fn require_item(&self, changed: usize, plan_id: &str, item_id: &str) -> Result<(), StoreError> {
        if changed > 0 {
            return Ok(());
        }
        let exists: bool = self
            .conn
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
}

fn set_one_state(
    tx: &Transaction<'_>,
    plan_id: &str,
    item_id: &str,
    state: PlanState,
) -> Result<usize, StoreError> {
    let found: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT source_fingerprint, done_at FROM plan_items WHERE plan_id = ?1 AND item_id = ?2",
            [plan_id, item_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .ctx("look up an item")?;
    let Some((fingerprint, done_at)) = found else {
        return Err(StoreError::UnknownItem {
            plan_id: plan_id.to_string(),
            item_id: item_id.to_string(),
        });
    };
    if done_at.is_some() {
        return Ok(0);
    }
    tx.execute(
        "UPDATE plan_items SET state = ?1 WHERE plan_id = ?2 AND item_id = ?3",
        params![state.as_str(), plan_id, item_id],
    )
    .ctx("set an item's state")?;
    if state == PlanState::Rejected {
        suppressions::insert(tx, item_id, parse_fingerprint(&fingerprint)?)?;
    }
    Ok(1)
}

fn parse_state(text: &str) -> Result<PlanState, StoreError> {
    PlanState::parse(text).ok_or_else(|| StoreError::Corrupt {
        what: "a plan state",
        value: text.to_string(),
    })
}

type RawItem = (
    String,
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn raw_item(r: &Row<'_>) -> rusqlite::Result<RawItem> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

fn item_from_raw(raw: RawItem) -> Result<StoredItem, StoreError> {
    let (item_id, position, action, target, state, fp, body_json, started, done, detail) = raw;
    let time = |what, t: Option<String>| t.map(|t| parse_time(what, &t)).transpose();
    Ok(StoredItem {
        item_id,
        position: u32::try_from(position).map_err(|_| StoreError::Corrupt {
            what: "an item position",
            value: position.to_string(),
        })?,
        action,
        target: parse_system(&target)?,
        state: parse_state(&state)?,
        source_fingerprint: parse_fingerprint(&fp)?,
        body_json,
        started_at: time("an item's start time", started)?,
        done_at: time("an item's end time", done)?,
        detail,
    })
}
