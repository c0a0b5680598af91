//! What can go wrong talking to Astrow, in words an administrator can act on.

use crate::http::HttpError;

#[derive(Debug, thiserror::Error)]
pub enum AstrowError {
    /// The settings cannot make a client (URL, CA file).
    #[error("Astrow settings: {0}")]
    Config(String),
    #[error(
        "Astrow refused the user name or password of the user {username}: \
         check astrow.username and astrow.password"
    )]
    InvalidCredentials { username: String },
    #[error(
        "the Astrow user {username} lacks the permission 'Allow API to connect to Astrow': \
         grant it in Astrow under Roles and permissions"
    )]
    PermissionMissing { username: String },
    #[error(
        "{endpoint}: this Astrow has no '{licence}' licence, so it refuses {what} writes: \
         add the licence in Astrow (Help > Licence)"
    )]
    LicenceMissing {
        endpoint: String,
        licence: &'static str,
        what: &'static str,
    },
    /// A request the client refuses to send (e.g. over 500 bookings).
    #[error("{endpoint}: {detail}")]
    Request { endpoint: String, detail: String },
    /// A well-formed answer that does not fit the request (wrong result count,
    /// page over the limit, cursor going round).
    #[error("{endpoint}: unexpected answer: {detail}")]
    Answer { endpoint: String, detail: String },
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl AstrowError {
    /// The HTTP failure underneath, when there is one.
    pub fn http(&self) -> Option<&HttpError> {
        match self {
            AstrowError::Http(e) => Some(e),
            _ => None,
        }
    }

    /// The protocol's error code (`version_mismatch`, `badge_in_use`, ...).
    pub fn api_code(&self) -> Option<&str> {
        self.http().and_then(HttpError::api_code)
    }

    /// Worth trying again later (network, 5xx, 429, cut-short answer).
    pub fn is_transient(&self) -> bool {
        self.http().is_some_and(HttpError::is_transient)
    }

    /// Turn the protocol's authorisation refusals into actionable errors.
    pub(crate) fn classify(e: HttpError, username: &str) -> AstrowError {
        let username = username.to_string();
        match (e.status(), e.api_code()) {
            (Some(401), Some("invalid_credentials")) => {
                AstrowError::InvalidCredentials { username }
            }
            (Some(403), Some("api_permission_missing")) => {
                AstrowError::PermissionMissing { username }
            }
            (Some(403), Some("license_missing")) => {
                let endpoint = e.endpoint().to_string();
                let (licence, what) = if endpoint.contains("/bookings") {
                    ("File terminal", "booking")
                } else {
                    ("Employees import", "employee")
                };
                AstrowError::LicenceMissing {
                    endpoint,
                    licence,
                    what,
                }
            }
            _ => AstrowError::Http(e),
        }
    }
}

impl crate::http::Retryable for AstrowError {
    fn is_transient(&self) -> bool {
        AstrowError::is_transient(self)
    }
    fn retry_after(&self) -> Option<std::time::Duration> {
        self.http().and_then(HttpError::retry_after)
    }
}
