//! Request checks of the simulator, with the protocol's codes and a `field`
//! naming the culprit: query parameters, `Content-Type`, body size, and the
//! shape of an Employee body (`badges[0].number`).

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value};

use super::reply::Fail;
use crate::pac::wire::{self, EmployeeWrite};

/// Largest request body (8 MiB).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// Query parameters, refusing any not in `allowed`.
pub fn query(
    pairs: Vec<(String, String)>,
    allowed: &[&str],
) -> Result<Vec<(String, String)>, Fail> {
    for (k, _) in &pairs {
        if !allowed.contains(&k.as_str()) {
            return Err(Fail::unknown_field(k.clone()));
        }
    }
    Ok(pairs)
}

/// A number parameter in `min..=max`, or `default` when absent.
pub fn number(
    pairs: &[(String, String)],
    name: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, Fail> {
    match pairs.iter().rev().find(|(k, _)| k == name) {
        None => Ok(default),
        Some((_, v)) => match v.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(Fail::invalid_parameter(
                name,
                &format!("must be a whole number from {min} to {max}"),
            )),
        },
    }
}

pub fn text<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The JSON body of a request: `Content-Type: application/json` (else 415),
/// at most 8 MiB (else 413), JSON (else 400).
pub async fn json_body(headers: &HeaderMap, body: Body) -> Result<Value, Fail> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(Fail::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be Content-Type: application/json",
        ));
    }
    let too_large = || {
        Fail::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {MAX_BODY} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| too_large())?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Fail::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("the body is not JSON: {e}"),
        )
    })
}

/// A control-API body: an object with only `allowed` keys, numbers only.
pub fn control_numbers(v: &Value, allowed: &[&str]) -> Result<Map<String, Value>, Fail> {
    let obj = v
        .as_object()
        .ok_or_else(|| Fail::invalid_field("body", "must be a JSON object"))?;
    for (k, val) in obj {
        if !allowed.contains(&k.as_str()) {
            return Err(Fail::unknown_field(k.clone()));
        }
        if !val.is_u64() && !val.is_boolean() {
            return Err(Fail::invalid_field(k.clone(), "must be a whole number"));
        }
    }
    Ok(obj.clone())
}

/// Keys a PUT may carry beyond the writable ones: the record as it was read.
const READ_ONLY: [&str; 3] = ["id", "version", "updated_at"];

/// Check an Employee body of POST (`put_id: None`) or PUT: unknown keys,
/// missing keys (a PUT carries them all), types and formats.
pub fn employee(v: &Value, put_id: Option<u64>) -> Result<EmployeeWrite, Fail> {
    let obj = v
        .as_object()
        .ok_or_else(|| Fail::invalid_field("body", "must be a JSON object"))?;
    for k in obj.keys() {
        let read_only = put_id.is_some() && READ_ONLY.contains(&k.as_str());
        if !EmployeeWrite::KEYS.contains(&k.as_str()) && !read_only {
            return Err(Fail::unknown_field(k.clone()));
        }
    }
    let required: &[&str] = match put_id {
        Some(_) => &EmployeeWrite::KEYS,
        None => &["first_name", "last_name"],
    };
    for k in required {
        if !obj.contains_key(*k) {
            return Err(Fail::missing_field(*k));
        }
    }
    for (k, val) in obj {
        check_key(k, val, put_id)?;
    }
    let mut writable = obj.clone();
    for k in READ_ONLY {
        writable.remove(k);
    }
    serde_json::from_value(Value::Object(writable))
        .map_err(|e| Fail::invalid_field("body", &e.to_string()))
}

fn check_key(k: &str, v: &Value, put_id: Option<u64>) -> Result<(), Fail> {
    let ok = match k {
        "first_name" | "last_name" | "employee_number" => v.is_string(),
        "active" => v.is_boolean(),
        "valid_from" | "valid_until" => {
            v.is_null()
                || v.as_str()
                    .is_some_and(|s| s.parse::<chrono::NaiveDate>().is_ok())
        }
        "external_ref" => v.is_null() || v.is_string(),
        "access_group_ids" => match v.as_array() {
            Some(items) => {
                for (i, g) in items.iter().enumerate() {
                    if g.as_u64().is_none_or(|n| n > u32::MAX as u64) {
                        return Err(Fail::invalid_field(
                            format!("access_group_ids[{i}]"),
                            "must be an access group id",
                        ));
                    }
                }
                true
            }
            None => false,
        },
        "badges" => match v.as_array() {
            Some(items) => {
                for (i, b) in items.iter().enumerate() {
                    badge(i, b)?;
                }
                true
            }
            None => false,
        },
        "id" => v.as_u64().is_some() && v.as_u64() == put_id,
        "version" => v.is_u64(),
        "updated_at" => v.is_null() || v.is_string(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Fail::invalid_field(k, expected(k)))
    }
}

fn expected(k: &str) -> &'static str {
    match k {
        "active" => "must be true or false",
        "valid_from" | "valid_until" => "must be a date YYYY-MM-DD or null",
        "external_ref" => "must be a string or null",
        "access_group_ids" => "must be a list of access group ids",
        "badges" => "must be a list of badges",
        "id" => "must be the id in the path",
        "version" => "must be a whole number",
        _ => "must be a string",
    }
}

fn badge(i: usize, b: &Value) -> Result<(), Fail> {
    let at = |k: &str| format!("badges[{i}].{k}");
    let obj = b
        .as_object()
        .ok_or_else(|| Fail::invalid_field(format!("badges[{i}]"), "must be an object"))?;
    for k in obj.keys() {
        if !["number", "type", "active"].contains(&k.as_str()) {
            return Err(Fail::unknown_field(at(k)));
        }
    }
    for k in ["number", "type", "active"] {
        if !obj.contains_key(k) {
            return Err(Fail::missing_field(at(k)));
        }
    }
    let value = |k: &str| obj.get(k).cloned().unwrap_or(Value::Null);
    let number_ok = value("number").as_str().is_some_and(|n| {
        !n.is_empty()
            && n.len() <= 32
            && n.chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
    });
    if !number_ok {
        return Err(Fail::invalid_field(
            at("number"),
            "must be hex in upper case",
        ));
    }
    if serde_json::from_value::<wire::BadgeType>(value("type")).is_err() {
        return Err(Fail::invalid_field(
            at("type"),
            "must be pac_proximity, wiegand_2601 or oneprox",
        ));
    }
    if !value("active").is_boolean() {
        return Err(Fail::invalid_field(at("active"), "must be true or false"));
    }
    Ok(())
}

/// The version in `If-Match`: 428 without one, 400 when it is no number.
pub fn if_match(headers: &HeaderMap) -> Result<u64, Fail> {
    let raw = headers.get(header::IF_MATCH).ok_or_else(|| {
        Fail::new(
            StatusCode::PRECONDITION_REQUIRED,
            "if_match_required",
            "send If-Match with the version of the record you read",
        )
    })?;
    raw.to_str()
        .ok()
        .map(|s| s.trim().trim_matches('"'))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| {
            Fail::invalid_parameter("If-Match", "must be the record's version, a whole number")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(r: Result<EmployeeWrite, Fail>) -> (String, Option<String>) {
        let f = r.unwrap_err();
        (f.body.error.code.clone(), f.body.error.field.clone())
    }

    #[test]
    fn employee_bodies_are_checked_with_a_field() {
        let ok = json!({"first_name": "Ana", "last_name": "Pop",
            "badges": [{"number": "00A1", "type": "oneprox", "active": true}]});
        assert!(employee(&ok, None).is_ok());
        let (c, f) = code(employee(
            &json!({"first_name": "A", "last_name": "B", "x": 1}),
            None,
        ));
        assert_eq!((c.as_str(), f.as_deref()), ("unknown_field", Some("x")));
        let (c, f) = code(employee(&json!({"first_name": "A"}), None));
        assert_eq!(
            (c.as_str(), f.as_deref()),
            ("missing_field", Some("last_name"))
        );
        let bad = json!({"first_name": "A", "last_name": "B",
            "badges": [{"number": "00a1", "type": "oneprox", "active": true}]});
        let (c, f) = code(employee(&bad, None));
        assert_eq!(
            (c.as_str(), f.as_deref()),
            ("invalid_field", Some("badges[0].number"))
        );
        let (c, f) = code(employee(
            &json!({"first_name": "A", "last_name": "B"}),
            Some(4),
        ));
        assert_eq!(
            (c.as_str(), f.as_deref()),
            ("missing_field", Some("employee_number"))
        );
        let (c, f) = code(employee(
            &json!({"first_name": "A", "last_name": "B", "id": 3}),
            None,
        ));
        assert_eq!((c.as_str(), f.as_deref()), ("unknown_field", Some("id")));
    }
}
