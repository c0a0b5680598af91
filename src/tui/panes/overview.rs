//! Overview: both systems' health, each job, the deletion guard, bookings.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};

use crate::engine::snapshot::{HealthState, ItemState, JobKind, JobState, SystemHealth};

use super::super::state::AppState;
use super::super::widgets::fit;
use super::super::widgets::header::{fmt_ms, health_mark};

pub fn draw(f: &mut Frame, area: Rect, s: &AppState) {
    let top_h = if area.height >= 30 { 11 } else { 9 };
    let [top, jobs] = Layout::vertical([Constraint::Length(top_h), Constraint::Min(4)]).areas(area);
    let [sys, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(top);
    systems(f, sys, s);
    plan_and_bookings(f, right, s);
    let a2p_row = u16::from(s.snap.astrow_to_pac.enabled);
    let table_h = (s.snap.jobs.len() as u16 + a2p_row + 3).max(4);
    if jobs.height >= table_h + 4 {
        let [j, recent] =
            Layout::vertical([Constraint::Length(table_h), Constraint::Min(3)]).areas(jobs);
        jobs_table(f, j, s);
        recent_runs(f, recent, s);
    } else {
        jobs_table(f, jobs, s);
    }
}

fn block<'a>(title: &'a str, s: &AppState) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(s.theme.border)
        .title(Span::styled(format!(" {title} "), s.theme.title))
}

fn system_lines<'a>(name: &'a str, h: &'a SystemHealth, s: &AppState, w: usize) -> Vec<Line<'a>> {
    let t = &s.theme;
    let (mark, word, style) = health_mark(h.state, t);
    let mut first = vec![
        Span::styled(format!("{name:<7}"), t.title),
        Span::styled(format!("{mark} {word}"), style),
    ];
    if let Some(ms) = h.latency_ms {
        first.push(Span::styled(format!("  {}", fmt_ms(ms)), t.dim));
    }
    if let Some(v) = &h.server_version {
        first.push(Span::styled(format!("  v{}", fit(v, 16)), t.dim));
    }
    let mut lines = vec![Line::from(first)];
    let contact = match h.last_contact {
        Some(c) => {
            let stale = s
                .snap
                .generated_at
                .is_some_and(|now| (now - c).num_seconds() > 120);
            let st = if stale { t.bad } else { t.base };
            Span::styled(
                format!(
                    "last contact {} ({}){}",
                    s.clock(c),
                    s.ago(c),
                    if stale { " !" } else { "" }
                ),
                st,
            )
        }
        None => Span::styled("no contact yet", t.dim),
    };
    lines.push(Line::from(vec![Span::raw("       "), contact]));
    if h.state != HealthState::Up
        && let Some(d) = &h.detail
    {
        lines.push(Line::from(vec![
            Span::raw("       "),
            Span::styled(fit(d, w.saturating_sub(8)), style),
        ]));
    }
    if let Some(l) = h.licences {
        let yn = |b: bool| {
            if b {
                ("✓", t.ok)
            } else {
                ("✗ missing", t.bad)
            }
        };
        let (a, sa) = yn(l.file_terminal);
        let (b, sb) = yn(l.employees_import);
        lines.push(Line::from(vec![
            Span::styled("       licences: ", t.dim),
            Span::raw("terminal "),
            Span::styled(a, sa),
            Span::raw("  import "),
            Span::styled(b, sb),
        ]));
    }
    lines
}

fn systems(f: &mut Frame, area: Rect, s: &AppState) {
    let w = area.width as usize;
    let t = &s.theme;
    let at = |addr: &str| {
        (!addr.is_empty() && w > 60).then(|| {
            Line::from(Span::styled(
                format!("       at {}", fit(addr, w.saturating_sub(12))),
                t.dim,
            ))
        })
    };
    let mut lines = system_lines("PAC", &s.snap.health.pac, s, w);
    lines.extend(at(&s.snap.settings.pac_address));
    lines.push(Line::from(""));
    lines.extend(system_lines("Astrow", &s.snap.health.astrow, s, w));
    lines.extend(at(&s.snap.settings.astrow_url));
    f.render_widget(Paragraph::new(lines).block(block("Systems", s)), area);
}

fn plan_and_bookings(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let snap = &s.snap;
    let w = area.width.saturating_sub(2) as usize;
    let mut lines = Vec::new();
    match snap.plan.as_deref() {
        Some(p) => {
            let count = |st: ItemState| p.items.iter().filter(|i| i.state == st).count();
            lines.push(Line::from(vec![
                Span::styled("Plan   ", t.title),
                Span::raw(plan_counts(
                    p.items.len(),
                    count(ItemState::Pending),
                    count(ItemState::Approved),
                    w.saturating_sub(7),
                )),
            ]));
            match &p.held {
                Some(why) => lines.push(Line::from(vec![
                    Span::styled(" HELD ", t.held),
                    Span::styled(format!(" {}", fit(why, w.saturating_sub(7))), t.warn),
                ])),
                None => lines.push(Line::from(Span::styled(
                    "       deletion guard: within limits",
                    t.ok,
                ))),
            }
        }
        None => lines.push(Line::from(vec![
            Span::styled("Plan   ", t.title),
            Span::styled(
                if crate::tui::loading::employees_loading(s) {
                    "loading (first employee sync)"
                } else {
                    "nothing pending"
                },
                t.dim,
            ),
        ])),
    }
    if let Some(a) = snap.apply.as_deref() {
        let what = if a.running { "applying" } else { "last apply" };
        let st = if a.failed > 0 {
            t.bad
        } else if a.stale > 0 {
            t.warn
        } else {
            t.base
        };
        lines.push(Line::from(Span::styled(
            format!(
                "       {what}: {}/{} done, {} stale, {} failed",
                a.applied, a.total, a.stale, a.failed
            ),
            st,
        )));
    }
    let b = &snap.bookings;
    lines.push(Line::from(vec![
        Span::styled("Swipes ", t.title),
        Span::raw(format!(
            "{:.1}/min, {} sent, {} waiting",
            b.per_minute, b.delivered, b.pending
        )),
    ]));
    let mut l = vec![Span::raw("       ")];
    l.push(Span::styled(
        format!("queued {}", b.queued),
        if b.queued > 0 { t.warn } else { t.base },
    ));
    l.push(Span::raw("  "));
    l.push(Span::styled(
        format!("rejected {}", b.rejected),
        if b.rejected > 0 { t.bad } else { t.base },
    ));
    if let Some(p50) = b.lag_p50_ms {
        l.push(Span::styled(format!("  lag {}", fmt_ms(p50)), t.dim));
    }
    if let (true, Some(p99)) = (w > 50, b.lag_p99_ms) {
        l.push(Span::styled(format!(" (p99 {})", fmt_ms(p99)), t.dim));
    }
    lines.push(Line::from(l));
    for g in &b.gaps {
        lines.push(Line::from(Span::styled(
            format!(
                "! GAP: PAC events {}–{} are lost (seen {})",
                g.from_seq,
                g.to_seq,
                s.clock(g.detected_at)
            ),
            t.bad,
        )));
    }
    if let Some(r) = &b.sequence_reset {
        lines.push(Line::from(Span::styled(
            fit(
                &format!(
                    "! PAC's event sequence was reset ({} < {}): reading stopped (Bookings, X)",
                    r.pac_last_seq, r.cursor
                ),
                w.saturating_sub(1),
            ),
            t.bad,
        )));
    }
    for wait in &b.waiting {
        lines.push(Line::from(Span::styled(
            fit(
                &format!(
                    "▲ {} wait (oldest {}): {}",
                    wait.count,
                    s.ago(wait.since),
                    wait.reason
                ),
                w.saturating_sub(1),
            ),
            t.warn,
        )));
    }
    if !snap.unreadable.is_empty() {
        let employees = snap.unreadable.iter().filter(|u| u.is_employee()).count();
        lines.push(Line::from(Span::styled(
            fit(
                &format!(
                    "▲ {} unreadable, set aside: {} employees, {} definitions",
                    snap.unreadable.len(),
                    employees,
                    snap.unreadable.len() - employees
                ),
                w.saturating_sub(1),
            ),
            t.warn,
        )));
    }
    a2p_lines(&mut lines, s, w);
    if b.astrow_down {
        lines.push(Line::from(Span::styled(
            "! Astrow marked down: bookings wait in the ledger",
            t.bad,
        )));
    }
    if b.reading_paused {
        lines.push(Line::from(Span::styled(
            "▲ reading PAC events paused: too many waiting",
            t.warn,
        )));
    }
    if let Some(e) = &b.last_error {
        lines.push(Line::from(Span::styled(
            format!("▲ {}", fit(e, w.saturating_sub(2))),
            t.warn,
        )));
    }
    f.render_widget(
        Paragraph::new(lines).block(block("Plan and bookings", s)),
        area,
    );
}

/// The Astrow -> PAC direction, when it is on.
fn a2p_lines(lines: &mut Vec<Line<'_>>, s: &AppState, w: usize) {
    let t = &s.theme;
    let v = &s.snap.astrow_to_pac;
    if !v.enabled {
        return;
    }
    let rejected = v.tally.rejected + v.tally.unreadable;
    lines.push(Line::from(vec![
        Span::styled("Astrow ", t.title),
        Span::raw(fit(
            &format!(
                "→ PAC {:.0}/min, {} stored, {} waiting",
                v.per_minute,
                v.tally.stored + v.tally.duplicate,
                v.tally.pending
            ),
            w.saturating_sub(7),
        )),
    ]));
    let mut l = vec![
        Span::raw("       "),
        Span::styled(
            format!("rejected {rejected}"),
            if rejected > 0 { t.bad } else { t.base },
        ),
    ];
    if let Some(lag) = v.lag_ms {
        l.push(Span::styled(format!("  lag {}", fmt_ms(lag)), t.dim));
    }
    lines.push(Line::from(l));
    if let Some(why) = v.stuck(
        chrono::Utc::now(),
        crate::engine::jobs::heartbeat::A2P_STUCK_AFTER_S,
    ) {
        lines.push(Line::from(Span::styled(
            format!("! {}", fit(&why, w.saturating_sub(2))),
            t.bad,
        )));
    }
}

fn jobs_table(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let rows: Vec<Row> = s
        .snap
        .jobs
        .iter()
        .map(|j| {
            let (state, st) = match j.state {
                JobState::Idle => ("idle", t.base),
                JobState::Running => ("running", t.ok),
                JobState::Paused => ("paused", t.warn),
                JobState::Warning => ("⚠ warning", t.warn),
                JobState::Failed => ("✖ failed", t.bad),
            };
            let ok_style = match &j.last_run {
                Some(r) if !r.ok => t.bad,
                Some(r) if r.warning => t.warn,
                _ => t.base,
            };
            let next = j.next_run.map_or(String::from("–"), |n| s.until(n));
            let (last, summary) = match &j.last_run {
                Some(r) => (
                    format!("{} {}", run_mark(r), s.ago(r.finished.unwrap_or(r.started))),
                    r.summary.to_string(),
                ),
                // The import runs for as long as the engine does: it has no
                // last run, only what it has done so far.
                None if j.kind == JobKind::Bookings && j.state == JobState::Running => {
                    (String::from("continuous"), import_summary(s))
                }
                None if j.kind == JobKind::Bookings => (String::from("never"), import_held(s)),
                None => (String::from("never"), String::new()),
            };
            Row::new(vec![
                ratatui::widgets::Cell::from(j.kind.title()),
                ratatui::widgets::Cell::from(Span::styled(state, st)),
                ratatui::widgets::Cell::from(Span::styled(last, ok_style)),
                ratatui::widgets::Cell::from(next),
                ratatui::widgets::Cell::from(Span::styled(summary, ok_style)),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(17),
        Constraint::Length(9),
        Constraint::Length(12),
        Constraint::Length(11),
        Constraint::Min(10),
    ];
    let mut rows = rows;
    if let Some(r) = a2p_job_row(s) {
        rows.push(r);
    }
    let table = Table::new(rows, widths)
        .header(Row::new(vec!["job", "state", "last run", "next", "result"]).style(t.title))
        .block(block("Jobs", s));
    if s.snap.jobs.is_empty() {
        f.render_widget(
            Paragraph::new(Span::styled(
                " waiting for the engine's first report",
                t.dim,
            ))
            .block(block("Jobs", s)),
            area,
        );
    } else {
        f.render_widget(table, area);
    }
}

/// What the running booking import has done, for its row of the jobs table.
fn import_summary(s: &AppState) -> String {
    let b = &s.snap.bookings;
    let mut text = format!(
        "{} sent, {} waiting, {} rejected",
        b.delivered, b.pending, b.rejected
    );
    if b.sequence_reset.is_some() {
        text.push_str("; STOPPED: PAC's event numbers went back");
    } else if b.reading_paused {
        text.push_str("; reading paused");
    } else if b.astrow_down {
        text.push_str("; Astrow down, retrying");
    }
    text
}

/// Why the booking import is not running, for its row of the jobs table.
fn import_held(s: &AppState) -> String {
    if s.snap.settings.read_only {
        "not running: started with --read-only".into()
    } else if s.snap.site_refusal.is_some() {
        "not running until the store is re-bound (astrow-pac store rebind)".into()
    } else {
        String::new()
    }
}

/// The Astrow -> PAC job as a row of the jobs table (it runs continuously,
/// like the booking import, so it has no last or next run).
fn a2p_job_row(s: &AppState) -> Option<Row<'static>> {
    let t = &s.theme;
    let v = &s.snap.astrow_to_pac;
    if !v.enabled {
        return None;
    }
    let down = v.pac_failures.max(v.astrow_failures)
        >= crate::engine::astrow_to_pac::AstrowToPacView::DOWN_AFTER;
    let (state, st) = if down {
        ("✖ failed", t.bad)
    } else if v.reading_paused {
        ("paused", t.warn)
    } else {
        ("running", t.ok)
    };
    Some(Row::new(vec![
        ratatui::widgets::Cell::from("Astrow→PAC"),
        ratatui::widgets::Cell::from(Span::styled(state, st)),
        ratatui::widgets::Cell::from("continuous"),
        ratatui::widgets::Cell::from("–"),
        ratatui::widgets::Cell::from(Span::styled(
            format!(
                "{} stored, {} waiting, {} rejected",
                v.tally.stored + v.tally.duplicate,
                v.tally.pending,
                v.tally.rejected + v.tally.unreadable
            ),
            st,
        )),
    ]))
}

/// Every job's recent runs, newest first.
fn recent_runs(f: &mut Frame, area: Rect, s: &AppState) {
    let t = &s.theme;
    let mut runs: Vec<(&str, &crate::engine::snapshot::JobRun)> = s
        .snap
        .jobs
        .iter()
        .flat_map(|j| j.history.iter().map(move |r| (j.kind.title(), r)))
        .collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.1.started));
    let rows: Vec<Row> = runs
        .iter()
        .take(area.height.saturating_sub(2) as usize)
        .map(|(name, r)| {
            let took = r.finished.map_or("running".to_string(), |e| {
                crate::tui::state::human_duration(e - r.started, "")
            });
            let st = if !r.ok {
                t.bad
            } else if r.warning {
                t.warn
            } else {
                t.base
            };
            Row::new(vec![
                ratatui::widgets::Cell::from(Span::styled(s.clock(r.started), t.dim)),
                ratatui::widgets::Cell::from(*name),
                ratatui::widgets::Cell::from(Span::styled(run_mark(r), st)),
                ratatui::widgets::Cell::from(Span::styled(took, t.dim)),
                ratatui::widgets::Cell::from(Span::styled(r.summary.to_string(), st)),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(8),
        Constraint::Length(17),
        Constraint::Length(1),
        Constraint::Length(8),
        Constraint::Min(10),
    ];
    f.render_widget(
        Table::new(rows, widths).block(block("Recent runs", s)),
        area,
    );
}

/// A run's mark: done, done with a warning, failed.
fn run_mark(r: &crate::engine::snapshot::JobRun) -> &'static str {
    match (r.ok, r.warning) {
        (false, _) => "✖",
        (true, true) => "⚠",
        (true, false) => "✓",
    }
}

/// The plan's counts in the longest wording that fits `width` cells, so a
/// number is never cut: "568 items: 568 pending, 0 approved", then shorter
/// words, then the numbers alone.
pub fn plan_counts(items: usize, pending: usize, approved: usize, width: usize) -> String {
    [
        format!("{items} items: {pending} pending, {approved} approved"),
        format!("{items} items: {pending} pending, {approved} appr."),
        format!("{items}: {pending} pending, {approved} appr."),
        format!("{items}: {pending} pend. {approved} appr."),
        format!("{items}/{pending}/{approved}"),
    ]
    .into_iter()
    .find(|t| t.chars().count() <= width)
    .unwrap_or_else(|| format!("{items}/{pending}/{approved}"))
}

#[cfg(test)]
mod plan_count_tests {
    use super::plan_counts;

    #[test]
    fn numbers_are_never_cut() {
        assert_eq!(plan_counts(6, 4, 1, 31), "6 items: 4 pending, 1 approved");
        for width in 10..40 {
            let t = plan_counts(568, 568, 0, width);
            assert!(t.chars().count() <= width || width < 11, "{width}: {t}");
            assert!(t.contains("568") && t.contains('0'), "{t}");
        }
        assert_eq!(
            plan_counts(568, 568, 0, 31),
            "568 items: 568 pending, 0 appr."
        );
        assert_eq!(plan_counts(568, 568, 0, 25), "568: 568 pending, 0 appr.");
    }
}
