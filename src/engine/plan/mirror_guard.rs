//! What may be written to Astrow's definitions mirror. Removals from the
//! mirror are destructive like deletions: an empty PAC list is refused
//! outright (the mirror is kept), removals past the deletion guard's count
//! OR percentage are held until a person confirms them, and a reader that
//! bookings still wait for is not removed under them. Additions and
//! changes are written in any case.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::definitions::{MirrorDiff, plan_definitions};
use super::{PlanSettings, passed_limit};
use crate::model::{AccessGroup, Reader};

/// A person's word on one held removal (by its key, see [`RemovalKey`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemovalDecision {
    /// Written by the next definitions sync (or at once with apply).
    Approved,
    /// Kept in the mirror; stays listed as rejected while PAC lacks it.
    Rejected,
}

/// Where a removal stands, as pane 4 lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemovalState {
    /// Held by the guard, waiting for a person.
    Held,
    Approved,
    Rejected,
}

/// One removal from Astrow's mirror that a person decides on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldRemoval {
    /// "reader R-5" or "access group 7": what decisions are keyed by.
    pub key: String,
    /// The entry's name, as PAC last gave it (outside text: sanitize).
    pub name: String,
    pub state: RemovalState,
}

/// The key of a reader's or an access group's removal.
pub struct RemovalKey;

impl RemovalKey {
    pub fn reader(serial: &str) -> String {
        format!("reader {serial}")
    }
    pub fn group(id: u32) -> String {
        format!("access group {id}")
    }
}

/// Everything the mirror's write is decided from.
#[derive(Debug, Clone, Copy)]
pub struct MirrorInput<'a> {
    pub pac_groups: &'a [AccessGroup],
    pub mirror_groups: &'a [AccessGroup],
    pub pac_readers: &'a [Reader],
    pub mirror_readers: &'a [Reader],
    /// Serials of readers whose swipes wait in the ledger to be booked.
    pub waiting_serials: &'a BTreeSet<String>,
    /// A person's decisions on removals, by key.
    pub decisions: &'a BTreeMap<String, RemovalDecision>,
    /// Mirror entries removed within the rolling window (`window_h`).
    pub removed_in_window: usize,
    /// `sync.deletion_guard.window_h` (0: no window).
    pub window_h: u32,
    pub settings: &'a PlanSettings,
}

/// The lists to PUT (`None`: that mirror stays as it is), and why entries
/// the PAC lists lack were kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MirrorWrite {
    pub groups: Option<Vec<AccessGroup>>,
    pub readers: Option<Vec<Reader>>,
    /// Why the guard holds removals, with the limit passed.
    pub held: Option<String>,
    /// The removals a person decides on: held, approved (written by this
    /// write) and rejected (kept).
    pub decided: Vec<HeldRemoval>,
    /// An empty PAC list refused, and what was kept, in words.
    pub refused: Vec<String>,
    /// Keeps (a reader bookings wait for), in words.
    pub notes: Vec<String>,
    /// Keys of the entries removed by this write.
    pub removed: Vec<String>,
}

/// One removal PAC's lists call for.
struct Candidate {
    key: String,
    name: String,
    group: bool,
}

/// Decide the mirror's write.
pub fn mirror_write(input: &MirrorInput<'_>) -> MirrorWrite {
    let mut out = MirrorWrite::default();
    let diff = plan_definitions(
        input.pac_groups,
        input.mirror_groups,
        input.pac_readers,
        input.mirror_readers,
    );
    let groups_refused = refused_empty(
        "access group",
        input.pac_groups.len(),
        input.mirror_groups.len(),
        &mut out,
    );
    let readers_refused = refused_empty(
        "reader",
        input.pac_readers.len(),
        input.mirror_readers.len(),
        &mut out,
    );
    // Readers bookings wait for stay while they wait.
    let (waiting, removable): (Vec<&Reader>, Vec<&Reader>) = diff
        .readers
        .removed
        .iter()
        .partition(|r| input.waiting_serials.contains(&r.serial));
    for r in &waiting {
        out.notes.push(format!(
            "reader {} ({}) is gone from PAC but kept in the mirror: bookings from it still wait to be sent",
            r.serial, r.name
        ));
    }
    let mut candidates = Vec::new();
    if !groups_refused {
        candidates.extend(diff.access_groups.removed.iter().map(|g| Candidate {
            key: RemovalKey::group(g.id),
            name: g.name.clone(),
            group: true,
        }));
    }
    if !readers_refused {
        candidates.extend(removable.iter().map(|r| Candidate {
            key: RemovalKey::reader(&r.serial),
            name: r.name.clone(),
            group: false,
        }));
    }
    let remove = decide_removals(input, &candidates, &mut out);
    if !groups_refused {
        let keep: Vec<&AccessGroup> = diff
            .access_groups
            .removed
            .iter()
            .filter(|g| !remove.contains(&RemovalKey::group(g.id)))
            .collect();
        out.groups = target(input.pac_groups, &keep, input.mirror_groups, |g| g.id);
    }
    if !readers_refused {
        let mut keep: Vec<&Reader> = waiting.clone();
        keep.extend(
            removable
                .iter()
                .copied()
                .filter(|r| !remove.contains(&RemovalKey::reader(&r.serial))),
        );
        out.readers = target(input.pac_readers, &keep, input.mirror_readers, |r| r.id);
    }
    out.removed = candidates
        .iter()
        .map(|c| c.key.clone())
        .filter(|k| remove.contains(k))
        .collect();
    out
}

/// Which candidates are removed now: the approved ones, and the undecided
/// ones unless they (with the approved ones and those removed within the
/// rolling window) pass the deletion guard, when they are held. Rejected
/// ones are kept.
fn decide_removals(
    input: &MirrorInput<'_>,
    candidates: &[Candidate],
    out: &mut MirrorWrite,
) -> BTreeSet<String> {
    let decision = |c: &Candidate| input.decisions.get(&c.key).copied();
    let open: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| decision(c).is_none())
        .collect();
    let approved = candidates
        .iter()
        .filter(|c| decision(c) == Some(RemovalDecision::Approved))
        .count();
    let mirrored = input.mirror_groups.len() + input.mirror_readers.len();
    let window = if input.window_h > 0 {
        input.removed_in_window
    } else {
        0
    };
    let total = open.len() + approved + window;
    let limit = (!open.is_empty())
        .then(|| passed_limit(total, mirrored, input.settings))
        .flatten();
    if let Some(limit) = limit {
        let groups = open.iter().filter(|c| c.group).count();
        let window_text = if window > 0 {
            format!(
                " with {window} removed in the last {} h (sync.deletion_guard.window_h)",
                input.window_h
            )
        } else {
            String::new()
        };
        out.held = Some(format!(
            "{} removals from Astrow's mirror ({groups} access groups, {} readers) of {mirrored} \
             mirrored entries{window_text} pass the deletion guard's {} (count {}, {} %): \
             kept until a person approves them in pane 4",
            open.len(),
            open.len() - groups,
            match limit {
                super::GuardLimit::Count => "count",
                super::GuardLimit::Percent => "percentage",
                super::GuardLimit::Both => "count and percentage",
            },
            input.settings.guard_count,
            input.settings.guard_percent
        ));
    }
    let mut remove = BTreeSet::new();
    for c in candidates {
        let state = match decision(c) {
            Some(RemovalDecision::Approved) => RemovalState::Approved,
            Some(RemovalDecision::Rejected) => RemovalState::Rejected,
            None if limit.is_some() => RemovalState::Held,
            None => {
                remove.insert(c.key.clone());
                continue;
            }
        };
        if state == RemovalState::Approved {
            remove.insert(c.key.clone());
        }
        out.decided.push(HeldRemoval {
            key: c.key.clone(),
            name: c.name.clone(),
            state,
        });
    }
    remove
}

/// An empty PAC list while the mirror holds entries: refused, noted.
fn refused_empty(what: &str, pac: usize, mirror: usize, out: &mut MirrorWrite) -> bool {
    if pac == 0 && mirror > 0 {
        out.refused.push(format!(
            "PAC listed no {what}: the mirror's {mirror} {what}s are kept (an empty list is refused, \
             as an empty employee listing is)"
        ));
        true
    } else {
        false
    }
}

/// PAC's list plus the kept entries, when it differs from the mirror.
fn target<T: Clone + PartialEq>(
    pac: &[T],
    keep: &[&T],
    mirror: &[T],
    id: impl Fn(&T) -> u32 + Copy,
) -> Option<Vec<T>> {
    let mut list: Vec<T> = pac.to_vec();
    list.extend(keep.iter().map(|t| (*t).clone()));
    let d: MirrorDiff<T> = super::definitions::diff_by(&list, mirror, id);
    d.put_needed.then_some(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Direction, System};

    fn settings(count: u32, percent: u8) -> PlanSettings {
        PlanSettings {
            master: System::Pac,
            delete_employees_on_sync: false,
            sync_inactive_employees: false,
            match_key: super::super::MatchKey::EmployeeNumber,
            default_cycle_code: String::new(),
            default_paygroup_code: String::new(),
            pac_default_access_group_id: None,
            pac_access_group_ids: None,
            guard_count: count,
            guard_percent: percent,
        }
    }

    fn reader(id: u32) -> Reader {
        Reader {
            id,
            name: format!("Door {id}"),
            controller_id: 1,
            controller_name: "C".into(),
            serial: format!("R-{id}"),
            direction: Direction::In,
            online: true,
        }
    }

    fn group(id: u32) -> AccessGroup {
        AccessGroup {
            id,
            name: format!("G{id}"),
            is_default: id == 1,
        }
    }

    fn run(
        pac_readers: &[Reader],
        mirror_readers: &[Reader],
        waiting: &[&str],
        decisions: &[(&str, RemovalDecision)],
    ) -> MirrorWrite {
        run_in_window(pac_readers, mirror_readers, waiting, decisions, 0)
    }

    fn run_in_window(
        pac_readers: &[Reader],
        mirror_readers: &[Reader],
        waiting: &[&str],
        decisions: &[(&str, RemovalDecision)],
        removed_in_window: usize,
    ) -> MirrorWrite {
        let waiting: BTreeSet<String> = waiting.iter().map(|s| s.to_string()).collect();
        let decisions: BTreeMap<String, RemovalDecision> = decisions
            .iter()
            .map(|(k, d)| ((*k).to_string(), *d))
            .collect();
        let groups = [group(1), group(2)];
        let s = settings(50, 10);
        mirror_write(&MirrorInput {
            pac_groups: &groups,
            mirror_groups: &groups,
            pac_readers,
            mirror_readers,
            waiting_serials: &waiting,
            decisions: &decisions,
            removed_in_window,
            window_h: 24,
            settings: &s,
        })
    }

    fn approve_all(keys: &[String]) -> Vec<(&str, RemovalDecision)> {
        keys.iter()
            .map(|k| (k.as_str(), RemovalDecision::Approved))
            .collect()
    }

    #[test]
    fn mirror_an_empty_pac_reader_list_is_refused_outright() {
        let mirror: Vec<Reader> = (1..=10).map(reader).collect();
        let keys: Vec<String> = (1..=10)
            .map(|i| RemovalKey::reader(&format!("R-{i}")))
            .collect();
        let w = run(&[], &mirror, &[], &approve_all(&keys));
        assert_eq!(w.readers, None, "nothing removed, even approved");
        assert!(w.removed.is_empty());
        assert!(
            w.refused[0].starts_with("PAC listed no reader")
                && w.refused[0].contains("10 readers are kept"),
            "{:?}",
            w.refused
        );
    }

    #[test]
    fn mirror_a_fifty_percent_drop_is_held_until_approved_one_by_one() {
        let mirror: Vec<Reader> = (1..=10).map(reader).collect();
        let pac: Vec<Reader> = (1..=5).chain([11]).map(reader).collect();
        let w = run(&pac, &mirror, &[], &[]);
        let held = w.held.clone().unwrap_or_default();
        assert!(
            held.starts_with("5 removals from Astrow's mirror (0 access groups, 5 readers) of 12"),
            "{held}"
        );
        assert!(held.contains("percentage"), "{held}");
        assert_eq!(
            w.readers.clone().unwrap_or_default().len(),
            11,
            "the addition is written, the removals kept"
        );
        assert!(w.removed.is_empty());
        assert_eq!(w.decided.len(), 5);
        assert!(w.decided.iter().all(|d| d.state == RemovalState::Held));
        // R-6 approved, R-7 rejected: R-6 goes, R-7 stays, the rest wait.
        let w = run(
            &pac,
            &mirror,
            &[],
            &[
                ("reader R-6", RemovalDecision::Approved),
                ("reader R-7", RemovalDecision::Rejected),
            ],
        );
        assert_eq!(w.removed, vec!["reader R-6".to_string()]);
        let written: Vec<String> = w
            .readers
            .unwrap_or_default()
            .iter()
            .map(|r| r.serial.clone())
            .collect();
        assert!(!written.contains(&"R-6".to_string()), "{written:?}");
        assert!(written.contains(&"R-7".to_string()), "{written:?}");
        let state = |k: &str| w.decided.iter().find(|d| d.key == k).map(|d| d.state);
        assert_eq!(state("reader R-6"), Some(RemovalState::Approved));
        assert_eq!(state("reader R-7"), Some(RemovalState::Rejected));
        assert_eq!(state("reader R-8"), Some(RemovalState::Held));
        assert!(w.held.is_some(), "4 open removals still pass 10 % of 12");
        // All approved: all go, nothing held.
        let keys: Vec<String> = (6..=10)
            .map(|i| RemovalKey::reader(&format!("R-{i}")))
            .collect();
        let w = run(&pac, &mirror, &[], &approve_all(&keys));
        assert_eq!(w.held, None);
        assert_eq!(w.readers.map(|r| r.len()), Some(6));
        assert_eq!(w.removed.len(), 5);
    }

    #[test]
    fn mirror_one_reader_per_interval_is_held_once_the_window_is_full() {
        // 40 mirrored entries, 10 %: 4 removals pass unheld, the 5th not.
        let mirror: Vec<Reader> = (1..=38).map(reader).collect();
        let pac: Vec<Reader> = (1..=37).map(reader).collect();
        let w = run_in_window(&pac, &mirror, &[], &[], 3);
        assert_eq!(w.held, None, "3 removed plus 1 is 10 % of 40");
        assert_eq!(w.removed, vec!["reader R-38".to_string()]);
        let w = run_in_window(&pac, &mirror, &[], &[], 4);
        let held = w.held.unwrap_or_default();
        assert!(held.contains("4 removed in the last 24 h"), "{held}");
        assert!(w.removed.is_empty());
        assert_eq!(w.readers, None, "the reader stays");
    }

    #[test]
    fn mirror_a_reader_bookings_wait_for_stays_until_they_are_sent() {
        let mirror: Vec<Reader> = (1..=20).map(reader).collect();
        let pac: Vec<Reader> = (1..=19).map(reader).collect();
        let w = run(&pac, &mirror, &["R-20"], &[]);
        assert_eq!(w.readers, None, "R-20 stays: the mirror is as it should be");
        assert!(w.notes[0].contains("R-20"), "{:?}", w.notes);
        let w = run(&pac, &mirror, &[], &[]);
        assert_eq!(
            w.readers.map(|r| r.len()),
            Some(19),
            "gone once nothing waits"
        );
        assert_eq!(w.removed.len(), 1);
    }
}
