//! One module per pane; each draws from `AppState` only.

pub mod bookings;
pub mod changes;
pub mod definitions;
pub mod employees;
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
