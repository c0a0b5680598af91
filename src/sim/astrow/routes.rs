//! The Astrow Web API handlers: each checks the session, the licence and the
//! request, then asks [`State`](super::state::State).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State as Ext};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::TimeDelta;

use super::Shared;
use super::request::{self, ApiErr, from_value, json_body, json_value};
use super::state::{LastHeartbeat, now};
use crate::astrow::wire::{
    self, AccessGroup, AccessGroupIn, BatchResults, BookingBatch, EMPLOYEE_KEYS, EmployeeIn,
    Heartbeat, Items, ItemsIn, LoginRequest, LoginResponse, Notifications, Page, Reader, ReaderIn,
};

type Sim = Ext<Arc<Shared>>;
type Body = Result<Bytes, BytesRejection>;
type Answer = Result<Response, ApiErr>;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn auth(sim: &Shared, headers: &HeaderMap) -> Result<String, ApiErr> {
    sim.lock().authorize(bearer(headers))
}

fn no_query(uri: &Uri) -> Result<(), ApiErr> {
    request::query(uri, &[]).map(|_| ())
}

fn pers_no_of(raw: &str) -> Result<u64, ApiErr> {
    raw.parse()
        .map_err(|_| ApiErr::not_found(format!("no employee with pers_no {raw:?}")))
}

pub async fn login(Ext(sim): Sim, headers: HeaderMap, uri: Uri, body: Body) -> Answer {
    no_query(&uri)?;
    let req: LoginRequest = json_body(&headers, body)?;
    let (token, ttl) = sim.lock().login(&req.username, &req.password)?;
    let ttl = TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX);
    let expires_at = now().checked_add_signed(ttl).unwrap_or_else(now);
    Ok(Json(LoginResponse { token, expires_at }).into_response())
}

pub async fn licenses(Ext(sim): Sim, headers: HeaderMap, uri: Uri) -> Answer {
    auth(&sim, &headers)?;
    no_query(&uri)?;
    Ok(Json(sim.lock().licences).into_response())
}

pub async fn list_employees(Ext(sim): Sim, headers: HeaderMap, uri: Uri) -> Answer {
    auth(&sim, &headers)?;
    let q = request::query(&uri, &["limit", "cursor", "include_inactive"])?;
    let limit = request::limit_param(&q)?;
    let after = request::cursor_param(&q)?;
    let inactive = request::bool_param(&q, "include_inactive")?;
    let state = sim.lock();
    let start = after.map_or(0, |c| c.saturating_add(1));
    let mut items: Vec<_> = state
        .employees
        .range(start..)
        .map(|(_, e)| e)
        .filter(|e| e.active || inactive)
        .take(limit + 1)
        .cloned()
        .collect();
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|e| e.pers_no.0.to_string())
    } else {
        None
    };
    Ok(Json(Page { items, next_cursor }).into_response())
}

pub async fn get_employee(
    Ext(sim): Sim,
    headers: HeaderMap,
    uri: Uri,
    Path(p): Path<String>,
) -> Answer {
    auth(&sim, &headers)?;
    no_query(&uri)?;
    let pers_no = pers_no_of(&p)?;
    let state = sim.lock();
    Ok(Json(state.employee(pers_no)?.clone()).into_response())
}

pub async fn create_employee(Ext(sim): Sim, headers: HeaderMap, uri: Uri, body: Body) -> Answer {
    auth(&sim, &headers)?;
    no_query(&uri)?;
    let input: EmployeeIn = json_body(&headers, body)?;
    let key = headers
        .get("idempotency-key")
        .map(|k| {
            k.to_str()
                .map(str::to_string)
                .map_err(|_| ApiErr::invalid_parameter("Idempotency-Key", "not visible ASCII"))
        })
        .transpose()?;
    let created = sim.write(|s| {
        s.need_employees_import()?;
        s.create(input, key)
    })?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

pub async fn update_employee(
    Ext(sim): Sim,
    headers: HeaderMap,
    uri: Uri,
    Path(p): Path<String>,
    body: Body,
) -> Answer {
    auth(&sim, &headers)?;
    no_query(&uri)?;
    let mut value = json_value(&headers, body)?;
    let pers_no = pers_no_of(&p)?;
    // A whole Employee: every key present; pers_no and version may come along.
    let obj = value
        .as_object_mut()
        .ok_or_else(|| ApiErr::bad("invalid_field", "", "the body must be a JSON object"))?;
    if let Some(v) = obj.remove("pers_no")
        && v.as_u64() != Some(pers_no)
    {
        return Err(ApiErr::bad(
            "invalid_field",
            "pers_no",
            "pers_no differs from the path",
        ));
    }
    if let Some(v) = obj.remove("version")
        && v.as_u64().is_none()
    {
        return Err(ApiErr::bad(
            "invalid_field",
            "version",
            "version must be an integer",
        ));
    }
    if let Some(missing) = EMPLOYEE_KEYS.iter().find(|k| !obj.contains_key(**k)) {
        return Err(ApiErr::bad(
            "missing_field",
            *missing,
            format!("a PUT carries the whole employee: {missing} is missing"),
        ));
    }
    let input: EmployeeIn = from_value(value, "")?;
    let if_match = request::if_match(&headers);
    let updated = sim.write(|s| {
        s.need_employees_import()?;
        s.update(pers_no, if_match?, input)
    })?;
    Ok(Json(updated).into_response())
}

pub async fn delete_employee(
    Ext(sim): Sim,
    headers: HeaderMap,
    uri: Uri,
    Path(p): Path<String>,
) -> Answer {
    auth(&sim, &headers)?;
    no_query(&uri)?;
    let pers_no = pers_no_of(&p)?;
    let if_match = request::if_match(&headers);
    sim.write(|s| {
        s.need_employees_import()?;
        s.delete(pers_no, if_match?)
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn cycles(Ext(sim): Sim, headers: HeaderMap, uri: Uri) -> Answer {
    auth(&sim, &headers)?;
    no_query(&uri)?;
    let items = sim.lock().cycles.clone();
    Ok(Json(Items { items }).into_response())
}

pub async fn paygroups(Ext(sim): Sim, headers: HeaderMap, uri: Uri) -> Answer {
    auth(&sim, &headers)?;
    no_query(&uri)?;
    let items = sim.lock().paygroups.clone();
    Ok(Json(Items { items }).into_response())
}

pub async fn get_groups(Ext(sim): Sim, headers: HeaderMap, uri: Uri) -> Answer {
    auth(&sim, &headers)?;
    no_query(&uri)?;
    let items = sim.lock().groups.clone();
    Ok(Json(Items { items }).into_response())
}

pub async fn put_groups(Ext(sim): Sim, headers: HeaderMap, uri: Uri, body: Body) -> Answer {
    auth(&sim, &headers)?;
    no_query(&uri)?;
    let ItemsIn { items } = json_body::<ItemsIn<AccessGroupIn>>(&headers, body)?;
    unique(items.iter().map(|g| g.id.to_string()), "id")?;
    let items: Vec<AccessGroup> = items.into_iter().map(AccessGroup::from).collect();
    sim.lock().groups = items.clone();
    Ok(Json(Items { items }).into_response())
}

pub async fn get_readers(Ext(sim): Sim, headers: HeaderMap, uri: Uri) -> Answer {
    auth(&sim, &headers)?;
    no_query(&uri)?;
    let items = sim.lock().readers.clone();
    Ok(Json(Items { items }).into_response())
}

pub async fn put_readers(Ext(sim): Sim, headers: HeaderMap, uri: Uri, body: Body) -> Answer {
    auth(&sim, &headers)?;
    no_query(&uri)?;
    let ItemsIn { items } = json_body::<ItemsIn<ReaderIn>>(&headers, body)?;
    unique(items.iter().map(|r| r.id.to_string()), "id")?;
    unique(items.iter().map(|r| r.serial.clone()), "serial")?;
    let items: Vec<Reader> = items.into_iter().map(Reader::from).collect();
    sim.lock().readers = items.clone();
    Ok(Json(Items { items }).into_response())
}

/// A mirror names each group or reader once (422 naming the repeat).
fn unique(keys: impl Iterator<Item = String>, key: &str) -> Result<(), ApiErr> {
    let mut seen = std::collections::HashSet::new();
    for (i, k) in keys.enumerate() {
        if !seen.insert(k.clone()) {
            return Err(ApiErr::unprocessable(
                "validation_failed",
                &format!("items[{i}].{key}"),
                format!("{key} {k:?} appears twice"),
            ));
        }
    }
    Ok(())
}

pub async fn book(Ext(sim): Sim, headers: HeaderMap, uri: Uri, body: Body) -> Answer {
    auth(&sim, &headers)?;
    no_query(&uri)?;
    let value = json_value(&headers, body)?;
    let count = value
        .get("bookings")
        .and_then(|b| b.as_array())
        .map_or(0, Vec::len);
    if count > wire::MAX_BATCH {
        return Err(ApiErr::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "{count} bookings: a batch carries at most {}",
                wire::MAX_BATCH
            ),
        )
        .field("bookings"));
    }
    let batch: BookingBatch = from_value(value, "")?;
    if let Some(i) = batch
        .bookings
        .iter()
        .position(|b| b.source_id.trim().is_empty())
    {
        return Err(ApiErr::bad(
            "invalid_field",
            format!("bookings[{i}].source_id"),
            "source_id must not be empty",
        ));
    }
    let results = sim.write(|s| {
        s.need_file_terminal()?;
        Ok(s.book(batch.bookings))
    })?;
    Ok(Json(BatchResults { results }).into_response())
}

pub async fn list_bookings(Ext(sim): Sim, headers: HeaderMap, uri: Uri) -> Answer {
    auth(&sim, &headers)?;
    let q = request::query(&uri, &["limit", "cursor", "since", "after"])?;
    let limit = request::limit_param(&q)?;
    let cursor = request::cursor_param(&q)?;
    let since = request::time_param(&q, "since")?;
    // `after` (a booking_id): only newer ones; with a cursor too, both hold.
    let after = match q.get("after") {
        None => None,
        Some(_) => Some(request::int_param(&q, "after", 0, 0, u64::MAX)?),
    };
    let after = cursor.max(after);
    let state = sim.lock();
    let start = after.map_or(0, |c| c.saturating_add(1));
    let mut items: Vec<_> = state
        .bookings
        .range(start..)
        .map(|(_, b)| b)
        .filter(|b| since.is_none_or(|s| b.time >= s))
        .take(limit + 1)
        .cloned()
        .collect();
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|b| b.booking_id.to_string())
    } else {
        None
    };
    Ok(Json(Page { items, next_cursor }).into_response())
}

pub async fn notifications(Ext(sim): Sim, headers: HeaderMap, uri: Uri) -> Answer {
    auth(&sim, &headers)?;
    let q = request::query(&uri, &["after", "limit", "wait"])?;
    let after = request::int_param(&q, "after", 0, 0, u64::MAX)?;
    let limit = request::limit_param(&q)?;
    let wait = request::int_param(&q, "wait", 0, 0, wire::MAX_WAIT_S.into())?;
    let mut changes = sim.changes.subscribe();
    if wait > 0 && *changes.borrow_and_update() <= after {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
        while *changes.borrow_and_update() <= after {
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => continue,
                _ => break,
            }
        }
    }
    let state = sim.lock();
    // Seqs run 1, 2, 3, ...: the one after `after` sits at index `after`.
    let start = usize::try_from(after).map_or(state.notifications.len(), |a| {
        a.min(state.notifications.len())
    });
    let items: Vec<_> = state.notifications[start..]
        .iter()
        .take(limit)
        .cloned()
        .collect();
    let last_seq = state.last_seq();
    Ok(Json(Notifications { items, last_seq }).into_response())
}

pub async fn heartbeat(Ext(sim): Sim, headers: HeaderMap, uri: Uri, body: Body) -> Answer {
    auth(&sim, &headers)?;
    no_query(&uri)?;
    let heartbeat: Heartbeat = json_body(&headers, body)?;
    sim.lock().heartbeat = Some(LastHeartbeat {
        heartbeat,
        received_at: now(),
    });
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn not_found(uri: Uri) -> ApiErr {
    ApiErr::not_found(format!("no such path: {}", uri.path()))
}

pub async fn method_not_allowed() -> ApiErr {
    ApiErr::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not take that method",
    )
}
