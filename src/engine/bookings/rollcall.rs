//! Who is on site and who has confirmed during a roll call (pure).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::engine::people::People;
use crate::engine::snapshot::RollCallPerson;
use crate::model::Direction;
use crate::store::ledger::{Entry, EntryKind};

/// PAC's granted swipes (oldest first) and the attendance Astrow sent to
/// PAC in one list by time for [`roll_call`]: someone who clocked in on
/// Astrow's web clock counts as on site. Swipes keep their own order.
/// Astrow's attendance is sorted by its booking time here: its booking ids
/// are entry order, and a clock-out entered late by hand for earlier must
/// not override a later clock-in.
pub fn merge_attendance(granted: Vec<Entry>, mut external: Vec<Entry>) -> Vec<Entry> {
    if external.is_empty() {
        return granted;
    }
    external.sort_by_key(|e| e.time);
    let mut out = Vec::with_capacity(granted.len() + external.len());
    let mut ext = external.into_iter().peekable();
    for g in granted {
        while let Some(e) = ext.next_if(|e| e.time < g.time) {
            out.push(e);
        }
        out.push(g);
    }
    out.extend(ext);
    out
}

/// Fold granted swipes (oldest first) into the roll call: a person is on site
/// when their last booking swipe went in; confirmed when they swiped a
/// roll-call reader since the roll call started. Confirmed people are listed
/// even when their last booking swipe was out (they are evidently on site).
pub fn roll_call(
    granted: &[Entry],
    started: DateTime<Utc>,
    people: &People,
) -> Vec<RollCallPerson> {
    struct Seen {
        name: String,
        badge: String,
        last: chrono::DateTime<chrono::FixedOffset>,
        inside: bool,
        confirmed: bool,
    }
    let mut by_person: BTreeMap<String, Seen> = BTreeMap::new();
    for e in granted {
        let badge = e.badge_number.clone().unwrap_or_default();
        let key = match e.employee_id {
            Some(id) => format!("pac:{}", id.0),
            None => format!("badge:{badge}"),
        };
        let name = e
            .employee_id
            .and_then(|id| people.names.get(&id).cloned())
            .unwrap_or_else(|| format!("badge {badge}"));
        let seen = by_person.entry(key).or_insert(Seen {
            name,
            badge,
            last: e.time,
            inside: false,
            confirmed: false,
        });
        seen.last = e.time;
        match e.kind {
            EntryKind::Booking { direction: Some(d) } => seen.inside = d == Direction::In,
            EntryKind::RollCall if e.read_at >= started => seen.confirmed = true,
            _ => {}
        }
    }
    let mut out: Vec<RollCallPerson> = by_person
        .into_values()
        .filter(|s| s.inside || s.confirmed)
        .map(|s| RollCallPerson {
            name: s.name,
            badge_number: s.badge,
            last_seen: s.last,
            confirmed: s.confirmed,
        })
        .collect();
    // Unconfirmed first: they are who the roll call is looking for.
    out.sort_by(|a, b| a.confirmed.cmp(&b.confirmed).then(a.name.cmp(&b.name)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventType, PacId, Seq};
    use chrono::{FixedOffset, TimeZone};

    fn entry(seq: u64, minute: u32, t: EventType, employee: u64, d: Direction) -> Entry {
        Entry {
            seq: Seq(seq),
            time: FixedOffset::east_opt(0)
                .unwrap()
                .with_ymd_and_hms(2026, 11, 28, 8, minute, 0)
                .unwrap(),
            event_type: t,
            reader_id: None,
            reader_serial: None,
            badge_number: Some(format!("B{employee}")),
            employee_id: Some(PacId(employee)),
            kind: EntryKind::Booking { direction: Some(d) },
            status: None,
            badge_no: None,
            read_at: Utc::now(),
            answered_at: None,
            attempts: 0,
        }
    }

    #[test]
    fn someone_who_clocked_in_on_astrow_counts_as_on_site() {
        let granted = vec![
            entry(1, 0, EventType::AccessGranted, 1, Direction::In),
            entry(2, 30, EventType::AccessGranted, 2, Direction::In),
        ];
        let external = vec![
            // 2 clocks out on the web after their swipe in; 3 clocks in on mobile.
            entry(7, 5, EventType::ExternalAttendance, 3, Direction::In),
            entry(8, 40, EventType::ExternalAttendance, 2, Direction::Out),
        ];
        let mut people = People::default();
        for i in 1..=3 {
            people.names.insert(PacId(i), format!("P{i}"));
        }
        let merged = merge_attendance(granted, external);
        let seqs: Vec<u64> = merged.iter().map(|e| e.seq.0).collect();
        assert_eq!(seqs, [1, 7, 2, 8], "by time");
        let on_site: Vec<String> = roll_call(&merged, Utc::now(), &people)
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(on_site, ["P1", "P3"]);
    }

    #[test]
    fn a_late_entered_earlier_clock_out_does_not_override_a_later_clock_in() {
        // Astrow's booking ids are entry order: 7 (in at 08:30) was booked
        // first, 8 (out at 08:10, entered late by hand) after it.
        let external = vec![
            entry(7, 30, EventType::ExternalAttendance, 4, Direction::In),
            entry(8, 10, EventType::ExternalAttendance, 4, Direction::Out),
        ];
        let mut people = People::default();
        people.names.insert(PacId(4), "P4".into());
        people.names.insert(PacId(1), "P1".into());
        for granted in [
            vec![],
            vec![entry(1, 0, EventType::AccessGranted, 1, Direction::In)],
        ] {
            let merged = merge_attendance(granted.clone(), external.clone());
            let on_site: Vec<String> = roll_call(&merged, Utc::now(), &people)
                .into_iter()
                .map(|p| p.name)
                .collect();
            assert!(on_site.contains(&"P4".to_string()), "{on_site:?}");
            assert_eq!(on_site.len(), granted.len() + 1);
        }
    }
}
