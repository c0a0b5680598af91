//! Bookings batch and the stored bookings list.

use astrow_pac::model::{self, BookingStatus, Direction, PersNo};
use astrow_pac::sim::astrow::AstrowSimOptions;
use chrono::{DateTime, Duration, FixedOffset};
use reqwest::Method;
use serde_json::json;

use crate::employees::reader;
use crate::support::*;

pub fn booking(seq: u64, badge: &str, serial: &str) -> model::Booking {
    let t0 = DateTime::parse_from_rfc3339("2026-11-28T08:00:00+01:00").expect("time");
    model::Booking {
        source_id: model::booking_source_id(1, model::Seq(seq)),
        badge_no: badge.to_string(),
        time: t0 + Duration::minutes(seq as i64),
        terminal_serial: serial.to_string(),
        direction: Some(Direction::In),
    }
}

/// A simulator with 3 employees and reader R-1 in the mirror.
pub async fn ready() -> (Env, astrow_pac::astrow::AstrowClient) {
    let env = start(AstrowSimOptions {
        site: Some(site(3)),
        ..options()
    })
    .await;
    let client = env.client();
    client
        .put_readers(&[reader(1, "R-1")])
        .await
        .expect("mirror");
    (env, client)
}

#[tokio::test]
async fn each_booking_gets_its_status_in_order() {
    let (env, client) = ready().await;
    let batch = vec![
        booking(1, "500000", "R-1"),
        booking(2, "deadbeef", "R-1"),
        booking(3, "", "R-1"),
        booking(4, "500001", "R-404"),
        booking(1, "500000", "R-1"),
    ];
    let out = client.send_bookings(&batch).await.expect("batch");
    assert_eq!(out.len(), 5);
    assert_eq!(out[0], BookingStatus::Processed { booking_id: 1 });
    assert_eq!(out[1], BookingStatus::Queued { booking_id: 2 });
    assert!(matches!(&out[2], BookingStatus::Rejected { reason } if reason.contains("empty")));
    assert!(matches!(&out[3], BookingStatus::Rejected { reason } if reason.contains("R-404")));
    assert_eq!(out[4], BookingStatus::Duplicate { booking_id: 1 });
    let stats = env.sim.stats();
    assert_eq!(
        (stats.bookings, stats.counts.processed, stats.counts.queued),
        (2, 1, 1)
    );
    assert_eq!((stats.counts.rejected, stats.counts.duplicates), (2, 1));

    // Sent again: duplicates keep the first id; rejected ones are judged afresh.
    client
        .put_readers(&[reader(1, "R-1"), reader(2, "R-404")])
        .await
        .expect("mirror");
    let again = client.send_bookings(&batch).await.expect("again");
    assert_eq!(again[0], BookingStatus::Duplicate { booking_id: 1 });
    assert_eq!(again[1], BookingStatus::Duplicate { booking_id: 2 });
    assert_eq!(again[3], BookingStatus::Processed { booking_id: 3 });

    // The raw result shape: source_id, status, booking_id, reason.
    let r = env
        .raw(Method::POST, "/bookings/batch")
        .await
        .json(&json!({"bookings": [
            {"source_id": "pac:1:99", "badge_no": "", "time": "2026-11-28T08:01:07+01:00",
             "terminal_serial": "R-1", "direction": null, "mc_code": null, "cc_code": null}]}))
        .send()
        .await
        .expect("send");
    let v: serde_json::Value = r.json().await.expect("json");
    let r0 = &v["results"][0];
    assert_eq!(r0["source_id"], "pac:1:99");
    assert_eq!(r0["status"], "rejected");
    assert!(
        r0["booking_id"].is_null() && r0["reason"].is_string(),
        "{r0}"
    );
}

#[tokio::test]
async fn a_malformed_booking_fails_the_whole_batch_and_stores_nothing() {
    let (env, _client) = ready().await;
    let good = json!({"source_id": "pac:1:1", "badge_no": "500000",
        "time": "2026-11-28T08:01:07+01:00", "terminal_serial": "R-1"});
    let mut no_offset = good.clone();
    no_offset["time"] = json!("2026-11-28T08:01:07");
    let mut extra = good.clone();
    extra["note"] = json!("x");
    let mut missing = good.clone();
    missing.as_object_mut().map(|o| o.remove("badge_no"));
    let mut wrong = good.clone();
    wrong["direction"] = json!("sideways");
    for (bad, code, field) in [
        (no_offset, "invalid_field", "bookings[3].time"),
        (extra, "unknown_field", "bookings[3].note"),
        (missing, "missing_field", "bookings[3].badge_no"),
        (wrong, "invalid_field", "bookings[3].direction"),
    ] {
        let mut items: Vec<serde_json::Value> = (0..3)
            .map(|i| {
                let mut b = good.clone();
                b["source_id"] = json!(format!("pac:1:{}", 100 + i));
                b
            })
            .collect();
        items.push(bad);
        let r = env
            .raw(Method::POST, "/bookings/batch")
            .await
            .json(&json!({ "bookings": items }))
            .send()
            .await
            .expect("send");
        expect_error(r, 400, code, Some(field)).await;
    }
    assert_eq!(
        env.sim.stats().bookings,
        0,
        "nothing of those batches stored"
    );
}

#[tokio::test]
async fn a_batch_over_500_is_refused() {
    let (env, client) = ready().await;
    let many: Vec<_> = (0..501).map(|i| booking(i, "500000", "R-1")).collect();
    let err = client.send_bookings(&many).await.expect_err("too many");
    assert!(err.to_string().contains("at most 500"), "{err}");
    assert_eq!(env.requests("POST /api/v1/bookings/batch"), 0, "never sent");
    let body: Vec<_> = many
        .iter()
        .map(astrow_pac::astrow::wire::Booking::from)
        .collect();
    let r = env
        .raw(Method::POST, "/bookings/batch")
        .await
        .json(&json!({ "bookings": body }))
        .send()
        .await
        .expect("send");
    expect_error(r, 413, "batch_too_large", None).await;
    let out = client.send_bookings(&many[..500]).await.expect("500 fit");
    assert_eq!(out.len(), 500);
}

#[tokio::test]
async fn a_closed_pay_period_rejects_and_stores_nothing() {
    let env = start(AstrowSimOptions {
        site: Some(site(1)),
        closed_until: chrono::NaiveDate::from_ymd_opt(2026, 11, 30),
        ..options()
    })
    .await;
    let client = env.client();
    client
        .put_readers(&[reader(1, "R-1")])
        .await
        .expect("mirror");
    let out = client
        .send_bookings(&[booking(1, "500000", "R-1")])
        .await
        .expect("batch");
    assert!(matches!(&out[0], BookingStatus::Rejected { reason } if reason.contains("closed")));
    assert_eq!(env.sim.stats().bookings, 0);
}

#[tokio::test]
async fn stored_bookings_are_listed_by_id_since_a_time() {
    let (env, client) = ready().await;
    let batch: Vec<_> = (1..=25)
        .map(|i| booking(i, if i % 5 == 0 { "ffff" } else { "500002" }, "R-1"))
        .collect();
    client.send_bookings(&batch).await.expect("batch");
    let paged = env.client_with(|c| c.page_size = 7);
    let all = paged.list_bookings(None).await.expect("all");
    assert_eq!(all.len(), 25);
    assert_eq!(all[0].booking, batch[0]);
    assert_eq!(all[0].pers_no, Some(PersNo(1003)));
    assert_eq!(all[4].status, BookingStatus::Queued { booking_id: 5 });
    assert_eq!(all[4].pers_no, None);
    let since: DateTime<FixedOffset> = batch[19].time;
    let late = paged.list_bookings(Some(since)).await.expect("since");
    assert_eq!(late.len(), 6);
    let r = env
        .raw(Method::GET, "/bookings?since=yesterday")
        .await
        .send()
        .await
        .expect("send");
    expect_error(r, 400, "invalid_parameter", Some("since")).await;
}
