//! Derived lists (filtered rows, the plan grouped by action) and keeping the
//! selection on the same record when a new snapshot arrives.

use std::sync::Arc;

use crate::engine::snapshot::{
    ActionKind, Delivery, EmployeeRow, FeedEntry, ItemState, PlanView, Snapshot,
};
use crate::model::BookingStatus;

use super::list::ListState;
use super::state::{AppState, ChangeRow};

/// Take a new snapshot, recomputing only what changed.
pub fn set_snapshot(s: &mut AppState, new: Arc<Snapshot>) {
    let new = s.snap.next(new);
    let old = std::mem::replace(&mut s.snap, new);
    let h = s.body_rows();
    if !Arc::ptr_eq(&old.employees, &s.snap.employees)
        || s.employees.visible.len() > s.snap.employees.len()
        || (old.employees.is_empty() && s.employees.visible.is_empty())
    {
        let key = selected_employee_key(
            &old.employees,
            &s.employees.visible,
            s.employees.list.selected,
        );
        refilter_employees(s);
        s.employees.counts = count_employees(&s.snap.employees);
        // The same pair, or else the same person on either side (a row that
        // just got linked, or lost its other side).
        let new_pos = key.and_then(|k| {
            let rows = &s.snap.employees;
            let find = |same: &dyn Fn(EmpKey) -> bool| {
                s.employees
                    .visible
                    .iter()
                    .position(|&i| rows.get(i as usize).is_some_and(|r| same(employee_key(r))))
            };
            find(&|r| r == k)
                .or_else(|| k.0.and_then(|p| find(&|r| r.0 == Some(p))))
                .or_else(|| k.1.and_then(|a| find(&|r| r.1 == Some(a))))
        });
        let len = s.employees.visible.len();
        match new_pos {
            Some(p) => s.employees.list.follow_row(p, len, h),
            None => s.employees.list.clamp(len, h),
        }
    }
    let plan_changed = match (&old.plan, &s.snap.plan) {
        (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
        (None, None) => false,
        _ => true,
    };
    if plan_changed
        && let Some(old_plan) = old.plan.as_deref()
        && s.snap
            .plan
            .as_ref()
            .is_none_or(|p| p.plan_id != old_plan.plan_id)
    {
        let done: Vec<_> = old_plan
            .items
            .iter()
            .filter(|i| {
                matches!(
                    i.state,
                    ItemState::Applied | ItemState::Stale | ItemState::Failed
                )
            })
            .cloned()
            .collect();
        if !done.is_empty() {
            s.changes.results = done;
        }
    }
    if plan_changed || s.changes.rows.is_empty() {
        let sel_id = selected_item_id(
            old.plan.as_deref(),
            &s.changes.rows,
            s.changes.list.selected,
        );
        let anchor_id = s
            .changes
            .anchor
            .and_then(|a| selected_item_id(old.plan.as_deref(), &s.changes.rows, a));
        s.changes.rows = group_plan(s.snap.plan.as_deref());
        let find = |id: &str, rows: &[ChangeRow], plan: Option<&PlanView>| {
            rows.iter().position(|r| match (r, plan) {
                (ChangeRow::Item(i), Some(p)) => p.items.get(*i).is_some_and(|it| *it.id == *id),
                _ => false,
            })
        };
        let plan = s.snap.plan.clone();
        let len = s.changes.rows.len();
        match sel_id.and_then(|id| find(&id, &s.changes.rows, plan.as_deref())) {
            Some(p) => s.changes.list.follow_row(p, len, h),
            None => {
                s.changes.list.clamp(len, h);
                settle_on_item(&s.changes.rows, &mut s.changes.list, 1, h);
            }
        }
        s.changes.anchor = anchor_id.and_then(|id| find(&id, &s.changes.rows, plan.as_deref()));
    }
    if !Arc::ptr_eq(&old.bookings, &s.snap.bookings) || s.bookings.visible.is_empty() {
        refresh_bookings(s, Some(&old));
    }
    if !Arc::ptr_eq(&old.definitions, &s.snap.definitions) {
        let serials: Vec<String> = s
            .snap
            .definitions
            .pac_readers
            .iter()
            .map(|r| r.serial.clone())
            .collect();
        super::settings_form::add_readers(&mut s.settings, &serials);
    }
    let d = &s.snap.definitions;
    let (g, r) = (group_rows(d), d.pac_readers.len());
    s.definitions.groups.clamp(g, h);
    s.definitions.readers.clamp(r, h);
}

pub type EmpKey = (Option<u64>, Option<u64>);

pub fn employee_key(r: &EmployeeRow) -> EmpKey {
    (
        r.pac.as_ref().map(|p| p.id.0),
        r.astrow.as_ref().map(|a| a.pers_no.0),
    )
}

fn selected_employee_key(rows: &[EmployeeRow], visible: &[u32], sel: usize) -> Option<EmpKey> {
    visible
        .get(sel)
        .and_then(|&i| rows.get(i as usize))
        .map(employee_key)
}

/// Case-insensitive "contains" for a needle already in lower case.
pub fn contains_ci(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        hay.to_lowercase().contains(needle)
    }
}

pub fn employee_matches(r: &EmployeeRow, needle: &str) -> bool {
    if let Some(p) = &r.pac
        && (contains_ci(p.employee_number(), needle)
            || contains_ci(&format!("{} {}", p.first_name(), p.last_name()), needle)
            || p.badges().any(|b| contains_ci(b.number, needle))
            || contains_ci(&p.id.0.to_string(), needle))
    {
        return true;
    }
    if let Some(a) = &r.astrow {
        let full = if a.middle_name().is_empty() {
            format!("{} {}", a.first_name(), a.last_name())
        } else {
            format!("{} {} {}", a.first_name(), a.middle_name(), a.last_name())
        };
        if contains_ci(a.employee_no(), needle)
            || contains_ci(&full, needle)
            || a.badge_no().is_some_and(|b| contains_ci(b, needle))
            || contains_ci(&a.pers_no.0.to_string(), needle)
        {
            return true;
        }
    }
    false
}

pub fn count_employees(rows: &[EmployeeRow]) -> super::state::EmployeeCounts {
    use crate::engine::snapshot::RowKind;
    let mut c = super::state::EmployeeCounts::default();
    for r in rows {
        match r.kind {
            RowKind::Linked => {
                c.linked += 1;
                c.differ += usize::from(!r.differences.is_empty());
            }
            RowKind::MasterOnly => c.master_only += 1,
            RowKind::Unmanaged => c.unmanaged += 1,
            RowKind::Conflict => c.conflict += 1,
        }
    }
    c
}

/// A row kind asked for with `is:` in the filter.
fn kind_matches(r: &EmployeeRow, kind: &str) -> bool {
    use crate::engine::snapshot::RowKind;
    match kind {
        "diff" | "differs" => r.kind == RowKind::Linked && !r.differences.is_empty(),
        "linked" => r.kind == RowKind::Linked,
        "new" => r.kind == RowKind::MasterOnly,
        "unmanaged" => r.kind == RowKind::Unmanaged,
        "conflict" => r.kind == RowKind::Conflict,
        _ => false,
    }
}

/// Filter text: words to find in name, number or badge, and `is:diff`,
/// `is:new`, `is:unmanaged`, `is:conflict`, `is:linked` for a kind of row.
pub fn refilter_employees(s: &mut AppState) {
    let text = s.employees.filter.text().trim().to_lowercase();
    let kinds: Vec<&str> = text
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("is:"))
        .collect();
    let needle = text
        .split_whitespace()
        .filter(|w| !w.starts_with("is:"))
        .collect::<Vec<_>>()
        .join(" ");
    let rows = &s.snap.employees;
    s.employees.visible = if text.is_empty() {
        (0..rows.len() as u32).collect()
    } else {
        rows.iter()
            .enumerate()
            .filter(|(_, r)| {
                kinds.iter().all(|k| kind_matches(r, k))
                    && (needle.is_empty() || employee_matches(r, &needle))
            })
            .map(|(i, _)| i as u32)
            .collect()
    };
}

/// The plan as rows: a header per action with its count, then its items.
pub fn group_plan(plan: Option<&PlanView>) -> Vec<ChangeRow> {
    let Some(plan) = plan else { return Vec::new() };
    let mut rows = Vec::with_capacity(plan.items.len() + ActionKind::ALL.len());
    for action in ActionKind::ALL {
        let items: Vec<usize> = plan
            .items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.action == action)
            .map(|(i, _)| i)
            .collect();
        if items.is_empty() {
            continue;
        }
        rows.push(ChangeRow::Header {
            action,
            count: items.len(),
        });
        rows.extend(items.into_iter().map(ChangeRow::Item));
    }
    rows
}

fn selected_item_id(plan: Option<&PlanView>, rows: &[ChangeRow], sel: usize) -> Option<String> {
    match (rows.get(sel), plan) {
        (Some(ChangeRow::Item(i)), Some(p)) => p.items.get(*i).map(|it| it.id.to_string()),
        _ => None,
    }
}

/// Move off a header row in direction `dir` (or the other way at an end).
pub fn settle_on_item(rows: &[ChangeRow], list: &mut ListState, dir: isize, h: usize) {
    let len = rows.len();
    if len == 0 {
        return;
    }
    let is_item = |i: usize| matches!(rows.get(i), Some(ChangeRow::Item(_)));
    let mut i = list.selected.min(len - 1) as isize;
    while i >= 0 && (i as usize) < len && !is_item(i as usize) {
        i += dir;
    }
    if i < 0 || i as usize >= len {
        i = list.selected.min(len - 1) as isize;
        while i >= 0 && (i as usize) < len && !is_item(i as usize) {
            i -= dir;
        }
    }
    if i >= 0 && (i as usize) < len {
        list.selected = i as usize;
    }
    list.clamp(len, h);
}

pub fn status_text(d: &Delivery, ev: crate::model::EventType) -> String {
    use crate::model::EventType as E;
    match d {
        Delivery::FeedOnly => match ev {
            E::AccessGranted => "not a booking".into(),
            E::AccessDeniedUnknownBadge => "denied: unknown badge".into(),
            E::AccessDeniedTime => "denied: outside hours".into(),
            E::AccessDeniedPassback => "denied: passback".into(),
            E::DoorForced => "door forced".into(),
            E::DoorHeldOpen => "door held open".into(),
            E::ReaderOffline => "reader offline".into(),
            E::ReaderOnline => "reader online".into(),
            E::ExternalAttendance => "attendance from Astrow (not sent back)".into(),
        },
        Delivery::RollCall => "roll call".into(),
        Delivery::Pending => "sending".into(),
        Delivery::Answered { status } => match status {
            BookingStatus::Processed { .. } => "processed".into(),
            BookingStatus::Queued { .. } => "queued (badge unknown)".into(),
            BookingStatus::Duplicate { .. } => "duplicate".into(),
            BookingStatus::Rejected { reason } => format!("rejected: {reason}"),
        },
    }
}

pub fn feed_matches(e: &FeedEntry, needle: &str) -> bool {
    needle.is_empty()
        || e.badge_number
            .as_deref()
            .is_some_and(|b| contains_ci(b, needle))
        || e.employee
            .as_deref()
            .is_some_and(|n| contains_ci(n, needle))
        || contains_ci(&e.reader, needle)
        || contains_ci(&status_text(&e.delivery, e.event_type), needle)
}

/// Recompute the visible feed; keep the selected swipe in place when frozen
/// or scrolled, or pin to the newest when following.
pub fn refresh_bookings(s: &mut AppState, old: Option<&Snapshot>) {
    let h = s.body_rows();
    let old_feed = old
        .map(|o| o.bookings.clone())
        .or_else(|| s.bookings.frozen.clone());
    let sel_seq = old_feed.as_ref().and_then(|f| {
        s.bookings
            .visible
            .get(s.bookings.list.selected)
            .and_then(|&i| f.feed.get(i as usize))
            .map(|e| e.seq)
    });
    let view = s
        .bookings
        .frozen
        .clone()
        .unwrap_or_else(|| s.snap.bookings.clone());
    let needle = s.bookings.filter.text().trim().to_lowercase();
    s.bookings.visible = (0..view.feed.len())
        .rev()
        .filter(|&i| view.feed.get(i).is_some_and(|e| feed_matches(e, &needle)))
        .map(|i| i as u32)
        .collect();
    let len = s.bookings.visible.len();
    if s.bookings.follow {
        s.bookings.list.top();
        return;
    }
    let pos = sel_seq.and_then(|q| {
        s.bookings
            .visible
            .iter()
            .position(|&i| view.feed.get(i as usize).is_some_and(|e| e.seq == q))
    });
    match pos {
        Some(p) => s.bookings.list.follow_row(p, len, h),
        None => s.bookings.list.clamp(len, h),
    }
}

pub fn refilter_log(s: &mut AppState) {
    let needle = s.log.filter.text().trim().to_lowercase();
    let level = s.log.level;
    s.log.visible = s
        .log
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            l.level <= level
                && (contains_ci(&l.message, &needle) || contains_ci(&l.target, &needle))
        })
        .map(|(i, _)| i as u32)
        .collect();
    let (len, h) = (s.log.visible.len(), s.body_rows());
    if s.log.follow {
        s.log.list.bottom(len, h);
    } else {
        s.log.list.clamp(len, h);
    }
}

/// Add log lines, dropping the oldest beyond capacity.
pub fn push_log(s: &mut AppState, lines: Vec<super::logbuf::LogLine>) {
    if lines.is_empty() {
        return;
    }
    for l in lines {
        s.log.last_seq = s.log.last_seq.max(l.seq);
        s.log.lines.push_back(l);
    }
    let excess = s.log.lines.len().saturating_sub(s.log.capacity);
    s.log.lines.drain(..excess);
    if !s.log.follow {
        s.log.list.selected = s.log.list.selected.saturating_sub(excess);
        s.log.list.offset = s.log.list.offset.saturating_sub(excess);
    }
    refilter_log(s);
}

/// Mirrored access groups PAC no longer has (the next definitions sync removes them).
pub fn astrow_only_groups(
    d: &crate::engine::snapshot::DefinitionsView,
) -> Vec<&crate::model::AccessGroup> {
    d.astrow_groups
        .iter()
        .filter(|a| !d.pac_groups.iter().any(|g| g.id == a.id))
        .collect()
}

/// Rows of the access group list: PAC's groups, then the mirror's leftovers.
pub fn group_rows(d: &crate::engine::snapshot::DefinitionsView) -> usize {
    d.pac_groups.len() + astrow_only_groups(d).len()
}
