//! Request checks of the simulated Astrow: error answers, JSON bodies with
//! field paths, query parameters, `If-Match`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::Query;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset};
use serde::de::DeserializeOwned;

use crate::astrow::wire::{self, ErrorBody, ErrorDetail};

/// An error answer: `{"error": {"code", "message", "field"?, "current"?}}`.
#[derive(Debug, Clone)]
pub struct ApiErr {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub current: Option<serde_json::Value>,
}

impl ApiErr {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiErr {
            status,
            code,
            message: message.into(),
            field: None,
            current: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn bad(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiErr::new(StatusCode::BAD_REQUEST, code, message).field(field)
    }

    pub fn invalid_parameter(field: &str, message: impl Into<String>) -> Self {
        ApiErr::bad("invalid_parameter", field, message)
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiErr::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    pub fn unprocessable(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        ApiErr::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).field(field)
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                field: self.field,
                current: self.current,
            },
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// The body of a write: JSON (else 415), at most 8 MiB (else 413), every key
/// known, present and well-typed (else 400 with the key's path).
pub fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiErr> {
    let value = json_value(headers, body)?;
    from_value(value, "")
}

/// The body as a JSON value, after the content-type and size checks.
pub fn json_value(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<serde_json::Value, ApiErr> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiErr::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be JSON with Content-Type: application/json",
        ));
    }
    let bytes = body.map_err(|rej| {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiErr::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                format!("the body could not be read: {rej}"),
            )
        }
    })?;
    if bytes.len() > wire::MAX_BODY_BYTES {
        return Err(too_large());
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiErr::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("the body is not JSON: {e}"),
        )
    })
}

fn too_large() -> ApiErr {
    ApiErr::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the body is over {} bytes", wire::MAX_BODY_BYTES),
    )
}

/// Deserialize `value`, naming the offending key (prefixed by `prefix`) on error.
pub fn from_value<T: DeserializeOwned>(
    value: serde_json::Value,
    prefix: &str,
) -> Result<T, ApiErr> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = join(prefix, if path == "." { "" } else { &path });
        let message = e.inner().to_string();
        if let Some(key) = quoted_after(&message, "unknown field `") {
            // the path already ends at the unknown key when serde visited it
            let field = if path.ends_with(&key) {
                path
            } else {
                join(&path, &key)
            };
            ApiErr::bad("unknown_field", field, message)
        } else if let Some(key) = quoted_after(&message, "missing field `") {
            ApiErr::bad("missing_field", join(&path, &key), message)
        } else {
            ApiErr::bad("invalid_field", path, message)
        }
    })
}

fn quoted_after(message: &str, start: &str) -> Option<String> {
    let rest = message.strip_prefix(start)?;
    rest.split('`').next().map(str::to_string)
}

/// `a.b`, or `a[3]`-style paths glued without a dot.
pub fn join(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (_, true) => prefix.to_string(),
        _ if path.starts_with('[') => format!("{prefix}{path}"),
        _ => format!("{prefix}.{path}"),
    }
}

/// Query parameters, each at most once and each in `allowed` (else 400).
pub fn query(uri: &Uri, allowed: &[&str]) -> Result<HashMap<String, String>, ApiErr> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri).map_err(|e| {
        ApiErr::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            format!("the query string is malformed: {e}"),
        )
    })?;
    let mut map = HashMap::new();
    for (k, v) in pairs {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiErr::bad(
                "unknown_field",
                k.clone(),
                format!(
                    "unknown query parameter {k:?}; known: {}",
                    allowed.join(", ")
                ),
            ));
        }
        if map.insert(k.clone(), v).is_some() {
            return Err(ApiErr::invalid_parameter(&k, format!("{k} is given twice")));
        }
    }
    Ok(map)
}

/// An integer parameter within `min..=max`, `default` when absent.
pub fn int_param(
    q: &HashMap<String, String>,
    name: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ApiErr> {
    let Some(raw) = q.get(name) else {
        return Ok(default);
    };
    match raw.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ApiErr::invalid_parameter(
            name,
            format!("{name} must be an integer from {min} to {max}, not {raw:?}"),
        )),
    }
}

pub fn limit_param(q: &HashMap<String, String>) -> Result<usize, ApiErr> {
    let n = int_param(
        q,
        "limit",
        wire::DEFAULT_LIMIT.into(),
        1,
        wire::MAX_LIMIT.into(),
    )?;
    Ok(n as usize)
}

pub fn bool_param(q: &HashMap<String, String>, name: &str) -> Result<bool, ApiErr> {
    match q.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiErr::invalid_parameter(
            name,
            format!("{name} must be true or false, not {other:?}"),
        )),
    }
}

/// The keyset cursor: the last key of the previous page.
pub fn cursor_param(q: &HashMap<String, String>) -> Result<Option<u64>, ApiErr> {
    match q.get("cursor") {
        None => Ok(None),
        Some(c) => c
            .parse::<u64>()
            .map(Some)
            .map_err(|_| ApiErr::invalid_parameter("cursor", format!("unknown cursor {c:?}"))),
    }
}

pub fn time_param(
    q: &HashMap<String, String>,
    name: &str,
) -> Result<Option<DateTime<FixedOffset>>, ApiErr> {
    match q.get(name) {
        None => Ok(None),
        Some(t) => DateTime::parse_from_rfc3339(t).map(Some).map_err(|_| {
            ApiErr::invalid_parameter(name, format!("{name} must be an RFC 3339 time, not {t:?}"))
        }),
    }
}

/// `If-Match: <version>`: 428 without, 400 when not a bare integer.
pub fn if_match(headers: &HeaderMap) -> Result<u64, ApiErr> {
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Err(ApiErr::new(
            StatusCode::PRECONDITION_REQUIRED,
            "if_match_required",
            "this write needs If-Match: <version>",
        ));
    };
    raw.to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            ApiErr::invalid_parameter(
                "If-Match",
                "If-Match must be the record's version, an integer",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::astrow::wire::BookingBatch;

    fn err_of<T: DeserializeOwned + std::fmt::Debug>(json: &str) -> ApiErr {
        let v: serde_json::Value = serde_json::from_str(json).expect("test JSON");
        from_value::<T>(v, "").expect_err("must fail")
    }

    const OK: &str = r#"{"source_id": "a", "badge_no": "1", "time": "2026-11-28T08:01:07+01:00", "terminal_serial": "R"}"#;

    #[test]
    fn paths_name_the_booking_field() {
        let bad = OK.replace("+01:00", "");
        let e = err_of::<BookingBatch>(&format!(r#"{{"bookings": [{OK}, {bad}]}}"#));
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("invalid_field", Some("bookings[1].time"))
        );

        let unknown = OK.replace("\"source_id\"", "\"extra\": 1, \"source_id\"");
        let e = err_of::<BookingBatch>(&format!(r#"{{"bookings": [{OK}, {OK}, {unknown}]}}"#));
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("unknown_field", Some("bookings[2].extra"))
        );

        let e = err_of::<BookingBatch>(r#"{"bookings": [{"source_id": "a"}]}"#);
        assert_eq!(e.code, "missing_field");
        assert_eq!(e.field.as_deref(), Some("bookings[0].badge_no"));

        let e = err_of::<BookingBatch>(r#"{}"#);
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("missing_field", Some("bookings"))
        );
    }
}
