//! Astrow's bookings feed (`GET /bookings?after=`, protocol.md "Bookings
//! from Astrow into PAC") and the simulator's own-terminal bookings, with
//! every fault kind.

use std::time::Duration;

use astrow_pac::astrow::wire::TerminalKind;
use astrow_pac::astrow::{AstrowClient, feed::FeedPage};
use astrow_pac::http::HttpError;
use reqwest::Method;
use serde_json::json;

use crate::bookings::{booking, ready};
use crate::support::*;

/// Follow the feed from 0 to its end, `limit` at a time.
async fn whole_feed(c: &AstrowClient, limit: u32) -> Vec<FeedPage> {
    let mut pages = Vec::new();
    let mut after = 0;
    loop {
        let page = c.bookings_after(after, limit).await.expect("page");
        let more = page.more;
        if let Some(last) = page.last_id() {
            after = last;
        }
        pages.push(page);
        if !more {
            return pages;
        }
    }
}

#[tokio::test]
async fn the_feed_serves_the_stored_booking_shape_paged_by_after() {
    let (env, client) = ready().await;
    client
        .send_bookings(&[booking(1, "500000", "R-1"), booking(2, "deadbeef", "R-1")])
        .await
        .expect("file bookings");
    let web = env.sim.own_bookings(3, Some(TerminalKind::Web));
    let mobile = env
        .sim_post("/_sim/own_bookings", json!({"count": 2, "kind": "mobile"}))
        .await;
    assert_eq!(mobile["booking_ids"].as_array().map(Vec::len), Some(2));
    let r = env
        .raw(Method::GET, "/bookings?after=2")
        .await
        .send()
        .await
        .expect("feed");
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.expect("json");
    let items = v["items"].as_array().expect("items");
    assert_eq!(items.len(), 5, "only those after booking 2: {v}");
    let first = &items[0];
    assert_eq!(first["booking_id"], web[0]);
    assert_eq!(first["terminal_kind"], "web");
    assert!(first["terminal_serial"].is_null(), "{first}");
    assert!(
        first["source_id"]
            .as_str()
            .is_some_and(|s| s.starts_with("web:"))
    );
    assert!(first["direction"].is_string() && first["status"].is_string());
    for key in ["pers_no", "badge_no", "time"] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    let all: serde_json::Value = env
        .raw(Method::GET, "/bookings?after=0&limit=1")
        .await
        .send()
        .await
        .expect("feed")
        .json()
        .await
        .expect("json");
    assert_eq!(all["items"][0]["terminal_kind"], "file");
    assert_eq!(all["items"][0]["source_id"], "pac:1:1");
    // Through the connector, two at a time: every booking once, in order.
    let pages = whole_feed(&client, 2).await;
    assert_eq!(pages.len(), 4);
    let got: Vec<u64> = pages
        .iter()
        .flat_map(|p| p.bookings.iter().map(|b| b.booking_id))
        .collect();
    assert_eq!(got, (1..=7).collect::<Vec<_>>());
    let kinds: Vec<String> = pages
        .iter()
        .flat_map(|p| p.bookings.iter().map(|b| b.terminal_kind.clone()))
        .collect();
    assert_eq!(
        kinds,
        ["file", "file", "web", "web", "web", "mobile", "mobile"]
    );
    let queued = pages
        .iter()
        .flat_map(|p| &p.bookings)
        .find(|b| b.booking_id == 2)
        .expect("queued one");
    assert_eq!(queued.pers_no, None);
}

#[tokio::test]
async fn a_bad_after_is_400_naming_it() {
    let (env, _) = ready().await;
    let (s, v) = error_of(
        env.raw(Method::GET, "/bookings?after=minus-one")
            .await
            .send()
            .await
            .expect("feed"),
    )
    .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("after")), "{v}");
}

#[tokio::test]
async fn own_terminal_bookings_come_at_a_rate_until_stopped() {
    let env = start(astrow_pac::sim::astrow::AstrowSimOptions {
        site: Some(site(20)),
        ..options()
    })
    .await;
    env.sim_put("/_sim/own_bookings", json!({"per_min": 6000.0}))
        .await;
    let mut made = 0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        made = env.sim.stored_bookings().len();
        if made >= 100 {
            break;
        }
    }
    assert!(made >= 100, "{made}");
    env.sim_put("/_sim/own_bookings", json!({"per_min": 0.0}))
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stopped = env.sim.stored_bookings().len();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(env.sim.stored_bookings().len(), stopped, "stopped");
    let all = env.sim.stored_bookings();
    assert!(all.iter().all(|b| b.terminal_kind != TerminalKind::File));
    assert!(
        all.iter().any(|b| b.pers_no.is_none()),
        "some unknown badges"
    );
    assert!(all.iter().any(|b| b.pers_no.is_some()), "mostly employees");
    let r = env
        .raw
        .put(format!("{}/_sim/own_bookings", env.url))
        .json(&json!({"per_min": -1.0}))
        .send()
        .await
        .expect("control");
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn the_feed_under_every_fault_kind() {
    let (env, _) = ready().await;
    env.sim.own_bookings(120, None);
    let client = env.client();
    // Errors: retried up to the policy, then reported.
    env.faults(json!({"error_rate": 1.0})).await;
    let e = client.bookings_after(0, 10).await.expect_err("always 500");
    assert_eq!(e.http().and_then(HttpError::status), Some(500), "{e}");
    // Errors, drops and truncated answers together: the feed is whole.
    env.faults(json!({"error_rate": 0.2, "drop_rate": 0.2, "truncate_rate": 0.2}))
        .await;
    let patient = env.client_with(|c| c.retry = fast_retry(30));
    let pages = whole_feed(&patient, 5).await;
    let n: usize = pages.iter().map(|p| p.bookings.len()).sum();
    assert_eq!(n, 120);
    let stats = env.faults.stats();
    let count = |prefix: &str| -> u64 {
        stats
            .faults
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    };
    for kind in ["error_", "drop_", "truncate"] {
        assert!(count(kind) > 0, "{kind}: {stats:?}");
    }
    // An expired session: log in again, the read goes through.
    env.faults(
        json!({"error_rate": 0.0, "drop_rate": 0.0, "truncate_rate": 0.0, "expire_tokens": true}),
    )
    .await;
    let logins = patient.logins().await;
    patient
        .bookings_after(0, 10)
        .await
        .expect("after a new login");
    assert_eq!(patient.logins().await, logins + 1);
    // 429 with Retry-After is waited out.
    env.faults(json!({"rate_limit": 1.0, "retry_after_s": 1}))
        .await;
    let faults = env.faults.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        faults.clear();
    });
    let t = std::time::Instant::now();
    patient.bookings_after(0, 10).await.expect("after the wait");
    assert!(t.elapsed() >= Duration::from_secs(1));
    // Latency beyond the timeout is a transient error.
    env.faults(json!({"latency_ms": 1500})).await;
    let slow = env.client_with(|c| {
        c.retry = fast_retry(1);
        c.timeouts.request = Duration::from_millis(300);
    });
    let e = slow.bookings_after(0, 10).await.expect_err("times out");
    assert!(e.is_transient(), "{e}");
}
