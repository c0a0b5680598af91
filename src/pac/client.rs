//! The PAC connector: typed calls of every OEM endpoint, answers bounded and
//! checked, wire types mapped to `model` here at the boundary.
//!
//! Retries: GET always; PUT and DELETE (they carry `If-Match`); POST of an
//! employee (it carries an `Idempotency-Key`). Opening a door is sent once.

use crate::http::tolerant::{SetAside, read_items};
use std::collections::HashSet;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{self, HeaderValue};
use serde::de::DeserializeOwned;

use super::error::PacError;
use super::tls;
use super::wire::{self, EmployeeWrite};
use crate::http::{self, HttpError, RetryPolicy, Timeouts};
use crate::model::{AccessGroup, Event, PacEmployee, PacId, Reader, Seq};

/// Where PAC is and how to reach it.
#[derive(Clone)]
pub struct PacClientConfig {
    /// `https://address:port`, without the OEM base path.
    pub base_url: String,
    pub organization_id: u32,
    /// The certificate to trust, PEM (the content of `pac.certificate_path`).
    pub certificate_pem: String,
    pub client_id: String,
    /// The OEM key (secret).
    pub key: String,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
    /// Employees per page when listing (1..=1000).
    pub page_size: u32,
    /// Largest answer body accepted.
    pub max_answer_bytes: usize,
}

impl std::fmt::Debug for PacClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacClientConfig")
            .field("base_url", &self.base_url)
            .field("organization_id", &self.organization_id)
            .field("client_id", &self.client_id)
            .field("key", &"<hidden>")
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl PacClientConfig {
    /// Settings with the defaults for everything but the essentials.
    pub fn new(
        address: &str,
        port: u16,
        certificate_pem: impl Into<String>,
        client_id: impl Into<String>,
        key: impl Into<String>,
    ) -> Self {
        PacClientConfig {
            base_url: base_url(address, port),
            organization_id: wire::ORGANIZATION_ID,
            certificate_pem: certificate_pem.into(),
            client_id: client_id.into(),
            key: key.into(),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            page_size: wire::MAX_LIMIT,
            max_answer_bytes: 32 * 1024 * 1024,
        }
    }
}

/// `https://address:port` (IPv6 addresses in brackets).
pub fn base_url(address: &str, port: u16) -> String {
    if address.contains(':') && !address.starts_with('[') {
        format!("https://[{address}]:{port}")
    } else {
        format!("https://{address}:{port}")
    }
}

/// A fresh `Idempotency-Key` for one create (keep it for the retries).
pub fn new_idempotency_key() -> String {
    format!("astrow-pac-{:032x}", rand::random::<u128>())
}

/// One answer of `GET /events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventBatch {
    pub events: Vec<Event>,
    /// The newest seq PAC holds (not the last of this batch).
    pub last_seq: Seq,
    /// The oldest seq PAC still keeps.
    pub oldest_seq: Seq,
    /// Events of this batch that could not be read (their seq, when
    /// readable, lets the reader go past them and report them).
    pub set_aside: Vec<SetAside>,
    /// The `source_id` and `origin` of this batch's `external_attendance`
    /// events (the Astrow->PAC reconciliation matches them), by seq.
    pub external: std::collections::BTreeMap<Seq, crate::model::ExternalSource>,
}

/// Longest `source_id` of an external event accepted from PAC.
pub const MAX_EXTERNAL_SOURCE_ID: usize = 200;

/// The `source_id` and `origin` of the `external_attendance` events (checked:
/// printable, bounded); an event whose `source_id` is missing or not is set
/// aside with why (an origin that is not is dropped: free text).
fn external_sources(
    items: &mut Vec<wire::Event>,
    set_aside: &mut Vec<SetAside>,
) -> std::collections::BTreeMap<Seq, crate::model::ExternalSource> {
    let printable = |s: &str, max: usize| {
        !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
    };
    let mut out = std::collections::BTreeMap::new();
    items.retain(|e| {
        if e.event_type != crate::model::EventType::ExternalAttendance {
            return true;
        }
        match e.source_id.as_deref() {
            Some(s) if printable(s, MAX_EXTERNAL_SOURCE_ID) => {
                let origin = e
                    .origin
                    .as_deref()
                    .filter(|o| printable(o, wire::MAX_ORIGIN_CHARS))
                    .unwrap_or("")
                    .to_string();
                out.insert(
                    Seq(e.seq),
                    crate::model::ExternalSource {
                        source_id: s.to_string(),
                        origin,
                    },
                );
                true
            }
            _ => {
                set_aside.push(SetAside {
                    listing: "PAC events",
                    id: Some(e.seq),
                    reason: format!(
                        "an external_attendance event needs a source_id of 1 to {MAX_EXTERNAL_SOURCE_ID} printable characters"
                    ),
                });
                false
            }
        }
    });
    out
}

/// Most access groups or readers accepted in one answer.
const MAX_DEFINITIONS: usize = 100_000;
/// Most pages one listing may take (10 million employees at 1000 a page).
const MAX_PAGES: usize = 10_000;

/// One request, everything needed to send it again.
pub(super) struct Call<'a> {
    method: Method,
    path: String,
    pub(super) endpoint: String,
    query: Vec<(&'static str, String)>,
    if_match: Option<u64>,
    idempotency_key: Option<&'a str>,
    pub(super) body: Option<Vec<u8>>,
    timeout: Option<Duration>,
    /// May be repeated (GET, `If-Match`, `Idempotency-Key`, keyed by `source_id`).
    pub(super) repeatable: bool,
}

impl<'a> Call<'a> {
    fn get(path: String) -> Self {
        Call {
            endpoint: format!("GET {path}"),
            method: Method::GET,
            path,
            query: Vec::new(),
            if_match: None,
            idempotency_key: None,
            body: None,
            timeout: None,
            repeatable: true,
        }
    }

    pub(super) fn write(method: Method, path: String) -> Self {
        Call {
            endpoint: format!("{method} {path}"),
            method,
            repeatable: false,
            ..Call::get(path)
        }
    }
}

/// A connection to PAC Access Central's OEM interface.
#[derive(Clone)]
pub struct PacClient {
    http: reqwest::Client,
    root: String,
    auth: HeaderValue,
    client_id: String,
    organization_id: u32,
    retry: RetryPolicy,
    page_size: u32,
    max_bytes: usize,
    request_timeout: Duration,
}

impl std::fmt::Debug for PacClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacClient")
            .field("root", &self.root)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl PacClient {
    pub fn new(cfg: PacClientConfig) -> Result<PacClient, PacError> {
        let tls =
            tls::client_config(&cfg.certificate_pem).map_err(|e| PacError::Setup(e.to_string()))?;
        if cfg.client_id.is_empty() || cfg.client_id.contains(':') {
            return Err(PacError::Setup(
                "the OEM key file's client_id is empty or holds a ':'".into(),
            ));
        }
        if !(1..=wire::MAX_LIMIT).contains(&cfg.page_size) {
            return Err(PacError::Setup(format!(
                "page size {} is outside 1..={}",
                cfg.page_size,
                wire::MAX_LIMIT
            )));
        }
        let url = reqwest::Url::parse(&cfg.base_url)
            .map_err(|e| PacError::Setup(format!("{} is not a URL: {e}", cfg.base_url)))?;
        if url.scheme() != "https" {
            return Err(PacError::Setup(format!(
                "{} is not https: PAC serves its OEM interface over HTTPS only",
                cfg.base_url
            )));
        }
        // Never echo the key: the header error says only where to look.
        let mut auth = HeaderValue::from_str(&format!("PAC-OEM {}:{}", cfg.client_id, cfg.key))
            .map_err(|_| {
                PacError::Setup(
                    "the OEM key or client id holds characters a header cannot carry: \
                     check the file at pac.oem_key_path"
                        .into(),
                )
            })?;
        auth.set_sensitive(true);
        let http = http::client_builder(&cfg.timeouts)
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| PacError::Setup(format!("cannot build the HTTP client: {e}")))?;
        Ok(PacClient {
            http,
            root: format!(
                "{}{}",
                cfg.base_url.trim_end_matches('/'),
                wire::base_path(cfg.organization_id)
            ),
            auth,
            client_id: cfg.client_id,
            organization_id: cfg.organization_id,
            retry: cfg.retry,
            page_size: cfg.page_size,
            max_bytes: cfg.max_answer_bytes,
            request_timeout: cfg.timeouts.request,
        })
    }

    /// `GET /status`: PAC's version, clock and organization.
    pub async fn status(&self) -> Result<wire::Status, PacError> {
        self.json(&Call::get("/status".into())).await
    }

    /// Every employee, all pages: a complete listing or an error. Records
    /// that cannot be read are left out (see [`Self::list_employees_tolerant`]).
    pub async fn list_employees(&self) -> Result<Vec<PacEmployee>, PacError> {
        Ok(self.list_employees_tolerant().await?.0)
    }

    /// Every employee, all pages, and the records set aside as unreadable
    /// (one bad record never stops the listing).
    pub async fn list_employees_tolerant(
        &self,
    ) -> Result<(Vec<PacEmployee>, Vec<SetAside>), PacError> {
        let mut out: Vec<PacEmployee> = Vec::new();
        let mut aside: Vec<SetAside> = Vec::new();
        let mut cursors = HashSet::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut call = Call::get("/employees".into());
            call.query.push(("limit", self.page_size.to_string()));
            if let Some(c) = &cursor {
                call.query.push(("cursor", c.clone()));
            }
            let page: wire::Page<serde_json::Value> = self.json(&call).await?;
            let bad = |detail: String| PacError::BadAnswer {
                endpoint: call.endpoint.clone(),
                detail,
            };
            if page.items.len() > self.page_size as usize {
                return Err(bad(format!(
                    "{} employees on a page of at most {}",
                    page.items.len(),
                    self.page_size
                )));
            }
            let (items, unreadable) =
                read_items::<wire::Employee>("PAC employees", "id", page.items);
            aside.extend(unreadable);
            for e in items {
                if out.last().is_some_and(|last| last.id.0 >= e.id) {
                    return Err(bad(format!("employee {} is out of id order", e.id)));
                }
                out.push(e.into());
            }
            match page.next_cursor {
                None => return Ok((out, aside)),
                Some(c) if !cursors.insert(c.clone()) => {
                    return Err(bad("a cursor came back twice".into()));
                }
                Some(c) => cursor = Some(c),
            }
        }
        Err(PacError::BadAnswer {
            endpoint: "GET /employees".into(),
            detail: format!("more than {MAX_PAGES} pages"),
        })
    }

    /// One employee; `None` when PAC has no such employee.
    pub async fn get_employee(&self, id: PacId) -> Result<Option<PacEmployee>, PacError> {
        let call = Call::get(format!("/employees/{id}"));
        match self.json::<wire::Employee>(&call).await {
            Ok(e) => Ok(Some(self.same_id(&call, id, e)?)),
            Err(e) if e.status() == Some(404) && e.api_code() == Some("not_found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Create an employee (its `id` and `version` are ignored). Repeats of
    /// `idempotency_key` create nothing more: use one key per employee.
    pub async fn create_employee(
        &self,
        e: &PacEmployee,
        idempotency_key: &str,
    ) -> Result<PacEmployee, PacError> {
        let mut call = Call::write(Method::POST, "/employees".into());
        if idempotency_key.is_empty() || HeaderValue::from_str(idempotency_key).is_err() {
            return Err(PacError::InvalidRequest {
                endpoint: call.endpoint,
                detail: "the idempotency key is empty or not a header value".into(),
            });
        }
        call.idempotency_key = Some(idempotency_key);
        call.repeatable = true;
        call.body = Some(self.body(&call, e)?);
        let made: wire::Employee = self.json(&call).await?;
        Ok(made.into())
    }

    /// Write `e` whole, if PAC still has version `e.version`.
    ///
    /// When an answer was lost and the repeat meets 412 with a record that
    /// already is exactly what was written, one version on, the write
    /// happened: that record is the answer.
    pub async fn update_employee(&self, e: &PacEmployee) -> Result<PacEmployee, PacError> {
        let mut call = Call::write(Method::PUT, format!("/employees/{}", e.id));
        call.if_match = Some(e.version);
        call.repeatable = true;
        call.body = Some(self.body(&call, e)?);
        match self.json::<wire::Employee>(&call).await {
            Ok(done) => self.same_id(&call, e.id, done),
            Err(PacError::VersionMismatch { current, .. })
                if current.id == e.id
                    && current.version == e.version + 1
                    && EmployeeWrite::from(current.as_ref()) == EmployeeWrite::from(e) =>
            {
                Ok(*current)
            }
            Err(err) => Err(err),
        }
    }

    /// Delete employee `id` if PAC still has `version`. An employee PAC no
    /// longer has counts as deleted (a repeat after a lost answer meets 404).
    pub async fn delete_employee(&self, id: PacId, version: u64) -> Result<(), PacError> {
        let mut call = Call::write(Method::DELETE, format!("/employees/{id}"));
        call.if_match = Some(version);
        call.repeatable = true;
        match self.exchange(&call, |_| Ok(())).await {
            Err(e) if e.status() == Some(404) && e.api_code() == Some("not_found") => Ok(()),
            other => other,
        }
    }

    pub async fn access_groups(&self) -> Result<Vec<AccessGroup>, PacError> {
        Ok(self.access_groups_tolerant().await?.0)
    }

    /// The access groups, and those set aside as unreadable.
    pub async fn access_groups_tolerant(
        &self,
    ) -> Result<(Vec<AccessGroup>, Vec<SetAside>), PacError> {
        let call = Call::get("/access-groups".into());
        let list: wire::Items<serde_json::Value> = self.json(&call).await?;
        let (items, aside) = read_items::<wire::AccessGroup>("PAC access groups", "id", list.items);
        let ids: Vec<u32> = items.iter().map(|g| g.id).collect();
        self.definitions_ok(&call, &ids)?;
        Ok((items.into_iter().map(Into::into).collect(), aside))
    }

    pub async fn readers(&self) -> Result<Vec<Reader>, PacError> {
        Ok(self.readers_tolerant().await?.0)
    }

    /// The readers, and those set aside as unreadable.
    pub async fn readers_tolerant(&self) -> Result<(Vec<Reader>, Vec<SetAside>), PacError> {
        let call = Call::get("/readers".into());
        let list: wire::Items<serde_json::Value> = self.json(&call).await?;
        let (items, aside) = read_items::<wire::Reader>("PAC readers", "id", list.items);
        let ids: Vec<u32> = items.iter().map(|r| r.id).collect();
        self.definitions_ok(&call, &ids)?;
        Ok((items.into_iter().map(Into::into).collect(), aside))
    }

    /// Open the door of reader `id` for 5 seconds. Sent once, never repeated.
    pub async fn open_door(&self, reader_id: u32) -> Result<(), PacError> {
        let call = Call::write(Method::POST, format!("/readers/{reader_id}/open"));
        self.exchange(&call, |_| Ok(())).await
    }

    /// Events after `after`, at most `limit` (1..=1000); when none is newer,
    /// PAC waits up to `wait` (at most 30 s) for one.
    pub async fn events(
        &self,
        after: Seq,
        limit: u32,
        wait: Duration,
    ) -> Result<EventBatch, PacError> {
        let mut call = Call::get("/events".into());
        if !(1..=wire::MAX_LIMIT).contains(&limit) || wait.as_secs() > wire::MAX_WAIT_S.into() {
            return Err(PacError::InvalidRequest {
                endpoint: call.endpoint,
                detail: format!(
                    "limit must be 1..=1000 and wait at most 30 s (got {limit}, {wait:?})"
                ),
            });
        }
        call.query = vec![
            ("after", after.0.to_string()),
            ("limit", limit.to_string()),
            ("wait", wait.as_secs().to_string()),
        ];
        call.timeout = Some(self.request_timeout + Duration::from_secs(wait.as_secs()));
        let page: wire::EventsPage<serde_json::Value> = match self.json(&call).await {
            Ok(p) => p,
            Err(PacError::Http(HttpError::Status {
                status: 410,
                api: Some(api),
                ..
            })) if api.code == "events_expired" && api.oldest_seq.is_some() => {
                return Err(PacError::EventsExpired {
                    endpoint: call.endpoint,
                    after,
                    oldest_seq: Seq(api.oldest_seq.unwrap_or_default()),
                });
            }
            Err(e) => return Err(e),
        };
        let (mut items, mut set_aside) = read_items::<wire::Event>("PAC events", "seq", page.items);
        let external = external_sources(&mut items, &mut set_aside);
        let page = wire::EventsPage {
            items,
            last_seq: page.last_seq,
            oldest_seq: page.oldest_seq,
        };
        check_events(&call.endpoint, &page, after, limit)?;
        Ok(EventBatch {
            events: page.items.into_iter().map(Into::into).collect(),
            last_seq: Seq(page.last_seq),
            oldest_seq: Seq(page.oldest_seq),
            set_aside,
            external,
        })
    }

    // ---- plumbing ----

    fn body(&self, call: &Call<'_>, e: &PacEmployee) -> Result<Vec<u8>, PacError> {
        serde_json::to_vec(&EmployeeWrite::from(e)).map_err(|err| PacError::InvalidRequest {
            endpoint: call.endpoint.clone(),
            detail: err.to_string(),
        })
    }

    fn same_id(
        &self,
        call: &Call<'_>,
        id: PacId,
        e: wire::Employee,
    ) -> Result<PacEmployee, PacError> {
        if e.id != id.0 {
            return Err(PacError::BadAnswer {
                endpoint: call.endpoint.clone(),
                detail: format!("asked for employee {id}, got {}", e.id),
            });
        }
        Ok(e.into())
    }

    fn definitions_ok(&self, call: &Call<'_>, ids: &[u32]) -> Result<(), PacError> {
        let bad = |detail: String| PacError::BadAnswer {
            endpoint: call.endpoint.clone(),
            detail,
        };
        if ids.len() > MAX_DEFINITIONS {
            return Err(bad(format!(
                "{} items, at most {MAX_DEFINITIONS} accepted",
                ids.len()
            )));
        }
        let mut seen = HashSet::new();
        for id in ids {
            if !seen.insert(id) {
                return Err(bad(format!("id {id} appears twice")));
            }
        }
        Ok(())
    }

    pub(super) async fn json<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<T, PacError> {
        self.exchange(call, |bytes| {
            http::parse_json(&bytes, &call.endpoint).map_err(Into::into)
        })
        .await
    }

    /// Send `call` (again, while it may be repeated and the failure is
    /// transient), read the bounded answer and `parse` it.
    async fn exchange<T>(
        &self,
        call: &Call<'_>,
        parse: impl Fn(Vec<u8>) -> Result<T, PacError>,
    ) -> Result<T, PacError> {
        let policy = if call.repeatable {
            self.retry
        } else {
            RetryPolicy::once()
        };
        let parse = &parse;
        http::retry(&policy, |_attempt| async move {
            match self.send(call).await {
                Ok(resp) => match http::read_body(resp, &call.endpoint, self.max_bytes).await {
                    Ok(bytes) => parse(bytes),
                    Err(e) => Err(e.into()),
                },
                Err(e) => Err(e),
            }
        })
        .await
    }

    async fn send(&self, call: &Call<'_>) -> Result<reqwest::Response, PacError> {
        let mut rb = self
            .http
            .request(call.method.clone(), format!("{}{}", self.root, call.path))
            .header(header::AUTHORIZATION, self.auth.clone())
            .header(header::ACCEPT, "application/json");
        if !call.query.is_empty() {
            rb = rb.query(&call.query);
        }
        if let Some(v) = call.if_match {
            rb = rb.header(header::IF_MATCH, v.to_string());
        }
        if let Some(k) = call.idempotency_key {
            rb = rb.header("Idempotency-Key", k);
        }
        if let Some(body) = &call.body {
            rb = rb
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if let Some(t) = call.timeout {
            rb = rb.timeout(t);
        }
        let resp = rb.send().await.map_err(|e| {
            if tls::is_certificate_mismatch(&e) {
                PacError::CertificateMismatch {
                    endpoint: call.endpoint.clone(),
                }
            } else {
                HttpError::from_reqwest(&call.endpoint, &e).into()
            }
        })?;
        http::check_status(resp, &call.endpoint)
            .await
            .map_err(|e| self.refine(&call.endpoint, e))
    }

    /// Turn the answers an administrator must act on into their own errors.
    fn refine(&self, endpoint: &str, e: HttpError) -> PacError {
        let endpoint = endpoint.to_string();
        let code = e.api_code().unwrap_or("").to_string();
        match e.status() {
            Some(401) => PacError::InvalidKey {
                endpoint,
                client_id: self.client_id.clone(),
            },
            Some(403) if code == "client_revoked" => PacError::Revoked {
                endpoint,
                client_id: self.client_id.clone(),
            },
            Some(403) => PacError::Forbidden {
                endpoint,
                message: e
                    .api()
                    .map(|a| http::sanitize(&a.message))
                    .unwrap_or_default(),
                code: http::sanitize(&code),
            },
            Some(404) if code == "unknown_organization" => PacError::UnknownOrganization {
                endpoint,
                organization_id: self.organization_id,
            },
            Some(412) => {
                let current = e
                    .api()
                    .and_then(|a| a.current.clone())
                    .and_then(|v| serde_json::from_value::<wire::Employee>(v).ok());
                match current {
                    Some(c) => PacError::VersionMismatch {
                        endpoint,
                        current: Box::new(c.into()),
                    },
                    None => e.into(),
                }
            }
            _ => e.into(),
        }
    }
}

/// An events page must follow `after`, in order, within `limit` and `last_seq`.
fn check_events(
    endpoint: &str,
    page: &wire::EventsPage,
    after: Seq,
    limit: u32,
) -> Result<(), PacError> {
    let bad = |detail: String| PacError::BadAnswer {
        endpoint: endpoint.to_string(),
        detail,
    };
    if page.items.len() > limit as usize {
        return Err(bad(format!(
            "{} events, asked for at most {limit}",
            page.items.len()
        )));
    }
    let mut prev = after.0;
    for e in &page.items {
        if e.seq <= prev {
            return Err(bad(format!("event {} does not follow {prev}", e.seq)));
        }
        if e.seq > page.last_seq {
            return Err(bad(format!(
                "event {} is past last_seq {}",
                e.seq, page.last_seq
            )));
        }
        prev = e.seq;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_never_shows_in_debug() {
        let cfg = PacClientConfig::new("pac.local", 8443, "", "astrow-io", "s3cret-key");
        assert!(!format!("{cfg:?}").contains("s3cret-key"));
    }

    #[test]
    fn base_urls_bracket_ipv6() {
        assert_eq!(base_url("::1", 443), "https://[::1]:443");
        assert_eq!(base_url("10.0.0.5", 8443), "https://10.0.0.5:8443");
    }

    #[test]
    fn external_sources_are_kept_when_printable_and_bounded_else_set_aside() {
        let ev = |seq, source_id: Option<&str>, origin: Option<&str>| wire::Event {
            seq,
            time: chrono::DateTime::parse_from_rfc3339("2026-11-28T08:01:07+01:00").unwrap(),
            event_type: crate::model::EventType::ExternalAttendance,
            reader_id: None,
            badge_number: None,
            employee_id: Some(7),
            source_id: source_id.map(String::from),
            origin: origin.map(String::from),
        };
        let long = "x".repeat(MAX_EXTERNAL_SOURCE_ID + 1);
        let mut items = vec![
            ev(1, Some("astrow:5"), Some("Astrow web")),
            ev(2, Some("astrow:\u{1b}[31m"), None),
            ev(3, None, None),
            ev(4, Some(&long), None),
            ev(5, Some("astrow:6"), Some("bad\u{7}")),
        ];
        let mut set_aside = Vec::new();
        let kept = external_sources(&mut items, &mut set_aside);
        assert_eq!(items.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 5]);
        assert_eq!(
            set_aside.iter().map(|s| s.id).collect::<Vec<_>>(),
            vec![Some(2), Some(3), Some(4)]
        );
        assert_eq!(kept[&Seq(1)].source_id, "astrow:5");
        assert_eq!(kept[&Seq(1)].origin, "Astrow web");
        assert_eq!(kept[&Seq(5)].origin, "", "an unprintable origin is dropped");
    }

    #[test]
    fn event_pages_are_checked() {
        let ev = |seq| wire::Event {
            seq,
            time: chrono::DateTime::parse_from_rfc3339("2026-11-28T08:01:07+01:00").unwrap(),
            event_type: crate::model::EventType::AccessGranted,
            reader_id: Some(1),
            badge_number: None,
            employee_id: None,
            source_id: None,
            origin: None,
        };
        let page = |items, last_seq| wire::EventsPage {
            items,
            last_seq,
            oldest_seq: 1,
        };
        assert!(check_events("e", &page(vec![ev(5), ev(6)], 9), Seq(4), 10).is_ok());
        assert!(check_events("e", &page(vec![ev(4)], 9), Seq(4), 10).is_err());
        assert!(check_events("e", &page(vec![ev(6), ev(5)], 9), Seq(4), 10).is_err());
        assert!(check_events("e", &page(vec![ev(10)], 9), Seq(4), 10).is_err());
        assert!(check_events("e", &page(vec![ev(5), ev(6)], 9), Seq(4), 1).is_err());
    }
}
