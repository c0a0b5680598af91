//! Session, tokens, the API permission, licences, error bodies.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use astrow_pac::astrow::{AstrowError, Licenses};
use astrow_pac::sim::astrow::{AstrowSimOptions, NO_API_USERNAME};
use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn login_answers_a_token_that_opens_the_api() {
    let env = start(options()).await;
    let r = env
        .raw
        .post(env.api("/session"))
        .json(&json!({"username": "astrow-io", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.expect("json");
    assert!(v["token"].as_str().is_some_and(|t| t.len() >= 16));
    let expires = v["expires_at"].as_str().expect("expires_at");
    assert!(
        chrono::DateTime::parse_from_rfc3339(expires).is_ok(),
        "{expires}"
    );

    let licences = env.client().licences().await.expect("licences");
    assert_eq!(
        licences,
        Licenses {
            file_terminal: true,
            employees_import: true
        }
    );
}

#[tokio::test]
async fn no_bearer_token_is_invalid_credentials_and_an_unknown_one_expired() {
    let env = start(options()).await;
    let r = env
        .raw
        .get(env.api("/licenses"))
        .send()
        .await
        .expect("send");
    assert!(r.headers().contains_key("www-authenticate"));
    expect_error(r, 401, "invalid_credentials", None).await;
    let r = env
        .raw
        .get(env.api("/licenses"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .expect("send");
    expect_error(r, 401, "token_expired", None).await;
}

#[tokio::test]
async fn wrong_password_is_an_actionable_error_without_the_password() {
    let env = start(options()).await;
    let r = env
        .raw
        .post(env.api("/session"))
        .json(&json!({"username": "astrow-io", "password": "nope"}))
        .send()
        .await
        .expect("send");
    expect_error(r, 401, "invalid_credentials", None).await;

    let client = env.client_with(|c| c.password = "wrong-secret-99".into());
    let e = client.licences().await.expect_err("refused");
    assert!(matches!(e, AstrowError::InvalidCredentials { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("astrow.password") && !msg.contains("wrong-secret-99"),
        "{msg}"
    );
    assert_eq!(
        env.requests("POST /api/v1/session"),
        2,
        "a 401 is not retried"
    );
}

#[tokio::test]
async fn a_user_without_the_api_permission_is_told_where_to_grant_it() {
    let env = start(options()).await;
    let r = env
        .raw
        .post(env.api("/session"))
        .json(&json!({"username": NO_API_USERNAME, "password": PASSWORD}))
        .send()
        .await
        .expect("send");
    expect_error(r, 403, "api_permission_missing", None).await;

    let client = env.client_with(|c| c.username = NO_API_USERNAME.into());
    let e = client.licences().await.expect_err("refused");
    assert!(matches!(e, AstrowError::PermissionMissing { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "the Astrow user astrow-no-api lacks the permission 'Allow API to connect to Astrow': \
         grant it in Astrow under Roles and permissions"
    );

    // Revoked after login: the open session is refused too.
    let client = env.client();
    client.licences().await.expect("allowed");
    env.sim_put("/_sim/permission", json!({"allow_api": false}))
        .await;
    let e = client.licences().await.expect_err("revoked");
    assert!(matches!(e, AstrowError::PermissionMissing { .. }), "{e}");
    env.sim_put(
        "/_sim/permission",
        json!({"username": "astrow-io", "allow_api": true}),
    )
    .await;
    client.licences().await.expect("granted again");
}

#[tokio::test]
async fn an_expired_token_is_renewed_and_the_request_repeated_once() {
    let env = start(options()).await;
    let client = env.client();
    client.licences().await.expect("first");
    let v = env.sim_post("/_sim/expire_tokens", json!({})).await;
    assert_eq!(v["expired"], 1);
    client.licences().await.expect("after expiry");
    assert_eq!(client.logins().await, 2);
    assert_eq!(env.requests("GET /api/v1/licenses"), 3, "one repeat");

    // Through the shared fault switch as well.
    env.faults(json!({"expire_tokens": true})).await;
    client.cycles().await.expect("after the fault");
    assert_eq!(client.logins().await, 3);
}

#[tokio::test]
async fn token_ttl_runs_out() {
    let env = start(AstrowSimOptions {
        token_ttl: std::time::Duration::from_millis(50),
        ..options()
    })
    .await;
    let token = env.token().await;
    tokio::time::sleep(std::time::Duration::from_millis(80)).await;
    let r = env
        .raw
        .get(env.api("/licenses"))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    expect_error(r, 401, "token_expired", None).await;
}

#[tokio::test]
async fn concurrent_callers_share_one_re_login() {
    let env = start(options()).await;
    let client = env.client();
    client.licences().await.expect("first");
    env.sim.expire_tokens();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move { c.licences().await }));
    }
    for t in tasks {
        t.await.expect("task").expect("licences");
    }
    assert_eq!(client.logins().await, 2);
    assert_eq!(env.sim.stats().counts.logins, 2);
}

#[tokio::test]
async fn a_token_that_expires_mid_listing_is_renewed_and_the_page_repeated() {
    let pages = Arc::new(AtomicU32::new(0));
    let env = start_with(
        AstrowSimOptions {
            site: Some(site(30)),
            ..options()
        },
        |sim| {
            let sim2 = sim.clone();
            let pages = pages.clone();
            sim.router().layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    let (sim, pages) = (sim2.clone(), pages.clone());
                    async move {
                        if req.uri().path() == "/api/v1/employees"
                            && pages.fetch_add(1, Ordering::SeqCst) == 1
                        {
                            sim.expire_tokens();
                        }
                        next.run(req).await
                    }
                },
            ))
        },
        None,
    )
    .await;
    let client = env.client_with(|c| c.page_size = 10);
    let all = client.list_employees(true).await.expect("complete listing");
    assert_eq!(all.len(), 30);
    assert_eq!(client.logins().await, 2);
    assert_eq!(pages.load(Ordering::SeqCst), 4, "3 pages and one repeat");
}

#[tokio::test]
async fn without_a_licence_the_writes_it_covers_are_refused() {
    let env = start(AstrowSimOptions {
        site: Some(site(2)),
        ..options()
    })
    .await;
    let client = env.client();
    env.sim_put(
        "/_sim/licences",
        json!({"file_terminal": false, "employees_import": false}),
    )
    .await;
    assert_eq!(
        client.licences().await.expect("licences"),
        Licenses {
            file_terminal: false,
            employees_import: false
        }
    );
    let e = client
        .create_employee(&employee(0, "77"), "k1")
        .await
        .expect_err("no licence");
    assert!(
        matches!(
            e,
            AstrowError::LicenceMissing {
                licence: "Employees import",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("add the licence"), "{e}");
    let e = client
        .update_employee(&employee(1001, "500000"))
        .await
        .expect_err("no licence");
    assert!(matches!(e, AstrowError::LicenceMissing { .. }), "{e}");
    let e = client
        .delete_employee(astrow_pac::model::PersNo(1001), 1)
        .await
        .expect_err("no licence");
    assert!(matches!(e, AstrowError::LicenceMissing { .. }), "{e}");
    let b = crate::bookings::booking(1, "500000", "R-1");
    let e = client.send_bookings(&[b]).await.expect_err("no licence");
    assert!(
        matches!(
            e,
            AstrowError::LicenceMissing {
                licence: "File terminal",
                ..
            }
        ),
        "{e}"
    );
    // Reads stay open.
    assert_eq!(client.list_employees(true).await.expect("list").len(), 2);
    let r = env
        .raw(Method::POST, "/employees")
        .await
        .json(&json!({"first_name": "A"}))
        .send()
        .await
        .expect("send");
    expect_error(r, 403, "license_missing", None).await;
}

#[tokio::test]
async fn every_error_has_the_error_body_unknown_paths_and_methods_included() {
    let env = start(options()).await;
    let r = env
        .raw(Method::GET, "/nowhere")
        .await
        .send()
        .await
        .expect("send");
    expect_error(r, 404, "not_found", None).await;
    let r = env
        .raw(Method::DELETE, "/licenses")
        .await
        .send()
        .await
        .expect("send");
    expect_error(r, 405, "method_not_allowed", None).await;
    let r = env
        .raw(Method::GET, "/licenses?verbose=1")
        .await
        .send()
        .await
        .expect("send");
    expect_error(r, 400, "unknown_field", Some("verbose")).await;
}

#[tokio::test]
async fn the_simulator_starts_itself_with_its_own_faults() {
    let sim = astrow_pac::sim::astrow::AstrowSim::new(options());
    let server = sim
        .start("127.0.0.1:0".parse().expect("addr"), None)
        .await
        .expect("starts");
    let client =
        astrow_pac::astrow::AstrowClient::new(astrow_pac::astrow::AstrowClientConfig::new(
            &format!("http://{}", server.addr),
            "astrow-io",
            PASSWORD,
        ))
        .expect("client");
    client.licences().await.expect("licences");
    assert_eq!(sim.stats().requests.total, 2, "login and licences counted");
    let raw = reqwest::Client::new();
    let r = raw
        .post(format!("http://{}/_sim/edit", server.addr))
        .json(&json!({"count": 1_000_000}))
        .send()
        .await
        .expect("send");
    expect_error(r, 400, "invalid_field", Some("count")).await;
    server.stop().await;
}
