//! `astrow-pac status`: what the store says, readable beside a running engine.

use clap::Args;
use serde_json::json;

use super::common::load_settings;
use super::{GlobalArgs, exit};
use crate::engine::bookings::rollcall::roll_call;
use crate::engine::people::People;
use crate::engine::runtime::store_dir;
use crate::store::{PlanState, Store, ledger};

pub const LONG_ABOUT: &str = "Show the state kept in the store: whether an engine runs on it \
(and its PID), links, the pending plan, each job's last run, the recent actions of the audit \
log with the user who did each, and the booking import (events \
read, pending, delivered, queued, rejected, the cursor, any gap in PAC's event history, the \
roll call). It reads the store without locking it, so it works beside a running engine.

Failed plan items are counted and named with their attempts and last error; the engine \
retries them with backoff.

Exit codes: 0 fine, 1 no store or unreadable, 2 attention needed (a gap, a held plan, a \
plan item that failed more than 3 times, or a store bound to another site than the settings \
name: then nothing is synced or booked until `astrow-pac store rebind`), 3 the booking import \
needs attention: a booking has been pending longer than bookings.wait_alert_s (waiting for a \
reader Astrow does not mirror, an employee not linked, or a stuck import), or PAC's event \
sequence was reset (see `bookings reset-cursor`). 3 wins over 2.";

/// `status` exit code: the booking import needs attention.
pub const BOOKINGS_ATTENTION: u8 = 3;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the status as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(global: &GlobalArgs, args: &StatusArgs) -> u8 {
    let Some((_, settings)) = load_settings(global, false) else {
        return exit::PROBLEMS;
    };
    let dir = store_dir(&settings);
    if !dir.join(crate::store::DATABASE_FILE).exists() {
        eprintln!(
            "astrow-pac status: no store in {}: the engine has not run with these settings yet",
            dir.display()
        );
        return exit::PROBLEMS;
    }
    match gather(&dir, settings.bookings.wait_alert_s) {
        Ok(mut v) => {
            if let Ok(mut store) = Store::open_read_only(&dir) {
                v["astrow_to_pac"] = super::status_a2p::gather(
                    store.connection(),
                    settings.bookings.astrow_to_pac,
                    settings.bookings.wait_alert_s,
                    settings.sync.master == crate::config::Master::Pac,
                    chrono::Utc::now(),
                );
            }
            v["site_refusal"] = json!(other_site(&settings, &dir));
            let attention = !v["site_refusal"].is_null()
                || !v["bookings"]["gaps"]
                    .as_array()
                    .is_none_or(|g| g.is_empty())
                || !v["plan"]["held"].is_null()
                || v["plan"]["failing_repeatedly"].as_u64().unwrap_or(0) > 0;
            let bookings_attention = !v["bookings"]["attention"]
                .as_array()
                .is_none_or(|a| a.is_empty())
                || !v["astrow_to_pac"]["attention"]
                    .as_array()
                    .is_none_or(|a| a.is_empty());
            if args.json {
                println!("{v}");
            } else {
                print!("{}", text(&v));
            }
            if bookings_attention {
                BOOKINGS_ATTENTION
            } else if attention {
                exit::USAGE
            } else {
                exit::OK
            }
        }
        Err(e) => {
            eprintln!("astrow-pac status: {e}");
            exit::PROBLEMS
        }
    }
}

/// Why nothing is written, when the store is bound to another site than the
/// settings name (read only: a store not bound yet is left so).
fn other_site(settings: &crate::config::Settings, dir: &std::path::Path) -> Option<String> {
    let site = match crate::engine::site::site_identity(settings) {
        Ok(s) => s,
        Err(e) => return Some(format!("the settings' site cannot be told: {e}")),
    };
    let bound = Store::open_read_only(dir)
        .and_then(|s| s.site_binding())
        .map_err(|e| e.to_string());
    match bound {
        Ok(Some(b)) if b != site => Some(format!(
            "this store was made for {b}, but the settings point at {site}: nothing is \
             planned, mirrored or booked; if the store is meant for the new site, run \
             `astrow-pac store rebind`, otherwise fix store.dir or the settings"
        )),
        Ok(_) => None,
        Err(e) => Some(format!("the store's site binding cannot be read: {e}")),
    }
}

/// Commands shown from the audit log, newest first.
const RECENT_ACTIONS: usize = 10;

fn gather(dir: &std::path::Path, wait_alert_s: u64) -> Result<serde_json::Value, String> {
    let holder = Store::holder(dir);
    let mut store = Store::open_read_only(dir).map_err(|e| e.to_string())?;
    let links = store.links().map_err(|e| e.to_string())?;
    let plan = store.pending_plan().map_err(|e| e.to_string())?;
    let runs = store.last_job_runs().map_err(|e| e.to_string())?;
    // The commands people gave (the writes they caused follow in the log).
    let actions: Vec<_> = store
        .audit_log(500)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|a| a.record.result.starts_with("requested"))
        .take(RECENT_ACTIONS)
        .collect();
    let conn = store.connection();
    let err = |e: ledger::LedgerError| e.to_string();
    let counts = ledger::counts(conn).map_err(err)?;
    let cursor = ledger::cursor(conn).map_err(err)?;
    let gaps = ledger::gaps(conn).map_err(err)?;
    let mut lags = ledger::recent_lags_ms(conn, 1000).map_err(err)?;
    lags.sort_unstable();
    let roll = ledger::roll_call(conn).map_err(err)?;
    let on_site = match roll {
        Some(started) => {
            let since = started - chrono::Duration::hours(24);
            let granted = crate::engine::bookings::rollcall::merge_attendance(
                ledger::granted_since(conn, since).map_err(err)?,
                crate::store::astrow_ledger::attendance_since(conn, since).unwrap_or_default(),
            );
            roll_call(&granted, started, &People::default())
        }
        None => Vec::new(),
    };
    let plan_json = plan.map(|p| {
        let count = |s: PlanState| p.items.iter().filter(|i| i.state == s).count();
        let mut by_action = std::collections::BTreeMap::<String, usize>::new();
        for i in &p.items {
            *by_action.entry(i.action.clone()).or_default() += 1;
        }
        json!({
            "plan_id": p.plan_id,
            "master": p.master.as_str(),
            "created_at": p.created_at,
            "held": p.held_reason,
            "items": p.items.len(),
            "by_action": by_action,
            "pending": count(PlanState::Pending),
            "approved": count(PlanState::Approved),
            "rejected": count(PlanState::Rejected),
            "failed": count(PlanState::Failed),
            "failing_repeatedly": crate::engine::retry::needing_attention(&p.items),
            "failed_items": p.items.iter().filter(|i| i.state == PlanState::Failed).map(|i| json!({
                "id": i.item_id,
                "attempts": i.attempts,
                "kind": i.failure_kind,
                "last_error": i.detail,
                "retry_at": i.retry_at,
            })).collect::<Vec<_>>(),
        })
    });
    let waits = super::status_waits::gather(conn, wait_alert_s, chrono::Utc::now())?;
    use crate::engine::bookings::monitor::percentile;
    let mut v = json!({
        "store": dir.display().to_string(),
        "engine_pid": holder,
        "links": links.len(),
        "recent_actions": actions.iter().map(|a| json!({
            "at": a.at,
            "user": a.os_user,
            "system": a.record.system.as_str(),
            "action": a.record.action,
            "record": a.record.record,
            "result": a.record.result,
        })).collect::<Vec<_>>(),
        "plan": plan_json,
        "jobs": runs.iter().map(|r| json!({
            "job": r.job,
            "finished_at": r.finished_at,
            "result": r.result,
        })).collect::<Vec<_>>(),
        "bookings": {
            "events": counts.events,
            "cursor": cursor.0,
            "pending": counts.pending,
            "delivered": counts.processed + counts.duplicate,
            "processed": counts.processed,
            "duplicate": counts.duplicate,
            "queued": counts.queued,
            "rejected": counts.rejected,
            "lag_p50_ms": percentile(&lags, 50),
            "lag_p99_ms": percentile(&lags, 99),
            "gaps": gaps.iter().map(|(f, t, at)| json!({
                "from_seq": f.0, "to_seq": t.0, "detected_at": at,
            })).collect::<Vec<_>>(),
            "roll_call": roll.map(|started| json!({
                "started": started,
                "on_site": on_site.iter().map(|p| json!({
                    "name": p.name, "badge_number": p.badge_number,
                    "last_seen": p.last_seen, "confirmed": p.confirmed,
                })).collect::<Vec<_>>(),
            })),
        },
    });
    if let (Some(b), serde_json::Value::Object(w)) = (v["bookings"].as_object_mut(), waits) {
        b.extend(w);
    }
    Ok(v)
}

fn text(v: &serde_json::Value) -> String {
    let mut out = String::new();
    let engine = match v["engine_pid"].as_str() {
        Some(pid) => format!("running (PID {pid})"),
        None => "not running".into(),
    };
    out.push_str(&format!(
        "Store   {}\nEngine  {engine}\nLinks   {}\n",
        v["store"].as_str().unwrap_or(""),
        v["links"]
    ));
    if let Some(why) = v["site_refusal"].as_str() {
        out.push_str(&format!("SITE    {}\n", crate::http::sanitize(why)));
    }
    match v["plan"].as_object() {
        Some(p) => {
            out.push_str(&format!(
                "Plan    {} ({} items: {} pending, {} approved, {} rejected, {} failed) {}\n",
                p["plan_id"].as_str().unwrap_or(""),
                p["items"],
                p["pending"],
                p["approved"],
                p["rejected"],
                p["failed"],
                p["by_action"]
            ));
            let failed = p["failed_items"].as_array().map_or(&[][..], |a| a);
            out.push_str(&super::status_failed::text(failed));
            if let Some(h) = p["held"].as_str() {
                out.push_str(&format!("        HELD by the deletion guard: {h}\n"));
            }
        }
        None => out.push_str("Plan    none pending\n"),
    }
    for j in v["jobs"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "Job     {:<12} {}  {}\n",
            j["job"].as_str().unwrap_or(""),
            j["finished_at"].as_str().unwrap_or("-"),
            crate::http::sanitize(j["result"].as_str().unwrap_or("-"))
        ));
    }
    for a in v["recent_actions"].as_array().into_iter().flatten() {
        let s = |k: &str| crate::http::sanitize(a[k].as_str().unwrap_or(""));
        out.push_str(&format!(
            "Action  {}  {} {} {} {}: {}\n",
            s("at"),
            s("user"),
            s("action"),
            s("system"),
            s("record"),
            s("result")
        ));
    }
    let b = &v["bookings"];
    let ms = |x: &serde_json::Value| x.as_u64().map_or("-".to_string(), |n| format!("{n} ms"));
    out.push_str(&format!(
        "Bookings {} events read (cursor {}), {} pending, {} delivered, {} queued, {} rejected; lag p50 {}, p99 {}\n",
        b["events"], b["cursor"], b["pending"], b["delivered"], b["queued"], b["rejected"],
        ms(&b["lag_p50_ms"]), ms(&b["lag_p99_ms"])
    ));
    out.push_str(&super::status_waits::text(b));
    if v["astrow_to_pac"].is_object() {
        out.push_str(&super::status_a2p::text(&v["astrow_to_pac"]));
    }
    for g in b["gaps"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "GAP     PAC events {}..={} were lost before they were read (detected {})\n",
            g["from_seq"],
            g["to_seq"],
            g["detected_at"].as_str().unwrap_or("")
        ));
    }
    if let Some(rc) = b["roll_call"].as_object() {
        out.push_str(&format!(
            "Roll call since {}\n",
            rc["started"].as_str().unwrap_or("")
        ));
        for p in rc["on_site"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "  {} {} (badge {}, last seen {})\n",
                if p["confirmed"].as_bool() == Some(true) {
                    "SAFE   "
                } else {
                    "MISSING"
                },
                crate::http::sanitize(p["name"].as_str().unwrap_or("")),
                p["badge_number"].as_str().unwrap_or(""),
                p["last_seen"].as_str().unwrap_or("")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::open_connection;

    /// A schema-v2 store (an older astrow-pac's, not migrated yet): status
    /// reads it as not bound rather than failing on the missing table.
    #[test]
    fn status_reads_a_store_the_new_binary_has_not_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_connection(&dir.path().join(crate::store::DATABASE_FILE)).unwrap();
        for m in crate::store::test_migrations_up_to(2) {
            conn.execute_batch(m).unwrap();
        }
        conn.pragma_update(None, "user_version", 2).unwrap();
        drop(conn);
        let store = Store::open_read_only(dir.path()).unwrap();
        assert_eq!(store.site_binding().unwrap(), None);
        let v = gather(dir.path(), 60);
        assert!(v.is_ok(), "{:?}", v.err());
    }
}
