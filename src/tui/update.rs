//! `update(&mut AppState, Action) -> Vec<Effect>`: the only place state
//! changes in answer to a key. Pure: no I/O, no clock, no channel.

use crossterm::event::Event;
use tui_input::backend::crossterm::to_input_request;

use crate::engine::command::Command;
use crate::engine::snapshot::{ItemState, JobKind};

use super::action::{Action, Effect};
use super::commands;
use super::derive;
use super::state::{AppState, ChangeRow, Confirm, ConfirmKind, DefSection, Modal, Palette, Pane};
use super::update_panes;

pub fn update(s: &mut AppState, a: Action) -> Vec<Effect> {
    match a {
        Action::ForceQuit => {
            s.quit = true;
            return vec![Effect::Quit];
        }
        Action::Resize(w, h) => {
            s.size = (w, h);
            update_panes::clamp_all(s);
            return Vec::new();
        }
        _ => {}
    }
    if let Some(modal) = s.modal.take() {
        return modal_update(s, modal, a);
    }
    if s.typing() {
        return update_panes::typing(s, a);
    }
    global(s, a)
}

fn global(s: &mut AppState, a: Action) -> Vec<Effect> {
    match a {
        Action::Quit => {
            // An attached console's quit leaves the service and its apply running.
            let own_engine = s.snap.origin == crate::engine::snapshot::Origin::Embedded;
            if own_engine && s.snap.apply.as_ref().is_some_and(|p| p.running) {
                s.modal = Some(Modal::Confirm(Confirm {
                    kind: ConfirmKind::Quit,
                    title: "Quit while applying?".into(),
                    lines: vec![
                        "An apply is running. The engine finishes or safely abandons".into(),
                        "the item in flight; the rest waits for the next start.".into(),
                    ],
                    yes_label: "Quit".into(),
                    yes: false,
                }));
                Vec::new()
            } else {
                s.quit = true;
                vec![Effect::Quit]
            }
        }
        Action::NextPane => go(s, s.pane.next()),
        Action::PrevPane => go(s, s.pane.prev()),
        Action::GoTo(p) => go(s, p),
        Action::Help => {
            s.modal = Some(Modal::Help { scroll: 0 });
            Vec::new()
        }
        Action::Palette => {
            s.modal = Some(Modal::Palette(Palette::default()));
            Vec::new()
        }
        Action::Run(text) => match commands::parse(&text) {
            Some(a) => global(s, a),
            None => {
                s.warn(format!(
                    "no command \"{}\": type : and pick one from the list",
                    text.trim()
                ));
                Vec::new()
            }
        },
        Action::SyncEmployees => run_now(s, JobKind::Employees),
        Action::SyncDefinitions => run_now(s, JobKind::Definitions),
        Action::TogglePause => {
            if s.snap.paused {
                s.info("resuming the jobs");
                vec![Effect::Engine(Command::Resume)]
            } else {
                s.info("pausing the jobs (p or :resume to go on)");
                vec![Effect::Engine(Command::Pause)]
            }
        }
        Action::ReloadSettings => {
            s.info("asked the engine to read the settings file again");
            vec![Effect::Engine(Command::ReloadSettings)]
        }
        Action::StartRollCall | Action::StopRollCall => {
            let start = a == Action::StartRollCall;
            if refuse_write(
                s,
                if start {
                    "starting a roll call"
                } else {
                    "stopping the roll call"
                },
            ) {
                return Vec::new();
            }
            s.info(if start {
                "roll call started: swipes on roll-call readers confirm presence"
            } else {
                "roll call stopped"
            });
            vec![Effect::Engine(if start {
                Command::StartRollCall
            } else {
                Command::StopRollCall
            })]
        }
        Action::Approve
        | Action::Reject
        | Action::Visual
        | Action::ApproveAll
        | Action::RejectAll
        | Action::Apply
            if s.pane == Pane::Definitions =>
        {
            super::update_mirror::removals(s, a)
        }
        Action::RebindStore => update_panes::rebind_store(s),
        Action::History => super::update_history::toggle(s, Some(true)),
        Action::Apply | Action::ApproveAll | Action::RejectAll => update_panes::changes(s, a),
        Action::TestConnection | Action::Save => update_panes::settings(s, a),
        other => update_panes::pane(s, other),
    }
}

fn go(s: &mut AppState, p: Pane) -> Vec<Effect> {
    s.pane = p;
    update_panes::clamp_all(s);
    Vec::new()
}

fn run_now(s: &mut AppState, job: JobKind) -> Vec<Effect> {
    let writes = job == JobKind::Employees
        && s.snap.settings.apply_mode == crate::engine::snapshot::ApplyModeView::Auto
        && !s.snap.settings.read_only;
    // A --read-only console sends no run at all (the service refuses it:
    // in auto mode a run applies its plan).
    if (writes || s.flags.read_only) && refuse_write(s, "a sync now (in auto mode it applies)") {
        return Vec::new();
    }
    s.info(format!("{} asked to run now", job.title()));
    vec![Effect::Engine(Command::RunNow(job))]
}

/// `true` (and says so) when the console is read-only.
pub fn refuse_write(s: &mut AppState, what: &str) -> bool {
    if s.read_only() {
        s.warn(format!(
            "read-only: {what} is refused (the console was started with --read-only)"
        ));
        true
    } else {
        false
    }
}

/// The dialog's answer after a key: Left is "No" (leftmost, the safe
/// answer) and stays there, Right is the yes answer and stays there; only
/// Tab (`ToggleChoice`) flips.
pub fn choice_after(yes: bool, a: Action) -> bool {
    match a {
        Action::Left => false,
        Action::Right => true,
        Action::ToggleChoice => !yes,
        _ => yes,
    }
}

fn modal_update(s: &mut AppState, modal: Modal, a: Action) -> Vec<Effect> {
    match modal {
        Modal::Confirm(mut c) => match a {
            Action::ToggleChoice | Action::Left | Action::Right => {
                c.yes = choice_after(c.yes, a);
                s.modal = Some(Modal::Confirm(c));
                Vec::new()
            }
            Action::Yes => confirmed(s, c.kind),
            Action::Enter if c.yes => confirmed(s, c.kind),
            Action::Enter | Action::No | Action::Back => {
                s.info(format!("{}: no", c.title.trim_end_matches('?')));
                Vec::new()
            }
            _ => {
                s.modal = Some(Modal::Confirm(c));
                Vec::new()
            }
        },
        Modal::Help { scroll } => {
            let scroll = match a {
                Action::Back | Action::Help | Action::Quit => return Vec::new(),
                Action::Up => scroll.saturating_sub(1),
                Action::Down => scroll + 1,
                Action::PageUp => scroll.saturating_sub(s.body_rows()),
                Action::PageDown => scroll + s.body_rows(),
                _ => scroll,
            };
            s.modal = Some(Modal::Help { scroll });
            Vec::new()
        }
        Modal::Trace(t) => super::update_history::trace_key(s, t, a),
        Modal::Palette(mut p) => match a {
            Action::Back => Vec::new(),
            Action::Enter => {
                let found = commands::suggest(p.input.value());
                match found.get(p.selected) {
                    Some(c) => global(s, c.action.clone()),
                    None => global(s, Action::Run(p.input.value().to_string())),
                }
            }
            Action::Up => {
                p.selected = p.selected.saturating_sub(1);
                s.modal = Some(Modal::Palette(p));
                Vec::new()
            }
            Action::Down => {
                let n = commands::suggest(p.input.value()).len();
                p.selected = (p.selected + 1).min(n.saturating_sub(1));
                s.modal = Some(Modal::Palette(p));
                Vec::new()
            }
            Action::Input(k) => {
                if let Some(req) = to_input_request(&Event::Key(k)) {
                    p.input.handle(req);
                    p.selected = 0;
                }
                s.modal = Some(Modal::Palette(p));
                Vec::new()
            }
            _ => {
                s.modal = Some(Modal::Palette(p));
                Vec::new()
            }
        },
    }
}

fn confirmed(s: &mut AppState, kind: ConfirmKind) -> Vec<Effect> {
    match kind {
        ConfirmKind::Apply {
            plan_id,
            allow_held,
        } => {
            s.info("applying: progress shows on the Changes pane");
            vec![Effect::Engine(Command::Apply {
                plan_id,
                allow_held,
            })]
        }
        ConfirmKind::OpenDoor { reader_id } => {
            s.info("door open command sent");
            vec![Effect::Engine(Command::OpenDoor { reader_id })]
        }
        ConfirmKind::ResetCursor { to } => {
            s.info("asked the engine to move the event cursor");
            vec![Effect::Engine(Command::ResetCursor { to })]
        }
        ConfirmKind::MoveAstrowCursor { to } => {
            s.info("asked the engine to move the Astrow booking cursor");
            vec![Effect::Engine(Command::MoveAstrowCursor {
                to,
                force: false,
            })]
        }
        ConfirmKind::Quit => {
            s.quit = true;
            vec![Effect::Quit]
        }
        ConfirmKind::RebindStore => {
            s.info("re-binding the store: the next plan starts from scratch");
            vec![Effect::Engine(Command::RebindStore)]
        }
        ConfirmKind::DiscardSettings => {
            for f in &mut s.settings.fields {
                f.value = f.original.clone();
            }
            update_panes::revalidate(s);
            s.info("edits discarded");
            Vec::new()
        }
    }
}

/// Ids of plan items in rows `from..=to` (any order) whose state allows `to_state`.
pub fn item_ids(s: &AppState, from: usize, to: usize, target: ItemState) -> Vec<String> {
    let Some(plan) = s.snap.plan.as_deref() else {
        return Vec::new();
    };
    let (lo, hi) = if from <= to { (from, to) } else { (to, from) };
    s.changes
        .rows
        .iter()
        .skip(lo)
        .take(hi + 1 - lo)
        .filter_map(|r| match r {
            ChangeRow::Item(i) => plan.items.get(*i),
            ChangeRow::Header { .. } => None,
        })
        .filter(|it| {
            // A failed item may be approved (tried again) or rejected.
            it.state != target
                && matches!(
                    it.state,
                    ItemState::Pending
                        | ItemState::Approved
                        | ItemState::Rejected
                        | ItemState::Failed
                )
        })
        .map(|it| it.id.to_string())
        .collect()
}

pub fn definitions_toggle(s: &mut AppState) {
    let removals = !s.snap.definitions.removals.is_empty();
    s.definitions.section = match s.definitions.section {
        DefSection::Groups => DefSection::Readers,
        DefSection::Readers if removals => DefSection::Removals,
        DefSection::Readers | DefSection::Removals => DefSection::Groups,
    };
    s.definitions.anchor = None;
}

pub fn refilter(s: &mut AppState) {
    match s.pane {
        Pane::Employees => {
            derive::refilter_employees(s);
            s.employees.list.top();
        }
        Pane::Bookings => {
            derive::refresh_bookings(s, None);
            s.bookings.list.top();
        }
        Pane::Log => derive::refilter_log(s),
        _ => {}
    }
}
