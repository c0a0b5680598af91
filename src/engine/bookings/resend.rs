//! Sending again what Astrow lost: the bookings a reconciliation reports
//! missing from Astrow that Astrow once answered as stored go back to
//! pending, audited. Used by the engine (`Command::ResendLostBookings`,
//! from the control socket) and by `astrow-pac reconcile --resend-missing`
//! when no engine runs.

use crate::model::System;
use crate::store::ledger_resend::{Resent, resend_lost};
use crate::store::seq_reset::{key_of_source_id, source_id};
use crate::store::{AuditRecord, Store};

/// What became of the source ids a person asked to send again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResendOutcome {
    /// Pending again: the import sends them.
    pub requeued: usize,
    /// Not sent again, with why (counted by reason, in the order met).
    pub passed_over: Vec<(String, usize)>,
}

/// Send the bookings under `source_ids` again where Astrow had answered
/// them as stored; one audit entry says what was done (source ids only,
/// no badge or person).
pub fn resend_lost_audited(
    store: &mut Store,
    org: u32,
    source_ids: &[String],
) -> Result<ResendOutcome, String> {
    let mut keys = Vec::with_capacity(source_ids.len());
    let mut foreign = 0;
    for id in source_ids {
        match key_of_source_id(org, id) {
            Some(k) => keys.push(k),
            None => foreign += 1,
        }
    }
    let result = resend_lost(store.connection(), &keys);
    let record = AuditRecord {
        system: System::Astrow,
        action: "resend_lost_bookings".into(),
        record: "booking ledger".into(),
        // Written from the keys, not the ids as given: nothing but
        // well-formed source ids reaches the audit log.
        before: Some(format!(
            "{} bookings a reconciliation found missing from Astrow: {}",
            source_ids.len(),
            first_ids(&keys.iter().map(|k| source_id(org, *k)).collect::<Vec<_>>())
        )),
        after: result.as_ref().ok().map(|r| {
            format!(
                "{} pending again, {} passed over",
                r.requeued.len(),
                r.passed_over.len() + foreign
            )
        }),
        result: match &result {
            Ok(_) => "ok".into(),
            Err(e) => format!("failed: {e}"),
        },
    };
    let audited = store.append_audit(&record);
    let resent = result.map_err(|e| e.to_string())?;
    audited.map_err(|e| {
        format!("the bookings are pending again, but the audit log refused the entry: {e}")
    })?;
    let outcome = outcome(&resent, foreign);
    tracing::warn!(
        requeued = outcome.requeued,
        asked = source_ids.len(),
        "bookings Astrow no longer holds are sent again (asked by a person)"
    );
    Ok(outcome)
}

fn outcome(resent: &Resent, foreign: usize) -> ResendOutcome {
    let mut passed_over: Vec<(String, usize)> = Vec::new();
    let mut count = |why: &str| match passed_over.iter_mut().find(|(w, _)| w == why) {
        Some((_, n)) => *n += 1,
        None => passed_over.push((why.to_string(), 1)),
    };
    for (_, why) in &resent.passed_over {
        count(why);
    }
    for _ in 0..foreign {
        count("not a source id of this site's PAC");
    }
    ResendOutcome {
        requeued: resent.requeued.len(),
        passed_over,
    }
}

/// At most five ids, then how many more.
fn first_ids(ids: &[String]) -> String {
    let shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
    match ids.len().saturating_sub(shown.len()) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// The sentence that confirms it (the control socket's answer starts so).
pub fn describe(o: &ResendOutcome) -> String {
    let mut text = format!(
        "lost bookings: {} sent again (pending in the ledger; the import sends them)",
        o.requeued
    );
    for (why, n) in &o.passed_over {
        text.push_str(&format!("; {n} not: {why}"));
    }
    text
}

/// How many [`describe`]'s sentence says were sent again.
pub fn sent_again(text: &str) -> Option<usize> {
    text.strip_prefix("lost bookings: ")?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

/// The prefix of the engine's notice when it could not do it.
pub const FAILED: &str = "lost bookings not sent again: ";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Seq;

    #[test]
    fn the_outcome_counts_what_was_passed_over_by_reason() {
        let resent = Resent {
            requeued: vec![Seq(1), Seq(2)],
            passed_over: vec![
                (Seq(3), "rejected in the ledger".into()),
                (Seq(4), "not in the ledger".into()),
                (Seq(5), "rejected in the ledger".into()),
            ],
        };
        let o = outcome(&resent, 1);
        assert_eq!(o.requeued, 2);
        assert_eq!(
            o.passed_over,
            vec![
                ("rejected in the ledger".to_string(), 2),
                ("not in the ledger".to_string(), 1),
                ("not a source id of this site's PAC".to_string(), 1),
            ]
        );
        let text = describe(&o);
        assert!(text.starts_with("lost bookings: 2 sent again"), "{text}");
        assert_eq!(sent_again(&text), Some(2));
        assert_eq!(sent_again("event cursor moved"), None);
        assert!(text.contains("2 not: rejected in the ledger"), "{text}");
        let many: Vec<String> = (0..8).map(|i| format!("pac:1:{i}")).collect();
        assert_eq!(
            first_ids(&many),
            "pac:1:0, pac:1:1, pac:1:2, pac:1:3, pac:1:4 and 3 more"
        );
    }

    #[test]
    fn a_resend_is_audited_with_source_ids_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store
            .connection()
            .execute(
                "INSERT INTO ledger (seq, time, event_type, kind, state, booking_id, badge_no, read_at, answered_at)
                 VALUES (5, '2026-11-28T08:00:00+01:00', 'access_granted', 'booking', 'processed', 9, '04A1B2C3D4', 'x', 'y')",
                [],
            )
            .unwrap();
        let ids = vec!["pac:1:5".to_string(), "pac:2:5\u{1b}[2J".to_string()];
        let o = resend_lost_audited(&mut store, 1, &ids).unwrap();
        assert_eq!(o.requeued, 1);
        let (before, after, result): (String, String, String) = store
            .connection()
            .query_row(
                "SELECT before, after, result FROM audit WHERE action = 'resend_lost_bookings'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            before,
            "2 bookings a reconciliation found missing from Astrow: pac:1:5"
        );
        assert_eq!(after, "1 pending again, 1 passed over");
        assert_eq!(result, "ok");
    }
}
