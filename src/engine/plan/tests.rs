//! One named test per rule of design.md's "Sync semantics".

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;
use crate::model::{
    AstrowEmployee, Badge, BadgeType, Link, LinkOrigin, PacEmployee, PacId, PersNo, System,
};

/// An item's reason in words (names are not known here: persons by id).
fn why(item: &PlanItem) -> String {
    item.reason_text(&no_names)
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default()
}

fn settings(master: System) -> PlanSettings {
    PlanSettings {
        master,
        delete_employees_on_sync: false,
        sync_inactive_employees: false,
        match_key: MatchKey::EmployeeNumber,
        default_cycle_code: "STD".into(),
        default_paygroup_code: "MONTHLY".into(),
        pac_default_access_group_id: Some(1),
        pac_access_group_ids: None,
        guard_count: 100,
        guard_percent: 100,
    }
}

fn pac(id: u64, name: &str, number: &str) -> PacEmployee {
    PacEmployee {
        id: PacId(id),
        first_name: name.into(),
        last_name: "Pop".into(),
        employee_number: number.into(),
        active: true,
        valid_from: None,
        valid_until: None,
        access_group_ids: vec![4],
        badges: vec![Badge {
            number: format!("AB{id:04}"),
            badge_type: BadgeType::PacProximity,
            active: true,
        }],
        external_ref: None,
        version: 1,
    }
}

fn astrow(pers_no: u64, name: &str, number: &str) -> AstrowEmployee {
    AstrowEmployee {
        pers_no: PersNo(pers_no),
        employee_no: number.into(),
        first_name: name.into(),
        middle_name: String::new(),
        last_name: "Pop".into(),
        badge_no: Some(format!("{}", 9000 + pers_no)),
        active: true,
        contract_start: NaiveDate::from_ymd_opt(2026, 1, 1),
        contract_end: None,
        cycle_code: "NIGHT".into(),
        paygroup_code: "WEEKLY".into(),
        pac_access_group_ids: vec![4],
        pac_badge_type: Some(BadgeType::PacProximity),
        external_ref: None,
        version: 1,
    }
}

fn link(pac_id: u64, pers_no: u64, origin: LinkOrigin) -> Link {
    Link {
        pac_id: PacId(pac_id),
        pers_no: PersNo(pers_no),
        origin,
        at: Utc
            .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .single()
            .unwrap_or_default(),
    }
}

/// A PAC and an Astrow employee in step, linked both in the store and by external_ref.
fn linked_pair(id: u64, pers_no: u64, origin: LinkOrigin) -> (PacEmployee, AstrowEmployee, Link) {
    let mut p = pac(id, "Ana", &format!("E-{id}"));
    let mut a = astrow(pers_no, "Ana", &format!("E-{id}"));
    p.external_ref = Some(format!("astrow:{pers_no}"));
    a.external_ref = Some(format!("pac:{id}"));
    a.pac_access_group_ids = p.access_group_ids.clone();
    p.valid_from = a.contract_start;
    a.badge_no = Some(format!("{id}"));
    p.badges[0].number = format!("{id}");
    (p, a, link(id, pers_no, origin))
}

fn input(
    master: System,
    pac: Vec<PacEmployee>,
    astrow: Vec<AstrowEmployee>,
    links: Vec<Link>,
) -> PlanInput {
    PlanInput {
        pac: Listing::complete(pac),
        astrow: Listing::complete(astrow),
        links,
        suppressions: Vec::new(),
        today: today(),
        settings: settings(master),
    }
}

fn plan(input: &PlanInput) -> Plan {
    match plan_employees(input) {
        Ok(p) => p,
        Err(e) => panic!("plan refused: {e}"),
    }
}

fn only(plan: &Plan) -> &PlanItem {
    assert_eq!(plan.items.len(), 1, "items: {:#?}", plan.items);
    &plan.items[0]
}

fn change<'a>(item: &'a PlanItem, field: &str) -> Option<(&'a str, &'a str)> {
    item.changes
        .iter()
        .find(|c| c.field == field)
        .map(|c| (c.before.as_str(), c.after.as_str()))
}

fn desired_astrow(item: &PlanItem) -> &AstrowEmployee {
    match &item.desired {
        Some(DesiredRecord::Astrow(a)) => a,
        other => panic!("expected an Astrow record, got {other:?}"),
    }
}

fn desired_pac(item: &PlanItem) -> &PacEmployee {
    match &item.desired {
        Some(DesiredRecord::Pac(p)) => p,
        other => panic!("expected a PAC record, got {other:?}"),
    }
}

// ---- Links -------------------------------------------------------------

#[test]
fn links_linked_pair_in_step_plans_nothing() {
    for master in [System::Pac, System::Astrow] {
        let (p, a, l) = linked_pair(10, 1001, LinkOrigin::Created);
        let plan = plan(&input(master, vec![p], vec![a], vec![l]));
        assert!(plan.items.is_empty(), "{master}: {:#?}", plan.items);
        assert_eq!(plan.managed_slave_employees, 1);
    }
}

#[test]
fn links_survive_a_lost_store_through_external_ref() {
    for master in [System::Pac, System::Astrow] {
        let (p, a, _) = linked_pair(10, 1001, LinkOrigin::Created);
        let plan = plan(&input(master, vec![p], vec![a], vec![]));
        let item = only(&plan);
        assert_eq!(item.action, Action::Link, "{master}");
        assert!(item.changes.is_empty());
        assert!(why(item).contains("external_ref"), "{}", why(item));
    }
}

#[test]
fn links_unmanaged_slave_employee_is_listed_and_never_touched() {
    let mut input = input(
        System::Pac,
        vec![pac(10, "Ana", "E-1")],
        vec![astrow(7, "Bo", "X-9")],
        vec![],
    );
    input.settings.delete_employees_on_sync = true;
    let plan = plan(&input);
    assert_eq!(plan.unmanaged.len(), 1);
    assert_eq!(plan.unmanaged[0].id, 7);
    assert!(plan.items.iter().all(|i| i.slave_id != Some(7)));
    assert_eq!(only(&plan).action, Action::Create);

    let mut input = self::input(
        System::Astrow,
        vec![pac(7, "Bo", "X-9")],
        vec![astrow(10, "Ana", "E-1")],
        vec![],
    );
    input.settings.delete_employees_on_sync = true;
    let plan = self::plan(&input);
    assert_eq!(plan.unmanaged.len(), 1);
    assert!(plan.items.iter().all(|i| i.slave_id != Some(7)));
}

#[test]
fn links_matching_uses_the_employee_number_by_default() {
    let plan = plan(&input(
        System::Pac,
        vec![pac(10, "Ana", "E-0042")],
        vec![astrow(1001, "Ana", "E-0042")],
        vec![],
    ));
    let link = plan.items.iter().find(|i| i.action == Action::Link);
    let link = link.unwrap_or_else(|| panic!("no link item: {:#?}", plan.items));
    assert_eq!((link.master_id, link.slave_id), (Some(10), Some(1001)));
    assert!(
        why(link).contains("employee number E-0042"),
        "{}",
        why(link)
    );
    assert_eq!(change(link, "external_ref"), Some(("", "pac:10")));
    // PAC learns the pers_no too.
    assert!(
        plan.items
            .iter()
            .any(|i| i.target == System::Pac
                && change(i, "external_ref") == Some(("", "astrow:1001")))
    );
}

#[test]
fn links_matching_falls_back_to_the_badge_number() {
    let mut p = pac(10, "Ana", "");
    p.badges[0].number = "00A1".into();
    let mut a = astrow(1001, "Ana", "");
    a.badge_no = Some("00a1".into());
    let plan = plan(&input(System::Pac, vec![p], vec![a], vec![]));
    assert!(
        plan.items
            .iter()
            .any(|i| i.action == Action::Link && why(i).contains("badge number"))
    );
}

#[test]
fn links_match_key_badge_number_ignores_employee_numbers() {
    let mut input = input(
        System::Pac,
        vec![pac(10, "Ana", "E-1")],
        vec![astrow(1001, "Ana", "E-1")],
        vec![],
    );
    input.settings.match_key = MatchKey::BadgeNumber;
    let plan = plan(&input);
    assert_eq!(only(&plan).action, Action::Create);
}

#[test]
fn links_two_candidates_make_a_conflict_item() {
    for master in [System::Pac, System::Astrow] {
        let (pacs, astrows) = match master {
            System::Pac => (
                vec![pac(10, "Ana", "E-1")],
                vec![astrow(1, "Ana", "E-1"), astrow(2, "Ana", "E-1")],
            ),
            System::Astrow => (
                vec![pac(1, "Ana", "E-1"), pac(2, "Ana", "E-1")],
                vec![astrow(10, "Ana", "E-1")],
            ),
        };
        let plan = plan(&input(master, pacs, astrows, vec![]));
        let item = only(&plan);
        assert_eq!(item.action, Action::Conflict, "{master}");
        assert!(why(item).contains("1, 2"), "{}", why(item));
        assert_eq!(
            plan.unmanaged.len(),
            2,
            "candidates stay unmanaged until a person links one"
        );
    }
}

#[test]
fn links_a_slave_naming_a_master_linked_elsewhere_is_a_conflict() {
    let (p, a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    let mut stray = astrow(1002, "Ana", "E-10");
    stray.external_ref = Some("pac:10".into());
    let mut input = input(System::Pac, vec![p], vec![a, stray], vec![l]);
    input.settings.delete_employees_on_sync = true;
    let plan = plan(&input);
    let item = only(&plan);
    assert_eq!((item.action, item.slave_id), (Action::Conflict, Some(1002)));
}

// ---- Master PAC ----------------------------------------------------------

#[test]
fn master_pac_every_pac_employee_reaches_astrow_even_inactive() {
    let mut p = pac(10, "Ana", "E-1");
    p.active = false;
    let plan = plan(&input(System::Pac, vec![p], vec![], vec![]));
    let item = only(&plan);
    assert_eq!((item.action, item.target), (Action::Create, System::Astrow));
    assert!(!desired_astrow(item).active);
    assert!(!item.destructive);
}

#[test]
fn master_pac_creation_defaults() {
    let mut p = pac(10231, "Ana", "E-0042");
    p.access_group_ids = vec![4, 1];
    p.badges[0].badge_type = BadgeType::Oneprox;
    let plan = plan(&input(System::Pac, vec![p], vec![], vec![]));
    let item = only(&plan);
    let a = desired_astrow(item);
    assert_eq!(a.contract_start, Some(today()));
    assert_eq!(a.badge_no.as_deref(), Some("10231"));
    assert_eq!(
        (a.cycle_code.as_str(), a.paygroup_code.as_str()),
        ("STD", "MONTHLY")
    );
    assert_eq!(a.pac_access_group_ids, vec![1, 4]);
    assert_eq!(a.pac_badge_type, Some(BadgeType::Oneprox));
    assert_eq!(a.external_ref.as_deref(), Some("pac:10231"));
    assert_eq!(item.id, "create:astrow:pac:10231");
    assert_eq!(item.target_fingerprint, None);
    assert!(
        why(item).contains("contract start 2026-11-28"),
        "{}",
        why(item)
    );
}

#[test]
fn master_pac_changes_to_owned_fields_update_astrow() {
    let (mut p, a, l) = linked_pair(10, 1001, LinkOrigin::Matched);
    p.first_name = "Anna".into();
    p.last_name = "Popa".into();
    p.employee_number = "E-99".into();
    p.access_group_ids = vec![4, 5];
    p.badges[0].badge_type = BadgeType::Wiegand2601;
    let plan = plan(&input(System::Pac, vec![p], vec![a.clone()], vec![l]));
    let item = only(&plan);
    assert_eq!((item.action, item.target), (Action::Update, System::Astrow));
    let fields: Vec<&str> = item.changes.iter().map(|c| c.field.as_ref()).collect();
    assert_eq!(
        fields,
        [
            "first_name",
            "last_name",
            "employee_no",
            "pac.access_group_ids",
            "pac.badge_type"
        ]
    );
    assert_eq!(change(item, "first_name"), Some(("Ana", "Anna")));
    assert_eq!(item.target_fingerprint, Some(astrow_fingerprint(&a)));
    assert!(!item.destructive);
}

#[test]
fn master_pac_fields_not_owned_are_never_touched() {
    let (p, mut a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    a.cycle_code = "OTHER".into();
    a.paygroup_code = "OTHER".into();
    a.middle_name = "Maria".into();
    a.contract_start = NaiveDate::from_ymd_opt(2020, 1, 1);
    a.contract_end = NaiveDate::from_ymd_opt(2030, 1, 1);
    a.badge_no = Some("777".into());
    let plan = plan(&input(
        System::Pac,
        vec![p.clone()],
        vec![a.clone()],
        vec![l.clone()],
    ));
    assert!(plan.items.is_empty(), "{:#?}", plan.items);

    // And an update keeps them as they are.
    let mut changed = p;
    changed.first_name = "Anna".into();
    let plan = self::plan(&input(System::Pac, vec![changed], vec![a.clone()], vec![l]));
    let d = desired_astrow(only(&plan));
    assert_eq!(
        (
            d.cycle_code.as_str(),
            d.middle_name.as_str(),
            d.badge_no.as_deref()
        ),
        ("OTHER", "Maria", Some("777"))
    );
    assert_eq!(
        (d.contract_start, d.contract_end),
        (a.contract_start, a.contract_end)
    );
}

#[test]
fn master_pac_deactivation_updates_astrow_and_is_destructive() {
    let (mut p, a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    p.active = false;
    let plan = plan(&input(System::Pac, vec![p], vec![a], vec![l]));
    let item = only(&plan);
    assert_eq!(change(item, "active"), Some(("true", "false")));
    assert!(item.destructive);
}

#[test]
fn master_pac_leaver_is_deleted_when_delete_employees_on_sync() {
    let (_, a, l) = linked_pair(10, 1001, LinkOrigin::Matched);
    let mut input = input(System::Pac, vec![pac(11, "Bo", "E-11")], vec![a], vec![l]);
    input.settings.delete_employees_on_sync = true;
    let plan = plan(&input);
    let item = plan.items.iter().find(|i| i.action == Action::Delete);
    let item = item.unwrap_or_else(|| panic!("{:#?}", plan.items));
    assert_eq!(
        (item.target, item.slave_id, item.master_id),
        (System::Astrow, Some(1001), Some(10))
    );
    assert!(item.destructive && item.desired.is_none());
    assert!(
        why(item).contains("delete employees on sync is on"),
        "{}",
        why(item)
    );
}

#[test]
fn master_pac_leaver_loses_its_badge_and_stays_active_when_delete_is_off() {
    let (_, a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    let plan = plan(&input(
        System::Pac,
        vec![pac(11, "Bo", "E-11")],
        vec![a],
        vec![l],
    ));
    let item = plan.items.iter().find(|i| i.action == Action::RemoveBadges);
    let item = item.unwrap_or_else(|| panic!("{:#?}", plan.items));
    let d = desired_astrow(item);
    assert_eq!(d.badge_no, None);
    assert!(d.active);
    assert!(
        why(item).contains("delete employees on sync is off: remove badge 10"),
        "{}",
        why(item)
    );
    assert!(why(item).ends_with("keep active"), "{}", why(item));
}

#[test]
fn master_pac_a_leaver_without_badge_needs_nothing() {
    let (_, mut a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    a.badge_no = None;
    let plan = plan(&input(
        System::Pac,
        vec![pac(11, "Bo", "E-11")],
        vec![a],
        vec![l],
    ));
    assert!(plan.items.iter().all(|i| i.slave_id != Some(1001)));
}

#[test]
fn master_pac_pac_learns_the_astrow_pers_no_in_external_ref() {
    let (mut p, a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    p.external_ref = None;
    let plan = plan(&input(System::Pac, vec![p], vec![a], vec![l]));
    let item = only(&plan);
    assert_eq!((item.action, item.target), (Action::Update, System::Pac));
    assert_eq!(
        desired_pac(item).external_ref.as_deref(),
        Some("astrow:1001")
    );
}

// ---- Master Astrow -------------------------------------------------------

#[test]
fn master_astrow_active_employee_reaches_pac_with_badge_groups_validity_and_ref() {
    let mut a = astrow(1001, "Ana", "E-1");
    a.badge_no = Some("00a1b2c3".into());
    a.pac_badge_type = Some(BadgeType::Wiegand2601);
    a.pac_access_group_ids = vec![5, 4];
    a.contract_end = NaiveDate::from_ymd_opt(2027, 6, 30);
    let plan = plan(&input(System::Astrow, vec![], vec![a.clone()], vec![]));
    let item = only(&plan);
    assert_eq!((item.action, item.target), (Action::Create, System::Pac));
    let p = desired_pac(item);
    assert_eq!(
        p.badges,
        vec![Badge {
            number: "00A1B2C3".into(),
            badge_type: BadgeType::Wiegand2601,
            active: true
        }]
    );
    assert_eq!(p.access_group_ids, vec![4, 5]);
    assert_eq!(
        (p.valid_from, p.valid_until),
        (a.contract_start, a.contract_end)
    );
    assert_eq!(p.external_ref.as_deref(), Some("astrow:1001"));
    assert_eq!(p.employee_number, "E-1");
}

#[test]
fn master_astrow_gives_pacs_default_group_when_astrow_names_none() {
    let mut a = astrow(1001, "Ana", "E-1");
    a.pac_access_group_ids.clear();
    let mut input = input(System::Astrow, vec![], vec![a], vec![]);
    input.settings.pac_default_access_group_id = Some(1);
    let plan = plan(&input);
    assert_eq!(desired_pac(only(&plan)).access_group_ids, vec![1]);
}

#[test]
fn master_astrow_inactive_employees_are_pushed_only_when_sync_inactive() {
    let mut a = astrow(1001, "Ana", "E-1");
    a.active = false;
    let mut input = input(System::Astrow, vec![], vec![a], vec![]);
    let plan = plan(&input);
    assert!(plan.items.is_empty());
    input.settings.sync_inactive_employees = true;
    let plan = self::plan(&input);
    let item = only(&plan);
    assert_eq!(item.action, Action::Create);
    assert!(!desired_pac(item).active);
}

#[test]
fn master_astrow_leaver_is_deleted_only_if_we_created_it() {
    let (_, a_created, l_created) = linked_pair(10, 1001, LinkOrigin::Created);
    let (_, a_matched, l_matched) = linked_pair(11, 1002, LinkOrigin::Matched);
    let (p_created, p_matched) = (
        linked_pair(10, 1001, LinkOrigin::Created).0,
        linked_pair(11, 1002, LinkOrigin::Matched).0,
    );
    drop((a_created, a_matched));
    let mut input = input(
        System::Astrow,
        vec![p_created, p_matched],
        vec![astrow(5, "Cy", "E-5")],
        vec![l_created, l_matched],
    );
    input.settings.delete_employees_on_sync = true;
    let plan = plan(&input);
    let of = |id: u64| {
        plan.items
            .iter()
            .find(|i| i.slave_id == Some(id) && i.target == System::Pac)
    };
    assert_eq!(of(10).map(|i| i.action), Some(Action::Delete));
    let kept = of(11).unwrap_or_else(|| panic!("{:#?}", plan.items));
    assert_eq!(kept.action, Action::RemoveBadges);
    assert!(
        why(kept).contains("was not created by astrow-pac"),
        "{}",
        why(kept)
    );
    assert!(desired_pac(kept).badges.is_empty());
}

#[test]
fn master_astrow_leaver_loses_its_badges_when_delete_is_off() {
    let (mut p, _, l) = linked_pair(10, 1001, LinkOrigin::Created);
    p.badges.push(Badge {
        number: "FF01".into(),
        badge_type: BadgeType::Oneprox,
        active: false,
    });
    let plan = plan(&input(
        System::Astrow,
        vec![p],
        vec![astrow(5, "Cy", "E-5")],
        vec![l],
    ));
    let item = plan.items.iter().find(|i| i.slave_id == Some(10));
    let item = item.unwrap_or_else(|| panic!("{:#?}", plan.items));
    assert_eq!(item.action, Action::RemoveBadges);
    assert!(
        why(item).contains("delete employees on sync is off: remove 2 badges"),
        "{}",
        why(item)
    );
    assert!(desired_pac(item).active);
}

#[test]
fn master_astrow_linked_inactive_employee_not_synced_counts_as_gone() {
    let (p, mut a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    a.active = false;
    let mut input = input(System::Astrow, vec![p], vec![a], vec![l]);
    input.settings.delete_employees_on_sync = true;
    let plan = plan(&input);
    let item = only(&plan);
    assert_eq!(item.action, Action::Delete);
    assert!(
        why(item).contains("inactive and sync inactive employees is off"),
        "{}",
        why(item)
    );
}

#[test]
fn master_astrow_changes_update_pac() {
    let (p, mut a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    a.last_name = "Popescu".into();
    a.badge_no = Some("ABC".into());
    a.contract_end = NaiveDate::from_ymd_opt(2027, 1, 1);
    let plan = plan(&input(System::Astrow, vec![p], vec![a], vec![l]));
    let item = only(&plan);
    let fields: Vec<&str> = item.changes.iter().map(|c| c.field.as_ref()).collect();
    assert_eq!(fields, ["last_name", "valid_until", "badges"]);
    assert_eq!(item.action, Action::Update);
}

#[test]
fn master_astrow_a_group_pac_does_not_have_is_a_conflict_not_a_write() {
    let (p, mut a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    a.last_name = "Popescu".into();
    a.pac_access_group_ids.push(99);
    let mut inp = input(
        System::Astrow,
        vec![p.clone()],
        vec![a.clone()],
        vec![l.clone()],
    );
    inp.settings.pac_access_group_ids = Some(vec![1, 2, 3]);
    let planned = plan(&inp);
    let item = only(&planned);
    assert_eq!(item.action, Action::Conflict);
    assert!(why(item).contains("99"), "{}", why(item));
    assert!(planned.is_empty(), "nothing to write");
    // Unknown groups (no list): planned as before.
    let planned = plan(&input(System::Astrow, vec![p], vec![a], vec![l]));
    assert_eq!(only(&planned).action, Action::Update);
}

// ---- Records that cannot be mapped ---------------------------------------

#[test]
fn unmappable_records_become_conflicts_with_a_reason() {
    // No name at all.
    let plan1 = plan(&input(
        System::Pac,
        vec![pac(10, "", "E-1")]
            .into_iter()
            .map(|mut p| {
                p.last_name.clear();
                p
            })
            .collect(),
        vec![],
        vec![],
    ));
    assert!(why(only(&plan1)).contains("no first or last name"));
    // One badge number on two Astrow employees.
    let mut a1 = astrow(1, "Ana", "E-1");
    let mut a2 = astrow(2, "Bo", "E-2");
    a1.badge_no = Some("123".into());
    a2.badge_no = Some("123".into());
    let plan2 = plan(&input(System::Astrow, vec![], vec![a1, a2], vec![]));
    assert_eq!(plan2.items.len(), 2);
    assert!(
        plan2
            .items
            .iter()
            .all(|i| i.action == Action::Conflict && why(i).contains("badge number 123"))
    );
    // A badge number held by an unmanaged PAC employee.
    let (p, mut a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    a.badge_no = Some("AB0007".into());
    let plan3 = plan(&input(
        System::Astrow,
        vec![p, pac(7, "Bo", "X")],
        vec![a],
        vec![l],
    ));
    assert!(
        why(only(&plan3)).contains("belongs to PAC employee 7"),
        "{:#?}",
        plan3.items
    );
    // Not hex.
    let mut a = astrow(1, "Ana", "E-1");
    a.badge_no = Some("12-34".into());
    let plan4 = plan(&input(System::Astrow, vec![], vec![a], vec![]));
    assert!(why(only(&plan4)).contains("not a hex number"));
    // Contract ending before it starts.
    let mut a = astrow(1, "Ana", "E-1");
    a.contract_end = NaiveDate::from_ymd_opt(2025, 1, 1);
    let plan5 = plan(&input(System::Astrow, vec![], vec![a], vec![]));
    assert!(why(only(&plan5)).contains("before it starts"));
    // No default cycle to create with.
    let mut input6 = input(System::Pac, vec![pac(10, "Ana", "E-1")], vec![], vec![]);
    input6.settings.default_cycle_code.clear();
    assert!(why(only(&plan(&input6))).contains("default_cycle_code"));
    // The PAC id as badge number is already an Astrow employee's.
    let (other, mut taken, l) = linked_pair(20, 1020, LinkOrigin::Created);
    taken.badge_no = Some("10".into());
    let plan7 = plan(&input(
        System::Pac,
        vec![pac(10, "Ana", "E-1"), other],
        vec![taken],
        vec![l],
    ));
    assert!(why(only(&plan7)).contains("which Astrow employee 1020 already has"));
}

// ---- Plans -----------------------------------------------------------------

#[test]
fn plans_an_incomplete_listing_refuses_the_plan_whole() {
    for master in [System::Pac, System::Astrow] {
        let mut i = input(master, vec![pac(1, "Ana", "E")], vec![], vec![]);
        i.pac.complete = false;
        assert_eq!(
            plan_employees(&i),
            Err(PlanRefused::IncompleteListing {
                system: System::Pac
            })
        );
        let mut i = input(master, vec![], vec![astrow(1, "Ana", "E")], vec![]);
        i.astrow.complete = false;
        assert_eq!(
            plan_employees(&i),
            Err(PlanRefused::IncompleteListing {
                system: System::Astrow
            })
        );
    }
}

#[test]
fn plans_an_empty_master_yields_no_destructive_item_and_says_so() {
    let (p, a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    for (master, pacs, astrows) in [
        (System::Pac, vec![], vec![a]),
        (System::Astrow, vec![p], vec![]),
    ] {
        let mut input = input(master, pacs, astrows, vec![l.clone()]);
        input.settings.delete_employees_on_sync = true;
        let plan = plan(&input);
        assert!(plan.items.is_empty(), "{:#?}", plan.items);
        assert!(
            plan.notes.iter().any(|n| n.contains("listing is empty")),
            "{:?}",
            plan.notes
        );
    }
}

#[test]
fn plans_the_deletion_guard_holds_past_the_limit() {
    let pairs: Vec<_> = (1..=10)
        .map(|i| linked_pair(i, 1000 + i, LinkOrigin::Created))
        .collect();
    let mut input = input(
        System::Pac,
        vec![pairs[0].0.clone()],
        pairs.iter().map(|p| p.1.clone()).collect(),
        pairs.iter().map(|p| p.2.clone()).collect(),
    );
    input.settings.guard_count = 9;
    input.settings.guard_percent = 100;
    assert!(
        plan(&input).held.is_none(),
        "9 destructive items at a limit of 9"
    );
    input.settings.guard_count = 8;
    let held = plan(&input).held;
    let reason = held.map(|h| h.reason).unwrap_or_default();
    assert!(reason.contains("9 destructive items"), "{reason}");
    assert!(reason.contains("the count limit of 8"), "{reason}");
    assert!(!reason.contains("% of"), "{reason}");
    // Either limit holds: 90 % of 10 managed = 9 passes, 80 % = 8 holds,
    // however large the count.
    input.settings.guard_count = 1000;
    input.settings.guard_percent = 90;
    assert!(plan(&input).held.is_none());
    input.settings.guard_percent = 80;
    let reason = plan(&input).held.map(|h| h.reason).unwrap_or_default();
    assert!(
        reason.contains("the limit of 80 % of 10 managed"),
        "{reason}"
    );
    assert!(!reason.contains("count limit"), "{reason}");
    input.settings.guard_count = 2;
    let reason = plan(&input).held.map(|h| h.reason).unwrap_or_default();
    assert!(
        reason.contains("the count limit of 2 (sync.deletion_guard.count) and the limit of 80 %"),
        "{reason}"
    );
}

/// The case: count 5 / percent 10 on a site of 300 holds 6
/// deletions (the count), where the larger-of rule let 20 pass.
#[test]
fn plans_the_guard_holds_six_deletions_on_a_300_site_at_count_5_percent_10() {
    let settings = PlanSettings {
        guard_count: 5,
        guard_percent: 10,
        ..settings(System::Pac)
    };
    assert_eq!(passed_limit(5, 300, &settings), None);
    assert_eq!(passed_limit(6, 300, &settings), Some(GuardLimit::Count));
    assert_eq!(passed_limit(20, 300, &settings), Some(GuardLimit::Count));
    assert_eq!(passed_limit(31, 300, &settings), Some(GuardLimit::Both));
    assert_eq!(passed_limit(5, 40, &settings), Some(GuardLimit::Percent));
}

/// 20 leavers over 4 intervals: the first 5 pass, the next plan's 5 make
/// 10 within the window and are held; outside the window they pass.
#[test]
fn plans_the_window_counts_applied_destructive_items_together() {
    let settings = PlanSettings {
        guard_count: 5,
        guard_percent: 10,
        ..settings(System::Pac)
    };
    let leavers: Vec<PlanItem> = (0..5u64)
        .map(|i| PlanItem {
            id: format!("delete:astrow:{i}"),
            action: Action::Delete,
            target: System::Astrow,
            master_id: None,
            slave_id: Some(i),
            changes: vec![],
            reason: "left PAC".into(),
            destructive: true,
            target_fingerprint: None,
            source_fingerprint: Fingerprint(i),
            desired: None,
            wave: 0,
        })
        .collect();
    assert!(guard(&leavers, 300, &settings).is_none());
    assert!(window_guard(&leavers, 300, 0, 24, &settings).is_none());
    let held = window_guard(&leavers, 300, 5, 24, &settings).map(|h| h.reason);
    let reason = held.unwrap_or_default();
    assert!(
        reason.starts_with("5 destructive items planned and 5 applied in the last 24 h"),
        "{reason}"
    );
    assert!(
        reason.contains("make 10, which passes the count limit of 5"),
        "{reason}"
    );
    assert!(
        window_guard(&leavers, 300, 5, 0, &settings).is_none(),
        "window 0: off"
    );
    assert!(
        window_guard(&[], 300, 500, 24, &settings).is_none(),
        "nothing new to hold"
    );
}

#[test]
fn plans_a_rejected_item_stays_suppressed_until_its_source_changes() {
    let (mut p, a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    p.first_name = "Anna".into();
    let mut input = input(System::Pac, vec![p], vec![a], vec![l]);
    let item = only(&plan(&input)).clone();
    input.suppressions.push(Suppression {
        item_key: item.id.clone(),
        source_fingerprint: item.source_fingerprint,
    });
    assert!(plan(&input).items.is_empty());
    input.pac.items[0].first_name = "Annie".into();
    assert_eq!(only(&plan(&input)).id, item.id);
}

#[test]
fn plans_items_carry_reason_fingerprints_and_stable_keys() {
    let (mut p, a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    p.first_name = "Anna".into();
    let input = input(System::Pac, vec![p.clone()], vec![a.clone()], vec![l]);
    let first = plan(&input);
    let second = plan(&input);
    assert_eq!(first, second);
    let item = only(&first);
    assert_eq!(item.id, "update:astrow:1001");
    assert_eq!(item.target_fingerprint, Some(astrow_fingerprint(&a)));
    assert_eq!(item.source_fingerprint, pac_source_fingerprint(&p));
    assert_eq!(why(item), "changed in PAC: first_name");
}

#[test]
fn plans_serialise_to_the_plan_json_shape() {
    let (mut p, a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    p.first_name = "Anna".into();
    let plan = plan(&input(System::Pac, vec![p], vec![a], vec![l]));
    let json = serde_json::to_value(&plan).unwrap_or_default();
    assert_eq!(json["master"], "pac");
    assert!(json["held"].is_null());
    assert!(json["plan_id"].is_string());
    let item = &json["items"][0];
    assert_eq!(item["id"], "update:astrow:1001");
    assert_eq!(item["action"], "update");
    assert_eq!(item["target"], "astrow");
    assert_eq!(item["master_id"], 10);
    assert_eq!(item["slave_id"], 1001);
    assert_eq!(
        item["changes"][0],
        serde_json::json!({"field": "first_name", "before": "Ana", "after": "Anna"})
    );
    assert_eq!(
        item["reason"],
        serde_json::json!({"changed": {"master": "pac"}})
    );
    let back: Plan = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, plan);
}

#[test]
fn master_astrow_astrow_learns_the_pac_id_in_external_ref() {
    let (p, mut a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    a.external_ref = None;
    let plan = plan(&input(System::Astrow, vec![p], vec![a], vec![l]));
    let item = only(&plan);
    assert_eq!((item.action, item.target), (Action::Update, System::Astrow));
    assert_eq!(desired_astrow(item).external_ref.as_deref(), Some("pac:10"));
}

#[test]
fn master_astrow_a_pac_employee_naming_an_unsynced_inactive_employee_opens_no_door() {
    let (_, mut a, _) = linked_pair(10, 1001, LinkOrigin::Created);
    a.active = false;
    a.external_ref = None;
    let mut p = pac(55, "Ana", "E-55");
    p.external_ref = Some("astrow:1001".into());
    let plan = plan(&input(System::Astrow, vec![p], vec![a], vec![]));
    let item = only(&plan);
    assert_eq!(
        (item.action, item.slave_id),
        (Action::RemoveBadges, Some(55))
    );
}

#[test]
fn plans_odd_inputs_never_panic() {
    // Links that disagree (one PAC id twice), ids far apart (no dense index),
    // duplicate ids in a listing, a link to nothing.
    let (p, a, l) = linked_pair(1 << 40, 7, LinkOrigin::Created);
    let dup_link = link(1 << 40, 8, LinkOrigin::Matched);
    let nowhere = link(99, 99, LinkOrigin::Created);
    for master in [System::Pac, System::Astrow] {
        let input = input(
            master,
            vec![p.clone(), p.clone(), pac(3, "", "")],
            vec![
                a.clone(),
                astrow(8, "Bo", "E-8"),
                astrow(u64::MAX - 10_000, "Cy", ""),
            ],
            vec![l.clone(), dup_link.clone(), nowhere.clone()],
        );
        let first = plan(&input);
        assert_eq!(first, plan(&input), "{master}: deterministic");
    }
}

#[test]
fn plans_items_tell_apply_when_the_target_is_stale_or_already_written() {
    let (mut p, a, l) = linked_pair(10, 1001, LinkOrigin::Created);
    p.first_name = "Anna".into();
    let plan = plan(&input(System::Pac, vec![p], vec![a.clone()], vec![l]));
    let item = only(&plan);
    let as_read = DesiredRecord::Astrow(a.clone());
    assert!(!item.is_stale(Some(&as_read)));
    let mut changed = a.clone();
    changed.cycle_code = "CHANGED BEHIND OUR BACK".into();
    assert!(item.is_stale(Some(&DesiredRecord::Astrow(changed))));
    assert!(item.is_stale(None));
    // A new version number alone is no change.
    let mut bumped = a;
    bumped.version += 1;
    assert!(!item.is_stale(Some(&DesiredRecord::Astrow(bumped))));
    let written = item.desired.clone();
    assert!(item.already_applied(written.as_ref()));
    assert!(!item.already_applied(Some(&as_read)));
}
