//! Access groups and readers always flow PAC -> Astrow's mirror.

use std::sync::Arc;

use crate::astrow::AstrowClient;
use crate::config::Settings;
use crate::engine::plan::{MirrorDiff, plan_definitions};
use crate::engine::snapshot::{DefinitionsView, ReaderBookingView};
use crate::model::{Direction, Reader};
use crate::pac::PacClient;

/// Compare, write the mirror where it differs, and describe what happened.
pub async fn sync(
    pac: &PacClient,
    astrow: &AstrowClient,
    settings: &Settings,
    write: bool,
) -> Result<(String, Arc<DefinitionsView>), String> {
    let (pg, pr, ag, ar) = tokio::join!(
        pac.access_groups(),
        pac.readers(),
        astrow.access_groups(),
        astrow.readers()
    );
    let pg = pg.map_err(|e| format!("PAC access groups: {e}"))?;
    let pr = pr.map_err(|e| format!("PAC readers: {e}"))?;
    let ag = ag.map_err(|e| format!("Astrow's access group mirror: {e}"))?;
    let ar = ar.map_err(|e| format!("Astrow's reader mirror: {e}"))?;
    let plan = plan_definitions(&pg, &ag, &pr, &ar);
    let mut done = Vec::new();
    if !write {
        let mut pending = Vec::new();
        if plan.access_groups.put_needed {
            pending.push(describe("access group", &plan.access_groups));
        }
        if plan.readers.put_needed {
            pending.push(describe("reader", &plan.readers));
        }
        let summary = if pending.is_empty() {
            "Astrow's mirror matches PAC".to_string()
        } else {
            format!("read-only: not mirrored: {}", pending.join("; "))
        };
        let view = DefinitionsView {
            reader_settings: reader_settings(&pr, settings),
            pac_groups: pg,
            pac_readers: pr,
            astrow_groups: ag,
            astrow_readers: ar,
            pending,
        };
        return Ok((summary, Arc::new(view)));
    }
    if plan.access_groups.put_needed {
        astrow
            .put_access_groups(&pg)
            .await
            .map_err(|e| format!("writing Astrow's access group mirror: {e}"))?;
        done.push(describe("access group", &plan.access_groups));
    }
    if plan.readers.put_needed {
        astrow
            .put_readers(&pr)
            .await
            .map_err(|e| format!("writing Astrow's reader mirror: {e}"))?;
        done.push(describe("reader", &plan.readers));
    }
    let view = DefinitionsView {
        astrow_groups: if plan.access_groups.put_needed {
            pg.clone()
        } else {
            ag
        },
        astrow_readers: if plan.readers.put_needed {
            pr.clone()
        } else {
            ar
        },
        reader_settings: reader_settings(&pr, settings),
        pac_groups: pg,
        pac_readers: pr,
        pending: done.clone(),
    };
    let summary = if done.is_empty() {
        "Astrow's mirror matches PAC".to_string()
    } else {
        format!("mirrored into Astrow: {}", done.join("; "))
    };
    Ok((summary, Arc::new(view)))
}

fn describe<T>(what: &str, d: &MirrorDiff<T>) -> String {
    format!(
        "{what}s +{} added, ~{} changed, -{} removed",
        d.added.len(),
        d.changed.len(),
        d.removed.len()
    )
}

/// The booking settings in force for each PAC reader (and for readers the
/// settings name that PAC does not list).
pub fn reader_settings(readers: &[Reader], s: &Settings) -> Vec<ReaderBookingView> {
    let mut out: Vec<ReaderBookingView> = readers
        .iter()
        .map(|r| {
            let rule = s.readers.get(&r.serial);
            ReaderBookingView {
                serial: r.serial.clone(),
                booking: s.bookings.enabled && rule.and_then(|x| x.booking).unwrap_or(true),
                direction: rule.and_then(|x| x.direction).unwrap_or(r.direction),
                roll_call: rule.is_some_and(|x| x.roll_call),
            }
        })
        .collect();
    for (serial, rule) in &s.readers {
        if !readers.iter().any(|r| &r.serial == serial) {
            out.push(ReaderBookingView {
                serial: serial.clone(),
                booking: s.bookings.enabled && rule.booking.unwrap_or(true),
                direction: rule.direction.unwrap_or(Direction::None),
                roll_call: rule.roll_call,
            });
        }
    }
    out
}
