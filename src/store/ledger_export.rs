//! The booking ledger read for payroll cut-off: every PAC event of a time
//! window, in seq order, with what became of it in Astrow. Rows are handed
//! to the caller one at a time (a month of a large site is never held in
//! memory whole).

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;

use super::ledger::LedgerError;

/// One exported event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportRow {
    /// PAC's event seq, and the epoch of PAC's sequence it belongs to (0
    /// until PAC's sequence was reset; see `bookings reset-cursor`).
    pub seq: u64,
    pub epoch: u32,
    /// The controller's time, with its offset, as PAC gave it.
    pub time: String,
    pub event_type: String,
    pub reader_id: Option<u32>,
    pub reader_serial: Option<String>,
    pub badge_number: Option<String>,
    /// PAC's employee id, and the linked Astrow personnel number.
    pub employee_id: Option<u64>,
    pub pers_no: Option<u64>,
    pub direction: Option<String>,
    /// processed, queued, duplicate, rejected, waiting, not a booking.
    pub outcome: String,
    pub booking_id: Option<u64>,
    /// Why: Astrow's reason for a rejection, why an event is not a booking.
    pub reason: String,
    pub attempts: u32,
    pub answered_at: Option<String>,
}

/// What became of an event, from its ledger kind and state, and why.
pub fn outcome(
    kind: &str,
    event_type: &str,
    state: &str,
    reason: Option<&str>,
) -> (String, String) {
    let why = reason.unwrap_or_default().to_string();
    match (kind, state) {
        ("booking", "pending") => ("waiting".into(), "not sent to Astrow yet".into()),
        ("booking", "rejected") => ("rejected".into(), why),
        ("booking", "duplicate") if why.is_empty() => (
            "duplicate".into(),
            "Astrow already held this source_id: a send whose reply was lost had stored it; one booking"
                .into(),
        ),
        ("booking", s) => (s.to_string(), why),
        ("roll_call", _) => ("not a booking".into(), "roll-call confirmation".into()),
        (_, _) if event_type != "access_granted" => (
            "not a booking".into(),
            format!("{event_type} is not an access granted"),
        ),
        _ => (
            "not a booking".into(),
            "the reader does not book (bookings off, or reader set to booking = false, or unknown reader)"
                .into(),
        ),
    }
}

/// Call `each` with every event whose time is in `[from, to)`, in seq order.
/// Returns how many there were.
pub fn for_each_in_window(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    mut each: impl FnMut(ExportRow) -> Result<(), LedgerError>,
) -> Result<u64, LedgerError> {
    // Event times carry the controller's offset (at most 14 h from UTC), so
    // their text is compared against bounds widened by a day, then each
    // row's instant exactly.
    let wide = |t: DateTime<Utc>, d: i64| {
        (t + Duration::days(d))
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string()
    };
    let mut n = 0;
    query_rows(
        conn,
        "WHERE l.time >= ?1 AND l.time < ?2 ORDER BY l.seq",
        params![wide(from, -1), wide(to, 1)],
        |row, at| {
            if at < from || at >= to {
                return Ok(());
            }
            n += 1;
            each(row)
        },
    )?;
    Ok(n)
}

/// The events whose ledger key (epoch and seq, `seq_reset::ledger_key`) is
/// `key` or whose Astrow booking id is `booking_id` (a trace: at most a few
/// rows), in seq order.
pub fn find(
    conn: &Connection,
    key: Option<u64>,
    booking_id: Option<u64>,
) -> Result<Vec<ExportRow>, LedgerError> {
    let mut out = Vec::new();
    query_rows(
        conn,
        "WHERE l.seq = ?1 OR l.booking_id = ?2 ORDER BY l.seq",
        params![key, booking_id],
        |row, _| {
            out.push(row);
            Ok(())
        },
    )?;
    Ok(out)
}

fn query_rows(
    conn: &Connection,
    tail: &str,
    p: impl rusqlite::Params,
    mut each: impl FnMut(ExportRow, DateTime<chrono::FixedOffset>) -> Result<(), LedgerError>,
) -> Result<(), LedgerError> {
    let sql = |context: &'static str| move |source| LedgerError::Sql { context, source };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT l.seq, l.time, l.event_type, l.reader_id, l.reader_serial, l.badge_number,
                    l.employee_id, k.pers_no, l.kind, l.direction, l.state, l.booking_id,
                    l.reason, l.attempts, l.answered_at
             FROM ledger l LEFT JOIN links k ON k.pac_id = l.employee_id {tail}"
        ))
        .map_err(sql("prepare the ledger read"))?;
    let mut rows = stmt.query(p).map_err(sql("read the ledger"))?;
    while let Some(r) = rows.next().map_err(sql("read a ledger event"))? {
        let (row, at) = read_row(r).map_err(sql("read a ledger event"))?;
        let at = at.map_err(|detail| LedgerError::Corrupt {
            seq: row.seq,
            detail,
        })?;
        each(row, at)?;
    }
    Ok(())
}

type Instant = Result<DateTime<chrono::FixedOffset>, String>;

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ExportRow, Instant)> {
    let time: String = r.get(1)?;
    let at = DateTime::parse_from_rfc3339(&time).map_err(|e| format!("time {time:?}: {e}"));
    let kind: String = r.get(8)?;
    let event_type: String = r.get(2)?;
    let state: String = r.get(10)?;
    let reason: Option<String> = r.get(12)?;
    let (outcome, reason) = outcome(&kind, &event_type, &state, reason.as_deref());
    let key: u64 = r.get(0)?;
    let (epoch, seq) = super::seq_reset::split_key(crate::model::Seq(key));
    let row = ExportRow {
        seq: seq.0,
        epoch,
        time,
        event_type,
        reader_id: r.get(3)?,
        reader_serial: r.get(4)?,
        badge_number: r.get(5)?,
        employee_id: r.get(6)?,
        pers_no: r.get(7)?,
        direction: r.get(9)?,
        outcome,
        booking_id: r.get(11)?,
        reason,
        attempts: r.get(13)?,
        answered_at: r.get(14)?,
    };
    Ok((row, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_say_what_became_of_each_event() {
        let o = |k, t, s, r| outcome(k, t, s, r);
        assert_eq!(o("booking", "access_granted", "pending", None).0, "waiting");
        assert_eq!(
            o(
                "booking",
                "access_granted",
                "rejected",
                Some("unknown badge")
            ),
            ("rejected".into(), "unknown badge".into())
        );
        assert_eq!(
            o("booking", "access_granted", "processed", None).0,
            "processed"
        );
        assert_eq!(o("booking", "access_granted", "queued", None).0, "queued");
        let (what, why) = o("booking", "access_granted", "duplicate", None);
        assert_eq!(what, "duplicate");
        assert!(why.contains("reply was lost"), "{why}");
        let (what, why) = o("feed", "access_denied_time", "none", None);
        assert_eq!(what, "not a booking");
        assert!(why.contains("access_denied_time"), "{why}");
        let (_, why) = o("feed", "access_granted", "none", None);
        assert!(why.contains("reader"), "{why}");
        assert_eq!(
            o("roll_call", "access_granted", "none", None).0,
            "not a booking"
        );
    }
}
