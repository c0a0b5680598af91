//! PAC ids and Astrow personnel numbers share one number space: Astrow
//! employee 1000 "Mueller" (never linked) is not PAC employee 1000 "Anna
//! Peeters" (linked to Astrow 5000). Through the console's real keymap,
//! answered by the store's real answer function with the rows the engine
//! would pass: Enter on Mueller's row traces Mueller, and the History
//! filter takes `employee:astrow:1000` and refuses a bare `employee:1000`.

use astrow_pac::engine::command::Command;
use astrow_pac::engine::query::{self, Answer, Query};
use astrow_pac::engine::snapshot::{AstrowRecord, Snapshot};
use astrow_pac::model::{PersNo, System};
use astrow_pac::store::{AuditRecord, Store};
use astrow_pac::tui::action::Effect;
use astrow_pac::tui::testkit::{Harness, snapshot};
use astrow_pac::tui::update_history::take_answer;

/// The console's picture: row 7 (Astrow-only in the test kit) becomes
/// Astrow employee 1000 Mueller; row 0 is PAC 1000 Anna Peeters.
fn picture() -> (Snapshot, usize) {
    let mut snap = snapshot();
    let mut employees = snap.employees.to_vec();
    let row = &mut employees[7];
    assert!(row.pac.is_none(), "row 7 is Astrow-only");
    let a = row.astrow.as_mut().unwrap();
    let mut mueller = a.to_employee();
    mueller.pers_no = PersNo(1000);
    mueller.first_name = "Jonas".into();
    mueller.last_name = "Mueller".into();
    *a = AstrowRecord::from(&mueller);
    let anna = employees[0].pac.as_ref().unwrap();
    assert_eq!((anna.id.0, anna.last_name()), (1000, "Peeters"));
    snap.employees = employees.into();
    (snap, 7)
}

fn audit(system: System, id: u64, action: &str) -> AuditRecord {
    AuditRecord {
        system,
        action: action.into(),
        record: format!("employee {id}"),
        before: None,
        after: Some(format!(r#"{{"who":"{system:?} {id}"}}"#)),
        result: "ok".into(),
    }
}

/// The store: PAC 1000 linked to Astrow 5000, each side audited; Astrow
/// 1000 (Mueller) audited once.
fn store(dir: &std::path::Path) -> Store {
    let mut store = Store::open(dir).unwrap();
    store
        .append_audit(&audit(System::Pac, 1000, "update"))
        .unwrap();
    store
        .append_audit(&audit(System::Astrow, 5000, "update"))
        .unwrap();
    store
        .append_audit(&audit(System::Astrow, 1000, "create"))
        .unwrap();
    store
        .connection()
        .execute(
            "INSERT INTO links (pac_id, pers_no, origin, at)
             VALUES (1000, 5000, 'created', '2026-11-28T08:00:00.000Z')",
            [],
        )
        .unwrap();
    store
}

/// Answer the queries the keys sent as the engine does; the queries.
fn answer_all(h: &mut Harness, store: &mut Store, fx: Vec<Effect>) -> Vec<Query> {
    let mut asked = Vec::new();
    for e in fx {
        if let Effect::Engine(Command::Query { id, query: q }) = e {
            let rows = query::employee_of(&q)
                .map(|k| query::employee_rows(&h.state.snap.employees, k))
                .unwrap_or_default();
            let body = query::answer(store, &q, &rows)
                .unwrap_or_else(|e| query::AnswerBody::Failed(e.to_string()));
            take_answer(&mut h.state, &Answer { query: id, body });
            asked.push(q);
        }
    }
    asked
}

fn press(h: &mut Harness, store: &mut Store, keys: &str) -> Vec<Query> {
    let fx = h.press(keys);
    answer_all(h, store, fx)
}

#[test]
fn enter_on_an_astrow_only_row_traces_that_person_not_the_pac_employee_with_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(dir.path());
    let (snap, row) = picture();
    let mut h = Harness::new(snap, 120, 40);
    let at = h
        .state
        .employees
        .visible
        .iter()
        .position(|&i| i as usize == row)
        .unwrap();
    press(&mut h, &mut store, &format!("2{}", "j".repeat(at)));
    let asked = press(&mut h, &mut store, "<enter>");
    assert_eq!(asked.len(), 1, "{asked:?}");
    let text = h.text();
    assert!(text.contains("Mueller"), "{text}");
    assert!(
        text.contains("Astrow  1000 Jonas Mueller"),
        "Now shows Mueller: {text}"
    );
    assert!(
        !text.contains("Anna") && !text.contains("Peeters"),
        "nothing of PAC 1000: {text}"
    );
    assert!(
        !text.contains("<-> Astrow 5000") && !text.contains("employee 5000"),
        "not PAC 1000's link or audit: {text}"
    );
    assert!(text.contains("Audit (1, newest first)"), "{text}");

    // Enter on Anna's row: PAC 1000, through its link, none of Mueller's.
    press(&mut h, &mut store, "<esc>g");
    press(&mut h, &mut store, "<enter>");
    let text = h.text();
    assert!(text.contains("Link    PAC 1000 <-> Astrow 5000"), "{text}");
    assert!(text.contains("Audit (2, newest first)"), "{text}");
    assert!(!text.contains("Mueller"), "{text}");
}

#[test]
fn the_history_filter_takes_a_side_and_refuses_a_number_naming_two_people() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(dir.path());
    let (snap, _) = picture();
    let mut h = Harness::new(snap, 120, 40);
    press(&mut h, &mut store, "8");
    let records = |h: &Harness| -> Vec<(System, String)> {
        h.state
            .history
            .page
            .as_ref()
            .map(|p| {
                p.entries
                    .iter()
                    .map(|e| (e.system, e.record.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    press(&mut h, &mut store, "/employee:astrow:1000<enter>");
    assert_eq!(
        records(&h),
        vec![(System::Astrow, "employee 1000".to_string())]
    );
    press(&mut h, &mut store, "<esc>/employee:pac:1000<enter>");
    assert_eq!(
        records(&h),
        vec![
            (System::Astrow, "employee 5000".to_string()),
            (System::Pac, "employee 1000".to_string())
        ]
    );
    // A bare number: refused, naming both people and how to choose.
    press(&mut h, &mut store, "<esc>/employee:1000<enter>");
    let text = h.text();
    assert!(
        text.contains("employee 1000 is ambiguous"),
        "refused: {text}"
    );
    let problem = h.state.history.problem.clone().unwrap_or_default();
    assert!(
        problem.contains("pac:1000") && problem.contains("astrow:1000"),
        "{problem}"
    );
    // A bare number naming one person keeps working.
    press(&mut h, &mut store, "<esc>/employee:5000<enter>");
    assert_eq!(records(&h).len(), 2);
    assert!(h.state.history.problem.is_none());
}
