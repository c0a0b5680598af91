//! Health of both systems (reachable, latency, licences) and the heartbeat
//! that tells Astrow the service is alive, `degraded` with a reason while
//! something is wrong.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use tokio::sync::{mpsc, watch};

use crate::astrow::{AstrowClient, HeartbeatStatus};
use crate::engine::snapshot::{HealthState, Licences, Snapshot, SystemHealth};
use crate::engine::state::Internal;
use crate::model::System;
use crate::pac::PacClient;

/// Probe both systems, report their health, send the heartbeat. While the
/// store is bound to another site (`site_refusal`) the heartbeat says
/// `degraded` with that reason, never `ok`: it carries no data of either
/// site, and it is the only word Astrow's side gets of why nothing arrives.
pub async fn run_once(
    pac: &PacClient,
    astrow: &AstrowClient,
    snapshots: &watch::Receiver<Arc<Snapshot>>,
    report: &mpsc::Sender<Internal>,
    send: bool,
    site_refusal: Option<String>,
) -> Result<String, String> {
    // Both at once, each bounded: a PAC that never answers must not delay
    // the heartbeat past Astrow's two minutes.
    let (pac_health, astrow_health) = tokio::join!(
        bounded(probe_pac(pac), "PAC"),
        bounded(probe_astrow(astrow), "Astrow")
    );
    let pac_ok = pac_health.state == HealthState::Up;
    let astrow_reachable = astrow_health.state != HealthState::Down;
    let _ = report
        .send(Internal::Health {
            system: System::Pac,
            health: pac_health.clone(),
        })
        .await;
    let _ = report
        .send(Internal::Health {
            system: System::Astrow,
            health: astrow_health.clone(),
        })
        .await;
    let mut problems = problems(&snapshots.borrow(), &pac_health, &astrow_health);
    if let Some(why) = site_refusal {
        problems.insert(0, format!("nothing synced or booked: {why}"));
    }
    if !astrow_reachable {
        return Err(format!(
            "no heartbeat: Astrow unreachable ({})",
            astrow_health.detail.unwrap_or_default()
        ));
    }
    if !send {
        return Ok("read-only: health probed, no heartbeat sent".into());
    }
    let (status, detail) = if problems.is_empty() {
        (HeartbeatStatus::Ok, None)
    } else {
        (HeartbeatStatus::Degraded, Some(problems.join("; ")))
    };
    astrow
        .heartbeat(status, detail.clone())
        .await
        .map_err(|e| format!("heartbeat: {e}"))?;
    Ok(match detail {
        None if pac_ok => "both systems up; heartbeat ok".to_string(),
        None => "heartbeat ok".to_string(),
        Some(d) => format!("heartbeat degraded: {d}"),
    })
}

/// An Astrow booking waiting this long for PAC makes the heartbeat degraded.
pub const A2P_STUCK_AFTER_S: u64 = 900;

/// What is wrong, in words, for the heartbeat's `detail` (pure).
pub fn problems(snap: &Snapshot, pac: &SystemHealth, astrow: &SystemHealth) -> Vec<String> {
    let mut out = Vec::new();
    if pac.state != HealthState::Up {
        out.push(format!(
            "PAC unreachable: {}",
            pac.detail.clone().unwrap_or_default()
        ));
    }
    if let Some(l) = astrow.licences {
        if !l.file_terminal {
            out.push("Astrow has no File terminal licence: bookings wait".into());
        }
        if !l.employees_import {
            out.push("Astrow has no Employees import licence: employee sync stops".into());
        }
    }
    let b = &snap.bookings;
    if let Some(g) = b.gaps.last() {
        out.push(format!(
            "PAC events {}..={} were lost (history expired)",
            g.from_seq, g.to_seq
        ));
    }
    if let Some(r) = &b.sequence_reset {
        out.push(r.message());
    }
    if b.astrow_down {
        out.push(format!("{} bookings wait: Astrow keeps failing", b.pending));
    }
    if b.reading_paused {
        out.push("reading PAC events paused: too many bookings wait".into());
    }
    let a2p = &snap.astrow_to_pac;
    let now = snap.generated_at.unwrap_or_else(chrono::Utc::now);
    if let Some(why) = a2p.stuck(now, A2P_STUCK_AFTER_S) {
        out.push(why);
    }
    if a2p.enabled && a2p.reading_paused {
        out.push("reading Astrow's bookings paused: too many wait for PAC".into());
    }
    if snap.plan.as_ref().is_some_and(|p| p.held.is_some()) {
        out.push("an employee plan is held by the deletion guard".into());
    }
    let d = &snap.definitions;
    for r in &d.refused {
        out.push(format!("Astrow's mirror not synced: {r}"));
    }
    if d.held.is_some() {
        out.push("removals from Astrow's mirror are held by the deletion guard".into());
    }
    out
}

/// How long one probe may take.
const PROBE_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

async fn bounded(
    probe: impl std::future::Future<Output = SystemHealth>,
    who: &str,
) -> SystemHealth {
    match tokio::time::timeout(PROBE_LIMIT, probe).await {
        Ok(h) => h,
        Err(_) => down(format!(
            "{who} did not answer within {} s",
            PROBE_LIMIT.as_secs()
        )),
    }
}

/// A system that did not answer, and why.
fn down(detail: String) -> SystemHealth {
    SystemHealth {
        state: HealthState::Down,
        detail: Some(detail),
        ..SystemHealth::default()
    }
}

async fn probe_pac(pac: &PacClient) -> SystemHealth {
    let t = Instant::now();
    match pac.status().await {
        Ok(s) => SystemHealth {
            state: HealthState::Up,
            latency_ms: Some(t.elapsed().as_millis() as u64),
            last_contact: Some(Utc::now()),
            detail: None,
            licences: None,
            server_version: Some(crate::http::sanitize(&s.server_version)),
        },
        Err(e) => down(e.to_string()),
    }
}

async fn probe_astrow(astrow: &AstrowClient) -> SystemHealth {
    let t = Instant::now();
    match astrow.licences().await {
        Ok(l) => {
            let licences = Licences {
                file_terminal: l.file_terminal,
                employees_import: l.employees_import,
            };
            let full = l.file_terminal && l.employees_import;
            SystemHealth {
                state: if full {
                    HealthState::Up
                } else {
                    HealthState::Degraded
                },
                latency_ms: Some(t.elapsed().as_millis() as u64),
                last_contact: Some(Utc::now()),
                detail: (!full).then(|| "a licence is missing".to_string()),
                licences: Some(licences),
                server_version: None,
            }
        }
        Err(e) => down(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stuck_astrow_to_pac_direction_is_a_heartbeat_problem() {
        let up = SystemHealth {
            state: HealthState::Up,
            ..SystemHealth::default()
        };
        let mut snap = Snapshot::default();
        let mut v = crate::engine::astrow_to_pac::AstrowToPacView {
            enabled: true,
            ..Default::default()
        };
        snap.astrow_to_pac = Arc::new(v.clone());
        assert!(problems(&snap, &up, &up).is_empty());
        v.pac_failures = 5;
        v.reading_paused = true;
        snap.astrow_to_pac = Arc::new(v);
        let p = problems(&snap, &up, &up);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("sending to PAC failed 5 times"), "{p:?}");
    }

    /// A refused or held definitions sync degrades the heartbeat, as a held
    /// employee plan does.
    #[test]
    fn a_refused_or_held_mirror_sync_is_a_heartbeat_problem() {
        let up = SystemHealth {
            state: HealthState::Up,
            ..SystemHealth::default()
        };
        let mut snap = Snapshot::default();
        assert!(problems(&snap, &up, &up).is_empty());
        snap.definitions = Arc::new(crate::engine::snapshot::DefinitionsView {
            refused: vec!["PAC listed no reader: the mirror's 8 readers are kept".into()],
            held: Some("5 removals from Astrow's mirror".into()),
            ..Default::default()
        });
        assert_eq!(
            problems(&snap, &up, &up),
            vec![
                "Astrow's mirror not synced: PAC listed no reader: the mirror's 8 readers are kept"
                    .to_string(),
                "removals from Astrow's mirror are held by the deletion guard".to_string(),
            ]
        );
    }
}
