//! The waiting part of `status`: what pending bookings wait for, the oldest
//! one's age, a reset of PAC's event sequence, and whether any of it needs a
//! person (`status` exits 3).

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde_json::json;

use crate::engine::snapshot::SequenceResetView;
use crate::store::booking_waits::{self, WaitGroup};
use crate::store::seq_reset::{self, OpenReset};

/// What needs a person, in words (pure): a booking pending longer than
/// `wait_alert_s`, or an open sequence reset.
pub fn attention(
    oldest_pending: Option<DateTime<Utc>>,
    waiting: &[WaitGroup],
    reset: Option<&OpenReset>,
    wait_alert_s: u64,
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = reset {
        out.push(
            SequenceResetView {
                detected_at: r.detected_at,
                cursor: r.cursor,
                pac_last_seq: r.pac_last_seq,
                resume_after: r.resume_after,
                a2p_requeued: r.a2p_requeued,
            }
            .message(),
        );
    }
    let limit = chrono::Duration::seconds(i64::try_from(wait_alert_s).unwrap_or(i64::MAX));
    if let Some(oldest) = oldest_pending
        && now - oldest > limit
    {
        let age = (now - oldest).num_seconds();
        let why = waiting
            .iter()
            .find(|w| now - w.since > limit)
            .map(|w| format!(" ({} bookings: {})", w.count, w.reason))
            .unwrap_or_else(|| {
                " (not waiting for a reader or a link: is the import stuck, or Astrow failing?)"
                    .to_string()
            });
        out.push(format!(
            "a booking has been pending for {age} s, longer than bookings.wait_alert_s = {wait_alert_s}{why}"
        ));
    }
    out
}

/// The waiting facts as JSON keys of `status`'s `bookings` object.
pub fn gather(
    conn: &Connection,
    wait_alert_s: u64,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, String> {
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| format!("reading the store's schema version: {e}"))?;
    if version < 5 {
        // Made by an older astrow-pac: the engine adds these on its next start.
        return Ok(
            json!({ "waiting": [], "oldest_pending": null, "sequence_reset": null,
            "epoch": 0, "attention": [], "unreadable": [] }),
        );
    }
    let err = |e: crate::store::ledger::LedgerError| e.to_string();
    let waiting = booking_waits::waiting(conn, 20).map_err(err)?;
    let oldest = booking_waits::oldest_pending(conn).map_err(err)?;
    let reset = seq_reset::open_reset(conn).map_err(err)?;
    let epoch = seq_reset::epoch(conn).map_err(err)?;
    let attention = attention(oldest, &waiting, reset.as_ref(), wait_alert_s, now);
    let unreadable = booking_waits::unreadable(conn).map_err(err)?;
    Ok(json!({
        "waiting": waiting.iter().map(|w| json!({
            "reason": w.reason, "count": w.count, "since": w.since,
            "age_s": (now - w.since).num_seconds(),
        })).collect::<Vec<_>>(),
        "oldest_pending": oldest,
        "oldest_pending_age_s": oldest.map(|o| (now - o).num_seconds()),
        "sequence_reset": reset.map(|r| json!({
            "detected_at": r.detected_at, "cursor": r.cursor.0, "pac_last_seq": r.pac_last_seq.0,
            "resume_after": r.resume_after.0, "a2p_requeued": r.a2p_requeued,
        })),
        "epoch": epoch,
        "wait_alert_s": wait_alert_s,
        "attention": attention,
        "unreadable": unreadable.iter().map(|u| json!({
            "listing": u.listing, "id": u.record_id, "reason": u.reason, "seen_at": u.seen_at,
        })).collect::<Vec<_>>(),
    }))
}

/// The waiting lines of `status`'s text.
pub fn text(b: &serde_json::Value) -> String {
    let mut out = String::new();
    for w in b["waiting"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "WAITING {} bookings for {} s: {}\n",
            w["count"],
            w["age_s"],
            crate::http::sanitize(w["reason"].as_str().unwrap_or(""))
        ));
    }
    for u in b["unreadable"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "UNREADABLE {} record {}: {} (set aside, not read as gone)\n",
            u["listing"].as_str().unwrap_or(""),
            u["id"]
                .as_u64()
                .map_or("without a readable id".to_string(), |i| i.to_string()),
            crate::http::sanitize(u["reason"].as_str().unwrap_or(""))
        ));
    }
    for a in b["attention"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "ATTENTION {}\n",
            crate::http::sanitize(a.as_str().unwrap_or(""))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Seq;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap()
    }

    #[test]
    fn nothing_pending_or_young_bookings_need_no_one() {
        assert!(attention(None, &[], None, 900, now()).is_empty());
        let young = now() - chrono::Duration::seconds(60);
        assert!(attention(Some(young), &[], None, 900, now()).is_empty());
    }

    #[test]
    fn an_old_wait_is_named_with_its_reason_and_a_stuck_import_without_one() {
        let old = now() - chrono::Duration::seconds(1000);
        let w = WaitGroup {
            reason: "reader R-9 is not in Astrow's reader mirror yet".into(),
            count: 500,
            since: old,
        };
        let a = attention(Some(old), std::slice::from_ref(&w), None, 900, now());
        assert_eq!(a.len(), 1);
        assert!(a[0].contains("R-9") && a[0].contains("500"), "{a:?}");
        let a = attention(Some(old), &[], None, 900, now());
        assert!(a[0].contains("stuck"), "{a:?}");
    }

    #[test]
    fn a_sequence_reset_always_needs_someone() {
        let r = OpenReset {
            detected_at: now(),
            cursor: Seq(1600),
            pac_last_seq: Seq(100),
            resume_after: Seq(90),
            a2p_requeued: 3,
        };
        let a = attention(None, &[], Some(&r), 900, now());
        assert_eq!(a.len(), 1);
        assert!(
            a[0].contains("1600")
                && a[0].contains("reset-cursor")
                && a[0].contains("3 Astrow->PAC"),
            "{a:?}"
        );
    }
}
