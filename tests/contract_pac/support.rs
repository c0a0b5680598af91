//! A simulated PAC on loopback over HTTPS, the connector pointed at it, and
//! a raw client for the requests the connector rightly refuses to send.

use std::time::Duration;

use astrow_pac::http::{RetryPolicy, Timeouts};
use astrow_pac::pac::{PacClient, PacClientConfig};
use astrow_pac::sim::faults::FaultUpdate;
use astrow_pac::sim::pac::{PacSim, PacSimOptions};
use astrow_pac::sim::server::RunningServer;
use reqwest::Method;
use serde_json::Value;

pub struct Env {
    pub sim: PacSim,
    pub server: RunningServer,
    pub raw: reqwest::Client,
    pub _dir: tempfile::TempDir,
}

pub const BASE: &str = "/oem/v1/organizations/1";

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
    }
}

pub async fn env(employees: usize) -> Env {
    env_with(employees, 1000).await
}

pub async fn env_with(employees: usize, event_history: usize) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let sim = PacSim::new(PacSimOptions {
        dir: dir.path().to_path_buf(),
        seed: 7,
        employees,
        event_history,
        swipes_per_min: 0.0,
    })
    .unwrap();
    let server = RunningServer::start(
        "127.0.0.1:0".parse().unwrap(),
        Some(sim.tls_server_config()),
        sim.router(),
        sim.faults(),
    )
    .await
    .unwrap();
    let tls = astrow_pac::pac::tls::client_config(sim.certificate_pem()).unwrap();
    astrow_pac::http::install_crypto_provider();
    let raw = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .unwrap();
    Env {
        sim,
        server,
        raw,
        _dir: dir,
    }
}

impl Env {
    pub fn config(&self) -> PacClientConfig {
        let key = self.sim.oem_key();
        let mut cfg = PacClientConfig::new(
            "127.0.0.1",
            self.server.addr.port(),
            self.sim.certificate_pem(),
            key.client_id.clone(),
            key.key.clone(),
        );
        cfg.retry = fast_retry();
        cfg.timeouts = Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(10),
        };
        cfg
    }

    pub fn client(&self) -> PacClient {
        PacClient::new(self.config()).unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.server.addr.port())
    }

    pub fn auth(&self) -> String {
        let k = self.sim.oem_key();
        format!("PAC-OEM {}:{}", k.client_id, k.key)
    }

    /// A request under the OEM base path with the right key.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut rb = self
            .raw
            .request(method, self.url(&format!("{BASE}{path}")))
            .header("Authorization", self.auth());
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.unwrap();
        answer(resp).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, &[], None).await
    }

    /// A `/_sim/` control request.
    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut rb = self.raw.request(method, self.url(path));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let (status, v) = answer(rb.send().await.unwrap()).await;
        assert!(status < 300, "{path}: {status} {v}");
        v
    }

    pub fn faults(&self, u: FaultUpdate) {
        self.sim.faults().update(u).unwrap();
    }

    /// Requests the simulator saw for `METHOD /path` (path under the base).
    pub fn requests(&self, route: &str) -> u64 {
        let (m, p) = route.split_once(' ').unwrap();
        let key = format!("{m} {BASE}{p}");
        self.sim
            .faults()
            .stats()
            .by_route
            .get(&key)
            .copied()
            .unwrap_or(0)
    }
}

pub async fn answer(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (status, v)
}

/// `(code, field)` of an error body.
pub fn code(v: &Value) -> (&str, Option<&str>) {
    (
        v["error"]["code"].as_str().unwrap_or("<no code>"),
        v["error"]["field"].as_str(),
    )
}
