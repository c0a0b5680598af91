//! Properties of plan computation over random master/slave/link sets, in
//! both master modes.

use std::collections::{BTreeMap, BTreeSet};

#[path = "support/plan_model.rs"]
mod plan_model;

use astrow_pac::engine::plan::{
    Action, Listing, MatchKey, Plan, PlanInput, PlanRefused, PlanSettings, Suppression,
    destructive_limit, plan_employees,
};
use astrow_pac::model::{
    AstrowEmployee, Badge, BadgeType, Link, LinkOrigin, PacEmployee, PacId, PersNo, System,
    parse_astrow_ref, parse_pac_ref,
};
use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;

use plan_model::{Model, apply_to_model};

const NAMES: [&str; 4] = ["", "Ana", "Bo", "Cy"];
const NUMBERS: [&str; 4] = ["", "E-1", "E-2", "E-3"];
const BADGES: [&str; 6] = ["A1", "A2", "B3", "3", "4", "5"];

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default()
}

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
}

fn badge_type(i: usize) -> BadgeType {
    BadgeType::ALL[i % BadgeType::ALL.len()]
}

type PacFields = (
    usize,
    usize,
    usize,
    bool,
    Vec<u32>,
    Vec<(usize, usize, bool)>,
    Option<u64>,
);

fn pac_strategy() -> impl Strategy<Value = BTreeMap<u64, PacFields>> {
    let fields = (
        0..NAMES.len(),
        0..NAMES.len(),
        0..NUMBERS.len(),
        any::<bool>(),
        proptest::collection::vec(1u32..4, 0..3),
        proptest::collection::vec((0..BADGES.len(), 0..3usize, any::<bool>()), 0..3),
        proptest::option::of(1u64..12),
    );
    proptest::collection::btree_map(1u64..12, fields, 0..8)
}

fn pac_employees(raw: BTreeMap<u64, PacFields>) -> Vec<PacEmployee> {
    raw.into_iter()
        .map(
            |(id, (first, last, number, active, groups, badges, r))| PacEmployee {
                id: PacId(id),
                first_name: NAMES[first].into(),
                last_name: NAMES[last].into(),
                employee_number: NUMBERS[number].into(),
                active,
                valid_from: None,
                valid_until: None,
                access_group_ids: groups,
                badges: badges
                    .into_iter()
                    .map(|(b, t, active)| Badge {
                        number: BADGES[b].into(),
                        badge_type: badge_type(t),
                        active,
                    })
                    .collect(),
                external_ref: r.map(|r| format!("astrow:{r}")),
                version: 1,
            },
        )
        .collect()
}

type AstrowFields = (
    usize,
    usize,
    usize,
    Option<usize>,
    bool,
    bool,
    Vec<u32>,
    Option<usize>,
    Option<u64>,
);

fn astrow_strategy() -> impl Strategy<Value = BTreeMap<u64, AstrowFields>> {
    let fields = (
        0..NAMES.len(),
        0..NAMES.len(),
        0..NUMBERS.len(),
        proptest::option::of(0..BADGES.len() + 1),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(1u32..4, 0..3),
        proptest::option::of(0..3usize),
        proptest::option::of(1u64..12),
    );
    proptest::collection::btree_map(1u64..12, fields, 0..8)
}

fn astrow_employees(raw: BTreeMap<u64, AstrowFields>) -> Vec<AstrowEmployee> {
    raw.into_iter()
        .map(
            |(pers_no, (first, last, number, badge, active, ends, groups, t, r))| {
                let start = NaiveDate::from_ymd_opt(2026, 1, 1);
                AstrowEmployee {
                    pers_no: PersNo(pers_no),
                    employee_no: NUMBERS[number].into(),
                    first_name: NAMES[first].into(),
                    middle_name: String::new(),
                    last_name: NAMES[last].into(),
                    // One past the pool is a badge number PAC cannot store.
                    badge_no: badge.map(|b| BADGES.get(b).copied().unwrap_or("x-1").to_string()),
                    active,
                    contract_start: start,
                    contract_end: if ends {
                        NaiveDate::from_ymd_opt(2027, 1, 1)
                    } else {
                        None
                    },
                    cycle_code: "NIGHT".into(),
                    paygroup_code: "WEEKLY".into(),
                    pac_access_group_ids: groups,
                    pac_badge_type: t.map(badge_type),
                    external_ref: r.map(|r| format!("pac:{r}")),
                    version: 1,
                }
            },
        )
        .collect()
}

/// Links unique on both ends, as the store keeps them.
fn links(raw: Vec<(u64, u64, bool)>) -> Vec<Link> {
    let mut pacs = BTreeSet::new();
    let mut pers = BTreeSet::new();
    raw.into_iter()
        .filter(|(p, a, _)| pacs.insert(*p) & pers.insert(*a))
        .map(|(p, a, created)| Link {
            pac_id: PacId(p),
            pers_no: PersNo(a),
            origin: if created {
                LinkOrigin::Created
            } else {
                LinkOrigin::Matched
            },
            at: at(),
        })
        .collect()
}

/// Fixed settings for the worked examples (master PAC; examples set it).
fn example_settings() -> PlanSettings {
    PlanSettings {
        master: System::Pac,
        delete_employees_on_sync: false,
        sync_inactive_employees: false,
        match_key: MatchKey::EmployeeNumber,
        default_cycle_code: "STD".into(),
        default_paygroup_code: "MONTHLY".into(),
        pac_default_access_group_id: Some(1),
        pac_access_group_ids: None,
        guard_count: 100,
        guard_percent: 0,
    }
}

fn settings_strategy() -> impl Strategy<Value = PlanSettings> {
    (
        prop_oneof![Just(System::Pac), Just(System::Astrow)],
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(MatchKey::EmployeeNumber), Just(MatchKey::BadgeNumber)],
        proptest::option::of(1u32..4),
        0u32..6,
        0u8..101,
    )
        .prop_map(
            |(master, delete, inactive, match_key, default_group, count, percent)| PlanSettings {
                master,
                delete_employees_on_sync: delete,
                sync_inactive_employees: inactive,
                match_key,
                default_cycle_code: "STD".into(),
                default_paygroup_code: "MONTHLY".into(),
                pac_default_access_group_id: default_group,
                pac_access_group_ids: None,
                guard_count: count,
                guard_percent: percent,
            },
        )
}

fn model_strategy() -> impl Strategy<Value = Model> {
    (
        pac_strategy(),
        astrow_strategy(),
        proptest::collection::vec((1u64..12, 1u64..12, any::<bool>()), 0..8),
    )
        .prop_map(|(p, a, l)| Model {
            pac: pac_employees(p),
            astrow: astrow_employees(a),
            links: links(l),
        })
}

fn input(model: &Model, settings: &PlanSettings) -> PlanInput {
    PlanInput {
        pac: Listing::complete(model.pac.clone()),
        astrow: Listing::complete(model.astrow.clone()),
        links: model.links.clone(),
        suppressions: Vec::new(),
        today: today(),
        settings: settings.clone(),
    }
}

fn plan(model: &Model, settings: &PlanSettings) -> Result<Plan, TestCaseError> {
    plan_employees(&input(model, settings)).map_err(|e| TestCaseError::fail(e.to_string()))
}

/// Slave ids that are linked: in the store or by `external_ref`.
fn linked_slaves(model: &Model, master: System) -> BTreeSet<u64> {
    match master {
        System::Pac => model
            .astrow
            .iter()
            .filter(|a| {
                model.links.iter().any(|l| l.pers_no == a.pers_no)
                    || parse_pac_ref(a.external_ref.as_deref()).is_some()
            })
            .map(|a| a.pers_no.0)
            .collect(),
        System::Astrow => model
            .pac
            .iter()
            .filter(|p| {
                model.links.iter().any(|l| l.pac_id == p.id)
                    || parse_astrow_ref(p.external_ref.as_deref()).is_some()
            })
            .map(|p| p.id.0)
            .collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn applying_a_plan_then_planning_again_yields_an_empty_plan(
        mut model in model_strategy(),
        settings in settings_strategy(),
    ) {
        let first = plan(&model, &settings)?;
        apply_to_model(&first, &mut model, at());
        let second = plan(&model, &settings)?;
        prop_assert!(second.is_empty(), "second plan: {:#?}\nfirst plan: {:#?}\nmodel: {:#?}", second.items, first.items, model);
        // Applying makes no new conflict (one may resolve itself, e.g. when
        // the record it collided with was deleted).
        let conflicts = |p: &Plan| p.items.iter().filter(|i| i.action == Action::Conflict).map(|i| i.id.clone()).collect::<BTreeSet<_>>();
        let new: Vec<_> = conflicts(&second).difference(&conflicts(&first)).cloned().collect();
        prop_assert!(new.is_empty(), "new conflicts: {:?}", new);
    }

    #[test]
    fn the_fast_path_plans_what_the_slow_path_plans(
        mut model in model_strategy(),
        settings in settings_strategy(),
    ) {
        // As drawn, then applied once (most pairs linked and in step).
        for round in 0..2 {
            let slow = input(&model, &settings);
            let mut fast = slow.clone();
            fast.pac = Listing::complete(model.pac.clone()).with_prints();
            fast.astrow = Listing::complete(model.astrow.clone()).with_prints();
            let planned = plan_employees(&slow);
            prop_assert_eq!(&plan_employees(&fast), &planned, "round {}", round);
            if let Ok(first) = planned {
                apply_to_model(&first, &mut model, at());
            }
        }
    }

    #[test]
    fn no_plan_deletes_or_strips_an_unlinked_slave_employee(
        model in model_strategy(),
        settings in settings_strategy(),
    ) {
        let plan = plan(&model, &settings)?;
        let slave = settings.master.other();
        let linked = linked_slaves(&model, settings.master);
        for item in &plan.items {
            if matches!(item.action, Action::Delete | Action::RemoveBadges) {
                prop_assert_eq!(item.target, slave);
                let id = item.slave_id.unwrap_or_default();
                prop_assert!(linked.contains(&id), "{:?} on unlinked {}", item.action, id);
            }
        }
        for u in &plan.unmanaged {
            prop_assert!(!linked.contains(&u.id));
            let touched = plan.items.iter().any(|i| i.target == slave && i.slave_id == Some(u.id) && i.action != Action::Conflict);
            prop_assert!(!touched, "unmanaged {} touched", u.id);
        }
    }

    #[test]
    fn an_incomplete_listing_never_yields_a_plan(
        model in model_strategy(),
        settings in settings_strategy(),
        pac_complete in any::<bool>(),
        astrow_complete in any::<bool>(),
    ) {
        let mut input = input(&model, &settings);
        input.pac.complete = pac_complete;
        input.astrow.complete = astrow_complete;
        let result = plan_employees(&input);
        if pac_complete && astrow_complete {
            prop_assert!(result.is_ok());
        } else {
            let refused = matches!(result, Err(PlanRefused::IncompleteListing { .. }));
            prop_assert!(refused);
        }
    }

    #[test]
    fn an_empty_master_never_yields_a_destructive_item(
        mut model in model_strategy(),
        settings in settings_strategy(),
    ) {
        match settings.master {
            System::Pac => model.pac.clear(),
            System::Astrow => model.astrow.clear(),
        }
        let plan = plan(&model, &settings)?;
        prop_assert_eq!(plan.destructive_count(), 0);
        prop_assert!(plan.items.iter().all(|i| !matches!(i.action, Action::Delete | Action::RemoveBadges)));
        prop_assert!(plan.held.is_none());
    }

    #[test]
    fn rejected_items_stay_out_until_their_source_changes(
        model in model_strategy(),
        settings in settings_strategy(),
    ) {
        let first = plan(&model, &settings)?;
        let mut input = input(&model, &settings);
        input.suppressions = first
            .items
            .iter()
            .map(|i| Suppression { item_key: i.id.clone(), source_fingerprint: i.source_fingerprint })
            .collect();
        let second = plan_employees(&input).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(second.is_empty(), "{:#?}", second.items);
        // Lifting them brings every one back.
        input.suppressions.clear();
        prop_assert_eq!(plan_employees(&input).ok(), Some(first));
    }

    #[test]
    fn the_guard_holds_exactly_when_the_limit_is_passed(
        model in model_strategy(),
        settings in settings_strategy(),
    ) {
        let plan = plan(&model, &settings)?;
        let destructive = plan.items.iter().filter(|i| {
            matches!(i.action, Action::Delete | Action::RemoveBadges)
                || i.changes.iter().any(|c| c.field == "active" && c.before == "true" && c.after == "false")
        }).count();
        prop_assert_eq!(destructive, plan.destructive_count());
        let limit = destructive_limit(plan.managed_slave_employees, &settings);
        prop_assert_eq!(plan.held.is_some(), destructive > limit);
    }
}

/// Two worked examples of the model, beside the properties over random sets.
mod model_examples {
    use astrow_pac::engine::plan::{Listing, Plan, PlanInput, plan_employees};
    use astrow_pac::model::{
        AstrowEmployee, Badge, BadgeType, Link, LinkOrigin, PacEmployee, PacId, PersNo, System,
    };
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::plan_model::{Model, apply_to_model};
    use super::today;

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

    /// A PAC and an Astrow employee in step, linked both in the store and by external_ref.
    fn linked_pair(
        id: u64,
        pers_no: u64,
        origin: LinkOrigin,
    ) -> (PacEmployee, AstrowEmployee, Link) {
        let mut p = pac(id, "Ana", &format!("E-{id}"));
        let mut a = astrow(pers_no, "Ana", &format!("E-{id}"));
        p.external_ref = Some(format!("astrow:{pers_no}"));
        a.external_ref = Some(format!("pac:{id}"));
        a.pac_access_group_ids = p.access_group_ids.clone();
        p.valid_from = a.contract_start;
        a.badge_no = Some(format!("{id}"));
        p.badges[0].number = format!("{id}");
        let link = Link {
            pac_id: PacId(id),
            pers_no: PersNo(pers_no),
            origin,
            at: Utc
                .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
        };
        (p, a, link)
    }

    fn input(
        master: System,
        pac: Vec<PacEmployee>,
        astrow: Vec<AstrowEmployee>,
        links: Vec<Link>,
    ) -> PlanInput {
        let mut settings = super::example_settings();
        settings.master = master;
        PlanInput {
            pac: Listing::complete(pac),
            astrow: Listing::complete(astrow),
            links,
            suppressions: Vec::new(),
            today: today(),
            settings,
        }
    }

    fn plan(input: &PlanInput) -> Plan {
        match plan_employees(input) {
            Ok(p) => p,
            Err(e) => panic!("plan refused: {e}"),
        }
    }

    #[test]
    fn plans_applied_to_the_model_leave_nothing_to_do() {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .single()
            .unwrap_or_default();
        for master in [System::Pac, System::Astrow] {
            let (p, a, l) = linked_pair(10, 1001, LinkOrigin::Created);
            let (_, gone, gone_link) = linked_pair(11, 1002, LinkOrigin::Created);
            let (gone_pac, _, gone_link2) = linked_pair(12, 1003, LinkOrigin::Created);
            let mut model = Model {
                pac: vec![
                    p,
                    pac(20, "New", "E-20"),
                    gone_pac,
                    pac(30, "Match", "E-30"),
                ],
                astrow: vec![
                    a,
                    gone,
                    astrow(40, "New", "E-40"),
                    astrow(41, "Match", "E-30"),
                ],
                links: vec![l, gone_link, gone_link2],
            };
            let mut input = input(master, vec![], vec![], vec![]);
            input.settings.delete_employees_on_sync = true;
            let replan = |model: &Model, input: &mut PlanInput| {
                input.pac = Listing::complete(model.pac.clone());
                input.astrow = Listing::complete(model.astrow.clone());
                input.links = model.links.clone();
                plan(input)
            };
            let first = replan(&model, &mut input);
            assert!(!first.is_empty());
            apply_to_model(&first, &mut model, at);
            let second = replan(&model, &mut input);
            assert!(second.is_empty(), "{master}: {:#?}", second.items);
        }
    }

    #[test]
    fn plans_apply_records_created_and_matched_links() {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .single()
            .unwrap_or_default();
        let mut model = Model {
            pac: vec![pac(10, "Ana", "E-1"), pac(20, "Bo", "E-2")],
            astrow: vec![astrow(1001, "Bo", "E-2")],
            links: vec![],
        };
        let mut i = input(System::Pac, model.pac.clone(), model.astrow.clone(), vec![]);
        let first = plan(&i);
        apply_to_model(&first, &mut model, at);
        let origin = |pac_id: u64| {
            model
                .links
                .iter()
                .find(|l| l.pac_id == PacId(pac_id))
                .map(|l| l.origin)
        };
        assert_eq!(origin(10), Some(LinkOrigin::Created));
        assert_eq!(origin(20), Some(LinkOrigin::Matched));
        let created = model
            .astrow
            .iter()
            .find(|a| a.external_ref.as_deref() == Some("pac:10"));
        let created = created.unwrap_or_else(|| panic!("{:#?}", model.astrow));
        let pac10 = model.pac.iter().find(|p| p.id == PacId(10));
        assert_eq!(
            pac10.and_then(|p| p.external_ref.clone()),
            Some(format!("astrow:{}", created.pers_no))
        );
        i.pac = Listing::complete(model.pac.clone());
        i.astrow = Listing::complete(model.astrow.clone());
        i.links = model.links.clone();
        assert!(plan(&i).is_empty());
    }
}
