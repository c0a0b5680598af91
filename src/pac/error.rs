//! What can go wrong talking to PAC, in words an administrator can act on.
//! The OEM key never appears in any of these.

use crate::http::HttpError;
use crate::model::{PacEmployee, Seq};

#[derive(Debug, thiserror::Error)]
pub enum PacError {
    #[error(transparent)]
    Http(#[from] HttpError),

    #[error(
        "{endpoint}: PAC Access Central refused the OEM key of client {client_id} (401 invalid_key): \
         download the key file again in PAC Access Central (Tools > Manage OEM Interface) and \
         point pac.oem_key_path at it"
    )]
    InvalidKey { endpoint: String, client_id: String },

    #[error(
        "{endpoint}: PAC Access Central has revoked the OEM client {client_id} (403 client_revoked): \
         add the client again in Tools > Manage OEM Interface, download its key and point \
         pac.oem_key_path at it"
    )]
    Revoked { endpoint: String, client_id: String },

    #[error("{endpoint}: PAC Access Central refused the request (403 {code}): {message}")]
    Forbidden {
        endpoint: String,
        code: String,
        message: String,
    },

    #[error("{endpoint}: {}", super::tls::MISMATCH)]
    CertificateMismatch { endpoint: String },

    #[error(
        "{endpoint}: PAC has no organization {organization_id} (404 unknown_organization): \
         set pac.organization_id to 1"
    )]
    UnknownOrganization {
        endpoint: String,
        organization_id: u32,
    },

    #[error(
        "{endpoint}: PAC no longer keeps the events after {after} (410 events_expired): \
         the oldest it keeps is {oldest_seq}, the events between are lost"
    )]
    EventsExpired {
        endpoint: String,
        after: Seq,
        oldest_seq: Seq,
    },

    #[error(
        "{endpoint}: the employee changed in PAC since it was read (412 version_mismatch, now version {})",
        current.version
    )]
    VersionMismatch {
        endpoint: String,
        current: Box<PacEmployee>,
    },

    #[error("{endpoint}: the answer breaks the protocol: {detail}")]
    BadAnswer { endpoint: String, detail: String },

    #[error("PAC connection settings: {0}")]
    Setup(String),

    #[error("{endpoint}: not sent: {detail}")]
    InvalidRequest { endpoint: String, detail: String },
}

impl PacError {
    /// Worth another try (network, timeout, 5xx, 429, an answer cut short).
    pub fn is_transient(&self) -> bool {
        matches!(self, PacError::Http(e) if e.is_transient())
    }

    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            PacError::Http(e) => e.retry_after(),
            _ => None,
        }
    }

    /// The HTTP status PAC answered, when it answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            PacError::Http(e) => e.status(),
            PacError::InvalidKey { .. } => Some(401),
            PacError::Revoked { .. } | PacError::Forbidden { .. } => Some(403),
            PacError::UnknownOrganization { .. } => Some(404),
            PacError::EventsExpired { .. } => Some(410),
            PacError::VersionMismatch { .. } => Some(412),
            _ => None,
        }
    }

    /// The protocol's error code (`badge_in_use`, `not_found`, ...).
    pub fn api_code(&self) -> Option<&str> {
        match self {
            PacError::Http(e) => e.api_code(),
            PacError::InvalidKey { .. } => Some("invalid_key"),
            PacError::Revoked { .. } => Some("client_revoked"),
            PacError::Forbidden { code, .. } => Some(code),
            PacError::UnknownOrganization { .. } => Some("unknown_organization"),
            PacError::EventsExpired { .. } => Some("events_expired"),
            PacError::VersionMismatch { .. } => Some("version_mismatch"),
            _ => None,
        }
    }
}

impl crate::http::Retryable for PacError {
    fn is_transient(&self) -> bool {
        PacError::is_transient(self)
    }
    fn retry_after(&self) -> Option<std::time::Duration> {
        PacError::retry_after(self)
    }
}
