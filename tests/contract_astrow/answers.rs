//! Answers that do not fit are errors naming the endpoint, never a panic or
//! a short list: oversized, malformed, too many items, wrong result count.

use astrow_pac::astrow::AstrowError;
use astrow_pac::http::HttpError;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::bookings::booking;
use crate::employees::reader;
use crate::support::*;

/// A server that answers some paths with broken bodies.
async fn tampering(req: Request, next: Next) -> Response {
    let body = match req.uri().path() {
        "/api/v1/licenses" => json!({"file_terminal": true, "employees_import": true,
            "padding": "x".repeat(2 << 20)}),
        "/api/v1/paygroups" => json!({"items": 5}),
        "/api/v1/cycles" => json!({"items": [{"code": "STD"}]}),
        "/api/v1/employees" => {
            let items: Vec<_> = (0..11)
                .map(|i| {
                    json!({"pers_no": 1001 + i, "active": true, "version": 1,
                    "future_key": {"ignored": true}})
                })
                .collect();
            json!({"items": items, "next_cursor": null})
        }
        "/api/v1/bookings/batch" => json!({"results": []}),
        "/api/v1/notifications" => {
            json!({"items": [{"seq": 1, "op": "add", "pers_no": 1, "time": "2026-11-28T08:00:00Z"}],
                "last_seq": 0})
        }
        _ => return next.run(req).await,
    };
    axum::Json(body).into_response()
}

#[tokio::test]
async fn broken_answers_are_errors_that_name_the_endpoint() {
    let env = start_with(
        options(),
        |sim| sim.router().layer(axum::middleware::from_fn(tampering)),
        None,
    )
    .await;
    let client = env.client_with(|c| c.page_size = 10);
    client
        .put_readers(&[reader(1, "R-1")])
        .await
        .expect("untouched path");

    let e = client.licences().await.expect_err("too large");
    assert!(matches!(e.http(), Some(HttpError::TooLarge { .. })), "{e}");
    assert!(e.to_string().contains("Astrow GET /licenses"), "{e}");
    assert_eq!(env.requests("GET /api/v1/licenses"), 1, "not retried");

    let e = client.paygroups().await.expect_err("malformed");
    assert!(matches!(e.http(), Some(HttpError::Malformed { .. })), "{e}");
    assert!(e.to_string().contains("Astrow GET /paygroups"), "{e}");
    let e = client.cycles().await.expect_err("a missing key");
    assert!(matches!(e.http(), Some(HttpError::Malformed { .. })), "{e}");

    let e = client
        .list_employees(true)
        .await
        .expect_err("11 on a page of 10");
    assert!(matches!(e, AstrowError::Answer { .. }), "{e}");
    assert!(e.to_string().contains("11 items"), "{e}");
    let wide = env.client();
    assert_eq!(
        wide.list_employees(true)
            .await
            .expect("unknown keys ignored")
            .len(),
        11
    );

    let e = client
        .send_bookings(&[booking(1, "1", "R-1")])
        .await
        .expect_err("no result");
    assert!(e.to_string().contains("0 results for 1 bookings"), "{e}");

    let e = client
        .notifications(0, 10, std::time::Duration::ZERO)
        .await
        .expect_err("seq past last_seq");
    assert!(matches!(e, AstrowError::Answer { .. }), "{e}");
}
