//! What may be written to Astrow's definitions mirror. Removals from the
//! mirror are destructive like deletions: an empty PAC list is refused
//! outright (the mirror is kept), removals past the deletion guard's count
//! OR percentage are held until a person confirms them, and a reader that
//! bookings still wait for is not removed under them. Additions and
//! changes are written in any case.

use std::collections::BTreeSet;

use super::definitions::{MirrorDiff, plan_definitions};
use super::{PlanSettings, passed_limit};
use crate::model::{AccessGroup, Reader};

/// Everything the mirror's write is decided from.
#[derive(Debug, Clone, Copy)]
pub struct MirrorInput<'a> {
    pub pac_groups: &'a [AccessGroup],
    pub mirror_groups: &'a [AccessGroup],
    pub pac_readers: &'a [Reader],
    pub mirror_readers: &'a [Reader],
    /// Serials of readers whose swipes wait in the ledger to be booked.
    pub waiting_serials: &'a BTreeSet<String>,
    /// A person confirmed the held removals.
    pub removals_confirmed: bool,
    pub settings: &'a PlanSettings,
}

/// The lists to PUT (`None`: that mirror stays as it is), and why entries
/// the PAC lists lack were kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MirrorWrite {
    pub groups: Option<Vec<AccessGroup>>,
    pub readers: Option<Vec<Reader>>,
    /// The removals the guard holds, with the limit passed.
    pub held: Option<String>,
    /// Refusals and keeps, in words.
    pub notes: Vec<String>,
    /// Entries removed by this write.
    pub removed: usize,
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
    let group_removals = if groups_refused {
        0
    } else {
        diff.access_groups.removed.len()
    };
    let reader_removals = if readers_refused { 0 } else { removable.len() };
    let removals = group_removals + reader_removals;
    let mirrored = input.mirror_groups.len() + input.mirror_readers.len();
    let hold = !input.removals_confirmed && removals > 0;
    if let Some(limit) = hold
        .then(|| passed_limit(removals, mirrored, input.settings))
        .flatten()
    {
        out.held = Some(format!(
            "{removals} removals from Astrow's mirror ({group_removals} access groups, {reader_removals} readers) \
             of {mirrored} mirrored entries pass the deletion guard's {} (count {}, {} %): \
             kept until a person confirms them",
            match limit {
                super::GuardLimit::Count => "count",
                super::GuardLimit::Percent => "percentage",
                super::GuardLimit::Both => "count and percentage",
            },
            input.settings.guard_count,
            input.settings.guard_percent
        ));
    }
    let keep_all_removed = out.held.is_some();
    if !groups_refused {
        let keep: Vec<&AccessGroup> = if keep_all_removed {
            diff.access_groups.removed.iter().collect()
        } else {
            Vec::new()
        };
        out.groups = target(input.pac_groups, &keep, input.mirror_groups, |g| g.id);
        if !keep_all_removed && out.groups.is_some() {
            out.removed += diff.access_groups.removed.len();
        }
    }
    if !readers_refused {
        let mut keep: Vec<&Reader> = waiting.clone();
        if keep_all_removed {
            keep.extend(removable.iter().copied());
        }
        out.readers = target(input.pac_readers, &keep, input.mirror_readers, |r| r.id);
        if !keep_all_removed && out.readers.is_some() {
            out.removed += removable.len();
        }
    }
    out
}

/// An empty PAC list while the mirror holds entries: refused, noted.
fn refused_empty(what: &str, pac: usize, mirror: usize, out: &mut MirrorWrite) -> bool {
    if pac == 0 && mirror > 0 {
        out.notes.push(format!(
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
        confirmed: bool,
    ) -> MirrorWrite {
        let waiting: BTreeSet<String> = waiting.iter().map(|s| s.to_string()).collect();
        let groups = [group(1), group(2)];
        let s = settings(50, 10);
        mirror_write(&MirrorInput {
            pac_groups: &groups,
            mirror_groups: &groups,
            pac_readers,
            mirror_readers,
            waiting_serials: &waiting,
            removals_confirmed: confirmed,
            settings: &s,
        })
    }

    #[test]
    fn mirror_an_empty_pac_reader_list_is_refused_outright() {
        let mirror: Vec<Reader> = (1..=10).map(reader).collect();
        let w = run(&[], &mirror, &[], true);
        assert_eq!(w.readers, None, "nothing removed, even confirmed");
        assert_eq!(w.removed, 0);
        assert!(
            w.notes[0].starts_with("PAC listed no reader"),
            "{:?}",
            w.notes
        );
    }

    #[test]
    fn mirror_a_fifty_percent_drop_is_held_until_confirmed() {
        let mirror: Vec<Reader> = (1..=10).map(reader).collect();
        let pac: Vec<Reader> = (1..=5).chain([11]).map(reader).collect();
        let w = run(&pac, &mirror, &[], false);
        let held = w.held.clone().unwrap_or_default();
        assert!(
            held.starts_with("5 removals from Astrow's mirror (0 access groups, 5 readers) of 12"),
            "{held}"
        );
        assert!(held.contains("percentage"), "{held}");
        let written = w.readers.unwrap_or_default();
        assert_eq!(
            written.len(),
            11,
            "the addition is written, the removals kept"
        );
        assert_eq!(w.removed, 0);
        let w = run(&pac, &mirror, &[], true);
        assert_eq!(w.held, None);
        assert_eq!(w.readers.map(|r| r.len()), Some(6));
        assert_eq!(w.removed, 5);
    }

    #[test]
    fn mirror_a_reader_bookings_wait_for_stays_until_they_are_sent() {
        let mirror: Vec<Reader> = (1..=20).map(reader).collect();
        let pac: Vec<Reader> = (1..=19).map(reader).collect();
        let w = run(&pac, &mirror, &["R-20"], false);
        assert_eq!(w.readers, None, "R-20 stays: the mirror is as it should be");
        assert!(w.notes[0].contains("R-20"), "{:?}", w.notes);
        let w = run(&pac, &mirror, &[], false);
        assert_eq!(
            w.readers.map(|r| r.len()),
            Some(19),
            "gone once nothing waits"
        );
        assert_eq!(w.removed, 1);
    }
}
