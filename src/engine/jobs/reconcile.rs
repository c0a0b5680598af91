//! The reconciliation: pages PAC's events and Astrow's stored bookings for a
//! window and compares them by `source_id` (see `engine::reconcile`). It
//! only reads. Run hourly over the last 24 hours by the engine, and on
//! demand for a pay period by `astrow-pac reconcile`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::astrow::AstrowClient;
use crate::config::Settings;
use crate::engine::bookings::classify::classify;
use crate::engine::reconcile::{ReconcileReport, compare};
use crate::model::{Reader, Seq};
use crate::pac::{EventBatch, PacClient, PacError};
use crate::store::ledger::EntryKind;
use crate::store::seq_reset::{key_of_source_id, ledger_key, source_id, split_key};

/// The engine's reconciliation: every hour, over the last 24 hours.
pub const EVERY: Duration = Duration::from_secs(3600);
pub const WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// Most events one reconciliation reads from PAC.
const MAX_EVENTS: usize = 10_000_000;

/// The store's epoch: its number and, after a sequence reset, the PAC seq
/// after which PAC's events belong to it (those up to it were read in the
/// epoch before).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Epoch {
    pub current: u32,
    pub starts_after: Option<Seq>,
}

impl Epoch {
    /// The epoch PAC event `seq` (of PAC's current sequence) was read in.
    pub fn of(&self, seq: Seq) -> u32 {
        match self.starts_after {
            Some(start) if self.current > 0 && seq <= start => self.current - 1,
            _ => self.current,
        }
    }
}

/// The bookings PAC's granted swipes in `from..to` (by the controller's
/// time) should have made, and the oldest seq PAC still keeps.
async fn expected_from_pac(
    pac: &PacClient,
    settings: &Settings,
    epoch: Epoch,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Vec<String>, Seq), String> {
    let readers: HashMap<u32, Reader> = pac
        .readers()
        .await
        .map_err(|e| format!("PAC readers: {e}"))?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let rules = crate::engine::runtime::booking_rules(settings, false);
    let org = settings.pac.organization_id;
    let mut out = Vec::new();
    let mut after = Seq(0);
    let mut oldest = None;
    let mut read = 0usize;
    loop {
        let page = events_page(pac, &mut after).await?;
        oldest.get_or_insert(page.oldest_seq);
        let Some(last) = page.events.last().map(|e| e.seq) else {
            break;
        };
        for e in &page.events {
            let t = e.time.with_timezone(&Utc);
            if t < from || t >= to {
                continue;
            }
            if matches!(
                classify(e, &readers, &rules).kind,
                EntryKind::Booking { .. }
            ) {
                out.push(source_id(org, ledger_key(epoch.of(e.seq), e.seq)));
            }
        }
        read += page.events.len();
        if last <= after || read > MAX_EVENTS {
            break;
        }
        after = last;
    }
    Ok((out, oldest.unwrap_or(Seq(0))))
}

/// PAC's next page of events after `after` for a reconciliation (no long
/// poll); when `after` fell out of PAC's history (410), from the oldest
/// event PAC keeps, moving `after` there.
pub(super) async fn events_page(pac: &PacClient, after: &mut Seq) -> Result<EventBatch, String> {
    loop {
        match pac.events(*after, 1000, Duration::ZERO).await {
            Ok(p) => return Ok(p),
            Err(PacError::EventsExpired { oldest_seq, .. }) if after.0 + 1 < oldest_seq.0 => {
                *after = Seq(oldest_seq.0 - 1);
            }
            Err(e) => return Err(format!("PAC events: {e}")),
        }
    }
}

/// Whether a source id is one this reconciliation can judge: made by us
/// from a PAC event PAC still keeps, in the epoch that event belongs to.
fn judged(id: &str, org: u32, epoch: Epoch, oldest: Seq) -> bool {
    key_of_source_id(org, id).is_some_and(|key| {
        let (e, seq) = split_key(key);
        seq >= oldest && e == epoch.of(seq)
    })
}

/// Reconcile `from..to`. `epoch` is the store's event epoch; `waiting`
/// the source ids still pending in the ledger (not sent yet: shown as
/// waiting, not as missing).
pub async fn run(
    pac: &PacClient,
    astrow: &AstrowClient,
    settings: &Settings,
    epoch: Epoch,
    waiting: &HashSet<String>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<ReconcileReport, String> {
    let (expected, oldest) = expected_from_pac(pac, settings, epoch, from, to).await?;
    let stored = astrow
        .list_bookings(Some(from.fixed_offset()))
        .await
        .map_err(|e| format!("Astrow bookings: {e}"))?;
    let in_window: Vec<&str> = stored
        .iter()
        .filter(|b| {
            let t = b.booking.time.with_timezone(&Utc);
            t >= from && t < to
        })
        .map(|b| b.booking.source_id.as_str())
        .collect();
    let org = settings.pac.organization_id;
    let mut report = compare(expected.iter().map(String::as_str), in_window, |id| {
        judged(id, org, epoch, oldest)
    });
    let before = report.missing.len();
    report.missing.retain(|id| !waiting.contains(id));
    report.waiting = before - report.missing.len();
    report.from = Some(from);
    report.to = Some(to);
    Ok(report)
}

/// The engine's hourly run over the last 24 hours: its one-line result
/// (shown on the Overview, kept in the store for `status`); an error when
/// anything is off, so that it stands out.
pub async fn scheduled(
    pac: &PacClient,
    astrow: &AstrowClient,
    settings: &tokio::sync::watch::Receiver<std::sync::Arc<Settings>>,
    store: &crate::engine::store_handle::StoreHandle,
) -> Result<String, String> {
    let settings = settings.borrow().clone();
    let org = settings.pac.organization_id;
    let (epoch, waiting) = store
        .call("read the event epoch and what waits", move |s| {
            Ok(ledger_facts(s.connection(), org))
        })
        .await?
        .map_err(|e| e.to_string())?;
    // A margin: what was read in the last minutes may be on its way.
    let to = Utc::now() - chrono::Duration::minutes(2);
    let r = run(pac, astrow, &settings, epoch, &waiting, to - WINDOW, to).await?;
    let mut line = format!("last 24 h: {}", r.summary());
    // The other direction, when it is on: the same window, the same proof.
    let a2p = if settings.bookings.astrow_to_pac {
        let facts = store
            .call("read the Astrow->PAC ledger's waits", |s| {
                Ok(super::reconcile_a2p::ledger_facts(s.connection()))
            })
            .await?
            .map_err(|e| e.to_string())?;
        let a = super::reconcile_a2p::run(pac, astrow, &facts, to - WINDOW, to).await?;
        line.push_str(&format!(
            "; Astrow->PAC: {}",
            crate::engine::reconcile_a2p::summary(&a)
        ));
        Some(a)
    } else {
        None
    };
    let first = first_off(&r).or_else(|| a2p.as_ref().and_then(first_off));
    let Some(first) = first else {
        let trimmed = keep_bounded(store, to, settings.bookings.retention_days).await?;
        return Ok(if trimmed > 0 {
            format!("{line}; {trimmed} ledger rows past retention trimmed")
        } else {
            line
        });
    };
    tracing::error!("reconciliation: {line} (e.g. {first})");
    let resend = if r.missing.is_empty() {
        ""
    } else {
        "; `astrow-pac reconcile --resend-missing` sends again those Astrow had stored"
    };
    Err(format!(
        "{line} (e.g. {first}); `astrow-pac reconcile` lists them{resend}"
    ))
}

/// The first thing off in a report, if any.
fn first_off(r: &ReconcileReport) -> Option<String> {
    r.missing
        .first()
        .map(|s| format!("missing {s}"))
        .or_else(|| r.doubled.first().map(|(s, n)| format!("{s} {n} times")))
        .or_else(|| r.unexpected.first().map(|s| format!("unexpected {s}")))
}

/// The store's event epoch and the source ids still pending in its ledger.
pub fn ledger_facts(
    conn: &rusqlite::Connection,
    org: u32,
) -> Result<(Epoch, HashSet<String>), crate::store::ledger::LedgerError> {
    let epoch = Epoch {
        current: crate::store::seq_reset::epoch(conn)?,
        starts_after: crate::store::seq_reset::epoch_starts_after(conn)?,
    };
    let waiting = crate::store::ledger::pending(conn, 10_000_000)?
        .iter()
        .map(|e| source_id(org, e.seq))
        .collect();
    Ok((epoch, waiting))
}

/// Rows deleted per batch, and most batches per run (the rest waits for
/// the next hour): the store stays responsive while it trims.
const TRIM_BATCH: usize = 1000;
const MAX_BATCHES: usize = 500;

/// A clean run covered everything read before `to`: mark it, then trim the
/// done rows older than the retention, a small batch at a time.
async fn keep_bounded(
    store: &crate::engine::store_handle::StoreHandle,
    to: DateTime<Utc>,
    retention_days: u64,
) -> Result<usize, String> {
    use crate::store::retention;
    store
        .call("mark the reconciled time", move |s| {
            Ok(retention::mark_covered(s.connection(), to))
        })
        .await?
        .map_err(|e| e.to_string())?;
    let days = i64::try_from(retention_days)
        .unwrap_or(i64::MAX)
        .min(36_500);
    let older_than = Utc::now() - chrono::Duration::days(days);
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        let n = store
            .call("trim the booking ledger", move |s| {
                Ok(retention::trim_batch(
                    s.connection(),
                    older_than,
                    TRIM_BATCH,
                ))
            })
            .await?
            .map_err(|e| e.to_string())?;
        total += n;
        if n < TRIM_BATCH {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::{Epoch, judged};
    use crate::model::Seq;

    #[test]
    fn only_our_ids_of_this_epoch_that_pac_still_keeps_are_judged() {
        let first = Epoch::default();
        assert!(judged("pac:1:500", 1, first, Seq(100)));
        assert!(!judged("pac:1:50", 1, first, Seq(100)), "expired in PAC");
        assert!(
            !judged("pac:2:500", 1, first, Seq(100)),
            "another organization"
        );
        assert!(!judged("web:4411", 1, first, Seq(0)));
        let second = Epoch {
            current: 2,
            starts_after: Some(Seq(300)),
        };
        assert!(judged("pac:1:e2:301", 1, second, Seq(1)));
        assert!(!judged("pac:1:e2:7", 1, second, Seq(1)), "read in epoch 1");
        assert!(
            judged("pac:1:e1:7", 1, second, Seq(1)),
            "kept from before the backup"
        );
        assert!(!judged("pac:1:e1:301", 1, second, Seq(1)));
        assert!(!judged("pac:1:500", 1, second, Seq(1)), "the first epoch");
        assert!(!judged("pac:1:e2:x", 1, second, Seq(1)));
    }

    #[test]
    fn pacs_events_up_to_the_reset_point_belong_to_the_epoch_before() {
        let e = Epoch {
            current: 1,
            starts_after: Some(Seq(300)),
        };
        assert_eq!(e.of(Seq(300)), 0);
        assert_eq!(e.of(Seq(301)), 1);
        assert_eq!(Epoch::default().of(Seq(5)), 0);
    }
}
