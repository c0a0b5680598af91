//! Bookings that cannot go yet (their reader is not in Astrow's mirror, their
//! employee is not linked): the sender skips them and picks the oldest ready
//! ones; each waiting booking carries its reason in the ledger, so that the
//! console and `status` show what waits, why and since when.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params, params_from_iter};

use super::ledger::{Entry, LedgerError, query_entries};
use crate::model::{PacId, Seq};

fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> LedgerError {
    move |source| LedgerError::Sql { context, source }
}

/// Most reader serials or employee ids one query skips; beyond that the
/// sender takes what the query gives and skips the rest next round.
pub const MAX_SKIPPED: usize = 500;

/// The oldest pending bookings, in ledger order, at most `limit`, leaving
/// out those on the reader serials `serials` and of the PAC employees
/// `employees`.
pub fn pending_except(
    conn: &Connection,
    limit: usize,
    serials: &[String],
    employees: &[PacId],
) -> Result<Vec<Entry>, LedgerError> {
    let serials = &serials[..serials.len().min(MAX_SKIPPED)];
    let employees = &employees[..employees.len().min(MAX_SKIPPED)];
    let mut tail = String::from("WHERE state = 'pending'");
    let marks = |n: usize| vec!["?"; n].join(", ");
    if !serials.is_empty() {
        tail.push_str(&format!(
            " AND (reader_serial IS NULL OR reader_serial NOT IN ({}))",
            marks(serials.len())
        ));
    }
    if !employees.is_empty() {
        tail.push_str(&format!(
            " AND (employee_id IS NULL OR employee_id NOT IN ({}))",
            marks(employees.len())
        ));
    }
    tail.push_str(" ORDER BY seq LIMIT ?");
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    values.extend(serials.iter().map(|s| s.clone().into()));
    values.extend(employees.iter().map(|e| (e.0 as i64).into()));
    values.push((limit as i64).into());
    query_entries(conn, &tail, params_from_iter(values))
}

/// What a booking waits for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WaitKey {
    /// Its reader serial is not in Astrow's reader mirror.
    Reader(String),
    /// Its PAC employee is not linked to an Astrow employee yet.
    Employee(PacId),
}

impl WaitKey {
    /// The reason as shown in the console and by `status`.
    pub fn reason(&self) -> String {
        match self {
            WaitKey::Reader(serial) => {
                format!("reader {serial} is not in Astrow's reader mirror yet")
            }
            WaitKey::Employee(id) => {
                format!("PAC employee {id} is not linked to an Astrow employee yet")
            }
        }
    }
}

/// Record why the pending bookings under each key wait (rows that already
/// say so are left alone). One transaction.
pub fn mark_waiting(conn: &mut Connection, keys: &[WaitKey]) -> Result<usize, LedgerError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("begin marking waits"))?;
    let mut n = 0;
    for key in keys {
        let reason = key.reason();
        n += match key {
            WaitKey::Reader(serial) => tx.execute(
                "UPDATE ledger SET wait_reason = ?1
                 WHERE state = 'pending' AND reader_serial = ?2 AND wait_reason IS NOT ?1",
                params![reason, serial],
            ),
            WaitKey::Employee(id) => tx.execute(
                "UPDATE ledger SET wait_reason = ?1
                 WHERE state = 'pending' AND employee_id = ?2 AND wait_reason IS NOT ?1",
                params![reason, id.0],
            ),
        }
        .map_err(sql("mark waiting bookings"))?;
    }
    tx.commit().map_err(sql("commit waits"))?;
    Ok(n)
}

/// Pending bookings that wait for one reason: how many, since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitGroup {
    pub reason: String,
    pub count: u64,
    /// When the oldest of them was read off PAC.
    pub since: DateTime<Utc>,
}

/// The reasons pending bookings wait for, oldest first, at most `limit`.
pub fn waiting(conn: &Connection, limit: usize) -> Result<Vec<WaitGroup>, LedgerError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT wait_reason, COUNT(*), MIN(read_at) FROM ledger
             WHERE state = 'pending' AND wait_reason IS NOT NULL
             GROUP BY wait_reason ORDER BY MIN(read_at) LIMIT ?1",
        )
        .map_err(sql("list waits"))?;
    let rows = stmt
        .query_map(params![limit as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(sql("list waits"))?;
    let mut out = Vec::new();
    for row in rows {
        let (reason, count, since) = row.map_err(sql("read a wait"))?;
        out.push(WaitGroup {
            reason,
            count,
            since: parse_utc(&since)?,
        });
    }
    Ok(out)
}

/// When the oldest pending booking was read off PAC (`None`: nothing pending).
pub fn oldest_pending(conn: &Connection) -> Result<Option<DateTime<Utc>>, LedgerError> {
    let v: Option<String> = conn
        .query_row(
            "SELECT MIN(read_at) FROM ledger WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )
        .map_err(sql("find the oldest pending booking"))?;
    v.as_deref().map(parse_utc).transpose()
}

fn parse_utc(s: &str) -> Result<DateTime<Utc>, LedgerError> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| LedgerError::Corrupt {
            seq: 0,
            detail: format!("read_at {s:?}: {e}"),
        })
}

/// Bookings Astrow rejected because their reader was missing from its mirror
/// go back to pending once the mirror holds the reader (a rejected booking is
/// not stored by Astrow, so sending it again is judged afresh). Only the
/// current epoch's: an older epoch's events were read from another PAC
/// sequence (a restore or a re-bind). Returns how many.
pub fn requeue_mirror_rejections(
    conn: &mut Connection,
    mirrored: &HashSet<String>,
) -> Result<usize, LedgerError> {
    super::tally::write(conn, |c| {
        let n = requeue_in(c, mirrored)?;
        let mut delta = super::tally::Delta::default();
        delta.add("rejected", -(n as i64));
        delta.add("pending", n as i64);
        Ok((n, delta))
    })
}

fn requeue_in(conn: &mut Connection, mirrored: &HashSet<String>) -> Result<usize, LedgerError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("begin requeueing"))?;
    let epoch = super::seq_reset::epoch(&tx)?;
    let candidates: Vec<(u64, String)> = {
        let mut stmt = tx
            .prepare_cached(
                "SELECT seq, reader_serial FROM ledger
                 WHERE state = 'rejected' AND kind = 'booking'
                   AND reader_serial IS NOT NULL AND reason LIKE '%mirror%'
                   AND (seq >> ?1) = ?2",
            )
            .map_err(sql("find mirror rejections"))?;
        let rows = stmt
            .query_map(params![super::seq_reset::EPOCH_SHIFT, epoch], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(sql("find mirror rejections"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql("read mirror rejections"))?
    };
    let mut n = 0;
    for (seq, serial) in candidates {
        if mirrored.contains(&serial) {
            n += tx
                .execute(
                    "UPDATE ledger SET state = 'pending', reason = NULL, answered_at = NULL,
                     wait_reason = NULL WHERE seq = ?1 AND state = 'rejected'",
                    params![seq],
                )
                .map_err(sql("requeue a booking"))?;
        }
    }
    tx.commit().map_err(sql("commit requeueing"))?;
    Ok(n)
}

/// PAC sent events that could not be read: each is recorded as a gap of one
/// event with the reason (it is lost to the integration, and shown as such),
/// so that one bad event never stops reading. Runs inside the transaction
/// that stores the page and moves the cursor past them
/// ([`super::ledger::append_page_after`]); `after` is the cursor before
/// that page. Returns the seqs recorded: every one above `after`. Within an
/// epoch the cursor only moves forward, so PAC never sends one of them
/// again; after a reset (a new epoch) the same seq is another event, and is
/// recorded again.
pub(super) fn record_unreadable(
    tx: &Connection,
    after: Seq,
    events: &[(Seq, String)],
    at: DateTime<Utc>,
) -> Result<Vec<Seq>, LedgerError> {
    let mut passed = Vec::new();
    for (seq, reason) in events.iter().filter(|(seq, _)| *seq > after) {
        if passed.contains(seq) {
            continue;
        }
        tx.execute(
            "INSERT INTO event_gaps (from_seq, to_seq, detected_at, reason) VALUES (?1, ?1, ?2, ?3)",
            params![seq.0, at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), format!("unreadable: {reason}")],
        )
        .map_err(sql("record an unreadable event"))?;
        passed.push(*seq);
    }
    Ok(passed)
}

/// A record of a listing that could not be read, as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub listing: String,
    pub record_id: Option<u64>,
    pub reason: String,
    pub seen_at: DateTime<Utc>,
}

/// What the last read of `listing` set aside as unreadable (replaces what
/// an earlier read set aside). One transaction.
pub fn replace_unreadable(
    conn: &mut Connection,
    listing: &str,
    records: &[(Option<u64>, String)],
    at: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("begin recording unreadable records"))?;
    tx.execute("DELETE FROM set_aside WHERE listing = ?1", params![listing])
        .map_err(sql("forget unreadable records"))?;
    for (id, reason) in records {
        tx.execute(
            "INSERT INTO set_aside (listing, record_id, reason, seen_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                listing,
                id.map(|i| i as i64),
                reason,
                at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ],
        )
        .map_err(sql("record an unreadable record"))?;
    }
    tx.commit().map_err(sql("commit unreadable records"))
}

/// Every record the last reads set aside as unreadable.
pub fn unreadable(conn: &Connection) -> Result<Vec<Unreadable>, LedgerError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT listing, record_id, reason, seen_at FROM set_aside ORDER BY listing, record_id",
        )
        .map_err(sql("list unreadable records"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(sql("list unreadable records"))?;
    let mut out = Vec::new();
    for row in rows {
        let (listing, id, reason, at) = row.map_err(sql("read an unreadable record"))?;
        out.push(Unreadable {
            listing,
            record_id: id.and_then(|i| u64::try_from(i).ok()),
            reason,
            seen_at: parse_utc(&at)?,
        });
    }
    Ok(out)
}
