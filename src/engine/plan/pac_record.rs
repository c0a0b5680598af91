//! The PAC record an Astrow employee wants (master Astrow): owned fields
//! from Astrow, the rest kept; and how it differs from what PAC holds.

use super::employees::Ctx;
use super::text::{self, Changes, sorted_ids};
use crate::model::{
    AstrowEmployee, Badge, BadgeType, PacEmployee, PacId, astrow_ref, parse_astrow_ref,
};

/// The PAC twin's owned fields from `a`; `current` is the PAC record, if any.
pub(crate) fn desired_pac(
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

pub(crate) fn changes(p: &PacEmployee, d: &PacEmployee) -> Changes {
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
pub(crate) fn in_step(ctx: &Ctx, a: &AstrowEmployee, badge: Option<&str>, p: &PacEmployee) -> bool {
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

pub(crate) fn empty_pac() -> PacEmployee {
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
