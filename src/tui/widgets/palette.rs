//! The `:` command palette: a line to type and the matching commands.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::super::commands;
use super::super::state::Palette;
use super::super::theme::Theme;

pub fn draw(f: &mut Frame, area: Rect, p: &Palette, t: &Theme) {
    let found = commands::suggest(p.input.value());
    let shown = found.len().min(8);
    let r = super::centred(area, 60, shown as u16 + 4);
    let r = Rect { y: area.y + 2, ..r };
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(" Command ")
        .style(t.dialog);
    let mut lines = vec![Line::from(vec![
        Span::styled(":", t.key),
        Span::raw(p.input.value().to_string()),
        Span::styled("█", t.dim),
    ])];
    if found.is_empty() {
        lines.push(Line::from(Span::styled("no such command", t.warn)));
    }
    let start = p.selected.saturating_sub(shown.saturating_sub(1));
    for (i, c) in found.iter().enumerate().skip(start).take(shown) {
        let style = if i == p.selected { t.selected } else { t.base };
        lines.push(Line::from(vec![
            Span::styled(format!(" {:<20}", c.name), style),
            Span::styled(format!(" {}", c.desc), t.dim),
        ]));
    }
    f.render_widget(Paragraph::new(lines).block(block), r);
}
