//! History: the store's audit log in the Log pane, newest first, a page at
//! a time (time, user, system, action, record, result), the selected
//! entry's before/after below; and the trace of a row, over any pane.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Wrap};

use super::super::state::{AppState, TraceView};
use super::super::update_history;
use super::super::widgets::vtable::VTable;
use super::super::widgets::{centred, fit};
use crate::engine::query::HistoryEntry;

pub fn draw(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let st = &s.history;
    let detail_h = update_history::detail_rows(s) as u16;
    let [filter, table, detail_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(detail_h),
    ])
    .areas(area);
    let entries: &[HistoryEntry] = st.page.as_ref().map_or(&[], |p| &p.entries);
    let total = st.page.as_ref().map_or(0, |p| p.total as usize);
    super::filter_line(
        f,
        filter,
        &st.filter,
        entries.len(),
        total,
        t,
        "employee:pac:ID or astrow:ID picks one · enter asks",
    );
    let first = st.above.len() * update_history::PAGE as usize;
    let more = st.page.as_ref().is_some_and(|p| p.more);
    let position = if entries.is_empty() {
        String::new()
    } else {
        format!(
            "entry {} of {}{} · {} in all",
            first + st.list.selected + 1,
            first + entries.len(),
            if more { "+" } else { "" },
            total
        )
    };
    let state = match (&st.waiting, &st.problem) {
        (Some(_), _) => Span::styled("reading… ", t.warn),
        (None, Some(_)) => Span::styled("could not read ", t.bad),
        (None, None) => Span::styled("newest first ", t.dim),
    };
    let title = Line::from(vec![
        Span::styled(" History ", t.title),
        Span::styled("audit log · ", t.dim),
        state,
        Span::styled("H log lines ", t.dim),
    ]);
    let wide = area.width >= 120;
    let empty = match (&st.waiting, &st.problem) {
        (_, Some(why)) => why.as_str(),
        (Some(_), None) => "asking the engine for the audit log…",
        (None, None) if st.filter.active() => "no audit entry matches the filter",
        (None, None) => "no audit entry yet: every write to PAC or Astrow is recorded here",
    };
    let empty = empty.to_string();
    VTable {
        title,
        header: Some(Row::new(vec![
            "time", "user", "system", "action", "record", "result",
        ])),
        widths: widths(wide),
        len: entries.len(),
        list: st.list,
        focused: true,
        row_height: 1,
        empty: &empty,
        position: Some(position),
    }
    .draw(f, table, t, |i| match entries.get(i) {
        Some(e) => entry_row(e, wide, s),
        None => Row::new(Vec::<Cell>::new()),
    });
    detail(f, detail_area, s, entries.get(st.list.selected));
}

fn widths(wide: bool) -> Vec<Constraint> {
    if wide {
        vec![
            Constraint::Length(19),
            Constraint::Length(16),
            Constraint::Length(6),
            Constraint::Length(18),
            Constraint::Fill(1),
            Constraint::Fill(2),
        ]
    } else {
        vec![
            Constraint::Length(11),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(14),
            Constraint::Fill(1),
            Constraint::Fill(1),
        ]
    }
}

/// One entry as a row: time, user, system, action, record, result (a
/// result that is not ok stands out).
fn entry_row(e: &HistoryEntry, wide: bool, s: &AppState) -> Row<'static> {
    let t = &s.theme;
    let local = e.at.with_timezone(&s.tz);
    let when = if wide {
        local.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        local.format("%m-%d %H:%M").to_string()
    };
    let result_style = if e.result.starts_with("ok") || e.result.starts_with("requested") {
        t.base
    } else {
        t.warn
    };
    Row::new(vec![
        Cell::from(Span::styled(when, t.dim)),
        Cell::from(e.user.to_string()),
        Cell::from(e.system.as_str()),
        Cell::from(e.action.to_string()),
        Cell::from(e.record.to_string()),
        Cell::from(Span::styled(e.result.to_string(), result_style)),
    ])
}

/// The selected entry whole, and what changed (before -> after).
fn detail(f: &mut Frame, area: Rect, s: &AppState, e: Option<&HistoryEntry>) {
    let t = &s.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(" Before → after ", t.title));
    let Some(e) = e else {
        f.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(
            e.at.with_timezone(&s.tz)
                .format("%Y-%m-%d %H:%M:%S %:z ")
                .to_string(),
            t.dim,
        ),
        Span::styled(format!("{} ", e.user), t.title),
        Span::raw(format!(
            "{} in {} on {}: {}",
            e.action,
            e.system.as_str(),
            e.record,
            e.result
        )),
    ])];
    if e.diff.is_empty() {
        lines.push(Line::from(Span::styled(
            "  no field values recorded for this entry",
            t.dim,
        )));
    }
    let w = area.width.saturating_sub(4) as usize;
    for d in &e.diff {
        lines.push(Line::from(Span::styled(format!("  {}", fit(d, w)), t.diff)));
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

/// A trace over the pane: the engine's answer, scrolled; "reading…" until it comes.
pub fn draw_trace(f: &mut Frame, area: Rect, s: &AppState, tr: &TraceView) {
    let t = &s.theme;
    let r = centred(area, area.width.saturating_sub(4).max(76), area.height);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(format!(" Trace of {} ", tr.title), t.title))
        .title_bottom(Line::from(" ↑↓ scroll · esc close ").right_aligned())
        .style(t.dialog);
    let lines: Vec<Line> = match &tr.lines {
        None => vec![Line::from(Span::styled(
            " asking the engine for the trace…",
            t.dim,
        ))],
        Some(l) if l.is_empty() => vec![Line::from(Span::styled(" nothing to show", t.dim))],
        Some(l) => l.iter().skip(tr.scroll).map(|x| trace_line(x, s)).collect(),
    };
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        r,
    );
}

/// A line of a trace: section names stand out, the rest is plain.
fn trace_line(text: &str, s: &AppState) -> Line<'static> {
    let clean = text.to_string();
    if !clean.starts_with(' ') {
        Line::from(Span::styled(clean, s.theme.title))
    } else {
        Line::from(clean)
    }
}
