//! Every query the booking import runs on a timer or on every change (the
//! monitor's view, the reader's back-pressure check, the sender's round, the
//! retention trim) is recorded as the real code runs it on a ledger of
//! thousands of rows, then its plan is read with `EXPLAIN QUERY PLAN`: none
//! may scan the whole ledger. A scan of the table is allowed only as a
//! short walk down the primary key that stops at its `LIMIT` (checked by
//! running it and reading SQLite's count of full-scan steps); an index may
//! be scanned only when it is the partial index of pending rows.

use std::collections::HashSet;
use std::sync::Mutex;

use chrono::{Duration, FixedOffset, TimeZone, Utc};
use rusqlite::trace::{TraceEvent, TraceEventCodes};
use rusqlite::{Connection, StatementStatus};

use crate::model::{BookingStatus, Direction, Event, EventType, PacId, Seq};
use crate::store::booking_waits::{self, WaitKey};
use crate::store::ledger::{self, EntryKind, NewEntry};
use crate::store::{Store, retention, tally};

static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Each statement as it starts, with its parameters bound.
fn record(e: TraceEvent<'_>) {
    if let TraceEvent::Stmt(stmt, sql) = e {
        let sql = stmt.expanded_sql().unwrap_or_else(|| sql.to_string());
        SEEN.lock().unwrap_or_else(|p| p.into_inner()).push(sql);
    }
}

const ROWS: u64 = 6_000;

fn page(from: u64, n: u64) -> Vec<NewEntry> {
    (from..from + n)
        .map(|seq| NewEntry {
            event: Event {
                seq: Seq(seq),
                time: FixedOffset::east_opt(0)
                    .unwrap()
                    .with_ymd_and_hms(2026, 11, 28, 8, 0, 0)
                    .unwrap(),
                event_type: if seq % 7 == 0 {
                    EventType::AccessDeniedUnknownBadge
                } else {
                    EventType::AccessGranted
                },
                reader_id: Some((seq % 5) as u32),
                badge_number: Some(format!("{seq:04X}")),
                employee_id: Some(PacId(seq % 40)),
            },
            reader_serial: Some(format!("R-{}", seq % 5)),
            kind: if seq % 7 == 0 {
                EntryKind::Feed
            } else {
                EntryKind::Booking {
                    direction: Some(Direction::In),
                }
            },
        })
        .collect()
}

/// A store on disk with a ledger of [`ROWS`] rows: most answered long ago,
/// some rejected, the newest pending, a roll call running.
fn filled() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let mut c =
        crate::store::db::open_connection(&dir.path().join(crate::store::DATABASE_FILE)).unwrap();
    let long_ago = Utc::now() - Duration::days(200);
    for from in (1..ROWS).step_by(500) {
        let read_at = if from + 1000 > ROWS {
            Utc::now()
        } else {
            long_ago
        };
        ledger::append_page(&mut c, &page(from, 500), read_at).unwrap();
    }
    let answers: Vec<(Seq, BookingStatus)> = ledger::pending(&c, ROWS as usize)
        .unwrap()
        .into_iter()
        .filter(|e| e.seq.0 < ROWS - 300)
        .map(|e| {
            let status = if e.seq.0 % 11 == 0 {
                BookingStatus::Rejected {
                    reason: "reader not in the mirror".into(),
                }
            } else {
                BookingStatus::Processed {
                    booking_id: e.seq.0,
                }
            };
            (e.seq, status)
        })
        .collect();
    ledger::record_answers(&mut c, &answers, long_ago).unwrap();
    ledger::start_roll_call(&c, Utc::now()).unwrap();
    (dir, c)
}

/// The plan's lines that name the ledger table.
fn ledger_lines(c: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows.into_iter()
        .filter(|d| d.split_whitespace().nth(1) == Some("ledger"))
        .collect()
}

/// How many rows a run of a read steps through in full scans.
fn fullscan_steps(c: &Connection, sql: &str) -> i32 {
    let mut stmt = c.prepare(sql).unwrap();
    let mut rows = stmt.query([]).unwrap();
    while rows.next().unwrap().is_some() {}
    drop(rows);
    stmt.get_status(StatementStatus::FullscanStep)
}

#[test]
fn no_timed_query_scans_the_whole_ledger() {
    let (_dir, mut c) = filled();
    let now = Utc::now();
    // The tally is read from SQLite once, at start (checked below).
    tally::current(&c, now).unwrap();
    c.trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, Some(record));
    // The monitor: on every change and every tick.
    let facts = crate::engine::bookings::monitor::facts(&mut c, now).unwrap();
    assert!(!facts.granted.is_empty() && facts.recent.len() == 500);
    // The reader: each round's back-pressure check.
    tally::current(&c, now).unwrap();
    // The sender: each round.
    booking_waits::pending_except(&c, 100, &["R-1".into()], &[PacId(3)]).unwrap();
    booking_waits::mark_waiting(&mut c, &[WaitKey::Reader("R-1".into())]).unwrap();
    let mirrored: HashSet<String> = ["R-2".to_string()].into();
    booking_waits::requeue_mirror_rejections(&mut c, &mirrored).unwrap();
    // The definitions job: the readers bookings wait for.
    c.query_row(
        "SELECT COUNT(*) FROM (SELECT DISTINCT reader_serial FROM ledger
         WHERE kind = 'booking' AND state = 'pending' AND reader_serial IS NOT NULL)",
        [],
        |r| r.get::<_, i64>(0),
    )
    .unwrap();
    // The reconciliation's retention trim.
    retention::mark_covered(&c, now).unwrap();
    retention::trim_batch(&mut c, now - Duration::days(90), 50).unwrap();
    c.trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, None);

    let seen: Vec<String> = std::mem::take(&mut *SEEN.lock().unwrap());
    let reads: Vec<&String> = seen
        .iter()
        .filter(|s| {
            let t = s.trim_start().to_ascii_uppercase();
            (t.starts_with("SELECT") || t.starts_with("UPDATE") || t.starts_with("DELETE"))
                && s.contains("ledger")
        })
        .collect();
    assert!(reads.len() >= 10, "the queries were recorded: {seen:#?}");
    let rows: i64 = c
        .query_row("SELECT COUNT(*) FROM ledger", [], |r| r.get(0))
        .unwrap();
    assert!(rows > 5_000, "{rows}");
    let mut bad = Vec::new();
    for sql in reads {
        for line in ledger_lines(&c, sql) {
            let partial = line.contains("INDEX ledger_pending");
            if line.starts_with("SEARCH") || (line.starts_with("SCAN") && partial) {
                continue;
            }
            if line == "SCAN ledger" && sql.trim_start().to_ascii_uppercase().starts_with("SELECT")
            {
                let steps = fullscan_steps(&c, sql);
                if steps <= 1_000 {
                    continue;
                }
                bad.push(format!("{line} ({steps} rows stepped): {sql}"));
                continue;
            }
            bad.push(format!("{line}: {sql}"));
        }
    }
    assert!(
        bad.is_empty(),
        "full scans of the ledger:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_start_count_reads_the_state_index_not_the_table() {
    let (_dir, c) = filled();
    let sql = "SELECT state, COUNT(*) FROM ledger GROUP BY state";
    assert_eq!(
        ledger_lines(&c, sql),
        vec!["SCAN ledger USING COVERING INDEX ledger_by_state".to_string()]
    );
    let since = Utc::now() - Duration::seconds(60);
    let sql = format!(
        "SELECT COUNT(*) FROM ledger WHERE read_at >= '{}'",
        since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );
    let lines = ledger_lines(&c, &sql);
    assert!(lines.iter().all(|l| l.starts_with("SEARCH")), "{lines:?}");
}

#[test]
fn a_full_count_is_caught() {
    // The test above can fail: the old count is a scan of every row.
    let (_dir, c) = filled();
    let sql = "SELECT state, COUNT(*) FROM ledger GROUP BY state";
    let lines = ledger_lines(&c, sql);
    assert!(lines.iter().all(|l| l.starts_with("SCAN")), "{lines:?}");
    let sql = "SELECT COUNT(*) FROM ledger WHERE answered_at IS NOT NULL";
    assert_eq!(ledger_lines(&c, sql), vec!["SCAN ledger".to_string()]);
    assert!(fullscan_steps(&c, sql) as u64 >= ROWS - 1);
}
