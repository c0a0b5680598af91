//! What the employee rows hold in memory at site scale, counted with a
//! counting allocator: the seeded site of `sim both --employees N`
//! (default 100,000 a side, `ROWS_EMPLOYEES` chooses), its first-sync plan
//! with PAC master, and the rows the engine keeps from it
//! (`views::employee_rows`), against the same rows made as they were
//! before in the same run: a copy of both model records and the
//! differences as a list of strings.
//!
//! Printed per shape: the bytes asked of the allocator, the allocations
//! held, and an estimate of what they occupy in a glibc heap (each block
//! rounded up to 16 bytes with its 8-byte header, at least 32), which is
//! nearer to resident memory than the bytes asked for.
//! `cargo bench --bench rows`.

use std::alloc::{GlobalAlloc, Layout, System as SystemAlloc};
use std::sync::atomic::{AtomicIsize, Ordering};

use astrow_pac::engine::plan::{
    EmployeePairing, Listing, MatchKey, Plan, PlanInput, PlanSettings, plan_and_pair_employees,
};
use astrow_pac::engine::snapshot::{EmployeeRow, RowKind};
use astrow_pac::engine::views::employee_rows;
use astrow_pac::model::{AstrowEmployee, PacEmployee, System};
use astrow_pac::sim::{seed, seed_astrow};

/// The system allocator, counting what is held.
struct Counting;

static BYTES: AtomicIsize = AtomicIsize::new(0);
static BLOCKS: AtomicIsize = AtomicIsize::new(0);
static HEAP: AtomicIsize = AtomicIsize::new(0);

/// What a block of `size` bytes occupies in a glibc heap.
fn heap_size(size: usize) -> isize {
    ((size + 8).div_ceil(16) * 16).max(32) as isize
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        BLOCKS.fetch_add(1, Ordering::Relaxed);
        HEAP.fetch_add(heap_size(layout.size()), Ordering::Relaxed);
        // SAFETY: the caller's layout, passed on unchanged.
        unsafe { SystemAlloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        BLOCKS.fetch_sub(1, Ordering::Relaxed);
        HEAP.fetch_sub(heap_size(layout.size()), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { SystemAlloc.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[derive(Clone, Copy)]
struct Held {
    bytes: isize,
    blocks: isize,
    heap: isize,
}

fn held() -> Held {
    Held {
        bytes: BYTES.load(Ordering::Relaxed),
        blocks: BLOCKS.load(Ordering::Relaxed),
        heap: HEAP.load(Ordering::Relaxed),
    }
}

/// What making `f`'s value left held, and the value.
fn counted<T>(f: impl FnOnce() -> T) -> (T, Held) {
    let before = held();
    let value = f();
    let after = held();
    let d = Held {
        bytes: after.bytes - before.bytes,
        blocks: after.blocks - before.blocks,
        heap: after.heap - before.heap,
    };
    (value, d)
}

/// A row as it was: both model records copied, differences as strings.
#[allow(dead_code)]
struct RowBefore {
    kind: RowKind,
    pac: Option<PacEmployee>,
    astrow: Option<AstrowEmployee>,
    differences: Vec<String>,
}

fn rows_before(rows: &[EmployeeRow]) -> Vec<RowBefore> {
    rows.iter()
        .map(|r| RowBefore {
            kind: r.kind,
            pac: r.pac.as_ref().map(|p| p.to_employee()),
            astrow: r.astrow.as_ref().map(|a| a.to_employee()),
            differences: r.differences.names().map(String::from).collect(),
        })
        .collect()
}

fn plan_of(pac: &[PacEmployee], astrow: &[AstrowEmployee]) -> (Plan, EmployeePairing) {
    let input = PlanInput {
        pac: Listing::complete(pac.to_vec()),
        astrow: Listing::complete(astrow.to_vec()),
        links: vec![],
        suppressions: vec![],
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default(),
        settings: PlanSettings {
            master: System::Pac,
            delete_employees_on_sync: false,
            sync_inactive_employees: false,
            match_key: MatchKey::EmployeeNumber,
            default_cycle_code: "STD".into(),
            default_paygroup_code: "MONTHLY".into(),
            pac_default_access_group_id: Some(seed::DEFAULT_GROUP_ID),
            pac_access_group_ids: None,
            guard_count: 0,
            guard_percent: 0,
        },
    };
    match plan_and_pair_employees(&input) {
        Ok(made) => made,
        Err(e) => panic!("no plan of the seeded site: {e}"),
    }
}

fn show(what: &str, rows: usize, h: Held) {
    let mb = |b: isize| b as f64 / 1e6;
    println!(
        "{what}: {:.1} MB asked for ({:.0} B a row), {} allocations ({:.1} a row), about {:.1} MB of heap",
        mb(h.bytes),
        h.bytes as f64 / rows as f64,
        h.blocks,
        h.blocks as f64 / rows as f64,
        mb(h.heap),
    );
}

fn main() {
    let employees: usize = std::env::var("ROWS_EMPLOYEES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(100_000);
    let site = seed::pac_site(1, employees);
    let astrow = seed_astrow::astrow_site(1, &site);
    let (plan, pairing) = plan_of(&site.employees, &astrow.employees);
    let (rows, now) = counted(|| {
        employee_rows(
            &site.employees,
            &astrow.employees,
            &pairing,
            Some(&plan),
            System::Pac,
        )
    });
    let (before, was) = counted(|| rows_before(&rows));
    println!(
        "{employees} employees a side (seeded as `sim both`), {} rows, {} with differences; a row is {} bytes, was {}",
        rows.len(),
        rows.iter().filter(|r| !r.differences.is_empty()).count(),
        std::mem::size_of::<EmployeeRow>(),
        std::mem::size_of::<RowBefore>(),
    );
    show(
        "rows as they were (model records, differences as strings)",
        rows.len(),
        was,
    );
    show(
        "rows now (compact records, differences as bits)",
        rows.len(),
        now,
    );
    println!(
        "ratio now/before: {:.2} of the bytes asked for, {:.2} of the allocations, {:.2} of the heap",
        now.bytes as f64 / was.bytes as f64,
        now.blocks as f64 / was.blocks as f64,
        now.heap as f64 / was.heap as f64,
    );
    drop(before);
}
