//! Pane 4's held mirror removals, decided with pane 3's keys: `a` approves
//! and `r` rejects the selected one (or the `v` selection), `A` / `R` all,
//! `x` applies the approved ones now (a definitions sync).

use crate::engine::command::Command;
use crate::engine::plan::{RemovalDecision, RemovalState};
use crate::engine::snapshot::JobKind;

use super::action::{Action, Effect};
use super::state::{AppState, DefSection};
use super::update::refuse_write;
use super::update_panes::REMOVAL_ROWS;

/// a, r, v, A, R and x in pane 4.
pub fn removals(s: &mut AppState, a: Action) -> Vec<Effect> {
    let list = &s.snap.definitions.removals;
    if list.is_empty() {
        s.info("no removal from Astrow's mirror is held");
        return Vec::new();
    }
    let sel = s.definitions.removals.selected;
    let last = list.len().saturating_sub(1);
    let focused = s.definitions.section == DefSection::Removals;
    let (from, to, decision) = match a {
        Action::Apply => return apply(s),
        Action::ApproveAll => (0, last, RemovalDecision::Approved),
        Action::RejectAll => (0, last, RemovalDecision::Rejected),
        _ if !focused => {
            s.info("the held removals are below: l moves to them");
            return Vec::new();
        }
        Action::Visual => {
            s.definitions.anchor = match s.definitions.anchor {
                Some(_) => None,
                None => Some(sel),
            };
            return Vec::new();
        }
        Action::Approve | Action::Reject => {
            let from = s.definitions.anchor.take().unwrap_or(sel);
            let d = if a == Action::Approve {
                RemovalDecision::Approved
            } else {
                RemovalDecision::Rejected
            };
            (from, sel, d)
        }
        _ => return Vec::new(),
    };
    let keys = keys_between(s, from, to, decision);
    if keys.is_empty() {
        s.info("nothing to change there");
        return Vec::new();
    }
    let approve = decision == RemovalDecision::Approved;
    if refuse_write(
        s,
        if approve {
            "approving mirror removals"
        } else {
            "rejecting mirror removals"
        },
    ) {
        return Vec::new();
    }
    let n = keys.len();
    s.info(format!(
        "{} {n} mirror removal{}",
        if approve { "approved" } else { "rejected" },
        if n == 1 { "" } else { "s" }
    ));
    if n == 1 && matches!(a, Action::Approve | Action::Reject) {
        let len = s.snap.definitions.removals.len();
        s.definitions.removals.move_by(1, len, REMOVAL_ROWS);
    }
    vec![Effect::Engine(Command::DecideMirrorRemovals {
        keys,
        decision,
    })]
}

/// Keys of the removals in `from..=to` not in `decision`'s state already.
fn keys_between(s: &AppState, from: usize, to: usize, decision: RemovalDecision) -> Vec<String> {
    let (lo, hi) = if from <= to { (from, to) } else { (to, from) };
    let already = match decision {
        RemovalDecision::Approved => RemovalState::Approved,
        RemovalDecision::Rejected => RemovalState::Rejected,
    };
    s.snap
        .definitions
        .removals
        .iter()
        .skip(lo)
        .take(hi + 1 - lo)
        .filter(|r| r.state != already)
        .map(|r| r.key.clone())
        .collect()
}

/// x: the approved removals are written now by a definitions sync.
fn apply(s: &mut AppState) -> Vec<Effect> {
    let approved = s
        .snap
        .definitions
        .removals
        .iter()
        .filter(|r| r.state == RemovalState::Approved)
        .count();
    if approved == 0 {
        s.warn("nothing approved: approve removals first (a, or A for all)");
        return Vec::new();
    }
    if refuse_write(s, "applying mirror removals") {
        return Vec::new();
    }
    s.info(format!(
        "writing {approved} approved mirror removal{} now",
        if approved == 1 { "" } else { "s" }
    ));
    vec![Effect::Engine(Command::RunNow(JobKind::Definitions))]
}
