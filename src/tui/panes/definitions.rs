//! Definitions: access groups and readers in PAC beside Astrow's mirror,
//! each reader's booking settings; open a door (asks first).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row};

use crate::model::Direction;

use super::super::state::{AppState, DefSection};
use super::super::update_panes::REMOVAL_ROWS;
use super::super::widgets::vtable::VTable;
use crate::engine::plan::RemovalState;

pub fn draw(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let d = &s.snap.definitions;
    // The summary line, what is still to do (at most 3 lines), the last run.
    // What the next sync will do and the last run, wrapped: never cut.
    let next = next_sync_lines(s);
    let w = usize::from(area.width.max(1));
    let pending_h = next
        .iter()
        .map(|l| l.width().max(1).div_ceil(w))
        .sum::<usize>()
        .min(7) as u16;
    let removals_h = if d.removals.is_empty() {
        0
    } else {
        REMOVAL_ROWS as u16 + 4
    };
    let aside: Vec<_> = s
        .snap
        .unreadable
        .iter()
        .filter(|u| !u.is_employee())
        .collect();
    let aside_h = if aside.is_empty() {
        0
    } else {
        (aside.len() as u16 + 1).min(4)
    };
    let [main, removals, pending, aside_area] = Layout::vertical([
        Constraint::Min(6),
        Constraint::Length(removals_h),
        Constraint::Length(pending_h),
        Constraint::Length(aside_h),
    ])
    .areas(area);
    if removals_h > 0 {
        draw_removals(f, removals, s);
    }
    super::unreadable_lines(f, aside_area, t, &aside);
    let (ga, ra) = if area.width >= 120 {
        let [g, r] = Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)])
            .areas(main);
        (g, r)
    } else {
        let [g, r] =
            Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(main);
        (g, r)
    };

    let leftovers = super::super::derive::astrow_only_groups(d);
    let groups_title = Line::from(vec![
        Span::styled(" Access groups ", t.title),
        Span::styled("PAC → Astrow ", t.dim),
    ]);
    VTable {
        title: groups_title,
        header: Some(Row::new(vec!["", "id", "PAC", "Astrow mirror"])),
        widths: vec![
            Constraint::Length(1),
            Constraint::Length(5),
            Constraint::Fill(1),
            Constraint::Fill(1),
        ],
        len: d.pac_groups.len() + leftovers.len(),
        list: s.definitions.groups,
        focused: s.definitions.section == DefSection::Groups,
        row_height: 1,
        empty: "no access groups read from PAC yet",
        position: None,
    }
    .draw(f, ga, t, |i| {
        let Some(g) = d.pac_groups.get(i) else {
            // The mirror's leftovers: PAC no longer has them.
            let Some(a) = leftovers.get(i - d.pac_groups.len()) else {
                return Row::new(Vec::<Cell>::new());
            };
            return Row::new(vec![
                Cell::from(Span::styled("-", t.warn)),
                Cell::from(Span::styled(a.id.to_string(), t.dim)),
                Cell::from(Span::styled("not in PAC", t.dim)),
                Cell::from(Span::styled(format!("-{} (to be removed)", a.name), t.warn)),
            ]);
        };
        let mirror = d.astrow_groups.iter().find(|a| a.id == g.id);
        let (m, ms, text) = match mirror {
            Some(a) if a.name == g.name => ("✓", t.ok, a.name.to_string()),
            Some(a) => ("≠", t.diff, format!("≠{}", a.name)),
            None => ("+", t.warn, "not mirrored yet".to_string()),
        };
        let name = if g.is_default {
            format!("{} (default)", g.name)
        } else {
            g.name.to_string()
        };
        Row::new(vec![
            Cell::from(Span::styled(m, ms)),
            Cell::from(Span::styled(g.id.to_string(), t.dim)),
            Cell::from(name),
            Cell::from(Span::styled(
                text,
                if mirror.is_some() { t.base } else { t.dim },
            )),
        ])
    });

    let readers_title = Line::from(vec![
        Span::styled(" Readers ", t.title),
        Span::styled("booking settings in force ", t.dim),
    ]);
    VTable {
        title: readers_title,
        header: Some(Row::new(vec![
            "",
            "name",
            "serial",
            "online",
            "books",
            "dir",
            "roll call",
            "Astrow",
        ])),
        widths: vec![
            Constraint::Length(1),
            Constraint::Fill(2),
            Constraint::Fill(1),
            Constraint::Length(7),
            Constraint::Length(5),
            Constraint::Length(4),
            Constraint::Length(9),
            Constraint::Length(7),
        ],
        len: d.pac_readers.len(),
        list: s.definitions.readers,
        focused: s.definitions.section == DefSection::Readers,
        row_height: 1,
        empty: "no readers read from PAC yet",
        position: None,
    }
    .draw(f, ra, t, |i| {
        let Some(r) = d.pac_readers.get(i) else {
            return Row::new(Vec::<Cell>::new());
        };
        let mirrored = d.astrow_readers.iter().any(|a| a.serial == r.serial);
        let cfg = d.reader_settings.iter().find(|c| c.serial == r.serial);
        let yes = |b: bool| if b { "yes" } else { "no" };
        let dir = |d: Direction| d.as_str();
        Row::new(vec![
            Cell::from(Span::styled(if r.online { " " } else { "!" }, t.bad)),
            Cell::from(r.name.to_string()),
            Cell::from(Span::styled(r.serial.to_string(), t.dim)),
            Cell::from(Span::styled(
                if r.online { "online" } else { "OFFLINE" },
                if r.online { t.ok } else { t.bad },
            )),
            Cell::from(cfg.map_or("–", |c| yes(c.booking))),
            Cell::from(cfg.map_or(dir(r.direction), |c| dir(c.direction))),
            Cell::from(cfg.map_or("–", |c| yes(c.roll_call))),
            Cell::from(Span::styled(
                if mirrored { "✓" } else { "+ new" },
                if mirrored { t.ok } else { t.warn },
            )),
        ])
    });

    f.render_widget(
        Paragraph::new(next).wrap(ratatui::widgets::Wrap { trim: false }),
        pending,
    );
}

/// What the next definitions sync will do (nothing, when the mirror matches
/// PAC), and when the last one ran with what it did.
fn next_sync_lines(s: &AppState) -> Vec<Line<'static>> {
    let t = &s.theme;
    let d = &s.snap.definitions;
    let mut lines = Vec::new();
    if d.pending.is_empty() {
        lines.push(Line::from(vec![
            Span::styled(" The next definitions sync will: ", t.title),
            Span::styled("nothing, Astrow's mirror matches PAC", t.dim),
        ]));
    } else {
        lines.push(Line::from(Span::styled(
            " The next definitions sync will:",
            t.title,
        )));
        for p in d.pending.iter().take(3) {
            lines.push(Line::from(format!("  · {}", p)));
        }
    }
    let job = s
        .snap
        .jobs
        .iter()
        .find(|j| j.kind == crate::engine::snapshot::JobKind::Definitions);
    let last = match job.and_then(|j| j.last_run.as_ref()) {
        Some(run) => {
            let when = s.ago(run.finished.unwrap_or(run.started));
            let how = if run.ok { "" } else { "failed: " };
            format!(" Last sync {when}: {how}{}", run.summary)
        }
        None => " Last sync: not run yet".to_string(),
    };
    let next = job
        .and_then(|j| j.next_run)
        .map(|n| format!(" · next {}", s.until(n)))
        .unwrap_or_default();
    lines.push(Line::from(Span::styled(format!("{last}{next}"), t.dim)));
    lines
}

/// The removals the deletion guard holds, each approved (a) or rejected (r).
fn draw_removals(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let d = &s.snap.definitions;
    let title = Line::from(vec![
        Span::styled(" Held mirror removals ", t.held),
        Span::styled(" a approve · r reject · v select · A all · x apply ", t.dim),
    ]);
    let (lo, hi) = match s.definitions.anchor {
        Some(a) => (
            a.min(s.definitions.removals.selected),
            a.max(s.definitions.removals.selected),
        ),
        None => (usize::MAX, 0),
    };
    VTable {
        title,
        header: Some(Row::new(vec!["", "removal", "name", "state"])),
        widths: vec![
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Fill(2),
            Constraint::Length(26),
        ],
        len: d.removals.len(),
        list: s.definitions.removals,
        focused: s.definitions.section == DefSection::Removals,
        row_height: 1,
        empty: "no removal held",
        position: None,
    }
    .draw(f, area, t, |i| {
        let Some(r) = d.removals.get(i) else {
            return Row::new(Vec::<Cell>::new());
        };
        let (state, style) = match r.state {
            RemovalState::Held => ("held: waiting for you", t.held),
            RemovalState::Approved => ("approved: x writes it", t.ok),
            RemovalState::Rejected => ("rejected: stays mirrored", t.dim),
        };
        let mark = if (lo..=hi).contains(&i) { "▌" } else { " " };
        Row::new(vec![
            Cell::from(Span::styled(mark, t.selected)),
            Cell::from(r.key.to_string()),
            Cell::from(r.name.to_string()),
            Cell::from(Span::styled(state, style)),
        ])
    });
}
