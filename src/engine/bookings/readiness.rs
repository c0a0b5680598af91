//! Whether a pending booking can go to Astrow now (pure). A booking waits
//! when its reader is not in Astrow's reader mirror (Astrow would reject it
//! for good) or when its PAC employee is about to be linked (sent now, it
//! would carry PAC's raw badge number and land in Astrow's queue). A waiting
//! booking never holds back one that is ready.

use chrono::{DateTime, Utc};

use crate::engine::people::People;
use crate::store::booking_waits::WaitKey;
use crate::store::ledger::Entry;

/// The serial the reader of an event PAC does not list gets (see `classify`):
/// Astrow rejects those with a reason; waiting would not help.
pub const UNKNOWN_READER_PREFIX: &str = "unknown-reader-";

/// Everything readiness depends on.
#[derive(Debug, Clone, Copy)]
pub struct Readiness<'a> {
    /// Astrow's mirror (its serials `None`: not known, send all) and the
    /// PAC employees the employee sync is about to link.
    pub people: &'a People,
    /// How long a booking waits for its employee's link at most; after
    /// that it goes with PAC's badge number (Astrow queues it).
    pub link_wait: chrono::Duration,
    pub now: DateTime<Utc>,
}

impl<'a> Readiness<'a> {
    pub fn of(people: &'a People, link_wait: chrono::Duration, now: DateTime<Utc>) -> Self {
        Readiness {
            people,
            link_wait,
            now,
        }
    }
}

/// What `entry` waits for, if anything.
pub fn wait_for(entry: &Entry, r: &Readiness) -> Option<WaitKey> {
    if r.people.mirrored_serials.is_some()
        && let Some(serial) = &entry.reader_serial
        && !serial.starts_with(UNKNOWN_READER_PREFIX)
        && r.people.mirrored_serial(entry.reader_id, serial).is_none()
    {
        return Some(WaitKey::Reader(serial.clone()));
    }
    // A booking sent before keeps the badge it first went out with.
    if entry.badge_no.is_none()
        && let Some(id) = entry.employee_id
        && r.people.awaiting_link.contains(&id)
        && r.now - entry.read_at < r.link_wait
    {
        return Some(WaitKey::Employee(id));
    }
    None
}

/// Split a batch into the bookings that can go now (in order) and the
/// distinct reasons the others wait for (in order of first appearance).
pub fn split(batch: Vec<Entry>, r: &Readiness) -> (Vec<Entry>, Vec<WaitKey>) {
    let mut ready = Vec::with_capacity(batch.len());
    let mut keys: Vec<WaitKey> = Vec::new();
    for entry in batch {
        match wait_for(&entry, r) {
            None => ready.push(entry),
            Some(k) => {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
    }
    (ready, keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Direction, EventType, PacId, Seq};
    use crate::store::ledger::EntryKind;
    use chrono::{FixedOffset, TimeZone};

    fn entry(seq: u64, serial: &str, employee: Option<u64>, age_s: i64) -> Entry {
        let now = now();
        Entry {
            seq: Seq(seq),
            time: FixedOffset::east_opt(0)
                .unwrap()
                .with_ymd_and_hms(2026, 11, 28, 8, 0, 0)
                .unwrap(),
            event_type: EventType::AccessGranted,
            reader_id: Some(1),
            reader_serial: Some(serial.into()),
            badge_number: Some("00A1".into()),
            employee_id: employee.map(PacId),
            kind: EntryKind::Booking {
                direction: Some(Direction::In),
            },
            status: None,
            badge_no: None,
            read_at: now - chrono::Duration::seconds(age_s),
            answered_at: None,
            attempts: 0,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap()
    }

    fn people(mirror: Option<&[(u32, &str)]>, awaiting: &[u64]) -> People {
        let base = People {
            awaiting_link: awaiting.iter().map(|id| PacId(*id)).collect(),
            ..People::default()
        };
        match mirror {
            Some(m) => base.with_mirror(std::sync::Arc::new(
                m.iter().map(|(id, s)| (*id, s.to_string())).collect(),
            )),
            None => base,
        }
    }

    fn readiness(people: &People) -> Readiness<'_> {
        Readiness::of(people, chrono::Duration::minutes(10), now())
    }

    #[test]
    fn a_booking_on_an_unmirrored_reader_waits_and_the_rest_go_in_order() {
        let p = people(Some(&[(2, "R-1")]), &[]);
        let r = readiness(&p);
        let batch = vec![
            entry(1, "R-9", None, 5),
            entry(2, "R-1", None, 5),
            entry(3, "R-9", None, 5),
            entry(4, "unknown-reader-77", None, 5),
            entry(5, "R-1", None, 5),
        ];
        let (ready, keys) = split(batch, &r);
        let seqs: Vec<u64> = ready.iter().map(|e| e.seq.0).collect();
        assert_eq!(seqs, vec![2, 4, 5]);
        assert_eq!(keys, vec![WaitKey::Reader("R-9".into())]);
        // Without a known mirror, everything goes.
        let p = people(None, &[]);
        assert!(wait_for(&entry(1, "R-9", None, 5), &readiness(&p)).is_none());
    }

    #[test]
    fn a_reader_whose_serial_changed_in_pac_goes_under_the_mirrored_serial() {
        // Reader 1 was read as R-OLD; the mirror now holds it as R-NEW.
        let p = people(Some(&[(1, "R-NEW")]), &[]);
        assert_eq!(wait_for(&entry(1, "R-OLD", None, 5), &readiness(&p)), None);
        assert_eq!(
            p.mirrored_serial(Some(1), "R-OLD").as_deref(),
            Some("R-NEW")
        );
        assert_eq!(p.mirrored_serial(Some(2), "R-OLD"), None);
    }

    #[test]
    fn a_booking_waits_for_its_employees_link_but_not_for_ever() {
        let p = people(Some(&[(1, "R-1")]), &[7]);
        let r = readiness(&p);
        assert_eq!(
            wait_for(&entry(1, "R-1", Some(7), 60), &r),
            Some(WaitKey::Employee(PacId(7)))
        );
        assert_eq!(wait_for(&entry(1, "R-1", Some(8), 60), &r), None);
        assert_eq!(wait_for(&entry(1, "R-1", None, 60), &r), None);
        // Waited its time: goes with PAC's badge (Astrow queues it).
        assert_eq!(wait_for(&entry(1, "R-1", Some(7), 601), &r), None);
        // Sent before: keeps going with the badge it first had.
        let mut sent = entry(1, "R-1", Some(7), 60);
        sent.badge_no = Some("00A1".into());
        assert_eq!(wait_for(&sent, &r), None);
    }
}
