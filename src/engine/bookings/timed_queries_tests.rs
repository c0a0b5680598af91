//! Every query the booking import runs on a timer or on every change (the
//! monitor's view, the reader's back-pressure check, the sender's round, the
//! retention trim) is recorded as the real code runs it on a ledger of
//! thousands of rows, then its plan is read with `EXPLAIN QUERY PLAN`: none
//! may scan the whole ledger. A scan of the table is allowed only as a
//! short walk down the primary key that stops at its `LIMIT` (checked by
//! running it and reading SQLite's count of full-scan steps); an index may
//! only be searched, never scanned. The same
//! for the Astrow -> PAC direction (its monitor, reader, sender, retention).

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
            if line.starts_with("SEARCH") {
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
fn pending_rows_are_found_in_seq_order_by_the_state_index_without_a_sort() {
    // The partial index of pending rows is gone (migration 12): the state
    // index is ordered by state, then seq, and serves the sender alone.
    let (_dir, c) = filled();
    let sql = "SELECT seq FROM ledger WHERE state = 'pending' ORDER BY seq LIMIT 500";
    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let lines = stmt
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert_eq!(
        lines,
        vec!["SEARCH ledger USING COVERING INDEX ledger_by_state (state=?)".to_string()]
    );
    let pending = ledger::pending(&c, 500).unwrap();
    // The bookings (every seventh event is a feed entry) not yet answered.
    let expected: Vec<Seq> = (ROWS - 300..=ROWS)
        .filter(|s| s % 7 != 0)
        .map(Seq)
        .collect();
    assert_eq!(pending.iter().map(|e| e.seq).collect::<Vec<_>>(), expected);
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

static SEEN_A2P: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// [`record`] for the Astrow -> PAC test (the two tests run at once).
fn record_a2p(e: TraceEvent<'_>) {
    if let TraceEvent::Stmt(stmt, sql) = e {
        let sql = stmt.expanded_sql().unwrap_or_else(|| sql.to_string());
        SEEN_A2P.lock().unwrap_or_else(|p| p.into_inner()).push(sql);
    }
}

/// The plan's lines that name a table of the Astrow -> PAC ledger (by
/// name, or `l` as its queries call it).
fn a2p_lines(c: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows.into_iter()
        .filter(|d| {
            matches!(
                d.split_whitespace().nth(1),
                Some("astrow_ledger" | "l" | "astrow_ledger_abandoned")
            )
        })
        .collect()
}

/// An Astrow -> PAC ledger of [`ROWS`] rows on disk: most answered long
/// ago, the newest pending, some of them waiting for a link; a few rows
/// abandoned at a re-bind.
fn a2p_filled() -> (tempfile::TempDir, Connection) {
    use crate::model::{AstrowOwnBooking, ExternalOutcome, PersNo};
    use crate::store::astrow_ledger::{self, PacReaderSerials, Page};
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let mut c =
        crate::store::db::open_connection(&dir.path().join(crate::store::DATABASE_FILE)).unwrap();
    c.execute(
        "INSERT INTO links (pac_id, pers_no, origin, at) VALUES (1, 1001, 'matched', 'x')",
        [],
    )
    .unwrap();
    let now = Utc::now();
    for from in (0..ROWS).step_by(500) {
        let bookings: Vec<AstrowOwnBooking> = (from + 1..=from + 500)
            .map(|id| AstrowOwnBooking {
                booking_id: id,
                source_id: Some(format!("web:{id}")),
                pers_no: Some(PersNo(1000 + id % 3)),
                badge_no: format!("{id:X}"),
                time: now.fixed_offset(),
                terminal_kind: "web".into(),
                terminal_serial: None,
                direction: Some(Direction::In),
            })
            .collect();
        let page = Page {
            from,
            to: from + 500,
            bookings: &bookings,
            unreadable: &[],
        };
        astrow_ledger::append_page(&mut c, &page, &PacReaderSerials::new(), now).unwrap();
    }
    let answers: Vec<(u64, ExternalOutcome)> = (1..ROWS - 300)
        .map(|id| (id, ExternalOutcome::Stored { seq: id }))
        .collect();
    astrow_ledger::record_outcomes(&mut c, &answers, now - Duration::days(200)).unwrap();
    for id in 0..5 {
        c.execute(
            "INSERT INTO astrow_ledger_abandoned (booking_id, badge_no, time, terminal_kind,
             attempts, read_at, reason, abandoned_at) VALUES (?1, '1', 't', 'web', 0, 'r', 'x', ?2)",
            rusqlite::params![id, (now - Duration::days(200)).to_rfc3339()],
        )
        .unwrap();
    }
    (dir, c)
}

#[test]
fn no_timed_astrow_to_pac_query_scans_its_ledger() {
    use crate::store::astrow_ledger;
    let (_dir, mut c) = a2p_filled();
    let now = Utc::now();
    // The counts are read from SQLite once, at start (checked below).
    crate::store::astrow_tally::current(&c).unwrap();
    c.trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, Some(record_a2p));
    // The monitor: every tick while the direction is on.
    let (t, recent, _) = crate::engine::astrow_to_pac::view_facts(&c, now, false).unwrap();
    assert!(
        t.pending > 0 && t.waiting > 0 && recent.len() == 200,
        "{t:?}"
    );
    // The reader: each round.
    astrow_ledger::cursor(&c).unwrap();
    crate::store::astrow_tally::current(&c).unwrap();
    // The sender: each round.
    let rows = astrow_ledger::pending(&c, 500, false).unwrap();
    let ids: Vec<u64> = rows.iter().map(|r| r.booking.booking_id).take(3).collect();
    astrow_ledger::count_attempt(&mut c, &ids).unwrap();
    let answers: Vec<_> = ids
        .iter()
        .map(|id| (*id, crate::model::ExternalOutcome::Stored { seq: *id }))
        .collect();
    astrow_ledger::record_outcomes(&mut c, &answers, now).unwrap();
    // The retention, hourly: what PAC stored, the abandoned rows.
    let cut = now - Duration::days(90);
    assert!(astrow_ledger::trim(&mut c, cut, 50).unwrap() == 50);
    assert!(astrow_ledger::trim_abandoned(&mut c, cut, 50).unwrap() == 5);
    c.trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, None);

    let seen: Vec<String> = std::mem::take(&mut *SEEN_A2P.lock().unwrap());
    let reads: Vec<&String> = seen
        .iter()
        .filter(|s| {
            let t = s.trim_start().to_ascii_uppercase();
            (t.starts_with("SELECT") || t.starts_with("UPDATE") || t.starts_with("DELETE"))
                && s.contains("astrow_")
        })
        .collect();
    assert!(reads.len() >= 8, "the queries were recorded: {seen:#?}");
    let mut bad = Vec::new();
    for sql in reads {
        for line in a2p_lines(&c, sql) {
            if line.starts_with("SEARCH") {
                continue;
            }
            // A short walk down the primary key that stops at its LIMIT.
            if line.starts_with("SCAN l") && !line.contains("INDEX") {
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
        "full scans of the Astrow->PAC ledger:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_astrow_to_pac_start_counts_read_indexes_not_tables() {
    let (_dir, c) = a2p_filled();
    assert_eq!(
        a2p_lines(
            &c,
            "SELECT state, COUNT(*) FROM astrow_ledger GROUP BY state"
        ),
        vec!["SCAN astrow_ledger USING COVERING INDEX astrow_ledger_by_state".to_string()]
    );
    let lines = a2p_lines(&c, "SELECT COUNT(*) FROM astrow_ledger_abandoned");
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains("COVERING INDEX"), "{lines:?}");
    // The old timed count of the oldest pending row walked every pending
    // row; its replacement stops at the first.
    let old = "SELECT MIN(read_at) FROM astrow_ledger WHERE state = 'pending'";
    let new = "SELECT read_at FROM astrow_ledger WHERE state = 'pending'
               ORDER BY booking_id LIMIT 1";
    let steps = |sql: &str| {
        let mut stmt = c.prepare(sql).unwrap();
        let mut rows = stmt.query([]).unwrap();
        while rows.next().unwrap().is_some() {}
        drop(rows);
        stmt.get_status(StatementStatus::VmStep)
    };
    assert!(
        steps(new) * 10 < steps(old),
        "{} vs {}",
        steps(new),
        steps(old)
    );
}
