//! The booking ledger: every PAC event read, written together with the
//! advanced cursor in one transaction before anything is sent; Astrow's
//! answer per booking; recorded gaps in PAC's event history.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::model::{BookingStatus, Direction, Event, EventType, PacId, Seq};

/// Schema of the ledger (a migration of the store).
pub const MIGRATION: &str = "
CREATE TABLE ledger (
    seq           INTEGER PRIMARY KEY,
    time          TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    reader_id     INTEGER,
    reader_serial TEXT,
    badge_number  TEXT,
    employee_id   INTEGER,
    kind          TEXT NOT NULL CHECK (kind IN ('booking', 'feed', 'roll_call')),
    direction     TEXT,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'processed', 'queued', 'duplicate', 'rejected', 'none')),
    badge_no      TEXT,
    booking_id    INTEGER,
    reason        TEXT,
    read_at       TEXT NOT NULL,
    answered_at   TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ledger_pending ON ledger(seq) WHERE state = 'pending';
CREATE TABLE event_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL
);
CREATE TABLE roll_call (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    started_at TEXT NOT NULL
);
CREATE TABLE event_gaps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    from_seq    INTEGER NOT NULL,
    to_seq      INTEGER NOT NULL,
    detected_at TEXT NOT NULL
);
";

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("booking ledger: {context}: {source}")]
    Sql {
        context: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("booking ledger: the cursor would go back from {current} to {proposed}; refused")]
    CursorBackwards { current: u64, proposed: u64 },
    #[error("booking ledger: entry {seq} holds a value that cannot be read back: {detail}")]
    Corrupt { seq: u64, detail: String },
    #[error(transparent)]
    Db(#[from] super::db::DbError),
    /// The Astrow -> PAC ledger (read beside this one for the roll call).
    #[error(transparent)]
    AstrowToPac(#[from] super::astrow_ledger::AstrowLedgerError),
}

/// UTC stamps in one fixed width, so that text order is time order.
fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> LedgerError {
    move |source| LedgerError::Sql { context, source }
}

/// What an event becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A T&A booking to send to Astrow.
    Booking { direction: Option<Direction> },
    /// Shown in the feed only.
    Feed,
    /// A roll-call confirmation.
    RollCall,
}

/// One event read from PAC, classified, ready for the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub event: Event,
    pub reader_serial: Option<String>,
    pub kind: EntryKind,
}

/// A ledger row as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub seq: Seq,
    pub time: DateTime<FixedOffset>,
    pub event_type: EventType,
    pub reader_id: Option<u32>,
    pub reader_serial: Option<String>,
    pub badge_number: Option<String>,
    pub employee_id: Option<PacId>,
    pub kind: EntryKind,
    /// `None` while pending or when not a booking.
    pub status: Option<BookingStatus>,
    pub badge_no: Option<String>,
    pub read_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub attempts: u32,
}

/// The cursor: the highest seq whose event is in the ledger (0 = none yet).
pub fn cursor(conn: &Connection) -> Result<Seq, LedgerError> {
    let v: Option<u64> = conn
        .query_row("SELECT last_seq FROM event_cursor WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(sql("read the cursor"))?;
    Ok(Seq(v.unwrap_or(0)))
}

fn set_cursor(conn: &Connection, seq: Seq) -> Result<(), LedgerError> {
    let current = cursor(conn)?;
    if seq < current {
        return Err(LedgerError::CursorBackwards {
            current: current.0,
            proposed: seq.0,
        });
    }
    conn.execute(
        "INSERT INTO event_cursor (id, last_seq) VALUES (1, ?1)
         ON CONFLICT(id) DO UPDATE SET last_seq = excluded.last_seq",
        params![seq.0],
    )
    .map_err(sql("advance the cursor"))?;
    Ok(())
}

/// Write a page of events and advance the cursor to the highest seq among
/// them, in one transaction. Events already in the ledger (PAC sent them
/// twice) are ignored. Returns how many were new.
pub fn append_page(
    conn: &mut Connection,
    entries: &[NewEntry],
    read_at: DateTime<Utc>,
) -> Result<usize, LedgerError> {
    append_page_checked(conn, None, entries, &[], read_at).map(|n| n.map_or(0, |p| p.added))
}

/// Where a page was read from: the cursor it was asked after, in the epoch
/// of that moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadPoint {
    pub cursor: Seq,
    pub epoch: u32,
}

/// The cursor and epoch a page read now would be read after.
pub fn read_point(conn: &Connection) -> Result<ReadPoint, LedgerError> {
    Ok(ReadPoint {
        cursor: cursor(conn)?,
        epoch: super::seq_reset::epoch(conn)?,
    })
}

/// [`append_page`] of a page read after `from`; `None` (nothing written)
/// when the cursor or the epoch moved since (a reset-cursor while the page
/// was fetched): the page belongs to the old cursor and is read again.
///
/// `unreadable` are the events of the page PAC sent that could not be read:
/// each is recorded as a gap of one event in the same transaction and the
/// cursor goes past it too, so a reset of the cursor between the two can
/// never be undone by them. `None` when the cursor or epoch moved since
/// `from` (nothing written).
pub fn append_page_after(
    conn: &mut Connection,
    from: ReadPoint,
    entries: &[NewEntry],
    unreadable: &[(Seq, String)],
    read_at: DateTime<Utc>,
) -> Result<Option<PageStored>, LedgerError> {
    append_page_checked(conn, Some(from), entries, unreadable, read_at)
}

/// What storing a page did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageStored {
    /// Events new to the ledger.
    pub added: usize,
    /// Unreadable events recorded as gaps (not seen before).
    pub passed: Vec<Seq>,
}

fn append_page_checked(
    conn: &mut Connection,
    from: Option<ReadPoint>,
    entries: &[NewEntry],
    unreadable: &[(Seq, String)],
    read_at: DateTime<Utc>,
) -> Result<Option<PageStored>, LedgerError> {
    super::tally::write(conn, |c| {
        append_page_in(c, from, entries, unreadable, read_at)
    })
}

fn append_page_in(
    conn: &mut Connection,
    from: Option<ReadPoint>,
    entries: &[NewEntry],
    unreadable: &[(Seq, String)],
    read_at: DateTime<Utc>,
) -> Result<(Option<PageStored>, super::tally::Delta), LedgerError> {
    let mut delta = super::tally::Delta::default();
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("begin a page"))?;
    if let Some(f) = from
        && read_point(&tx)? != f
    {
        return Ok((None, delta));
    }
    let epoch = super::seq_reset::epoch(&tx)?;
    let mut added = 0;
    let read_at_text = ts(read_at);
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO ledger
                 (seq, time, event_type, reader_id, reader_serial, badge_number, employee_id,
                  kind, direction, state, read_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .map_err(sql("prepare the page insert"))?;
        for e in entries {
            let (kind, direction, state) = match e.kind {
                EntryKind::Booking { direction } => {
                    ("booking", direction.map(|d| d.as_str()), "pending")
                }
                EntryKind::Feed => ("feed", None, "none"),
                EntryKind::RollCall => ("roll_call", None, "none"),
            };
            let n = stmt
                .execute(params![
                    super::seq_reset::ledger_key(epoch, e.event.seq).0,
                    e.event.time.to_rfc3339(),
                    e.event.event_type.as_str(),
                    e.event.reader_id,
                    e.reader_serial,
                    e.event.badge_number,
                    e.event.employee_id.map(|p| p.0),
                    kind,
                    direction,
                    state,
                    read_at_text,
                ])
                .map_err(sql("insert an event"))?;
            if n > 0 {
                delta.add(state, n as i64);
            }
            added += n;
        }
    }
    let after = cursor(&tx)?;
    let passed = super::booking_waits::record_unreadable(&tx, after, unreadable, read_at)?;
    let read = entries.iter().map(|e| e.event.seq);
    if let Some(max) = read.chain(passed.iter().copied()).max()
        && max > after
    {
        set_cursor(&tx, max)?;
    }
    tx.commit().map_err(sql("commit a page"))?;
    delta.read = Some((read_at, added as u64));
    Ok((Some(PageStored { added, passed }), delta))
}

/// PAC no longer holds events after the cursor (410): record the gap
/// `cursor+1 ..= oldest_seq-1` and move the cursor to `oldest_seq - 1`, so
/// reading resumes from the oldest event PAC still has. One transaction.
pub fn record_gap(
    conn: &mut Connection,
    oldest_seq: Seq,
    at: DateTime<Utc>,
) -> Result<Option<(Seq, Seq)>, LedgerError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("begin a gap"))?;
    let current = cursor(&tx)?;
    let from = current.0 + 1;
    let to = oldest_seq.0.saturating_sub(1);
    let gap = if to >= from {
        tx.execute(
            "INSERT INTO event_gaps (from_seq, to_seq, detected_at) VALUES (?1, ?2, ?3)",
            params![from, to, ts(at)],
        )
        .map_err(sql("record a gap"))?;
        set_cursor(&tx, Seq(to))?;
        Some((Seq(from), Seq(to)))
    } else {
        None
    };
    tx.commit().map_err(sql("commit a gap"))?;
    Ok(gap)
}

/// Every recorded gap, oldest first: `(from, to, detected_at)`.
pub fn gaps(conn: &Connection) -> Result<Vec<(Seq, Seq, DateTime<Utc>)>, LedgerError> {
    let mut stmt = conn
        .prepare_cached("SELECT from_seq, to_seq, detected_at FROM event_gaps ORDER BY id")
        .map_err(sql("list gaps"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, u64>(0)?,
                r.get::<_, u64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(sql("list gaps"))?;
    let mut out = Vec::new();
    for row in rows {
        let (f, t, at) = row.map_err(sql("read a gap"))?;
        let at = DateTime::parse_from_rfc3339(&at)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| LedgerError::Corrupt {
                seq: f,
                detail: e.to_string(),
            })?;
        out.push((Seq(f), Seq(t), at));
    }
    Ok(out)
}

/// The oldest pending bookings, in seq order, at most `limit`.
pub fn pending(conn: &Connection, limit: usize) -> Result<Vec<Entry>, LedgerError> {
    query_entries(
        conn,
        "WHERE state = 'pending' ORDER BY seq LIMIT ?1",
        params![limit as i64],
    )
}

/// The newest `limit` entries of any kind, newest last.
pub fn recent(conn: &Connection, limit: usize) -> Result<Vec<Entry>, LedgerError> {
    let mut v = query_entries(conn, "ORDER BY seq DESC LIMIT ?1", params![limit as i64])?;
    v.reverse();
    Ok(v)
}

/// One entry by seq.
pub fn get(conn: &Connection, seq: Seq) -> Result<Option<Entry>, LedgerError> {
    Ok(query_entries(conn, "WHERE seq = ?1", params![seq.0])?
        .into_iter()
        .next())
}

const COLUMNS: &str = "seq, time, event_type, reader_id, reader_serial, badge_number, employee_id,
    kind, direction, state, badge_no, booking_id, reason, read_at, answered_at, attempts";

type RawRow = (
    u64,
    String,
    String,
    Option<u32>,
    Option<String>,
    Option<String>,
    Option<u64>,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<u64>,
    Option<String>,
    String,
    Option<String>,
    u32,
);

pub(crate) fn query_entries(
    conn: &Connection,
    tail: &str,
    p: impl rusqlite::Params,
) -> Result<Vec<Entry>, LedgerError> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM ledger {tail}"))
        .map_err(sql("query entries"))?;
    let rows = stmt
        .query_map(p, |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
                r.get(11)?,
                r.get(12)?,
                r.get(13)?,
                r.get(14)?,
                r.get(15)?,
            ))
        })
        .map_err(sql("query entries"))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(decode(row.map_err(sql("read an entry"))?)?);
    }
    Ok(out)
}

fn decode(r: RawRow) -> Result<Entry, LedgerError> {
    let (
        seq,
        time,
        event_type,
        reader_id,
        reader_serial,
        badge_number,
        employee_id,
        kind,
        direction,
        state,
        badge_no,
        booking_id,
        reason,
        read_at,
        answered_at,
        attempts,
    ) = r;
    let corrupt = |detail: String| LedgerError::Corrupt { seq, detail };
    let time = DateTime::parse_from_rfc3339(&time).map_err(|e| corrupt(e.to_string()))?;
    let event_type = EventType::ALL
        .into_iter()
        .find(|t| t.as_str() == event_type)
        .ok_or_else(|| corrupt(format!("event type {event_type}")))?;
    let direction = match direction.as_deref() {
        None => None,
        Some("in") => Some(Direction::In),
        Some("out") => Some(Direction::Out),
        Some("none") => Some(Direction::None),
        Some(other) => return Err(corrupt(format!("direction {other}"))),
    };
    let kind = match kind.as_str() {
        "booking" => EntryKind::Booking { direction },
        "feed" => EntryKind::Feed,
        "roll_call" => EntryKind::RollCall,
        other => return Err(corrupt(format!("kind {other}"))),
    };
    let id = booking_id.unwrap_or(0);
    let status = match state.as_str() {
        "pending" | "none" => None,
        "processed" => Some(BookingStatus::Processed { booking_id: id }),
        "queued" => Some(BookingStatus::Queued { booking_id: id }),
        "duplicate" => Some(BookingStatus::Duplicate { booking_id: id }),
        "rejected" => Some(BookingStatus::Rejected {
            reason: reason.unwrap_or_default(),
        }),
        other => return Err(corrupt(format!("state {other}"))),
    };
    let parse_utc = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| corrupt(e.to_string()))
    };
    Ok(Entry {
        seq: Seq(seq),
        time,
        event_type,
        reader_id,
        reader_serial,
        badge_number,
        employee_id: employee_id.map(PacId),
        kind,
        status,
        badge_no,
        read_at: parse_utc(&read_at)?,
        answered_at: answered_at.as_deref().map(parse_utc).transpose()?,
        attempts,
    })
}

/// Before a send: remember the badge number the booking goes out with and
/// count the attempt (one transaction for the batch).
pub fn mark_sending(conn: &mut Connection, batch: &[(Seq, String)]) -> Result<(), LedgerError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("begin a send"))?;
    mark_sending_in(&tx, batch)?;
    tx.commit().map_err(sql("commit a send"))
}

fn mark_sending_in(tx: &rusqlite::Transaction, batch: &[(Seq, String)]) -> Result<(), LedgerError> {
    let mut stmt = tx
        .prepare_cached(
            "UPDATE ledger SET badge_no = ?2, attempts = attempts + 1, wait_reason = NULL
             WHERE seq = ?1 AND state = 'pending'",
        )
        .map_err(sql("prepare a send"))?;
    for (seq, badge) in batch {
        stmt.execute(params![seq.0, badge])
            .map_err(sql("mark a send"))?;
    }
    Ok(())
}

/// A batch that went out `extra` more times than [`mark_sending`] counted
/// (the connector tried again after a lost reply or a refused try): each
/// booking's `attempts` says how often it was really sent.
pub fn count_resends(conn: &mut Connection, seqs: &[Seq], extra: u32) -> Result<(), LedgerError> {
    if extra == 0 || seqs.is_empty() {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("begin counting resends"))?;
    {
        let mut stmt = tx
            .prepare_cached(
                "UPDATE ledger SET attempts = attempts + ?2 WHERE seq = ?1 AND kind = 'booking'",
            )
            .map_err(sql("prepare counting resends"))?;
        for seq in seqs {
            stmt.execute(params![seq.0, extra])
                .map_err(sql("count a resend"))?;
        }
    }
    tx.commit().map_err(sql("commit counting resends"))
}

/// Store Astrow's answers, one transaction for the batch.
pub fn record_answers(
    conn: &mut Connection,
    answers: &[(Seq, BookingStatus)],
    at: DateTime<Utc>,
) -> Result<(), LedgerError> {
    record_answers_then_mark(conn, answers, at, &[])
}

/// Store Astrow's answers of one batch and mark the next batch as sent
/// ([`mark_sending`]) in one transaction: one commit per batch.
pub fn record_answers_then_mark(
    conn: &mut Connection,
    answers: &[(Seq, BookingStatus)],
    at: DateTime<Utc>,
    next: &[(Seq, String)],
) -> Result<(), LedgerError> {
    super::tally::write(conn, |c| {
        let tx = c
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin answers"))?;
        let delta = record_answers_in(&tx, answers, at)?;
        mark_sending_in(&tx, next)?;
        tx.commit().map_err(sql("commit answers"))?;
        Ok(((), delta))
    })
}

fn record_answers_in(
    tx: &rusqlite::Transaction,
    answers: &[(Seq, BookingStatus)],
    at: DateTime<Utc>,
) -> Result<super::tally::Delta, LedgerError> {
    let mut delta = super::tally::Delta::default();
    // The usual case, a pending booking answered: one statement that says
    // when it was read. Anything else is read first, then written.
    let mut from_pending = tx
        .prepare_cached(
            "UPDATE ledger SET state = ?2, booking_id = ?3, reason = ?4, answered_at = ?5
             WHERE seq = ?1 AND kind = 'booking' AND state = 'pending' RETURNING read_at",
        )
        .map_err(sql("prepare answers"))?;
    let mut before = tx
        .prepare_cached("SELECT state, read_at FROM ledger WHERE seq = ?1 AND kind = 'booking'")
        .map_err(sql("prepare answers"))?;
    let mut stmt = tx
        .prepare_cached(
            "UPDATE ledger SET state = ?2, booking_id = ?3, reason = ?4, answered_at = ?5
             WHERE seq = ?1 AND kind = 'booking'",
        )
        .map_err(sql("prepare answers"))?;
    let answered_at = ts(at);
    for (seq, status) in answers {
        let (state, id, reason) = match status {
            BookingStatus::Processed { booking_id } => ("processed", Some(*booking_id), None),
            BookingStatus::Queued { booking_id } => ("queued", Some(*booking_id), None),
            BookingStatus::Duplicate { booking_id } => ("duplicate", Some(*booking_id), None),
            BookingStatus::Rejected { reason } => ("rejected", None, Some(reason.as_str())),
        };
        let values = params![seq.0, state, id, reason, answered_at];
        let pending: Option<String> = from_pending
            .query_row(values, |r| r.get(0))
            .optional()
            .map_err(sql("record an answer"))?;
        let was = match pending {
            Some(read_at) => Some(("pending".to_string(), read_at)),
            None => {
                let was: Option<(String, String)> = before
                    .query_row(params![seq.0], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(sql("read a booking before its answer"))?;
                stmt.execute(values).map_err(sql("record an answer"))?;
                was
            }
        };
        if let Some((old, read_at)) = was {
            delta.add(&old, -1);
            delta.add(state, 1);
            delta.lags_ms.push(lag_ms(seq.0, &read_at, at)?);
        }
    }
    Ok(delta)
}

/// From reading the event off PAC (`read_at`) to Astrow's answer.
fn lag_ms(seq: u64, read_at: &str, answered: DateTime<Utc>) -> Result<u64, LedgerError> {
    let t = DateTime::parse_from_rfc3339(read_at).map_err(|e| LedgerError::Corrupt {
        seq,
        detail: e.to_string(),
    })?;
    Ok((answered - t.with_timezone(&Utc)).num_milliseconds().max(0) as u64)
}

/// Counts by state, for the snapshot and `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub events: u64,
    pub pending: u64,
    pub processed: u64,
    pub queued: u64,
    pub duplicate: u64,
    pub rejected: u64,
}

pub fn counts(conn: &Connection) -> Result<Counts, LedgerError> {
    let mut stmt = conn
        .prepare_cached("SELECT state, COUNT(*) FROM ledger GROUP BY state")
        .map_err(sql("count entries"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))
        .map_err(sql("count entries"))?;
    let mut c = Counts::default();
    for row in rows {
        let (state, n) = row.map_err(sql("count entries"))?;
        c.events += n;
        match state.as_str() {
            "pending" => c.pending = n,
            "processed" => c.processed = n,
            "queued" => c.queued = n,
            "duplicate" => c.duplicate = n,
            "rejected" => c.rejected = n,
            _ => {}
        }
    }
    Ok(c)
}

/// How many bookings wait to be sent (back-pressure on reading).
pub fn pending_count(conn: &Connection) -> Result<u64, LedgerError> {
    conn.query_row(
        "SELECT COUNT(*) FROM ledger WHERE state = 'pending'",
        [],
        |r| r.get(0),
    )
    .map_err(sql("count pending"))
}

/// Lag in milliseconds of the newest `n` answered bookings: from the moment
/// the event was read off PAC to Astrow's answer. (The event's own time is
/// the controller's clock, which may be minutes off, so it is not used.)
pub fn recent_lags_ms(conn: &Connection, n: usize) -> Result<Vec<u64>, LedgerError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, read_at, answered_at FROM ledger
             WHERE answered_at IS NOT NULL ORDER BY seq DESC LIMIT ?1",
        )
        .map_err(sql("read lags"))?;
    let rows = stmt
        .query_map(params![n as i64], |r| {
            Ok((
                r.get::<_, u64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(sql("read lags"))?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, time, answered) = row.map_err(sql("read lags"))?;
        let corrupt = |e: chrono::ParseError| LedgerError::Corrupt {
            seq,
            detail: e.to_string(),
        };
        let t = DateTime::parse_from_rfc3339(&time).map_err(corrupt)?;
        let a = DateTime::parse_from_rfc3339(&answered).map_err(corrupt)?;
        out.push((a - t).num_milliseconds().max(0) as u64);
    }
    Ok(out)
}

/// Events read since `since` (for the rate).
pub fn read_since(conn: &Connection, since: DateTime<Utc>) -> Result<u64, LedgerError> {
    conn.query_row(
        "SELECT COUNT(*) FROM ledger WHERE read_at >= ?1",
        params![ts(since)],
        |r| r.get(0),
    )
    .map_err(sql("count recent events"))
}

/// Granted swipes since `since`, oldest first (for the roll call).
pub fn granted_since(conn: &Connection, since: DateTime<Utc>) -> Result<Vec<Entry>, LedgerError> {
    query_entries(
        conn,
        // From the first row read since then (the index on read time) up
        // the primary key: no scan of what came before.
        "WHERE seq >= (SELECT MIN(seq) FROM ledger WHERE read_at >= ?1)
           AND event_type = 'access_granted' AND read_at >= ?1 ORDER BY seq",
        params![ts(since)],
    )
}

/// The running roll call's start, if one runs.
pub fn roll_call(conn: &Connection) -> Result<Option<DateTime<Utc>>, LedgerError> {
    let v: Option<String> = conn
        .query_row("SELECT started_at FROM roll_call WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(sql("read the roll call"))?;
    v.map(|s| {
        DateTime::parse_from_rfc3339(&s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| LedgerError::Corrupt {
                seq: 0,
                detail: format!("roll call start: {e}"),
            })
    })
    .transpose()
}

/// Start a roll call (keeps the start of one already running).
pub fn start_roll_call(conn: &Connection, at: DateTime<Utc>) -> Result<DateTime<Utc>, LedgerError> {
    conn.execute(
        "INSERT OR IGNORE INTO roll_call (id, started_at) VALUES (1, ?1)",
        params![ts(at)],
    )
    .map_err(sql("start the roll call"))?;
    Ok(roll_call(conn)?.unwrap_or(at))
}

pub fn stop_roll_call(conn: &Connection) -> Result<(), LedgerError> {
    conn.execute("DELETE FROM roll_call", [])
        .map_err(sql("stop the roll call"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(MIGRATION).unwrap();
        c.execute_batch(super::super::seq_reset::MIGRATION).unwrap();
        c
    }

    fn ev(seq: u64, t: EventType) -> NewEntry {
        NewEntry {
            event: Event {
                seq: Seq(seq),
                time: FixedOffset::east_opt(3600)
                    .unwrap()
                    .with_ymd_and_hms(2026, 11, 28, 8, 0, 0)
                    .unwrap(),
                event_type: t,
                reader_id: Some(12),
                badge_number: Some("00A1".into()),
                employee_id: Some(PacId(7)),
            },
            reader_serial: Some("R-0012".into()),
            kind: if t == EventType::AccessGranted {
                EntryKind::Booking {
                    direction: Some(Direction::In),
                }
            } else {
                EntryKind::Feed
            },
        }
    }

    #[test]
    fn a_page_and_its_cursor_land_together_and_duplicates_are_ignored() {
        let mut c = db();
        assert_eq!(cursor(&c).unwrap(), Seq(0));
        let page = vec![
            ev(1, EventType::AccessGranted),
            ev(2, EventType::AccessDeniedTime),
        ];
        assert_eq!(append_page(&mut c, &page, Utc::now()).unwrap(), 2);
        assert_eq!(cursor(&c).unwrap(), Seq(2));
        assert_eq!(append_page(&mut c, &page, Utc::now()).unwrap(), 0);
        let p = pending(&c, 10).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].seq, Seq(1));
        assert_eq!(
            p[0].kind,
            EntryKind::Booking {
                direction: Some(Direction::In)
            }
        );
        assert_eq!(counts(&c).unwrap().events, 2);
    }

    #[test]
    fn a_page_read_before_a_cursor_reset_is_dropped_not_stored_in_the_new_epoch() {
        let mut c = db();
        append_page(&mut c, &[ev(10, EventType::AccessGranted)], Utc::now()).unwrap();
        // The reader asks PAC for events after 10 ...
        let from = read_point(&c).unwrap();
        // ... while a person moves the cursor to 4 (a restored PAC).
        crate::store::seq_reset::reset_cursor(&mut c, Seq(4), Utc::now()).unwrap();
        let late = [
            ev(11, EventType::AccessGranted),
            ev(12, EventType::AccessGranted),
        ];
        // The page also had an unreadable event: it must not move the
        // person's cursor either (it once did, in a transaction of its own).
        let aside = [(Seq(13), "time is not a date".to_string())];
        assert_eq!(
            append_page_after(&mut c, from, &late, &aside, Utc::now()).unwrap(),
            None
        );
        assert_eq!(cursor(&c).unwrap(), Seq(4), "the person's cursor stands");
        assert_eq!(counts(&c).unwrap().events, 1, "nothing written");
        assert!(gaps(&c).unwrap().is_empty(), "no gap recorded");
        // Read again after the new cursor: stored, the unreadable one passed.
        let from = read_point(&c).unwrap();
        let page = [ev(5, EventType::AccessGranted)];
        let aside = [(Seq(6), "time is not a date".to_string())];
        assert_eq!(
            append_page_after(&mut c, from, &page, &aside, Utc::now()).unwrap(),
            Some(PageStored {
                added: 1,
                passed: vec![Seq(6)]
            })
        );
        assert_eq!(cursor(&c).unwrap(), Seq(6), "past the unreadable event");
        assert_eq!(gaps(&c).unwrap().len(), 1);
        // At or below the cursor (PAC answering with an old event): nothing.
        let from = read_point(&c).unwrap();
        let stored = append_page_after(&mut c, from, &[], &aside, Utc::now()).unwrap();
        assert_eq!(stored.map(|p| p.passed), Some(vec![]));
        assert_eq!(gaps(&c).unwrap().len(), 1);
    }

    #[test]
    fn an_unreadable_event_after_a_reset_is_recorded_even_where_the_old_epoch_had_a_gap() {
        let mut c = db();
        let bad = |seq| [(Seq(seq), "time is not a date".to_string())];
        append_page(&mut c, &[ev(5, EventType::AccessGranted)], Utc::now()).unwrap();
        let from = read_point(&c).unwrap();
        append_page_after(&mut c, from, &[], &bad(6), Utc::now()).unwrap();
        assert_eq!(cursor(&c).unwrap(), Seq(6));
        // PAC restored from a backup; a person moves the cursor to 5.
        crate::store::seq_reset::reset_cursor(&mut c, Seq(5), Utc::now()).unwrap();
        // The new PAC's event 6 is unreadable too: another event, another gap,
        // and the cursor goes past it (it stopped at 5 and read 6 for ever).
        let from = read_point(&c).unwrap();
        let stored = append_page_after(&mut c, from, &[], &bad(6), Utc::now()).unwrap();
        assert_eq!(stored.map(|p| p.passed), Some(vec![Seq(6)]));
        assert_eq!(cursor(&c).unwrap(), Seq(6));
        assert_eq!(gaps(&c).unwrap().len(), 2);
    }

    #[test]
    fn the_cursor_never_goes_back() {
        let mut c = db();
        append_page(&mut c, &[ev(5, EventType::AccessGranted)], Utc::now()).unwrap();
        // An older event arriving late is stored, the cursor stays.
        append_page(&mut c, &[ev(3, EventType::AccessGranted)], Utc::now()).unwrap();
        assert_eq!(cursor(&c).unwrap(), Seq(5));
        assert!(matches!(
            set_cursor(&c, Seq(4)),
            Err(LedgerError::CursorBackwards { .. })
        ));
    }

    #[test]
    fn answers_are_recorded_and_rejected_ones_keep_their_reason() {
        let mut c = db();
        let page: Vec<_> = (1..=3).map(|s| ev(s, EventType::AccessGranted)).collect();
        append_page(&mut c, &page, Utc::now()).unwrap();
        mark_sending(&mut c, &[(Seq(1), "10231".into()), (Seq(2), "X".into())]).unwrap();
        record_answers(
            &mut c,
            &[
                (Seq(1), BookingStatus::Processed { booking_id: 9 }),
                (
                    Seq(2),
                    BookingStatus::Rejected {
                        reason: "closed pay period".into(),
                    },
                ),
            ],
            Utc::now(),
        )
        .unwrap();
        let e1 = get(&c, Seq(1)).unwrap().unwrap();
        assert_eq!(e1.status, Some(BookingStatus::Processed { booking_id: 9 }));
        assert_eq!(e1.badge_no.as_deref(), Some("10231"));
        assert_eq!(e1.attempts, 1);
        let e2 = get(&c, Seq(2)).unwrap().unwrap();
        assert_eq!(
            e2.status,
            Some(BookingStatus::Rejected {
                reason: "closed pay period".into()
            })
        );
        assert_eq!(pending_count(&c).unwrap(), 1);
        let n = counts(&c).unwrap();
        assert_eq!((n.processed, n.rejected, n.pending), (1, 1, 1));
    }

    #[test]
    fn a_gap_is_recorded_and_the_cursor_moves_to_the_oldest_kept_event() {
        let mut c = db();
        append_page(&mut c, &[ev(10, EventType::AccessGranted)], Utc::now()).unwrap();
        let g = record_gap(&mut c, Seq(50), Utc::now()).unwrap();
        assert_eq!(g, Some((Seq(11), Seq(49))));
        assert_eq!(cursor(&c).unwrap(), Seq(49));
        assert_eq!(gaps(&c).unwrap().len(), 1);
        // Nothing missing: no gap.
        assert_eq!(record_gap(&mut c, Seq(50), Utc::now()).unwrap(), None);
    }

    #[test]
    fn recent_lists_newest_last() {
        let mut c = db();
        let page: Vec<_> = (1..=5).map(|s| ev(s, EventType::AccessGranted)).collect();
        append_page(&mut c, &page, Utc::now()).unwrap();
        let r = recent(&c, 2).unwrap();
        assert_eq!(r.iter().map(|e| e.seq.0).collect::<Vec<_>>(), vec![4, 5]);
    }
}
