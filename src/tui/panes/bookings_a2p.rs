//! Bookings pane, the other direction: Astrow's own bookings (web clock,
//! mobile app, other terminals) on their way into PAC, newest first, with
//! the direction's rate, lag, waiting and rejected counts (`a` toggles).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row};

use crate::engine::astrow_to_pac::{A2pEntry, AstrowToPacView};
use crate::model::ExternalOutcome;
use crate::store::astrow_ledger::RowState;

use super::super::state::AppState;
use super::super::theme::Theme;
use super::super::widgets::ext;
use super::super::widgets::header::fmt_ms;
use super::super::widgets::vtable::VTable;

fn mark(e: &A2pEntry, t: &Theme) -> (&'static str, Style) {
    match &e.state {
        RowState::Pending => ("…", t.dim),
        RowState::Answered(ExternalOutcome::Stored { .. }) => ("✓", t.ok),
        RowState::Answered(ExternalOutcome::Duplicate { .. }) => ("=", t.dim),
        RowState::Answered(ExternalOutcome::Rejected { .. }) => ("✖", t.bad),
        RowState::Unreadable { .. } => ("!", t.warn),
    }
}

/// The direction's counts in one line: rate, lag, waiting, rejected.
pub fn stats_spans(v: &AstrowToPacView, t: &Theme) -> Vec<Span<'static>> {
    if !v.enabled {
        return vec![Span::styled(
            " Astrow→PAC off (bookings.astrow_to_pac)",
            t.dim,
        )];
    }
    let mut l = vec![
        Span::styled(format!(" Astrow→PAC {:.0}/min", v.per_minute), t.title),
        Span::styled("  lag ", t.dim),
        Span::raw(v.lag_ms.map_or("–".to_string(), fmt_ms)),
        Span::styled(
            format!(
                "  stored {}  waiting {}  ",
                v.tally.stored + v.tally.duplicate,
                v.tally.pending
            ),
            t.dim,
        ),
        Span::styled(
            format!("rejected {}", v.tally.rejected + v.tally.unreadable),
            if v.tally.rejected + v.tally.unreadable > 0 {
                t.bad
            } else {
                t.dim
            },
        ),
    ];
    if v.pac_failures >= AstrowToPacView::DOWN_AFTER {
        l.push(Span::styled("  ! PAC down", t.bad));
    }
    if v.astrow_failures >= AstrowToPacView::DOWN_AFTER {
        l.push(Span::styled("  ! Astrow down", t.bad));
    }
    if v.reading_paused {
        l.push(Span::styled("  ▲ reading paused", t.warn));
    }
    if let Some(r) = &v.astrow_restore {
        let to = r.resume_after.map_or("N".to_string(), |n| n.to_string());
        l.push(Span::styled(
            format!(
                "  ! Astrow went back (restored?): reading stopped, bookings astrow-cursor --to {to}"
            ),
            t.bad,
        ));
    }
    if v.tally.waiting > 0 {
        l.push(Span::styled(
            format!("  {} held for a link to PAC", v.tally.waiting),
            t.warn,
        ));
    }
    l
}

/// The table of Astrow bookings going to PAC, and the selected one below.
pub fn draw(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let v = &s.snap.astrow_to_pac;
    let [table, detail] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let title = Line::from(vec![
        Span::styled(" Astrow bookings → PAC, newest first · ", t.title),
        Span::styled(
            format!(
                "{} from PAC passed over (no loops), {} from before the start ",
                v.tally.from_pac, v.tally.older_than_start
            ),
            t.dim,
        ),
    ]);
    VTable {
        title,
        header: Some(Row::new(vec![
            "", "time", "badge", "booking", "from", "dir", "PAC",
        ])),
        widths: vec![
            Constraint::Length(1),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(4),
            Constraint::Fill(4),
        ],
        len: v.feed.len(),
        list: s.bookings.a2p_list,
        focused: true,
        row_height: 1,
        empty: if v.enabled {
            "no Astrow booking yet"
        } else {
            "off: set bookings.astrow_to_pac = true (Settings) to send Astrow's own bookings to PAC"
        },
        position: None,
    }
    .draw(f, table, t, |i| {
        let Some(e) = v.feed.get(i) else {
            return Row::new(Vec::<Cell>::new());
        };
        let (m, ms) = mark(e, t);
        Row::new(vec![
            Cell::from(Span::styled(m, ms)),
            Cell::from(e.time.format("%H:%M:%S").to_string()),
            Cell::from(ext(&e.badge_no).into_owned()),
            Cell::from(e.booking_id.to_string()),
            Cell::from(ext(&e.terminal_kind).into_owned()),
            Cell::from(e.direction.clone().unwrap_or_default()),
            Cell::from(Span::styled(ext(&e.status_text()).into_owned(), ms)),
        ])
    });
    if let Some(e) = v.feed.get(s.bookings.a2p_list.selected) {
        let (m, ms) = mark(e, t);
        let who = match (e.pac_id, e.pers_no) {
            (Some(p), _) => format!("PAC employee {p}"),
            (None, Some(p)) => format!("Astrow {p}, not linked: by badge"),
            (None, None) => "no employee: by badge".to_string(),
        };
        let line = Line::from(vec![
            Span::styled(format!(" {m} "), ms),
            Span::styled(
                format!(
                    "{} · {} · {who} · {} tries · ",
                    ext(&e.source_id),
                    e.time.format("%Y-%m-%d %H:%M:%S %:z"),
                    e.attempts
                ),
                t.dim,
            ),
            Span::styled(ext(&e.status_text()).into_owned(), ms),
        ]);
        f.render_widget(Paragraph::new(line), detail);
    } else if let Some(e) = &v.last_error {
        f.render_widget(
            Paragraph::new(Span::styled(format!(" ▲ {}", ext(e)), t.warn)),
            detail,
        );
    }
}
