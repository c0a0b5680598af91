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
        job.pac.access_groups_tolerant(),
        job.pac.readers_tolerant(),
        job.astrow.access_groups(),
        job.astrow.readers()
    );
    let waiting = job
        .store
        .call("read the readers bookings wait for", |s| {
            s.waiting_reader_serials()
        })
        .await?;
    let (mut pac_groups, groups_aside) = pg.map_err(|e| format!("PAC access groups: {e}"))?;
    let (mut pac_readers, readers_aside) = pr.map_err(|e| format!("PAC readers: {e}"))?;
    let mirror_groups = ag.map_err(|e| format!("Astrow's access group mirror: {e}"))?;
    let mirror_readers = ar.map_err(|e| format!("Astrow's reader mirror: {e}"))?;
    crate::engine::set_aside::record(&job.store, "PAC access groups", &groups_aside).await?;
    crate::engine::set_aside::record(&job.store, "PAC readers", &readers_aside).await?;
    // A record PAC sent that cannot be read is not gone: the mirror keeps
    // what it holds for it.
    keep_set_aside(&mut pac_groups, &mirror_groups, &groups_aside, |g| g.id)?;
    keep_set_aside(&mut pac_readers, &mirror_readers, &readers_aside, |r| r.id)?;
    Ok(Read {
        pac_groups,
        pac_readers,
        mirror_groups,
        mirror_readers,
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

/// Put back the mirror's record of every PAC record set aside as
/// unreadable, so the diff neither removes nor changes it; a record whose
/// id cannot be read stops the sync (it cannot be told from a removal).
fn keep_set_aside<T: Clone>(
    pac: &mut Vec<T>,
    mirror: &[T],
    aside: &[crate::http::tolerant::SetAside],
    id: impl Fn(&T) -> u32,
) -> Result<(), String> {
    for s in aside {
        let Some(sid) = s.id else {
            return Err(format!("not mirrored: {s}"));
        };
        if let Some(kept) = mirror.iter().find(|m| u64::from(id(m)) == sid) {
            pac.push(kept.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod set_aside_tests {
    use super::keep_set_aside;
    use crate::http::tolerant::SetAside;

    #[test]
    fn an_unreadable_pac_record_keeps_its_mirror_record() {
        let mirror = vec![(1u32, "a"), (2, "b")];
        let mut pac = vec![(1u32, "a")];
        let aside = [SetAside {
            listing: "PAC readers",
            id: Some(2),
            reason: "invalid type: null, expected a string".into(),
        }];
        keep_set_aside(&mut pac, &mirror, &aside, |r| r.0).unwrap();
        assert_eq!(pac, mirror);
        let no_id = [SetAside {
            id: None,
            ..aside[0].clone()
        }];
        assert!(keep_set_aside(&mut pac, &mirror, &no_id, |r| r.0).is_err());
    }
}
