//! The ledger of bookings going from Astrow into PAC: each Astrow booking
//! read (by `booking_id`) is stored together with the advanced cursor in one
//! transaction, then sent to PAC as an external event and its per-event
//! result kept. Bookings that came from PAC (`pac:` source ids) are never
//! stored here: they are only counted, and never go back.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::astrow_tally::Delta;
use crate::model::{AstrowOwnBooking, Direction, ExternalOutcome, PacId, PersNo};

pub const MIGRATION: &str = "
CREATE TABLE astrow_ledger (
    booking_id    INTEGER PRIMARY KEY,
    source_id     TEXT,
    pers_no       INTEGER,
    badge_no      TEXT NOT NULL,
    time          TEXT NOT NULL,
    terminal_kind TEXT NOT NULL,
    direction     TEXT CHECK (direction IS NULL OR direction IN ('in', 'out')),
    state         TEXT NOT NULL CHECK (state IN ('pending', 'stored', 'duplicate', 'rejected', 'unreadable')),
    pac_seq       INTEGER,
    reason        TEXT,
    read_at       TEXT NOT NULL,
    answered_at   TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX astrow_ledger_by_state ON astrow_ledger (state, booking_id);
CREATE INDEX astrow_ledger_by_answer ON astrow_ledger (answered_at);
CREATE INDEX astrow_ledger_by_read ON astrow_ledger (read_at);
CREATE TABLE astrow_cursor (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    after_booking_id INTEGER NOT NULL,
    from_pac         INTEGER NOT NULL DEFAULT 0,
    -- Bookings older than this (set by the first page read: 24 hours
    -- before it) are history from before the direction was turned on:
    -- counted in `older`, never sent.
    floor            TEXT,
    older            INTEGER NOT NULL DEFAULT 0
);
INSERT INTO astrow_cursor (id, after_booking_id, from_pac) VALUES (1, 0, 0);
-- Rows still pending when the store was re-bound to another site: kept
-- here with why (their booking ids are the old Astrow's and would collide
-- with the new one's in astrow_ledger), never sent.
CREATE TABLE astrow_ledger_abandoned (
    booking_id    INTEGER NOT NULL,
    source_id     TEXT,
    pers_no       INTEGER,
    badge_no      TEXT NOT NULL,
    time          TEXT NOT NULL,
    terminal_kind TEXT NOT NULL,
    direction     TEXT,
    attempts      INTEGER NOT NULL,
    read_at       TEXT NOT NULL,
    reason        TEXT NOT NULL,
    abandoned_at  TEXT NOT NULL
);
";

/// Migration 10: the terminal's serial (a File terminal booking from a PAC
/// reader came from PAC), kept in the ledger and with the abandoned rows;
/// the abandoned rows by when (their retention).
pub const MIGRATION_SERIAL: &str = "
ALTER TABLE astrow_ledger ADD COLUMN terminal_serial TEXT;
ALTER TABLE astrow_ledger_abandoned ADD COLUMN terminal_serial TEXT;
CREATE INDEX astrow_ledger_abandoned_by_time ON astrow_ledger_abandoned (abandoned_at);
";

/// The serials of PAC's readers (as Astrow's reader mirror holds them).
pub type PacReaderSerials = std::collections::HashSet<String>;

#[derive(Debug, thiserror::Error)]
pub enum AstrowLedgerError {
    #[error("Astrow->PAC ledger: {context}: {source}")]
    Sql {
        context: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "Astrow->PAC ledger: booking {booking_id} holds a value that cannot be read back: {detail}"
    )]
    Corrupt { booking_id: u64, detail: String },
    /// A person's request refused (what and how to go on).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Db(#[from] super::db::DbError),
}

fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> AstrowLedgerError {
    move |source| AstrowLedgerError::Sql { context, source }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// How far back the first read reaches: Astrow's bookings older than this
/// before the direction was first turned on are history, not attendance
/// PAC needs (its roll call looks back 24 hours); they are counted, not sent.
pub const START_HISTORY: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Whether an Astrow booking came from PAC: it never goes back. Ours carry
/// a `pac:` source id; those the old Astrow IO Service made from PAC's
/// swipes came through Astrow's File terminal with no such id, at the
/// serial of a PAC reader (`pac_readers`). A File terminal booking at a
/// serial PAC does not know is Astrow's own (another import) and goes.
pub fn came_from_pac(b: &AstrowOwnBooking, pac_readers: &PacReaderSerials) -> bool {
    b.source_id
        .as_deref()
        .is_some_and(|s| s.starts_with("pac:"))
        || (b.terminal_kind == "file"
            && b.terminal_serial
                .as_deref()
                .is_some_and(|s| pac_readers.contains(s)))
}

/// Where a row stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RowState {
    Pending,
    Answered(ExternalOutcome),
    /// Astrow's record could not be read: kept with why, never sent.
    Unreadable {
        reason: String,
    },
}

/// One row of the ledger, with the PAC employee its Astrow employee is
/// linked to (when it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub booking: AstrowOwnBooking,
    pub linked_pac_id: Option<PacId>,
    pub state: RowState,
    pub attempts: u32,
    pub read_at: String,
    /// When PAC answered (UTC, RFC 3339).
    pub answered_at: Option<String>,
}

/// The cursor: the highest booking id read, and how many bookings that
/// came from PAC were passed over.
pub fn cursor(conn: &Connection) -> Result<(u64, u64), AstrowLedgerError> {
    conn.query_row(
        "SELECT after_booking_id, from_pac FROM astrow_cursor WHERE id = 1",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
    .map_err(sql("read the cursor"))
}

/// A page of Astrow's feed as read: its bookings and those that could
/// not be read (id and why), after `from` up to `to`.
pub struct Page<'a> {
    pub from: u64,
    pub to: u64,
    pub bookings: &'a [AstrowOwnBooking],
    pub unreadable: &'a [(u64, String)],
}

/// Store a page read after `from` with the cursor moved to `to`, in one
/// transaction; `false` (nothing written) when the cursor is no longer
/// `from` (another reader got there first: read again). Bookings that came
/// from PAC ([`came_from_pac`] with `pac_readers`) are only counted.
pub fn append_page(
    conn: &mut Connection,
    page: &Page<'_>,
    pac_readers: &PacReaderSerials,
    read_at: DateTime<Utc>,
) -> Result<bool, AstrowLedgerError> {
    append_page_marked(conn, page, &[], pac_readers, read_at)
}

/// [`append_page`] with the marks of the page's unreadable records (the
/// cursor's mark when the page ends with one).
pub fn append_page_marked(
    conn: &mut Connection,
    page: &Page<'_>,
    unreadable_marks: &[(u64, String)],
    pac_readers: &PacReaderSerials,
    read_at: DateTime<Utc>,
) -> Result<bool, AstrowLedgerError> {
    super::astrow_tally::write(conn, |c| {
        let tx = c
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin a page"))?;
        let (current, _) = cursor(&tx)?;
        if current != page.from || page.to < page.from {
            return Ok((false, Delta::default()));
        }
        let floor = history_floor(&tx, read_at)?;
        let delta = insert_page(&tx, page, pac_readers, floor, read_at)?;
        // The booking at the new cursor, to tell it from another one under
        // the same id after a restore of Astrow (`astrow_restore::mark`).
        let mark = page
            .bookings
            .iter()
            .find(|b| b.booking_id == page.to)
            .map(super::astrow_restore::mark)
            .or_else(|| {
                let marks = unreadable_marks.iter();
                marks
                    .filter(|(id, _)| *id == page.to)
                    .map(|(_, m)| m.clone())
                    .next()
            });
        tx.execute(
            "UPDATE astrow_cursor SET after_booking_id = ?1, from_pac = from_pac + ?2,
             older = older + ?3, mark = ?4 WHERE id = 1",
            params![page.to as i64, delta.from_pac, delta.older_than_start, mark],
        )
        .map_err(sql("move the cursor"))?;
        tx.commit().map_err(sql("commit a page"))?;
        Ok((true, delta))
    })
}

/// The rows of a page (those from PAC and from before the start only
/// counted), and how they change the counts.
fn insert_page(
    tx: &rusqlite::Transaction<'_>,
    page: &Page<'_>,
    pac_readers: &PacReaderSerials,
    floor: DateTime<FixedOffset>,
    read_at: DateTime<Utc>,
) -> Result<Delta, AstrowLedgerError> {
    let at = ts(read_at);
    let mut delta = Delta {
        after_booking_id: Some(page.to),
        ..Delta::default()
    };
    // After a restore of Astrow its ids are keyed in the new epoch.
    let epoch = super::astrow_restore::epoch(tx)?;
    let key = |id: u64| super::astrow_restore::ledger_key(epoch, id) as i64;
    let mut stmt = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO astrow_ledger
             (booking_id, source_id, pers_no, badge_no, time, terminal_kind, direction,
              state, reason, read_at, terminal_serial, pac_seq, answered_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
                     CASE WHEN ?8 = 'pending' THEN NULL ELSE ?10 END)",
        )
        .map_err(sql("prepare the page insert"))?;
    for b in page.bookings {
        if came_from_pac(b, pac_readers) {
            delta.from_pac += 1;
            continue;
        }
        if b.time < floor {
            delta.older_than_start += 1;
            continue;
        }
        let direction = match b.direction {
            Some(Direction::In) => Some("in"),
            Some(Direction::Out) => Some("out"),
            _ => None,
        };
        // Kept by Astrow's backup and sent already in an older epoch: the
        // same booking (its mark), counted as a duplicate, not sent again.
        let sent_in = match epoch {
            0 => None,
            _ => super::astrow_restore::sent_in_older_epoch(
                tx,
                epoch,
                b.booking_id,
                &super::astrow_restore::mark(b),
            )?,
        };
        let (state, reason, seq) = match sent_in {
            Some((e, seq)) => ("duplicate", Some(already_sent(e, b.booking_id)), seq),
            None => ("pending", None, None),
        };
        let n = stmt
            .execute(params![
                key(b.booking_id),
                b.source_id,
                b.pers_no.map(|p| p.0 as i64),
                b.badge_no,
                b.time.to_rfc3339(),
                b.terminal_kind,
                direction,
                state,
                reason,
                at,
                b.terminal_serial,
                seq.map(|s| s as i64),
            ])
            .map_err(sql("store a booking"))?;
        delta.add(state, n as i64);
    }
    for (id, why) in page.unreadable {
        let n = stmt
            .execute(params![
                key(*id),
                Option::<String>::None,
                Option::<i64>::None,
                "",
                read_at.to_rfc3339(),
                "",
                Option::<String>::None,
                "unreadable",
                why,
                at,
                Option::<String>::None,
                Option::<i64>::None,
            ])
            .map_err(sql("store an unreadable booking"))?;
        delta.unreadable += n as i64;
    }
    Ok(delta)
}

/// Why a row read in a new epoch is not sent: the same booking was sent in
/// `epoch` (Astrow kept it through its backup).
fn already_sent(epoch: u32, booking_id: u64) -> String {
    let key = super::astrow_restore::ledger_key(epoch, booking_id);
    format!(
        "{READ_AGAIN} and sent as {}: not sent again",
        crate::model::external_source_id(key)
    )
}

/// How the reason of a row read again in a new epoch begins (see
/// `astrow_restore::read_again`).
pub const READ_AGAIN: &str = "the same booking was read before Astrow's restore";

/// The history floor, set on the first page ([`START_HISTORY`] before it).
fn history_floor(
    tx: &rusqlite::Transaction<'_>,
    read_at: DateTime<Utc>,
) -> Result<DateTime<FixedOffset>, AstrowLedgerError> {
    let stored: Option<String> = tx
        .query_row("SELECT floor FROM astrow_cursor WHERE id = 1", [], |r| {
            r.get(0)
        })
        .map_err(sql("read the history floor"))?;
    if let Some(f) = stored {
        return DateTime::parse_from_rfc3339(&f).map_err(|e| AstrowLedgerError::Corrupt {
            booking_id: 0,
            detail: format!("history floor {f}: {e}"),
        });
    }
    let floor = (read_at - START_HISTORY).fixed_offset();
    tx.execute(
        "UPDATE astrow_cursor SET floor = ?1 WHERE id = 1",
        [floor.to_rfc3339()],
    )
    .map_err(sql("set the history floor"))?;
    Ok(floor)
}

const ROW_COLUMNS: &str = "l.booking_id, l.source_id, l.pers_no, l.badge_no, l.time,
    l.terminal_kind, l.direction, l.state, l.pac_seq, l.reason, l.attempts, l.read_at, k.pac_id, l.answered_at,
    l.terminal_serial";

/// A pending row that may go now (map::decide sends it): its Astrow
/// employee is linked, or it has none and its badge is a hex badge while
/// badges are badges (`?2` = 0: Astrow is master), or it came from PAC (to
/// be refused). The others wait, still pending, out of the sender's way.
const SENDABLE: &str = "(k.pac_id IS NOT NULL
    OR coalesce(l.source_id, '') LIKE 'pac:%'
    OR (l.pers_no IS NULL AND ?2 = 0 AND trim(l.badge_no) <> ''
        AND length(trim(l.badge_no)) <= 32 AND trim(l.badge_no) NOT GLOB '*[^0-9A-Fa-f]*'))";

/// The oldest `limit` pending rows that may go now (see [`SENDABLE`]), in
/// booking id order, each with the PAC employee its Astrow employee is
/// linked to now.
pub fn pending(
    conn: &Connection,
    limit: usize,
    badges_are_pac_ids: bool,
) -> Result<Vec<Row>, AstrowLedgerError> {
    let query = format!(
        "SELECT {ROW_COLUMNS} FROM astrow_ledger l LEFT JOIN links k ON k.pers_no = l.pers_no
         WHERE l.state = 'pending' AND {SENDABLE} ORDER BY l.booking_id LIMIT ?1"
    );
    let mut stmt = conn.prepare_cached(&query).map_err(sql("prepare rows"))?;
    let raw = stmt
        .query_map(params![limit as i64, badges_are_pac_ids], raw_row)
        .map_err(sql("read rows"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql("read a row"))?;
    raw.into_iter().map(RawRow::parse).collect()
}

/// How many pending rows wait (not sendable now, see [`SENDABLE`]).
pub fn waiting_count(
    conn: &Connection,
    badges_are_pac_ids: bool,
) -> Result<u64, AstrowLedgerError> {
    conn.query_row(
        &format!(
            "SELECT COUNT(*) FROM astrow_ledger l LEFT JOIN links k ON k.pers_no = l.pers_no
             WHERE l.state = 'pending' AND NOT {SENDABLE} AND ?1 = ?1"
        ),
        params![0i64, badges_are_pac_ids],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
    .map_err(sql("count waiting rows"))
}

/// The newest `limit` rows, newest first (for the Bookings pane).
pub fn recent(conn: &Connection, limit: usize) -> Result<Vec<Row>, AstrowLedgerError> {
    rows(
        conn,
        &format!(
            "SELECT {ROW_COLUMNS} FROM astrow_ledger l LEFT JOIN links k ON k.pers_no = l.pers_no
             ORDER BY l.booking_id DESC LIMIT ?1"
        ),
        limit,
    )
}

fn rows(conn: &Connection, query: &str, limit: usize) -> Result<Vec<Row>, AstrowLedgerError> {
    let mut stmt = conn.prepare_cached(query).map_err(sql("prepare rows"))?;
    let raw = stmt
        .query_map([limit as i64], raw_row)
        .map_err(sql("read rows"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql("read a row"))?;
    raw.into_iter().map(RawRow::parse).collect()
}

fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        booking_id: r.get::<_, i64>(0)? as u64,
        source_id: r.get(1)?,
        pers_no: r.get::<_, Option<i64>>(2)?.map(|p| p as u64),
        badge_no: r.get(3)?,
        time: r.get(4)?,
        terminal_kind: r.get(5)?,
        direction: r.get(6)?,
        state: r.get(7)?,
        pac_seq: r.get::<_, Option<i64>>(8)?.map(|s| s as u64),
        reason: r.get(9)?,
        attempts: r.get::<_, i64>(10)? as u32,
        read_at: r.get(11)?,
        pac_id: r.get::<_, Option<i64>>(12)?.map(|p| p as u64),
        answered_at: r.get(13)?,
        terminal_serial: r.get(14)?,
    })
}

struct RawRow {
    booking_id: u64,
    source_id: Option<String>,
    pers_no: Option<u64>,
    badge_no: String,
    time: String,
    terminal_kind: String,
    direction: Option<String>,
    state: String,
    pac_seq: Option<u64>,
    reason: Option<String>,
    attempts: u32,
    read_at: String,
    pac_id: Option<u64>,
    answered_at: Option<String>,
    terminal_serial: Option<String>,
}

impl RawRow {
    fn parse(self) -> Result<Row, AstrowLedgerError> {
        let corrupt = |detail: String| AstrowLedgerError::Corrupt {
            booking_id: self.booking_id,
            detail,
        };
        let time: DateTime<FixedOffset> =
            DateTime::parse_from_rfc3339(&self.time).map_err(|e| corrupt(e.to_string()))?;
        let direction = match self.direction.as_deref() {
            None => None,
            Some("in") => Some(Direction::In),
            Some("out") => Some(Direction::Out),
            Some(o) => return Err(corrupt(format!("direction {o}"))),
        };
        let reason = self.reason.clone().unwrap_or_default();
        let state = match (self.state.as_str(), self.pac_seq) {
            ("pending", _) => RowState::Pending,
            ("stored", Some(seq)) => RowState::Answered(ExternalOutcome::Stored { seq }),
            ("duplicate", Some(seq)) => RowState::Answered(ExternalOutcome::Duplicate { seq }),
            // Read again after an Astrow restore while the older epoch's row
            // still waited: that row goes, this one never does.
            ("duplicate", None) => RowState::Answered(ExternalOutcome::Rejected { reason }),
            ("rejected", _) => RowState::Answered(ExternalOutcome::Rejected { reason }),
            ("unreadable", _) => RowState::Unreadable { reason },
            (s, _) => return Err(corrupt(format!("state {s}"))),
        };
        Ok(Row {
            booking: AstrowOwnBooking {
                booking_id: self.booking_id,
                source_id: self.source_id,
                pers_no: self.pers_no.map(PersNo),
                badge_no: self.badge_no,
                time,
                terminal_kind: self.terminal_kind,
                terminal_serial: self.terminal_serial,
                direction,
            },
            linked_pac_id: self.pac_id.map(PacId),
            state,
            attempts: self.attempts,
            read_at: self.read_at,
            answered_at: self.answered_at,
        })
    }
}

/// Count a send of these pending rows (before it goes out): a crash after
/// it shows as attempts > answers.
pub fn count_attempt(conn: &mut Connection, ids: &[u64]) -> Result<(), AstrowLedgerError> {
    let tx = conn.transaction().map_err(sql("begin attempts"))?;
    {
        let mut stmt = tx
            .prepare_cached(
                "UPDATE astrow_ledger SET attempts = attempts + 1
                 WHERE booking_id = ?1 AND state = 'pending'",
            )
            .map_err(sql("prepare attempts"))?;
        for id in ids {
            stmt.execute([*id as i64])
                .map_err(sql("count an attempt"))?;
        }
    }
    tx.commit().map_err(sql("commit attempts"))
}

/// Keep PAC's answers, in one transaction. A row already answered keeps
/// its first answer.
pub fn record_outcomes(
    conn: &mut Connection,
    outcomes: &[(u64, ExternalOutcome)],
    at: DateTime<Utc>,
) -> Result<(), AstrowLedgerError> {
    super::astrow_tally::write(conn, |c| {
        let tx = c.transaction().map_err(sql("begin answers"))?;
        let mut delta = Delta::default();
        {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE astrow_ledger SET state = ?2, pac_seq = ?3, reason = ?4, answered_at = ?5
                     WHERE booking_id = ?1 AND state = 'pending'",
                )
                .map_err(sql("prepare answers"))?;
            let at = ts(at);
            for (id, o) in outcomes {
                let (state, seq, reason) = match o {
                    ExternalOutcome::Stored { seq } => ("stored", Some(*seq as i64), None),
                    ExternalOutcome::Duplicate { seq } => ("duplicate", Some(*seq as i64), None),
                    ExternalOutcome::Rejected { reason } => {
                        ("rejected", None, Some(reason.as_str()))
                    }
                };
                let n = stmt
                    .execute(params![*id as i64, state, seq, reason, at])
                    .map_err(sql("keep an answer"))? as i64;
                delta.add("pending", -n);
                delta.add(state, n);
            }
        }
        tx.commit().map_err(sql("commit answers"))?;
        Ok(((), delta))
    })
}

/// PAC was restored from a backup: the external events it stored after the
/// backup are gone, and so is its memory of their `source_id`s. Every row
/// PAC answered with a seq above `kept_through` (the newest seq on which PAC
/// and the PAC->Astrow ledger still agree) goes back to pending, to be sent
/// again (PAC stores it anew, or answers `duplicate` if it kept it after
/// all). Rows trimmed by retention are no longer here to resend. How many.
pub fn requeue_lost_in_pac(conn: &Connection, kept_through: u64) -> Result<u64, AstrowLedgerError> {
    conn.execute(
        "UPDATE astrow_ledger SET state = 'pending', pac_seq = NULL, reason = NULL,
         answered_at = NULL
         WHERE state IN ('stored', 'duplicate') AND pac_seq > ?1",
        [kept_through as i64],
    )
    .map(|n| n as u64)
    .map_err(sql("send again what PAC lost"))
}

/// How many rows wait for PAC.
pub fn pending_count(conn: &Connection) -> Result<u64, AstrowLedgerError> {
    conn.query_row(
        "SELECT COUNT(*) FROM astrow_ledger WHERE state = 'pending'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
    .map_err(sql("count pending rows"))
}

/// The bookings PAC stored (or had stored) read since `since`, in booking
/// id order (entry order, not time: `rollcall::merge_attendance` sorts by
/// time), as attendance entries for the roll call: PAC's employee when the
/// Astrow employee is linked, else the badge number; in or out as booked.
pub fn attendance_since(
    conn: &Connection,
    since: DateTime<Utc>,
) -> Result<Vec<super::ledger::Entry>, AstrowLedgerError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM astrow_ledger l LEFT JOIN links k ON k.pers_no = l.pers_no
             WHERE l.read_at >= ?1 AND l.state IN ('stored', 'duplicate')
             ORDER BY l.booking_id"
        ))
        .map_err(sql("prepare attendance"))?;
    let rows = stmt
        .query_map([ts(since)], raw_row)
        .map_err(sql("read attendance"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql("read an attendance row"))?;
    rows.into_iter()
        .map(|raw| {
            let read_at = DateTime::parse_from_rfc3339(&raw.read_at)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(since);
            let row = raw.parse()?;
            let seq = match row.state {
                RowState::Answered(ExternalOutcome::Stored { seq })
                | RowState::Answered(ExternalOutcome::Duplicate { seq }) => seq,
                _ => 0,
            };
            Ok(super::ledger::Entry {
                seq: crate::model::Seq(seq),
                time: row.booking.time,
                event_type: crate::model::EventType::ExternalAttendance,
                reader_id: None,
                reader_serial: None,
                badge_number: Some(row.booking.badge_no.clone()),
                employee_id: row.linked_pac_id,
                kind: super::ledger::EntryKind::Booking {
                    direction: row.booking.direction,
                },
                status: None,
                badge_no: None,
                read_at,
                answered_at: None,
                attempts: row.attempts,
            })
        })
        .collect()
}

/// Delete up to `limit` rows PAC stored (stored or duplicate) answered
/// before `before`; rejected, unreadable and pending rows stay. How many.
pub fn trim(
    conn: &mut Connection,
    before: DateTime<Utc>,
    limit: usize,
) -> Result<u64, AstrowLedgerError> {
    super::astrow_tally::write(conn, |c| {
        let mut stmt = c
            .prepare_cached(
                "DELETE FROM astrow_ledger WHERE booking_id IN (
                     SELECT booking_id FROM astrow_ledger
                     WHERE answered_at < ?1 AND state IN ('stored', 'duplicate') LIMIT ?2)
                 RETURNING state",
            )
            .map_err(sql("prepare the trim"))?;
        let states = stmt
            .query_map(params![ts(before), limit as i64], |r| r.get::<_, String>(0))
            .map_err(sql("trim answered rows"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql("trim answered rows"))?;
        let mut delta = Delta::default();
        for state in &states {
            delta.add(state, -1);
        }
        Ok((states.len() as u64, delta))
    })
}

/// Delete up to `limit` rows kept aside at a re-bind
/// (`astrow_ledger_abandoned`) abandoned before `before`: personal data
/// never sent, kept as long as the ledger keeps what PAC stored. How many.
pub fn trim_abandoned(
    conn: &mut Connection,
    before: DateTime<Utc>,
    limit: usize,
) -> Result<u64, AstrowLedgerError> {
    super::astrow_tally::write(conn, |c| {
        let n = c
            .execute(
                "DELETE FROM astrow_ledger_abandoned WHERE rowid IN (
                     SELECT rowid FROM astrow_ledger_abandoned WHERE abandoned_at < ?1 LIMIT ?2)",
                params![ts(before), limit as i64],
            )
            .map_err(sql("trim abandoned rows"))? as u64;
        let delta = Delta {
            abandoned: -(n as i64),
            ..Delta::default()
        };
        Ok((n, delta))
    })
}

/// Why a row pending at a re-bind was abandoned.
pub const ABANDONED_REASON: &str =
    "abandoned: store re-bound to another site, never sent to the new PAC";

/// Start afresh (a re-bind to another site): the rows and the cursor were
/// the old pair's. Rows still pending are kept in `astrow_ledger_abandoned`
/// with [`ABANDONED_REASON`] (never sent); how many. Runs inside the
/// re-bind's transaction.
pub fn restart(tx: &rusqlite::Transaction<'_>, at: DateTime<Utc>) -> rusqlite::Result<usize> {
    let abandoned = tx.execute(
        "INSERT INTO astrow_ledger_abandoned
         (booking_id, source_id, pers_no, badge_no, time, terminal_kind, direction, attempts,
          read_at, reason, abandoned_at, terminal_serial)
         SELECT booking_id, source_id, pers_no, badge_no, time, terminal_kind, direction,
                attempts, read_at, ?1, ?2, terminal_serial
         FROM astrow_ledger WHERE state = 'pending'",
        params![ABANDONED_REASON, ts(at)],
    )?;
    tx.execute("DELETE FROM astrow_ledger", [])?;
    tx.execute(
        "UPDATE astrow_cursor SET after_booking_id = 0, from_pac = 0, floor = NULL, older = 0,
         mark = NULL, epoch = 0 WHERE id = 1",
        [],
    )?;
    // A restore of the old Astrow no longer holds reading back, and its
    // epochs are the old site's: the new site's ids are epoch 0 (they are
    // sent as `astrow:<id>`, and the reconciliation's epoch starts leave
    // the old restores out).
    tx.execute(
        "UPDATE astrow_restores SET resolved_at = ?1, resolved_to = 0 WHERE resolved_at IS NULL",
        params![ts(at)],
    )?;
    tx.execute("UPDATE astrow_restores SET epoch = NULL", [])?;
    Ok(abandoned)
}

/// Counts for the console and `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub after_booking_id: u64,
    pub pending: u64,
    pub stored: u64,
    pub duplicate: u64,
    pub rejected: u64,
    pub unreadable: u64,
    /// Bookings in Astrow's feed that came from PAC: passed over, never sent back.
    pub from_pac: u64,
    /// Bookings older than [`START_HISTORY`] before the first read: passed over.
    #[serde(default)]
    pub older_than_start: u64,
    /// When the oldest pending row was read (UTC, RFC 3339).
    pub oldest_pending_read_at: Option<String>,
    /// Rows pending at a re-bind to another site: kept aside, never sent.
    #[serde(default)]
    pub abandoned: u64,
    /// Pending rows held back: their Astrow employee is not linked yet, or
    /// they have no employee and no real badge (`map::decide`).
    #[serde(default)]
    pub waiting: u64,
}

/// The counts; `badges_are_pac_ids` when PAC is master (for `waiting`).
/// Counts the ledger: for `status` and tests; the engine keeps them in
/// memory (`astrow_tally`).
pub fn tally(conn: &Connection, badges_are_pac_ids: bool) -> Result<Tally, AstrowLedgerError> {
    let mut t = counts(conn)?;
    pending_details(conn, &mut t, badges_are_pac_ids)?;
    Ok(t)
}

/// The counts by state, the cursor's and the abandoned rows, read in one
/// transaction: the state count from the covering index on state, the
/// abandoned count from the index on its time (`astrow_tally` reads them
/// once, at start).
pub fn counts(conn: &Connection) -> Result<Tally, AstrowLedgerError> {
    let tx = conn
        .unchecked_transaction()
        .map_err(sql("begin the count"))?;
    let (after, from_pac, older) = tx
        .query_row(
            "SELECT after_booking_id, from_pac, older FROM astrow_cursor WHERE id = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .map_err(sql("read the cursor"))?;
    let mut t = Tally {
        after_booking_id: after as u64,
        from_pac: from_pac as u64,
        older_than_start: older as u64,
        ..Tally::default()
    };
    let mut stmt = tx
        .prepare_cached("SELECT state, COUNT(*) FROM astrow_ledger GROUP BY state")
        .map_err(sql("prepare the tally"))?;
    let counts = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })
        .map_err(sql("tally"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql("tally row"))?;
    drop(stmt);
    for (state, n) in counts {
        match state.as_str() {
            "pending" => t.pending = n,
            "stored" => t.stored = n,
            "duplicate" => t.duplicate = n,
            "rejected" => t.rejected = n,
            "unreadable" => t.unreadable = n,
            _ => {}
        }
    }
    t.abandoned = tx
        .query_row("SELECT COUNT(*) FROM astrow_ledger_abandoned", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(sql("count abandoned rows"))? as u64;
    tx.finish().map_err(sql("end the count"))?;
    Ok(t)
}

/// When the oldest pending row was read and how many pending rows wait
/// (see [`SENDABLE`]), both walking the index of pending rows; nothing is
/// read when none is pending.
pub fn pending_details(
    conn: &Connection,
    t: &mut Tally,
    badges_are_pac_ids: bool,
) -> Result<(), AstrowLedgerError> {
    if t.pending == 0 {
        t.oldest_pending_read_at = None;
        t.waiting = 0;
        return Ok(());
    }
    t.oldest_pending_read_at = conn
        .prepare_cached(
            "SELECT read_at FROM astrow_ledger WHERE state = 'pending'
             ORDER BY booking_id LIMIT 1",
        )
        .and_then(|mut s| s.query_row([], |r| r.get::<_, String>(0)).optional())
        .map_err(sql("oldest pending"))?;
    t.waiting = waiting_count(conn, badges_are_pac_ids)?;
    Ok(())
}

/// Rows PAC answered since `since`, and the lag (Astrow's booking time to
/// PAC's answer) of the newest answered row.
pub fn activity(
    conn: &Connection,
    since: DateTime<Utc>,
) -> Result<(u64, Option<u64>), AstrowLedgerError> {
    let n: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM astrow_ledger WHERE answered_at >= ?1",
            [ts(since)],
            |r| r.get(0),
        )
        .map_err(sql("count recent answers"))?;
    let newest: Option<(String, String)> = conn
        .query_row(
            "SELECT time, answered_at FROM astrow_ledger WHERE answered_at IS NOT NULL
             ORDER BY answered_at DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(sql("the newest answer"))?;
    let lag = newest.and_then(|(t, a)| {
        let t = DateTime::parse_from_rfc3339(&t).ok()?;
        let a = DateTime::parse_from_rfc3339(&a).ok()?;
        Some((a - t).num_milliseconds().max(0) as u64)
    });
    Ok((n as u64, lag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE links (pac_id INTEGER NOT NULL UNIQUE, pers_no INTEGER NOT NULL UNIQUE);
             CREATE TABLE sequence_resets (id INTEGER PRIMARY KEY);",
        )
        .unwrap();
        conn.execute_batch(MIGRATION).unwrap();
        conn.execute_batch(MIGRATION_SERIAL).unwrap();
        conn.execute_batch(super::super::astrow_restore::MIGRATION)
            .unwrap();
        conn
    }

    /// An hour after the bookings' time.
    fn read(
        conn: &mut Connection,
        from: u64,
        bookings: &[AstrowOwnBooking],
        marks: &[(u64, String)],
    ) {
        let to = bookings.iter().map(|b| b.booking_id).max().unwrap();
        let page = Page {
            from,
            to,
            bookings,
            unreadable: &[],
        };
        assert!(append_page_marked(conn, &page, marks, &PacReaderSerials::new(), t0()).unwrap());
    }

    #[test]
    fn a_booking_read_again_in_a_new_epoch_with_the_same_mark_is_not_sent_again() {
        use super::super::astrow_restore::{self as restore, move_cursor};
        let mut conn = db();
        read(
            &mut conn,
            0,
            &[
                b(1, Some("web:1"), None),
                b(2, Some("web:2"), None),
                b(3, Some("web:3"), None),
            ],
            &[],
        );
        // Refused: no restore open (unless a person confirmed), or below the
        // oldest row kept.
        let e = move_cursor(&mut conn, 1, false, t0())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no restore of Astrow was detected"), "{e}");
        restore::record_restore(&conn, 3, "test", None, t0()).unwrap();
        let e = move_cursor(&mut conn, 0, false, t0())
            .unwrap_err()
            .to_string();
        assert!(e.contains("below booking 1, the oldest"), "{e}");
        assert_eq!(cursor(&conn).unwrap().0, 3);
        move_cursor(&mut conn, 1, false, t0()).unwrap();
        // Booking 2 kept by the backup (its employee linked since: the mark
        // leaves the employee out); 3 is another booking now; 4 is new.
        let again = [
            b(2, Some("web:2"), Some(1001)),
            b(3, Some("web:9"), None),
            b(4, Some("web:4"), None),
        ];
        read(&mut conn, 1, &again, &[]);
        let pending: Vec<u64> = pending(&conn, 10, false)
            .unwrap()
            .iter()
            .map(|r| r.booking.booking_id)
            .collect();
        let e1 = |id| restore::ledger_key(1, id);
        assert_eq!(pending, vec![1, 2, 3, e1(3), e1(4)]);
        let t = counts(&conn).unwrap();
        assert_eq!((t.duplicate, t.pending), (1, 5), "{t:?}");
        let kept = recent(&conn, 10).unwrap();
        let row = kept.iter().find(|r| r.booking.booking_id == e1(2)).unwrap();
        assert!(
            matches!(&row.state, RowState::Answered(ExternalOutcome::Rejected { reason }) if reason.contains("astrow:2")),
            "{row:?}"
        );
    }

    #[test]
    fn a_rebind_starts_the_new_site_in_epoch_0_without_the_old_sites_epochs() {
        use super::super::astrow_restore::{self as restore, move_cursor};
        let mut conn = db();
        read(&mut conn, 0, &[b(5, Some("web:5"), None)], &[]);
        restore::record_restore(&conn, 5, "test", None, t0()).unwrap();
        move_cursor(&mut conn, 5, false, t0()).unwrap();
        assert_eq!(restore::epoch_starts(&conn).unwrap(), vec![(1, 5)]);
        let tx = conn.transaction().unwrap();
        restart(&tx, t0()).unwrap();
        tx.commit().unwrap();
        assert_eq!(restore::epoch(&conn).unwrap(), 0);
        assert!(restore::epoch_starts(&conn).unwrap().is_empty());
        read(&mut conn, 0, &[b(1, Some("web:1"), None)], &[]);
        let keys: Vec<u64> = pending(&conn, 10, false)
            .unwrap()
            .iter()
            .map(|r| r.booking.booking_id)
            .collect();
        assert_eq!(keys, vec![1]);
    }

    #[test]
    fn an_unreadable_record_at_the_cursor_keeps_its_mark() {
        let mut conn = db();
        let page = Page {
            from: 0,
            to: 2,
            bookings: &[b(1, Some("web:1"), None)],
            unreadable: &[(2, "bad".into())],
        };
        let marks = [(2, "unreadable|ab".to_string())];
        assert!(
            append_page_marked(&mut conn, &page, &marks, &PacReaderSerials::new(), t0()).unwrap()
        );
        let mark = super::super::astrow_restore::cursor_mark(&conn).unwrap();
        assert_eq!(mark.as_deref(), Some("unreadable|ab"));
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T08:01:07+01:00")
            .unwrap()
            .to_utc()
            + chrono::TimeDelta::hours(1)
    }

    #[test]
    fn history_from_before_the_first_read_is_counted_not_stored() {
        let mut c = db();
        let now = t0() + chrono::TimeDelta::days(3);
        assert!(
            append_page(
                &mut c,
                &Page {
                    from: 0,
                    to: 2,
                    bookings: &[b(1, None, None), b(2, Some("web:2"), None)],
                    unreadable: &[]
                },
                &PacReaderSerials::new(),
                now
            )
            .unwrap()
        );
        let mut fresh = b(3, None, None);
        fresh.time = now.fixed_offset();
        // The floor stays where the first page put it.
        assert!(
            append_page(
                &mut c,
                &Page {
                    from: 2,
                    to: 3,
                    bookings: &[fresh],
                    unreadable: &[]
                },
                &PacReaderSerials::new(),
                now + chrono::TimeDelta::days(9)
            )
            .unwrap()
        );
        let t = tally(&c, false).unwrap();
        assert_eq!(
            (t.older_than_start, t.pending, t.after_booking_id),
            (2, 1, 3)
        );
    }

    #[test]
    fn unlinked_employees_wait_out_of_the_senders_way_until_linked() {
        let mut c = db();
        c.execute("INSERT INTO links VALUES (10001, 1001)", [])
            .unwrap();
        let mut not_hex = b(5, None, None);
        not_hex.badge_no = "no badge".into();
        let page = [
            b(1, None, Some(1002)),
            b(2, None, Some(1001)),
            b(3, None, None),
            b(4, None, Some(1002)),
            not_hex,
        ];
        assert!(
            append_page(
                &mut c,
                &Page {
                    from: 0,
                    to: 5,
                    bookings: &page,
                    unreadable: &[]
                },
                &PacReaderSerials::new(),
                t0()
            )
            .unwrap()
        );
        let ids = |c: &Connection, pac_ids| {
            pending(c, 10, pac_ids)
                .unwrap()
                .iter()
                .map(|r| r.booking.booking_id)
                .collect::<Vec<_>>()
        };
        // Astrow master: a real badge of no employee goes by badge.
        assert_eq!(ids(&c, false), [2, 3]);
        assert_eq!(tally(&c, false).unwrap().waiting, 3);
        // PAC master: Astrow's badge numbers are PAC ids, not badges.
        assert_eq!(ids(&c, true), [2]);
        assert_eq!(tally(&c, true).unwrap().waiting, 4);
        // Held rows do not fill the batch: the one behind them goes.
        assert_eq!(pending(&c, 1, false).unwrap()[0].booking.booking_id, 2);
        c.execute("INSERT INTO links VALUES (10002, 1002)", [])
            .unwrap();
        assert_eq!(ids(&c, true), [1, 2, 4]);
        assert_eq!(tally(&c, true).unwrap().waiting, 2);
    }

    fn b(id: u64, source: Option<&str>, pers_no: Option<u64>) -> AstrowOwnBooking {
        AstrowOwnBooking {
            booking_id: id,
            source_id: source.map(str::to_string),
            pers_no: pers_no.map(PersNo),
            badge_no: "10231".into(),
            time: DateTime::parse_from_rfc3339("2026-11-28T08:01:07+01:00").unwrap(),
            terminal_kind: "web".into(),
            terminal_serial: None,
            direction: Some(Direction::In),
        }
    }

    #[test]
    fn a_page_moves_the_cursor_with_its_rows_and_pac_bookings_are_only_counted() {
        let mut c = db();
        c.execute("INSERT INTO links VALUES (10001, 1001)", [])
            .unwrap();
        let page = [
            b(1, Some("pac:1:5"), Some(1001)),
            b(2, Some("web:1"), Some(1001)),
            b(3, None, None),
        ];
        assert!(
            append_page(
                &mut c,
                &Page {
                    from: 0,
                    to: 4,
                    bookings: &page,
                    unreadable: &[(4, "bad".into())]
                },
                &PacReaderSerials::new(),
                t0()
            )
            .unwrap()
        );
        assert_eq!(cursor(&c).unwrap(), (4, 1));
        // The same page again, read after the old cursor: refused, nothing doubled.
        assert!(
            !append_page(
                &mut c,
                &Page {
                    from: 0,
                    to: 4,
                    bookings: &page,
                    unreadable: &[]
                },
                &PacReaderSerials::new(),
                t0()
            )
            .unwrap()
        );
        let p = pending(&c, 10, false).unwrap();
        assert_eq!(
            p.iter().map(|r| r.booking.booking_id).collect::<Vec<_>>(),
            [2, 3]
        );
        assert_eq!(p[0].linked_pac_id, Some(PacId(10001)));
        assert_eq!(p[1].linked_pac_id, None);
        record_outcomes(
            &mut c,
            &[
                (2, ExternalOutcome::Stored { seq: 9 }),
                (
                    3,
                    ExternalOutcome::Rejected {
                        reason: "no keyholder".into(),
                    },
                ),
            ],
            Utc::now(),
        )
        .unwrap();
        // A later answer does not overwrite the first.
        record_outcomes(
            &mut c,
            &[(2, ExternalOutcome::Duplicate { seq: 9 })],
            Utc::now(),
        )
        .unwrap();
        let t = tally(&c, false).unwrap();
        assert_eq!(
            (t.pending, t.stored, t.rejected, t.unreadable, t.from_pac),
            (0, 1, 1, 1, 1)
        );
        let r = recent(&c, 10).unwrap();
        assert_eq!(
            r[0].state,
            RowState::Unreadable {
                reason: "bad".into()
            }
        );
        assert_eq!(
            r[1].state,
            RowState::Answered(ExternalOutcome::Rejected {
                reason: "no keyholder".into()
            })
        );
        assert_eq!(
            r[2].state,
            RowState::Answered(ExternalOutcome::Stored { seq: 9 })
        );
    }

    #[test]
    fn trimming_removes_old_stored_rows_only() {
        let mut c = db();
        let page: Vec<_> = (1..=4).map(|i| b(i, None, None)).collect();
        append_page(
            &mut c,
            &Page {
                from: 0,
                to: 4,
                bookings: &page,
                unreadable: &[],
            },
            &PacReaderSerials::new(),
            t0(),
        )
        .unwrap();
        let old = Utc::now() - chrono::TimeDelta::days(100);
        record_outcomes(
            &mut c,
            &[
                (1, ExternalOutcome::Stored { seq: 1 }),
                (2, ExternalOutcome::Rejected { reason: "r".into() }),
            ],
            old,
        )
        .unwrap();
        record_outcomes(
            &mut c,
            &[(3, ExternalOutcome::Duplicate { seq: 3 })],
            Utc::now(),
        )
        .unwrap();
        let cut = Utc::now() - chrono::TimeDelta::days(90);
        assert_eq!(trim(&mut c, cut, 100).unwrap(), 1);
        let left: Vec<u64> = recent(&c, 10)
            .unwrap()
            .iter()
            .map(|r| r.booking.booking_id)
            .collect();
        assert_eq!(left, [4, 3, 2]);
        assert_eq!(cursor(&c).unwrap().0, 4, "the cursor stays");
    }

    #[test]
    fn attempts_count_only_pending_rows() {
        let mut c = db();
        append_page(
            &mut c,
            &Page {
                from: 0,
                to: 2,
                bookings: &[b(1, None, None), b(2, None, None)],
                unreadable: &[],
            },
            &PacReaderSerials::new(),
            t0(),
        )
        .unwrap();
        record_outcomes(
            &mut c,
            &[(1, ExternalOutcome::Stored { seq: 1 })],
            Utc::now(),
        )
        .unwrap();
        count_attempt(&mut c, &[1, 2]).unwrap();
        let r = recent(&c, 10).unwrap();
        assert_eq!((r[0].attempts, r[1].attempts), (1, 0));
    }

    fn file(id: u64, serial: Option<&str>) -> AstrowOwnBooking {
        AstrowOwnBooking {
            source_id: Some(format!("IO-{id}")),
            terminal_kind: "file".into(),
            terminal_serial: serial.map(str::to_string),
            ..b(id, None, Some(1001))
        }
    }

    #[test]
    fn file_bookings_at_a_pac_reader_are_counted_as_from_pac_and_others_stored() {
        let mut c = db();
        let pac_readers: PacReaderSerials = ["R-0012".to_string()].into();
        let page = [
            // The old Astrow IO Service's booking of a PAC swipe.
            file(1, Some("R-0012")),
            // Another File terminal import: Astrow's own.
            file(2, Some("CLOCK-9")),
            file(3, None),
            // A PAC reader's serial on another kind of terminal.
            AstrowOwnBooking {
                terminal_serial: Some("R-0012".into()),
                ..b(4, None, Some(1001))
            },
        ];
        let read = Page {
            from: 0,
            to: 4,
            bookings: &page,
            unreadable: &[],
        };
        assert!(append_page(&mut c, &read, &pac_readers, t0()).unwrap());
        let t = tally(&c, false).unwrap();
        assert_eq!((t.from_pac, t.pending), (1, 3));
        let kept: Vec<(u64, Option<String>)> = recent(&c, 10)
            .unwrap()
            .into_iter()
            .map(|r| (r.booking.booking_id, r.booking.terminal_serial))
            .collect();
        assert_eq!(
            kept,
            [
                (4, Some("R-0012".into())),
                (3, None),
                (2, Some("CLOCK-9".into()))
            ]
        );
    }

    #[test]
    fn abandoned_rows_are_trimmed_after_the_retention() {
        let mut c = db();
        for (id, days) in [(1, 100), (2, 100), (3, 10)] {
            c.execute(
                "INSERT INTO astrow_ledger_abandoned (booking_id, badge_no, time, terminal_kind,
                 attempts, read_at, reason, abandoned_at) VALUES (?1, '1', 't', 'web', 0, 'r', 'x', ?2)",
                params![id, ts(Utc::now() - chrono::TimeDelta::days(days))],
            )
            .unwrap();
        }
        let cut = Utc::now() - chrono::TimeDelta::days(90);
        assert_eq!(trim_abandoned(&mut c, cut, 1).unwrap(), 1, "in batches");
        assert_eq!(trim_abandoned(&mut c, cut, 10).unwrap(), 1);
        assert_eq!(trim_abandoned(&mut c, cut, 10).unwrap(), 0);
        let left: i64 = c
            .query_row("SELECT booking_id FROM astrow_ledger_abandoned", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(left, 3);
    }

    /// The counts kept in memory follow every write (a page, answers, a
    /// trim): they equal the ledger's counted again.
    #[test]
    fn the_counts_kept_in_memory_equal_the_ledgers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a2p.db");
        let mut c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE links (pac_id INTEGER NOT NULL UNIQUE, pers_no INTEGER NOT NULL UNIQUE);
             CREATE TABLE sequence_resets (id INTEGER PRIMARY KEY);",
        )
        .unwrap();
        c.execute_batch(MIGRATION).unwrap();
        c.execute_batch(MIGRATION_SERIAL).unwrap();
        c.execute_batch(super::super::astrow_restore::MIGRATION)
            .unwrap();
        let memory = |c: &Connection| {
            let mut t = super::super::astrow_tally::current(c).unwrap();
            pending_details(c, &mut t, false).unwrap();
            t
        };
        assert_eq!(memory(&c), tally(&c, false).unwrap());
        let pac_readers: PacReaderSerials = ["R-1".to_string()].into();
        let page: Vec<_> = (1..=6).map(|i| b(i, None, None)).collect();
        let mut with_pac = page.clone();
        with_pac.push(file(7, Some("R-1")));
        let read = Page {
            from: 0,
            to: 8,
            bookings: &with_pac,
            unreadable: &[(8, "bad".into())],
        };
        append_page(&mut c, &read, &pac_readers, t0()).unwrap();
        // The same page again (refused) and rows answered twice move nothing.
        append_page(&mut c, &read, &pac_readers, t0()).unwrap();
        let old = Utc::now() - chrono::TimeDelta::days(100);
        let answers = [
            (1, ExternalOutcome::Stored { seq: 1 }),
            (2, ExternalOutcome::Duplicate { seq: 2 }),
            (3, ExternalOutcome::Rejected { reason: "r".into() }),
        ];
        record_outcomes(&mut c, &answers, old).unwrap();
        record_outcomes(&mut c, &answers, old).unwrap();
        assert_eq!(memory(&c), tally(&c, false).unwrap());
        trim(&mut c, Utc::now() - chrono::TimeDelta::days(90), 100).unwrap();
        let t = memory(&c);
        assert_eq!(t, tally(&c, false).unwrap());
        assert_eq!(
            (
                t.pending,
                t.stored,
                t.duplicate,
                t.rejected,
                t.unreadable,
                t.from_pac
            ),
            (3, 0, 0, 1, 1, 1)
        );
        // A write behind the tally's back is seen once it is forgotten.
        c.execute("DELETE FROM astrow_ledger WHERE state = 'rejected'", [])
            .unwrap();
        super::super::astrow_tally::forget(&c);
        assert_eq!(memory(&c).rejected, 0);
    }
}
