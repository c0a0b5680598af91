//! Where to go on after PAC's event sequence was reset (restored from a
//! backup): PAC's events up to the backup are the ones the ledger already
//! holds under the same seq; those after it are new. The resume point is the
//! newest seq on which PAC and the ledger still agree, found by bisection
//! (a few one-event reads, not a listing of PAC's whole history).

use super::ports::EventSource;
use crate::model::{Event, Seq};
use crate::store::db::Db;
use crate::store::ledger::{Entry, LedgerError};
use crate::store::seq_reset;

/// The same event: what the ledger kept of it equals what PAC says now.
pub fn same_event(e: &Event, entry: &Entry) -> bool {
    e.event_type == entry.event_type
        && e.time == entry.time
        && e.reader_id == entry.reader_id
        && e.badge_number == entry.badge_number
}

/// The newest seq in `lo..=hi` for which `agrees` holds, assuming it holds
/// for a prefix (pure bisection; `lo - 1` when it holds for none).
pub async fn last_agreeing<F, Fut>(lo: u64, hi: u64, mut agrees: F) -> Option<u64>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Option<bool>>,
{
    if hi < lo {
        return Some(hi);
    }
    if agrees(hi).await? {
        return Some(hi);
    }
    // Invariant: `good` agrees (or is lo - 1), `bad` does not.
    let (mut good, mut bad) = (lo.saturating_sub(1), hi);
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        if agrees(mid).await? {
            good = mid;
        } else {
            bad = mid;
        }
    }
    Some(good)
}

/// The seq after which reading should go on, or `None` when PAC or the
/// ledger could not be read (a person then chooses).
pub async fn resume_point<S: EventSource>(
    source: &S,
    db: &Db,
    oldest: Seq,
    last: Seq,
) -> Option<Seq> {
    let epoch = db
        .call(|c| seq_reset::epoch(c))
        .await
        .map_err(|e: LedgerError| e)
        .ok()?;
    // A seq the ledger holds no row for (a hole) is judged by the nearest
    // row it holds below: a hole is no sign that PAC and the ledger part.
    let agrees = |s: u64| async move {
        let entry = db
            .call(move |c| seq_reset::held_at_or_below(c, epoch, Seq(s)))
            .await
            .map_err(|e: LedgerError| e)
            .ok()?;
        // Nothing of this epoch held up to `s`: nothing to disagree with.
        let Some(entry) = entry else {
            return Some(true);
        };
        let held = seq_reset::split_key(entry.seq).1;
        // Older than all PAC holds: nothing to compare it with either.
        if held < oldest {
            return Some(true);
        }
        let page = source
            .events(Seq(held.0.saturating_sub(1)), 1, 0)
            .await
            .ok()?;
        let Some(e) = page.items.into_iter().find(|e| e.seq == held) else {
            return Some(false);
        };
        Some(same_event(&e, &entry))
    };
    last_agreeing(oldest.0.max(1), last.0, agrees)
        .await
        .map(Seq)
}

#[cfg(test)]
mod tests {
    use super::last_agreeing;

    async fn find(prefix: u64, lo: u64, hi: u64) -> (Option<u64>, usize) {
        let mut calls = 0;
        let r = last_agreeing(lo, hi, |s| {
            calls += 1;
            async move { Some(s <= prefix) }
        })
        .await;
        (r, calls)
    }

    #[tokio::test]
    async fn bisection_finds_where_pac_and_the_ledger_part() {
        assert_eq!(find(100, 1, 130).await.0, Some(100));
        assert_eq!(find(130, 1, 130).await.0, Some(130));
        assert_eq!(find(0, 1, 130).await.0, Some(0));
        assert_eq!(find(5, 3, 10).await.0, Some(5));
        // Nothing in PAC: go on after its last seq.
        assert_eq!(find(0, 5, 4).await.0, Some(4));
        // A million events take about twenty reads.
        let (r, calls) = find(654_321, 1, 1_000_000).await;
        assert_eq!(r, Some(654_321));
        assert!(calls <= 22, "{calls}");
    }

    #[tokio::test]
    async fn a_failed_read_gives_no_answer() {
        let r = last_agreeing(1, 100, |s| async move { (s != 50).then_some(s < 70) }).await;
        assert_eq!(r, None);
    }
}
