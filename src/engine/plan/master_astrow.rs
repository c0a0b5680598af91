//! Master Astrow: active Astrow employees (and inactive ones when "sync
//! inactive employees" is on) reach PAC with badge, access groups, validity
//! and `external_ref`.

use std::borrow::Cow;

use super::employees::{Ctx, Draft, gone_fingerprint, item_key};
use super::fingerprint::{astrow_fingerprint, astrow_source_fingerprint, pac_fingerprint};
use super::id_map::{FastMap, map_with_capacity};
use super::pairing::{Ambiguity, DirectedLink, PairedBy, Pairing, pair};
use super::text::{self, Changes, sorted_ids};
use super::{Action, DesiredRecord, PlanItem, UnmanagedEmployee};
use crate::model::{
    AstrowEmployee, Badge, BadgeType, LinkOrigin, PacEmployee, PacId, System, astrow_ref,
    normalise_badge_hex, pac_ref, parse_astrow_ref, parse_pac_ref,
};

const MASTER: System = System::Astrow;
const SLAVE: System = System::Pac;

pub(crate) fn plan(ctx: &Ctx, draft: &mut Draft) {
    let astrow = &ctx.input.astrow.items;
    let pac = &ctx.input.pac.items;
    let links: Vec<DirectedLink> = ctx
        .input
        .links
        .iter()
        .map(|l| (l.pers_no.0, l.pac_id.0, l.origin))
        .collect();
    let sync_inactive = ctx.settings.sync_inactive_employees;
    let eligible = |a: &AstrowEmployee| a.active || sync_inactive;
    let pairing = pair(astrow, pac, &links, &eligible, ctx.settings.match_key);
    draft.managed = pairing.pairs.len() + pairing.leavers.len();

    // Badges that stay on PAC employees this plan does not rewrite.
    let mut kept: FastMap<String, usize> = FastMap::default();
    for &s in &pairing.untouched_slaves {
        keep_badges(pac, s, &mut kept);
    }
    plan_leavers(ctx, &pairing, &mut kept, draft);

    let mut targets = targets(ctx, &pairing, &eligible);
    block_badge_collisions(ctx, &mut targets, &mut kept);
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

fn describe_pac(p: &PacEmployee) -> String {
    format!(
        "PAC employee {} ({})",
        p.id,
        text::person(&p.first_name, &p.last_name)
    )
}

fn keep_badges(pac: &[PacEmployee], s: usize, kept: &mut FastMap<String, usize>) {
    for b in pac[s].badges.iter().filter(|b| b.active) {
        let number = normalise_badge_hex(&b.number).unwrap_or_else(|| b.number.clone());
        kept.entry(number).or_insert(s);
    }
}

/// Linked PAC employees whose Astrow employee is gone, or inactive and not synced.
fn plan_leavers(
    ctx: &Ctx,
    pairing: &Pairing,
    kept: &mut FastMap<String, usize>,
    draft: &mut Draft,
) {
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
            keep_badges(pac, s, kept);
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
                reason: format!(
                    "{why} and delete employees on sync is on: delete {} (created by astrow-pac)",
                    describe_pac(p)
                ),
                destructive: true,
                target_fingerprint: Some(pac_fingerprint(p)),
                source_fingerprint,
                desired: None,
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
                reason: format!(
                    "{why}; {how}: remove {} of {} so it opens no door, keep active",
                    text::count(p.badges.len(), "badge"),
                    describe_pac(p)
                ),
                destructive: true,
                target_fingerprint: Some(pac_fingerprint(p)),
                source_fingerprint,
                desired: Some(DesiredRecord::Pac(desired)),
            }
        };
        if ctx.is_suppressed(&item.id, item.source_fingerprint) {
            keep_badges(pac, s, kept);
        }
        draft.items.push(item);
    }
}

/// An Astrow employee that should have a PAC twin.
struct Target<'a> {
    master: usize,
    slave: Option<usize>,
    by: Option<PairedBy>,
    /// The PAC badge number it wants (normalised hex), if any.
    badge: Option<Cow<'a, str>>,
    /// Why it cannot be written; `Some` makes a conflict item.
    blocked: Option<String>,
    /// A person rejected this item and its source has not changed.
    suppressed: bool,
}

impl Target<'_> {
    fn key(&self, astrow: &[AstrowEmployee], pac: &[PacEmployee]) -> String {
        let a = &astrow[self.master];
        match (self.slave, self.by) {
            (None, _) => format!("create:pac:astrow:{}", a.pers_no),
            (Some(s), Some(PairedBy::Link(_))) => item_key("update", SLAVE, pac[s].id.0),
            (Some(s), _) => format!("link:astrow:{}:pac:{}", a.pers_no, pac[s].id),
        }
    }
}

/// The PAC badge number of an Astrow badge_no: `Ok(None)` when it has none,
/// `Err` when it is not hex.
fn wanted_badge(raw: Option<&str>) -> Result<Option<Cow<'_, str>>, String> {
    let Some(t) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if t.len() <= 32
        && t.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    {
        return Ok(Some(Cow::Borrowed(t)));
    }
    normalise_badge_hex(t)
        .map(|n| Some(Cow::Owned(n)))
        .ok_or_else(|| format!("badge number '{t}' is not a hex number: PAC cannot store it"))
}

fn targets<'a>(
    ctx: &'a Ctx,
    pairing: &Pairing,
    eligible: &dyn Fn(&AstrowEmployee) -> bool,
) -> Vec<Target<'a>> {
    let astrow = &ctx.input.astrow.items;
    let pac = &ctx.input.pac.items;
    let paired = pairing
        .pairs
        .iter()
        .filter(|p| eligible(&astrow[p.master]))
        .map(|p| (p.master, Some(p.slave), Some(p.by)));
    let created = pairing.creates.iter().map(|&m| (m, None, None));
    let mut out: Vec<Target<'a>> = paired
        .chain(created)
        .map(|(master, slave, by)| {
            let a = &astrow[master];
            let (badge, mut blocked) = match wanted_badge(a.badge_no.as_deref()) {
                Ok(b) => (b, None),
                Err(why) => (None, Some(why)),
            };
            if a.first_name.trim().is_empty() && a.last_name.trim().is_empty() {
                blocked = Some("it has no first or last name: PAC needs one".to_string());
            } else if let (Some(start), Some(end)) = (a.contract_start, a.contract_end)
                && end < start
            {
                blocked = Some(format!(
                    "its contract ends ({end}) before it starts ({start}): PAC refuses such validity"
                ));
            }
            Target {
                master,
                slave,
                by,
                badge,
                blocked,
                suppressed: false,
            }
        })
        .collect();
    for t in &mut out {
        let a = &astrow[t.master];
        t.suppressed = ctx.is_suppressed(&t.key(astrow, pac), astrow_source_fingerprint(a));
    }
    out
}

/// One badge number on two employees cannot be written: every Astrow
/// employee that wants a badge number held by another (or wanted by another)
/// becomes a conflict, and its PAC twin keeps the badges it has, which may
/// in turn block others: repeated until nothing changes.
fn block_badge_collisions(ctx: &Ctx, targets: &mut [Target], kept: &mut FastMap<String, usize>) {
    let astrow = &ctx.input.astrow.items;
    let pac = &ctx.input.pac.items;
    let mut wanted_by: FastMap<&str, Vec<usize>> = map_with_capacity(targets.len());
    for (i, t) in targets.iter().enumerate() {
        if let Some(b) = t.badge.as_deref() {
            wanted_by.entry(b).or_default().push(i);
        }
    }
    let mut dup: Vec<(usize, String)> = Vec::new();
    for (badge, list) in &wanted_by {
        if list.len() > 1 {
            let names = text::id_list(list.iter().map(|&i| astrow[targets[i].master].pers_no.0));
            for &i in list {
                dup.push((
                    i,
                    format!("badge number {badge} is on several Astrow employees ({names})"),
                ));
            }
        }
    }
    for (i, why) in dup {
        targets[i].blocked.get_or_insert(why);
    }
    for t in targets.iter() {
        if (t.blocked.is_some() || t.suppressed)
            && let Some(s) = t.slave
        {
            keep_badges(pac, s, kept);
        }
    }
    loop {
        let mut changed = false;
        for t in targets.iter_mut() {
            if t.blocked.is_some() || t.suppressed {
                continue;
            }
            let Some(owner) = t.badge.as_deref().and_then(|b| kept.get(b)).copied() else {
                continue;
            };
            if Some(owner) == t.slave {
                continue;
            }
            t.blocked = Some(format!(
                "its badge number {} belongs to {}",
                t.badge.as_deref().unwrap_or_default(),
                describe_pac(&pac[owner])
            ));
            if let Some(s) = t.slave {
                keep_badges(pac, s, kept);
            }
            changed = true;
        }
        if !changed {
            break;
        }
    }
}

/// The PAC twin's owned fields from `a`; `current` is the PAC record, if any.
fn desired_pac(
    ctx: &Ctx,
    a: &AstrowEmployee,
    badge: Option<&str>,
    current: Option<&PacEmployee>,
) -> PacEmployee {
    let groups = if !a.pac_access_group_ids.is_empty() {
        sorted_ids(&a.pac_access_group_ids)
    } else if let Some(d) = ctx.settings.pac_default_access_group_id {
        vec![d]
    } else {
        current
            .map(|p| p.access_group_ids.clone())
            .unwrap_or_default()
    };
    let badges = badge
        .map(|number| {
            let same = current.and_then(|p| p.badges.iter().find(|b| b.number == number));
            Badge {
                number: number.to_string(),
                badge_type: a
                    .pac_badge_type
                    .or(same.map(|b| b.badge_type))
                    .unwrap_or(BadgeType::PacProximity),
                active: true,
            }
        })
        .into_iter()
        .collect();
    PacEmployee {
        id: current.map_or(PacId(0), |p| p.id),
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        employee_number: a.employee_no.clone(),
        active: a.active,
        valid_from: a.contract_start,
        valid_until: a.contract_end,
        access_group_ids: groups,
        badges,
        external_ref: Some(astrow_ref(a.pers_no)),
        version: current.map_or(0, |p| p.version),
    }
}

fn changes(p: &PacEmployee, d: &PacEmployee) -> Changes {
    let mut c = Changes::default();
    c.text("first_name", &p.first_name, &d.first_name);
    c.text("last_name", &p.last_name, &d.last_name);
    c.text("employee_number", &p.employee_number, &d.employee_number);
    c.flag("active", p.active, d.active);
    c.date("valid_from", p.valid_from, d.valid_from);
    c.date("valid_until", p.valid_until, d.valid_until);
    c.ids("access_group_ids", &p.access_group_ids, &d.access_group_ids);
    c.badges("badges", &p.badges, &d.badges);
    if parse_astrow_ref(p.external_ref.as_deref()) != parse_astrow_ref(d.external_ref.as_deref()) {
        c.opt_text(
            "external_ref",
            p.external_ref.as_deref(),
            d.external_ref.as_deref(),
        );
    }
    c
}

/// Quick check before building a desired record: true when `p` already
/// holds what `a` wants (the common case, no allocation).
fn in_step(ctx: &Ctx, a: &AstrowEmployee, badge: Option<&str>, p: &PacEmployee) -> bool {
    let groups_ok = if !a.pac_access_group_ids.is_empty() {
        text::same_ids(&a.pac_access_group_ids, &p.access_group_ids)
    } else if let Some(d) = ctx.settings.pac_default_access_group_id {
        p.access_group_ids == [d]
    } else {
        true
    };
    let badge_ok = match (badge, p.badges.as_slice()) {
        (None, []) => true,
        (Some(n), [b]) => {
            b.number == n && b.active && a.pac_badge_type.is_none_or(|t| t == b.badge_type)
        }
        _ => false,
    };
    groups_ok
        && badge_ok
        && p.first_name == a.first_name
        && p.last_name == a.last_name
        && p.employee_number == a.employee_no
        && p.active == a.active
        && p.valid_from == a.contract_start
        && p.valid_until == a.contract_end
        && parse_astrow_ref(p.external_ref.as_deref()) == Some(a.pers_no)
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
            let c = changes(
                &PacEmployee {
                    external_ref: None,
                    ..empty_pac()
                },
                &desired,
            );
            let groups = text::ids(&desired.access_group_ids);
            let groups = if groups.is_empty() {
                "PAC's default".to_string()
            } else {
                groups
            };
            (
                Action::Create,
                format!(
                    "new in Astrow: create {} in PAC with {}, access groups {groups}, valid from {}",
                    describe(a),
                    match desired.badges.first() {
                        Some(b) => format!("badge {} ({})", b.number, b.badge_type),
                        None => "no badge".to_string(),
                    },
                    text::date(desired.valid_from)
                ),
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
                (
                    Action::Update,
                    format!("changed in Astrow: {}", c.field_names()),
                    c,
                )
            } else {
                let how = match t.by {
                    Some(PairedBy::EmployeeNumber) => {
                        format!("matched by employee number {}", a.employee_no.trim())
                    }
                    Some(PairedBy::BadgeNumber) => "matched by badge number".to_string(),
                    _ => "linked by external_ref (the store had no link)".to_string(),
                };
                let tail = if c.is_empty() {
                    String::new()
                } else {
                    format!("; update {}", c.field_names())
                };
                (
                    Action::Link,
                    format!("{} {how} with {}: link{tail}", describe(a), describe_pac(p)),
                    c,
                )
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
    });
    if let Some(p) = current {
        plan_master_ref(a, p, draft);
    }
}

fn empty_pac() -> PacEmployee {
    PacEmployee {
        id: PacId(0),
        first_name: String::new(),
        last_name: String::new(),
        employee_number: String::new(),
        active: false,
        valid_from: None,
        valid_until: None,
        access_group_ids: Vec::new(),
        badges: Vec::new(),
        external_ref: None,
        version: 0,
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
        reason: format!(
            "record the link to PAC employee {} in Astrow's external_ref, so it survives a lost store",
            p.id
        ),
        destructive: false,
        target_fingerprint: Some(astrow_fingerprint(a)),
        source_fingerprint: astrow_source_fingerprint(a),
        desired: Some(DesiredRecord::Astrow(desired)),
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
        reason,
        destructive: false,
        target_fingerprint: None,
        source_fingerprint: astrow_source_fingerprint(a),
        desired: None,
    }
}

fn plan_conflicts(ctx: &Ctx, pairing: &Pairing, draft: &mut Draft) {
    let pac = &ctx.input.pac.items;
    let astrow = &ctx.input.astrow.items;
    for c in &pairing.master_conflicts {
        let a = &astrow[c.master];
        let ids = text::id_list(c.candidates.iter().map(|&s| pac[s].id.0));
        let reason = match &c.ambiguity {
            Ambiguity::Refs => format!(
                "external_ref ties {} to more than one PAC employee ({ids}): link one by hand",
                describe(a)
            ),
            Ambiguity::EmployeeNumber(n) => format!(
                "{} matches by employee number {n} PAC employees that other Astrow employees match too, or several ({ids}): link one by hand",
                describe(a)
            ),
            Ambiguity::BadgeNumber => format!(
                "{} matches by badge number PAC employees that other Astrow employees match too, or several ({ids}): link one by hand",
                describe(a)
            ),
        };
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
            reason: format!(
                "{} names {} in external_ref, but that one is linked to another PAC employee: left as it is",
                describe_pac(p),
                describe(a)
            ),
            destructive: false,
            target_fingerprint: None,
            source_fingerprint: pac_fingerprint(p),
            desired: None,
        });
    }
}
