//! The console driven by keys through the real keymap: press, update, draw,
//! read the screen. Plus cell styles for the cues that matter, escape
//! sequences from outside, and a headless run of the app loop.

use std::sync::Arc;
use std::time::Duration;

use astrow_pac::engine::command::Command;
use astrow_pac::engine::handle::channels;
use astrow_pac::engine::plan::{HeldRemoval, RemovalDecision, RemovalKey, RemovalState};
use astrow_pac::engine::snapshot::{HealthState, ItemState, JobKind, Snapshot};
use astrow_pac::tui::action::Effect;
use astrow_pac::tui::settings_form::fields_for;
use astrow_pac::tui::testkit::{Harness, keys, snapshot, snapshot_with, state};
use astrow_pac::tui::{LoopIo, run_loop};
use crossterm::event::Event;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

fn engine(fx: &[Effect]) -> Vec<Command> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Engine(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

/// Where `needle` starts on screen (by cells).
fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    let want: Vec<String> = needle.chars().map(|c| c.to_string()).collect();
    for y in 0..buf.area.height {
        let row: Vec<(u16, &str)> = (0..buf.area.width)
            .map(|x| (x, buf[(x, y)].symbol()))
            .filter(|(_, s)| !s.is_empty())
            .collect();
        for start in 0..row.len() {
            if row.len() - start >= want.len()
                && want.iter().enumerate().all(|(i, w)| row[start + i].1 == w)
            {
                return Some((row[start].0, y));
            }
        }
    }
    None
}

fn no_colour(c: Option<Color>) -> bool {
    matches!(c, None | Some(Color::Reset))
}

fn has(h: &mut Harness, text: &str) -> bool {
    h.text().contains(text)
}

#[test]
fn overview_keys() {
    let mut h = Harness::new(snapshot(), 120, 40);
    assert!(has(&mut h, "Systems") && has(&mut h, "Jobs"));
    assert_eq!(
        engine(&h.press("s")),
        vec![Command::RunNow(JobKind::Employees)]
    );
    assert_eq!(
        engine(&h.press("S")),
        vec![Command::RunNow(JobKind::Definitions)]
    );
    assert_eq!(engine(&h.press("p")), vec![Command::Pause]);
    assert!(has(&mut h, "pausing the jobs"));
    h.press("<tab>");
    assert!(has(&mut h, "Astrow name"), "tab goes to Employees");
    h.press("<s-tab>");
    assert!(has(&mut h, "Systems"));
}

/// The booking import runs as long as the engine does: its row of the jobs
/// table says so and what it has done, not "never" and nothing.
#[test]
fn the_running_booking_import_shows_what_it_has_done() {
    let mut snap = snapshot();
    let b = Arc::make_mut(&mut snap.bookings);
    b.delivered = 7;
    b.pending = 3;
    b.rejected = 1;
    let mut h = Harness::new(snap.clone(), 120, 40);
    let row = h
        .screen()
        .into_iter()
        .find(|l| l.contains("Booking import"))
        .unwrap_or_default();
    assert!(row.contains("running"), "{row}");
    assert!(row.contains("continuous"), "{row}");
    assert!(row.contains("7 sent, 3 waiting, 1 rejected"), "{row}");
    assert!(!row.contains("never"), "{row}");

    Arc::make_mut(&mut snap.bookings).reading_paused = true;
    h.set_snapshot(snap);
    let row = h
        .screen()
        .into_iter()
        .find(|l| l.contains("Booking import"))
        .unwrap_or_default();
    assert!(row.contains("reading paused"), "{row}");
}

#[test]
fn employees_keys_filter_and_scroll() {
    let mut h = Harness::new(snapshot(), 160, 48);
    h.press("2");
    assert!(has(&mut h, "row 1 of 40"));
    h.press("jjj");
    assert!(has(&mut h, "row 4 of 40"));
    h.press("G");
    assert!(has(&mut h, "row 40 of 40"));
    h.press("g");
    assert!(has(&mut h, "row 1 of 40"));
    h.press("<pgdn>");
    assert!(!has(&mut h, "row 1 of 40"));
    h.press("/daan jac");
    let screen = h.text();
    assert!(
        screen.contains("Daan Jacobs") && screen.contains("/ daan jac"),
        "{screen}"
    );
    assert!(!screen.contains("Anna Peeters"));
    h.press("<enter>");
    assert!(has(&mut h, "filter: daan jac"));
    h.press("<esc>");
    assert!(has(&mut h, "Anna Peeters"));
    h.press("/00ff00ff<enter>");
    assert!(
        has(&mut h, "Joris De Smet"),
        "a badge number finds its employee"
    );
}

#[test]
fn employees_stack_below_120_columns() {
    let mut h = Harness::new(snapshot(), 100, 30);
    h.press("2");
    let screen = h.text();
    assert!(
        screen.contains("PAC    1000") && screen.contains("Astrow 5000"),
        "{screen}"
    );
}

#[test]
fn changes_keys_approve_select_and_apply() {
    let mut h = Harness::new(snapshot(), 120, 40);
    h.press("3");
    let screen = h.text();
    assert!(
        screen.contains("create (1)")
            && screen.contains("update (2)")
            && screen.contains("remove badges (2)"),
        "{screen}"
    );
    assert!(
        screen.contains("new in PAC: created in Astrow"),
        "the reason of the selected item"
    );
    assert_eq!(
        engine(&h.press("a")),
        vec![Command::Approve(vec!["i1".into()])]
    );
    assert!(has(&mut h, "Jacobs-Old"), "the next item's before value");
    assert_eq!(
        engine(&h.press("r")),
        vec![Command::Reject(vec!["i2".into()])]
    );
    h.press("v");
    assert!(has(&mut h, "SELECTING"));
    h.press("k");
    assert_eq!(
        engine(&h.press("a")),
        vec![Command::Approve(vec!["i2".into()])]
    );
    assert_eq!(engine(&h.press("A")).len(), 1);
    assert_eq!(engine(&h.press("R")).len(), 1);
}

/// A failed item shows its attempts and last error, and a person approves
/// it again with the same key as a pending one.
#[test]
fn a_failed_item_is_shown_with_its_attempts_and_approved_again() {
    let mut snap = snapshot();
    let plan = snap.plan.as_mut().map(Arc::make_mut).expect("a plan");
    let first = &mut plan.items[0];
    first.state = ItemState::Failed;
    first.attempts = 3;
    first.failure_kind = Some(astrow_pac::engine::item_error::FailureKind::LicenceMissing);
    first.message = Some("Astrow: the Employees import licence is missing".into());
    let id = first.id.clone();
    let mut h = Harness::new(snap, 120, 40);
    h.press("3");
    let screen = h.text();
    assert!(screen.contains("FAILED"), "{screen}");
    assert!(
        screen.contains("the Employees import licence is missing"),
        "{screen}"
    );
    assert!(
        screen.contains("licence missing: failed 3 times"),
        "{screen}"
    );
    assert_eq!(
        engine(&h.press("a")),
        vec![Command::Approve(vec![id.to_string()])]
    );
}

/// Pane 4: the removals from the mirror the guard holds are listed and
/// decided one by one with pane 3's keys: a, r, v (select), A (all), x
/// (apply); with nothing held, the keys send nothing.
#[test]
fn held_mirror_removals_are_decided_one_by_one_in_pane_4() {
    let mut h = Harness::new(snapshot(), 120, 40);
    h.press("4");
    assert!(engine(&h.press("A")).is_empty(), "nothing held");
    assert!(engine(&h.press("x")).is_empty(), "nothing held");
    let mut snap = snapshot();
    let held = "4 removals from Astrow's mirror (0 access groups, 4 readers) of 12 mirrored entries pass the deletion guard's percentage";
    let d = Arc::make_mut(&mut snap.definitions);
    d.held = Some(held.into());
    d.pending.insert(0, held.into());
    d.removals = (6..=9)
        .map(|i| HeldRemoval {
            key: RemovalKey::reader(&format!("R-{i}")),
            name: format!("Door {i}"),
            state: RemovalState::Held,
        })
        .collect();
    h.set_snapshot(snap.clone());
    assert!(
        has(&mut h, "4 removals from Astrow's mirror"),
        "{}",
        h.text()
    );
    assert!(has(&mut h, "held: waiting for you"), "{}", h.text());
    assert!(has(&mut h, "Door 9"), "{}", h.text());
    // a and r act on the list of removals: move there first (l, l).
    assert!(engine(&h.press("a")).is_empty(), "readers focused");
    h.press("ll");
    let decide = |keys: &[&str], decision| {
        vec![Command::DecideMirrorRemovals {
            keys: keys.iter().map(|k| k.to_string()).collect(),
            decision,
        }]
    };
    assert_eq!(
        engine(&h.press("a")),
        decide(&["reader R-6"], RemovalDecision::Approved)
    );
    // The cursor stepped down: r rejects the next one.
    assert_eq!(
        engine(&h.press("r")),
        decide(&["reader R-7"], RemovalDecision::Rejected)
    );
    // v selects a range: R-8 and R-9 approved together.
    assert!(engine(&h.press("v")).is_empty());
    assert_eq!(
        engine(&h.press("ja")),
        decide(&["reader R-8", "reader R-9"], RemovalDecision::Approved)
    );
    // x with nothing approved in the snapshot: a warning, no command.
    assert!(engine(&h.press("x")).is_empty());
    // The engine's answer: R-6 approved, R-7 rejected.
    let d = Arc::make_mut(&mut snap.definitions);
    d.removals[0].state = RemovalState::Approved;
    d.removals[1].state = RemovalState::Rejected;
    h.set_snapshot(snap);
    assert!(has(&mut h, "approved: x writes it"), "{}", h.text());
    assert!(has(&mut h, "rejected: stays mirrored"), "{}", h.text());
    // A approves every one not approved yet, the rejected one too.
    assert_eq!(
        engine(&h.press("A")),
        decide(
            &["reader R-7", "reader R-8", "reader R-9"],
            RemovalDecision::Approved
        )
    );
    assert_eq!(
        engine(&h.press("x")),
        vec![Command::RunNow(JobKind::Definitions)]
    );
}

#[test]
fn enter_on_the_apply_dialog_without_moving_applies_nothing() {
    let mut h = Harness::new(snapshot(), 120, 40);
    h.press("3x");
    let screen = h.text();
    assert!(
        screen.contains("Write 1 approved change to Astrow?"),
        "{screen}"
    );
    assert!(screen.contains("▸ No"));
    let fx = h.press("<enter>");
    assert!(fx.is_empty(), "{fx:?}");
    assert!(!has(&mut h, "Write 1 approved"), "the dialog closed");
    // Arrows do not wrap past the safe answer: Left from "No" stays on it.
    h.press("x<left>");
    assert!(h.text().contains("▸ No"), "{}", h.text());
    assert!(
        h.press("<enter>").is_empty(),
        "Left from No then Enter applies nothing"
    );
    h.press("x<right><right>");
    assert!(!h.text().contains("▸ No"), "Right twice stays on Apply");
    h.press("<left><left>");
    assert!(h.text().contains("▸ No"));
    assert!(engine(&h.effects).is_empty());
    h.press("<esc>x<right><enter>");
    assert_eq!(
        engine(&h.effects),
        vec![Command::Apply {
            plan_id: "plan-42".into(),
            allow_held: false
        }]
    );
}

#[test]
fn definitions_keys_and_open_door() {
    let mut h = Harness::new(snapshot(), 120, 40);
    h.press("4");
    let screen = h.text();
    assert!(
        screen.contains("Access groups")
            && screen.contains("≠Offices")
            && screen.contains("OFFLINE"),
        "{screen}"
    );
    assert!(screen.contains("create reader R-0013"));
    assert!(screen.contains("-Old contractors"), "{screen}");
    h.press("ljo");
    assert!(has(&mut h, "Open the door of reader \"Warehouse gate\""));
    assert!(h.press("n").is_empty());
    assert_eq!(
        engine(&h.press("oy")),
        vec![Command::OpenDoor { reader_id: 12 }]
    );
}

#[test]
fn bookings_keys_follow_filter_roll_call() {
    let mut h = Harness::new(snapshot(), 120, 40);
    h.press("5");
    let screen = h.text();
    assert!(
        screen.contains("following")
            && screen.contains("denied: unknown badge")
            && screen.contains("rejected: no contract"),
        "{screen}"
    );
    assert!(screen.contains("8.5/min") && screen.contains("lag 850ms"));
    h.press("f");
    assert!(has(&mut h, "FROZEN"));
    h.press("f/rejected<enter>");
    let screen = h.text();
    assert!(
        screen.contains("filter: rejected") && !screen.contains("processed  "),
        "{screen}"
    );
    h.press("<esc>c");
    assert!(has(&mut h, "No roll call is running"));
    h.press(":rollcall start<enter>");
    assert_eq!(engine(&h.effects), vec![Command::StartRollCall]);
}

/// A store of another site: a banner on every pane says nothing is synced
/// and names the fix; the palette offers the re-bind, asks first (No
/// highlighted, the old site's waiting bookings counted) and sends the
/// command only on Yes.
#[test]
fn the_palette_rebinds_the_store_after_asking() {
    let mut snap = snapshot();
    snap.site_refusal = Some(
        "no plan: this store was made for PAC certificate sha256:ab12, organization 1 and Astrow https://a"
            .into(),
    );
    snap.old_site_pending = 17;
    let mut h = Harness::new(snapshot(), 120, 40);
    let fx = h.press(":rebind store<enter>");
    assert!(engine(&fx).is_empty(), "{fx:?}");
    assert!(
        !has(&mut h, "Re-bind the store?"),
        "the same site: nothing to ask"
    );
    h.set_snapshot(snap);
    for pane in ["1", "3", "5"] {
        h.press(pane);
        assert!(has(&mut h, "OTHER SITE"), "{}", h.text());
        assert!(has(&mut h, "Nothing is planned, mirrored or booked"));
        assert!(has(&mut h, "choose \"rebind store\""), "{}", h.text());
        assert!(has(&mut h, "made for PAC certificate sha256:ab12"));
    }
    let fx = h.press(":rebind store<enter>");
    assert!(engine(&fx).is_empty(), "{fx:?}");
    assert!(has(&mut h, "Re-bind the store?"), "{}", h.text());
    assert!(has(&mut h, "links, plans and suppressions are forgotten"));
    assert!(
        has(&mut h, "its 17 bookings still to be sent are abandoned"),
        "{}",
        h.text()
    );
    assert!(engine(&h.press("<enter>")).is_empty(), "No by default");
    h.press(":rebind store<enter><right><enter>");
    assert_eq!(engine(&h.effects), vec![Command::RebindStore]);
}

#[test]
fn settings_keys_edit_and_guide() {
    let mut st = state(snapshot(), 120, 40, true);
    st.settings.fields = fields_for(&astrow_pac::config::Settings::default(), &["R-0011".into()]);
    st.settings.first_run = true;
    let mut h = Harness::with_state(st, 120, 40);
    h.press("6");
    let screen = h.text();
    assert!(
        screen.contains("First run") && screen.contains("astrow-pac demo"),
        "{screen}"
    );
    assert!(screen.contains("pac.address"), "{screen}");
    h.press("G");
    assert!(has(&mut h, "readers.\"R-0011\".roll_call"));
    h.press("g");
    h.press("<enter>pac.site<enter>");
    assert!(has(&mut h, "pac.site"));
    h.press("jjjjjjj<enter>s3cret<enter>");
    let screen = h.text();
    assert!(
        screen.contains("astrow.password") && !screen.contains("s3cret") && screen.contains("••••"),
        "{screen}"
    );
    h.press("k<enter>");
    assert!(has(&mut h, "Enter types a new one") || has(&mut h, "Enter edits"));
    h.press("<esc>");
    assert_eq!(h.press("t"), vec![Effect::TestConnection]);
    h.press("u");
    assert!(has(&mut h, "Discard edits?"));
    h.press("y");
    assert!(!has(&mut h, "pac.site"));
}

#[test]
fn settings_are_validated_as_typed() {
    let mut st = state(snapshot(), 120, 40, true);
    st.settings.fields = fields_for(&astrow_pac::config::Settings::default(), &[]);
    let mut h = Harness::with_state(st, 120, 40);
    h.press("6j<enter><c-u>99999");
    let screen = h.text();
    assert!(
        screen.contains("✗ expected a whole number from 1 to 65535"),
        "{screen}"
    );
}

#[test]
fn log_keys() {
    let log = astrow_pac::tui::LogBuffer::new(100);
    log.push(
        astrow_pac::tui::logbuf::LogLevel::Warn,
        "astrow_pac::engine",
        "PAC slow: 2.1s".into(),
    );
    log.push(
        astrow_pac::tui::logbuf::LogLevel::Debug,
        "astrow_pac::pac",
        "GET /employees".into(),
    );
    let mut h = Harness::new(snapshot(), 120, 40);
    astrow_pac::tui::derive::push_log(&mut h.state, log.since(0));
    h.press("7");
    assert!(has(&mut h, "PAC slow") && !has(&mut h, "GET /employees"));
    h.press("ll");
    assert!(has(&mut h, "GET /employees"), "{}", h.text());
    h.press("/slow<enter>");
    assert!(!has(&mut h, "GET /employees"));
}

#[test]
fn help_lists_the_live_keymap_and_palette_lists_commands() {
    let mut h = Harness::new(snapshot(), 120, 40);
    h.press("3?");
    let screen = h.text();
    assert!(
        screen.contains("Keys") && screen.contains("approve all") && screen.contains("A "),
        "{screen}"
    );
    h.press("<esc>:");
    let screen = h.text();
    assert!(
        screen.contains("sync employees") && screen.contains("Command"),
        "{screen}"
    );
    h.press("<esc>");
    assert!(!has(&mut h, "Command "));
}

#[test]
fn overridden_keys_work_and_show_in_the_bar() {
    let mut o = std::collections::BTreeMap::new();
    o.insert("approve".to_string(), "y".to_string());
    let (km, problems) = astrow_pac::tui::keymap::Keymap::default().with_overrides(&o);
    assert!(problems.is_empty());
    let mut st = state(snapshot(), 120, 40, true);
    st.keymap = Arc::new(km);
    let mut h = Harness::with_state(st, 120, 40);
    h.press("3");
    assert!(has(&mut h, "y approve"));
    assert!(h.press("a").is_empty());
    assert_eq!(engine(&h.press("y")).len(), 1);
}

#[test]
fn q_quits_and_ctrl_c_always_quits() {
    let mut h = Harness::new(snapshot(), 120, 40);
    assert_eq!(h.press("q"), vec![Effect::Quit]);
    let mut h = Harness::new(snapshot(), 120, 40);
    h.press("2/typing");
    assert_eq!(h.press("<c-c>"), vec![Effect::Quit]);
}

#[test]
fn a_small_terminal_says_how_big_it_must_be() {
    let mut h = Harness::new(snapshot(), 70, 20);
    let screen = h.text();
    assert!(
        screen.contains("at least 80 x 24") && screen.contains("70 x 20"),
        "{screen}"
    );
}

#[test]
fn read_only_shows_ro_and_refuses() {
    let mut st = state(snapshot(), 120, 40, true);
    st.flags.read_only = true;
    let mut h = Harness::with_state(st, 120, 40);
    assert!(h.screen()[0].ends_with(" RO"), "{}", h.text());
    assert!(h.press("3a").is_empty());
    assert!(has(&mut h, "read-only: approving is refused"));
}

// ---- cell styles for the cues that matter ----

#[test]
fn selected_row_is_highlighted_in_both_themes() {
    for colour in [true, false] {
        let mut h = Harness::with_state(state(snapshot(), 160, 48, colour), 160, 48);
        h.press("2j");
        let buf = h.draw().clone();
        let (x, y) = find(&buf, "Bram Janssens").unwrap_or_else(|| panic!("row"));
        let style = buf[(x, y)].style();
        if colour {
            assert_eq!(style.bg, Some(Color::Blue));
        } else {
            assert!(style.add_modifier.contains(Modifier::REVERSED));
            assert!(no_colour(style.bg));
        }
        let (x, y) = find(&buf, "Chloé Maes").unwrap_or_else(|| panic!("row"));
        assert!(
            !buf[(x, y)]
                .style()
                .add_modifier
                .contains(Modifier::REVERSED)
        );
    }
}

#[test]
fn differences_carry_a_symbol_and_a_style() {
    for colour in [true, false] {
        let mut h = Harness::with_state(state(snapshot(), 160, 48, colour), 160, 48);
        h.press("2");
        let buf = h.draw().clone();
        let (x, y) = find(&buf, "≠Daan Jacobs-Old").unwrap_or_else(|| panic!("diff"));
        let style = buf[(x, y)].style();
        assert!(style.add_modifier.contains(Modifier::BOLD));
        if colour {
            assert_eq!(style.fg, Some(Color::Yellow));
        } else {
            assert!(no_colour(style.fg));
        }
        assert!(find(&buf, "? —").is_some(), "unmanaged rows are marked");
        assert!(find(&buf, "! 1032").is_some(), "conflicts are marked");
    }
}

#[test]
fn a_held_plan_stands_out() {
    for colour in [true, false] {
        let mut h =
            Harness::with_state(state(snapshot_with(20, 5, true), 120, 40, colour), 120, 40);
        h.press("3");
        let buf = h.draw().clone();
        let (x, y) = find(&buf, "HELD").unwrap_or_else(|| panic!("held"));
        let style = buf[(x, y)].style();
        if colour {
            assert_eq!(style.bg, Some(Color::Yellow));
        } else {
            assert!(style.add_modifier.contains(Modifier::REVERSED));
        }
        assert!(
            h.text()
                .contains("by the deletion guard: 3 destructive items")
        );
    }
}

#[test]
fn a_down_system_stands_out() {
    for colour in [true, false] {
        let mut snap: Snapshot = snapshot();
        snap.health.astrow.state = HealthState::Down;
        snap.health.astrow.detail = Some("connection refused".into());
        let mut h = Harness::with_state(state(snap, 120, 40, colour), 120, 40);
        let buf = h.draw().clone();
        let (x, y) = find(&buf, "✖ DOWN").unwrap_or_else(|| panic!("down"));
        let style = buf[(x, y)].style();
        assert!(style.add_modifier.contains(Modifier::BOLD));
        if colour {
            assert_eq!(style.fg, Some(Color::LightRed));
        } else {
            assert!(style.add_modifier.contains(Modifier::UNDERLINED));
        }
        assert!(h.text().contains("connection refused"));
    }
}

// ---- text from outside ----

#[test]
fn escape_sequences_from_a_simulator_are_drawn_as_plain_text() {
    let evil = "\u{1b}[2J\u{1b}]0;pwned\u{7}Eve\u{1b}[31m Evil\u{9b}1m";
    let mut snap = snapshot();
    let mut rows = (*snap.employees).clone();
    if let Some(p) = rows[0].pac.as_mut() {
        let mut e = p.to_employee();
        e.first_name = evil.into();
        *p = astrow_pac::engine::snapshot::PacRecord::from(&e);
    }
    snap.employees = Arc::new(rows);
    let b = Arc::make_mut(&mut snap.bookings);
    if let Some(e) = b.feed.last_mut() {
        e.employee = Some(evil.into());
        e.reader = "Gate\u{1b}[1;1H\r\nB".into();
    }
    let mut plan = (*snap
        .plan
        .clone()
        .unwrap_or_else(|| Arc::new(astrow_pac::tui::testkit::plan(false))))
    .clone();
    plan.items[0].label = evil.into();
    snap.plan = Some(Arc::new(plan));
    let mut h = Harness::new(snap, 160, 48);
    for pane in ["2", "3", "5"] {
        h.press(pane);
        let buf = h.draw().clone();
        for cell in buf.content() {
            assert!(
                !cell.symbol().chars().any(|c| c.is_control()),
                "pane {pane}: control character in {:?}",
                cell.symbol()
            );
        }
        let text = h.text();
        assert!(text.contains("Eve Evil"), "pane {pane}: {text}");
        assert!(!text.contains("pwned") && !text.contains("[2J"));
    }
    assert!(h.text().contains("Gate  B"));
}

/// Every text of the snapshot (names, labels, reasons, serials, versions...)
/// made hostile: no pane draws a control character or the escape's payload.
/// A field or pane added later is covered without being named here.
#[test]
fn every_pane_draws_a_snapshot_whose_every_text_is_hostile() {
    const EVIL: (&str, &str) = ("\u{1b}]0;pwned\u{7}\u{202E}", "\u{1b}[2J\u{9b}1m\r\n");
    /// JSON pointers of every string in `v`.
    fn strings(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(_) => out.push(at),
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    strings(item, format!("{at}/{i}"), out);
                }
            }
            serde_json::Value::Object(map) => {
                for (k, item) in map {
                    let k = k.replace('~', "~0").replace('/', "~1");
                    strings(item, format!("{at}/{k}"), out);
                }
            }
            _ => {}
        }
    }
    let mut json = serde_json::to_value(snapshot_with(30, 30, true)).unwrap();
    let mut at = Vec::new();
    strings(&json, String::new(), &mut at);
    // Poison every string that is text (not an enum's name, a time or an id
    // of a fixed format): one that no longer reads is put back.
    let mut poisoned = 0;
    for p in &at {
        let Some(serde_json::Value::String(s)) = json.pointer_mut(p) else {
            continue;
        };
        let old = s.clone();
        *s = format!("{}{old}{}", EVIL.0, EVIL.1);
        if serde_json::from_value::<Snapshot>(json.clone()).is_ok() {
            poisoned += 1;
        } else if let Some(serde_json::Value::String(s)) = json.pointer_mut(p) {
            *s = old;
        }
    }
    assert!(poisoned > 100, "{poisoned} of {} strings", at.len());
    let snap: Snapshot = serde_json::from_value(json).expect("still a snapshot");
    let mut h = Harness::new(snap, 160, 48);
    for pane in ["1", "2", "3", "4", "5", "6", "7"] {
        h.press(pane);
        let buf = h.draw().clone();
        for cell in buf.content() {
            assert!(
                !cell.symbol().chars().any(|c| c.is_control()),
                "pane {pane}: control character in {:?}",
                cell.symbol()
            );
        }
        let screen = h.text();
        assert!(!screen.contains("pwned"), "pane {pane}: {screen}");
    }
}

#[test]
fn a_settings_file_with_escape_sequences_is_drawn_as_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("astrow-pac.toml");
    let text = "[pac]\naddress = \"pac\\u001b]0;pwned\\u0007.local\"\n\
                [readers.\"R-\\u001b]0;pwned\\u00071\"]\nbooking = false\n";
    std::fs::write(&path, text).unwrap();
    let mut h = Harness::new(snapshot(), 160, 48);
    astrow_pac::tui::settings_form::load_into(&mut h.state.settings, &path, &[]);
    assert!(
        h.state
            .settings
            .fields
            .iter()
            .any(|f| f.key.contains('\u{1b}')),
        "the file's serial is kept as written"
    );
    h.press("6");
    let buf = h.draw().clone();
    for cell in buf.content() {
        assert!(
            !cell.symbol().chars().any(|c| c.is_control()),
            "control character in {:?}",
            cell.symbol()
        );
    }
    let screen = h.text();
    assert!(!screen.contains("pwned"), "{screen}");
    assert!(screen.contains("readers.\"R-1\".booking"), "{screen}");
}

// ---- the app loop without a terminal ----

#[tokio::test]
async fn the_app_loop_runs_headless_on_keys_and_snapshots() {
    let (handle, mut eng) = channels();
    let _ = eng.snapshots.send(Arc::new(snapshot()));
    let st = state((**handle.snapshots.borrow()).clone(), 120, 40, true);
    let (keys_tx, keys_rx) = futures::channel::mpsc::unbounded::<std::io::Result<Event>>();
    let task = tokio::spawn(async move {
        let mut term = match Terminal::new(TestBackend::new(120, 40)) {
            Ok(t) => t,
            Err(e) => match e {},
        };
        let r = run_loop(&mut term, keys_rx, handle, st, LoopIo::default()).await;
        (term, r)
    });
    let send = |spec: &str| {
        for k in keys(spec) {
            let _ = keys_tx.unbounded_send(Ok(Event::Key(k)));
        }
    };

    send("3a");
    assert_eq!(
        next(&mut eng.commands).await,
        Some(Command::Approve(vec!["i1".into()]))
    );

    // The engine approves it and republishes; the dialog then counts 2.
    let mut snap = snapshot();
    let mut plan = (*snap
        .plan
        .clone()
        .unwrap_or_else(|| Arc::new(astrow_pac::tui::testkit::plan(false))))
    .clone();
    plan.items[0].state = ItemState::Approved;
    snap.plan = Some(Arc::new(plan));
    snap.version = 8;
    let _ = eng.snapshots.send(Arc::new(snap));
    tokio::time::sleep(Duration::from_millis(50)).await;

    send("x<enter>");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        eng.commands.try_recv().is_err(),
        "Enter on the default No sends nothing"
    );

    send("xy");
    assert_eq!(
        next(&mut eng.commands).await,
        Some(Command::Apply {
            plan_id: "plan-42".into(),
            allow_held: false
        })
    );

    let _ = eng.events.send(astrow_pac::engine::command::EngineEvent {
        time: astrow_pac::tui::testkit::t0(),
        level: astrow_pac::engine::command::EventLevel::Info,
        message: "apply finished: 2 applied".into(),
        answer: None,
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    send("s");
    assert_eq!(
        next(&mut eng.commands).await,
        Some(Command::RunNow(JobKind::Employees))
    );
    send("q");
    let (term, r) = match tokio::time::timeout(Duration::from_secs(5), task).await {
        Ok(Ok(v)) => v,
        other => panic!("the loop did not end: {other:?}"),
    };
    let st = match r {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    assert!(st.quit);
    assert!(
        st.log
            .lines
            .iter()
            .any(|l| l.message.contains("apply finished"))
    );
    let screen = astrow_pac::tui::testkit::lines(term.backend().buffer()).join("\n");
    assert!(screen.contains("Plan for Astrow"), "{screen}");
}

#[tokio::test]
async fn the_app_loop_notices_the_engine_stopping() {
    let (handle, eng) = channels();
    let st = state(snapshot(), 120, 40, true);
    let (keys_tx, keys_rx) = futures::channel::mpsc::unbounded::<std::io::Result<Event>>();
    let task = tokio::spawn(async move {
        let mut term = match Terminal::new(TestBackend::new(120, 40)) {
            Ok(t) => t,
            Err(e) => match e {},
        };
        run_loop(&mut term, keys_rx, handle, st, LoopIo::default())
            .await
            .map(|s| (term, s))
    });
    drop(eng);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = keys_tx.unbounded_send(Ok(Event::Key(keys("s")[0])));
    let _ = keys_tx.unbounded_send(Ok(Event::Key(keys("q")[0])));
    let (term, st) = match tokio::time::timeout(Duration::from_secs(5), task).await {
        Ok(Ok(Ok(v))) => v,
        _ => panic!("the loop did not end cleanly"),
    };
    assert!(st.engine_gone);
    let screen = astrow_pac::tui::testkit::lines(term.backend().buffer()).join("\n");
    assert!(screen.contains("ENGINE STOPPED"), "{screen}");
}

async fn next(
    rx: &mut tokio::sync::mpsc::Receiver<astrow_pac::engine::request::Request>,
) -> Option<Command> {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .ok()
        .flatten()
        .map(|r| r.command)
}

#[test]
fn apply_progress_and_results_stay_on_screen() {
    use astrow_pac::engine::snapshot::ApplyProgress;
    let mut snap = snapshot();
    let mut plan = (*snap
        .plan
        .clone()
        .unwrap_or_else(|| Arc::new(astrow_pac::tui::testkit::plan(false))))
    .clone();
    plan.items[0].state = ItemState::Applied;
    plan.items[1].state = ItemState::Failed;
    plan.items[1].message = Some("Astrow answered 409: employee number in use".into());
    plan.items[2].state = ItemState::Stale;
    plan.items[2].message = Some("changed in Astrow since planning: planned again".into());
    snap.plan = Some(Arc::new(plan));
    snap.apply = Some(Arc::new(ApplyProgress {
        plan_id: "plan-42".into(),
        running: true,
        total: 5,
        applied: 1,
        stale: 1,
        failed: 1,
        ..Default::default()
    }));
    let mut h = Harness::new(snap.clone(), 120, 40);
    h.press("3");
    let screen = h.text();
    assert!(
        screen.contains("applying 3/5: 1 applied, 1 stale, 1 failed"),
        "{screen}"
    );
    assert!(h.state.snap.apply.as_ref().is_some_and(|a| a.running));
    assert!(h.press("q").is_empty(), "q asks while an apply runs");
    assert!(has(&mut h, "Quit while applying?"));
    h.press("<esc>");
    // The engine finishes and drops the plan: what failed stays on screen.
    let mut done = snapshot();
    done.plan = None;
    done.apply = Some(Arc::new(ApplyProgress {
        plan_id: "plan-42".into(),
        running: false,
        total: 5,
        applied: 3,
        stale: 1,
        failed: 1,
        ..Default::default()
    }));
    h.set_snapshot(done);
    let screen = h.text();
    assert!(
        screen.contains("Last apply: 3 applied, 1 stale, 1 failed"),
        "{screen}"
    );
    assert!(
        screen.contains("employee number in use") && screen.contains("planned again"),
        "{screen}"
    );
}

#[test]
fn employee_details_open_on_d() {
    let mut h = Harness::new(snapshot(), 120, 40);
    h.press("2jjjd");
    let screen = h.text();
    assert!(
        screen.contains("Details") && screen.contains("differs in last_name"),
        "{screen}"
    );
    assert!(
        screen.contains("contract 2024-01-01 – open") && screen.contains("cycle STD"),
        "{screen}"
    );
    h.press("<esc>");
    assert!(!has(&mut h, "Details"));
}

/// A TestBackend that counts frames (one synchronized update per frame).
struct Counting {
    inner: TestBackend,
    frames: Arc<std::sync::atomic::AtomicUsize>,
}

impl ratatui::backend::Backend for Counting {
    type Error = std::convert::Infallible;
    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a ratatui::buffer::Cell)>,
    {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<ratatui::layout::Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<ratatui::layout::Position>>(
        &mut self,
        p: P,
    ) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(p)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }
    fn clear_region(&mut self, t: ratatui::backend::ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(t)
    }
    fn size(&self) -> Result<ratatui::layout::Size, Self::Error> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<ratatui::backend::WindowSize, Self::Error> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}

impl astrow_pac::tui::app::SyncUpdates for Counting {
    fn begin_sync(&mut self) -> std::io::Result<()> {
        self.frames
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn nothing_is_drawn_while_idle_and_bursts_are_batched() {
    use std::sync::atomic::Ordering;
    let (handle, eng) = channels();
    let st = state(snapshot(), 120, 40, true);
    let frames = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let backend = Counting {
        inner: TestBackend::new(120, 40),
        frames: frames.clone(),
    };
    let (keys_tx, keys_rx) = futures::channel::mpsc::unbounded::<std::io::Result<Event>>();
    let task = tokio::spawn(async move {
        let mut term = match Terminal::new(backend) {
            Ok(t) => t,
            Err(e) => match e {},
        };
        run_loop(&mut term, keys_rx, handle, st, LoopIo::default())
            .await
            .map(|_| ())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        frames.load(Ordering::SeqCst),
        1,
        "one first frame, then nothing while idle"
    );
    for k in keys(&"j".repeat(200)) {
        let _ = keys_tx.unbounded_send(Ok(Event::Key(k)));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after_burst = frames.load(Ordering::SeqCst);
    assert!(
        (2..=15).contains(&after_burst),
        "200 keys drew {after_burst} frames"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        frames.load(Ordering::SeqCst),
        after_burst,
        "idle again: no frames"
    );
    let _ = eng.snapshots.send(Arc::new(snapshot()));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        frames.load(Ordering::SeqCst),
        after_burst + 1,
        "a new snapshot draws once"
    );
    let _ = keys_tx.unbounded_send(Ok(Event::Key(keys("q")[0])));
    let done = tokio::time::timeout(Duration::from_secs(5), task).await;
    assert!(matches!(done, Ok(Ok(Ok(())))));
}

fn valid_settings() -> astrow_pac::config::Settings {
    let mut s = astrow_pac::config::Settings::default();
    s.pac.address = "pac.site.local".into();
    s.pac.oem_key_path = "/etc/astrow-pac/oem.key".into();
    s.pac.certificate_path = "/etc/astrow-pac/pac.pem".into();
    s.astrow.url = "https://astrow.site.local/api".into();
    s.astrow.username = "sync".into();
    s.astrow.password = Some(astrow_pac::config::Secret::new("pw"));
    s.astrow.default_cycle_code = "STD".into();
    s.astrow.default_paygroup_code = "MONTH".into();
    s
}

#[tokio::test]
async fn the_loop_saves_settings_reloads_the_engine_and_tests_connections() {
    let (handle, mut eng) = channels();
    let mut st = state(snapshot(), 120, 40, true);
    st.settings.base = valid_settings();
    st.settings.fields = fields_for(&valid_settings(), &[]);
    let saved = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let saved_in = saved.clone();
    let io = LoopIo {
        log: None,
        save: Some(Arc::new(
            move |form: &astrow_pac::tui::settings_form::SettingsState| {
                let s = form.to_settings().map_err(|(k, m)| format!("{k}: {m}"))?;
                if let Ok(mut v) = saved_in.lock() {
                    v.push(s.pac.address.clone());
                }
                Ok("saved".to_string())
            },
        )),
        test: Some(Arc::new(|s: astrow_pac::config::Settings| {
            Box::pin(async move {
                (
                    true,
                    format!("PAC {} answered in 12ms; Astrow logged in", s.pac.address),
                )
            })
        })),
    };
    let (keys_tx, keys_rx) = futures::channel::mpsc::unbounded::<std::io::Result<Event>>();
    let task = tokio::spawn(async move {
        let mut term = match Terminal::new(TestBackend::new(120, 40)) {
            Ok(t) => t,
            Err(e) => match e {},
        };
        run_loop(&mut term, keys_rx, handle, st, io)
            .await
            .map(|s| (term, s))
    });
    for k in keys("6<enter><c-u>pac.other.local<enter><c-s>t") {
        let _ = keys_tx.unbounded_send(Ok(Event::Key(k)));
    }
    assert_eq!(next(&mut eng.commands).await, Some(Command::ReloadSettings));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = keys_tx.unbounded_send(Ok(Event::Key(keys("q")[0])));
    let (term, st) = match tokio::time::timeout(Duration::from_secs(5), task).await {
        Ok(Ok(Ok(v))) => v,
        _ => panic!("the loop did not end cleanly"),
    };
    assert_eq!(
        saved.lock().map(|v| v.clone()).unwrap_or_default(),
        vec!["pac.other.local".to_string()]
    );
    assert!(!st.settings.dirty(), "saved: the form is clean");
    let screen = astrow_pac::tui::testkit::lines(term.backend().buffer()).join("\n");
    assert!(
        screen.contains("✓ PAC pac.other.local answered in 12ms"),
        "{screen}"
    );
}

#[test]
fn keys_are_read_from_the_settings_file_and_kept_on_save() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("astrow-pac.toml");
    let text = format!(
        "{}\n[keys]\n# mine\napprove = \"y\"\napply = 3\n",
        include_str!("../config/astrow-pac.toml")
    );
    std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    let err = match astrow_pac::config::load_with(&path, false) {
        Err(e) => e,
        Ok(_) => panic!("apply = 3 is not a key"),
    };
    assert!(
        err.problems().iter().any(|p| p.setting == "keys.apply"),
        "{err}"
    );
    assert!(
        !err.problems()
            .iter()
            .any(|p| p.setting.starts_with("keys.approve")),
        "{err}"
    );

    std::fs::write(&path, text.replace("apply = 3\n", "")).unwrap_or_else(|e| panic!("{e}"));
    let mut s = match astrow_pac::config::load_with(&path, false) {
        Err(e) => panic!("{e}"),
        Ok(l) => l.settings,
    };
    assert_eq!(s.keys.get("approve").map(String::as_str), Some("y"));
    s.keys.insert("apply".into(), "ctrl-a".into());
    astrow_pac::config::save(&path, &s).unwrap_or_else(|e| panic!("{e}"));
    let saved = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        saved.contains("# mine")
            && saved.contains("approve = \"y\"")
            && saved.contains("apply = \"ctrl-a\""),
        "{saved}"
    );

    let (km, problems) = astrow_pac::tui::keymap::Keymap::default().with_overrides(&s.keys);
    assert!(problems.is_empty(), "{problems:?}");
    let ch = astrow_pac::tui::keymap::Context::Pane(astrow_pac::tui::state::Pane::Changes);
    assert_eq!(
        km.resolve(ch, astrow_pac::tui::keymap::Key::ctrl('a')),
        Some(astrow_pac::tui::action::Action::Apply)
    );
}

#[test]
fn bookings_say_why_a_swipe_goes_without_its_astrow_badge() {
    let mut snap = snapshot();
    let why = "PAC employee 10 is in a pairing conflict with Astrow employees 1001, 1002";
    let mut bookings = (*snap.bookings).clone();
    for e in &mut bookings.feed {
        e.pairing_note = Some(why.into());
    }
    snap.bookings = Arc::new(bookings);
    let mut h = Harness::new(snap, 120, 40);
    h.press("5");
    let screen = h.text();
    assert!(screen.contains(why), "{screen}");
    // Without a note the pane has no such line.
    let mut h = Harness::new(snapshot(), 120, 40);
    h.press("5");
    assert!(!h.text().contains("pairing conflict"));
}

/// A part of the snapshot that cannot be cleaned for drawing (here a rate
/// JSON cannot carry, beside a hostile reader name) is left out, and the
/// header says how much: a shorter list is never taken for the whole one.
#[test]
fn what_the_console_cannot_show_safely_is_flagged_in_the_header() {
    let unreadable = || {
        let mut snap = snapshot();
        let b = Arc::make_mut(&mut snap.bookings);
        b.per_minute = f64::NAN;
        b.feed[0].reader = "R-1\x1b]0;pwned\x07".into();
        snap
    };
    let mut h = Harness::new(unreadable(), 120, 40);
    assert!(
        has(&mut h, "1 NOT SHOWN: unreadable, see the log"),
        "{}",
        h.text()
    );
    let mut narrow = Harness::new(unreadable(), 80, 24);
    assert!(has(&mut narrow, "1 NOT SHOWN"), "{}", narrow.text());
    h.set_snapshot(snapshot());
    assert!(!has(&mut h, "NOT SHOWN"), "{}", h.text());
}

#[test]
fn a_sequence_reset_is_a_banner_and_x_on_bookings_moves_the_cursor_after_a_yes() {
    use astrow_pac::engine::snapshot::{SequenceResetView, WaitingView};
    use astrow_pac::model::Seq;
    let mut snap = snapshot();
    let now = snap.generated_at.unwrap_or_default();
    let b = Arc::make_mut(&mut snap.bookings);
    b.sequence_reset = Some(SequenceResetView {
        detected_at: now,
        cursor: Seq(1600),
        pac_last_seq: Seq(130),
        resume_after: Seq(100),
        a2p_requeued: 0,
    });
    b.waiting = vec![WaitingView {
        reason: "reader R-0099 is not in Astrow's reader mirror yet".into(),
        count: 500,
        since: now - chrono::Duration::minutes(3),
    }];
    let mut h = Harness::new(snap, 120, 40);
    // Everywhere: the header flag; on the Overview the reset and the wait.
    assert!(has(&mut h, "PAC SEQ RESET"));
    assert!(has(&mut h, "sequence was reset"));
    assert!(has(&mut h, "500 wait"), "{}", h.text());
    h.press("5");
    assert!(has(&mut h, "X continues after 100"), "{}", h.text());
    assert!(has(&mut h, "500 waiting"));
    assert!(has(&mut h, "R-0099"));
    // X asks first; n leaves everything as it was.
    assert!(engine(&h.press("X")).is_empty());
    assert!(has(&mut h, "Move the event cursor?"));
    assert!(engine(&h.press("n")).is_empty());
    h.press("X");
    assert_eq!(
        engine(&h.press("y")),
        vec![Command::ResetCursor { to: 100 }]
    );
}

#[test]
fn x_without_a_sequence_reset_moves_nothing() {
    let mut h = Harness::new(snapshot(), 120, 40);
    h.press("5");
    assert!(engine(&h.press("X")).is_empty());
    assert!(!has(&mut h, "Move the event cursor?"));
}

#[test]
fn unreadable_records_shown_in_their_panes_and_counted_on_the_overview() {
    use astrow_pac::engine::snapshot::UnreadableView;
    let aside = |listing: &str, id: Option<u64>, reason: &str| UnreadableView {
        listing: listing.into(),
        record_id: id,
        reason: reason.into(),
        seen_at: astrow_pac::tui::testkit::t0(),
    };
    let mut snap = snapshot();
    snap.unreadable = Arc::new(vec![
        aside(
            "PAC employees",
            Some(42),
            "invalid type: null, expected a string\u{1b}[2J\u{7}",
        ),
        aside("Astrow employees", None, "missing field `pers_no`"),
        aside("PAC readers", Some(9), "invalid value: \"sideways\""),
    ]);
    let mut h = Harness::new(snap, 140, 44);
    let screen = h.text();
    assert!(
        screen.contains("▲ 3 unreadable, set aside: 2 employees, 1 definitions"),
        "{screen}"
    );
    h.press("2");
    let screen = h.text();
    assert!(screen.contains("▲ 2 unreadable"), "{screen}");
    assert!(
        screen.contains("unreadable PAC employees #42: invalid type: null, expected a string"),
        "{screen}"
    );
    assert!(
        screen.contains("unreadable Astrow employees no id: missing field `pers_no`"),
        "{screen}"
    );
    assert!(!screen.contains("PAC readers"), "{screen}");
    // The reason is outside text: no escape or bell reaches the terminal.
    let buf = h.draw().clone();
    assert!(
        buf.content()
            .iter()
            .all(|c| !c.symbol().contains('\u{1b}') && !c.symbol().contains('\u{7}'))
    );
    let (x, y) = find(&buf, "▲ 2 unreadable").expect("title drawn");
    assert_eq!(buf[(x, y)].fg, Color::Yellow, "drawn as a warning");
    h.press("4");
    let screen = h.text();
    assert!(
        screen.contains("▲ 1 unreadable")
            && screen.contains("unreadable PAC readers #9: invalid value: \"sideways\""),
        "{screen}"
    );
    assert!(!screen.contains("PAC employees #42"), "{screen}");
}

/// The engine traces each notice and sends it as an event: with the
/// tracing buffer the Log shows it once (not as `engine` and again as
/// `astrow_pac::engine::...`).
#[tokio::test]
async fn an_engine_notice_is_one_log_line() {
    let (handle, eng) = channels();
    let log = astrow_pac::tui::LogBuffer::new(100);
    let st = state(snapshot(), 120, 40, true);
    let io = LoopIo {
        log: Some(log.clone()),
        ..LoopIo::default()
    };
    let (keys_tx, keys_rx) = futures::channel::mpsc::unbounded::<std::io::Result<Event>>();
    let task = tokio::spawn(async move {
        let mut term = match Terminal::new(TestBackend::new(120, 40)) {
            Ok(t) => t,
            Err(e) => match e {},
        };
        run_loop(&mut term, keys_rx, handle, st, io).await
    });
    // What `notice` does in the engine: trace, then send.
    log.push(
        astrow_pac::tui::logbuf::LogLevel::Info,
        "astrow_pac::engine::runtime::command_loop",
        "scheduled syncs paused".into(),
    );
    let _ = eng.events.send(astrow_pac::engine::command::EngineEvent {
        time: astrow_pac::tui::testkit::t0(),
        level: astrow_pac::engine::command::EventLevel::Info,
        message: "scheduled syncs paused".into(),
        answer: None,
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = keys_tx.unbounded_send(Ok(Event::Key(keys("q")[0])));
    let st = match tokio::time::timeout(Duration::from_secs(5), task).await {
        Ok(Ok(Ok(s))) => s,
        _ => panic!("the loop did not end cleanly"),
    };
    let lines: Vec<_> = st
        .log
        .lines
        .iter()
        .filter(|l| l.message.contains("scheduled syncs paused"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    // The status line still shows the notice.
    assert!(
        st.status
            .is_some_and(|s| s.text == "scheduled syncs paused")
    );
}

/// The Bookings pane's other direction: `a` shows Astrow's own bookings on
/// their way into PAC (stored, rejected with PAC's reason, waiting), with the
/// direction's counts; outside text is drawn sanitised; `a` goes back.
#[test]
fn bookings_pane_shows_the_astrow_to_pac_direction() {
    use astrow_pac::engine::astrow_to_pac::{A2pEntry, AstrowToPacView};
    use astrow_pac::model::ExternalOutcome;
    use astrow_pac::store::astrow_ledger::{RowState, Tally};
    let entry = |id: u64, state: RowState| A2pEntry {
        booking_id: id,
        source_id: format!("astrow:{id}"),
        time: chrono::DateTime::parse_from_rfc3339("2026-11-28T08:01:07+01:00").unwrap(),
        badge_no: "10231".into(),
        pers_no: Some(1001),
        pac_id: Some(10231),
        terminal_kind: "web".into(),
        direction: Some("in".into()),
        state,
        attempts: 1,
        wait: None,
    };
    let mut held = entry(4, RowState::Pending);
    held.pac_id = None;
    held.wait = Some("Astrow employee 1001 is not linked\u{1b}[31m to a PAC employee yet".into());
    let mut snap = snapshot();
    snap.astrow_to_pac = Arc::new(AstrowToPacView {
        enabled: true,
        feed: vec![
            held,
            entry(3, RowState::Pending),
            entry(
                2,
                RowState::Answered(ExternalOutcome::Rejected {
                    reason: "no keyholder\u{1b}[31m 777777".into(),
                }),
            ),
            entry(1, RowState::Answered(ExternalOutcome::Stored { seq: 881 })),
        ],
        tally: Tally {
            pending: 2,
            waiting: 1,
            stored: 1,
            rejected: 1,
            from_pac: 4,
            ..Tally::default()
        },
        per_minute: 12.0,
        lag_ms: Some(300),
        ..AstrowToPacView::default()
    });
    let mut h = Harness::new(snap, 120, 40);
    h.press("5");
    let screen = h.text();
    assert!(
        screen.contains("a: Astrow→PAC 12/min waiting 2"),
        "{screen}"
    );
    h.press("a");
    let screen = h.text();
    assert!(screen.contains("Astrow bookings → PAC"), "{screen}");
    assert!(screen.contains("stored (PAC seq 881)"), "{screen}");
    assert!(screen.contains("rejected: no keyholder"), "{screen}");
    assert!(
        screen.contains("waiting: Astrow employee 1001 is not linked"),
        "why a booking is held: {screen}"
    );
    assert!(screen.contains("1 held for a link to PAC"), "{screen}");
    assert!(!screen.contains('\u{1b}'), "escape drawn: {screen}");
    assert!(screen.contains("4 from PAC passed over"), "{screen}");
    assert!(screen.contains("Astrow→PAC 12/min") && screen.contains("rejected 1"));
    h.press("jj");
    assert!(has(&mut h, "astrow:2"), "the selected row's detail");
    h.press("1");
    let screen = h.text();
    assert!(
        screen.contains("Astrow→PAC"),
        "the Overview lists the second job: {screen}"
    );
    h.press("5a");
    assert!(has(&mut h, "Swipes, newest first"));
}

/// Astrow restored from a backup: the Overview and the Bookings pane's
/// other direction say reading stopped and how to go on; Astrow's text is
/// drawn sanitised.
#[test]
fn an_astrow_restore_is_shown_on_the_overview_and_the_bookings_pane() {
    use astrow_pac::engine::astrow_to_pac::AstrowToPacView;
    use astrow_pac::store::astrow_restore::OpenRestore;
    let mut snap = snapshot();
    let now = snap.generated_at.unwrap_or_default();
    snap.astrow_to_pac = Arc::new(AstrowToPacView {
        enabled: true,
        astrow_restore: Some(OpenRestore {
            detected_at: now,
            cursor: 40,
            why: "Astrow's newest booking id\u{1b}[31m is below our cursor 40".into(),
            resume_after: Some(30),
        }),
        ..AstrowToPacView::default()
    });
    let mut h = Harness::new(snap, 200, 40);
    h.press("1");
    let screen = h.text();
    assert!(screen.contains("Astrow's bookings went back"), "{screen}");
    assert!(!screen.contains('\u{1b}'), "escape drawn: {screen}");
    h.press("5a");
    let screen = h.text();
    assert!(
        screen.contains(
            "Astrow went back (restored?): reading stopped, bookings astrow-cursor --to 30"
        ),
        "{screen}"
    );
    // X asks first; n leaves everything as it was; y moves the Astrow cursor.
    assert!(engine(&h.press("X")).is_empty());
    assert!(has(&mut h, "Move the Astrow booking cursor?"));
    assert!(engine(&h.press("n")).is_empty());
    h.press("X");
    assert_eq!(
        engine(&h.press("y")),
        vec![Command::MoveAstrowCursor {
            to: 30,
            force: false
        }]
    );
}
