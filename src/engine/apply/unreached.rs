//! A stopped apply's items that an earlier apply began and did not record
//! (it was killed after marking them started, maybe after writing). A run
//! stopped before reaching them (its plan void, or the engine stopping)
//! checks them without writing: a write the killed apply made gets its
//! audit entry now, as the resume would give it, and no later void can
//! clear their started mark while their write stays unaudited.

use std::collections::HashSet;

use super::{
    ApplyCtx, ItemOutcome, ResultBatch, forget_link, found_on_resume, interrupted_write,
    matched_link, read, record_id, record_json,
};
use crate::engine::plan::{Action, DesiredRecord, PlanItem};
use crate::engine::snapshot::ApplyProgress;
use crate::model::{Link, PacId, PersNo, System};
use crate::store::{AuditRecord, ItemProgress, ItemResult, PlanState};

/// Check the items `begun_before` (marked started when this run read its
/// plan) that are still started and not done: this run did not reach them
/// (stopped first, or they were not among the items it was to do). Their results are recorded (counted into
/// `state`). An item that cannot be checked (its system unreachable) ends
/// the check with an error: it stays marked started, so its plan must
/// stay interrupted and a resume checks it.
pub(super) async fn check_unreached(
    ctx: &ApplyCtx,
    plan_id: &str,
    begun_before: &[String],
    state: &mut ApplyProgress,
) -> Result<(), String> {
    if begun_before.is_empty() {
        return Ok(());
    }
    let id = plan_id.to_string();
    let stored = ctx
        .store
        .call("load the plan", move |s| s.load_plan(&id))
        .await?;
    let earlier: HashSet<&str> = begun_before.iter().map(String::as_str).collect();
    let still: Vec<PlanItem> = stored
        .items
        .iter()
        .filter(|i| i.state == PlanState::Approved && i.progress() == ItemProgress::Started)
        .filter(|i| earlier.contains(i.item_id.as_str()))
        .map(|i| {
            crate::engine::plan::decode_item(&i.body)
                .map_err(|e| format!("item {} cannot be read: {e}", i.item_id))
        })
        .collect::<Result<_, _>>()?;
    let mut batch = ResultBatch::default();
    for item in &still {
        let (outcome, audits, link) = check_item(ctx, item).await;
        if let ItemOutcome::Failed(e) = &outcome {
            batch.flush(ctx, plan_id, state).await?;
            return Err(format!(
                "item {} was begun by an apply that was cut short and cannot be checked \
                 ({e}): the plan stays interrupted, and its apply checks it when it resumes",
                item.id
            ));
        }
        batch.push(ItemResult {
            item_id: item.id.clone(),
            state: outcome.state(),
            detail: outcome.detail(),
            failure: None,
            audits,
            link,
        });
    }
    batch.flush(ctx, plan_id, state).await
}

/// What a stopped run says of an item begun before and not rewritten.
const NOT_WRITTEN: &str = "not written: the apply stopped before this item (planned again)";

/// One item begun by an earlier apply, checked without writing: found as
/// planned (applied, audited as found so), changed or gone (stale, audited
/// as a write the interrupted apply may have made), or untouched (stale,
/// nothing written, nothing to audit).
async fn check_item(
    ctx: &ApplyCtx,
    item: &PlanItem,
) -> (ItemOutcome, Vec<AuditRecord>, Option<Link>) {
    match item.action {
        Action::Update | Action::RemoveBadges => match &item.desired {
            Some(d) => {
                let (o, a) = check_update(ctx, item, d).await;
                (o, a, None)
            }
            None => (
                ItemOutcome::failed("the item carries no record"),
                vec![],
                None,
            ),
        },
        Action::Link => check_link(ctx, item).await,
        Action::Delete => {
            let (o, a) = check_delete(ctx, item).await;
            (o, a, None)
        }
        Action::Create => {
            let (o, a) = check_create(ctx, item).await;
            (o, a, None)
        }
        Action::Conflict => (ItemOutcome::Stale(NOT_WRITTEN.into()), vec![], None),
    }
}

async fn check_update(
    ctx: &ApplyCtx,
    item: &PlanItem,
    desired: &DesiredRecord,
) -> (ItemOutcome, Vec<AuditRecord>) {
    let (system, id) = record_id(desired);
    let action = item.action.as_str();
    match read(ctx, system, id).await {
        Err(e) => (ItemOutcome::Failed(e), vec![]),
        Ok(None) => {
            let o = ItemOutcome::Stale(format!("{system} employee {id} is gone"));
            let a = interrupted_write(true, action, desired, None, &o);
            (o, a)
        }
        Ok(Some(current)) if item.already_applied(Some(&current)) => (
            ItemOutcome::Applied(Some("already so".into())),
            vec![found_on_resume(action, system, id, record_json(&current))],
        ),
        Ok(Some(current)) if item.is_stale(Some(&current)) => {
            let o = ItemOutcome::Stale(format!(
                "{system} employee {id} changed since planning: planned again next run"
            ));
            let a = interrupted_write(true, action, desired, Some(&current), &o);
            (o, a)
        }
        Ok(Some(_)) => (ItemOutcome::Stale(NOT_WRITTEN.into()), vec![]),
    }
}

/// A link's field writes checked; found as planned, the link is stored too.
async fn check_link(
    ctx: &ApplyCtx,
    item: &PlanItem,
) -> (ItemOutcome, Vec<AuditRecord>, Option<Link>) {
    let (Some(master), Some(slave), Some(d)) = (item.master_id, item.slave_id, &item.desired)
    else {
        return (
            ItemOutcome::failed("a link needs both ids and its record"),
            vec![],
            None,
        );
    };
    let (outcome, audits) = check_update(ctx, item, d).await;
    if !matches!(outcome, ItemOutcome::Applied(_)) {
        return (outcome, audits, None);
    }
    (outcome, audits, Some(matched_link(item, master, slave)))
}

async fn check_delete(ctx: &ApplyCtx, item: &PlanItem) -> (ItemOutcome, Vec<AuditRecord>) {
    let Some(id) = item.slave_id else {
        return (
            ItemOutcome::failed("a delete needs the record's id"),
            vec![],
        );
    };
    let system = item.target;
    match read(ctx, system, id).await {
        Err(e) => (ItemOutcome::Failed(e), vec![]),
        Ok(None) => {
            forget_link(ctx, system, id).await;
            (
                ItemOutcome::Applied(Some("already gone".into())),
                vec![found_on_resume("delete", system, id, None)],
            )
        }
        // Still there: the killed apply did not delete it.
        Ok(Some(_)) => (ItemOutcome::Stale(NOT_WRITTEN.into()), vec![]),
    }
}

/// A create whose link is stored was made (the link is stored right after
/// the create). Without a link the killed apply may have created it before
/// storing the link: audited as a possible write, not created again.
async fn check_create(ctx: &ApplyCtx, item: &PlanItem) -> (ItemOutcome, Vec<AuditRecord>) {
    let Some(desired) = &item.desired else {
        return (ItemOutcome::failed("the item carries no record"), vec![]);
    };
    let linked = match item.master_id {
        Some(master_id) => {
            let (pac_id, pers_no) = match item.target {
                System::Astrow => (Some(PacId(master_id)), None),
                System::Pac => (None, Some(PersNo(master_id))),
            };
            match ctx
                .store
                .call("look up a link", move |s| s.link_of(pac_id, pers_no))
                .await
            {
                Ok(l) => l,
                Err(e) => return (ItemOutcome::failed(e), vec![]),
            }
        }
        None => None,
    };
    match linked {
        Some(link) => {
            let made = match item.target {
                System::Astrow => link.pers_no.0,
                System::Pac => link.pac_id.0,
            };
            (
                ItemOutcome::Applied(Some(format!(
                    "already created and linked (PAC {} / Astrow {})",
                    link.pac_id, link.pers_no
                ))),
                vec![found_on_resume("create", item.target, made, None)],
            )
        }
        None => {
            let o = ItemOutcome::Stale(
                "not created again: the apply stopped before this item, which an \
                 interrupted apply may have created (planned again)"
                    .into(),
            );
            let a = interrupted_write(true, "create", desired, None, &o);
            (o, a)
        }
    }
}
