//! The web Trash view: sign-in, CSRF, confirmation, roles, and no way in
//! with an API key.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use tower::ServiceExt;
use trash_core::domain::*;
use trash_core::ports::{
    PurgeCounts, PurgePlan, RestorePlan, StoreError, TrashPlan, TrashReads, TrashWrites,
};
use trash_core::usecases::HoldSubject;
use trash_core::{Runtime, Services, TrashConfig, TrashPorts, TrashService};
use trash_memory::{ManualClock, MemoryStore, NoPause};
use trash_runtime::{system_runtime, NoopCanceller};
use trash_web::{hash_password, web_router, SignInLimits, WebConfig, WebState};

struct App {
    router: Router,
    web: WebState,
    clock: Arc<ManualClock>,
    store: Arc<MemoryStore>,
    services: Services,
    ws: WorkspaceSlug,
    key: String,
    project: ProjectId,
}

/// Sessions end after 30 idle minutes or 2 hours.
fn policy() -> SessionPolicy {
    SessionPolicy {
        idle: chrono::Duration::minutes(30),
        absolute: chrono::Duration::hours(2),
        touch_every: chrono::Duration::minutes(1),
    }
}

async fn app() -> App {
    app_with(|services, _| services.trash.clone()).await
}

/// The memory store's guarded writes, except that every purge loses its
/// race to a concurrent change, however often it is retried.
struct PurgesAlwaysContended(Arc<MemoryStore>);

#[async_trait]
impl TrashWrites for PurgesAlwaysContended {
    async fn trash(&self, plan: &TrashPlan) -> Result<(), StoreError> {
        self.0.trash(plan).await
    }
    async fn restore(&self, plan: &RestorePlan) -> Result<(), StoreError> {
        self.0.restore(plan).await
    }
    async fn purge(&self, _: &PurgePlan) -> Result<PurgeCounts, StoreError> {
        Err(StoreError::Conflict)
    }
    async fn purge_batch(
        &self,
        _: &[PurgePlan],
        _: chrono::Duration,
    ) -> Result<PurgeCounts, StoreError> {
        Err(StoreError::Conflict)
    }
}

/// The fixture; `web_trash` picks the trash service the web view runs on
/// (from the standalone services and the store).
async fn app_with(web_trash: impl FnOnce(&Services, &Arc<MemoryStore>) -> TrashService) -> App {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(Timestamp::from_datetime(
        chrono::Utc::now(),
    )));
    let services = Services::over(
        store.clone(),
        Arc::new(NoopCanceller),
        Runtime {
            clock: clock.clone(),
            ..system_runtime()
        },
        TrashConfig::default(),
    );
    let accounts = &services.accounts;
    let ws = WorkspaceSlug::parse("acme").unwrap();
    let other = WorkspaceSlug::parse("globex").unwrap();
    for w in [&ws, &other] {
        accounts
            .create_workspace(w.clone(), Name::parse(w.as_str()).unwrap())
            .await
            .unwrap();
    }
    for (w, email, role) in [
        (&ws, "owner@acme.test", Role::Owner),
        (&ws, "member@acme.test", Role::Member),
        (&other, "admin@globex.test", Role::Admin),
    ] {
        accounts
            .create_user(
                w,
                Email::parse(email).unwrap(),
                role,
                hash_password("correct horse").unwrap(),
            )
            .await
            .unwrap();
    }
    let key = accounts
        .create_api_key(&ws, Name::parse("k").unwrap(), ScopeSet::all())
        .await
        .unwrap();
    let principal = Principal::ApiKey(accounts.authenticate(&key.plaintext).await.unwrap());
    let project = services
        .resources
        .create_project(
            &principal,
            &ws,
            Name::parse("Det <script>x</script>").unwrap(),
            Some(Slug::parse("det").unwrap()),
        )
        .await
        .unwrap();
    services
        .resources
        .create_version(&principal, &ws, &Slug::parse("det").unwrap(), None)
        .await
        .unwrap();
    services
        .trash
        .trash_project(&principal, &ws, &Slug::parse("det").unwrap(), true)
        .await
        .unwrap();
    let web = WebState::new(
        web_trash(&services, &store),
        services.accounts.clone(),
        services.sessions.clone().with_policy(policy()),
        WebConfig::from_secret(b"test secret"),
    )
    .with_sign_in_limits(SignInLimits {
        concurrent_checks: 2,
        wait_for_check: std::time::Duration::from_millis(50),
        ..SignInLimits::default()
    });
    let router = web_router(web.clone());
    App {
        router,
        web,
        clock,
        store,
        services,
        ws,
        key: key.plaintext,
        project: project.id,
    }
}

struct Reply {
    status: StatusCode,
    location: Option<String>,
    cookies: Vec<String>,
    body: String,
}

async fn send(router: &Router, req: Request<Body>) -> Reply {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let location = res
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string());
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    Reply {
        status,
        location,
        cookies,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

fn post(path: &str, cookie: &str, form: &[(&str, &str)]) -> Request<Body> {
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn cookie_value(reply: &Reply, name: &str) -> Option<String> {
    reply.cookies.iter().find_map(|c| {
        let first = c.split(';').next()?;
        let (k, v) = first.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

/// Signs in; returns the session cookie header and the CSRF token of its forms.
async fn sign_in(app: &App, email: &str) -> (String, String) {
    let form = send(&app.router, get("/app/login", "")).await;
    let login = cookie_value(&form, "trashd_login").expect("login cookie");
    let csrf = field(&form.body, "csrf_token");
    let reply = send(
        &app.router,
        post(
            "/app/login",
            &format!("trashd_login={login}"),
            &[
                ("email", email),
                ("password", "correct horse"),
                ("csrf_token", &csrf),
            ],
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let session = cookie_value(&reply, "trashd_session").expect("session cookie");
    let cookie = format!("trashd_session={session}");
    let page = send(
        &app.router,
        get(reply.location.as_deref().unwrap(), &cookie),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    (cookie, field(&page.body, "csrf_token"))
}

async fn project_exists(app: &App) -> bool {
    app.store
        .load_project(&app.ws, &app.project)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn sign_in_needs_the_form_token_and_the_right_password() {
    let app = app().await;
    let form = send(&app.router, get("/app/login", "")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("name=\"email\"") && form.body.contains("type=\"password\""));
    assert!(form.body.contains("name=\"csrf_token\""));
    let login = cookie_value(&form, "trashd_login").unwrap();
    assert!(form
        .cookies
        .iter()
        .any(|c| c.contains("HttpOnly") && c.contains("SameSite=Strict")));
    let csrf = field(&form.body, "csrf_token");
    let cookie = format!("trashd_login={login}");
    let no_token = send(
        &app.router,
        post(
            "/app/login",
            &cookie,
            &[
                ("email", "owner@acme.test"),
                ("password", "correct horse"),
                ("csrf_token", "forged"),
            ],
        ),
    )
    .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let wrong = send(
        &app.router,
        post(
            "/app/login",
            &cookie,
            &[
                ("email", "owner@acme.test"),
                ("password", "nope"),
                ("csrf_token", &csrf),
            ],
        ),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let unknown = send(
        &app.router,
        post(
            "/app/login",
            &cookie,
            &[
                ("email", "ghost@acme.test"),
                ("password", "nope"),
                ("csrf_token", &csrf),
            ],
        ),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.body.replace(&field(&wrong.body, "csrf_token"), ""),
        unknown
            .body
            .replace(&field(&unknown.body, "csrf_token"), ""),
        "unknown e-mail and wrong password look the same"
    );
    let incomplete = send(
        &app.router,
        post("/app/login", &cookie, &[("email", "owner@acme.test")]),
    )
    .await;
    assert_eq!(incomplete.status, StatusCode::BAD_REQUEST);
    assert!(incomplete
        .body
        .to_ascii_lowercase()
        .starts_with("<!doctype html>"));
    let (session, _) = sign_in(&app, "owner@acme.test").await;
    assert!(session.starts_with("trashd_session="));
}

#[tokio::test]
async fn the_trash_page_needs_a_session_of_its_workspace() {
    let app = app().await;
    let anon = send(&app.router, get("/app/acme/trash", "")).await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert_eq!(anon.location.as_deref(), Some("/app/login"));
    let forged = send(
        &app.router,
        get(
            "/app/acme/trash",
            "trashd_session=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ),
    )
    .await;
    assert_eq!(forged.status, StatusCode::SEE_OTHER);
    let (cookie, _) = sign_in(&app, "owner@acme.test").await;
    let page = send(&app.router, get("/app/acme/trash", &cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Det &lt;script&gt;x&lt;/script&gt;"),
        "names are escaped"
    );
    assert!(!page.body.contains("<script>"));
    assert!(
        page.body.contains("with 1 version<"),
        "one version, in the singular"
    );
    assert!(!page.body.contains("trainings"), "no \"0 trainings\"");
    let (other, _) = sign_in(&app, "admin@globex.test").await;
    let foreign = send(&app.router, get("/app/acme/trash", &other)).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert!(!foreign.body.contains("Det"));
}

#[tokio::test]
async fn every_form_posts_a_csrf_token_and_destructive_ones_a_confirmation() {
    let app = app().await;
    let (cookie, csrf) = sign_in(&app, "owner@acme.test").await;
    let page = send(&app.router, get("/app/acme/trash", &cookie))
        .await
        .body;
    let forms = page.matches("<form").count();
    let posts = page.matches("method=\"post\"").count();
    assert_eq!(posts, 3, "restore, empty, sign out");
    assert_eq!(
        forms - posts,
        page.matches("method=\"get\"").count(),
        "the only other form is the filter, a GET"
    );
    assert_eq!(
        page.matches(&format!("name=\"csrf_token\" value=\"{csrf}\""))
            .count(),
        posts
    );
    assert_eq!(page.matches("name=\"confirm\"").count(), 1, "empty trash");
    // Delete forever is confirmed on its own page, with its own form.
    let confirm = send(
        &app.router,
        get(
            &format!(
                "/app/acme/trash/delete-forever?type=project&id={}",
                app.project
            ),
            &cookie,
        ),
    )
    .await
    .body;
    assert_eq!(
        confirm.matches("method=\"post\"").count(),
        2,
        "delete, sign out"
    );
    assert_eq!(
        confirm
            .matches(&format!("name=\"csrf_token\" value=\"{csrf}\""))
            .count(),
        2
    );
    assert_eq!(confirm.matches("name=\"confirm\"").count(), 1);
    // A member sees no destructive form.
    let (member, _) = sign_in(&app, "member@acme.test").await;
    let page = send(&app.router, get("/app/acme/trash", &member))
        .await
        .body;
    assert!(!page.contains("name=\"confirm\""));
    assert!(page.contains("Restore"));
}

#[tokio::test]
async fn delete_forever_needs_csrf_role_and_the_typed_name() {
    let app = app().await;
    let fields = |csrf: &str, confirm: &str| {
        vec![
            ("csrf_token", csrf.to_string()),
            ("type", "project".to_string()),
            ("id", app.project.to_string()),
            ("confirm", confirm.to_string()),
        ]
    };
    let send_form = |cookie: String, f: Vec<(&'static str, String)>| {
        let router = app.router.clone();
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            send(
                &router,
                post("/app/acme/trash/delete-forever", &cookie, &pairs),
            )
            .await
        }
    };
    let name = "Det <script>x</script>";
    let (member, member_csrf) = sign_in(&app, "member@acme.test").await;
    let r = send_form(member.clone(), fields(&member_csrf, name)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a member's forged form");
    assert!(r.body.contains("nothing was changed"));
    assert!(project_exists(&app).await);
    let r = send(
        &app.router,
        post(
            "/app/acme/trash/empty",
            &member,
            &[("csrf_token", &member_csrf), ("confirm", "acme")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(project_exists(&app).await);
    // Another workspace's admin: 404, as if the workspace did not exist.
    let (globex, globex_csrf) = sign_in(&app, "admin@globex.test").await;
    let r = send_form(globex, fields(&globex_csrf, name)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(project_exists(&app).await);

    let (owner, csrf) = sign_in(&app, "owner@acme.test").await;
    let r = send_form(owner.clone(), fields("forged", name)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send_form(owner.clone(), fields(&member_csrf, name)).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a token of another session is refused"
    );
    assert!(project_exists(&app).await);
    let r = send_form(owner.clone(), fields(&csrf, "det")).await;
    assert_eq!(r.location.as_deref(), Some("/app/acme/trash?msg=confirm"));
    assert!(project_exists(&app).await);
    let r = send_form(owner.clone(), fields(&csrf, name)).await;
    assert_eq!(r.location.as_deref(), Some("/app/acme/trash?msg=deleted"));
    assert!(!project_exists(&app).await);
    let page = send(&app.router, get("/app/acme/trash?msg=deleted", &owner))
        .await
        .body;
    assert!(page.contains("Deleted forever.") && page.contains("The trash is empty."));
}

#[tokio::test]
async fn an_api_key_cannot_delete_forever_or_empty_the_trash() {
    let app = app().await;
    for path in ["/app/acme/trash/delete-forever", "/app/acme/trash/empty"] {
        let body = format!("type=project&id={}&confirm=acme", app.project);
        for req in [
            Request::post(format!("{path}?api_key={}", app.key))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.clone()))
                .unwrap(),
            Request::post(path)
                .header(header::AUTHORIZATION, format!("Bearer {}", app.key))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.clone()))
                .unwrap(),
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!(
                    "{{\"api_key\":\"{}\",\"confirm\":\"acme\"}}",
                    app.key
                )))
                .unwrap(),
        ] {
            let r = send(&app.router, req).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
            assert_eq!(r.location.as_deref(), Some("/app/login"));
        }
    }
    assert!(project_exists(&app).await);
}

#[tokio::test]
async fn empty_trash_needs_the_workspace_slug_and_restore_works() {
    let app = app().await;
    let (owner, csrf) = sign_in(&app, "owner@acme.test").await;
    let r = send(
        &app.router,
        post(
            "/app/acme/trash/restore",
            &owner,
            &[
                ("csrf_token", &csrf),
                ("type", "project"),
                ("id", app.project.as_str()),
            ],
        ),
    )
    .await;
    assert_eq!(r.location.as_deref(), Some("/app/acme/trash?msg=restored"));
    let key = Principal::ApiKey(app.services.accounts.authenticate(&app.key).await.unwrap());
    app.services
        .trash
        .trash_project(&key, &app.ws, &Slug::parse("det").unwrap(), true)
        .await
        .unwrap();
    let r = send(
        &app.router,
        post(
            "/app/acme/trash/empty",
            &owner,
            &[("csrf_token", &csrf), ("confirm", "globex")],
        ),
    )
    .await;
    assert_eq!(r.location.as_deref(), Some("/app/acme/trash?msg=confirm"));
    assert!(project_exists(&app).await);
    let r = send(
        &app.router,
        post(
            "/app/acme/trash/empty",
            &owner,
            &[("csrf_token", &csrf), ("confirm", "acme")],
        ),
    )
    .await;
    assert_eq!(r.location.as_deref(), Some("/app/acme/trash?msg=emptied"));
    assert!(!project_exists(&app).await);
    // Sign out ends the session.
    let r = send(
        &app.router,
        post("/app/logout", &owner, &[("csrf_token", &csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.cookies.iter().any(|c| c.starts_with("trashd_session=;")));
}

#[tokio::test]
async fn held_items_are_marked_undeletable_and_empty_trash_keeps_them() {
    let app = app().await;
    let key = Principal::ApiKey(app.services.accounts.authenticate(&app.key).await.unwrap());
    // A second trashed project, not held.
    app.services
        .resources
        .create_project(
            &key,
            &app.ws,
            Name::parse("Free").unwrap(),
            Some(Slug::parse("free").unwrap()),
        )
        .await
        .unwrap();
    app.services
        .trash
        .trash_project(&key, &app.ws, &Slug::parse("free").unwrap(), true)
        .await
        .unwrap();
    app.services
        .trash
        .place_hold(
            &key,
            &app.ws,
            &HoldSubject::Item(ItemRef::Project(app.project.clone())),
            HoldReason::parse("case <7>").unwrap(),
        )
        .await
        .unwrap();
    let (owner, csrf) = sign_in(&app, "owner@acme.test").await;
    let page = send(&app.router, get("/app/acme/trash", &owner)).await;
    assert!(
        page.body.contains("Held: </strong>case &lt;7&gt;"),
        "{}",
        page.body
    );
    // The held item's delete-forever is a disabled button; the other's a link.
    assert_eq!(
        page.body
            .matches("disabled title=\"Under legal hold")
            .count(),
        1
    );
    assert_eq!(
        page.body.matches("/app/acme/trash/delete-forever?").count(),
        1
    );
    assert!(page.body.contains("Delete Free forever…"));
    // Its confirmation page is refused too.
    let r = send(
        &app.router,
        get(
            &format!(
                "/app/acme/trash/delete-forever?type=project&id={}",
                app.project
            ),
            &owner,
        ),
    )
    .await;
    assert_eq!(r.location.as_deref(), Some("/app/acme/trash?msg=held"));
    // A forged delete-forever of the held item is refused too.
    let r = send(
        &app.router,
        post(
            "/app/acme/trash/delete-forever",
            &owner,
            &[
                ("csrf_token", &csrf),
                ("type", "project"),
                ("id", app.project.as_str()),
                ("confirm", "Det <script>x</script>"),
            ],
        ),
    )
    .await;
    assert_eq!(r.location.as_deref(), Some("/app/acme/trash?msg=held"));
    assert!(project_exists(&app).await);
    let r = send(
        &app.router,
        post(
            "/app/acme/trash/empty",
            &owner,
            &[("csrf_token", &csrf), ("confirm", "acme")],
        ),
    )
    .await;
    assert_eq!(
        r.location.as_deref(),
        Some("/app/acme/trash?msg=emptied&held=1")
    );
    assert!(project_exists(&app).await, "the held project is kept");
    let page = send(
        &app.router,
        get("/app/acme/trash?msg=emptied&held=1", &owner),
    )
    .await;
    assert!(page.body.contains("1 held item was kept"), "{}", page.body);
    assert!(
        !page.body.contains("Delete Free forever"),
        "the free project is gone"
    );
}

async fn page_status(app: &App, cookie: &str) -> StatusCode {
    send(&app.router, get("/app/acme/trash", cookie))
        .await
        .status
}

#[tokio::test]
async fn sessions_end_after_idle_and_absolute_time_by_the_clock() {
    let app = app().await;
    let (cookie, _) = sign_in(&app, "owner@acme.test").await;
    // Used every 25 minutes it outlives the 30-minute idle limit...
    for _ in 0..4 {
        app.clock.advance(chrono::Duration::minutes(25));
        assert_eq!(page_status(&app, &cookie).await, StatusCode::OK);
    }
    // ...but not the 2-hour absolute one.
    app.clock.advance(chrono::Duration::minutes(20));
    assert_eq!(page_status(&app, &cookie).await, StatusCode::SEE_OTHER);
    let (idle, _) = sign_in(&app, "owner@acme.test").await;
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(page_status(&app, &idle).await, StatusCode::OK);
    app.clock.advance(chrono::Duration::minutes(30));
    assert_eq!(page_status(&app, &idle).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_cookie_copied_before_sign_out_no_longer_works() {
    let app = app().await;
    let (cookie, csrf) = sign_in(&app, "owner@acme.test").await;
    let (other_tab, _) = sign_in(&app, "owner@acme.test").await;
    let r = send(
        &app.router,
        post("/app/logout", &cookie, &[("csrf_token", &csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let copied = send(&app.router, get("/app/acme/trash", &cookie)).await;
    assert_eq!(copied.status, StatusCode::SEE_OTHER);
    assert_eq!(copied.location.as_deref(), Some("/app/login"));
    assert_eq!(
        page_status(&app, &other_tab).await,
        StatusCode::OK,
        "only that session ends"
    );
    let r = send(
        &app.router,
        post(
            "/app/acme/trash/restore",
            &cookie,
            &[
                ("csrf_token", &csrf),
                ("type", "project"),
                ("id", app.project.as_str()),
            ],
        ),
    )
    .await;
    assert_eq!(r.location.as_deref(), Some("/app/login"));
    let listed = send(&app.router, get("/app/acme/trash", &other_tab))
        .await
        .body;
    assert!(listed.contains("Det &lt;script&gt;"), "still in the trash");
}

#[tokio::test]
async fn a_role_change_or_removal_ends_the_users_sessions_at_once() {
    let app = app().await;
    let owner = Email::parse("owner@acme.test").unwrap();
    let (cookie, _) = sign_in(&app, owner.as_str()).await;
    app.services
        .sessions
        .set_role(&owner, Role::Member)
        .await
        .unwrap();
    assert_eq!(page_status(&app, &cookie).await, StatusCode::SEE_OTHER);
    let (member_now, _) = sign_in(&app, owner.as_str()).await;
    let page = send(&app.router, get("/app/acme/trash", &member_now))
        .await
        .body;
    assert!(!page.contains("name=\"confirm\""), "a member now");
    let (other, _) = sign_in(&app, "member@acme.test").await;
    app.services.sessions.remove_user(&owner).await.unwrap();
    assert_eq!(page_status(&app, &member_now).await, StatusCode::SEE_OTHER);
    assert_eq!(page_status(&app, &other).await, StatusCode::OK);
    let ended = app
        .services
        .sessions
        .revoke_sessions(&Email::parse("member@acme.test").unwrap())
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert_eq!(page_status(&app, &other).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_login_token_cannot_be_forged_by_setting_the_cookie() {
    let app = app().await;
    for (cookie, token) in [("trashd_login=x", "x"), ("trashd_login=", ""), ("", "")] {
        let r = send(
            &app.router,
            post(
                "/app/login",
                cookie,
                &[
                    ("email", "owner@acme.test"),
                    ("password", "correct horse"),
                    ("csrf_token", token),
                ],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{cookie}");
        assert!(cookie_value(&r, "trashd_session").is_none());
    }
    // The token of one form does not fit another form's cookie.
    let a = send(&app.router, get("/app/login", "")).await;
    let b = send(&app.router, get("/app/login", "")).await;
    let r = send(
        &app.router,
        post(
            "/app/login",
            &format!("trashd_login={}", cookie_value(&b, "trashd_login").unwrap()),
            &[
                ("email", "owner@acme.test"),
                ("password", "correct horse"),
                ("csrf_token", &field(&a.body, "csrf_token")),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn secure_cookies_come_with_hsts() {
    let plain = app().await;
    let mut app = app().await;
    let mut config = WebConfig::from_secret(b"test secret");
    config.secure_cookies = true;
    app.router = web_router(WebState::new(
        app.services.trash.clone(),
        app.services.accounts.clone(),
        app.services.sessions.clone(),
        config,
    ));
    let form = send(&app.router, get("/app/login", "")).await;
    assert!(
        form.cookies.iter().all(|c| c.contains("; Secure")),
        "{:?}",
        form.cookies
    );
    let res = app
        .router
        .clone()
        .oneshot(get("/app/login", ""))
        .await
        .unwrap();
    assert!(res
        .headers()
        .get(header::STRICT_TRANSPORT_SECURITY)
        .is_some());
    let res = plain
        .router
        .clone()
        .oneshot(get("/app/login", ""))
        .await
        .unwrap();
    assert!(res
        .headers()
        .get(header::STRICT_TRANSPORT_SECURITY)
        .is_none());
}

#[tokio::test]
async fn a_contended_permanent_deletion_says_busy_not_something_went_wrong() {
    let app = app_with(|_, store| {
        TrashService::new(
            TrashPorts {
                reads: store.clone(),
                writes: Arc::new(PurgesAlwaysContended(store.clone())),
                queue: store.clone(),
                audit: store.clone(),
                holds: store.clone(),
                canceller: Arc::new(NoopCanceller),
                runtime: Runtime {
                    pause: Arc::new(NoPause),
                    locks: Arc::new(trash_core::ports::NoLocks),
                    ..system_runtime()
                },
            },
            TrashConfig::default(),
        )
    })
    .await;
    let (owner, csrf) = sign_in(&app, "owner@acme.test").await;
    let id = app.project.to_string();
    let r = send(
        &app.router,
        post(
            "/app/acme/trash/delete-forever",
            &owner,
            &[
                ("csrf_token", &csrf),
                ("type", "project"),
                ("id", &id),
                ("confirm", "Det <script>x</script>"),
            ],
        ),
    )
    .await;
    assert_eq!(r.location.as_deref(), Some("/app/acme/trash?msg=busy"));
    assert!(project_exists(&app).await);
    let r = send(
        &app.router,
        post(
            "/app/acme/trash/empty",
            &owner,
            &[("csrf_token", &csrf), ("confirm", "acme")],
        ),
    )
    .await;
    assert_eq!(r.location.as_deref(), Some("/app/acme/trash?msg=busy"));
    assert!(project_exists(&app).await);
    let page = send(&app.router, get("/app/acme/trash?msg=busy", &owner))
        .await
        .body;
    assert!(
        page.contains(
            "The trash is busy with other changes to that item right now; try again in a moment."
        ),
        "{page}"
    );
    assert!(!page.contains("Something went wrong"));
    assert!(page.contains("Det &lt;script&gt;"), "still listed");
}

/// A sign-in attempt from `address` with a fresh form.
async fn attempt(app: &App, email: &str, password: &str, address: [u8; 4]) -> Reply {
    let form = send(&app.router, get("/app/login", "")).await;
    let login = cookie_value(&form, "trashd_login").unwrap();
    let mut req = post(
        "/app/login",
        &format!("trashd_login={login}"),
        &[
            ("email", email),
            ("password", password),
            ("csrf_token", &field(&form.body, "csrf_token")),
        ],
    );
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            address, 40000,
        ))));
    let res = app.router.clone().oneshot(req).await.unwrap();
    let retry = res
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_string());
    let status = res.status();
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    Reply {
        status,
        location: retry,
        cookies,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

#[tokio::test]
async fn repeated_failures_throttle_the_account_until_the_lockout_ends() {
    let app = app().await;
    let here = [10, 0, 0, 1];
    for i in 1..5 {
        let r = attempt(&app, "owner@acme.test", "wrong", here).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "failure {i}");
    }
    let r = attempt(&app, "owner@acme.test", "wrong", here).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.location.as_deref(), Some("900"), "Retry-After");
    assert!(r.body.contains("Try again in 15 minutes"), "{}", r.body);
    // Now even the right password is refused, from any address, and no
    // session is made.
    let r = attempt(&app, "OWNER@acme.test", "correct horse", [10, 0, 0, 2]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(cookie_value(&r, "trashd_session").is_none());
    // Other accounts are not affected.
    let r = attempt(&app, "member@acme.test", "correct horse", here).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    app.clock.advance(chrono::Duration::minutes(14));
    let r = attempt(&app, "owner@acme.test", "correct horse", here).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.location.as_deref(), Some("60"));
    assert!(r.body.contains("Try again in 1 minute "), "{}", r.body);
    app.clock.advance(chrono::Duration::minutes(1));
    let r = attempt(&app, "owner@acme.test", "correct horse", here).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(cookie_value(&r, "trashd_session").is_some());
}

#[tokio::test]
async fn repeated_failures_throttle_the_client_address() {
    let app = app().await;
    let attacker = [192, 0, 2, 7];
    for i in 0..19 {
        let r = attempt(&app, &format!("guess{i}@acme.test"), "x", attacker).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "failure {i}");
    }
    let r = attempt(&app, "guess19@acme.test", "x", attacker).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let r = attempt(&app, "owner@acme.test", "correct horse", attacker).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the address is locked"
    );
    let r = attempt(&app, "owner@acme.test", "correct horse", [192, 0, 2, 8]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "another address is not");
}

#[tokio::test]
async fn password_checks_are_capped_and_the_rest_get_429() {
    let app = app().await;
    let checks = app.web.sign_in_guard().checks();
    let held = checks.clone().acquire_many_owned(2).await.unwrap();
    let r = attempt(&app, "owner@acme.test", "correct horse", [10, 0, 0, 3]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.location.as_deref(), Some("2"));
    assert!(r.body.contains("Too many sign-ins at once"));
    assert!(cookie_value(&r, "trashd_session").is_none());
    drop(held);
    // Many at once: all answered, never more checks than the cap at a time.
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let router = app.router.clone();
        let app_ref = App {
            router,
            web: app.web.clone(),
            clock: app.clock.clone(),
            store: app.store.clone(),
            services: app.services.clone(),
            ws: app.ws.clone(),
            key: app.key.clone(),
            project: app.project.clone(),
        };
        tasks.push(tokio::spawn(async move {
            attempt(
                &app_ref,
                &format!("nobody{i}@acme.test"),
                "x",
                [10, 1, 0, i],
            )
            .await
            .status
        }));
    }
    for t in tasks {
        let status = t.await.unwrap();
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
            "{status}"
        );
    }
    assert_eq!(checks.available_permits(), 2, "every turn is given back");
}

async fn key_principal(app: &App) -> Principal {
    Principal::ApiKey(app.services.accounts.authenticate(&app.key).await.unwrap())
}

/// Creates project `slug` (named `name`) and moves it to the trash.
async fn trashed_project(app: &App, slug: &str, name: &str) {
    let key = key_principal(app).await;
    app.services
        .resources
        .create_project(
            &key,
            &app.ws,
            Name::parse(name).unwrap(),
            Some(Slug::parse(slug).unwrap()),
        )
        .await
        .unwrap();
    app.services
        .trash
        .trash_project(&key, &app.ws, &Slug::parse(slug).unwrap(), true)
        .await
        .unwrap();
}

#[tokio::test]
async fn times_are_relative_to_the_clock_port_in_time_elements() {
    let app = app().await;
    let op = app
        .store
        .load_project(&app.ws, &app.project)
        .await
        .unwrap()
        .unwrap()
        .operations[0]
        .clone();
    app.clock.advance(chrono::Duration::hours(3));
    let (cookie, _) = sign_in(&app, "owner@acme.test").await;
    let page = send(&app.router, get("/app/acme/trash", &cookie))
        .await
        .body;
    let trashed = format!(
        "<time datetime=\"{}\" title=\"{}\">3 hours ago</time>",
        op.deleted_at.to_rfc3339(),
        op.deleted_at.as_datetime().format("%Y-%m-%d %H:%M:%S UTC")
    );
    assert!(page.contains(&trashed), "{page}");
    assert!(page.contains(&format!(
        "<time datetime=\"{}\"",
        op.scheduled_cleanup_at.to_rfc3339()
    )));
    assert!(page.contains(">in 29 days</time>"));
    // Time moves only with the clock.
    app.clock.advance(chrono::Duration::days(2));
    let (cookie, _) = sign_in(&app, "owner@acme.test").await;
    let page = send(&app.router, get("/app/acme/trash", &cookie))
        .await
        .body;
    assert!(page.contains(">2 days ago</time>") && page.contains(">in 27 days</time>"));
}

#[tokio::test]
async fn the_list_filters_by_type_searches_by_name_and_pages() {
    let app = app().await;
    let key = key_principal(&app).await;
    for n in 0..30 {
        let (slug, name) = if n % 3 == 0 {
            (format!("beta-{n}"), format!("Beta {n}"))
        } else {
            (format!("alpha-{n}"), format!("Alpha {n}"))
        };
        trashed_project(&app, &slug, &name).await;
        app.clock.advance(chrono::Duration::seconds(1));
    }
    app.services
        .resources
        .create_workflow(
            &key,
            &app.ws,
            Name::parse("Flow").unwrap(),
            Some(Slug::parse("flow").unwrap()),
        )
        .await
        .unwrap();
    app.services
        .trash
        .trash_workflow(
            &key,
            &app.ws,
            &trash_core::usecases::WorkflowRef::Slug(Slug::parse("flow").unwrap()),
        )
        .await
        .unwrap();
    let (cookie, _) = sign_in(&app, "owner@acme.test").await;
    let items = |body: &str| body.matches("<li class=\"item\">").count();
    // 32 items: a first page of 25 and a next page of 7.
    let first = send(&app.router, get("/app/acme/trash", &cookie))
        .await
        .body;
    assert_eq!(items(&first), 25);
    assert!(
        first.contains("<h3 class=\"name\">Flow</h3>"),
        "newest first"
    );
    let marker = "rel=\"next\" href=\"";
    let start = first.find(marker).expect("a next page") + marker.len();
    let next = first[start..start + first[start..].find('"').unwrap()].replace("&amp;", "&");
    let second = send(&app.router, get(&next, &cookie)).await.body;
    assert_eq!(items(&second), 7);
    assert!(!second.contains("rel=\"next\""));
    assert!(second.contains("First page"));
    // By type.
    let flows = send(&app.router, get("/app/acme/trash?type=workflow", &cookie))
        .await
        .body;
    assert_eq!(items(&flows), 1);
    assert!(flows.contains("<option value=\"workflow\" selected>"));
    // By name, ignoring case, with the type.
    let betas = send(
        &app.router,
        get("/app/acme/trash?type=project&q=BETA", &cookie),
    )
    .await
    .body;
    assert_eq!(items(&betas), 10);
    assert!(
        betas.contains("value=\"BETA\""),
        "the search stays in its field"
    );
    let none = send(&app.router, get("/app/acme/trash?q=gamma", &cookie))
        .await
        .body;
    assert_eq!(items(&none), 0);
    assert!(none.contains("No items match"));
    // A bad filter is a bad link, not an error page of the server.
    let bad = send(&app.router, get("/app/acme/trash?type=image", &cookie)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_confirmation_states_what_will_be_destroyed() {
    let app = app().await;
    let key = key_principal(&app).await;
    let res = &app.services.resources;
    let det = Slug::parse("big").unwrap();
    let big = res
        .create_project(
            &key,
            &app.ws,
            Name::parse("Big").unwrap(),
            Some(det.clone()),
        )
        .await
        .unwrap();
    res.create_project(
        &key,
        &app.ws,
        Name::parse("Other").unwrap(),
        Some(Slug::parse("other").unwrap()),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        res.create_version(&key, &app.ws, &det, None).await.unwrap();
    }
    let t = res
        .create_training(&key, &app.ws, &det, VersionNumber::parse("1").unwrap())
        .await
        .unwrap();
    res.set_training_status(
        &key,
        &app.ws,
        &det,
        VersionNumber::parse("1").unwrap(),
        &t.id,
        FinishedStatus::parse("succeeded").unwrap(),
    )
    .await
    .unwrap();
    res.add_image(&key, &app.ws, &det, Name::parse("mine").unwrap())
        .await
        .unwrap();
    let shared = res
        .add_image(&key, &app.ws, &det, Name::parse("shared").unwrap())
        .await
        .unwrap();
    res.link_image(
        &key,
        &app.ws,
        &Slug::parse("other").unwrap(),
        &shared.image.id,
    )
    .await
    .unwrap();
    app.services
        .trash
        .trash_project(&key, &app.ws, &det, true)
        .await
        .unwrap();
    let url = format!("/app/acme/trash/delete-forever?type=project&id={}", big.id);
    let (owner, csrf) = sign_in(&app, "owner@acme.test").await;
    let page = send(&app.router, get(&url, &owner)).await;
    assert_eq!(page.status, StatusCode::OK);
    for line in [
        "<li>2 versions</li>",
        "<li>1 training</li>",
        "<li>1 image that no other project links</li>",
    ] {
        assert!(page.body.contains(line), "{line} in {}", page.body);
    }
    assert!(page.body.contains("Type <code>Big</code> to confirm"));
    // The preview changed nothing; the deletion then does what it said.
    assert!(app
        .store
        .load_project(&app.ws, &big.id)
        .await
        .unwrap()
        .is_some());
    let r = send(
        &app.router,
        post(
            "/app/acme/trash/delete-forever",
            &owner,
            &[
                ("csrf_token", &csrf),
                ("type", "project"),
                ("id", big.id.as_str()),
                ("confirm", "Big"),
            ],
        ),
    )
    .await;
    assert_eq!(r.location.as_deref(), Some("/app/acme/trash?msg=deleted"));
    assert!(app
        .store
        .load_project(&app.ws, &big.id)
        .await
        .unwrap()
        .is_none());
    let gone = send(&app.router, get(&url, &owner)).await;
    assert_eq!(
        gone.location.as_deref(),
        Some("/app/acme/trash?msg=not-found")
    );
    // A version trashed with its project is deleted through the project.
    let cascaded = send(
        &app.router,
        get(
            &format!(
                "/app/acme/trash/delete-forever?type=version&id=1&parent_id={}",
                app.project
            ),
            &owner,
        ),
    )
    .await;
    assert_eq!(
        cascaded.location.as_deref(),
        Some("/app/acme/trash?msg=cascaded")
    );
    // Images are kept when the project was trashed without deleting them.
    let keep = res
        .create_project(
            &key,
            &app.ws,
            Name::parse("Keep").unwrap(),
            Some(Slug::parse("keep").unwrap()),
        )
        .await
        .unwrap();
    res.add_image(
        &key,
        &app.ws,
        &Slug::parse("keep").unwrap(),
        Name::parse("k").unwrap(),
    )
    .await
    .unwrap();
    app.services
        .trash
        .trash_project(&key, &app.ws, &Slug::parse("keep").unwrap(), false)
        .await
        .unwrap();
    let page = send(
        &app.router,
        get(
            &format!("/app/acme/trash/delete-forever?type=project&id={}", keep.id),
            &owner,
        ),
    )
    .await
    .body;
    assert!(page.contains("<li>0 versions</li>") && page.contains("Images are kept."));
    assert!(!page.contains("no other project links"));
    // A member may not even see it; another workspace's admin gets 404.
    let (member, _) = sign_in(&app, "member@acme.test").await;
    assert_eq!(
        send(&app.router, get(&url, &member)).await.status,
        StatusCode::FORBIDDEN
    );
    let (globex, _) = sign_in(&app, "admin@globex.test").await;
    assert_eq!(
        send(&app.router, get(&url, &globex)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_activity_panel_reads_the_audit_trail_newest_first_in_pages() {
    let app = app().await;
    let (owner, csrf) = sign_in(&app, "owner@acme.test").await;
    let page = send(&app.router, get("/app/acme/trash", &owner)).await.body;
    assert!(page.contains("moved project "), "{page}");
    // Restore it: the restore comes first.
    send(
        &app.router,
        post(
            "/app/acme/trash/restore",
            &owner,
            &[
                ("csrf_token", &csrf),
                ("type", "project"),
                ("id", app.project.as_str()),
            ],
        ),
    )
    .await;
    let page = send(&app.router, get("/app/acme/trash", &owner)).await.body;
    let restored = page
        .find("<strong>owner@acme.test</strong> restored project")
        .expect("restore shown");
    let trashed = page.find(" moved project ").expect("trash shown");
    assert!(restored < trashed, "newest first");
    // 20 events a page: 24 in all leave an older page.
    for n in 0..22 {
        trashed_project(&app, &format!("p-{n}"), &format!("P {n}")).await;
    }
    let page = send(&app.router, get("/app/acme/trash", &owner)).await.body;
    assert_eq!(page.matches("<span class=\"at\">").count(), 20);
    let marker = "href=\"";
    let older_at = page.find(">Older activity<").expect("an older page");
    let start = page[..older_at].rfind(marker).unwrap() + marker.len();
    let older = page[start..older_at - 1].replace("&amp;", "&");
    let older = older.split('#').next().unwrap().to_owned();
    let page = send(&app.router, get(&older, &owner)).await.body;
    assert_eq!(page.matches("<span class=\"at\">").count(), 4);
    assert!(page.contains("Newest activity"));
    let bad = send(&app.router, get("/app/acme/trash?events=zzz", &owner)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_page_brings_its_own_stylesheet_and_an_empty_state() {
    let app = app().await;
    let (owner, csrf) = sign_in(&app, "owner@acme.test").await;
    let page = send(&app.router, get("/app/acme/trash", &owner)).await.body;
    let marker = "<link rel=\"stylesheet\" href=\"";
    let start = page.find(marker).expect("a stylesheet") + marker.len();
    let href = &page[start..start + page[start..].find('"').unwrap()];
    assert!(href.starts_with("/app/assets/"), "served by trashd, no CDN");
    let res = app.router.clone().oneshot(get(href, "")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "text/css; charset=utf-8"
    );
    let page_res = app
        .router
        .clone()
        .oneshot(get("/app/acme/trash", &owner))
        .await
        .unwrap();
    let csp = page_res.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("style-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(
        page.contains("@media") || !page.contains("<style"),
        "no inline styles"
    );
    // Emptied: the empty state explains the trash, and no Empty form.
    send(
        &app.router,
        post(
            "/app/acme/trash/empty",
            &owner,
            &[("csrf_token", &csrf), ("confirm", "acme")],
        ),
    )
    .await;
    let page = send(&app.router, get("/app/acme/trash", &owner)).await.body;
    assert!(page.contains("The trash is empty."));
    assert!(page.contains("It can be restored for 30 days"));
    assert!(!page.contains("name=\"confirm\""));
}

#[tokio::test]
async fn empty_trash_runs_as_a_background_job_with_its_progress_on_the_page() {
    let app = app().await;
    for n in 0..4 {
        trashed_project(&app, &format!("more-{n}"), &format!("More {n}")).await;
    }
    let router = web_router(
        app.web
            .clone()
            .with_empty_jobs(app.services.empty_jobs.clone()),
    );
    let (owner, csrf) = sign_in(&app, "owner@acme.test").await;
    let wrong = send(
        &router,
        post(
            "/app/acme/trash/empty",
            &owner,
            &[("csrf_token", &csrf), ("confirm", "globex")],
        ),
    )
    .await;
    assert_eq!(
        wrong.location.as_deref(),
        Some("/app/acme/trash?msg=confirm")
    );
    let started = send(
        &router,
        post(
            "/app/acme/trash/empty",
            &owner,
            &[("csrf_token", &csrf), ("confirm", "acme")],
        ),
    )
    .await;
    assert_eq!(
        started.location.as_deref(),
        Some("/app/acme/trash?msg=emptying")
    );
    assert!(
        project_exists(&app).await,
        "nothing is removed inside the request"
    );
    let page = send(&router, get("/app/acme/trash?msg=emptying", &owner))
        .await
        .body;
    assert!(page.contains("Emptying the trash</h2>"), "{page}");
    assert!(
        page.contains("Removed <strong data-removed>0</strong> of 5 items"),
        "{page}"
    );
    // The page's script (served by trashd) follows the job's status.
    assert!(page.contains("<script src=\"/app/assets/trash-"), "{page}");
    assert!(page.contains("data-status=\"/app/acme/trash/empty-job\""));
    let status = send(&router, get("/app/acme/trash/empty-job", &owner)).await;
    assert_eq!(
        status.body,
        r#"{"state":"running","removed":0,"failed":0,"total":5}"#
    );
    let (globex, _) = sign_in(&app, "admin@globex.test").await;
    let foreign = send(&router, get("/app/acme/trash/empty-job", &globex)).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert!(
        !page.contains("id=\"empty-confirm\""),
        "no second start while it runs"
    );
    // A member sees the progress too, but cannot start one.
    let (member, member_csrf) = sign_in(&app, "member@acme.test").await;
    let refused = send(
        &router,
        post(
            "/app/acme/trash/empty",
            &member,
            &[("csrf_token", &member_csrf), ("confirm", "acme")],
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // The server's worker runs it: two items a batch, one batch at a time.
    let lease = chrono::Duration::seconds(60);
    app.services.empty_jobs.run_once(2, 1, lease).await.unwrap();
    let page = send(&router, get("/app/acme/trash", &owner)).await.body;
    assert!(
        page.contains("Removed <strong data-removed>2</strong> of 5 items"),
        "{page}"
    );
    assert!(page.contains("<progress max=\"5\" value=\"2\""), "{page}");
    app.services
        .empty_jobs
        .run_once(2, 10, lease)
        .await
        .unwrap();
    let page = send(&router, get("/app/acme/trash", &owner)).await.body;
    assert!(page.contains("The trash was emptied</h2>"), "{page}");
    assert!(page.contains("5 items were removed for good"), "{page}");
    assert!(!page.contains("<script"), "no script once it is done");
    let status = send(&router, get("/app/acme/trash/empty-job", &owner)).await;
    assert_eq!(
        status.body,
        r#"{"state":"done","removed":5,"failed":0,"total":5}"#
    );
    assert!(!project_exists(&app).await);
    // An hour later the report is gone.
    app.clock.advance(chrono::Duration::minutes(61));
    let (owner, _) = sign_in(&app, "owner@acme.test").await;
    let page = send(&router, get("/app/acme/trash", &owner)).await.body;
    assert!(!page.contains("empty-progress"));
}
