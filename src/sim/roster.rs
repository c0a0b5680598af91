//! The simulators' employees by id, with an index from badge number to the
//! ids holding it, kept in step with every write: finding a badge's owner
//! or checking a badge is free costs a hash lookup, not a scan of every
//! employee (at 100,000 employees the scans were the simulators' cost).
//!
//! Reading goes through the map itself (`Deref`); every write goes through
//! [`Roster::insert`], [`Roster::remove`] or [`Roster::update`], which
//! re-index the employee.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Deref;

/// An employee record and the badge numbers it is found by.
pub trait Badged {
    /// The badge numbers that make this employee a badge's owner.
    fn badge_keys(&self) -> Vec<String>;
}

impl Badged for crate::astrow::wire::Employee {
    fn badge_keys(&self) -> Vec<String> {
        self.badge_no.iter().cloned().collect()
    }
}

/// PAC: only active badges belong to someone.
impl Badged for crate::model::PacEmployee {
    fn badge_keys(&self) -> Vec<String> {
        self.badges
            .iter()
            .filter(|b| b.active)
            .map(|b| b.number.clone())
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Roster<E> {
    by_id: BTreeMap<u64, E>,
    by_badge: HashMap<String, BTreeSet<u64>>,
}

impl<E> Default for Roster<E> {
    fn default() -> Self {
        Roster {
            by_id: BTreeMap::new(),
            by_badge: HashMap::new(),
        }
    }
}

impl<E> Deref for Roster<E> {
    type Target = BTreeMap<u64, E>;
    fn deref(&self) -> &BTreeMap<u64, E> {
        &self.by_id
    }
}

impl<E: Badged> FromIterator<(u64, E)> for Roster<E> {
    fn from_iter<I: IntoIterator<Item = (u64, E)>>(iter: I) -> Self {
        let mut r = Roster::default();
        for (id, e) in iter {
            r.insert(id, e);
        }
        r
    }
}

impl<E: Badged> Roster<E> {
    pub fn insert(&mut self, id: u64, e: E) -> Option<E> {
        let old = self.remove(id);
        self.index(id, &e);
        self.by_id.insert(id, e);
        old
    }

    pub fn remove(&mut self, id: u64) -> Option<E> {
        let old = self.by_id.remove(&id)?;
        self.unindex(id, &old);
        Some(old)
    }

    /// Change employee `id` in place (re-indexed after); `None` when absent.
    pub fn update<R>(&mut self, id: u64, f: impl FnOnce(&mut E) -> R) -> Option<R> {
        let e = self.by_id.get_mut(&id)?;
        let before = e.badge_keys();
        let r = f(e);
        let after = e.badge_keys();
        if before != after {
            for k in before {
                self.drop_key(&k, id);
            }
            for k in after {
                self.by_badge.entry(k).or_default().insert(id);
            }
        }
        Some(r)
    }

    /// The ids holding `badge`, lowest first.
    pub fn holders(&self, badge: &str) -> impl Iterator<Item = u64> + '_ {
        self.by_badge.get(badge).into_iter().flatten().copied()
    }

    /// The lowest-id employee holding `badge`.
    pub fn owner(&self, badge: &str) -> Option<&E> {
        self.holders(badge)
            .next()
            .and_then(|id| self.by_id.get(&id))
    }

    fn index(&mut self, id: u64, e: &E) {
        for k in e.badge_keys() {
            self.by_badge.entry(k).or_default().insert(id);
        }
    }

    fn unindex(&mut self, id: u64, e: &E) {
        for k in e.badge_keys() {
            self.drop_key(&k, id);
        }
    }

    fn drop_key(&mut self, key: &str, id: u64) {
        if let Some(ids) = self.by_badge.get_mut(key) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_badge.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct P(Vec<&'static str>);
    impl Badged for P {
        fn badge_keys(&self) -> Vec<String> {
            self.0.iter().map(|s| s.to_string()).collect()
        }
    }

    /// The index against a scan of every employee: the same owners.
    fn check(r: &Roster<P>, badges: &[&str]) {
        for b in badges {
            let scanned: Vec<u64> = r
                .iter()
                .filter(|(_, p)| p.0.contains(b))
                .map(|(id, _)| *id)
                .collect();
            assert_eq!(r.holders(b).collect::<Vec<_>>(), scanned, "badge {b}");
        }
    }

    #[test]
    fn the_index_follows_every_insert_replace_update_and_remove() {
        let all = ["A", "B", "C", "D"];
        let mut r: Roster<P> = [(2, P(vec!["A"])), (1, P(vec!["B", "C"]))]
            .into_iter()
            .collect();
        check(&r, &all);
        assert_eq!(r.owner("C"), Some(&P(vec!["B", "C"])));
        // Replaced keeping one badge and dropping another.
        r.insert(1, P(vec!["B", "D"]));
        check(&r, &all);
        assert_eq!(r.owner("C"), None);
        // Two holders of one badge: the lowest id first.
        r.insert(3, P(vec!["A"]));
        assert_eq!(r.holders("A").collect::<Vec<_>>(), vec![2, 3]);
        r.update(2, |p| p.0 = vec!["C"]);
        check(&r, &all);
        assert_eq!(r.update(9, |p| p.0.clear()), None);
        r.remove(3);
        check(&r, &all);
        assert_eq!(r.holders("A").count(), 0);
        assert_eq!(r.len(), 2);
        assert!(r.by_badge.values().all(|ids| !ids.is_empty()));
    }
}
