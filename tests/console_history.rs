//! The console's History (a view of the Log pane) and the trace of a row:
//! keys through the real keymap, the queries answered by the store's real
//! answer function (`engine::query::answer`), so paging through a large
//! audit log is seen page by page, never loaded whole.

use astrow_pac::engine::command::Command;
use astrow_pac::engine::query::{self, Answer, Query};
use astrow_pac::model::EmployeeKey;
use astrow_pac::store::Store;
use astrow_pac::tui::action::Effect;
use astrow_pac::tui::state::{Modal, Pane};
use astrow_pac::tui::testkit::{Harness, snapshot};
use astrow_pac::tui::update_history::{PAGE, take_answer};

const ROWS: i64 = 100_000;

/// 100,000 audit rows in one statement: employee 1000 + i % 5000, a
/// failure every 97th.
fn fill(store: &mut Store) {
    store
        .connection()
        .execute_batch(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS})
             INSERT INTO audit (at, os_user, system, action, record, before, after, result)
             SELECT strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (i * 60) || ' seconds'),
                    CASE i % 2 WHEN 0 THEN 'alice' ELSE 'engine (auto)' END,
                    CASE i % 2 WHEN 0 THEN 'pac' ELSE 'astrow' END,
                    CASE i % 3 WHEN 0 THEN 'create' WHEN 1 THEN 'update' ELSE 'delete' END,
                    'employee ' || (1000 + i % 5000),
                    '{{\"last_name\":\"Weiss\",\"groups\":[1,4]}}',
                    '{{\"last_name\":\"Weiß\",\"groups\":[1,4,6]}}',
                    CASE WHEN i % 97 = 0 THEN 'failed (conflict): version_mismatch' ELSE 'ok' END
             FROM n"
        ))
        .unwrap();
}

/// Answer every query the keys sent, as the engine would; the queries.
fn answer_all(h: &mut Harness, store: &mut Store, fx: Vec<Effect>) -> Vec<Query> {
    let mut asked = Vec::new();
    for e in fx {
        if let Effect::Engine(Command::Query { id, query: q }) = e {
            let body = engine_answer(h, store, &q);
            take_answer(&mut h.state, &Answer { query: id, body });
            asked.push(q);
        }
    }
    asked
}

/// The answer the engine gives: the store's, with the rows of the
/// console's picture the query's employee could be.
fn engine_answer(h: &Harness, store: &mut Store, q: &Query) -> query::AnswerBody {
    let rows = query::employee_of(q)
        .map(|k| query::employee_rows(&h.state.snap.employees, k))
        .unwrap_or_default();
    query::answer(store, q, &rows).unwrap()
}

fn press(h: &mut Harness, store: &mut Store, keys: &str) -> Vec<Query> {
    let fx = h.press(keys);
    answer_all(h, store, fx)
}

fn shown_ids(h: &Harness) -> Vec<i64> {
    h.state
        .history
        .page
        .as_ref()
        .map(|p| p.entries.iter().map(|e| e.id).collect())
        .unwrap_or_default()
}

#[test]
fn paging_through_100k_audit_rows_holds_one_page_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    fill(&mut store);
    let mut h = Harness::new(snapshot(), 120, 40);

    let asked = press(&mut h, &mut store, "8");
    assert_eq!(h.state.pane, Pane::Log);
    assert!(h.state.history.shown);
    assert!(
        matches!(&asked[..], [Query::History { before: None, limit, .. }] if *limit == PAGE),
        "{asked:?}"
    );
    let first = shown_ids(&h);
    assert_eq!(first.len(), PAGE as usize);
    assert_eq!(first[0], ROWS, "newest first");
    let text = h.text();
    assert!(text.contains("entry 1 of 100+ · 100000 in all"), "{text}");
    assert!(text.contains("last_name: \"Weiss\" -> \"Weiß\""), "{text}");

    // Down past the end of each page asks for the next one; only one page is held.
    for page in 1..=4 {
        let asked = press(&mut h, &mut store, "G");
        assert!(asked.is_empty(), "moving inside the page asks nothing");
        let last = *shown_ids(&h).last().unwrap();
        let asked = press(&mut h, &mut store, "j");
        assert!(
            matches!(&asked[..], [Query::History { before: Some(b), .. }] if *b == last),
            "{asked:?}"
        );
        let ids = shown_ids(&h);
        assert_eq!(ids.len(), PAGE as usize);
        assert_eq!(ids[0], ROWS - i64::from(PAGE) * page, "page {page}");
        assert_eq!(h.state.history.list.selected, 0);
    }
    let text = h.text();
    assert!(text.contains("entry 401 of 500+"), "{text}");

    // Up from the top of a page goes back to the one above, on its last entry.
    let asked = press(&mut h, &mut store, "k");
    assert_eq!(asked.len(), 1);
    assert_eq!(
        *shown_ids(&h).last().unwrap(),
        ROWS - 4 * i64::from(PAGE) + 1
    );
    assert_eq!(h.state.history.list.selected, PAGE as usize - 1);
    // g: the newest page again, as first seen.
    press(&mut h, &mut store, "g");
    assert_eq!(shown_ids(&h), first);
    assert!(h.state.history.above.is_empty());
}

#[test]
fn the_filter_picks_an_employee_and_text_and_esc_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    fill(&mut store);
    let mut h = Harness::new(snapshot(), 80, 24);
    press(&mut h, &mut store, "8");
    // Typing asks nothing; Enter asks once.
    let asked = press(&mut h, &mut store, "/employee:1234 delete");
    assert!(asked.is_empty(), "{asked:?}");
    let asked = press(&mut h, &mut store, "<enter>");
    assert_eq!(asked.len(), 1, "{asked:?}");
    let page = h.state.history.page.clone().unwrap();
    // i = 234 + 5000k with k % 3 == 1, k < 20.
    assert_eq!(page.entries.len(), 7, "{:?}", page.entries);
    for e in &page.entries {
        assert_eq!(e.record, "employee 1234");
        assert_eq!(e.action, "delete", "{e:?}");
    }
    let text = h.text();
    assert!(text.contains("filter: employee:1234 delete"), "{text}");
    // Esc clears the filter and shows the newest entries again.
    press(&mut h, &mut store, "<esc>");
    assert_eq!(shown_ids(&h)[0], ROWS);
    // Esc again: back to the log lines.
    press(&mut h, &mut store, "<esc>");
    assert!(!h.state.history.shown);
}

#[test]
fn answers_to_other_queries_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    fill(&mut store);
    let mut h = Harness::new(snapshot(), 80, 24);
    let fx = h.press("8");
    let Some(Effect::Engine(Command::Query { id, query: q })) = fx.first().cloned() else {
        panic!("{fx:?}")
    };
    // Another console's answer (another id) changes nothing.
    let body = engine_answer(&h, &mut store, &q);
    take_answer(
        &mut h.state,
        &Answer {
            query: id ^ 0xffff_0000_0000,
            body: body.clone(),
        },
    );
    assert!(h.state.history.page.is_none());
    assert!(h.text().contains("asking the engine"));
    take_answer(&mut h.state, &Answer { query: id, body });
    assert_eq!(shown_ids(&h).len(), PAGE as usize);
}

#[test]
fn enter_on_an_employee_or_a_swipe_opens_its_trace() {
    let mut h = Harness::new(snapshot(), 80, 24);
    let fx = h.press("2<enter>");
    let Some(Effect::Engine(Command::Query { id, query: q })) = fx.first().cloned() else {
        panic!("{fx:?}")
    };
    assert_eq!(
        q,
        Query::TraceEmployee {
            employee: EmployeeKey::Pac(1000)
        }
    );
    assert!(h.text().contains("asking the engine for the trace"));
    take_answer(
        &mut h.state,
        &Answer {
            query: id,
            body: query::AnswerBody::Trace(query::TraceText {
                title: "employee 1000".into(),
                lines: vec![
                    "Link    PAC 1000 <-> Astrow 5000 (matched 2026-11-28)".into(),
                    "Audit (1, newest first)".into(),
                    "  2026-11-28T09:00:00+00:00 alice pac update employee 1000 ok".into(),
                ],
            }),
        },
    );
    let text = h.text();
    assert!(
        text.contains("Trace of employee pac:1000 Anna Peeters"),
        "{text}"
    );
    assert!(text.contains("Link    PAC 1000 <-> Astrow 5000"), "{text}");
    h.press("<esc>");
    assert!(h.state.modal.is_none());
    // d shows the details instead.
    h.press("d");
    assert!(h.state.employees.detail);

    let fx = h.press("5<enter>");
    assert!(
        matches!(
            fx.first(),
            Some(Effect::Engine(Command::Query {
                query: Query::TraceBooking {
                    seq: Some(_),
                    booking_id: None
                },
                ..
            }))
        ),
        "{fx:?}"
    );
    assert!(matches!(h.state.modal, Some(Modal::Trace(_))));
}

#[test]
fn history_and_trace_as_drawn_at_80x24_and_200x50() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    fill(&mut store);
    for (w, hgt, name) in [(80, 24, "80x24"), (200, 50, "200x50")] {
        let mut h = Harness::new(snapshot(), w, hgt);
        press(&mut h, &mut store, "8");
        press(&mut h, &mut store, "jj");
        insta::assert_snapshot!(format!("history_{name}"), h.text());

        let fx = h.press("2<enter>");
        let Some(Effect::Engine(Command::Query { id, query: q })) = fx.first().cloned() else {
            panic!("{fx:?}")
        };
        // The engine's answer for an employee the store knows nothing of,
        // with the live picture of both sides.
        let body = engine_answer(&h, &mut store, &q);
        take_answer(&mut h.state, &Answer { query: id, body });
        let text = h.text();
        assert!(text.contains("Now (as last read)"), "{text}");
        assert!(text.contains("PAC     1000 Anna Peeters"), "{text}");
        insta::assert_snapshot!(format!("trace_employee_{name}"), text);
    }
}

#[test]
fn eight_shows_the_history_from_anywhere_and_h_toggles_it_in_the_log_pane() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    fill(&mut store);
    let mut h = Harness::new(snapshot(), 80, 24);
    press(&mut h, &mut store, "3");
    press(&mut h, &mut store, "8");
    assert!(h.state.history.shown && h.state.pane == Pane::Log);
    // 8 again reads it again, still shown.
    let asked = press(&mut h, &mut store, "8");
    assert_eq!(asked.len(), 1);
    assert!(h.state.history.shown);
    press(&mut h, &mut store, "H");
    assert!(!h.state.history.shown);
    assert!(h.text().contains(" Log "));
    press(&mut h, &mut store, "H");
    assert!(h.state.history.shown);
    assert!(h.text().contains(" History "));
}

#[test]
fn audit_text_with_escape_sequences_is_drawn_as_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store
        .connection()
        .execute(
            "INSERT INTO audit (at, os_user, system, action, record, before, after, result)
             VALUES ('2026-01-01T00:00:00.000Z', ?1, 'pac', 'update', ?2, ?3, ?4, ?5)",
            [
                "eve\u{1b}]0;pwned\u{7}",
                "employee 7\u{1b}[2J",
                "{\"last_name\":\"Weiss\"}",
                "{\"last_name\":\"W\u{1b}[31meiß\u{202E}\"}",
                "failed: \u{9b}31mconflict",
            ],
        )
        .unwrap();
    let mut h = Harness::new(snapshot(), 200, 50);
    press(&mut h, &mut store, "8");
    assert_eq!(shown_ids(&h).len(), 1);
    let buf = h.draw().clone();
    for cell in buf.content() {
        assert!(
            !cell.symbol().chars().any(|c| c.is_control()),
            "control character in {:?}",
            cell.symbol()
        );
    }
    let text = h.text();
    assert!(
        text.contains("employee 7") && text.contains("failed: conflict"),
        "{text}"
    );
    assert!(!text.contains("pwned") && !text.contains("[2J"), "{text}");
}
