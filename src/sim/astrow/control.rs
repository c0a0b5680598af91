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
use crate::astrow::wire::Licenses;
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditRequest {
    count: usize,
}

async fn edit(Ext(sim): Sim, headers: HeaderMap, body: Body) -> Result<Response, ApiErr> {
    let req: EditRequest = json_body(&headers, body)?;
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
    /// The shared server's request counters, when the simulator has them.
    pub requests: Option<RequestStats>,
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
        requests: sim.faults.as_ref().map(|f| f.stats()),
    }
}

async fn get_stats(Ext(sim): Sim) -> Json<Stats> {
    Json(stats(&sim))
}
