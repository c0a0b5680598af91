//! The Astrow Web API client: typed calls for every endpoint of
//! `protocol.md`, a session renewed on `token_expired`, retries of the
//! requests that are safe to repeat, bounded and checked answers.
//!
//! HTTPS with `ca_pem` trusts exactly that CA (the site's private CA), not
//! the system roots as well: an administrator who names a CA file means the
//! server's certificate comes from it. Without `ca_pem` the system roots
//! apply.

use crate::http::tolerant::{SetAside, read_items};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::AstrowError;
use super::session::{Session, Token};
use super::wire::{self, LoginRequest, LoginResponse, Page};
use crate::http::{self, HttpError, RetryPolicy, Timeouts};

/// Largest answer read for one record or a small list.
pub(super) const MAX_RECORD_BYTES: usize = 1 << 20;
/// Largest answer read for one page (1000 employees with long names fit).
pub(super) const MAX_PAGE_BYTES: usize = 16 << 20;
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

impl AstrowClientConfig {
    /// Trust exactly the CA in the PEM file `path` (`astrow.ca_path`).
    pub fn with_ca_file(mut self, path: &std::path::Path) -> Result<Self, AstrowError> {
        let pem = std::fs::read(path).map_err(|e| {
            AstrowError::Config(format!(
                "astrow.ca_path {}: cannot read it: {e}",
                path.display()
            ))
        })?;
        self.ca_pem = Some(pem);
        Ok(self)
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
pub(super) struct Call {
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) query: Vec<(&'static str, String)>,
    pub(super) body: Option<Vec<u8>>,
    pub(super) if_match: Option<u64>,
    pub(super) idempotency_key: Option<String>,
    /// Added to the request timeout (long polls).
    pub(super) extra_time: Duration,
}

impl Call {
    pub(super) fn new(method: Method, path: impl Into<String>) -> Self {
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

    pub(super) fn get(path: impl Into<String>) -> Self {
        Call::new(Method::GET, path)
    }

    pub(super) fn json(mut self, body: &impl Serialize) -> Result<Self, AstrowError> {
        let bytes = serde_json::to_vec(body).map_err(|e| AstrowError::Request {
            endpoint: self.endpoint(),
            detail: format!("cannot encode the body: {e}"),
        })?;
        self.body = Some(bytes);
        Ok(self)
    }

    pub(super) fn endpoint(&self) -> String {
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

    // ------------------------------------------------------------ plumbing

    /// Every page of a list, following `next_cursor`, each record read on
    /// its own: those that
    /// cannot be read are set aside (with their `id_key` when readable).
    pub(super) async fn list_all_tolerant<T: DeserializeOwned>(
        &self,
        listing: &'static str,
        id_key: &'static str,
        path: &str,
        extra: Vec<(&'static str, String)>,
    ) -> Result<(Vec<T>, Vec<SetAside>), AstrowError> {
        let mut aside = Vec::new();
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
            let page: Page<serde_json::Value> = self.fetch(call, MAX_PAGE_BYTES).await?;
            if page.items.len() > limit {
                return Err(AstrowError::Answer {
                    endpoint,
                    detail: format!("{} items on a page of at most {limit}", page.items.len()),
                });
            }
            let (items, unreadable) = read_items::<T>(listing, id_key, page.items);
            out.extend(items);
            aside.extend(unreadable);
            match page.next_cursor {
                None => return Ok((out, aside)),
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
    pub(super) async fn fetch<T: DeserializeOwned>(
        &self,
        call: Call,
        max_bytes: usize,
    ) -> Result<T, AstrowError> {
        self.fetch_counting(call, max_bytes, &AtomicU32::new(0))
            .await
    }

    /// As [`Self::fetch`]; `tries` ends as the number of times `call` went
    /// out (a try whose answer was lost counts: its write may have landed).
    pub(super) async fn fetch_counting<T: DeserializeOwned>(
        &self,
        call: Call,
        max_bytes: usize,
        tries: &AtomicU32,
    ) -> Result<T, AstrowError> {
        let endpoint = call.endpoint();
        self.run_counting(
            &call,
            |_, _| None,
            |r| http::read_json(r, &endpoint, max_bytes),
            tries,
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
    pub(super) async fn run<T, R, Fut>(
        &self,
        call: &Call,
        settle: impl Fn(&HttpError, u32) -> Option<T>,
        read: R,
    ) -> Result<T, AstrowError>
    where
        R: Fn(reqwest::Response) -> Fut,
        Fut: Future<Output = Result<T, HttpError>>,
    {
        self.run_counting(call, settle, read, &AtomicU32::new(0))
            .await
    }

    /// As [`Self::run`], counting the tries in `tries`.
    async fn run_counting<T, R, Fut>(
        &self,
        call: &Call,
        settle: impl Fn(&HttpError, u32) -> Option<T>,
        read: R,
        tries: &AtomicU32,
    ) -> Result<T, AstrowError>
    where
        R: Fn(reqwest::Response) -> Fut,
        Fut: Future<Output = Result<T, HttpError>>,
    {
        let (settle, read) = (&settle, &read);
        http::retry(&self.inner.retry, |attempt| {
            tries.store(attempt, Ordering::Relaxed);
            async move {
                match self.authorised(call).await {
                    Ok(r) => read(r).await,
                    Err(e) => settle(&e, attempt).ok_or(e),
                }
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
        // No retries of its own: the request that needed the login is
        // retried whole, so the policy bounds all tries together.
        let r = self.send(&call, None).await?;
        let answer: LoginResponse = http::read_json(r, &endpoint, MAX_RECORD_BYTES).await?;
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

/// `astrow.url` made the API's base URL (`.../api/v1`).
fn base_url(raw: &str) -> Result<Url, AstrowError> {
    let mut url = Url::parse(raw.trim())
        .map_err(|e| AstrowError::Config(format!("astrow.url {raw:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AstrowError::Config(format!(
            "astrow.url {raw:?} must start with http:// or https://"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AstrowError::Config(
            "astrow.url must not carry a user name or password: \
             set astrow.username and astrow.password instead"
                .to_string(),
        ));
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
        let e = base_url("http://me:secret@h").expect_err("userinfo");
        assert!(!e.to_string().contains("secret"), "{e}");
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
