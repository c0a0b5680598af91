//! Who is on site and who has confirmed during a roll call (pure).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::engine::people::People;
use crate::engine::snapshot::RollCallPerson;
use crate::model::Direction;
use crate::store::ledger::{Entry, EntryKind};

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
