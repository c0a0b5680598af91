//! What a PAC event becomes (pure).

use std::collections::{BTreeMap, HashMap};

use crate::model::{Booking, Direction, Event, EventType, PacId, Reader};
use crate::store::ledger::{Entry, EntryKind, NewEntry};

/// The booking settings of one reader (`readers."R-0012"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReaderRule {
    /// `None`: the default (every reader books).
    pub booking: Option<bool>,
    /// Overrides PAC's direction of the reader.
    pub direction: Option<Direction>,
    pub roll_call: bool,
}

/// Everything classification depends on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BookingRules {
    pub enabled: bool,
    pub roll_call_active: bool,
    pub readers: BTreeMap<String, ReaderRule>,
}

/// Classify one event given PAC's readers (by id) and the rules.
pub fn classify(event: &Event, readers: &HashMap<u32, Reader>, rules: &BookingRules) -> NewEntry {
    let reader = event.reader_id.and_then(|id| readers.get(&id));
    let reader_serial = match (reader, event.reader_id) {
        (Some(r), _) => Some(r.serial.clone()),
        // PAC named a reader it does not list: keep the id visible; Astrow
        // rejects the booking with a reason rather than us dropping it.
        (None, Some(id)) => Some(format!("unknown-reader-{id}")),
        (None, None) => None,
    };
    // Only a granted swipe books: an `external_attendance` event (a booking
    // that came from Astrow) never goes back to Astrow (no loops).
    let kind = if event.event_type != EventType::AccessGranted || reader_serial.is_none() {
        EntryKind::Feed
    } else {
        let rule = reader_serial
            .as_ref()
            .and_then(|s| rules.readers.get(s))
            .cloned()
            .unwrap_or_default();
        if rules.roll_call_active && rule.roll_call {
            EntryKind::RollCall
        } else if !rules.enabled || rule.booking == Some(false) {
            EntryKind::Feed
        } else {
            let direction = rule
                .direction
                .or(reader.map(|r| r.direction))
                .filter(|d| *d != Direction::None);
            EntryKind::Booking { direction }
        }
    };
    NewEntry {
        event: event.clone(),
        reader_serial,
        kind,
    }
}

/// The badge number a booking goes to Astrow with: the linked Astrow
/// employee's, else PAC's raw badge number (Astrow queues an unknown one).
pub fn badge_for(entry: &Entry, linked_badges: &HashMap<PacId, String>) -> String {
    entry
        .employee_id
        .and_then(|id| linked_badges.get(&id))
        .filter(|b| !b.is_empty())
        .cloned()
        .or_else(|| entry.badge_number.clone())
        .unwrap_or_default()
}

/// The booking sent for a ledger entry.
pub fn booking_for(org: u32, entry: &Entry, badge_no: String) -> Booking {
    let direction = match entry.kind {
        EntryKind::Booking { direction } => direction,
        _ => None,
    };
    Booking {
        source_id: crate::store::seq_reset::source_id(org, entry.seq),
        badge_no,
        time: entry.time,
        terminal_serial: entry.reader_serial.clone().unwrap_or_default(),
        direction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Seq;
    use chrono::{FixedOffset, TimeZone, Utc};

    fn reader(id: u32, serial: &str, d: Direction) -> Reader {
        Reader {
            id,
            name: format!("Reader {id}"),
            controller_id: 1,
            controller_name: "Lobby".into(),
            serial: serial.into(),
            direction: d,
            online: true,
        }
    }

    fn event(t: EventType, reader_id: u32) -> Event {
        Event {
            seq: Seq(7),
            time: FixedOffset::east_opt(0)
                .unwrap()
                .with_ymd_and_hms(2026, 11, 28, 8, 0, 0)
                .unwrap(),
            event_type: t,
            reader_id: Some(reader_id),
            badge_number: Some("00A1".into()),
            employee_id: Some(PacId(3)),
        }
    }

    fn readers() -> HashMap<u32, Reader> {
        [
            (12, reader(12, "R-0012", Direction::In)),
            (13, reader(13, "R-0013", Direction::Out)),
        ]
        .into_iter()
        .collect()
    }

    fn rules() -> BookingRules {
        BookingRules {
            enabled: true,
            ..Default::default()
        }
    }

    #[test]
    fn granted_on_a_booking_reader_books_with_pacs_direction() {
        let e = classify(&event(EventType::AccessGranted, 12), &readers(), &rules());
        assert_eq!(
            e.kind,
            EntryKind::Booking {
                direction: Some(Direction::In)
            }
        );
        assert_eq!(e.reader_serial.as_deref(), Some("R-0012"));
    }

    #[test]
    fn the_reader_setting_overrides_direction_and_can_switch_booking_off() {
        let mut r = rules();
        r.readers.insert(
            "R-0012".into(),
            ReaderRule {
                direction: Some(Direction::Out),
                ..Default::default()
            },
        );
        r.readers.insert(
            "R-0013".into(),
            ReaderRule {
                booking: Some(false),
                ..Default::default()
            },
        );
        let e = classify(&event(EventType::AccessGranted, 12), &readers(), &r);
        assert_eq!(
            e.kind,
            EntryKind::Booking {
                direction: Some(Direction::Out)
            }
        );
        let e = classify(&event(EventType::AccessGranted, 13), &readers(), &r);
        assert_eq!(e.kind, EntryKind::Feed);
    }

    #[test]
    fn denied_and_door_events_are_feed_only() {
        for t in EventType::ALL {
            if t == EventType::AccessGranted {
                continue;
            }
            let e = classify(&event(t, 12), &readers(), &rules());
            assert_eq!(e.kind, EntryKind::Feed, "{t:?}");
        }
    }

    #[test]
    fn an_external_attendance_event_never_becomes_a_booking() {
        let mut r = rules();
        r.roll_call_active = true;
        for reader_id in [12, 13] {
            let mut e = event(EventType::ExternalAttendance, reader_id);
            assert_eq!(classify(&e, &readers(), &r).kind, EntryKind::Feed);
            e.reader_id = None;
            assert_eq!(classify(&e, &readers(), &r).kind, EntryKind::Feed);
        }
    }

    #[test]
    fn bookings_switched_off_make_feed_entries() {
        let r = BookingRules::default();
        let e = classify(&event(EventType::AccessGranted, 12), &readers(), &r);
        assert_eq!(e.kind, EntryKind::Feed);
    }

    #[test]
    fn during_a_roll_call_roll_call_readers_confirm_instead_of_booking() {
        let mut r = rules();
        r.roll_call_active = true;
        r.readers.insert(
            "R-0013".into(),
            ReaderRule {
                roll_call: true,
                ..Default::default()
            },
        );
        let e = classify(&event(EventType::AccessGranted, 13), &readers(), &r);
        assert_eq!(e.kind, EntryKind::RollCall);
        // Other readers still book.
        let e = classify(&event(EventType::AccessGranted, 12), &readers(), &r);
        assert!(matches!(e.kind, EntryKind::Booking { .. }));
    }

    #[test]
    fn an_unknown_reader_still_books_under_a_visible_serial() {
        let e = classify(&event(EventType::AccessGranted, 99), &readers(), &rules());
        assert_eq!(e.reader_serial.as_deref(), Some("unknown-reader-99"));
        assert!(matches!(e.kind, EntryKind::Booking { direction: None }));
    }

    #[test]
    fn the_linked_badge_wins_over_the_raw_one() {
        let entry = Entry {
            seq: Seq(7),
            time: event(EventType::AccessGranted, 12).time,
            event_type: EventType::AccessGranted,
            reader_id: Some(12),
            reader_serial: Some("R-0012".into()),
            badge_number: Some("00A1".into()),
            employee_id: Some(PacId(3)),
            kind: EntryKind::Booking {
                direction: Some(Direction::In),
            },
            status: None,
            badge_no: None,
            read_at: Utc::now(),
            answered_at: None,
            attempts: 0,
        };
        let mut links = HashMap::new();
        assert_eq!(badge_for(&entry, &links), "00A1");
        links.insert(PacId(3), "10231".to_string());
        assert_eq!(badge_for(&entry, &links), "10231");
        let b = booking_for(1, &entry, "10231".into());
        assert_eq!(b.source_id, "pac:1:7");
        assert_eq!(b.terminal_serial, "R-0012");
        assert_eq!(b.direction, Some(Direction::In));
    }
}
