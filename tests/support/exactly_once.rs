//! The one assertion of the booking import, shared by tests/bookings.rs and
//! tests/crash.rs: Astrow holds exactly PAC's granted swipes, each once, and
//! the ledger agrees.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use astrow_pac::astrow::AstrowClient;
use astrow_pac::model::{EventType, Seq, booking_source_id};
use astrow_pac::pac::{PacClient, PacError};
use astrow_pac::store::db::open_connection;
use astrow_pac::store::ledger;

/// PAC's granted swipes it still keeps, as `source_id`s.
pub async fn granted_source_ids(pac: &PacClient) -> HashSet<String> {
    let mut granted = HashSet::new();
    let mut after = Seq(0);
    loop {
        let page = match pac.events(after, 1000, Duration::ZERO).await {
            Ok(p) => p,
            // What PAC no longer keeps cannot be expected in Astrow.
            Err(PacError::EventsExpired { oldest_seq, .. }) => {
                after = Seq(oldest_seq.0 - 1);
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        if page.events.is_empty() {
            break;
        }
        for e in &page.events {
            if e.event_type == EventType::AccessGranted {
                granted.insert(booking_source_id(1, e.seq));
            }
            after = e.seq;
        }
    }
    granted
}

/// Astrow's stored bookings equal the granted swipes one to one by
/// `source_id`; the ledger at `db` has nothing pending or rejected.
pub async fn assert_exactly_once(pac: &PacClient, astrow: &AstrowClient, db: &Path) {
    let granted = granted_source_ids(pac).await;
    let stored = astrow.list_bookings(None).await.unwrap();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for b in &stored {
        *counts.entry(b.booking.source_id.clone()).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "booked twice: {twice:?}");
    let ids: HashSet<String> = counts.into_keys().collect();
    let missing: Vec<_> = granted.difference(&ids).collect();
    let extra: Vec<_> = ids.difference(&granted).collect();
    assert!(missing.is_empty(), "granted swipes not booked: {missing:?}");
    assert!(
        extra.is_empty(),
        "bookings without a granted swipe: {extra:?}"
    );
    assert!(!granted.is_empty());
    let conn = open_connection(db).unwrap();
    let c = ledger::counts(&conn).unwrap();
    assert_eq!(c.pending, 0, "{c:?}");
    assert_eq!(c.rejected, 0, "{c:?}");
    assert_eq!(
        (c.processed + c.queued + c.duplicate) as usize,
        granted.len(),
        "{c:?}"
    );
}
