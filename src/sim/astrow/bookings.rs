//! Bookings of the simulated Astrow: idempotent on `source_id`, queued when
//! the badge is no one's, rejected (and not stored) when they cannot be.

use rand::Rng;

use super::state::State;
use crate::astrow::wire::{
    Booking, BookingDirection, BookingResult, ResultStatus, StoredBooking, StoredStatus,
    TerminalKind,
};

impl State {
    /// Bookings made at Astrow's own terminals (web clock, mobile app, a
    /// terminal of another vendor) now, by random employees with a badge;
    /// one in ten has a badge no one holds (Astrow queues it). Their ids.
    pub fn own_bookings(&mut self, count: usize, kind: Option<TerminalKind>) -> Vec<u64> {
        self.own_bookings_at(count, kind, None)
    }

    /// [`own_bookings`](Self::own_bookings) at the terminal with this
    /// serial: File terminal bookings at a PAC reader's serial are what the
    /// old Astrow IO Service made of PAC's swipes (no `pac:` source id).
    pub fn own_bookings_at(
        &mut self,
        count: usize,
        kind: Option<TerminalKind>,
        serial: Option<&str>,
    ) -> Vec<u64> {
        let badges: Vec<(String, u64)> = self
            .employees
            .values()
            .filter_map(|e| e.badge_no.clone().map(|b| (b, e.pers_no.0)))
            .collect();
        let mut made = Vec::with_capacity(count);
        for _ in 0..count {
            let kind = kind.unwrap_or(if self.rng.random_range(0..3) == 0 {
                TerminalKind::Mobile
            } else {
                TerminalKind::Web
            });
            let known = !badges.is_empty() && self.rng.random_range(0..10) != 0;
            let (badge_no, pers_no) = if known {
                let (b, p) = &badges[self.rng.random_range(0..badges.len())];
                (b.clone(), Some(crate::model::PersNo(*p)))
            } else {
                (
                    format!("{}", self.rng.random_range(900_000..1_000_000u32)),
                    None,
                )
            };
            let direction = if self.rng.random_bool(0.5) {
                BookingDirection::In
            } else {
                BookingDirection::Out
            };
            self.own_made += 1;
            let id = self.next_booking_id;
            self.next_booking_id += 1;
            let source_id = match kind {
                TerminalKind::File => format!("import:{}", self.own_made),
                k => format!("{}:{}", k.as_str(), self.own_made),
            };
            self.by_source.insert(source_id.clone(), id);
            self.bookings.insert(
                id,
                StoredBooking {
                    booking_id: id,
                    source_id,
                    badge_no,
                    time: super::state::now(),
                    terminal_serial: serial.unwrap_or_default().to_string(),
                    terminal_kind: kind,
                    direction: Some(direction),
                    mc_code: None,
                    cc_code: None,
                    status: if pers_no.is_some() {
                        StoredStatus::Processed
                    } else {
                        StoredStatus::Queued
                    },
                    pers_no,
                },
            );
            made.push(id);
        }
        made
    }

    /// Behind the integration's back (a person in Astrow): delete the stored
    /// booking with this source id. Whether there was one.
    pub fn delete_booking(&mut self, source_id: &str) -> bool {
        match self.by_source.remove(source_id) {
            Some(id) => self.bookings.remove(&id).is_some(),
            None => false,
        }
    }

    /// Astrow restored from a backup taken when its newest booking was
    /// `through`: later bookings are gone (with their source ids) and
    /// numbering goes on from there.
    pub fn restore_bookings(&mut self, through: u64) {
        self.bookings.retain(|id, _| *id <= through);
        self.by_source.retain(|_, id| *id <= through);
        self.next_booking_id = self.next_booking_id.min(through + 1);
    }

    /// Behind the integration's back (another import): store the booking
    /// with this source id once more, under a new booking id.
    pub fn double_booking(&mut self, source_id: &str) -> bool {
        let Some(mut b) = self
            .by_source
            .get(source_id)
            .and_then(|id| self.bookings.get(id))
            .cloned()
        else {
            return false;
        };
        b.booking_id = self.next_booking_id;
        self.next_booking_id += 1;
        self.bookings.insert(b.booking_id, b);
        true
    }

    /// `POST /bookings/batch` (already well-formed): one result per booking.
    pub fn book(&mut self, bookings: Vec<Booking>) -> Vec<BookingResult> {
        bookings.into_iter().map(|b| self.book_one(b)).collect()
    }

    fn book_one(&mut self, b: Booking) -> BookingResult {
        let result = |status, booking_id, reason| BookingResult {
            source_id: b.source_id.clone(),
            status,
            booking_id,
            reason,
        };
        if let Some(&id) = self.by_source.get(&b.source_id) {
            self.counts.duplicates += 1;
            return result(ResultStatus::Duplicate, Some(id), None);
        }
        if let Some(reason) = self.rejection(&b) {
            self.counts.rejected += 1;
            return result(ResultStatus::Rejected, None, Some(reason));
        }
        let owner = self.employees.owner(b.badge_no.trim()).map(|e| e.pers_no);
        let (status, stored) = match owner {
            Some(_) => {
                self.counts.processed += 1;
                (ResultStatus::Processed, StoredStatus::Processed)
            }
            None => {
                self.counts.queued += 1;
                (ResultStatus::Queued, StoredStatus::Queued)
            }
        };
        let id = self.next_booking_id;
        self.next_booking_id += 1;
        self.by_source.insert(b.source_id.clone(), id);
        let r = result(status, Some(id), None);
        self.bookings.insert(
            id,
            StoredBooking {
                booking_id: id,
                source_id: b.source_id,
                badge_no: b.badge_no,
                time: b.time,
                terminal_serial: b.terminal_serial,
                terminal_kind: TerminalKind::File,
                direction: b.direction,
                mc_code: b.mc_code,
                cc_code: b.cc_code,
                status: stored,
                pers_no: owner,
            },
        );
        r
    }

    fn rejection(&self, b: &Booking) -> Option<String> {
        if b.badge_no.trim().is_empty() {
            return Some("the badge number is empty".to_string());
        }
        if !self.readers.iter().any(|r| r.serial == b.terminal_serial) {
            return Some(format!(
                "terminal serial {:?} is not in the readers mirror",
                b.terminal_serial
            ));
        }
        if let Some(closed) = self.closed_until
            && b.time.date_naive() <= closed
        {
            return Some(format!(
                "the time is in a closed pay period (closed up to {closed})"
            ));
        }
        None
    }
}
