//! `astrow-pac apply`: carry out a plan, after a confirmation.

use std::io::{BufRead, Write};

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::common::{files_checked, one_shot_routed};
use super::stop_signal::wait_for_stop;
use super::{GlobalArgs, exit};
use crate::engine::apply::{ApplyCtx, apply_plan_items, finish_plan};
use crate::engine::connect::{astrow_client, pac_client};
use crate::engine::jobs::employees::{compute_plan, new_plan_under};
use crate::engine::plan::{Action, PlanItem};
use crate::engine::plan_meaning::{PlanMeaning, stored_plan_void_reason};
use crate::engine::runtime::store_dir;
use crate::engine::snapshot::ApplyProgress;
use crate::engine::store_handle::StoreHandle;
use crate::store::{PlanState, SaveOutcome, Selection, Store, StoredPlan};

pub const LONG_ABOUT: &str = "Apply the employee sync plan: compute it now (or take the plan \
`astrow-pac plan` showed, with --plan ID), show how many changes go to which system, ask for \
confirmation (default No), then write each change. A record that changed since the plan was \
made is skipped as stale and planned again next time. A plan held by the deletion guard is \
refused unless --allow-held is given.

Exit codes: 0 applied (or nothing to do), 1 refused, declined or something failed.";

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
    /// Apply this stored plan (the id `astrow-pac plan` printed) instead of computing one
    #[arg(long, value_name = "ID")]
    pub plan: Option<String>,
    /// Apply even a plan the deletion guard holds
    #[arg(long)]
    pub allow_held: bool,
}

pub fn run(global: &GlobalArgs, args: &ApplyArgs) -> u8 {
    // Kept whole: its log guard must live until the command ends.
    let Some(shot) = one_shot_routed(global) else {
        return exit::PROBLEMS;
    };
    let settings = &shot.settings;
    shot.runtime.block_on(async {
        match apply(global, settings, args).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("astrow-pac apply: {e}");
                exit::PROBLEMS
            }
        }
    })
}

/// Beside a running service, a plan asked for by id that the store shows
/// as applied already: nothing left to do is success (a re-run script), as
/// it is without a service. `None` when the service should be asked.
fn finished_plan(settings: &crate::config::Settings, plan_id: &str) -> Option<u8> {
    let store = Store::open_read_only(&store_dir(settings)).ok()?;
    let stored = store.load_plan(plan_id).ok()?;
    (stored.state == PlanState::Applied).then(|| {
        println!("Plan {plan_id} is applied already: nothing left to apply.");
        exit::OK
    })
}

async fn apply(
    global: &GlobalArgs,
    settings: &crate::config::Settings,
    args: &ApplyArgs,
) -> Result<u8, String> {
    // A service holds the store: it applies, this command follows.
    if let Some(mut att) = super::attach::attach_running(settings, false, false).await? {
        if let Some(code) = args
            .plan
            .as_deref()
            .and_then(|id| finished_plan(settings, id))
        {
            return Ok(code);
        }
        let ask = super::remote::ApplyAsk {
            plan: args.plan.as_deref(),
            yes: args.yes,
            allow_held: args.allow_held,
            confirm: &confirm,
        };
        return super::remote::apply(&mut att, &ask).await;
    }
    if !files_checked(global) {
        return Ok(exit::PROBLEMS);
    }
    let store = StoreHandle::new(Store::open(&store_dir(settings)).map_err(|e| e.to_string())?);
    let pac = pac_client(settings).map_err(|e| e.to_string())?;
    let astrow = astrow_client(settings).map_err(|e| e.to_string())?;
    // A stored plan of another site (links made there) never runs here.
    crate::engine::site::require_same_site(&store, settings).await?;
    let plan_id = match &args.plan {
        Some(id) => id.clone(),
        None => {
            // An apply cut short is finished before anything new is planned:
            // a fresh plan would repeat its unfinished creates.
            let interrupted = store
                .call("find an interrupted apply", |s| s.interrupted_plans())
                .await?;
            if let Some(id) = interrupted.last() {
                eprintln!(
                    "The apply of plan {id} was interrupted. Finish it first: \
                     astrow-pac apply --plan {id}"
                );
                return Ok(exit::PROBLEMS);
            }
            let (plan, ..) = compute_plan(&pac, &astrow, &store, settings).await?;
            if plan.is_empty() {
                println!("Nothing to apply: both systems are in step.");
                return Ok(exit::OK);
            }
            let new = new_plan_under(&plan, settings);
            let saved = store
                .call("store the plan", move |s| s.save_plan(&new))
                .await?;
            if saved.outcome == SaveOutcome::AlreadyApplied {
                println!(
                    "Nothing to apply: plan {} made these same changes already.",
                    saved.plan_id
                );
                return Ok(exit::OK);
            }
            saved.plan_id
        }
    };
    let id = plan_id.clone();
    let stored = store
        .call("load the plan", move |s| s.load_plan(&id))
        .await?;
    if stored.state == PlanState::Approved {
        // Marked when an apply starts and cleared when it ends: this one
        // stopped mid-way (killed, crashed). Resume it; done items are not repeated.
        eprintln!(
            "Plan {plan_id} was being applied when that apply stopped: resuming it \
             (items already done are not repeated)."
        );
    } else if stored.state == PlanState::Applied {
        // Asked again for a plan that is done (a script re-run, or an apply
        // that finished as it was being stopped): nothing to do is success.
        println!("Plan {plan_id} is applied already: nothing left to apply.");
        return Ok(exit::OK);
    } else if stored.state != PlanState::Pending {
        return Err(format!(
            "plan {plan_id} is {} ({}): run `astrow-pac plan` for a current one",
            stored.state.as_str(),
            stored.note.as_deref().unwrap_or("not pending")
        ));
    }
    let now = PlanMeaning::of(settings);
    if let Some(why) = stored_plan_void_reason(stored.master, stored.settings.as_deref(), &now) {
        let ctx = ApplyCtx {
            pac: pac.clone(),
            astrow: astrow.clone(),
            store: store.clone(),
            concurrency: 4,
            actor: crate::engine::request::Actor::local().to_string(),
        };
        return void_plan(&ctx, &plan_id, &why).await;
    }
    if let Some(reason) = &stored.held_reason
        && !args.allow_held
    {
        eprintln!(
            "Plan {plan_id} is held by the deletion guard: {reason}\n\
             Nothing applied. Review it (`astrow-pac plan`), then apply with --allow-held if it is right."
        );
        return Ok(exit::PROBLEMS);
    }
    let ids = actionable_ids(&stored)?;
    if ids.is_empty() && stored.state == PlanState::Approved {
        // Killed after its last result committed, before the plan was
        // marked finished: only that mark is left to make.
        finish_plan(&store, &plan_id).await?;
        println!("Plan {plan_id}: every item was done before that apply stopped; marked finished.");
        return Ok(exit::OK);
    }
    if ids.is_empty() {
        println!("Plan {plan_id} has nothing left to apply.");
        return Ok(exit::OK);
    }
    let target = stored.master.other();
    if !args.yes
        && !confirm(&format!(
            "Apply {} change(s) to {target}? [y/N] ",
            ids.len()
        ))
    {
        println!("Nothing applied.");
        return Ok(exit::PROBLEMS);
    }
    let (pid, ids2) = (plan_id.clone(), ids.clone());
    store
        .call("approve the items", move |s| {
            s.set_item_states(&pid, Selection::Items(&ids2), PlanState::Approved)
        })
        .await?;
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        wait_for_stop().await;
        eprintln!("stopping after the changes in flight...");
        stopper.cancel();
    });
    let ctx = ApplyCtx {
        pac,
        astrow,
        store: store.clone(),
        concurrency: 4,
        actor: crate::engine::request::Actor::local().to_string(),
    };
    let live = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = move |p: ApplyProgress| {
        if !live {
            return;
        }
        let done = p.applied + p.stale + p.failed;
        eprint!(
            "\r{done}/{} applied {} stale {} failed {}",
            p.total, p.applied, p.stale, p.failed
        );
        let _ = std::io::stderr().flush();
    };
    let result =
        apply_plan_items(&ctx, &plan_id, None, args.allow_held, &progress, &cancel).await?;
    if live {
        eprintln!();
    }
    let id = plan_id.clone();
    let after = store
        .call("read the results", move |s| s.load_plan(&id))
        .await?;
    for item in &after.items {
        if matches!(item.state, PlanState::Stale | PlanState::Failed) {
            println!(
                "  {} {}: {}",
                item.state.as_str(),
                item.item_id,
                item.detail.as_deref().unwrap_or("")
            );
        }
    }
    println!(
        "Plan {plan_id}: {} applied, {} stale (planned again next run), {} failed.",
        result.applied, result.stale, result.failed
    );
    Ok(if result.failed == 0 && !cancel.is_cancelled() {
        exit::OK
    } else {
        exit::PROBLEMS
    })
}

/// Pending, approved or failed (tried again) items that write something
/// (conflicts are a person's).
fn actionable_ids(stored: &StoredPlan) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    for i in &stored.items {
        if !matches!(
            i.state,
            PlanState::Pending | PlanState::Approved | PlanState::Failed
        ) {
            continue;
        }
        let item: PlanItem = crate::engine::plan::decode_item(&i.body)
            .map_err(|e| format!("item {} cannot be read: {e}", i.item_id))?;
        if item.action != Action::Conflict {
            ids.push(i.item_id.clone());
        }
    }
    Ok(ids)
}

/// Ask on the terminal; anything but y/yes is No.
pub(crate) fn confirm(question: &str) -> bool {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(_) => matches!(line.trim().to_lowercase().as_str(), "y" | "yes"),
        Err(_) => false,
    }
}

/// A plan made under other settings is void, not applied. The items an
/// interrupted apply of it began are checked first (never written), so a
/// write it made is audited; when they cannot be, it stays interrupted.
async fn void_plan(ctx: &ApplyCtx, plan_id: &str, why: &str) -> Result<u8, String> {
    let stopped = CancellationToken::new();
    stopped.cancel();
    let checked = apply_plan_items(ctx, plan_id, None, true, &|_| {}, &stopped).await;
    let (pid, w, recorded) = (plan_id.to_string(), why.to_string(), checked.is_ok());
    ctx.store
        .call("void the plan", move |s| {
            s.void_stopped_apply(&pid, &w, recorded)
        })
        .await?;
    match checked {
        Ok(_) => eprintln!(
            "Plan {plan_id} is void: {why}. Nothing applied; run `astrow-pac plan` for a current one."
        ),
        Err(e) => eprintln!(
            "Plan {plan_id} was made under other settings ({why}) and is not applied; \
             it stays interrupted: {e}"
        ),
    }
    Ok(exit::PROBLEMS)
}
