//! The first page of the audit log (what `astrow-pac audit` and the
//! console's History view show first) over 100,000 audit rows: unfiltered,
//! by employee, by text, and a page deep in the log. The goal is under
//! 20 ms a page; the store is opened once, as the console keeps it open.
//! The employee and text filters match few rows (20 and ~1,000), so their
//! first page reads far into the log: the worst case.

use std::hint::black_box;

use astrow_pac::engine::query::{self, HistoryFilter, Query};
use astrow_pac::store::Store;
use astrow_pac::store::audit_page::{self, AuditFilter, EmployeeRecords, FIRST_PAGE};
use criterion::{Criterion, criterion_group, criterion_main};

const ROWS: i64 = 100_000;
const PAGE: usize = 50;

fn fill(store: &mut Store) {
    let conn = store.connection();
    conn.execute_batch(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS})
         INSERT INTO audit (at, os_user, system, action, record, before, after, result)
         SELECT strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (i * 60) || ' seconds'),
                'engine',
                CASE i % 2 WHEN 0 THEN 'pac' ELSE 'astrow' END,
                CASE i % 3 WHEN 0 THEN 'create' WHEN 1 THEN 'update' ELSE 'delete' END,
                'employee ' || (1000 + i % 5000),
                '{{\"last_name\":\"Weiss\",\"groups\":[1,4]}}',
                '{{\"last_name\":\"Weiß\",\"groups\":[1,4,6]}}',
                CASE WHEN i % 97 = 0 THEN 'failed (conflict): version_mismatch' ELSE 'ok' END
         FROM n"
    ))
    .expect("fill the audit");
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(dir.path()).expect("store");
    fill(&mut store);
    let conn = store.connection();
    let all = AuditFilter::default();
    let employee = AuditFilter {
        employee: Some(
            EmployeeRecords::resolve(conn, astrow_pac::model::EmployeeKey::Pac(1234), &[])
                .expect("resolve"),
        ),
        ..AuditFilter::default()
    };
    let text = AuditFilter {
        text: Some("version_mismatch".into()),
        ..AuditFilter::default()
    };
    let deep = audit_page::page(conn, &all, 50_000, 1).expect("deep")[0].id;
    let mut run = |name: &str, filter: &AuditFilter, before: i64| {
        c.bench_function(name, |b| {
            b.iter(|| {
                let p = audit_page::page(conn, black_box(filter), before, PAGE).expect("page");
                assert!(!p.is_empty());
                p
            })
        });
    };
    run("audit first page of 100k", &all, FIRST_PAGE);
    run("audit page at row 50k of 100k", &all, deep);
    run(
        "audit first page of 100k, one employee",
        &employee,
        FIRST_PAGE,
    );
    run("audit first page of 100k, text filter", &text, FIRST_PAGE);

    // What the console's History asks the engine for: a page of 100, one
    // more to know whether another follows, and the log's size.
    let first = Query::History {
        filter: HistoryFilter::default(),
        before: None,
        limit: astrow_pac::tui::update_history::PAGE,
    };
    let by_employee = Query::History {
        filter: HistoryFilter::parse("employee:1234"),
        before: None,
        limit: astrow_pac::tui::update_history::PAGE,
    };
    for (name, q) in [
        ("console history first page of 100k", &first),
        (
            "console history first page of 100k, one employee",
            &by_employee,
        ),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| query::answer(&mut store, black_box(q), &[]).expect("answer"))
        });
    }
}

criterion_group!(audit, bench);
criterion_main!(audit);
