//! The notification feed (long poll) and the heartbeat.

use std::time::{Duration, Instant};

use astrow_pac::astrow::{HeartbeatStatus, NotificationOp};
use astrow_pac::model;
use astrow_pac::sim::astrow::AstrowSimOptions;
use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn every_employee_change_is_notified_api_and_sim_edits_alike() {
    let env = start(AstrowSimOptions {
        site: Some(site(5)),
        ..options()
    })
    .await;
    let client = env.client();
    let feed = client
        .notifications(0, 100, Duration::ZERO)
        .await
        .expect("feed");
    assert!(feed.items.is_empty());
    assert_eq!(feed.last_seq, 0);

    let created = client
        .create_employee(&employee(0, "777"), "k")
        .await
        .expect("create");
    let changed = client
        .update_employee(&model::AstrowEmployee {
            first_name: "Ioana".into(),
            ..created.clone()
        })
        .await
        .expect("update");
    // A PUT that changes nothing is no change.
    client.update_employee(&changed).await.expect("same");
    client
        .delete_employee(created.pers_no, changed.version)
        .await
        .expect("delete");
    let v = env.sim_post("/_sim/edit", json!({"count": 3})).await;
    assert_eq!(v["edited"], 3);

    let feed = client
        .notifications(0, 100, Duration::ZERO)
        .await
        .expect("feed");
    let ops: Vec<_> = feed.items.iter().map(|n| (n.op, n.pers_no)).collect();
    assert_eq!(ops.len(), 6, "{ops:?}");
    assert_eq!(ops[0], (NotificationOp::Add, created.pers_no));
    assert_eq!(ops[1], (NotificationOp::Edit, created.pers_no));
    assert_eq!(ops[2], (NotificationOp::Delete, created.pers_no));
    assert!(
        ops[3..]
            .iter()
            .all(|(op, p)| *op == NotificationOp::Edit && p.0 <= 1005)
    );
    assert_eq!(feed.last_seq, 6);
    assert!(feed.items.windows(2).all(|w| w[1].seq == w[0].seq + 1));

    let after = client
        .notifications(4, 1, Duration::ZERO)
        .await
        .expect("paged");
    assert_eq!(after.items.len(), 1);
    assert_eq!(after.items[0].seq, 5);
    assert_eq!(after.last_seq, 6);

    // The edits are real: versions moved.
    let edited: Vec<_> = env
        .sim
        .employees()
        .into_iter()
        .filter(|e| e.version > 1)
        .collect();
    assert!(!edited.is_empty());
}

#[tokio::test]
async fn a_long_poll_wakes_on_change_and_otherwise_waits_its_time() {
    let env = start(AstrowSimOptions {
        site: Some(site(2)),
        ..options()
    })
    .await;
    let client = env.client();
    client.licences().await.expect("logged in");
    let waiter = {
        let c = client.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            let r = c.notifications(0, 10, Duration::from_secs(20)).await;
            (r, t.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    env.sim.edit(1);
    let (r, took) = waiter.await.expect("task");
    let feed = r.expect("feed");
    assert_eq!(feed.items.len(), 1);
    assert!(took < Duration::from_secs(5), "woke on change: {took:?}");

    let t = Instant::now();
    let feed = client
        .notifications(1, 10, Duration::from_secs(1))
        .await
        .expect("timeout");
    assert!(feed.items.is_empty());
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );

    for q in ["wait=31", "limit=0", "after=-1", "since=1"] {
        let r = env
            .raw(Method::GET, &format!("/notifications?{q}"))
            .await
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 400, "{q}");
    }
}

#[tokio::test]
async fn the_heartbeat_is_remembered_with_its_time() {
    let env = start(options()).await;
    let client = env.client();
    assert!(env.sim.stats().last_heartbeat.is_none());
    assert!(
        env.sim.stats().service_red,
        "red before the first heartbeat"
    );
    client
        .heartbeat(HeartbeatStatus::Degraded, Some("PAC unreachable".into()))
        .await
        .expect("heartbeat");
    assert!(!env.sim.stats().service_red);
    let hb = env.sim.stats().last_heartbeat.expect("remembered");
    assert_eq!(hb.heartbeat.status, HeartbeatStatus::Degraded);
    assert_eq!(hb.heartbeat.service, "astrow-pac");
    assert!((chrono::Utc::now().fixed_offset() - hb.received_at).num_seconds() < 5);

    let r = env
        .raw(Method::POST, "/heartbeat")
        .await
        .json(&json!({"service": "s", "version": "1", "status": "fine"}))
        .send()
        .await
        .expect("send");
    expect_error(r, 400, "invalid_field", Some("status")).await;
    let r = env
        .raw(Method::POST, "/heartbeat")
        .await
        .json(&json!({"service": "s", "version": "1", "status": "ok", "detail": null}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 204);

    let stats: serde_json::Value = env
        .raw
        .get(format!("{}/_sim/stats", env.url))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["last_heartbeat"]["heartbeat"]["status"], "ok");
    assert!(
        stats["requests"]["total"].as_u64().is_some_and(|n| n >= 3),
        "{stats}"
    );
}
