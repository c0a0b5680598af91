//! What an Astrow booking becomes in PAC (pure): the external event sent
//! for a ledger row, why it is never sent, or why it waits.

use crate::model::{ExternalEvent, external_source_id, normalise_badge_hex};
use crate::store::astrow_ledger::{PacReaderSerials, Row, came_from_pac};

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

/// What becomes of a pending row now.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Send this event.
    Send(ExternalEvent),
    /// Never send it: answered here with this reason (the loop rule).
    Refuse(&'static str),
    /// Not yet: held (still pending) for this reason, sent when it clears.
    Wait(String),
}

/// The decision for a row. A linked Astrow employee goes by PAC id. An
/// Astrow employee not linked yet waits for the link (sent by badge, PAC
/// would answer "no keyholder" and the booking would be lost). A booking
/// of no known Astrow employee goes by badge only when Astrow's badge
/// numbers are real badges (`badges_are_pac_ids` false: Astrow is master);
/// when PAC is master they are PAC's decimal ids and it waits. A booking
/// that came from PAC (a `pac:` source id, or a File terminal booking at
/// one of `pac_readers`) is refused: the loop rule.
pub fn decide(row: &Row, badges_are_pac_ids: bool, pac_readers: &PacReaderSerials) -> Decision {
    let b = &row.booking;
    if came_from_pac(b, pac_readers) {
        return Decision::Refuse(FROM_PAC_REASON);
    }
    let (employee_id, badge_number) = match (row.linked_pac_id, b.pers_no) {
        (Some(id), _) => (Some(id), None),
        (None, Some(p)) => {
            return Decision::Wait(format!(
                "Astrow employee {} is not linked to a PAC employee yet",
                p.0
            ));
        }
        (None, None) if badges_are_pac_ids => {
            return Decision::Wait(
                "no Astrow employee, and Astrow's badge numbers are PAC ids (PAC is master),                  not badges"
                    .to_string(),
            );
        }
        (None, None) => match normalise_badge_hex(&b.badge_no) {
            Some(badge) => (None, Some(badge)),
            None => {
                return Decision::Wait(
                    "no Astrow employee, and the badge number is not a hex badge".to_string(),
                );
            }
        },
    };
    Decision::Send(ExternalEvent {
        source_id: external_source_id(b.booking_id),
        time: b.time,
        employee_id,
        badge_number,
        direction: b.direction,
        origin: origin(&b.terminal_kind),
    })
}

/// Why a pending row is held, if it is.
pub fn wait_reason(
    row: &Row,
    badges_are_pac_ids: bool,
    pac_readers: &PacReaderSerials,
) -> Option<String> {
    match decide(row, badges_are_pac_ids, pac_readers) {
        Decision::Wait(why) => Some(why),
        _ => None,
    }
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
                terminal_serial: Some("R-0012".into()),
                direction: Some(Direction::Out),
            },
            linked_pac_id: linked.map(PacId),
            state: RowState::Pending,
            attempts: 0,
            read_at: String::new(),
            answered_at: None,
        }
    }

    fn none() -> PacReaderSerials {
        PacReaderSerials::new()
    }

    fn pac_readers() -> PacReaderSerials {
        ["R-0012".to_string(), "R-0013".to_string()].into()
    }

    fn sent(d: Decision) -> ExternalEvent {
        match d {
            Decision::Send(e) => e,
            other => panic!("not sent: {other:?}"),
        }
    }

    #[test]
    fn a_linked_employee_goes_by_pac_id_with_the_terminal_as_origin() {
        let e = sent(decide(
            &row(Some("web:4411"), Some(10231), "10231", "web"),
            true,
            &none(),
        ));
        assert_eq!(e.source_id, "astrow:58812");
        assert_eq!(e.employee_id, Some(PacId(10231)));
        assert_eq!(e.badge_number, None);
        assert_eq!(e.origin, "Astrow web");
        assert_eq!(e.direction, Some(Direction::Out));
    }

    #[test]
    fn an_astrow_employee_not_linked_yet_waits_whoever_is_master() {
        for pac_master in [false, true] {
            let r = row(None, None, "00a1b2", "web");
            let why = wait_reason(&r, pac_master, &none()).unwrap();
            assert!(why.contains("1001") && why.contains("not linked"), "{why}");
        }
    }

    #[test]
    fn no_astrow_employee_goes_by_a_real_badge_else_waits() {
        let mut r = row(None, None, " 00a1b2 ", "mobile");
        r.booking.pers_no = None;
        let e = sent(decide(&r, false, &none()));
        assert_eq!(e.employee_id, None);
        assert_eq!(e.badge_number.as_deref(), Some("00A1B2"));
        assert_eq!(e.origin, "Astrow mobile");
        assert!(
            wait_reason(&r, true, &none())
                .unwrap()
                .contains("PAC is master")
        );
        r.booking.badge_no = "not-hex".into();
        assert!(
            wait_reason(&r, false, &none())
                .unwrap()
                .contains("not a hex badge")
        );
    }

    #[test]
    fn a_booking_from_pac_never_goes_back() {
        assert_eq!(
            decide(
                &row(Some("pac:1:881233"), Some(1), "1", "file"),
                false,
                &none()
            ),
            Decision::Refuse(FROM_PAC_REASON)
        );
        assert!(matches!(
            decide(&row(Some("import:7"), Some(1), "1", "file"), false, &none()),
            Decision::Send(_)
        ));
    }

    #[test]
    fn a_file_booking_at_a_pac_readers_serial_came_from_pac() {
        // The old Astrow IO Service booked PAC's swipes through the File
        // terminal with no `pac:` source id, at the PAC reader's serial.
        let old_service = row(Some("IO-77812"), Some(1), "1", "file");
        assert_eq!(
            decide(&old_service, false, &pac_readers()),
            Decision::Refuse(FROM_PAC_REASON)
        );
        assert_eq!(wait_reason(&old_service, true, &pac_readers()), None);
        // Another File terminal import, at a serial PAC does not know: Astrow's own.
        let mut other = old_service.clone();
        other.booking.terminal_serial = Some("CLOCK-9".into());
        assert!(matches!(
            decide(&other, false, &pac_readers()),
            Decision::Send(_)
        ));
        // A PAC reader's serial on a terminal of another kind is not a File import.
        let mut web = old_service.clone();
        web.booking.terminal_kind = "terminal".into();
        assert!(matches!(
            decide(&web, false, &pac_readers()),
            Decision::Send(_)
        ));
        let mut no_serial = old_service;
        no_serial.booking.terminal_serial = None;
        assert!(matches!(
            decide(&no_serial, false, &pac_readers()),
            Decision::Send(_)
        ));
    }

    #[test]
    fn origins_fit_pacs_64_characters() {
        assert!(origin(&"x".repeat(500)).chars().count() <= 64);
        assert!(!origin("we\u{1b}b").chars().any(char::is_control));
    }
}
