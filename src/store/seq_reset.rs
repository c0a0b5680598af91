//! PAC restored from a backup or reinstalled: its event `seq` starts again
//! below our cursor. The reader records that here (and stops reading) until a
//! person moves the cursor to PAC's new sequence with `reset-cursor`, which
//! starts a new *epoch*: the ledger keeps every event of the old sequence,
//! and the new sequence's events get ledger keys and `source_id`s of their
//! own (`pac:<org>:e<epoch>:<seq>`), so nothing collides with what Astrow
//! already stored.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::ledger::LedgerError;
use crate::model::Seq;

/// Schema of the waits and the epochs (a migration of the store).
pub const MIGRATION: &str = "
ALTER TABLE ledger ADD COLUMN wait_reason TEXT;
CREATE TABLE event_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch INTEGER NOT NULL
);
CREATE TABLE sequence_resets (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    detected_at  TEXT NOT NULL,
    cursor       INTEGER NOT NULL,
    pac_last_seq INTEGER NOT NULL,
    resume_after INTEGER NOT NULL,
    resolved_at  TEXT,
    resolved_to  INTEGER,
    epoch        INTEGER
);
ALTER TABLE event_gaps ADD COLUMN reason TEXT;
CREATE TABLE set_aside (
    listing   TEXT NOT NULL,
    record_id INTEGER,
    reason    TEXT NOT NULL,
    seen_at   TEXT NOT NULL
);
";

/// Ledger keys are `epoch << EPOCH_SHIFT | seq`: epoch 0 keys are PAC's seq.
pub const EPOCH_SHIFT: u32 = 40;
const SEQ_MASK: u64 = (1 << EPOCH_SHIFT) - 1;

/// The ledger key of PAC event `seq` in `epoch`.
pub fn ledger_key(epoch: u32, seq: Seq) -> Seq {
    Seq((u64::from(epoch) << EPOCH_SHIFT) | (seq.0 & SEQ_MASK))
}

/// `(epoch, PAC seq)` of a ledger key.
pub fn split_key(key: Seq) -> (u32, Seq) {
    ((key.0 >> EPOCH_SHIFT) as u32, Seq(key.0 & SEQ_MASK))
}

/// The `source_id` of the booking under ledger key `key`: `pac:<org>:<seq>`
/// in the first epoch, `pac:<org>:e<epoch>:<seq>` after a sequence reset.
pub fn source_id(org: u32, key: Seq) -> String {
    match split_key(key) {
        (0, seq) => crate::model::booking_source_id(org, seq),
        (epoch, seq) => format!("pac:{org}:e{epoch}:{}", seq.0),
    }
}

/// The ledger key a `source_id` of this site names ([`source_id`]'s
/// inverse); `None` for anything else (another organisation, another
/// source, a malformed id).
pub fn key_of_source_id(org: u32, id: &str) -> Option<Seq> {
    let rest = id.strip_prefix("pac:")?.strip_prefix(&format!("{org}:"))?;
    let number = |t: &str| -> Option<u64> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let (epoch, seq) = match rest.strip_prefix('e') {
        Some(tail) => {
            let (e, seq) = tail.split_once(':')?;
            let epoch = u32::try_from(number(e)?).ok()?;
            // Only the epochs a ledger key has room for (ledger_key would
            // drop the higher bits and name another row).
            if u64::from(epoch) >= 1 << (64 - EPOCH_SHIFT) {
                return None;
            }
            (epoch, number(seq)?)
        }
        None => (0, number(rest)?),
    };
    (seq <= SEQ_MASK).then(|| ledger_key(epoch, Seq(seq)))
}

fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> LedgerError {
    move |source| LedgerError::Sql { context, source }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The current epoch (0 until the first reset).
pub fn epoch(conn: &Connection) -> Result<u32, LedgerError> {
    let v: Option<u32> = conn
        .query_row("SELECT epoch FROM event_epoch WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(sql("read the epoch"))?;
    Ok(v.unwrap_or(0))
}

/// Where PAC's current sequence starts to belong to the current epoch: PAC
/// seqs up to it are what PAC kept from before its backup (read in the
/// previous epoch). `None` in the first epoch.
pub fn epoch_starts_after(conn: &Connection) -> Result<Option<Seq>, LedgerError> {
    let current = epoch(conn)?;
    if current == 0 {
        return Ok(None);
    }
    let v: Option<u64> = conn
        .query_row(
            "SELECT resolved_to FROM sequence_resets WHERE epoch = ?1 ORDER BY id DESC LIMIT 1",
            params![current],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql("read where the epoch starts"))?;
    Ok(Some(Seq(v.unwrap_or(0))))
}

/// The ledger's newest row of `epoch` at or below PAC seq `seq`, if any.
/// Holes are normal (forget and retention delete rows, unreadable events
/// are gaps), so a row missing at `seq` says nothing about PAC.
pub fn held_at_or_below(
    conn: &Connection,
    epoch: u32,
    seq: Seq,
) -> Result<Option<super::ledger::Entry>, LedgerError> {
    let rows = super::ledger::query_entries(
        conn,
        "WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq DESC LIMIT 1",
        params![ledger_key(epoch, Seq(0)).0, ledger_key(epoch, seq).0],
    )?;
    Ok(rows.into_iter().next())
}

/// A detected sequence reset that no one has resolved yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReset {
    pub detected_at: DateTime<Utc>,
    /// Our cursor when PAC's answer said less.
    pub cursor: Seq,
    /// PAC's `last_seq` then.
    pub pac_last_seq: Seq,
    /// The newest seq on which PAC and the ledger agreed: what PAC kept from
    /// before its backup. Reading goes on after it by default.
    pub resume_after: Seq,
    /// Astrow->PAC bookings PAC lost in its restore, sent again.
    pub a2p_requeued: u64,
}

pub fn open_reset(conn: &Connection) -> Result<Option<OpenReset>, LedgerError> {
    let row: Option<(String, u64, u64, u64, u64)> = conn
        .query_row(
            "SELECT detected_at, cursor, pac_last_seq, resume_after, a2p_requeued
             FROM sequence_resets WHERE resolved_at IS NULL ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()
        .map_err(sql("read a sequence reset"))?;
    row.map(|(at, cursor, last, resume, a2p_requeued)| {
        let detected_at = DateTime::parse_from_rfc3339(&at)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| LedgerError::Corrupt {
                seq: cursor,
                detail: format!("sequence reset time {at:?}: {e}"),
            })?;
        Ok(OpenReset {
            detected_at,
            cursor: Seq(cursor),
            pac_last_seq: Seq(last),
            resume_after: Seq(resume),
            a2p_requeued,
        })
    })
    .transpose()
}

/// Record that PAC's `last_seq` is below our cursor, unless a reset is
/// already open. Returns whether this is news.
pub fn record_reset(
    conn: &Connection,
    cursor: Seq,
    pac_last_seq: Seq,
    resume_after: Seq,
    at: DateTime<Utc>,
) -> Result<bool, LedgerError> {
    if open_reset(conn)?.is_some() {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO sequence_resets (detected_at, cursor, pac_last_seq, resume_after)
         VALUES (?1, ?2, ?3, ?4)",
        params![ts(at), cursor.0, pac_last_seq.0, resume_after.0],
    )
    .map_err(sql("record a sequence reset"))?;
    Ok(true)
}

/// [`record_reset`], and in the same transaction the Astrow->PAC rows PAC
/// lost in its restore go back to pending
/// ([`super::astrow_ledger::requeue_lost_in_pac`], rows above
/// `resume_after`), their count kept with the reset. `None` when a reset
/// was already open (nothing done), else how many rows go again.
pub fn record_reset_requeuing(
    conn: &mut Connection,
    cursor: Seq,
    pac_last_seq: Seq,
    resume_after: Seq,
    at: DateTime<Utc>,
) -> Result<Option<u64>, LedgerError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("begin recording a sequence reset"))?;
    if !record_reset(&tx, cursor, pac_last_seq, resume_after, at)? {
        return Ok(None);
    }
    let requeued = super::astrow_ledger::requeue_lost_in_pac(&tx, resume_after.0)?;
    tx.execute(
        "UPDATE sequence_resets SET a2p_requeued = ?1 WHERE resolved_at IS NULL",
        params![requeued as i64],
    )
    .map_err(sql("count the Astrow->PAC rows sent again"))?;
    tx.commit().map_err(sql("commit a sequence reset"))?;
    // A rare write: the Astrow->PAC counts kept in memory are read again.
    super::astrow_tally::forget(conn);
    Ok(Some(requeued))
}

/// What `reset-cursor` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorReset {
    pub old_cursor: Seq,
    pub new_cursor: Seq,
    pub old_epoch: u32,
    pub new_epoch: u32,
}

/// Continue reading PAC's events after `to` in a new epoch (one transaction):
/// the cursor may go back, every open reset is resolved, and the ledger keeps
/// the old epoch's events under their keys.
pub fn reset_cursor(
    conn: &mut Connection,
    to: Seq,
    at: DateTime<Utc>,
) -> Result<CursorReset, LedgerError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("begin a cursor reset"))?;
    let done = reset_cursor_in(&tx, to, at)?;
    tx.commit().map_err(sql("commit a cursor reset"))?;
    Ok(done)
}

/// [`reset_cursor`] on a connection the caller holds a transaction on (a
/// store re-bind moves the cursor in its own transaction).
pub fn reset_cursor_in(
    tx: &Connection,
    to: Seq,
    at: DateTime<Utc>,
) -> Result<CursorReset, LedgerError> {
    if to.0 > SEQ_MASK {
        return Err(LedgerError::Corrupt {
            seq: to.0,
            detail: format!("a cursor above {SEQ_MASK} is not supported"),
        });
    }
    let old_cursor = super::ledger::cursor(tx)?;
    let old_epoch = epoch(tx)?;
    let new_epoch = old_epoch + 1;
    tx.execute(
        "INSERT INTO event_epoch (id, epoch) VALUES (1, ?1)
         ON CONFLICT(id) DO UPDATE SET epoch = excluded.epoch",
        params![new_epoch],
    )
    .map_err(sql("start a new epoch"))?;
    tx.execute(
        "INSERT INTO event_cursor (id, last_seq) VALUES (1, ?1)
         ON CONFLICT(id) DO UPDATE SET last_seq = excluded.last_seq",
        params![to.0],
    )
    .map_err(sql("move the cursor"))?;
    tx.execute(
        "UPDATE sequence_resets SET resolved_at = ?1, resolved_to = ?2, epoch = ?3
         WHERE resolved_at IS NULL",
        params![ts(at), to.0, new_epoch],
    )
    .map_err(sql("resolve the sequence reset"))?;
    Ok(CursorReset {
        old_cursor,
        new_cursor: to,
        old_epoch,
        new_epoch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_id_names_its_ledger_key_and_nothing_else_does() {
        for key in [
            ledger_key(0, Seq(1)),
            ledger_key(0, Seq(881_233)),
            ledger_key(3, Seq(17)),
        ] {
            assert_eq!(key_of_source_id(7, &source_id(7, key)), Some(key));
        }
        for other in [
            "pac:8:17",
            "pac:7:",
            "pac:7:e:17",
            "pac:7:e1:",
            "pac:7:17x",
            "pac:7:+17",
            "pac:7:e99999999999:1",
            "pac:7:e16777216:5",
            "pac:7:1099511627776",
            "web:4411",
            "astrow:5",
        ] {
            assert_eq!(key_of_source_id(7, other), None, "{other}");
        }
    }

    #[test]
    fn keys_of_the_first_epoch_are_pacs_seq_and_later_ones_do_not_collide() {
        assert_eq!(ledger_key(0, Seq(881233)), Seq(881233));
        let k = ledger_key(2, Seq(7));
        assert_ne!(k, Seq(7));
        assert_eq!(split_key(k), (2, Seq(7)));
        assert!(ledger_key(1, Seq(1)) > ledger_key(0, Seq(SEQ_MASK)));
        assert_eq!(source_id(1, Seq(881233)), "pac:1:881233");
        assert_eq!(source_id(1, k), "pac:1:e2:7");
    }
}
