//! The audit history view of the Log pane and the trace of a row: keys
//! become queries to the engine (`Command::Query`), answers become state.
//! Only one page of the audit log is held at a time: moving past its end
//! asks for the next one, moving above its top for the one before.

use crossterm::event::Event;
use tui_input::backend::crossterm::to_input_request;

use crate::engine::command::Command;
use crate::engine::query::{Answer, AnswerBody, HistoryFilter, Query};
use crate::model::EmployeeKey;

use super::action::{Action, Effect};
use super::safe_text::Safe;
use super::state::{AppState, Filter, HistoryWaiting, Modal, Pane, TraceView};

/// Entries a history page holds.
pub const PAGE: u32 = 100;

/// Rows of the history list that fit (the filter line, the list's border
/// and header, and the selected entry's details below).
pub fn list_rows(s: &AppState) -> usize {
    s.body_rows().saturating_sub(3 + detail_rows(s))
}

/// Rows of the details box under the list.
pub fn detail_rows(s: &AppState) -> usize {
    if s.size.1 >= 40 { 12 } else { 7 }
}

/// Show the history in the Log pane (asking for the newest page when none
/// is shown), or the log lines again.
pub fn toggle(s: &mut AppState, show: Option<bool>) -> Vec<Effect> {
    s.pane = Pane::Log;
    s.history.shown = show.unwrap_or(!s.history.shown);
    if !s.history.shown {
        return Vec::new();
    }
    s.info("history: the audit log, newest first (/ filters, employee:pac:ID or employee:astrow:ID picks one; H back to the log)");
    let before = s.history.page.as_ref().and_then(|p| p.before);
    ask(s, before, false)
}

/// Ask for the page starting below `before` (`None`: the newest).
fn ask(s: &mut AppState, before: Option<i64>, select_last: bool) -> Vec<Effect> {
    let query = s.next_query();
    s.history.waiting = Some(HistoryWaiting { query, select_last });
    vec![Effect::Engine(Command::Query {
        id: query,
        query: Query::History {
            filter: HistoryFilter::parse(s.history.filter.text()),
            before,
            limit: PAGE,
        },
    })]
}

/// Keys on the history view: paging at the ends of the page, the filter.
/// `None`: not a history key, the pane's usual handling applies.
pub fn key(s: &mut AppState, a: &Action) -> Option<Vec<Effect>> {
    let h = list_rows(s);
    let len = s.history.page.as_ref().map_or(0, |p| p.entries.len());
    let at_end = len == 0 || s.history.list.selected + 1 >= len;
    let at_top = s.history.list.selected == 0;
    let more = s.history.page.as_ref().is_some_and(|p| p.more);
    let fx = match a {
        Action::Down | Action::PageDown if at_end && more => {
            let page = s.history.page.as_ref()?;
            let next = page.entries.last().map(|e| e.id);
            let this = page.before;
            s.history.above.push(this);
            ask(s, next, false)
        }
        Action::Up | Action::PageUp if at_top && !s.history.above.is_empty() => {
            let before = s.history.above.pop().flatten();
            ask(s, before, true)
        }
        Action::Top if !s.history.above.is_empty() => {
            s.history.above.clear();
            ask(s, None, false)
        }
        Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top => {
            let page = h.max(1) as isize;
            let l = &mut s.history.list;
            match a {
                Action::Up => l.move_by(-1, len, h),
                Action::Down => l.move_by(1, len, h),
                Action::PageUp => l.move_by(-page, len, h),
                Action::PageDown => l.move_by(page, len, h),
                _ => l.top(),
            }
            Vec::new()
        }
        Action::Bottom => {
            s.history.list.bottom(len, h);
            Vec::new()
        }
        Action::Filter => {
            s.history.filter.editing = true;
            Vec::new()
        }
        Action::Back if s.history.filter.active() => {
            s.history.filter = Filter::default();
            s.history.above.clear();
            ask(s, None, false)
        }
        Action::Back => toggle(s, Some(false)),
        Action::Enter => {
            let before = s.history.page.as_ref().and_then(|p| p.before);
            ask(s, before, false)
        }
        _ => return None,
    };
    Some(fx)
}

/// Keys while the history filter is typed: it is sent on Enter (a query
/// per keystroke would scan the log for every letter).
pub fn typing(s: &mut AppState, a: Action) -> Vec<Effect> {
    match a {
        Action::Enter => {
            s.history.filter.editing = false;
            s.history.above.clear();
            ask(s, None, false)
        }
        Action::Back => {
            s.history.filter = Filter::default();
            s.history.above.clear();
            ask(s, None, false)
        }
        Action::Input(k) => {
            if let Some(req) = to_input_request(&Event::Key(k)) {
                s.history.filter.input.handle(req);
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// Open the trace of employee `key` (a side and its id), shown as `name`.
pub fn trace_employee(s: &mut AppState, key: EmployeeKey, name: &str) -> Vec<Effect> {
    open_trace(
        s,
        format!("employee {key} {name}"),
        Query::TraceEmployee { employee: key },
    )
}

/// Open the trace of the PAC event `seq` (current epoch).
pub fn trace_event(s: &mut AppState, seq: u64) -> Vec<Effect> {
    open_trace(
        s,
        format!("PAC event {seq}"),
        Query::TraceBooking {
            seq: Some(seq),
            booking_id: None,
        },
    )
}

fn open_trace(s: &mut AppState, title: String, query: Query) -> Vec<Effect> {
    let id = s.next_query();
    s.modal = Some(Modal::Trace(TraceView {
        query: id,
        title: title.trim().to_string(),
        lines: None,
        scroll: 0,
    }));
    vec![Effect::Engine(Command::Query { id, query })]
}

/// Keys on an open trace: scroll, close.
pub fn trace_key(s: &mut AppState, mut t: TraceView, a: Action) -> Vec<Effect> {
    let page = s.body_rows().saturating_sub(4).max(1);
    let last = t.lines.as_ref().map_or(0, |l| l.len().saturating_sub(1));
    t.scroll = match a {
        Action::Back | Action::Quit | Action::Help | Action::Enter => return Vec::new(),
        Action::Up => t.scroll.saturating_sub(1),
        Action::Down => (t.scroll + 1).min(last),
        Action::PageUp => t.scroll.saturating_sub(page),
        Action::PageDown => (t.scroll + page).min(last),
        Action::Top => 0,
        _ => t.scroll,
    };
    s.modal = Some(Modal::Trace(t));
    Vec::new()
}

/// An answer from the engine: kept when it answers this console's query
/// still waiting (a newer query, or another console's, makes it moot).
/// It carries outside text (audit records, names): cleaned once, here, so
/// what the History pane and the trace draw is already safe.
pub fn take_answer(s: &mut AppState, answer: &Answer) {
    if let Some(answer) = Safe::new(answer) {
        take_safe_answer(s, &answer);
    }
}

fn take_safe_answer(s: &mut AppState, answer: &Safe<Answer>) {
    if let Some(Modal::Trace(t)) = &mut s.modal
        && t.query == answer.query
    {
        t.lines = Some(match &answer.body {
            AnswerBody::Trace(tr) => tr.lines.clone(),
            AnswerBody::Failed(why) => vec![format!("could not read the trace: {why}")],
            AnswerBody::History(_) => Vec::new(),
        });
        return;
    }
    let Some(w) = s.history.waiting.filter(|w| w.query == answer.query) else {
        return;
    };
    s.history.waiting = None;
    match &answer.body {
        AnswerBody::History(page) => {
            let len = page.entries.len();
            s.history.page = Some(page.clone());
            s.history.problem = None;
            let h = list_rows(s);
            if w.select_last {
                s.history.list.bottom(len, h);
            } else {
                s.history.list.top();
            }
        }
        AnswerBody::Failed(why) => {
            // The entries shown were asked under another filter: keep none
            // under this one (a refused employee must not show another's).
            s.history.page = None;
            s.history.problem = Some(why.clone());
        }
        AnswerBody::Trace(_) => {}
    }
}
