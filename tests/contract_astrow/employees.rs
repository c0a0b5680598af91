//! Employees: paging, get, create with Idempotency-Key, update and delete
//! with If-Match, validation; cycles, pay groups, the PAC mirror.

use astrow_pac::astrow::AstrowError;
use astrow_pac::model::{self, PersNo};
use astrow_pac::sim::astrow::AstrowSimOptions;
use reqwest::Method;
use serde_json::json;

use crate::support::*;

fn with_site(n: u64) -> AstrowSimOptions {
    AstrowSimOptions {
        site: Some(site(n)),
        ..options()
    }
}

#[tokio::test]
async fn listing_follows_every_page_in_pers_no_order_and_filters_inactive() {
    let env = start(with_site(53)).await;
    let client = env.client_with(|c| c.page_size = 10);
    let all = client.list_employees(true).await.expect("all");
    assert_eq!(all.len(), 53);
    assert!(all.windows(2).all(|w| w[0].pers_no < w[1].pers_no));
    assert_eq!(env.requests("GET /api/v1/employees"), 6);
    let active = client.list_employees(false).await.expect("active");
    assert_eq!(active.len(), all.iter().filter(|e| e.active).count());
    assert!(active.len() < all.len());

    // The raw page shape: items and next_cursor; the last page says null.
    let r = env
        .raw(Method::GET, "/employees?limit=50&include_inactive=true")
        .await
        .send()
        .await
        .expect("send");
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(50));
    let cursor = v["next_cursor"].as_str().expect("cursor").to_string();
    let r = env
        .raw(
            Method::GET,
            &format!("/employees?limit=50&include_inactive=true&cursor={cursor}"),
        )
        .await
        .send()
        .await
        .expect("send");
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(3));
    assert!(v["next_cursor"].is_null());
}

#[tokio::test]
async fn limit_and_parameters_are_checked_not_clamped() {
    let env = start(with_site(3)).await;
    for (q, code, field) in [
        ("limit=0", "invalid_parameter", "limit"),
        ("limit=1001", "invalid_parameter", "limit"),
        ("limit=ten", "invalid_parameter", "limit"),
        (
            "include_inactive=yes",
            "invalid_parameter",
            "include_inactive",
        ),
        ("cursor=zz", "invalid_parameter", "cursor"),
        ("page=2", "unknown_field", "page"),
    ] {
        let r = env
            .raw(Method::GET, &format!("/employees?{q}"))
            .await
            .send()
            .await
            .expect("send");
        expect_error(r, 400, code, Some(field)).await;
    }
    let r = env
        .raw(Method::GET, "/employees?limit=1000")
        .await
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn get_answers_the_employee_or_not_found() {
    let env = start(with_site(3)).await;
    let client = env.client();
    let e = client.get_employee(PersNo(1002)).await.expect("get");
    assert_eq!(e.map(|e| e.badge_no), Some(Some("500001".to_string())));
    assert_eq!(client.get_employee(PersNo(4242)).await.expect("get"), None);
    let r = env
        .raw(Method::GET, "/employees/4242")
        .await
        .send()
        .await
        .expect("send");
    expect_error(r, 404, "not_found", None).await;
}

#[tokio::test]
async fn create_assigns_pers_no_and_a_repeated_key_creates_nothing() {
    let env = start(with_site(2)).await;
    let client = env.client();
    let new = employee(0, "123456");
    let a = client
        .create_employee(&new, "plan-7-item-1")
        .await
        .expect("create");
    assert_eq!(a.pers_no, PersNo(1003));
    assert_eq!(a.version, 1);
    assert_eq!(a.last_name, new.last_name);
    let b = client
        .create_employee(&new, "plan-7-item-1")
        .await
        .expect("repeat");
    assert_eq!(a, b);
    assert_eq!(env.sim.employees().len(), 3);
    let r = env
        .raw(Method::POST, "/employees")
        .await
        .header("Idempotency-Key", "plan-7-item-1")
        .json(&json!({"first_name": "Other", "badge_no": "999"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201, "the first answer again");
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["pers_no"], 1003);
    let c = client
        .create_employee(&employee(0, "654321"), "plan-7-item-2")
        .await
        .expect("another key");
    assert_eq!(c.pers_no, PersNo(1004));
}

#[tokio::test]
async fn create_validates_with_the_field_named() {
    let env = start(with_site(1)).await;
    let client = env.client();
    let base = employee(0, "42");
    let cases: Vec<(model::AstrowEmployee, u16, &str, &str)> = vec![
        (
            model::AstrowEmployee {
                first_name: String::new(),
                last_name: String::new(),
                ..base.clone()
            },
            422,
            "validation_failed",
            "first_name",
        ),
        (
            model::AstrowEmployee {
                badge_no: None,
                ..base.clone()
            },
            422,
            "validation_failed",
            "badge_no",
        ),
        (
            model::AstrowEmployee {
                contract_start: None,
                ..base.clone()
            },
            422,
            "validation_failed",
            "contract_start",
        ),
        (
            model::AstrowEmployee {
                cycle_code: String::new(),
                ..base.clone()
            },
            422,
            "validation_failed",
            "cycle_code",
        ),
        (
            model::AstrowEmployee {
                cycle_code: "NOPE".into(),
                ..base.clone()
            },
            422,
            "unknown_cycle",
            "cycle_code",
        ),
        (
            model::AstrowEmployee {
                paygroup_code: "NOPE".into(),
                ..base.clone()
            },
            422,
            "unknown_paygroup",
            "paygroup_code",
        ),
        (
            model::AstrowEmployee {
                badge_no: Some("500000".into()),
                ..base.clone()
            },
            409,
            "badge_in_use",
            "badge_no",
        ),
    ];
    for (i, (e, status, code, field)) in cases.into_iter().enumerate() {
        let err = client
            .create_employee(&e, &format!("k{i}"))
            .await
            .expect_err(code);
        let http = err.http().expect("an HTTP refusal");
        assert_eq!(http.status(), Some(status), "{err}");
        assert_eq!(err.api_code(), Some(code), "{err}");
        assert_eq!(http.api().and_then(|a| a.field.as_deref()), Some(field));
        assert!(err.to_string().contains(field), "{err}");
    }
    assert_eq!(env.sim.employees().len(), 1, "nothing created");
    assert_eq!(
        env.requests("POST /api/v1/employees"),
        7,
        "4xx is not retried"
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_415_or_413() {
    let env = start(with_site(1)).await;
    let post = |body: String| {
        let env = &env;
        async move {
            env.raw(Method::POST, "/employees")
                .await
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("send")
        }
    };
    let r = post(json!({"first_name": "A", "colour": "red"}).to_string()).await;
    expect_error(r, 400, "unknown_field", Some("colour")).await;
    let r = post(json!({"first_name": "A", "pers_no": 5}).to_string()).await;
    expect_error(r, 400, "unknown_field", Some("pers_no")).await;
    let r = post(json!({"first_name": 7}).to_string()).await;
    expect_error(r, 400, "invalid_field", Some("first_name")).await;
    let r = post(json!({"pac": {"access_group_ids": ["x"]}}).to_string()).await;
    expect_error(r, 400, "invalid_field", Some("pac.access_group_ids[0]")).await;
    let r = post(json!({"contract_start": "28.11.2026"}).to_string()).await;
    expect_error(r, 400, "invalid_field", Some("contract_start")).await;
    let r = post("{not json".to_string()).await;
    expect_error(r, 400, "invalid_body", None).await;

    let r = env
        .raw(Method::POST, "/employees")
        .await
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("send");
    expect_error(r, 415, "unsupported_media_type", None).await;

    let big = format!(r#"{{"first_name": "{}"}}"#, "x".repeat(9 << 20));
    let r = post(big).await;
    expect_error(r, 413, "payload_too_large", None).await;
}

#[tokio::test]
async fn update_bumps_the_version_only_on_a_real_change() {
    let env = start(with_site(2)).await;
    let client = env.client();
    let e = client
        .get_employee(PersNo(1001))
        .await
        .expect("get")
        .expect("exists");
    let same = client.update_employee(&e).await.expect("no change");
    assert_eq!(same.version, e.version);
    let changed = model::AstrowEmployee {
        last_name: "Ionescu".into(),
        ..e.clone()
    };
    let v2 = client.update_employee(&changed).await.expect("change");
    assert_eq!(v2.version, e.version + 1);
    assert_eq!(v2.last_name, "Ionescu");

    // Stale: 412 version_mismatch with the current record.
    let err = client.update_employee(&changed).await.expect_err("stale");
    assert_eq!(err.api_code(), Some("version_mismatch"), "{err}");
    let current = err
        .http()
        .and_then(|h| h.api())
        .and_then(|a| a.current.clone())
        .expect("current record");
    assert_eq!(current["version"], v2.version);
    assert_eq!(current["last_name"], "Ionescu");
}

#[tokio::test]
async fn update_may_remove_the_badge_but_not_take_anothers() {
    let env = start(with_site(2)).await;
    let client = env.client();
    let e = client
        .get_employee(PersNo(1001))
        .await
        .expect("get")
        .expect("exists");
    let taken = model::AstrowEmployee {
        badge_no: Some("500001".into()),
        ..e.clone()
    };
    let err = client.update_employee(&taken).await.expect_err("in use");
    assert_eq!(err.api_code(), Some("badge_in_use"));
    let removed = client
        .update_employee(&model::AstrowEmployee {
            badge_no: None,
            ..e.clone()
        })
        .await
        .expect("badge removed");
    assert_eq!(removed.badge_no, None);
    assert!(removed.active, "the employee stays");
    // "" is the same as null.
    let r = env
        .raw(Method::PUT, "/employees/1002")
        .await
        .header("If-Match", "1")
        .json(&full_body(json!({"badge_no": ""})))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.expect("json");
    assert!(v["badge_no"].is_null());
}

/// A whole employee body for raw PUTs, with `over` keys replaced.
fn full_body(over: serde_json::Value) -> serde_json::Value {
    let mut b = json!({
        "employee_no": "E-1", "first_name": "Ana", "middle_name": "", "last_name": "Pop",
        "badge_no": "1", "active": true, "contract_start": "2026-11-28", "contract_end": null,
        "cycle_code": "STD", "paygroup_code": "MONTHLY",
        "pac": {"access_group_ids": [1], "badge_type": "pac_proximity"},
        "external_ref": null
    });
    if let (Some(b), Some(o)) = (b.as_object_mut(), over.as_object()) {
        for (k, v) in o {
            b.insert(k.clone(), v.clone());
        }
    }
    b
}

#[tokio::test]
async fn put_and_delete_need_if_match_and_put_the_whole_employee() {
    let env = start(with_site(2)).await;
    let r = env
        .raw(Method::PUT, "/employees/1001")
        .await
        .json(&full_body(json!({})))
        .send()
        .await
        .expect("send");
    expect_error(r, 428, "if_match_required", None).await;
    let r = env
        .raw(Method::DELETE, "/employees/1001")
        .await
        .send()
        .await
        .expect("send");
    expect_error(r, 428, "if_match_required", None).await;
    let r = env
        .raw(Method::PUT, "/employees/1001")
        .await
        .header("If-Match", "W/\"1\"")
        .json(&full_body(json!({})))
        .send()
        .await
        .expect("send");
    expect_error(r, 400, "invalid_parameter", Some("If-Match")).await;
    let mut partial = full_body(json!({}));
    partial.as_object_mut().map(|o| o.remove("cycle_code"));
    let r = env
        .raw(Method::PUT, "/employees/1001")
        .await
        .header("If-Match", "1")
        .json(&partial)
        .send()
        .await
        .expect("send");
    expect_error(r, 400, "missing_field", Some("cycle_code")).await;
    // pers_no and version may come along; pers_no must match the path.
    let r = env
        .raw(Method::PUT, "/employees/1001")
        .await
        .header("If-Match", "1")
        .json(&full_body(json!({"pers_no": 1002, "version": 1})))
        .send()
        .await
        .expect("send");
    expect_error(r, 400, "invalid_field", Some("pers_no")).await;
    let r = env
        .raw(Method::PUT, "/employees/1001")
        .await
        .header("If-Match", "1")
        .json(&full_body(
            json!({"pers_no": 1001, "version": 1, "badge_no": "31"}),
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let r = env
        .raw(Method::PUT, "/employees/9999")
        .await
        .header("If-Match", "1")
        .json(&full_body(json!({})))
        .send()
        .await
        .expect("send");
    expect_error(r, 404, "not_found", None).await;
}

#[tokio::test]
async fn delete_with_the_current_version_removes_the_employee() {
    let env = start(with_site(2)).await;
    let client = env.client();
    let err = client
        .delete_employee(PersNo(1001), 7)
        .await
        .expect_err("stale");
    assert_eq!(err.api_code(), Some("version_mismatch"));
    client
        .delete_employee(PersNo(1001), 1)
        .await
        .expect("delete");
    assert_eq!(client.get_employee(PersNo(1001)).await.expect("get"), None);
    let r = env
        .raw(Method::DELETE, "/employees/1001")
        .await
        .header("If-Match", "1")
        .send()
        .await
        .expect("send");
    expect_error(r, 404, "not_found", None).await;
}

#[tokio::test]
async fn cycles_and_paygroups_list_code_and_name() {
    let env = start(options()).await;
    let client = env.client();
    let cycles = client.cycles().await.expect("cycles");
    assert!(cycles.iter().any(|c| c.code == "STD" && !c.name.is_empty()));
    let pay = client.paygroups().await.expect("paygroups");
    assert!(pay.iter().any(|c| c.code == "MONTHLY"));
}

#[tokio::test]
async fn the_pac_mirror_is_replaced_whole() {
    let env = start(options()).await;
    let client = env.client();
    assert!(client.access_groups().await.expect("groups").is_empty());
    let groups = vec![
        model::AccessGroup {
            id: 1,
            name: "All staff".into(),
            is_default: true,
        },
        model::AccessGroup {
            id: 4,
            name: "Warehouse".into(),
            is_default: false,
        },
    ];
    assert_eq!(
        client.put_access_groups(&groups).await.expect("put"),
        groups
    );
    assert_eq!(client.access_groups().await.expect("get"), groups);
    assert_eq!(
        client
            .put_access_groups(&groups[1..])
            .await
            .expect("put")
            .len(),
        1
    );

    let readers = vec![reader(12, "R-0012")];
    assert_eq!(client.put_readers(&readers).await.expect("put"), readers);
    assert_eq!(client.readers().await.expect("get"), readers);

    let r = env
        .raw(Method::PUT, "/pac/readers")
        .await
        .json(&json!({"items": [{"id": 1, "name": "x", "controller_id": 1,
            "controller_name": "c", "serial": "s", "direction": "in", "online": true,
            "colour": "red"}]}))
        .send()
        .await
        .expect("send");
    expect_error(r, 400, "unknown_field", Some("items[0].colour")).await;
    let r = env
        .raw(Method::PUT, "/pac/access-groups")
        .await
        .json(&json!({"items": [{"id": 1, "name": "x"}]}))
        .send()
        .await
        .expect("send");
    expect_error(r, 400, "missing_field", Some("items[0].is_default")).await;
    let err = client
        .put_readers(&[reader(1, "R-1"), reader(2, "R-1")])
        .await
        .expect_err("serial twice");
    assert_eq!(err.api_code(), Some("validation_failed"));
    assert_eq!(
        err.http()
            .and_then(|h| h.api())
            .and_then(|a| a.field.as_deref()),
        Some("items[1].serial")
    );
    assert_eq!(client.readers().await.expect("get"), readers, "unchanged");
}

pub fn reader(id: u32, serial: &str) -> model::Reader {
    model::Reader {
        id,
        name: format!("Door {id} IN"),
        controller_id: 3,
        controller_name: "Lobby 2200".into(),
        serial: serial.into(),
        direction: model::Direction::In,
        online: true,
    }
}

#[tokio::test]
async fn the_connector_maps_errors_it_cannot_act_on_to_http_errors() {
    let env = start(options()).await;
    let client = env.client();
    let err = client
        .update_employee(&employee(5555, "1"))
        .await
        .expect_err("absent");
    assert!(matches!(err, AstrowError::Http(_)), "{err}");
    assert_eq!(err.http().and_then(|h| h.status()), Some(404));
    assert!(
        err.to_string().contains("Astrow PUT /employees/5555"),
        "{err}"
    );
}
