//! Crash tests: the real binary, killed with SIGKILL at random moments while
//! it applies a plan or imports bookings, against both simulators over real
//! HTTP(S) on loopback. After a restart every plan item is applied exactly
//! once and every granted swipe is booked exactly once.

#[path = "support/exactly_once.rs"]
mod exactly_once;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use astrow_pac::astrow::AstrowClient;
use astrow_pac::cli::sim::settings_for;
use astrow_pac::config;
use astrow_pac::engine::connect::{astrow_client, pac_client};
use astrow_pac::model::parse_pac_ref;
use astrow_pac::pac::PacClient;
use astrow_pac::sim::faults::FaultUpdate;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::db::open_connection;
use astrow_pac::store::{DATABASE_FILE, ledger};
use rand::Rng;
use serde_json::Value;
use tokio::process::{Child, Command};
use tokio::time::Instant;

struct Rig {
    site: RunningSite,
    config: PathBuf,
    store_dir: PathBuf,
    pac: PacClient,
    astrow: AstrowClient,
    dir: tempfile::TempDir,
}

async fn rig(employees: usize) -> Rig {
    rig_with(employees, |_| {}).await
}

async fn rig_with(employees: usize, tune: impl FnOnce(&mut config::Settings)) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = SiteOptions::new(dir.path().join("sim"));
    opts.employees = employees;
    opts.seed = 5;
    let site = RunningSite::start(Which::Both, &opts).await.unwrap();
    let mut settings = settings_for(&site, dir.path());
    tune(&mut settings);
    let config = dir.path().join("astrow-pac.toml");
    config::save(&config, &settings).unwrap();
    Rig {
        pac: pac_client(&settings).unwrap(),
        astrow: astrow_client(&settings).unwrap(),
        store_dir: settings.store.dir.clone().unwrap(),
        site,
        config,
        dir,
    }
}

impl Rig {
    /// The binary with `args` and `--config`; output into files under the test's dir.
    fn spawn(&self, name: &str, args: &[&str]) -> Child {
        let out = std::fs::File::create(self.dir.path().join(format!("{name}.out"))).unwrap();
        let err = std::fs::File::create(self.dir.path().join(format!("{name}.err"))).unwrap();
        Command::new(env!("CARGO_BIN_EXE_astrow-pac"))
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    /// Run the binary to its end (bounded); exit code and stdout.
    async fn run(&self, args: &[&str], within: Duration) -> (Option<i32>, String, String) {
        let out = tokio::time::timeout(
            within,
            Command::new(env!("CARGO_BIN_EXE_astrow-pac"))
                .args(args)
                .arg("--config")
                .arg(&self.config)
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .unwrap_or_else(|_| panic!("astrow-pac {args:?} did not finish within {within:?}"))
        .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn log(&self, name: &str) -> String {
        let read = |ext: &str| {
            std::fs::read_to_string(self.dir.path().join(format!("{name}.{ext}")))
                .unwrap_or_default()
        };
        format!("stdout:\n{}\nstderr:\n{}", read("out"), read("err"))
    }
}

/// SIGKILL (std's kill is SIGKILL on Unix), then reap. Whether it had
/// already ended on its own.
async fn kill9(child: &mut Child) -> bool {
    if let Ok(Some(_)) = child.try_wait() {
        return true;
    }
    child.start_kill().unwrap();
    tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("a killed process is reaped")
        .unwrap();
    false
}

/// How far the apply of a plan got, as its store says.
#[derive(Debug, Clone, Copy)]
struct Applied {
    /// Items whose result is committed.
    done: usize,
    /// Items marked started whose result is not (in flight, or lost by a kill).
    begun: usize,
}

fn applied_so_far(rig: &Rig, plan_id: &str) -> Applied {
    let conn = open_connection(&rig.store_dir.join(DATABASE_FILE)).unwrap();
    conn.query_row(
        "SELECT COUNT(done_at),
                COALESCE(SUM(started_at IS NOT NULL AND done_at IS NULL), 0)
         FROM plan_items WHERE plan_id = ?1",
        [plan_id],
        |r| {
            Ok(Applied {
                done: r.get(0)?,
                begun: r.get(1)?,
            })
        },
    )
    .unwrap()
}

/// Poll `cond` every 5 ms until it holds; panics if the child ends or
/// 120 s pass first (a generous bound: the machine may be loaded, and the
/// child's exit, not the clock, is what tells an apply too fast).
async fn wait_until(child: &mut Child, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !cond() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the apply ended ({status}) before the moment to kill it");
        }
        assert!(Instant::now() < deadline, "no progress in 120 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Employee creates Astrow was asked for (repeats included).
fn posts(rig: &Rig) -> u64 {
    let stats = rig.site.astrow.as_ref().unwrap().2.stats();
    stats
        .by_route
        .get("POST /api/v1/employees")
        .copied()
        .unwrap_or(0)
}

fn random_ms(lo: u64, hi: u64) -> Duration {
    Duration::from_millis(rand::rng().random_range(lo..hi))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_killed_mid_way_resumes_and_applies_each_item_once() {
    let rig = rig(2000).await;
    let (code, out, err) = rig.run(&["plan", "--json"], Duration::from_secs(60)).await;
    assert_eq!(code, Some(2), "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    let plan_id = plan["plan_id"].as_str().unwrap().to_string();
    let items = plan["items"].as_array().unwrap();
    let created_for: Vec<u64> = items
        .iter()
        .filter(|i| i["action"] == "create")
        .map(|i| i["master_id"].as_u64().unwrap())
        .collect();
    let actionable = items.iter().filter(|i| i["action"] != "conflict").count();
    assert!(
        actionable > 500,
        "enough work to kill mid-way: {actionable}"
    );
    let before = rig.astrow.list_employees(true).await.unwrap().len();

    // Kill it at random moments while it applies, every time mid-way: the
    // Astrow simulator answers 2 ms late (about 1,000 items/s at most with
    // 4 in flight), so the apply runs for seconds, and each kill is checked
    // against the store (this round committed results, not every item is
    // done). An apply too fast for the test fails it here, not vacuously.
    // Rounds 0-2 die anywhere (updates and links come first); rounds 3-4
    // once creates are under way, so that some die between a POST and its
    // record in the store.
    let astrow_faults = rig.site.astrow.as_ref().unwrap().2.clone();
    astrow_faults
        .update(FaultUpdate {
            latency_ms: Some(2),
            ..FaultUpdate::default()
        })
        .unwrap();
    let mut killed_mid_way = 0;
    for round in 0..5 {
        let name = format!("apply-{round}");
        let at_start = applied_so_far(&rig, &plan_id);
        let mut child = rig.spawn(&name, &["apply", "--yes", "--plan", &plan_id]);
        let posts_at_start = posts(&rig);
        if round < 3 {
            // Once this round's first results are committed, a random moment.
            wait_until(&mut child, || {
                applied_so_far(&rig, &plan_id).done > at_start.done
            })
            .await;
            tokio::time::sleep(random_ms(0, 200)).await;
        } else {
            let seen = posts(&rig);
            wait_until(&mut child, || posts(&rig) > seen).await;
            tokio::time::sleep(random_ms(0, 40)).await;
        }
        assert!(
            !kill9(&mut child).await,
            "round {round}: the apply ended before it was killed (too fast for this test?)\n{}",
            rig.log(&name)
        );
        let at_kill = applied_so_far(&rig, &plan_id);
        // Mid-apply, by what this round did (the store's totals include the
        // rounds before): rounds 0-2 committed results of their own, rounds
        // 3-4 asked for creates; and not every item is done.
        let progressed = if round < 3 {
            at_kill.done > at_start.done
        } else {
            posts(&rig) > posts_at_start
        };
        assert!(
            progressed && at_kill.done < actionable,
            "round {round}: not killed mid-apply: {at_start:?} before, {at_kill:?} at the kill, {actionable} items"
        );
        killed_mid_way += 1;
        eprintln!(
            "round {round}: killed; {} done, {} begun and not recorded; {} creates asked so far",
            at_kill.done,
            at_kill.begun,
            posts(&rig)
        );
    }
    astrow_faults.clear();
    let posts_killed = posts(&rig);

    // The same plan, resumed, finishes.
    let (code, out, err) = rig
        .run(
            &["apply", "--yes", "--plan", &plan_id],
            Duration::from_secs(120),
        )
        .await;
    assert_eq!(code, Some(0), "resume:\n{out}\n{err}");

    // Exactly once: one Astrow employee per PAC employee named, the creates
    // made once each.
    let astrow = rig.astrow.list_employees(true).await.unwrap();
    assert_eq!(astrow.len(), before + created_for.len());
    let mut by_ref: BTreeMap<u64, usize> = BTreeMap::new();
    for a in &astrow {
        if let Some(id) = parse_pac_ref(a.external_ref.as_deref()) {
            *by_ref.entry(id.0).or_default() += 1;
        }
    }
    let twice: Vec<_> = by_ref.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "PAC employees with two Astrow twins: {twice:?}"
    );
    for id in &created_for {
        assert_eq!(by_ref.get(id), Some(&1), "PAC {id} created once");
    }
    let posts = posts(&rig);
    eprintln!(
        "{actionable} items, {} creates; {killed_mid_way} kills; POST /employees {posts_killed} before the resume, {posts} in all",
        created_for.len()
    );
    assert!(posts >= created_for.len() as u64);
    // Replays after a kill repeat at most the items in flight (4 at a time).
    assert!(
        posts <= created_for.len() as u64 + 4 * killed_mid_way as u64,
        "{posts} POSTs for {} creates",
        created_for.len()
    );
    // The store says the same: every item applied, none stale or failed.
    let store = astrow_pac::store::Store::open_read_only(&rig.store_dir).unwrap();
    let stored = store.load_plan(&plan_id).unwrap();
    let conflicts = stored.items.iter().any(|i| i.action == "conflict");
    if !conflicts {
        assert_eq!(stored.state, astrow_pac::store::PlanState::Applied);
    }
    for i in &stored.items {
        if i.action != "conflict" {
            assert_eq!(
                i.state,
                astrow_pac::store::PlanState::Applied,
                "{} {:?}",
                i.item_id,
                i.detail
            );
        }
    }
    drop(store);
    // Nothing left to do, nothing half done.
    let (code, out, _) = rig.run(&["plan"], Duration::from_secs(60)).await;
    assert_eq!(code, Some(0), "after the resumed apply:\n{out}");
}

/// Astrow holds exactly the granted swipes, each once, and the ledger agrees.
async fn assert_booked_exactly_once(rig: &Rig) {
    exactly_once::assert_exactly_once(&rig.pac, &rig.astrow, &rig.store_dir.join(DATABASE_FILE))
        .await;
}

async fn status(rig: &Rig) -> Option<Value> {
    let (code, out, _) = rig
        .run(&["status", "--json"], Duration::from_secs(20))
        .await;
    if !matches!(code, Some(0 | 2)) {
        return None;
    }
    serde_json::from_str(&out).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_booking_import_killed_at_random_books_each_swipe_once() {
    let rig = rig(40).await;
    let pac = rig.site.pac.as_ref().unwrap().0.clone();
    // Swipes flow the whole time.
    let swiping = {
        let pac = pac.clone();
        tokio::spawn(async move {
            loop {
                pac.swipe(7).await;
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        })
    };
    let rounds = 4;
    for round in 0..rounds {
        let name = format!("run-{round}");
        let mut child = rig.spawn(&name, &["run", "--headless"]);
        tokio::time::sleep(random_ms(400, 2500)).await;
        assert!(
            !kill9(&mut child).await,
            "the engine ended by itself:\n{}",
            rig.log(&name)
        );
        tokio::time::sleep(random_ms(0, 300)).await;
    }
    swiping.abort();
    // And more while no engine runs: the last run starts from a crash with work waiting.
    let last_seq = pac.swipe(200).await;
    // The killed runs did real work: read events and booked some.
    let before = {
        let conn = open_connection(&rig.store_dir.join(DATABASE_FILE)).unwrap();
        ledger::counts(&conn).unwrap()
    };
    assert!(
        before.events > 0 && before.processed + before.queued > 0,
        "the killed engines booked nothing: {before:?}"
    );

    // A last run to quiescence.
    let mut child = rig.spawn("run-final", &["run", "--headless"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = status(&rig).await {
            let b = &v["bookings"];
            if b["pending"] == 0 && b["cursor"].as_u64() == Some(last_seq) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "not quiescent in 60 s (last seq {last_seq}): {b}\n{}",
                rig.log("run-final")
            );
        } else {
            assert!(Instant::now() < deadline, "no status in 60 s");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(!kill9(&mut child).await, "{}", rig.log("run-final"));
    assert_booked_exactly_once(&rig).await;
    let stats = rig.site.astrow.as_ref().unwrap().0.stats();
    eprintln!(
        "before the last run: {before:?}; {last_seq} events; Astrow holds {} bookings; POST /bookings/batch {} times",
        stats.bookings,
        stats
            .requests
            .by_route
            .get("POST /api/v1/bookings/batch")
            .copied()
            .unwrap_or(0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_killed_mid_auto_apply_converges_without_duplicates() {
    let rig = rig_with(2000, |s| {
        s.sync.apply = config::ApplyMode::Auto;
        s.sync.deletion_guard.count = 100_000;
        s.sync.deletion_guard.percent = 100;
    })
    .await;
    // What the first sync must create (the engine plans the same).
    let (code, out, err) = rig.run(&["plan", "--json"], Duration::from_secs(60)).await;
    assert_eq!(code, Some(2), "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    let creates = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == "create")
        .count();
    let before = rig.astrow.list_employees(true).await.unwrap().len();

    // Kill the engine while its auto apply creates employees.
    let mut kills = 0;
    for round in 0..3 {
        let name = format!("engine-{round}");
        let mut child = rig.spawn(&name, &["run", "--headless"]);
        let seen = posts(&rig);
        let deadline = Instant::now() + Duration::from_secs(30);
        while posts(&rig) <= seen && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(random_ms(0, 100)).await;
        assert!(!kill9(&mut child).await, "{}", rig.log(&name));
        kills += 1;
        if posts(&rig) >= creates as u64 {
            break;
        }
    }

    // Restarted, it converges: the next sync finds nothing to write.
    let mut child = rig.spawn("engine-final", &["run", "--headless"]);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let settled = status(&rig).await.is_some_and(|v| {
            v["jobs"].as_array().into_iter().flatten().any(|j| {
                j["job"] == "employees"
                    && j["result"].as_str().is_some_and(|r| {
                        r.starts_with("ok: in step") || r.starts_with("ok: 0 changes planned")
                    })
            })
        });
        if settled {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the engine did not settle in 90 s:\n{}",
            rig.log("engine-final")
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(!kill9(&mut child).await);

    let astrow = rig.astrow.list_employees(true).await.unwrap();
    let mut by_ref: BTreeMap<u64, usize> = BTreeMap::new();
    for a in &astrow {
        if let Some(id) = parse_pac_ref(a.external_ref.as_deref()) {
            *by_ref.entry(id.0).or_default() += 1;
        }
    }
    let twice: Vec<_> = by_ref.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "PAC employees with two Astrow twins: {twice:?}"
    );
    assert_eq!(astrow.len(), before + creates, "each create once");
    eprintln!(
        "{creates} creates, {kills} kills, POST /employees {} times",
        posts(&rig)
    );
    let (code, out, _) = rig.run(&["plan"], Duration::from_secs(60)).await;
    assert_eq!(code, Some(0), "after the restarts:\n{out}");
}

/// Killed while creates run, that is between a group's writes and the
/// commit of their results (results are committed in batches): after the
/// resume nothing was created twice, nothing is missing, and every write
/// to either system is in the audit log (the create in Astrow and the
/// external_ref it sets in PAC), including those whose result the kill lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_killed_before_its_results_commit_loses_no_audit_entry() {
    let rig = rig(1500).await;
    let (code, out, err) = rig.run(&["plan", "--json"], Duration::from_secs(60)).await;
    assert_eq!(code, Some(2), "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    let plan_id = plan["plan_id"].as_str().unwrap().to_string();
    let items = plan["items"].as_array().unwrap();
    let created_for: Vec<u64> = items
        .iter()
        .filter(|i| i["action"] == "create")
        .map(|i| i["master_id"].as_u64().unwrap())
        .collect();
    assert!(
        created_for.len() > 100,
        "enough creates: {}",
        created_for.len()
    );
    // The field writes (updates, links that change a field): each to the
    // target's record.
    let field_writes: Vec<(String, String, u64)> = items
        .iter()
        .filter(|i| {
            matches!(
                i["action"].as_str(),
                Some("update" | "link" | "remove_badges")
            ) && i["changes"].as_array().is_some_and(|c| !c.is_empty())
        })
        .map(|i| {
            // A write to the master (its external_ref) names the master's
            // record; any other, the slave's.
            let id = if i["target"] == plan["master"] {
                &i["master_id"]
            } else {
                &i["slave_id"]
            };
            (
                i["action"].as_str().unwrap().to_string(),
                i["target"].as_str().unwrap().to_string(),
                id.as_u64().unwrap(),
            )
        })
        .collect();
    assert!(!field_writes.is_empty(), "field writes to check");
    let mut kills = 0u64;
    // First killed among the field writes (they come before the creates),
    // once a result is committed, at a random moment inside the batch window.
    {
        let mut child = rig.spawn("apply-early", &["apply", "--yes", "--plan", &plan_id]);
        wait_until(&mut child, || applied_so_far(&rig, &plan_id).done > 0).await;
        tokio::time::sleep(random_ms(0, 60)).await;
        if !kill9(&mut child).await {
            kills += 1;
        }
    }
    for round in 0..3 {
        let name = format!("apply-{round}");
        let mut child = rig.spawn(&name, &["apply", "--yes", "--plan", &plan_id]);
        // Wait for a few creates past the last kill, then die inside the
        // batch window (results wait up to 64 items or 100 ms).
        let seen = posts(&rig);
        let deadline = Instant::now() + Duration::from_secs(30);
        while posts(&rig) < seen + 10 && Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(random_ms(0, 60)).await;
        if kill9(&mut child).await {
            break;
        }
        kills += 1;
    }
    assert!(kills > 0, "the apply was never killed mid-way");
    let (code, out, err) = rig
        .run(
            &["apply", "--yes", "--plan", &plan_id],
            Duration::from_secs(120),
        )
        .await;
    assert_eq!(code, Some(0), "resume:\n{out}\n{err}");

    // Nothing twice, nothing lost.
    let astrow = rig.astrow.list_employees(true).await.unwrap();
    let mut twin_of: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for a in &astrow {
        if let Some(id) = parse_pac_ref(a.external_ref.as_deref()) {
            twin_of.entry(id.0).or_default().push(a.pers_no.0);
        }
    }
    for id in &created_for {
        assert_eq!(
            twin_of.get(id).map(Vec::len),
            Some(1),
            "PAC {id} created once"
        );
    }
    assert!(posts(&rig) <= created_for.len() as u64 + 4 * kills);

    // Every write audited.
    let store = astrow_pac::store::Store::open_read_only(&rig.store_dir).unwrap();
    let audit = store.audit_log(1_000_000).unwrap();
    let audited = |system: &str, action: &str, id: u64| {
        audit.iter().any(|e| {
            e.record.system.as_str() == system
                && e.record.action == action
                && e.record.record == format!("employee {id}")
                && e.record.result.starts_with("ok")
        })
    };
    for id in &created_for {
        let pers_no = twin_of[id][0];
        assert!(
            audited("astrow", "create", pers_no),
            "the create of Astrow {pers_no} (for PAC {id}) is not audited"
        );
        assert!(
            audited("pac", "update", *id),
            "PAC {id}'s external_ref write is not audited"
        );
    }
    for (action, system, id) in &field_writes {
        assert!(
            audited(system, action, *id),
            "the {action} of {system} {id} is not audited"
        );
    }
}

/// Astrow's answered writes to employees (creates and updates).
fn astrow_writes(rig: &Rig) -> u64 {
    let stats = rig.site.astrow.as_ref().unwrap().2.stats();
    stats
        .by_route
        .iter()
        .filter(|(r, _)| r.starts_with("PUT ") || r.starts_with("POST "))
        .map(|(_, n)| n)
        .sum()
}

/// Killed mid-apply, then `sync.match_key` edited: `apply --plan` does not
/// resume the plan made under the old setting. It checks what the killed
/// apply began (no write), voids the plan naming the setting, and leaves
/// nothing marked started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_killed_then_resumed_under_another_match_key_is_void() {
    let rig = rig(2000).await;
    let (code, out, err) = rig.run(&["plan", "--json"], Duration::from_secs(60)).await;
    assert_eq!(code, Some(2), "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    let plan_id = plan["plan_id"].as_str().unwrap().to_string();
    let faults = rig.site.astrow.as_ref().unwrap().2.clone();
    faults
        .update(FaultUpdate {
            latency_ms: Some(2),
            ..FaultUpdate::default()
        })
        .unwrap();
    let mut child = rig.spawn("apply", &["apply", "--yes", "--plan", &plan_id]);
    wait_until(&mut child, || applied_so_far(&rig, &plan_id).done > 0).await;
    tokio::time::sleep(random_ms(0, 60)).await;
    assert!(
        !kill9(&mut child).await,
        "killed mid-apply\n{}",
        rig.log("apply")
    );
    faults.clear();
    let mut settings = config::load(&rig.config).unwrap().settings;
    settings.sync.match_key = config::MatchKey::BadgeNumber;
    config::save(&rig.config, &settings).unwrap();

    let writes = astrow_writes(&rig);
    let (code, out, err) = rig
        .run(
            &["apply", "--yes", "--plan", &plan_id],
            Duration::from_secs(120),
        )
        .await;
    assert_eq!(code, Some(1), "void, not applied:\n{out}\n{err}");
    assert!(
        err.contains("void") && err.contains("sync.match_key"),
        "{err}"
    );
    assert_eq!(astrow_writes(&rig), writes, "nothing written");
    let store = astrow_pac::store::Store::open_read_only(&rig.store_dir).unwrap();
    let stored = store.load_plan(&plan_id).unwrap();
    assert_eq!(stored.state, astrow_pac::store::PlanState::Stale);
    let marked: Vec<_> = stored
        .items
        .iter()
        .filter(|i| i.started_at.is_some() && i.done_at.is_none())
        .map(|i| i.item_id.as_str())
        .collect();
    assert!(marked.is_empty(), "left marked started: {marked:?}");
    assert!(store.interrupted_plans().unwrap().is_empty());
}
