//! Which master employee belongs to which slave employee: by stored link,
//! by `external_ref` (links that survive a lost store), then by match key.
//! Generic over the direction; the master planners give it meaning.

use super::MatchKey;
use super::id_map::{FastMap, IdIndex};
use crate::model::{
    AstrowEmployee, Link, LinkOrigin, PacEmployee, normalise_badge_hex, parse_astrow_ref,
    parse_pac_ref,
};

/// What pairing needs to know of an employee record.
pub(crate) trait Side {
    fn id(&self) -> u64;
    /// The other system's id named by `external_ref`, when it is ours.
    fn other_ref(&self) -> Option<u64>;
    fn employee_number(&self) -> &str;
    /// Normalised badge numbers to match on; `as_master` adds PAC's id, which
    /// the original integration gave Astrow as badge number.
    fn badge_keys(&self, as_master: bool, out: &mut Vec<String>);
}

impl Side for PacEmployee {
    fn id(&self) -> u64 {
        self.id.0
    }
    fn other_ref(&self) -> Option<u64> {
        parse_astrow_ref(self.external_ref.as_deref()).map(|p| p.0)
    }
    fn employee_number(&self) -> &str {
        self.employee_number.trim()
    }
    fn badge_keys(&self, as_master: bool, out: &mut Vec<String>) {
        if as_master {
            out.push(self.id.0.to_string());
        }
        out.extend(
            self.badges
                .iter()
                .filter(|b| b.active)
                .filter_map(|b| normalise_badge_hex(&b.number)),
        );
    }
}

impl Side for AstrowEmployee {
    fn id(&self) -> u64 {
        self.pers_no.0
    }
    fn other_ref(&self) -> Option<u64> {
        parse_pac_ref(self.external_ref.as_deref()).map(|p| p.0)
    }
    fn employee_number(&self) -> &str {
        self.employee_no.trim()
    }
    fn badge_keys(&self, _as_master: bool, out: &mut Vec<String>) {
        if let Some(b) = self.badge_no.as_deref().and_then(normalise_badge_hex) {
            out.push(b);
        }
    }
}

/// How a pair was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PairedBy {
    /// A stored link.
    Link(LinkOrigin),
    /// `external_ref` on either side, with no stored link.
    Ref,
    EmployeeNumber,
    BadgeNumber,
}

impl PairedBy {
    pub(crate) fn stored_origin(self) -> Option<LinkOrigin> {
        match self {
            PairedBy::Link(o) => Some(o),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Pair {
    pub master: usize,
    pub slave: usize,
    pub by: PairedBy,
}

/// A linked slave employee whose master is gone, or is there but not
/// eligible (master Astrow: inactive and not synced).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Leaver {
    pub slave: usize,
    pub master_id: u64,
    pub origin: LinkOrigin,
    /// The ineligible master, when it still exists.
    pub master: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ambiguity {
    /// `external_ref`s tie the master to several slaves (or a slave to several masters).
    Refs,
    EmployeeNumber(String),
    BadgeNumber,
}

/// A master employee that could not be paired unambiguously.
#[derive(Debug, Clone)]
pub(crate) struct MasterConflict {
    pub master: usize,
    pub candidates: Vec<usize>,
    pub ambiguity: Ambiguity,
}

/// A slave employee whose `external_ref` names a master that is linked elsewhere.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlaveConflict {
    pub slave: usize,
    pub named_master: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Pairing {
    pub pairs: Vec<Pair>,
    /// Eligible master employees with no slave: to be created.
    pub creates: Vec<usize>,
    pub master_conflicts: Vec<MasterConflict>,
    pub slave_conflicts: Vec<SlaveConflict>,
    pub leavers: Vec<Leaver>,
    /// Slave employees never linked: shown, never touched.
    pub unmanaged: Vec<usize>,
    /// Slave employees that keep their record as it is (unmanaged or in
    /// conflict): their badges stay in use.
    pub untouched_slaves: Vec<usize>,
    /// Both listings indexed by id, built once: the rest of the plan looks
    /// records up in them instead of indexing again.
    pub master_at: Option<IdIndex>,
    pub slave_at: Option<IdIndex>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlaveState {
    Free,
    Paired,
    Leaver,
    InConflict,
}

/// Pair masters with slaves. `ends` gives a stored link's (master id, slave id).
pub(crate) fn pair<M: Side, S: Side>(
    masters: &[M],
    slaves: &[S],
    links: &[Link],
    ends: impl Fn(&Link) -> (u64, u64),
    eligible: &dyn Fn(&M) -> bool,
    match_key: MatchKey,
) -> Pairing {
    let master_at = IdIndex::new(masters, Side::id);
    let slave_at = IdIndex::new(slaves, Side::id);
    let mut out = Pairing::default();
    let mut master_taken = vec![false; masters.len()];
    let mut state = vec![SlaveState::Free; slaves.len()];

    // 1. Stored links: the store wins over everything else.
    out.pairs.reserve(masters.len().min(slaves.len()));
    for link in links {
        let ((mid, sid), origin) = (ends(link), link.origin);
        let Some(s) = slave_at.get(sid) else {
            continue;
        };
        if state[s] != SlaveState::Free {
            continue;
        }
        match master_at.get(mid) {
            Some(m) if !eligible(&masters[m]) => {
                master_taken[m] = true;
                state[s] = SlaveState::Leaver;
                out.leavers.push(Leaver {
                    slave: s,
                    master_id: mid,
                    origin,
                    master: Some(m),
                });
            }
            Some(m) if !master_taken[m] => {
                master_taken[m] = true;
                state[s] = SlaveState::Paired;
                out.pairs.push(Pair {
                    master: m,
                    slave: s,
                    by: PairedBy::Link(origin),
                });
            }
            Some(_) => {}
            None => {
                state[s] = SlaveState::Leaver;
                out.leavers.push(Leaver {
                    slave: s,
                    master_id: mid,
                    origin,
                    master: None,
                });
            }
        }
    }

    // 2. external_ref on either side: links that outlived a lost store. The
    // origin is unknown then, so it counts as matched (never deleted as ours).
    let mut by_master: FastMap<usize, Vec<usize>> = FastMap::default();
    let mut by_slave: FastMap<usize, Vec<usize>> = FastMap::default();
    let mut add = |m: usize, s: usize| {
        let list = by_master.entry(m).or_default();
        if !list.contains(&s) {
            list.push(s);
            by_slave.entry(s).or_default().push(m);
        }
    };
    for (s, slave) in slaves.iter().enumerate() {
        if state[s] != SlaveState::Free {
            continue;
        }
        let Some(mid) = slave.other_ref() else {
            continue;
        };
        match master_at.get(mid) {
            // Its master is there but not synced: it must not open doors,
            // whoever else is linked to that master.
            Some(m) if !eligible(&masters[m]) => {
                state[s] = SlaveState::Leaver;
                out.leavers.push(Leaver {
                    slave: s,
                    master_id: mid,
                    origin: LinkOrigin::Matched,
                    master: Some(m),
                });
            }
            Some(m) if !master_taken[m] => add(m, s),
            Some(m) => {
                state[s] = SlaveState::InConflict;
                out.slave_conflicts.push(SlaveConflict {
                    slave: s,
                    named_master: m,
                });
            }
            None => {
                state[s] = SlaveState::Leaver;
                out.leavers.push(Leaver {
                    slave: s,
                    master_id: mid,
                    origin: LinkOrigin::Matched,
                    master: None,
                });
            }
        }
    }
    // A master's own ref pairs only an eligible master: a slave whose only
    // tie is the master's word is not linked enough to be stripped.
    for (m, master) in masters.iter().enumerate() {
        if master_taken[m] || !eligible(master) {
            continue;
        }
        if let Some(s) = master.other_ref().and_then(|sid| slave_at.get(sid))
            && state[s] == SlaveState::Free
        {
            add(m, s);
        }
    }
    let mut ref_masters: Vec<usize> = by_master.keys().copied().collect();
    ref_masters.sort_unstable();
    for m in ref_masters {
        let candidates = by_master.get(&m).cloned().unwrap_or_default();
        let unique = candidates.len() == 1 && by_slave.get(&candidates[0]).map(Vec::len) == Some(1);
        master_taken[m] = true;
        if unique {
            state[candidates[0]] = SlaveState::Paired;
            out.pairs.push(Pair {
                master: m,
                slave: candidates[0],
                by: PairedBy::Ref,
            });
        } else {
            for &s in &candidates {
                state[s] = SlaveState::InConflict;
            }
            out.master_conflicts.push(MasterConflict {
                master: m,
                candidates,
                ambiguity: Ambiguity::Refs,
            });
        }
    }

    // 3. Match the remaining eligible masters by key.
    let unmatched: Vec<usize> = (0..masters.len())
        .filter(|&m| !master_taken[m] && eligible(&masters[m]))
        .collect();
    if !unmatched.is_empty() {
        match_by_key(masters, slaves, &unmatched, &mut state, match_key, &mut out);
    }

    for (s, st) in state.iter().enumerate() {
        match st {
            SlaveState::Free => {
                out.unmanaged.push(s);
                out.untouched_slaves.push(s);
            }
            SlaveState::InConflict => out.untouched_slaves.push(s),
            SlaveState::Paired | SlaveState::Leaver => {}
        }
    }
    out.master_at = Some(master_at);
    out.slave_at = Some(slave_at);
    out
}

fn match_by_key<M: Side, S: Side>(
    masters: &[M],
    slaves: &[S],
    unmatched: &[usize],
    state: &mut [SlaveState],
    match_key: MatchKey,
    out: &mut Pairing,
) {
    let mut by_number: FastMap<&str, Vec<usize>> = FastMap::default();
    let mut by_badge: FastMap<String, Vec<usize>> = FastMap::default();
    let mut keys = Vec::new();
    for (s, slave) in slaves.iter().enumerate() {
        if state[s] != SlaveState::Free {
            continue;
        }
        let number = slave.employee_number();
        if !number.is_empty() {
            by_number.entry(number).or_default().push(s);
        }
        keys.clear();
        slave.badge_keys(false, &mut keys);
        for k in keys.drain(..) {
            let list = by_badge.entry(k).or_default();
            if !list.contains(&s) {
                list.push(s);
            }
        }
    }
    let mut found: Vec<(usize, Vec<usize>, Ambiguity)> = Vec::with_capacity(unmatched.len());
    let mut claims: FastMap<usize, usize> = FastMap::default();
    for &m in unmatched {
        let master = &masters[m];
        let number = master.employee_number();
        let mut candidates = Vec::new();
        let mut via = Ambiguity::BadgeNumber;
        if match_key == MatchKey::EmployeeNumber && !number.is_empty() {
            candidates = by_number.get(number).cloned().unwrap_or_default();
            via = Ambiguity::EmployeeNumber(number.to_string());
        }
        if candidates.is_empty() {
            via = Ambiguity::BadgeNumber;
            keys.clear();
            master.badge_keys(true, &mut keys);
            for k in &keys {
                for &s in by_badge.get(k).map(Vec::as_slice).unwrap_or_default() {
                    if !candidates.contains(&s) {
                        candidates.push(s);
                    }
                }
            }
        }
        for &s in &candidates {
            *claims.entry(s).or_default() += 1;
        }
        found.push((m, candidates, via));
    }
    for (m, candidates, via) in found {
        if candidates.is_empty() {
            out.creates.push(m);
        } else if candidates.len() == 1 && claims.get(&candidates[0]) == Some(&1) {
            state[candidates[0]] = SlaveState::Paired;
            out.pairs.push(Pair {
                master: m,
                slave: candidates[0],
                by: match via {
                    Ambiguity::EmployeeNumber(_) => PairedBy::EmployeeNumber,
                    _ => PairedBy::BadgeNumber,
                },
            });
        } else {
            out.master_conflicts.push(MasterConflict {
                master: m,
                candidates,
                ambiguity: via,
            });
        }
    }
}
