//! What the Astrow -> PAC tests share: links from the seeded site, and the
//! one assertion: PAC's stored external events equal Astrow's non-PAC
//! bookings by `source_id`, each once, except those the ledger keeps as
//! rejected with a reason or holds waiting (for a link); nothing else pending.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use astrow_pac::engine::astrow_to_pac::map::wait_reason;
use astrow_pac::model::{EventType, Link, LinkOrigin, PersNo, Seq, parse_pac_ref};
use astrow_pac::pac::{PacClient, PacError};
use astrow_pac::sim::astrow::AstrowSim;
use astrow_pac::sim::pac::PacSim;
use astrow_pac::store::Store;
use astrow_pac::store::astrow_ledger::{self, RowState};
use astrow_pac::store::db::open_connection;

/// Link every Astrow employee whose `external_ref` names a PAC employee.
pub async fn link_seeded(store_dir: &Path, astrow: &AstrowSim, pac: &PacClient) -> usize {
    let pac_ids: BTreeSet<u64> = pac
        .list_employees()
        .await
        .unwrap()
        .iter()
        .map(|e| e.id.0)
        .collect();
    let mut store = Store::open(store_dir).unwrap();
    let mut n = 0;
    for e in astrow.employees() {
        if let Some(pac_id) = parse_pac_ref(e.external_ref.as_deref())
            && pac_ids.contains(&pac_id.0)
        {
            store
                .upsert_link(&Link {
                    pac_id,
                    pers_no: PersNo(e.pers_no.0),
                    origin: LinkOrigin::Matched,
                    at: chrono::Utc::now(),
                })
                .unwrap();
            n += 1;
        }
    }
    n
}

/// PAC's `external_attendance` events it still keeps: how many.
pub async fn external_event_count(pac: &PacClient) -> usize {
    let mut n = 0;
    let mut after = Seq(0);
    loop {
        let page = match pac.events(after, 1000, Duration::ZERO).await {
            Ok(p) => p,
            Err(PacError::EventsExpired { oldest_seq, .. }) => {
                after = Seq(oldest_seq.0 - 1);
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        if page.events.is_empty() {
            return n;
        }
        n += page
            .events
            .iter()
            .filter(|e| e.event_type == EventType::ExternalAttendance)
            .count();
        after = page.events.last().unwrap().seq;
    }
}

/// The ledger's rows by state: (pending and not waiting, stored or
/// duplicate, rejected with reasons, waiting with why).
/// `badges_are_pac_ids`: PAC is master.
#[allow(clippy::type_complexity)]
pub fn ledger_states(
    db: &Path,
    badges_are_pac_ids: bool,
    pac_readers: &astrow_ledger::PacReaderSerials,
) -> (
    usize,
    BTreeMap<u64, u64>,
    BTreeMap<u64, String>,
    BTreeMap<u64, String>,
) {
    let conn = open_connection(db).unwrap();
    let rows = astrow_ledger::recent(&conn, usize::MAX >> 1).unwrap();
    let mut pending = 0;
    let mut sent = BTreeMap::new();
    let mut rejected = BTreeMap::new();
    let mut waiting = BTreeMap::new();
    for r in rows {
        match r.state {
            RowState::Pending => match wait_reason(&r, badges_are_pac_ids, pac_readers) {
                Some(why) => {
                    waiting.insert(r.booking.booking_id, why);
                }
                None => pending += 1,
            },
            RowState::Answered(astrow_pac::model::ExternalOutcome::Stored { seq })
            | RowState::Answered(astrow_pac::model::ExternalOutcome::Duplicate { seq }) => {
                sent.insert(r.booking.booking_id, seq);
            }
            RowState::Answered(astrow_pac::model::ExternalOutcome::Rejected { reason })
            | RowState::Unreadable { reason } => {
                rejected.insert(r.booking.booking_id, reason);
            }
        }
    }
    (pending, sent, rejected, waiting)
}

/// The exactly-once assertion (see the module doc). Returns (stored, rejected).
pub async fn assert_exactly_once(
    astrow: &AstrowSim,
    pac_sim: &PacSim,
    pac: &PacClient,
    db: &Path,
    badges_are_pac_ids: bool,
) -> (usize, usize) {
    // Not from PAC: no `pac:` source id, and not a File terminal booking
    // at one of PAC's readers (the old Astrow IO Service's).
    let pac_readers: astrow_ledger::PacReaderSerials =
        pac_sim.reader_serials().await.into_iter().collect();
    let expected: BTreeSet<String> = astrow
        .stored_bookings()
        .iter()
        .filter(|b| !b.source_id.starts_with("pac:"))
        .filter(|b| {
            b.terminal_kind != astrow_pac::astrow::wire::TerminalKind::File
                || !pac_readers.contains(&b.terminal_serial)
        })
        .map(|b| format!("astrow:{}", b.booking_id))
        .collect();
    let in_pac: BTreeMap<String, u64> = pac_sim.external_events().await.into_iter().collect();
    let (pending, sent, rejected, waiting) = ledger_states(db, badges_are_pac_ids, &pac_readers);
    assert_eq!(pending, 0, "nothing left pending but what waits");
    // Each stored once in PAC's event log.
    assert_eq!(
        external_event_count(pac).await,
        in_pac.len(),
        "PAC's log holds an external event twice"
    );
    let rejected_ids: BTreeSet<String> = rejected
        .keys()
        .chain(waiting.keys())
        .map(|id| format!("astrow:{id}"))
        .collect();
    let want: BTreeSet<String> = expected.difference(&rejected_ids).cloned().collect();
    let got: BTreeSet<String> = in_pac.keys().cloned().collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(missing.is_empty(), "not in PAC: {missing:?}");
    assert!(
        extra.is_empty(),
        "in PAC without an Astrow booking: {extra:?}"
    );
    // The ledger agrees with PAC's seqs.
    for (id, seq) in &sent {
        assert_eq!(
            in_pac.get(&format!("astrow:{id}")),
            Some(seq),
            "booking {id}"
        );
    }
    for (id, reason) in &rejected {
        assert!(
            !reason.trim().is_empty(),
            "booking {id} rejected without a reason"
        );
    }
    // A linked employee is a PAC keyholder: PAC has no reason to refuse.
    let conn = open_connection(db).unwrap();
    for r in astrow_ledger::recent(&conn, usize::MAX >> 1).unwrap() {
        if let RowState::Answered(astrow_pac::model::ExternalOutcome::Rejected { reason }) =
            &r.state
        {
            assert_eq!(
                r.linked_pac_id, None,
                "booking {} of a linked employee rejected: {reason}",
                r.booking.booking_id
            );
        }
    }
    (got.len(), rejected.len())
}
