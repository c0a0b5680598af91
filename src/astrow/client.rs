//! The Astrow Web API client: typed calls for every endpoint of
//! `protocol.md`, a session renewed on `token_expired`, retries of the
//! requests that are safe to repeat, bounded and checked answers.
//!
//! HTTPS with `ca_pem` trusts exactly that CA (the site's private CA), not
//! the system roots as well: an administrator who names a CA file means the
//! server's certificate comes from it. Without `ca_pem` the system roots
//! apply.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::AstrowError;
use super::session::{Session, Token};
use super::wire::{
    self, AccessGroup, AccessGroupIn, BatchResults, BookingBatch, CodeName, Employee, EmployeeIn,
    Heartbeat, HeartbeatStatus, Items, ItemsIn, Licenses, LoginRequest, LoginResponse,
    Notifications, Page, Reader, ReaderIn, StoredBooking, StoredStatus,
};
use crate::http::{self, HttpError, RetryPolicy, Timeouts};
use crate::model::{self, PersNo};

/// Largest answer read for one record or a small list.
const MAX_RECORD_BYTES: usize = 1 << 20;
/// Largest answer read for one page (1000 employees with long names fit).
const MAX_PAGE_BYTES: usize = 16 << 20;
/// Most pages one listing follows before it calls the answer broken.
const MAX_PAGES: usize = 100_000;

/// How to reach Astrow.
#[derive(Clone)]
pub struct AstrowClientConfig {
    /// `astrow.url`: `http(s)://host:port`, with or without `/api/v1`.
    pub url: String,
    pub username: String,
    /// Never shown: not in `Debug`, not in errors.
    pub password: String,
    /// The private CA of `astrow.ca_path` (PEM), trusted exactly.
    pub ca_pem: Option<Vec<u8>>,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
    /// Items per page when listing (1..=1000).
    pub page_size: u32,
}

impl AstrowClientConfig {
    /// Default timeouts, retries and page size.
    pub fn new(url: &str, username: &str, password: &str) -> Self {
        AstrowClientConfig {
            url: url.to_string(),
            username: username.to_string(),
            password: password.to_string(),
            ca_pem: None,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            page_size: wire::MAX_LIMIT,
        }
    }
}

impl std::fmt::Debug for AstrowClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AstrowClientConfig")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "<pem>"))
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("page_size", &self.page_size)
            .finish()
    }
}

/// A booking as Astrow keeps it (`GET /bookings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AstrowBooking {
    pub booking: model::Booking,
    /// `Processed` or `Queued`, with the booking id.
    pub status: model::BookingStatus,
    /// The employee the badge belonged to; `None` when queued.
    pub pers_no: Option<PersNo>,
}

/// The Astrow Web API client. Cheap to clone; clones share the session.
#[derive(Clone, Debug)]
pub struct AstrowClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    username: String,
    password: String,
    retry: RetryPolicy,
    timeouts: Timeouts,
    page_size: u32,
    session: Session,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AstrowClient")
            .field("base", &self.base.as_str())
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// One request, before the session and retries are applied.
struct Call {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    if_match: Option<u64>,
    idempotency_key: Option<String>,
    /// Added to the request timeout (long polls).
    extra_time: Duration,
}

impl Call {
    fn new(method: Method, path: impl Into<String>) -> Self {
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            if_match: None,
            idempotency_key: None,
            extra_time: Duration::ZERO,
        }
    }

    fn get(path: impl Into<String>) -> Self {
        Call::new(Method::GET, path)
    }

    fn json(mut self, body: &impl Serialize) -> Result<Self, AstrowError> {
        let bytes = serde_json::to_vec(body).map_err(|e| AstrowError::Request {
            endpoint: self.endpoint(),
            detail: format!("cannot encode the body: {e}"),
        })?;
        self.body = Some(bytes);
        Ok(self)
    }

    fn endpoint(&self) -> String {
        format!("Astrow {} {}", self.method, self.path)
    }
}

impl AstrowClient {
    pub fn new(cfg: AstrowClientConfig) -> Result<Self, AstrowError> {
        let base = base_url(&cfg.url)?;
        let mut builder = http::client_builder(&cfg.timeouts);
        if let Some(pem) = &cfg.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                AstrowError::Config(format!("astrow.ca_path is not a PEM certificate: {e}"))
            })?;
            if certs.is_empty() {
                return Err(AstrowError::Config(
                    "astrow.ca_path holds no certificate".to_string(),
                ));
            }
            builder = builder.tls_certs_only(certs);
        }
        let http = builder.build().map_err(|e| {
            AstrowError::Config(format!(
                "cannot build the HTTP client: {}",
                http::error_chain(&e)
            ))
        })?;
        if !(1..=wire::MAX_LIMIT).contains(&cfg.page_size) {
            return Err(AstrowError::Config(format!(
                "page size {} is outside 1..{}",
                cfg.page_size,
                wire::MAX_LIMIT
            )));
        }
        Ok(AstrowClient {
            inner: Arc::new(Inner {
                http,
                base,
                username: cfg.username,
                password: cfg.password,
                retry: cfg.retry,
                timeouts: cfg.timeouts,
                page_size: cfg.page_size,
                session: Session::default(),
            }),
        })
    }

    /// How many times this client has logged in (1 after the first call).
    pub async fn logins(&self) -> u64 {
        self.inner.session.logins().await
    }

    // ------------------------------------------------------------ endpoints

    /// `GET /licenses`.
    pub async fn licences(&self) -> Result<Licenses, AstrowError> {
        self.fetch(Call::get("/licenses"), MAX_RECORD_BYTES).await
    }

    /// `GET /employees`, every page: a complete listing or an error.
    pub async fn list_employees(
        &self,
        include_inactive: bool,
    ) -> Result<Vec<model::AstrowEmployee>, AstrowError> {
        let extra = vec![("include_inactive", include_inactive.to_string())];
        let items: Vec<Employee> = self.list_all("/employees", extra).await?;
        check_ascending(&items, |e| e.pers_no.0, "Astrow GET /employees")?;
        Ok(items.into_iter().map(model::AstrowEmployee::from).collect())
    }

    /// `GET /employees/{pers_no}`; `None` when Astrow has no such employee.
    pub async fn get_employee(
        &self,
        pers_no: PersNo,
    ) -> Result<Option<model::AstrowEmployee>, AstrowError> {
        let call = Call::get(format!("/employees/{pers_no}"));
        match self.fetch::<Employee>(call, MAX_RECORD_BYTES).await {
            Ok(e) => Ok(Some(e.into())),
            Err(e) if e.http().and_then(HttpError::status) == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /employees` with an `Idempotency-Key`: a repeat with the same key
    /// (after a lost answer, or a crash) creates nothing new. `e.pers_no` and
    /// `e.version` are ignored.
    pub async fn create_employee(
        &self,
        e: &model::AstrowEmployee,
        idempotency_key: &str,
    ) -> Result<model::AstrowEmployee, AstrowError> {
        let mut call = Call::new(Method::POST, "/employees");
        call = call.json(&EmployeeIn::from(e))?;
        call.idempotency_key = Some(idempotency_key.to_string());
        let created: Employee = self.fetch(call, MAX_RECORD_BYTES).await?;
        Ok(created.into())
    }

    /// `PUT /employees/{pers_no}` with `If-Match: e.version`; answers the
    /// employee as stored (a new version when something changed). A stale
    /// version is the error `version_mismatch`.
    pub async fn update_employee(
        &self,
        e: &model::AstrowEmployee,
    ) -> Result<model::AstrowEmployee, AstrowError> {
        let body = EmployeeIn::from(e);
        let mut call = Call::new(Method::PUT, format!("/employees/{}", e.pers_no));
        call = call.json(&body)?;
        call.if_match = Some(e.version);
        let endpoint = call.endpoint();
        let settle = |err: &HttpError, attempt: u32| {
            // A repeat after a lost answer meets our own change: done.
            if attempt < 2 || err.api_code() != Some("version_mismatch") {
                return None;
            }
            let current = err.api()?.current.as_ref()?;
            let current: Employee = serde_json::from_value(current.clone()).ok()?;
            let current = model::AstrowEmployee::from(current);
            (EmployeeIn::from(&current) == normalised(&body) && current.version > e.version)
                .then_some(current)
        };
        self.run(&call, settle, |r| async {
            let updated: Employee = http::read_json(r, &endpoint, MAX_RECORD_BYTES).await?;
            Ok(updated.into())
        })
        .await
    }

    /// `DELETE /employees/{pers_no}` with `If-Match: version`.
    pub async fn delete_employee(&self, pers_no: PersNo, version: u64) -> Result<(), AstrowError> {
        let mut call = Call::new(Method::DELETE, format!("/employees/{pers_no}"));
        call.if_match = Some(version);
        // A repeat after a lost answer finds the employee gone: done.
        let settle = |err: &HttpError, attempt: u32| {
            (attempt > 1 && err.status() == Some(404)).then_some(())
        };
        self.run(&call, settle, |_| async { Ok(()) }).await
    }

    /// `GET /cycles`.
    pub async fn cycles(&self) -> Result<Vec<model::CodeName>, AstrowError> {
        let items: Items<CodeName> = self.fetch(Call::get("/cycles"), MAX_PAGE_BYTES).await?;
        Ok(items.items.into_iter().map(Into::into).collect())
    }

    /// `GET /paygroups`.
    pub async fn paygroups(&self) -> Result<Vec<model::CodeName>, AstrowError> {
        let items: Items<CodeName> = self.fetch(Call::get("/paygroups"), MAX_PAGE_BYTES).await?;
        Ok(items.items.into_iter().map(Into::into).collect())
    }

    /// `GET /pac/access-groups`: Astrow's mirror of PAC's groups.
    pub async fn access_groups(&self) -> Result<Vec<model::AccessGroup>, AstrowError> {
        let items: Items<AccessGroup> = self
            .fetch(Call::get("/pac/access-groups"), MAX_PAGE_BYTES)
            .await?;
        Ok(items.items.into_iter().map(Into::into).collect())
    }

    /// `PUT /pac/access-groups`: replace the mirror.
    pub async fn put_access_groups(
        &self,
        groups: &[model::AccessGroup],
    ) -> Result<Vec<model::AccessGroup>, AstrowError> {
        let body = ItemsIn {
            items: groups.iter().map(AccessGroupIn::from).collect::<Vec<_>>(),
        };
        let call = Call::new(Method::PUT, "/pac/access-groups");
        let call = call.json(&body)?;
        let items: Items<AccessGroup> = self.fetch(call, MAX_PAGE_BYTES).await?;
        Ok(items.items.into_iter().map(Into::into).collect())
    }

    /// `GET /pac/readers`: Astrow's mirror of PAC's readers.
    pub async fn readers(&self) -> Result<Vec<model::Reader>, AstrowError> {
        let items: Items<Reader> = self
            .fetch(Call::get("/pac/readers"), MAX_PAGE_BYTES)
            .await?;
        Ok(items.items.into_iter().map(Into::into).collect())
    }

    /// `PUT /pac/readers`: replace the mirror.
    pub async fn put_readers(
        &self,
        readers: &[model::Reader],
    ) -> Result<Vec<model::Reader>, AstrowError> {
        let body = ItemsIn {
            items: readers.iter().map(ReaderIn::from).collect::<Vec<_>>(),
        };
        let call = Call::new(Method::PUT, "/pac/readers");
        let call = call.json(&body)?;
        let items: Items<Reader> = self.fetch(call, MAX_PAGE_BYTES).await?;
        Ok(items.items.into_iter().map(Into::into).collect())
    }

    /// `POST /bookings/batch` (at most 500): one status per booking, in order.
    /// Safe to repeat: Astrow answers `duplicate` for a `source_id` it stored.
    pub async fn send_bookings(
        &self,
        bookings: &[model::Booking],
    ) -> Result<Vec<model::BookingStatus>, AstrowError> {
        let call = Call::new(Method::POST, "/bookings/batch");
        let endpoint = call.endpoint();
        if bookings.len() > wire::MAX_BATCH {
            return Err(AstrowError::Request {
                endpoint,
                detail: format!(
                    "{} bookings: a batch carries at most {}",
                    bookings.len(),
                    wire::MAX_BATCH
                ),
            });
        }
        if bookings.is_empty() {
            return Ok(Vec::new());
        }
        let body = BookingBatch {
            bookings: bookings.iter().map(wire::Booking::from).collect(),
        };
        let call = call.json(&body)?;
        let answer: BatchResults = self.fetch(call, MAX_PAGE_BYTES).await?;
        if answer.results.len() != bookings.len() {
            return Err(AstrowError::Answer {
                endpoint,
                detail: format!(
                    "{} results for {} bookings",
                    answer.results.len(),
                    bookings.len()
                ),
            });
        }
        bookings
            .iter()
            .zip(&answer.results)
            .enumerate()
            .map(|(i, (b, r))| {
                if r.source_id != b.source_id {
                    return Err(AstrowError::Answer {
                        endpoint: endpoint.clone(),
                        detail: format!(
                            "result {i} is for {:?}, not {:?}",
                            http::sanitize(&r.source_id),
                            b.source_id
                        ),
                    });
                }
                r.to_status().map_err(|detail| AstrowError::Answer {
                    endpoint: endpoint.clone(),
                    detail: http::sanitize(&detail),
                })
            })
            .collect()
    }

    /// `GET /bookings`, every page, optionally only those at or after `since`.
    pub async fn list_bookings(
        &self,
        since: Option<DateTime<FixedOffset>>,
    ) -> Result<Vec<AstrowBooking>, AstrowError> {
        let extra = since
            .map(|s| ("since", s.to_rfc3339()))
            .into_iter()
            .collect();
        let items: Vec<StoredBooking> = self.list_all("/bookings", extra).await?;
        check_ascending(&items, |b| b.booking_id, "Astrow GET /bookings")?;
        Ok(items
            .iter()
            .map(|b| AstrowBooking {
                booking: model::Booking::from(b),
                status: match b.status {
                    StoredStatus::Processed => model::BookingStatus::Processed {
                        booking_id: b.booking_id,
                    },
                    StoredStatus::Queued => model::BookingStatus::Queued {
                        booking_id: b.booking_id,
                    },
                },
                pers_no: b.pers_no,
            })
            .collect())
    }

    /// `GET /notifications`: employee changes after `after`, waiting up to
    /// `wait` (at most 30 s) when there is none.
    pub async fn notifications(
        &self,
        after: u64,
        limit: u32,
        wait: Duration,
    ) -> Result<Notifications, AstrowError> {
        let wait_s = wait.as_secs().min(wire::MAX_WAIT_S.into());
        let mut call = Call::get("/notifications");
        call.query = vec![
            ("after", after.to_string()),
            ("limit", limit.clamp(1, wire::MAX_LIMIT).to_string()),
            ("wait", wait_s.to_string()),
        ];
        call.extra_time = Duration::from_secs(wait_s);
        let endpoint = call.endpoint();
        let answer: Notifications = self.fetch(call, MAX_PAGE_BYTES).await?;
        if answer.items.len() > limit as usize
            || answer
                .items
                .iter()
                .any(|n| n.seq <= after || n.seq > answer.last_seq)
        {
            return Err(AstrowError::Answer {
                endpoint,
                detail: "notifications outside the range asked for".to_string(),
            });
        }
        Ok(answer)
    }

    /// `POST /heartbeat`: tell Astrow the service is alive.
    pub async fn heartbeat(
        &self,
        status: HeartbeatStatus,
        detail: Option<String>,
    ) -> Result<(), AstrowError> {
        let body = Heartbeat {
            service: "astrow-pac".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            status,
            detail,
        };
        let call = Call::new(Method::POST, "/heartbeat");
        // Repeating a heartbeat only says "alive" twice.
        let call = call.json(&body)?;
        self.run(&call, |_, _| None, |_| async { Ok(()) }).await
    }

    // ------------------------------------------------------------ plumbing

    /// Every page of a list, following `next_cursor`.
    async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
        extra: Vec<(&'static str, String)>,
    ) -> Result<Vec<T>, AstrowError> {
        let limit = self.inner.page_size as usize;
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut call = Call::get(path);
            call.query = extra.clone();
            call.query.push(("limit", limit.to_string()));
            if let Some(c) = &cursor {
                call.query.push(("cursor", c.clone()));
            }
            let endpoint = call.endpoint();
            let page: Page<T> = self.fetch(call, MAX_PAGE_BYTES).await?;
            if page.items.len() > limit {
                return Err(AstrowError::Answer {
                    endpoint,
                    detail: format!("{} items on a page of at most {limit}", page.items.len()),
                });
            }
            out.extend(page.items);
            match page.next_cursor {
                None => return Ok(out),
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(AstrowError::Answer {
                        endpoint,
                        detail: "the page cursor goes round in a circle".to_string(),
                    });
                }
                Some(next) => cursor = Some(next),
            }
        }
        Err(AstrowError::Answer {
            endpoint: format!("Astrow GET {path}"),
            detail: format!("more than {MAX_PAGES} pages"),
        })
    }

    /// Send `call` and parse its answer as `T`.
    async fn fetch<T: DeserializeOwned>(
        &self,
        call: Call,
        max_bytes: usize,
    ) -> Result<T, AstrowError> {
        let endpoint = call.endpoint();
        self.run(
            &call,
            |_, _| None,
            |r| http::read_json(r, &endpoint, max_bytes),
        )
        .await
    }

    /// Send `call` with the session and retries, and `read` its answer; a
    /// failure, an answer cut short included, is tried again while the
    /// policy allows. Every request this client makes is safe to repeat:
    /// reads, writes with `If-Match` or an `Idempotency-Key`, bookings keyed
    /// by `source_id`, whole-mirror PUTs, heartbeats. `settle` may turn an
    /// error of a repeated try into success (the first try's write had landed
    /// but its answer was lost).
    async fn run<T, R, Fut>(
        &self,
        call: &Call,
        settle: impl Fn(&HttpError, u32) -> Option<T>,
        read: R,
    ) -> Result<T, AstrowError>
    where
        R: Fn(reqwest::Response) -> Fut,
        Fut: Future<Output = Result<T, HttpError>>,
    {
        let (settle, read) = (&settle, &read);
        http::retry(&self.inner.retry, |attempt| async move {
            match self.authorised(call).await {
                Ok(r) => read(r).await,
                Err(e) => settle(&e, attempt).ok_or(e),
            }
        })
        .await
        .map_err(|e| AstrowError::classify(e, &self.inner.username))
    }

    /// One try: with the session token; on `token_expired` log in again
    /// (shared with concurrent callers) and repeat the request once.
    async fn authorised(&self, call: &Call) -> Result<reqwest::Response, HttpError> {
        let token = self.inner.session.token(|| self.login()).await?;
        match self.send(call, Some(&token)).await {
            Err(e) if e.status() == Some(401) && e.api_code() == Some("token_expired") => {
                let token = self.inner.session.renew(&token, || self.login()).await?;
                self.send(call, Some(&token)).await
            }
            other => other,
        }
    }

    /// `POST /session`: a new token.
    async fn login(&self) -> Result<String, HttpError> {
        let body = LoginRequest {
            username: self.inner.username.clone(),
            password: self.inner.password.clone(),
        };
        let call = Call::new(Method::POST, "/session");
        let endpoint = call.endpoint();
        let call = Call {
            body: Some(serde_json::to_vec(&body).map_err(|e| HttpError::Malformed {
                endpoint: endpoint.clone(),
                detail: e.to_string(),
            })?),
            ..call
        };
        let answer: LoginResponse = http::retry(&self.inner.retry, |_| async {
            let r = self.send(&call, None).await?;
            http::read_json(r, &endpoint, MAX_RECORD_BYTES).await
        })
        .await?;
        if answer.token.is_empty() {
            return Err(HttpError::Malformed {
                endpoint,
                detail: "an empty session token".to_string(),
            });
        }
        Ok(answer.token)
    }

    /// The bare HTTP exchange; non-2xx answers become [`HttpError::Status`].
    async fn send(
        &self,
        call: &Call,
        token: Option<&Token>,
    ) -> Result<reqwest::Response, HttpError> {
        let endpoint = call.endpoint();
        let mut url = self.inner.base.clone();
        {
            let base_path = url.path().trim_end_matches('/').to_string();
            url.set_path(&format!("{base_path}{}", call.path));
        }
        let mut req = self
            .inner
            .http
            .request(call.method.clone(), url)
            .query(&call.query)
            .timeout(self.inner.timeouts.request + call.extra_time);
        if let Some(t) = token {
            req = req.bearer_auth(&t.value);
        }
        if let Some(v) = call.if_match {
            req = req.header(reqwest::header::IF_MATCH, v.to_string());
        }
        if let Some(k) = &call.idempotency_key {
            req = req.header("Idempotency-Key", k.as_str());
        }
        if let Some(b) = &call.body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.clone());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| HttpError::from_reqwest(&endpoint, &e))?;
        http::check_status(resp, &endpoint).await
    }
}

/// The body as Astrow stores it (an empty badge is no badge).
fn normalised(body: &EmployeeIn) -> EmployeeIn {
    EmployeeIn {
        badge_no: wire::clean_badge(body.badge_no.as_deref()),
        ..body.clone()
    }
}

fn check_ascending<T>(
    items: &[T],
    key: impl Fn(&T) -> u64,
    endpoint: &str,
) -> Result<(), AstrowError> {
    match items.windows(2).find(|w| key(&w[0]) >= key(&w[1])) {
        None => Ok(()),
        Some(w) => Err(AstrowError::Answer {
            endpoint: endpoint.to_string(),
            detail: format!(
                "the listing is out of order or repeats ({} then {})",
                key(&w[0]),
                key(&w[1])
            ),
        }),
    }
}

/// `astrow.url` made the API's base URL (`.../api/v1`).
fn base_url(raw: &str) -> Result<Url, AstrowError> {
    let mut url = Url::parse(raw.trim())
        .map_err(|e| AstrowError::Config(format!("astrow.url {raw:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AstrowError::Config(format!(
            "astrow.url {raw:?} must start with http:// or https://"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(AstrowError::Config(format!(
            "astrow.url {raw:?} must not carry a query or fragment"
        )));
    }
    let path = url.path().trim_end_matches('/').to_string();
    if path.ends_with(wire::BASE_PATH) {
        url.set_path(&path);
    } else {
        url.set_path(&format!("{path}{}", wire::BASE_PATH));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_gets_the_api_path_once() {
        let u = |s| base_url(s).map(|u| u.to_string());
        assert_eq!(
            u("http://h:8080").ok().as_deref(),
            Some("http://h:8080/api/v1")
        );
        assert_eq!(
            u("https://h/astrow/").ok().as_deref(),
            Some("https://h/astrow/api/v1")
        );
        assert_eq!(
            u("http://h/api/v1/").ok().as_deref(),
            Some("http://h/api/v1")
        );
        assert!(u("ftp://h").is_err());
        assert!(u("h:80").is_err());
    }

    #[test]
    fn the_password_never_shows() {
        let cfg = AstrowClientConfig::new("http://h", "astrow-io", "s3cret-pw");
        assert!(!format!("{cfg:?}").contains("s3cret-pw"));
        let client = AstrowClient::new(cfg).expect("client");
        assert!(!format!("{client:?}").contains("s3cret-pw"));
        let e = AstrowError::InvalidCredentials {
            username: "astrow-io".into(),
        };
        assert!(!e.to_string().contains("s3cret-pw"));
    }
}
