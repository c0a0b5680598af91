//! One module per pane; each draws from `AppState` only.

pub mod bookings;
pub mod bookings_a2p;
pub mod changes;
pub mod definitions;
pub mod employees;
pub mod history;
pub mod log;
pub mod overview;
pub mod settings;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::state::Filter;
use super::theme::Theme;

/// The filter line above a list: what is typed, and whether it has the keys.
pub fn filter_line(
    f: &mut Frame,
    area: Rect,
    filter: &Filter,
    shown: usize,
    total: usize,
    t: &Theme,
    hint: &str,
) {
    let line = if filter.editing {
        Line::from(vec![
            Span::styled(" / ", t.key),
            Span::raw(filter.text().to_string()),
            Span::styled("█", t.key),
            Span::styled(
                format!("   {shown} of {total} match · enter keep · esc clear"),
                t.dim,
            ),
            Span::styled(
                if hint.is_empty() {
                    String::new()
                } else {
                    format!(" · {hint}")
                },
                t.dim,
            ),
        ])
    } else if filter.active() {
        Line::from(vec![
            Span::styled(" filter: ", t.dim),
            Span::styled(filter.text().to_string(), t.warn),
            Span::styled(format!("   {shown} of {total} · esc clears"), t.dim),
        ])
    } else {
        Line::from(Span::styled(" / to filter", t.dim))
    };
    f.render_widget(Paragraph::new(line), area);
}

/// The records a listing set aside as unreadable, one a line with the
/// reason (outside text, sanitised), under a title naming how many.
pub fn unreadable_lines(
    f: &mut Frame,
    area: Rect,
    t: &Theme,
    aside: &[&crate::engine::snapshot::UnreadableView],
) {
    if aside.is_empty() || area.height == 0 {
        return;
    }
    let w = area.width.saturating_sub(1) as usize;
    let mut lines = vec![Line::from(Span::styled(
        format!(
            " ▲ {} unreadable: set aside, never read as gone",
            aside.len()
        ),
        t.warn,
    ))];
    let room = usize::from(area.height).saturating_sub(1);
    for (i, u) in aside.iter().enumerate().take(room) {
        let id = u
            .record_id
            .map_or_else(|| "no id".to_string(), |i| format!("#{i}"));
        let text = if i + 1 == room && aside.len() > room {
            format!("  … and {} more (astrow-pac status)", aside.len() - i)
        } else {
            format!("  unreadable {} {id}: {}", u.listing, u.reason)
        };
        lines.push(Line::from(Span::styled(
            super::widgets::fit(&text, w),
            t.dim,
        )));
    }
    f.render_widget(Paragraph::new(lines), area);
}
