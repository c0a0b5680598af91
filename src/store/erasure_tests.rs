use chrono::{Duration, FixedOffset, TimeZone};

use super::*;
use crate::model::{
    BookingStatus, Direction, Event, EventType, Link, LinkOrigin, PersNo, Seq, System,
};
use crate::store::AuditRecord;
use crate::store::ledger::{self, EntryKind, NewEntry};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn swipe(seq: u64, employee: u64, granted: bool) -> NewEntry {
    NewEntry {
        event: Event {
            seq: Seq(seq),
            time: FixedOffset::east_opt(3600)
                .unwrap()
                .with_ymd_and_hms(2026, 11, 28, 8, 0, 0)
                .unwrap(),
            event_type: if granted {
                EventType::AccessGranted
            } else {
                EventType::AccessDeniedTime
            },
            reader_id: Some(12),
            badge_number: Some(format!("0A1B{employee:04}")),
            employee_id: Some(PacId(employee)),
        },
        reader_serial: Some("R-0012".into()),
        kind: if granted {
            EntryKind::Booking {
                direction: Some(Direction::In),
            }
        } else {
            EntryKind::Feed
        },
    }
}

fn audit(system: System, id: u64, result: &str) -> AuditRecord {
    AuditRecord {
        system,
        action: "update".into(),
        record: format!("employee {id}"),
        before: Some(format!("{{\"first_name\":\"Ana{id}\"}}")),
        after: Some(format!("{{\"first_name\":\"Anna{id}\"}}")),
        result: result.into(),
    }
}

#[test]
fn the_cutoff_keeps_whole_months() {
    let now = Utc.with_ymd_and_hms(2026, 11, 29, 22, 0, 0).unwrap();
    let first = |y, m| Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).unwrap();
    assert_eq!(audit_cutoff(now, 24), first(2024, 11));
    assert_eq!(audit_cutoff(now, 11), first(2025, 12));
    assert_eq!(audit_cutoff(now, 1), first(2026, 10));
    assert_eq!(audit_cutoff(first(2026, 1), 1), first(2025, 12));
}

#[test]
fn a_result_keeps_its_word_and_loses_its_detail() {
    assert_eq!(erased_result("ok"), "ok");
    assert_eq!(erased_result("ok: linked to Ann Smith"), "ok: (erased)");
    assert_eq!(
        erased_result("failed: 409 badge 2C88 taken"),
        "failed: (erased)"
    );
}

#[test]
fn forget_removes_delivered_swipes_and_pseudonymises_the_audit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    store.upsert_link(&Link {
        pac_id: PacId(7),
        pers_no: PersNo(1007),
        origin: LinkOrigin::Created,
        at: Utc::now(),
    })?;
    let page = [
        swipe(1, 7, true),
        swipe(2, 7, false),
        swipe(3, 8, true),
        swipe(4, 7, true),
    ];
    ledger::append_page(store.connection(), &page, Utc::now())?;
    let answers = [
        (Seq(1), BookingStatus::Processed { booking_id: 1 }),
        (Seq(3), BookingStatus::Processed { booking_id: 3 }),
    ];
    ledger::record_answers(store.connection(), &answers, Utc::now())?;
    store.append_audit(&audit(System::Pac, 7, "ok"))?;
    store.append_audit(&audit(
        System::Astrow,
        1007,
        "failed: Ana7 has badge 0A1B0007",
    ))?;
    store.append_audit(&audit(System::Pac, 8, "ok"))?;

    let done = store.forget_employee(PacId(7), None)?;
    assert_eq!(done.swipes_removed, 2);
    assert_eq!(
        done.swipes_pending, 1,
        "an undelivered booking is never lost"
    );
    assert_eq!(done.audit_rows, 2);
    assert!(done.pseudonym.starts_with("forgotten-"));

    let left: Vec<u64> = ledger::recent(store.connection(), 10)?
        .iter()
        .map(|e| e.seq.0)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(left.contains(&3) && left.contains(&4), "{left:?}");
    let log = store.audit_log(10)?;
    let text = format!("{log:?}");
    assert!(
        !text.contains("Ana7") && !text.contains("0A1B0007"),
        "{text}"
    );
    assert!(
        !text.contains("employee 7\"") && !text.contains("employee 1007"),
        "{text}"
    );
    assert!(
        text.contains("Ana8"),
        "another employee's rows stay: {text}"
    );
    let forgotten: Vec<_> = log
        .iter()
        .filter(|e| e.record.record == format!("employee {}", done.pseudonym))
        .collect();
    assert_eq!(forgotten.len(), 2);
    assert!(
        forgotten
            .iter()
            .any(|e| e.record.result == "failed: (erased)")
    );
    assert!(forgotten.iter().all(|e| e.record.action == "update"));

    let own = store.store_audit_log(10)?;
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].action, "forget_employee");
    assert_eq!(own[0].subject, done.pseudonym);
    assert!(
        own[0].detail.contains("2 swipes removed"),
        "{}",
        own[0].detail
    );
    assert!(!own[0].os_user.is_empty());
    Ok(())
}

#[test]
fn the_exception_is_narrow_and_closed_after_use() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    store.append_audit(&audit(System::Pac, 7, "ok"))?;
    store.forget_employee(PacId(7), None)?;
    // Closed again: no update, no delete.
    assert!(
        store
            .conn
            .execute("UPDATE audit SET record = 'x'", [])
            .is_err()
    );
    assert!(store.conn.execute("DELETE FROM audit", []).is_err());
    // Open for forget: the time, user, system and action still cannot change.
    store.conn.execute(
        "INSERT INTO audit_exception (purpose) VALUES ('forget')",
        [],
    )?;
    assert!(
        store
            .conn
            .execute("UPDATE audit SET os_user = 'x'", [])
            .is_err()
    );
    assert!(store.conn.execute("UPDATE audit SET at = 'x'", []).is_err());
    assert!(store.conn.execute("DELETE FROM audit", []).is_err());
    store.conn.execute("DELETE FROM audit_exception", [])?;
    // Open for retention: only rows older than `until` may go.
    store.conn.execute(
        "INSERT INTO audit_exception (purpose, until) VALUES ('retention', '2000-01-01')",
        [],
    )?;
    assert!(store.conn.execute("DELETE FROM audit", []).is_err());
    store.conn.execute("DELETE FROM audit_exception", [])?;
    // The store's own audit has no exception at all.
    assert!(store.conn.execute("DELETE FROM store_audit", []).is_err());
    assert!(
        store
            .conn
            .execute("UPDATE store_audit SET detail = 'x'", [])
            .is_err()
    );
    assert_eq!(store.audit_log(10)?.len(), 1);
    Ok(())
}

#[test]
fn the_audit_is_trimmed_by_whole_months_and_the_trim_recorded() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    store.append_audit(&audit(System::Pac, 7, "ok"))?;
    store.append_audit(&audit(System::Pac, 8, "ok"))?;
    assert_eq!(store.trim_audit(0, Utc::now() + Duration::days(3650))?, 0);
    assert_eq!(store.trim_audit(1, Utc::now())?, 0, "this month stays");
    assert!(
        store.store_audit_log(10)?.is_empty(),
        "nothing trimmed, nothing said"
    );
    assert_eq!(store.trim_audit(24, Utc::now() + Duration::days(800))?, 2);
    assert!(store.audit_log(10)?.is_empty());
    let own = store.store_audit_log(10)?;
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].action, "trim_audit");
    Ok(())
}

#[test]
fn a_rebind_keeps_the_old_sites_mirror_rejections_from_going_again() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    let lacks_reader = BookingStatus::Rejected {
        reason: "reader R-0012 is not in the reader mirror".into(),
    };
    ledger::append_page(store.connection(), &[swipe(1, 7, true)], Utc::now())?;
    ledger::record_answers(
        store.connection(),
        &[(Seq(1), lacks_reader.clone())],
        Utc::now(),
    )?;
    store.rebind(&crate::store::SiteIdentity {
        pac: "certificate sha256:cd34, organization 2".into(),
        astrow: "https://astrow.other.local".into(),
    })?;
    // The new site's own swipe, rejected for the same serial.
    ledger::append_page(store.connection(), &[swipe(1, 9, true)], Utc::now())?;
    let new_key = ledger::recent(store.connection(), 10)?
        .into_iter()
        .map(|e| e.seq)
        .max()
        .ok_or("no new swipe")?;
    ledger::record_answers(store.connection(), &[(new_key, lacks_reader)], Utc::now())?;

    let mirrored: std::collections::HashSet<String> = ["R-0012".to_string()].into();
    let requeued =
        crate::store::booking_waits::requeue_mirror_rejections(store.connection(), &mirrored)?;
    assert_eq!(requeued, 1, "only the new site's booking goes again");
    let old = ledger::get(store.connection(), Seq(1))?.ok_or("old row gone")?;
    assert_eq!(
        old.status,
        Some(BookingStatus::Rejected {
            reason: crate::store::ABANDONED_REASON.into()
        })
    );
    let new = ledger::get(store.connection(), new_key)?.ok_or("new row gone")?;
    assert_eq!(new.status, None, "pending again");
    Ok(())
}

#[test]
fn forget_removes_the_employees_delivered_astrow_bookings_and_keeps_pending_ones() -> TestResult {
    use crate::model::{AstrowOwnBooking, ExternalOutcome};
    use crate::store::astrow_ledger;
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    store.upsert_link(&Link {
        pac_id: PacId(7),
        pers_no: PersNo(1007),
        origin: LinkOrigin::Created,
        at: Utc::now(),
    })?;
    let b = |id: u64, pers_no: u64| AstrowOwnBooking {
        booking_id: id,
        source_id: Some(format!("web:{id}")),
        pers_no: Some(PersNo(pers_no)),
        badge_no: "1007".into(),
        time: FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 28, 8, 0, 0)
            .unwrap(),
        terminal_kind: "web".into(),
        terminal_serial: None,
        direction: Some(Direction::In),
    };
    let page = [b(1, 1007), b(2, 1007), b(3, 1008)];
    let read_at = page[0].time.to_utc() + Duration::hours(1);
    astrow_ledger::append_page(
        store.connection(),
        &astrow_ledger::Page {
            from: 0,
            to: 3,
            bookings: &page,
            unreadable: &[],
        },
        &astrow_ledger::PacReaderSerials::new(),
        read_at,
    )?;
    let stored = |seq| ExternalOutcome::Stored { seq };
    astrow_ledger::record_outcomes(
        store.connection(),
        &[(1, stored(10)), (3, stored(11))],
        Utc::now(),
    )?;
    let f = store.forget_employee(PacId(7), None)?;
    assert_eq!((f.swipes_removed, f.swipes_pending), (1, 1));
    // The cursor (booking 3) is another's: its mark stays.
    let mark = crate::store::astrow_restore::cursor_mark(store.connection())?;
    assert!(
        mark.is_some(),
        "another's booking at the cursor keeps its mark"
    );
    let left: Vec<u64> = astrow_ledger::recent(store.connection(), 10)?
        .iter()
        .map(|r| r.booking.booking_id)
        .collect();
    assert_eq!(
        left,
        vec![3, 2],
        "another's booking and the pending one stay"
    );
    Ok(())
}

#[test]
fn forget_clears_the_astrow_cursors_mark_of_the_employees_booking() -> TestResult {
    use crate::model::AstrowOwnBooking;
    use crate::store::{astrow_ledger, astrow_restore};
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    store.upsert_link(&Link {
        pac_id: PacId(7),
        pers_no: PersNo(1007),
        origin: LinkOrigin::Created,
        at: Utc::now(),
    })?;
    let b = |id: u64, pers_no: u64| AstrowOwnBooking {
        booking_id: id,
        source_id: Some(format!("web:{id}")),
        pers_no: Some(PersNo(pers_no)),
        badge_no: "1007".into(),
        time: Utc::now().fixed_offset(),
        terminal_kind: "web".into(),
        terminal_serial: None,
        direction: Some(Direction::In),
    };
    let page = [b(1, 1008), b(2, 1007)];
    astrow_ledger::append_page(
        store.connection(),
        &astrow_ledger::Page {
            from: 0,
            to: 2,
            bookings: &page,
            unreadable: &[],
        },
        &astrow_ledger::PacReaderSerials::new(),
        Utc::now(),
    )?;
    assert!(astrow_restore::cursor_mark(store.connection())?.is_some());
    store.forget_employee(PacId(7), None)?;
    assert_eq!(astrow_restore::cursor_mark(store.connection())?, None);
    Ok(())
}

#[test]
fn a_rebind_starts_the_astrow_to_pac_ledger_afresh() -> TestResult {
    use crate::model::AstrowOwnBooking;
    use crate::store::astrow_ledger;
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    let b = AstrowOwnBooking {
        booking_id: 5,
        source_id: Some("web:5".into()),
        pers_no: Some(PersNo(1007)),
        badge_no: "1007".into(),
        time: Utc::now().fixed_offset(),
        terminal_kind: "web".into(),
        terminal_serial: None,
        direction: Some(Direction::In),
    };
    astrow_ledger::append_page(
        store.connection(),
        &astrow_ledger::Page {
            from: 0,
            to: 5,
            bookings: std::slice::from_ref(&b),
            unreadable: &[],
        },
        &astrow_ledger::PacReaderSerials::new(),
        Utc::now(),
    )?;
    let done = store.rebind(&crate::store::SiteIdentity {
        pac: "certificate sha256:cd34, organization 2".into(),
        astrow: "https://astrow.other.local".into(),
    })?;
    let t = astrow_ledger::tally(store.connection(), false)?;
    assert_eq!((t.after_booking_id, t.pending), (0, 0));
    // The old Astrow's pending booking is kept aside with why, and counted.
    assert_eq!(t.abandoned, 1);
    assert_eq!(done.astrow_to_pac_abandoned, 1);
    assert!(done.describe().contains("1 of the old Astrow's bookings"));
    let (id, reason): (i64, String) = store.connection().query_row(
        "SELECT booking_id, reason FROM astrow_ledger_abandoned",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    assert_eq!((id, reason.as_str()), (5, astrow_ledger::ABANDONED_REASON));
    let audit: String = store.connection().query_row(
        "SELECT result FROM audit WHERE action = 'rebind_store'",
        [],
        |r| r.get(0),
    )?;
    assert!(audit.contains("1 of the old Astrow's bookings"), "{audit}");
    // The new Astrow's booking 5 is read and stored, not taken for the old one.
    assert!(astrow_ledger::append_page(
        store.connection(),
        &astrow_ledger::Page {
            from: 0,
            to: 5,
            bookings: &[b],
            unreadable: &[]
        },
        &astrow_ledger::PacReaderSerials::new(),
        Utc::now()
    )?);
    assert_eq!(astrow_ledger::tally(store.connection(), false)?.pending, 1);
    Ok(())
}

/// Rows kept aside at a re-bind carry the old pair's ids: `forget` finds
/// them by every id and badge the store knows of the employee.
#[test]
fn forget_removes_the_employees_rows_kept_aside_at_a_rebind() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    // A swipe of PAC employee 7 (badge 0A1B0007) in the booking ledger.
    ledger::append_page(store.connection(), &[swipe(1, 7, false)], Utc::now())?;
    let abandoned = [
        (5, Some(1007), "1007"),     // their personnel number
        (6, None, "7"),              // their PAC id as Astrow's badge number
        (8, Some(2000), "0a1b0007"), // a badge the ledger knows as theirs
        (9, Some(2001), "555"),      // someone else
    ];
    for (id, pers_no, badge) in abandoned {
        store.connection().execute(
            "INSERT INTO astrow_ledger_abandoned (booking_id, pers_no, badge_no, time,
             terminal_kind, attempts, read_at, reason, abandoned_at)
             VALUES (?1, ?2, ?3, 't', 'web', 0, 'r', 'x', 'y')",
            rusqlite::params![id, pers_no, badge],
        )?;
    }
    let count = |s: &mut Store| -> Result<u64, Box<dyn std::error::Error>> {
        Ok(crate::store::astrow_tally::current(s.connection())?.abandoned)
    };
    assert_eq!(count(&mut store)?, 4);
    let f = store.forget_employee(PacId(7), Some(1007))?;
    let left: Vec<i64> = store
        .connection()
        .prepare("SELECT booking_id FROM astrow_ledger_abandoned")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    assert_eq!(left, [9], "only someone else's row stays");
    assert_eq!(f.swipes_removed, 1 + 3, "the swipe and the three rows");
    assert_eq!(count(&mut store)?, 1, "the counts shown follow");
    Ok(())
}
