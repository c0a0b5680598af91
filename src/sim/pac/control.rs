//! The simulator's own control routes under `/_sim/` (never part of PAC):
//! make swipes, edit employees behind the integration's back, remove
//! readers, expire event history, revoke the client, and show counts.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::Serialize;

use super::Shared;
use super::check;
use super::reply::{Reply, json};

type Shd = State<Arc<Shared>>;

/// Most swipes or edits one control request may ask for.
const MAX_COUNT: u64 = 100_000;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_sim/swipes", post(swipes))
        .route("/_sim/edit", post(edit))
        .route("/_sim/readers", post(keep_readers))
        .route("/_sim/expire_events", post(expire_events))
        .route("/_sim/revoke", post(revoke))
        .route("/_sim/restore_backup", post(restore_backup))
        .route("/_sim/stats", get(stats))
        .with_state(shared)
}

async fn number(
    headers: &HeaderMap,
    body: Body,
    name: &str,
    default: u64,
) -> Result<u64, super::reply::Fail> {
    let v = check::json_body(headers, body).await?;
    let obj = check::control_numbers(&v, &[name])?;
    let n = obj.get(name).and_then(|v| v.as_u64()).unwrap_or(default);
    if n > MAX_COUNT {
        return Err(super::reply::Fail::invalid_field(name, "at most 100000"));
    }
    Ok(n)
}

/// `{"count": N}`: N events now. Answers the new `last_seq`.
async fn swipes(State(shared): Shd, headers: HeaderMap, body: Body) -> Reply {
    let n = number(&headers, body, "count", 1).await?;
    let last_seq = shared.swipe(n as usize).await;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "last_seq": last_seq }),
    ))
}

/// `{"count": N}`: N employees changed as a person in PAC would.
async fn edit(State(shared): Shd, headers: HeaderMap, body: Body) -> Reply {
    let n = number(&headers, body, "count", 1).await?;
    let ids = shared.state.lock().await.edit(n as usize);
    Ok(json(StatusCode::OK, &serde_json::json!({ "edited": ids })))
}

/// `{"keep": N}`: keep the first N readers, remove the others (as an
/// installer taking controllers out, or a broken answer listing none).
async fn keep_readers(State(shared): Shd, headers: HeaderMap, body: Body) -> Reply {
    let keep = number(&headers, body, "keep", 0).await?;
    let mut st = shared.state.lock().await;
    st.readers.truncate(keep as usize);
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "readers": st.readers.len() }),
    ))
}

/// `{"keep": N}`: forget all but the newest N events.
async fn expire_events(State(shared): Shd, headers: HeaderMap, body: Body) -> Reply {
    let keep = number(&headers, body, "keep", 0).await?;
    let mut st = shared.state.lock().await;
    st.keep_events(keep as usize);
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "oldest_seq": st.oldest_seq(), "last_seq": st.last_seq }),
    ))
}

/// `{"through": N}`: PAC restored from a backup taken at seq N (events
/// after it are gone; new ones are numbered from N + 1).
async fn restore_backup(State(shared): Shd, headers: HeaderMap, body: Body) -> Reply {
    let through = check::json_body(&headers, body).await?;
    let obj = check::control_numbers(&through, &["through"])?;
    let Some(through) = obj.get("through").and_then(|v| v.as_u64()) else {
        return Err(super::reply::Fail::invalid_field(
            "through",
            "the seq the backup was taken at",
        ));
    };
    let last_seq = shared.restore_backup(through).await;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "last_seq": last_seq }),
    ))
}

/// Revoke the OEM client (`{"revoked": false}` restores it).
async fn revoke(State(shared): Shd, headers: HeaderMap, body: Body) -> Reply {
    let has_body = headers.contains_key(axum::http::header::CONTENT_TYPE);
    let revoked = if has_body {
        let v = check::json_body(&headers, body).await?;
        let obj = check::control_numbers(&v, &["revoked"])?;
        obj.get("revoked").and_then(|v| v.as_bool()).unwrap_or(true)
    } else {
        true
    };
    shared.state.lock().await.revoked = revoked;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "revoked": revoked }),
    ))
}

/// Counts of the simulated installation.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Stats {
    pub employees: usize,
    pub events: usize,
    pub oldest_seq: u64,
    pub last_seq: u64,
    pub revoked: bool,
    pub doors_opened: u64,
    /// `POST /external-events` results: stored, duplicate, rejected.
    pub external_stored: u64,
    pub external_duplicates: u64,
    pub external_rejected: u64,
    /// The shared request counters (as `/_sim/requests`).
    pub requests: crate::sim::faults::RequestStats,
}

async fn stats(State(shared): Shd) -> Reply {
    Ok(json(StatusCode::OK, &shared.stats().await))
}
