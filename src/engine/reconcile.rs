//! Proof that nothing was lost (pure): for a window, the bookings PAC's
//! granted swipes should have made, by `source_id`, against the bookings
//! Astrow holds: what is missing, doubled, or unexpected.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The result of one reconciliation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileReport {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Granted swipes on booking readers in the window (bookings expected).
    pub expected: usize,
    /// Expected and held by Astrow exactly once.
    pub booked_once: usize,
    /// Expected, not in Astrow yet, and still waiting in the ledger to be
    /// sent (not counted as missing).
    #[serde(default)]
    pub waiting: usize,
    /// Expected, not held, and refused by the receiving side with a reason
    /// kept in the ledger (Astrow->PAC: PAC's `rejected`; not missing).
    #[serde(default)]
    pub rejected: usize,
    /// Expected and not held by Astrow.
    pub missing: Vec<String>,
    /// Held by Astrow more than once: `(source_id, times)`.
    pub doubled: Vec<(String, usize)>,
    /// Held by Astrow with one of our source ids, but no such swipe expected.
    pub unexpected: Vec<String>,
    /// Astrow -> PAC: PAC's events of Astrow bookings that Astrow itself
    /// lost when it was restored from a backup (ids a later epoch starts
    /// below). They were real bookings when sent; counted apart, not as
    /// unexpected (the restore was raised when it was found).
    #[serde(default)]
    pub lost_by_astrow_restore: Vec<String>,
}

impl ReconcileReport {
    /// Nothing missing, doubled or unexpected.
    pub fn clean(&self) -> bool {
        self.missing.is_empty() && self.doubled.is_empty() && self.unexpected.is_empty()
    }

    /// "12,408 granted swipes, 12,408 booked once, 0 missing, 0 doubled, 0 unexpected".
    pub fn summary(&self) -> String {
        let waiting = if self.waiting > 0 {
            format!(", {} still waiting to be sent", self.waiting)
        } else {
            String::new()
        };
        format!(
            "{} granted swipes, {} booked once, {} missing, {} doubled, {} unexpected{waiting}",
            self.expected,
            self.booked_once,
            self.missing.len(),
            self.doubled.len(),
            self.unexpected.len()
        )
    }
}

/// Compare the expected source ids with those Astrow holds (one entry per
/// stored booking, repeats included). `ours` says which of Astrow's source
/// ids this integration could have made (others, such as web clock
/// bookings, are not its business).
pub fn compare<'a>(
    expected: impl IntoIterator<Item = &'a str>,
    stored: impl IntoIterator<Item = &'a str>,
    ours: impl Fn(&str) -> bool,
) -> ReconcileReport {
    let expected: BTreeSet<&str> = expected.into_iter().collect();
    let mut held: BTreeMap<&str, usize> = BTreeMap::new();
    for s in stored.into_iter().filter(|s| ours(s)) {
        *held.entry(s).or_default() += 1;
    }
    let missing = expected
        .iter()
        .filter(|s| !held.contains_key(*s))
        .map(|s| s.to_string())
        .collect();
    let doubled = held
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(s, n)| (s.to_string(), *n))
        .collect();
    let unexpected = held
        .keys()
        .filter(|s| !expected.contains(*s))
        .map(|s| s.to_string())
        .collect();
    let booked_once = expected.iter().filter(|s| held.get(*s) == Some(&1)).count();
    ReconcileReport {
        from: None,
        to: None,
        expected: expected.len(),
        booked_once,
        waiting: 0,
        rejected: 0,
        missing,
        doubled,
        unexpected,
        lost_by_astrow_restore: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ours(s: &str) -> bool {
        s.starts_with("pac:1:")
    }

    #[test]
    fn missing_doubled_and_unexpected_are_told_apart() {
        let r = compare(
            ["pac:1:1", "pac:1:2", "pac:1:3"],
            ["pac:1:1", "pac:1:3", "pac:1:3", "pac:1:9", "web:4411"],
            ours,
        );
        assert_eq!(r.missing, vec!["pac:1:2"]);
        assert_eq!(r.doubled, vec![("pac:1:3".to_string(), 2)]);
        assert_eq!(r.unexpected, vec!["pac:1:9"]);
        assert_eq!((r.expected, r.booked_once), (3, 1));
        assert!(!r.clean());
        let r = compare(["pac:1:1"], ["pac:1:1", "web:1"], ours);
        assert!(r.clean());
        assert_eq!(
            r.summary(),
            "1 granted swipes, 1 booked once, 0 missing, 0 doubled, 0 unexpected"
        );
    }

    proptest! {
        /// Astrow's holdings made from the expected set by dropping some,
        /// repeating some and adding strangers: the report finds exactly those.
        #[test]
        fn the_comparison_finds_exactly_what_was_done(
            n in 0usize..60,
            dropped in proptest::collection::btree_set(0usize..60, 0..10),
            repeated in proptest::collection::btree_map(0usize..60, 2usize..4, 0..10),
            strangers in proptest::collection::btree_set(1000usize..1100, 0..5),
            foreign in 0usize..5,
        ) {
            let expected: Vec<String> = (0..n).map(|i| format!("pac:1:{i}")).collect();
            let mut stored: Vec<String> = Vec::new();
            for i in 0..n {
                if dropped.contains(&i) {
                    continue;
                }
                let times = repeated.get(&i).copied().unwrap_or(1);
                for _ in 0..times {
                    stored.push(format!("pac:1:{i}"));
                }
            }
            stored.extend(strangers.iter().map(|i| format!("pac:1:{i}")));
            stored.extend((0..foreign).map(|i| format!("web:{i}")));
            let r = compare(
                expected.iter().map(String::as_str),
                stored.iter().map(String::as_str),
                ours,
            );
            let want_missing: BTreeSet<String> =
                dropped.iter().filter(|i| **i < n).map(|i| format!("pac:1:{i}")).collect();
            let got_missing: BTreeSet<String> = r.missing.iter().cloned().collect();
            prop_assert_eq!(got_missing, want_missing.clone());
            let want_doubled: BTreeSet<(String, usize)> = repeated
                .iter()
                .filter(|(i, _)| **i < n && !dropped.contains(i))
                .map(|(i, t)| (format!("pac:1:{i}"), *t))
                .collect();
            let got_doubled: BTreeSet<(String, usize)> = r.doubled.iter().cloned().collect();
            prop_assert_eq!(got_doubled, want_doubled.clone());
            prop_assert_eq!(r.unexpected.len(), strangers.len());
            prop_assert_eq!(r.expected, n);
            prop_assert_eq!(r.booked_once, n - want_missing.len() - want_doubled.len());
            prop_assert_eq!(r.clean(), want_missing.is_empty() && want_doubled.is_empty() && strangers.is_empty());
        }
    }
}
