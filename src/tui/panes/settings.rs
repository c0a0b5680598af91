//! Settings: every setting as a form field, edited in place, validated as
//! typed; the first-run guide.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};

use super::super::settings_form::FieldKind;
use super::super::state::AppState;
use super::super::widgets::vtable::VTable;

pub fn draw(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let st = &s.settings;
    let guide_h = if st.first_run {
        6
    } else if st.load_error.is_some() {
        2
    } else {
        0
    };
    let [guide, form, help] = Layout::vertical([
        Constraint::Length(guide_h),
        Constraint::Min(5),
        Constraint::Length(4),
    ])
    .areas(area);
    if st.first_run {
        let lines = vec![
            Line::from(Span::styled(" First run: no settings file yet.", t.title)),
            Line::from(format!(
                " Fill in the fields below; ctrl-s writes them to {}",
                s.flags.config_path
            )),
            Line::from(
                " (readable by you only). Enter edits a field; fields marked ✗ say what they need.",
            ),
            Line::from(" t tests both connections. To try the product first, quit and run"),
            Line::from(vec![
                Span::raw(" "),
                Span::styled("astrow-pac demo", t.key),
                Span::raw(": it runs on built-in simulators of PAC and Astrow."),
            ]),
        ];
        f.render_widget(
            Paragraph::new(lines).block(
                Block::default()
                    .borders(Borders::BOTTOM)
                    .border_style(t.border),
            ),
            guide,
        );
    } else if let Some(e) = &st.load_error {
        let text = format!(
            " ✖ {} Fix the file by hand; the form shows defaults and will not save.",
            super::super::widgets::ext(e)
        );
        f.render_widget(
            Paragraph::new(Span::styled(text, t.bad)).wrap(Wrap { trim: false }),
            guide,
        );
    }
    let dirty = st.fields.iter().filter(|f| f.changed()).count();
    let problems = st.problems();
    let mut title = vec![
        Span::styled(" Settings ", t.title),
        Span::styled(format!("{} ", s.flags.config_path), t.dim),
    ];
    if dirty > 0 {
        title.push(Span::styled(format!(" {dirty} edited, not saved "), t.warn));
    }
    if problems > 0 {
        title.push(Span::styled(format!(" ✗ {problems} to fix "), t.bad));
    }
    if st.load_error.is_some() {
        title.push(Span::styled(" file unreadable: not saved ", t.bad));
    }
    let editing = st.editing.as_ref();
    let sel = st.list.selected;
    let wide = area.width >= 120;
    VTable {
        title: Line::from(title),
        header: Some(Row::new(if wide {
            vec!["", "setting", "value", "check"]
        } else {
            vec!["", "setting", "value"]
        })),
        widths: if wide {
            vec![
                Constraint::Length(1),
                Constraint::Length(34),
                Constraint::Fill(2),
                Constraint::Fill(3),
            ]
        } else {
            vec![
                Constraint::Length(1),
                Constraint::Length(34),
                Constraint::Fill(1),
            ]
        },
        len: st.fields.len(),
        list: st.list,
        focused: true,
        row_height: 1,
        empty: "the settings form is not available",
        position: None,
    }
    .draw(f, form, t, |i| {
        let Some(field) = st.fields.get(i) else {
            return Row::new(Vec::<Cell>::new());
        };
        let (m, ms) = if field.problem.is_some() {
            ("✗", t.bad)
        } else if field.changed() {
            ("*", t.warn)
        } else {
            (" ", t.base)
        };
        let value = match (i == sel, editing) {
            (true, Some(input)) => {
                let v = if field.kind == FieldKind::Secret {
                    "•".repeat(input.value().chars().count())
                } else {
                    input.value().to_string()
                };
                Line::from(vec![Span::raw(v), Span::styled("█", t.key)])
            }
            _ => match field.kind {
                FieldKind::Secret if field.value.is_empty() => {
                    Line::from(Span::styled("(not set)", t.dim))
                }
                FieldKind::Secret => Line::from("••••••••"),
                _ if field.value.is_empty() => Line::from(Span::styled("(not set)", t.dim)),
                _ => Line::from(super::super::widgets::ext(&field.value).into_owned()),
            },
        };
        let mut cells = vec![
            Cell::from(Span::styled(m, ms)),
            // A reader's key holds its serial as the settings file wrote it.
            Cell::from(super::super::widgets::ext(&field.key).into_owned()),
            Cell::from(value),
        ];
        if wide {
            cells.push(match &field.problem {
                Some(p) => Cell::from(Span::styled(format!("✗ {p}"), t.bad)),
                None if field.changed() => Cell::from(Span::styled("* edited, not saved", t.warn)),
                None => Cell::from(""),
            });
        }
        Row::new(cells)
    });
    let mut lines = Vec::new();
    for p in st.general.iter().chain(&st.file_problems).take(1) {
        lines.push(Line::from(Span::styled(format!(" ✗ {p}"), t.bad)));
    }
    if let Some(field) = st.fields.get(sel) {
        if let Some(p) = &field.problem {
            lines.push(Line::from(Span::styled(format!(" ✗ {p}"), t.bad)));
        }
        lines.push(Line::from(Span::styled(format!(" {}", field.help), t.dim)));
    }
    if let Some((ok, text)) = &st.test_result {
        lines.push(Line::from(Span::styled(
            format!(" {} {text}", if *ok { "✓" } else { "✖" }),
            if *ok { t.ok } else { t.bad },
        )));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), help);
}
