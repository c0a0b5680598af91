//! Sending again the bookings Astrow lost: rows Astrow once answered as
//! stored (processed, queued, or a duplicate of one it held) that a
//! reconciliation finds it no longer holds (Astrow restored from a
//! backup, or a booking deleted there) go back to pending, to be sent
//! again under the same `source_id`. Astrow keeps each source id once, so
//! a row it does hold after all is answered `duplicate`, never doubled.

use rusqlite::{Connection, OptionalExtension, params};

use super::ledger::LedgerError;
use crate::model::Seq;

/// What [`resend_lost`] did with each ledger key it was given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resent {
    /// Back to pending: the sender sends them again.
    pub requeued: Vec<Seq>,
    /// Left as they are, with why: not answered as stored (still waiting,
    /// rejected with a reason), or not in the ledger at all (never read,
    /// or trimmed by retention).
    pub passed_over: Vec<(Seq, String)>,
}

/// Put the rows under `keys` that Astrow answered as stored back to
/// pending, in one transaction; the others are passed over with why.
pub fn resend_lost(conn: &mut Connection, keys: &[Seq]) -> Result<Resent, LedgerError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("begin sending lost bookings again"))?;
    let mut out = Resent::default();
    {
        let mut requeue = tx
            .prepare_cached(
                "UPDATE ledger SET state = 'pending', booking_id = NULL, reason = NULL,
                        answered_at = NULL, attempts = 0
                 WHERE seq = ?1 AND kind = 'booking'
                   AND state IN ('processed', 'queued', 'duplicate')",
            )
            .map_err(sql("prepare sending lost bookings again"))?;
        let mut state_of = tx
            .prepare_cached("SELECT state, kind FROM ledger WHERE seq = ?1")
            .map_err(sql("prepare sending lost bookings again"))?;
        for key in keys {
            if requeue
                .execute(params![key.0])
                .map_err(sql("send a lost booking again"))?
                == 1
            {
                out.requeued.push(*key);
                continue;
            }
            let row: Option<(String, String)> = state_of
                .query_row(params![key.0], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(sql("read a booking's state"))?;
            let why = match row {
                None => "not in the ledger (never read, or trimmed by retention)".to_string(),
                Some((_, kind)) if kind != "booking" => {
                    format!("not a booking in the ledger ({kind})")
                }
                Some((state, _)) => format!("{state} in the ledger, not answered as stored"),
            };
            out.passed_over.push((*key, why));
        }
    }
    tx.commit()
        .map_err(sql("commit sending lost bookings again"))?;
    if !out.requeued.is_empty() {
        // A rare write: the counts kept in memory are read again.
        super::tally::forget(conn);
    }
    Ok(out)
}

fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> LedgerError {
    move |source| LedgerError::Sql { context, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(conn: &Connection, seq: u64, kind: &str, state: &str, booking: Option<u64>) {
        conn.execute(
            "INSERT INTO ledger (seq, time, event_type, kind, state, booking_id, read_at, answered_at, attempts)
             VALUES (?1, '2026-11-28T08:00:00+01:00', 'access_granted', ?2, ?3, ?4,
                     '2026-11-28T07:00:01.000Z', '2026-11-28T07:00:02.000Z', 1)",
            params![seq as i64, kind, state, booking.map(|b| b as i64)],
        )
        .unwrap();
    }

    #[test]
    fn only_rows_astrow_answered_as_stored_go_back_to_pending() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(dir.path()).unwrap();
        let conn = store.connection();
        row(conn, 1, "booking", "processed", Some(10));
        row(conn, 2, "booking", "queued", Some(11));
        row(conn, 3, "booking", "duplicate", Some(10));
        row(conn, 4, "booking", "rejected", None);
        row(conn, 5, "booking", "pending", None);
        row(conn, 6, "feed", "none", None);
        let keys: Vec<Seq> = (1..=7).map(Seq).collect();
        let done = resend_lost(conn, &keys).unwrap();
        assert_eq!(done.requeued, vec![Seq(1), Seq(2), Seq(3)]);
        let passed: Vec<u64> = done.passed_over.iter().map(|(s, _)| s.0).collect();
        assert_eq!(passed, vec![4, 5, 6, 7]);
        assert!(done.passed_over[0].1.contains("rejected"));
        assert!(done.passed_over[2].1.contains("not a booking"));
        assert!(done.passed_over[3].1.contains("not in the ledger"));
        let pending: Vec<(i64, Option<i64>, i64)> = conn
            .prepare(
                "SELECT seq, booking_id, attempts FROM ledger WHERE state = 'pending' ORDER BY seq",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            pending,
            vec![(1, None, 0), (2, None, 0), (3, None, 0), (5, None, 1)]
        );
        // The counts kept in memory follow.
        let (tally, _) = crate::store::tally::current(conn, chrono::Utc::now()).unwrap();
        assert_eq!(tally.counts.pending, 4, "{:?}", tally.counts);
    }
}
