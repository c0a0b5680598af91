//! Proof for the Astrow -> PAC direction (pure): for a window, Astrow's own
//! bookings (not from PAC) by the `source_id` they go to PAC under, against
//! PAC's `external_attendance` events by `source_id`: missing, doubled,
//! unexpected ([`super::reconcile::compare`]). A missing one that still
//! waits in the ledger (pending, or held with a reason) or that PAC refused
//! (rejected with a reason) is counted apart, not as missing.

use std::collections::HashSet;

use super::reconcile::{ReconcileReport, compare};
use crate::model::{A2P_EPOCH_SHIFT, external_source_id};

/// Where each Astrow epoch starts: `(epoch, after booking id)`, epoch 0
/// from 0; a person's `astrow-cursor` after a restore starts the next.
pub type EpochStarts = Vec<(u32, u64)>;

/// The epoch Astrow booking `booking_id` (as Astrow numbers it now) was
/// read in: the newest epoch that starts below it (a restore wiped every
/// id above its start, so what is there now came after it).
pub fn epoch_of(booking_id: u64, starts: &[(u32, u64)]) -> u32 {
    starts
        .iter()
        .filter(|(_, after)| *after < booking_id)
        .map(|(e, _)| *e)
        .max()
        .unwrap_or(0)
}

/// The PAC `source_id` Astrow booking `booking_id` goes under.
pub fn expected_source_id(booking_id: u64, starts: &[(u32, u64)]) -> String {
    let epoch = u64::from(epoch_of(booking_id, starts));
    external_source_id((epoch << A2P_EPOCH_SHIFT) | booking_id)
}

/// What the ledger says of the expected bookings not in PAC.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerFacts {
    pub starts: EpochStarts,
    /// Source ids still pending (not sent yet, or held with a reason).
    pub waiting: HashSet<String>,
    /// Source ids PAC rejected (or Astrow's record was unreadable).
    pub rejected: HashSet<String>,
    /// Bookings read again in a later epoch (the same as an older epoch's,
    /// kept by Astrow's backup, not sent again): the source id they would
    /// go under -> the one PAC holds them under.
    pub sent_before: std::collections::HashMap<String, String>,
}

/// The source id PAC holds Astrow's booking `booking_id` under.
pub fn source_id_in_pac(booking_id: u64, facts: &LedgerFacts) -> String {
    let s = expected_source_id(booking_id, &facts.starts);
    facts.sent_before.get(&s).cloned().unwrap_or(s)
}

/// Compare: `expected` the source ids of Astrow's own bookings of the
/// window, `in_pac` those of PAC's external events of the window (one per
/// event, repeats included; others than `astrow:` are not ours).
pub fn compare_a2p<'a>(
    expected: impl IntoIterator<Item = &'a str>,
    in_pac: impl IntoIterator<Item = &'a str>,
    facts: &LedgerFacts,
) -> ReconcileReport {
    let mut r = compare(expected, in_pac, |s| s.starts_with("astrow:"));
    let before = r.missing.len();
    r.missing.retain(|s| !facts.waiting.contains(s));
    r.waiting = before - r.missing.len();
    let before = r.missing.len();
    r.missing.retain(|s| !facts.rejected.contains(s));
    r.rejected = before - r.missing.len();
    let (lost, unexpected) = std::mem::take(&mut r.unexpected)
        .into_iter()
        .partition(|s| lost_by_astrow_restore(s, &facts.starts));
    (r.lost_by_astrow_restore, r.unexpected) = (lost, unexpected);
    r
}

/// `source_id` (ours) names a booking of an epoch that a later epoch
/// starts below: Astrow was restored to that start, so it lost the booking
/// (PAC keeps the event it was sent as).
fn lost_by_astrow_restore(source_id: &str, starts: &[(u32, u64)]) -> bool {
    let Some(rest) = source_id.strip_prefix("astrow:") else {
        return false;
    };
    let parsed = match rest.strip_prefix('e') {
        Some(tagged) => tagged
            .split_once(':')
            .and_then(|(e, id)| Some((e.parse::<u32>().ok()?, id.parse::<u64>().ok()?))),
        None => rest.parse::<u64>().ok().map(|id| (0, id)),
    };
    parsed.is_some_and(|(epoch, id)| {
        starts
            .iter()
            .any(|&(later, after)| later > epoch && after < id)
    })
}

/// "120 Astrow bookings, 100 in PAC once, 0 missing, 0 doubled, 0 unexpected, 12 waiting, 8 rejected by PAC".
pub fn summary(r: &ReconcileReport) -> String {
    format!(
        "{} Astrow bookings, {} in PAC once, {} missing, {} doubled, {} unexpected, {} still waiting, {} rejected by PAC{}",
        r.expected,
        r.booked_once,
        r.missing.len(),
        r.doubled.len(),
        r.unexpected.len(),
        r.waiting,
        r.rejected,
        match r.lost_by_astrow_restore.len() {
            0 => String::new(),
            n => format!(", {n} in PAC of bookings Astrow lost in its restore"),
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn ids_above_an_epochs_start_belong_to_it() {
        let starts = vec![(1, 30), (2, 20)];
        assert_eq!(epoch_of(10, &starts), 0);
        assert_eq!(epoch_of(25, &starts), 2);
        assert_eq!(epoch_of(40, &starts), 2);
        assert_eq!(epoch_of(31, &[(1, 30)]), 1);
        assert_eq!(expected_source_id(31, &[(1, 30)]), "astrow:e1:31");
        assert_eq!(expected_source_id(30, &[(1, 30)]), "astrow:30");
    }

    #[test]
    fn a_booking_read_again_is_expected_under_its_older_source_id() {
        let facts = LedgerFacts {
            starts: vec![(1, 30)],
            sent_before: HashMap::from([("astrow:e1:31".to_string(), "astrow:31".to_string())]),
            ..LedgerFacts::default()
        };
        assert_eq!(source_id_in_pac(31, &facts), "astrow:31");
        assert_eq!(source_id_in_pac(32, &facts), "astrow:e1:32");
    }

    /// Astrow restored to 20, then moved to epoch 1 after 20: PAC's events
    /// of the old epoch's 21.. are of bookings Astrow lost, not unexpected;
    /// a stranger or an id below the restore point still is.
    #[test]
    fn events_of_bookings_astrow_lost_in_its_restore_are_counted_apart() {
        let facts = LedgerFacts {
            starts: vec![(1, 20)],
            ..LedgerFacts::default()
        };
        let r = compare_a2p(
            ["astrow:19", "astrow:e1:21"],
            [
                "astrow:19",
                "astrow:21",
                "astrow:30",
                "astrow:e1:21",
                "astrow:e1:40",
                "astrow:e9:x",
            ],
            &facts,
        );
        assert_eq!(r.lost_by_astrow_restore, vec!["astrow:21", "astrow:30"]);
        assert_eq!(r.unexpected, vec!["astrow:e1:40", "astrow:e9:x"]);
        assert!(summary(&r).ends_with(", 2 in PAC of bookings Astrow lost in its restore"));
        let none = compare_a2p(
            ["astrow:21"],
            ["astrow:21", "astrow:22"],
            &LedgerFacts::default(),
        );
        assert_eq!(none.unexpected, vec!["astrow:22"]);
        assert!(none.lost_by_astrow_restore.is_empty());
    }

    #[test]
    fn waiting_and_rejected_are_not_missing() {
        let facts = LedgerFacts {
            waiting: HashSet::from(["astrow:3".to_string()]),
            rejected: HashSet::from(["astrow:4".to_string()]),
            ..LedgerFacts::default()
        };
        let r = compare_a2p(
            ["astrow:1", "astrow:2", "astrow:3", "astrow:4", "astrow:5"],
            ["astrow:1", "astrow:5", "astrow:5", "astrow:9", "pac-own:1"],
            &facts,
        );
        assert_eq!(r.missing, vec!["astrow:2"]);
        assert_eq!((r.waiting, r.rejected), (1, 1));
        assert_eq!(r.doubled, vec![("astrow:5".to_string(), 2)]);
        assert_eq!(r.unexpected, vec!["astrow:9"]);
        assert!(
            summary(&r).contains("1 missing, 1 doubled, 1 unexpected, 1 still waiting, 1 rejected")
        );
        let r = compare_a2p(["astrow:1"], ["astrow:1"], &LedgerFacts::default());
        assert!(r.clean());
    }
}
