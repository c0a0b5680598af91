//! Changes: the pending plan grouped by action, the selected item's
//! field-level before/after and reason, the guard's hold, apply progress and
//! results.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Gauge, Paragraph, Row, Wrap};

use crate::engine::snapshot::{ItemState, PlanItemView};

use super::super::state::{AppState, ChangeRow};
use super::super::theme::Theme;
use super::super::widgets::vtable::VTable;

pub fn state_mark(st: ItemState, t: &Theme) -> (&'static str, &'static str, Style) {
    match st {
        ItemState::Pending => ("·", "pending", t.base),
        ItemState::Approved => ("✓", "approved", t.ok),
        ItemState::Rejected => ("✗", "rejected", t.dim),
        ItemState::Applied => ("●", "applied", t.ok),
        ItemState::Failed => ("✖", "FAILED", t.bad),
        ItemState::Stale => ("~", "stale", t.warn),
    }
}

pub fn draw(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let Some(plan) = s.snap.plan.as_deref() else {
        let (title, hint) = if crate::tui::loading::employees_loading(s) {
            let what = crate::tui::loading::EMPLOYEES_LOADING;
            (" Loading.", format!(" {what}; the plan follows."))
        } else {
            (
                " No pending plan.",
                " The employee sync makes one on its interval; s runs it now.".to_string(),
            )
        };
        let mut lines = vec![
            Line::from(Span::styled(title, t.title)),
            Line::from(""),
            Line::from(hint),
        ];
        if let Some(a) = s.snap.apply.as_deref() {
            lines.push(Line::from(""));
            lines.push(Line::from(format!(
                " Last apply: {} applied, {} stale, {} failed.",
                a.applied, a.stale, a.failed
            )));
        }
        lines.extend(results_lines(s));
        let b = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border)
            .title(" Changes ");
        f.render_widget(Paragraph::new(lines).block(b), area);
        return;
    };
    let mut banner: Vec<Line> = Vec::new();
    if let Some(why) = &plan.held {
        banner.push(Line::from(vec![
            Span::styled(" HELD ", t.held),
            Span::styled(format!(" by the deletion guard: {}", why), t.warn),
        ]));
    }
    for n in &plan.notes {
        banner.push(Line::from(Span::styled(format!(" ▲ {}", n), t.warn)));
    }
    let progress = s
        .snap
        .apply
        .as_deref()
        .filter(|a| a.plan_id == plan.plan_id || a.running);
    let [top, gauge, body] = Layout::vertical([
        Constraint::Length(banner.len() as u16),
        Constraint::Length(u16::from(progress.is_some())),
        Constraint::Min(4),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(banner), top);
    if let Some(a) = progress {
        let done = a.applied + a.stale + a.failed;
        let ratio = if a.total == 0 {
            1.0
        } else {
            done as f64 / a.total as f64
        };
        let label = format!(
            "{} {done}/{}: {} applied, {} stale, {} failed",
            if a.running { "applying" } else { "applied" },
            a.total,
            a.applied,
            a.stale,
            a.failed
        );
        let style = if a.failed > 0 { t.bad } else { t.ok };
        f.render_widget(
            Gauge::default()
                .ratio(ratio.clamp(0.0, 1.0))
                .label(label)
                .gauge_style(style),
            gauge,
        );
    }
    let (list_area, detail_area) = if area.width >= 120 {
        let [l, d] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(body);
        (l, d)
    } else {
        let [l, d] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
        (l, d)
    };
    let st = &s.changes;
    let marked = st.anchor.map(|a| {
        if a <= st.list.selected {
            (a, st.list.selected)
        } else {
            (st.list.selected, a)
        }
    });
    let title = Line::from(vec![
        Span::styled(
            format!(" Plan for {} ", plan.master.other().display_name()),
            t.title,
        ),
        Span::styled(
            format!(
                "({} items, made {}) ",
                plan.items.len(),
                s.clock(plan.created_at)
            ),
            t.dim,
        ),
        if marked.is_some() {
            Span::styled(" SELECTING ", t.held)
        } else {
            Span::raw("")
        },
    ]);
    VTable {
        title,
        header: None,
        widths: vec![
            Constraint::Length(2),
            Constraint::Min(10),
            Constraint::Length(9),
        ],
        len: st.rows.len(),
        list: st.list,
        focused: true,
        row_height: 1,
        empty: "the plan is empty: both systems agree",
        position: Some(item_position(&st.rows, st.list.selected)),
    }
    .draw(f, list_area, t, |i| match st.rows.get(i) {
        Some(ChangeRow::Header { action, count }) => Row::new(vec![
            Cell::from(""),
            Cell::from(Span::styled(
                format!("{} ({count})", action.as_str().replace('_', " ")),
                t.title,
            )),
            Cell::from(""),
        ]),
        Some(ChangeRow::Item(ix)) => {
            let Some(it) = plan.items.get(*ix) else {
                return Row::new(Vec::<Cell>::new());
            };
            let (m, word, ms) = state_mark(it.state, t);
            let in_sel = marked.is_some_and(|(a, b)| (a..=b).contains(&i));
            let row = Row::new(vec![
                Cell::from(Span::styled(
                    if in_sel {
                        format!("▌{m}")
                    } else {
                        format!(" {m}")
                    },
                    ms,
                )),
                Cell::from(Span::raw(it.label.to_string())),
                Cell::from(Span::styled(word, ms)),
            ]);
            if in_sel { row.style(t.marked) } else { row }
        }
        None => Row::new(Vec::<Cell>::new()),
    });
    let item = match st.rows.get(st.list.selected) {
        Some(ChangeRow::Item(i)) => plan.items.get(*i),
        _ => None,
    };
    detail(f, detail_area, s, item);
}

/// What the last apply left that needs a look: stale and failed items with why.
fn results_lines(s: &AppState) -> Vec<Line<'static>> {
    let t = &s.theme;
    let mut out = Vec::new();
    let needs_look: Vec<_> = s
        .changes
        .results
        .iter()
        .filter(|i| i.state != ItemState::Applied)
        .collect();
    if needs_look.is_empty() {
        return out;
    }
    out.push(Line::from(""));
    out.push(Line::from(Span::styled(" Not applied last time:", t.title)));
    for it in needs_look {
        let (m, word, st) = state_mark(it.state, t);
        let why = it
            .message
            .as_deref()
            .map(|m| m.to_string())
            .unwrap_or_default();
        out.push(Line::from(vec![
            Span::styled(format!("  {m} {word:<7} "), st),
            Span::raw(format!(
                "{} {}",
                it.action.as_str().replace('_', " "),
                it.label
            )),
            Span::styled(format!("  {why}"), st),
        ]));
    }
    out
}

/// "failed 2 times; retried from 12:03:00 (or approve it again)".
fn retry_text(it: &PlanItemView) -> String {
    let times = if it.attempts == 1 {
        "once".to_string()
    } else {
        format!("{} times", it.attempts)
    };
    let next = it.retry_at.map_or(String::new(), |t| {
        format!(
            "; retried from {}",
            t.with_timezone(&chrono::Local).format("%H:%M:%S")
        )
    });
    let kind = it
        .failure_kind
        .map_or("failed", crate::engine::item_error::FailureKind::words);
    format!("{kind}: failed {times}{next} (or approve it again)")
}

/// "item 3 of 6": the list's group headers are not counted.
fn item_position(rows: &[ChangeRow], selected: usize) -> String {
    let items = rows
        .iter()
        .filter(|r| matches!(r, ChangeRow::Item(_)))
        .count();
    let at = rows
        .iter()
        .take(selected + 1)
        .filter(|r| matches!(r, ChangeRow::Item(_)))
        .count();
    format!("item {} of {}", at.max(1), items)
}

fn detail(f: &mut Frame, area: Rect, s: &AppState, item: Option<&PlanItemView>) {
    let t = &s.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(" Detail ", t.title));
    let Some(it) = item else {
        f.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let (m, word, ms) = state_mark(it.state, t);
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("{} ", it.action.as_str().replace('_', " ")),
            t.title,
        ),
        Span::raw(it.label.to_string()),
        Span::styled(format!(" in {}", it.target.display_name()), t.dim),
        Span::raw("  "),
        Span::styled(format!("{m} {word}"), ms),
    ])];
    let ids = [("master", &it.master_id), ("target", &it.slave_id)]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} id {}", v)))
        .collect::<Vec<_>>()
        .join(", ");
    if !ids.is_empty() {
        lines.push(Line::from(Span::styled(ids, t.dim)));
    }
    lines.push(Line::from(vec![
        Span::styled("why: ", t.dim),
        Span::raw(
            s.snap
                .plan
                .as_ref()
                .map(|p| p.reason_text(it))
                .unwrap_or_default(),
        ),
    ]));
    if let Some(msg) = &it.message {
        let st = if it.state == ItemState::Failed {
            t.bad
        } else {
            t.warn
        };
        lines.push(Line::from(Span::styled(format!("{m} {}", msg), st)));
    }
    if it.state == ItemState::Failed {
        lines.push(Line::from(Span::styled(retry_text(it), t.bad)));
    }
    if !it.changes.is_empty() {
        lines.push(Line::from(""));
        let fw = it
            .changes
            .iter()
            .map(|c| c.field.chars().count())
            .max()
            .unwrap_or(5)
            .min(24);
        for c in &it.changes {
            let before = c
                .before
                .as_deref()
                .map(|b| b.to_string())
                .unwrap_or_else(|| "(none)".into());
            let after = c
                .after
                .as_deref()
                .map(|a| a.to_string())
                .unwrap_or_else(|| "(none)".into());
            lines.push(Line::from(vec![
                Span::styled(format!("{:<fw$} ", c.field), t.title),
                Span::styled(format!("- {before}"), t.before),
                Span::styled("  →  ", t.dim),
                Span::styled(format!("+ {after}"), t.after),
            ]));
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
