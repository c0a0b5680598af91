//! Crash test of the Astrow -> PAC bookings: the real binary (`run
//! --headless`) killed with SIGKILL at random moments while Astrow's web and
//! mobile bookings arrive and 20 % of requests fail or lose their answer.
//! After a last run, PAC's stored external events equal Astrow's non-PAC
//! bookings by `source_id`, each once (those PAC rejected kept with reason).

#[allow(dead_code)]
#[path = "support/a2p.rs"]
mod a2p;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use astrow_pac::cli::sim::settings_for;
use astrow_pac::config;
use astrow_pac::engine::connect::pac_client;
use astrow_pac::pac::PacClient;
use astrow_pac::sim::faults::FaultUpdate;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::DATABASE_FILE;
use astrow_pac::store::astrow_ledger;
use astrow_pac::store::db::open_connection;
use rand::Rng;
use serde_json::Value;
use tokio::process::{Child, Command};
use tokio::time::Instant;

struct Rig {
    site: RunningSite,
    config: PathBuf,
    store_dir: PathBuf,
    pac: PacClient,
    dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = SiteOptions::new(dir.path().join("sim"));
    opts.employees = 40;
    opts.seed = 5;
    let site = RunningSite::start(Which::Both, &opts).await.unwrap();
    let mut settings = settings_for(&site, dir.path());
    settings.bookings.astrow_to_pac = true;
    // PAC's swipes are not what this test is about.
    settings.bookings.enabled = false;
    let config = dir.path().join("astrow-pac.toml");
    config::save(&config, &settings).unwrap();
    let rig = Rig {
        pac: pac_client(&settings).unwrap(),
        store_dir: settings.store.dir.clone().unwrap(),
        site,
        config,
        dir,
    };
    let astrow = &rig.site.astrow.as_ref().unwrap().0;
    assert!(a2p::link_seeded(&rig.store_dir, astrow, &rig.pac).await > 0);
    rig
}

impl Rig {
    fn spawn(&self, name: &str) -> Child {
        let out = std::fs::File::create(self.dir.path().join(format!("{name}.out"))).unwrap();
        let err = std::fs::File::create(self.dir.path().join(format!("{name}.err"))).unwrap();
        Command::new(env!("CARGO_BIN_EXE_astrow-pac"))
            .args(["run", "--headless", "--config"])
            .arg(&self.config)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    fn log(&self, name: &str) -> String {
        let read = |ext: &str| {
            std::fs::read_to_string(self.dir.path().join(format!("{name}.{ext}")))
                .unwrap_or_default()
        };
        format!("stdout:\n{}\nstderr:\n{}", read("out"), read("err"))
    }

    async fn status(&self) -> Option<Value> {
        let out = tokio::time::timeout(
            Duration::from_secs(20),
            Command::new(env!("CARGO_BIN_EXE_astrow-pac"))
                .args(["status", "--json", "--config"])
                .arg(&self.config)
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .ok()?
        .ok()?;
        serde_json::from_slice(&out.stdout).ok()
    }

    fn lossy(&self, on: bool) {
        let u = FaultUpdate {
            error_rate: Some(if on { 0.2 } else { 0.0 }),
            drop_rate: Some(if on { 0.2 } else { 0.0 }),
            ..FaultUpdate::default()
        };
        self.site
            .pac
            .as_ref()
            .unwrap()
            .0
            .faults()
            .update(u.clone())
            .unwrap();
        self.site.astrow.as_ref().unwrap().2.update(u).unwrap();
    }
}

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

fn random_ms(lo: u64, hi: u64) -> Duration {
    Duration::from_millis(rand::rng().random_range(lo..hi))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn astrow_bookings_go_to_pac_once_through_kills_errors_and_lost_replies() {
    let rig = rig().await;
    let astrow = rig.site.astrow.as_ref().unwrap().0.clone();
    astrow.own_bookings(200, None);
    let booking = {
        let astrow = astrow.clone();
        tokio::spawn(async move {
            loop {
                astrow.own_bookings(4, None);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    rig.lossy(true);
    for round in 0..4 {
        let name = format!("run-{round}");
        let mut child = rig.spawn(&name);
        tokio::time::sleep(random_ms(800, 3000)).await;
        assert!(
            !kill9(&mut child).await,
            "the engine ended by itself:\n{}",
            rig.log(&name)
        );
        tokio::time::sleep(random_ms(0, 300)).await;
    }
    booking.abort();
    astrow.own_bookings(100, None);
    let pac_faults = rig.site.pac.as_ref().unwrap().0.faults().stats();
    let before = {
        let conn = open_connection(&rig.store_dir.join(DATABASE_FILE)).unwrap();
        astrow_ledger::tally(&conn, false).unwrap()
    };
    assert!(
        before.stored + before.duplicate > 0,
        "the killed engines sent nothing: {before:?}"
    );
    // The last run, still lossy, to quiescence.
    let last = astrow.stored_bookings().last().unwrap().booking_id;
    let mut child = rig.spawn("run-final");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(v) = rig.status().await {
            let a = &v["astrow_to_pac"];
            if a["pending"] == a["waiting_for_link"] && a["cursor"].as_u64() == Some(last) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "not quiescent in 90 s (last booking {last}): {a}\n{}",
                rig.log("run-final")
            );
        } else {
            assert!(Instant::now() < deadline, "no status in 90 s");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(!kill9(&mut child).await, "{}", rig.log("run-final"));
    rig.lossy(false);
    let pac_sim = &rig.site.pac.as_ref().unwrap().0;
    let (stored, rejected) = a2p::assert_exactly_once(
        &astrow,
        pac_sim,
        &rig.pac,
        &rig.store_dir.join(DATABASE_FILE),
        true,
    )
    .await;
    let conn = open_connection(&rig.store_dir.join(DATABASE_FILE)).unwrap();
    let after = astrow_ledger::tally(&conn, false).unwrap();
    eprintln!(
        "before the last run {before:?}; after {after:?}; {stored} in PAC, {rejected} rejected; \
         PAC faults during the kills {:?}",
        pac_faults.faults
    );
}
