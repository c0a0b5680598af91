//! What an Astrow booking becomes in PAC (pure): the external event sent
//! for a ledger row, or why it is not sent.

use crate::model::{ExternalEvent, external_source_id, normalise_badge_hex};
use crate::store::astrow_ledger::{Row, came_from_pac};

/// Why a row goes to PAC as nothing: it came from PAC (the loop rule).
pub const FROM_PAC_REASON: &str = "came from PAC: never sent back (no loops)";

/// The `origin` PAC shows for a booking of this Astrow terminal kind.
pub fn origin(terminal_kind: &str) -> String {
    match terminal_kind {
        "web" => "Astrow web".to_string(),
        "mobile" => "Astrow mobile".to_string(),
        "terminal" => "Astrow terminal".to_string(),
        "file" => "Astrow file import".to_string(),
        other => {
            let kind: String = other.chars().filter(|c| !c.is_control()).take(40).collect();
            format!("Astrow {kind}")
        }
    }
}

/// The event for a row: the linked PAC employee when the Astrow employee is
/// linked, else the badge number (PAC finds its keyholder, or rejects it).
/// `Err` with the reason for a row that must never go (it came from PAC).
pub fn event_for(row: &Row) -> Result<ExternalEvent, &'static str> {
    let b = &row.booking;
    if came_from_pac(b.source_id.as_deref()) {
        return Err(FROM_PAC_REASON);
    }
    let badge_number = match row.linked_pac_id {
        Some(_) => None,
        None => normalise_badge_hex(&b.badge_no),
    };
    Ok(ExternalEvent {
        source_id: external_source_id(b.booking_id),
        time: b.time,
        employee_id: row.linked_pac_id,
        badge_number,
        direction: b.direction,
        origin: origin(&b.terminal_kind),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AstrowOwnBooking, Direction, PacId, PersNo};
    use crate::store::astrow_ledger::RowState;

    fn row(source: Option<&str>, linked: Option<u64>, badge: &str, kind: &str) -> Row {
        Row {
            booking: AstrowOwnBooking {
                booking_id: 58812,
                source_id: source.map(str::to_string),
                pers_no: Some(PersNo(1001)),
                badge_no: badge.into(),
                time: chrono::DateTime::parse_from_rfc3339("2026-11-28T08:01:07+01:00").unwrap(),
                terminal_kind: kind.into(),
                direction: Some(Direction::Out),
            },
            linked_pac_id: linked.map(PacId),
            state: RowState::Pending,
            attempts: 0,
            read_at: String::new(),
            answered_at: None,
        }
    }

    #[test]
    fn a_linked_employee_goes_by_pac_id_with_the_terminal_as_origin() {
        let e = event_for(&row(Some("web:4411"), Some(10231), "10231", "web")).unwrap();
        assert_eq!(e.source_id, "astrow:58812");
        assert_eq!(e.employee_id, Some(PacId(10231)));
        assert_eq!(e.badge_number, None);
        assert_eq!(e.origin, "Astrow web");
        assert_eq!(e.direction, Some(Direction::Out));
    }

    #[test]
    fn an_unlinked_one_goes_by_badge_number() {
        let e = event_for(&row(None, None, " 00a1b2 ", "mobile")).unwrap();
        assert_eq!(e.employee_id, None);
        assert_eq!(e.badge_number.as_deref(), Some("00A1B2"));
        assert_eq!(e.origin, "Astrow mobile");
        let none = event_for(&row(None, None, "not-hex", "terminal")).unwrap();
        assert_eq!(none.badge_number, None, "PAC rejects it with its reason");
    }

    #[test]
    fn a_booking_from_pac_never_goes_back() {
        assert_eq!(
            event_for(&row(Some("pac:1:881233"), Some(1), "1", "file")),
            Err(FROM_PAC_REASON)
        );
        assert!(event_for(&row(Some("import:7"), Some(1), "1", "file")).is_ok());
    }

    #[test]
    fn origins_fit_pacs_64_characters() {
        assert!(origin(&"x".repeat(500)).chars().count() <= 64);
        assert!(!origin("we\u{1b}b").chars().any(char::is_control));
    }
}
