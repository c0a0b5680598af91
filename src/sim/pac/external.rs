//! `POST /external-events` of the simulated PAC: bookings made outside PAC
//! (Astrow's web clock, its mobile app) kept in the event log as
//! `external_attendance`, idempotent by `source_id`.

use std::collections::HashMap;

use axum::http::StatusCode;
use chrono::{DateTime, FixedOffset, TimeDelta};
use serde_json::Value;

use super::reply::Fail;
use super::state::State;
use crate::model::{self, EventType, PacId, Seq};
use crate::pac::wire::{
    ExternalEvent, ExternalResult, ExternalStatus, MAX_EXTERNAL_BATCH, MAX_FUTURE_MINUTES,
    MAX_ORIGIN_CHARS,
};

/// What the simulator keeps of the external events it stored.
#[derive(Debug, Default)]
pub struct ExternalLog {
    /// seq -> (source_id, origin), for `/events`.
    pub by_seq: HashMap<u64, (String, String)>,
    /// source_id -> the seq it was first stored under.
    pub by_source: HashMap<String, u64>,
    pub stored: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

const KEYS: [&str; 6] = [
    "source_id",
    "time",
    "employee_id",
    "badge_number",
    "direction",
    "origin",
];

/// The body of `POST /external-events`, checked: 413 over 500 events, 400
/// with `field` (`events[2].time`) for the first malformed one.
pub fn batch(v: &Value) -> Result<Vec<ExternalEvent>, Fail> {
    let obj = v
        .as_object()
        .ok_or_else(|| Fail::invalid_field("body", "must be a JSON object"))?;
    if let Some(k) = obj.keys().find(|k| *k != "events") {
        return Err(Fail::unknown_field(k.clone()));
    }
    let items = obj
        .get("events")
        .ok_or_else(|| Fail::missing_field("events"))?
        .as_array()
        .ok_or_else(|| Fail::invalid_field("events", "must be a list of events"))?;
    if items.len() > MAX_EXTERNAL_BATCH {
        return Err(Fail::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "{} events: a batch carries at most {MAX_EXTERNAL_BATCH}",
                items.len()
            ),
        )
        .field("events"));
    }
    items.iter().enumerate().map(|(i, e)| event(i, e)).collect()
}

fn event(i: usize, v: &Value) -> Result<ExternalEvent, Fail> {
    let at = |k: &str| format!("events[{i}].{k}");
    let obj = v
        .as_object()
        .ok_or_else(|| Fail::invalid_field(format!("events[{i}]"), "must be an object"))?;
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(Fail::unknown_field(at(k)));
    }
    if let Some(k) = KEYS.iter().find(|k| !obj.contains_key(**k)) {
        return Err(Fail::missing_field(at(k)));
    }
    let get = |k: &str| obj.get(k).unwrap_or(&Value::Null);
    let source_id = get("source_id")
        .as_str()
        .filter(|s| !s.trim().is_empty() && s.len() <= 200 && !s.chars().any(char::is_control))
        .ok_or_else(|| {
            Fail::invalid_field(at("source_id"), "must be 1 to 200 printable characters")
        })?;
    let time = get("time")
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| {
            Fail::invalid_field(at("time"), "must be an RFC 3339 time with an offset")
        })?;
    let employee_id = match get("employee_id") {
        Value::Null => None,
        n => Some(n.as_u64().ok_or_else(|| {
            Fail::invalid_field(at("employee_id"), "must be an employee id or null")
        })?),
    };
    let badge_number = match get("badge_number") {
        Value::Null => None,
        b => Some(
            b.as_str()
                .filter(|n| {
                    !n.is_empty()
                        && n.len() <= 32
                        && n.chars()
                            .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
                })
                .ok_or_else(|| {
                    Fail::invalid_field(at("badge_number"), "must be hex in upper case or null")
                })?
                .to_string(),
        ),
    };
    let direction = serde_json::from_value(get("direction").clone())
        .map_err(|_| Fail::invalid_field(at("direction"), "must be \"in\", \"out\" or null"))?;
    let origin = get("origin")
        .as_str()
        .filter(|o| o.chars().count() <= MAX_ORIGIN_CHARS && !o.chars().any(char::is_control))
        .ok_or_else(|| {
            Fail::invalid_field(
                at("origin"),
                "must be text of at most 64 characters without control characters",
            )
        })?;
    Ok(ExternalEvent {
        source_id: source_id.to_string(),
        time,
        employee_id,
        badge_number,
        direction,
        origin: origin.to_string(),
    })
}

impl State {
    /// Store well-formed external events: one result each, in order.
    pub fn external_events(
        &mut self,
        events: Vec<ExternalEvent>,
        now: DateTime<FixedOffset>,
    ) -> Vec<ExternalResult> {
        events
            .into_iter()
            .map(|e| self.external_one(e, now))
            .collect()
    }

    fn external_one(&mut self, e: ExternalEvent, now: DateTime<FixedOffset>) -> ExternalResult {
        let result = |status, seq, reason| ExternalResult {
            source_id: e.source_id.clone(),
            status,
            seq,
            reason,
        };
        if let Some(&seq) = self.external.by_source.get(&e.source_id) {
            self.external.duplicates += 1;
            return result(ExternalStatus::Duplicate, Some(seq), None);
        }
        let owner = match self.keyholder(&e) {
            Ok(id) => id,
            Err(reason) => {
                self.external.rejected += 1;
                return result(ExternalStatus::Rejected, None, Some(reason));
            }
        };
        if e.time > now + TimeDelta::minutes(MAX_FUTURE_MINUTES) {
            self.external.rejected += 1;
            return result(
                ExternalStatus::Rejected,
                None,
                Some(format!(
                    "the time {} is more than {MAX_FUTURE_MINUTES} minutes in the future",
                    e.time.to_rfc3339()
                )),
            );
        }
        let seq = self.last_seq + 1;
        self.last_seq = seq;
        self.events.push_back(model::Event {
            seq: Seq(seq),
            time: e.time,
            event_type: EventType::ExternalAttendance,
            reader_id: None,
            badge_number: e.badge_number.clone(),
            employee_id: Some(PacId(owner)),
        });
        self.keep_events(self.history);
        self.external
            .by_seq
            .insert(seq, (e.source_id.clone(), e.origin.clone()));
        self.external.by_source.insert(e.source_id.clone(), seq);
        self.external.stored += 1;
        result(ExternalStatus::Stored, Some(seq), None)
    }

    /// The keyholder the event names: its employee id when PAC has that
    /// employee, else the holder of its active badge.
    fn keyholder(&self, e: &ExternalEvent) -> Result<u64, String> {
        if let Some(id) = e.employee_id
            && self.employees.contains_key(&id)
        {
            return Ok(id);
        }
        if let Some(b) = &e.badge_number
            && let Some(holder) = self.employees.holders(b).next()
        {
            return Ok(holder);
        }
        Err(match (e.employee_id, &e.badge_number) {
            (Some(id), Some(b)) => format!("no keyholder {id} and no active badge {b}"),
            (Some(id), None) => format!("no keyholder {id}"),
            (None, Some(b)) => format!("no keyholder holds the active badge {b}"),
            (None, None) => "neither employee_id nor badge_number is given".to_string(),
        })
    }

    /// The `source_id` and `origin` of an external event this simulator stored.
    pub fn external_of(&self, seq: u64) -> Option<&(String, String)> {
        self.external.by_seq.get(&seq)
    }
}
