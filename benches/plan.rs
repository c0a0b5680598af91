//! Plan computation for 100,000 employees on each side with 1 % changed
//! (600 renamed, 200 new on the master, 200 gone from it), both master modes,
//! and its ratio to a bound measured in the same run: a `HashMap<u64, u64>`
//! of 100,000 keys built and probed 100,000 times (a fast multiplicative
//! hasher), the least any plan that matches two sides by key must do.
//! Each master is planned twice in the same run: without record prints (the
//! slow path, field by field) and with them (the fast path: the plan the
//! engine makes, which prints each listing once where it is read, in
//! `engine/jobs/employees.rs`), and the cost of fingerprinting both listings
//! (paid once per sync at read, outside the plan) is printed apart.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::hint::black_box;

use astrow_pac::engine::plan::{
    Listing, MatchKey, PlanInput, PlanSettings, listing_prints, plan_employees,
};
use astrow_pac::model::{
    AstrowEmployee, Badge, BadgeType, Link, LinkOrigin, PacEmployee, PacId, PersNo, System,
};
use chrono::{DateTime, NaiveDate};
use criterion::{Criterion, criterion_group, criterion_main};

const EMPLOYEES: u64 = 100_000;

/// A site where PAC and Astrow are in step for either master, then 1 % drift.
fn site(master: System) -> PlanInput {
    let start = NaiveDate::from_ymd_opt(2024, 3, 1);
    let at = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
    let mut pac = Vec::with_capacity(EMPLOYEES as usize);
    let mut astrow = Vec::with_capacity(EMPLOYEES as usize);
    let mut links = Vec::with_capacity(EMPLOYEES as usize);
    for i in 0..EMPLOYEES {
        let (id, pers_no) = (PacId(100_000 + i), PersNo(1 + i));
        let badge = format!("{:08X}", 0x00A0_0000 + i);
        let groups = vec![1 + (i % 7) as u32];
        let badge_type = BadgeType::ALL[(i % 3) as usize];
        pac.push(PacEmployee {
            id,
            first_name: format!("First{i}"),
            last_name: format!("Last{i}"),
            employee_number: format!("E-{i:06}"),
            active: true,
            valid_from: start,
            valid_until: None,
            access_group_ids: groups.clone(),
            badges: vec![Badge {
                number: badge.clone(),
                badge_type,
                active: true,
            }],
            external_ref: Some(format!("astrow:{}", pers_no.0)),
            version: 3,
        });
        astrow.push(AstrowEmployee {
            pers_no,
            employee_no: format!("E-{i:06}"),
            first_name: format!("First{i}"),
            middle_name: String::new(),
            last_name: format!("Last{i}"),
            badge_no: Some(badge),
            active: true,
            contract_start: start,
            contract_end: None,
            cycle_code: "STD".into(),
            paygroup_code: "MONTHLY".into(),
            pac_access_group_ids: groups,
            pac_badge_type: Some(badge_type),
            external_ref: Some(format!("pac:{}", id.0)),
            version: 5,
        });
        links.push(Link {
            pac_id: id,
            pers_no,
            origin: LinkOrigin::Created,
            at,
        });
    }
    // 1 % drift on the master's side.
    let step = 100;
    match master {
        System::Pac => {
            for e in pac.iter_mut().step_by(step).take(600) {
                e.last_name.push_str("-Renamed");
            }
            pac.truncate(pac.len() - 200);
            for i in 0..200u64 {
                let mut e = pac[0].clone();
                e.id = PacId(900_000 + i);
                e.employee_number = format!("N-{i}");
                e.badges[0].number = format!("{:08X}", 0x0F00_0000 + i);
                e.external_ref = None;
                pac.push(e);
            }
        }
        System::Astrow => {
            for e in astrow.iter_mut().step_by(step).take(600) {
                e.last_name.push_str("-Renamed");
            }
            astrow.truncate(astrow.len() - 200);
            for i in 0..200u64 {
                let mut e = astrow[0].clone();
                e.pers_no = PersNo(900_000 + i);
                e.employee_no = format!("N-{i}");
                e.badge_no = Some(format!("{:08X}", 0x0F00_0000 + i));
                e.external_ref = None;
                astrow.push(e);
            }
        }
    }
    PlanInput {
        pac: Listing::complete(pac),
        astrow: Listing::complete(astrow),
        links,
        suppressions: Vec::new(),
        today: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default(),
        settings: PlanSettings {
            master,
            delete_employees_on_sync: false,
            sync_inactive_employees: false,
            match_key: MatchKey::EmployeeNumber,
            default_cycle_code: "STD".into(),
            default_paygroup_code: "MONTHLY".into(),
            pac_default_access_group_id: Some(1),
            pac_access_group_ids: None,
            guard_count: 10,
            guard_percent: 5,
        },
    }
}

/// A fast hasher for `u64` keys (a multiply, as FxHash does).
#[derive(Default)]
struct MulHasher(u64);

impl Hasher for MulHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// The bound: one side's keys into a map, the other side's looked up.
fn hashmap_bound(keys: &[u64], probes: &[u64]) -> u64 {
    let mut map: HashMap<u64, u64, BuildHasherDefault<MulHasher>> =
        HashMap::with_capacity_and_hasher(keys.len(), Default::default());
    for (i, k) in keys.iter().enumerate() {
        map.insert(*k, i as u64);
    }
    probes.iter().filter_map(|p| map.get(p)).sum()
}

fn bench_plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan_employees_100k_1pct_changed");
    group.sample_size(20);
    let keys: Vec<u64> = (0..EMPLOYEES).map(|i| 100_000 + i).collect();
    let probes: Vec<u64> = (0..EMPLOYEES)
        .map(|i| 100_000 + i * 7 % EMPLOYEES)
        .collect();
    let bound = cpu_time_per_run(1000, || hashmap_bound(black_box(&keys), black_box(&probes)));
    if let Some(b) = bound {
        eprintln!(
            "bound: HashMap<u64,u64> build of 100,000 and 100,000 probes: CPU time {b:.2} ms"
        );
    }
    group.bench_function("hashmap_u64_bound", |b| {
        b.iter(|| hashmap_bound(black_box(&keys), black_box(&probes)))
    });
    for master in [System::Pac, System::Astrow] {
        // `slow`: listings without prints, every linked pair compared field
        // by field (the planner before the fast path); `fast`: the same
        // listings fingerprinted once, as the engine reads them.
        let slow = site(master);
        let mut fast = slow.clone();
        fast.pac = Listing::complete(slow.pac.items.clone()).with_prints();
        fast.astrow = Listing::complete(slow.astrow.items.clone()).with_prints();
        // What the plan holds, so a broken fixture shows up as such.
        if let (Ok(plan), Ok(same)) = (plan_employees(&slow), plan_employees(&fast)) {
            eprintln!(
                "master {master}: {} items, {} destructive, held: {}, fast path plans the same: {}",
                plan.items.len(),
                plan.destructive_count(),
                plan.held.is_some(),
                plan == same
            );
        }
        let prints = cpu_time_per_run(100, || {
            (
                listing_prints(black_box(&slow.pac.items)),
                listing_prints(black_box(&slow.astrow.items)),
            )
        });
        let old = cpu_time_per_run(100, || plan_employees(black_box(&slow)));
        let new = cpu_time_per_run(100, || plan_employees(black_box(&fast)));
        if let (Some(prints), Some(old), Some(new), Some(b)) =
            (prints, old, new, bound.filter(|b| *b > 0.0))
        {
            eprintln!(
                "master {master}: CPU time per plan (load-independent): slow path {old:.1} ms = {:.1}x the bound; \
                 fast path {new:.1} ms = {:.1}x (goal <= 3x); fingerprinting both listings {prints:.1} ms; \
                 fast path + fingerprinting {:.1} ms = {:.1}x; fast / slow {:.2}x, with fingerprinting {:.2}x",
                old / b,
                new / b,
                new + prints,
                (new + prints) / b,
                new / old,
                (new + prints) / old
            );
        }
        group.bench_function(format!("master_{}_slow", master.as_str()), |b| {
            b.iter(|| plan_employees(black_box(&slow)))
        });
        group.bench_function(format!("master_{}_fast", master.as_str()), |b| {
            b.iter(|| plan_employees(black_box(&fast)))
        });
        group.bench_function(format!("master_{}_fingerprinting", master.as_str()), |b| {
            b.iter(|| {
                (
                    listing_prints(black_box(&slow.pac.items)),
                    listing_prints(black_box(&slow.astrow.items)),
                )
            })
        });
    }
    group.finish();
}

/// The CPU time in milliseconds this thread spends per run of `f` (over
/// `runs` runs), from
/// /proc (Linux): wall time on a machine shared with other builds says more
/// about them than about us.
fn cpu_time_per_run<R>(runs: u32, mut f: impl FnMut() -> R) -> Option<f64> {
    let before = thread_cpu_ticks()?;
    for _ in 0..runs {
        let _ = black_box(f());
    }
    let after = thread_cpu_ticks()?;
    // Clock ticks are 1/100 s on Linux.
    Some((after - before) as f64 * 10.0 / f64::from(runs))
}

fn thread_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

criterion_group!(benches, bench_plan);
criterion_main!(benches);
