//! Access groups and readers always flow PAC -> Astrow's mirror, under the
//! mirror's guard (plan/mirror_guard.rs): an empty PAC list is refused,
//! removals past the deletion guard wait for a person, a reader bookings
//! wait for stays.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::astrow::AstrowClient;
use crate::config::Settings;
use crate::engine::plan::{MirrorDiff, MirrorInput, MirrorWrite, mirror_write, plan_definitions};
use crate::engine::snapshot::{DefinitionsView, ReaderBookingView};
use crate::engine::store_handle::StoreHandle;
use crate::model::{AccessGroup, Direction, Reader};
use crate::pac::PacClient;

/// What the definitions job works with.
#[derive(Clone)]
pub struct DefinitionsJob {
    pub pac: PacClient,
    pub astrow: AstrowClient,
    pub store: StoreHandle,
    /// Set by a person's confirmation; cleared once the removals are written.
    pub removals_confirmed: Arc<AtomicBool>,
}

/// Both sides' lists as read, and the readers bookings wait for.
struct Read {
    pac_groups: Vec<AccessGroup>,
    pac_readers: Vec<Reader>,
    mirror_groups: Vec<AccessGroup>,
    mirror_readers: Vec<Reader>,
    waiting: BTreeSet<String>,
}

async fn read(job: &DefinitionsJob) -> Result<Read, String> {
    let (pg, pr, ag, ar) = tokio::join!(
        job.pac.access_groups(),
        job.pac.readers(),
        job.astrow.access_groups(),
        job.astrow.readers()
    );
    let waiting = job
        .store
        .call("read the readers bookings wait for", |s| {
            s.waiting_reader_serials()
        })
        .await?;
    Ok(Read {
        pac_groups: pg.map_err(|e| format!("PAC access groups: {e}"))?,
        pac_readers: pr.map_err(|e| format!("PAC readers: {e}"))?,
        mirror_groups: ag.map_err(|e| format!("Astrow's access group mirror: {e}"))?,
        mirror_readers: ar.map_err(|e| format!("Astrow's reader mirror: {e}"))?,
        waiting,
    })
}

/// Compare, write the mirror where it may, and describe what happened.
pub async fn sync(
    job: &DefinitionsJob,
    settings: &Settings,
    write: bool,
) -> Result<(String, Arc<DefinitionsView>), String> {
    let r = read(job).await?;
    let confirmed = job.removals_confirmed.load(Ordering::SeqCst);
    let plan_settings = super::employees::plan_settings(settings, None, None);
    let decided = mirror_write(&MirrorInput {
        pac_groups: &r.pac_groups,
        mirror_groups: &r.mirror_groups,
        pac_readers: &r.pac_readers,
        mirror_readers: &r.mirror_readers,
        waiting_serials: &r.waiting,
        removals_confirmed: confirmed,
        settings: &plan_settings,
    });
    for line in decided.held.iter().chain(&decided.notes) {
        tracing::warn!("definitions: {line}");
    }
    let mut described = Vec::new();
    if let Some(g) = &decided.groups {
        let d = plan_definitions(g, &r.mirror_groups, &[], &[]).access_groups;
        described.push(describe("access group", &d));
    }
    if let Some(list) = &decided.readers {
        let d = plan_definitions(&[], &[], list, &r.mirror_readers).readers;
        described.push(describe("reader", &d));
    }
    let held_note = decided
        .held
        .as_ref()
        .map_or(String::new(), |h| format!("; held: {h}"));
    let (groups, readers, summary) = if !write {
        let summary = if described.is_empty() {
            format!("Astrow's mirror matches PAC{held_note}")
        } else {
            format!(
                "read-only: not mirrored: {}{held_note}",
                described.join("; ")
            )
        };
        (r.mirror_groups.clone(), r.mirror_readers.clone(), summary)
    } else {
        write_mirror(job, &decided).await?;
        if confirmed && decided.held.is_none() {
            job.removals_confirmed.store(false, Ordering::SeqCst);
        }
        let summary = if described.is_empty() {
            format!("Astrow's mirror matches PAC{held_note}")
        } else {
            format!("mirrored into Astrow: {}{held_note}", described.join("; "))
        };
        (
            decided
                .groups
                .clone()
                .unwrap_or_else(|| r.mirror_groups.clone()),
            decided
                .readers
                .clone()
                .unwrap_or_else(|| r.mirror_readers.clone()),
            summary,
        )
    };
    let mut pending = described;
    pending.extend(decided.held.iter().chain(&decided.notes).cloned());
    let view = DefinitionsView {
        reader_settings: reader_settings(&r.pac_readers, settings),
        pac_groups: r.pac_groups,
        pac_readers: r.pac_readers,
        astrow_groups: groups,
        astrow_readers: readers,
        pending,
        held: decided.held,
    };
    Ok((summary, Arc::new(view)))
}

async fn write_mirror(job: &DefinitionsJob, decided: &MirrorWrite) -> Result<(), String> {
    if let Some(groups) = &decided.groups {
        job.astrow
            .put_access_groups(groups)
            .await
            .map_err(|e| format!("writing Astrow's access group mirror: {e}"))?;
    }
    if let Some(readers) = &decided.readers {
        job.astrow
            .put_readers(readers)
            .await
            .map_err(|e| format!("writing Astrow's reader mirror: {e}"))?;
    }
    Ok(())
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
