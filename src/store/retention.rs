//! Retention of the booking ledger: rows whose work is done (delivered,
//! queued in Astrow, or feed only) are deleted once they are older than the
//! retention setting *and* a clean reconciliation has covered them, a small
//! batch at a time, so that the store stays bounded under a steady load.
//! Pending and rejected bookings are never trimmed.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::ledger::LedgerError;

fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> LedgerError {
    move |source| LedgerError::Sql { context, source }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Schema (part of migration 3).
pub const MIGRATION: &str = "
CREATE TABLE reconcile_marks (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    covered_until TEXT NOT NULL
);
";

/// Everything read before `until` was covered by a clean reconciliation.
pub fn mark_covered(conn: &Connection, until: DateTime<Utc>) -> Result<(), LedgerError> {
    conn.execute(
        "INSERT INTO reconcile_marks (id, covered_until) VALUES (1, ?1)
         ON CONFLICT(id) DO UPDATE SET covered_until = MAX(covered_until, excluded.covered_until)",
        params![ts(until)],
    )
    .map_err(sql("mark the reconciled time"))?;
    Ok(())
}

/// Until when a clean reconciliation covered the ledger (`None`: never).
pub fn covered_until(conn: &Connection) -> Result<Option<DateTime<Utc>>, LedgerError> {
    let v: Option<String> = conn
        .query_row(
            "SELECT covered_until FROM reconcile_marks WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql("read the reconciled time"))?;
    v.map(|s| {
        DateTime::parse_from_rfc3339(&s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| LedgerError::Corrupt {
                seq: 0,
                detail: format!("reconciled time {s:?}: {e}"),
            })
    })
    .transpose()
}

/// Delete at most `batch` done rows read before `min(older_than, covered
/// until)`, oldest first. Returns how many went (0: nothing left to trim).
pub fn trim_batch(
    conn: &mut Connection,
    older_than: DateTime<Utc>,
    batch: usize,
) -> Result<usize, LedgerError> {
    let Some(covered) = covered_until(conn)? else {
        return Ok(0);
    };
    let cutoff = older_than.min(covered);
    super::tally::write(conn, |c| {
        let mut delta = super::tally::Delta::default();
        let mut stmt = c
            .prepare_cached(
                "DELETE FROM ledger WHERE seq IN (
                     SELECT seq FROM ledger
                     WHERE read_at < ?1 AND state IN ('processed', 'duplicate', 'queued', 'none')
                     ORDER BY seq LIMIT ?2)
                 RETURNING state",
            )
            .map_err(sql("trim the ledger"))?;
        let mut rows = stmt
            .query(params![ts(cutoff), batch as i64])
            .map_err(sql("trim the ledger"))?;
        let mut n = 0;
        while let Some(r) = rows.next().map_err(sql("trim the ledger"))? {
            let state: String = r.get(0).map_err(sql("trim the ledger"))?;
            delta.add(&state, -1);
            n += 1;
        }
        Ok((n, delta))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BookingStatus, Direction, Event, EventType, PacId, Seq};
    use crate::store::ledger::{self, EntryKind, NewEntry};
    use chrono::{FixedOffset, TimeZone};

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(ledger::MIGRATION).unwrap();
        c.execute_batch(crate::store::seq_reset::MIGRATION).unwrap();
        c.execute_batch(MIGRATION).unwrap();
        c
    }

    fn page(from: u64, n: u64) -> Vec<NewEntry> {
        (from..from + n)
            .map(|seq| NewEntry {
                event: Event {
                    seq: Seq(seq),
                    time: FixedOffset::east_opt(0)
                        .unwrap()
                        .with_ymd_and_hms(2026, 11, 28, 8, 0, 0)
                        .unwrap(),
                    event_type: EventType::AccessGranted,
                    reader_id: Some(1),
                    badge_number: Some("00A1".into()),
                    employee_id: Some(PacId(7)),
                },
                reader_serial: Some("R-1".into()),
                kind: if seq % 5 == 0 {
                    EntryKind::Feed
                } else {
                    EntryKind::Booking {
                        direction: Some(Direction::In),
                    }
                },
            })
            .collect()
    }

    fn answer_all(c: &mut Connection, at: DateTime<Utc>) {
        let seqs: Vec<(Seq, BookingStatus)> = ledger::pending(c, 100_000)
            .unwrap()
            .into_iter()
            .map(|e| {
                (
                    e.seq,
                    BookingStatus::Processed {
                        booking_id: e.seq.0,
                    },
                )
            })
            .collect();
        ledger::record_answers(c, &seqs, at).unwrap();
    }

    fn rows(c: &Connection) -> u64 {
        c.query_row("SELECT COUNT(*) FROM ledger", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn nothing_is_trimmed_before_a_reconciliation_covered_it_nor_what_still_waits() {
        let mut c = db();
        let long_ago = Utc::now() - chrono::Duration::days(200);
        ledger::append_page(&mut c, &page(1, 100), long_ago).unwrap();
        let now = Utc::now();
        assert_eq!(
            trim_batch(&mut c, now, 1000).unwrap(),
            0,
            "not reconciled yet"
        );
        mark_covered(&c, now).unwrap();
        // Only feed rows are done; the bookings are pending.
        assert_eq!(trim_batch(&mut c, now, 1000).unwrap(), 20);
        answer_all(&mut c, now);
        // Small batches.
        assert_eq!(trim_batch(&mut c, now, 30).unwrap(), 30);
        assert_eq!(trim_batch(&mut c, now, 1000).unwrap(), 50);
        assert_eq!(rows(&c), 0);
        // The cursor is untouched: reading goes on where it was.
        assert_eq!(ledger::cursor(&c).unwrap(), Seq(100));
    }

    /// 50 swipes a second for 3 simulated hours, 20 minutes retention,
    /// reconciled and trimmed every 5 minutes: the ledger never holds more
    /// than the retention plus one trimming interval of events.
    #[test]
    fn the_store_stays_bounded_at_fifty_swipes_a_second() {
        let mut c = db();
        let start = Utc::now() - chrono::Duration::hours(3);
        let retention = chrono::Duration::minutes(20);
        let per_tick: u64 = 50 * 60; // one simulated minute
        let mut seq = 1;
        let mut peak = 0;
        for minute in 0..180 {
            let now = start + chrono::Duration::minutes(minute);
            ledger::append_page(&mut c, &page(seq, per_tick), now).unwrap();
            seq += per_tick;
            answer_all(&mut c, now);
            if minute % 5 == 4 {
                mark_covered(&c, now).unwrap();
                while trim_batch(&mut c, now - retention, 5000).unwrap() > 0 {}
            }
            peak = peak.max(rows(&c));
        }
        let bound = per_tick * (20 + 5 + 1);
        assert!(peak <= bound, "peak {peak} rows, bound {bound}");
        assert!(peak >= per_tick * 20, "retention keeps 20 minutes: {peak}");
    }
}
