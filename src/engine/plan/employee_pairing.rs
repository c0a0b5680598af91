//! Who is whom across the two systems, as the planner decided it: the one
//! pairing the plan, the console's employee rows and the badge map that
//! bookings are sent with all use, computed once per sync.

use std::collections::{BTreeMap, BTreeSet};

use super::pairing::{PairedBy, Pairing, Side};
use crate::model::{PacId, PersNo, System};

/// A PAC employee and the Astrow employee that is the same person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmployeePair {
    pub pac: PacId,
    pub astrow: PersNo,
    /// Linked (a stored link or `external_ref`), not only a match the plan
    /// proposes to link.
    pub linked: bool,
}

/// The pairing of one plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmployeePairing {
    pub pairs: Vec<EmployeePair>,
    /// PAC employees whose Astrow employee is in dispute (several claim
    /// them, or they claim one that is linked to another), with why. Until
    /// a person resolves it, none of the claimants is theirs.
    pub conflicts: BTreeMap<PacId, String>,
}

impl EmployeePairing {
    /// The linked Astrow employee of each PAC employee whose pairing is not
    /// in dispute: whom their swipes are booked to.
    pub fn linked(&self) -> impl Iterator<Item = (PacId, PersNo)> + '_ {
        self.pairs
            .iter()
            .filter(|p| p.linked && !self.conflicts.contains_key(&p.pac))
            .map(|p| (p.pac, p.astrow))
    }
}

/// The planner's pairing (masters and slaves by index) as PAC and Astrow ids.
pub(crate) fn employee_pairing<M: Side, S: Side>(
    p: &Pairing,
    masters: &[M],
    slaves: &[S],
    master: System,
) -> EmployeePairing {
    // (PAC id, Astrow pers no) of a (master id, slave id).
    let ends = |m: u64, s: u64| match master {
        System::Pac => (PacId(m), PersNo(s)),
        System::Astrow => (PacId(s), PersNo(m)),
    };
    let mut pairs: Vec<EmployeePair> = p
        .pairs
        .iter()
        .map(|pair| {
            let (pac, astrow) = ends(masters[pair.master].id(), slaves[pair.slave].id());
            let linked = matches!(pair.by, PairedBy::Link(_) | PairedBy::Ref);
            EmployeePair {
                pac,
                astrow,
                linked,
            }
        })
        .collect();
    // A link whose master is there but no longer synced stands until the
    // plan's apply removes it.
    for l in &p.leavers {
        if let Some(m) = l.master {
            let (pac, astrow) = ends(masters[m].id(), slaves[l.slave].id());
            pairs.push(EmployeePair {
                pac,
                astrow,
                linked: true,
            });
        }
    }
    let mut claims: BTreeMap<PacId, BTreeSet<PersNo>> = BTreeMap::new();
    let mut claim = |m: u64, s: u64| {
        let (pac, astrow) = ends(m, s);
        claims.entry(pac).or_default().insert(astrow);
    };
    for c in &p.master_conflicts {
        for &s in &c.candidates {
            claim(masters[c.master].id(), slaves[s].id());
        }
    }
    // A slave naming a master that is linked to another: with PAC as the
    // slave, that PAC employee has no Astrow employee until it is resolved.
    // With Astrow as the slave, the PAC employee's link stands (the planner
    // leaves the stray record as it is).
    if master == System::Astrow {
        for c in &p.slave_conflicts {
            claim(masters[c.named_master].id(), slaves[c.slave].id());
        }
    }
    let conflicts = claims
        .into_iter()
        .map(|(pac, astrow)| (pac, conflict_reason(pac, &astrow)))
        .collect();
    EmployeePairing { pairs, conflicts }
}

fn conflict_reason(pac: PacId, astrow: &BTreeSet<PersNo>) -> String {
    let ids: Vec<String> = astrow.iter().map(|p| p.0.to_string()).collect();
    let who = match ids.len() {
        0 | 1 => format!("Astrow employee {}", ids.join("")),
        _ => format!("Astrow employees {}", ids.join(", ")),
    };
    format!(
        "PAC employee {} is in a pairing conflict with {who}: their swipes go with PAC's badge number until the conflict in the plan is resolved",
        pac.0
    )
}
