//! What both connectors share: the error type, bounded reading of answers,
//! the error body of both protocols, and retries with backoff and jitter.

mod retry;
pub mod tolerant;

pub use retry::{Backoff, RetryPolicy, Retryable, backoff_ceiling, backoff_delay, retry};

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Connect and whole-request time limits of a connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
        }
    }
}

/// The error body both protocols use: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiError {
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub field: Option<String>,
    /// 412 answers carry the current record.
    #[serde(default)]
    pub current: Option<serde_json::Value>,
    /// PAC's 410 on `/events` carries the oldest sequence it still keeps.
    #[serde(default)]
    pub oldest_seq: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct ApiErrorBody {
    error: ApiError,
}

/// Everything that can go wrong with one HTTP exchange, naming the endpoint.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{endpoint}: cannot connect: {detail}")]
    Connect { endpoint: String, detail: String },
    #[error("{endpoint}: no answer in time: {detail}")]
    Timeout { endpoint: String, detail: String },
    #[error("{endpoint}: the connection failed before a complete answer: {detail}")]
    Transport { endpoint: String, detail: String },
    #[error("{endpoint}: HTTP {status}{}", api_suffix(.api))]
    Status {
        endpoint: String,
        status: u16,
        api: Option<Box<ApiError>>,
        retry_after: Option<Duration>,
    },
    #[error("{endpoint}: the answer is larger than the {limit} bytes allowed")]
    TooLarge { endpoint: String, limit: usize },
    #[error("{endpoint}: the answer was cut short ({detail})")]
    Truncated { endpoint: String, detail: String },
    #[error("{endpoint}: malformed answer: {detail}")]
    Malformed { endpoint: String, detail: String },
}

fn api_suffix(api: &Option<Box<ApiError>>) -> String {
    match api {
        None => String::new(),
        Some(a) => {
            let mut s = format!(" {}", sanitize(&a.code));
            if !a.message.is_empty() {
                s.push_str(": ");
                s.push_str(&sanitize(&a.message));
            }
            if let Some(f) = &a.field {
                s.push_str(&format!(" (field {})", sanitize(f)));
            }
            s
        }
    }
}

impl HttpError {
    /// Worth another try: the network, a timeout, 5xx, 429, or an answer cut short.
    pub fn is_transient(&self) -> bool {
        match self {
            HttpError::Connect { .. }
            | HttpError::Timeout { .. }
            | HttpError::Transport { .. }
            | HttpError::Truncated { .. } => true,
            HttpError::Status { status, .. } => *status == 429 || *status == 408 || *status >= 500,
            HttpError::TooLarge { .. } | HttpError::Malformed { .. } => false,
        }
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            HttpError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The protocol's error code (`version_mismatch`, `token_expired`, ...).
    pub fn api_code(&self) -> Option<&str> {
        match self {
            HttpError::Status { api: Some(a), .. } => Some(a.code.as_str()),
            _ => None,
        }
    }

    pub fn api(&self) -> Option<&ApiError> {
        match self {
            HttpError::Status { api, .. } => api.as_deref(),
            _ => None,
        }
    }

    pub fn endpoint(&self) -> &str {
        match self {
            HttpError::Connect { endpoint, .. }
            | HttpError::Timeout { endpoint, .. }
            | HttpError::Transport { endpoint, .. }
            | HttpError::Status { endpoint, .. }
            | HttpError::TooLarge { endpoint, .. }
            | HttpError::Truncated { endpoint, .. }
            | HttpError::Malformed { endpoint, .. } => endpoint,
        }
    }

    /// Map a reqwest failure (no answer, or a failure while reading one).
    pub fn from_reqwest(endpoint: &str, e: &reqwest::Error) -> HttpError {
        let endpoint = endpoint.to_string();
        let detail = error_chain(e);
        if e.is_timeout() {
            HttpError::Timeout { endpoint, detail }
        } else if e.is_connect() {
            HttpError::Connect { endpoint, detail }
        } else {
            HttpError::Transport { endpoint, detail }
        }
    }
}

/// An error and all its sources on one line, for messages.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let t = src.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = src.source();
    }
    sanitize(&s)
}

/// Text from the other side, safe to put in a message or a log line:
/// control characters (escape sequences included) replaced, length bounded.
pub fn sanitize(s: &str) -> String {
    const MAX: usize = 500;
    let mut out: String = s
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if s.chars().count() > MAX {
        out.push('…');
    }
    out
}

/// Turn a non-success answer into [`HttpError::Status`], reading (a bounded
/// part of) its error body and its `Retry-After`.
pub async fn check_status(
    resp: reqwest::Response,
    endpoint: &str,
) -> Result<reqwest::Response, HttpError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let api = match read_body(resp, endpoint, 64 * 1024).await {
        Ok(bytes) => serde_json::from_slice::<ApiErrorBody>(&bytes)
            .ok()
            .map(|b| Box::new(b.error)),
        Err(_) => None,
    };
    Err(HttpError::Status {
        endpoint: endpoint.to_string(),
        status: status.as_u16(),
        api,
        retry_after,
    })
}

/// `Retry-After` in seconds (the HTTP-date form is not used by either system).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    v.trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(3600)))
}

/// Read a whole body, refusing more than `max_bytes`.
pub async fn read_body(
    mut resp: reqwest::Response,
    endpoint: &str,
    max_bytes: usize,
) -> Result<Vec<u8>, HttpError> {
    let too_large = || HttpError::TooLarge {
        endpoint: endpoint.to_string(),
        limit: max_bytes,
    };
    if resp.content_length().is_some_and(|n| n > max_bytes as u64) {
        return Err(too_large());
    }
    let mut buf = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if buf.len() + chunk.len() > max_bytes {
                    return Err(too_large());
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(buf),
            Err(e) => {
                return Err(HttpError::Truncated {
                    endpoint: endpoint.to_string(),
                    detail: error_chain(&e),
                });
            }
        }
    }
}

/// Read a bounded body and parse it as JSON of type `T`.
pub async fn read_json<T: DeserializeOwned>(
    resp: reqwest::Response,
    endpoint: &str,
    max_bytes: usize,
) -> Result<T, HttpError> {
    let bytes = read_body(resp, endpoint, max_bytes).await?;
    parse_json(&bytes, endpoint)
}

/// Parse JSON, telling a body cut short from a malformed one.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], endpoint: &str) -> Result<T, HttpError> {
    serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() {
            HttpError::Truncated {
                endpoint: endpoint.to_string(),
                detail: format!("{} bytes end in the middle of the JSON", bytes.len()),
            }
        } else {
            HttpError::Malformed {
                endpoint: endpoint.to_string(),
                detail: sanitize(&e.to_string()),
            }
        }
    })
}

/// Install ring as rustls' process-wide crypto provider (once; later calls
/// are no-ops). reqwest is built without a provider of its own.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A reqwest client builder with our timeouts, user agent and no proxy
/// from the environment (both systems sit on the local network).
pub fn client_builder(t: &Timeouts) -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(t.connect)
        .timeout(t.request)
        .user_agent(concat!("astrow-pac/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_json_is_told_from_malformed_json() {
        let e = parse_json::<serde_json::Value>(br#"{"items": [1, 2"#, "GET /x").unwrap_err();
        assert!(matches!(e, HttpError::Truncated { .. }), "{e}");
        assert!(e.is_transient());
        let e = parse_json::<serde_json::Value>(b"<html>", "GET /x").unwrap_err();
        assert!(matches!(e, HttpError::Malformed { .. }), "{e}");
        assert!(!e.is_transient());
    }

    #[test]
    fn status_errors_name_endpoint_code_and_field_without_control_characters() {
        let e = HttpError::Status {
            endpoint: "PUT /employees/4".into(),
            status: 422,
            api: Some(Box::new(ApiError {
                code: "validation_failed".into(),
                message: "bad\x1b[31m name".into(),
                field: Some("first_name".into()),
                current: None,
                oldest_seq: None,
            })),
            retry_after: None,
        };
        let s = e.to_string();
        assert!(
            s.contains("PUT /employees/4: HTTP 422 validation_failed"),
            "{s}"
        );
        assert!(s.contains("(field first_name)"), "{s}");
        assert!(!s.contains('\x1b'), "{s}");
        assert!(!e.is_transient());
    }

    #[test]
    fn which_statuses_are_worth_a_retry() {
        let st = |status| HttpError::Status {
            endpoint: "x".into(),
            status,
            api: None,
            retry_after: None,
        };
        assert!(st(500).is_transient());
        assert!(st(503).is_transient());
        assert!(st(429).is_transient());
        assert!(!st(400).is_transient());
        assert!(!st(412).is_transient());
        assert!(!st(401).is_transient());
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_bounded() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(" 99999 "),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
