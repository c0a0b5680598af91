//! Every fault kind of the shared server driven through the connector.

use std::time::{Duration, Instant};

use astrow_pac::http::{HttpError, Timeouts};
use astrow_pac::model::BookingStatus;
use astrow_pac::sim::astrow::AstrowSimOptions;
use reqwest::Method;
use serde_json::json;

use crate::bookings::{booking, ready};
use crate::support::*;

#[tokio::test]
async fn server_errors_are_retried_up_to_the_policy_then_reported() {
    let env = start(options()).await;
    let client = env.client();
    client.licences().await.expect("logged in");
    env.faults(json!({"error_rate": 1.0})).await;
    let e = client.licences().await.expect_err("always 500");
    assert_eq!(e.http().and_then(HttpError::status), Some(500), "{e}");
    assert!(e.is_transient());
    assert_eq!(env.requests("GET /api/v1/licenses"), 1 + 4, "4 tries");

    env.faults(json!({"error_rate": 0.3})).await;
    let patient = env.client_with(|c| c.retry = fast_retry(15));
    for _ in 0..10 {
        patient.licences().await.expect("retries get through");
    }
}

#[tokio::test]
async fn rate_limits_are_waited_out_as_retry_after_says() {
    let env = start(options()).await;
    let client = env.client_with(|c| c.retry = fast_retry(2));
    client.licences().await.expect("logged in");
    env.faults(json!({"rate_limit": 1.0, "retry_after_s": 1}))
        .await;
    let t = Instant::now();
    let e = client.licences().await.expect_err("always 429");
    assert_eq!(e.http().and_then(HttpError::status), Some(429));
    assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(env.requests("GET /api/v1/licenses"), 3);
}

#[tokio::test]
async fn dropped_connections_are_retried_and_bookings_stay_single() {
    let (env, client) = ready().await;
    env.faults(json!({"drop_rate": 1.0})).await;
    let e = client
        .send_bookings(&[booking(1, "500000", "R-1")])
        .await
        .expect_err("every answer lost");
    assert!(e.is_transient(), "{e}");
    assert_eq!(env.requests("POST /api/v1/bookings/batch"), 4);

    env.faults(json!({"drop_rate": 0.4})).await;
    let patient = env.client_with(|c| c.retry = fast_retry(20));
    let batch: Vec<_> = (10..30).map(|i| booking(i, "500000", "R-1")).collect();
    for chunk in batch.chunks(4) {
        let out = patient.send_bookings(chunk).await.expect("gets through");
        assert!(out.iter().all(|s| matches!(
            s,
            BookingStatus::Processed { .. } | BookingStatus::Duplicate { .. }
        )));
    }
    env.faults(json!({"drop_rate": 0.0})).await;
    let stored = client.list_bookings(None).await.expect("list");
    let ours = stored
        .iter()
        .filter(|b| b.booking.source_id != "pac:1:1")
        .count();
    assert_eq!(ours, 20, "each booking stored once");
}

#[tokio::test]
async fn a_lost_answer_after_a_committed_batch_resent_is_a_duplicate() {
    let (env, client) = ready().await;
    let b = booking(7, "500000", "R-1");
    let body = json!({"bookings": [astrow_pac::astrow::wire::Booking::from(&b)]});
    let token = env.token().await;
    env.faults(json!({"drop_rate": 1.0})).await;
    let mut committed = false;
    for _ in 0..60 {
        let _ = env
            .raw
            .post(env.api("/bookings/batch"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await;
        if env
            .faults
            .stats()
            .faults
            .get("drop_after")
            .copied()
            .unwrap_or(0)
            > 0
        {
            committed = true;
            break;
        }
    }
    assert!(committed, "a drop after the handler ran");
    env.faults(json!({"drop_rate": 0.0})).await;
    assert_eq!(
        env.sim.stats().bookings,
        1,
        "the batch was stored, its answer lost"
    );
    let out = client.send_bookings(&[b]).await.expect("resent");
    assert_eq!(out, vec![BookingStatus::Duplicate { booking_id: 1 }]);
    assert_eq!(env.sim.stats().bookings, 1, "no second booking");
}

#[tokio::test]
async fn a_truncated_page_is_an_error_never_a_short_list() {
    let env = start(AstrowSimOptions {
        site: Some(site(40)),
        ..options()
    })
    .await;
    let client = env.client_with(|c| c.page_size = 10);
    client.licences().await.expect("logged in");
    env.faults(json!({"truncate_rate": 1.0})).await;
    let e = client.list_employees(true).await.expect_err("cut short");
    assert!(matches!(e.http(), Some(HttpError::Truncated { .. })), "{e}");
    assert!(e.to_string().contains("GET /employees"), "{e}");
    assert_eq!(
        env.requests("GET /api/v1/employees"),
        4,
        "retried, then refused"
    );

    env.faults(json!({"truncate_rate": 0.3})).await;
    let patient = env.client_with(|c| {
        c.page_size = 10;
        c.retry = fast_retry(15);
    });
    assert_eq!(patient.list_employees(true).await.expect("whole").len(), 40);
}

#[tokio::test]
async fn latency_past_the_timeout_is_a_timeout() {
    let env = start(options()).await;
    let client = env.client_with(|c| {
        c.timeouts = Timeouts {
            connect: Duration::from_secs(1),
            request: Duration::from_millis(150),
        };
        c.retry = fast_retry(2);
    });
    client.licences().await.expect("fast enough");
    env.faults(json!({"latency_ms": 400})).await;
    let e = client.licences().await.expect_err("too slow");
    assert!(matches!(e.http(), Some(HttpError::Timeout { .. })), "{e}");
    env.faults(json!({"latency_ms": 20})).await;
    client.licences().await.expect("fast again");
}

#[tokio::test]
async fn a_put_whose_answer_was_lost_settles_on_the_repeat() {
    let env = start(AstrowSimOptions {
        site: Some(site(2)),
        ..options()
    })
    .await;
    let client = env.client_with(|c| c.retry = fast_retry(30));
    let e = client
        .get_employee(astrow_pac::model::PersNo(1001))
        .await
        .expect("get")
        .expect("exists");
    env.faults(json!({"drop_rate": 0.5})).await;
    let mut cur = e;
    for i in 0..8 {
        let want = astrow_pac::model::AstrowEmployee {
            last_name: format!("Name{i}"),
            ..cur.clone()
        };
        let got = client.update_employee(&want).await.expect("settles");
        assert_eq!(got.last_name, want.last_name);
        assert_eq!(got.version, cur.version + 1, "one change, one version");
        cur = got;
    }
    env.faults(json!({"drop_rate": 0.0})).await;
    // Deletes settle the same way: a repeat finding it gone is done.
    env.faults(json!({"drop_rate": 0.5})).await;
    client
        .delete_employee(cur.pers_no, cur.version)
        .await
        .expect("deleted");
    env.faults(json!({"drop_rate": 0.0})).await;
    assert_eq!(client.get_employee(cur.pers_no).await.expect("get"), None);
    let r = env
        .raw(Method::GET, "/licenses")
        .await
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
}
