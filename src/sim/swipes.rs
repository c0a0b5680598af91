//! Badge swipes as a PAC site makes them: a rate per minute with bursts at
//! shift changes, a share of denied swipes and unknown badges, the odd door
//! alarm, and controllers whose clocks are slightly apart.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveTime, Timelike};
use rand::Rng;
use rand::rngs::StdRng;

use crate::model::{Direction, Event, EventType, PacEmployee, PacId, Reader, Seq};

/// Each controller's clock error in seconds (within ±90 s), from the seed.
pub fn clock_skews(rng: &mut StdRng, readers: &[Reader]) -> HashMap<u32, i64> {
    let mut out = HashMap::new();
    for r in readers {
        out.entry(r.controller_id)
            .or_insert_with(|| rng.random_range(-90..=90));
    }
    out
}

/// Swipes per minute at local time `t`: `base`, four times as many in the
/// quarter hour around the shift changes at 06:00, 14:00 and 22:00.
pub fn rate_at(base: f64, t: NaiveTime) -> f64 {
    let minute = (t.hour() * 60 + t.minute()) as i64;
    let near_shift = [6 * 60, 14 * 60, 22 * 60]
        .iter()
        .any(|s| (minute - s).abs() <= 7);
    if near_shift { base * 4.0 } else { base }
}

/// A random employee: a random point in the id range, then the next id.
fn some_employee<'a>(
    rng: &mut StdRng,
    employees: &'a BTreeMap<u64, PacEmployee>,
) -> Option<&'a PacEmployee> {
    let lo = *employees.keys().next()?;
    let hi = *employees.keys().next_back()?;
    let at = rng.random_range(lo..=hi);
    employees.range(at..).next().map(|(_, e)| e)
}

fn unknown_badge(rng: &mut StdRng) -> String {
    format!("{:08X}", rng.random::<u32>())
}

/// `count` events numbered from `first_seq`, happening at `now` as each
/// controller's clock tells it.
pub fn make_events(
    rng: &mut StdRng,
    employees: &BTreeMap<u64, PacEmployee>,
    readers: &[Reader],
    skews: &HashMap<u32, i64>,
    now: DateTime<FixedOffset>,
    first_seq: u64,
    count: usize,
) -> Vec<Event> {
    let doors: Vec<&Reader> = readers
        .iter()
        .filter(|r| r.direction != Direction::None)
        .collect();
    let doors = if doors.is_empty() {
        readers.iter().collect()
    } else {
        doors
    };
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let Some(reader) = (if doors.is_empty() {
            None
        } else if rng.random_bool(0.05) {
            readers.get(rng.random_range(0..readers.len()))
        } else {
            Some(doors[rng.random_range(0..doors.len())])
        }) else {
            break;
        };
        let (event_type, badge_number, employee_id) = one_swipe(rng, employees);
        let skew = skews.get(&reader.controller_id).copied().unwrap_or(0);
        let time = now + chrono::Duration::seconds(skew)
            - chrono::Duration::milliseconds(rng.random_range(0..1500));
        out.push(Event {
            seq: Seq(first_seq + i as u64),
            time,
            event_type,
            reader_id: Some(reader.id),
            badge_number,
            employee_id,
        });
    }
    out
}

fn one_swipe(
    rng: &mut StdRng,
    employees: &BTreeMap<u64, PacEmployee>,
) -> (EventType, Option<String>, Option<PacId>) {
    let roll = rng.random_range(0..1000);
    if roll < 5 {
        let t = if rng.random_bool(0.5) {
            EventType::DoorHeldOpen
        } else {
            EventType::DoorForced
        };
        return (t, None, None);
    }
    if roll < 7 {
        let t = if rng.random_bool(0.5) {
            EventType::ReaderOffline
        } else {
            EventType::ReaderOnline
        };
        return (t, None, None);
    }
    if roll < 37 {
        return (
            EventType::AccessDeniedUnknownBadge,
            Some(unknown_badge(rng)),
            None,
        );
    }
    for _ in 0..8 {
        let Some(e) = some_employee(rng, employees) else {
            break;
        };
        let Some(badge) = e
            .badges
            .iter()
            .rev()
            .find(|b| b.active)
            .or(e.badges.first())
        else {
            continue;
        };
        let usable = e.active && badge.active;
        let t = if !usable {
            EventType::AccessDeniedTime
        } else {
            match rng.random_range(0..100) {
                0..=3 => EventType::AccessDeniedTime,
                4..=5 => EventType::AccessDeniedPassback,
                _ => EventType::AccessGranted,
            }
        };
        return (t, Some(badge.number.clone()), Some(e.id));
    }
    (
        EventType::AccessDeniedUnknownBadge,
        Some(unknown_badge(rng)),
        None,
    )
}

/// Run forever: every second, `emit(n)` with as many swipes as the rate at
/// that local time asks for (fractions carried over).
pub async fn run<F, Fut>(per_min: f64, mut emit: F)
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    if per_min <= 0.0 {
        return;
    }
    let mut carry = 0.0;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        carry += rate_at(per_min, chrono::Local::now().time()) / 60.0;
        let n = carry.floor();
        carry -= n;
        if n >= 1.0 {
            emit(n as usize).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn swipes_are_mostly_granted_with_denials_and_unknown_badges() {
        let site = crate::sim::seed::pac_site(3, 300);
        let employees: BTreeMap<u64, PacEmployee> =
            site.employees.into_iter().map(|e| (e.id.0, e)).collect();
        let mut rng = StdRng::seed_from_u64(3);
        let skews = clock_skews(&mut rng, &site.readers);
        let now = chrono::Local::now().fixed_offset();
        let ev = make_events(&mut rng, &employees, &site.readers, &skews, now, 41, 2000);
        assert_eq!(ev.len(), 2000);
        assert_eq!(ev[0].seq, Seq(41));
        assert_eq!(ev[1999].seq, Seq(2040));
        let count = |t| ev.iter().filter(|e| e.event_type == t).count();
        assert!(count(EventType::AccessGranted) > 1500);
        assert!(count(EventType::AccessDeniedUnknownBadge) > 20);
        assert!(count(EventType::AccessDeniedTime) > 10);
        for e in ev
            .iter()
            .filter(|e| e.event_type == EventType::AccessGranted)
        {
            let emp = &employees[&e.employee_id.unwrap().0];
            assert!(
                emp.badges
                    .iter()
                    .any(|b| Some(&b.number) == e.badge_number.as_ref())
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_generator_keeps_the_rate() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let made = Arc::new(AtomicUsize::new(0));
        let counter = made.clone();
        let task = tokio::spawn(run(120.0, move |n| {
            counter.fetch_add(n, Ordering::SeqCst);
            async {}
        }));
        tokio::time::sleep(Duration::from_secs(30)).await;
        task.abort();
        // 60 in 30 s, four times that at a shift change.
        let n = made.load(Ordering::SeqCst);
        assert!((55..=245).contains(&n), "{n}");
    }

    #[test]
    fn shift_changes_burst() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(rate_at(10.0, t(10, 0)), 10.0);
        assert_eq!(rate_at(10.0, t(13, 55)), 40.0);
        assert_eq!(rate_at(10.0, t(6, 7)), 40.0);
    }
}
