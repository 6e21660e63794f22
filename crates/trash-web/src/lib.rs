//! The web Trash view of trashd, served under `/app/`.
//!
//! A signed-in web user sees their workspace's trash and can restore items;
//! an owner or admin can also delete one item forever or empty the trash.
//! These are the only ways to delete before the retention window ends, and
//! they are not reachable with an API key: every route here authenticates
//! with a signed session cookie only, every state-changing form is a POST
//! carrying a CSRF token, and destructive forms need the item's name (or
//! the workspace slug) typed in.
#![warn(missing_docs)]

mod html;
mod password;
mod session;
mod throttle;
mod view;
mod words;

use argon2::Argon2;
use axum::extract::rejection::FormRejection;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use trash_core::domain::*;
use trash_core::ports::EmptyJobState;
use trash_core::usecases::*;
use trash_core::{AccountService, SessionService, TrashService};

pub use password::PasswordChecker;
pub use session::WebConfig;
pub use throttle::{SignInGuard, SignInLimits, ThrottleKey};

use html::{error_page, page, see_other};
use session::{cookie, random_token, same_token, LOGIN_COOKIE, LOGIN_FORM_SECONDS, SESSION_COOKIE};
use view::{Filter, TrashView};
use words::plural;

/// What the web handlers share: the trash use cases (list, restore, delete
/// forever, empty), the accounts (sign-in), the sessions, and the web
/// settings.
#[derive(Clone)]
pub struct WebState {
    trash: TrashService,
    accounts: AccountService,
    sessions: SessionService,
    config: WebConfig,
    guard: SignInGuard,
    checker: PasswordChecker,
    empty_jobs: Option<EmptyJobService>,
}

impl WebState {
    /// Builds the state.
    pub fn new(
        trash: TrashService,
        accounts: AccountService,
        sessions: SessionService,
        config: WebConfig,
    ) -> WebState {
        WebState {
            trash,
            accounts,
            sessions,
            config,
            guard: SignInGuard::new(SignInLimits::default()),
            checker: PasswordChecker::start(SignInLimits::default().concurrent_checks),
            empty_jobs: None,
        }
    }

    /// The same state, emptying the trash as a background job (started
    /// here, run by a worker of the server, its progress on the page)
    /// instead of inside the request.
    pub fn with_empty_jobs(mut self, jobs: EmptyJobService) -> WebState {
        self.empty_jobs = Some(jobs);
        self
    }

    /// The same state with other sign-in limits.
    pub fn with_sign_in_limits(mut self, limits: SignInLimits) -> WebState {
        self.guard = SignInGuard::new(limits);
        self.checker = PasswordChecker::start(limits.concurrent_checks);
        self
    }

    /// The sign-in guard (its cap and throttles).
    pub fn sign_in_guard(&self) -> &SignInGuard {
        &self.guard
    }
}

/// The routes of the web view (all under `/app`).
pub fn web_router(state: WebState) -> Router {
    let secure = state.config.secure_cookies;
    Router::new()
        .route("/app", get(index))
        .route("/app/", get(index))
        .route("/app/login", get(login_page).post(login_submit))
        .route("/app/logout", post(logout))
        .route(html::ASSET_PATH, get(asset))
        .route("/app/{ws}/trash", get(trash_page))
        .route("/app/{ws}/trash/empty-job", get(empty_job_status))
        .route("/app/{ws}/trash/restore", post(restore_submit))
        .route(
            "/app/{ws}/trash/delete-forever",
            get(delete_forever_page).post(delete_forever_submit),
        )
        .route("/app/{ws}/trash/empty", post(empty_submit))
        .with_state(state)
        .layer(axum::middleware::map_response(
            move |mut response: Response| async move {
                if secure {
                    response.headers_mut().insert(
                        header::STRICT_TRANSPORT_SECURITY,
                        HeaderValue::from_static("max-age=31536000"),
                    );
                }
                response
            },
        ))
}

/// A stored password hash nobody knows the password of, verified when the
/// e-mail is unknown so a sign-in takes as long either way.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Zr0tNgqF1sXyhPPhG6ljxdx5f0g1o7fAWg0UcwuCB8E";

/// Hashes a password for storage (argon2id, PHC string), as `trashd admin
/// create-user` does.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("could not hash the password: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_dummy_hash_is_a_valid_phc_string() {
        assert!(argon2::PasswordHash::new(super::DUMMY_HASH).is_ok());
    }
}

fn cookie_of(headers: &HeaderMap, name: &str) -> Option<String> {
    cookie(
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
        name,
    )
}

fn set_cookie(
    response: &mut Response,
    config: &WebConfig,
    name: &'static str,
    value: String,
    max_age: i64,
) {
    if let Ok(v) = HeaderValue::from_str(&config.cookie(name, value, max_age)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A valid session: the user, its token and the CSRF token its forms carry.
struct Session {
    user: WebUser,
    token: String,
    csrf: String,
}

fn storage_unavailable(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "web storage lookup failed");
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Storage is unavailable; try again shortly.",
    )
}

async fn session(state: &WebState, headers: &HeaderMap) -> Result<Session, Response> {
    let token = cookie_of(headers, SESSION_COOKIE).ok_or_else(|| see_other("/app/login"))?;
    match state.sessions.resume(&token).await {
        Ok(Some(active)) => Ok(Session {
            user: active.user,
            csrf: state.config.csrf_for_session(&token),
            token,
        }),
        Ok(None) => Err(see_other("/app/login")),
        Err(e) => Err(storage_unavailable(&e)),
    }
}

async fn index(State(state): State<WebState>, headers: HeaderMap) -> Response {
    match session(&state, &headers).await {
        Ok(s) => see_other(&format!("/app/{}/trash", s.user.workspace)),
        Err(r) => r,
    }
}

async fn login_page(State(state): State<WebState>) -> Response {
    login_form(&state, StatusCode::OK, None)
}

fn login_form(state: &WebState, status: StatusCode, problem: Option<&str>) -> Response {
    let pre_session = random_token();
    let token = state.config.csrf_for_login(&pre_session);
    let mut response = page(status, "Sign in", view::login_page(&token, problem));
    set_cookie(
        &mut response,
        &state.config,
        LOGIN_COOKIE,
        pre_session,
        LOGIN_FORM_SECONDS,
    );
    response
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    csrf_token: String,
}

/// Longest password checked; longer ones fail without a check.
const MAX_PASSWORD_LEN: usize = 1024;

/// The 429 answer of a throttled sign-in: when to try again, in the
/// `Retry-After` header and on the page.
fn throttled(state: &WebState, now: Timestamp, until: Timestamp, why: &str) -> Response {
    let seconds = ((until.unix_millis() - now.unix_millis()).max(0) as u64).div_ceil(1000);
    let minutes = seconds.div_ceil(60);
    let wait = if seconds < 60 {
        plural(seconds.max(1), "second", "seconds")
    } else {
        plural(minutes, "minute", "minutes")
    };
    let problem = format!(
        "{why} Try again in {wait} (after {} UTC).",
        until.as_datetime().format("%H:%M:%S")
    );
    let mut response = login_form(state, StatusCode::TOO_MANY_REQUESTS, Some(&problem));
    if let Ok(v) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// The client's address as the server in front resolved it (e.g. from
/// `X-Forwarded-For` of a trusted proxy). When a request carries it, the
/// sign-in throttles count failures by it instead of the peer address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

fn throttle_keys(email: &str, client: Option<IpAddr>) -> Vec<ThrottleKey> {
    let account: String = email.trim().to_lowercase().chars().take(320).collect();
    let address = client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    vec![ThrottleKey::Account(account), ThrottleKey::Address(address)]
}

async fn login_submit(
    State(state): State<WebState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    resolved: Option<Extension<ClientIp>>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return login_form(
            &state,
            StatusCode::BAD_REQUEST,
            Some("The form was incomplete."),
        );
    };
    let expected = cookie_of(&headers, LOGIN_COOKIE)
        .map(|pre_session| state.config.csrf_for_login(&pre_session))
        .unwrap_or_default();
    if !same_token(&expected, &form.csrf_token) {
        return login_form(
            &state,
            StatusCode::FORBIDDEN,
            Some("The sign-in form expired; please try again."),
        );
    }
    let client = match (resolved, peer) {
        (Some(Extension(ClientIp(ip))), _) => Some(ip),
        (None, Some(Extension(ConnectInfo(addr)))) => Some(addr.ip()),
        (None, None) => None,
    };
    let keys = throttle_keys(&form.email, client);
    let now = state.sessions.now();
    if let Some(until) = state.guard.locked_until(&keys, now) {
        return throttled(&state, now, until, "Too many failed sign-ins.");
    }
    let user = match Email::parse(&form.email) {
        Ok(email) => match state.accounts.user_for_sign_in(&email).await {
            Ok(user) => user,
            Err(e) => return storage_unavailable(&e),
        },
        Err(_) => None,
    };
    let stored = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_string());
    let password = form.password;
    let verified = if password.len() > MAX_PASSWORD_LEN {
        false
    } else {
        let Some(turn) = state.guard.turn().await else {
            let mut response = login_form(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                Some("Too many sign-ins at once. Try again in a few seconds."),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            return response;
        };
        // The turn is held until the check is answered (a check whose
        // request is abandoned still finishes on its worker).
        let checked = state.checker.check(stored, password).await;
        drop(turn);
        checked
    };
    match user {
        Some(user) if verified => {
            // Only the account's failures are forgiven: one good password
            // must not reset the count of an address trying many accounts.
            state.guard.succeeded(&keys[..1]);
            let started = match state.sessions.start(&user.id).await {
                Ok(started) => started,
                Err(e) => return storage_unavailable(&e),
            };
            let mut response = see_other(&format!("/app/{}/trash", user.workspace));
            let ttl = state.sessions.policy().absolute.num_seconds();
            set_cookie(
                &mut response,
                &state.config,
                SESSION_COOKIE,
                started.token,
                ttl,
            );
            set_cookie(&mut response, &state.config, LOGIN_COOKIE, String::new(), 0);
            tracing::info!(user = %user.id, "web sign-in");
            response
        }
        _ => {
            let now = state.sessions.now();
            match state.guard.failed(&keys, now) {
                Some(until) => {
                    tracing::warn!(until = %until, "web sign-in throttled after repeated failures");
                    throttled(
                        &state,
                        now,
                        until,
                        "Wrong e-mail or password, too many times.",
                    )
                }
                None => login_form(
                    &state,
                    StatusCode::UNAUTHORIZED,
                    Some("Wrong e-mail or password."),
                ),
            }
        }
    }
}

#[derive(Deserialize)]
struct ActionForm {
    csrf_token: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<String>,
    parent_id: Option<String>,
    confirm: Option<String>,
}

async fn logout(
    State(state): State<WebState>,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    let s = match session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let token = form
        .ok()
        .and_then(|Form(f)| f.csrf_token)
        .unwrap_or_default();
    if !same_token(&s.csrf, &token) {
        return error_page(StatusCode::FORBIDDEN, "Missing or wrong CSRF token.");
    }
    if let Err(e) = state.sessions.end(&s.token).await {
        return storage_unavailable(&e);
    }
    tracing::info!(user = %s.user.user_id, "web sign-out");
    let mut response = see_other("/app/login");
    set_cookie(
        &mut response,
        &state.config,
        SESSION_COOKIE,
        String::new(),
        0,
    );
    response
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    events: Option<String>,
    msg: Option<String>,
    /// With `msg=emptied`: how many items legal holds kept.
    held: Option<u32>,
}

/// Fixed outcome messages (the query carries a code, never free text).
fn message(code: &str) -> Option<(&'static str, bool)> {
    Some(match code {
        "restored" => ("Restored.", false),
        "already-active" => ("That item was already active.", false),
        "deleted" => ("Deleted forever.", false),
        "emptied" => ("The trash was emptied.", false),
        "emptying" => (
            "Emptying the trash in the background; its progress is shown below.",
            false,
        ),
        "not-found" => ("That item is no longer in the trash.", true),
        "parent" => (
            "Its parent is in the trash; restore the parent first.",
            true,
        ),
        "cascaded" => (
            "It was moved to the trash with its parent; restore or delete the parent instead.",
            true,
        ),
        "name-taken" => (
            "An active item already uses its name (slug); rename that one first.",
            true,
        ),
        "expired" => (
            "Its retention has expired; it will be removed shortly.",
            true,
        ),
        "confirm" => ("The confirmation did not match; nothing was deleted.", true),
        "held" => (
            "That item is under legal hold; release the hold before deleting it.",
            true,
        ),
        "forbidden" => ("Only a workspace owner or admin can delete forever.", true),
        "busy" => (
            "The trash is busy with other changes to that item right now; try again in a moment.",
            true,
        ),
        "error" => ("Something went wrong; nothing was changed.", true),
        _ => return None,
    })
}

/// Items per page of the list.
const PAGE_SIZE: u32 = 25;
/// Entries of the trash a name search examines per page view: the cost of
/// one view stays bounded however large the trash is.
const SEARCH_BUDGET: u32 = 2000;
/// Events per page of the activity panel.
const EVENTS_PAGE_SIZE: u32 = 20;
/// Longest search text kept.
const MAX_SEARCH_LEN: usize = 100;

async fn asset(Path(file): Path<String>) -> Response {
    html::asset_response(&file)
        .unwrap_or_else(|| error_page(StatusCode::NOT_FOUND, "No such file."))
}

/// The latest "Empty Trash" job of the workspace as JSON, for the page's
/// script: `{"state","removed","failed","total"}`, or `{"state":"none"}`.
async fn empty_job_status(
    State(state): State<WebState>,
    Path(ws): Path<String>,
    headers: HeaderMap,
) -> Response {
    let s = match session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(ws) = own_workspace(&s, &ws) else {
        return no_such_workspace();
    };
    let job = match &state.empty_jobs {
        Some(jobs) => match jobs.latest(&s.user, &ws).await {
            Ok(job) => job,
            Err(e) => return storage_unavailable(&e),
        },
        None => None,
    };
    let status = match &job {
        Some(job) => JobStatus {
            state: job.state.as_str(),
            removed: job.removed,
            failed: job.failed,
            total: job.total.max(job.removed + job.failed),
        },
        None => JobStatus {
            state: "none",
            removed: 0,
            failed: 0,
            total: 0,
        },
    };
    let mut response = axum::Json(status).into_response();
    html::secure_headers(response.headers_mut());
    response
}

#[derive(serde::Serialize)]
struct JobStatus {
    state: &'static str,
    removed: u64,
    failed: u64,
    total: u64,
}

/// The session's workspace, if `ws` names it (any other workspace is
/// answered by [`no_such_workspace`], as if it did not exist).
fn own_workspace(s: &Session, ws: &str) -> Option<WorkspaceSlug> {
    WorkspaceSlug::parse(ws)
        .ok()
        .filter(|ws| ws == &s.user.workspace)
}

fn no_such_workspace() -> Response {
    error_page(StatusCode::NOT_FOUND, "No such workspace.")
}

async fn trash_page(
    State(state): State<WebState>,
    Path(ws): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let s = match session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(ws) = own_workspace(&s, &ws) else {
        return no_such_workspace();
    };
    let bad_link = || error_page(StatusCode::BAD_REQUEST, "That page link is not valid.");
    let kind = match query.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => match ItemKind::parse(k) {
            Ok(k) => Some(k),
            Err(_) => return bad_link(),
        },
    };
    let filter = Filter {
        kind,
        text: query
            .q
            .as_deref()
            .unwrap_or("")
            .trim()
            .chars()
            .take(MAX_SEARCH_LEN)
            .collect(),
    };
    let cursor = match query.cursor.as_deref().map(TrashCursor::parse) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(_)) => return bad_link(),
    };
    let events_cursor = match query.events.as_deref().map(EventCursor::parse) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(_)) => return bad_link(),
    };
    let principal = Principal::WebUser(s.user.clone());
    let search = TrashSearch {
        kind: filter.kind,
        text: filter.text.clone(),
        limit: PageLimit::new(PAGE_SIZE).unwrap_or_default(),
        cursor,
        budget: SEARCH_BUDGET,
    };
    let items = match state.trash.search_trash(&principal, &ws, &search).await {
        Ok(p) => p,
        Err(e) => return storage_unavailable(&e),
    };
    let events_request = EventsRequest {
        kind: None,
        limit: PageLimit::new(EVENTS_PAGE_SIZE).unwrap_or_default(),
        cursor: events_cursor,
    };
    let events = match state.trash.events(&principal, &ws, &events_request).await {
        Ok(p) => p,
        Err(e) => return storage_unavailable(&e),
    };
    let job = match &state.empty_jobs {
        Some(jobs) => match jobs.latest(&s.user, &ws).await {
            Ok(job) => job,
            Err(e) => return storage_unavailable(&e),
        },
        None => None,
    };
    let running = job
        .as_ref()
        .is_some_and(|j| j.state == EmptyJobState::Running);
    let holds = match state.trash.list_holds(&principal, &ws).await {
        Ok(holds) => holds,
        Err(HoldError::Store(e)) => return storage_unavailable(&e),
        Err(e) => {
            tracing::error!(error = %e, "web holds listing failed");
            Vec::new()
        }
    };
    let view = TrashView {
        ws: &ws,
        user: &s.user,
        csrf: &s.csrf,
        admin: WorkspaceAdmin::from_user(s.user.clone()).is_ok(),
        now: state.sessions.now(),
        retention_days: state.trash.config().retention.duration().num_days(),
        notice: query.msg.as_deref().and_then(message),
        filter: &filter,
        cursor: query.cursor.as_deref(),
        items: &items,
        events_cursor: query.events.as_deref(),
        events: &events,
        job: job.as_ref(),
        holds: &holds,
        held_kept: (query.msg.as_deref() == Some("emptied"))
            .then_some(query.held)
            .flatten(),
    };
    // While the trash is being emptied the page's script keeps the
    // progress current.
    html::page_with_script(
        StatusCode::OK,
        &format!("Trash of {ws}"),
        view::trash_page(&view),
        running,
    )
}

#[derive(Deserialize)]
struct ItemQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<String>,
    parent_id: Option<String>,
}

/// The "delete forever" confirmation page: what will be destroyed (a
/// preview by the same rules as the deletion), and the typed name.
async fn delete_forever_page(
    State(state): State<WebState>,
    Path(ws): Path<String>,
    Query(query): Query<ItemQuery>,
    headers: HeaderMap,
) -> Response {
    let s = match session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(ws) = own_workspace(&s, &ws) else {
        return no_such_workspace();
    };
    let Ok(admin) = WorkspaceAdmin::from_user(s.user.clone()) else {
        return forbidden();
    };
    let form = ActionForm {
        csrf_token: None,
        kind: query.kind,
        id: query.id,
        parent_id: query.parent_id,
        confirm: None,
    };
    let Some(item) = item_of(&form) else {
        return back(&ws, "not-found");
    };
    match state.trash.preview_delete_forever(&admin, &ws, &item).await {
        Ok(preview) => page(
            StatusCode::OK,
            &format!("Delete {} forever?", preview.confirmation),
            view::confirm_page(&ws, &s.user, &s.csrf, state.sessions.now(), &preview),
        ),
        Err(e) => back(&ws, permanent_code(Err(e), "deleted")),
    }
}

/// The common start of every action: a session of this workspace, a valid
/// CSRF token, and a parsed form.
async fn action(
    state: &WebState,
    headers: &HeaderMap,
    ws: &str,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<(Session, WorkspaceSlug, ActionForm), Response> {
    let s = session(state, headers).await?;
    let ws = own_workspace(&s, ws).ok_or_else(no_such_workspace)?;
    let Ok(Form(form)) = form else {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            "The form was incomplete.",
        ));
    };
    if !same_token(&s.csrf, form.csrf_token.as_deref().unwrap_or("")) {
        return Err(error_page(
            StatusCode::FORBIDDEN,
            "Missing or wrong CSRF token.",
        ));
    }
    Ok((s, ws, form))
}

fn item_of(form: &ActionForm) -> Option<ItemRef> {
    let id = form.id.as_deref()?;
    match ItemKind::parse(form.kind.as_deref()?).ok()? {
        ItemKind::Project => ProjectId::parse(id).ok().map(ItemRef::Project),
        ItemKind::Workflow => WorkflowId::parse(id).ok().map(ItemRef::Workflow),
        ItemKind::Training => TrainingId::parse(id).ok().map(ItemRef::Training),
        ItemKind::Version => {
            let project = ProjectId::parse(form.parent_id.as_deref()?).ok()?;
            VersionNumber::parse(id)
                .ok()
                .map(|n| ItemRef::Version(project, n))
        }
    }
}

/// A member's (forged) destructive request: refused, nothing changed.
fn forbidden() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "Only a workspace owner or admin can delete forever; nothing was changed.",
    )
}

fn back(ws: &WorkspaceSlug, code: &str) -> Response {
    see_other(&format!("/app/{ws}/trash?msg={code}"))
}

async fn restore_submit(
    State(state): State<WebState>,
    Path(ws): Path<String>,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    let (s, ws, form) = match action(&state, &headers, &ws, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(item) = item_of(&form) else {
        return back(&ws, "not-found");
    };
    let principal = Principal::WebUser(s.user);
    let code = match state
        .trash
        .restore(&principal, &ws, &item, OnConflict::Fail)
        .await
    {
        Ok(o) if o.already_active => "already-active",
        Ok(_) => "restored",
        Err(RestoreError::NotFound) => "not-found",
        Err(RestoreError::ParentInTrash { .. }) => "parent",
        Err(RestoreError::CascadedWith { .. }) => "cascaded",
        Err(RestoreError::NameTaken { .. }) => "name-taken",
        Err(RestoreError::RetentionExpired) => "expired",
        Err(RestoreError::Busy) => "busy",
        Err(e) => {
            tracing::error!(error = %e, "web restore failed");
            "error"
        }
    };
    back(&ws, code)
}

fn permanent_code(result: Result<(), DeleteForeverError>, done: &'static str) -> &'static str {
    match result {
        Ok(()) => done,
        Err(DeleteForeverError::NotInTrash) | Err(DeleteForeverError::WrongWorkspace) => {
            "not-found"
        }
        Err(DeleteForeverError::CascadedWith { .. }) => "cascaded",
        Err(DeleteForeverError::ConfirmationMismatch { .. }) => "confirm",
        Err(DeleteForeverError::Held { .. }) => "held",
        Err(DeleteForeverError::Busy) => "busy",
        Err(DeleteForeverError::Store(e)) => {
            tracing::error!(error = %e, "permanent deletion failed");
            "error"
        }
    }
}

async fn delete_forever_submit(
    State(state): State<WebState>,
    Path(ws): Path<String>,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    let (s, ws, form) = match action(&state, &headers, &ws, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(admin) = WorkspaceAdmin::from_user(s.user) else {
        return forbidden();
    };
    let Some(item) = item_of(&form) else {
        return back(&ws, "not-found");
    };
    let confirm = form.confirm.as_deref().unwrap_or("");
    let result = state
        .trash
        .delete_forever(&admin, &ws, &item, confirm)
        .await
        .map(|counts| {
            tracing::info!(user = %admin.user().user_id, item = %item, ?counts, "deleted forever");
        });
    back(&ws, permanent_code(result, "deleted"))
}

async fn empty_submit(
    State(state): State<WebState>,
    Path(ws): Path<String>,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    let (s, ws, form) = match action(&state, &headers, &ws, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(admin) = WorkspaceAdmin::from_user(s.user) else {
        return forbidden();
    };
    let confirm = form.confirm.as_deref().unwrap_or("");
    if let Some(jobs) = &state.empty_jobs {
        return match jobs.start(&admin, &ws, confirm).await {
            Ok(job) => {
                tracing::info!(user = %admin.user().user_id, job = %job.id, total = job.total, "empty trash started");
                back(&ws, "emptying")
            }
            Err(e) => back(&ws, permanent_code(Err(e), "emptying")),
        };
    }
    let result = state
        .trash
        .empty_trash(&admin, &ws, confirm, &mut |_| {})
        .await
        .map(|report| {
            tracing::info!(user = %admin.user().user_id, operations = report.operations, held = report.held, "trash emptied");
            report.held
        });
    match result {
        Ok(held) if held > 0 => see_other(&format!("/app/{ws}/trash?msg=emptied&held={held}")),
        other => back(&ws, permanent_code(other.map(|_| ()), "emptied")),
    }
}
