//! Properties of the deletion guard over (count, percent, managed,
//! destructive, applied in the window): either limit holds, the hold says
//! which, and more destruction never unholds a plan.

use astrow_pac::engine::plan::{
    Action, Fingerprint, GuardLimit, MatchKey, PlanItem, PlanSettings, guard, passed_limit,
    window_guard,
};
use astrow_pac::model::System;
use proptest::prelude::*;

fn settings(count: u32, percent: u8) -> PlanSettings {
    PlanSettings {
        master: System::Pac,
        delete_employees_on_sync: true,
        sync_inactive_employees: false,
        match_key: MatchKey::EmployeeNumber,
        default_cycle_code: "STD".into(),
        default_paygroup_code: "MONTHLY".into(),
        pac_default_access_group_id: None,
        pac_access_group_ids: None,
        guard_count: count,
        guard_percent: percent,
    }
}

fn deletes(n: usize) -> Vec<PlanItem> {
    (0..n as u64)
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
        .collect()
}

proptest! {
    #[test]
    fn the_guard_holds_when_either_limit_is_passed_and_says_which(
        count in 0u32..60,
        percent in 0u8..=100,
        managed in 0usize..400,
        destructive in 0usize..80,
    ) {
        let s = settings(count, percent);
        let by_count = destructive > count as usize;
        let by_percent = destructive * 100 > managed * usize::from(percent);
        let limit = passed_limit(destructive, managed, &s);
        prop_assert_eq!(limit.is_some(), by_count || by_percent);
        prop_assert_eq!(
            limit,
            match (by_count, by_percent) {
                (true, true) => Some(GuardLimit::Both),
                (true, false) => Some(GuardLimit::Count),
                (false, true) => Some(GuardLimit::Percent),
                (false, false) => None,
            }
        );
        // More destruction never unholds.
        if limit.is_some() {
            prop_assert!(passed_limit(destructive + 1, managed, &s).is_some());
        }
        prop_assert_eq!(passed_limit(0, managed, &s), None);
        let hold = guard(&deletes(destructive), managed, &s);
        prop_assert_eq!(hold.is_some(), limit.is_some());
        let reason = hold.map(|h| h.reason).unwrap_or_default();
        prop_assert_eq!(reason.contains("sync.deletion_guard.count"), by_count);
        prop_assert_eq!(reason.contains("sync.deletion_guard.percent"), by_percent);
        if limit.is_some() {
            let numbers = format!("{destructive} destructive items");
            prop_assert!(reason.starts_with(&numbers), "{}", reason);
        }
    }

    #[test]
    fn the_window_adds_what_was_applied_to_what_is_planned(
        count in 0u32..60,
        percent in 0u8..=100,
        managed in 0usize..400,
        planned in 0usize..40,
        applied in 0usize..80,
        window_h in 0u32..48,
    ) {
        let s = settings(count, percent);
        let hold = window_guard(&deletes(planned), managed, applied, window_h, &s);
        let expected = planned > 0
            && window_h > 0
            && passed_limit(planned + applied, managed, &s).is_some();
        prop_assert_eq!(hold.is_some(), expected);
        // A plan the guard holds alone is held with the window too.
        if planned > 0 && window_h > 0 && passed_limit(planned, managed, &s).is_some() {
            prop_assert!(hold.is_some());
        }
        if let Some(h) = hold {
            let numbers = format!("{planned} destructive items planned and {applied} applied in the last {window_h} h");
            prop_assert!(h.reason.starts_with(&numbers), "{}", h.reason);
        }
    }
}
