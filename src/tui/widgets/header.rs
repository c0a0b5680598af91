//! Always visible: both systems' health, the master direction, the apply
//! mode, pending changes and booking lag; then the pane tabs.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::engine::snapshot::{ApplyModeView, HealthState, ItemState, Origin, SystemHealth};
use crate::model::System;

use super::super::state::{AppState, Pane};
use super::super::theme::Theme;

/// Marker and word for a health state: readable without colour.
pub fn health_mark(state: HealthState, t: &Theme) -> (&'static str, &'static str, Style) {
    match state {
        HealthState::Up => ("●", "up", t.ok),
        HealthState::Degraded => ("▲", "degraded", t.warn),
        HealthState::Down => ("✖", "DOWN", t.bad),
        HealthState::Unknown => ("?", "unknown", t.dim),
    }
}

fn system<'a>(name: &'a str, h: &SystemHealth, t: &Theme, wide: bool) -> Vec<Span<'a>> {
    let (mark, word, style) = health_mark(h.state, t);
    let mut v = vec![
        Span::styled(name, t.title),
        Span::raw(" "),
        Span::styled(format!("{mark} {word}"), style),
    ];
    if h.state == HealthState::Up
        && let Some(ms) = h.latency_ms
    {
        v.push(Span::styled(format!(" {ms}ms"), t.dim));
    }
    if wide
        && h.state != HealthState::Up
        && let Some(d) = &h.detail
    {
        v.push(Span::styled(format!(": {}", super::fit(d, 40)), style));
    }
    v
}

/// Whose engine this is: the console's own, or a service's over its socket.
fn origin<'a>(o: &Origin, t: &Theme, wide: bool) -> Span<'a> {
    match (o, wide) {
        (Origin::Embedded, true) => Span::styled("embedded: stops when you quit", t.dim),
        (Origin::Embedded, false) => Span::styled("embedded", t.dim),
        (
            Origin::Service {
                pid,
                connected: true,
            },
            _,
        ) => Span::styled(format!("service, PID {pid}"), t.title),
        (
            Origin::Service {
                pid,
                connected: false,
            },
            _,
        ) => Span::styled(format!(" SERVICE PID {pid} GONE: reattaching "), t.bad),
    }
}

pub fn draw(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let snap = &s.snap;
    let wide = area.width >= 120;
    let sep = || Span::styled(" │ ", t.dim);

    let mut l1 = vec![Span::styled(" astrow-pac", t.title), sep()];
    l1.extend(system("PAC", &snap.health.pac, t, wide));
    l1.push(sep());
    l1.extend(system("Astrow", &snap.health.astrow, t, wide));
    let mut flags: Vec<Span> = vec![origin(&snap.origin, t, area.width >= 100), Span::raw(" ")];
    if s.read_only() {
        flags.push(Span::styled(" RO ", t.held));
        flags.push(Span::raw(" "));
    }
    if s.flags.demo || snap.settings.demo {
        flags.push(Span::styled(" DEMO ", t.held));
        flags.push(Span::raw(" "));
    }
    if snap.paused {
        flags.push(Span::styled(" PAUSED ", t.held));
        flags.push(Span::raw(" "));
    }
    if s.engine_gone {
        flags.push(Span::styled(" ENGINE STOPPED ", t.bad));
    }
    if snap.unshown() > 0 {
        let n = snap.unshown();
        let text = if wide {
            format!(" {n} NOT SHOWN: unreadable, see the log ")
        } else {
            format!(" {n} NOT SHOWN ")
        };
        flags.push(Span::styled(text, t.bad));
        flags.push(Span::raw(" "));
    }
    if snap.bookings.sequence_reset.is_some() {
        flags.push(Span::styled(" PAC SEQ RESET ", t.bad));
        flags.push(Span::raw(" "));
    }

    let master = match snap.settings.master {
        Some(System::Pac) => "PAC → Astrow",
        Some(System::Astrow) => "Astrow → PAC",
        None => "not set",
    };
    let apply = match snap.settings.apply_mode {
        ApplyModeView::Manual => "manual",
        ApplyModeView::Auto => "auto",
    };
    let mut l2 = vec![
        Span::styled(" master ", t.dim),
        Span::styled(master, t.title),
        sep(),
    ];
    l2.push(Span::styled("apply ", t.dim));
    l2.push(Span::styled(apply, t.title));
    l2.push(sep());
    let pending = snap.plan.as_ref().map_or(0, |p| {
        p.items
            .iter()
            .filter(|i| matches!(i.state, ItemState::Pending | ItemState::Approved))
            .count()
    });
    l2.push(Span::styled("pending ", t.dim));
    if crate::tui::loading::employees_loading(s) {
        l2.push(Span::styled("loading", t.dim));
    } else {
        l2.push(Span::styled(
            pending.to_string(),
            if pending > 0 { t.warn } else { t.base },
        ));
    }
    if snap.plan.as_ref().is_some_and(|p| p.held.is_some()) {
        l2.push(Span::raw(" "));
        l2.push(Span::styled(" HELD ", t.held));
    }
    if let Some(ap) = snap.apply.as_deref()
        && ap.running
    {
        l2.push(Span::styled(
            format!(
                " applying {}/{}",
                ap.applied + ap.stale + ap.failed,
                ap.total
            ),
            t.warn,
        ));
    }
    l2.push(sep());
    let b = &snap.bookings;
    l2.push(Span::styled("lag ", t.dim));
    l2.push(Span::raw(b.lag_p50_ms.map_or("–".to_string(), fmt_ms)));
    if b.pending > 0 {
        l2.push(Span::styled(format!(", {} waiting", b.pending), t.warn));
    }
    if !b.gaps.is_empty() {
        l2.push(Span::raw(" "));
        l2.push(Span::styled(
            format!(
                "! {} GAP{}",
                b.gaps.len(),
                if b.gaps.len() == 1 { "" } else { "S" }
            ),
            t.bad,
        ));
    }
    let [r1, r2, r3] =
        ratatui::layout::Layout::vertical([1, 1, 1].map(ratatui::layout::Constraint::Length))
            .areas(area);
    let flags_w: u16 = flags.iter().map(|s| s.width() as u16).sum();
    f.render_widget(Paragraph::new(Line::from(l1)).style(t.header), r1);
    if flags_w > 0 && r1.width > flags_w {
        let fr = Rect {
            x: r1.x + r1.width - flags_w,
            width: flags_w,
            ..r1
        };
        f.render_widget(Paragraph::new(Line::from(flags)).style(t.header), fr);
    }
    f.render_widget(Paragraph::new(Line::from(l2)).style(t.header), r2);
    tabs(f, r3, s);
}

pub fn fmt_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

fn tabs(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let sep = if area.width >= 90 { "  " } else { " " };
    let mut spans = vec![Span::raw(" ")];
    for p in Pane::ALL {
        let label = format!("{} {}", p.digit(), p.title());
        if p == s.pane {
            spans.push(Span::styled(format!("▸{label}"), t.tab_active));
        } else {
            spans.push(Span::styled(label, t.tab));
        }
        spans.push(Span::raw(sep));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
