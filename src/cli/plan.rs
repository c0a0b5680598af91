//! `astrow-pac plan`: what a sync would change, without changing anything.

use std::collections::BTreeMap;

use clap::Args;
use serde_json::json;

use super::common::{files_checked, one_shot_routed};
use super::{GlobalArgs, exit};
use crate::engine::connect::{astrow_client, pac_client};
use crate::engine::jobs::employees::{compute_plan, new_plan_under};
use crate::engine::plan::{Action, Plan};
use crate::engine::runtime::store_dir;
use crate::engine::store_handle::StoreHandle;
use crate::engine::views::Names;
use crate::http::sanitize;
use crate::store::{PlanState, Store, StoredPlan};

pub const LONG_ABOUT: &str = "Compute the employee sync plan from both systems' current \
employees and print it grouped by action, each item with its reason and its field changes. \
Nothing is written to PAC or Astrow; the plan is kept in the store so that \
`astrow-pac apply --plan ID` can carry out exactly what was shown.

Exit codes: 0 nothing would change, 2 something would, 1 error.";

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(global: &GlobalArgs, args: &PlanArgs) -> u8 {
    // Kept whole: its log guard must live until the command ends.
    let Some(shot) = one_shot_routed(global) else {
        return exit::PROBLEMS;
    };
    let settings = &shot.settings;
    shot.runtime.block_on(async {
        // A service holds the store: it plans, and keeps the plan.
        match super::attach::attach_running(settings, false, false).await {
            Ok(Some(mut att)) => return super::remote::plan(&mut att, args.json).await,
            Ok(None) => {}
            Err(e) => {
                eprintln!("astrow-pac plan: {e}");
                return exit::PROBLEMS;
            }
        }
        if !files_checked(global) {
            return exit::PROBLEMS;
        }
        match compute(settings).await {
            Ok((plan, names, stored)) => {
                if args.json {
                    println!("{}", plan_json(&plan, stored.as_ref(), &names));
                } else {
                    print!("{}", plan_text(&plan, &names));
                    if let Some(failing) = stored
                        .as_ref()
                        .and_then(|s| crate::engine::retry::failing_summary(&s.items, 20))
                    {
                        println!("\nFailed before, retried: {}", sanitize(&failing));
                    }
                }
                if plan.is_empty() {
                    exit::OK
                } else {
                    exit::USAGE
                }
            }
            Err(e) => {
                eprintln!("astrow-pac plan: {e}");
                exit::PROBLEMS
            }
        }
    })
}

/// Compute the plan and keep it in the store (as the live plan): the plan,
/// names for its items, and the plan as stored (states, attempts, errors).
pub async fn compute(
    settings: &crate::config::Settings,
) -> Result<(Plan, Names, Option<StoredPlan>), String> {
    let store = Store::open(&store_dir(settings)).map_err(|e| e.to_string())?;
    let store = StoreHandle::new(store);
    let pac = pac_client(settings).map_err(|e| e.to_string())?;
    let astrow = astrow_client(settings).map_err(|e| e.to_string())?;
    let (mut plan, pac_list, astrow_list, _) =
        compute_plan(&pac, &astrow, &store, settings).await?;
    let mut stored = None;
    if !plan.items.is_empty() {
        let new = new_plan_under(&plan, settings);
        let saved = store
            .call("store the plan", move |s| {
                let saved = s.save_plan(&new)?;
                let stored = s.load_plan(&saved.plan_id)?;
                Ok((saved, stored))
            })
            .await?;
        plan.plan_id = saved.0.plan_id;
        stored = Some(saved.1);
    }
    Ok((plan, Names::new(&pac_list, &astrow_list), stored))
}

/// The JSON `plan --json` prints: each item with its state in the store,
/// and for an item that failed before, its attempts and last error.
pub fn plan_json(plan: &Plan, stored: Option<&StoredPlan>, names: &Names) -> serde_json::Value {
    let kept = |id: &str| stored.and_then(|s| s.items.iter().find(|i| i.item_id == id));
    json!({
        // An empty plan is never stored and has no id: null, not "".
        "plan_id": (!plan.plan_id.is_empty()).then_some(&plan.plan_id),
        "master": plan.master.as_str(),
        "held": plan.held.as_ref().map(|h| json!({"reason": h.reason})),
        "items": plan.items.iter().map(|i| {
            let k = kept(&i.id);
            json!({
                "id": i.id,
                "action": i.action.as_str(),
                "target": i.target.as_str(),
                "master_id": i.master_id,
                "slave_id": i.slave_id,
                "changes": i.changes.iter().map(|c| json!({
                    "field": c.field, "before": c.before, "after": c.after,
                })).collect::<Vec<_>>(),
                "reason": names.reason_text(i),
                "state": k.map_or("pending", |k| k.state.as_str()),
                "attempts": k.map_or(0, |k| k.attempts),
                "failure_kind": k.and_then(crate::engine::retry::failure_kind),
                "last_error": k.filter(|k| k.state == PlanState::Failed).and_then(|k| k.detail.clone()),
                "retry_at": k.and_then(|k| k.retry_at),
            })
        }).collect::<Vec<_>>(),
    })
}

fn symbol(a: Action) -> &'static str {
    match a {
        Action::Create => "+",
        Action::Update => "~",
        Action::Link => "=",
        Action::Delete => "-",
        Action::RemoveBadges => "-",
        Action::Conflict => "!",
    }
}

/// The plan for a person: grouped by action, Terraform-like.
pub fn plan_text(plan: &Plan, names: &Names) -> String {
    let mut out = String::new();
    let slave = plan.master.other();
    let actionable = plan.actionable().count();
    if plan.items.is_empty() {
        out.push_str(&format!(
            "{} and {slave} are in step: nothing to change.\n",
            plan.master
        ));
    } else {
        out.push_str(&format!(
            "Plan {} (master {} -> {slave}): {actionable} change(s)\n",
            plan.plan_id, plan.master
        ));
    }
    let mut groups: BTreeMap<Action, Vec<_>> = BTreeMap::new();
    for item in &plan.items {
        groups.entry(item.action).or_default().push(item);
    }
    for (action, items) in groups {
        out.push_str(&format!(
            "\n{} {} ({})\n",
            symbol(action),
            action.as_str(),
            items.len()
        ));
        for i in items {
            let ids = match (i.master_id, i.slave_id) {
                (Some(m), Some(s)) => format!("{} {m} / {slave} {s}", plan.master),
                (Some(m), None) => format!("{} {m}", plan.master),
                (None, Some(s)) => format!("{slave} {s}"),
                (None, None) => String::new(),
            };
            out.push_str(&format!(
                "    {} {} ({ids}) in {}: {}\n",
                symbol(action),
                sanitize(&names.label(i, plan.master)),
                i.target,
                sanitize(&names.reason_text(i))
            ));
            for c in &i.changes {
                out.push_str(&format!(
                    "        {}: {:?} -> {:?}\n",
                    c.field,
                    sanitize(&c.before),
                    sanitize(&c.after)
                ));
            }
        }
    }
    if !plan.unmanaged.is_empty() {
        out.push_str(&format!(
            "\n{} {slave} employee(s) were never linked: shown in the console, never touched.\n",
            plan.unmanaged.len()
        ));
    }
    for note in &plan.notes {
        out.push_str(&format!("\nNote: {}\n", sanitize(note)));
    }
    if let Some(h) = &plan.held {
        out.push_str(&format!(
            "\nHELD by the deletion guard: {}\nApply it only deliberately: astrow-pac apply --plan {} --allow-held\n",
            h.reason, plan.plan_id
        ));
    } else if actionable > 0 {
        out.push_str(&format!(
            "\nApply exactly this plan with: astrow-pac apply --plan {}\n",
            plan.plan_id
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::System;

    #[test]
    fn an_empty_plan_has_a_null_id_in_json() {
        let plan = Plan {
            plan_id: String::new(),
            master: System::Pac,
            held: None,
            items: vec![],
            unmanaged: vec![],
            notes: vec![],
            managed_slave_employees: 0,
        };
        let v = plan_json(&plan, None, &Names::default());
        assert!(v["plan_id"].is_null(), "{v}");
        let stored = Plan {
            plan_id: "p-1".into(),
            ..plan
        };
        assert_eq!(
            plan_json(&stored, None, &Names::default())["plan_id"],
            "p-1"
        );
    }
}
