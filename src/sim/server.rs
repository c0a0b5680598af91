//! The simulators' HTTP(S) server: an accept loop of our own (rather than
//! `axum::serve`) so that faults can close a connection without an answer,
//! before or after the handler ran, and so both plain HTTP and TLS are served.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::faults::{FaultUpdate, Faults, Injection};

/// The error a handler future returns to make hyper close the connection
/// without an answer (the "dropped connection" fault).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
pub struct Dropped;

/// Serve `app` (plus the shared `/_sim/faults` and `/_sim/requests` routes)
/// on `listener` until `shutdown` completes. Open connections, long polls
/// included, are ended at shutdown.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    faults: Arc<Faults>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let app = app.merge(control_router(faults.clone()));
    let acceptor = tls.map(TlsAcceptor::from);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    conns.spawn(serve_connection(stream, acceptor.clone(), app.clone(), faults.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait, don't spin.
                    tracing::warn!(error = %e, "simulator accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
    Ok(())
}

/// A server running in a task of its own; stopped by [`RunningServer::stop`]
/// or when dropped.
pub struct RunningServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    /// Bind `addr` (port 0 picks a free one) and serve there.
    pub async fn start(
        addr: SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
        app: Router,
        faults: Arc<Faults>,
    ) -> std::io::Result<RunningServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, tls, app, faults, async move {
            let _ = rx.await;
        }));
        Ok(RunningServer {
            addr,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// Stop accepting, end open connections, and wait for the loop to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    acceptor: Option<TlsAcceptor>,
    app: Router,
    faults: Arc<Faults>,
) {
    let svc = hyper::service::service_fn(move |req| handle(req, app.clone(), faults.clone()));
    let builder = auto::Builder::new(TokioExecutor::new());
    match acceptor {
        Some(acceptor) => match acceptor.accept(stream).await {
            Ok(tls) => {
                let _ = builder.serve_connection(TokioIo::new(tls), svc).await;
            }
            Err(e) => tracing::debug!(error = %e, "simulator TLS handshake failed"),
        },
        None => {
            let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
        }
    }
}

async fn handle(
    req: Request<Incoming>,
    app: Router,
    faults: Arc<Faults>,
) -> Result<Response<Body>, Dropped> {
    let route = format!("{} {}", req.method(), req.uri().path());
    let req = req.map(Body::new);
    if req.uri().path().starts_with("/_sim/") {
        return Ok(run(app, req).await);
    }
    let (injection, latency_ms) = faults.draw();
    if latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    }
    let before = match injection {
        Injection::RateLimit { retry_after_s } => Some(rate_limited(retry_after_s)),
        Injection::ErrorBefore => Some(internal_error()),
        Injection::DropBefore => {
            faults.record(&route, None, injection);
            return Err(Dropped);
        }
        _ => None,
    };
    if let Some(resp) = before {
        faults.record(&route, Some(resp.status().as_u16()), injection);
        return Ok(resp);
    }
    let resp = run(app, req).await;
    let resp = match injection {
        Injection::ErrorAfter => internal_error(),
        Injection::DropAfter => {
            faults.record(&route, None, injection);
            return Err(Dropped);
        }
        Injection::Truncate => truncate(resp).await,
        _ => resp,
    };
    faults.record(&route, Some(resp.status().as_u16()), injection);
    Ok(resp)
}

async fn run(app: Router, req: Request<Body>) -> Response<Body> {
    match app.oneshot(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    }
}

fn error_body(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

fn internal_error() -> Response<Body> {
    error_body(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "simulated server error",
    )
}

fn rate_limited(retry_after_s: u64) -> Response<Body> {
    let mut resp = error_body(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too many requests",
    );
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
    resp
}

/// The answer with its body cut in half (sent without a length, so the
/// client sees a complete HTTP message whose JSON ends early).
async fn truncate(resp: Response<Body>) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes.slice(0..bytes.len() / 2)))
}

/// `/_sim/faults` (GET, PUT) and `/_sim/requests` (GET, DELETE resets).
pub fn control_router(faults: Arc<Faults>) -> Router {
    Router::new()
        .route("/_sim/faults", get(get_faults).put(put_faults))
        .route("/_sim/requests", get(get_requests).delete(reset_requests))
        .with_state(faults)
}

async fn get_faults(State(f): State<Arc<Faults>>) -> impl IntoResponse {
    axum::Json(f.settings())
}

async fn put_faults(State(f): State<Arc<Faults>>, body: axum::body::Bytes) -> Response<Body> {
    let update: FaultUpdate = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            return error_body(
                StatusCode::BAD_REQUEST,
                "invalid_field",
                &format!("fault settings: {e}"),
            );
        }
    };
    match f.update(update) {
        Ok(s) => axum::Json(s).into_response(),
        Err(msg) => error_body(StatusCode::BAD_REQUEST, "invalid_field", &msg),
    }
}

async fn get_requests(State(f): State<Arc<Faults>>) -> impl IntoResponse {
    axum::Json(f.stats())
}

async fn reset_requests(State(f): State<Arc<Faults>>) -> StatusCode {
    f.reset_stats();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{HttpError, Timeouts, check_status, client_builder, read_json};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A one-route app that counts how often its handler ran (a "write").
    async fn start() -> (RunningServer, Arc<Faults>, Arc<AtomicU32>, String) {
        let writes = Arc::new(AtomicU32::new(0));
        let w = writes.clone();
        let app = Router::new().route(
            "/write",
            axum::routing::post(move || {
                let w = w.clone();
                async move {
                    let n = w.fetch_add(1, Ordering::SeqCst) + 1;
                    axum::Json(serde_json::json!({"writes": n, "padding": "x".repeat(64)}))
                }
            }),
        );
        let faults = Arc::new(Faults::new());
        let server =
            RunningServer::start("127.0.0.1:0".parse().unwrap(), None, app, faults.clone())
                .await
                .unwrap();
        let url = format!("http://{}", server.addr);
        (server, faults, writes, url)
    }

    async fn post(url: &str) -> Result<serde_json::Value, HttpError> {
        let c = client_builder(&Timeouts::default()).build().unwrap();
        let resp = c
            .post(format!("{url}/write"))
            .send()
            .await
            .map_err(|e| HttpError::from_reqwest("POST /write", &e))?;
        let resp = check_status(resp, "POST /write").await?;
        read_json(resp, "POST /write", 1 << 20).await
    }

    async fn set(url: &str, body: serde_json::Value) {
        let c = client_builder(&Timeouts::default()).build().unwrap();
        let r = c
            .put(format!("{url}/_sim/faults"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    #[tokio::test]
    async fn without_faults_requests_pass_and_are_counted() {
        let (_s, faults, writes, url) = start().await;
        let v = post(&url).await.unwrap();
        assert_eq!(v["writes"], 1);
        assert_eq!(writes.load(Ordering::SeqCst), 1);
        let st = faults.stats();
        assert_eq!(st.total, 1);
        assert_eq!(st.by_status.get("200"), Some(&1));
        assert_eq!(st.by_route.get("POST /write"), Some(&1));
    }

    #[tokio::test]
    async fn rate_limit_answers_429_with_retry_after_and_writes_nothing() {
        let (_s, _f, writes, url) = start().await;
        set(
            &url,
            serde_json::json!({"rate_limit": 1.0, "retry_after_s": 3}),
        )
        .await;
        let e = post(&url).await.unwrap_err();
        assert_eq!(e.status(), Some(429));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(writes.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn dropped_connections_lose_the_answer_sometimes_after_the_write() {
        let (_s, faults, writes, url) = start().await;
        set(&url, serde_json::json!({"drop_rate": 1.0})).await;
        for _ in 0..20 {
            let e = post(&url).await.unwrap_err();
            assert!(e.is_transient(), "{e}");
        }
        let st = faults.stats();
        assert_eq!(st.by_status.get("dropped"), Some(&20));
        let after = st.faults.get("drop_after").copied().unwrap_or(0);
        assert!(after > 0, "some drops happen after the write committed");
        assert_eq!(writes.load(Ordering::SeqCst) as u64, after);
    }

    #[tokio::test]
    async fn truncated_bodies_are_reported_as_cut_short() {
        let (_s, _f, writes, url) = start().await;
        set(&url, serde_json::json!({"truncate_rate": 1.0})).await;
        let e = post(&url).await.unwrap_err();
        assert!(matches!(e, HttpError::Truncated { .. }), "{e}");
        assert_eq!(writes.load(Ordering::SeqCst), 1, "the write happened");
    }

    #[tokio::test]
    async fn errors_and_latency_apply_and_clear() {
        let (_s, faults, _w, url) = start().await;
        set(
            &url,
            serde_json::json!({"error_rate": 1.0, "latency_ms": 50}),
        )
        .await;
        let t = std::time::Instant::now();
        let e = post(&url).await.unwrap_err();
        assert_eq!(e.status(), Some(500));
        assert!(t.elapsed() >= Duration::from_millis(50));
        faults.clear();
        assert!(post(&url).await.is_ok());
    }

    #[tokio::test]
    async fn bad_fault_settings_are_refused_naming_the_field() {
        let (_s, _f, _w, url) = start().await;
        let c = client_builder(&Timeouts::default()).build().unwrap();
        let r = c
            .put(format!("{url}/_sim/faults"))
            .json(&serde_json::json!({"eror_rate": 0.5}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains("eror_rate"));
    }
}
