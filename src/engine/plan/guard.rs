//! The deletion guard: a plan whose destructive items (deletes, badge
//! removals, deactivations) pass the limit is held for a person, even in
//! auto mode.

use super::{Hold, PlanItem, PlanSettings};

/// The most destructive items a plan may carry unheld: the larger of the
/// count and the percentage of the managed slave employees (rounded down).
pub fn destructive_limit(managed_slave_employees: usize, settings: &PlanSettings) -> usize {
    let by_percent =
        managed_slave_employees.saturating_mul(usize::from(settings.guard_percent)) / 100;
    (settings.guard_count as usize).max(by_percent)
}

/// `Some(Hold)` when the plan's destructive items pass the limit.
pub fn guard(
    items: &[PlanItem],
    managed_slave_employees: usize,
    settings: &PlanSettings,
) -> Option<Hold> {
    let destructive = items.iter().filter(|i| i.destructive).count();
    let limit = destructive_limit(managed_slave_employees, settings);
    (destructive > limit).then(|| Hold {
        reason: format!(
            "{destructive} destructive items (deletes, badge removals, deactivations) pass the deletion guard's limit of {limit} \
             (the larger of {} and {} % of {} managed {} employees): approve them by hand",
            settings.guard_count,
            settings.guard_percent,
            managed_slave_employees,
            settings.master.other()
        ),
    })
}
