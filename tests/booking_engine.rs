//! The booking import inside the running engine, against both simulators
//! over real HTTP(S) on loopback: readers added or changed in PAC reach
//! Astrow's mirror and their bookings, without a storm of definitions runs.

use std::time::Duration;

use astrow_pac::astrow::AstrowClient;
use astrow_pac::cli::sim::settings_for;
use astrow_pac::config::{Master, Settings};
use astrow_pac::engine::command::Command;
use astrow_pac::engine::connect::{astrow_client, pac_client};
use astrow_pac::engine::handle::EngineHandle;
use astrow_pac::engine::runtime::{EngineOptions, RunningEngine, start};
use astrow_pac::model::{Direction, Reader};
use astrow_pac::pac::PacClient;
use astrow_pac::sim::pac::PacSim;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::db::open_connection;
use astrow_pac::store::ledger;

struct Rig {
    site: RunningSite,
    settings: Settings,
    pac: PacClient,
    astrow: AstrowClient,
    dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = SiteOptions::new(dir.path().join("sim"));
    opts.employees = 30;
    let site = RunningSite::start(Which::Both, &opts).await.unwrap();
    let mut settings = settings_for(&site, dir.path());
    // Astrow is master and nothing is applied: no PAC employee waits for a
    // link, so only the readers decide when a booking goes.
    settings.sync.master = Master::Astrow;
    let pac = pac_client(&settings).unwrap();
    let astrow = astrow_client(&settings).unwrap();
    Rig {
        site,
        settings,
        pac,
        astrow,
        dir,
    }
}

impl Rig {
    fn sim(&self) -> &PacSim {
        &self.site.pac.as_ref().unwrap().0
    }

    async fn start(&self, settings: Settings) -> (EngineHandle, RunningEngine) {
        start(EngineOptions {
            settings,
            config_path: self.dir.path().join("astrow-pac.toml"),
            read_only: false,
            demo: false,
        })
        .await
        .unwrap()
    }

    /// How often the definitions job has run: each run reads Astrow's
    /// access group mirror, which nothing else reads.
    fn definitions_runs(&self) -> u64 {
        let stats = self.site.astrow.as_ref().unwrap().2.stats();
        stats
            .by_route
            .get("GET /api/v1/pac/access-groups")
            .copied()
            .unwrap_or(0)
    }

    fn counts(&self) -> ledger::Counts {
        let db = self
            .dir
            .path()
            .join("store")
            .join(astrow_pac::store::DATABASE_FILE);
        ledger::counts(&open_connection(&db).unwrap()).unwrap()
    }

    async fn mirrored(&self) -> Vec<Reader> {
        self.astrow.readers().await.unwrap_or_default()
    }
}

async fn wait_for(what: &str, within: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn stop(handle: EngineHandle, engine: RunningEngine) {
    let _ = handle.commands.send(Command::Shutdown).await;
    tokio::time::timeout(Duration::from_secs(20), engine.join())
        .await
        .expect("the engine stops");
}

fn new_reader(id: u32, serial: &str) -> Reader {
    Reader {
        id,
        name: format!("New door {id}"),
        controller_id: 1,
        controller_name: "Lobby".into(),
        serial: serial.into(),
        direction: Direction::In,
        online: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_added_in_pac_holds_back_nothing_and_runs_the_definitions_job_once_more() {
    let rig = rig().await;
    let (handle, engine) = rig.start(rig.settings.clone()).await;
    let pac_readers = rig.pac.readers().await.unwrap();
    wait_for("the first mirror", Duration::from_secs(20), async || {
        rig.mirrored().await.len() == pac_readers.len()
    })
    .await;
    assert_eq!(rig.definitions_runs(), 1);
    // A door added in PAC after the definitions job ran; 500 swipes on it
    // first, then 1,000 on the doors Astrow knows.
    rig.sim().set_reader(new_reader(900, "R-NEW-900")).await;
    rig.sim().swipe_on(900, 500).await;
    for i in 0..1000 {
        rig.sim()
            .swipe_on(pac_readers[i % pac_readers.len()].id, 1)
            .await;
    }
    wait_for(
        "all 1,500 bookings delivered",
        Duration::from_secs(60),
        async || {
            let c = rig.counts();
            c.pending == 0 && c.processed + c.queued + c.duplicate == 1500
        },
    )
    .await;
    assert_eq!(rig.counts().rejected, 0);
    assert!(
        rig.mirrored().await.iter().any(|r| r.serial == "R-NEW-900"),
        "the new reader is mirrored"
    );
    // Quiet afterwards: no definitions run per second while nothing waits.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let runs = rig.definitions_runs();
    assert!(runs <= 2, "the definitions job ran {runs} times");
    stop(handle, engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serial_changed_in_pac_reaches_the_mirror_within_one_definitions_interval() {
    let rig = rig().await;
    let mut settings = rig.settings.clone();
    settings.sync.definitions_interval_s = 5;
    let (handle, engine) = rig.start(settings).await;
    let pac_readers = rig.pac.readers().await.unwrap();
    wait_for("the first mirror", Duration::from_secs(20), async || {
        rig.mirrored().await.len() == pac_readers.len()
    })
    .await;
    // Swipes on the reader before its serial changes.
    let door = pac_readers[0].clone();
    rig.sim().swipe_on(door.id, 20).await;
    wait_for(
        "the first swipes booked",
        Duration::from_secs(20),
        async || {
            let c = rig.counts();
            c.pending == 0 && c.processed + c.queued == 20
        },
    )
    .await;
    let changed = Reader {
        serial: format!("{}-B", door.serial),
        ..door.clone()
    };
    rig.sim().set_reader(changed.clone()).await;
    let at = tokio::time::Instant::now();
    wait_for(
        "the changed serial in Astrow's mirror",
        Duration::from_secs(15),
        async || {
            rig.mirrored()
                .await
                .iter()
                .any(|r| r.serial == changed.serial)
        },
    )
    .await;
    // One interval (5 s), plus the run itself on a loaded machine.
    assert!(at.elapsed() <= Duration::from_secs(8), "{:?}", at.elapsed());
    // Swipes on the changed reader are booked under its new serial.
    rig.sim().swipe_on(door.id, 20).await;
    wait_for(
        "the later swipes booked",
        Duration::from_secs(30),
        async || {
            let c = rig.counts();
            c.pending == 0 && c.processed + c.queued == 40
        },
    )
    .await;
    assert_eq!(rig.counts().rejected, 0);
    stop(handle, engine).await;
    let stored = rig.astrow.list_bookings(None).await.unwrap();
    let under_new = stored
        .iter()
        .filter(|b| b.booking.terminal_serial == changed.serial)
        .count();
    assert_eq!(under_new, 20);
}
