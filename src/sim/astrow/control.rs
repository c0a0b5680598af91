//! `/_sim/` controls of the simulated Astrow: edit employees behind the
//! integration's back, expire tokens, switch licences and the API permission,
//! read counters. (Faults and request counters are the shared server's.)

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as Ext;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::request::{ApiErr, json_body};
use super::state::{Counts, LastHeartbeat};
use super::{DEFAULT_USERNAME, Shared};
use crate::astrow::wire::{Licenses, TerminalKind};
use crate::sim::faults::RequestStats;

type Sim = Ext<Arc<Shared>>;
type Body = Result<Bytes, BytesRejection>;

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/edit", post(edit))
        .route("/_sim/expire_tokens", post(expire_tokens))
        .route("/_sim/licences", put(licences))
        .route("/_sim/permission", put(permission))
        .route("/_sim/stats", get(get_stats))
        .route("/_sim/restore_bookings", post(restore_bookings))
        .route(
            "/_sim/own_bookings",
            post(own_bookings).put(own_booking_rate),
        )
}

/// Most own-terminal bookings one request makes, and the highest rate.
const MAX_OWN: usize = 10_000;
const MAX_OWN_PER_MIN: f64 = 60_000.0;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnRequest {
    count: usize,
    #[serde(default)]
    kind: Option<TerminalKind>,
    #[serde(default)]
    serial: Option<String>,
}

/// `POST /_sim/own_bookings {"count": N, "kind"?: "web" | "mobile" | "terminal" | "file",
/// "serial"?: "R-0012"}`: N bookings at Astrow's own terminals now (web and
/// mobile mixed when no kind is named), at the terminal `serial` when given
/// (`file` at a PAC reader's serial: what the old Astrow IO Service made of
/// PAC's swipes). Answers their booking ids.
async fn own_bookings(Ext(sim): Sim, headers: HeaderMap, body: Body) -> Result<Response, ApiErr> {
    let req: OwnRequest = json_body(&headers, body)?;
    if req.count > MAX_OWN {
        return Err(ApiErr::bad(
            "invalid_field",
            "count",
            format!("count must be at most {MAX_OWN}"),
        ));
    }
    if let Some(serial) = &req.serial
        && (serial.chars().count() > 64 || serial.chars().any(char::is_control))
    {
        return Err(ApiErr::bad(
            "invalid_field",
            "serial",
            "serial must be at most 64 characters without control characters".to_string(),
        ));
    }
    let ids = sim
        .lock()
        .own_bookings_at(req.count, req.kind, req.serial.as_deref());
    Ok(Json(serde_json::json!({"booking_ids": ids})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateRequest {
    per_min: f64,
}

/// `PUT /_sim/own_bookings {"per_min": F}`: web and mobile bookings at
/// that rate from now on (0 stops them).
async fn own_booking_rate(
    Ext(sim): Sim,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiErr> {
    let req: RateRequest = json_body(&headers, body)?;
    if !(0.0..=MAX_OWN_PER_MIN).contains(&req.per_min) {
        return Err(ApiErr::bad(
            "invalid_field",
            "per_min",
            format!("per_min must be from 0 to {MAX_OWN_PER_MIN}"),
        ));
    }
    super::set_own_rate(&sim, req.per_min);
    Ok(Json(serde_json::json!({"per_min": req.per_min})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreRequest {
    through: u64,
}

/// `POST /_sim/restore_bookings {"through": N}`: Astrow restored from a
/// backup taken when its newest booking was N.
async fn restore_bookings(
    Ext(sim): Sim,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiErr> {
    let req: RestoreRequest = json_body(&headers, body)?;
    sim.lock().restore_bookings(req.through);
    Ok(Json(serde_json::json!({"through": req.through})).into_response())
}

/// Most edits one `/_sim/edit` makes (the state lock is held meanwhile).
const MAX_EDITS: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditRequest {
    count: usize,
}

async fn edit(Ext(sim): Sim, headers: HeaderMap, body: Body) -> Result<Response, ApiErr> {
    let req: EditRequest = json_body(&headers, body)?;
    if req.count > MAX_EDITS {
        return Err(ApiErr::bad(
            "invalid_field",
            "count",
            format!("count must be at most {MAX_EDITS}"),
        ));
    }
    let edited = sim.write(|s| Ok(s.edit_random(req.count)))?;
    let last_seq = sim.lock().last_seq();
    Ok(Json(serde_json::json!({"edited": edited, "last_seq": last_seq})).into_response())
}

async fn expire_tokens(Ext(sim): Sim) -> Response {
    let expired = sim.lock().expire_tokens();
    Json(serde_json::json!({"expired": expired})).into_response()
}

async fn licences(Ext(sim): Sim, headers: HeaderMap, body: Body) -> Result<Response, ApiErr> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Req {
        file_terminal: bool,
        employees_import: bool,
    }
    let req: Req = json_body(&headers, body)?;
    let l = Licenses {
        file_terminal: req.file_terminal,
        employees_import: req.employees_import,
    };
    sim.lock().licences = l;
    Ok(Json(l).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionRequest {
    #[serde(default)]
    username: Option<String>,
    allow_api: bool,
}

async fn permission(Ext(sim): Sim, headers: HeaderMap, body: Body) -> Result<Response, ApiErr> {
    let req: PermissionRequest = json_body(&headers, body)?;
    let username = req.username.unwrap_or_else(|| DEFAULT_USERNAME.to_string());
    let mut state = sim.lock();
    let user = state
        .users
        .iter_mut()
        .find(|u| u.username == username)
        .ok_or_else(|| {
            ApiErr::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no user {username}"),
            )
        })?;
    user.allow_api = req.allow_api;
    Ok(Json(serde_json::json!({"username": username, "allow_api": req.allow_api})).into_response())
}

/// What the simulated Astrow holds and has counted.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub employees: usize,
    pub bookings: usize,
    pub notifications_last_seq: u64,
    pub licences: Licenses,
    #[serde(flatten)]
    pub counts: Counts,
    pub last_heartbeat: Option<LastHeartbeat>,
    /// Astrow shows the service red: no heartbeat for 2 minutes.
    pub service_red: bool,
    /// The shared server's request counters.
    pub requests: RequestStats,
}

pub(super) fn stats(sim: &Shared) -> Stats {
    let s = sim.lock();
    Stats {
        employees: s.employees.len(),
        bookings: s.bookings.len(),
        notifications_last_seq: s.last_seq(),
        licences: s.licences,
        counts: s.counts.clone(),
        last_heartbeat: s.heartbeat.clone(),
        service_red: s
            .heartbeat
            .as_ref()
            .is_none_or(|h| super::state::now() - h.received_at > chrono::TimeDelta::minutes(2)),
        requests: sim.faults.stats(),
    }
}

async fn get_stats(Ext(sim): Sim) -> Json<Stats> {
    Json(stats(&sim))
}
