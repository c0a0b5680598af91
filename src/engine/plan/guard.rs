//! The deletion guard: a plan whose destructive items (deletes, badge
//! removals, deactivations) pass either limit, the count OR the percentage
//! of the managed slave employees, is held for a person, even in auto mode.
//! Across time: the destructive items applied within the rolling window
//! count together with the plan's, so that a site cannot be drained a few
//! leavers per interval.

use super::{Hold, PlanItem, PlanSettings};

/// Which limit a number of destructive items passes, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardLimit {
    /// More than `sync.deletion_guard.count`.
    Count,
    /// More than `sync.deletion_guard.percent` of the managed employees.
    Percent,
    /// Both.
    Both,
}

/// Which limit `destructive` items pass on a site of `managed` linked slave
/// employees (`None`: under both). The percentage is exact: 31 of 300 pass
/// 10 %, 30 do not; a percentage of 100 never holds, 0 holds any.
pub fn passed_limit(
    destructive: usize,
    managed: usize,
    settings: &PlanSettings,
) -> Option<GuardLimit> {
    let by_count = destructive > settings.guard_count as usize;
    let by_percent = destructive.saturating_mul(100)
        > managed.saturating_mul(usize::from(settings.guard_percent));
    match (by_count, by_percent) {
        (true, true) => Some(GuardLimit::Both),
        (true, false) => Some(GuardLimit::Count),
        (false, true) => Some(GuardLimit::Percent),
        (false, false) => None,
    }
}

/// The most destructive items a plan may carry unheld: the smaller of the
/// count and the percentage of the managed slave employees (rounded down).
pub fn destructive_limit(managed_slave_employees: usize, settings: &PlanSettings) -> usize {
    let by_percent =
        managed_slave_employees.saturating_mul(usize::from(settings.guard_percent)) / 100;
    (settings.guard_count as usize).min(by_percent)
}

/// `Some(Hold)` when the plan's destructive items pass either limit.
pub fn guard(
    items: &[PlanItem],
    managed_slave_employees: usize,
    settings: &PlanSettings,
) -> Option<Hold> {
    let destructive = items.iter().filter(|i| i.destructive).count();
    let limit = passed_limit(destructive, managed_slave_employees, settings)?;
    Some(Hold {
        reason: format!(
            "{destructive} destructive items (deletes, badge removals, deactivations) pass {}: approve them by hand",
            limit_text(limit, managed_slave_employees, settings)
        ),
    })
}

/// `Some(Hold)` when the plan's destructive items together with those
/// applied within the last `window_h` hours pass either limit (and the plan
/// alone does not: then [`guard`] has said so already). No plan
/// destructive item, no hold: the window holds new destruction only.
pub fn window_guard(
    items: &[PlanItem],
    managed_slave_employees: usize,
    applied_in_window: usize,
    window_h: u32,
    settings: &PlanSettings,
) -> Option<Hold> {
    let planned = items.iter().filter(|i| i.destructive).count();
    if planned == 0 || window_h == 0 {
        return None;
    }
    let total = planned.saturating_add(applied_in_window);
    let limit = passed_limit(total, managed_slave_employees, settings)?;
    Some(Hold {
        reason: format!(
            "{planned} destructive items planned and {applied_in_window} applied in the last {window_h} h \
             (sync.deletion_guard.window_h) make {total}, which passes {}: approve them by hand",
            limit_text(limit, managed_slave_employees, settings)
        ),
    })
}

fn limit_text(limit: GuardLimit, managed: usize, settings: &PlanSettings) -> String {
    let count = format!(
        "the count limit of {} (sync.deletion_guard.count)",
        settings.guard_count
    );
    let percent = format!(
        "the limit of {} % of {managed} managed {} employees (sync.deletion_guard.percent)",
        settings.guard_percent,
        settings.master.other()
    );
    match limit {
        GuardLimit::Count => count,
        GuardLimit::Percent => percent,
        GuardLimit::Both => format!("{count} and {percent}"),
    }
}
