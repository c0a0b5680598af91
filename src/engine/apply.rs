//! Runs the approved items of a plan: each re-reads its target, is skipped
//! as stale when the record changed since planning, writes with `If-Match`
//! or an `Idempotency-Key`, and is recorded (started, done, audit) so that a
//! crash mid-apply resumes without repeating an item.

use chrono::Utc;
use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::item_error::ItemError;
use super::plan::{Action, DesiredRecord, PlanItem};
use super::snapshot::ApplyProgress;
use super::store_handle::StoreHandle;
use crate::astrow::AstrowClient;
use crate::model::{
    AstrowEmployee, Link, LinkOrigin, PacEmployee, PacId, PersNo, System, astrow_ref, pac_ref,
};
use crate::pac::PacClient;
use crate::store::{AuditRecord, ItemProgress, ItemResult, PlanState, StoredItem};

mod unreached;

/// What apply needs.
#[derive(Clone)]
pub struct ApplyCtx {
    pub pac: PacClient,
    pub astrow: AstrowClient,
    pub store: StoreHandle,
    /// Items of one kind written at the same time.
    pub concurrency: usize,
    /// Who the writes are audited as (the user who started the apply).
    pub actor: String,
}

/// How one item ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    Applied(Option<String>),
    Stale(String),
    Failed(ItemError),
}

impl ItemOutcome {
    fn state(&self) -> PlanState {
        match self {
            ItemOutcome::Applied(_) => PlanState::Applied,
            ItemOutcome::Stale(_) => PlanState::Stale,
            ItemOutcome::Failed(_) => PlanState::Failed,
        }
    }
    fn detail(&self) -> Option<String> {
        match self {
            ItemOutcome::Applied(d) => d.clone(),
            ItemOutcome::Stale(d) => Some(d.clone()),
            ItemOutcome::Failed(e) => Some(e.to_string()),
        }
    }
    fn failed(message: impl Into<String>) -> ItemOutcome {
        ItemOutcome::Failed(ItemError::Other(message.into()))
    }
}

/// A refused write: stale (the record changed) or failed, by kind.
impl From<ItemError> for ItemOutcome {
    fn from(e: ItemError) -> Self {
        match e {
            ItemError::Stale(m) => ItemOutcome::Stale(m),
            other => ItemOutcome::Failed(other),
        }
    }
}

/// Apply the approved items of `plan_id` that are not done yet. Items of one
/// action run `concurrency` at a time; actions run in plan order (deletes and
/// badge removals free badges before creates take them). `progress` is
/// called after every commit of results (its counts include only committed
/// results). Between items `cancel` stops the apply; the items in flight
/// finish first, and items an earlier apply began (killed before their
/// results were recorded) that this one did not reach are checked without
/// writing. `Ok` after a stop: every item left marked started and not done
/// is one this run marked and did not begin.
pub async fn apply_plan(
    ctx: &ApplyCtx,
    plan_id: &str,
    progress: &(dyn Fn(ApplyProgress) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<ApplyProgress, String> {
    apply_plan_items(ctx, plan_id, None, false, progress, cancel).await
}

/// [`apply_plan`], limited to the approved items `only` names (the engine's
/// retry of failed items in manual mode leaves a person's other approvals
/// for the person's apply). A plan the deletion guard held is refused
/// unless `allow_held` (a person confirmed it).
pub async fn apply_plan_items(
    ctx: &ApplyCtx,
    plan_id: &str,
    only: Option<&[String]>,
    allow_held: bool,
    progress: &(dyn Fn(ApplyProgress) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<ApplyProgress, String> {
    let id = plan_id.to_string();
    let stored = ctx
        .store
        .call("load the plan", move |s| s.load_plan(&id))
        .await?;
    match stored.state {
        PlanState::Stale => {
            return Err(format!(
                "plan {plan_id} is stale ({}): compute a new plan",
                stored.note.as_deref().unwrap_or("superseded")
            ));
        }
        PlanState::Rejected => return Err(format!("plan {plan_id} was rejected")),
        _ => {}
    }
    if let Some(reason) = &stored.held_reason
        && !allow_held
    {
        return Err(format!(
            "plan {plan_id} is held by the deletion guard ({reason}): nothing applied; \
             confirm the held plan to apply it"
        ));
    }
    // Begun by an earlier apply (killed before their results were
    // recorded), whether or not this run is to do them (`only`).
    let begun_before: Vec<String> = stored
        .items
        .iter()
        .filter(|i| i.state == PlanState::Approved && i.progress() == ItemProgress::Started)
        .map(|i| i.item_id.clone())
        .collect();
    let todo: Vec<(StoredItem, PlanItem)> = stored
        .items
        .iter()
        .filter(|i| i.state == PlanState::Approved && i.progress() != ItemProgress::Done)
        .filter(|i| only.is_none_or(|ids| ids.contains(&i.item_id)))
        .map(|i| {
            crate::engine::plan::decode_item(&i.body)
                .map(|p| (i.clone(), p))
                .map_err(|e| format!("item {} cannot be read: {e}", i.item_id))
        })
        .collect::<Result<_, _>>()?;
    let mut state = ApplyProgress {
        plan_id: plan_id.to_string(),
        running: true,
        total: todo.len(),
        started: Some(Utc::now()),
        started_by: Some(ctx.actor.clone()),
        ..ApplyProgress::default()
    };
    progress(state.clone());
    let id = plan_id.to_string();
    ctx.store
        .call("mark the plan as applying", move |s| {
            s.set_plan_state(&id, PlanState::Approved)
        })
        .await?;
    let mut start = 0;
    while start < todo.len() && !cancel.is_cancelled() {
        // One group: the items of one action in one wave (a badge is freed
        // in an earlier group than the one taking it).
        let group_of = |p: &PlanItem| (p.wave, p.action);
        let group = group_of(&todo[start].1);
        let end = todo[start..]
            .iter()
            .position(|(_, p)| group_of(p) != group)
            .map_or(todo.len(), |n| start + n);
        let group = &todo[start..end];
        if let Err(e) = run_group(ctx, plan_id, group, &mut state, progress, cancel).await {
            // The store failed: stop; what is recorded stays true.
            state.running = false;
            state.finished = Some(Utc::now());
            progress(state.clone());
            return Err(e);
        }
        start = end;
    }
    // Stopped: the items an earlier, killed apply began and this one did
    // not reach are checked (not written), so their writes are audited.
    if cancel.is_cancelled()
        && let Err(e) = unreached::check_unreached(ctx, plan_id, &begun_before, &mut state).await
    {
        state.running = false;
        state.finished = Some(Utc::now());
        progress(state.clone());
        return Err(e);
    }
    let finished_all = state.applied + state.stale + state.failed == state.total;
    // A stopped apply leaves its plan to the void or to the resume (which
    // finishes it when nothing is left).
    if finished_all && !cancel.is_cancelled() {
        finish_plan(&ctx.store, plan_id).await?;
    }
    state.running = false;
    state.finished = Some(Utc::now());
    progress(state.clone());
    Ok(state)
}

/// An apply that went through every item ends: the plan is applied, or
/// pending again while an item is open (a failed item is retried). Also
/// for an apply killed after its last result committed and before this
/// ran: the plan still says "being applied" though nothing is left to do.
pub async fn finish_plan(store: &StoreHandle, plan_id: &str) -> Result<(), String> {
    let id = plan_id.to_string();
    store
        .call("finish the plan", move |s| {
            let plan = s.load_plan(&id)?;
            // A failed item keeps the plan live: it is retried.
            let open = plan.items.iter().any(|i| {
                matches!(
                    i.state,
                    PlanState::Pending | PlanState::Approved | PlanState::Failed
                )
            });
            if !open {
                s.set_plan_state(&id, PlanState::Applied)?;
            } else {
                s.set_plan_state(&id, PlanState::Pending)?;
            }
            Ok(())
        })
        .await
}

/// Items marked started in one store transaction: the next chunk the
/// concurrent workers take (marked while the previous chunk's items run).
const START_CHUNK: usize = 64;
/// Results committed together once this many wait...
const RESULT_BATCH: usize = 64;
/// ...or once the oldest waiting result is this old.
const RESULT_WAIT: Duration = Duration::from_millis(100);

/// Run one group (the items of one action in one wave) `concurrency` at a
/// time: chunks of items are marked started in one transaction each, and
/// results (state, audit entries, links) are committed in batches. Every
/// result is committed before this returns, so a later group (or a
/// re-plan) sees the links this one stored.
async fn run_group(
    ctx: &ApplyCtx,
    plan_id: &str,
    group: &[(StoredItem, PlanItem)],
    state: &mut ApplyProgress,
    progress: &(dyn Fn(ApplyProgress) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<(), String> {
    // Owned chunks: the engine's task must not hold borrows across items.
    let chunks: Vec<Vec<(StoredItem, PlanItem)>> =
        group.chunks(START_CHUNK).map(<[_]>::to_vec).collect();
    let items = futures::stream::iter(chunks)
        .then(|chunk| {
            // Owned futures: borrowed ones trip the spawned task's `Send`.
            let (ctx, plan_id, cancel) = (ctx.clone(), plan_id.to_string(), cancel.clone());
            async move { mark_started(&ctx, &plan_id, chunk, &cancel).await }
        })
        .flat_map(futures::stream::iter)
        .map(|next| {
            let (ctx, plan_id, cancel) = (ctx.clone(), plan_id.to_string(), cancel.clone());
            async move {
                let (stored, item) = next?;
                // Stopping: items not begun stay approved for the resume.
                if cancel.is_cancelled() {
                    return Ok(None);
                }
                Ok(Some(run_item(&ctx, &plan_id, &stored, item).await))
            }
        });
    let mut results = std::pin::pin!(items.buffer_unordered(ctx.concurrency.max(1)));
    let mut batch = ResultBatch::default();
    loop {
        // The oldest waiting result is committed by RESULT_WAIT even while
        // the items in flight hang (up to their request timeout).
        let next = match batch.deadline() {
            Some(at) => tokio::select! {
                next = results.next() => next,
                () = tokio::time::sleep_until(at) => {
                    batch.flush(ctx, plan_id, state).await?;
                    progress(state.clone());
                    continue;
                }
            },
            None => results.next().await,
        };
        let Some(outcome) = next else { break };
        let (_, result) = match outcome {
            Ok(None) => continue,
            Ok(Some(done)) => done,
            Err(e) => {
                // What finished before the failure is still recorded.
                let _ = batch.flush(ctx, plan_id, state).await;
                progress(state.clone());
                return Err(e);
            }
        };
        batch.push(result);
        if batch.full() {
            batch.flush(ctx, plan_id, state).await?;
            progress(state.clone());
        }
    }
    batch.flush(ctx, plan_id, state).await?;
    progress(state.clone());
    Ok(())
}

/// Mark the items of `chunk` that write out as started, in one
/// transaction; a store failure is handed to every item of the chunk.
async fn mark_started(
    ctx: &ApplyCtx,
    plan_id: &str,
    chunk: Vec<(StoredItem, PlanItem)>,
    cancel: &CancellationToken,
) -> Vec<Result<(StoredItem, PlanItem), String>> {
    // An item that writes to neither system (a link of records already
    // alike: only the store's link) is not marked started: repeated after
    // a crash it stores the same link again.
    let ids: Vec<String> = chunk
        .iter()
        .filter(|(_, p)| writes_out(p))
        .map(|(_, p)| p.id.clone())
        .collect();
    if ids.is_empty() || cancel.is_cancelled() {
        return chunk.into_iter().map(Ok).collect();
    }
    let p = plan_id.to_string();
    let marked = match ctx
        .store
        .call("mark items started", move |s| {
            s.mark_items_started(&p, &ids)
        })
        .await
    {
        Ok(marked) => marked,
        Err(e) => return chunk.iter().map(|_| Err(e.clone())).collect(),
    };
    // An item no longer approved (a person rejected it since the plan was
    // read) was not marked and is not written.
    chunk
        .into_iter()
        .filter(|(_, p)| !writes_out(p) || marked.contains(&p.id))
        .map(Ok)
        .collect()
}

/// Results waiting to be committed together. Their counts are published
/// only once they are committed.
#[derive(Default)]
struct ResultBatch {
    waiting: Vec<ItemResult>,
    oldest: Option<tokio::time::Instant>,
}

impl ResultBatch {
    fn push(&mut self, result: ItemResult) {
        self.oldest.get_or_insert_with(tokio::time::Instant::now);
        self.waiting.push(result);
    }

    fn full(&self) -> bool {
        self.waiting.len() >= RESULT_BATCH
    }

    /// When the waiting results must be committed, if any wait.
    fn deadline(&self) -> Option<tokio::time::Instant> {
        self.oldest.map(|t| t + RESULT_WAIT)
    }

    /// Commit the waiting results (one transaction, or one per result if
    /// that fails); each committed one is counted into `state`. A result
    /// that could not be committed is not counted and ends the apply.
    async fn flush(
        &mut self,
        ctx: &ApplyCtx,
        plan_id: &str,
        state: &mut ApplyProgress,
    ) -> Result<(), String> {
        let results = std::mem::take(&mut self.waiting);
        self.oldest = None;
        if results.is_empty() {
            return Ok(());
        }
        let states: Vec<(String, PlanState)> = results
            .iter()
            .map(|r| (r.item_id.clone(), r.state))
            .collect();
        let (p, by) = (plan_id.to_string(), ctx.actor.clone());
        let recorded = ctx
            .store
            .call("record item results", move |s| {
                Ok(s.record_item_results_each(&p, &results, &by))
            })
            .await?;
        let mut first_error = None;
        for ((item_id, item_state), r) in states.into_iter().zip(recorded) {
            match (r, item_state) {
                (Ok(()), PlanState::Applied) => state.applied += 1,
                (Ok(()), PlanState::Stale) => state.stale += 1,
                (Ok(()), _) => state.failed += 1,
                (Err(e), _) => {
                    first_error.get_or_insert(format!("record the result of item {item_id}: {e}"));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// One item: the write and how it ended (its state, audit entries and
/// link, recorded by the caller with other items' in one transaction).
async fn run_item(
    ctx: &ApplyCtx,
    plan_id: &str,
    stored: &StoredItem,
    item: PlanItem,
) -> (ItemOutcome, ItemResult) {
    // A create's idempotency key comes from the plan it was first planned
    // in: a retry carried into a later plan never creates twice.
    let key_plan = stored.origin_plan.as_deref().unwrap_or(plan_id);
    // Begun before (a crash or stop came before its result was recorded):
    // a write found already made is audited now, as its audit was lost.
    let resumed = stored.progress() == ItemProgress::Started;
    let (outcome, audits, link) = execute(ctx, key_plan, &item, resumed).await;
    let failure = match &outcome {
        ItemOutcome::Failed(e) => {
            let attempts = stored.attempts.saturating_add(1);
            Some((
                e.kind().as_str().to_string(),
                super::retry::retry_at(Utc::now(), attempts, e.kind()),
            ))
        }
        _ => None,
    };
    let result = ItemResult {
        item_id: item.id.clone(),
        state: outcome.state(),
        detail: outcome.detail(),
        failure,
        audits,
        link,
    };
    (outcome, result)
}

/// Whether applying `item` writes to PAC or Astrow (every action but a
/// link with no field to change, and a conflict, which is not applied).
fn writes_out(item: &PlanItem) -> bool {
    match item.action {
        Action::Link => !item.changes.is_empty(),
        Action::Conflict => false,
        _ => true,
    }
}

fn json<T: serde::Serialize>(v: &T) -> Option<String> {
    serde_json::to_string(v).ok()
}

fn record_json(r: &DesiredRecord) -> Option<String> {
    match r {
        DesiredRecord::Pac(e) => json(e),
        DesiredRecord::Astrow(e) => json(e),
    }
}

fn record_id(r: &DesiredRecord) -> (System, u64) {
    match r {
        DesiredRecord::Pac(e) => (System::Pac, e.id.0),
        DesiredRecord::Astrow(e) => (System::Astrow, e.pers_no.0),
    }
}

fn audit(
    action: &str,
    system: System,
    id: u64,
    before: Option<String>,
    after: Option<String>,
    outcome: &ItemOutcome,
) -> AuditRecord {
    AuditRecord {
        system,
        action: action.to_string(),
        record: format!("employee {id}"),
        before,
        after,
        result: match outcome {
            ItemOutcome::Applied(None) => "ok".into(),
            ItemOutcome::Applied(Some(d)) => format!("ok: {d}"),
            ItemOutcome::Stale(d) => format!("stale: {d}"),
            ItemOutcome::Failed(e) => format!("failed ({}): {e}", e.kind().as_str()),
        },
    }
}

/// Do the item; say how it ended and what to audit.
/// `resumed`: the item was begun before and its result not recorded.
async fn execute(
    ctx: &ApplyCtx,
    plan_id: &str,
    item: &PlanItem,
    resumed: bool,
) -> (ItemOutcome, Vec<AuditRecord>, Option<Link>) {
    let (outcome, audits) = match item.action {
        Action::Conflict => (
            ItemOutcome::failed("a conflict is resolved by a person, not applied"),
            vec![],
        ),
        Action::Update | Action::RemoveBadges => match &item.desired {
            Some(d) => update_item(ctx, item, d, resumed).await,
            None => (ItemOutcome::failed("the item carries no record"), vec![]),
        },
        Action::Link => return link_item(ctx, item, resumed).await,
        Action::Delete => delete_item(ctx, item, resumed).await,
        Action::Create => create_item(ctx, plan_id, item, resumed).await,
    };
    (outcome, audits, None)
}

/// The audit entry of a write found already made when an item begun
/// before is run again: the interrupted apply made it (its audit entry was
/// to commit with the item's result) or someone made the same change.
fn found_on_resume(action: &str, system: System, id: u64, after: Option<String>) -> AuditRecord {
    audit(
        action,
        system,
        id,
        None,
        after,
        &ItemOutcome::Applied(Some(
            "found so when resuming an interrupted apply (its write, or the same change by someone)"
                .into(),
        )),
    )
}

/// An item begun before (killed after its write, before its result and
/// audit committed) whose record is now changed or gone: the interrupted
/// apply may have written `desired` before someone changed the record, and
/// that write's audit entry was lost. Audited now: after = `desired`,
/// before = the record as read now (none: gone). Not resumed: nothing.
fn interrupted_write(
    resumed: bool,
    action: &str,
    desired: &DesiredRecord,
    now: Option<&DesiredRecord>,
    outcome: &ItemOutcome,
) -> Vec<AuditRecord> {
    if !resumed {
        return vec![];
    }
    let (system, id) = record_id(desired);
    let mut a = audit(
        action,
        system,
        id,
        now.and_then(record_json),
        record_json(desired),
        outcome,
    );
    a.result = format!(
        "{}; an interrupted apply may have written this (after = desired) before the \
         record changed (before = the record as read now)",
        a.result
    );
    vec![a]
}

async fn read(ctx: &ApplyCtx, system: System, id: u64) -> Result<Option<DesiredRecord>, ItemError> {
    Ok(match system {
        System::Pac => ctx
            .pac
            .get_employee(PacId(id))
            .await?
            .map(DesiredRecord::Pac),
        System::Astrow => ctx
            .astrow
            .get_employee(PersNo(id))
            .await?
            .map(DesiredRecord::Astrow),
    })
}

async fn write(ctx: &ApplyCtx, record: &DesiredRecord) -> Result<DesiredRecord, ItemError> {
    Ok(match record {
        DesiredRecord::Pac(e) => DesiredRecord::Pac(ctx.pac.update_employee(e).await?),
        DesiredRecord::Astrow(e) => DesiredRecord::Astrow(ctx.astrow.update_employee(e).await?),
    })
}

fn with_version(record: &DesiredRecord, version: u64) -> DesiredRecord {
    let mut r = record.clone();
    match &mut r {
        DesiredRecord::Pac(e) => e.version = version,
        DesiredRecord::Astrow(e) => e.version = version,
    }
    r
}

fn version(record: &DesiredRecord) -> u64 {
    match record {
        DesiredRecord::Pac(e) => e.version,
        DesiredRecord::Astrow(e) => e.version,
    }
}

/// Re-read, compare, write `desired` with `If-Match`.
///
/// The re-read stays: `If-Match` with the planned version would refuse a
/// record changed since planning, but it cannot tell "changed by a person"
/// (stale) from "already written by an interrupted apply" (done), and the
/// audit entry needs the record as it was before the write. The re-read's
/// version is then sent as `If-Match`, so a change between the re-read and
/// the write is refused (412) and the item ends stale, never overwriting.
async fn update_item(
    ctx: &ApplyCtx,
    item: &PlanItem,
    desired: &DesiredRecord,
    resumed: bool,
) -> (ItemOutcome, Vec<AuditRecord>) {
    let (system, id) = record_id(desired);
    let action = item.action.as_str();
    let current = match read(ctx, system, id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let outcome = ItemOutcome::Stale(format!("{system} employee {id} is gone"));
            let audits = interrupted_write(resumed, action, desired, None, &outcome);
            return (outcome, audits);
        }
        Err(e) => return (e.into(), vec![]),
    };
    if item.already_applied(Some(&current)) {
        // Written before a crash, or someone made the same change.
        let audits = if resumed {
            vec![found_on_resume(action, system, id, record_json(&current))]
        } else {
            vec![]
        };
        return (ItemOutcome::Applied(Some("already so".into())), audits);
    }
    if item.is_stale(Some(&current)) {
        let outcome = ItemOutcome::Stale(format!(
            "{system} employee {id} changed since planning: planned again next run"
        ));
        let audits = interrupted_write(resumed, action, desired, Some(&current), &outcome);
        return (outcome, audits);
    }
    let to_write = with_version(desired, version(&current));
    let outcome = match write(ctx, &to_write).await {
        Ok(_) => ItemOutcome::Applied(None),
        Err(e) => e.into(),
    };
    let a = audit(
        action,
        system,
        id,
        record_json(&current),
        record_json(&to_write),
        &outcome,
    );
    (outcome, vec![a])
}

/// The link a link item stores, matched now.
fn matched_link(item: &PlanItem, master: u64, slave: u64) -> Link {
    // The target is the slave, unless the item only writes the master's
    // external_ref; either way one id is PAC's and the other Astrow's.
    let (pac_id, pers_no) = match item.target {
        System::Astrow => (PacId(master), PersNo(slave)),
        System::Pac => (PacId(slave), PersNo(master)),
    };
    Link {
        pac_id,
        pers_no,
        origin: LinkOrigin::Matched,
        at: Utc::now(),
    }
}

async fn store_link(
    ctx: &ApplyCtx,
    pac_id: PacId,
    pers_no: PersNo,
    origin: LinkOrigin,
) -> Result<(), String> {
    let link = Link {
        pac_id,
        pers_no,
        origin,
        at: Utc::now(),
    };
    ctx.store
        .call("store a link", move |s| s.upsert_link(&link))
        .await
}

/// A link: the field writes it needs, then the link, which is stored with
/// the item's result (the group's results commit before a later group
/// runs, and nothing in the same group depends on it).
async fn link_item(
    ctx: &ApplyCtx,
    item: &PlanItem,
    resumed: bool,
) -> (ItemOutcome, Vec<AuditRecord>, Option<Link>) {
    let (Some(master), Some(slave)) = (item.master_id, item.slave_id) else {
        return (ItemOutcome::failed("a link needs both ids"), vec![], None);
    };
    let mut audits = vec![];
    if !item.changes.is_empty()
        && let Some(d) = &item.desired
    {
        let (outcome, a) = update_item(ctx, item, d, resumed).await;
        audits = a;
        if !matches!(outcome, ItemOutcome::Applied(_)) {
            return (outcome, audits, None);
        }
    }
    let link = matched_link(item, master, slave);
    (ItemOutcome::Applied(None), audits, Some(link))
}

async fn delete_item(
    ctx: &ApplyCtx,
    item: &PlanItem,
    resumed: bool,
) -> (ItemOutcome, Vec<AuditRecord>) {
    let Some(id) = item.slave_id else {
        return (
            ItemOutcome::failed("a delete needs the record's id"),
            vec![],
        );
    };
    let system = item.target;
    let current = match read(ctx, system, id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            forget_link(ctx, system, id).await;
            let audits = if resumed {
                vec![found_on_resume("delete", system, id, None)]
            } else {
                vec![]
            };
            return (ItemOutcome::Applied(Some("already gone".into())), audits);
        }
        Err(e) => return (e.into(), vec![]),
    };
    if item.is_stale(Some(&current)) {
        return (
            ItemOutcome::Stale(format!(
                "{system} employee {id} changed since planning: planned again next run"
            )),
            vec![],
        );
    }
    let result = match &current {
        DesiredRecord::Pac(e) => ctx
            .pac
            .delete_employee(e.id, e.version)
            .await
            .map_err(ItemError::from),
        DesiredRecord::Astrow(e) => ctx
            .astrow
            .delete_employee(e.pers_no, e.version)
            .await
            .map_err(ItemError::from),
    };
    let outcome = match result {
        Ok(()) => {
            forget_link(ctx, system, id).await;
            ItemOutcome::Applied(None)
        }
        Err(e) => e.into(),
    };
    let a = audit("delete", system, id, record_json(&current), None, &outcome);
    (outcome, vec![a])
}

async fn forget_link(ctx: &ApplyCtx, system: System, id: u64) {
    let r = ctx
        .store
        .call("forget a link", move |s| match system {
            System::Pac => s.delete_link_by_pac_id(PacId(id)),
            System::Astrow => s.delete_link_by_pers_no(PersNo(id)),
        })
        .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "cannot forget the link of a deleted employee");
    }
}

/// The idempotency key of a create: the same for every try of this item.
pub fn idempotency_key(plan_id: &str, item_id: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    };
    format!("astrow-pac-{}-{}", clean(plan_id), clean(item_id))
}

/// A create. Its link is stored at once (not with the result): a resume
/// finds it and never asks for the create again.
async fn create_item(
    ctx: &ApplyCtx,
    plan_id: &str,
    item: &PlanItem,
    resumed: bool,
) -> (ItemOutcome, Vec<AuditRecord>) {
    let Some(desired) = &item.desired else {
        return (ItemOutcome::failed("the item carries no record"), vec![]);
    };
    // The master already has a twin (another plan, or a resumed one, made
    // it): creating again would make a second employee.
    if let Some(master_id) = item.master_id {
        let (pac_id, pers_no) = match item.target {
            System::Astrow => (Some(PacId(master_id)), None),
            System::Pac => (None, Some(PersNo(master_id))),
        };
        match ctx
            .store
            .call("look up a link", move |s| s.link_of(pac_id, pers_no))
            .await
        {
            Ok(Some(link)) => {
                // The master has its twin already (a crash came after the
                // create, or another plan made it). Only the master's
                // external_ref may still be missing.
                let mut audits = vec![];
                if resumed {
                    let made = match item.target {
                        System::Astrow => link.pers_no.0,
                        System::Pac => link.pac_id.0,
                    };
                    audits.push(found_on_resume("create", item.target, made, None));
                }
                let note =
                    match remember_in_master(ctx, item.target.other(), link.pac_id, link.pers_no)
                        .await
                    {
                        Ok(Some(a)) => {
                            audits.push(a);
                            String::new()
                        }
                        Ok(None) => {
                            // Set by the interrupted attempt, whose audit
                            // entry was to commit with the item's result.
                            if resumed {
                                let (system, id) = match item.target.other() {
                                    System::Pac => (System::Pac, link.pac_id.0),
                                    System::Astrow => (System::Astrow, link.pers_no.0),
                                };
                                audits.push(found_on_resume("update", system, id, None));
                            }
                            String::new()
                        }
                        Err(e) => format!("; the master's external_ref was not updated: {e}"),
                    };
                return (
                    ItemOutcome::Applied(Some(format!(
                        "already created and linked (PAC {} / Astrow {}): nothing created again{note}",
                        link.pac_id, link.pers_no
                    ))),
                    audits,
                );
            }
            Ok(None) => {}
            Err(e) => return (ItemOutcome::failed(e), vec![]),
        }
    }
    let key = idempotency_key(plan_id, &item.id);
    let created = match desired {
        DesiredRecord::Pac(e) => ctx
            .pac
            .create_employee(e, &key)
            .await
            .map(DesiredRecord::Pac)
            .map_err(ItemError::from),
        DesiredRecord::Astrow(e) => ctx
            .astrow
            .create_employee(e, &key)
            .await
            .map(DesiredRecord::Astrow)
            .map_err(ItemError::from),
    };
    let (system, _) = record_id(desired);
    let created = match created {
        Ok(c) => c,
        Err(e) => {
            let outcome: ItemOutcome = e.into();
            let a = audit("create", system, 0, None, record_json(desired), &outcome);
            return (outcome, vec![a]);
        }
    };
    let (_, new_id) = record_id(&created);
    let mut audits = vec![audit(
        "create",
        system,
        new_id,
        None,
        record_json(&created),
        &ItemOutcome::Applied(None),
    )];
    let Some(master_id) = item.master_id else {
        return (
            ItemOutcome::Applied(Some("created; no master id to link".into())),
            audits,
        );
    };
    let (pac_id, pers_no) = match system {
        System::Astrow => (PacId(master_id), PersNo(new_id)),
        System::Pac => (PacId(new_id), PersNo(master_id)),
    };
    if let Err(e) = store_link(ctx, pac_id, pers_no, LinkOrigin::Created).await {
        return (ItemOutcome::failed(e), audits);
    }
    // Tell the master the new id, so the link survives a lost store.
    let note = match remember_in_master(ctx, system.other(), pac_id, pers_no).await {
        Ok(Some(a)) => {
            audits.push(a);
            None
        }
        Ok(None) => None,
        Err(e) => Some(format!(
            "created and linked; the master's external_ref was not updated: {e}"
        )),
    };
    (ItemOutcome::Applied(note), audits)
}

async fn remember_in_master(
    ctx: &ApplyCtx,
    master: System,
    pac_id: PacId,
    pers_no: PersNo,
) -> Result<Option<AuditRecord>, String> {
    let fail = |e: ItemError| e.to_string();
    match master {
        System::Pac => {
            let Some(current): Option<PacEmployee> = ctx
                .pac
                .get_employee(pac_id)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(None);
            };
            let wanted = astrow_ref(pers_no);
            if current.external_ref.as_deref() == Some(wanted.as_str()) {
                return Ok(None);
            }
            let mut next = current.clone();
            next.external_ref = Some(wanted);
            ctx.pac
                .update_employee(&next)
                .await
                .map_err(|e| fail(e.into()))?;
            Ok(Some(audit(
                "update",
                System::Pac,
                pac_id.0,
                json(&current),
                json(&next),
                &ItemOutcome::Applied(Some("external_ref".into())),
            )))
        }
        System::Astrow => {
            let Some(current): Option<AstrowEmployee> = ctx
                .astrow
                .get_employee(pers_no)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(None);
            };
            let wanted = pac_ref(pac_id);
            if current.external_ref.as_deref() == Some(wanted.as_str()) {
                return Ok(None);
            }
            let mut next = current.clone();
            next.external_ref = Some(wanted);
            ctx.astrow
                .update_employee(&next)
                .await
                .map_err(|e| fail(e.into()))?;
            Ok(Some(audit(
                "update",
                System::Astrow,
                pers_no.0,
                json(&current),
                json(&next),
                &ItemOutcome::Applied(Some("external_ref".into())),
            )))
        }
    }
}
