//! Each pane as drawn, at 80x24 and 160x48, and with the no-colour theme
//! (whose snapshots carry the cell styles: meaning must survive in
//! modifiers and markers alone).

use astrow_pac::engine::snapshot::Snapshot;
use astrow_pac::tui::settings_form::fields_for;
use astrow_pac::tui::testkit::{Harness, snapshot, snapshot_with, state};

const PANES: [(&str, &str); 7] = [
    ("1", "overview"),
    ("2", "employees"),
    ("3", "changes"),
    ("4", "definitions"),
    ("5", "bookings"),
    ("6", "settings"),
    ("7", "log"),
];

fn harness(snap: Snapshot, w: u16, h: u16, colour: bool) -> Harness {
    let mut st = state(snap, w, h, colour);
    st.settings.fields = fields_for(&astrow_pac::config::Settings::default(), &["R-0011".into()]);
    astrow_pac::tui::settings_form::validate(&mut st.settings, None);
    Harness::with_state(st, w, h)
}

#[test]
fn panes_at_80x24() {
    for (key, name) in PANES {
        let mut h = harness(snapshot(), 80, 24, true);
        h.press(key);
        insta::assert_snapshot!(format!("{name}_80x24"), h.text());
    }
}

#[test]
fn panes_at_160x48() {
    for (key, name) in PANES {
        let mut h = harness(snapshot(), 160, 48, true);
        h.press(key);
        insta::assert_snapshot!(format!("{name}_160x48"), h.text());
    }
}

/// Cells with a modifier, as runs: `y x..x MODIFIERS`, so a snapshot shows
/// where the reverse video, bold and underline fall.
fn modifier_runs(buf: &ratatui::buffer::Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut x = 0;
        while x < buf.area.width {
            let m = buf[(x, y)].style().add_modifier;
            let start = x;
            while x < buf.area.width && buf[(x, y)].style().add_modifier == m {
                x += 1;
            }
            if !m.is_empty() {
                out.push_str(&format!("{y:>2} {start:>3}..{:<3} {m:?}\n", x - 1));
            }
        }
    }
    out
}

#[test]
fn panes_without_colour() {
    for (key, name) in PANES {
        let mut h = harness(snapshot_with(40, 30, true), 80, 24, false);
        h.press(key);
        let buf = h.draw().clone();
        for cell in buf.content() {
            let st = cell.style();
            assert!(
                matches!(st.fg, None | Some(ratatui::style::Color::Reset)),
                "{name}: colour {st:?}"
            );
            assert!(
                matches!(st.bg, None | Some(ratatui::style::Color::Reset)),
                "{name}: colour {st:?}"
            );
        }
        let text = astrow_pac::tui::testkit::lines(&buf).join("\n");
        insta::assert_snapshot!(
            format!("{name}_no_colour"),
            format!("{text}\n\n{}", modifier_runs(&buf))
        );
    }
}

#[test]
fn special_states() {
    let mut h = harness(Snapshot::default(), 80, 24, true);
    insta::assert_snapshot!("empty_engine_overview", h.text());
    h.press("3");
    insta::assert_snapshot!("empty_engine_changes", h.text());

    let mut h = harness(snapshot_with(40, 30, true), 80, 24, true);
    h.press("3x");
    insta::assert_snapshot!("apply_dialog_held_80x24", h.text());

    let mut h = harness(snapshot(), 80, 24, true);
    h.press("?");
    insta::assert_snapshot!("help_80x24", h.text());

    let mut h = harness(snapshot(), 80, 24, true);
    h.press(":sync");
    insta::assert_snapshot!("palette_80x24", h.text());

    let mut long = snapshot();
    let mut rows = (*long.employees).clone();
    if let Some(p) = rows[0].pac.as_mut() {
        let mut e = p.to_employee();
        e.first_name = "Maximiliaan-Alexander Gerardus".into();
        e.last_name = "Van den Bossche-Vandersteenhoven".into();
        *p = astrow_pac::engine::snapshot::PacRecord::from(&e);
    }
    long.employees = std::sync::Arc::new(rows);
    let mut h = harness(long, 80, 24, true);
    h.press("2");
    insta::assert_snapshot!("long_names_80x24", h.text());

    let mut st = state(snapshot(), 80, 24, true);
    st.settings.fields = fields_for(&astrow_pac::config::Settings::default(), &[]);
    astrow_pac::tui::settings_form::validate(&mut st.settings, None);
    st.settings.first_run = true;
    st.pane = astrow_pac::tui::state::Pane::Settings;
    let mut h = Harness::with_state(st, 80, 24);
    insta::assert_snapshot!("first_run_80x24", h.text());
}

/// A definitions sync that refused PAC's empty reader list shows as a
/// warning in the Overview's jobs, never as a plain ✓.
#[test]
fn a_refused_definitions_sync_is_a_warning_in_the_overview() {
    use astrow_pac::engine::snapshot::{JobKind, JobState};
    let mut snap = snapshot();
    let job = snap
        .jobs
        .iter_mut()
        .find(|j| j.kind == JobKind::Definitions)
        .expect("the definitions job");
    job.state = JobState::Warning;
    if let Some(run) = job.last_run.as_mut() {
        run.warning = true;
        run.summary = "refused: PAC listed no reader: the mirror's 8 readers are kept".into();
    }
    let mut h = harness(snap, 160, 48, true);
    h.press("1");
    let text = h.text();
    let row = text
        .lines()
        .find(|l| l.contains("refused: PAC listed no reader"))
        .unwrap_or_else(|| panic!("no definitions row:\n{text}"));
    // The state column and the last run's mark.
    assert!(row.contains("⚠ warning"), "{row}");
    assert_eq!(row.matches('⚠').count(), 2, "{row}");
    assert!(!row.contains('✓'), "{row}");
}

/// Issue 13: at 80 columns the Overview cut "568 pending, 0 appro...";
/// the counts now shorten their words, never their numbers.
#[test]
fn overview_at_80_columns_keeps_large_plan_counts_whole() {
    use astrow_pac::engine::snapshot::ItemState;
    let mut snap = snapshot();
    let Some(plan) = snap.plan.clone() else {
        panic!("the test snapshot has a plan")
    };
    let mut plan = (*plan).clone();
    let item = plan.items[0].clone();
    plan.items = (0..568)
        .map(|i| {
            let mut it = item.clone();
            it.id = format!("item-{i}").into();
            it.state = ItemState::Pending;
            it
        })
        .collect();
    snap.plan = Some(std::sync::Arc::new(plan));
    let mut h = harness(snap, 80, 24, true);
    h.press("1");
    let text = h.text();
    assert!(text.contains("568 items: 568 pending, 0 appr."), "{text}");
    insta::assert_snapshot!("overview_large_plan_80x24", text);
}

/// Issue 13: with the mirror already matching PAC the Definitions pane said
/// "The next definitions sync will: +8 added" (what the last run wrote). It
/// says the next sync will do nothing, and when the last one ran.
#[test]
fn definitions_say_what_the_next_sync_will_do_and_when_the_last_ran() {
    use astrow_pac::engine::snapshot::JobKind;
    let mut snap = snapshot();
    let mut defs = (*snap.definitions).clone();
    defs.astrow_groups = defs.pac_groups.clone();
    defs.astrow_readers = defs.pac_readers.clone();
    defs.pending.clear();
    snap.definitions = std::sync::Arc::new(defs);
    if let Some(run) = snap
        .jobs
        .iter_mut()
        .find(|j| j.kind == JobKind::Definitions)
        .and_then(|j| j.last_run.as_mut())
    {
        run.summary = "mirrored into Astrow: access groups +4 added, ~0 changed, -0 removed".into();
    }
    for (w, h, name) in [(80, 24, "80x24"), (200, 50, "200x50")] {
        let mut hs = harness(snap.clone(), w, h, true);
        hs.press("4");
        let text = hs.text();
        assert!(
            text.contains("The next definitions sync will: nothing, Astrow's mirror matches PAC"),
            "{text}"
        );
        assert!(
            text.contains("Last sync 1m 30s ago: mirrored into Astrow: access groups +4 added")
                && text.contains("-0 removed · next in 58m 30s"),
            "{text}"
        );
        assert!(!text.contains("· access groups +"), "{text}");
        insta::assert_snapshot!(format!("definitions_mirrored_{name}"), text);
    }
}

/// Issue 13: access groups by name in the list (abbreviated when narrow),
/// with their ids in the detail.
#[test]
fn employees_show_access_groups_by_name_and_ids_in_the_detail() {
    for (w, h, name) in [(80, 24, "80x24"), (200, 50, "200x50")] {
        let mut hs = harness(snapshot(), w, h, true);
        hs.press("2d");
        let text = hs.text();
        assert!(
            text.contains("groups All staff (1), Warehouse (2)"),
            "{text}"
        );
        assert!(!text.contains(" 1,2 "), "{text}");
        insta::assert_snapshot!(format!("employees_group_names_{name}"), text);
    }
}

/// The first frames before the engine's first employee sync has ended: the
/// header and the panes it fills say "loading", not "no employees".
#[test]
fn loading_before_the_first_employee_sync_at_80x24() {
    let mut snap = snapshot_with(0, 0, false);
    snap.plan = None;
    for job in &mut snap.jobs {
        job.last_run = None;
        job.history.clear();
    }
    for (key, name) in [("1", "overview"), ("2", "employees"), ("3", "changes")] {
        let mut h = harness(snap.clone(), 80, 24, true);
        h.press(key);
        let text = h.text();
        assert!(text.contains("pending loading"), "the header says loading");
        insta::assert_snapshot!(format!("loading_{name}_80x24"), text);
    }
}
