//! Answers of the simulator: JSON bodies and the protocol's error body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::pac::wire::{self, ErrorBody};

/// A failed request: a status and the protocol's error body.
#[derive(Debug)]
pub struct Fail {
    pub status: StatusCode,
    pub body: Box<ErrorBody>,
}

impl Fail {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Fail {
            status,
            body: Box::new(ErrorBody::new(code, message)),
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.body.error.field = Some(field.into());
        self
    }

    pub fn bad(code: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Fail::new(StatusCode::BAD_REQUEST, code, message).field(field)
    }

    pub fn unknown_field(field: impl Into<String>) -> Self {
        let field = field.into();
        Fail::bad(
            "unknown_field",
            field.clone(),
            format!("unknown key {field}"),
        )
    }

    pub fn missing_field(field: impl Into<String>) -> Self {
        let field = field.into();
        Fail::bad(
            "missing_field",
            field.clone(),
            format!("{field} is required"),
        )
    }

    pub fn invalid_field(field: impl Into<String>, why: &str) -> Self {
        let field = field.into();
        Fail::bad("invalid_field", field.clone(), format!("{field}: {why}"))
    }

    pub fn invalid_parameter(name: &str, why: &str) -> Self {
        Fail::bad("invalid_parameter", name, format!("{name}: {why}"))
    }

    /// The simulator could not make its answer (500).
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Fail::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    }

    pub fn not_found(what: &str) -> Self {
        Fail::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn validation(field: &str, message: &str) -> Self {
        Fail::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        )
        .field(field)
    }

    pub fn version_mismatch(current: wire::Employee) -> Self {
        let mut f = Fail::new(
            StatusCode::PRECONDITION_FAILED,
            "version_mismatch",
            format!(
                "the employee changed: its version is now {}",
                current.version
            ),
        );
        f.body.error.current = Some(current);
        f
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        (self.status, Json(*self.body)).into_response()
    }
}

/// A JSON answer with a status.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    (status, Json(body)).into_response()
}

/// The answer of a handler: JSON or the error body.
pub type Reply = Result<Response, Fail>;
