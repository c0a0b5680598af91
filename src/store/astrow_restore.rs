//! Astrow restored from a backup: its `booking_id`s start again below our
//! cursor, so reading `after` the cursor would find nothing for ever (or,
//! once Astrow's new ids pass it, skip the bookings in between). The reader
//! records that here (and stops reading) until a person moves the cursor
//! with `astrow-pac bookings astrow-cursor --to N`, which starts a new
//! *epoch*: the ledger keeps every row of the old numbering, and the new
//! numbering's bookings get ledger keys and `source_id`s of their own
//! (`astrow:e<epoch>:<booking_id>`), so nothing collides with what PAC
//! already stored (PAC would answer `duplicate` and keep the old one).
//!
//! Also here: PAC's side of a restore (migration 11 adds the count of
//! Astrow->PAC rows sent again to `sequence_resets`).

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::astrow_ledger::AstrowLedgerError;

/// Schema (a migration of the store).
pub const MIGRATION: &str = "
ALTER TABLE sequence_resets ADD COLUMN a2p_requeued INTEGER NOT NULL DEFAULT 0;
ALTER TABLE astrow_cursor ADD COLUMN mark TEXT;
ALTER TABLE astrow_cursor ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
CREATE TABLE astrow_restores (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    detected_at   TEXT NOT NULL,
    cursor        INTEGER NOT NULL,
    why           TEXT NOT NULL,
    resume_after  INTEGER,
    resolved_at   TEXT,
    resolved_to   INTEGER,
    epoch         INTEGER
);
";

/// Ledger keys are `epoch << EPOCH_SHIFT | booking_id`: epoch 0 keys are
/// Astrow's booking ids.
pub const EPOCH_SHIFT: u32 = crate::model::A2P_EPOCH_SHIFT;
const ID_MASK: u64 = (1 << EPOCH_SHIFT) - 1;

/// The ledger key of Astrow booking `booking_id` in `epoch`.
pub fn ledger_key(epoch: u32, booking_id: u64) -> u64 {
    (u64::from(epoch) << EPOCH_SHIFT) | (booking_id & ID_MASK)
}

/// `(epoch, Astrow booking id)` of a ledger key.
pub fn split_key(key: u64) -> (u32, u64) {
    ((key >> EPOCH_SHIFT) as u32, key & ID_MASK)
}

fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> AstrowLedgerError {
    move |source| AstrowLedgerError::Sql { context, source }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What identifies an Astrow booking beyond its id (kept with the cursor,
/// so that the booking at the cursor can be told from another one under
/// the same id after a restore of Astrow): source id and time. The
/// employee is left out: a booking queued without one gets it later.
pub fn mark(b: &crate::model::AstrowOwnBooking) -> String {
    mark_of(b.source_id.as_deref(), &b.time.to_rfc3339())
}

fn mark_of(source_id: Option<&str>, time: &str) -> String {
    format!("{}|{time}", source_id.unwrap_or("-"))
}

/// Whether the mark `was` (as kept) names the booking whose mark is `now`.
/// Marks kept before the employee was left out end in `|<pers_no or ->`.
pub fn same_mark(was: &str, now: &str) -> bool {
    was == now
        || was
            .strip_prefix(now)
            .and_then(|r| r.strip_prefix('|'))
            .is_some_and(|p| p == "-" || (!p.is_empty() && p.bytes().all(|c| c.is_ascii_digit())))
}

/// The mark of the ledger's row for Astrow booking `booking_id` in `epoch`,
/// if it holds one (unreadable rows have none).
pub fn ledger_mark(
    conn: &Connection,
    epoch: u32,
    booking_id: u64,
) -> Result<Option<String>, AstrowLedgerError> {
    conn.query_row(
        "SELECT source_id, time FROM astrow_ledger WHERE booking_id = ?1 AND state != 'unreadable'",
        [ledger_key(epoch, booking_id) as i64],
        |r| {
            Ok(mark_of(
                r.get::<_, Option<String>>(0)?.as_deref(),
                &r.get::<_, String>(1)?,
            ))
        },
    )
    .optional()
    .map_err(sql("read a ledger row's mark"))
}

/// The older epoch whose row for `booking_id` is the booking marked `now`
/// (read already, kept by Astrow's backup), and the PAC seq it was stored
/// under (`None` while it waits), if one is.
pub fn sent_in_older_epoch(
    conn: &Connection,
    epoch: u32,
    booking_id: u64,
    now: &str,
) -> Result<Option<(u32, Option<u64>)>, AstrowLedgerError> {
    for e in (0..epoch).rev() {
        let row: Option<(Option<String>, String, Option<i64>)> = conn
            .query_row(
                "SELECT source_id, time, pac_seq FROM astrow_ledger
                 WHERE booking_id = ?1 AND state != 'unreadable'",
                [ledger_key(e, booking_id) as i64],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(sql("read an older epoch's row"))?;
        if let Some((source, time, seq)) = row {
            let was = mark_of(source.as_deref(), &time);
            return Ok(same_mark(&was, now).then_some((e, seq.map(|s| s as u64))));
        }
    }
    Ok(None)
}

/// The ledger's newest readable row of `epoch` below `cursor`:
/// `(Astrow booking id, mark)`.
pub fn newest_before(
    conn: &Connection,
    epoch: u32,
    cursor: u64,
) -> Result<Option<(u64, String)>, AstrowLedgerError> {
    conn.query_row(
        "SELECT booking_id, source_id, time FROM astrow_ledger
         WHERE booking_id >= ?1 AND booking_id < ?2 AND state != 'unreadable'
         ORDER BY booking_id DESC LIMIT 1",
        params![
            ledger_key(epoch, 0) as i64,
            ledger_key(epoch, cursor) as i64
        ],
        |r| {
            Ok((
                split_key(r.get::<_, i64>(0)? as u64).1,
                mark_of(
                    r.get::<_, Option<String>>(1)?.as_deref(),
                    &r.get::<_, String>(2)?,
                ),
            ))
        },
    )
    .optional()
    .map_err(sql("read the ledger row before the cursor"))
}

/// The ledger's rows of `epoch` as `(Astrow booking id, mark)`, in id order
/// (to find where Astrow and the ledger part after a restore).
pub fn marks_of_epoch(
    conn: &Connection,
    epoch: u32,
) -> Result<Vec<(u64, String)>, AstrowLedgerError> {
    let mut stmt = conn
        .prepare(
            "SELECT booking_id, source_id, time FROM astrow_ledger
             WHERE booking_id >= ?1 AND booking_id < ?2 AND state != 'unreadable'
             ORDER BY booking_id",
        )
        .map_err(sql("prepare the ledger's marks"))?;
    let rows = stmt
        .query_map(
            params![ledger_key(epoch, 0) as i64, ledger_key(epoch + 1, 0) as i64],
            |r| {
                let key = r.get::<_, i64>(0)? as u64;
                let source: Option<String> = r.get(1)?;
                let time: String = r.get(2)?;
                Ok((split_key(key).1, mark_of(source.as_deref(), &time)))
            },
        )
        .map_err(sql("read the ledger's marks"))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(sql("read a ledger mark"))
}

/// The cursor's mark: what the booking at the cursor was when read.
pub fn cursor_mark(conn: &Connection) -> Result<Option<String>, AstrowLedgerError> {
    conn.query_row("SELECT mark FROM astrow_cursor WHERE id = 1", [], |r| {
        r.get(0)
    })
    .map_err(sql("read the cursor's mark"))
}

/// `forget employee`: clear the cursor's mark when the booking at the
/// cursor is the employee's (`pers_no`), or the mark names them (kept so
/// before the employee was left out). The reader then checks the cursor
/// by presence only (or by the ledger row, while it is kept).
pub fn forget_cursor_mark(conn: &Connection, pers_no: u64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE astrow_cursor SET mark = NULL WHERE id = 1 AND mark IS NOT NULL AND (
            mark LIKE '%|' || ?1
            OR EXISTS (SELECT 1 FROM astrow_ledger l
                       WHERE l.booking_id = ((astrow_cursor.epoch << ?2) | astrow_cursor.after_booking_id)
                         AND l.pers_no = ?1))",
        params![pers_no as i64, EPOCH_SHIFT],
    )
}

/// The current epoch (0 until the first restore is resolved).
pub fn epoch(conn: &Connection) -> Result<u32, AstrowLedgerError> {
    conn.query_row("SELECT epoch FROM astrow_cursor WHERE id = 1", [], |r| {
        r.get(0)
    })
    .map_err(sql("read the Astrow epoch"))
}

/// A detected Astrow restore no one has resolved yet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpenRestore {
    pub detected_at: DateTime<Utc>,
    /// Our cursor (the newest Astrow booking id read) then.
    pub cursor: u64,
    /// What Astrow's feed showed.
    pub why: String,
    /// The newest booking id on which Astrow and the ledger still agree
    /// (what Astrow kept from before its backup): the suggested cursor.
    /// `None` when it could not be found (a person chooses).
    #[serde(default)]
    pub resume_after: Option<u64>,
}

impl OpenRestore {
    /// The one sentence shown everywhere (console, log, heartbeat, status).
    pub fn message(&self) -> String {
        format!(
            "Astrow's bookings went back (restored from a backup?): {}; we had read up to booking {}. \
             Reading Astrow's bookings stopped: {}",
            self.why,
            self.cursor,
            match self.resume_after {
                Some(n) => format!(
                    "Astrow's bookings up to {n} are the ones already read: continue with `astrow-pac bookings astrow-cursor --to {n}`"
                ),
                None => "continue with `astrow-pac bookings astrow-cursor --to N` \
                         (N: the newest booking id Astrow kept from before its backup; newer ones are read and sent)"
                    .to_string(),
            }
        )
    }
}

pub fn open_restore(conn: &Connection) -> Result<Option<OpenRestore>, AstrowLedgerError> {
    let row: Option<(String, u64, String, Option<u64>)> = conn
        .query_row(
            "SELECT detected_at, cursor, why, resume_after FROM astrow_restores
             WHERE resolved_at IS NULL ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(sql("read an Astrow restore"))?;
    row.map(|(at, cursor, why, resume_after)| {
        let detected_at = DateTime::parse_from_rfc3339(&at)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| AstrowLedgerError::Corrupt {
                booking_id: cursor,
                detail: format!("Astrow restore time {at:?}: {e}"),
            })?;
        Ok(OpenRestore {
            detected_at,
            cursor,
            why,
            resume_after,
        })
    })
    .transpose()
}

/// Record that Astrow's feed went back below `cursor`, unless a restore is
/// already open. Whether this is news.
pub fn record_restore(
    conn: &Connection,
    cursor: u64,
    why: &str,
    resume_after: Option<u64>,
    at: DateTime<Utc>,
) -> Result<bool, AstrowLedgerError> {
    if open_restore(conn)?.is_some() {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO astrow_restores (detected_at, cursor, why, resume_after)
         VALUES (?1, ?2, ?3, ?4)",
        params![ts(at), cursor as i64, why, resume_after.map(|n| n as i64)],
    )
    .map_err(sql("record an Astrow restore"))?;
    Ok(true)
}

/// [`record_restore`], and in the same transaction the PAC->Astrow rows
/// Astrow lost in its restore (answered with an Astrow booking id above
/// `resume_after`) go back to pending, to be sent again under the same
/// `pac:<org>:<seq>` (Astrow's memory of source ids was restored too); how
/// many is said in the restore's reason (shown, and audited with the
/// cursor's move). `None` when a restore was already open (nothing done).
pub fn record_restore_requeuing(
    conn: &mut Connection,
    cursor: u64,
    why: &str,
    resume_after: Option<u64>,
    at: DateTime<Utc>,
) -> Result<Option<u64>, AstrowLedgerError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("begin recording an Astrow restore"))?;
    let requeued = match resume_after {
        Some(n) => requeue_lost_in_astrow(&tx, n)?,
        None => 0,
    };
    let why = match requeued {
        0 => why.to_string(),
        n => format!(
            "{why}; {n} PAC->Astrow bookings Astrow lost with it (booking ids after {}) are sent again",
            resume_after.unwrap_or_default()
        ),
    };
    if !record_restore(&tx, cursor, &why, resume_after, at)? {
        return Ok(None);
    }
    tx.commit().map_err(sql("commit an Astrow restore"))?;
    // A rare write: the PAC->Astrow counts kept in memory are read again.
    super::tally::forget(conn);
    Ok(Some(requeued))
}

/// The PAC->Astrow ledger's rows Astrow answered with a booking id above
/// `kept_through` (lost in its restore) back to pending; how many.
fn requeue_lost_in_astrow(conn: &Connection, kept_through: u64) -> Result<u64, AstrowLedgerError> {
    conn.execute(
        "UPDATE ledger SET state = 'pending', booking_id = NULL, reason = NULL, answered_at = NULL
         WHERE state IN ('processed', 'queued', 'duplicate') AND booking_id > ?1",
        [kept_through as i64],
    )
    .map(|n| n as u64)
    .map_err(sql("send again what Astrow lost"))
}

/// Where each epoch after the first starts: `(epoch, after booking id)`.
pub fn epoch_starts(conn: &Connection) -> Result<Vec<(u32, u64)>, AstrowLedgerError> {
    let mut stmt = conn
        .prepare(
            "SELECT epoch, resolved_to FROM astrow_restores
             WHERE epoch IS NOT NULL AND resolved_to IS NOT NULL ORDER BY id",
        )
        .map_err(sql("prepare the epoch starts"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, u32>(0)?, r.get::<_, i64>(1)? as u64))
        })
        .map_err(sql("read the epoch starts"))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(sql("read an epoch start"))
}

/// The rows read again in a later epoch (the same booking as an older
/// epoch's row, not sent again): `(its key, the older row's key)`, so the
/// reconciliation expects the source id PAC holds it under.
pub fn read_again(conn: &Connection) -> Result<Vec<(u64, u64)>, AstrowLedgerError> {
    let mut stmt = conn
        .prepare(
            "SELECT booking_id FROM astrow_ledger
             WHERE booking_id > ?1 AND state = 'duplicate' AND substr(reason, 1, ?2) = ?3",
        )
        .map_err(sql("prepare the rows read again"))?;
    let prefix = super::astrow_ledger::READ_AGAIN;
    let keys = stmt
        .query_map(params![ID_MASK as i64, prefix.len() as i64, prefix], |r| {
            r.get::<_, i64>(0).map(|k| k as u64)
        })
        .map_err(sql("read the rows read again"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql("read a row read again"))?;
    let mut out = Vec::new();
    for key in keys {
        let (epoch, id) = split_key(key);
        for e in (0..epoch).rev() {
            if ledger_mark(conn, e, id)?.is_some() {
                out.push((key, ledger_key(e, id)));
                break;
            }
        }
    }
    Ok(out)
}

/// The ledger keys of the rows in one of `states` (`'pending'`, ...).
pub fn keys_in(conn: &Connection, states: &[&str]) -> Result<Vec<u64>, AstrowLedgerError> {
    let marks = vec!["?"; states.len()].join(", ");
    let mut stmt = conn
        .prepare(&format!(
            "SELECT booking_id FROM astrow_ledger WHERE state IN ({marks})"
        ))
        .map_err(sql("prepare the rows by state"))?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(states), |r| {
            r.get::<_, i64>(0).map(|k| k as u64)
        })
        .map_err(sql("read the rows by state"))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(sql("read a row by state"))
}

/// What `astrow-cursor` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AstrowCursorMove {
    pub old_cursor: u64,
    pub new_cursor: u64,
    pub new_epoch: u32,
}

/// The oldest Astrow booking id the ledger still keeps a row for (any
/// epoch): below it a booking read again cannot be told from a new one.
pub fn oldest_kept(conn: &Connection) -> Result<Option<u64>, AstrowLedgerError> {
    conn.query_row(
        "SELECT min(booking_id & ?1) FROM astrow_ledger",
        [ID_MASK as i64],
        |r| r.get::<_, Option<i64>>(0),
    )
    .map(|v| v.map(|v| v as u64))
    .map_err(sql("read the oldest ledger row"))
}

/// Whether the cursor may move to `to`: a restore must be open unless a
/// person confirmed the move without one (`force`), and `to` must not be
/// below the oldest ledger row still kept (the bookings below it would be
/// sent again unchecked). The same rule for the CLI, the console and the
/// control socket.
fn check_move(conn: &Connection, to: u64, force: bool) -> Result<(), AstrowLedgerError> {
    if to > ID_MASK {
        return Err(AstrowLedgerError::Refused(format!(
            "a cursor above {ID_MASK} is not supported"
        )));
    }
    if !force && open_restore(conn)?.is_none() {
        return Err(AstrowLedgerError::Refused(
            "no restore of Astrow was detected: moving the cursor sends bookings again under \
             new source ids, or skips them; `astrow-pac bookings astrow-cursor --to N` asks \
             before it moves it anyway"
                .to_string(),
        ));
    }
    match oldest_kept(conn)? {
        Some(oldest) if to < oldest => Err(AstrowLedgerError::Refused(format!(
            "{to} is below booking {oldest}, the oldest the ledger still keeps: Astrow's \
             bookings in between could not be told from new ones and would be sent to PAC \
             again; choose {oldest} or above"
        ))),
        _ => Ok(()),
    }
}

/// Continue reading Astrow's bookings after `to` in a new epoch (one
/// transaction): the cursor may go back, every open restore is resolved,
/// and the ledger keeps the old epoch's rows under their keys. Refused
/// as [`check_move`] says.
pub fn move_cursor(
    conn: &mut Connection,
    to: u64,
    force: bool,
    at: DateTime<Utc>,
) -> Result<AstrowCursorMove, AstrowLedgerError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("begin an Astrow cursor move"))?;
    check_move(&tx, to, force)?;
    let (old_cursor, _) = super::astrow_ledger::cursor(&tx)?;
    let new_epoch = epoch(&tx)? + 1;
    tx.execute(
        "UPDATE astrow_cursor SET after_booking_id = ?1, epoch = ?2, mark = NULL WHERE id = 1",
        params![to as i64, new_epoch],
    )
    .map_err(sql("move the Astrow cursor"))?;
    tx.execute(
        "UPDATE astrow_restores SET resolved_at = ?1, resolved_to = ?2, epoch = ?3
         WHERE resolved_at IS NULL",
        params![ts(at), to as i64, new_epoch],
    )
    .map_err(sql("resolve the Astrow restore"))?;
    tx.commit().map_err(sql("commit an Astrow cursor move"))?;
    // A rare write: the counts kept in memory (the cursor) are read again.
    super::astrow_tally::forget(conn);
    Ok(AstrowCursorMove {
        old_cursor,
        new_cursor: to,
        new_epoch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restore_of_astrow_sends_again_what_it_lost_of_pac_to_astrow() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(dir.path()).unwrap();
        let conn = store.connection();
        for (seq, state, booking) in [
            (1, "processed", 10),
            (2, "processed", 50),
            (3, "queued", 51),
            (4, "rejected", 0),
        ] {
            conn.execute(
                "INSERT INTO ledger (seq, time, event_type, kind, state, booking_id, read_at, answered_at)
                 VALUES (?1, '2026-11-28T08:00:00+01:00', 'access_granted', 'booking', ?2, ?3, 'x', 'y')",
                params![seq, state, Some(booking).filter(|b| *b > 0)],
            )
            .unwrap();
        }
        let at = Utc::now();
        let n = record_restore_requeuing(conn, 60, "gone", Some(30), at).unwrap();
        assert_eq!(n, Some(2));
        let pending: Vec<i64> = conn
            .prepare("SELECT seq FROM ledger WHERE state = 'pending' AND booking_id IS NULL ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(pending, vec![2, 3]);
        let open = open_restore(conn).unwrap().unwrap();
        assert!(open.why.contains("2 PAC->Astrow bookings"), "{}", open.why);
        // Already open: nothing more happens.
        assert_eq!(
            record_restore_requeuing(conn, 60, "gone", Some(0), at).unwrap(),
            None
        );
        let left: i64 = conn
            .query_row(
                "SELECT count(*) FROM ledger WHERE state = 'processed'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 1);
    }

    #[test]
    fn keys_of_the_first_epoch_are_astrows_ids_and_later_ones_do_not_collide() {
        assert_eq!(ledger_key(0, 58812), 58812);
        let k = ledger_key(2, 7);
        assert_ne!(k, 7);
        assert_eq!(split_key(k), (2, 7));
        assert!(ledger_key(1, 1) > ledger_key(0, ID_MASK));
    }
}
