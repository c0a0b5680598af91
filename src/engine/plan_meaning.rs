//! The settings that change what a plan means (which system is written,
//! what is deleted, who is matched with whom, what a created employee
//! gets). Each plan is stored with the ones it was planned under; a plan
//! made under other ones is void, never applied: at the startup resume,
//! at `apply --plan`, at the engine's apply, and at a settings reload.
//! Pure: no I/O.

use serde::{Deserialize, Serialize};

use crate::config::{self, Settings};
use crate::model::System;

/// What a plan was planned under, as stored with it (JSON text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanMeaning {
    pub master: System,
    pub delete_employees_on_sync: bool,
    pub sync_inactive_employees: bool,
    pub match_key: config::MatchKey,
    pub default_cycle_code: String,
    pub default_paygroup_code: String,
}

impl PlanMeaning {
    pub fn of(s: &Settings) -> Self {
        PlanMeaning {
            master: match s.sync.master {
                config::Master::Pac => System::Pac,
                config::Master::Astrow => System::Astrow,
            },
            delete_employees_on_sync: s.sync.delete_employees_on_sync,
            sync_inactive_employees: s.sync.sync_inactive_employees,
            match_key: s.sync.match_key,
            default_cycle_code: s.astrow.default_cycle_code.clone(),
            default_paygroup_code: s.astrow.default_paygroup_code.clone(),
        }
    }

    /// As stored with a plan.
    pub fn to_text(&self) -> String {
        // Plain fields: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// As read back from the store (`None`: not readable).
    pub fn from_text(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// The settings (named as in the settings file) that differ between the
/// ones a plan was made under (`then`) and the ones in force (`now`).
pub fn changed_settings(then: &PlanMeaning, now: &PlanMeaning) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut check = |differs: bool, name: &'static str| {
        if differs {
            changed.push(name);
        }
    };
    check(then.master != now.master, "sync.master");
    check(
        then.delete_employees_on_sync != now.delete_employees_on_sync,
        "sync.delete_employees_on_sync",
    );
    check(
        then.sync_inactive_employees != now.sync_inactive_employees,
        "sync.sync_inactive_employees",
    );
    check(then.match_key != now.match_key, "sync.match_key");
    check(
        then.default_cycle_code != now.default_cycle_code,
        "astrow.default_cycle_code",
    );
    check(
        then.default_paygroup_code != now.default_paygroup_code,
        "astrow.default_paygroup_code",
    );
    changed
}

/// Why a plan made under `then` is void under `now`, naming the settings
/// that changed; `None` when it still holds.
pub fn void_reason(then: &PlanMeaning, now: &PlanMeaning) -> Option<String> {
    words(&changed_settings(then, now))
}

/// [`void_reason`] for a stored plan: `stored` is the text it was saved
/// with; a plan stored without it (before they were kept, or unreadable)
/// is judged by its master alone.
pub fn stored_plan_void_reason(
    master: System,
    stored: Option<&str>,
    now: &PlanMeaning,
) -> Option<String> {
    match stored.and_then(PlanMeaning::from_text) {
        Some(then) => void_reason(&then, now),
        None if master != now.master => words(&["sync.master"]),
        None => None,
    }
}

/// Does this settings change (a reload: `old` to `new`) void the plans
/// made under `old`? Why, naming the settings, when it does. One answer
/// for the reload's voiding of pending plans and of the apply in
/// progress, and for the employee sync's refusal to save a plan made
/// under settings no longer in force.
pub fn settings_change_voids_plans(old: &Settings, new: &Settings) -> Option<String> {
    void_reason(&PlanMeaning::of(old), &PlanMeaning::of(new))
}

/// Does this settings change call for the deletion guard to judge the
/// pending plan again (its count, percentage or window changed)? The plan
/// is not void: planned again, it is held or released by the new limits.
pub fn guard_changed(old: &Settings, new: &Settings) -> bool {
    old.sync.deletion_guard != new.sync.deletion_guard
}

fn words(changed: &[&str]) -> Option<String> {
    (!changed.is_empty()).then(|| {
        format!(
            "made under other settings ({} changed): void, planned again",
            changed.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meaning() -> PlanMeaning {
        PlanMeaning {
            master: System::Pac,
            delete_employees_on_sync: false,
            sync_inactive_employees: false,
            match_key: config::MatchKey::EmployeeNumber,
            default_cycle_code: "C1".into(),
            default_paygroup_code: "P1".into(),
        }
    }

    #[test]
    fn the_same_settings_void_nothing() {
        assert_eq!(changed_settings(&meaning(), &meaning()), Vec::<&str>::new());
        assert_eq!(void_reason(&meaning(), &meaning()), None);
    }

    #[test]
    fn each_setting_that_changes_a_plan_is_named() {
        let then = meaning();
        type Change = fn(&mut PlanMeaning);
        let cases: [(Change, &str); 6] = [
            (|m| m.master = System::Astrow, "sync.master"),
            (
                |m| m.delete_employees_on_sync = true,
                "sync.delete_employees_on_sync",
            ),
            (
                |m| m.sync_inactive_employees = true,
                "sync.sync_inactive_employees",
            ),
            (
                |m| m.match_key = config::MatchKey::BadgeNumber,
                "sync.match_key",
            ),
            (
                |m| m.default_cycle_code = "C2".into(),
                "astrow.default_cycle_code",
            ),
            (
                |m| m.default_paygroup_code = "P2".into(),
                "astrow.default_paygroup_code",
            ),
        ];
        for (change, name) in cases {
            let mut now = then.clone();
            change(&mut now);
            assert_eq!(changed_settings(&then, &now), [name]);
            let why = void_reason(&then, &now).unwrap_or_default();
            assert!(why.contains(name), "{why}");
        }
        let mut now = then.clone();
        now.master = System::Astrow;
        now.match_key = config::MatchKey::BadgeNumber;
        assert_eq!(
            changed_settings(&then, &now),
            ["sync.master", "sync.match_key"]
        );
    }

    #[test]
    fn a_reload_voids_plans_only_for_the_settings_that_change_a_plan() {
        let old = Settings::default();
        let mut new = old.clone();
        new.sync.employee_interval_s += 60;
        new.sync.deletion_guard.window_h += 1;
        assert_eq!(settings_change_voids_plans(&old, &new), None);
        let mut new = old.clone();
        new.sync.match_key = config::MatchKey::BadgeNumber;
        new.sync.sync_inactive_employees = !old.sync.sync_inactive_employees;
        let why = settings_change_voids_plans(&old, &new).unwrap_or_default();
        assert!(
            why.contains("sync.match_key") && why.contains("sync.sync_inactive_employees"),
            "{why}"
        );
        let mut new = old.clone();
        new.sync.master = match old.sync.master {
            config::Master::Pac => config::Master::Astrow,
            config::Master::Astrow => config::Master::Pac,
        };
        assert!(settings_change_voids_plans(&old, &new).is_some_and(|w| w.contains("sync.master")));
    }

    #[test]
    fn a_guard_change_is_judged_again_not_voided() {
        let old = Settings::default();
        assert!(!guard_changed(&old, &old.clone()));
        for change in [
            |s: &mut Settings| s.sync.deletion_guard.count += 1,
            |s: &mut Settings| s.sync.deletion_guard.percent /= 2,
        ] {
            let mut new = old.clone();
            change(&mut new);
            assert!(guard_changed(&old, &new));
            assert_eq!(settings_change_voids_plans(&old, &new), None);
        }
    }

    #[test]
    fn a_stored_plan_is_judged_by_its_text_else_by_its_master() {
        let then = meaning();
        let text = then.to_text();
        assert_eq!(PlanMeaning::from_text(&text), Some(then.clone()));
        let mut now = then.clone();
        now.default_cycle_code = "C2".into();
        assert!(
            stored_plan_void_reason(System::Pac, Some(&text), &now)
                .is_some_and(|w| w.contains("astrow.default_cycle_code"))
        );
        // Stored before the settings were kept, or unreadable: the master.
        for stored in [None, Some("{not json")] {
            assert_eq!(stored_plan_void_reason(System::Pac, stored, &now), None);
            assert!(
                stored_plan_void_reason(System::Astrow, stored, &now)
                    .is_some_and(|w| w.contains("sync.master"))
            );
        }
    }
}
