//! A simulated Astrow on loopback behind the shared fault-injecting server,
//! the connector pointed at it, and a raw HTTP client for what the connector
//! rightly refuses to send.

use std::sync::Arc;
use std::time::Duration;

use astrow_pac::astrow::{AstrowClient, AstrowClientConfig};
use astrow_pac::http::{RetryPolicy, Timeouts};
use astrow_pac::model::{self, PersNo};
use astrow_pac::sim::astrow::{AstrowSim, AstrowSimOptions, DEFAULT_USERNAME};
use astrow_pac::sim::faults::Faults;
use astrow_pac::sim::seed_astrow::AstrowSite;
use astrow_pac::sim::server::RunningServer;
use chrono::NaiveDate;
use serde_json::{Value, json};

pub const PASSWORD: &str = "test-password-7";

pub struct Env {
    pub sim: AstrowSim,
    pub faults: Arc<Faults>,
    pub url: String,
    pub raw: reqwest::Client,
    _server: RunningServer,
}

/// Fast retries so fault tests take milliseconds.
pub fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
    }
}

pub fn options() -> AstrowSimOptions {
    AstrowSimOptions::with_password(PASSWORD)
}

/// A site of `n` employees (pers_no 1001..), every fifth inactive.
pub fn site(n: u64) -> AstrowSite {
    let mut s = AstrowSite::empty();
    s.employees = (0..n)
        .map(|i| employee(1001 + i, &format!("{}", 500_000 + i)))
        .collect();
    for e in s.employees.iter_mut().filter(|e| e.pers_no.0 % 5 == 0) {
        e.active = false;
    }
    s
}

pub fn employee(pers_no: u64, badge: &str) -> model::AstrowEmployee {
    model::AstrowEmployee {
        pers_no: PersNo(pers_no),
        employee_no: format!("E-{pers_no}"),
        first_name: "Ana".to_string(),
        middle_name: String::new(),
        last_name: format!("Pop{pers_no}"),
        badge_no: Some(badge.to_string()),
        active: true,
        contract_start: NaiveDate::from_ymd_opt(2026, 11, 28),
        contract_end: None,
        cycle_code: "STD".to_string(),
        paygroup_code: "MONTHLY".to_string(),
        pac_access_group_ids: vec![1],
        pac_badge_type: Some(model::BadgeType::PacProximity),
        external_ref: None,
        version: 1,
    }
}

pub async fn start(opts: AstrowSimOptions) -> Env {
    start_with(opts, |sim| sim.router(), None).await
}

/// Start with a router of the caller's making (e.g. a test layer on top)
/// and optional TLS.
pub async fn start_with(
    mut opts: AstrowSimOptions,
    router: impl FnOnce(&AstrowSim) -> axum::Router,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Env {
    opts.faults = None;
    let sim = AstrowSim::new(opts);
    let faults: Arc<Faults> = sim.faults();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let server = RunningServer::start(
        "127.0.0.1:0".parse().expect("address"),
        tls,
        router(&sim),
        sim.faults(),
    )
    .await
    .expect("simulator starts");
    let host = if scheme == "https" {
        format!("localhost:{}", server.addr.port())
    } else {
        server.addr.to_string()
    };
    astrow_pac::http::install_crypto_provider();
    Env {
        sim,
        faults,
        url: format!("{scheme}://{host}"),
        raw: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("raw client"),
        _server: server,
    }
}

impl Env {
    pub fn config(&self) -> AstrowClientConfig {
        AstrowClientConfig {
            retry: fast_retry(4),
            timeouts: Timeouts {
                connect: Duration::from_secs(2),
                request: Duration::from_secs(5),
            },
            ..AstrowClientConfig::new(&self.url, DEFAULT_USERNAME, PASSWORD)
        }
    }

    pub fn client(&self) -> AstrowClient {
        AstrowClient::new(self.config()).expect("client")
    }

    pub fn client_with(&self, f: impl FnOnce(&mut AstrowClientConfig)) -> AstrowClient {
        let mut cfg = self.config();
        f(&mut cfg);
        AstrowClient::new(cfg).expect("client")
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.url)
    }

    /// A token for raw requests.
    pub async fn token(&self) -> String {
        let r = self
            .raw
            .post(self.api("/session"))
            .json(&json!({"username": DEFAULT_USERNAME, "password": PASSWORD}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.expect("login body");
        v["token"].as_str().expect("token").to_string()
    }

    /// A raw request with a fresh token.
    pub async fn raw(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let token = self.token().await;
        self.raw.request(method, self.api(path)).bearer_auth(token)
    }

    pub async fn sim_put(&self, path: &str, body: Value) -> Value {
        let r = self
            .raw
            .put(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("control");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    pub async fn sim_post(&self, path: &str, body: Value) -> Value {
        let r = self
            .raw
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("control");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    pub async fn faults(&self, body: Value) {
        self.sim_put("/_sim/faults", body).await;
    }

    /// Requests the server answered (or dropped) on `route` ("GET /api/v1/licenses").
    pub fn requests(&self, route: &str) -> u64 {
        self.faults
            .stats()
            .by_route
            .get(route)
            .copied()
            .unwrap_or(0)
    }
}

/// Status and error body of a raw answer.
pub async fn error_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (status, body["error"].clone())
}

/// Assert a raw answer is `status` with `code` (and `field` when given).
pub async fn expect_error(
    r: reqwest::Response,
    status: u16,
    code: &str,
    field: Option<&str>,
) -> Value {
    let (s, e) = error_of(r).await;
    assert_eq!((s, e["code"].as_str()), (status, Some(code)), "error {e}");
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message in {e}"
    );
    if let Some(f) = field {
        assert_eq!(e["field"].as_str(), Some(f), "field in {e}");
    }
    e
}
