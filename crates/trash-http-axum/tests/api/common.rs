//! The fixture: a router over the in-memory store with a manual clock, two
//! workspaces and their keys, and request helpers that check every answer
//! is JSON.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use trash_core::domain::*;
use trash_core::ports::{ResourceStore, TrashReads, WorkQueue};
use trash_core::{Runtime, Services, TrashConfig};
use trash_http_axum::{router, AppState};
use trash_memory::{ManualClock, MemoryStore, NoPause, RecordingCanceller};
use trash_runtime::RandomIds;

/// 2026-01-01T00:00:00Z.
pub fn t0() -> Timestamp {
    Timestamp::from_unix_millis(1_767_225_600_000).expect("valid instant")
}

/// How a request presents its key.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No key at all.
    None,
    /// `?api_key=`.
    Query(String),
    /// `Authorization: Bearer`.
    Bearer(String),
    /// `"api_key"` in the JSON body.
    Body(String),
}

/// An answer, with its body parsed as JSON (`Null` when empty).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub raw: Bytes,
    pub body: Value,
}

impl Reply {
    /// The `error` sentence (panics if absent).
    pub fn error(&self) -> &str {
        self.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error sentence in {:?}", self.body))
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Reply {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.raw)
        );
        self
    }
}

/// Sends a request and checks the answer is JSON (or empty for HEAD).
pub async fn send(app: &Router, req: Request<Body>) -> Reply {
    let is_head = req.method() == Method::HEAD;
    let response = app.clone().oneshot(req).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let raw = response
        .into_body()
        .collect()
        .await
        .expect("body readable")
        .to_bytes();
    if is_head {
        assert!(raw.is_empty(), "HEAD answered a body");
        return Reply {
            status,
            headers,
            raw,
            body: Value::Null,
        };
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "status {status}: content type {content_type:?}, body {:?}",
        String::from_utf8_lossy(&raw)
    );
    let body: Value = serde_json::from_slice(&raw).unwrap_or_else(|e| {
        panic!(
            "status {status}: body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&raw)
        )
    });
    if !status.is_success() {
        assert!(
            body["error"].is_string(),
            "status {status} without an error sentence: {body}"
        );
    }
    assert!(
        !headers.contains_key("x-request-id") || !headers["x-request-id"].is_empty(),
        "empty request id"
    );
    Reply {
        status,
        headers,
        raw,
        body,
    }
}

/// Builds a request.
pub fn request(method: Method, uri: &str, auth: &Auth, body: Option<Value>) -> Request<Body> {
    let mut uri = uri.to_owned();
    let mut builder = Request::builder().method(method);
    let mut body = body;
    match auth {
        Auth::None => {}
        Auth::Query(k) => {
            uri.push(if uri.contains('?') { '&' } else { '?' });
            uri.push_str("api_key=");
            uri.push_str(k);
        }
        Auth::Bearer(k) => {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {k}"));
        }
        Auth::Body(k) => {
            let mut b = body.take().unwrap_or_else(|| json!({}));
            b["api_key"] = Value::String(k.clone());
            body = Some(b);
        }
    }
    let builder = builder.uri(uri);
    match body {
        Some(b) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string()))
            .expect("valid request"),
        None => builder.body(Body::empty()).expect("valid request"),
    }
}

/// Slugs that tests' create requests use; [`Fixture::snapshot`] looks them up.
pub const PROBE_SLUGS: [&str; 2] = ["fresh", "fresh-wf"];

/// Ids of a seeded project.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub project_id: String,
    pub slug: String,
    pub training_id: String,
    pub workflow_id: String,
    pub workflow_slug: String,
    pub image_id: String,
}

/// Two workspaces (`acme`, `globex`) with keys, over a memory store.
pub struct Fixture {
    pub app: Router,
    pub services: Services,
    pub store: Arc<MemoryStore>,
    pub clock: Arc<ManualClock>,
    pub canceller: Arc<RecordingCanceller>,
    pub ws: WorkspaceSlug,
    /// All scopes, workspace `acme`.
    pub key: String,
    /// All scopes, workspace `globex`.
    pub other_key: String,
    /// Revoked, all scopes, workspace `acme`.
    pub revoked_key: String,
    principal: Principal,
}

impl Fixture {
    pub async fn new() -> Fixture {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(t0()));
        let canceller = Arc::new(RecordingCanceller::default());
        let services = Services::over(
            store.clone(),
            canceller.clone(),
            Runtime {
                clock: clock.clone(),
                ids: Arc::new(RandomIds),
                pause: Arc::new(NoPause),
                locks: Arc::new(trash_core::ports::NoLocks),
            },
            TrashConfig::default(),
        );
        let accounts = &services.accounts;
        let ws = WorkspaceSlug::parse("acme").expect("valid");
        let other = WorkspaceSlug::parse("globex").expect("valid");
        for w in [&ws, &other] {
            accounts
                .create_workspace(w.clone(), Name::parse("Workspace").expect("valid"))
                .await
                .expect("workspace created");
        }
        let key = Self::make_key(&services, &ws, ScopeSet::all()).await;
        let other_key = Self::make_key(&services, &other, ScopeSet::all()).await;
        let revoked = accounts
            .create_api_key(&ws, Name::parse("old").expect("valid"), ScopeSet::all())
            .await
            .expect("key created");
        accounts
            .revoke_api_key(&revoked.record.id)
            .await
            .expect("revoked");
        let principal = Principal::ApiKey(accounts.authenticate(&key).await.expect("valid key"));
        let app = router(AppState::new(services.clone()));
        Fixture {
            app,
            services,
            store,
            clock,
            canceller,
            ws,
            key,
            other_key,
            revoked_key: revoked.plaintext,
            principal,
        }
    }

    async fn make_key(services: &Services, ws: &WorkspaceSlug, scopes: ScopeSet) -> String {
        services
            .accounts
            .create_api_key(ws, Name::parse("test key").expect("valid"), scopes)
            .await
            .expect("key created")
            .plaintext
    }

    /// A new key of `acme` with exactly these scopes.
    pub async fn key_with(&self, scopes: ScopeSet) -> String {
        Self::make_key(&self.services, &self.ws, scopes).await
    }

    /// Sends with the all-scopes key in the query.
    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        send(
            &self.app,
            request(method, uri, &Auth::Query(self.key.clone()), body),
        )
        .await
    }

    /// Sends with the given auth.
    pub async fn call_as(
        &self,
        auth: &Auth,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> Reply {
        send(&self.app, request(method, uri, auth, body)).await
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.call(Method::GET, uri, None).await
    }

    pub async fn post(&self, uri: &str, body: Value) -> Reply {
        self.call(Method::POST, uri, Some(body)).await
    }

    pub async fn delete(&self, uri: &str) -> Reply {
        self.call(Method::DELETE, uri, None).await
    }

    /// A project `slug` with versions 1 and 2, a running training on
    /// version 1, an image, and a workflow `<slug>-wf`; through the service.
    pub async fn seed(&self, slug: &str) -> Seeded {
        let p = &self.principal;
        let s = Slug::parse(slug).expect("valid slug");
        let project = self
            .services
            .resources
            .create_project(
                p,
                &self.ws,
                Name::parse(&format!("Project {slug}")).expect("valid"),
                Some(s.clone()),
            )
            .await
            .expect("project created");
        for _ in 0..2 {
            self.services
                .resources
                .create_version(p, &self.ws, &s, None)
                .await
                .expect("version created");
        }
        let training = self
            .services
            .resources
            .create_training(p, &self.ws, &s, VersionNumber::FIRST)
            .await
            .expect("training created");
        let image = self
            .services
            .resources
            .add_image(p, &self.ws, &s, Name::parse("cat.jpg").expect("valid"))
            .await
            .expect("image added");
        let wf_slug = format!("{slug}-wf");
        let workflow = self
            .services
            .resources
            .create_workflow(
                p,
                &self.ws,
                Name::parse("Flow").expect("valid"),
                Some(Slug::parse(&wf_slug).expect("valid")),
            )
            .await
            .expect("workflow created");
        Seeded {
            project_id: project.id.to_string(),
            slug: slug.to_owned(),
            training_id: training.id.to_string(),
            workflow_id: workflow.id.to_string(),
            workflow_slug: wf_slug,
            image_id: image.image.id.to_string(),
        }
    }

    /// Finishes a training so it may be trashed.
    pub async fn finish(&self, seeded: &Seeded) {
        self.services
            .resources
            .set_training_status(
                &self.principal,
                &self.ws,
                &Slug::parse(&seeded.slug).expect("valid"),
                VersionNumber::FIRST,
                &TrainingId::parse(&seeded.training_id).expect("valid"),
                FinishedStatus::parse("succeeded").expect("valid"),
            )
            .await
            .expect("training finished");
    }

    /// Everything the store holds for `acme` and `globex`, as a comparable
    /// snapshot: every project aggregate (active or trashed), workflow,
    /// image, pending cancellation, and the trash listing.
    pub async fn snapshot(&self, seeded: &[Seeded]) -> String {
        let mut out = String::new();
        for ws in ["acme", "globex"] {
            let ws = WorkspaceSlug::parse(ws).expect("valid");
            for s in seeded {
                let pid = ProjectId::parse(&s.project_id).expect("valid");
                let wid = WorkflowId::parse(&s.workflow_id).expect("valid");
                let iid = ImageId::parse(&s.image_id).expect("valid");
                out.push_str(&format!(
                    "{:?}\n{:?}\n{:?}\n",
                    self.store.load_project(&ws, &pid).await.expect("read"),
                    self.store.load_workflow(&ws, &wid).await.expect("read"),
                    self.store.image(&ws, &iid).await.expect("read"),
                ));
            }
            for probe in PROBE_SLUGS {
                let slug = Slug::parse(probe).expect("valid");
                let mut projects = self
                    .store
                    .projects_with_slug(&ws, &slug)
                    .await
                    .expect("read");
                projects.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
                let mut workflows = self
                    .store
                    .workflows_with_slug(&ws, &slug)
                    .await
                    .expect("read");
                workflows.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
                out.push_str(&format!("{projects:?} {workflows:?}\n"));
            }
            out.push_str(&format!(
                "{:?}\n",
                trash_core::ports::LegalHolds::holds(&*self.store, &ws)
                    .await
                    .expect("read")
            ));
            out.push_str(&format!(
                "{:?}\n{:?}\n{:?}\n",
                self.store
                    .active_projects(&ws, None, u32::MAX)
                    .await
                    .expect("read"),
                self.store.pending_cancellations(&ws).await.expect("read"),
                self.store
                    .list_trash(&trash_core::ports::TrashQuery {
                        workspace: ws.clone(),
                        kind: None,
                        limit: 1000,
                        after: None,
                    })
                    .await
                    .expect("read"),
            ));
        }
        out
    }
}

/// The object's keys, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// Sorted list of keys from a literal.
pub fn fields(names: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

/// Asserts a string is an RFC 3339 UTC time with milliseconds.
#[track_caller]
pub fn assert_time(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("time is not a string: {v}"));
    assert_eq!(s.len(), 24, "{s}");
    assert!(s.ends_with('Z') && s.as_bytes()[19] == b'.', "{s}");
    assert!(chrono::DateTime::parse_from_rfc3339(s).is_ok(), "{s}");
}

/// A workspace with something to do on every route.
pub struct World {
    /// Active; a running training on version 1.
    pub det: Seeded,
    /// Active; its training on version 1 finished.
    pub fin: Seeded,
    /// Active project; its finished training, version 2 and workflow are in trash.
    pub old: Seeded,
    /// In trash.
    pub gone: Seeded,
    /// A legal hold on `fin` (active).
    pub hold_id: String,
}

impl World {
    pub fn all(&self) -> Vec<Seeded> {
        vec![
            self.det.clone(),
            self.fin.clone(),
            self.old.clone(),
            self.gone.clone(),
        ]
    }
}

impl Fixture {
    /// Builds the [`World`].
    pub async fn world(&self) -> World {
        let det = self.seed("det").await;
        let fin = self.seed("fin").await;
        self.finish(&fin).await;
        let old = self.seed("old").await;
        self.finish(&old).await;
        self.delete(&format!("/acme/old/1/v2/trainings/{}", old.training_id))
            .await
            .expect(200);
        self.delete("/acme/old/2").await.expect(200);
        self.delete(&format!("/acme/workflows/{}", old.workflow_slug))
            .await
            .expect(200);
        let gone = self.seed("gone").await;
        self.delete("/acme/gone").await.expect(200);
        let hold = self
            .post(
                "/acme/trash/holds",
                serde_json::json!({"type": "project", "id": fin.project_id, "reason": "audit"}),
            )
            .await;
        hold.expect(200);
        let hold_id = hold.body["holdId"].as_str().expect("hold id").to_owned();
        World {
            det,
            fin,
            old,
            gone,
            hold_id,
        }
    }
}
