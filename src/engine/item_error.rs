//! Why an item's write did not happen, by kind: what apply, the retry policy
//! and the console branch on instead of matching words in a message.

use serde::{Deserialize, Serialize};

use crate::astrow::AstrowError;
use crate::pac::PacError;

/// The kind of an item's failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The record changed since planning (412): planned again, not retried.
    Stale,
    /// The target system refused it as clashing with another record (409,
    /// e.g. a badge another employee holds).
    Conflict,
    /// Astrow lacks the licence the write needs.
    LicenceMissing,
    /// The system did not answer, or answered 5xx/429: worth trying again.
    Unreachable,
    /// The system refused the record as invalid (400, 422): it will refuse
    /// it again until someone changes the record or the settings.
    Rejected,
    /// Anything else (the store, an item that cannot be read).
    Other,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Stale => "stale",
            FailureKind::Conflict => "conflict",
            FailureKind::LicenceMissing => "licence_missing",
            FailureKind::Unreachable => "unreachable",
            FailureKind::Rejected => "rejected",
            FailureKind::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<FailureKind> {
        Some(match text {
            "stale" => FailureKind::Stale,
            "conflict" => FailureKind::Conflict,
            "licence_missing" => FailureKind::LicenceMissing,
            "unreachable" => FailureKind::Unreachable,
            "rejected" => FailureKind::Rejected,
            "other" => FailureKind::Other,
            _ => return None,
        })
    }

    /// For people: "licence missing", "refused as invalid", ...
    pub fn words(self) -> &'static str {
        match self {
            FailureKind::Stale => "changed since planning",
            FailureKind::Conflict => "conflict with another record",
            FailureKind::LicenceMissing => "licence missing",
            FailureKind::Unreachable => "system unreachable",
            FailureKind::Rejected => "refused as invalid",
            FailureKind::Other => "failed",
        }
    }
}

/// An item's write that did not happen, with the system's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    #[error("{0}")]
    Stale(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    LicenceMissing(String),
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Rejected(String),
    #[error("{0}")]
    Other(String),
}

impl ItemError {
    pub fn kind(&self) -> FailureKind {
        match self {
            ItemError::Stale(_) => FailureKind::Stale,
            ItemError::Conflict(_) => FailureKind::Conflict,
            ItemError::LicenceMissing(_) => FailureKind::LicenceMissing,
            ItemError::Unreachable(_) => FailureKind::Unreachable,
            ItemError::Rejected(_) => FailureKind::Rejected,
            ItemError::Other(_) => FailureKind::Other,
        }
    }

    /// By HTTP status and transience, for either system.
    fn classify(status: Option<u16>, transient: bool, message: String) -> ItemError {
        match status {
            _ if transient => ItemError::Unreachable(message),
            Some(412) => ItemError::Stale(message),
            Some(409) => ItemError::Conflict(message),
            Some(400 | 422) => ItemError::Rejected(message),
            _ => ItemError::Other(message),
        }
    }
}

impl From<PacError> for ItemError {
    fn from(e: PacError) -> Self {
        match e {
            PacError::VersionMismatch { .. } => {
                ItemError::Stale("changed in PAC since it was read (412)".into())
            }
            other => ItemError::classify(other.status(), other.is_transient(), other.to_string()),
        }
    }
}

impl From<AstrowError> for ItemError {
    fn from(e: AstrowError) -> Self {
        if e.api_code() == Some("version_mismatch") {
            return ItemError::Stale("changed in Astrow since it was read (412)".into());
        }
        match &e {
            AstrowError::LicenceMissing { .. } => ItemError::LicenceMissing(e.to_string()),
            AstrowError::Http(h) => {
                ItemError::classify(h.status(), h.is_transient(), e.to_string())
            }
            _ => ItemError::Other(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpError;

    fn connect() -> HttpError {
        HttpError::Connect {
            endpoint: "PUT /employees/7".into(),
            detail: "connection refused".into(),
        }
    }

    #[test]
    fn item_errors_are_classified_by_kind() {
        let licence = AstrowError::LicenceMissing {
            endpoint: "PUT /employees/7".into(),
            licence: "Employees import",
            what: "employee",
        };
        assert_eq!(ItemError::from(licence).kind(), FailureKind::LicenceMissing);
        assert_eq!(
            ItemError::from(AstrowError::Http(connect())).kind(),
            FailureKind::Unreachable
        );
        assert_eq!(
            ItemError::from(PacError::Http(connect())).kind(),
            FailureKind::Unreachable
        );
        assert_eq!(
            ItemError::classify(Some(409), false, "badge_in_use".into()).kind(),
            FailureKind::Conflict
        );
        assert_eq!(
            ItemError::classify(Some(422), false, "bad field".into()).kind(),
            FailureKind::Rejected
        );
        assert_eq!(
            ItemError::classify(Some(503), true, "down".into()).kind(),
            FailureKind::Unreachable
        );
        for kind in [
            FailureKind::Stale,
            FailureKind::Conflict,
            FailureKind::LicenceMissing,
            FailureKind::Unreachable,
            FailureKind::Rejected,
            FailureKind::Other,
        ] {
            assert_eq!(FailureKind::parse(kind.as_str()), Some(kind));
        }
    }
}
