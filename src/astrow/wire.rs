//! The Astrow Web API's JSON, exactly as `protocol.md` has it, and the mapping
//! to `model` at the boundary.
//!
//! Request bodies (what the simulator parses) refuse unknown keys: their types
//! carry `deny_unknown_fields`. Answers (what the client parses) ignore
//! unknown keys, for forward compatibility. Where one shape travels both ways
//! (access groups, readers, the PAC tab) there is a strict `...In` twin for
//! the request.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::http::tolerant::null_as_default;
use crate::model::{self, BadgeType, Direction, PersNo};

/// Every path of the API starts with this.
pub const BASE_PATH: &str = "/api/v1";
/// Most bookings one batch may carry (413 `batch_too_large` over).
pub const MAX_BATCH: usize = 500;
/// Page size bounds and default.
pub const MAX_LIMIT: u32 = 1000;
pub const DEFAULT_LIMIT: u32 = 100;
/// Longest long-poll of `/notifications`, in seconds.
pub const MAX_WAIT_S: u32 = 30;
/// Largest request body (413 `payload_too_large` over).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

// ---------------------------------------------------------------- session

/// `POST /session`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// The answer to `POST /session`.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: DateTime<FixedOffset>,
}

impl fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"<hidden>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// `GET /licenses`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Licenses {
    pub file_terminal: bool,
    pub employees_import: bool,
}

// ---------------------------------------------------------------- employees

/// The employee's PAC Access tab, as Astrow answers it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacTab {
    #[serde(default)]
    pub access_group_ids: Vec<u32>,
    #[serde(default)]
    pub badge_type: Option<BadgeType>,
}

/// The PAC Access tab in a request body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacTabIn {
    #[serde(default)]
    pub access_group_ids: Vec<u32>,
    #[serde(default)]
    pub badge_type: Option<BadgeType>,
}

/// An Astrow employee as Astrow answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employee {
    pub pers_no: PersNo,
    #[serde(default, deserialize_with = "null_as_default")]
    pub employee_no: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub first_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub middle_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub last_name: String,
    #[serde(default)]
    pub badge_no: Option<String>,
    pub active: bool,
    #[serde(default)]
    pub contract_start: Option<NaiveDate>,
    #[serde(default)]
    pub contract_end: Option<NaiveDate>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cycle_code: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub paygroup_code: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub pac: PacTab,
    #[serde(default)]
    pub external_ref: Option<String>,
    pub version: u64,
}

/// The body of `POST /employees` and `PUT /employees/{pers_no}`: an employee
/// without `pers_no` and `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmployeeIn {
    #[serde(default)]
    pub employee_no: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub middle_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub badge_no: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub contract_start: Option<NaiveDate>,
    #[serde(default)]
    pub contract_end: Option<NaiveDate>,
    #[serde(default)]
    pub cycle_code: Option<String>,
    #[serde(default)]
    pub paygroup_code: Option<String>,
    #[serde(default)]
    pub pac: PacTabIn,
    #[serde(default)]
    pub external_ref: Option<String>,
}

/// The keys of [`EmployeeIn`]: a PUT ("whole Employee") must carry each.
pub const EMPLOYEE_KEYS: [&str; 12] = [
    "employee_no",
    "first_name",
    "middle_name",
    "last_name",
    "badge_no",
    "active",
    "contract_start",
    "contract_end",
    "cycle_code",
    "paygroup_code",
    "pac",
    "external_ref",
];

fn yes() -> bool {
    true
}

/// A badge number as Astrow keeps it: trimmed, `None` when empty.
pub fn clean_badge(badge: Option<&str>) -> Option<String> {
    badge
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_string)
}

impl From<Employee> for model::AstrowEmployee {
    fn from(e: Employee) -> Self {
        model::AstrowEmployee {
            pers_no: e.pers_no,
            employee_no: e.employee_no,
            first_name: e.first_name,
            middle_name: e.middle_name,
            last_name: e.last_name,
            badge_no: clean_badge(e.badge_no.as_deref()),
            active: e.active,
            contract_start: e.contract_start,
            contract_end: e.contract_end,
            cycle_code: e.cycle_code,
            paygroup_code: e.paygroup_code,
            pac_access_group_ids: e.pac.access_group_ids,
            pac_badge_type: e.pac.badge_type,
            external_ref: e.external_ref,
            version: e.version,
        }
    }
}

impl From<&model::AstrowEmployee> for Employee {
    fn from(e: &model::AstrowEmployee) -> Self {
        Employee {
            pers_no: e.pers_no,
            employee_no: e.employee_no.clone(),
            first_name: e.first_name.clone(),
            middle_name: e.middle_name.clone(),
            last_name: e.last_name.clone(),
            badge_no: e.badge_no.clone(),
            active: e.active,
            contract_start: e.contract_start,
            contract_end: e.contract_end,
            cycle_code: e.cycle_code.clone(),
            paygroup_code: e.paygroup_code.clone(),
            pac: PacTab {
                access_group_ids: e.pac_access_group_ids.clone(),
                badge_type: e.pac_badge_type,
            },
            external_ref: e.external_ref.clone(),
            version: e.version,
        }
    }
}

impl From<&model::AstrowEmployee> for EmployeeIn {
    /// The body that writes `e` (its `pers_no` and `version` travel in the
    /// path and `If-Match`). Empty cycle or pay group codes are left out.
    fn from(e: &model::AstrowEmployee) -> Self {
        let code = |c: &str| Some(c.to_string()).filter(|c| !c.is_empty());
        EmployeeIn {
            employee_no: e.employee_no.clone(),
            first_name: e.first_name.clone(),
            middle_name: e.middle_name.clone(),
            last_name: e.last_name.clone(),
            badge_no: e.badge_no.clone(),
            active: e.active,
            contract_start: e.contract_start,
            contract_end: e.contract_end,
            cycle_code: code(&e.cycle_code),
            paygroup_code: code(&e.paygroup_code),
            pac: PacTabIn {
                access_group_ids: e.pac_access_group_ids.clone(),
                badge_type: e.pac_badge_type,
            },
            external_ref: e.external_ref.clone(),
        }
    }
}

// ---------------------------------------------------------------- lists

/// One keyset page: `{"items": [...], "next_cursor": "C2" | null}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// A whole list in one answer: `{"items": [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// A whole list in a request body (`PUT /pac/...`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemsIn<T> {
    pub items: Vec<T>,
}

/// A cycle or a pay group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeName {
    pub code: String,
    pub name: String,
}

impl From<CodeName> for model::CodeName {
    fn from(c: CodeName) -> Self {
        model::CodeName {
            code: c.code,
            name: c.name,
        }
    }
}

impl From<&model::CodeName> for CodeName {
    fn from(c: &model::CodeName) -> Self {
        CodeName {
            code: c.code.clone(),
            name: c.name.clone(),
        }
    }
}

// ---------------------------------------------------------------- PAC mirror

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessGroup {
    pub id: u32,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessGroupIn {
    pub id: u32,
    pub name: String,
    pub is_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reader {
    pub id: u32,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub controller_id: u32,
    #[serde(default, deserialize_with = "null_as_default")]
    pub controller_name: String,
    pub serial: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub direction: Direction,
    #[serde(default, deserialize_with = "null_as_default")]
    pub online: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReaderIn {
    pub id: u32,
    pub name: String,
    pub controller_id: u32,
    pub controller_name: String,
    pub serial: String,
    pub direction: Direction,
    pub online: bool,
}

impl From<AccessGroup> for model::AccessGroup {
    fn from(g: AccessGroup) -> Self {
        model::AccessGroup {
            id: g.id,
            name: g.name,
            is_default: g.is_default,
        }
    }
}

impl From<&model::AccessGroup> for AccessGroupIn {
    fn from(g: &model::AccessGroup) -> Self {
        AccessGroupIn {
            id: g.id,
            name: g.name.clone(),
            is_default: g.is_default,
        }
    }
}

impl From<AccessGroupIn> for AccessGroup {
    fn from(g: AccessGroupIn) -> Self {
        AccessGroup {
            id: g.id,
            name: g.name,
            is_default: g.is_default,
        }
    }
}

impl From<Reader> for model::Reader {
    fn from(r: Reader) -> Self {
        model::Reader {
            id: r.id,
            name: r.name,
            controller_id: r.controller_id,
            controller_name: r.controller_name,
            serial: r.serial,
            direction: r.direction,
            online: r.online,
        }
    }
}

impl From<&model::Reader> for ReaderIn {
    fn from(r: &model::Reader) -> Self {
        ReaderIn {
            id: r.id,
            name: r.name.clone(),
            controller_id: r.controller_id,
            controller_name: r.controller_name.clone(),
            serial: r.serial.clone(),
            direction: r.direction,
            online: r.online,
        }
    }
}

impl From<ReaderIn> for Reader {
    fn from(r: ReaderIn) -> Self {
        Reader {
            id: r.id,
            name: r.name,
            controller_id: r.controller_id,
            controller_name: r.controller_name,
            serial: r.serial,
            direction: r.direction,
            online: r.online,
        }
    }
}

// ---------------------------------------------------------------- bookings

/// A booking's direction: `"in"`, `"out"`, or `null` (absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingDirection {
    In,
    Out,
}

/// One booking in `POST /bookings/batch` (the File terminal's record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Booking {
    pub source_id: String,
    pub badge_no: String,
    pub time: DateTime<FixedOffset>,
    pub terminal_serial: String,
    #[serde(default)]
    pub direction: Option<BookingDirection>,
    #[serde(default)]
    pub mc_code: Option<String>,
    #[serde(default)]
    pub cc_code: Option<String>,
}

/// `POST /bookings/batch` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingBatch {
    pub bookings: Vec<Booking>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultStatus {
    Processed,
    Queued,
    Duplicate,
    Rejected,
}

/// Astrow's answer for one booking of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingResult {
    pub source_id: String,
    pub status: ResultStatus,
    #[serde(default)]
    pub booking_id: Option<u64>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /bookings/batch` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchResults {
    pub results: Vec<BookingResult>,
}

/// A booking Astrow keeps: `processed` or `queued`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredStatus {
    Processed,
    Queued,
}

/// Where Astrow recorded a booking (`terminal_kind` of `GET /bookings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminalKind {
    /// The File terminal: bookings imported through `POST /bookings/batch`.
    #[default]
    File,
    /// Astrow's web clock.
    Web,
    /// Astrow's mobile app.
    Mobile,
    /// A terminal of another vendor.
    Terminal,
}

impl TerminalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TerminalKind::File => "file",
            TerminalKind::Web => "web",
            TerminalKind::Mobile => "mobile",
            TerminalKind::Terminal => "terminal",
        }
    }
}

/// An empty string goes out as `null` (a stored booking without one).
fn empty_as_null<S: serde::Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
    if v.is_empty() {
        s.serialize_none()
    } else {
        s.serialize_str(v)
    }
}

/// One item of `GET /bookings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBooking {
    pub booking_id: u64,
    /// Empty when the booking has none (web clock, mobile app: `null`).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        serialize_with = "empty_as_null"
    )]
    pub source_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub badge_no: String,
    pub time: DateTime<FixedOffset>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        serialize_with = "empty_as_null"
    )]
    pub terminal_serial: String,
    /// Older Astrow versions leave it out: their bookings all came from
    /// the File terminal.
    #[serde(default)]
    pub terminal_kind: TerminalKind,
    #[serde(default)]
    pub direction: Option<BookingDirection>,
    #[serde(default)]
    pub mc_code: Option<String>,
    #[serde(default)]
    pub cc_code: Option<String>,
    pub status: StoredStatus,
    /// The employee the badge belonged to; `None` for a queued booking.
    #[serde(default)]
    pub pers_no: Option<PersNo>,
}

impl From<&model::Booking> for Booking {
    fn from(b: &model::Booking) -> Self {
        Booking {
            source_id: b.source_id.clone(),
            badge_no: b.badge_no.clone(),
            time: b.time,
            terminal_serial: b.terminal_serial.clone(),
            direction: match b.direction {
                Some(Direction::In) => Some(BookingDirection::In),
                Some(Direction::Out) => Some(BookingDirection::Out),
                Some(Direction::None) | None => None,
            },
            mc_code: None,
            cc_code: None,
        }
    }
}

impl From<&StoredBooking> for model::Booking {
    fn from(b: &StoredBooking) -> Self {
        model::Booking {
            source_id: b.source_id.clone(),
            badge_no: b.badge_no.clone(),
            time: b.time,
            terminal_serial: b.terminal_serial.clone(),
            direction: b.direction.map(|d| match d {
                BookingDirection::In => Direction::In,
                BookingDirection::Out => Direction::Out,
            }),
        }
    }
}

impl BookingResult {
    /// The model status, or what is wrong with the answer.
    pub fn to_status(&self) -> Result<model::BookingStatus, String> {
        let id = || {
            self.booking_id
                .ok_or_else(|| format!("result for {:?} has no booking_id", self.source_id))
        };
        Ok(match self.status {
            ResultStatus::Processed => model::BookingStatus::Processed { booking_id: id()? },
            ResultStatus::Queued => model::BookingStatus::Queued { booking_id: id()? },
            ResultStatus::Duplicate => model::BookingStatus::Duplicate { booking_id: id()? },
            ResultStatus::Rejected => model::BookingStatus::Rejected {
                reason: self
                    .reason
                    .clone()
                    .unwrap_or_else(|| "rejected without a reason".to_string()),
            },
        })
    }
}

// ---------------------------------------------------------------- notifications

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationOp {
    Add,
    Edit,
    Delete,
}

/// One employee change in Astrow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub seq: u64,
    pub op: NotificationOp,
    pub pers_no: PersNo,
    pub time: DateTime<FixedOffset>,
}

/// `GET /notifications` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notifications {
    pub items: Vec<Notification>,
    pub last_seq: u64,
}

// ---------------------------------------------------------------- heartbeat

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeartbeatStatus {
    Ok,
    Degraded,
}

/// `POST /heartbeat` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    pub service: String,
    pub version: String,
    pub status: HeartbeatStatus,
    #[serde(default)]
    pub detail: Option<String>,
}

// ---------------------------------------------------------------- errors

/// Any 4xx/5xx: `{"error": {"code", "message", "field"?}}`; a 412 adds the
/// current record in `current`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_employee_parses_and_maps() {
        let json = r#"{"pers_no": 1001, "employee_no": "E-0042",
            "first_name": "Ana", "middle_name": "", "last_name": "Pop",
            "badge_no": "10231", "active": true,
            "contract_start": "2026-11-28", "contract_end": null,
            "cycle_code": "STD", "paygroup_code": "MONTHLY",
            "pac": {"access_group_ids": [1], "badge_type": "pac_proximity"},
            "external_ref": "pac:10231", "version": 3, "future_key": 1}"#;
        let e: Employee = serde_json::from_str(json).expect("protocol example parses");
        let m = model::AstrowEmployee::from(e);
        assert_eq!(m.pers_no, PersNo(1001));
        assert_eq!(m.pac_badge_type, Some(BadgeType::PacProximity));
        assert_eq!(m.badge_no.as_deref(), Some("10231"));
        let back = EmployeeIn::from(&m);
        assert_eq!(back.cycle_code.as_deref(), Some("STD"));
    }

    #[test]
    fn badge_types_travel_as_the_protocol_names_them() {
        for t in BadgeType::ALL {
            let tab = PacTabIn {
                access_group_ids: vec![],
                badge_type: Some(t),
            };
            let v = serde_json::to_value(&tab).expect("serialises");
            assert_eq!(v["badge_type"], t.as_str());
        }
        let tab: PacTab =
            serde_json::from_str(r#"{"badge_type": "wiegand_2601"}"#).expect("parses");
        assert_eq!(tab.badge_type, Some(BadgeType::Wiegand2601));
    }

    #[test]
    fn request_bodies_refuse_unknown_keys() {
        let r = serde_json::from_str::<EmployeeIn>(r#"{"first_name": "A", "pers_no": 3}"#);
        assert!(r.is_err());
        let r = serde_json::from_str::<Heartbeat>(
            r#"{"service": "s", "version": "1", "status": "ok", "x": 1}"#,
        );
        assert!(r.is_err());
    }

    #[test]
    fn booking_time_needs_an_offset() {
        let ok = r#"{"source_id": "pac:1:1", "badge_no": "1", "time": "2026-11-28T08:01:07+01:00",
            "terminal_serial": "R-0012", "direction": "in", "mc_code": null, "cc_code": null}"#;
        assert!(serde_json::from_str::<Booking>(ok).is_ok());
        let bad = ok.replace("+01:00", "");
        assert!(serde_json::from_str::<Booking>(&bad).is_err());
    }

    #[test]
    fn results_map_to_model_status() {
        let r = BookingResult {
            source_id: "pac:1:1".into(),
            status: ResultStatus::Duplicate,
            booking_id: Some(7),
            reason: None,
        };
        assert_eq!(
            r.to_status(),
            Ok(model::BookingStatus::Duplicate { booking_id: 7 })
        );
        let r = BookingResult {
            status: ResultStatus::Processed,
            booking_id: None,
            ..r
        };
        assert!(r.to_status().is_err());
    }
}
