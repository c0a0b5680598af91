//! `plan` and `apply` beside a running service: the same output and exit
//! codes as on their own, with the work done by the service's engine
//! through its control socket (the store belongs to the service).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::watch;

use super::exit;
use crate::control::Attached;
use crate::engine::command::Command;
use crate::engine::snapshot::{ActionKind, ItemState, JobKind, PlanView, RowKind, Snapshot};
use crate::http::sanitize;

/// How long an employee sync asked for may take (it waits for an apply).
const SYNC_WITHIN: Duration = Duration::from_secs(300);

/// Wait for a snapshot that satisfies `ok`; `Err` when the service went away.
async fn wait_for(
    rx: &mut watch::Receiver<Arc<Snapshot>>,
    within: Duration,
    ok: impl Fn(&Snapshot) -> bool,
) -> Result<Arc<Snapshot>, String> {
    let found = tokio::time::timeout(within, rx.wait_for(|s| ok(s))).await;
    match found {
        Ok(Ok(s)) => Ok(s.clone()),
        Ok(Err(_)) => Err("the service went away".into()),
        Err(_) => Err(format!("the service did not answer within {within:?}")),
    }
}

/// Ask the service for an employee sync now and wait for its result: the
/// picture with the new plan (or none when both systems are in step).
pub async fn sync_now(att: &mut Attached) -> Result<Arc<Snapshot>, String> {
    let rx = &mut att.handle.snapshots;
    wait_for(rx, Duration::from_secs(10), |s| s.version > 0).await?;
    let asked: DateTime<Utc> = Utc::now();
    att.caller.call(Command::RunNow(JobKind::Employees)).await?;
    let snap = wait_for(&mut att.handle.snapshots, SYNC_WITHIN, |s| {
        employee_run(s).is_some_and(|r| r.started >= asked && r.finished.is_some())
    })
    .await?;
    match employee_run(&snap) {
        Some(r) if !r.ok => Err(r.summary.clone()),
        _ => Ok(snap),
    }
}

fn employee_run(s: &Snapshot) -> Option<&crate::engine::snapshot::JobRun> {
    s.jobs
        .iter()
        .find(|j| j.kind == JobKind::Employees)
        .and_then(|j| j.last_run.as_ref())
}

/// `plan` through the service.
pub async fn plan(att: &mut Attached, as_json: bool) -> u8 {
    let snap = match sync_now(att).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("astrow-pac plan: {e}");
            return exit::PROBLEMS;
        }
    };
    let unmanaged = snap
        .employees
        .iter()
        .filter(|r| r.kind == RowKind::Unmanaged)
        .count();
    match (&snap.plan, as_json) {
        (Some(p), true) => println!("{}", view_json(p)),
        (Some(p), false) => print!("{}", view_text(p, unmanaged)),
        (None, true) => println!(
            "{}",
            json!({"plan_id": null, "master": snap.settings.master.map(|m| m.as_str()), "held": null, "items": []})
        ),
        (None, false) => {
            let master = snap.settings.master.unwrap_or(crate::model::System::Pac);
            println!(
                "{master} and {} are in step: nothing to change.",
                master.other()
            );
        }
    }
    if snap.plan.as_ref().is_some_and(|p| !p.items.is_empty()) {
        exit::USAGE
    } else {
        exit::OK
    }
}

fn symbol(a: ActionKind) -> &'static str {
    match a {
        ActionKind::Create => "+",
        ActionKind::Update => "~",
        ActionKind::Link => "=",
        ActionKind::Delete | ActionKind::RemoveBadges => "-",
        ActionKind::Conflict => "!",
    }
}

/// The order `plan` groups actions in (destructive first).
fn rank(a: ActionKind) -> u8 {
    match a {
        ActionKind::Delete => 0,
        ActionKind::RemoveBadges => 1,
        ActionKind::Update => 2,
        ActionKind::Link => 3,
        ActionKind::Create => 4,
        ActionKind::Conflict => 5,
    }
}

fn actionable(p: &PlanView) -> usize {
    p.items
        .iter()
        .filter(|i| i.action != ActionKind::Conflict)
        .count()
}

/// The plan as `plan` prints it, from the service's view of it.
pub fn view_text(plan: &PlanView, unmanaged: usize) -> String {
    let mut out = String::new();
    let slave = plan.master.other();
    let count = actionable(plan);
    if plan.items.is_empty() {
        out.push_str(&format!(
            "{} and {slave} are in step: nothing to change.\n",
            plan.master
        ));
    } else {
        out.push_str(&format!(
            "Plan {} (master {} -> {slave}): {count} change(s)\n",
            plan.plan_id, plan.master
        ));
    }
    let mut groups: BTreeMap<u8, Vec<_>> = BTreeMap::new();
    for item in &plan.items {
        groups.entry(rank(item.action)).or_default().push(item);
    }
    for items in groups.values() {
        let action = items[0].action;
        let sym = symbol(action);
        out.push_str(&format!("\n{sym} {} ({})\n", action.as_str(), items.len()));
        for i in items {
            let ids = match (&i.master_id, &i.slave_id) {
                (Some(m), Some(s)) => format!("{} {m} / {slave} {s}", plan.master),
                (Some(m), None) => format!("{} {m}", plan.master),
                (None, Some(s)) => format!("{slave} {s}"),
                (None, None) => String::new(),
            };
            out.push_str(&format!(
                "    {sym} {} ({ids}) in {}: {}\n",
                sanitize(&i.label),
                i.target,
                sanitize(&plan.reason_text(i))
            ));
            for c in &i.changes {
                out.push_str(&format!(
                    "        {}: {:?} -> {:?}\n",
                    c.field,
                    sanitize(c.before.as_deref().unwrap_or("")),
                    sanitize(c.after.as_deref().unwrap_or(""))
                ));
            }
        }
    }
    if unmanaged > 0 {
        out.push_str(&format!(
            "\n{unmanaged} {slave} employee(s) were never linked: shown in the console, never touched.\n"
        ));
    }
    for note in &plan.notes {
        out.push_str(&format!("\nNote: {}\n", sanitize(note)));
    }
    if let Some(h) = &plan.held {
        out.push_str(&format!(
            "\nHELD by the deletion guard: {h}\nApply it only deliberately: astrow-pac apply --plan {} --allow-held\n",
            plan.plan_id
        ));
    } else if count > 0 {
        out.push_str(&format!(
            "\nApply exactly this plan with: astrow-pac apply --plan {}\n",
            plan.plan_id
        ));
    }
    out
}

/// The JSON `plan --json` prints, from the service's view of the plan.
pub fn view_json(plan: &PlanView) -> serde_json::Value {
    json!({
        "plan_id": (!plan.plan_id.is_empty()).then_some(&plan.plan_id),
        "master": plan.master.as_str(),
        "held": plan.held.as_ref().map(|h| json!({"reason": h})),
        "items": plan.items.iter().map(|i| json!({
            "id": i.id,
            "action": i.action.as_str(),
            "target": i.target.as_str(),
            "master_id": i.master_id,
            "slave_id": i.slave_id,
            "changes": i.changes.iter().map(|c| json!({
                "field": c.field,
                "before": c.before.clone().unwrap_or_default(),
                "after": c.after.clone().unwrap_or_default(),
            })).collect::<Vec<_>>(),
            "reason": plan.reason_text(i),
        })).collect::<Vec<_>>(),
    })
}

/// What `store rebind` was asked.
pub struct RebindAsk<'a> {
    pub dir: &'a std::path::Path,
    /// The site the settings name, in words.
    pub site: &'a str,
    pub yes: bool,
    pub confirm: &'a dyn Fn(&str) -> bool,
}

/// `store rebind` through the service: what the store is bound to is read
/// beside it (read-only); the service re-binds and says how it went.
pub async fn rebind(att: &mut Attached, ask: &RebindAsk<'_>) -> Result<u8, String> {
    let dir = ask.dir;
    let (bound, preview) = {
        let store = crate::store::Store::open_read_only(dir).map_err(|e| e.to_string())?;
        let bound = store.site_binding().map_err(|e| e.to_string())?;
        (bound, store.rebind_preview().map_err(|e| e.to_string())?)
    };
    if bound.as_ref().is_some_and(|b| b.to_string() == ask.site) {
        println!(
            "The store in {} is bound to {} already.",
            dir.display(),
            ask.site
        );
        return Ok(exit::OK);
    }
    match &bound {
        Some(b) => println!(
            "The store in {} was made for {b}.\nThe settings point at {}.",
            dir.display(),
            ask.site
        ),
        None => println!("The store in {} is not bound yet.", dir.display()),
    }
    let question = format!(
        "Re-bind it, forgetting its {} links and its plans, and abandoning the old site's {} \
         bookings still to be sent (kept in the ledger, never sent to the new Astrow)? [y/N] ",
        preview.links, preview.pending_bookings
    );
    if !ask.yes && !(ask.confirm)(&question) {
        println!("Nothing changed.");
        return Ok(exit::PROBLEMS);
    }
    let mut events = att.handle.events.resubscribe();
    // The service re-binds to the site of its settings: the file, read again.
    att.caller.call(Command::ReloadSettings).await?;
    att.caller.call(Command::RebindStore).await?;
    let told = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match events.recv().await {
                Ok(e) if e.message.starts_with("store bound to") => return Ok(e.message),
                Ok(e) if e.message.starts_with("store not re-bound") => return Err(e.message),
                Ok(e) if e.message.contains("nothing to re-bind") => {
                    return Err(format!(
                        "{}; a service started on changed settings refuses to plan against the \
                         other site, and re-binds then",
                        e.message
                    ));
                }
                Ok(e) if e.message.starts_with("read-only: re-binding") => return Err(e.message),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return Err("the service went away".to_string()),
            }
        }
    })
    .await
    .map_err(|_| "the service did not say within 60 s whether it re-bound the store".to_string())?;
    let said = told?;
    let done = said.strip_prefix("store bound to ").unwrap_or(&said);
    println!("Bound to {done} (audited).");
    Ok(exit::OK)
}

/// `forget employee` through the service: its summary, or why it failed.
pub async fn forget(att: &mut Attached, id: u64, pers_no: Option<u64>) -> Result<String, String> {
    let mut events = att.handle.events.resubscribe();
    att.caller
        .call(Command::ForgetEmployee {
            pac_id: id,
            pers_no,
        })
        .await?;
    let (done, failed) = (
        format!("forget employee {id}: "),
        format!("forget employee {id} failed: "),
    );
    let told = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match events.recv().await {
                Ok(e) => {
                    if let Some(text) = e.message.strip_prefix(&done) {
                        return Ok(text.to_string());
                    }
                    if let Some(text) = e.message.strip_prefix(&failed) {
                        return Err(text.to_string());
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return Err("the service went away".to_string()),
            }
        }
    })
    .await;
    told.map_err(|_| "the service did not answer within 60 s".to_string())?
}

/// Wait for the engine's notice that answers a command: `answer` maps a
/// notice to the outcome, `None` for notices about other things.
async fn notice_answer(
    events: &mut tokio::sync::broadcast::Receiver<crate::engine::command::EngineEvent>,
    answer: impl Fn(&str) -> Option<Result<String, String>>,
) -> Result<String, String> {
    let told = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match events.recv().await {
                Ok(e) => {
                    if let Some(outcome) = answer(&e.message) {
                        return outcome;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return Err("the service went away".to_string()),
            }
        }
    })
    .await;
    told.map_err(|_| "the service did not answer within 60 s".to_string())?
}

/// `bookings reset-cursor` through the service: what it did, or why not.
pub async fn reset_cursor(att: &mut Attached, to: u64) -> Result<String, String> {
    let mut events = att.handle.events.resubscribe();
    att.caller.call(Command::ResetCursor { to }).await?;
    notice_answer(&mut events, |m| {
        if m.starts_with("event cursor moved from") {
            Some(Ok(m.to_string()))
        } else if let Some(why) = m.strip_prefix("event cursor not moved: ") {
            Some(Err(why.to_string()))
        } else if m.starts_with("read-only: moving the event cursor") {
            Some(Err(m.to_string()))
        } else {
            None
        }
    })
    .await
}

/// `bookings astrow-cursor` through the service.
pub async fn move_astrow_cursor(
    att: &mut Attached,
    to: u64,
    force: bool,
) -> Result<String, String> {
    let mut events = att.handle.events.resubscribe();
    att.caller
        .call(Command::MoveAstrowCursor { to, force })
        .await?;
    notice_answer(&mut events, |m| {
        if m.starts_with("Astrow booking cursor moved from") {
            Some(Ok(m.to_string()))
        } else if let Some(why) = m.strip_prefix("Astrow booking cursor not moved: ") {
            Some(Err(why.to_string()))
        } else if m.starts_with("read-only: moving the Astrow booking cursor")
            || m.starts_with("moving the Astrow booking cursor refused: ")
        {
            Some(Err(m.to_string()))
        } else {
            None
        }
    })
    .await
}

/// `reconcile --resend-missing` through the service.
pub async fn resend_lost(att: &mut Attached, source_ids: Vec<String>) -> Result<String, String> {
    use crate::engine::bookings::resend::FAILED;
    let mut events = att.handle.events.resubscribe();
    att.caller
        .call(Command::ResendLostBookings { source_ids })
        .await?;
    notice_answer(&mut events, |m| {
        if m.starts_with("lost bookings: ") {
            Some(Ok(m.to_string()))
        } else if let Some(why) = m.strip_prefix(FAILED) {
            Some(Err(why.to_string()))
        } else if m.starts_with("read-only: sending lost bookings again")
            || m.starts_with("sending lost bookings again refused: ")
        {
            Some(Err(m.to_string()))
        } else {
            None
        }
    })
    .await
}

/// What `apply` was asked.
pub struct ApplyAsk<'a> {
    pub plan: Option<&'a str>,
    pub yes: bool,
    pub allow_held: bool,
    pub confirm: &'a dyn Fn(&str) -> bool,
}

/// `apply` through the service: approve the plan's open items, start the
/// apply, follow its progress in the service's snapshots.
pub async fn apply(att: &mut Attached, ask: &ApplyAsk<'_>) -> Result<u8, String> {
    let snap = match ask.plan {
        None => sync_now(att).await?,
        Some(_) => {
            wait_for(&mut att.handle.snapshots, Duration::from_secs(10), |s| {
                s.version > 0
            })
            .await?
        }
    };
    let Some(plan) = snap.plan.clone() else {
        if let Some(id) = ask.plan {
            return Err(format!(
                "plan {id} is not pending in the running service: run `astrow-pac plan` for a current one"
            ));
        }
        println!("Nothing to apply: both systems are in step.");
        return Ok(exit::OK);
    };
    if let Some(id) = ask.plan.filter(|id| *id != plan.plan_id) {
        return Err(format!(
            "plan {id} is not the service's pending plan (that is {}): run `astrow-pac plan` for a current one",
            plan.plan_id
        ));
    }
    let plan_id = plan.plan_id.clone();
    if let Some(reason) = plan.held.as_ref().filter(|_| !ask.allow_held) {
        eprintln!(
            "Plan {plan_id} is held by the deletion guard: {reason}\n\
             Nothing applied. Review it (`astrow-pac plan`), then apply with --allow-held if it is right."
        );
        return Ok(exit::PROBLEMS);
    }
    let ids: Vec<String> = plan
        .items
        .iter()
        .filter(|i| matches!(i.state, ItemState::Pending | ItemState::Approved))
        .filter(|i| i.action != ActionKind::Conflict)
        .map(|i| i.id.to_string())
        .collect();
    if ids.is_empty() {
        println!("Plan {plan_id} has nothing left to apply.");
        return Ok(exit::OK);
    }
    let question = format!(
        "Apply {} change(s) to {}? [y/N] ",
        ids.len(),
        plan.master.other()
    );
    if !ask.yes && !(ask.confirm)(&question) {
        println!("Nothing applied.");
        return Ok(exit::PROBLEMS);
    }
    att.caller.call(Command::Approve(ids)).await?;
    let asked = Utc::now() - chrono::Duration::seconds(1);
    att.caller
        .call(Command::Apply {
            plan_id: plan_id.clone(),
            allow_held: ask.allow_held,
        })
        .await?;
    follow(att, &plan_id, asked).await
}

/// Follow the apply of `plan_id` to its end; print what `apply` prints.
async fn follow(att: &mut Attached, plan_id: &str, asked: DateTime<Utc>) -> Result<u8, String> {
    let live = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let ours = |s: &Snapshot| {
        s.apply
            .as_ref()
            .filter(|a| a.plan_id == plan_id && a.started.is_some_and(|t| t >= asked))
            .cloned()
    };
    wait_for(&mut att.handle.snapshots, Duration::from_secs(30), |s| {
        ours(s).is_some()
    })
    .await
    .map_err(|e| format!("{e}: the apply did not start (see the service's log)"))?;
    let rx = &mut att.handle.snapshots;
    let done = loop {
        let now = ours(&rx.borrow_and_update()).ok_or("the apply vanished")?;
        if live {
            let n = now.applied + now.stale + now.failed;
            eprint!(
                "\r{n}/{} applied {} stale {} failed {}",
                now.total, now.applied, now.stale, now.failed
            );
            let _ = std::io::stderr().flush();
        }
        if !now.running {
            break now;
        }
        rx.changed()
            .await
            .map_err(|_| "the service went away during the apply; it finishes the item in flight and resumes the rest when it starts again")?;
    };
    if live {
        eprintln!();
    }
    // The items' outcomes follow the progress: give them a moment.
    let _ = tokio::time::timeout(Duration::from_secs(2), rx.changed()).await;
    if let Some(p) = rx.borrow().plan.as_ref().filter(|p| p.plan_id == plan_id) {
        for i in &p.items {
            if matches!(i.state, ItemState::Stale | ItemState::Failed) {
                let state = if i.state == ItemState::Stale {
                    "stale"
                } else {
                    "failed"
                };
                println!("  {state} {}: {}", i.id, i.message.as_deref().unwrap_or(""));
            }
        }
    }
    println!(
        "Plan {plan_id}: {} applied, {} stale (planned again next run), {} failed.",
        done.applied, done.stale, done.failed
    );
    Ok(if done.failed == 0 {
        exit::OK
    } else {
        exit::PROBLEMS
    })
}
