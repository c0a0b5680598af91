//! Draws the whole screen from `AppState`; reads, never writes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::panes;
use super::state::{AppState, Modal, Pane};
use super::widgets::{bar, confirm, header, help, palette};

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub fn draw(f: &mut Frame, s: &AppState) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = vec![
            Line::from("astrow-pac needs a terminal of at least 80 x 24."),
            Line::from(format!(
                "This one is {} x {}: make it larger, or press q to quit.",
                area.width, area.height
            )),
        ];
        f.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .style(s.theme.warn),
            area,
        );
        return;
    }
    let banner_h = if s.snap.site_refusal.is_some() {
        super::state::SITE_BANNER_ROWS
    } else {
        0
    };
    let [head, banner, body, status, keys] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(banner_h),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header::draw(f, head, s);
    if let Some(why) = &s.snap.site_refusal {
        draw_site_banner(f, banner, s, why);
    }
    match s.pane {
        Pane::Overview => panes::overview::draw(f, body, s),
        Pane::Employees => panes::employees::draw(f, body, s),
        Pane::Changes => panes::changes::draw(f, body, s),
        Pane::Definitions => panes::definitions::draw(f, body, s),
        Pane::Bookings => panes::bookings::draw(f, body, s),
        Pane::Settings => panes::settings::draw(f, body, s),
        Pane::Log if s.history.shown => panes::history::draw(f, body, s),
        Pane::Log => panes::log::draw(f, body, s),
    }
    bar::draw_status(f, status, s);
    bar::draw_keys(f, keys, s);
    match &s.modal {
        Some(Modal::Confirm(c)) => confirm::draw(f, body, c, &s.theme),
        Some(Modal::Help { scroll }) => help::draw(f, body, s, *scroll),
        Some(Modal::Palette(p)) => palette::draw(f, body, p, &s.theme),
        Some(Modal::Trace(t)) => panes::history::draw_trace(f, body, s, t),
        None => {}
    }
}

/// The store is bound to another site: what stopped, why, and the fix.
fn draw_site_banner(f: &mut Frame, area: ratatui::layout::Rect, s: &AppState, why: &str) {
    use ratatui::text::Span;
    let t = &s.theme;
    let lines = vec![
        Line::from(vec![
            Span::styled(" OTHER SITE ", t.held),
            Span::styled(
                " Nothing is planned, mirrored or booked: this store belongs to another site.",
                t.bad,
            ),
        ]),
        Line::from(Span::styled(
            " Fix: if the store is meant for this site, press : and choose \"rebind store\" \
             (or run astrow-pac store rebind); otherwise fix store.dir or the settings.",
            t.warn,
        )),
        Line::from(Span::styled(format!(" {why}"), t.dim)),
    ];
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
