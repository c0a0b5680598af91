//! Bookings: the live feed newest first, what stands out (denied, rejected,
//! queued), rate and lag, follow/freeze, filter, and the roll call.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Wrap};

use crate::engine::snapshot::{Delivery, FeedEntry};
use crate::model::{BookingStatus, EventType};

use super::super::derive::status_text;
use super::super::state::AppState;
use super::super::theme::Theme;
use super::super::widgets::header::fmt_ms;
use super::super::widgets::vtable::VTable;

pub fn entry_mark(e: &FeedEntry, t: &Theme) -> (&'static str, Style) {
    match &e.delivery {
        Delivery::FeedOnly => match e.event_type {
            EventType::AccessDeniedUnknownBadge
            | EventType::AccessDeniedTime
            | EventType::AccessDeniedPassback => ("✖", t.bad),
            EventType::DoorForced | EventType::DoorHeldOpen | EventType::ReaderOffline => {
                ("!", t.warn)
            }
            _ => ("·", t.dim),
        },
        Delivery::RollCall => ("R", t.base),
        Delivery::Pending => ("…", t.dim),
        Delivery::Answered { status } => match status {
            BookingStatus::Processed { .. } => ("✓", t.ok),
            BookingStatus::Queued { .. } => ("▲", t.warn),
            BookingStatus::Duplicate { .. } => ("=", t.dim),
            BookingStatus::Rejected { .. } => ("✖", t.bad),
        },
    }
}

pub fn draw(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let b = &s.snap.bookings;
    // A swipe booked without its employee's Astrow badge says why below.
    let note_lines = if selected_note(s).is_some() { 2 } else { 0 };
    let notices = notice_lines(s);
    let [stats, notice, filter, table, detail] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(notices.len().min(3) as u16),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1 + note_lines),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(notices), notice);
    let mut l = vec![
        Span::styled(format!(" {:.1}/min", b.per_minute), t.title),
        Span::styled("  lag ", t.dim),
        Span::raw(match (b.lag_p50_ms, b.lag_p99_ms) {
            (Some(a), Some(z)) => format!("{} (p99 {})", fmt_ms(a), fmt_ms(z)),
            _ => "–".into(),
        }),
        Span::styled(
            format!("  delivered {}  waiting {}  ", b.delivered, b.pending),
            t.dim,
        ),
        Span::styled(
            format!("queued {}", b.queued),
            if b.queued > 0 { t.warn } else { t.dim },
        ),
        Span::raw("  "),
        Span::styled(
            format!("rejected {}", b.rejected),
            if b.rejected > 0 { t.bad } else { t.dim },
        ),
        Span::raw("  "),
    ];
    if !b.gaps.is_empty() {
        l.push(Span::styled(format!("! {} GAP ", b.gaps.len()), t.bad));
    }
    if b.astrow_down {
        l.push(Span::styled("! Astrow down ", t.bad));
    }
    let a2p = &s.snap.astrow_to_pac;
    if a2p.enabled && !s.bookings.astrow_to_pac {
        let rejected = a2p.tally.rejected + a2p.tally.unreadable;
        l.push(Span::styled(
            format!(
                "│ a: Astrow→PAC {:.0}/min waiting {} ",
                a2p.per_minute, a2p.tally.pending
            ),
            t.dim,
        ));
        l.push(Span::styled(
            format!("rejected {rejected}"),
            if rejected > 0 { t.bad } else { t.dim },
        ));
    }
    f.render_widget(Paragraph::new(Line::from(l)), stats);
    super::filter_line(
        f,
        filter,
        &s.bookings.filter,
        s.bookings.visible.len(),
        feed_len(s),
        t,
        "",
    );
    if s.bookings.roll_call {
        roll_call(f, table.union(detail), s);
        return;
    }
    if s.bookings.astrow_to_pac {
        let a2p = super::bookings_a2p::stats_spans(&s.snap.astrow_to_pac, t);
        f.render_widget(Paragraph::new(Line::from(a2p)), filter);
        super::bookings_a2p::draw(f, table.union(detail), s);
        return;
    }
    let view = s.bookings.frozen.as_deref().unwrap_or(b);
    let mode = if s.bookings.follow {
        Span::styled(" ● following ", t.ok)
    } else {
        Span::styled(" ❚❚ FROZEN (f follows) ", t.held)
    };
    let title = Line::from(vec![Span::styled(" Swipes, newest first ", t.title), mode]);
    let feed = &view.feed;
    let st = &s.bookings;
    VTable {
        title,
        header: Some(Row::new(vec![
            "", "time", "badge", "employee", "reader", "dir", "Astrow",
        ])),
        widths: vec![
            Constraint::Length(1),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Fill(3),
            Constraint::Fill(3),
            Constraint::Length(4),
            Constraint::Fill(4),
        ],
        len: st.visible.len(),
        list: st.list,
        focused: true,
        row_height: 1,
        empty: if st.filter.active() {
            "no swipe matches the filter"
        } else {
            "no swipes yet"
        },
        position: None,
    }
    .draw(f, table, t, |i| {
        let Some(e) = st.visible.get(i).and_then(|&ix| feed.get(ix as usize)) else {
            return Row::new(Vec::<Cell>::new());
        };
        let (m, ms) = entry_mark(e, t);
        Row::new(vec![
            Cell::from(Span::styled(m, ms)),
            Cell::from(e.time.format("%H:%M:%S").to_string()),
            Cell::from(
                e.badge_number
                    .as_deref()
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "–".into()),
            ),
            Cell::from(
                e.employee
                    .as_deref()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "unknown".into()),
            ),
            Cell::from(e.reader.to_string()),
            Cell::from(e.direction.map_or("", |d| d.as_str())),
            Cell::from(Span::styled(status_text(&e.delivery, e.event_type), ms)),
        ])
    });
    if let Some(e) = st
        .visible
        .get(st.list.selected)
        .and_then(|&ix| feed.get(ix as usize))
    {
        let (m, ms) = entry_mark(e, t);
        let line = Line::from(vec![
            Span::styled(format!(" {m} "), ms),
            Span::styled(
                format!(
                    "seq {} · {} · {} · ",
                    e.seq,
                    e.time.format("%Y-%m-%d %H:%M:%S %:z"),
                    e.event_type.as_str()
                ),
                t.dim,
            ),
            Span::styled(status_text(&e.delivery, e.event_type), ms),
        ]);
        let [detail, note_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(detail);
        f.render_widget(Paragraph::new(line), detail);
        if let Some(note) = &e.pairing_note {
            let note = Span::styled(format!("   {}", note), t.warn);
            f.render_widget(
                Paragraph::new(Line::from(note)).wrap(Wrap { trim: false }),
                note_area,
            );
        }
    }
}

/// The pairing note of the selected swipe, if it has one.
fn selected_note(s: &AppState) -> Option<&str> {
    let view = s.bookings.frozen.as_deref().unwrap_or(&s.snap.bookings);
    s.bookings
        .visible
        .get(s.bookings.list.selected)
        .and_then(|&ix| view.feed.get(ix as usize))
        .and_then(|e| e.pairing_note.as_deref())
}

/// What cannot go on by itself: a reset of PAC's event sequence (with the
/// recovery key), and bookings that wait, by reason and age.
pub fn notice_lines(s: &AppState) -> Vec<Line<'static>> {
    let t = &s.theme;
    let b = &s.snap.bookings;
    let mut out = Vec::new();
    if let Some(r) = &b.sequence_reset {
        out.push(Line::from(Span::styled(
            format!(
                " ! PAC's event sequence was reset: PAC ends at {}, we had read to {}; reading stopped. X continues after {}",
                r.pac_last_seq, r.cursor, r.resume_after
            ),
            t.bad,
        )));
    }
    for w in &b.waiting {
        out.push(Line::from(Span::styled(
            format!(
                " ▲ {} waiting (oldest {}): {}",
                w.count,
                s.ago(w.since),
                w.reason
            ),
            t.warn,
        )));
    }
    out
}

fn feed_len(s: &AppState) -> usize {
    s.bookings
        .frozen
        .as_deref()
        .unwrap_or(&s.snap.bookings)
        .feed
        .len()
}

fn roll_call(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let Some(rc) = s.snap.bookings.roll_call.as_ref() else {
        let msg = vec![
            Line::from(Span::styled(" No roll call is running.", t.title)),
            Line::from(
                " :rollcall start begins one: swipes on roll-call readers then confirm presence",
            ),
            Line::from(" and are not T&A bookings. c goes back to the feed."),
        ];
        f.render_widget(Paragraph::new(msg), area);
        return;
    };
    let confirmed = rc.on_site.iter().filter(|p| p.confirmed).count();
    let title = Line::from(vec![
        Span::styled(
            format!(" Roll call since {} ", s.clock(rc.started)),
            t.title,
        ),
        Span::styled(
            format!("{confirmed} of {} on site confirmed ", rc.on_site.len()),
            if confirmed < rc.on_site.len() {
                t.warn
            } else {
                t.ok
            },
        ),
    ]);
    VTable {
        title,
        header: Some(Row::new(vec!["", "name", "badge", "last seen"])),
        widths: vec![
            Constraint::Length(1),
            Constraint::Fill(2),
            Constraint::Length(10),
            Constraint::Length(9),
        ],
        len: rc.on_site.len(),
        list: s.bookings.roll_list,
        focused: true,
        row_height: 1,
        empty: "nobody on site",
        position: None,
    }
    .draw(f, area, t, |i| {
        let Some(p) = rc.on_site.get(i) else {
            return Row::new(Vec::<Cell>::new());
        };
        Row::new(vec![
            Cell::from(Span::styled(
                if p.confirmed { "✓" } else { "?" },
                if p.confirmed { t.ok } else { t.bad },
            )),
            Cell::from(p.name.to_string()),
            Cell::from(p.badge_number.to_string()),
            Cell::from(p.last_seen.format("%H:%M:%S").to_string()),
        ])
    });
}
