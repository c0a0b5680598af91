//! Log: the engine's tracing output, filtered by level and text.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use super::super::logbuf::LogLevel;
use super::super::state::AppState;
use super::super::widgets::vtable::VTable;

pub fn draw(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let st = &s.log;
    let [filter, table] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    super::filter_line(
        f,
        filter,
        &st.filter,
        st.visible.len(),
        st.lines.len(),
        t,
        "",
    );
    let title = Line::from(vec![
        Span::styled(" Log ", t.title),
        Span::styled(format!("{} and more severe ", st.level.as_str()), t.dim),
        if st.follow {
            Span::styled("● following ", t.ok)
        } else {
            Span::styled("❚❚ held (f follows) ", t.warn)
        },
    ]);
    VTable {
        title,
        header: None,
        widths: vec![
            Constraint::Length(8),
            Constraint::Length(5),
            Constraint::Length(18),
            Constraint::Fill(1),
        ],
        len: st.visible.len(),
        list: st.list,
        focused: true,
        row_height: 1,
        empty: "nothing logged at this level yet",
        position: None,
    }
    .draw(f, table, t, |i| {
        let Some(l) = st.visible.get(i).and_then(|&ix| st.lines.get(ix as usize)) else {
            return Row::new(Vec::<Cell>::new());
        };
        let style = match l.level {
            LogLevel::Error => t.bad,
            LogLevel::Warn => t.warn,
            LogLevel::Info => t.base,
            LogLevel::Debug | LogLevel::Trace => t.dim,
        };
        Row::new(vec![
            Cell::from(Span::styled(s.clock(l.time), t.dim)),
            Cell::from(Span::styled(l.level.as_str(), style)),
            Cell::from(Span::styled(l.target.to_string(), t.dim)),
            Cell::from(Span::styled(l.message.to_string(), style)),
        ])
    });
}
