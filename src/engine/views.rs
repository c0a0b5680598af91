//! What the snapshot shows of plans and employees, built from plain data.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::people::People;
use super::plan::{Action, EmployeePairing, Plan, PlanItem};
use super::snapshot::{
    ActionKind, AstrowRecord, EmployeeRow, FieldChange, FieldSet, ItemState, PacRecord,
    PlanItemView, PlanView, ReasonNames, RowKind,
};
use crate::model::{AstrowEmployee, PacEmployee, PacId, PersNo, System};
use crate::store::{PlanState, StoredItem, StoredPlan};

pub fn action_kind(a: Action) -> ActionKind {
    match a {
        Action::Create => ActionKind::Create,
        Action::Update => ActionKind::Update,
        Action::Delete => ActionKind::Delete,
        Action::RemoveBadges => ActionKind::RemoveBadges,
        Action::Link => ActionKind::Link,
        Action::Conflict => ActionKind::Conflict,
    }
}

pub fn item_state(s: PlanState) -> ItemState {
    match s {
        PlanState::Pending => ItemState::Pending,
        PlanState::Approved => ItemState::Approved,
        PlanState::Rejected => ItemState::Rejected,
        PlanState::Applied => ItemState::Applied,
        PlanState::Failed => ItemState::Failed,
        PlanState::Stale => ItemState::Stale,
    }
}

pub fn pac_name(e: &PacEmployee) -> String {
    join_name(&[&e.first_name, &e.last_name])
}

pub fn astrow_name(e: &AstrowEmployee) -> String {
    join_name(&[&e.first_name, &e.middle_name, &e.last_name])
}

fn join_name(parts: &[&str]) -> String {
    let s = parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if s.is_empty() { "(no name)".into() } else { s }
}

/// Names by id on both sides, for labels and reasons.
#[derive(Debug, Default)]
pub struct Names {
    pub pac: HashMap<u64, String>,
    pub astrow: HashMap<u64, String>,
    /// Astrow employees with a middle name: their name as reasons show it
    /// (first and last only).
    pub astrow_short: HashMap<u64, String>,
}

impl Names {
    pub fn new(pac: &[PacEmployee], astrow: &[AstrowEmployee]) -> Names {
        Names {
            pac: pac.iter().map(|e| (e.id.0, pac_name(e))).collect(),
            astrow: astrow
                .iter()
                .map(|e| (e.pers_no.0, astrow_name(e)))
                .collect(),
            astrow_short: astrow
                .iter()
                .filter(|e| !e.middle_name.trim().is_empty())
                .map(|e| (e.pers_no.0, join_name(&[&e.first_name, &e.last_name])))
                .collect(),
        }
    }

    /// A person's name as a reason shows it.
    pub fn reason_name(&self, system: System, id: u64) -> Option<String> {
        match system {
            System::Pac => self.pac.get(&id).cloned(),
            System::Astrow => self
                .astrow_short
                .get(&id)
                .or_else(|| self.astrow.get(&id))
                .cloned(),
        }
    }

    /// An item's reason in words, its persons named.
    pub fn reason_text(&self, item: &PlanItem) -> String {
        item.reason_text(&|system, id| self.reason_name(system, id))
    }

    pub fn label(&self, item: &PlanItem, master: System) -> String {
        let (master_names, slave_names) = match master {
            System::Pac => (&self.pac, &self.astrow),
            System::Astrow => (&self.astrow, &self.pac),
        };
        item.master_id
            .and_then(|id| master_names.get(&id))
            .or_else(|| item.slave_id.and_then(|id| slave_names.get(&id)))
            .cloned()
            .or_else(|| {
                item.desired.as_ref().map(|d| match d {
                    super::plan::DesiredRecord::Pac(e) => pac_name(e),
                    super::plan::DesiredRecord::Astrow(e) => astrow_name(e),
                })
            })
            .unwrap_or_else(|| "(unknown)".into())
    }
}

fn opt(s: &str) -> Option<Box<str>> {
    (!s.is_empty()).then(|| s.into())
}

/// The snapshot's view of a stored plan: each stored item (its state) with
/// the plan's own item of the same id (what it does), so nothing is
/// decoded from the store's JSON.
pub fn plan_view(plan: &Plan, stored: &StoredPlan, names: &Names) -> Result<PlanView, String> {
    let in_order = plan.items.len() == stored.items.len()
        && plan
            .items
            .iter()
            .zip(&stored.items)
            .all(|(p, s)| p.id == s.item_id);
    let by_id: HashMap<&str, &PlanItem> = if in_order {
        HashMap::new()
    } else {
        plan.items.iter().map(|i| (i.id.as_str(), i)).collect()
    };
    let mut items = Vec::with_capacity(stored.items.len());
    let mut reason_names = NamesOfReasons::default();
    for (k, si) in stored.items.iter().enumerate() {
        let item = if in_order {
            plan.items.get(k)
        } else {
            by_id.get(si.item_id.as_str()).copied()
        };
        let item = item.ok_or_else(|| {
            format!(
                "item {} of plan {} is not in the plan made",
                si.item_id, stored.plan_id
            )
        })?;
        let view = item_view(item, si, names, stored.master);
        reason_names.add(item, &view.label, names, stored.master);
        items.push(view);
    }
    Ok(PlanView {
        plan_id: stored.plan_id.clone(),
        master: stored.master,
        created_at: stored.created_at,
        held: stored.held_reason.clone(),
        items,
        notes: plan.notes.clone(),
        names: reason_names.done(),
    })
}

/// The names a view's reasons show that their items' labels do not give,
/// gathered item by item.
#[derive(Default)]
struct NamesOfReasons {
    pac: Vec<(u64, Box<str>)>,
    astrow: Vec<(u64, Box<str>)>,
}

impl NamesOfReasons {
    fn add(&mut self, item: &PlanItem, label: &str, names: &Names, master: System) {
        for (system, id) in item
            .reason
            .named(item.master_id, item.slave_id)
            .into_iter()
            .flatten()
        {
            let Some(name) = names.reason_name(system, id) else {
                continue;
            };
            if system == master && item.master_id == Some(id) && name == label {
                continue;
            }
            match system {
                System::Pac => self.pac.push((id, name.into())),
                System::Astrow => self.astrow.push((id, name.into())),
            }
        }
    }

    fn done(self) -> ReasonNames {
        let sorted = |mut v: Vec<(u64, Box<str>)>| {
            v.sort_unstable_by_key(|(id, _)| *id);
            v.dedup_by_key(|(id, _)| *id);
            v.shrink_to_fit();
            v
        };
        ReasonNames {
            pac: sorted(self.pac),
            astrow: sorted(self.astrow),
        }
    }
}

/// One item as shown: what it does (the plan's) and where it is (the store's).
fn item_view(item: &PlanItem, si: &StoredItem, names: &Names, master: System) -> PlanItemView {
    PlanItemView {
        label: names.label(item, master).into(),
        id: item.id.as_str().into(),
        action: action_kind(item.action),
        target: item.target,
        master_id: item.master_id,
        slave_id: item.slave_id,
        changes: item
            .changes
            .iter()
            .map(|c| FieldChange {
                field: c.field.clone(),
                before: opt(&c.before),
                after: opt(&c.after),
            })
            .collect(),
        reason: item.reason.clone(),
        state: item_state(si.state),
        message: si.detail.as_deref().map(Box::from),
        attempts: si.attempts,
        retry_at: si.retry_at,
        failure_kind: super::retry::failure_kind(si),
    }
}

/// Both sides aligned: the pairs of the plan's pairing (linked, or matched
/// by key and to be linked), then master-only, then unmanaged slave-only
/// rows; conflicts marked; the owned fields a pending update would change
/// listed as differences.
pub fn employee_rows(
    pac: &[PacEmployee],
    astrow: &[AstrowEmployee],
    pairing: &EmployeePairing,
    plan: Option<&Plan>,
    master: System,
) -> Vec<EmployeeRow> {
    let pairs: Vec<(PacId, PersNo)> = pairing.pairs.iter().map(|p| (p.pac, p.astrow)).collect();
    let by_pac: HashMap<PacId, &PacEmployee> = pac.iter().map(|e| (e.id, e)).collect();
    let by_pers: HashMap<PersNo, &AstrowEmployee> = astrow.iter().map(|e| (e.pers_no, e)).collect();
    let PlanMarks {
        differences,
        conflicted_pac,
        conflicted_astrow,
    } = plan_marks(pairing, plan, master);
    let mut rows = Vec::with_capacity(pac.len().max(astrow.len()));
    let mut seen_pac = BTreeSet::new();
    let mut seen_astrow = BTreeSet::new();
    for (pac_id, pers_no) in &pairs {
        let (Some(p), Some(a)) = (by_pac.get(pac_id), by_pers.get(pers_no)) else {
            continue;
        };
        seen_pac.insert(*pac_id);
        seen_astrow.insert(*pers_no);
        let conflict = conflicted_pac.contains(&pac_id.0) || conflicted_astrow.contains(&pers_no.0);
        rows.push(EmployeeRow {
            kind: if conflict {
                RowKind::Conflict
            } else {
                RowKind::Linked
            },
            pac: Some(PacRecord::from(*p)),
            astrow: Some(AstrowRecord::from(*a)),
            differences: differences
                .get(&(Some(pac_id.0), Some(pers_no.0)))
                .copied()
                .unwrap_or_default(),
        });
    }
    for p in pac.iter().filter(|p| !seen_pac.contains(&p.id)) {
        let kind = if conflicted_pac.contains(&p.id.0) {
            RowKind::Conflict
        } else if master == System::Pac {
            RowKind::MasterOnly
        } else {
            RowKind::Unmanaged
        };
        rows.push(EmployeeRow {
            kind,
            pac: Some(PacRecord::from(p)),
            astrow: None,
            differences: FieldSet::default(),
        });
    }
    for a in astrow.iter().filter(|a| !seen_astrow.contains(&a.pers_no)) {
        let kind = if conflicted_astrow.contains(&a.pers_no.0) {
            RowKind::Conflict
        } else if master == System::Astrow {
            RowKind::MasterOnly
        } else {
            RowKind::Unmanaged
        };
        rows.push(EmployeeRow {
            kind,
            pac: None,
            astrow: Some(AstrowRecord::from(a)),
            differences: FieldSet::default(),
        });
    }
    rows.sort_by_cached_key(|r| {
        r.pac
            .as_ref()
            .map(|p| (p.last_name().to_lowercase(), p.first_name().to_lowercase()))
            .or_else(|| {
                r.astrow
                    .as_ref()
                    .map(|a| (a.last_name().to_lowercase(), a.first_name().to_lowercase()))
            })
            .unwrap_or_default()
    });
    // Kept as long as the snapshot shows them: no spare room.
    rows.shrink_to_fit();
    rows
}

/// What the plan says of the rows: the fields each pair differs in (by
/// PAC id and personnel number), and who is in a conflict.
struct PlanMarks {
    differences: HashMap<(Option<u64>, Option<u64>), FieldSet>,
    conflicted_pac: BTreeSet<u64>,
    conflicted_astrow: BTreeSet<u64>,
}

fn plan_marks(pairing: &EmployeePairing, plan: Option<&Plan>, master: System) -> PlanMarks {
    let mut differences: HashMap<(Option<u64>, Option<u64>), FieldSet> = HashMap::new();
    let mut conflicted_pac: BTreeSet<u64> = pairing.conflicts.keys().map(|p| p.0).collect();
    let mut conflicted_astrow = BTreeSet::new();
    let mut unknown = BTreeSet::new();
    for item in plan.iter().flat_map(|p| &p.items) {
        let (pac_id, pers_no) = match master {
            System::Pac => (item.master_id, item.slave_id),
            System::Astrow => (item.slave_id, item.master_id),
        };
        if item.action == Action::Conflict {
            conflicted_pac.extend(pac_id);
            conflicted_astrow.extend(pers_no);
        } else if !item.changes.is_empty() {
            // external_ref is bookkeeping of the link, not a difference
            // a person needs to see.
            let fields = differences.entry((pac_id, pers_no)).or_default();
            for c in item.changes.iter().filter(|c| c.field != "external_ref") {
                if !fields.insert(&c.field) {
                    unknown.insert(&*c.field);
                }
            }
        }
    }
    if !unknown.is_empty() {
        tracing::warn!(fields = ?unknown, "changed fields an employee row cannot show as differences");
    }
    PlanMarks {
        differences,
        conflicted_pac,
        conflicted_astrow,
    }
}

/// The active PAC employees with no linked Astrow badge: when PAC is
/// master, the employee sync is about to create or link them. Those in a
/// pairing conflict are not waited for (their swipes go with PAC's badge
/// number until a person resolves it).
pub fn awaiting_link(pac: &[PacEmployee], people: &People) -> HashSet<PacId> {
    pac.iter()
        .filter(|e| {
            e.active
                && !people.linked_badges.contains_key(&e.id)
                && !people.unpaired_why.contains_key(&e.id)
        })
        .map(|e| e.id)
        .collect()
}

/// Names and linked badges for the booking import. A PAC employee in a
/// pairing conflict has no linked badge (their swipes go with PAC's badge
/// number, which Astrow queues for an administrator) and the reason why.
pub fn people(pac: &[PacEmployee], astrow: &[AstrowEmployee], pairing: &EmployeePairing) -> People {
    let by_pers: HashMap<PersNo, &AstrowEmployee> = astrow.iter().map(|a| (a.pers_no, a)).collect();
    let linked_badges = pairing
        .linked()
        .filter_map(|(id, pers)| {
            let badge = by_pers.get(&pers)?.badge_no.clone()?;
            (!badge.trim().is_empty()).then_some((id, badge))
        })
        .collect();
    People {
        names: pac.iter().map(|e| (e.id, pac_name(e))).collect(),
        linked_badges,
        unpaired_why: pairing.conflicts.clone().into_iter().collect(),
        mirrored_serials: None,
        awaiting_link: HashSet::new(),
        mirrored_ids: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::plan::{
        Listing, MatchKey, PlanInput, PlanSettings, plan_and_pair_employees,
    };
    use crate::model::{Badge, BadgeType, Link};

    fn pac(id: u64, number: &str) -> PacEmployee {
        PacEmployee {
            id: PacId(id),
            first_name: "Ana".into(),
            last_name: "Pop".into(),
            employee_number: number.into(),
            active: true,
            valid_from: None,
            valid_until: None,
            access_group_ids: vec![1],
            badges: vec![Badge {
                number: "00A1".into(),
                badge_type: BadgeType::PacProximity,
                active: true,
            }],
            external_ref: None,
            version: 1,
        }
    }

    fn astrow(pers: u64, number: &str, first: &str) -> AstrowEmployee {
        AstrowEmployee {
            pers_no: PersNo(pers),
            employee_no: number.into(),
            first_name: first.into(),
            middle_name: String::new(),
            last_name: "Pop".into(),
            badge_no: Some("77".into()),
            active: true,
            contract_start: None,
            contract_end: None,
            cycle_code: "STD".into(),
            paygroup_code: "MONTHLY".into(),
            pac_access_group_ids: vec![1],
            pac_badge_type: Some(BadgeType::PacProximity),
            external_ref: None,
            version: 1,
        }
    }

    #[test]
    fn a_pending_match_shows_both_halves_on_one_row_and_only_real_differences() {
        let p = vec![pac(10, "E-1"), pac(11, "E-2")];
        let a = vec![astrow(1001, "E-1", "Anna"), astrow(1002, "E-9", "Ion")];
        let input = PlanInput {
            pac: Listing::complete(p.clone()),
            astrow: Listing::complete(a.clone()),
            links: vec![],
            suppressions: vec![],
            today: chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
            settings: PlanSettings {
                master: System::Pac,
                delete_employees_on_sync: false,
                sync_inactive_employees: false,
                match_key: MatchKey::EmployeeNumber,
                default_cycle_code: "STD".into(),
                default_paygroup_code: "MONTHLY".into(),
                pac_default_access_group_id: Some(1),
                pac_access_group_ids: None,
                guard_count: 50,
                guard_percent: 10,
            },
        };
        let (plan, pairing) = plan_and_pair_employees(&input).unwrap();
        let rows = employee_rows(&p, &a, &pairing, Some(&plan), System::Pac);
        assert_eq!(rows.len(), 3, "{rows:#?}");
        let matched = rows
            .iter()
            .find(|r| r.pac.as_ref().is_some_and(|x| x.id == PacId(10)))
            .unwrap();
        assert_eq!(
            matched.astrow.as_ref().map(|x| x.pers_no),
            Some(PersNo(1001))
        );
        assert!(matched.differences.contains("first_name"));
        assert!(!matched.differences.contains("external_ref"));
        let new = rows
            .iter()
            .find(|r| r.pac.as_ref().is_some_and(|x| x.id == PacId(11)))
            .unwrap();
        assert_eq!(new.kind, RowKind::MasterOnly);
        assert!(rows.iter().any(|r| r.kind == RowKind::Unmanaged));
    }

    /// The plan of `input` as the view shows it, every item pending.
    fn view_of(input: &PlanInput) -> PlanView {
        let (plan, _) = plan_and_pair_employees(input).unwrap();
        let stored = StoredPlan {
            plan_id: "p-1".into(),
            master: input.settings.master,
            state: PlanState::Pending,
            held_reason: None,
            body_json: String::new(),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            note: None,
            settings: None,
            items: plan
                .items
                .iter()
                .enumerate()
                .map(|(k, i)| StoredItem {
                    item_id: i.id.clone(),
                    position: k as u32,
                    action: i.action.as_str().into(),
                    target: i.target,
                    state: PlanState::Pending,
                    source_fingerprint: i.source_fingerprint.0,
                    body: Vec::new(),
                    started_at: None,
                    done_at: None,
                    detail: None,
                    attempts: 0,
                    retry_at: None,
                    failure_kind: None,
                    destructive: i.destructive,
                    origin_plan: None,
                })
                .collect(),
        };
        let names = Names::new(&input.pac.items, &input.astrow.items);
        plan_view(&plan, &stored, &names).unwrap()
    }

    fn reason_of(view: &PlanView, action: ActionKind, target: System) -> String {
        let item = view
            .items
            .iter()
            .find(|i| i.action == action && i.target == target)
            .unwrap_or_else(|| panic!("no {action:?} in {target}: {:#?}", view.items));
        view.reason_text(item)
    }

    #[test]
    fn link_reasons_are_rendered_with_the_names_the_planner_used_to_write() {
        let mut a = astrow(1001, "E-1", "Anna");
        a.middle_name = "Maria".into();
        let input = |master| PlanInput {
            pac: Listing::complete(vec![pac(10, "E-1")]),
            astrow: Listing::complete(vec![a.clone()]),
            links: vec![],
            suppressions: vec![],
            today: chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
            settings: settings(master),
        };
        let view = view_of(&input(System::Pac));
        assert_eq!(
            reason_of(&view, ActionKind::Link, System::Astrow),
            "PAC employee 10 (Ana Pop) matched by employee number E-1 with Astrow employee 1001 (Anna Pop): link; update first_name, external_ref"
        );
        assert_eq!(
            reason_of(&view, ActionKind::Update, System::Pac),
            "record the link to Astrow employee 1001 in PAC's external_ref, so it survives a lost store"
        );
        // The label names the PAC employee: only the Astrow name is kept.
        assert!(view.names.pac.is_empty(), "{:?}", view.names);
        assert_eq!(view.names.astrow, vec![(1001, "Anna Pop".into())]);

        // Master Astrow: the label has the middle name, the reason never had.
        let view = view_of(&input(System::Astrow));
        let link = view
            .items
            .iter()
            .find(|i| i.action == ActionKind::Link)
            .unwrap();
        assert_eq!(&*link.label, "Anna Maria Pop");
        assert!(
            view.reason_text(link).starts_with(
                "Astrow employee 1001 (Anna Pop) matched by employee number E-1 with PAC employee 10 (Ana Pop): link; update "
            ),
            "{}",
            view.reason_text(link)
        );
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
            guard_count: 50,
            guard_percent: 10,
        }
    }

    fn pairing_of(
        master: System,
        p: &[PacEmployee],
        a: &[AstrowEmployee],
        links: Vec<Link>,
    ) -> (Plan, EmployeePairing) {
        let input = PlanInput {
            pac: Listing::complete(p.to_vec()),
            astrow: Listing::complete(a.to_vec()),
            links,
            suppressions: vec![],
            today: chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
            settings: settings(master),
        };
        plan_and_pair_employees(&input).unwrap()
    }

    /// Two Astrow employees whose external_ref names PAC 10, with badges 71 and 72.
    fn two_claimants() -> Vec<AstrowEmployee> {
        let mut a = vec![astrow(1001, "E-7", "Ana"), astrow(1002, "E-8", "Ana")];
        for (e, badge) in a.iter_mut().zip(["71", "72"]) {
            e.external_ref = Some("pac:10".into());
            e.badge_no = Some(badge.into());
        }
        a
    }

    #[test]
    fn every_field_a_seeded_site_plans_to_change_is_one_a_row_can_show() {
        let site = crate::sim::seed::pac_site(7, 2000);
        let astrow = crate::sim::seed_astrow::astrow_site(7, &site);
        for master in [System::Pac, System::Astrow] {
            let (plan, pairing) = pairing_of(master, &site.employees, &astrow.employees, vec![]);
            let unknown: BTreeSet<&str> = plan
                .items
                .iter()
                .flat_map(|i| &i.changes)
                .map(|c| &*c.field)
                .filter(|f| !FieldSet::default().insert(f))
                .collect();
            assert!(unknown.is_empty(), "{master}: {unknown:?}");
            let rows = employee_rows(
                &site.employees,
                &astrow.employees,
                &pairing,
                Some(&plan),
                master,
            );
            assert!(rows.iter().any(|r| !r.differences.is_empty()), "{master}");
        }
    }

    #[test]
    fn two_astrow_employees_claiming_one_pac_employee_get_none_of_their_swipes() {
        for master in [System::Pac, System::Astrow] {
            let p = vec![pac(10, "E-1")];
            let a = two_claimants();
            let (plan, pairing) = pairing_of(master, &p, &a, vec![]);
            assert!(
                plan.items.iter().any(|i| i.action == Action::Conflict),
                "{master}: {plan:#?}"
            );
            assert!(pairing.conflicts.contains_key(&PacId(10)), "{master}");
            let people = people(&p, &a, &pairing);
            assert_eq!(people.linked_badges.get(&PacId(10)), None, "{master}");
            let why = &people.unpaired_why[&PacId(10)];
            assert!(why.contains("1001") && why.contains("1002"), "{why}");
            let rows = employee_rows(&p, &a, &pairing, Some(&plan), master);
            assert!(
                rows.iter()
                    .all(|r| r.pac.is_none() || r.kind == RowKind::Conflict),
                "{master}: the PAC employee's row shows the conflict: {rows:#?}"
            );
        }
    }

    #[test]
    fn a_stray_claim_on_a_linked_pac_employee_leaves_the_stored_link_in_force() {
        let p = vec![pac(10, "E-1")];
        let a = two_claimants();
        let link = Link {
            pac_id: PacId(10),
            pers_no: PersNo(1001),
            origin: crate::model::LinkOrigin::Created,
            at: chrono::Utc::now(),
        };
        let (plan, pairing) = pairing_of(System::Pac, &p, &a, vec![link]);
        assert!(
            plan.items
                .iter()
                .any(|i| i.action == Action::Conflict && i.slave_id == Some(1002)),
            "{plan:#?}"
        );
        assert!(pairing.conflicts.is_empty(), "{pairing:#?}");
        let people = people(&p, &a, &pairing);
        assert_eq!(
            people.linked_badges.get(&PacId(10)).map(String::as_str),
            Some("71"),
            "the stored link's Astrow employee, never the stray claimant"
        );
    }

    #[test]
    fn a_linked_pair_in_no_dispute_books_to_the_astrow_badge() {
        let mut p = vec![pac(10, "E-1")];
        p[0].external_ref = Some("astrow:1001".into());
        let mut a = vec![astrow(1001, "E-1", "Ana")];
        a[0].external_ref = Some("pac:10".into());
        let (_, pairing) = pairing_of(System::Pac, &p, &a, vec![]);
        assert!(pairing.conflicts.is_empty());
        let people = people(&p, &a, &pairing);
        assert_eq!(
            people.linked_badges.get(&PacId(10)).map(String::as_str),
            Some("77")
        );
        assert!(people.unpaired_why.is_empty());
    }
}
