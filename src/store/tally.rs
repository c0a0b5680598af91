//! The booking ledger's counts kept in memory, so that showing them costs
//! nothing: counts by state, the newest answers' lags and the events read in
//! the last minute. Every function that changes a ledger row's state (or
//! adds or deletes rows) does it through [`write`], which holds the tally of
//! that database while it writes and applies what the write changed once it
//! committed. The tally is read from SQLite once per process and database,
//! with indexed queries, the first time it is needed.
//!
//! One tally per database file (by SQLite's own path of it), shared by every
//! connection of the process; an in-memory database has none and is counted
//! with SQL each time.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;

use super::ledger::{self, Counts, LedgerError};
use super::per_database::PerDatabase;

/// Indexes for counting the ledger at start (by state) and the last
/// minute's reads (by read time); the retention trim and the roll call's
/// day of swipes use the second too.
pub const MIGRATION: &str = "
CREATE INDEX ledger_by_state ON ledger (state);
CREATE INDEX ledger_by_read_at ON ledger (read_at);
";

/// The partial index of pending rows goes: `ledger_by_state` holds the same
/// entries for them (an index on `state` is ordered by state, then seq),
/// so `WHERE state = 'pending' ORDER BY seq` is a search of it without a
/// sort. One index fewer to write on every stored event and every answer
/// (benches/ledger_writes.rs: `without ledger_pending`).
pub const MIGRATION_ONE_PENDING_INDEX: &str = "
DROP INDEX IF EXISTS ledger_pending;
";

/// Answers whose lag the tally keeps (the newest).
pub const LAG_WINDOW: usize = 1000;

/// How the ledger changed in one write: rows per state added (positive) or
/// taken away (negative), lags of the answers written, events read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delta {
    pub states: Vec<(String, i64)>,
    pub lags_ms: Vec<u64>,
    pub read: Option<(DateTime<Utc>, u64)>,
}

impl Delta {
    /// One row more (`n` = 1) or fewer (`n` = -1) in `state`.
    pub fn add(&mut self, state: &str, n: i64) {
        match self.states.iter_mut().find(|(s, _)| s == state) {
            Some((_, v)) => *v += n,
            None => self.states.push((state.to_string(), n)),
        }
    }
}

/// The in-memory picture of the ledger.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub counts: Counts,
    /// Newest last, at most [`LAG_WINDOW`].
    lags_ms: VecDeque<u64>,
    /// Events read, by page: when and how many.
    reads: VecDeque<(DateTime<Utc>, u64)>,
}

impl Tally {
    fn apply(&mut self, d: &Delta) {
        for (state, n) in &d.states {
            let c = &mut self.counts;
            let slot = match state.as_str() {
                "pending" => Some(&mut c.pending),
                "processed" => Some(&mut c.processed),
                "queued" => Some(&mut c.queued),
                "duplicate" => Some(&mut c.duplicate),
                "rejected" => Some(&mut c.rejected),
                _ => None,
            };
            if let Some(v) = slot {
                *v = v.saturating_add_signed(*n);
            }
            c.events = c.events.saturating_add_signed(*n);
        }
        for &l in &d.lags_ms {
            if self.lags_ms.len() == LAG_WINDOW {
                self.lags_ms.pop_front();
            }
            self.lags_ms.push_back(l);
        }
        if let Some(r) = d.read.filter(|r| r.1 > 0) {
            self.reads.push_back(r);
        }
    }

    /// The lags kept, newest first.
    pub fn lags_ms(&self) -> Vec<u64> {
        self.lags_ms.iter().rev().copied().collect()
    }

    /// Events read at or after `since` (pages older than that are dropped).
    pub fn read_since(&mut self, since: DateTime<Utc>) -> u64 {
        while self.reads.front().is_some_and(|(at, _)| *at < since) {
            self.reads.pop_front();
        }
        self.reads.iter().map(|(_, n)| n).sum()
    }
}

static TALLIES: PerDatabase<Tally> = PerDatabase::new();

/// Read the tally from SQLite: counts by state (the covering index on
/// state), the newest answers' lags (walking the primary key down from the
/// newest row) and the last minute's events (the index on read time).
pub fn from_sql(conn: &Connection, now: DateTime<Utc>) -> Result<Tally, LedgerError> {
    let mut t = Tally {
        counts: ledger::counts(conn)?,
        ..Tally::default()
    };
    let mut lags = ledger::recent_lags_ms(conn, LAG_WINDOW)?;
    lags.reverse();
    t.lags_ms = lags.into();
    let since = now - Duration::seconds(60);
    let n = ledger::read_since(conn, since)?;
    if n > 0 {
        t.reads.push_back((now, n));
    }
    Ok(t)
}

/// Run `f`, a write of the ledger that commits, holding the tally of its
/// database; apply the delta it returns once it succeeded. `f` must commit
/// before it returns `Ok` (a write that fails changes nothing).
pub fn write<R, E>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<(R, Delta), E>,
) -> Result<R, E> {
    TALLIES.write(conn, f, Tally::apply)
}

/// The tally as it stands, with the events read since `now - 60 s`; read
/// from SQLite the first time in this process.
pub fn current(conn: &Connection, now: DateTime<Utc>) -> Result<(Tally, u64), LedgerError> {
    let since = now - Duration::seconds(60);
    TALLIES.with(
        conn,
        |c| from_sql(c, now),
        |t| {
            let n = t.read_since(since);
            (t.clone(), n)
        },
    )
}

/// Forget the tally of `conn`'s database, so that the next [`current`]
/// reads it from SQLite again (for tests that compare the two).
pub fn forget(conn: &Connection) {
    TALLIES.forget(conn);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_moves_counts_keeps_the_newest_lags_and_a_minute_of_reads() {
        let mut t = Tally::default();
        let now = Utc::now();
        let mut d = Delta::default();
        d.add("pending", 3);
        d.add("none", 2);
        d.read = Some((now - Duration::seconds(90), 5));
        t.apply(&d);
        assert_eq!((t.counts.pending, t.counts.events), (3, 5));
        let mut d = Delta::default();
        d.add("pending", -2);
        d.add("processed", 1);
        d.add("rejected", 1);
        d.lags_ms = (0..LAG_WINDOW as u64 + 5).collect();
        d.read = Some((now, 4));
        t.apply(&d);
        assert_eq!(
            (
                t.counts.pending,
                t.counts.processed,
                t.counts.rejected,
                t.counts.events
            ),
            (1, 1, 1, 5)
        );
        let lags = t.lags_ms();
        assert_eq!(lags.len(), LAG_WINDOW);
        assert_eq!(lags[0], LAG_WINDOW as u64 + 4, "newest first");
        assert_eq!(t.read_since(now - Duration::seconds(60)), 4);
        assert_eq!(t.reads.len(), 1, "the old page is dropped");
    }
}
