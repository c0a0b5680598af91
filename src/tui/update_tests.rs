//! `update()` for every action: state change and effects.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::engine::command::Command;
use crate::engine::snapshot::{ApplyProgress, ItemState, JobKind, RollCallPerson, RollCallView};

use super::action::{Action, Effect};
use super::derive;
use super::logbuf::{LogLevel, LogLine};
use super::state::{AppState, ConfirmKind, DefSection, Modal, Pane};
use super::testkit::{snapshot, snapshot_with, state, t0};
use super::update::update;

fn st() -> AppState {
    state(snapshot(), 120, 40, true)
}

fn on(p: Pane) -> AppState {
    let mut s = st();
    update(&mut s, Action::GoTo(p));
    s
}

fn engine(fx: &[Effect]) -> Vec<Command> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Engine(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

fn key(c: char) -> Action {
    Action::Input(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn selected_item(s: &AppState) -> String {
    match s.changes.rows.get(s.changes.list.selected) {
        Some(super::state::ChangeRow::Item(i)) => s
            .snap
            .plan
            .as_ref()
            .map(|p| p.items[*i].id.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

#[test]
fn quit_quits_when_idle_and_asks_while_applying() {
    let mut s = st();
    assert_eq!(update(&mut s, Action::Quit), vec![Effect::Quit]);
    assert!(s.quit);

    let mut snap = snapshot();
    snap.apply = Some(Arc::new(ApplyProgress {
        plan_id: "plan-42".into(),
        running: true,
        total: 3,
        ..Default::default()
    }));
    let mut s = state(snap, 120, 40, true);
    assert!(update(&mut s, Action::Quit).is_empty());
    assert!(matches!(&s.modal, Some(Modal::Confirm(c)) if c.kind == ConfirmKind::Quit && !c.yes));
    assert!(
        update(&mut s, Action::Enter).is_empty(),
        "No is the default"
    );
    assert!(!s.quit);
    update(&mut s, Action::Quit);
    assert_eq!(update(&mut s, Action::Yes), vec![Effect::Quit]);

    // Attached to a service: quitting stops nothing, so nothing to ask.
    let mut snap = (*s.snap).clone();
    snap.origin = crate::engine::snapshot::Origin::Service {
        pid: 7,
        connected: true,
    };
    let mut s = state(snap, 120, 40, true);
    assert_eq!(update(&mut s, Action::Quit), vec![Effect::Quit]);
}

#[test]
fn force_quit_quits_from_anywhere() {
    let mut s = st();
    update(&mut s, Action::Palette);
    assert_eq!(update(&mut s, Action::ForceQuit), vec![Effect::Quit]);
    assert!(s.quit);
}

#[test]
fn panes_cycle_and_jump() {
    let mut s = st();
    update(&mut s, Action::NextPane);
    assert_eq!(s.pane, Pane::Employees);
    update(&mut s, Action::PrevPane);
    update(&mut s, Action::PrevPane);
    assert_eq!(s.pane, Pane::Log);
    update(&mut s, Action::GoTo(Pane::Bookings));
    assert_eq!(s.pane, Pane::Bookings);
}

#[test]
fn moving_in_a_list() {
    let mut s = on(Pane::Employees);
    update(&mut s, Action::Down);
    update(&mut s, Action::Down);
    assert_eq!(s.employees.list.selected, 2);
    update(&mut s, Action::Up);
    assert_eq!(s.employees.list.selected, 1);
    update(&mut s, Action::PageDown);
    assert!(s.employees.list.selected > 10);
    update(&mut s, Action::PageUp);
    assert_eq!(s.employees.list.selected, 1);
    update(&mut s, Action::Bottom);
    assert_eq!(s.employees.list.selected, 39);
    update(&mut s, Action::Top);
    assert_eq!(s.employees.list.selected, 0);
}

#[test]
fn left_and_right_switch_definition_lists() {
    let mut s = on(Pane::Definitions);
    assert_eq!(s.definitions.section, DefSection::Groups);
    update(&mut s, Action::Right);
    assert_eq!(s.definitions.section, DefSection::Readers);
    update(&mut s, Action::Left);
    assert_eq!(s.definitions.section, DefSection::Groups);
}

#[test]
fn filter_types_narrows_and_back_clears() {
    let mut s = on(Pane::Employees);
    update(&mut s, Action::Filter);
    assert!(s.typing());
    for c in "e00003".chars() {
        update(&mut s, key(c));
    }
    assert_eq!(s.employees.visible.len(), 1);
    update(&mut s, Action::Enter);
    assert!(!s.typing());
    assert_eq!(s.employees.visible.len(), 1, "Enter keeps the filter");
    update(&mut s, Action::Back);
    assert_eq!(s.employees.visible.len(), 40, "Esc clears it");
}

#[test]
fn help_opens_scrolls_and_closes() {
    let mut s = st();
    update(&mut s, Action::Help);
    update(&mut s, Action::Down);
    assert!(matches!(s.modal, Some(Modal::Help { scroll: 1 })));
    update(&mut s, Action::Back);
    assert!(s.modal.is_none());
}

#[test]
fn palette_runs_a_typed_command() {
    let mut s = st();
    update(&mut s, Action::Palette);
    for c in "sync def".chars() {
        update(&mut s, key(c));
    }
    let fx = update(&mut s, Action::Enter);
    assert_eq!(engine(&fx), vec![Command::RunNow(JobKind::Definitions)]);
    assert!(s.modal.is_none());
    let fx = update(&mut s, Action::Run("pause".into()));
    assert_eq!(engine(&fx), vec![Command::Pause]);
    assert!(update(&mut s, Action::Run("nonsense".into())).is_empty());
    assert!(
        s.status
            .as_ref()
            .is_some_and(|m| m.text.contains("no command"))
    );
}

#[test]
fn sync_now_sends_run_now() {
    let mut s = st();
    assert_eq!(
        engine(&update(&mut s, Action::SyncEmployees)),
        vec![Command::RunNow(JobKind::Employees)]
    );
    assert_eq!(
        engine(&update(&mut s, Action::SyncDefinitions)),
        vec![Command::RunNow(JobKind::Definitions)]
    );
}

#[test]
fn pause_toggles_with_the_engine_state() {
    let mut s = st();
    assert_eq!(
        engine(&update(&mut s, Action::TogglePause)),
        vec![Command::Pause]
    );
    let mut snap = snapshot();
    snap.paused = true;
    derive::set_snapshot(&mut s, Arc::new(snap));
    assert_eq!(
        engine(&update(&mut s, Action::TogglePause)),
        vec![Command::Resume]
    );
}

#[test]
fn approve_and_reject_the_current_item() {
    let mut s = on(Pane::Changes);
    assert_eq!(
        selected_item(&s),
        "i1",
        "selection starts on the first item, not a header"
    );
    assert_eq!(
        engine(&update(&mut s, Action::Approve)),
        vec![Command::Approve(vec!["i1".into()])]
    );
    assert_eq!(selected_item(&s), "i2", "moves on to the next item");
    assert_eq!(
        engine(&update(&mut s, Action::Reject)),
        vec![Command::Reject(vec!["i2".into()])]
    );
}

#[test]
fn a_visual_selection_approves_a_range() {
    let mut s = on(Pane::Changes);
    update(&mut s, Action::Visual);
    update(&mut s, Action::Down);
    update(&mut s, Action::Down);
    assert_eq!(selected_item(&s), "i3");
    let fx = update(&mut s, Action::Approve);
    assert_eq!(
        engine(&fx),
        vec![Command::Approve(vec!["i1".into(), "i2".into()])],
        "i3 is approved already"
    );
    assert!(s.changes.anchor.is_none());
    update(&mut s, Action::Visual);
    update(&mut s, Action::Back);
    assert!(s.changes.anchor.is_none(), "Esc leaves the selection");
}

#[test]
fn approve_all_and_reject_all() {
    let mut s = on(Pane::Changes);
    let fx = engine(&update(&mut s, Action::ApproveAll));
    assert_eq!(
        fx,
        vec![Command::Approve(vec![
            "i1".into(),
            "i2".into(),
            "i4".into(),
            "i5".into(),
            "i6".into()
        ])]
    );
    let fx = engine(&update(&mut s, Action::RejectAll));
    assert_eq!(
        fx,
        vec![Command::Reject(vec![
            "i1".into(),
            "i2".into(),
            "i3".into(),
            "i4".into(),
            "i6".into()
        ])]
    );
}

#[test]
fn apply_asks_with_no_as_default_and_yes_applies() {
    let mut s = on(Pane::Changes);
    assert!(update(&mut s, Action::Apply).is_empty());
    let Some(Modal::Confirm(c)) = &s.modal else {
        panic!("no dialog")
    };
    assert!(!c.yes);
    assert!(
        c.lines[0].contains("1 approved change") && c.lines[0].contains("Astrow"),
        "{:?}",
        c.lines
    );
    assert!(
        update(&mut s, Action::Enter).is_empty(),
        "Enter on the default answers No"
    );
    assert!(s.modal.is_none());
    update(&mut s, Action::Apply);
    update(&mut s, Action::ToggleChoice);
    let fx = update(&mut s, Action::Enter);
    assert_eq!(
        engine(&fx),
        vec![Command::Apply {
            plan_id: "plan-42".into(),
            allow_held: false
        }]
    );
}

#[test]
fn apply_of_a_held_plan_says_so_and_allows_held() {
    let mut s = state(snapshot_with(10, 5, true), 120, 40, true);
    update(&mut s, Action::GoTo(Pane::Changes));
    update(&mut s, Action::Apply);
    let Some(Modal::Confirm(c)) = &s.modal else {
        panic!("no dialog")
    };
    assert!(c.lines.iter().any(|l| l.contains("deletion guard")));
    assert_eq!(
        engine(&update(&mut s, Action::Yes)),
        vec![Command::Apply {
            plan_id: "plan-42".into(),
            allow_held: true
        }]
    );
}

#[test]
fn apply_with_nothing_approved_explains() {
    let mut snap = snapshot();
    let mut plan = (*snap.plan.clone().unwrap_or_default_plan()).clone();
    for i in &mut plan.items {
        i.state = ItemState::Pending;
    }
    snap.plan = Some(Arc::new(plan));
    let mut s = state(snap, 120, 40, true);
    update(&mut s, Action::GoTo(Pane::Changes));
    assert!(update(&mut s, Action::Apply).is_empty());
    assert!(s.modal.is_none());
    assert!(
        s.status
            .as_ref()
            .is_some_and(|m| m.text.contains("nothing approved"))
    );
}

trait PlanOr {
    fn unwrap_or_default_plan(self) -> Arc<crate::engine::snapshot::PlanView>;
}
impl PlanOr for Option<Arc<crate::engine::snapshot::PlanView>> {
    fn unwrap_or_default_plan(self) -> Arc<crate::engine::snapshot::PlanView> {
        self.unwrap_or_else(|| Arc::new(super::testkit::plan(false)))
    }
}

#[test]
fn open_door_asks_then_sends() {
    let mut s = on(Pane::Definitions);
    assert!(update(&mut s, Action::OpenDoor).is_empty());
    assert!(s.modal.is_none(), "a group is no door");
    update(&mut s, Action::Right);
    update(&mut s, Action::Down);
    update(&mut s, Action::OpenDoor);
    assert!(
        matches!(&s.modal, Some(Modal::Confirm(c)) if c.kind == ConfirmKind::OpenDoor { reader_id: 12 })
    );
    assert!(update(&mut s, Action::No).is_empty());
    update(&mut s, Action::OpenDoor);
    assert_eq!(
        engine(&update(&mut s, Action::Yes)),
        vec![Command::OpenDoor { reader_id: 12 }]
    );
}

#[test]
fn follow_freezes_and_resumes_the_feed() {
    let mut s = on(Pane::Bookings);
    assert!(s.bookings.follow);
    update(&mut s, Action::ToggleFollow);
    assert!(!s.bookings.follow && s.bookings.frozen.is_some());
    update(&mut s, Action::ToggleFollow);
    assert!(s.bookings.follow && s.bookings.frozen.is_none());
    update(&mut s, Action::Down);
    assert!(!s.bookings.follow, "scrolling away from the newest freezes");
}

#[test]
fn roll_call_view_and_commands() {
    let mut s = on(Pane::Bookings);
    update(&mut s, Action::RollCallView);
    assert!(s.bookings.roll_call);
    update(&mut s, Action::Back);
    assert!(!s.bookings.roll_call, "Esc goes back to the feed");
    update(&mut s, Action::RollCallView);
    assert_eq!(
        engine(&update(&mut s, Action::StartRollCall)),
        vec![Command::StartRollCall]
    );
    assert_eq!(
        engine(&update(&mut s, Action::StopRollCall)),
        vec![Command::StopRollCall]
    );
    let mut snap = snapshot();
    let b = Arc::make_mut(&mut snap.bookings);
    b.roll_call = Some(RollCallView {
        started: t0(),
        on_site: vec![
            RollCallPerson {
                name: "Anna".into(),
                badge_number: "1".into(),
                last_seen: t0().fixed_offset(),
                confirmed: false
            };
            3
        ],
    });
    derive::set_snapshot(&mut s, Arc::new(snap));
    update(&mut s, Action::Bottom);
    assert_eq!(s.bookings.roll_list.selected, 2);
}

#[test]
fn log_level_cycles_and_filters() {
    let mut s = on(Pane::Log);
    let line = |seq, level, m: &str| LogLine {
        seq,
        time: t0(),
        level,
        target: "astrow_pac".into(),
        message: m.into(),
    };
    derive::push_log(
        &mut s,
        vec![
            line(1, LogLevel::Error, "boom"),
            line(2, LogLevel::Info, "ok"),
            line(3, LogLevel::Debug, "detail"),
        ],
    );
    assert_eq!(s.log.visible.len(), 2);
    update(&mut s, Action::LogLevel);
    assert_eq!(s.log.level, LogLevel::Debug);
    assert_eq!(s.log.visible.len(), 3);
    update(&mut s, Action::ToggleFollow);
    assert!(!s.log.follow);
}

fn settings_state() -> AppState {
    let mut s = on(Pane::Settings);
    s.settings.fields = super::settings_form::fields_for(&crate::config::Settings::default(), &[]);
    s
}

#[test]
fn settings_edit_in_place_and_save() {
    let mut s = settings_state();
    update(&mut s, Action::Enter);
    assert!(s.typing());
    for c in "pac.local".chars() {
        update(&mut s, key(c));
    }
    update(&mut s, Action::Enter);
    assert_eq!(s.settings.fields[0].value, "pac.local");
    assert!(s.settings.dirty());
    // pac.oem_key_path etc. are still empty: the rules of check refuse to save.
    assert!(update(&mut s, Action::Save).is_empty());
    assert!(s.status.as_ref().is_some_and(|m| m.text.contains("to fix")));
    for f in &mut s.settings.fields {
        f.problem = None;
    }
    s.settings.general.clear();
    assert_eq!(update(&mut s, Action::Save), vec![Effect::SaveSettings]);
}

#[test]
fn settings_bool_and_choice_switch_on_enter() {
    let mut s = settings_state();
    let i = s
        .settings
        .fields
        .iter()
        .position(|f| f.key == "sync.master")
        .unwrap_or(0);
    s.settings.list.selected = i;
    update(&mut s, Action::Enter);
    assert_eq!(s.settings.fields[i].value, "astrow");
    assert!(!s.typing());
}

#[test]
fn settings_discard_asks_first() {
    let mut s = settings_state();
    assert!(update(&mut s, Action::Discard).is_empty());
    assert!(s.modal.is_none(), "nothing to discard");
    s.settings.fields[0].value = "x".into();
    update(&mut s, Action::Discard);
    assert!(matches!(&s.modal, Some(Modal::Confirm(c)) if c.kind == ConfirmKind::DiscardSettings));
    update(&mut s, Action::Yes);
    assert!(!s.settings.dirty());
}

#[test]
fn test_connection_and_reload() {
    let mut s = settings_state();
    assert_eq!(
        update(&mut s, Action::TestConnection),
        vec![Effect::TestConnection]
    );
    assert_eq!(
        engine(&update(&mut s, Action::ReloadSettings)),
        vec![Command::ReloadSettings]
    );
}

#[test]
fn dialog_answers() {
    let mut s = on(Pane::Changes);
    update(&mut s, Action::Apply);
    update(&mut s, Action::Help);
    assert!(
        matches!(s.modal, Some(Modal::Confirm(_))),
        "other keys leave the dialog open"
    );
    update(&mut s, Action::ToggleChoice);
    update(&mut s, Action::ToggleChoice);
    assert!(update(&mut s, Action::Enter).is_empty());
    update(&mut s, Action::Apply);
    assert!(update(&mut s, Action::No).is_empty());
    assert!(s.modal.is_none());
}

#[test]
fn resize_clamps_the_lists() {
    let mut s = on(Pane::Employees);
    update(&mut s, Action::Bottom);
    update(&mut s, Action::Resize(80, 24));
    assert_eq!(s.size, (80, 24));
    assert!(s.employees.list.offset + 10 >= s.employees.list.selected);
}

#[test]
fn read_only_refuses_every_write() {
    let mut s = st();
    s.flags.read_only = true;
    update(&mut s, Action::GoTo(Pane::Changes));
    for a in [
        Action::Approve,
        Action::Reject,
        Action::ApproveAll,
        Action::RejectAll,
        Action::Apply,
        Action::StartRollCall,
        Action::SyncEmployees,
        Action::SyncDefinitions,
    ] {
        assert!(update(&mut s, a.clone()).is_empty(), "{a:?}");
        assert!(s.modal.is_none());
        assert!(
            s.status
                .as_ref()
                .is_some_and(|m| m.text.starts_with("read-only")),
            "{a:?}"
        );
    }
    update(&mut s, Action::GoTo(Pane::Definitions));
    update(&mut s, Action::Right);
    assert!(update(&mut s, Action::OpenDoor).is_empty());
    assert!(s.modal.is_none());
    update(&mut s, Action::GoTo(Pane::Settings));
    assert!(update(&mut s, Action::Enter).is_empty());
    assert!(!s.typing());
    assert!(update(&mut s, Action::Save).is_empty());
}

#[test]
fn selection_stays_on_the_same_employee_when_rows_arrive_above() {
    let mut s = on(Pane::Employees);
    for _ in 0..20 {
        update(&mut s, Action::Down);
    }
    let before = s.employees.list;
    let id = s.snap.employees[before.selected].pac.as_ref().map(|p| p.id);
    let mut snap = snapshot();
    let mut rows = (*snap.employees).clone();
    rows.insert(0, rows[1].clone());
    if let Some(p) = rows[0].pac.as_mut() {
        p.id = crate::model::PacId(1);
    }
    if let Some(a) = rows[0].astrow.as_mut() {
        a.pers_no = crate::model::PersNo(1);
    }
    snap.employees = Arc::new(rows);
    derive::set_snapshot(&mut s, Arc::new(snap));
    let after = s.employees.list;
    assert_eq!(after.selected, before.selected + 1);
    assert_eq!(
        after.selected - after.offset,
        before.selected - before.offset,
        "same line on screen"
    );
    assert_eq!(
        s.snap.employees[after.selected].pac.as_ref().map(|p| p.id),
        id
    );
}

#[test]
fn selection_follows_a_person_whose_row_gets_linked() {
    let mut s = on(Pane::Employees);
    for _ in 0..5 {
        update(&mut s, Action::Down);
    }
    assert!(s.snap.employees[5].astrow.is_none(), "row 5 is PAC only");
    let mut snap = snapshot();
    let mut rows = (*snap.employees).clone();
    let linked = rows[5].clone();
    rows.remove(5);
    let mut linked = linked;
    linked.kind = crate::engine::snapshot::RowKind::Linked;
    linked.astrow = Some((&super::testkit::astrow_employee(5)).into());
    rows.insert(0, linked);
    snap.employees = Arc::new(rows);
    derive::set_snapshot(&mut s, Arc::new(snap));
    assert_eq!(s.employees.list.selected, 0);
    assert_eq!(s.snap.employees[0].pac.as_ref().map(|p| p.id.0), Some(1005));
}

#[test]
fn employee_filter_knows_row_kinds() {
    let mut s = on(Pane::Employees);
    update(&mut s, Action::Filter);
    for c in "is:diff".chars() {
        update(&mut s, key(c));
    }
    assert_eq!(s.employees.visible.len(), s.employees.counts.differ);
    for c in " joris".chars() {
        update(&mut s, key(c));
    }
    assert_eq!(s.employees.visible.len(), 1, "kind and text together");
    update(&mut s, Action::Back);
    update(&mut s, Action::Filter);
    for c in "is:unmanaged".chars() {
        update(&mut s, key(c));
    }
    assert_eq!(s.employees.visible.len(), s.employees.counts.unmanaged);
}

#[test]
fn settings_tab_moves_to_the_next_field_and_ctrl_s_keeps_and_saves() {
    let mut s = settings_state();
    update(&mut s, Action::Enter);
    for c in "pac.local".chars() {
        update(&mut s, key(c));
    }
    update(&mut s, Action::Down);
    assert_eq!(
        s.settings.fields[0].value, "pac.local",
        "Tab keeps what was typed"
    );
    assert_eq!(s.settings.list.selected, 1);
    assert!(s.typing(), "and edits the next field");
    update(&mut s, Action::Up);
    assert_eq!(s.settings.list.selected, 0);
    let fx = update(&mut s, Action::Save);
    assert!(!s.typing(), "ctrl-s keeps the field and leaves it");
    assert!(fx.is_empty(), "the required fields are still empty");
    assert!(s.status.as_ref().is_some_and(|m| m.text.contains("to fix")));
}
