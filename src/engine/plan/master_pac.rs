//! Master PAC: every PAC employee reaches Astrow.

use super::astrow_record::{
    badge_type, creation_changes, decimal_id, desired_astrow, owned_changes,
};
use super::employee_pairing::employee_pairing;
use super::employees::{Ctx, Draft, gone_fingerprint, item_key};
use super::fingerprint::{astrow_fingerprint, pac_fingerprint, pac_source_fingerprint};
use super::id_map::{FastMap, FastSet};
use super::pairing::{Pair, PairedBy, Pairing, pair};
use super::text::{self, Changes, sorted_ids};
use super::{Action, DesiredRecord, LinkedBy, PlanItem, Reason, UnmanagedEmployee};
use crate::model::{
    AstrowEmployee, PacEmployee, PersNo, System, astrow_ref, pac_ref, parse_astrow_ref,
};

const MASTER: System = System::Pac;
const SLAVE: System = System::Astrow;

pub(crate) fn plan(ctx: &Ctx, draft: &mut Draft) {
    let pac = &ctx.input.pac.items;
    let astrow = &ctx.input.astrow.items;
    let mut pairing = pair(
        pac,
        astrow,
        &ctx.input.links,
        |l| (l.pac_id.0, l.pers_no.0),
        &|_| true,
        ctx.settings.match_key,
    );
    draft.pac_at = pairing.master_at.take();
    draft.astrow_at = pairing.slave_at.take();
    draft.managed = pairing.pairs.len() + pairing.leavers.len();
    draft.pairing = employee_pairing(&pairing, pac, astrow, MASTER);

    let stripped = plan_leavers(ctx, &pairing, draft);
    for p in &pairing.pairs {
        plan_pair(ctx, p, draft);
    }
    plan_conflicts(ctx, &pairing, draft);
    plan_creates(ctx, &pairing, &stripped, draft);
    draft.unmanaged = pairing
        .unmanaged
        .iter()
        .map(|&s| UnmanagedEmployee {
            system: SLAVE,
            id: astrow[s].pers_no.0,
            name: text::person(&astrow[s].first_name, &astrow[s].last_name),
        })
        .collect();
}

fn describe(a: &AstrowEmployee) -> String {
    format!(
        "Astrow employee {} ({})",
        a.pers_no,
        text::person(&a.first_name, &a.last_name)
    )
}

fn describe_pac(p: &PacEmployee) -> String {
    format!(
        "PAC employee {} ({})",
        p.id,
        text::person(&p.first_name, &p.last_name)
    )
}

fn has_name(first: &str, last: &str) -> bool {
    !text::blank(first) || !text::blank(last)
}

/// Leavers: linked Astrow employees whose PAC employee is gone. Returns the
/// Astrow employees whose badge number is freed by this plan.
fn plan_leavers(ctx: &Ctx, pairing: &Pairing, draft: &mut Draft) -> FastSet<usize> {
    let mut freed = FastSet::default();
    if ctx.master_empty {
        return freed;
    }
    for l in &pairing.leavers {
        let a = &ctx.input.astrow.items[l.slave];
        let source_fingerprint = gone_fingerprint(MASTER, l.master_id);
        let gone = format!("PAC employee {} is gone", l.master_id);
        let item = if ctx.settings.delete_employees_on_sync {
            PlanItem {
                id: item_key("delete", SLAVE, a.pers_no.0),
                action: Action::Delete,
                target: SLAVE,
                master_id: Some(l.master_id),
                slave_id: Some(a.pers_no.0),
                changes: Vec::new(),
                reason: Reason::text(format!(
                    "{gone} and delete employees on sync is on: delete {}",
                    describe(a)
                )),
                destructive: true,
                target_fingerprint: Some(astrow_fingerprint(a)),
                source_fingerprint,
                desired: None,
                wave: 0,
            }
        } else {
            let Some(badge) = a.badge_no.as_deref().filter(|b| !b.trim().is_empty()) else {
                continue;
            };
            let mut desired = a.clone();
            desired.badge_no = None;
            let mut changes = Changes::default();
            changes.opt_text("badge_no", Some(badge), None);
            PlanItem {
                id: item_key("remove_badges", SLAVE, a.pers_no.0),
                action: Action::RemoveBadges,
                target: SLAVE,
                master_id: Some(l.master_id),
                slave_id: Some(a.pers_no.0),
                changes: changes.0,
                reason: Reason::text(format!(
                    "{gone} and delete employees on sync is off: remove badge {badge} of {}, keep active",
                    describe(a)
                )),
                destructive: true,
                target_fingerprint: Some(astrow_fingerprint(a)),
                source_fingerprint,
                desired: Some(DesiredRecord::Astrow(desired)),
                wave: 0,
            }
        };
        if !ctx.is_suppressed(&item.id, item.source_fingerprint) {
            freed.insert(l.slave);
        }
        draft.items.push(item);
    }
    freed
}

fn plan_pair(ctx: &Ctx, pair: &Pair, draft: &mut Draft) {
    let p = &ctx.input.pac.items[pair.master];
    let a = &ctx.input.astrow.items[pair.slave];
    let linked = pair.by.stored_origin().is_some();
    // The fast path: a linked pair whose owned fields are in step.
    if linked
        && let Some((pp, ap)) = ctx.pair_prints(pair.master, pair.slave)
        && pp.owned == ap.owned
    {
        if pp.other_ref != Some(a.pers_no.0) {
            plan_master_ref(p, a, draft);
        }
        return;
    }
    let changes = owned_changes(p, a);
    if changes.is_empty() && linked {
        plan_master_ref(p, a, draft);
        return;
    }
    if !has_name(&p.first_name, &p.last_name) {
        draft.items.push(conflict(
            p,
            Some(a.pers_no),
            format!(
                "{} has no first or last name: Astrow needs one, so {} is not updated",
                describe_pac(p),
                describe(a)
            ),
        ));
        return;
    }
    let (action, key, reason) = if linked {
        (
            Action::Update,
            item_key("update", SLAVE, a.pers_no.0),
            Reason::Changed { master: MASTER },
        )
    } else {
        let (by, number) = match pair.by {
            PairedBy::EmployeeNumber => (
                LinkedBy::EmployeeNumber,
                Some(p.employee_number.trim().into()),
            ),
            PairedBy::BadgeNumber => (LinkedBy::BadgeNumber, None),
            _ => (LinkedBy::ExternalRef, None),
        };
        (
            Action::Link,
            format!("link:pac:{}:astrow:{}", p.id, a.pers_no),
            Reason::Link {
                master: MASTER,
                by,
                number,
            },
        )
    };
    let destructive = changes.deactivates();
    draft.items.push(PlanItem {
        id: key,
        action,
        target: SLAVE,
        master_id: Some(p.id.0),
        slave_id: Some(a.pers_no.0),
        changes: changes.0,
        reason,
        destructive,
        target_fingerprint: Some(astrow_fingerprint(a)),
        source_fingerprint: pac_source_fingerprint(p),
        desired: Some(DesiredRecord::Astrow(desired_astrow(p, a))),
        wave: 0,
    });
    plan_master_ref(p, a, draft);
}

/// PAC carries `astrow:<pers_no>` so the link survives a lost store.
fn plan_master_ref(p: &PacEmployee, a: &AstrowEmployee, draft: &mut Draft) {
    if parse_astrow_ref(p.external_ref.as_deref()) == Some(a.pers_no) {
        return;
    }
    let after = astrow_ref(a.pers_no);
    let mut changes = Changes::default();
    changes.opt_text("external_ref", p.external_ref.as_deref(), Some(&after));
    let mut desired = p.clone();
    desired.external_ref = Some(after);
    draft.items.push(PlanItem {
        id: item_key("update", MASTER, p.id.0),
        action: Action::Update,
        target: MASTER,
        master_id: Some(p.id.0),
        slave_id: Some(a.pers_no.0),
        changes: changes.0,
        reason: Reason::RecordLink {
            master: MASTER,
            other: a.pers_no.0,
        },
        destructive: false,
        target_fingerprint: Some(pac_fingerprint(p)),
        source_fingerprint: pac_source_fingerprint(p),
        desired: Some(DesiredRecord::Pac(desired)),
        wave: 0,
    });
}

fn conflict(p: &PacEmployee, slave: Option<PersNo>, reason: String) -> PlanItem {
    PlanItem {
        id: item_key("conflict", MASTER, p.id.0),
        action: Action::Conflict,
        target: SLAVE,
        master_id: Some(p.id.0),
        slave_id: slave.map(|s| s.0),
        changes: Vec::new(),
        reason: Reason::text(reason),
        destructive: false,
        target_fingerprint: None,
        source_fingerprint: pac_source_fingerprint(p),
        desired: None,
        wave: 0,
    }
}

fn plan_conflicts(ctx: &Ctx, pairing: &Pairing, draft: &mut Draft) {
    let pac = &ctx.input.pac.items;
    let astrow = &ctx.input.astrow.items;
    for c in &pairing.master_conflicts {
        let p = &pac[c.master];
        let ids = text::id_list(c.candidates.iter().map(|&s| astrow[s].pers_no.0));
        let reason = text::ambiguous_match(&describe_pac(p), &c.ambiguity, &ids, System::Pac);
        draft.items.push(conflict(p, None, reason));
    }
    for c in &pairing.slave_conflicts {
        let a = &astrow[c.slave];
        let p = &pac[c.named_master];
        draft.items.push(PlanItem {
            id: item_key("conflict", SLAVE, a.pers_no.0),
            action: Action::Conflict,
            target: SLAVE,
            master_id: Some(p.id.0),
            slave_id: Some(a.pers_no.0),
            changes: Vec::new(),
            reason: Reason::text(format!(
                "{} names {} in external_ref, but that one is linked to another Astrow employee: left as it is",
                describe(a),
                describe_pac(p)
            )),
            destructive: false,
            target_fingerprint: None,
            source_fingerprint: astrow_fingerprint(a),
            desired: None,
            wave: 0,
        });
    }
}

/// New PAC employees: created in Astrow with contract start today, badge
/// number = PAC id, the default cycle and pay group, and the PAC tab.
fn plan_creates(ctx: &Ctx, pairing: &Pairing, freed: &FastSet<usize>, draft: &mut Draft) {
    if pairing.creates.is_empty() {
        return;
    }
    let astrow = &ctx.input.astrow.items;
    // Who already has a badge number that a new employee's PAC id would take.
    let wanted: FastSet<u64> = pairing
        .creates
        .iter()
        .map(|&m| ctx.input.pac.items[m].id.0)
        .collect();
    // Astrow compares badge numbers as they are. Lengths first: most are
    // ruled out without reading them.
    let lengths: u64 = wanted
        .iter()
        .map(|id| id.checked_ilog10().unwrap_or(0) + 1)
        .fold(0, |set, len| set | 1u64.checked_shl(len).unwrap_or(0));
    let mut badge_owner: FastMap<u64, PersNo> = FastMap::default();
    for (s, a) in astrow.iter().enumerate() {
        let Some(badge) = a.badge_no.as_deref() else {
            continue;
        };
        let len = u32::try_from(badge.len()).unwrap_or(u32::MAX);
        if lengths & 1u64.checked_shl(len).unwrap_or(0) == 0 {
            continue;
        }
        if let Some(n) = decimal_id(badge)
            && wanted.contains(&n)
            && !freed.contains(&s)
        {
            badge_owner.entry(n).or_insert(a.pers_no);
        }
    }
    let s = ctx.settings;
    for &m in &pairing.creates {
        let p = &ctx.input.pac.items[m];
        let badge = p.id.0.to_string();
        let problem = if !has_name(&p.first_name, &p.last_name) {
            Some(format!(
                "{} has no first or last name: Astrow needs one",
                describe_pac(p)
            ))
        } else if s.default_cycle_code.trim().is_empty() {
            Some(
                "astrow.default_cycle_code is not set: Astrow needs a cycle to create an employee"
                    .to_string(),
            )
        } else if s.default_paygroup_code.trim().is_empty() {
            Some("astrow.default_paygroup_code is not set: Astrow needs a pay group to create an employee".to_string())
        } else {
            badge_owner.get(&p.id.0).map(|owner| {
                format!(
                    "{} would get badge number {badge}, which Astrow employee {owner} already has",
                    describe_pac(p)
                )
            })
        };
        if let Some(reason) = problem {
            draft.items.push(conflict(p, None, reason));
            continue;
        }
        let desired = AstrowEmployee {
            pers_no: PersNo(0),
            employee_no: p.employee_number.clone(),
            first_name: p.first_name.clone(),
            middle_name: String::new(),
            last_name: p.last_name.clone(),
            badge_no: Some(badge.clone()),
            active: p.active,
            contract_start: Some(ctx.input.today),
            contract_end: None,
            cycle_code: s.default_cycle_code.clone(),
            paygroup_code: s.default_paygroup_code.clone(),
            pac_access_group_ids: sorted_ids(&p.access_group_ids),
            pac_badge_type: badge_type(p),
            external_ref: Some(pac_ref(p.id)),
            version: 0,
        };
        draft.items.push(PlanItem {
            id: format!("create:astrow:pac:{}", p.id),
            action: Action::Create,
            target: SLAVE,
            master_id: Some(p.id.0),
            slave_id: None,
            changes: creation_changes(&desired),
            reason: Reason::text(format!(
                "new in PAC: create {} in Astrow with contract start {}, badge number {badge}, cycle {}, pay group {}",
                describe_pac(p),
                ctx.input.today,
                desired.cycle_code,
                desired.paygroup_code
            )),
            destructive: false,
            target_fingerprint: None,
            source_fingerprint: pac_source_fingerprint(p),
            desired: Some(DesiredRecord::Astrow(desired)),
            wave: 0,
        });
    }
}
