//! Hash maps with a fixed, fast hasher: planning 100,000 employees builds a
//! few maps of that size, and SipHash would be most of the time spent.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a for strings, a multiply-rotate for integers. Not DoS-resistant,
/// which does not matter here: the keys come from the site's own systems and
/// the maps live for one plan.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0 ^ 0xcbf2_9ce4_8422_2325;
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }

    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }

    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

/// Position of each id in a listing. Ids on a site are mostly dense (PAC
/// numbers its employees, Astrow its pers_nos), so a table indexed by
/// `id - start` holds them, `start` the first listed id; the few ids outside
/// that window (new hires numbered elsewhere, an unordered listing) go to a
/// hash map beside it. One pass either way. The first of equal ids wins.
#[derive(Debug)]
pub(crate) struct IdIndex {
    start: u64,
    slots: Vec<u32>,
    rest: FastMap<u64, usize>,
}

const EMPTY: u32 = u32::MAX;

impl IdIndex {
    /// Index `records` by `id`. The window spans `4 * n + 1024` ids from the
    /// first record's: a table of 16 bytes a record at most.
    pub(crate) fn new<T>(records: &[T], id: impl Fn(&T) -> u64) -> IdIndex {
        let n = records.len();
        let start = records.first().map_or(0, &id);
        let window = if n < EMPTY as usize { 4 * n + 1024 } else { 0 };
        let span = records
            .last()
            .map_or(0, |last| id(last).saturating_sub(start).saturating_add(1));
        let mut index = IdIndex {
            start,
            slots: vec![EMPTY; usize::try_from(span).map_or(window, |s| s.min(window))],
            rest: FastMap::default(),
        };
        for (i, r) in records.iter().enumerate() {
            let key = id(r);
            match index.slot(key) {
                Some(at) => {
                    let slot = &mut index.slots[at];
                    if *slot == EMPTY {
                        *slot = i as u32;
                    }
                }
                None => {
                    index.rest.entry(key).or_insert(i);
                }
            }
        }
        index
    }

    /// Where `id` sits in the table; `None` when outside the window.
    fn slot(&self, id: u64) -> Option<usize> {
        let at = usize::try_from(id.checked_sub(self.start)?).ok()?;
        (at < self.slots.len()).then_some(at)
    }

    pub(crate) fn get(&self, id: u64) -> Option<usize> {
        match self.slot(id) {
            Some(at) => match self.slots[at] {
                EMPTY => None,
                s => Some(s as usize),
            },
            None if self.rest.is_empty() => None,
            None => self.rest.get(&id).copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IdIndex;

    #[test]
    fn id_index_finds_the_first_position_dense_or_sparse() {
        for ids in [
            vec![5u64, 7, 6, 5],
            vec![5, u64::MAX, 1 << 40, 5],
            vec![5, 7, 4, 6],
        ] {
            let index = IdIndex::new(&ids, |&id| id);
            assert_eq!(index.get(5), Some(0));
            assert_eq!(index.get(ids[1]), Some(1));
            assert_eq!(index.get(ids[2]), Some(2));
            assert_eq!(index.get(3), None);
            assert_eq!(index.get(1_000_000), None);
        }
        assert_eq!(IdIndex::new(&[] as &[u64], |&id| id).get(0), None);
    }

    /// Ids inside the window, beyond it, below the first, repeated, at the
    /// ends of u64: each found at its first position, and nothing else.
    #[test]
    fn id_index_agrees_with_a_scan_inside_and_outside_its_window() {
        let mut sorted_with_hires: Vec<u64> = (100..1100).collect();
        sorted_with_hires.extend([900_000, 900_001, 1 << 50]);
        for ids in [
            sorted_with_hires,
            vec![1_000_000, 3, 1 << 40, 5, 2_000_000, 3, 1_000_001],
            vec![u64::MAX, 4, 7, u64::MAX - 1, u64::MAX, 0],
            vec![0, 1, 2, 2, 10_000],
        ] {
            let index = IdIndex::new(&ids, |&id| id);
            let probes = ids
                .iter()
                .flat_map(|&id| [id, id.wrapping_add(1), id.wrapping_sub(1)]);
            for probe in probes.chain([0, 1, 99, 5000, u64::MAX]) {
                let first = ids.iter().position(|&id| id == probe);
                assert_eq!(index.get(probe), first, "id {probe} in {ids:?}");
            }
        }
    }
}
