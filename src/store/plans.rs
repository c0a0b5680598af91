//! Plans and their items: states, approvals, per-item apply progress.
//!
//! A plan's body is the engine's JSON, each item's body the engine's bytes
//! (binary, or JSON from earlier versions); the store does not look into
//! them and keeps the columns it must query beside them.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{
    SqlContext, Store, StoreError, parse_fingerprint, parse_system, parse_time, suppressions,
    time_text,
};
use crate::model::System;

/// The `plan_id` under which removals from Astrow's definitions mirror are
/// remembered in the rolling window (no plan has it: plan ids are hashes).
pub const MIRROR_PLAN_ID: &str = "definitions-mirror";

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
#[derive(Debug, Clone)]
pub struct NewPlan {
    pub plan_id: String,
    pub master: System,
    pub held_reason: Option<String>,
    /// The plan as JSON (without its items, or with: the store does not look).
    pub body_json: String,
    pub items: Vec<NewPlanItem>,
    /// An item body stored by an earlier version, in today's encoding
    /// (`None`: already today's, or unreadable). A re-plan compares the
    /// live plan's bodies with the new ones byte for byte to carry a
    /// person's approvals over; an old body is upgraded first, so an
    /// upgrade of the program does not silently drop approvals.
    pub upgrade_body: fn(&[u8]) -> Option<Vec<u8>>,
    /// The settings it was made under (`engine::plan_meaning`, as text):
    /// a plan made under others is void, never applied.
    pub settings: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlanItem {
    pub item_id: String,
    pub action: String,
    pub target: System,
    pub source_fingerprint: u64,
    /// Counted by the deletion guard's rolling window once applied.
    pub destructive: bool,
    /// The item as the engine encodes it (stored as a blob).
    pub body: Vec<u8>,
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
    /// The item as the engine encoded it.
    pub body: Vec<u8>,
    pub started_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    /// Why it failed or went stale (for a failed item: the last error).
    pub detail: Option<String>,
    /// How many times its apply failed.
    pub attempts: u32,
    /// A failed item is retried by the engine from this time on.
    pub retry_at: Option<DateTime<Utc>>,
    /// A failed item: the kind of its last failure (the engine's word).
    pub failure_kind: Option<String>,
    pub destructive: bool,
    /// The plan it was first planned in (its create's idempotency key is
    /// made from it, so a retry in a later plan never creates twice).
    pub origin_plan: Option<String>,
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
    /// The settings it was made under (`None`: stored before they were kept).
    pub settings: Option<String>,
    pub items: Vec<StoredItem>,
}

/// Each plan keeps the settings it was made under.
pub(super) const MIGRATION_SETTINGS: &str = "ALTER TABLE plans ADD COLUMN settings TEXT;";

/// How an item's apply failed, as [`Store::mark_item_failed`] records it.
#[derive(Debug, Clone, Copy)]
pub struct ItemFailure<'a> {
    /// The system's words.
    pub error: &'a str,
    /// The kind (the engine's word: "licence_missing", "unreachable", ...).
    pub kind: &'a str,
    /// Retried by the engine from then on.
    pub retry_at: DateTime<Utc>,
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
    /// The id it is stored under: the plan's own (the work it does).
    pub plan_id: String,
    pub outcome: SaveOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOutcome {
    /// Stored as the live plan; approvals of unchanged items carried over.
    New,
    /// The same work was already the live plan: kept, with its approvals.
    Kept,
    /// The same work was applied whole already: not saved again.
    AlreadyApplied,
}

impl Store {
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

    /// A plan's master and the settings it was made under (as stored),
    /// without its items.
    pub fn plan_made_under(&self, plan_id: &str) -> Result<(System, Option<String>), StoreError> {
        let (master, settings) = self
            .conn
            .query_row(
                "SELECT master, settings FROM plans WHERE plan_id = ?1",
                [plan_id],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
            )
            .optional()
            .ctx("read what a plan was made under")?
            .ok_or_else(|| StoreError::UnknownPlan(plan_id.to_string()))?;
        Ok((parse_system(&master)?, settings))
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
                "SELECT plan_id, master, state, held_reason, body, created_at, updated_at, note,
                        settings
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
                        r.get::<_, Option<String>>(8)?,
                    ))
                },
            )
            .optional()
            .ctx("load a plan")?
            .ok_or_else(|| StoreError::UnknownPlan(plan_id.to_string()))?;
        let (plan_id, master, state, held_reason, body_json, created, updated, note, settings) =
            raw;
        Ok(StoredPlan {
            items: self.items(&plan_id, false)?,
            master: parse_system(&master)?,
            state: parse_state(&state)?,
            held_reason,
            body_json,
            created_at: parse_time("a plan's creation time", &created)?,
            updated_at: parse_time("a plan's update time", &updated)?,
            note,
            settings,
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
                    started_at, done_at, detail, attempts, retry_at, destructive, origin_plan,
                    failure_kind
             FROM plan_items WHERE plan_id = ?1 AND state = 'approved' AND done_at IS NULL
             ORDER BY position"
        } else {
            "SELECT item_id, position, action, target, state, source_fingerprint, body,
                    started_at, done_at, detail, attempts, retry_at, destructive, origin_plan,
                    failure_kind
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
                        "SELECT item_id FROM plan_items
                         WHERE plan_id = ?1 AND done_at IS NULL AND started_at IS NULL",
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

    /// Apply finished this item: `Applied` or `Stale`, with detail. A
    /// `Failed` item is recorded as [`Store::mark_item_failed`] does, due
    /// for a retry at once. An applied destructive item is remembered for
    /// the deletion guard's rolling window, in the same transaction.
    pub fn mark_item_done(
        &mut self,
        plan_id: &str,
        item_id: &str,
        state: PlanState,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        if state == PlanState::Failed {
            let failure = ItemFailure {
                error: detail.unwrap_or("failed"),
                kind: "other",
                retry_at: Utc::now(),
            };
            return self.mark_item_failed(plan_id, item_id, &failure);
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin recording an item")?;
        let n = item_done_in(&tx, plan_id, item_id, state, detail)?;
        tx.commit().ctx("commit an item's outcome")?;
        self.require_item(n, plan_id, item_id)
    }

    /// Apply failed this item: it stays open (not done), counts one more
    /// attempt, keeps the error, and is retried by the engine from
    /// `retry_at` on; a person may approve it again at any time.
    pub fn mark_item_failed(
        &mut self,
        plan_id: &str,
        item_id: &str,
        failure: &ItemFailure<'_>,
    ) -> Result<(), StoreError> {
        let n = item_failed_in(&self.conn, plan_id, item_id, failure)?;
        self.require_item(n, plan_id, item_id)
    }

    /// How many destructive items (deletes, badge removals, deactivations)
    /// were applied since `since`: the deletion guard's rolling window.
    pub fn applied_destructive_since(&self, since: DateTime<Utc>) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM destructive_applied WHERE at >= ?1 AND plan_id <> ?2",
                params![time_text(since), MIRROR_PLAN_ID],
                |r| r.get(0),
            )
            .ctx("count applied destructive items")?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// How many entries were removed from Astrow's definitions mirror since
    /// `since`: the mirror's own rolling window (its limits are over the
    /// mirrored entries, not the employees).
    pub fn mirror_removals_since(&self, since: DateTime<Utc>) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM destructive_applied WHERE at >= ?1 AND plan_id = ?2",
                params![time_text(since), MIRROR_PLAN_ID],
                |r| r.get(0),
            )
            .ctx("count mirror removals")?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Remember entries written out of Astrow's mirror (`keys` such as
    /// "reader R-5"), for the mirror's rolling window.
    pub fn record_mirror_removals(&mut self, keys: &[String]) -> Result<(), StoreError> {
        let now = time_text(Utc::now());
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin recording mirror removals")?;
        for key in keys {
            tx.execute(
                "INSERT INTO destructive_applied (at, plan_id, item_id) VALUES (?1, ?2, ?3)",
                params![now, MIRROR_PLAN_ID, key],
            )
            .ctx("remember a mirror removal")?;
        }
        tx.commit().ctx("commit mirror removals")
    }

    /// Every pending plan becomes stale (a setting that changes what a plan means
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
        super::item_batch::require_item_in(&self.conn, changed, plan_id, item_id)
    }
}

fn set_one_state(
    tx: &Transaction<'_>,
    plan_id: &str,
    item_id: &str,
    state: PlanState,
) -> Result<usize, StoreError> {
    let found: Option<(String, Option<String>, Option<String>, String)> = tx
        .query_row(
            "SELECT source_fingerprint, done_at, started_at, state FROM plan_items
             WHERE plan_id = ?1 AND item_id = ?2",
            [plan_id, item_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .ctx("look up an item")?;
    let Some((fingerprint, done_at, started_at, current)) = found else {
        return Err(StoreError::UnknownItem {
            plan_id: plan_id.to_string(),
            item_id: item_id.to_string(),
        });
    };
    if done_at.is_some() {
        return Ok(0);
    }
    // Apply is writing it (or a crash came mid-write and the resume has
    // not checked it yet): its result would overwrite this state. Asking
    // for the state it has (a resume approving it again) changes nothing.
    if started_at.is_some() {
        if current == state.as_str() {
            return Ok(0);
        }
        return Err(StoreError::ItemBeingApplied {
            plan_id: plan_id.to_string(),
            item_id: item_id.to_string(),
        });
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

/// An item row as SQLite gives it, before its columns are parsed.
struct RawItem {
    item_id: String,
    position: i64,
    action: String,
    target: String,
    state: String,
    fingerprint: String,
    body: Vec<u8>,
    started: Option<String>,
    done: Option<String>,
    detail: Option<String>,
    attempts: i64,
    retry_at: Option<String>,
    destructive: bool,
    origin_plan: Option<String>,
    failure_kind: Option<String>,
}

fn raw_item(r: &Row<'_>) -> rusqlite::Result<RawItem> {
    Ok(RawItem {
        item_id: r.get(0)?,
        position: r.get(1)?,
        action: r.get(2)?,
        target: r.get(3)?,
        state: r.get(4)?,
        fingerprint: r.get(5)?,
        body: body_bytes(r, 6)?,
        started: r.get(7)?,
        done: r.get(8)?,
        detail: r.get(9)?,
        attempts: r.get(10)?,
        retry_at: r.get(11)?,
        destructive: r.get(12)?,
        origin_plan: r.get(13)?,
        failure_kind: r.get(14)?,
    })
}

/// An item body's bytes: a blob, or text as earlier versions wrote it.
pub(crate) fn body_bytes(r: &Row<'_>, column: usize) -> rusqlite::Result<Vec<u8>> {
    match r.get_ref(column)? {
        rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => Ok(b.to_vec()),
        other => Err(rusqlite::Error::InvalidColumnType(
            column,
            "body".into(),
            other.data_type(),
        )),
    }
}

fn item_from_raw(raw: RawItem) -> Result<StoredItem, StoreError> {
    let time = |what, t: Option<String>| t.map(|t| parse_time(what, &t)).transpose();
    let corrupt = |what, value: i64| StoreError::Corrupt {
        what,
        value: value.to_string(),
    };
    Ok(StoredItem {
        position: u32::try_from(raw.position)
            .map_err(|_| corrupt("an item position", raw.position))?,
        attempts: u32::try_from(raw.attempts)
            .map_err(|_| corrupt("an item's attempts", raw.attempts))?,
        item_id: raw.item_id,
        action: raw.action,
        target: parse_system(&raw.target)?,
        state: parse_state(&raw.state)?,
        source_fingerprint: parse_fingerprint(&raw.fingerprint)?,
        body: raw.body,
        started_at: time("an item's start time", raw.started)?,
        done_at: time("an item's end time", raw.done)?,
        detail: raw.detail,
        retry_at: time("an item's retry time", raw.retry_at)?,
        destructive: raw.destructive,
        origin_plan: raw.origin_plan,
        failure_kind: raw.failure_kind,
    })
}

/// Record `item_id` as done (`Applied` or `Stale`) on `conn`, which may be
/// inside a transaction; an applied destructive item is remembered for the
/// deletion guard. Returns how many items changed (0: unknown item).
pub(crate) fn item_done_in(
    conn: &rusqlite::Connection,
    plan_id: &str,
    item_id: &str,
    state: PlanState,
    detail: Option<&str>,
) -> Result<usize, StoreError> {
    let now = time_text(Utc::now());
    let n = conn
        .execute(
            "UPDATE plan_items SET state = ?1, done_at = ?2, detail = ?3, retry_at = NULL
                 WHERE plan_id = ?4 AND item_id = ?5 AND state <> 'rejected'",
            params![state.as_str(), now, detail, plan_id, item_id],
        )
        .ctx("mark an item done")?;
    if state == PlanState::Applied && n > 0 {
        conn.execute(
            "INSERT INTO destructive_applied (at, plan_id, item_id)
                 SELECT ?1, plan_id, item_id FROM plan_items
                 WHERE plan_id = ?2 AND item_id = ?3 AND destructive = 1",
            params![now, plan_id, item_id],
        )
        .ctx("remember an applied destructive item")?;
    }
    Ok(n)
}

/// Record `item_id` as failed on `conn` (see [`Store::mark_item_failed`]).
pub(crate) fn item_failed_in(
    conn: &rusqlite::Connection,
    plan_id: &str,
    item_id: &str,
    failure: &ItemFailure<'_>,
) -> Result<usize, StoreError> {
    conn.execute(
        "UPDATE plan_items SET state = 'failed', started_at = NULL, done_at = NULL,
                detail = ?1, failure_kind = ?2, attempts = attempts + 1, retry_at = ?3
         WHERE plan_id = ?4 AND item_id = ?5 AND state <> 'rejected'",
        params![
            failure.error,
            failure.kind,
            time_text(failure.retry_at),
            plan_id,
            item_id
        ],
    )
    .ctx("mark an item failed")
}
