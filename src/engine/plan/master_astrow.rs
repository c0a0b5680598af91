//! Master Astrow: active Astrow employees (and inactive ones when "sync
//! inactive employees" is on) reach PAC with badge, access groups, validity
//! and `external_ref`.

use super::astrow_badges::{Fate, InStepBadges, Target, block_badge_collisions};
use super::employee_pairing::employee_pairing;
use super::employees::{Ctx, Draft, gone_fingerprint, item_key};
use super::fingerprint::{astrow_fingerprint, astrow_source_fingerprint, pac_fingerprint};
use super::pac_record::{changes, desired_pac, empty_pac, in_step};
use super::pairing::{PairedBy, Pairing, pair};
use super::text::{self, Changes};
use super::{Action, DesiredRecord, LinkedBy, PlanItem, Reason, UnmanagedEmployee};
use crate::model::{
    AstrowEmployee, LinkOrigin, PacEmployee, PacId, System, pac_ref, parse_pac_ref,
};

const MASTER: System = System::Astrow;
const SLAVE: System = System::Pac;

pub(crate) fn plan(ctx: &Ctx, draft: &mut Draft) {
    let astrow = &ctx.input.astrow.items;
    let pac = &ctx.input.pac.items;
    let sync_inactive = ctx.settings.sync_inactive_employees;
    let eligible = |a: &AstrowEmployee| a.active || sync_inactive;
    let mut pairing = pair(
        astrow,
        pac,
        &ctx.input.links,
        |l| (l.pers_no.0, l.pac_id.0),
        &eligible,
        ctx.settings.match_key,
    );
    draft.astrow_at = pairing.master_at.take();
    draft.pac_at = pairing.slave_at.take();
    draft.managed = pairing.pairs.len() + pairing.leavers.len();
    draft.pairing = employee_pairing(&pairing, astrow, pac, MASTER);

    let mut fates = vec![Fate::Rewritten; pac.len()];
    for &s in &pairing.untouched_slaves {
        fates[s] = Fate::Untouched;
    }
    plan_leavers(ctx, &pairing, &mut fates, draft);

    // Pairs already in step need no write and cost no allocation: the
    // common case of every plan. The rest become targets.
    let mut targets: Vec<Target> = Vec::new();
    let mut in_step_badges = InStepBadges::with_capacity(pairing.pairs.len());
    for p in &pairing.pairs {
        let (a, current) = (&astrow[p.master], &pac[p.slave]);
        let linked = p.by.stored_origin().is_some();
        // The fast path: a linked pair whose PAC-owned fields are in step.
        if linked
            && let Some((pp, ap)) = ctx.pair_prints(p.slave, p.master)
            && ap.pac_owned.is_some()
            && ap.pac_owned == pp.pac_owned
        {
            fates[p.slave] = Fate::InStep;
            if let Some(h) = ap.badge_hash {
                in_step_badges.push_hash(h, p.slave);
            }
            if ap.other_ref != Some(current.id.0) {
                plan_master_ref(a, current, draft);
            }
            continue;
        }
        let target = Target::new(p.master, Some(p.slave), Some(p.by), a);
        if target.blocked.is_none() && linked && in_step(ctx, a, target.badge.as_deref(), current) {
            fates[p.slave] = Fate::InStep;
            if let Some(b) = target.badge.as_deref() {
                in_step_badges.push(b, p.slave);
            }
            plan_master_ref(a, current, draft);
        } else {
            targets.push(target);
        }
    }
    targets.extend(
        pairing
            .creates
            .iter()
            .map(|&m| Target::new(m, None, None, &astrow[m])),
    );
    if ctx.has_suppressions() {
        for t in &mut targets {
            t.suppressed = ctx.is_suppressed(
                &t.key(astrow, pac),
                astrow_source_fingerprint(&astrow[t.master]),
            );
        }
    }
    block_badge_collisions(ctx, &pairing, &mut targets, &mut fates, &in_step_badges);
    for t in &targets {
        emit(ctx, t, draft);
    }
    plan_conflicts(ctx, &pairing, draft);
    draft.unmanaged = pairing
        .unmanaged
        .iter()
        .map(|&s| UnmanagedEmployee {
            system: SLAVE,
            id: pac[s].id.0,
            name: text::person(&pac[s].first_name, &pac[s].last_name),
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

pub(crate) fn describe_pac(p: &PacEmployee) -> String {
    format!(
        "PAC employee {} ({})",
        p.id,
        text::person(&p.first_name, &p.last_name)
    )
}

/// Linked PAC employees whose Astrow employee is gone, or inactive and not synced.
fn plan_leavers(ctx: &Ctx, pairing: &Pairing, fates: &mut [Fate], draft: &mut Draft) {
    let pac = &ctx.input.pac.items;
    let astrow = &ctx.input.astrow.items;
    let leavers = pairing.leavers.iter().map(|l| match l.master {
        Some(m) => (
            l.slave,
            l.master_id,
            l.origin,
            format!(
                "{} is inactive and sync inactive employees is off",
                describe(&astrow[m])
            ),
            astrow_source_fingerprint(&astrow[m]),
        ),
        None => (
            l.slave,
            l.master_id,
            l.origin,
            format!("Astrow employee {} is gone", l.master_id),
            gone_fingerprint(MASTER, l.master_id),
        ),
    });
    for (s, master_id, origin, why, source_fingerprint) in leavers {
        let p = &pac[s];
        if ctx.master_empty {
            fates[s] = Fate::Kept;
            continue;
        }
        let delete = ctx.settings.delete_employees_on_sync && origin == LinkOrigin::Created;
        let item = if delete {
            PlanItem {
                id: item_key("delete", SLAVE, p.id.0),
                action: Action::Delete,
                target: SLAVE,
                master_id: Some(master_id),
                slave_id: Some(p.id.0),
                changes: Vec::new(),
                reason: Reason::text(format!(
                    "{why} and delete employees on sync is on: delete {} (created by astrow-pac)",
                    describe_pac(p)
                )),
                destructive: true,
                target_fingerprint: Some(pac_fingerprint(p)),
                source_fingerprint,
                desired: None,
                wave: 0,
            }
        } else {
            if p.badges.is_empty() {
                continue;
            }
            let how = if ctx.settings.delete_employees_on_sync {
                format!(
                    "delete employees on sync is on, but {} was not created by astrow-pac, so it is kept",
                    describe_pac(p)
                )
            } else {
                "delete employees on sync is off".to_string()
            };
            let mut desired = p.clone();
            desired.badges.clear();
            let mut changes = Changes::default();
            changes.badges("badges", &p.badges, &[]);
            PlanItem {
                id: item_key("remove_badges", SLAVE, p.id.0),
                action: Action::RemoveBadges,
                target: SLAVE,
                master_id: Some(master_id),
                slave_id: Some(p.id.0),
                changes: changes.0,
                reason: Reason::text(format!(
                    "{why}; {how}: remove {} of {} so it opens no door, keep active",
                    text::count(p.badges.len(), "badge"),
                    describe_pac(p)
                )),
                destructive: true,
                target_fingerprint: Some(pac_fingerprint(p)),
                source_fingerprint,
                desired: Some(DesiredRecord::Pac(desired)),
                wave: 0,
            }
        };
        if ctx.is_suppressed(&item.id, item.source_fingerprint) {
            fates[s] = Fate::Kept;
        }
        draft.items.push(item);
    }
}

fn emit(ctx: &Ctx, t: &Target, draft: &mut Draft) {
    let astrow = &ctx.input.astrow.items;
    let pac = &ctx.input.pac.items;
    let a = &astrow[t.master];
    let current = t.slave.map(|s| &pac[s]);
    if let Some(why) = &t.blocked {
        draft.items.push(conflict(
            a,
            current.map(|p| p.id),
            format!("{}: {why}", describe(a)),
        ));
        return;
    }
    if let Some(known) = &ctx.settings.pac_access_group_ids {
        let unknown: Vec<u64> = a
            .pac_access_group_ids
            .iter()
            .filter(|g| !known.contains(g))
            .map(|g| u64::from(*g))
            .collect();
        if !unknown.is_empty() {
            draft.items.push(conflict(
                a,
                current.map(|p| p.id),
                format!(
                    "{} names PAC access group(s) {} that PAC does not have: correct the PAC tab in Astrow",
                    describe(a),
                    text::id_list(unknown)
                ),
            ));
            return;
        }
    }
    let linked = t.by.and_then(PairedBy::stored_origin).is_some();
    if let Some(p) = current
        && linked
        && in_step(ctx, a, t.badge.as_deref(), p)
    {
        plan_master_ref(a, p, draft);
        return;
    }
    let desired = desired_pac(ctx, a, t.badge.as_deref(), current);
    let (action, reason, changes) = match current {
        None => {
            // A new record: every field it gets, nothing before.
            let mut c = changes(&empty_pac(), &desired);
            if !desired.active {
                c.flag("active", true, false);
            }
            for change in &mut c.0 {
                change.before.clear();
            }
            let groups = text::ids(&desired.access_group_ids);
            let groups = if groups.is_empty() {
                "PAC's default".to_string()
            } else {
                groups
            };
            (
                Action::Create,
                Reason::text(format!(
                    "new in Astrow: create {} in PAC with {}, access groups {groups}, valid from {}",
                    describe(a),
                    match desired.badges.first() {
                        Some(b) => format!("badge {} ({})", b.number, b.badge_type),
                        None => "no badge".to_string(),
                    },
                    text::date(desired.valid_from)
                )),
                c,
            )
        }
        Some(p) => {
            let c = changes(p, &desired);
            if c.is_empty() && linked {
                plan_master_ref(a, p, draft);
                return;
            }
            if linked {
                (Action::Update, Reason::Changed { master: MASTER }, c)
            } else {
                let (by, number) = match t.by {
                    Some(PairedBy::EmployeeNumber) => {
                        (LinkedBy::EmployeeNumber, Some(a.employee_no.trim().into()))
                    }
                    Some(PairedBy::BadgeNumber) => (LinkedBy::BadgeNumber, None),
                    _ => (LinkedBy::ExternalRef, None),
                };
                let reason = Reason::Link {
                    master: MASTER,
                    by,
                    number,
                };
                (Action::Link, reason, c)
            }
        }
    };
    let destructive = changes.deactivates();
    draft.items.push(PlanItem {
        id: t.key(astrow, pac),
        action,
        target: SLAVE,
        master_id: Some(a.pers_no.0),
        slave_id: current.map(|p| p.id.0),
        changes: changes.0,
        reason,
        destructive,
        target_fingerprint: current.map(pac_fingerprint),
        source_fingerprint: astrow_source_fingerprint(a),
        desired: Some(DesiredRecord::Pac(desired)),
        wave: 0,
    });
    if let Some(p) = current {
        plan_master_ref(a, p, draft);
    }
}

/// Astrow carries `pac:<id>` so the link survives a lost store.
fn plan_master_ref(a: &AstrowEmployee, p: &PacEmployee, draft: &mut Draft) {
    if parse_pac_ref(a.external_ref.as_deref()) == Some(p.id) {
        return;
    }
    let after = pac_ref(p.id);
    let mut changes = Changes::default();
    changes.opt_text("external_ref", a.external_ref.as_deref(), Some(&after));
    let mut desired = a.clone();
    desired.external_ref = Some(after);
    draft.items.push(PlanItem {
        id: item_key("update", MASTER, a.pers_no.0),
        action: Action::Update,
        target: MASTER,
        master_id: Some(a.pers_no.0),
        slave_id: Some(p.id.0),
        changes: changes.0,
        reason: Reason::RecordLink {
            master: MASTER,
            other: p.id.0,
        },
        destructive: false,
        target_fingerprint: Some(astrow_fingerprint(a)),
        source_fingerprint: astrow_source_fingerprint(a),
        desired: Some(DesiredRecord::Astrow(desired)),
        wave: 0,
    });
}

fn conflict(a: &AstrowEmployee, slave: Option<PacId>, reason: String) -> PlanItem {
    PlanItem {
        id: item_key("conflict", MASTER, a.pers_no.0),
        action: Action::Conflict,
        target: SLAVE,
        master_id: Some(a.pers_no.0),
        slave_id: slave.map(|s| s.0),
        changes: Vec::new(),
        reason: Reason::text(reason),
        destructive: false,
        target_fingerprint: None,
        source_fingerprint: astrow_source_fingerprint(a),
        desired: None,
        wave: 0,
    }
}

fn plan_conflicts(ctx: &Ctx, pairing: &Pairing, draft: &mut Draft) {
    let pac = &ctx.input.pac.items;
    let astrow = &ctx.input.astrow.items;
    for c in &pairing.master_conflicts {
        let a = &astrow[c.master];
        let ids = text::id_list(c.candidates.iter().map(|&s| pac[s].id.0));
        let reason = text::ambiguous_match(&describe(a), &c.ambiguity, &ids, System::Astrow);
        draft.items.push(conflict(a, None, reason));
    }
    for c in &pairing.slave_conflicts {
        let p = &pac[c.slave];
        let a = &astrow[c.named_master];
        draft.items.push(PlanItem {
            id: item_key("conflict", SLAVE, p.id.0),
            action: Action::Conflict,
            target: SLAVE,
            master_id: Some(a.pers_no.0),
            slave_id: Some(p.id.0),
            changes: Vec::new(),
            reason: Reason::text(format!(
                "{} names {} in external_ref, but that one is linked to another PAC employee: left as it is",
                describe_pac(p),
                describe(a)
            )),
            destructive: false,
            target_fingerprint: None,
            source_fingerprint: pac_fingerprint(p),
            desired: None,
            wave: 0,
        });
    }
}
