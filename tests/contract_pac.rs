//! Contract tests of protocol.md's PAC OEM interface: every row of the table
//! and every rule, against the simulator over real HTTPS on loopback,
//! through the connector where it covers the case and raw otherwise.

#[path = "contract_pac/support.rs"]
mod support;

#[path = "contract_pac/faults.rs"]
mod faults;

#[path = "contract_pac/events.rs"]
mod events;

#[path = "contract_pac/external.rs"]
mod external;

use astrow_pac::model::{Badge, BadgeType, PacEmployee, PacId};
use astrow_pac::pac::{PacClient, PacError, new_idempotency_key};
use reqwest::Method;
use serde_json::json;
use support::{code, env};

fn person(first: &str, last: &str) -> PacEmployee {
    PacEmployee {
        id: PacId(0),
        first_name: first.into(),
        last_name: last.into(),
        employee_number: "X-1".into(),
        active: true,
        valid_from: None,
        valid_until: None,
        access_group_ids: vec![],
        badges: vec![],
        external_ref: Some("astrow:1".into()),
        version: 0,
    }
}

fn badge(n: &str) -> Badge {
    Badge {
        number: n.into(),
        badge_type: BadgeType::Wiegand2601,
        active: true,
    }
}

// ---- GET /status ----

#[tokio::test]
async fn status_names_the_organization_and_the_time() {
    let env = env(3).await;
    let s = env.client().status().await.unwrap();
    assert_eq!(s.organization.id, 1);
    assert!(!s.server_version.is_empty());
    let drift = chrono::Utc::now().signed_duration_since(s.server_time);
    assert!(drift.num_seconds().abs() < 60);
}

// ---- GET /employees ----

#[tokio::test]
async fn listing_streams_every_page_in_id_order() {
    let env = env(2345).await;
    let mut cfg = env.config();
    cfg.page_size = 100;
    let all = PacClient::new(cfg).unwrap().list_employees().await.unwrap();
    assert_eq!(all.len(), 2345);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    // 24 pages of 100.
    assert_eq!(env.requests("GET /employees"), 24);
}

#[tokio::test]
async fn pages_are_keyset_with_an_opaque_cursor_and_a_default_limit() {
    let env = env(250).await;
    let (s, first) = env.get("/employees").await;
    assert_eq!(s, 200);
    assert_eq!(
        first["items"].as_array().unwrap().len(),
        100,
        "default limit"
    );
    let (_, p) = env.get("/employees?limit=7").await;
    assert_eq!(p["items"].as_array().unwrap().len(), 7);
    let cursor = p["next_cursor"].as_str().unwrap();
    assert!(
        cursor.parse::<u64>().is_err(),
        "opaque, not an id: {cursor}"
    );
    let (_, p2) = env
        .get(&format!("/employees?limit=7&cursor={cursor}"))
        .await;
    assert!(p2["items"][0]["id"].as_u64() > p["items"][6]["id"].as_u64());
    let (_, last) = env.get("/employees?limit=1000").await;
    assert_eq!(last["items"].as_array().unwrap().len(), 250);
    assert!(last["next_cursor"].is_null());
}

#[tokio::test]
async fn bad_limits_cursors_and_unknown_parameters_are_400_with_field() {
    let env = env(5).await;
    for q in ["limit=0", "limit=1001", "limit=-1", "limit=ten"] {
        let (s, v) = env.get(&format!("/employees?{q}")).await;
        assert_eq!(
            (s, code(&v)),
            (400, ("invalid_parameter", Some("limit"))),
            "{q}"
        );
    }
    let (s, v) = env.get("/employees?cursor=nonsense").await;
    assert_eq!((s, code(&v)), (400, ("invalid_parameter", Some("cursor"))));
    let (s, v) = env.get("/employees?page=2").await;
    assert_eq!((s, code(&v)), (400, ("unknown_field", Some("page"))));
    let (s, v) = env.get("/status?verbose=1").await;
    assert_eq!((s, code(&v)), (400, ("unknown_field", Some("verbose"))));
}

// ---- GET /employees/{id} ----

#[tokio::test]
async fn one_employee_or_not_found() {
    let env = env(5).await;
    let c = env.client();
    let all = c.list_employees().await.unwrap();
    let one = c.get_employee(all[2].id).await.unwrap().unwrap();
    assert_eq!(one, all[2]);
    assert_eq!(c.get_employee(PacId(999_999)).await.unwrap(), None);
    let (s, v) = env.get("/employees/999999").await;
    assert_eq!((s, code(&v).0), (404, "not_found"));
    assert!(v["error"]["message"].is_string());
}

// ---- POST /employees ----

#[tokio::test]
async fn create_gets_the_default_group_and_an_idempotency_key_creates_once() {
    let env = env(5).await;
    let c = env.client();
    let mut p = person("Ștefan", "Țurcanu");
    p.badges = vec![badge("00abcdef")];
    let key = new_idempotency_key();
    let made = c.create_employee(&p, &key).await.unwrap();
    assert_eq!(made.version, 1);
    assert_eq!(made.access_group_ids, vec![1], "PAC's default group");
    assert_eq!(
        made.badges[0].number, "00ABCDEF",
        "normalised before sending"
    );
    assert_eq!(made.first_name, "Ștefan");
    let again = c.create_employee(&p, &key).await.unwrap();
    assert_eq!(again, made);
    assert_eq!(env.sim.stats().await.employees, 6);
    // Another key: another employee (the badge is taken, so without it).
    p.badges.clear();
    let other = c.create_employee(&p, &new_idempotency_key()).await.unwrap();
    assert_ne!(other.id, made.id);
    // Named groups are kept.
    p.access_group_ids = vec![3, 5];
    let grouped = c.create_employee(&p, &new_idempotency_key()).await.unwrap();
    assert_eq!(grouped.access_group_ids, vec![3, 5]);
}

#[tokio::test]
async fn create_answers_201_with_the_employee() {
    let env = env(1).await;
    let (s, v) = env
        .call(
            Method::POST,
            "/employees",
            &[("Idempotency-Key", "k1")],
            Some(json!({"first_name": "Jürgen", "last_name": "Müller"})),
        )
        .await;
    assert_eq!(s, 201);
    assert!(v["id"].is_u64() && v["version"] == 1 && v["updated_at"].is_string());
    let (s, again) = env
        .call(
            Method::POST,
            "/employees",
            &[("Idempotency-Key", "k1")],
            Some(json!({"first_name": "Jürgen", "last_name": "Müller"})),
        )
        .await;
    assert_eq!((s, &again), (201, &v));
}

#[tokio::test]
async fn a_badge_of_another_employee_is_409_badge_in_use() {
    let env = env(20).await;
    let c = env.client();
    let all = c.list_employees().await.unwrap();
    let taken = all
        .iter()
        .flat_map(|e| &e.badges)
        .find(|b| b.active)
        .unwrap()
        .number
        .clone();
    let mut p = person("Ana", "Pop");
    p.badges = vec![badge(&taken)];
    let e = c
        .create_employee(&p, &new_idempotency_key())
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.api_code()),
        (Some(409), Some("badge_in_use"))
    );
    assert!(e.to_string().contains("POST /employees"), "{e}");
    // An inactive badge of another employee may be reused.
    p.badges[0].active = false;
    c.create_employee(&p, &new_idempotency_key()).await.unwrap();
}

#[tokio::test]
async fn invalid_employees_are_422_with_field() {
    let env = env(1).await;
    let c = env.client();
    let e = c
        .create_employee(&person(" ", ""), &new_idempotency_key())
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.api_code()),
        (Some(422), Some("validation_failed"))
    );
    assert!(e.to_string().contains("first_name"), "{e}");
    let mut p = person("Ana", "");
    p.valid_from = chrono::NaiveDate::from_ymd_opt(2026, 5, 1);
    p.valid_until = chrono::NaiveDate::from_ymd_opt(2026, 4, 30);
    let e = c
        .create_employee(&p, &new_idempotency_key())
        .await
        .unwrap_err();
    assert_eq!(e.api_code(), Some("validation_failed"));
    assert!(e.to_string().contains("(field valid_until)"), "{e}");
    p.valid_until = p.valid_from;
    c.create_employee(&p, &new_idempotency_key()).await.unwrap();
    let (s, v) = env
        .call(
            Method::POST,
            "/employees",
            &[],
            Some(json!({"first_name": "A", "last_name": "B", "access_group_ids": [99]})),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (422, ("validation_failed", Some("access_group_ids[0]")))
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_naming_the_field() {
    let env = env(1).await;
    let cases = [
        (
            json!({"first_name": "A", "last_name": "B", "nickname": "x"}),
            "unknown_field",
            "nickname",
        ),
        (
            json!({"first_name": "A", "last_name": "B", "id": 4}),
            "unknown_field",
            "id",
        ),
        (json!({"first_name": "A"}), "missing_field", "last_name"),
        (
            json!({"first_name": 5, "last_name": "B"}),
            "invalid_field",
            "first_name",
        ),
        (
            json!({"first_name": "A", "last_name": "B", "active": "yes"}),
            "invalid_field",
            "active",
        ),
        (
            json!({"first_name": "A", "last_name": "B", "valid_from": "01.02.2026"}),
            "invalid_field",
            "valid_from",
        ),
        (
            json!({"first_name": "A", "last_name": "B", "badges": [{"number": "00a1b2c3", "type": "oneprox", "active": true}]}),
            "invalid_field",
            "badges[0].number",
        ),
        (
            json!({"first_name": "A", "last_name": "B", "badges": [{"number": "12G4", "type": "oneprox", "active": true}]}),
            "invalid_field",
            "badges[0].number",
        ),
        (
            json!({"first_name": "A", "last_name": "B", "badges": [{"number": "00A1", "type": "magstripe", "active": true}]}),
            "invalid_field",
            "badges[0].type",
        ),
        (
            json!({"first_name": "A", "last_name": "B", "badges": [{"number": "00A1", "type": "oneprox"}]}),
            "missing_field",
            "badges[0].active",
        ),
        (
            json!({"first_name": "A", "last_name": "B", "badges": [{"number": "00A1", "type": "oneprox", "active": true, "pin": 1}]}),
            "unknown_field",
            "badges[0].pin",
        ),
    ];
    for (body, want_code, want_field) in cases {
        let (s, v) = env
            .call(Method::POST, "/employees", &[], Some(body.clone()))
            .await;
        assert_eq!(
            (s, code(&v)),
            (400, (want_code, Some(want_field))),
            "{body}"
        );
    }
    assert_eq!(env.sim.stats().await.employees, 1, "nothing was created");
}

#[tokio::test]
async fn bodies_need_json_content_type_and_at_most_8_mib() {
    let env = env(1).await;
    let url = env.url(&format!("{}/employees", support::BASE));
    let resp = env
        .raw
        .post(&url)
        .header("Authorization", env.auth())
        .header("Content-Type", "text/plain")
        .body(r#"{"first_name": "A", "last_name": "B"}"#)
        .send()
        .await
        .unwrap();
    let (s, v) = support::answer(resp).await;
    assert_eq!((s, code(&v).0), (415, "unsupported_media_type"));
    let big = format!(
        r#"{{"first_name": "A", "last_name": "B", "external_ref": "{}"}}"#,
        "x".repeat(8 * 1024 * 1024)
    );
    let resp = env
        .raw
        .post(&url)
        .header("Authorization", env.auth())
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let (s, v) = support::answer(resp).await;
    assert_eq!((s, code(&v).0), (413, "payload_too_large"));
    let (s, v) = support::answer(
        env.raw
            .post(&url)
            .header("Authorization", env.auth())
            .header("Content-Type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, code(&v).0), (400, "invalid_field"));
}

// ---- PUT /employees/{id} ----

#[tokio::test]
async fn update_bumps_the_version_only_when_something_changed() {
    let env = env(5).await;
    let c = env.client();
    let mut e = c.list_employees().await.unwrap().remove(1);
    let same = c.update_employee(&e).await.unwrap();
    assert_eq!(same.version, e.version, "nothing changed, version kept");
    e.last_name = "Dąbrowska".into();
    let changed = c.update_employee(&e).await.unwrap();
    assert_eq!(changed.version, e.version + 1);
    assert_eq!(changed.last_name, "Dąbrowska");
    // [] on PUT means no group (not the default one).
    let mut e = changed;
    e.access_group_ids.clear();
    let none = c.update_employee(&e).await.unwrap();
    assert!(none.access_group_ids.is_empty());
}

#[tokio::test]
async fn a_stale_version_is_412_with_the_current_record() {
    let env = env(5).await;
    let c = env.client();
    let mut e = c.list_employees().await.unwrap().remove(0);
    let stale = e.clone();
    e.first_name = "Łukasz".into();
    let now = c.update_employee(&e).await.unwrap();
    let mut late = stale.clone();
    late.first_name = "Other".into();
    match c.update_employee(&late).await.unwrap_err() {
        PacError::VersionMismatch { current, endpoint } => {
            assert_eq!(*current, now);
            assert!(endpoint.starts_with("PUT /employees/"));
        }
        other => panic!("{other}"),
    }
    match c
        .delete_employee(stale.id, stale.version)
        .await
        .unwrap_err()
    {
        PacError::VersionMismatch { current, .. } => assert_eq!(current.version, now.version),
        other => panic!("{other}"),
    }
    let (s, v) = env
        .call(
            Method::PUT,
            &format!("/employees/{}", e.id),
            &[("If-Match", &stale.version.to_string())],
            Some(json!(astrow_pac::pac::wire::EmployeeWrite::from(&late))),
        )
        .await;
    assert_eq!((s, code(&v).0), (412, "version_mismatch"));
    assert_eq!(v["error"]["current"]["version"], now.version);
}

#[tokio::test]
async fn writes_without_if_match_are_428() {
    let env = env(3).await;
    let e = env.client().list_employees().await.unwrap().remove(0);
    let body = json!(astrow_pac::pac::wire::EmployeeWrite::from(&e));
    let (s, v) = env
        .call(
            Method::PUT,
            &format!("/employees/{}", e.id),
            &[],
            Some(body.clone()),
        )
        .await;
    assert_eq!((s, code(&v).0), (428, "if_match_required"));
    let (s, v) = env
        .call(Method::DELETE, &format!("/employees/{}", e.id), &[], None)
        .await;
    assert_eq!((s, code(&v).0), (428, "if_match_required"));
    let (s, v) = env
        .call(
            Method::PUT,
            &format!("/employees/{}", e.id),
            &[("If-Match", "seven")],
            Some(body),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (400, ("invalid_parameter", Some("If-Match")))
    );
}

#[tokio::test]
async fn a_put_carries_the_whole_employee() {
    let env = env(3).await;
    let e = env.client().list_employees().await.unwrap().remove(0);
    let path = format!("/employees/{}", e.id);
    let v = e.version.to_string();
    let (s, b) = env
        .call(
            Method::PUT,
            &path,
            &[("If-Match", &v)],
            Some(json!({"first_name": "A", "last_name": "B"})),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (400, ("missing_field", Some("employee_number")))
    );
    // The record as read (with id, version, updated_at) is accepted back.
    let (_, read) = env.get(&path).await;
    let (s, back) = env
        .call(Method::PUT, &path, &[("If-Match", &v)], Some(read.clone()))
        .await;
    assert_eq!((s, back["version"].as_u64()), (200, Some(e.version)));
    let mut wrong = read;
    wrong["id"] = json!(1);
    let (s, b) = env
        .call(Method::PUT, &path, &[("If-Match", &v)], Some(wrong))
        .await;
    assert_eq!((s, code(&b)), (400, ("invalid_field", Some("id"))));
}

#[tokio::test]
async fn update_to_a_badge_of_another_employee_is_409() {
    let env = env(30).await;
    let c = env.client();
    let all = c.list_employees().await.unwrap();
    let with_badge: Vec<&PacEmployee> = all
        .iter()
        .filter(|e| e.badges.iter().any(|b| b.active))
        .collect();
    let mut mine = with_badge[0].clone();
    let theirs = with_badge[1]
        .badges
        .iter()
        .find(|b| b.active)
        .unwrap()
        .clone();
    mine.badges.push(theirs);
    let e = c.update_employee(&mine).await.unwrap_err();
    assert_eq!(
        (e.status(), e.api_code()),
        (Some(409), Some("badge_in_use"))
    );
    // Keeping one's own badges is no conflict.
    c.update_employee(with_badge[0]).await.unwrap();
}

// ---- DELETE /employees/{id} ----

#[tokio::test]
async fn delete_with_the_current_version_is_204() {
    let env = env(4).await;
    let c = env.client();
    let e = c.list_employees().await.unwrap().remove(3);
    let (s, v) = env
        .call(
            Method::DELETE,
            &format!("/employees/{}", e.id),
            &[("If-Match", &e.version.to_string())],
            None,
        )
        .await;
    assert_eq!((s, v), (204, serde_json::Value::Null));
    assert_eq!(c.get_employee(e.id).await.unwrap(), None);
    let e2 = c.list_employees().await.unwrap().remove(0);
    c.delete_employee(e2.id, e2.version).await.unwrap();
    assert_eq!(env.sim.stats().await.employees, 2);
    // Already gone counts as deleted (a repeat after a lost answer).
    c.delete_employee(e2.id, e2.version).await.unwrap();
}

// ---- GET /access-groups, GET /readers, POST /readers/{id}/open ----

#[tokio::test]
async fn access_groups_have_exactly_one_default() {
    let env = env(1).await;
    let groups = env.client().access_groups().await.unwrap();
    assert!(groups.len() > 3);
    assert_eq!(groups.iter().filter(|g| g.is_default).count(), 1);
}

#[tokio::test]
async fn readers_have_serials_controllers_and_directions() {
    use astrow_pac::model::Direction;
    let env = env(1).await;
    let readers = env.client().readers().await.unwrap();
    assert_eq!(readers[0].serial, "R-0001");
    assert!(readers.iter().any(|r| r.direction == Direction::In));
    assert!(readers.iter().any(|r| r.direction == Direction::Out));
    assert!(readers.iter().any(|r| r.direction == Direction::None));
    assert!(readers.iter().all(|r| !r.controller_name.is_empty()));
    let (s, v) = env.get("/readers").await;
    assert_eq!(s, 200);
    assert!(v["items"][0]["online"].is_boolean());
}

#[tokio::test]
async fn opening_a_door_is_202() {
    let env = env(1).await;
    let c = env.client();
    c.open_door(3).await.unwrap();
    let (s, v) = env.call(Method::POST, "/readers/3/open", &[], None).await;
    assert_eq!((s, v["open_seconds"].as_u64()), (202, Some(5)));
    assert_eq!(env.sim.stats().await.doors_opened, 2);
    let e = c.open_door(999).await.unwrap_err();
    assert_eq!((e.status(), e.api_code()), (Some(404), Some("not_found")));
}

// ---- keys, organization, paths ----

#[tokio::test]
async fn a_wrong_or_missing_key_is_401_and_the_message_says_what_to_do() {
    let env = env(1).await;
    let mut cfg = env.config();
    cfg.key = "d3Jvbmcta2V5".into();
    let err = PacClient::new(cfg).unwrap().status().await.unwrap_err();
    assert!(matches!(err, PacError::InvalidKey { .. }), "{err}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("pac.oem_key_path"), "{text}");
    assert!(!text.contains("d3Jvbmcta2V5"), "the key leaked: {text}");
    assert!(!text.contains(&env.sim.oem_key().key));
    let (s, v) = support::answer(
        env.raw
            .get(env.url(&format!("{}/status", support::BASE)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, code(&v).0), (401, "invalid_key"));
}

#[tokio::test]
async fn a_revoked_client_is_403_and_told_to_add_the_client_again() {
    let env = env(1).await;
    env.control(Method::POST, "/_sim/revoke", None).await;
    let err = env.client().list_employees().await.unwrap_err();
    assert!(matches!(err, PacError::Revoked { .. }), "{err}");
    assert!(err.to_string().contains("Manage OEM Interface"), "{err}");
    assert_eq!(
        env.requests("GET /employees"),
        1,
        "a refusal is not retried"
    );
    env.control(
        Method::POST,
        "/_sim/revoke",
        Some(json!({"revoked": false})),
    )
    .await;
    env.client().status().await.unwrap();
}

#[tokio::test]
async fn another_organization_is_404_unknown_organization() {
    let env = env(1).await;
    let mut cfg = env.config();
    cfg.organization_id = 2;
    let err = PacClient::new(cfg).unwrap().status().await.unwrap_err();
    assert!(
        matches!(
            err,
            PacError::UnknownOrganization {
                organization_id: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("pac.organization_id"));
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_the_error_body() {
    let env = env(1).await;
    let (s, v) = env.get("/doors").await;
    assert_eq!((s, code(&v).0), (404, "not_found"));
    let (s, v) = env.call(Method::PATCH, "/employees", &[], None).await;
    assert_eq!((s, code(&v).0), (405, "method_not_allowed"));
}

// ---- TLS ----

#[tokio::test]
async fn another_certificate_is_refused_with_what_to_do() {
    let env = env(1).await;
    let other =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let mut cfg = env.config();
    cfg.certificate_pem = other.cert.pem();
    let err = PacClient::new(cfg).unwrap().status().await.unwrap_err();
    assert!(matches!(err, PacError::CertificateMismatch { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("not the one in pac.certificate_path"),
        "{text}"
    );
    assert!(
        text.contains("download the certificate again from PAC Access Central"),
        "{text}"
    );
    assert_eq!(env.sim.faults().stats().total, 0, "no request reached PAC");
}

#[tokio::test]
async fn the_simulator_reuses_its_certificate_and_key_file() {
    let env = env(1).await;
    let again =
        astrow_pac::sim::pac::PacSim::new(astrow_pac::sim::pac::PacSimOptions::new(env.sim.dir()))
            .unwrap();
    assert_eq!(again.certificate_pem(), env.sim.certificate_pem());
    assert_eq!(again.oem_key(), env.sim.oem_key());
    let key: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.sim.oem_key_path()).unwrap()).unwrap();
    assert_eq!(key["format"], "pac-oem-key/1");
    // The integration's own key-file reader takes the simulator's file.
    let read = astrow_pac::config::keyfile::OemKey::load(&env.sim.oem_key_path()).unwrap();
    assert_eq!(read.client_id, env.sim.oem_key().client_id);
    assert_eq!(read.key.expose(), env.sim.oem_key().key);
    assert!(
        std::fs::read_to_string(env.sim.certificate_path())
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
}

// ---- /_sim/ controls ----

#[tokio::test]
async fn edits_behind_the_integrations_back_bump_versions() {
    let env = env(50).await;
    let c = env.client();
    let before = c.list_employees().await.unwrap();
    let v = env
        .control(Method::POST, "/_sim/edit", Some(json!({"count": 5})))
        .await;
    let edited: Vec<u64> = serde_json::from_value(v["edited"].clone()).unwrap();
    assert_eq!(edited.len(), 5);
    let after = c.list_employees().await.unwrap();
    for id in edited {
        let b = before.iter().find(|e| e.id.0 == id).unwrap();
        let a = after.iter().find(|e| e.id.0 == id).unwrap();
        assert!(a.version > b.version);
        assert_ne!(a, b);
    }
    let stats = env.control(Method::GET, "/_sim/stats", None).await;
    assert_eq!(stats["employees"], 50);
    assert!(stats["requests"]["total"].as_u64().unwrap() >= 2);
}
