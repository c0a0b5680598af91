//! The per-pane part of `update`: lists, filters, the plan, the form.

use crossterm::event::Event;
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use crate::engine::command::Command;
use crate::engine::snapshot::ItemState;
use crate::model::EmployeeKey;

use super::action::{Action, Effect};
use super::derive;
use super::list::ListState;
use super::settings_form::FieldKind;
use super::state::{AppState, Confirm, ConfirmKind, DefSection, Filter, Modal, Pane};
use super::update::{definitions_toggle, item_ids, refilter, refuse_write};

/// Rows of held mirror removals pane 4 shows at once.
pub const REMOVAL_ROWS: usize = 4;

/// Clamp every list to its data and the current height.
pub fn clamp_all(s: &mut AppState) {
    let h = s.body_rows();
    let emp_h = employee_rows(s);
    let n = s.employees.visible.len();
    s.employees.list.clamp(n, emp_h);
    let (n, ch) = (s.changes.rows.len(), changes_rows(s));
    s.changes.list.clamp(n, ch);
    let n = s.snap.definitions.removals.len();
    s.definitions.removals.clamp(n, REMOVAL_ROWS);
    if n == 0 && s.definitions.section == DefSection::Removals {
        s.definitions.section = DefSection::Groups;
        s.definitions.anchor = None;
    }
    let n = s.bookings.visible.len();
    s.bookings.list.clamp(n, h);
    let n = s.log.visible.len();
    s.log.list.clamp(n, h);
    let n = s.settings.fields.len();
    s.settings.list.clamp(n, h);
    let n = s.history.page.as_ref().map_or(0, |p| p.entries.len());
    let hh = super::update_history::list_rows(s);
    s.history.list.clamp(n, hh);
}

/// Employee rows that fit: one line each when wide, two when stacked.
pub fn employee_rows(s: &AppState) -> usize {
    let detail = if s.employees.detail { 7 } else { 0 };
    let h = s.body_rows().saturating_sub(3 + detail);
    if s.size.0 >= 120 { h } else { h / 2 }
}

/// Plan rows that fit: the list has the full height beside the detail when
/// wide, a little over half of it above the detail when narrow.
pub fn changes_rows(s: &AppState) -> usize {
    let h = s.body_rows().saturating_sub(4);
    if s.size.0 >= 120 { h } else { h * 55 / 100 }
}

fn list_of(s: &mut AppState) -> Option<(&mut ListState, usize, usize)> {
    let h = s.body_rows().saturating_sub(3);
    let emp_h = employee_rows(s);
    match s.pane {
        Pane::Employees => Some((&mut s.employees.list, s.employees.visible.len(), emp_h)),
        Pane::Changes => {
            let ch = changes_rows(s);
            Some((&mut s.changes.list, s.changes.rows.len(), ch))
        }
        Pane::Definitions => match s.definitions.section {
            DefSection::Groups => {
                let n = derive::group_rows(&s.snap.definitions);
                Some((&mut s.definitions.groups, n, h / 2))
            }
            DefSection::Readers => {
                let n = s.snap.definitions.pac_readers.len();
                Some((&mut s.definitions.readers, n, h / 2))
            }
            DefSection::Removals => {
                let n = s.snap.definitions.removals.len();
                Some((&mut s.definitions.removals, n, REMOVAL_ROWS))
            }
        },
        Pane::Bookings if s.bookings.astrow_to_pac => {
            let n = s.snap.astrow_to_pac.feed.len();
            Some((&mut s.bookings.a2p_list, n, h))
        }
        Pane::Bookings if s.bookings.roll_call => {
            let n = s
                .snap
                .bookings
                .roll_call
                .as_ref()
                .map_or(0, |r| r.on_site.len());
            Some((&mut s.bookings.roll_list, n, h))
        }
        Pane::Bookings => Some((&mut s.bookings.list, s.bookings.visible.len(), h)),
        Pane::Settings => Some((&mut s.settings.list, s.settings.fields.len(), h)),
        Pane::Log => Some((&mut s.log.list, s.log.visible.len(), h)),
        Pane::Overview => None,
    }
}

fn movement(s: &mut AppState, a: &Action) -> bool {
    let before_bookings = s.bookings.list;
    let pane = s.pane;
    let Some((list, len, h)) = list_of(s) else {
        return false;
    };
    let page = h.max(1) as isize;
    let dir = match a {
        Action::Up => {
            list.move_by(-1, len, h);
            -1
        }
        Action::Down => {
            list.move_by(1, len, h);
            1
        }
        Action::PageUp => {
            list.move_by(-page, len, h);
            -1
        }
        Action::PageDown => {
            list.move_by(page, len, h);
            1
        }
        Action::Top => {
            list.top();
            1
        }
        Action::Bottom => {
            list.bottom(len, h);
            -1
        }
        _ => return false,
    };
    match pane {
        Pane::Changes => {
            let h = changes_rows(s);
            derive::settle_on_item(&s.changes.rows, &mut s.changes.list, dir, h);
        }
        Pane::Bookings
            if !s.bookings.roll_call && s.bookings.follow && s.bookings.list != before_bookings =>
        {
            // Scrolling away from the newest freezes the feed where it is.
            s.bookings.follow = false;
            s.bookings.frozen = Some(s.snap.bookings.clone());
            s.info("feed frozen while you look (f to follow again)");
        }
        Pane::Log => s.log.follow = s.log.list.selected + 1 >= s.log.visible.len(),
        _ => {}
    }
    true
}

pub fn pane(s: &mut AppState, a: Action) -> Vec<Effect> {
    if s.pane == Pane::Log
        && s.history.shown
        && let Some(fx) = super::update_history::key(s, &a)
    {
        return fx;
    }
    if movement(s, &a) {
        return Vec::new();
    }
    match (s.pane, a) {
        (_, Action::Back) => {
            back(s);
            Vec::new()
        }
        (Pane::Employees, Action::Details) => {
            s.employees.detail = !s.employees.detail;
            Vec::new()
        }
        (Pane::Employees, Action::Enter) => trace_employee(s),
        (Pane::Bookings, Action::Enter) if !s.bookings.roll_call => trace_booking(s),
        (Pane::Employees | Pane::Bookings | Pane::Log, Action::Filter) => {
            if let Some(f) = filter_of(s) {
                f.editing = true;
            }
            Vec::new()
        }
        (Pane::Changes, a) => changes(s, a),
        (Pane::Definitions, Action::Left | Action::Right) => {
            definitions_toggle(s);
            Vec::new()
        }
        (Pane::Definitions, Action::OpenDoor) => open_door(s),
        (Pane::Bookings, Action::ToggleFollow) => {
            s.bookings.follow = !s.bookings.follow;
            if s.bookings.follow {
                s.bookings.frozen = None;
                s.info("following the newest swipes");
            } else {
                s.bookings.frozen = Some(s.snap.bookings.clone());
                s.info("feed frozen (f to follow)");
            }
            derive::refresh_bookings(s, None);
            Vec::new()
        }
        (Pane::Bookings, Action::ResetCursor) if s.bookings.astrow_to_pac => move_astrow_cursor(s),
        (Pane::Bookings, Action::ResetCursor) => reset_cursor(s),
        (Pane::Bookings, Action::RollCallView) => {
            s.bookings.roll_call = !s.bookings.roll_call;
            s.bookings.astrow_to_pac = false;
            Vec::new()
        }
        (Pane::Bookings, Action::AstrowToPacView) => {
            s.bookings.astrow_to_pac = !s.bookings.astrow_to_pac;
            s.bookings.roll_call = false;
            s.info(if s.bookings.astrow_to_pac {
                "showing Astrow's bookings going to PAC (a: back to PAC swipes)"
            } else {
                "showing PAC swipes going to Astrow"
            });
            Vec::new()
        }
        (Pane::Log, Action::ToggleFollow) => {
            s.log.follow = !s.log.follow;
            derive::refilter_log(s);
            Vec::new()
        }
        (Pane::Log, Action::ToggleHistory) => super::update_history::toggle(s, None),
        (Pane::Log, Action::LogLevel) => {
            s.log.level = s.log.level.next();
            derive::refilter_log(s);
            s.info(format!(
                "log shows {} and more severe",
                s.log.level.as_str()
            ));
            Vec::new()
        }
        (Pane::Settings, a) => settings(s, a),
        _ => Vec::new(),
    }
}

/// The trace of the selected employee row: by its PAC id, or by its
/// personnel number for an Astrow-only row (the side is sent, as the same
/// number can be another person's id on the other side).
fn trace_employee(s: &mut AppState) -> Vec<Effect> {
    let row = s
        .employees
        .visible
        .get(s.employees.list.selected)
        .and_then(|&i| s.snap.employees.get(i as usize));
    let found = row.and_then(|r| match (&r.pac, &r.astrow) {
        (Some(p), _) => Some((
            EmployeeKey::Pac(p.id.0),
            format!("{} {}", p.first_name(), p.last_name()),
        )),
        (None, Some(a)) => Some((
            EmployeeKey::Astrow(a.pers_no.0),
            format!("{} {}", a.first_name(), a.last_name()),
        )),
        (None, None) => None,
    });
    match found {
        Some((key, name)) => super::update_history::trace_employee(s, key, &name),
        None => Vec::new(),
    }
}

/// The trace of the selected swipe.
fn trace_booking(s: &mut AppState) -> Vec<Effect> {
    let feed = s
        .bookings
        .frozen
        .as_ref()
        .unwrap_or(&s.snap.bookings)
        .clone();
    let seq = s
        .bookings
        .visible
        .get(s.bookings.list.selected)
        .and_then(|&i| feed.feed.get(i as usize))
        .map(|e| e.seq.0);
    match seq {
        Some(seq) => super::update_history::trace_event(s, seq),
        None => Vec::new(),
    }
}

fn back(s: &mut AppState) {
    match s.pane {
        Pane::Changes if s.changes.anchor.is_some() => s.changes.anchor = None,
        Pane::Definitions if s.definitions.anchor.is_some() => s.definitions.anchor = None,
        Pane::Employees if s.employees.detail => s.employees.detail = false,
        Pane::Bookings if s.bookings.roll_call => s.bookings.roll_call = false,
        Pane::Employees | Pane::Bookings | Pane::Log => {
            if let Some(f) = filter_of(s)
                && f.active()
            {
                *f = Filter::default();
                refilter(s);
            }
        }
        _ => {}
    }
}

fn filter_of(s: &mut AppState) -> Option<&mut Filter> {
    match s.pane {
        Pane::Employees => Some(&mut s.employees.filter),
        Pane::Bookings => Some(&mut s.bookings.filter),
        Pane::Log => Some(&mut s.log.filter),
        _ => None,
    }
}

/// Keys while a filter or form field is being typed.
pub fn typing(s: &mut AppState, a: Action) -> Vec<Effect> {
    if s.pane == Pane::Log && s.history.shown {
        return super::update_history::typing(s, a);
    }
    if s.pane == Pane::Settings {
        return settings_typing(s, a);
    }
    let Some(f) = filter_of(s) else {
        return Vec::new();
    };
    match a {
        Action::Enter => f.editing = false,
        Action::Back => {
            *f = Filter::default();
            refilter(s);
        }
        Action::Input(k) => {
            if let Some(req) = to_input_request(&Event::Key(k))
                && f.input.handle(req).is_some_and(|r| r.value)
            {
                refilter(s);
            }
        }
        _ => {}
    }
    Vec::new()
}

pub fn changes(s: &mut AppState, a: Action) -> Vec<Effect> {
    let Some(plan) = s.snap.plan.clone() else {
        s.info("no pending plan: s runs the employee sync now");
        return Vec::new();
    };
    let sel = s.changes.list.selected;
    let last = s.changes.rows.len().saturating_sub(1);
    let (ids, approve) = match a {
        Action::Visual => {
            s.changes.anchor = match s.changes.anchor {
                Some(_) => None,
                None => Some(sel),
            };
            return Vec::new();
        }
        Action::Approve | Action::Reject => {
            let approve = a == Action::Approve;
            let target = if approve {
                ItemState::Approved
            } else {
                ItemState::Rejected
            };
            let from = s.changes.anchor.take().unwrap_or(sel);
            (item_ids(s, from, sel, target), approve)
        }
        Action::ApproveAll => (item_ids(s, 0, last, ItemState::Approved), true),
        Action::RejectAll => (item_ids(s, 0, last, ItemState::Rejected), false),
        Action::Apply => return apply(s, &plan),
        _ => return Vec::new(),
    };
    if ids.is_empty() {
        s.info("nothing to change there");
        return Vec::new();
    }
    if refuse_write(s, if approve { "approving" } else { "rejecting" }) {
        return Vec::new();
    }
    let n = ids.len();
    s.info(format!(
        "{} {n} item{}",
        if approve { "approved" } else { "rejected" },
        if n == 1 { "" } else { "s" }
    ));
    // Step past a single item so a run of `a` walks down the list.
    if n == 1 && matches!(a, Action::Approve | Action::Reject) {
        let h = changes_rows(s);
        let len = s.changes.rows.len();
        s.changes.list.move_by(1, len, h);
        derive::settle_on_item(&s.changes.rows, &mut s.changes.list, 1, h);
    }
    vec![Effect::Engine(if approve {
        Command::Approve(ids)
    } else {
        Command::Reject(ids)
    })]
}

fn apply(s: &mut AppState, plan: &crate::engine::snapshot::PlanView) -> Vec<Effect> {
    if s.snap.apply.as_ref().is_some_and(|p| p.running) {
        s.info("an apply is already running");
        return Vec::new();
    }
    let approved: Vec<_> = plan
        .items
        .iter()
        .filter(|i| i.state == ItemState::Approved)
        .collect();
    if approved.is_empty() {
        s.warn("nothing approved: approve items first (a, or A for all)");
        return Vec::new();
    }
    if refuse_write(s, "applying") {
        return Vec::new();
    }
    let mut targets: Vec<_> = approved.iter().map(|i| i.target).collect();
    targets.sort_by_key(|t| t.as_str());
    targets.dedup();
    let target = targets
        .iter()
        .map(|t| t.display_name())
        .collect::<Vec<_>>()
        .join(" and ");
    let n = approved.len();
    let mut lines = vec![format!(
        "Write {n} approved change{} to {target}?",
        if n == 1 { "" } else { "s" }
    )];
    let destructive = approved
        .iter()
        .filter(|i| i.action.is_destructive())
        .count();
    if destructive > 0 {
        lines.push(format!(
            "{destructive} of them delete employees or remove badges."
        ));
    }
    let waiting = plan
        .items
        .iter()
        .filter(|i| i.state == ItemState::Pending)
        .count();
    if waiting > 0 {
        lines.push(format!(
            "{waiting} pending item{} stay as they are.",
            if waiting == 1 { "" } else { "s" }
        ));
    }
    if let Some(why) = &plan.held {
        lines.push(format!("The deletion guard holds this plan: {why}."));
        lines.push("Yes applies it anyway.".into());
    }
    s.modal = Some(Modal::Confirm(Confirm {
        kind: ConfirmKind::Apply {
            plan_id: plan.plan_id.clone(),
            allow_held: plan.held.is_some(),
        },
        title: format!("Apply to {target}?"),
        lines,
        yes_label: format!("Apply {n}"),
        yes: false,
    }));
    Vec::new()
}

/// The palette's "rebind store": asks first, saying what is forgotten.
pub fn rebind_store(s: &mut AppState) -> Vec<Effect> {
    if refuse_write(s, "re-binding the store") {
        return Vec::new();
    }
    if s.snap.site_refusal.is_none() {
        s.info("the store is bound to the settings' site already: nothing to re-bind");
        return Vec::new();
    }
    s.modal = Some(Modal::Confirm(Confirm {
        kind: ConfirmKind::RebindStore,
        title: "Re-bind the store?".into(),
        lines: vec![
            "Bind the store to the PAC and Astrow the settings name now?".into(),
            "The old site's links, plans and suppressions are forgotten (audited);".into(),
            format!(
                "its {} bookings still to be sent are abandoned (kept, never sent here).",
                s.snap.old_site_pending
            ),
            "The next plan starts from scratch. Do this only for a new site.".into(),
        ],
        yes_label: "Re-bind".into(),
        yes: false,
    }));
    Vec::new()
}

/// After PAC's event sequence was reset: offer to read PAC's new sequence
/// from where it parts from what the ledger already holds.
fn reset_cursor(s: &mut AppState) -> Vec<Effect> {
    let Some(r) = s.snap.bookings.sequence_reset.clone() else {
        s.info("PAC's event sequence was not reset: the cursor stays");
        return Vec::new();
    };
    if refuse_write(s, "moving the event cursor") {
        return Vec::new();
    }
    let to = r.resume_after.0;
    s.modal = Some(Modal::Confirm(Confirm {
        kind: ConfirmKind::ResetCursor { to },
        title: "Move the event cursor?".into(),
        lines: vec![
            format!(
                "PAC's events now end at {} while we had read up to {}.",
                r.pac_last_seq, r.cursor
            ),
            format!("Read PAC's events after {to} from now on, in a new epoch (new source ids)?"),
            "Events up to it match what was already read. Audited.".into(),
        ],
        yes_label: "Move".into(),
        yes: false,
    }));
    Vec::new()
}

/// After Astrow was restored from a backup (shown with `a`): offer to read
/// Astrow's bookings after the proposed point, in a new epoch.
fn move_astrow_cursor(s: &mut AppState) -> Vec<Effect> {
    let Some(r) = s.snap.astrow_to_pac.astrow_restore.clone() else {
        s.info("Astrow's bookings did not go back: the Astrow cursor stays");
        return Vec::new();
    };
    let Some(to) = r.resume_after else {
        s.info("no proposal where to go on: use `astrow-pac bookings astrow-cursor --to N`");
        return Vec::new();
    };
    if refuse_write(s, "moving the Astrow booking cursor") {
        return Vec::new();
    }
    s.modal = Some(Modal::Confirm(Confirm {
        kind: ConfirmKind::MoveAstrowCursor { to },
        title: "Move the Astrow booking cursor?".into(),
        lines: vec![
            format!(
                "Astrow's bookings went back while we had read up to {}.",
                r.cursor
            ),
            format!(
                "Read Astrow's bookings after {to} from now on, in a new epoch (new source ids)?"
            ),
            "Bookings up to it match what was already read. Audited.".into(),
        ],
        yes_label: "Move".into(),
        yes: false,
    }));
    Vec::new()
}

fn open_door(s: &mut AppState) -> Vec<Effect> {
    if s.definitions.section != DefSection::Readers {
        s.info("pick a reader first (l moves to the readers)");
        return Vec::new();
    }
    let Some(r) = s
        .snap
        .definitions
        .pac_readers
        .get(s.definitions.readers.selected)
        .cloned()
    else {
        return Vec::new();
    };
    if refuse_write(s, "opening a door") {
        return Vec::new();
    }
    let name = r.name.clone();
    s.modal = Some(Modal::Confirm(Confirm {
        kind: ConfirmKind::OpenDoor { reader_id: r.id },
        title: "Open the door?".into(),
        lines: vec![
            format!(
                "Open the door of reader \"{name}\" (id {}) for 5 seconds?",
                r.id
            ),
            "Anyone near it can walk through.".into(),
        ],
        yes_label: "Open".into(),
        yes: false,
    }));
    Vec::new()
}

pub fn settings(s: &mut AppState, a: Action) -> Vec<Effect> {
    match a {
        Action::Enter => {
            if refuse_write(s, "editing settings") {
                return Vec::new();
            }
            let sel = s.settings.list.selected;
            if let Some(f) = s.settings.fields.get_mut(sel) {
                if let super::settings_form::FieldKind::Bool = f.kind {
                    f.value = if f.value == "true" {
                        "false".into()
                    } else {
                        "true".into()
                    };
                    revalidate(s);
                } else if let super::settings_form::FieldKind::Choice(opts) = f.kind {
                    let i = opts
                        .iter()
                        .position(|o| *o == f.value)
                        .map_or(0, |i| (i + 1) % opts.len());
                    f.value = opts.get(i).map(|o| o.to_string()).unwrap_or_default();
                    revalidate(s);
                } else {
                    let start = if f.kind == super::settings_form::FieldKind::Secret {
                        String::new()
                    } else {
                        f.value.clone()
                    };
                    s.settings.editing = Some(Input::new(start));
                }
            }
            Vec::new()
        }
        Action::Save => {
            if refuse_write(s, "saving settings") {
                return Vec::new();
            }
            let problems = s.settings.problems();
            if problems > 0 {
                s.warn(format!(
                    "not saved: {problems} setting{} to fix first (marked ✗)",
                    if problems == 1 { "" } else { "s" }
                ));
                return Vec::new();
            }
            if !s.settings.dirty() && !s.settings.first_run {
                s.info("nothing changed");
                return Vec::new();
            }
            vec![Effect::SaveSettings]
        }
        Action::Discard => {
            if !s.settings.dirty() {
                s.info("nothing to discard");
                return Vec::new();
            }
            let n = s.settings.fields.iter().filter(|f| f.changed()).count();
            s.modal = Some(Modal::Confirm(Confirm {
                kind: ConfirmKind::DiscardSettings,
                title: "Discard edits?".into(),
                lines: vec![format!(
                    "Forget {n} edited setting{} and show the file again?",
                    if n == 1 { "" } else { "s" }
                )],
                yes_label: "Discard".into(),
                yes: false,
            }));
            Vec::new()
        }
        Action::TestConnection => {
            s.settings.test_result = None;
            s.info("testing both connections...");
            vec![Effect::TestConnection]
        }
        _ => Vec::new(),
    }
}

fn settings_typing(s: &mut AppState, a: Action) -> Vec<Effect> {
    let Some(mut input) = s.settings.editing.take() else {
        return Vec::new();
    };
    match a {
        Action::Enter => commit_field(s, &input),
        // Tab and the arrows keep what was typed and go on to the next field.
        Action::Down | Action::Up => {
            commit_field(s, &input);
            let (len, h) = (s.settings.fields.len(), s.body_rows());
            s.settings
                .list
                .move_by(if a == Action::Down { 1 } else { -1 }, len, h);
            let sel = s.settings.list.selected;
            if let Some(f) = s.settings.fields.get(sel)
                && matches!(
                    f.kind,
                    FieldKind::Text | FieldKind::Number | FieldKind::Path | FieldKind::Secret
                )
            {
                let start = if f.kind == FieldKind::Secret {
                    String::new()
                } else {
                    f.value.clone()
                };
                s.settings.editing = Some(Input::new(start));
            }
        }
        Action::Save => {
            commit_field(s, &input);
            return settings(s, Action::Save);
        }
        Action::Back => {}
        Action::Input(k) => {
            if let Some(req) = to_input_request(&Event::Key(k)) {
                input.handle(req);
            }
            s.settings.editing = Some(input);
            revalidate_draft(s);
        }
        _ => s.settings.editing = Some(input),
    }
    Vec::new()
}

/// Keep what was typed in the selected field (an empty secret keeps the old one).
fn commit_field(s: &mut AppState, input: &Input) {
    let sel = s.settings.list.selected;
    if let Some(f) = s.settings.fields.get_mut(sel) {
        let secret = f.kind == FieldKind::Secret;
        if !(secret && input.value().is_empty()) {
            f.value = if secret {
                input.value().to_string()
            } else {
                input.value().trim().to_string()
            };
        }
    }
    revalidate(s);
}

/// Validate the form as it stands.
pub fn revalidate(s: &mut AppState) {
    super::settings_form::validate(&mut s.settings, None);
}

/// Validate with the field being typed taken at its current text.
fn revalidate_draft(s: &mut AppState) {
    let draft = s
        .settings
        .editing
        .as_ref()
        .map(|i| (s.settings.list.selected, i.value().to_string()));
    super::settings_form::validate(&mut s.settings, draft);
}
