//! Help, generated from the live keymap: what is listed is what works.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::super::keymap::Context;
use super::super::state::{AppState, Pane};

pub fn lines(s: &AppState) -> Vec<Line<'static>> {
    let t = &s.theme;
    let mut out = Vec::new();
    let section = |ctx: Context, out: &mut Vec<Line<'static>>| {
        let rows = s.keymap.grouped(ctx);
        if rows.is_empty() {
            return;
        }
        out.push(Line::from(Span::styled(ctx.title().to_string(), t.title)));
        for (k, d, _) in rows {
            let keys = k
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(" ");
            out.push(Line::from(vec![
                Span::styled(format!("  {keys:<22}"), t.key),
                Span::raw(d),
            ]));
        }
        out.push(Line::from(""));
    };
    section(Context::Pane(s.pane), &mut out);
    section(Context::Global, &mut out);
    for p in Pane::ALL.into_iter().filter(|p| *p != s.pane) {
        section(Context::Pane(p), &mut out);
    }
    section(Context::Dialog, &mut out);
    section(Context::Text, &mut out);
    out.push(Line::from(Span::styled("Commands (after :)", t.title)));
    for c in super::super::commands::all() {
        out.push(Line::from(vec![
            Span::styled(format!("  {:<22}", c.name), t.key),
            Span::raw(c.desc),
        ]));
    }
    out
}

pub fn draw(f: &mut Frame, area: Rect, s: &AppState, scroll: usize) {
    let t = &s.theme;
    let r = super::centred(area, 76, area.height.saturating_sub(2));
    f.render_widget(Clear, r);
    let all = lines(s);
    let inner_h = r.height.saturating_sub(2) as usize;
    let scroll = scroll.min(all.len().saturating_sub(inner_h));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(" Keys ", t.title))
        .title_bottom(Line::from(" ↑↓ scroll · esc close ").right_aligned())
        .style(t.dialog);
    let shown: Vec<Line> = all.into_iter().skip(scroll).take(inner_h).collect();
    f.render_widget(Paragraph::new(shown).block(block), r);
}
