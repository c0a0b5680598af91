//! The Astrow -> PAC reconciliation: pages Astrow's bookings and PAC's
//! events and compares them by `source_id` (see `engine::reconcile_a2p`).
//! It only reads. Run by `astrow-pac reconcile --direction astrow-to-pac`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::reconcile::events_page;
use crate::astrow::AstrowClient;
use crate::engine::reconcile::ReconcileReport;
use crate::engine::reconcile_a2p::{LedgerFacts, compare_a2p, source_id_in_pac};
use crate::model::{Seq, external_source_id};
use crate::pac::PacClient;
use crate::store::astrow_ledger::{AstrowLedgerError, PacReaderSerials, came_from_pac};
use crate::store::astrow_restore;

/// Most events (or bookings) one reconciliation reads from either side.
const MAX_READ: usize = 10_000_000;

/// The store's epochs and the source ids still waiting or rejected.
pub fn ledger_facts(conn: &rusqlite::Connection) -> Result<LedgerFacts, AstrowLedgerError> {
    let ids = |states: &[&str]| -> Result<_, AstrowLedgerError> {
        Ok(astrow_restore::keys_in(conn, states)?
            .into_iter()
            .map(external_source_id)
            .collect())
    };
    Ok(LedgerFacts {
        starts: astrow_restore::epoch_starts(conn)?,
        waiting: ids(&["pending"])?,
        rejected: ids(&["rejected", "unreadable"])?,
        sent_before: astrow_restore::read_again(conn)?
            .into_iter()
            .map(|(k, old)| (external_source_id(k), external_source_id(old)))
            .collect(),
    })
}

/// Astrow's own bookings of `from..to` (by their time, not from PAC: the
/// loop rule with PAC's reader serials), as the source ids they go to PAC
/// under.
async fn expected_from_astrow(
    astrow: &AstrowClient,
    pac_readers: &PacReaderSerials,
    facts: &LedgerFacts,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let (mut after, mut read) = (0u64, 0usize);
    loop {
        let page = astrow
            .bookings_after(after, 1000)
            .await
            .map_err(|e| format!("Astrow bookings: {e}"))?;
        for b in &page.bookings {
            let t = b.time.with_timezone(&Utc);
            if t >= from && t < to && !came_from_pac(b, pac_readers) {
                out.push(source_id_in_pac(b.booking_id, facts));
            }
        }
        read += page.bookings.len() + page.unreadable.len();
        match page.last_id() {
            Some(last) if page.more && last > after && read < MAX_READ => after = last,
            _ => return Ok(out),
        }
    }
}

/// The source ids of PAC's `external_attendance` events of `from..to`.
async fn external_in_pac(
    pac: &PacClient,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let (mut after, mut read) = (Seq(0), 0usize);
    loop {
        let page = events_page(pac, &mut after).await?;
        let times: HashMap<Seq, DateTime<Utc>> = page
            .events
            .iter()
            .map(|e| (e.seq, e.time.with_timezone(&Utc)))
            .collect();
        for (seq, ext) in &page.external {
            if times.get(seq).is_some_and(|t| *t >= from && *t < to) {
                out.push(ext.source_id.clone());
            }
        }
        let set_aside = page.set_aside.iter().filter_map(|s| s.id).map(Seq);
        let Some(last) = page.events.iter().map(|e| e.seq).chain(set_aside).max() else {
            return Ok(out);
        };
        read += page.events.len();
        if last <= after || read > MAX_READ {
            return Ok(out);
        }
        after = last;
    }
}

/// Reconcile `from..to` for the Astrow -> PAC direction.
pub async fn run(
    pac: &PacClient,
    astrow: &AstrowClient,
    facts: &LedgerFacts,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<ReconcileReport, String> {
    let pac_readers: PacReaderSerials = pac
        .readers()
        .await
        .map_err(|e| format!("PAC readers: {e}"))?
        .into_iter()
        .map(|r| r.serial)
        .collect();
    let expected = expected_from_astrow(astrow, &pac_readers, facts, from, to).await?;
    let in_pac = external_in_pac(pac, from, to).await?;
    let mut report = compare_a2p(
        expected.iter().map(String::as_str),
        in_pac.iter().map(String::as_str),
        facts,
    );
    report.from = Some(from);
    report.to = Some(to);
    Ok(report)
}
