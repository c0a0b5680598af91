//! The JSON of PAC's OEM interface (protocol.md, "PAC OEM interface"), and
//! its mapping to the neutral `model` types.
//!
//! Answers (what a client parses) ignore unknown keys, for forward
//! compatibility. Request bodies (what the simulator parses) refuse them.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::http::tolerant::null_as_default;
use crate::model::{self, Direction, EventType, PacId, Seq};

/// The organization id of every PAC installation.
pub const ORGANIZATION_ID: u32 = 1;

/// The base path of the OEM interface for an organization.
pub fn base_path(organization_id: u32) -> String {
    format!("/oem/v1/organizations/{organization_id}")
}

/// Most items one page may carry, and the default.
pub const MAX_LIMIT: u32 = 1000;
pub const DEFAULT_LIMIT: u32 = 100;
/// Longest long-poll on `/events`, in seconds.
pub const MAX_WAIT_S: u32 = 30;

/// `GET /status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub server_version: String,
    pub server_time: DateTime<FixedOffset>,
    pub organization: Organization,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: u32,
    pub name: String,
}

/// PAC's badge technologies as spelled on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BadgeType {
    #[serde(rename = "pac_proximity")]
    PacProximity,
    #[serde(rename = "wiegand_2601")]
    Wiegand2601,
    #[serde(rename = "oneprox")]
    Oneprox,
}

impl From<BadgeType> for model::BadgeType {
    fn from(t: BadgeType) -> Self {
        match t {
            BadgeType::PacProximity => model::BadgeType::PacProximity,
            BadgeType::Wiegand2601 => model::BadgeType::Wiegand2601,
            BadgeType::Oneprox => model::BadgeType::Oneprox,
        }
    }
}

impl From<model::BadgeType> for BadgeType {
    fn from(t: model::BadgeType) -> Self {
        match t {
            model::BadgeType::PacProximity => BadgeType::PacProximity,
            model::BadgeType::Wiegand2601 => BadgeType::Wiegand2601,
            model::BadgeType::Oneprox => BadgeType::Oneprox,
        }
    }
}

/// A badge in an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Badge {
    pub number: String,
    #[serde(rename = "type")]
    pub badge_type: BadgeType,
    pub active: bool,
}

/// An employee (keyholder) in an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employee {
    pub id: u64,
    // Optional text and dates: null or missing read as absent.
    #[serde(default, deserialize_with = "null_as_default")]
    pub first_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub last_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub employee_number: String,
    pub active: bool,
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    pub access_group_ids: Vec<u32>,
    pub badges: Vec<Badge>,
    #[serde(default)]
    pub external_ref: Option<String>,
    pub version: u64,
    #[serde(default)]
    pub updated_at: Option<DateTime<FixedOffset>>,
}

/// A badge in a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BadgeWrite {
    pub number: String,
    #[serde(rename = "type")]
    pub badge_type: BadgeType,
    pub active: bool,
}

/// The body of `POST /employees` and `PUT /employees/{id}`: an Employee
/// without `id`, `version` and `updated_at`. On POST only the names are
/// required; a PUT carries every key (the simulator checks that).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmployeeWrite {
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub employee_number: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    #[serde(default)]
    pub access_group_ids: Vec<u32>,
    #[serde(default)]
    pub badges: Vec<BadgeWrite>,
    #[serde(default)]
    pub external_ref: Option<String>,
}

fn yes() -> bool {
    true
}

impl EmployeeWrite {
    /// The keys of a request body, in the order of the protocol.
    pub const KEYS: [&'static str; 9] = [
        "first_name",
        "last_name",
        "employee_number",
        "active",
        "valid_from",
        "valid_until",
        "access_group_ids",
        "badges",
        "external_ref",
    ];
}

/// A page of a keyset-paged list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// An unpaged list (`/access-groups`, `/readers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessGroup {
    pub id: u32,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
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

/// The 202 answer of `POST /readers/{id}/open`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorOpened {
    pub reader_id: u32,
    pub open_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub time: DateTime<FixedOffset>,
    #[serde(rename = "type")]
    pub event_type: EventType,
    #[serde(default)]
    pub reader_id: Option<u32>,
    #[serde(default)]
    pub badge_number: Option<String>,
    #[serde(default)]
    pub employee_id: Option<u64>,
    /// `external_attendance` only: the idempotency key it was stored under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// `external_attendance` only: where the booking was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// Most events one `POST /external-events` carries.
pub const MAX_EXTERNAL_BATCH: usize = 500;
/// Longest `origin` of an external event, in characters.
pub const MAX_ORIGIN_CHARS: usize = 64;
/// How far in the future an external event's time may be (minutes).
pub const MAX_FUTURE_MINUTES: i64 = 10;

/// One event of `POST /external-events` (a booking made outside PAC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalEvent {
    pub source_id: String,
    pub time: DateTime<FixedOffset>,
    pub employee_id: Option<u64>,
    pub badge_number: Option<String>,
    pub direction: Option<ExternalDirection>,
    pub origin: String,
}

/// An external event's direction: `"in"`, `"out"` or `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExternalDirection {
    In,
    Out,
}

/// `POST /external-events` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalEvents {
    pub events: Vec<ExternalEvent>,
}

/// What PAC did with one external event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExternalStatus {
    Stored,
    Duplicate,
    Rejected,
}

/// PAC's answer for one external event of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalResult {
    pub source_id: String,
    pub status: ExternalStatus,
    #[serde(default)]
    pub seq: Option<u64>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /external-events` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalResults {
    pub results: Vec<ExternalResult>,
}

/// `GET /events`: `last_seq` is the newest PAC holds, `oldest_seq` the
/// oldest it still keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsPage<T = Event> {
    pub items: Vec<T>,
    pub last_seq: u64,
    pub oldest_seq: u64,
}

/// The error body of every 4xx and 5xx.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// 412 `version_mismatch`: the record as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Employee>,
    /// 410 `events_expired`: the oldest seq PAC still keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_seq: Option<u64>,
}

impl ErrorBody {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message: message.into(),
                field: None,
                current: None,
                oldest_seq: None,
            },
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.error.field = Some(field.into());
        self
    }
}

// ---- mapping to and from the model ----

impl From<Badge> for model::Badge {
    fn from(b: Badge) -> Self {
        model::Badge {
            number: b.number,
            badge_type: b.badge_type.into(),
            active: b.active,
        }
    }
}

impl From<&model::Badge> for Badge {
    fn from(b: &model::Badge) -> Self {
        Badge {
            number: b.number.clone(),
            badge_type: b.badge_type.into(),
            active: b.active,
        }
    }
}

impl From<&model::Badge> for BadgeWrite {
    fn from(b: &model::Badge) -> Self {
        BadgeWrite {
            number: b.number.clone(),
            badge_type: b.badge_type.into(),
            active: b.active,
        }
    }
}

impl From<Employee> for model::PacEmployee {
    fn from(e: Employee) -> Self {
        model::PacEmployee {
            id: PacId(e.id),
            first_name: e.first_name,
            last_name: e.last_name,
            employee_number: e.employee_number,
            active: e.active,
            valid_from: e.valid_from,
            valid_until: e.valid_until,
            access_group_ids: e.access_group_ids,
            badges: e.badges.into_iter().map(Into::into).collect(),
            external_ref: e.external_ref,
            version: e.version,
        }
    }
}

impl Employee {
    /// The answer for a model employee last changed at `updated_at`.
    pub fn from_model(e: &model::PacEmployee, updated_at: DateTime<FixedOffset>) -> Self {
        Employee {
            id: e.id.0,
            first_name: e.first_name.clone(),
            last_name: e.last_name.clone(),
            employee_number: e.employee_number.clone(),
            active: e.active,
            valid_from: e.valid_from,
            valid_until: e.valid_until,
            access_group_ids: e.access_group_ids.clone(),
            badges: e.badges.iter().map(Into::into).collect(),
            external_ref: e.external_ref.clone(),
            version: e.version,
            updated_at: Some(updated_at),
        }
    }
}

impl From<&model::PacEmployee> for EmployeeWrite {
    /// The body that writes `e` (its `id` and `version` travel in the path
    /// and `If-Match`). Badge numbers are normalised to upper-case hex when
    /// they are hex at all; anything else is sent as is and PAC refuses it.
    fn from(e: &model::PacEmployee) -> Self {
        EmployeeWrite {
            first_name: e.first_name.clone(),
            last_name: e.last_name.clone(),
            employee_number: e.employee_number.clone(),
            active: e.active,
            valid_from: e.valid_from,
            valid_until: e.valid_until,
            access_group_ids: e.access_group_ids.clone(),
            badges: e
                .badges
                .iter()
                .map(|b| BadgeWrite {
                    number: model::normalise_badge_hex(&b.number)
                        .unwrap_or_else(|| b.number.clone()),
                    badge_type: b.badge_type.into(),
                    active: b.active,
                })
                .collect(),
            external_ref: e.external_ref.clone(),
        }
    }
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

impl From<&model::AccessGroup> for AccessGroup {
    fn from(g: &model::AccessGroup) -> Self {
        AccessGroup {
            id: g.id,
            name: g.name.clone(),
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

impl From<&model::Reader> for Reader {
    fn from(r: &model::Reader) -> Self {
        Reader {
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

impl From<Event> for model::Event {
    fn from(e: Event) -> Self {
        model::Event {
            seq: Seq(e.seq),
            time: e.time,
            event_type: e.event_type,
            reader_id: e.reader_id,
            badge_number: e.badge_number,
            employee_id: e.employee_id.map(PacId),
        }
    }
}

impl From<&model::Event> for Event {
    fn from(e: &model::Event) -> Self {
        Event {
            seq: e.seq.0,
            time: e.time,
            event_type: e.event_type,
            reader_id: e.reader_id,
            badge_number: e.badge_number.clone(),
            employee_id: e.employee_id.map(|i| i.0),
            source_id: None,
            origin: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_example_employee_parses_and_maps() {
        let json = r#"{"id": 10231, "first_name": "Ana", "last_name": "Pop",
            "employee_number": "E-0042", "active": true,
            "valid_from": "2026-01-01", "valid_until": null,
            "access_group_ids": [1, 4],
            "badges": [{"number": "00A1B2C3", "type": "pac_proximity", "active": true}],
            "external_ref": "astrow:1001", "version": 7,
            "updated_at": "2026-11-28T08:00:00+01:00", "a_future_key": 1}"#;
        let e: Employee = serde_json::from_str(json).unwrap();
        let m: model::PacEmployee = e.clone().into();
        assert_eq!(m.id, PacId(10231));
        assert_eq!(m.badges[0].badge_type, model::BadgeType::PacProximity);
        let back = Employee::from_model(&m, e.updated_at.unwrap());
        assert_eq!(back, e);
    }

    #[test]
    fn badge_types_are_spelled_as_the_protocol_says() {
        let s = serde_json::to_string(&[
            BadgeType::PacProximity,
            BadgeType::Wiegand2601,
            BadgeType::Oneprox,
        ])
        .unwrap();
        assert_eq!(s, r#"["pac_proximity","wiegand_2601","oneprox"]"#);
    }

    #[test]
    fn request_bodies_refuse_unknown_keys() {
        let err = serde_json::from_str::<EmployeeWrite>(
            r#"{"first_name": "A", "last_name": "B", "id": 4}"#,
        );
        assert!(err.is_err());
        let ok: EmployeeWrite =
            serde_json::from_str(r#"{"first_name": "A", "last_name": "B"}"#).unwrap();
        assert!(ok.active);
    }

    #[test]
    fn event_and_error_bodies_parse() {
        let ev: EventsPage = serde_json::from_str(
            r#"{"items": [{"seq": 881233, "time": "2026-11-28T08:01:07+01:00", "type": "access_granted",
                "reader_id": 12, "badge_number": "00A1B2C3", "employee_id": null}], "last_seq": 881240, "oldest_seq": 1}"#,
        )
        .unwrap();
        assert_eq!(ev.items[0].event_type, EventType::AccessGranted);
        let err: ErrorBody = serde_json::from_str(
            r#"{"error": {"code": "events_expired", "message": "gone", "oldest_seq": 500}}"#,
        )
        .unwrap();
        assert_eq!(err.error.oldest_seq, Some(500));
    }

    #[test]
    fn writes_normalise_badge_numbers() {
        let m = model::PacEmployee {
            id: PacId(1),
            first_name: "A".into(),
            last_name: String::new(),
            employee_number: String::new(),
            active: true,
            valid_from: None,
            valid_until: None,
            access_group_ids: vec![],
            badges: vec![model::Badge {
                number: " 00a1 ".into(),
                badge_type: model::BadgeType::Oneprox,
                active: true,
            }],
            external_ref: None,
            version: 3,
        };
        assert_eq!(EmployeeWrite::from(&m).badges[0].number, "00A1");
    }
}
