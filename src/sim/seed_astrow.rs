//! The Astrow half of a seeded demo site: cycles, pay groups, and employees
//! that partly match the PAC site, so that a first sync has real work. The
//! same seed and PAC site give the same Astrow site.
//!
//! Of the PAC keyholders, about:
//! - 10% are missing in Astrow (the sync must create them);
//! - 45% are linked (`external_ref` "pac:<id>") and identical;
//! - 15% are linked but drifted (name, employee number, groups or active);
//! - 20% are unlinked with the same employee number (matched on first sync);
//! - 10% are unlinked with another employee number but PAC's id as badge
//!   (matched by badge).
//!
//! A PAC keyholder whose `external_ref` is "astrow:<n>" gets pers_no `n`, so
//! links hold both ways. On top come Astrow-only employees (a tenth).

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::model::{AstrowEmployee, BadgeType, CodeName, PacEmployee, PersNo};
use crate::sim::seed::PacSite;

/// What a seeded Astrow holds before the first sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AstrowSite {
    pub cycles: Vec<CodeName>,
    pub paygroups: Vec<CodeName>,
    /// Ordered by `pers_no`.
    pub employees: Vec<AstrowEmployee>,
}

impl AstrowSite {
    /// The default cycles and pay groups, no employee.
    pub fn empty() -> Self {
        AstrowSite {
            cycles: code_names(&[
                ("STD", "Standard week 40h"),
                ("SHIFT3", "Three shifts"),
                ("PART20", "Part time 20h"),
            ]),
            paygroups: code_names(&[
                ("MONTHLY", "Monthly"),
                ("WEEKLY", "Weekly"),
                ("HOURLY", "Hourly"),
            ]),
            employees: Vec::new(),
        }
    }
}

fn code_names(items: &[(&str, &str)]) -> Vec<CodeName> {
    items
        .iter()
        .map(|(c, n)| CodeName {
            code: (*c).to_string(),
            name: (*n).to_string(),
        })
        .collect()
}

const FIRST_NAMES: [&str; 12] = [
    "Maria", "Ioana", "Andrei", "Mihai", "Elena", "Radu", "Sofia", "Lucas", "Emma", "Jonas",
    "Zoltán", "Ayşe",
];
const LAST_NAMES: [&str; 12] = [
    "Popescu", "Ionescu", "Dumitru", "Stan", "Müller", "Schmidt", "Kovács", "Nagy", "Dubois",
    "Rossi", "Yılmaz", "Novák",
];

/// Build the Astrow site of `seed` around `pac`.
pub fn astrow_site(seed: u64, pac: &PacSite) -> AstrowSite {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xA57_0A57);
    let mut site = AstrowSite::empty();
    let start = NaiveDate::from_ymd_opt(2024, 1, 1);
    let reserved: Vec<u64> = pac.employees.iter().filter_map(astrow_ref).collect();
    let mut next = 1001u64;
    let fresh_pers_no = |rng_next: &mut u64| loop {
        let n = *rng_next;
        *rng_next += 1;
        if !reserved.contains(&n) {
            return PersNo(n);
        }
    };
    for p in &pac.employees {
        let roll: f64 = rng.random();
        if roll < 0.10 {
            continue;
        }
        let pers_no = astrow_ref(p).map_or_else(|| fresh_pers_no(&mut next), PersNo);
        let mut e = from_pac(p, pers_no, start, &mut rng, &site);
        if roll < 0.55 {
            // linked, identical
        } else if roll < 0.70 {
            drift(&mut e, &mut rng);
        } else if roll < 0.90 {
            e.external_ref = None;
        } else {
            e.external_ref = None;
            e.employee_no = format!("A-{:04}", pers_no.0);
        }
        site.employees.push(e);
    }
    let extra = pac.employees.len() / 10 + 1;
    for i in 0..extra {
        let pers_no = fresh_pers_no(&mut next);
        let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
        site.employees.push(AstrowEmployee {
            pers_no,
            employee_no: format!("T-{:04}", i + 1),
            first_name: first.to_string(),
            middle_name: String::new(),
            last_name: last.to_string(),
            badge_no: Some(format!("9{:06}", pers_no.0)),
            active: rng.random_bool(0.9),
            contract_start: start,
            contract_end: None,
            cycle_code: pick(&site.cycles, &mut rng),
            paygroup_code: pick(&site.paygroups, &mut rng),
            pac_access_group_ids: Vec::new(),
            pac_badge_type: None,
            external_ref: None,
            version: 1,
        });
    }
    site.employees.sort_by_key(|e| e.pers_no);
    site
}

/// `n` when the PAC keyholder's `external_ref` is "astrow:<n>".
fn astrow_ref(p: &PacEmployee) -> Option<u64> {
    p.external_ref
        .as_deref()?
        .strip_prefix("astrow:")?
        .parse()
        .ok()
}

fn pick(items: &[CodeName], rng: &mut StdRng) -> String {
    match items.len() {
        0 => String::new(),
        n => items[rng.random_range(0..n)].code.clone(),
    }
}

fn from_pac(
    p: &PacEmployee,
    pers_no: PersNo,
    start: Option<NaiveDate>,
    rng: &mut StdRng,
    site: &AstrowSite,
) -> AstrowEmployee {
    let badge_type = p
        .badges
        .iter()
        .find(|b| b.active)
        .map(|b| b.badge_type)
        .or(Some(BadgeType::PacProximity));
    AstrowEmployee {
        pers_no,
        employee_no: p.employee_number.clone(),
        first_name: p.first_name.clone(),
        middle_name: String::new(),
        last_name: p.last_name.clone(),
        // PAC's unique id is the badge number Astrow books with.
        badge_no: Some(p.id.0.to_string()),
        active: p.active,
        contract_start: p.valid_from.or(start),
        contract_end: p.valid_until,
        cycle_code: pick(&site.cycles, rng),
        paygroup_code: pick(&site.paygroups, rng),
        pac_access_group_ids: p.access_group_ids.clone(),
        pac_badge_type: badge_type,
        external_ref: Some(format!("pac:{}", p.id.0)),
        version: rng.random_range(1..6),
    }
}

fn drift(e: &mut AstrowEmployee, rng: &mut StdRng) {
    match rng.random_range(0..4u8) {
        0 => e.last_name = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())].to_string(),
        1 => e.employee_no = format!("{}-X", e.employee_no),
        2 => e.pac_access_group_ids.push(99),
        _ => e.active = !e.active,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::seed::pac_site;

    #[test]
    fn same_seed_same_site_with_every_kind_of_drift() {
        let pac = pac_site(7, 200);
        let a = astrow_site(7, &pac);
        assert_eq!(a, astrow_site(7, &pac));
        let linked = a
            .employees
            .iter()
            .filter(|e| e.external_ref.is_some())
            .count();
        let only_astrow = a
            .employees
            .iter()
            .filter(|e| e.employee_no.starts_with("T-"))
            .count();
        assert!(linked > 50 && linked < 160, "linked {linked}");
        assert!(only_astrow > 10);
        assert!(a.employees.len() < pac.employees.len() + only_astrow);
        let mut badges: Vec<_> = a
            .employees
            .iter()
            .filter_map(|e| e.badge_no.clone())
            .collect();
        badges.sort();
        badges.dedup();
        assert_eq!(badges.len(), a.employees.len(), "badges are unique");
    }
}
