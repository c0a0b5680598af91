//! One value per database file, shared by every connection of the process
//! (by SQLite's own path of the file): the ledgers' in-memory tallies
//! ([`super::tally`], [`super::astrow_tally`]). An in-memory database has
//! none; its callers count with SQL each time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

type Slot<T> = Arc<Mutex<Option<T>>>;

/// The values, by database file; `None` in a slot until first loaded.
pub struct PerDatabase<T> {
    all: Mutex<Option<HashMap<String, Slot<T>>>>,
}

impl<T: Clone> PerDatabase<T> {
    pub const fn new() -> Self {
        PerDatabase {
            all: Mutex::new(None),
        }
    }

    /// The slot of the database `conn` is open on (`None`: in memory).
    fn slot(&self, conn: &Connection) -> Option<Slot<T>> {
        let path = conn.path().filter(|p| !p.is_empty())?.to_string();
        let mut all = self.all.lock().unwrap_or_else(|p| p.into_inner());
        Some(
            all.get_or_insert_with(HashMap::new)
                .entry(path)
                .or_default()
                .clone(),
        )
    }

    /// Run `f`, a write that commits, holding the value of its database;
    /// `apply` what it returns once it succeeded (a write that fails
    /// changes nothing). A value not loaded yet stays so.
    pub fn write<R, D, E>(
        &self,
        conn: &mut Connection,
        f: impl FnOnce(&mut Connection) -> Result<(R, D), E>,
        apply: impl FnOnce(&mut T, &D),
    ) -> Result<R, E> {
        let Some(slot) = self.slot(conn) else {
            return f(conn).map(|(r, _)| r);
        };
        let mut held = slot.lock().unwrap_or_else(|p| p.into_inner());
        let (r, delta) = f(conn)?;
        if let Some(t) = held.as_mut() {
            apply(t, &delta);
        }
        Ok(r)
    }

    /// `look` at the value of `conn`'s database, `load`ed the first time in
    /// this process (each time for an in-memory database).
    pub fn with<R, E>(
        &self,
        conn: &Connection,
        load: impl FnOnce(&Connection) -> Result<T, E>,
        look: impl FnOnce(&mut T) -> R,
    ) -> Result<R, E> {
        let Some(slot) = self.slot(conn) else {
            return load(conn).map(|mut t| look(&mut t));
        };
        let mut held = slot.lock().unwrap_or_else(|p| p.into_inner());
        let t = match held.take() {
            Some(t) => t,
            None => load(conn)?,
        };
        Ok(look(held.insert(t)))
    }

    /// Forget the value of `conn`'s database, so that the next [`Self::with`]
    /// loads it again (after a write that did not go through
    /// [`Self::write`], and in tests).
    pub fn forget(&self, conn: &Connection) {
        if let Some(slot) = self.slot(conn) {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

impl<T: Clone> Default for PerDatabase<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_per_file_loaded_once_moved_by_writes_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let values: PerDatabase<i64> = PerDatabase::new();
        let mut a = Connection::open(dir.path().join("a.db")).unwrap();
        let b = Connection::open(dir.path().join("a.db")).unwrap();
        let loads = std::cell::Cell::new(0);
        let load = |_: &Connection| -> Result<i64, ()> {
            loads.set(loads.get() + 1);
            Ok(10)
        };
        // A write before the first load changes nothing kept.
        let r: Result<(), ()> = values.write(&mut a, |_| Ok(((), 5)), |t, d| *t += d);
        assert!(r.is_ok());
        assert_eq!(values.with(&a, load, |t| *t), Ok(10));
        let r: Result<(), ()> = values.write(&mut a, |_| Ok(((), 5)), |t, d| *t += d);
        assert!(r.is_ok());
        let failed: Result<(), ()> = values.write(&mut a, |_| Err(()), |t, d: &i64| *t += d);
        assert!(failed.is_err());
        assert_eq!(values.with(&b, load, |t| *t), Ok(15), "shared by the file");
        assert_eq!(loads.get(), 1);
        values.forget(&b);
        assert_eq!(values.with(&a, load, |t| *t), Ok(10));
        let memory = Connection::open_in_memory().unwrap();
        assert_eq!(values.with(&memory, load, |t| *t), Ok(10));
        assert_eq!(loads.get(), 3, "in memory: loaded each time");
    }
}
