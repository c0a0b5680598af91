//! One frame of the console at 160x48: the Employees pane with 100,000
//! employees on each side, and the Bookings pane with a full feed. The
//! budget is 2 ms a frame. Also the console's cleaning of a new snapshot.

use std::hint::black_box;
use std::sync::Arc;

use astrow_pac::tui::action::Action;
use astrow_pac::tui::safe_text::SafeSnapshot;
use astrow_pac::tui::state::Pane;
use astrow_pac::tui::testkit::{snapshot_with, state};
use astrow_pac::tui::update::update;
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn frame(c: &mut Criterion, name: &str, pane: Pane, employees: usize, feed: usize) {
    let mut s = state(snapshot_with(employees, feed, false), 160, 48, true);
    update(&mut s, Action::GoTo(pane));
    // Somewhere in the middle, as an administrator would be.
    for _ in 0..3 {
        update(&mut s, Action::PageDown);
    }
    let mut term = match Terminal::new(TestBackend::new(160, 48)) {
        Ok(t) => t,
        Err(e) => match e {},
    };
    c.bench_function(name, |b| {
        b.iter(|| {
            let _ = term.draw(|f| astrow_pac::tui::view::draw(f, black_box(&s)));
        })
    });
}

/// The console's one conversion of a new snapshot (`SafeSnapshot::next`):
/// when the employees changed (every row scanned), and when only the small
/// parts changed (the large sections reused).
fn safe_snapshot(c: &mut Criterion) {
    let raw = Arc::new(snapshot_with(100_000, 5_000, false));
    c.bench_function("safe_snapshot_new_employees_100k", |b| {
        b.iter(|| SafeSnapshot::new(black_box(raw.clone())))
    });
    let safe = SafeSnapshot::new(raw.clone());
    let mut next = (*raw).clone();
    next.version += 1;
    let next = Arc::new(next);
    c.bench_function("safe_snapshot_next_unchanged_sections", |b| {
        b.iter(|| safe.next(black_box(next.clone())))
    });
}

fn benches(c: &mut Criterion) {
    frame(c, "employees_100k_160x48", Pane::Employees, 100_000, 10);
    frame(c, "bookings_full_feed_160x48", Pane::Bookings, 50, 5_000);
    safe_snapshot(c);
}

criterion_group!(render, benches);
criterion_main!(render);
