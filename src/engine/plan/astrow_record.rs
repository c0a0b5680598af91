//! The Astrow record a PAC employee wants (master PAC): owned fields from
//! PAC, the rest kept; and how it differs from what Astrow holds.

use super::FieldChange;
use super::text::{self, Changes, sorted_ids};
use crate::model::{AstrowEmployee, BadgeType, PacEmployee, pac_ref, parse_pac_ref};

/// The badge type Astrow's PAC tab shows: the first active badge's, else the first badge's.
pub(crate) fn badge_type(p: &PacEmployee) -> Option<BadgeType> {
    p.badges
        .iter()
        .find(|b| b.active)
        .or_else(|| p.badges.first())
        .map(|b| b.badge_type)
}

/// The owned fields of the Astrow twin of `p`, compared with `a`.
pub(crate) fn owned_changes(p: &PacEmployee, a: &AstrowEmployee) -> Changes {
    let mut c = Changes::default();
    c.text("first_name", &a.first_name, &p.first_name);
    c.text("last_name", &a.last_name, &p.last_name);
    c.text("employee_no", &a.employee_no, &p.employee_number);
    c.flag("active", a.active, p.active);
    c.ids(
        "pac.access_group_ids",
        &a.pac_access_group_ids,
        &p.access_group_ids,
    );
    let wanted_type = badge_type(p);
    if a.pac_badge_type != wanted_type {
        c.opt_text(
            "pac.badge_type",
            a.pac_badge_type.map(BadgeType::as_str),
            wanted_type.map(BadgeType::as_str),
        );
    }
    if parse_pac_ref(a.external_ref.as_deref()) != Some(p.id) {
        c.opt_text(
            "external_ref",
            a.external_ref.as_deref(),
            Some(&pac_ref(p.id)),
        );
    }
    c
}

/// `a` with its owned fields taken from `p`; untouched fields stay.
pub(crate) fn desired_astrow(p: &PacEmployee, a: &AstrowEmployee) -> AstrowEmployee {
    let mut d = a.clone();
    d.first_name.clone_from(&p.first_name);
    d.last_name.clone_from(&p.last_name);
    d.employee_no.clone_from(&p.employee_number);
    d.active = p.active;
    if !text::same_ids(&a.pac_access_group_ids, &p.access_group_ids) {
        d.pac_access_group_ids = sorted_ids(&p.access_group_ids);
    }
    d.pac_badge_type = badge_type(p);
    if parse_pac_ref(a.external_ref.as_deref()) != Some(p.id) {
        d.external_ref = Some(pac_ref(p.id));
    }
    d
}

/// A badge number written exactly as a PAC id would be: decimal digits, no
/// leading zero, nothing around them.
pub(crate) fn decimal_id(badge: &str) -> Option<u64> {
    let digits = !badge.is_empty() && badge.bytes().all(|b| b.is_ascii_digit());
    if !digits || (badge.len() > 1 && badge.starts_with('0')) {
        return None;
    }
    badge.parse().ok()
}

pub(crate) fn creation_changes(d: &AstrowEmployee) -> Vec<FieldChange> {
    let mut c = Changes::default();
    c.text("employee_no", "", &d.employee_no);
    c.text("first_name", "", &d.first_name);
    c.text("last_name", "", &d.last_name);
    c.opt_text("badge_no", None, d.badge_no.as_deref());
    c.push("active", String::new(), text::flag(d.active));
    c.date("contract_start", None, d.contract_start);
    c.text("cycle_code", "", &d.cycle_code);
    c.text("paygroup_code", "", &d.paygroup_code);
    c.ids("pac.access_group_ids", &[], &d.pac_access_group_ids);
    c.opt_text(
        "pac.badge_type",
        None,
        d.pac_badge_type.map(BadgeType::as_str),
    );
    c.opt_text("external_ref", None, d.external_ref.as_deref());
    c.0
}
