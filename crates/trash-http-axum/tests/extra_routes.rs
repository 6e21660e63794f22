//! Routes mounted beside the API (the web view) share its request id and
//! its JSON answers for unknown methods.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use tower::ServiceExt;
use trash_core::{Services, TrashConfig};
use trash_http_axum::{router_with, AppState};
use trash_memory::MemoryStore;
use trash_runtime::{system_runtime, NoopCanceller};

fn services() -> Services {
    Services::over(
        Arc::new(MemoryStore::new()),
        Arc::new(NoopCanceller),
        system_runtime(),
        TrashConfig::default(),
    )
}

fn app() -> Router {
    let extra = Router::new().route("/app/hello", get(|| async { "hello" }));
    router_with(AppState::new(services()), extra)
}

#[tokio::test]
async fn extra_routes_get_request_ids_and_json_method_errors() {
    let ok = app()
        .oneshot(Request::get("/app/hello").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.headers().contains_key("x-request-id"));
    let wrong = app()
        .oneshot(
            Request::builder()
                .method(Method::DELETE)
                .uri("/app/hello")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body = axum::body::to_bytes(wrong.into_body(), 4096).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(json["error"].as_str().unwrap().contains("DELETE"));
    // The API is still there.
    let health = app()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn a_request_that_does_not_finish_in_time_is_a_json_503() {
    let mut state = AppState::new(services());
    state.limits.request_timeout = std::time::Duration::from_secs(5);
    let extra = Router::new().route(
        "/app/stuck",
        get(|| async {
            // A storage that stopped answering mid-statement.
            std::future::pending::<()>().await;
            "never"
        }),
    );
    let r = router_with(state, extra)
        .oneshot(Request::get("/app/stuck").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    let body = axum::body::to_bytes(r.into_body(), 4096).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(json["error"].as_str().unwrap().contains("too long"));
}
