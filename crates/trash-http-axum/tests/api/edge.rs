//! What faces hostile clients at the HTTP layer: headers on every answer,
//! keys that cannot be told apart, invisible characters in names, the
//! reserved `trash` segment, and restore ids of any plausible syntax.

use std::net::SocketAddr;
use std::num::NonZeroU32;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request};
use axum::Router;
use serde_json::{json, Value};
use trash_core::domain::ScopeSet;
use trash_http_axum::{router, AppState, EdgeConfig};

use crate::common::*;

#[track_caller]
fn assert_guarded(r: &Reply, what: &str) {
    assert_eq!(
        r.headers
            .get(header::X_CONTENT_TYPE_OPTIONS)
            .map(|v| v.to_str().unwrap()),
        Some("nosniff"),
        "{what}: {:?}",
        r.headers
    );
    assert_eq!(
        r.headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "{what}: {:?}",
        r.headers
    );
}

#[tokio::test]
async fn every_answer_is_nosniff_and_no_store() {
    let fx = Fixture::new().await;
    fx.seed("det").await;
    let answers = [
        ("GET with the key in the query", fx.get("/acme/trash").await),
        ("a project", fx.get("/acme/det").await),
        ("404", fx.get("/acme/nope").await),
        ("no route", fx.get("/acme/det/1/v2/x/y/z").await),
        ("405", fx.call(Method::PUT, "/acme/det", None).await),
        ("400", fx.get("/acme/trash?limit=0").await),
        (
            "401",
            fx.call_as(&Auth::None, Method::GET, "/acme/trash", None)
                .await,
        ),
        (
            "restore",
            fx.post("/acme/trash/restore", json!({"type": "project", "id": "x"}))
                .await,
        ),
        (
            "healthz",
            fx.call_as(&Auth::None, Method::GET, "/healthz", None).await,
        ),
        (
            "openapi",
            fx.call_as(&Auth::None, Method::GET, "/openapi.json", None)
                .await,
        ),
    ];
    for (what, r) in &answers {
        assert_guarded(r, what);
    }
    let head = send(
        &fx.app,
        request(Method::HEAD, "/healthz", &Auth::None, None),
    )
    .await;
    assert_guarded(&head, "HEAD");
    let too_large = send(
        &fx.app,
        Request::builder()
            .method(Method::POST)
            .uri(format!("/acme/projects?api_key={}", fx.key))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(vec![b' '; 100 * 1024]))
            .unwrap(),
    )
    .await;
    too_large.expect(413);
    assert_guarded(&too_large, "413");
}

// ---- names ------------------------------------------------------------------------

#[tokio::test]
async fn names_with_invisible_format_characters_are_400() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let hostile = [
        ("\u{202e}txt.exe\u{200b}", "U+202E"),
        ("invoice\u{200b}", "U+200B"),
        ("a\u{2066}b\u{2069}", "U+2066"),
        ("\u{feff}bom", "U+FEFF"),
        ("zero\u{200d}joiner", "U+200D"),
    ];
    for (name, code_point) in hostile {
        for (uri, body) in [
            ("/acme/projects", json!({"name": name, "url": "fresh"})),
            ("/acme/workflows", json!({"name": name, "url": "fresh-wf"})),
            ("/acme/det/versions", json!({ "name": name })),
            ("/acme/det/images", json!({ "name": name })),
        ] {
            let r = fx.post(uri, body).await;
            r.expect(400);
            assert!(
                r.error().contains(code_point) && r.error().contains("name"),
                "{uri} {name:?}: {}",
                r.error()
            );
        }
    }
    // Visible non-ASCII is fine.
    let r = fx
        .post(
            "/acme/projects",
            json!({"name": "Détecteur ✓ 漢字", "url": "fresh"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["name"], "Détecteur ✓ 漢字");
    // Nothing was created by the refused requests.
    let p = fx.get("/acme/det").await;
    assert_eq!(p.body["versions"].as_array().unwrap().len(), 2);
    let image = fx.get(&format!("/acme/images/{}", s.image_id)).await;
    image.expect(200);
    fx.get("/acme/workflows/fresh-wf").await.expect(404);
}

// ---- the reserved trash segment -----------------------------------------------------

#[tokio::test]
async fn unrouted_paths_under_trash_are_404_or_405_json() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let t = &s.training_id;
    let paths = [
        "/acme/trash/x".to_owned(),
        "/acme/trash/1".to_owned(),
        "/acme/trash/restore/x".to_owned(),
        "/acme/trash/x/y".to_owned(),
        "/acme/trash/versions".to_owned(),
        "/acme/trash/images".to_owned(),
        "/acme/trash/1/v2/trainings".to_owned(),
        format!("/acme/trash/1/v2/trainings/{t}"),
        format!("/acme/trash/1/v2/trainings/{t}/status"),
        "/acme/tr%61sh/1".to_owned(),
    ];
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::HEAD,
    ];
    for path in &paths {
        for method in &methods {
            for auth in [Auth::None, Auth::Query(fx.key.clone())] {
                let body = (*method == Method::POST).then(|| json!({}));
                let r = fx.call_as(&auth, method.clone(), path, body).await;
                assert!(
                    r.status == 404 || r.status == 405,
                    "{method} {path} {auth:?}: {} {}",
                    r.status,
                    r.body
                );
                if *method != Method::HEAD {
                    assert!(
                        r.error().contains("no route") || r.error().contains("not allowed"),
                        "{method} {path}: {}",
                        r.error()
                    );
                }
            }
        }
    }
    // The report's case exactly.
    let r = fx.delete("/acme/trash/x").await;
    r.expect(404);
    assert_eq!(r.error(), "no route for /acme/trash/x");
    // Other reserved segments behave the same; real routes still work.
    fx.delete("/acme/workflows/x/y").await.expect(404);
    fx.get("/acme/images/x/v2/trainings").await.expect(404);
    fx.get("/acme/det/1").await.expect(200);
    fx.get("/acme/trash").await.expect(200);
}

// ---- restore ids ----------------------------------------------------------------------

#[tokio::test]
async fn restore_ids_of_another_syntax_are_404_not_in_trash() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let p = &s.project_id;
    let cases: Vec<(Value, String)> = vec![
        (
            json!({"type": "project", "id": "d_abc123"}),
            "project d_abc123 not found in trash".into(),
        ),
        (
            json!({"type": "workflow", "id": "my flow"}),
            "workflow my flow not found in trash".into(),
        ),
        (
            json!({"type": "training", "id": "run-1.2"}),
            "training run-1.2 not found in trash".into(),
        ),
        (
            json!({"type": "project", "id": "x".repeat(128)}),
            format!("project {} not found in trash", "x".repeat(128)),
        ),
        (
            json!({"type": "version", "id": "two", "parentId": p}),
            format!("version two of project {p} not found in trash"),
        ),
        (
            json!({"type": "version", "id": "0", "parentId": p}),
            format!("version 0 of project {p} not found in trash"),
        ),
        (
            json!({"type": "version", "id": 1, "parentId": "d_abc123"}),
            "version 1 of project d_abc123 not found in trash".into(),
        ),
        (
            json!({"type": "project", "id": "Zzzzzzzzzzzzzzzzzzz1"}),
            "project Zzzzzzzzzzzzzzzzzzz1 not found in trash".into(),
        ),
        // A whole number written with a fraction is the same number.
        (
            json!({"type": "version", "id": 7.0, "parentId": 1274.0}),
            "version 7 of project 1274 not found in trash".into(),
        ),
    ];
    for (body, sentence) in &cases {
        let r = fx.post("/acme/trash/restore", body.clone()).await;
        r.expect(404);
        assert_eq!(r.error(), sentence, "{body}");
    }
    // Still the same checks first: another workspace's key, a missing scope.
    let odd = json!({"type": "project", "id": "d_abc123"});
    let r = fx
        .call_as(
            &Auth::Query(fx.other_key.clone()),
            Method::POST,
            "/acme/trash/restore",
            Some(odd.clone()),
        )
        .await;
    r.expect(401);
    assert!(r.error().contains("does not belong"), "{}", r.error());
    let read_only = fx
        .key_with(ScopeSet::parse_list("project:read").unwrap())
        .await;
    let r = fx
        .call_as(
            &Auth::Query(read_only),
            Method::POST,
            "/acme/trash/restore",
            Some(odd),
        )
        .await;
    r.expect(401);
    assert_eq!(r.body["missingScope"], "project:update");
    fx.get("/acme/det").await.expect(200);
}

#[tokio::test]
async fn restore_ids_that_are_empty_too_long_or_unprintable_are_400() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let p = &s.project_id;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"type": "project", "id": ""}),
            "\"id\" must not be empty",
        ),
        (
            json!({"type": "project", "id": "x".repeat(129)}),
            "too long",
        ),
        (json!({"type": "project", "id": "a\u{7}b"}), "printable"),
        (json!({"type": "project", "id": "a\nb"}), "printable"),
        (json!({"type": "workflow", "id": "a\u{202e}b"}), "printable"),
        (json!({"type": "training", "id": "\u{200b}"}), "printable"),
        (
            json!({"type": "version", "id": "1", "parentId": ""}),
            "\"parentId\" must not be empty",
        ),
        (
            json!({"type": "version", "id": "1", "parentId": "p".repeat(500)}),
            "\"parentId\" is too long",
        ),
        (
            json!({"type": "version", "id": "1\t", "parentId": p}),
            "\"id\" must be printable",
        ),
    ];
    for (body, needle) in cases {
        let r = fx.post("/acme/trash/restore", body.clone()).await;
        r.expect(400);
        assert!(r.error().contains(needle), "{body}: {}", r.error());
        assert!(!r.error().contains("not found"), "{}", r.error());
    }
}

// ---- rate limits ------------------------------------------------------------------------

fn limited(fx: &Fixture, config: EdgeConfig) -> Router {
    router(AppState::new(fx.services.clone()).with_edge(config))
}

/// A GET as it arrives from `peer`, with an optional `X-Forwarded-For`.
fn from_peer(uri: &str, peer: &str, forwarded_for: Option<&str>) -> Request<Body> {
    let mut req = Request::builder().uri(uri);
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    let mut req = req.body(Body::empty()).unwrap();
    let addr: SocketAddr = format!("{peer}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    req
}

/// Sends until the first 429 (at most 50 requests); returns it and how
/// many were answered 200 before it. The buckets refill while this runs,
/// so the count is at least the burst, never asserted exactly.
async fn until_refused(app: &Router, make: impl Fn() -> Request<Body>) -> (Reply, usize) {
    let mut passed = 0;
    for _ in 0..50 {
        let r = send(app, make()).await;
        match r.status.as_u16() {
            200 => passed += 1,
            429 => return (r, passed),
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    panic!("no 429 after 50 requests");
}

#[tokio::test]
async fn over_the_key_limit_is_429_with_retry_after_and_each_key_has_its_bucket() {
    let fx = Fixture::new().await;
    let app = limited(
        &fx,
        EdgeConfig {
            per_key: NonZeroU32::new(1),
            ..EdgeConfig::default()
        },
    );
    let get = |key: &str| {
        request(
            Method::GET,
            "/acme/trash",
            &Auth::Query(key.to_owned()),
            None,
        )
    };
    // A burst of twice the rate passes, then the key is refused.
    let (refused, passed) = until_refused(&app, || get(&fx.key)).await;
    assert!(passed >= 2, "{passed}");
    assert!(
        refused.error().contains("too many requests"),
        "{}",
        refused.error()
    );
    let retry_after: u64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_guarded(&refused, "429");
    // Another key of the same workspace has its own bucket.
    let other = fx.key_with(ScopeSet::all()).await;
    send(&app, get(&other)).await.expect(200);
    // Keys that do not exist never reach the key limiter: always 401.
    for _ in 0..10 {
        send(&app, get("doesNotExist0000000000000000000x"))
            .await
            .expect(401);
    }
}

#[tokio::test]
async fn forwarded_for_names_the_client_only_from_a_trusted_proxy() {
    let fx = Fixture::new().await;
    let app = limited(
        &fx,
        EdgeConfig {
            per_client: NonZeroU32::new(1),
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
            ..EdgeConfig::default()
        },
    );
    let uri = format!("/acme/trash?api_key={}", fx.key);
    // An untrusted peer cannot escape its bucket by naming others...
    let n = std::sync::atomic::AtomicU32::new(0);
    let (refused, _) = until_refused(&app, || {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        from_peer(&uri, "203.0.113.1", Some(&format!("198.51.100.{i}")))
    })
    .await;
    assert!(
        refused.error().contains("client address"),
        "{}",
        refused.error()
    );
    // ...nor use up another client's bucket by naming it.
    send(&app, from_peer(&uri, "203.0.113.2", Some("203.0.113.1")))
        .await
        .expect(200);
    // Behind a trusted proxy, each named client has its own bucket.
    until_refused(&app, || from_peer(&uri, "10.0.0.1", Some("198.51.100.7"))).await;
    send(&app, from_peer(&uri, "10.0.0.1", Some("198.51.100.8")))
        .await
        .expect(200);
    // Health checks are never limited.
    for _ in 0..10 {
        send(&app, from_peer("/healthz", "203.0.113.1", None))
            .await
            .expect(200);
    }
}
