//! Every fault kind of the shared simulator server driven through the
//! connector, and answers that break the protocol.

use std::sync::Arc;
use std::time::{Duration, Instant};

use astrow_pac::http::{HttpError, Timeouts};
use astrow_pac::model::{PacId, Seq};
use astrow_pac::pac::{PacClient, PacError, new_idempotency_key};
use astrow_pac::sim::faults::{FaultUpdate, Faults};
use astrow_pac::sim::server::RunningServer;
use axum::Router;
use axum::routing::get;

use crate::support::{BASE, env};

fn update() -> FaultUpdate {
    FaultUpdate::default()
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let env = env(5).await;
    env.faults(FaultUpdate {
        error_rate: Some(1.0),
        ..update()
    });
    let err = env.client().status().await.unwrap_err();
    assert_eq!(err.status(), Some(500), "{err}");
    assert_eq!(env.requests("GET /status"), 4, "max_attempts tries");
}

#[tokio::test]
async fn a_write_without_key_or_if_match_is_never_retried() {
    let env = env(5).await;
    env.faults(FaultUpdate {
        error_rate: Some(1.0),
        ..update()
    });
    assert!(env.client().open_door(1).await.is_err());
    assert_eq!(env.requests("POST /readers/1/open"), 1);
}

#[tokio::test]
async fn a_listing_under_errors_and_drops_is_complete() {
    let env = env(900).await;
    let mut cfg = env.config();
    cfg.page_size = 50;
    cfg.retry.max_attempts = 12;
    env.faults(FaultUpdate {
        error_rate: Some(0.2),
        drop_rate: Some(0.2),
        ..update()
    });
    let all = PacClient::new(cfg).unwrap().list_employees().await.unwrap();
    assert_eq!(all.len(), 900);
    let stats = env.sim.faults().stats();
    assert!(
        stats.faults.values().sum::<u64>() > 0,
        "faults were injected: {stats:?}"
    );
}

#[tokio::test]
async fn creates_lost_on_the_way_back_are_not_doubled() {
    let env = env(10).await;
    let mut cfg = env.config();
    cfg.retry.max_attempts = 20;
    let c = PacClient::new(cfg).unwrap();
    env.faults(FaultUpdate {
        drop_rate: Some(0.4),
        error_rate: Some(0.2),
        ..update()
    });
    for i in 0..25 {
        let mut p = c.get_employee(PacId(10001)).await.unwrap().unwrap();
        p.badges.clear();
        p.employee_number = format!("N-{i}");
        c.create_employee(&p, &new_idempotency_key()).await.unwrap();
    }
    env.sim.faults().clear();
    let stats = env.sim.faults().stats();
    assert!(
        stats.faults.get("drop_after").copied().unwrap_or(0) > 0,
        "{stats:?}"
    );
    assert_eq!(
        env.sim.stats().await.employees,
        35,
        "each create exactly once"
    );
}

#[tokio::test]
async fn updates_lost_on_the_way_back_are_retried_with_the_same_if_match() {
    let env = env(5).await;
    let c = env.client();
    let mut e = c.list_employees().await.unwrap().remove(0);
    e.last_name = "Öztürk".into();
    env.faults(FaultUpdate {
        drop_rate: Some(1.0),
        ..update()
    });
    // Every answer is lost: the connector gives up with a transport error.
    let err = c.update_employee(&e).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    env.sim.faults().clear();
    // Whether or not the write happened, re-reading tells.
    let now = c.get_employee(e.id).await.unwrap().unwrap();
    assert!(now.version == e.version || now.last_name == "Öztürk");
}

#[tokio::test]
async fn updates_and_deletes_whose_answer_was_lost_still_succeed() {
    let env = env(40).await;
    let mut cfg = env.config();
    cfg.retry.max_attempts = 25;
    let c = PacClient::new(cfg).unwrap();
    let all = c.list_employees().await.unwrap();
    env.faults(FaultUpdate {
        drop_rate: Some(0.5),
        ..update()
    });
    for (i, e) in all.iter().take(20).enumerate() {
        let mut want = e.clone();
        want.last_name = format!("Lăzărescu-{i}");
        let done = c.update_employee(&want).await.unwrap();
        assert_eq!(
            (done.version, &done.last_name),
            (e.version + 1, &want.last_name)
        );
    }
    for e in all.iter().skip(20).take(10) {
        c.delete_employee(e.id, e.version).await.unwrap();
    }
    let stats = env.sim.faults().stats();
    env.sim.faults().clear();
    assert!(
        stats.faults.get("drop_after").copied().unwrap_or(0) > 0,
        "{stats:?}"
    );
    assert_eq!(env.sim.stats().await.employees, 30);
}

#[tokio::test]
async fn rate_limits_are_waited_out_honouring_retry_after() {
    let env = env(5).await;
    env.faults(FaultUpdate {
        rate_limit: Some(1.0),
        retry_after_s: Some(1),
        ..update()
    });
    let faults = env.sim.faults();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        faults.clear();
    });
    let start = Instant::now();
    env.client().status().await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(env.requests("GET /status"), 2);
}

#[tokio::test]
async fn a_truncated_page_is_an_error_not_a_short_list() {
    let env = env(300).await;
    env.faults(FaultUpdate {
        truncate_rate: Some(1.0),
        ..update()
    });
    let err = env.client().list_employees().await.unwrap_err();
    assert!(
        matches!(err, PacError::Http(HttpError::Truncated { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("GET /employees"), "{err}");
    env.faults(FaultUpdate {
        truncate_rate: Some(0.3),
        ..update()
    });
    let mut cfg = env.config();
    cfg.page_size = 20;
    cfg.retry.max_attempts = 15;
    let all = PacClient::new(cfg).unwrap().list_employees().await.unwrap();
    assert_eq!(all.len(), 300);
}

#[tokio::test]
async fn slow_answers_time_out() {
    let env = env(1).await;
    env.faults(FaultUpdate {
        latency_ms: Some(1500),
        ..update()
    });
    let mut cfg = env.config();
    cfg.timeouts = Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_millis(300),
    };
    cfg.retry.max_attempts = 2;
    let err = PacClient::new(cfg).unwrap().status().await.unwrap_err();
    assert!(
        matches!(err, PacError::Http(HttpError::Timeout { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn long_polls_get_their_wait_on_top_of_the_request_timeout() {
    let env = env(1).await;
    let mut cfg = env.config();
    cfg.timeouts.request = Duration::from_millis(500);
    let b = PacClient::new(cfg)
        .unwrap()
        .events(Seq(0), 10, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(b.events.is_empty());
}

#[tokio::test]
async fn oversized_answers_are_refused() {
    let env = env(200).await;
    let mut cfg = env.config();
    cfg.max_answer_bytes = 4096;
    let err = PacClient::new(cfg)
        .unwrap()
        .list_employees()
        .await
        .unwrap_err();
    assert!(
        matches!(err, PacError::Http(HttpError::TooLarge { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("GET /employees"), "{err}");
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let env = env(1).await;
    let mut cfg = env.config();
    let port = env.server.addr.port();
    env.server.stop().await;
    cfg.retry.max_attempts = 2;
    cfg.base_url = format!("https://127.0.0.1:{port}");
    let err = PacClient::new(cfg).unwrap().status().await.unwrap_err();
    assert!(
        matches!(err, PacError::Http(HttpError::Connect { .. })),
        "{err}"
    );
}

/// A fake PAC with the simulator's certificate serving `routes`, and the
/// connector pointed at it (keep the server while the test runs).
async fn fake(env: &crate::support::Env, routes: Router) -> (PacClient, RunningServer) {
    let server = RunningServer::start(
        "127.0.0.1:0".parse().unwrap(),
        Some(env.sim.tls_server_config()),
        routes,
        Arc::new(Faults::new()),
    )
    .await
    .unwrap();
    let mut cfg = env.config();
    cfg.base_url = format!("https://127.0.0.1:{}", server.addr.port());
    cfg.retry.max_attempts = 1;
    (PacClient::new(cfg).unwrap(), server)
}

#[tokio::test]
async fn answers_that_break_the_protocol_are_errors_naming_the_endpoint() {
    let env = env(1).await;
    let routes = Router::new()
        .route(&format!("{BASE}/status"), get(|| async { "<html>PAC</html>" }))
        .route(
            &format!("{BASE}/access-groups"),
            get(|| async { r#"{"items": {"id": 1}}"# }),
        )
        .route(
            &format!("{BASE}/readers"),
            get(|| async {
                r#"{"items": [{"id": 1, "name": "a", "controller_id": 1, "controller_name": "c", "serial": "R-1", "direction": "in", "online": true},
                              {"id": 1, "name": "b", "controller_id": 1, "controller_name": "c", "serial": "R-2", "direction": "out", "online": true}]}"#
            }),
        )
        .route(
            &format!("{BASE}/employees"),
            get(|| async {
                let e = |id: u64| format!(r#"{{"id": {id}, "first_name": "A", "last_name": "B", "employee_number": "", "active": true,
                    "valid_from": null, "valid_until": null, "access_group_ids": [], "badges": [], "external_ref": null, "version": 1, "new_key": true}}"#);
                format!(r#"{{"items": [{}, {}], "next_cursor": null}}"#, e(5), e(4))
            }),
        )
        .route(
            &format!("{BASE}/events"),
            get(|| async {
                r#"{"items": [{"seq": 3, "time": "2026-11-28T08:00:00+01:00", "type": "access_granted"}], "last_seq": 2, "oldest_seq": 1}"#
            }),
        );
    let (c, _server) = fake(&env, routes).await;
    let e = c.status().await.unwrap_err();
    assert!(
        matches!(e, PacError::Http(HttpError::Malformed { .. })),
        "{e}"
    );
    assert!(e.to_string().starts_with("GET /status"), "{e}");
    let e = c.access_groups().await.unwrap_err();
    assert!(e.to_string().starts_with("GET /access-groups"), "{e}");
    let e = c.readers().await.unwrap_err();
    assert!(matches!(e, PacError::BadAnswer { .. }), "{e}");
    let e = c.list_employees().await.unwrap_err();
    assert!(e.to_string().contains("out of id order"), "{e}");
    let e = c.events(Seq(0), 10, Duration::ZERO).await.unwrap_err();
    assert!(e.to_string().contains("past last_seq"), "{e}");
}

#[tokio::test]
async fn a_cursor_that_comes_back_is_an_error_not_an_endless_listing() {
    let env = env(1).await;
    let routes = Router::new().route(
        &format!("{BASE}/employees"),
        get(|| async { r#"{"items": [], "next_cursor": "same"}"# }),
    );
    let (c, _server) = fake(&env, routes).await;
    let e = c.list_employees().await.unwrap_err();
    assert!(e.to_string().contains("cursor came back"), "{e}");
}

#[tokio::test]
async fn unknown_keys_in_answers_are_ignored() {
    let env = env(1).await;
    let routes = Router::new()
        .route(
            &format!("{BASE}/status"),
            get(|| async {
                r#"{"server_version": "6.0", "server_time": "2026-11-28T08:00:00+01:00", "licence": "x",
                    "organization": {"id": 1, "name": "Site", "timezone": "Europe/Bucharest"}}"#
            }),
        )
        .route(
            &format!("{BASE}/employees"),
            get(|| async {
                r#"{"items": [{"id": 4, "first_name": "Ana", "last_name": "Pop", "employee_number": "", "active": true,
                    "valid_from": null, "valid_until": null, "access_group_ids": [1], "photo_url": "/p/4",
                    "badges": [{"number": "00A1", "type": "oneprox", "active": true, "issued": "2026-01-01"}],
                    "external_ref": null, "version": 1, "updated_at": "2026-11-28T08:00:00+01:00"}],
                    "next_cursor": null, "total": 1}"#
            }),
        )
        .route(
            &format!("{BASE}/events"),
            get(|| async {
                r#"{"items": [{"seq": 1, "time": "2026-11-28T08:00:00+01:00", "type": "access_granted", "reader_id": 2,
                    "badge_number": "00A1", "employee_id": 4, "door_state": "closed"}], "last_seq": 1, "oldest_seq": 1, "server": "x"}"#
            }),
        );
    let (c, _server) = fake(&env, routes).await;
    assert_eq!(c.status().await.unwrap().organization.name, "Site");
    let all = c.list_employees().await.unwrap();
    assert_eq!(all[0].badges[0].number, "00A1");
    let b = c.events(Seq(0), 10, Duration::ZERO).await.unwrap();
    assert_eq!(b.events[0].employee_id, Some(PacId(4)));
}
