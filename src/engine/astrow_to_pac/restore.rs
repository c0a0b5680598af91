//! Astrow restored from a backup (pure): its booking ids start again below
//! our cursor. The reader reads after `cursor - 1`, so the page begins with
//! the booking at the cursor, and checks it is still the one it read (the
//! cursor's mark, `astrow_restore::mark`). Astrow went back when
//! - nothing is there at or after the cursor: Astrow's newest booking id is
//!   below it (restored, or its newest bookings deleted with an employee), or
//! - the booking at the cursor is another one now: Astrow was restored and
//!   its new ids have already reached the cursor.
//!
//! A booking at the cursor that is gone while newer ones are there was
//! deleted (deleting an employee deletes its bookings): not a restore, the
//! newer ones are read.

use crate::astrow::feed::FeedPage;
use crate::store::astrow_restore::{mark, same_mark};

/// What Astrow's feed showed at the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WentBack {
    /// Nothing at or after the cursor: Astrow went back, or its newest
    /// bookings were deleted (the reader probes the row before the cursor).
    Empty,
    /// The record at the cursor is another one now.
    Another,
}

impl WentBack {
    /// Why, in words (no booking's values: they name people and go into
    /// the audit and the restore's record).
    pub fn why(self, cursor: u64) -> String {
        match self {
            WentBack::Empty => format!(
                "Astrow's newest booking id is below our cursor {cursor} (it holds nothing at or after it)"
            ),
            WentBack::Another => format!(
                "Astrow's booking {cursor} is another booking now (source id or time differ)"
            ),
        }
    }
}

/// Whether Astrow's feed says it went back below `cursor`. `page` is the
/// answer to `after = cursor - 1`; `cursor_mark` what the record at the
/// cursor was when read (the cursor's mark, else the ledger row's own;
/// `None`: neither is known, only its presence is checked).
pub fn went_back(cursor: u64, cursor_mark: Option<&str>, page: &FeedPage) -> Option<WentBack> {
    if cursor == 0 {
        return None;
    }
    if page.bookings.is_empty() && page.unreadable.is_empty() {
        return Some(WentBack::Empty);
    }
    let was = cursor_mark?;
    let now = match page.bookings.iter().find(|b| b.booking_id == cursor) {
        Some(b) => mark(b),
        // A booking that became unreadable under its id: not told apart.
        None if !was.starts_with("unreadable|") => return None,
        None if page.unreadable.iter().any(|(id, _)| *id == cursor) => {
            let marks = page.unreadable_marks.iter();
            let mut found = marks
                .filter(|(id, _)| *id == cursor)
                .map(|(_, m)| m.clone());
            found.next_back().unwrap_or_default()
        }
        None => return None,
    };
    (!same_mark(was, &now)).then_some(WentBack::Another)
}

/// The page less the booking at the cursor (read already): what is new.
pub fn after_cursor(mut page: FeedPage, cursor: u64) -> FeedPage {
    page.bookings.retain(|b| b.booking_id > cursor);
    page.unreadable.retain(|(id, _)| *id > cursor);
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AstrowOwnBooking;

    fn booking(id: u64, source: &str) -> AstrowOwnBooking {
        AstrowOwnBooking {
            booking_id: id,
            source_id: Some(source.to_string()),
            pers_no: None,
            badge_no: "10231".into(),
            time: chrono::DateTime::parse_from_rfc3339("2026-11-28T08:01:07+01:00").unwrap(),
            terminal_kind: "web".into(),
            direction: None,
            terminal_serial: None,
        }
    }

    fn page(bookings: Vec<AstrowOwnBooking>) -> FeedPage {
        FeedPage {
            bookings,
            unreadable: vec![],
            unreadable_marks: vec![],
            more: false,
        }
    }

    #[test]
    fn the_same_booking_at_the_cursor_and_newer_ones_are_no_restore() {
        let b = booking(10, "web:1");
        let m = mark(&b);
        let p = page(vec![b, booking(11, "web:2")]);
        assert_eq!(went_back(10, Some(&m), &p), None);
        assert_eq!(after_cursor(p, 10).bookings.len(), 1);
    }

    #[test]
    fn nothing_at_or_after_the_cursor_is_a_restore() {
        let why = went_back(10, Some("x"), &page(vec![])).unwrap();
        assert_eq!(why, WentBack::Empty);
        assert!(why.why(10).contains("below our cursor 10"));
        // Nothing read yet: nothing to go back from.
        assert_eq!(went_back(0, None, &page(vec![])), None);
    }

    #[test]
    fn another_booking_under_the_cursors_id_is_a_restore() {
        let m = mark(&booking(10, "web:1"));
        let why = went_back(10, Some(&m), &page(vec![booking(10, "web:77")])).unwrap();
        assert_eq!(why, WentBack::Another);
        // The reason names no booking's values (they go into the audit).
        let text = why.why(10);
        assert!(
            text.contains("another booking now") && !text.contains("web:"),
            "{text}"
        );
        // Without a mark only presence counts.
        assert_eq!(
            went_back(10, None, &page(vec![booking(10, "web:77")])),
            None
        );
    }

    #[test]
    fn the_cursors_booking_deleted_with_newer_ones_there_is_no_restore() {
        let m = mark(&booking(10, "web:1"));
        assert_eq!(
            went_back(10, Some(&m), &page(vec![booking(12, "web:3")])),
            None
        );
        let p = FeedPage {
            bookings: vec![],
            unreadable: vec![(10, "bad".into())],
            unreadable_marks: vec![],
            more: false,
        };
        assert_eq!(went_back(10, Some(&m), &p), None);
    }

    #[test]
    fn a_mark_kept_with_the_employee_still_names_the_booking() {
        let mut b = booking(10, "web:1");
        let old = format!("{}|1001", mark(&b));
        b.pers_no = Some(crate::model::PersNo(1002));
        assert_eq!(went_back(10, Some(&old), &page(vec![b])), None);
    }

    #[test]
    fn an_unreadable_record_at_the_cursor_is_told_apart_by_its_mark() {
        let p = |m: &str| FeedPage {
            bookings: vec![],
            unreadable: vec![(10, "bad".into())],
            unreadable_marks: vec![(10, m.into())],
            more: false,
        };
        assert_eq!(
            went_back(10, Some("unreadable|aa"), &p("unreadable|aa")),
            None
        );
        assert_eq!(
            went_back(10, Some("unreadable|aa"), &p("unreadable|bb")),
            Some(WentBack::Another)
        );
        // A readable booking where an unreadable record was: another one.
        assert_eq!(
            went_back(10, Some("unreadable|aa"), &page(vec![booking(10, "web:1")])),
            Some(WentBack::Another)
        );
    }
}
