//! Failed plan items: when the engine tries them again, and what it says
//! about those that keep failing. Plain functions over stored items.

use chrono::{DateTime, Duration, Utc};

use super::item_error::FailureKind;
use crate::store::{PlanState, StoredItem};

/// An item that failed more than this many times makes `status` exit with
/// its "attention needed" code.
pub const FAILING_ATTENTION_ATTEMPTS: u32 = 3;

/// The longest wait between two tries of a failed item.
pub const MAX_BACKOFF_S: i64 = 3600;

/// How long after its `attempts`-th failure an item waits: the first retry
/// comes with the next sync, then 1, 2, 4 ... minutes, at most an hour.
pub fn backoff(attempts: u32) -> Duration {
    match attempts {
        0 | 1 => Duration::zero(),
        n => {
            let exp = (n - 2).min(16);
            Duration::seconds((60_i64 << exp).min(MAX_BACKOFF_S))
        }
    }
}

/// When an item that has now failed `attempts` times is tried again: a
/// record the system refused as invalid waits the longest (it will be
/// refused again until someone changes it; a person may approve it at
/// once); anything else backs off from the next sync.
pub fn retry_at(now: DateTime<Utc>, attempts: u32, kind: FailureKind) -> DateTime<Utc> {
    match kind {
        FailureKind::Rejected => now + Duration::seconds(MAX_BACKOFF_S),
        _ => now + backoff(attempts),
    }
}

/// The kind of a failed item's last failure.
pub fn failure_kind(item: &StoredItem) -> Option<FailureKind> {
    (item.state == PlanState::Failed)
        .then(|| item.failure_kind.as_deref().and_then(FailureKind::parse))
        .flatten()
}

/// A failed item whose wait is over: the engine tries it again.
pub fn is_due(item: &StoredItem, now: DateTime<Utc>) -> bool {
    item.state == PlanState::Failed && item.retry_at.is_none_or(|t| t <= now)
}

/// What auto mode approves: pending items that write something (a conflict
/// is a person's), and failed items whose wait is over.
pub fn auto_approvable(item: &StoredItem, now: DateTime<Utc>) -> bool {
    (item.state == PlanState::Pending && item.action != "conflict") || is_due(item, now)
}

/// Items an apply would write now in auto mode: approved and not done, or
/// approvable.
pub fn to_apply(items: &[StoredItem], now: DateTime<Utc>) -> usize {
    items
        .iter()
        .filter(|i| {
            (i.state == PlanState::Approved && i.done_at.is_none()) || auto_approvable(i, now)
        })
        .count()
}

/// "179 items still failing: licence missing: 179 (e.g. update:astrow:7, 3
/// attempts: ...; next try 12:03:00); items update:astrow:7, ... and 174
/// more", or `None` when nothing fails: one example error per failure kind,
/// at most `max` items named.
pub fn failing_summary(items: &[StoredItem], max: usize) -> Option<String> {
    let failing: Vec<&StoredItem> = items
        .iter()
        .filter(|i| i.state == PlanState::Failed)
        .collect();
    if failing.is_empty() {
        return None;
    }
    let kinds: Vec<String> = by_kind(&failing)
        .into_iter()
        .map(|(kind, n, i)| {
            let next = i.retry_at.map_or(String::new(), |t| {
                format!("; next try {}", t.format("%H:%M:%S"))
            });
            format!(
                "{}: {n} (e.g. {}, {} attempt{}: {}{next})",
                kind.words(),
                i.item_id,
                i.attempts,
                if i.attempts == 1 { "" } else { "s" },
                i.detail.as_deref().unwrap_or("no error kept"),
            )
        })
        .collect();
    let named: Vec<&str> = failing
        .iter()
        .take(max)
        .map(|i| i.item_id.as_str())
        .collect();
    let more = failing.len().saturating_sub(max);
    let mut text = format!(
        "{} item{} still failing: {}; items {}",
        failing.len(),
        if failing.len() == 1 { "" } else { "s" },
        kinds.join("; "),
        named.join(", ")
    );
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    Some(text)
}

/// Failed items by the kind of their last failure, most first (ties in
/// the order met): the kind, how many, the first of them.
fn by_kind<'a>(failing: &[&'a StoredItem]) -> Vec<(FailureKind, usize, &'a StoredItem)> {
    let mut out: Vec<(FailureKind, usize, &StoredItem)> = Vec::new();
    for i in failing {
        let kind = failure_kind(i).unwrap_or(FailureKind::Other);
        match out.iter_mut().find(|(k, ..)| *k == kind) {
            Some(entry) => entry.1 += 1,
            None => out.push((kind, 1, i)),
        }
    }
    out.sort_by_key(|(_, n, _)| std::cmp::Reverse(*n));
    out
}

/// Items that failed more than [`FAILING_ATTENTION_ATTEMPTS`] times.
pub fn needing_attention(items: &[StoredItem]) -> usize {
    items
        .iter()
        .filter(|i| i.state == PlanState::Failed && i.attempts > FAILING_ATTENTION_ATTEMPTS)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::System;

    fn item(
        id: &str,
        state: PlanState,
        attempts: u32,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoredItem {
        StoredItem {
            item_id: id.into(),
            position: 0,
            action: if id.starts_with("conflict") {
                "conflict"
            } else {
                "update"
            }
            .into(),
            target: System::Astrow,
            state,
            source_fingerprint: 1,
            body: b"{}".to_vec(),
            started_at: None,
            done_at: None,
            detail: Some("licence employees_import is off".into()),
            attempts,
            retry_at,
            destructive: false,
            origin_plan: None,
            failure_kind: Some("licence_missing".into()),
        }
    }

    #[test]
    fn retry_backoff_doubles_from_the_next_sync_up_to_an_hour() {
        let waits: Vec<i64> = (0..10).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(waits, [0, 0, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(u32::MAX).num_seconds(), MAX_BACKOFF_S);
    }

    #[test]
    fn retry_auto_mode_takes_pending_and_due_failed_items_only() {
        let now = Utc::now();
        let later = now + Duration::seconds(60);
        let items = [
            item("a", PlanState::Pending, 0, None),
            item("conflict:b", PlanState::Pending, 0, None),
            item("c", PlanState::Failed, 1, Some(now)),
            item("d", PlanState::Failed, 2, Some(later)),
            item("e", PlanState::Rejected, 0, None),
            item("f", PlanState::Approved, 0, None),
        ];
        let auto: Vec<&str> = items
            .iter()
            .filter(|i| auto_approvable(i, now))
            .map(|i| i.item_id.as_str())
            .collect();
        assert_eq!(auto, ["a", "c"]);
        assert_eq!(to_apply(&items, now), 3);
        assert_eq!(to_apply(&items, later), 4);
    }

    #[test]
    fn retry_summary_names_what_fails_and_attention_counts_repeats() {
        let now = Utc::now();
        let items = [
            item("update:astrow:7", PlanState::Failed, 1, Some(now)),
            item("update:astrow:8", PlanState::Failed, 4, Some(now)),
            item("update:astrow:9", PlanState::Failed, 2, Some(now)),
            item("x", PlanState::Applied, 0, None),
        ];
        let text = failing_summary(&items, 2).unwrap_or_default();
        assert!(
            text.starts_with(
                "3 items still failing: licence missing: 3 (e.g. update:astrow:7, 1 attempt: licence"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("; items update:astrow:7, update:astrow:8 and 1 more"),
            "{text}"
        );
        assert_eq!(failing_summary(&items[3..], 2), None);
        assert_eq!(needing_attention(&items), 1);
    }

    /// 179 failing for one reason and 2 for another: one example error
    /// per reason, a handful of names, the count of the rest; not 181
    /// errors in one line.
    #[test]
    fn retry_summary_groups_many_failures_by_kind() {
        let now = Utc::now();
        let mut items: Vec<StoredItem> = (0..179)
            .map(|n| {
                item(
                    &format!("update:astrow:{n}"),
                    PlanState::Failed,
                    3,
                    Some(now),
                )
            })
            .collect();
        for n in 0..2 {
            let mut i = item(&format!("create:astrow:{n}"), PlanState::Failed, 1, None);
            i.failure_kind = Some("rejected".into());
            i.detail = Some("employee_no taken".into());
            items.push(i);
        }
        let text = failing_summary(&items, 5).unwrap_or_default();
        assert!(
            text.starts_with(
                "181 items still failing: licence missing: 179 (e.g. update:astrow:0,"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "; refused as invalid: 2 (e.g. create:astrow:0, 1 attempt: employee_no taken)"
            ),
            "{text}"
        );
        assert!(text.ends_with(" and 176 more"), "{text}");
        assert_eq!(text.matches("licence").count(), 2, "one example: {text}");
        assert!(text.len() < 600, "{} chars: {text}", text.len());
    }
}
