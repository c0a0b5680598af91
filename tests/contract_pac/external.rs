//! `POST /external-events` (protocol.md, "Bookings from Astrow into PAC"):
//! per-event results, idempotency by `source_id`, malformed batches with
//! `field`, the 500 limit, `external_attendance` in `/events`, every fault.

use astrow_pac::model::{Direction, ExternalEvent, ExternalOutcome, PacEmployee, PacId, Seq};
use astrow_pac::pac::{PacClient, PacError};
use astrow_pac::sim::faults::FaultUpdate;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{code, env};

fn ev(n: u64, employee_id: Option<u64>, badge: Option<&str>) -> ExternalEvent {
    ExternalEvent {
        source_id: format!("astrow:{n}"),
        time: chrono::Utc::now().fixed_offset(),
        employee_id: employee_id.map(PacId),
        badge_number: badge.map(str::to_string),
        direction: Some(Direction::In),
        origin: "Astrow web".into(),
    }
}

fn wire(n: u64, employee_id: u64) -> Value {
    json!({"source_id": format!("astrow:{n}"), "time": chrono::Utc::now().to_rfc3339(),
        "employee_id": employee_id, "badge_number": null, "direction": "out",
        "origin": "Astrow mobile"})
}

async fn someone(c: &PacClient) -> PacEmployee {
    c.list_employees()
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.badges.iter().any(|b| b.active))
        .unwrap()
}

#[tokio::test]
async fn each_event_gets_stored_duplicate_or_rejected_in_order() {
    let env = env(10).await;
    let c = env.client();
    let p = someone(&c).await;
    let badge = p.badges.iter().find(|b| b.active).unwrap().number.clone();
    let mut future = ev(4, Some(p.id.0), None);
    future.time += chrono::TimeDelta::minutes(11);
    let batch = vec![
        ev(1, Some(p.id.0), None),
        ev(2, None, Some(&badge.to_ascii_lowercase())),
        ev(3, Some(999_999), Some("FFFFFFFF")),
        future,
        ev(1, Some(p.id.0), None),
    ];
    let out = c.send_external_events(&batch).await.unwrap();
    let ExternalOutcome::Stored { seq: first } = out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(out[1], ExternalOutcome::Stored { seq: first + 1 });
    assert!(
        matches!(&out[2], ExternalOutcome::Rejected { reason } if reason.contains("999999")),
        "{out:?}"
    );
    assert!(
        matches!(&out[3], ExternalOutcome::Rejected { reason } if reason.contains("future")),
        "{out:?}"
    );
    assert_eq!(out[4], ExternalOutcome::Duplicate { seq: first });
    let stats = env.sim.stats().await;
    assert_eq!(
        (
            stats.external_stored,
            stats.external_duplicates,
            stats.external_rejected
        ),
        (2, 1, 2)
    );
    // A repeat of the whole batch stores nothing more.
    let again = c.send_external_events(&batch[..2]).await.unwrap();
    assert_eq!(
        again,
        vec![
            ExternalOutcome::Duplicate { seq: first },
            ExternalOutcome::Duplicate { seq: first + 1 }
        ]
    );
    assert_eq!(env.sim.external_events().await.len(), 2);
}

#[tokio::test]
async fn stored_events_are_external_attendance_in_the_event_feed() {
    let env = env(5).await;
    let c = env.client();
    let p = someone(&c).await;
    env.sim.swipe(3).await;
    c.send_external_events(&[ev(77, Some(p.id.0), None)])
        .await
        .unwrap();
    let (s, page) = env.get("/events?after=0").await;
    assert_eq!(s, 200);
    let items = page["items"].as_array().unwrap();
    let ext: Vec<&Value> = items
        .iter()
        .filter(|e| e["type"] == "external_attendance")
        .collect();
    assert_eq!(ext.len(), 1, "{page}");
    assert_eq!(ext[0]["source_id"], "astrow:77");
    assert_eq!(ext[0]["origin"], "Astrow web");
    assert!(ext[0]["reader_id"].is_null());
    assert_eq!(ext[0]["employee_id"], p.id.0);
    assert!(
        items
            .iter()
            .filter(|e| e["type"] != "external_attendance")
            .all(|e| e.get("source_id").is_none()),
        "swipes carry no source_id"
    );
    // The connector reads them as events of their own type.
    let batch = c
        .events(Seq(0), 100, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert!(batch.set_aside.is_empty(), "{:?}", batch.set_aside);
    assert_eq!(
        batch
            .events
            .iter()
            .filter(|e| e.event_type == astrow_pac::model::EventType::ExternalAttendance)
            .count(),
        1
    );
}

#[tokio::test]
async fn a_malformed_event_fails_the_whole_batch_naming_its_field() {
    let env = env(3).await;
    let p = someone(&env.client()).await.id.0;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut third = wire(3, p);
        f(&mut third);
        json!({"events": [wire(1, p), wire(2, p), third]})
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with(&|e| e["time"] = json!("2026-11-28T08:00:00")),
            "invalid_field",
            "events[2].time",
        ),
        (
            with(&|e| e["nickname"] = json!("x")),
            "unknown_field",
            "events[2].nickname",
        ),
        (
            with(&|e| {
                e.as_object_mut().unwrap().remove("origin");
            }),
            "missing_field",
            "events[2].origin",
        ),
        (
            with(&|e| e["origin"] = json!("x".repeat(65))),
            "invalid_field",
            "events[2].origin",
        ),
        (
            with(&|e| e["direction"] = json!("sideways")),
            "invalid_field",
            "events[2].direction",
        ),
        (
            with(&|e| e["badge_number"] = json!("12g4")),
            "invalid_field",
            "events[2].badge_number",
        ),
        (
            with(&|e| e["employee_id"] = json!("10001")),
            "invalid_field",
            "events[2].employee_id",
        ),
        (
            with(&|e| e["source_id"] = json!("")),
            "invalid_field",
            "events[2].source_id",
        ),
        (json!({"items": []}), "unknown_field", "items"),
    ];
    for (body, want, field) in cases {
        let (s, v) = env
            .call(Method::POST, "/external-events", &[], Some(body.clone()))
            .await;
        assert_eq!((s, code(&v)), (400, (want, Some(field))), "{body}");
    }
    assert_eq!(
        env.sim.stats().await.external_stored,
        0,
        "nothing of a malformed batch is stored"
    );
}

#[tokio::test]
async fn more_than_500_events_is_413_and_the_connector_does_not_send_them() {
    let env = env(3).await;
    let p = someone(&env.client()).await.id.0;
    let events: Vec<Value> = (0..501).map(|i| wire(i, p)).collect();
    let (s, v) = env
        .call(
            Method::POST,
            "/external-events",
            &[],
            Some(json!({"events": events})),
        )
        .await;
    assert_eq!((s, code(&v)), (413, ("batch_too_large", Some("events"))));
    let many: Vec<ExternalEvent> = (0..501).map(|i| ev(i, Some(p), None)).collect();
    let e = env.client().send_external_events(&many).await.unwrap_err();
    assert!(matches!(e, PacError::InvalidRequest { .. }), "{e}");
    assert_eq!(env.requests("POST /external-events"), 1, "only the raw one");
    let ok = env
        .client()
        .send_external_events(&many[..500])
        .await
        .unwrap();
    assert_eq!(ok.len(), 500);
}

fn faults() -> FaultUpdate {
    FaultUpdate::default()
}

#[tokio::test]
async fn server_errors_are_retried_because_the_call_is_idempotent() {
    let env = env(3).await;
    let p = someone(&env.client()).await.id.0;
    env.faults(FaultUpdate {
        error_rate: Some(1.0),
        ..faults()
    });
    let e = env
        .client()
        .send_external_events(&[ev(1, Some(p), None)])
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(500), "{e}");
    assert_eq!(
        env.requests("POST /external-events"),
        4,
        "max_attempts tries"
    );
}

#[tokio::test]
async fn errors_drops_and_truncated_answers_store_each_event_once() {
    let env = env(3).await;
    let p = someone(&env.client()).await.id.0;
    let mut cfg = env.config();
    cfg.retry.max_attempts = 30;
    let c = PacClient::new(cfg).unwrap();
    env.faults(FaultUpdate {
        error_rate: Some(0.2),
        drop_rate: Some(0.2),
        truncate_rate: Some(0.2),
        ..faults()
    });
    for chunk in (0..60u64).collect::<Vec<_>>().chunks(2) {
        let batch: Vec<ExternalEvent> = chunk.iter().map(|i| ev(*i, Some(p), None)).collect();
        let out = c.send_external_events(&batch).await.unwrap();
        assert!(out.iter().all(|o| matches!(
            o,
            ExternalOutcome::Stored { .. } | ExternalOutcome::Duplicate { .. }
        )));
    }
    let stats = env.sim.faults().stats();
    env.sim.faults().clear();
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
    let stored = env.sim.external_events().await;
    assert_eq!(stored.len(), 60, "each event stored exactly once");
}

#[tokio::test]
async fn rate_limits_are_waited_out_and_slow_answers_time_out() {
    let env = env(3).await;
    let p = someone(&env.client()).await.id.0;
    env.faults(FaultUpdate {
        rate_limit: Some(1.0),
        retry_after_s: Some(1),
        ..faults()
    });
    let f = env.sim.faults();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        f.clear();
    });
    let t = std::time::Instant::now();
    env.client()
        .send_external_events(&[ev(1, Some(p), None)])
        .await
        .unwrap();
    assert!(t.elapsed() >= std::time::Duration::from_secs(1));
    env.faults(FaultUpdate {
        latency_ms: Some(1500),
        ..faults()
    });
    let mut cfg = env.config();
    cfg.timeouts.request = std::time::Duration::from_millis(300);
    cfg.retry.max_attempts = 1;
    let e = PacClient::new(cfg)
        .unwrap()
        .send_external_events(&[ev(2, Some(p), None)])
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
}
