//! `status`: the bookings from Astrow into PAC (`bookings.astrow_to_pac`).

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde_json::{Value, json};

use crate::store::astrow_ledger;

/// The Astrow -> PAC part of `status --json`; `null` counts on a store an
/// older binary made (no ledger yet).
pub fn gather(
    conn: &Connection,
    enabled: bool,
    wait_alert_s: u64,
    badges_are_pac_ids: bool,
    now: DateTime<Utc>,
) -> Value {
    let (tally, activity) = match (
        astrow_ledger::tally(conn, badges_are_pac_ids),
        astrow_ledger::activity(conn, now - chrono::TimeDelta::seconds(60)),
    ) {
        (Ok(t), Ok(a)) => (t, a),
        _ => return json!({"enabled": enabled, "ledger": null}),
    };
    let waited_s = tally
        .oldest_pending_read_at
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| (now - t.with_timezone(&Utc)).num_seconds().max(0));
    let mut attention = Vec::new();
    // A store an older binary made has no restores table yet: none open.
    let restore = crate::store::astrow_restore::open_restore(conn)
        .ok()
        .flatten();
    if let Some(r) = &restore {
        attention.push(r.message());
    }
    if let Some(w) = waited_s.filter(|w| *w as u64 > wait_alert_s) {
        attention.push(format!(
            "{} Astrow bookings wait to go to PAC ({} of them for a link to PAC), the oldest for {w} s",
            tally.pending, tally.waiting
        ));
    }
    json!({
        "enabled": enabled,
        "cursor": tally.after_booking_id,
        "pending": tally.pending,
        "waiting_for_link": tally.waiting,
        "stored": tally.stored,
        "duplicate": tally.duplicate,
        "rejected": tally.rejected,
        "unreadable": tally.unreadable,
        "abandoned_at_rebind": tally.abandoned,
        "from_pac_passed_over": tally.from_pac,
        "older_than_start_passed_over": tally.older_than_start,
        "per_minute": activity.0,
        "lag_ms": activity.1,
        "oldest_pending_s": waited_s,
        "astrow_restore": restore.map(|r| json!({
            "detected_at": r.detected_at, "cursor": r.cursor, "why": r.why,
        })),
        "attention": attention,
    })
}

/// The text lines of it.
pub fn text(a: &Value) -> String {
    if a["enabled"] != true && a["cursor"].as_u64().unwrap_or(0) == 0 {
        return "Astrow->PAC off (bookings.astrow_to_pac = false)\n".to_string();
    }
    let ms = a["lag_ms"]
        .as_u64()
        .map_or("-".to_string(), |n| format!("{n} ms"));
    let mut out = format!(
        "Astrow->PAC {}: cursor {}, {} pending ({} waiting for a link), {} stored, {} duplicate, {} rejected, {} unreadable, \
         {} from PAC and {} from before the start passed over; {}/min, lag {ms}\n",
        if a["enabled"] == true { "on" } else { "off" },
        a["cursor"],
        a["pending"],
        a["waiting_for_link"],
        a["stored"],
        a["duplicate"],
        a["rejected"],
        a["unreadable"],
        a["from_pac_passed_over"],
        a["older_than_start_passed_over"],
        a["per_minute"],
    );
    for w in a["attention"].as_array().into_iter().flatten() {
        let w = w.as_str().unwrap_or("");
        let label = if w.starts_with("Astrow's bookings went back") {
            "STOPPED"
        } else {
            "WAITING"
        };
        out.push_str(&format!("{label} {}\n", crate::http::sanitize(w)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_without_the_ledger_reads_as_null_and_counts_show() {
        let conn = Connection::open_in_memory().unwrap();
        let v = gather(&conn, true, 60, false, Utc::now());
        assert!(v["ledger"].is_null());
        conn.execute_batch("CREATE TABLE links (pac_id INTEGER, pers_no INTEGER);")
            .unwrap();
        conn.execute_batch(astrow_ledger::MIGRATION).unwrap();
        conn.execute(
            "INSERT INTO astrow_ledger (booking_id, badge_no, time, terminal_kind, state, read_at)
             VALUES (5, '1', '2026-11-28T08:00:00+01:00', 'web', 'pending', '2026-11-28T07:00:00.000Z')",
            [],
        )
        .unwrap();
        let v = gather(&conn, true, 60, false, Utc::now());
        assert_eq!(v["pending"], 1);
        assert_eq!(v["attention"].as_array().map(Vec::len), Some(1));
        assert!(text(&v).contains("1 pending"), "{}", text(&v));
        assert!(text(&v).contains("WAITING"));
    }
}
