//! A table of any length: only the rows in view are built.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Row, Table, TableState};

use super::super::list::{ListState, position_text, visible_offset};
use super::super::theme::Theme;

pub struct VTable<'a> {
    pub title: Line<'a>,
    pub header: Option<Row<'a>>,
    pub widths: Vec<Constraint>,
    pub len: usize,
    pub list: ListState,
    pub focused: bool,
    /// Lines per row (2 for stacked employees).
    pub row_height: u16,
    pub empty: &'a str,
    /// Replaces "row x of N" (e.g. a list with group headers counts items).
    pub position: Option<String>,
}

impl<'a> VTable<'a> {
    /// Draw, building rows for the visible slice only.
    pub fn draw(self, f: &mut Frame, area: Rect, t: &Theme, mut row: impl FnMut(usize) -> Row<'a>) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(if self.focused {
                t.border_focus
            } else {
                t.border
            })
            .title(self.title)
            .title_bottom(
                Line::from(format!(
                    " {} ",
                    self.position
                        .clone()
                        .unwrap_or_else(|| position_text(self.list.selected, self.len))
                ))
                .right_aligned(),
            );
        let inner = block.inner(area);
        f.render_widget(block, area);
        if self.len == 0 {
            f.render_widget(
                ratatui::widgets::Paragraph::new(format!(" {}", self.empty)).style(t.dim),
                inner,
            );
            return;
        }
        let head = u16::from(self.header.is_some());
        let rows_fit = (inner.height.saturating_sub(head) / self.row_height.max(1)).max(1) as usize;
        let offset = visible_offset(self.list.selected, self.list.offset, self.len, rows_fit);
        let end = (offset + rows_fit).min(self.len);
        let rows: Vec<Row> = (offset..end)
            .map(|i| row(i).height(self.row_height))
            .collect();
        let mut table = Table::new(rows, self.widths).column_spacing(1);
        if let Some(h) = self.header {
            table = table.header(h.style(t.title));
        }
        if self.focused {
            table = table.row_highlight_style(t.selected);
        }
        let mut ts = TableState::default().with_selected(Some(self.list.selected - offset));
        f.render_stateful_widget(table, inner, &mut ts);
    }
}
