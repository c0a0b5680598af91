//! The status line (the last notice) and the key bar of the focused context,
//! drawn from the keymap like the help.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::engine::command::EventLevel;

use super::super::keymap::Context;
use super::super::state::AppState;

pub fn draw_status(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let line = match &s.status {
        Some(st) => {
            let (mark, style) = match st.level {
                EventLevel::Info => ("·", t.base),
                EventLevel::Warning => ("▲", t.warn),
                EventLevel::Error => ("✖", t.bad),
            };
            Line::from(vec![
                Span::styled(format!(" {mark} "), style),
                Span::styled(st.text.clone(), style),
            ])
        }
        None => Line::from(""),
    };
    f.render_widget(Paragraph::new(line), area);
}

/// The focused context's keys on the left, the global ones on the right
/// (they stay visible when the left side is cut).
pub fn draw_keys(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let ctx = s.context();
    // The bar shows each action's first key; help shows them all.
    let spans = |rows: Vec<(Vec<super::super::keymap::Key>, &'static str, bool)>| {
        let mut v = Vec::new();
        for (k, d, _) in rows.into_iter().filter(|r| r.2) {
            let Some(first) = k.first() else { continue };
            v.push(Span::styled(first.to_string(), t.key));
            v.push(Span::raw(" "));
            v.push(Span::styled(d, t.dim));
            v.push(Span::raw("  "));
        }
        v
    };
    let mut left = vec![Span::raw(" ")];
    left.extend(spans(s.keymap.grouped(ctx)));
    let right = if matches!(ctx, Context::Pane(_)) {
        spans(s.keymap.grouped(Context::Global))
    } else {
        Vec::new()
    };
    let right_w = right
        .iter()
        .map(|s| s.width() as u16)
        .sum::<u16>()
        .min(area.width);
    let [l, r] = ratatui::layout::Layout::horizontal([
        ratatui::layout::Constraint::Min(0),
        ratatui::layout::Constraint::Length(right_w),
    ])
    .areas(area);
    let l = Rect {
        width: l.width.saturating_sub(1),
        ..l
    };
    f.render_widget(Paragraph::new(Line::from(left)), l);
    f.render_widget(Paragraph::new(Line::from(right)), r);
}
