//! Astrow's bookings feed: `GET /bookings?after=<booking_id>`, one page at a
//! time, every record checked (size, shape, control characters). A record
//! whose `booking_id` is readable but the rest is not is handed back as
//! unreadable, so the reader records it and goes past it; a page whose ids
//! cannot be read or are out of order is an error.

use serde_json::Value;

use super::client::{AstrowClient, Call, MAX_PAGE_BYTES};
use super::error::AstrowError;
use super::wire::{self, BookingDirection, Page, StoredBooking};
use crate::http;
use crate::model::{AstrowOwnBooking, Direction};

/// Longest `source_id` and `badge_no` accepted from the feed.
pub const MAX_FEED_TEXT: usize = 200;

/// The highest Astrow booking id accepted: ledger keys put an Astrow
/// restore's epoch above it (`model::A2P_EPOCH_SHIFT`).
pub const MAX_BOOKING_ID: u64 = (1 << crate::model::A2P_EPOCH_SHIFT) - 1;

/// One page of the feed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FeedPage {
    pub bookings: Vec<AstrowOwnBooking>,
    /// Records that could not be read: their booking id and what is wrong.
    pub unreadable: Vec<(u64, String)>,
    /// The marks of the unreadable records ([`unreadable_mark`]
    /// of their raw text), to tell one from another under the same id.
    pub unreadable_marks: Vec<(u64, String)>,
    /// More bookings follow this page.
    pub more: bool,
}

impl FeedPage {
    /// The highest booking id on the page (readable or not).
    pub fn last_id(&self) -> Option<u64> {
        let a = self.bookings.iter().map(|b| b.booking_id).max();
        let b = self.unreadable.iter().map(|(id, _)| *id).max();
        a.max(b)
    }
}

impl AstrowClient {
    /// `GET /bookings?after=&limit=`: the stored bookings after booking id
    /// `after`, at most `limit` (1..=1000), in booking id order.
    pub async fn bookings_after(&self, after: u64, limit: u32) -> Result<FeedPage, AstrowError> {
        let mut call = Call::get("/bookings");
        let limit = limit.clamp(1, wire::MAX_LIMIT);
        call.query = vec![("after", after.to_string()), ("limit", limit.to_string())];
        let endpoint = call.endpoint();
        let page: Page<Value> = self.fetch(call, MAX_PAGE_BYTES).await?;
        let bad = |detail: String| AstrowError::Answer {
            endpoint: endpoint.clone(),
            detail,
        };
        if page.items.len() > limit as usize {
            return Err(bad(format!(
                "{} bookings on a page of at most {limit}",
                page.items.len()
            )));
        }
        let mut out = FeedPage {
            more: page.next_cursor.is_some(),
            ..FeedPage::default()
        };
        let mut last = after;
        for (i, item) in page.items.into_iter().enumerate() {
            let id = item
                .get("booking_id")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(format!("booking {i} of the page has no booking_id")))?;
            check_id(id, last).map_err(bad)?;
            last = id;
            match read_booking(&item) {
                Ok(b) => out.bookings.push(b),
                Err(why) => {
                    out.unreadable.push((id, why));
                    let mark = unreadable_mark(&item.to_string());
                    out.unreadable_marks.push((id, mark));
                }
            }
        }
        Ok(out)
    }
}

/// A page's next booking id: after the one before (`last`) and within what
/// a ledger key holds ([`MAX_BOOKING_ID`]).
fn check_id(id: u64, last: u64) -> Result<(), String> {
    if id <= last {
        return Err(format!(
            "booking id {id} is not after {last}: the feed is out of order"
        ));
    }
    if id > MAX_BOOKING_ID {
        return Err(format!(
            "booking id {id} is above {MAX_BOOKING_ID} (2^40 - 1), the highest this \
             integration can key (the epochs of Astrow restores use the bits above): \
             nothing of the page was stored; have Astrow's booking ids checked"
        ));
    }
    Ok(())
}

/// The mark of a record Astrow's feed could not read (its raw text's
/// hash), to tell it from another one under the same id after a restore.
pub fn unreadable_mark(raw: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, raw.as_bytes());
    let hex: String = digest
        .as_ref()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("unreadable|{hex}")
}

/// One record of the feed, checked.
pub fn read_booking(item: &Value) -> Result<AstrowOwnBooking, String> {
    use serde::Deserialize;
    let b = StoredBooking::deserialize(item).map_err(|e| http::sanitize(&e.to_string()))?;
    let text_ok = |name: &str, v: &str| -> Result<(), String> {
        if v.chars().count() > MAX_FEED_TEXT {
            return Err(format!("{name} is longer than {MAX_FEED_TEXT} characters"));
        }
        if v.chars().any(char::is_control) {
            return Err(format!("{name} holds control characters"));
        }
        Ok(())
    };
    text_ok("source_id", &b.source_id)?;
    text_ok("badge_no", &b.badge_no)?;
    text_ok("terminal_serial", &b.terminal_serial)?;
    Ok(AstrowOwnBooking {
        booking_id: b.booking_id,
        source_id: Some(b.source_id).filter(|s| !s.is_empty()),
        pers_no: b.pers_no,
        badge_no: b.badge_no.trim().to_string(),
        time: b.time,
        terminal_kind: b.terminal_kind.as_str().to_string(),
        terminal_serial: Some(b.terminal_serial.trim().to_string()).filter(|s| !s.is_empty()),
        direction: b.direction.map(|d| match d {
            BookingDirection::In => Direction::In,
            BookingDirection::Out => Direction::Out,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booking_ids_past_the_epoch_keys_limit_are_refused_by_name() {
        assert_eq!(check_id(MAX_BOOKING_ID, 7), Ok(()));
        let e = check_id(1 << 40, 7).unwrap_err();
        assert!(e.contains("2^40"), "{e}");
        assert!(check_id(7, 7).unwrap_err().contains("out of order"));
        // Two records, one name: different marks.
        assert_ne!(unreadable_mark("{\"a\":1}"), unreadable_mark("{\"a\":2}"));
    }

    #[test]
    fn a_web_booking_reads_with_null_source_and_serial() {
        let b = read_booking(&json!({"booking_id": 7, "source_id": null, "pers_no": 1001,
            "badge_no": "10231", "time": "2026-11-28T08:01:07+01:00", "terminal_serial": null,
            "terminal_kind": "web", "direction": "in", "status": "processed"}))
        .unwrap();
        assert_eq!(b.source_id, None);
        assert_eq!(b.terminal_kind, "web");
        assert_eq!(b.direction, Some(Direction::In));
    }

    #[test]
    fn control_characters_and_unknown_kinds_are_unreadable() {
        let base = json!({"booking_id": 7, "source_id": "web:1", "badge_no": "1",
            "time": "2026-11-28T08:01:07+01:00", "terminal_kind": "web", "status": "processed"});
        let mut ctl = base.clone();
        ctl["badge_no"] = json!("12\u{1b}[31m");
        assert!(read_booking(&ctl).unwrap_err().contains("control"));
        let mut kind = base.clone();
        kind["terminal_kind"] = json!("fax");
        assert!(read_booking(&kind).is_err());
        let mut long = base;
        long["source_id"] = json!("x".repeat(201));
        assert!(read_booking(&long).unwrap_err().contains("longer"));
    }
}
