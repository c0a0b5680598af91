//! Badge moves inside one plan. A badge number is on one employee at a time
//! in either system (a write taking a badge another employee holds is
//! refused, 409 `badge_in_use`). So an item that takes a badge runs after the
//! item that frees it: in a later wave, or earlier in the same wave by action
//! order. A true cycle (A and B swap badges; A->B->C->A) has no such order:
//! one item of it is split, its badge freed first by an extra step (the
//! record as read, without the badges it gives up), its own write following
//! in a later wave.

use std::collections::{BTreeMap, BTreeSet};

use super::id_map::{FastMap, IdIndex};
use super::{Action, DesiredRecord, FieldChange, PlanItem, Reason, record_fingerprint};
use crate::model::{AstrowEmployee, PacEmployee, System};

/// A badge number in one system (by the system's name).
type BadgeKey = (&'static str, String);

fn sys(s: System) -> &'static str {
    s.as_str()
}

/// The badges an item gives up and those it takes.
#[derive(Debug, Clone, Default)]
struct Move {
    frees: BTreeSet<BadgeKey>,
    takes: BTreeSet<BadgeKey>,
}

/// Order `items` (sorted by action and id) so that badges are freed before
/// they are taken, splitting cycles; sets each item's wave and sorts by
/// (wave, action, id). `pac` and `astrow` are the listings the plan was made
/// from: the records as read.
pub(crate) fn order_badge_moves(
    items: &mut Vec<PlanItem>,
    pac: (&[PacEmployee], &IdIndex),
    astrow: (&[AstrowEmployee], &IdIndex),
) {
    if !items.iter().any(|i| !badges(i.desired.as_ref()).is_empty()) {
        return;
    }
    let current = current_records(items, pac, astrow);
    let mut moves: Vec<Move> = items
        .iter()
        .map(|i| item_move(i, current_of(i, &current)))
        .collect();
    let order = loop {
        match topological(&moves) {
            Ok(order) => break order,
            Err(remaining) => {
                let k = on_cycle(&moves, &remaining);
                let Some(cur) = current_of(&items[k], &current).cloned() else {
                    // Cannot happen: an item that frees a badge was read.
                    moves[k].frees.clear();
                    continue;
                };
                let step = free_step(&items[k], &cur, &moves[k].frees);
                if let Some(d) = &step.desired {
                    items[k].target_fingerprint = Some(record_fingerprint(d));
                }
                let freed = std::mem::take(&mut moves[k].frees);
                items.push(step);
                moves.push(Move {
                    frees: freed,
                    takes: BTreeSet::new(),
                });
            }
        }
    };
    let waves = waves(items, &moves, &order);
    for (item, wave) in items.iter_mut().zip(waves) {
        item.wave = wave;
    }
    items.sort_by(|a, b| (a.wave, a.action, &a.id).cmp(&(b.wave, b.action, &b.id)));
}

/// The badge numbers a record holds.
fn badges(record: Option<&DesiredRecord>) -> BTreeSet<BadgeKey> {
    match record {
        Some(DesiredRecord::Astrow(e)) => e
            .badge_no
            .iter()
            .filter(|b| !b.is_empty())
            .map(|b| (sys(System::Astrow), b.clone()))
            .collect(),
        Some(DesiredRecord::Pac(e)) => e
            .badges
            .iter()
            .map(|b| (sys(System::Pac), b.number.clone()))
            .collect(),
        None => BTreeSet::new(),
    }
}

/// The id of the record an item writes or deletes (`None`: a create).
fn target_id(item: &PlanItem) -> Option<(&'static str, u64)> {
    match (&item.desired, item.action) {
        (_, Action::Delete) => item.slave_id.map(|id| (sys(item.target), id)),
        (_, Action::Create | Action::Conflict) | (None, _) => None,
        (Some(DesiredRecord::Pac(e)), _) => Some((sys(System::Pac), e.id.0)),
        (Some(DesiredRecord::Astrow(e)), _) => Some((sys(System::Astrow), e.pers_no.0)),
    }
}

/// The records the items target, as read: looked up by id in the listings'
/// indexes (the pairing's), not a pass over every listed record.
fn current_records(
    items: &[PlanItem],
    (pac, pac_at): (&[PacEmployee], &IdIndex),
    (astrow, astrow_at): (&[AstrowEmployee], &IdIndex),
) -> FastMap<(&'static str, u64), DesiredRecord> {
    let pac_key = sys(System::Pac);
    let mut out = FastMap::default();
    for (system, id) in items.iter().filter_map(target_id) {
        if out.contains_key(&(system, id)) {
            continue;
        }
        let record = if system == pac_key {
            pac_at.get(id).map(|i| DesiredRecord::Pac(pac[i].clone()))
        } else {
            astrow_at
                .get(id)
                .map(|i| DesiredRecord::Astrow(astrow[i].clone()))
        };
        if let Some(r) = record {
            out.insert((system, id), r);
        }
    }
    out
}

fn current_of<'a>(
    item: &PlanItem,
    current: &'a FastMap<(&'static str, u64), DesiredRecord>,
) -> Option<&'a DesiredRecord> {
    target_id(item).and_then(|k| current.get(&k))
}

/// What an item does to badges: a delete frees all; a write frees what it
/// drops and takes what it adds; a link without changes writes nothing.
fn item_move(item: &PlanItem, current: Option<&DesiredRecord>) -> Move {
    let before = badges(current);
    let after = match item.action {
        Action::Conflict => return Move::default(),
        Action::Link if item.changes.is_empty() => return Move::default(),
        Action::Delete => BTreeSet::new(),
        _ => badges(item.desired.as_ref()),
    };
    Move {
        frees: before.difference(&after).cloned().collect(),
        takes: after.difference(&before).cloned().collect(),
    }
}

/// For each item, the items that must run before it (they free a badge it takes).
fn predecessors(moves: &[Move]) -> Vec<BTreeSet<usize>> {
    let mut freed_by: BTreeMap<&BadgeKey, Vec<usize>> = BTreeMap::new();
    for (i, m) in moves.iter().enumerate() {
        for b in &m.frees {
            freed_by.entry(b).or_default().push(i);
        }
    }
    moves
        .iter()
        .enumerate()
        .map(|(t, m)| {
            m.takes
                .iter()
                .flat_map(|b| freed_by.get(b).into_iter().flatten().copied())
                .filter(|&f| f != t)
                .collect()
        })
        .collect()
}

/// A topological order of the items, or the items left on or behind a cycle.
fn topological(moves: &[Move]) -> Result<Vec<usize>, BTreeSet<usize>> {
    let preds = predecessors(moves);
    let mut waiting: Vec<usize> = preds.iter().map(BTreeSet::len).collect();
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); moves.len()];
    for (t, ps) in preds.iter().enumerate() {
        for &f in ps {
            succs[f].push(t);
        }
    }
    let mut ready: Vec<usize> = (0..moves.len()).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(moves.len());
    while let Some(i) = ready.pop() {
        order.push(i);
        for &t in &succs[i] {
            waiting[t] -= 1;
            if waiting[t] == 0 {
                ready.push(t);
            }
        }
    }
    if order.len() == moves.len() {
        Ok(order)
    } else {
        let done: BTreeSet<usize> = order.into_iter().collect();
        Err((0..moves.len()).filter(|i| !done.contains(i)).collect())
    }
}

/// An item on a cycle among `remaining` (each of which waits for another of
/// them): walk back through predecessors until one repeats.
fn on_cycle(moves: &[Move], remaining: &BTreeSet<usize>) -> usize {
    let preds = predecessors(moves);
    let Some(&start) = remaining.iter().next() else {
        return 0;
    };
    let mut seen = BTreeSet::new();
    let mut at = start;
    while seen.insert(at) {
        match preds[at].iter().find(|p| remaining.contains(p)) {
            Some(&p) => at = p,
            None => break,
        }
    }
    at
}

/// The extra step that frees an item's badges first: the record as read,
/// without them.
fn free_step(item: &PlanItem, current: &DesiredRecord, frees: &BTreeSet<BadgeKey>) -> PlanItem {
    let numbers: Vec<&str> = frees.iter().map(|(_, n)| n.as_str()).collect();
    let (desired, change) = match current {
        DesiredRecord::Astrow(e) => {
            let mut next = e.clone();
            next.badge_no = None;
            let change = FieldChange {
                field: "badge_no".into(),
                before: e.badge_no.clone().unwrap_or_default(),
                after: String::new(),
            };
            (DesiredRecord::Astrow(next), change)
        }
        DesiredRecord::Pac(e) => {
            let mut next = e.clone();
            next.badges
                .retain(|b| !frees.contains(&(sys(System::Pac), b.number.clone())));
            let list = |v: &[crate::model::Badge]| {
                v.iter()
                    .map(|b| b.number.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let change = FieldChange {
                field: "badges".into(),
                before: list(&e.badges),
                after: list(&next.badges),
            };
            (DesiredRecord::Pac(next), change)
        }
    };
    PlanItem {
        id: format!("{}:free-badge", item.id),
        action: Action::Update,
        target: item.target,
        master_id: item.master_id,
        slave_id: item.slave_id,
        changes: vec![change],
        reason: Reason::text(format!(
            "badges change hands in a cycle: badge {} is freed first so that another employee can take it; \
             this employee's own badge follows in the same apply",
            numbers.join(", ")
        )),
        destructive: false,
        target_fingerprint: item.target_fingerprint,
        source_fingerprint: item.source_fingerprint,
        desired: Some(desired),
        wave: 0,
    }
}

/// Each item's wave: after every item it waits for, strictly later when
/// that item's action does not already run first within a wave.
fn waves(items: &[PlanItem], moves: &[Move], order: &[usize]) -> Vec<u32> {
    let preds = predecessors(moves);
    let mut wave = vec![0u32; items.len()];
    for &t in order {
        let w = preds[t]
            .iter()
            .map(|&f| wave[f] + u32::from(items[f].action >= items[t].action))
            .max()
            .unwrap_or(0);
        wave[t] = w;
    }
    wave
}
