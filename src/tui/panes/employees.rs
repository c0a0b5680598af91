//! Employees: PAC and Astrow side by side, aligned by link (stacked below
//! 120 columns); differing fields marked `≠`, unmanaged `?`, conflicts `!`,
//! master-only `+`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Cell, Row};

use crate::engine::snapshot::{AstrowRecord, EmployeeRow, PacRecord, RowKind};

use super::super::state::AppState;
use super::super::theme::Theme;
use super::super::widgets::vtable::VTable;
use super::super::widgets::{ext, fit};

/// The column a difference name belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    Number,
    Badge,
    Active,
    Groups,
}

fn col_of(field: &str) -> Option<Col> {
    let f = field.to_ascii_lowercase();
    if f.contains("name") {
        Some(Col::Name)
    } else if f.contains("number") || f == "employee_no" {
        Some(Col::Number)
    } else if f.contains("badge") {
        Some(Col::Badge)
    } else if f.contains("active") {
        Some(Col::Active)
    } else if f.contains("group") {
        Some(Col::Groups)
    } else {
        None
    }
}

pub fn kind_mark(r: &EmployeeRow, t: &Theme) -> (&'static str, Style) {
    match r.kind {
        RowKind::Linked if r.differences.is_empty() => (" ", t.base),
        RowKind::Linked => ("≠", t.diff),
        RowKind::MasterOnly => ("+", t.ok),
        RowKind::Unmanaged => ("?", t.dim),
        RowKind::Conflict => ("!", t.bad),
    }
}

struct SideCells {
    id: String,
    name: String,
    number: String,
    badge: String,
    active: &'static str,
    groups: String,
}

/// PAC's access group names by id (from the definitions PAC listed).
pub type GroupNames<'a> = std::collections::HashMap<u32, &'a str>;

pub fn group_names(s: &AppState) -> GroupNames<'_> {
    s.snap
        .definitions
        .pac_groups
        .iter()
        .map(|g| (g.id, g.name.as_str()))
        .collect()
}

/// Access groups by name for a column `w` wide: whole names when they fit,
/// else each cut to the same length (at least 3 characters), else cut
/// with `…`. A group PAC did not list shows as `#id`.
pub fn groups_cell(ids: &[u32], names: &GroupNames<'_>, w: usize) -> String {
    let named: Vec<String> = ids
        .iter()
        .map(|id| {
            names
                .get(id)
                .map_or_else(|| format!("#{id}"), |n| ext(n).trim().to_string())
        })
        .collect();
    let whole = named.join(",");
    if whole.chars().count() <= w || named.is_empty() {
        return whole;
    }
    let n = named.len();
    let each = (w.saturating_sub(n - 1) / n).max(3);
    let short = named
        .iter()
        .map(|name| {
            name.chars()
                .take(each)
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(",");
    fit(&short, w)
}

/// Access groups for the detail: names with their ids (`Office (3)`).
fn groups_detail(ids: &[u32], names: &GroupNames<'_>) -> String {
    if ids.is_empty() {
        return "none".into();
    }
    ids.iter()
        .map(|id| match names.get(id) {
            Some(n) => format!("{} ({id})", ext(n)),
            None => format!("#{id} (not listed by PAC)"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn pac_cells(p: &PacRecord, names: &GroupNames<'_>, groups_w: usize) -> SideCells {
    SideCells {
        id: p.id.to_string(),
        name: format!("{} {}", p.first_name(), p.last_name()),
        number: p.employee_number().to_string(),
        badge: p
            .badges()
            .map(|b| b.number.to_string())
            .collect::<Vec<_>>()
            .join(","),
        active: if p.active { "yes" } else { "no" },
        groups: groups_cell(&p.access_group_ids, names, groups_w),
    }
}

fn astrow_cells(a: &AstrowRecord, names: &GroupNames<'_>, groups_w: usize) -> SideCells {
    let name = if a.middle_name().is_empty() {
        format!("{} {}", a.first_name(), a.last_name())
    } else {
        format!("{} {} {}", a.first_name(), a.middle_name(), a.last_name())
    };
    SideCells {
        id: a.pers_no.to_string(),
        name,
        number: a.employee_no().to_string(),
        badge: a
            .badge_no()
            .map(|b| b.to_string())
            .unwrap_or_else(|| "–".into()),
        active: if a.active { "yes" } else { "no" },
        groups: groups_cell(&a.pac_access_group_ids, names, groups_w),
    }
}

/// The cells of one side, with `≠` before each differing field.
fn side_spans(c: Option<SideCells>, diffs: &[Col], t: &Theme, name_w: usize) -> Vec<Span<'static>> {
    let Some(c) = c else {
        return vec![
            Span::styled("—", t.dim),
            Span::raw(""),
            Span::raw(""),
            Span::raw(""),
            Span::raw(""),
            Span::raw(""),
        ];
    };
    let mark = |col: Col, text: String| {
        if diffs.contains(&col) {
            Span::styled(format!("≠{text}"), t.diff)
        } else {
            Span::raw(text)
        }
    };
    vec![
        Span::styled(c.id, t.dim),
        mark(
            Col::Name,
            fit(
                &c.name,
                name_w.saturating_sub(usize::from(diffs.contains(&Col::Name))),
            ),
        ),
        mark(Col::Number, c.number),
        mark(Col::Badge, c.badge),
        mark(Col::Active, c.active.to_string()),
        mark(Col::Groups, c.groups),
    ]
}

fn diff_cols(r: &EmployeeRow) -> Vec<Col> {
    r.differences.names().filter_map(col_of).collect()
}

pub fn draw(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let st = &s.employees;
    let detail_h = if st.detail { 7 } else { 0 };
    let aside: Vec<_> = s
        .snap
        .unreadable
        .iter()
        .filter(|u| u.is_employee())
        .collect();
    let aside_h = if aside.is_empty() {
        0
    } else {
        (aside.len() as u16 + 1).min(4)
    };
    let [filter, table, aside_area, detail_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(aside_h),
        Constraint::Length(detail_h),
    ])
    .areas(area);
    super::unreadable_lines(f, aside_area, t, &aside);
    if st.detail {
        let row = st
            .visible
            .get(st.list.selected)
            .and_then(|&i| s.snap.employees.get(i as usize));
        detail(f, detail_area, s, row);
    }
    let total = s.snap.employees.len();
    super::filter_line(
        f,
        filter,
        &st.filter,
        st.visible.len(),
        total,
        t,
        "is:diff is:new is:unmanaged is:conflict",
    );
    if !st.filter.editing {
        let c = st.counts;
        let counts = Line::from(vec![
            Span::styled(format!("{} linked", c.linked), t.dim),
            Span::styled(
                format!(" ({} differ)", c.differ),
                if c.differ > 0 { t.diff } else { t.dim },
            ),
            Span::styled(format!(" · {} new", c.master_only), t.dim),
            Span::styled(format!(" · {} unmanaged", c.unmanaged), t.dim),
            Span::styled(
                format!(" · {} conflict ", c.conflict),
                if c.conflict > 0 { t.bad } else { t.dim },
            ),
        ])
        .right_aligned();
        let w = counts.width() as u16;
        let used = if st.filter.active() {
            24 + st.filter.text().chars().count() as u16
        } else {
            14
        };
        if filter.width >= w + used {
            let r = Rect {
                x: filter.x + filter.width - w,
                width: w,
                ..filter
            };
            f.render_widget(ratatui::widgets::Paragraph::new(counts), r);
        }
    }
    let wide = area.width >= 120;
    let legend = " ≠ differs  + new  ? unmanaged (never touched)  ! conflict ";
    let title = Line::from(vec![
        Span::styled(" Employees ", t.title),
        Span::styled(legend, t.dim),
    ]);
    let rows = &s.snap.employees;
    let names = group_names(s);
    let empty = if st.filter.active() {
        "no employee matches the filter"
    } else if crate::tui::loading::employees_loading(s) {
        crate::tui::loading::EMPLOYEES_LOADING
    } else {
        "no employees listed yet"
    };
    if wide {
        let w = [
            Constraint::Length(1),
            Constraint::Length(6),
            Constraint::Fill(2),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(4),
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Length(6),
            Constraint::Fill(2),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(4),
            Constraint::Fill(1),
        ];
        let (pac_w, astrow_w) = name_widths(&w, table, (2, 9));
        let (pac_gw, astrow_gw) = name_widths(&w, table, (6, 13));
        let header = Row::new(vec![
            "",
            "PAC id",
            "name",
            "number",
            "badge",
            "act",
            "groups",
            "│",
            "pers",
            "Astrow name",
            "number",
            "badge",
            "act",
            "groups",
        ]);
        VTable {
            title,
            header: Some(header),
            widths: w.to_vec(),
            len: st.visible.len(),
            list: st.list,
            focused: true,
            row_height: 1,
            empty,
            position: None,
        }
        .draw(f, table, t, |i| {
            let Some(r) = st.visible.get(i).and_then(|&ix| rows.get(ix as usize)) else {
                return Row::new(Vec::<Cell>::new());
            };
            let diffs = diff_cols(r);
            let (m, ms) = kind_mark(r, t);
            let mut cells = vec![Cell::from(Span::styled(m, ms))];
            cells.extend(
                side_spans(
                    r.pac.as_ref().map(|p| pac_cells(p, &names, pac_gw)),
                    &diffs,
                    t,
                    pac_w,
                )
                .into_iter()
                .map(Cell::from),
            );
            cells.push(Cell::from(Span::styled("│", t.border)));
            cells.extend(
                side_spans(
                    r.astrow
                        .as_ref()
                        .map(|a| astrow_cells(a, &names, astrow_gw)),
                    &diffs,
                    t,
                    astrow_w,
                )
                .into_iter()
                .map(Cell::from),
            );
            Row::new(cells)
        });
    } else {
        let w = [
            Constraint::Length(1),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Fill(1),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(4),
            Constraint::Length(11),
        ];
        let (pac_w, astrow_w) = name_widths(&w, table, (3, 3));
        let (gw, _) = name_widths(&w, table, (7, 7));
        let header = Row::new(vec![
            "", "", "id", "name", "number", "badge", "act", "groups",
        ]);
        VTable {
            title,
            header: Some(header),
            widths: w.to_vec(),
            len: st.visible.len(),
            list: st.list,
            focused: true,
            row_height: 2,
            empty,
            position: None,
        }
        .draw(f, table, t, |i| {
            let Some(r) = st.visible.get(i).and_then(|&ix| rows.get(ix as usize)) else {
                return Row::new(Vec::<Cell>::new());
            };
            let diffs = diff_cols(r);
            let (m, ms) = kind_mark(r, t);
            let p = side_spans(
                r.pac.as_ref().map(|p| pac_cells(p, &names, gw)),
                &diffs,
                t,
                pac_w,
            );
            let a = side_spans(
                r.astrow.as_ref().map(|a| astrow_cells(a, &names, gw)),
                &diffs,
                t,
                astrow_w,
            );
            let mut cells = vec![
                Cell::from(Text::from(vec![
                    Line::from(Span::styled(m, ms)),
                    Line::from(""),
                ])),
                Cell::from(Text::from(vec![
                    Line::styled("PAC", t.dim),
                    Line::styled("Astrow", t.dim),
                ])),
            ];
            for (ps, as_) in p.into_iter().zip(a) {
                cells.push(Cell::from(Text::from(vec![
                    Line::from(ps),
                    Line::from(as_),
                ])));
            }
            Row::new(cells)
        });
    }
}

fn date_range(a: Option<chrono::NaiveDate>, b: Option<chrono::NaiveDate>) -> String {
    let d = |x: Option<chrono::NaiveDate>| x.map_or("open".to_string(), |d| d.to_string());
    format!("{} – {}", d(a), d(b))
}

/// Every field of the selected row, both sides, and what the row means.
fn detail(f: &mut Frame, area: Rect, s: &AppState, row: Option<&EmployeeRow>) {
    use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
    let t = &s.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(" Details (esc closes) ", t.title));
    let Some(r) = row else {
        f.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let names = group_names(s);
    let (m, ms) = kind_mark(r, t);
    let meaning = match r.kind {
        RowKind::Linked if r.differences.is_empty() => {
            "linked and managed; both sides agree".to_string()
        }
        RowKind::Linked => format!(
            "linked and managed; differs in {}",
            r.differences.names().collect::<Vec<_>>().join(", ")
        ),
        RowKind::MasterOnly => {
            "on the master only: the next plan creates or matches it".to_string()
        }
        RowKind::Unmanaged => "never linked: shown, never deleted or stripped".to_string(),
        RowKind::Conflict => "conflict: a person resolves it on the Changes pane".to_string(),
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{m} "), ms),
        Span::styled(meaning, ms),
    ])];
    match &r.pac {
        Some(p) => {
            let badges = p
                .badges()
                .map(|b| {
                    format!(
                        "{} ({}{})",
                        b.number,
                        b.badge_type,
                        if b.active { "" } else { ", inactive" }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            lines.push(Line::from(vec![
                Span::styled("PAC    ", t.title),
                Span::raw(format!(
                    "{} {} {} · no {} · {} · valid {} · groups {} · badges {} · ref {}",
                    p.id,
                    p.first_name(),
                    p.last_name(),
                    p.employee_number(),
                    if p.active { "active" } else { "inactive" },
                    date_range(p.valid_from, p.valid_until),
                    groups_detail(&p.access_group_ids, &names),
                    if badges.is_empty() {
                        "none".into()
                    } else {
                        badges
                    },
                    p.external_ref().map_or("–".into(), |r| r.to_string()),
                )),
            ]));
        }
        None => lines.push(Line::from(vec![
            Span::styled("PAC    ", t.title),
            Span::styled("not in PAC", t.dim),
        ])),
    }
    match &r.astrow {
        Some(a) => {
            lines.push(Line::from(vec![
                Span::styled("Astrow ", t.title),
                Span::raw(format!(
                    "{} {} · no {} · {} · contract {} · cycle {} · pay group {} · PAC groups {} · badge {}{} · ref {}",
                    a.pers_no,
                    astrow_cells(a, &names, 0).name,
                    a.employee_no(),
                    if a.active { "active" } else { "inactive" },
                    date_range(a.contract_start, a.contract_end),
                    a.cycle_code(),
                    a.paygroup_code(),
                    groups_detail(&a.pac_access_group_ids, &names),
                    a.badge_no().map_or("none".into(), |b| b.to_string()),
                    a.pac_badge_type.map_or(String::new(), |b| format!(" ({b})")),
                    a.external_ref().map_or("–".into(), |r| r.to_string()),
                )),
            ]));
        }
        None => lines.push(Line::from(vec![
            Span::styled("Astrow ", t.title),
            Span::styled("not in Astrow", t.dim),
        ])),
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

/// Display widths of the name columns `(pac, astrow)` at positions `at` of
/// `widths`, as the table inside its border will lay them out.
fn name_widths(widths: &[Constraint], table: Rect, at: (usize, usize)) -> (usize, usize) {
    let inner = Rect {
        x: 0,
        y: 0,
        width: table.width.saturating_sub(2),
        height: 1,
    };
    let cols = Layout::horizontal(widths.iter().copied())
        .spacing(1)
        .split(inner);
    let w = |i: usize| cols.get(i).map_or(0, |c| c.width as usize);
    (w(at.0), w(at.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_show_by_name_abbreviated_when_narrow() {
        let names: GroupNames<'_> = [(1, "All staff"), (2, "Warehouse"), (4, "Night shift")]
            .into_iter()
            .collect();
        assert_eq!(groups_cell(&[1, 2], &names, 40), "All staff,Warehouse");
        assert_eq!(groups_cell(&[1, 2], &names, 8), "All,War");
        assert_eq!(groups_cell(&[1, 2, 4], &names, 12), "All,War,Nig");
        assert_eq!(groups_cell(&[1, 2, 4], &names, 6), "All,W…");
        assert_eq!(groups_cell(&[7], &names, 8), "#7");
        assert_eq!(groups_cell(&[], &names, 8), "");
        assert_eq!(
            groups_detail(&[2, 7], &names),
            "Warehouse (2), #7 (not listed by PAC)"
        );
    }

    #[test]
    fn a_group_name_from_pac_is_sanitised() {
        let names: GroupNames<'_> = [(1, "Evil\u{1b}[2Jname")].into_iter().collect();
        assert!(!groups_cell(&[1], &names, 40).contains('\u{1b}'));
    }
}
