//! Answers as real installations send them (protocol.md): optional fields
//! null or missing, one unreadable record per listing. The simulator's
//! `real_data` fault makes them; the connectors read the rest, set the bad
//! record aside, and nothing is planned as gone for it.

#[path = "support/exactly_once.rs"]
#[allow(dead_code)]
mod exactly_once;

use std::sync::Arc;
use std::time::Duration;

use astrow_pac::astrow::AstrowClient;
use astrow_pac::cli::sim::settings_for;
use astrow_pac::config::Settings;
use astrow_pac::engine::apply::{ApplyCtx, apply_plan};
use astrow_pac::engine::bookings::classify::BookingRules;
use astrow_pac::engine::bookings::reader::ReadLimits;
use astrow_pac::engine::bookings::{BookingImport, ImportConfig};
use astrow_pac::engine::connect::{astrow_client, pac_client};
use astrow_pac::engine::jobs::employees::{compute_plan, new_plan};
use astrow_pac::engine::people::People;
use astrow_pac::engine::store_handle::StoreHandle;
use astrow_pac::model::{PacId, Seq};
use astrow_pac::pac::PacClient;
use astrow_pac::sim::faults::FaultUpdate;
use astrow_pac::sim::real_data::{UNREADABLE_AT, UNREADABLE_EVERY};
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::db::open_connection;
use astrow_pac::store::{PlanState, Selection, Store, ledger};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

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
    opts.employees = 40;
    let site = RunningSite::start(Which::Both, &opts).await.unwrap();
    let settings = settings_for(&site, dir.path());
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
    fn real_data(&self, on: bool) {
        self.site
            .pac
            .as_ref()
            .unwrap()
            .0
            .faults()
            .update(FaultUpdate {
                real_data: Some(on),
                ..Default::default()
            })
            .unwrap();
    }

    fn store(&self) -> StoreHandle {
        StoreHandle::new(Store::open(&self.dir.path().join("store")).unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn employee_and_reader_listings_read_the_rest_and_set_one_aside() {
    let rig = rig().await;
    let clean = rig.pac.list_employees().await.unwrap();
    let clean_readers = rig.pac.readers().await.unwrap();
    rig.real_data(true);
    let (read, aside) = rig.pac.list_employees_tolerant().await.unwrap();
    assert_eq!(read.len(), clean.len() - 1);
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(aside[0].id, Some(clean[0].id.0));
    // Null and missing optional fields read as absent: the same records.
    assert_eq!(read, clean[1..].to_vec());
    let (readers, aside) = rig.pac.readers_tolerant().await.unwrap();
    assert_eq!(readers, clean_readers[1..].to_vec());
    assert_eq!(aside.len(), 1);
    assert_eq!(aside[0].id, Some(u64::from(clean_readers[0].id)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_planned_as_gone_for_an_unreadable_employee() {
    let rig = rig().await;
    let store = rig.store();
    // First sync: every PAC employee linked to an Astrow twin.
    let (plan, ..) = compute_plan(&rig.pac, &rig.astrow, &store, &rig.settings)
        .await
        .unwrap();
    let new = new_plan(&plan);
    let id = store
        .call("save", move |s| s.save_plan(&new))
        .await
        .unwrap()
        .plan_id;
    let ids: Vec<String> = plan.actionable().map(|i| i.id.clone()).collect();
    let pid = id.clone();
    store
        .call("approve", move |s| {
            s.set_item_states(&pid, Selection::Items(&ids), PlanState::Approved)
        })
        .await
        .unwrap();
    let ctx = ApplyCtx {
        pac: rig.pac.clone(),
        astrow: rig.astrow.clone(),
        store: store.clone(),
        concurrency: 4,
        actor: "real-data".into(),
    };
    let p = apply_plan(&ctx, &id, &|_| {}, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(p.failed, 0);
    let unreadable_id: PacId = rig.pac.list_employees().await.unwrap()[0].id;
    rig.real_data(true);
    let (plan, pac, _astrow, pairing) = compute_plan(&rig.pac, &rig.astrow, &store, &rig.settings)
        .await
        .unwrap();
    assert!(pac.iter().all(|e| e.id != unreadable_id));
    assert!(pairing.pairs.iter().all(|p| p.pac != unreadable_id));
    // Nothing at all: not a leaver (no delete, no badge removal), and the
    // null fields of the others read as what they were.
    assert!(plan.items.is_empty(), "{:#?}", plan.items);
    // Counted for `status`: the record set aside, with its id and reason.
    let unreadable = store
        .call("read", |s| {
            Ok(astrow_pac::store::booking_waits::unreadable(s.connection()))
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unreadable.len(), 1, "{unreadable:?}");
    assert_eq!(unreadable[0].listing, "PAC employees");
    assert_eq!(unreadable[0].record_id, Some(unreadable_id.0));
    // And what the engine's snapshot shows in the Employees pane.
    let shown = astrow_pac::engine::set_aside::load(&store).await.unwrap();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(shown[0].is_employee() && shown[0].record_id == Some(unreadable_id.0));
    assert_eq!(shown[0].reason, unreadable[0].reason);
    // A clean read again forgets it.
    rig.real_data(false);
    compute_plan(&rig.pac, &rig.astrow, &store, &rig.settings)
        .await
        .unwrap();
    let left = store
        .call("read", |s| {
            Ok(astrow_pac::store::booking_waits::unreadable(s.connection()))
        })
        .await
        .unwrap()
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_event_is_set_aside_as_a_gap_and_reading_goes_on() {
    let rig = rig().await;
    let readers = rig.pac.readers().await.unwrap();
    rig.astrow.put_readers(&readers).await.unwrap();
    let store_dir = rig.dir.path().join("store");
    drop(Store::open(&store_dir).unwrap());
    let db = store_dir.join(astrow_pac::store::DATABASE_FILE);
    rig.real_data(true);
    let last = rig.site.pac.as_ref().unwrap().0.swipe(120).await;
    let (_tx, people) = watch::channel(Some(Arc::new(People::default())));
    let import = BookingImport::start(
        Arc::new(rig.pac.clone()),
        Arc::new(rig.astrow.clone()),
        &db,
        ImportConfig {
            limits: ReadLimits {
                page: 1000,
                wait_s: 1,
                max_pending: 100_000,
            },
            monitor_every: Duration::from_millis(100),
            ..ImportConfig::default()
        },
        BookingRules {
            enabled: true,
            ..Default::default()
        },
        people,
        CancellationToken::new(),
    )
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let conn = open_connection(&db).unwrap();
        if ledger::cursor(&conn).unwrap().0 >= last && ledger::pending_count(&conn).unwrap() == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "reading stopped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    import.stop().await;
    let conn = open_connection(&db).unwrap();
    let gaps: Vec<(Seq, Seq)> = ledger::gaps(&conn)
        .unwrap()
        .into_iter()
        .map(|(f, t, _)| (f, t))
        .collect();
    let expected: Vec<(Seq, Seq)> = (1..=last)
        .filter(|s| s % UNREADABLE_EVERY == UNREADABLE_AT)
        .map(|s| (Seq(s), Seq(s)))
        .collect();
    assert_eq!(gaps, expected);
    assert_eq!(
        ledger::counts(&conn).unwrap().events,
        last - expected.len() as u64
    );
    // What could be read is booked once; only the swipes on the reader PAC's
    // list set aside (its serial unknown) are refused by Astrow, with a reason.
    let stored = rig.astrow.list_bookings(None).await.unwrap();
    let ids: std::collections::HashSet<&str> = stored
        .iter()
        .map(|b| b.booking.source_id.as_str())
        .collect();
    assert_eq!(ids.len(), stored.len(), "booked twice");
    let unknown = format!("unknown-reader-{}", readers[0].id);
    for e in ledger::recent(&conn, 1000).unwrap() {
        match &e.status {
            Some(astrow_pac::model::BookingStatus::Rejected { reason }) => {
                assert_eq!(
                    e.reader_serial.as_deref(),
                    Some(unknown.as_str()),
                    "{reason}"
                );
            }
            Some(_) => assert!(ids.contains(format!("pac:1:{}", e.seq.0).as_str())),
            None => {}
        }
    }
    let granted = exactly_once::granted_source_ids(&rig.pac).await;
    assert!(granted.len() > stored.len() / 2);
}
