//! Access groups and readers always flow PAC -> Astrow's mirror, under the
//! mirror's guard (plan/mirror_guard.rs): an empty PAC list is refused,
//! removals past the deletion guard wait for a person, a reader bookings
//! wait for stays.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use crate::astrow::AstrowClient;
use crate::config::Settings;
use crate::engine::jobs::scheduler::JobDone;
use crate::engine::plan::{
    MirrorDiff, MirrorInput, MirrorWrite, RemovalDecision, mirror_write, plan_definitions,
};
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
    /// A person's decisions on held removals, by key; kept while the
    /// removal is still called for, forgotten once written or moot.
    pub decisions: MirrorDecisions,
}

/// A person's decisions on the mirror removals the guard holds, shared by
/// the command loop (which records them) and the job (which acts on them).
pub type MirrorDecisions = Arc<Mutex<BTreeMap<String, RemovalDecision>>>;

/// Both sides' lists as read, and the readers bookings wait for.
struct Read {
    pac_groups: Vec<AccessGroup>,
    pac_readers: Vec<Reader>,
    mirror_groups: Vec<AccessGroup>,
    mirror_readers: Vec<Reader>,
    waiting: BTreeSet<String>,
    /// Mirror entries removed within the rolling window.
    removed_in_window: usize,
}

async fn read(job: &DefinitionsJob, window_h: u32) -> Result<Read, String> {
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
    let since = chrono::Utc::now() - chrono::Duration::hours(i64::from(window_h));
    let removed_in_window = job
        .store
        .call("count recent mirror removals", move |s| {
            s.mirror_removals_since(since)
        })
        .await?;
    Ok(Read {
        pac_groups,
        pac_readers,
        mirror_groups,
        mirror_readers,
        waiting,
        removed_in_window,
    })
}

/// Compare, write the mirror where it may, and describe what happened.
pub async fn sync(
    job: &DefinitionsJob,
    settings: &Settings,
    write: bool,
) -> Result<(JobDone, Arc<DefinitionsView>), String> {
    let window_h = settings.sync.deletion_guard.window_h;
    let r = read(job, window_h).await?;
    let decisions = job
        .decisions
        .lock()
        .map(|d| d.clone())
        .map_err(|_| "mirror decisions unavailable: restart the engine".to_string())?;
    let plan_settings = super::employees::plan_settings(settings, None, None);
    let decided = mirror_write(&MirrorInput {
        pac_groups: &r.pac_groups,
        mirror_groups: &r.mirror_groups,
        pac_readers: &r.pac_readers,
        mirror_readers: &r.mirror_readers,
        waiting_serials: &r.waiting,
        decisions: &decisions,
        removed_in_window: r.removed_in_window,
        window_h,
        settings: &plan_settings,
    });
    for line in decided
        .refused
        .iter()
        .chain(&decided.held)
        .chain(&decided.notes)
    {
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
    let (groups, readers, summary) = if !write {
        let summary = if described.is_empty() {
            "Astrow's mirror matches PAC".to_string()
        } else {
            format!("read-only: not mirrored: {}", described.join("; "))
        };
        (r.mirror_groups.clone(), r.mirror_readers.clone(), summary)
    } else {
        write_mirror(job, &decided).await?;
        let records = mirror_audits(&r, &decided);
        if !records.is_empty() {
            let audited = job
                .store
                .call("audit the mirror write", move |s| {
                    records
                        .iter()
                        .try_for_each(|rec| s.append_audit_as(rec, AUTO).map(|_| ()))
                })
                .await;
            if let Err(e) = audited {
                tracing::warn!("definitions: the mirror write is not in the audit log: {e}");
            }
        }
        let removed = decided.removed.clone();
        if !removed.is_empty() {
            job.store
                .call("remember mirror removals", move |s| {
                    s.record_mirror_removals(&removed)
                })
                .await?;
        }
        forget_moot_decisions(job, &decided);
        let summary = if described.is_empty() {
            "Astrow's mirror matches PAC".to_string()
        } else {
            format!("mirrored into Astrow: {}", described.join("; "))
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
    let done = summarize(summary, &decided.refused, decided.held.as_deref());
    let pending = next_sync_lines(write, described, &decided);
    let view = DefinitionsView {
        reader_settings: reader_settings(&r.pac_readers, settings),
        pac_groups: r.pac_groups,
        pac_readers: r.pac_readers,
        astrow_groups: groups,
        astrow_readers: readers,
        pending,
        held: decided.held,
        refused: decided.refused,
        // Removals written just now are done: no longer to decide on.
        removals: decided
            .decided
            .into_iter()
            .filter(|h| !write || !decided.removed.contains(&h.key))
            .collect(),
    };
    Ok((done, Arc::new(view)))
}

/// The run's result: a refusal or a hold comes first and makes it a
/// warning; what was written (or that the rest matches) follows.
fn summarize(written: String, refused: &[String], held: Option<&str>) -> JobDone {
    let mut parts: Vec<String> = refused.iter().map(|r| format!("refused: {r}")).collect();
    if let Some(h) = held {
        parts.push(format!("held: {h}"));
    }
    if parts.is_empty() {
        return JobDone::from(written);
    }
    let rest = if written == "Astrow's mirror matches PAC" {
        "nothing else to mirror".to_string()
    } else {
        written
    };
    parts.push(rest);
    JobDone {
        summary: parts.join("; "),
        warning: true,
    }
}

/// What the next definitions sync will do, in words. Written changes are
/// done (the run's summary says so): after a write only what stays to
/// decide or is kept on purpose remains; without one (read-only) the
/// changes not written are still to come.
fn next_sync_lines(write: bool, described: Vec<String>, decided: &MirrorWrite) -> Vec<String> {
    let mut lines = if write { Vec::new() } else { described };
    lines.extend(
        decided
            .refused
            .iter()
            .chain(&decided.held)
            .chain(&decided.notes)
            .cloned(),
    );
    lines
}

/// Who the audit names for the mirror writes: the engine's own schedule.
const AUTO: &str = "engine (auto)";

/// The audit entries of a mirror write: one per list written, its before
/// and after as `{id: name}` (so the History shows what changed).
fn mirror_audits(r: &Read, decided: &MirrorWrite) -> Vec<crate::store::AuditRecord> {
    let mut out = Vec::new();
    if let Some(g) = &decided.groups {
        let d = plan_definitions(g, &r.mirror_groups, &[], &[]).access_groups;
        let names = |l: &[AccessGroup]| {
            l.iter()
                .map(|x| (x.id.to_string(), x.name.clone()))
                .collect()
        };
        out.push(mirror_audit(
            "access group mirror",
            names(&r.mirror_groups),
            names(g),
            &d,
        ));
    }
    if let Some(list) = &decided.readers {
        let d = plan_definitions(&[], &[], list, &r.mirror_readers).readers;
        let names = |l: &[Reader]| {
            l.iter()
                .map(|x| (x.serial.clone(), x.name.clone()))
                .collect()
        };
        out.push(mirror_audit(
            "reader mirror",
            names(&r.mirror_readers),
            names(list),
            &d,
        ));
    }
    out
}

fn mirror_audit<T>(
    record: &str,
    before: BTreeMap<String, String>,
    after: BTreeMap<String, String>,
    d: &MirrorDiff<T>,
) -> crate::store::AuditRecord {
    let json = |m: &BTreeMap<String, String>| serde_json::to_string(m).ok();
    crate::store::AuditRecord {
        system: crate::model::System::Astrow,
        action: "mirror".into(),
        record: record.into(),
        before: json(&before),
        after: json(&after),
        result: format!(
            "ok: +{} added, ~{} changed, -{} removed",
            d.added.len(),
            d.changed.len(),
            d.removed.len()
        ),
    }
}

/// Decisions on removals written now, or no longer called for, are dropped.
fn forget_moot_decisions(job: &DefinitionsJob, decided: &MirrorWrite) {
    if let Ok(mut d) = job.decisions.lock() {
        d.retain(|k, _| {
            !decided.removed.contains(k) && decided.decided.iter().any(|h| &h.key == k)
        });
    }
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

#[cfg(test)]
mod audit_tests {
    use super::*;

    #[test]
    fn a_mirror_write_is_audited_with_what_changed() {
        let g = |id, name: &str| AccessGroup {
            id,
            name: name.into(),
            is_default: false,
        };
        let r = Read {
            pac_groups: vec![g(1, "All staff"), g(2, "Office")],
            pac_readers: vec![],
            mirror_groups: vec![g(1, "All staff"), g(2, "Offices"), g(9, "Old")],
            mirror_readers: vec![],
            waiting: BTreeSet::new(),
            removed_in_window: 0,
        };
        let decided = MirrorWrite {
            groups: Some(vec![g(1, "All staff"), g(2, "Office"), g(4, "Night")]),
            ..MirrorWrite::default()
        };
        let recs = mirror_audits(&r, &decided);
        assert_eq!(recs.len(), 1, "no reader list written, no reader entry");
        let rec = &recs[0];
        assert_eq!(
            (rec.system, rec.action.as_str(), rec.record.as_str()),
            (
                crate::model::System::Astrow,
                "mirror",
                "access group mirror"
            )
        );
        assert_eq!(rec.result, "ok: +1 added, ~1 changed, -1 removed");
        let diff =
            crate::store::audit_page::diff_lines(rec.before.as_deref(), rec.after.as_deref());
        assert_eq!(
            diff,
            vec![
                "2: \"Offices\" -> \"Office\"".to_string(),
                "4: - -> \"Night\"".to_string(),
                "9: \"Old\" -> -".to_string(),
            ]
        );
    }
}

#[cfg(test)]
mod summary_tests {
    use super::{MirrorWrite, next_sync_lines, summarize};

    #[test]
    fn after_a_write_the_next_sync_has_only_what_stays_held_to_do() {
        let decided = MirrorWrite {
            held: Some("3 removals held: more than 10% of the mirror".into()),
            ..MirrorWrite::default()
        };
        let described = vec!["access groups +8 added, ~0 changed, -0 removed".to_string()];
        assert_eq!(
            next_sync_lines(true, described.clone(), &decided),
            vec!["3 removals held: more than 10% of the mirror".to_string()]
        );
        assert!(next_sync_lines(true, described.clone(), &MirrorWrite::default()).is_empty());
        // Read-only: nothing was written, so it is all still to come.
        assert_eq!(
            next_sync_lines(false, described.clone(), &MirrorWrite::default()),
            described
        );
    }

    #[test]
    fn a_refusal_or_a_hold_makes_the_run_a_warning_that_says_so_first() {
        let plain = summarize("Astrow's mirror matches PAC".into(), &[], None);
        assert!(!plain.warning);
        assert_eq!(plain.summary, "Astrow's mirror matches PAC");
        let refused = summarize(
            "Astrow's mirror matches PAC".into(),
            &["PAC listed no reader: the mirror's 8 readers are kept".into()],
            None,
        );
        assert!(refused.warning);
        assert_eq!(
            refused.summary,
            "refused: PAC listed no reader: the mirror's 8 readers are kept; nothing else to mirror"
        );
        let held = summarize(
            "mirrored into Astrow: access groups: 1 added".into(),
            &[],
            Some("5 removals from Astrow's mirror"),
        );
        assert!(held.warning);
        assert_eq!(
            held.summary,
            "held: 5 removals from Astrow's mirror; mirrored into Astrow: access groups: 1 added"
        );
    }
}
