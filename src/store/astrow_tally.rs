//! The Astrow -> PAC ledger's counts kept in memory, so that showing them
//! costs nothing (issue 15, as [`super::tally`] does for the PAC -> Astrow
//! ledger): rows by state, the cursor's counts and the abandoned rows.
//! Every frequent write of the ledger (a page read, PAC's answers, the
//! retention trim) goes through [`write`], which holds the tally of that
//! database while it writes and applies what the write changed once it
//! committed. The rare writes (a re-bind, `forget employee`) [`forget`] it
//! after they commit, so it is read again. It is read from SQLite the first
//! time it is needed in a process, with indexed counts.
//!
//! One tally per database file (by SQLite's own path of it), shared by every
//! connection of the process; an in-memory database has none and is counted
//! with SQL each time.

use rusqlite::Connection;

use super::astrow_ledger::{AstrowLedgerError, Tally, counts};
use super::per_database::PerDatabase;

/// How one write changed the ledger: rows per state added (positive) or
/// taken away (negative), abandoned rows, the cursor's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delta {
    pub pending: i64,
    pub stored: i64,
    pub duplicate: i64,
    pub rejected: i64,
    pub unreadable: i64,
    pub abandoned: i64,
    pub from_pac: i64,
    pub older_than_start: i64,
    /// The cursor moved here.
    pub after_booking_id: Option<u64>,
}

impl Delta {
    /// `n` rows more (or fewer) in the ledger state named `state`.
    pub fn add(&mut self, state: &str, n: i64) {
        let slot = match state {
            "pending" => &mut self.pending,
            "stored" => &mut self.stored,
            "duplicate" => &mut self.duplicate,
            "rejected" => &mut self.rejected,
            "unreadable" => &mut self.unreadable,
            _ => return,
        };
        *slot += n;
    }
}

/// The counts after `d`.
pub fn apply(t: &mut Tally, d: &Delta) {
    let pairs = [
        (&mut t.pending, d.pending),
        (&mut t.stored, d.stored),
        (&mut t.duplicate, d.duplicate),
        (&mut t.rejected, d.rejected),
        (&mut t.unreadable, d.unreadable),
        (&mut t.abandoned, d.abandoned),
        (&mut t.from_pac, d.from_pac),
        (&mut t.older_than_start, d.older_than_start),
    ];
    for (v, n) in pairs {
        *v = v.saturating_add_signed(n);
    }
    if let Some(after) = d.after_booking_id {
        t.after_booking_id = after;
    }
}

static TALLIES: PerDatabase<Tally> = PerDatabase::new();

/// Run `f`, a write of the ledger that commits, holding the tally of its
/// database; apply the delta it returns once it succeeded. `f` must commit
/// before it returns `Ok` (a write that fails changes nothing).
pub fn write<R, E>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<(R, Delta), E>,
) -> Result<R, E> {
    TALLIES.write(conn, f, apply)
}

/// The counts as they stand (`waiting` and `oldest_pending_read_at` not
/// set); read from SQLite the first time in this process.
pub fn current(conn: &Connection) -> Result<Tally, AstrowLedgerError> {
    TALLIES.with(conn, counts, |t| t.clone())
}

/// Forget the tally of `conn`'s database, so that the next [`current`]
/// reads it from SQLite again: after a write that does not go through
/// [`write`] (it must have committed), and in tests that compare the two.
pub fn forget(conn: &Connection) {
    TALLIES.forget(conn);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_moves_the_counts_and_the_cursor() {
        let mut t = Tally {
            pending: 3,
            after_booking_id: 7,
            ..Tally::default()
        };
        let mut d = Delta::default();
        d.add("pending", -2);
        d.add("stored", 1);
        d.add("rejected", 1);
        d.add("nonsense", 5);
        d.from_pac = 4;
        d.abandoned = -1;
        apply(&mut t, &d);
        assert_eq!(
            (t.pending, t.stored, t.rejected, t.from_pac, t.abandoned),
            (1, 1, 1, 4, 0)
        );
        assert_eq!(t.after_booking_id, 7, "the cursor stays unless moved");
        d = Delta {
            after_booking_id: Some(9),
            ..Delta::default()
        };
        apply(&mut t, &d);
        assert_eq!(t.after_booking_id, 9);
    }
}
