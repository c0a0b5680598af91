//! `POST /external-events`: bookings made outside PAC, stored in its event
//! log. Idempotent by `source_id`, so the call is retried like a read; the
//! answer is checked result by result against what was sent.

use reqwest::Method;

use super::client::{Call, PacClient};
use super::error::PacError;
use super::wire::{
    self, ExternalDirection, ExternalEvents, ExternalResults, ExternalStatus, MAX_EXTERNAL_BATCH,
    MAX_ORIGIN_CHARS,
};
use crate::http;
use crate::model::{Direction, ExternalEvent, ExternalOutcome};

/// Longest rejection reason kept from PAC's answer.
const MAX_REASON_CHARS: usize = 500;

impl PacClient {
    /// Send at most 500 external events: one outcome each, in order. Safe to
    /// repeat: PAC answers `duplicate` for a `source_id` it stored.
    pub async fn send_external_events(
        &self,
        events: &[ExternalEvent],
    ) -> Result<Vec<ExternalOutcome>, PacError> {
        let mut call = Call::write(Method::POST, "/external-events".into());
        call.repeatable = true;
        let refuse = |detail: String| PacError::InvalidRequest {
            endpoint: call.endpoint.clone(),
            detail,
        };
        if events.len() > MAX_EXTERNAL_BATCH {
            return Err(refuse(format!(
                "{} events: a batch carries at most {MAX_EXTERNAL_BATCH}",
                events.len()
            )));
        }
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let body = ExternalEvents {
            events: events
                .iter()
                .map(to_wire)
                .collect::<Result<Vec<_>, String>>()
                .map_err(refuse)?,
        };
        call.body = Some(serde_json::to_vec(&body).map_err(|e| refuse(e.to_string()))?);
        let answer: ExternalResults = self.json(&call).await?;
        check_results(&call.endpoint, events, answer)
    }
}

/// The wire event, or why it cannot go (a field PAC would refuse).
fn to_wire(e: &ExternalEvent) -> Result<wire::ExternalEvent, String> {
    if e.origin.chars().count() > MAX_ORIGIN_CHARS || e.origin.chars().any(char::is_control) {
        return Err(format!(
            "{}: origin must be at most {MAX_ORIGIN_CHARS} characters without control characters",
            e.source_id
        ));
    }
    if e.source_id.trim().is_empty() || e.source_id.chars().any(char::is_control) {
        return Err("an event without a printable source_id".to_string());
    }
    let badge_number = match &e.badge_number {
        None => None,
        Some(b) => Some(
            crate::model::normalise_badge_hex(b)
                .ok_or_else(|| format!("{}: badge number {b:?} is not hex", e.source_id))?,
        ),
    };
    Ok(wire::ExternalEvent {
        source_id: e.source_id.clone(),
        time: e.time,
        employee_id: e.employee_id.map(|i| i.0),
        badge_number,
        direction: match e.direction {
            Some(Direction::In) => Some(ExternalDirection::In),
            Some(Direction::Out) => Some(ExternalDirection::Out),
            Some(Direction::None) | None => None,
        },
        origin: e.origin.clone(),
    })
}

/// One result per event, same order and source ids, each coherent.
fn check_results(
    endpoint: &str,
    events: &[ExternalEvent],
    answer: ExternalResults,
) -> Result<Vec<ExternalOutcome>, PacError> {
    let bad = |detail: String| PacError::BadAnswer {
        endpoint: endpoint.to_string(),
        detail,
    };
    if answer.results.len() != events.len() {
        return Err(bad(format!(
            "{} results for {} events",
            answer.results.len(),
            events.len()
        )));
    }
    events
        .iter()
        .zip(answer.results)
        .enumerate()
        .map(|(i, (e, r))| {
            if r.source_id != e.source_id {
                return Err(bad(format!(
                    "result {i} is for {:?}, not {:?}",
                    http::sanitize(&r.source_id),
                    e.source_id
                )));
            }
            match (r.status, r.seq) {
                (ExternalStatus::Stored, Some(seq)) => Ok(ExternalOutcome::Stored { seq }),
                (ExternalStatus::Duplicate, Some(seq)) => Ok(ExternalOutcome::Duplicate { seq }),
                (ExternalStatus::Rejected, _) => {
                    let reason = r
                        .reason
                        .as_deref()
                        .map(http::sanitize)
                        .filter(|s| !s.trim().is_empty())
                        .unwrap_or_else(|| "rejected without a reason".to_string());
                    Ok(ExternalOutcome::Rejected {
                        reason: reason.chars().take(MAX_REASON_CHARS).collect(),
                    })
                }
                (_, None) => Err(bad(format!("result {i} ({}) has no seq", e.source_id))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PacId;

    fn ev(n: u64) -> ExternalEvent {
        ExternalEvent {
            source_id: format!("astrow:{n}"),
            time: chrono::DateTime::parse_from_rfc3339("2026-11-28T08:01:07+01:00").unwrap(),
            employee_id: Some(PacId(10001)),
            badge_number: Some("00a1".into()),
            direction: Some(Direction::In),
            origin: "Astrow web".into(),
        }
    }

    fn res(s: &str, status: ExternalStatus, seq: Option<u64>) -> wire::ExternalResult {
        wire::ExternalResult {
            source_id: s.into(),
            status,
            seq,
            reason: None,
        }
    }

    #[test]
    fn badges_are_normalised_and_long_origins_refused() {
        assert_eq!(
            to_wire(&ev(1)).unwrap().badge_number.as_deref(),
            Some("00A1")
        );
        let mut long = ev(1);
        long.origin = "x".repeat(65);
        assert!(to_wire(&long).is_err());
        let mut ctl = ev(1);
        ctl.origin = "web\n".into();
        assert!(to_wire(&ctl).is_err());
    }

    #[test]
    fn answers_that_do_not_fit_are_refused() {
        let events = [ev(1), ev(2)];
        let ok = ExternalResults {
            results: vec![
                res("astrow:1", ExternalStatus::Stored, Some(5)),
                res("astrow:2", ExternalStatus::Rejected, None),
            ],
        };
        let out = check_results("e", &events, ok).unwrap();
        assert_eq!(out[0], ExternalOutcome::Stored { seq: 5 });
        assert!(matches!(out[1], ExternalOutcome::Rejected { .. }));
        let short = ExternalResults {
            results: vec![res("astrow:1", ExternalStatus::Stored, Some(5))],
        };
        assert!(check_results("e", &events, short).is_err());
        let swapped = ExternalResults {
            results: vec![
                res("astrow:2", ExternalStatus::Stored, Some(5)),
                res("astrow:1", ExternalStatus::Stored, Some(6)),
            ],
        };
        assert!(check_results("e", &events, swapped).is_err());
        let no_seq = ExternalResults {
            results: vec![
                res("astrow:1", ExternalStatus::Duplicate, None),
                res("astrow:2", ExternalStatus::Stored, Some(6)),
            ],
        };
        assert!(check_results("e", &events, no_seq).is_err());
    }
}
