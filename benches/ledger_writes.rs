//! The three ledger writes of one booking, measured alone (no HTTP, no
//! simulator): the page stored with its cursor, the attempt marked before
//! the send, Astrow's answer recorded. Each through the real functions of
//! `store::ledger`, in batches of 500 (one transaction each, as the import
//! does), on a store on disk that already holds `PREFILL` answered rows.
//!
//! `cargo bench --bench ledger_writes` prints, for each variant, bookings
//! per second (median of the rounds) and microseconds per booking of each
//! write, side by side in the same run, rounds taken in turn:
//! - the store as it is (synchronous FULL, `ledger_by_state` and
//!   `ledger_by_read_at`);
//! - the same with the partial index of pending rows that migration 12
//!   dropped (the store before);
//! - the same without one index each: what each index costs;
//! - synchronous NORMAL: what the commit's fsync costs (not a proposal:
//!   the design keeps FULL);
//! - the mark and the answer as one statement per batch (a `json_each`
//!   list joined by seq) instead of one prepared statement per row.
//!
//! `LEDGER_ROUNDS` (default 5) and `LEDGER_BATCHES` (batches of 500 per
//! round, default 20) change the size.

use std::time::{Duration, Instant};

use astrow_pac::model::{BookingStatus, Direction, Event, EventType, PacId, Seq};
use astrow_pac::store::db::open_connection;
use astrow_pac::store::ledger::{self, EntryKind, NewEntry};
use astrow_pac::store::{DATABASE_FILE, Store};
use chrono::{FixedOffset, TimeZone, Utc};
use rusqlite::Connection;

const BATCH: u64 = 500;
const PREFILL: u64 = 100_000;

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    AsIs,
    /// The store before migration 12: the partial index of pending rows.
    WithPendingIndex,
    Without(&'static str),
    SyncNormal,
    OneStatement,
}

impl Variant {
    fn name(self) -> String {
        match self {
            Variant::AsIs => "as is (FULL, 2 indexes)".into(),
            Variant::WithPendingIndex => "+ ledger_pending (before)".into(),
            Variant::Without(i) => format!("without {i}"),
            Variant::SyncNormal => "synchronous NORMAL".into(),
            Variant::OneStatement => "one statement per batch".into(),
        }
    }
}

fn page(from: u64, n: u64) -> Vec<NewEntry> {
    let time = FixedOffset::east_opt(3600)
        .and_then(|o| o.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).single())
        .expect("a fixed time");
    (from..from + n)
        .map(|seq| NewEntry {
            event: Event {
                seq: Seq(seq),
                time,
                event_type: EventType::AccessGranted,
                reader_id: Some((seq % 5) as u32),
                badge_number: Some(format!("{seq:06X}")),
                employee_id: Some(PacId(seq % 1000)),
            },
            reader_serial: Some(format!("R-{}", seq % 5)),
            kind: EntryKind::Booking {
                direction: Some(Direction::In),
            },
        })
        .collect()
}

fn answers(seqs: &[Seq]) -> Vec<(Seq, BookingStatus)> {
    seqs.iter()
        .map(|s| (*s, BookingStatus::Processed { booking_id: s.0 }))
        .collect()
}

/// A store on disk with `PREFILL` answered rows, set up for `v`.
fn store(v: Variant) -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(Store::open(dir.path()).expect("store"));
    let mut c = open_connection(&dir.path().join(DATABASE_FILE)).expect("open");
    c.execute_batch("PRAGMA synchronous = OFF").expect("pragma");
    let long_ago = Utc::now() - chrono::Duration::days(30);
    for from in (1..=PREFILL).step_by(BATCH as usize) {
        ledger::append_page(&mut c, &page(from, BATCH), long_ago).expect("prefill");
        let seqs: Vec<Seq> = (from..from + BATCH).map(Seq).collect();
        ledger::record_answers(&mut c, &answers(&seqs), long_ago).expect("prefill answers");
    }
    let sync = if v == Variant::SyncNormal {
        "NORMAL"
    } else {
        "FULL"
    };
    c.execute_batch(&format!("PRAGMA synchronous = {sync}"))
        .expect("pragma");
    if v == Variant::WithPendingIndex {
        c.execute_batch("CREATE INDEX ledger_pending ON ledger(seq) WHERE state = 'pending'")
            .expect("create index");
    }
    if let Variant::Without(index) = v {
        c.execute_batch(&format!("DROP INDEX {index}"))
            .expect("drop index");
    }
    (dir, c)
}

/// The mark as one statement: every badge of the batch in a JSON list.
fn mark_one_statement(c: &mut Connection, batch: &[(Seq, String)]) {
    let list: Vec<(u64, &str)> = batch.iter().map(|(s, b)| (s.0, b.as_str())).collect();
    let json = serde_json::to_string(&list).expect("json");
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .expect("begin");
    tx.execute(
        "WITH v(seq, badge) AS (SELECT value ->> 0, value ->> 1 FROM json_each(?1))
         UPDATE ledger SET badge_no = (SELECT badge FROM v WHERE v.seq = ledger.seq),
                attempts = attempts + 1, wait_reason = NULL
         WHERE seq IN (SELECT seq FROM v) AND state = 'pending'",
        [json],
    )
    .expect("mark");
    tx.commit().expect("commit");
}

/// The answers as one statement (all processed, as the bench's are).
fn answer_one_statement(c: &mut Connection, seqs: &[Seq]) {
    let list: Vec<u64> = seqs.iter().map(|s| s.0).collect();
    let json = serde_json::to_string(&list).expect("json");
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .expect("begin");
    tx.execute(
        "UPDATE ledger SET state = 'processed', booking_id = seq, answered_at = ?2
         WHERE seq IN (SELECT value FROM json_each(?1))
           AND kind = 'booking' AND state = 'pending'",
        rusqlite::params![json, Utc::now().to_rfc3339()],
    )
    .expect("answer");
    tx.commit().expect("commit");
}

/// Time spent in each write: store, mark, answer.
#[derive(Default, Clone, Copy)]
struct Spent([Duration; 3]);

fn round(v: Variant, c: &mut Connection, next: &mut u64, batches: u64) -> Spent {
    let mut spent = Spent::default();
    for _ in 0..batches {
        let from = *next;
        *next += BATCH;
        let p = page(from, BATCH);
        let t = Instant::now();
        ledger::append_page(c, &p, Utc::now()).expect("store");
        spent.0[0] += t.elapsed();
        let seqs: Vec<Seq> = (from..from + BATCH).map(Seq).collect();
        let marks: Vec<(Seq, String)> = seqs.iter().map(|s| (*s, s.0.to_string())).collect();
        let t = Instant::now();
        if v == Variant::OneStatement {
            mark_one_statement(c, &marks);
        } else {
            ledger::mark_sending(c, &marks).expect("mark");
        }
        spent.0[1] += t.elapsed();
        let t = Instant::now();
        if v == Variant::OneStatement {
            answer_one_statement(c, &seqs);
        } else {
            ledger::record_answers(c, &answers(&seqs), Utc::now()).expect("answer");
        }
        spent.0[2] += t.elapsed();
    }
    spent
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds = env("LEDGER_ROUNDS", 5);
    let batches = env("LEDGER_BATCHES", 20);
    let variants = [
        Variant::AsIs,
        Variant::WithPendingIndex,
        Variant::Without("ledger_by_state"),
        Variant::Without("ledger_by_read_at"),
        Variant::SyncNormal,
        Variant::OneStatement,
    ];
    let mut stores: Vec<_> = variants.iter().map(|v| store(*v)).collect();
    let mut next = vec![PREFILL + 1; variants.len()];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut per_write: Vec<Vec<[f64; 3]>> = vec![Vec::new(); variants.len()];
    let n = (batches * BATCH) as f64;
    for _ in 0..rounds {
        for (i, v) in variants.iter().enumerate() {
            let s = round(*v, &mut stores[i].1, &mut next[i], batches);
            let total: Duration = s.0.iter().sum();
            rates[i].push(n / total.as_secs_f64());
            per_write[i].push(s.0.map(|d| d.as_secs_f64() * 1e6 / n));
        }
    }
    println!(
        "ledger writes of one booking: {rounds} rounds of {batches} batches of {BATCH}, \
         on {PREFILL} rows already answered (medians)"
    );
    let base = median(&mut rates[0].clone());
    for (i, v) in variants.iter().enumerate() {
        let r = median(&mut rates[i]);
        let us: Vec<f64> = (0..3)
            .map(|k| median(&mut per_write[i].iter().map(|w| w[k]).collect::<Vec<_>>()))
            .collect();
        println!(
            "  {:<28} {r:>8.0} bookings/s ({:.2}x as is): store {:.1} us, mark {:.1} us, answer {:.1} us a booking",
            v.name(),
            r / base,
            us[0],
            us[1],
            us[2],
        );
    }
}
