//! The OEM interface's routes: authentication, organization, and one
//! handler per row of protocol.md's PAC table.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;

use super::Shared;
use super::check;
use super::reply::{Fail, Reply, json};
use super::state::now;
use crate::pac::wire::{self, DEFAULT_LIMIT, MAX_LIMIT, MAX_WAIT_S};
use crate::sim::real_data;

type Shd = State<Arc<Shared>>;
type Q = Result<Query<Vec<(String, String)>>, QueryRejection>;

pub fn router(shared: Arc<Shared>) -> Router {
    let base = "/oem/v1/organizations/{org}";
    Router::new()
        .route(&format!("{base}/status"), get(status))
        .route(
            &format!("{base}/employees"),
            get(list_employees).post(create_employee),
        )
        .route(
            &format!("{base}/employees/{{id}}"),
            get(get_employee).put(put_employee).delete(delete_employee),
        )
        .route(&format!("{base}/access-groups"), get(access_groups))
        .route(&format!("{base}/readers"), get(readers))
        .route(&format!("{base}/readers/{{id}}/open"), post(open_door))
        .route(&format!("{base}/events"), get(events))
        .route(&format!("{base}/external-events"), post(external_events))
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn_with_state(shared.clone(), authorize))
        .with_state(shared)
}

async fn method_not_allowed() -> Fail {
    Fail::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not take that method",
    )
}

/// The key, then the organization: 401 `invalid_key`, 403 `client_revoked`,
/// 404 `unknown_organization`.
async fn authorize(State(shared): Shd, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("PAC-OEM "))
        .and_then(|v| v.split_once(':'));
    let key_ok = given.is_some_and(|(id, key)| {
        id == shared.client_id && constant_time_eq(key.as_bytes(), shared.key.as_bytes())
    });
    if !key_ok {
        return Fail::new(
            StatusCode::UNAUTHORIZED,
            "invalid_key",
            "missing or wrong OEM key: send Authorization: PAC-OEM <client_id>:<key>",
        )
        .into_response();
    }
    if shared.state.lock().await.revoked {
        return Fail::new(
            StatusCode::FORBIDDEN,
            "client_revoked",
            "this OEM client was revoked in PAC Access Central",
        )
        .into_response();
    }
    let org = req
        .uri()
        .path()
        .strip_prefix("/oem/v1/organizations/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    if org != wire::ORGANIZATION_ID.to_string() {
        return Fail::new(
            StatusCode::NOT_FOUND,
            "unknown_organization",
            format!("there is no organization {org}; PAC has organization 1"),
        )
        .into_response();
    }
    next.run(req).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn query(q: Q, allowed: &[&str]) -> Result<Vec<(String, String)>, Fail> {
    match q {
        Ok(Query(pairs)) => check::query(pairs, allowed),
        Err(e) => Err(Fail::invalid_parameter("query", &e.body_text())),
    }
}

fn no_query(q: Q) -> Result<(), Fail> {
    query(q, &[]).map(|_| ())
}

fn id(raw: &str, what: &str) -> Result<u64, Fail> {
    raw.parse()
        .map_err(|_| Fail::not_found(&format!("{what} {raw}")))
}

async fn status(State(shared): Shd, q: Q) -> Reply {
    no_query(q)?;
    Ok(json(
        StatusCode::OK,
        &wire::Status {
            server_version: "PAC Access Central 5.2.0 (simulator)".into(),
            server_time: now(),
            organization: wire::Organization {
                id: wire::ORGANIZATION_ID,
                name: shared.organization_name.clone(),
            },
        },
    ))
}

fn encode_cursor(after: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("employees:{after}"))
}

fn decode_cursor(c: &str) -> Result<u64, Fail> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("employees:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| Fail::invalid_parameter("cursor", "not a cursor this server gave out"))
}

async fn list_employees(State(shared): Shd, q: Q) -> Reply {
    let q = query(q, &["limit", "cursor"])?;
    let limit = check::number(&q, "limit", DEFAULT_LIMIT.into(), 1, MAX_LIMIT.into())?;
    let after = match check::text(&q, "cursor") {
        Some(c) => decode_cursor(c)?,
        None => 0,
    };
    let (items, next) = shared.state.lock().await.page(after, limit as usize);
    let page = wire::Page {
        items,
        next_cursor: next.map(encode_cursor),
    };
    if shared.faults.settings().real_data {
        let mut v = serde_json::to_value(&page).map_err(Fail::internal)?;
        real_data::roughen_list(&mut v, real_data::EMPLOYEE_OPTIONAL, "active");
        return Ok(json(StatusCode::OK, &v));
    }
    Ok(json(StatusCode::OK, &page))
}

async fn get_employee(State(shared): Shd, Path((_, raw)): Path<(String, String)>, q: Q) -> Reply {
    no_query(q)?;
    let id = id(&raw, "employee")?;
    let e = shared.state.lock().await.answer(id);
    e.map(|e| json(StatusCode::OK, &e))
        .ok_or_else(|| Fail::not_found(&format!("employee {id}")))
}

async fn create_employee(State(shared): Shd, headers: HeaderMap, q: Q, body: Body) -> Reply {
    no_query(q)?;
    let v = check::json_body(&headers, body).await?;
    let w = check::employee(&v, None)?;
    let key = headers
        .get("idempotency-key")
        .map(|k| {
            k.to_str()
                .ok()
                .filter(|s| !s.is_empty() && s.len() <= 200)
                .map(str::to_string)
                .ok_or_else(|| {
                    Fail::invalid_parameter(
                        "Idempotency-Key",
                        "must be 1 to 200 visible characters",
                    )
                })
        })
        .transpose()?;
    let e = shared.state.lock().await.create(w, key.as_deref())?;
    Ok(json(StatusCode::CREATED, &e))
}

async fn put_employee(
    State(shared): Shd,
    Path((_, raw)): Path<(String, String)>,
    headers: HeaderMap,
    q: Q,
    body: Body,
) -> Reply {
    no_query(q)?;
    let version = check::if_match(&headers)?;
    let id = id(&raw, "employee")?;
    let v = check::json_body(&headers, body).await?;
    let w = check::employee(&v, Some(id))?;
    let e = shared.state.lock().await.update(id, w, version)?;
    Ok(json(StatusCode::OK, &e))
}

async fn delete_employee(
    State(shared): Shd,
    Path((_, raw)): Path<(String, String)>,
    headers: HeaderMap,
    q: Q,
) -> Reply {
    no_query(q)?;
    let version = check::if_match(&headers)?;
    let id = id(&raw, "employee")?;
    shared.state.lock().await.delete(id, version)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn access_groups(State(shared): Shd, q: Q) -> Reply {
    no_query(q)?;
    let st = shared.state.lock().await;
    let items: Vec<wire::AccessGroup> = st.groups.iter().map(Into::into).collect();
    Ok(json(StatusCode::OK, &wire::Items { items }))
}

async fn readers(State(shared): Shd, q: Q) -> Reply {
    no_query(q)?;
    let st = shared.state.lock().await;
    let items: Vec<wire::Reader> = st.readers.iter().map(Into::into).collect();
    if shared.faults.settings().real_data {
        let mut v = serde_json::to_value(wire::Items { items }).map_err(Fail::internal)?;
        real_data::roughen_list(&mut v, real_data::READER_OPTIONAL, "serial");
        // A serial that is a number cannot be read: make it one.
        if let Some(first) = v["items"].get_mut(0) {
            first["serial"] = serde_json::json!(12);
        }
        return Ok(json(StatusCode::OK, &v));
    }
    Ok(json(StatusCode::OK, &wire::Items { items }))
}

async fn open_door(State(shared): Shd, Path((_, raw)): Path<(String, String)>, q: Q) -> Reply {
    no_query(q)?;
    let id = id(&raw, "reader")?;
    let mut st = shared.state.lock().await;
    if !st.readers.iter().any(|r| u64::from(r.id) == id) {
        return Err(Fail::not_found(&format!("reader {id}")));
    }
    st.doors_opened += 1;
    Ok(json(
        StatusCode::ACCEPTED,
        &wire::DoorOpened {
            reader_id: id as u32,
            open_seconds: 5,
        },
    ))
}

/// `POST /external-events`: at most 500, one result each, idempotent by
/// `source_id`; a malformed event fails the whole batch.
async fn external_events(State(shared): Shd, headers: HeaderMap, q: Q, body: Body) -> Reply {
    no_query(q)?;
    let v = check::json_body(&headers, body).await?;
    let events = super::external::batch(&v)?;
    let (results, last) = {
        let mut st = shared.state.lock().await;
        let results = st.external_events(events, now());
        (results, st.last_seq)
    };
    shared.seq_tx.send_replace(last);
    Ok(json(StatusCode::OK, &wire::ExternalResults { results }))
}

/// `after`, `limit`, and a long-poll of `wait` seconds when nothing is newer.
async fn events(State(shared): Shd, q: Q) -> Reply {
    let q = query(q, &["after", "limit", "wait"])?;
    let after = check::number(&q, "after", 0, 0, u64::MAX)?;
    let limit = check::number(&q, "limit", DEFAULT_LIMIT.into(), 1, MAX_LIMIT.into())? as usize;
    let wait = check::number(&q, "wait", 0, 0, MAX_WAIT_S.into())?;
    let mut seen = shared.seq_tx.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        let page = shared.state.lock().await.events_after(after, limit)?;
        // A sequence below the client's cursor (restored backup) is said at once.
        if !page.items.is_empty() || wait == 0 || page.last_seq < after {
            return events_answer(&shared, &page);
        }
        match tokio::time::timeout_at(deadline, seen.changed()).await {
            Ok(Ok(())) => continue,
            _ => {
                let page = shared.state.lock().await.events_after(after, limit)?;
                return events_answer(&shared, &page);
            }
        }
    }
}

fn events_answer(shared: &Shared, page: &wire::EventsPage) -> Reply {
    if shared.faults.settings().real_data {
        let mut v = serde_json::to_value(page).map_err(Fail::internal)?;
        real_data::roughen_events(&mut v);
        return Ok(json(StatusCode::OK, &v));
    }
    Ok(json(StatusCode::OK, page))
}
