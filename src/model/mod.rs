//! The neutral domain both connectors map to and the engine reasons about.
//! Nothing here does I/O or knows a wire format.

mod employee_key;
mod ids;
mod link;
mod masked;

pub use employee_key::{AmbiguousEmployee, EmployeeKey, Person, resolve as resolve_employee};
pub use ids::{PacId, PersNo, Seq};
pub use link::*;
pub use masked::{LogBadge, mask_badges_in};

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

/// The three badge technologies PAC knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadgeType {
    /// PAC Proximity Reader
    PacProximity,
    /// Wiegand 2601 format
    #[serde(rename = "wiegand_2601")]
    Wiegand2601,
    /// OneProx smart card
    Oneprox,
}

impl BadgeType {
    pub const ALL: [BadgeType; 3] = [
        BadgeType::PacProximity,
        BadgeType::Wiegand2601,
        BadgeType::Oneprox,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BadgeType::PacProximity => "pac_proximity",
            BadgeType::Wiegand2601 => "wiegand_2601",
            BadgeType::Oneprox => "oneprox",
        }
    }
}

impl std::fmt::Display for BadgeType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A PAC badge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Badge {
    /// Upper-case hex, as PAC stores it.
    pub number: String,
    pub badge_type: BadgeType,
    pub active: bool,
}

/// A PAC keyholder, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacEmployee {
    pub id: PacId,
    pub first_name: String,
    pub last_name: String,
    pub employee_number: String,
    pub active: bool,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub access_group_ids: Vec<u32>,
    pub badges: Vec<Badge>,
    pub external_ref: Option<String>,
    pub version: u64,
}

/// An Astrow employee, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AstrowEmployee {
    pub pers_no: PersNo,
    pub employee_no: String,
    pub first_name: String,
    pub middle_name: String,
    pub last_name: String,
    /// `None` when the badge was removed.
    pub badge_no: Option<String>,
    pub active: bool,
    pub contract_start: Option<NaiveDate>,
    pub contract_end: Option<NaiveDate>,
    pub cycle_code: String,
    pub paygroup_code: String,
    /// The PAC Access tab.
    pub pac_access_group_ids: Vec<u32>,
    pub pac_badge_type: Option<BadgeType>,
    pub external_ref: Option<String>,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccessGroup {
    pub id: u32,
    pub name: String,
    pub is_default: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
    None,
}

/// A reader without a direction (`null` or missing in an answer).
impl Default for Direction {
    fn default() -> Self {
        Direction::None
    }
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::None => "none",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reader {
    pub id: u32,
    pub name: String,
    pub controller_id: u32,
    pub controller_name: String,
    pub serial: String,
    pub direction: Direction,
    pub online: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    AccessGranted,
    AccessDeniedUnknownBadge,
    AccessDeniedTime,
    AccessDeniedPassback,
    DoorForced,
    DoorHeldOpen,
    ReaderOffline,
    ReaderOnline,
    /// A booking made outside PAC (Astrow's web clock, its mobile app, ...)
    /// that PAC keeps for roll call and presence: never booked into Astrow.
    ExternalAttendance,
}

impl EventType {
    pub const ALL: [EventType; 9] = [
        EventType::AccessGranted,
        EventType::AccessDeniedUnknownBadge,
        EventType::AccessDeniedTime,
        EventType::AccessDeniedPassback,
        EventType::DoorForced,
        EventType::DoorHeldOpen,
        EventType::ReaderOffline,
        EventType::ReaderOnline,
        EventType::ExternalAttendance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::AccessGranted => "access_granted",
            EventType::AccessDeniedUnknownBadge => "access_denied_unknown_badge",
            EventType::AccessDeniedTime => "access_denied_time",
            EventType::AccessDeniedPassback => "access_denied_passback",
            EventType::DoorForced => "door_forced",
            EventType::DoorHeldOpen => "door_held_open",
            EventType::ReaderOffline => "reader_offline",
            EventType::ReaderOnline => "reader_online",
            EventType::ExternalAttendance => "external_attendance",
        }
    }
}

/// One PAC event (a swipe, a door alarm, a reader going on- or offline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub seq: Seq,
    pub time: DateTime<FixedOffset>,
    pub event_type: EventType,
    pub reader_id: Option<u32>,
    pub badge_number: Option<String>,
    pub employee_id: Option<PacId>,
}

/// A T&A booking for Astrow's File terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    /// `pac:<org>:<seq>`: Astrow's idempotency key.
    pub source_id: String,
    pub badge_no: String,
    pub time: DateTime<FixedOffset>,
    pub terminal_serial: String,
    pub direction: Option<Direction>,
}

/// What Astrow answered for one booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BookingStatus {
    Processed { booking_id: u64 },
    Queued { booking_id: u64 },
    Duplicate { booking_id: u64 },
    Rejected { reason: String },
}

/// The `source_id` of the booking made from PAC event `seq` of organization `org`.
///
/// ```
/// use astrow_pac::model::{Seq, booking_source_id};
/// assert_eq!(booking_source_id(1, Seq(881233)), "pac:1:881233");
/// ```
pub fn booking_source_id(org: u32, seq: Seq) -> String {
    format!("pac:{org}:{}", seq.0)
}

/// A booking Astrow recorded itself (`GET /bookings?after=`): its web
/// clock, its mobile app, another vendor's terminal, or a File terminal
/// import (PAC's own bookings among them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AstrowOwnBooking {
    pub booking_id: u64,
    /// `None` when Astrow has none (web clock, mobile app).
    pub source_id: Option<String>,
    pub pers_no: Option<PersNo>,
    pub badge_no: String,
    pub time: DateTime<FixedOffset>,
    /// `file`, `web`, `mobile` or `terminal`.
    pub terminal_kind: String,
    /// The terminal's serial: a File terminal booking from a PAC reader's
    /// serial came from PAC (the old Astrow IO Service); `None` when Astrow
    /// has none (web clock, mobile app).
    #[serde(default)]
    pub terminal_serial: Option<String>,
    pub direction: Option<Direction>,
}

/// An attendance event for PAC's `POST /external-events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalEvent {
    /// `astrow:<booking_id>`: PAC's idempotency key.
    pub source_id: String,
    pub time: DateTime<FixedOffset>,
    pub employee_id: Option<PacId>,
    /// Upper-case hex, as PAC stores badges.
    pub badge_number: Option<String>,
    pub direction: Option<Direction>,
    /// Where the booking was made ("Astrow web"), at most 64 characters.
    pub origin: String,
}

/// What PAC answered for one external event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ExternalOutcome {
    Stored { seq: u64 },
    Duplicate { seq: u64 },
    Rejected { reason: String },
}

/// Where an `external_attendance` event of PAC came from: the `source_id`
/// it was stored under (`astrow:<booking_id>` when this integration sent it)
/// and its free-text `origin` ("Astrow web").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalSource {
    pub source_id: String,
    pub origin: String,
}

/// Astrow->PAC ledger keys are `epoch << A2P_EPOCH_SHIFT | booking_id`:
/// after Astrow was restored from a backup its booking ids start again, and
/// a person's `astrow-cursor` starts a new epoch so they collide with nothing.
pub const A2P_EPOCH_SHIFT: u32 = 40;

/// The `source_id` of the PAC event made from the Astrow booking under
/// ledger key `key`: `astrow:<booking_id>` in the first epoch,
/// `astrow:e<epoch>:<booking_id>` after a restore of Astrow.
///
/// ```
/// assert_eq!(astrow_pac::model::external_source_id(58812), "astrow:58812");
/// assert_eq!(astrow_pac::model::external_source_id((2 << 40) | 7), "astrow:e2:7");
/// ```
pub fn external_source_id(key: u64) -> String {
    let (epoch, booking_id) = (key >> A2P_EPOCH_SHIFT, key & ((1 << A2P_EPOCH_SHIFT) - 1));
    match epoch {
        0 => format!("astrow:{booking_id}"),
        e => format!("astrow:e{e}:{booking_id}"),
    }
}

/// Astrow's cycle or pay group: a code and a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeName {
    pub code: String,
    pub name: String,
}

/// The two systems, for messages, audit rows and plan targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    Pac,
    Astrow,
}

impl System {
    pub fn as_str(self) -> &'static str {
        match self {
            System::Pac => "pac",
            System::Astrow => "astrow",
        }
    }
    pub fn display_name(self) -> &'static str {
        match self {
            System::Pac => "PAC",
            System::Astrow => "Astrow",
        }
    }
    pub fn other(self) -> System {
        match self {
            System::Pac => System::Astrow,
            System::Astrow => System::Pac,
        }
    }
}

impl std::fmt::Display for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.display_name())
    }
}

/// Normalise a badge number the way PAC stores it: trimmed, upper-case hex.
/// Returns `None` when it is empty or not hex.
///
/// ```
/// use astrow_pac::model::normalise_badge_hex;
/// assert_eq!(normalise_badge_hex(" 00a1b2c3 ").as_deref(), Some("00A1B2C3"));
/// assert_eq!(normalise_badge_hex("12G4"), None);
/// ```
pub fn normalise_badge_hex(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.is_empty() || t.len() > 32 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some(t.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badge_hex_is_normalised_or_refused() {
        assert_eq!(
            normalise_badge_hex(" 00a1b2c3 ").as_deref(),
            Some("00A1B2C3")
        );
        assert_eq!(normalise_badge_hex(""), None);
        assert_eq!(normalise_badge_hex("12G4"), None);
    }

    #[test]
    fn badge_types_serialise_as_their_protocol_names() {
        for t in BadgeType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
    }

    #[test]
    fn source_id_follows_the_protocol() {
        assert_eq!(booking_source_id(1, Seq(881233)), "pac:1:881233");
    }
}
