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

pub(crate) fn map_with_capacity<K, V>(n: usize) -> FastMap<K, V> {
    FastMap::with_capacity_and_hasher(n, BuildHasherDefault::default())
}

/// Position of each id in a listing. Ids on a site are mostly dense (PAC
/// numbers its employees, Astrow its pers_nos), so a table indexed by
/// `id - min` is the usual case; a hash map otherwise. The first of equal
/// ids wins.
#[derive(Debug)]
pub(crate) enum IdIndex {
    Dense { min: u64, slots: Vec<u32> },
    Sparse(FastMap<u64, usize>),
}

const EMPTY: u32 = u32::MAX;

impl IdIndex {
    /// Index `records` by `id`. Listings come ordered by id (both APIs page
    /// by id): then one pass fills a table spanning first to last id. Any
    /// other order costs a second pass.
    pub(crate) fn new<T>(records: &[T], id: impl Fn(&T) -> u64) -> IdIndex {
        let n = records.len();
        if let (Some(first), Some(last)) = (records.first(), records.last()) {
            let (lo, hi) = (id(first), id(last));
            if lo <= hi
                && n < EMPTY as usize
                && hi - lo <= 4 * n as u64 + 1024
                && let Some(index) = Self::dense(records, &id, lo, hi)
            {
                return index;
            }
        }
        let (min, max) = records
            .iter()
            .fold((u64::MAX, 0), |(lo, hi), r| (lo.min(id(r)), hi.max(id(r))));
        if n > 0
            && n < EMPTY as usize
            && max - min <= 4 * n as u64 + 1024
            && let Some(index) = Self::dense(records, &id, min, max)
        {
            return index;
        }
        let mut map = map_with_capacity(n);
        for (i, r) in records.iter().enumerate() {
            map.entry(id(r)).or_insert(i);
        }
        IdIndex::Sparse(map)
    }

    /// A table for ids in `min..=max`; `None` when an id falls outside.
    fn dense<T>(records: &[T], id: &impl Fn(&T) -> u64, min: u64, max: u64) -> Option<IdIndex> {
        let mut slots = vec![EMPTY; usize::try_from(max - min + 1).ok()?];
        for (i, r) in records.iter().enumerate() {
            let at = id(r).checked_sub(min).filter(|&at| at <= max - min)?;
            let slot = &mut slots[at as usize];
            if *slot == EMPTY {
                *slot = i as u32;
            }
        }
        Some(IdIndex::Dense { min, slots })
    }

    pub(crate) fn get(&self, id: u64) -> Option<usize> {
        match self {
            IdIndex::Dense { min, slots } => {
                let at = usize::try_from(id.checked_sub(*min)?).ok()?;
                match slots.get(at) {
                    Some(&s) if s != EMPTY => Some(s as usize),
                    _ => None,
                }
            }
            IdIndex::Sparse(map) => map.get(&id).copied(),
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
}
