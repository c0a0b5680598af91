//! `GET /events`: paging by seq, `last_seq`/`oldest_seq`, 410 after expiry,
//! long-poll.

use std::time::{Duration, Instant};

use astrow_pac::model::Seq;
use astrow_pac::pac::PacError;
use reqwest::Method;
use serde_json::json;

use crate::support::{code, env, env_with};

#[tokio::test]
async fn events_page_by_seq_with_last_and_oldest() {
    let env = env(100).await;
    let c = env.client();
    let empty = c.events(Seq(0), 100, Duration::ZERO).await.unwrap();
    assert!(empty.events.is_empty());
    assert_eq!((empty.last_seq, empty.oldest_seq), (Seq(0), Seq(1)));
    env.sim.swipe(250).await;
    let b = c.events(Seq(0), 100, Duration::ZERO).await.unwrap();
    assert_eq!(b.events.len(), 100);
    assert_eq!(b.events[0].seq, Seq(1));
    assert_eq!(
        b.last_seq,
        Seq(250),
        "the newest PAC holds, not the page's last"
    );
    let b2 = c.events(Seq(100), 1000, Duration::ZERO).await.unwrap();
    assert_eq!(b2.events.len(), 150);
    assert_eq!(b2.events[0].seq, Seq(101));
    let none = c.events(Seq(250), 10, Duration::ZERO).await.unwrap();
    assert!(none.events.is_empty());
    let beyond = c.events(Seq(900), 10, Duration::ZERO).await.unwrap();
    assert!(beyond.events.is_empty());
    let (s, v) = env.get("/events").await;
    assert_eq!(s, 200);
    assert_eq!(
        v["items"].as_array().unwrap().len(),
        100,
        "after 0, limit 100 by default"
    );
    let first = &v["items"][0];
    for k in [
        "seq",
        "time",
        "type",
        "reader_id",
        "badge_number",
        "employee_id",
    ] {
        assert!(first.get(k).is_some(), "{k} in {first}");
    }
}

#[tokio::test]
async fn swipes_look_like_a_site() {
    use astrow_pac::model::EventType;
    let env = env(300).await;
    let c = env.client();
    env.control(Method::POST, "/_sim/swipes", Some(json!({"count": 1000})))
        .await;
    let mut all = Vec::new();
    let mut after = Seq(0);
    loop {
        let b = c.events(after, 1000, Duration::ZERO).await.unwrap();
        if b.events.is_empty() {
            break;
        }
        after = b.events.last().unwrap().seq;
        all.extend(b.events);
    }
    assert_eq!(all.len(), 1000);
    let n = |t| all.iter().filter(|e| e.event_type == t).count();
    assert!(n(EventType::AccessGranted) > 700);
    assert!(n(EventType::AccessDeniedUnknownBadge) > 5);
    assert!(all.iter().all(|e| e.reader_id.is_some()));
}

#[tokio::test]
async fn expired_history_is_410_with_the_oldest_seq() {
    let env = env_with(50, 100).await;
    let c = env.client();
    env.sim.swipe(150).await;
    // The bounded history keeps 100: 51..=150.
    let b = c.events(Seq(50), 10, Duration::ZERO).await.unwrap();
    assert_eq!((b.oldest_seq, b.events[0].seq), (Seq(51), Seq(51)));
    match c.events(Seq(49), 10, Duration::ZERO).await.unwrap_err() {
        PacError::EventsExpired {
            after, oldest_seq, ..
        } => {
            assert_eq!((after, oldest_seq), (Seq(49), Seq(51)));
        }
        other => panic!("{other}"),
    }
    let v = env
        .control(
            Method::POST,
            "/_sim/expire_events",
            Some(json!({"keep": 10})),
        )
        .await;
    assert_eq!(v["oldest_seq"], 141);
    let (s, body) = env.get("/events?after=5").await;
    assert_eq!((s, code(&body).0), (410, "events_expired"));
    assert_eq!(body["error"]["oldest_seq"], 141);
    let e = c.events(Seq(100), 10, Duration::ZERO).await.unwrap_err();
    assert!(e.to_string().contains("141"), "{e}");
    // Resuming from the gap works.
    let b = c.events(Seq(140), 10, Duration::ZERO).await.unwrap();
    assert_eq!(b.events[0].seq, Seq(141));
    // All expired: only the very newest position is still valid.
    env.control(
        Method::POST,
        "/_sim/expire_events",
        Some(json!({"keep": 0})),
    )
    .await;
    assert!(
        c.events(Seq(150), 10, Duration::ZERO)
            .await
            .unwrap()
            .events
            .is_empty()
    );
    assert!(c.events(Seq(149), 10, Duration::ZERO).await.is_err());
}

#[tokio::test]
async fn bad_event_parameters_are_400() {
    let env = env(1).await;
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("wait=31", "wait"),
        ("wait=-1", "wait"),
        ("after=x", "after"),
    ] {
        let (s, v) = env.get(&format!("/events?{q}")).await;
        assert_eq!(
            (s, code(&v)),
            (400, ("invalid_parameter", Some(field))),
            "{q}"
        );
    }
    let (s, v) = env.get("/events?since=1").await;
    assert_eq!((s, code(&v)), (400, ("unknown_field", Some("since"))));
    // The connector refuses to send them at all.
    let c = env.client();
    assert!(matches!(
        c.events(Seq(0), 0, Duration::ZERO).await,
        Err(PacError::InvalidRequest { .. })
    ));
    assert!(matches!(
        c.events(Seq(0), 10, Duration::from_secs(31)).await,
        Err(PacError::InvalidRequest { .. })
    ));
}

#[tokio::test]
async fn a_long_poll_returns_when_an_event_arrives() {
    let env = env(20).await;
    let c = env.client();
    env.sim.swipe(3).await;
    let sim = env.sim.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        sim.swipe(2).await;
    });
    let start = Instant::now();
    let b = c
        .events(Seq(3), 100, Duration::from_secs(20))
        .await
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(start.elapsed() >= Duration::from_millis(250));
    assert_eq!(b.events[0].seq, Seq(4));
}

#[tokio::test]
async fn a_long_poll_with_nothing_new_answers_empty_after_wait() {
    let env = env(1).await;
    let start = Instant::now();
    let b = env
        .client()
        .events(Seq(0), 10, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(b.events.is_empty());
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
}
