//! Every error status of spec section 4, each as `{"error": "…"}` JSON.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use serde_json::{json, Value};
use trash_core::domain::*;
use trash_core::ports::{
    MockAccountStore, MockAuditLog, MockHealth, MockResourceStore, MockTrashReads, MockTrashWrites,
    MockWorkQueue, ProjectAggregate, Revision, SlugHolder, StoreError,
};
use trash_core::{AccountService, ResourceService, Runtime, TrashConfig, TrashPorts, TrashService};
use trash_http_axum::{router, AppState, Limits};
use trash_memory::{ManualClock, NoPause};
use trash_runtime::{NoopCanceller, RandomIds};

use crate::common::*;

// ---- 400 ------------------------------------------------------------------------

#[tokio::test]
async fn bad_requests_answer_400_with_a_sentence() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    fx.delete("/acme/det/2").await.expect(200);
    let restore = "/acme/trash/restore";
    let cases: Vec<(Method, String, Option<Value>, &str)> = vec![
        (
            Method::POST,
            restore.into(),
            Some(json!({"id": "x"})),
            "\"type\"",
        ),
        (
            Method::POST,
            restore.into(),
            Some(json!({"type": "image", "id": "x"})),
            "type",
        ),
        (
            Method::POST,
            restore.into(),
            Some(json!({"type": "Project", "id": "x"})),
            "type",
        ),
        (
            Method::POST,
            restore.into(),
            Some(json!({"type": "project"})),
            "\"id\"",
        ),
        (
            Method::POST,
            restore.into(),
            Some(json!({"type": "project", "id": ""})),
            "empty",
        ),
        (
            Method::POST,
            restore.into(),
            Some(json!({"type": "version", "id": "2"})),
            "parentId",
        ),
        (
            Method::POST,
            restore.into(),
            Some(
                json!({"type": "version", "id": "2", "parentId": s.project_id, "onConflict": "overwrite"}),
            ),
            "onConflict",
        ),
        (
            Method::POST,
            restore.into(),
            Some(json!({"type": "project", "id": true})),
            "\"id\"",
        ),
        (
            Method::POST,
            restore.into(),
            Some(json!({"type": "version", "id": -2, "parentId": s.project_id})),
            "\"id\"",
        ),
        (
            Method::POST,
            restore.into(),
            Some(json!({"type": 7, "id": "x"})),
            "shape",
        ),
        (Method::POST, restore.into(), None, "\"type\""),
        (Method::GET, "/acme/trash?limit=0".into(), None, "limit"),
        (Method::GET, "/acme/trash?limit=1001".into(), None, "limit"),
        (Method::GET, "/acme/trash?limit=ten".into(), None, "limit"),
        (Method::GET, "/acme/trash?type=image".into(), None, "type"),
        (Method::GET, "/acme/trash?cursor=abc".into(), None, "cursor"),
        (
            Method::GET,
            "/acme/trash?limit=1&limit=2".into(),
            None,
            "more than once",
        ),
        (
            Method::DELETE,
            "/acme/det?cleanupDeleteImages=yes".into(),
            None,
            "cleanupDeleteImages",
        ),
        (Method::DELETE, "/acme/det/two".into(), None, "version"),
        (Method::DELETE, "/acme/det/0".into(), None, "version"),
        (Method::GET, "/acme/Det".into(), None, "project"),
        (Method::GET, "/Acme/trash".into(), None, "workspace"),
        (
            Method::POST,
            "/acme/projects".into(),
            Some(json!({})),
            "name",
        ),
        (
            Method::POST,
            "/acme/projects".into(),
            Some(json!({"name": "  "})),
            "name",
        ),
        (
            Method::POST,
            "/acme/projects".into(),
            Some(json!({"name": "x", "url": "Bad Slug"})),
            "url",
        ),
        (
            Method::POST,
            "/acme/projects".into(),
            Some(json!({"name": "!!!"})),
            "url",
        ),
        (
            Method::POST,
            "/acme/det/versions".into(),
            Some(json!({"name": 3})),
            "shape",
        ),
        (
            Method::POST,
            format!("/acme/det/1/v2/trainings/{}/status", s.training_id),
            Some(json!({"status": "cancelled"})),
            "status",
        ),
        (
            Method::POST,
            "/acme/det/images".into(),
            Some(json!({})),
            "exactly one",
        ),
        (
            Method::POST,
            "/acme/det/images".into(),
            Some(json!({"name": "a", "imageId": s.image_id})),
            "exactly one",
        ),
        (
            Method::POST,
            "/acme/det/images".into(),
            Some(json!({"imageId": "short"})),
            "imageId",
        ),
        (Method::GET, "/acme/images/short".into(), None, "image id"),
        (
            Method::GET,
            "/acme/det/1/v2/trainings/short".into(),
            None,
            "training id",
        ),
    ];
    for (method, uri, body, needle) in cases {
        let r = fx.call(method.clone(), &uri, body.clone()).await;
        assert_eq!(r.status, 400, "{method} {uri} {body:?}: {}", r.body);
        assert!(
            r.error().contains(needle),
            "{method} {uri}: {:?} lacks {needle:?}",
            r.error()
        );
    }
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type_are_400() {
    let fx = Fixture::new().await;
    let uri = format!("/acme/trash/restore?api_key={}", fx.key);
    let raw = |body: &'static str, content_type: Option<&str>| {
        let mut b = Request::builder().method(Method::POST).uri(&uri);
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        b.body(Body::from(body)).unwrap()
    };
    for (body, ct, needle) in [
        (
            "{\"type\": \"project\", \"id\":",
            Some("application/json"),
            "not valid JSON",
        ),
        (
            "{\"type\": \"project\",}",
            Some("application/json"),
            "not valid JSON",
        ),
        ("{} {}", Some("application/json"), "not valid JSON"),
        ("[1, 2]", Some("application/json"), "JSON object"),
        ("\"project\"", Some("application/json"), "JSON object"),
        ("null", Some("application/json"), "JSON object"),
        ("{\"type\": \"project\"}", None, "Content-Type"),
        (
            "{\"type\": \"project\"}",
            Some("text/plain"),
            "Content-Type",
        ),
        (
            "type=project&id=x",
            Some("application/x-www-form-urlencoded"),
            "Content-Type",
        ),
    ] {
        let r = send(&fx.app, raw(body, ct)).await;
        assert_eq!(r.status, 400, "{body:?} {ct:?}");
        assert!(r.error().contains(needle), "{body:?}: {}", r.error());
    }
    // JSON with a charset, or a +json type, is JSON.
    let r = send(
        &fx.app,
        raw(
            "{\"type\": \"project\", \"id\": \"x\"}",
            Some("application/json; charset=utf-8"),
        ),
    )
    .await;
    // The body was read: its id was looked up.
    assert_eq!(r.error(), "project x not found in trash");
}

// ---- 401 ------------------------------------------------------------------------

#[tokio::test]
async fn keys_are_refused_with_401_and_a_reason() {
    let fx = Fixture::new().await;
    fx.seed("det").await;
    let cases = [
        (Auth::None, "required"),
        (Auth::Query("".into()), "required"),
        (
            Auth::Query("doesNotExist0000000000000000000x".into()),
            "does not exist",
        ),
        (Auth::Query("x".into()), "does not exist"),
        (
            Auth::Query("a%27%3B%20DROP%20TABLE%20keys%3B%20--".into()),
            "does not exist",
        ),
        (
            Auth::Bearer("doesNotExist0000000000000000000x".into()),
            "does not exist",
        ),
        (
            Auth::Body("doesNotExist0000000000000000000x".into()),
            "does not exist",
        ),
        (Auth::Query(fx.revoked_key.clone()), "does not exist"),
        (Auth::Bearer(fx.revoked_key.clone()), "does not exist"),
        (Auth::Query(fx.other_key.clone()), "does not belong"),
    ];
    for (auth, needle) in cases {
        for (method, uri) in [(Method::GET, "/acme/trash"), (Method::DELETE, "/acme/det")] {
            let r = fx.call_as(&auth, method.clone(), uri, None).await;
            assert_eq!(r.status, 401, "{auth:?} {method} {uri}");
            assert!(r.error().contains(needle), "{auth:?}: {}", r.error());
        }
    }
    // An unknown key and a revoked one cannot be told apart: same status,
    // same bytes.
    let unknown = fx
        .call_as(
            &Auth::Query("doesNotExist0000000000000000000x".into()),
            Method::GET,
            "/acme/trash",
            None,
        )
        .await;
    let revoked = fx
        .call_as(
            &Auth::Query(fx.revoked_key.clone()),
            Method::GET,
            "/acme/trash",
            None,
        )
        .await;
    assert_eq!(unknown.status, revoked.status);
    assert_eq!(unknown.raw, revoked.raw);
    assert_eq!(
        revoked.error(),
        "this API key does not exist (or has been revoked)"
    );
    let req = Request::builder()
        .uri("/acme/trash")
        .header("authorization", format!("Basic {}", fx.key))
        .body(Body::empty())
        .unwrap();
    let r = send(&fx.app, req).await;
    r.expect(401);
    assert!(r.error().contains("Bearer"));
    // Another scheme beside a key in the query (a proxy's credentials) is ignored.
    let req = Request::builder()
        .uri(format!("/acme/trash?api_key={}", fx.key))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .body(Body::empty())
        .unwrap();
    send(&fx.app, req).await.expect(200);
    // Nothing was trashed by any of that.
    fx.get("/acme/det").await.expect(200);
}

#[tokio::test]
async fn a_missing_scope_is_named() {
    let fx = Fixture::new().await;
    fx.seed("det").await;
    let read_only = fx
        .key_with(ScopeSet::parse_list("project:read,project:update").unwrap())
        .await;
    let r = fx
        .call_as(&Auth::Query(read_only), Method::DELETE, "/acme/det/1", None)
        .await;
    r.expect(401);
    assert_eq!(r.error(), "this API key lacks the version:update scope");
    assert_eq!(r.body["missingScope"], "version:update");
}

// ---- 404 ------------------------------------------------------------------------

#[tokio::test]
async fn missing_things_are_404() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let ghost = "Zzzzzzzzzzzzzzzzzzz1";
    let cases: Vec<(Method, String, Option<Value>, String)> = vec![
        (
            Method::GET,
            "/acme/nope".into(),
            None,
            "project nope not found".into(),
        ),
        (
            Method::DELETE,
            "/acme/nope".into(),
            None,
            "project nope not found".into(),
        ),
        (
            Method::GET,
            "/acme/det/9".into(),
            None,
            "version 9 of project det not found".into(),
        ),
        (
            Method::DELETE,
            "/acme/det/9".into(),
            None,
            "version 9 of project det not found".into(),
        ),
        (
            Method::GET,
            "/acme/nope/1".into(),
            None,
            "project nope not found".into(),
        ),
        (
            Method::DELETE,
            "/acme/workflows/nope".into(),
            None,
            "workflow nope not found".into(),
        ),
        (
            Method::DELETE,
            format!("/acme/workflows/{ghost}"),
            None,
            format!("workflow {ghost} not found"),
        ),
        (
            Method::GET,
            "/acme/workflows/nope".into(),
            None,
            "workflow nope not found".into(),
        ),
        (
            Method::DELETE,
            format!("/acme/det/1/v2/trainings/{ghost}"),
            None,
            format!("training {ghost} not found"),
        ),
        (
            Method::DELETE,
            format!("/acme/det/2/v2/trainings/{}", s.training_id),
            None,
            format!("training {} not found", s.training_id),
        ),
        (
            Method::GET,
            format!("/acme/images/{ghost}"),
            None,
            format!("image {ghost} not found"),
        ),
        (
            Method::POST,
            "/acme/det/images".into(),
            Some(json!({"imageId": ghost})),
            format!("image {ghost} not found"),
        ),
        (
            Method::POST,
            "/acme/nope/versions".into(),
            Some(json!({})),
            "project nope not found".into(),
        ),
        (
            Method::POST,
            "/acme/det/9/v2/trainings".into(),
            None,
            "version 9 of project det not found".into(),
        ),
        (
            Method::POST,
            "/acme/trash/restore".into(),
            Some(json!({"type": "project", "id": ghost})),
            format!("project {ghost} not found in trash"),
        ),
        (
            Method::POST,
            "/acme/trash/restore".into(),
            Some(json!({"type": "training", "id": ghost})),
            format!("training {ghost} not found in trash"),
        ),
        (
            Method::POST,
            "/acme/trash/restore".into(),
            Some(json!({"type": "version", "id": "9", "parentId": s.project_id})),
            format!("version 9 of project {} not found in trash", s.project_id),
        ),
        (
            Method::GET,
            "/a/b/c/d/e/f/g/h".into(),
            None,
            "no route for /a/b/c/d/e/f/g/h".into(),
        ),
    ];
    for (method, uri, body, message) in cases {
        let r = fx.call(method.clone(), &uri, body).await;
        assert_eq!(r.status, 404, "{method} {uri}: {}", r.body);
        assert_eq!(r.body, json!({ "error": message }), "{method} {uri}");
    }
}

/// Ids of the items `globex` holds in one world (and nobody in the other).
struct GlobexIds {
    project: String,
    training: String,
    workflow: String,
    image: String,
}

/// `acme` with a project `det`; with `globex_items`, `globex` also holds a
/// trashed project `secret` (a version, a training, an image) and a workflow
/// `hidden`.
async fn world(globex_items: bool) -> (Fixture, Option<GlobexIds>) {
    let fx = Fixture::new().await;
    fx.seed("det").await;
    if !globex_items {
        return (fx, None);
    }
    let g = Auth::Query(fx.other_key.clone());
    let id = |r: Reply| r.body["id"].as_str().unwrap().to_owned();
    let project = id(fx
        .call_as(
            &g,
            Method::POST,
            "/globex/projects",
            Some(json!({"name": "secret"})),
        )
        .await);
    fx.call_as(&g, Method::POST, "/globex/secret/versions", None)
        .await
        .expect(200);
    let training = id(fx
        .call_as(&g, Method::POST, "/globex/secret/1/v2/trainings", None)
        .await);
    let workflow = id(fx
        .call_as(
            &g,
            Method::POST,
            "/globex/workflows",
            Some(json!({"name": "hidden"})),
        )
        .await);
    let image = id(fx
        .call_as(
            &g,
            Method::POST,
            "/globex/secret/images",
            Some(json!({"name": "i"})),
        )
        .await);
    fx.call_as(&g, Method::DELETE, "/globex/secret", None)
        .await
        .expect(200);
    let ids = GlobexIds {
        project,
        training,
        workflow,
        image,
    };
    (fx, Some(ids))
}

fn probes(ids: &GlobexIds) -> Vec<(Method, String, Option<Value>)> {
    let GlobexIds {
        project: p,
        training: t,
        workflow: w,
        image: i,
    } = ids;
    vec![
        (Method::GET, "/acme/secret".to_owned(), None),
        (Method::DELETE, "/acme/secret".to_owned(), None),
        (Method::GET, "/acme/secret/1".to_owned(), None),
        (Method::DELETE, "/acme/secret/1".to_owned(), None),
        (Method::GET, "/acme/workflows/hidden".to_owned(), None),
        (Method::DELETE, "/acme/workflows/hidden".to_owned(), None),
        (Method::DELETE, format!("/acme/workflows/{w}"), None),
        (Method::GET, format!("/acme/images/{i}"), None),
        (
            Method::POST,
            "/acme/det/images".to_owned(),
            Some(json!({"imageId": i})),
        ),
        (
            Method::DELETE,
            format!("/acme/det/1/v2/trainings/{t}"),
            None,
        ),
        (Method::GET, format!("/acme/det/1/v2/trainings/{t}"), None),
        (
            Method::POST,
            "/acme/trash/restore".to_owned(),
            Some(json!({"type": "project", "id": p})),
        ),
        (
            Method::POST,
            "/acme/trash/restore".to_owned(),
            Some(json!({"type": "workflow", "id": w})),
        ),
        (
            Method::POST,
            "/acme/trash/restore".to_owned(),
            Some(json!({"type": "training", "id": t})),
        ),
        (
            Method::POST,
            "/acme/trash/restore".to_owned(),
            Some(json!({"type": "version", "id": "1", "parentId": p})),
        ),
    ]
}

#[tokio::test]
async fn another_workspaces_items_answer_byte_for_byte_like_missing_ones() {
    let (with, ids) = world(true).await;
    let (without, _) = world(false).await;
    let ids = ids.unwrap();
    // The same requests, byte for byte: in one world the items exist in
    // globex, in the other nowhere.
    for (m, uri, body) in probes(&ids) {
        let a = with.call(m.clone(), &uri, body.clone()).await;
        a.expect(404);
        let b = without.call(m.clone(), &uri, body.clone()).await;
        b.expect(404);
        assert_eq!(a.raw, b.raw, "{m} {uri}");
        let mut ha = a.headers.clone();
        let mut hb = b.headers.clone();
        ha.remove("x-request-id");
        hb.remove("x-request-id");
        assert_eq!(ha, hb, "{m} {uri}");
    }
    // And nothing in globex moved.
    let g = Auth::Query(with.other_key.clone());
    let list = with.call_as(&g, Method::GET, "/globex/trash", None).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    with.call_as(&g, Method::GET, "/globex/workflows/hidden", None)
        .await
        .expect(200);
    let list = with
        .call_as(&g, Method::GET, "/globex/secret/1/v2/trainings", None)
        .await;
    list.expect(404);
}

// ---- 405 ------------------------------------------------------------------------

#[tokio::test]
async fn wrong_methods_are_405_json() {
    let fx = Fixture::new().await;
    fx.seed("det").await;
    for (method, uri) in [
        (Method::DELETE, "/acme/trash"),
        (Method::PUT, "/acme/det"),
        (Method::PATCH, "/acme/det/1"),
        (Method::DELETE, "/"),
        (Method::GET, "/acme/trash/restore"),
        (Method::DELETE, "/acme/trash/restore"),
        (Method::GET, "/acme/projects"),
        (Method::POST, "/healthz"),
        (Method::OPTIONS, "/acme/trash"),
    ] {
        let r = fx.call(method.clone(), uri, None).await;
        assert_eq!(r.status, 405, "{method} {uri}");
        assert!(r.error().contains("not allowed"), "{}", r.error());
    }
}

// ---- 409 ------------------------------------------------------------------------

#[tokio::test]
async fn conflicts_are_409_with_the_spec_sentences() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let restore = |body: Value| fx.post("/acme/trash/restore", body);

    // A training in flight cannot be trashed.
    let r = fx
        .delete(&format!("/acme/det/1/v2/trainings/{}", s.training_id))
        .await;
    r.expect(409);
    assert!(r.error().contains("in progress"), "{}", r.error());

    // A version trashed on its own, then its project: restoring the version
    // first names the parent project.
    fx.delete("/acme/det/2").await.expect(200);
    fx.delete("/acme/det").await.expect(200);
    let r = restore(json!({"type": "version", "id": "2", "parentId": s.project_id})).await;
    r.expect(409);
    assert_eq!(
        r.error(),
        format!(
            "parent project {} is in trash; restore it first",
            s.project_id
        )
    );
    assert_eq!(r.body["parentType"], "project");
    assert_eq!(r.body["parentId"], s.project_id.as_str());

    // Version 1 was cascaded with the project: restoring it alone names the root.
    let r = restore(json!({"type": "version", "id": "1", "parentId": s.project_id})).await;
    r.expect(409);
    assert!(
        r.error().contains(&format!("project {}", s.project_id)),
        "{}",
        r.error()
    );
    assert_eq!(r.body["rootType"], "project");
    assert_eq!(r.body["rootId"], s.project_id.as_str());
    let r = restore(json!({"type": "training", "id": s.training_id})).await;
    r.expect(409);
    assert_eq!(r.body["rootId"], s.project_id.as_str());

    // The slug was taken meanwhile.
    let taken = fx
        .post("/acme/projects", json!({"name": "x", "url": "det"}))
        .await;
    taken.expect(200);
    let r = restore(json!({"type": "project", "id": s.project_id})).await;
    r.expect(409);
    assert_eq!(r.body["conflictingId"], taken.body["id"]);
    assert!(r.body["hint"].as_str().unwrap().contains("rename"));
}

// ---- 410 ------------------------------------------------------------------------

#[tokio::test]
async fn restore_from_the_scheduled_instant_is_410() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    fx.delete("/acme/det").await.expect(200);
    fx.clock
        .advance(chrono::Duration::days(30) - chrono::Duration::milliseconds(1));
    let body = json!({"type": "project", "id": s.project_id});
    // One millisecond before the schedule it is still restorable...
    let r = fx.post("/acme/trash/restore", body.clone()).await;
    r.expect(200);
    fx.delete("/acme/det").await.expect(200);
    fx.clock.advance(chrono::Duration::days(30));
    let r = fx.post("/acme/trash/restore", body).await;
    r.expect(410);
    assert_eq!(r.body, json!({"error": "retention expired"}));
}

// ---- 413 ------------------------------------------------------------------------

#[tokio::test]
async fn bodies_over_64_kib_are_413() {
    let fx = Fixture::new().await;
    let uri = format!("/acme/projects?api_key={}", fx.key);
    let with_len = |n: usize| {
        // {"name":"aaa…"} padded to exactly n bytes with trailing spaces.
        let mut body = "{\"name\":\"big\"}".to_owned();
        body.push_str(&" ".repeat(n - body.len()));
        Request::builder()
            .method(Method::POST)
            .uri(&uri)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let r = send(&fx.app, with_len(64 * 1024 + 1)).await;
    r.expect(413);
    assert!(r.error().contains("64 KiB"), "{}", r.error());
    send(&fx.app, with_len(64 * 1024)).await.expect(200);
    // Also on routes that take no body, and before authentication.
    let req = Request::builder()
        .method(Method::DELETE)
        .uri("/acme/big")
        .header("content-type", "application/json")
        .body(Body::from(vec![b' '; 1024 * 1024]))
        .unwrap();
    send(&fx.app, req).await.expect(413);
}

// ---- 5xx from the store, never from input -----------------------------------------

const KEY: &str = "mockKey0000000000000000000000001";

/// One mock per role; a test sets the expectations of the roles it touches.
#[derive(Default)]
struct Mocks {
    accounts: MockAccountStore,
    reads: MockTrashReads,
    writes: MockTrashWrites,
    health: MockHealth,
}

fn mock_app(mocks: Mocks) -> Router {
    let runtime = Runtime {
        clock: Arc::new(ManualClock::new(t0())),
        ids: Arc::new(RandomIds),
        pause: Arc::new(NoPause),
        locks: Arc::new(trash_core::ports::NoLocks),
    };
    let accounts: Arc<MockAccountStore> = Arc::new(mocks.accounts);
    let reads: Arc<MockTrashReads> = Arc::new(mocks.reads);
    let trash = TrashService::new(
        TrashPorts {
            reads: reads.clone(),
            writes: Arc::new(mocks.writes),
            queue: Arc::new(MockWorkQueue::new()),
            audit: Arc::new(MockAuditLog::new()),
            holds: Arc::new(trash_core::ports::MockLegalHolds::new()),
            canceller: Arc::new(NoopCanceller),
            runtime: runtime.clone(),
        },
        TrashConfig::default(),
    );
    let resources = ResourceService::new(
        accounts.clone(),
        reads,
        Arc::new(MockResourceStore::new()),
        runtime.clone(),
        TrashConfig::default(),
    );
    router(AppState {
        trash,
        resources,
        accounts: AccountService::new(accounts, runtime),
        health: Arc::new(mocks.health),
        limits: Limits::default(),
        edge: Arc::new(trash_http_axum::Edge::off()),
    })
}

fn key_record() -> ApiKeyRecord {
    ApiKeyRecord {
        id: KeyId::parse("k0000000000000000001").unwrap(),
        workspace: WorkspaceSlug::parse("acme").unwrap(),
        name: Name::parse("mock").unwrap(),
        scopes: ScopeSet::all(),
        hash: KeyHash::of(KEY),
        created_at: t0(),
        revoked_at: None,
        last_used_at: None,
    }
}

fn authenticating() -> Mocks {
    let mut mocks = Mocks::default();
    mocks
        .accounts
        .expect_api_key_by_hash()
        .returning(|_| Ok(Some(key_record())));
    mocks
        .accounts
        .expect_touch_api_key()
        .returning(|_, _| Ok(()));
    mocks
}

async fn get(app: &Router, uri: &str) -> Reply {
    send(
        app,
        request(Method::GET, uri, &Auth::Query(KEY.into()), None),
    )
    .await
}

#[tokio::test]
async fn unreachable_storage_is_503_with_retry_after_and_no_detail() {
    let mut mocks = Mocks::default();
    mocks.accounts.expect_api_key_by_hash().returning(|_| {
        Err(StoreError::Unavailable(
            "connect to 10.0.0.7:5432 refused".into(),
        ))
    });
    mocks
        .health
        .expect_ping()
        .returning(|| Err(StoreError::Unavailable("down".into())));
    let app = mock_app(mocks);
    let r = get(&app, "/acme/trash").await;
    r.expect(503);
    assert_eq!(r.headers["retry-after"], "1");
    assert!(!String::from_utf8_lossy(&r.raw).contains("10.0.0.7"));
    let r = send(&app, request(Method::GET, "/readyz", &Auth::None, None)).await;
    r.expect(503);
    send(&app, request(Method::GET, "/healthz", &Auth::None, None))
        .await
        .expect(200);
}

#[tokio::test]
async fn storage_failing_after_authentication_is_503() {
    let mut mocks = authenticating();
    mocks
        .reads
        .expect_list_trash()
        .returning(|_| Err(StoreError::Unavailable("gone".into())));
    let r = get(&mock_app(mocks), "/acme/trash").await;
    r.expect(503);
    assert_eq!(r.headers["retry-after"], "1");
}

#[tokio::test]
async fn a_broken_store_is_500_with_a_generic_sentence() {
    let mut mocks = authenticating();
    mocks
        .reads
        .expect_list_trash()
        .returning(|_| Err(StoreError::Internal("row 7 has a NULL slug".into())));
    let r = get(&mock_app(mocks), "/acme/trash").await;
    r.expect(500);
    assert_eq!(r.error(), "the server failed to handle this request");
    assert!(!String::from_utf8_lossy(&r.raw).contains("NULL"));
}

#[tokio::test]
async fn endless_write_conflicts_are_503_busy() {
    let mut mocks = authenticating();
    let pid = ProjectId::parse("Pppppppppppppppppppp").unwrap();
    let project = Project {
        id: pid.clone(),
        workspace: WorkspaceSlug::parse("acme").unwrap(),
        slug: Slug::parse("det").unwrap(),
        name: Name::parse("Det").unwrap(),
        created_at: t0(),
        state: ItemState::Active,
    };
    mocks
        .reads
        .expect_projects_with_slug()
        .returning(move |_, _| {
            Ok(vec![SlugHolder {
                id: pid.clone(),
                trashed_at: None,
            }])
        });
    mocks.reads.expect_load_project().returning(move |_, _| {
        Ok(Some(ProjectAggregate {
            project: project.clone(),
            revision: Revision(1),
            next_version: VersionNumber::FIRST,
            versions: vec![],
            trainings: vec![],
            operations: vec![],
        }))
    });
    mocks
        .writes
        .expect_trash()
        .times(TrashConfig::default().max_attempts as usize)
        .returning(|_| Err(StoreError::Conflict));
    let app = mock_app(mocks);
    let r = send(
        &app,
        request(Method::DELETE, "/acme/det", &Auth::Query(KEY.into()), None),
    )
    .await;
    r.expect(503);
    assert_eq!(r.headers["retry-after"], "1");
    assert!(r.error().contains("try again"));
}

#[tokio::test]
async fn a_panic_is_a_json_500_with_a_request_id() {
    let mut mocks = Mocks::default();
    mocks
        .accounts
        .expect_api_key_by_hash()
        .returning(|_| panic!("store exploded"));
    let r = get(&mock_app(mocks), "/acme/trash").await;
    r.expect(500);
    assert_eq!(r.error(), "the server failed to handle this request");
    assert!(r.headers.contains_key("x-request-id"));
}
