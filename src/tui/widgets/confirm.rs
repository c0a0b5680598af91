//! A yes/no question whose default answer is No.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::super::state::Confirm;
use super::super::theme::Theme;

pub fn draw(f: &mut Frame, area: Rect, c: &Confirm, t: &Theme) {
    let width = c
        .lines
        .iter()
        .map(|l| l.chars().count() as u16 + 4)
        .max()
        .unwrap_or(30)
        .clamp(40, area.width.saturating_sub(4));
    let height = c.lines.len() as u16 + 5;
    let r = super::centred(area, width, height);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(format!(" {} ", c.title), t.title))
        .style(t.dialog);
    let mut lines: Vec<Line> = c
        .lines
        .iter()
        .map(|l| Line::from(super::ext(l).into_owned()))
        .collect();
    lines.push(Line::from(""));
    let (no, yes) = if c.yes {
        (t.button, t.button_active)
    } else {
        (t.button_active, t.button)
    };
    let mark = |on: bool| if on { "▸ " } else { "  " };
    lines.push(
        Line::from(vec![
            Span::styled(format!("{}No ", mark(!c.yes)), no),
            Span::raw("    "),
            Span::styled(format!("{}{} ", mark(c.yes), c.yes_label), yes),
        ])
        .centered(),
    );
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        r,
    );
}
