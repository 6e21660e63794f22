//! One log line per request with method, path template, status, latency and
//! request id; the key never appears in the logs.
//!
//! A test binary of its own: it installs a log subscriber, and tracing's
//! callsite cache is process-wide, so tests running beside it without a
//! subscriber could hide its events.

#[allow(dead_code)]
#[path = "api/common.rs"]
mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::Method;
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

use crate::common::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

#[tokio::test]
async fn one_line_per_request_without_secrets() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let a = fx.get("/acme/trash?limit=5").await;
    a.expect(200);
    let b = fx
        .call_as(
            &Auth::Bearer(fx.key.clone()),
            Method::DELETE,
            "/acme/det",
            None,
        )
        .await;
    b.expect(200);
    let c = fx
        .call_as(
            &Auth::Body(fx.key.clone()),
            Method::POST,
            "/acme/trash/restore",
            Some(json!({"type": "project", "id": s.project_id})),
        )
        .await;
    c.expect(200);
    let d = fx.get("/no/such/route/at/all/here").await;
    d.expect(404);

    let lines = captured.lines();
    let all = lines.join("\n");
    assert!(!all.contains(&fx.key), "a key was logged: {all}");
    let requests: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["fields"]["message"] == "request")
        .collect();
    assert_eq!(requests.len(), 4, "{all}");
    let expected = [
        ("GET", "/{ws}/trash", 200, &a),
        ("DELETE", "/{ws}/{project}", 200, &b),
        ("POST", "/{ws}/trash/restore", 200, &c),
        ("GET", "(no route)", 404, &d),
    ];
    for (line, (method, path, status, reply)) in requests.iter().zip(expected) {
        let f = &line["fields"];
        assert_eq!(f["method"], method);
        assert_eq!(f["path"], path);
        assert_eq!(f["status"], status);
        assert!(f["latency_ms"].as_f64().unwrap() >= 0.0);
        assert_eq!(
            f["request_id"],
            reply.headers["x-request-id"].to_str().unwrap()
        );
    }
}
