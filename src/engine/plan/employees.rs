//! `plan_employees`: the entry point. Refuses incomplete listings, hands the
//! work to the planner of the configured master, then drops suppressed items,
//! orders the rest for apply and asks the deletion guard.

use super::badge_order;
use super::employee_pairing::EmployeePairing;
use super::fingerprint::Fnv;
use super::guard::guard;
use super::id_map::{FastSet, IdIndex};
use super::owned_print::{RecordPrint, listing_prints};
use super::{
    Fingerprint, Plan, PlanInput, PlanItem, PlanRefused, PlanSettings, UnmanagedEmployee,
    master_astrow, master_pac,
};
use crate::model::System;

/// Compute the employee plan. Pure: the same input gives the same plan.
pub fn plan_employees(input: &PlanInput) -> Result<Plan, PlanRefused> {
    plan_and_pair_employees(input).map(|(plan, _)| plan)
}

/// The employee plan and the pairing it was made from: the engine shares
/// that pairing with the console's rows and the booking badge map.
pub fn plan_and_pair_employees(input: &PlanInput) -> Result<(Plan, EmployeePairing), PlanRefused> {
    let master = input.settings.master;
    for system in [master, master.other()] {
        let complete = match system {
            System::Pac => input.pac.complete,
            System::Astrow => input.astrow.complete,
        };
        if !complete {
            return Err(PlanRefused::IncompleteListing { system });
        }
    }
    debug_assert!(
        prints_are_fresh(input),
        "a listing changed after with_prints"
    );
    let ctx = Ctx::new(input);
    let mut draft = Draft::default();
    match master {
        System::Pac => master_pac::plan(&ctx, &mut draft),
        System::Astrow => master_astrow::plan(&ctx, &mut draft),
    }
    draft
        .items
        .sort_by(|a, b| (a.action, &a.id).cmp(&(b.action, &b.id)));
    let pac_at = draft
        .pac_at
        .take()
        .unwrap_or_else(|| IdIndex::new(&input.pac.items, |p| p.id.0));
    let astrow_at = draft
        .astrow_at
        .take()
        .unwrap_or_else(|| IdIndex::new(&input.astrow.items, |a| a.pers_no.0));
    badge_order::order_badge_moves(
        &mut draft.items,
        (&input.pac.items, &pac_at),
        (&input.astrow.items, &astrow_at),
    );
    // The id names the work found, rejected items included: a re-plan after
    // a person rejected an item is still the same plan.
    let plan_id = plan_id(master, &draft.items);
    draft
        .items
        .retain(|i| !ctx.is_suppressed(&i.id, i.source_fingerprint));
    if ctx.master_empty {
        draft.notes.push(format!(
            "the {master} listing is empty: no employee is deleted, deactivated or stripped of badges"
        ));
    }
    let held = guard(&draft.items, draft.managed, &input.settings);
    let plan = Plan {
        plan_id,
        master,
        held,
        items: draft.items,
        unmanaged: draft.unmanaged,
        notes: draft.notes,
        managed_slave_employees: draft.managed,
    };
    Ok((plan, draft.pairing))
}

/// The prints a listing carries are those of its items as they are now.
fn prints_are_fresh(input: &PlanInput) -> bool {
    input
        .pac
        .prints()
        .is_none_or(|p| p == listing_prints(&input.pac.items).as_slice())
        && input
            .astrow
            .prints()
            .is_none_or(|p| p == listing_prints(&input.astrow.items).as_slice())
}

/// A hash of the work found: the same items (the same changes to the same
/// records as read) give the same id.
fn plan_id(master: System, items: &[PlanItem]) -> String {
    let mut h = Fnv::default();
    h.str(master.as_str());
    for i in items {
        h.str(&i.id)
            .u64(i.target_fingerprint.map_or(0, |f| f.0))
            .u64(i.source_fingerprint.0);
        for c in &i.changes {
            h.str(&c.field).str(&c.after);
        }
    }
    h.finish().to_string()
}

/// What every direction's planner reads.
pub(crate) struct Ctx<'a> {
    pub input: &'a PlanInput,
    pub settings: &'a PlanSettings,
    /// The master listing came back empty: nothing destructive is planned.
    pub master_empty: bool,
    suppressed: FastSet<(&'a str, u64)>,
    /// The fast path's record prints, when both listings carry them.
    prints: Option<(&'a [RecordPrint], &'a [RecordPrint])>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(input: &'a PlanInput) -> Self {
        let master_empty = match input.settings.master {
            System::Pac => input.pac.items.is_empty(),
            System::Astrow => input.astrow.items.is_empty(),
        };
        Ctx {
            input,
            settings: &input.settings,
            master_empty,
            suppressed: input
                .suppressions
                .iter()
                .map(|s| (s.item_key.as_str(), s.source_fingerprint.0))
                .collect(),
            prints: input.pac.prints().zip(input.astrow.prints()),
        }
    }

    /// The prints of a (PAC, Astrow) pair of records, by index.
    pub(crate) fn pair_prints(
        &self,
        pac: usize,
        astrow: usize,
    ) -> Option<(RecordPrint, RecordPrint)> {
        let (p, a) = self.prints?;
        Some((*p.get(pac)?, *a.get(astrow)?))
    }

    pub(crate) fn has_suppressions(&self) -> bool {
        !self.suppressed.is_empty()
    }

    pub(crate) fn is_suppressed(&self, key: &str, source: Fingerprint) -> bool {
        !self.suppressed.is_empty() && self.suppressed.contains(&(key, source.0))
    }
}

/// A plan being built.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub items: Vec<PlanItem>,
    pub notes: Vec<String>,
    pub unmanaged: Vec<UnmanagedEmployee>,
    pub managed: usize,
    pub pairing: EmployeePairing,
    /// The PAC and Astrow listings indexed by id (from the pairing).
    pub pac_at: Option<IdIndex>,
    pub astrow_at: Option<IdIndex>,
}

/// Item keys: action, target system, and the record it is about.
pub(crate) fn item_key(action: &str, system: System, id: u64) -> String {
    format!("{action}:{}:{id}", system.as_str())
}

/// The source fingerprint of a leaver: its master is gone, so the key is the
/// master id (a rejected delete stays rejected until the master comes back).
pub(crate) fn gone_fingerprint(master: System, master_id: u64) -> Fingerprint {
    Fnv::default()
        .str("gone")
        .str(master.as_str())
        .u64(master_id)
        .finish()
}
