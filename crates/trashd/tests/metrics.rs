//! `/metrics` end to end: opt-in on a separate listener, never on the
//! public port; request counts by route template and status, the cleanup
//! backlog and purges, the database pool.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// The metrics address the server logged (`metrics at http://ADDR/metrics`).
async fn metrics_url(server: &Server) -> String {
    eventually("the metrics listener", Duration::from_secs(30), || {
        let log = server.log();
        async move {
            log.split("metrics at http://")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .map(|addr| format!("http://{}", addr.trim_end_matches("/metrics")))
        }
    })
    .await
}

async fn scrape(base: &str) -> String {
    let resp = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("scrape");
    assert_eq!(resp.status(), 200);
    let kind = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    resp.text().await.unwrap()
}

/// `/metrics` on the public port is just a workspace path (`/{ws}`): it
/// never shows the metrics.
async fn not_on_public_port(server: &Server) {
    let public = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap();
    assert_ne!(public.status(), 200);
    let body = public.text().await.unwrap();
    assert!(!body.contains("trashd_"), "{body}");
}

/// The value of the sample whose line starts with `series ` (labels included).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

async fn metrics_follow_the_server(db: &str, pool: bool) {
    let key = workspace_with_key(db, "acme");
    let server = Server::start(
        db,
        &[
            "--retention",
            "1s",
            "--cleanup-interval",
            "200ms",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
    );
    let base = metrics_url(&server).await;
    assert_ne!(base, server.base, "a listener of its own");
    let api = Api::new(&server, &key);

    not_on_public_port(&server).await;

    api.post_ok("/acme/projects", json!({"name": "P", "url": "p"}))
        .await;
    let (status, _) = api.delete("/acme/p").await;
    assert_eq!(status, 200);
    let (status, _) = api.get("/acme/trash?limit=5").await;
    assert_eq!(status, 200);
    let (status, _) = api.get("/acme/nothing-here/1").await;
    assert_eq!(status, 404);

    // The cleanup loop purges the project once its second has passed.
    let text = eventually("the purge to be counted", Duration::from_secs(30), || {
        let base = base.clone();
        async move {
            let text = scrape(&base).await;
            (sample(&text, "trashd_cleanup_purges_total{outcome=\"purged\"}") >= Some(1.0))
                .then_some(text)
        }
    })
    .await;
    for series in [
        "trashd_http_requests_total{method=\"POST\",route=\"/{ws}/projects\",status=\"200\"}",
        "trashd_http_requests_total{method=\"GET\",route=\"/{ws}/trash\",status=\"200\"}",
        "trashd_http_request_duration_seconds_count{method=\"GET\",route=\"/{ws}/trash\",status=\"200\"}",
    ] {
        assert_eq!(sample(&text, series), Some(1.0), "{series} in\n{text}");
    }
    assert!(
        !text.contains("/acme/"),
        "raw paths never become labels:\n{text}"
    );
    assert_eq!(
        sample(&text, "trashd_cleanup_due_operations"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(sample(&text, "trashd_cleanup_purge_lag_seconds"), Some(0.0));
    assert_eq!(sample(&text, "trashd_pending_cancellations"), Some(0.0));
    // The trash and the purge above wrote outbox messages (issue 11's
    // events); with no sender running they wait there.
    assert!(
        sample(&text, "trashd_outbox_ready_messages") >= Some(1.0),
        "{text}"
    );
    assert!(
        sample(&text, "trashd_db_pool_max_connections") >= Some(1.0),
        "{text}"
    );
    assert!(sample(&text, "trashd_db_pool_connections{state=\"idle\"}").is_some());
    assert!(sample(&text, "trashd_db_pool_connections{state=\"in_use\"}").is_some());
    assert_eq!(
        text.contains("trashd_db_pool_waits_total"),
        pool,
        "waits are counted on PostgreSQL:\n{text}"
    );
}

#[tokio::test]
async fn metrics_on_sqlite() {
    let db = SqliteDb::new();
    metrics_follow_the_server(&db.url, false).await;
}

#[tokio::test]
async fn metrics_on_postgres() {
    let db = PgDb::new("metrics").await;
    metrics_follow_the_server(&db.url, true).await;
}

#[tokio::test]
async fn metrics_are_off_by_default() {
    let db = SqliteDb::new();
    let server = Server::start(&db.url, &[]);
    not_on_public_port(&server).await;
    assert!(!server.log().contains("metrics at"), "{}", server.log());
}
