//! The audit row of a write command, with who sent it: pure, from the
//! request and the picture the engine had when it took it.

use super::command::Command;
use super::request::{Request, is_write};
use super::snapshot::Snapshot;
use crate::model::System;
use crate::store::AuditRecord;

/// The row to append for a request (`None` for commands that write nothing).
/// The audit's `system` is the one the command acts on: the plan's target
/// for approvals and applies, PAC for doors and roll calls, the synced-to
/// system for pause, resume and reload.
pub fn command_audit(req: &Request, snap: &Snapshot) -> Option<AuditRecord> {
    if !is_write(&req.command) {
        return None;
    }
    let plan_target = snap.plan.as_ref().map(|p| p.master.other());
    let synced_to = snap
        .settings
        .master
        .map(System::other)
        .or(plan_target)
        .unwrap_or(System::Astrow);
    let plan_id = snap.plan.as_ref().map_or("(none)", |p| p.plan_id.as_str());
    let (system, action, record) = match &req.command {
        Command::Approve(ids) => (
            plan_target.unwrap_or(synced_to),
            "approve".to_string(),
            items(plan_id, ids),
        ),
        Command::Reject(ids) => (
            plan_target.unwrap_or(synced_to),
            "reject".to_string(),
            items(plan_id, ids),
        ),
        Command::Apply {
            plan_id,
            allow_held,
        } => (
            plan_target.unwrap_or(synced_to),
            "apply_requested".to_string(),
            format!(
                "plan {plan_id}{}",
                if *allow_held {
                    " (held plan allowed)"
                } else {
                    ""
                }
            ),
        ),
        Command::OpenDoor { reader_id } => (
            System::Pac,
            "open_door_requested".into(),
            format!("reader {reader_id}"),
        ),
        Command::StartRollCall => (System::Pac, "roll_call_start".into(), "roll call".into()),
        Command::StopRollCall => (System::Pac, "roll_call_stop".into(), "roll call".into()),
        Command::Pause => (synced_to, "pause".into(), "scheduled syncs".into()),
        Command::Resume => (synced_to, "resume".into(), "scheduled syncs".into()),
        Command::ReloadSettings => (synced_to, "reload_settings".into(), "settings".into()),
        // The store's own audit records the erasure; this row says who asked.
        Command::ForgetEmployee { .. } => (
            System::Pac,
            "forget_employee".into(),
            "an employee (see the store's own audit)".into(),
        ),
        Command::ResendLostBookings { source_ids } => (
            System::Astrow,
            "resend_lost_bookings".into(),
            format!(
                "{} booking(s) (see the store's own audit)",
                source_ids.len()
            ),
        ),
        other => (synced_to, command_name(other), String::new()),
    };
    Some(AuditRecord {
        system,
        action,
        record,
        before: None,
        after: None,
        result: match &req.actor.ssh_from {
            Some(from) => format!("requested over ssh from {from} (as reported by the client)"),
            None => "requested".into(),
        },
    })
}

/// A command's name for a row, from its serde tag (`approve`, `open_door`).
fn command_name(cmd: &Command) -> String {
    match serde_json::to_value(cmd) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Object(m)) => m.keys().next().cloned().unwrap_or_default(),
        _ => "command".into(),
    }
}

fn items(plan_id: &str, ids: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut text = format!("plan {plan_id}: {} item(s)", ids.len());
    if !ids.is_empty() {
        text.push_str(": ");
        text.push_str(
            &ids.iter()
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        );
        if ids.len() > SHOWN {
            text.push_str(", ...");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::engine::request::Actor;
    use crate::engine::snapshot::PlanView;

    fn snap() -> Snapshot {
        let mut s = Snapshot::default();
        s.settings.master = Some(System::Pac);
        s.plan = Some(Arc::new(PlanView {
            plan_id: "p-7".into(),
            master: System::Pac,
            created_at: chrono::Utc::now(),
            held: None,
            items: vec![],
            notes: vec![],
            names: Default::default(),
        }));
        s
    }

    fn req(command: Command, ssh: Option<&str>) -> Request {
        Request {
            command,
            actor: Actor {
                user: "alice".into(),
                ssh_from: ssh.map(str::to_string),
            },
        }
    }

    #[test]
    fn an_approval_is_audited_against_the_plans_target_with_its_items() {
        let r = command_audit(
            &req(
                Command::Approve(vec!["i1".into(), "i2".into()]),
                Some("10.0.0.5"),
            ),
            &snap(),
        )
        .unwrap();
        assert_eq!(r.system, System::Astrow);
        assert_eq!(r.action, "approve");
        assert_eq!(r.record, "plan p-7: 2 item(s): i1, i2");
        assert_eq!(
            r.result,
            "requested over ssh from 10.0.0.5 (as reported by the client)"
        );
    }

    #[test]
    fn doors_go_to_pac_and_reads_are_not_audited() {
        let r = command_audit(&req(Command::OpenDoor { reader_id: 12 }, None), &snap()).unwrap();
        assert_eq!((r.system, r.record.as_str()), (System::Pac, "reader 12"));
        assert!(
            command_audit(
                &req(
                    Command::RunNow(crate::engine::snapshot::JobKind::Employees),
                    None
                ),
                &snap()
            )
            .is_none()
        );
        assert!(command_audit(&req(Command::Shutdown, None), &snap()).is_none());
    }

    #[test]
    fn many_items_are_cut_in_the_record() {
        let ids: Vec<String> = (0..50).map(|i| format!("i{i}")).collect();
        let r = command_audit(&req(Command::Reject(ids), None), &Snapshot::default()).unwrap();
        assert!(r.record.starts_with("plan (none): 50 item(s): i0, i1"));
        assert!(r.record.ends_with(", ..."));
        assert_eq!(command_name(&Command::Pause), "pause");
    }
}
