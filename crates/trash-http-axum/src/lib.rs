//! # trash-http-axum
//!
//! The REST API of the trash (spec sections 3 and 4) over axum, wire-
//! compatible with the official Roboflow client. Handlers parse the request
//! into `trash-core` types, call one use case ([`TrashService`] for the
//! trash, [`ResourceService`] for what it acts on, [`AccountService`] to
//! authenticate the key, [`Health`] for readiness) and shape the answer; the JSON types live in [`wire`], the one error type in [`error`].
//!
//! [`router`] is the whole HTTP surface: the API, `/healthz`, `/readyz`,
//! `/openapi.json` (generated from the handlers' annotations, so the
//! document and the routes cannot drift apart), JSON answers for every
//! failure, a 64 KiB body limit, a request id, one log line per request,
//! and `X-Content-Type-Options: nosniff` with `Cache-Control: no-store` on
//! every answer.
//!
//! There is no route, method or parameter that deletes anything for good:
//! permanent deletion belongs to the web Trash view only.
#![warn(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use trash_core::ports::Health;
use trash_core::{AccountService, ResourceService, Services, TrashService};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub mod contract;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod routes;
pub mod throttle;
pub mod wire;

pub use error::ApiError;
pub use throttle::{ClientAddr, Edge, EdgeConfig};

/// Project slugs that would be shadowed by a route under `/{ws}/`; creating
/// a project with one of them is refused with 400.
pub const RESERVED_PROJECT_SLUGS: [&str; 4] = ["trash", "workflows", "images", "projects"];

/// Workspace slugs that would be shadowed by a top-level route (`/healthz`,
/// `/readyz`, and `/app` kept for the web Trash view). Whoever creates
/// workspaces should refuse them.
pub const RESERVED_WORKSPACE_SLUGS: [&str; 3] = ["healthz", "readyz", "app"];

/// Limits applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted request body (default 64 KiB); larger ones get 413.
    pub body_bytes: usize,
    /// How long `/readyz` waits for the storage (default 2 s).
    pub readiness_timeout: Duration,
    /// How long any request may take before it is answered 503 (default
    /// 30 s): a storage that stops answering mid-statement never hangs a
    /// client. The unfinished work is dropped, which rolls its transaction back.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 64 * 1024,
            readiness_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What every handler shares: the services, one per role, and the limits.
#[derive(Clone)]
pub struct AppState {
    /// Move to trash, list, restore.
    pub trash: TrashService,
    /// Creating and reading what the trash acts on.
    pub resources: ResourceService,
    /// Authenticating API keys.
    pub accounts: AccountService,
    /// Readiness (`/readyz`).
    pub health: Arc<dyn Health>,
    /// Request limits.
    pub limits: Limits,
    /// Rate limits and the proxies trusted to name the client.
    pub edge: Arc<Edge>,
}

impl AppState {
    /// The state for the standalone server's services, with the default limits.
    pub fn new(services: Services) -> AppState {
        AppState {
            trash: services.trash,
            resources: services.resources,
            accounts: services.accounts,
            health: services.health,
            limits: Limits::default(),
            edge: Arc::new(Edge::off()),
        }
    }

    /// The same state with these rate limits and trusted proxies (the
    /// default is none of either).
    pub fn with_edge(mut self, config: EdgeConfig) -> AppState {
        self.edge = Arc::new(Edge::new(config));
        self
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "trashd",
        description = "Recoverable deletion with a retention window: move projects, versions, \
                       workflows and trainings to trash, list and restore them. Wire-compatible \
                       with the Roboflow Manage Trash API. There is no permanent deletion here.",
    ),
    modifiers(&Security),
    security(("api_key" = []), ("bearer" = [])),
    tags(
        (name = "auth", description = "Which workspace a key belongs to."),
        (name = "trash", description = "Move to trash, list, restore."),
        (name = "holds", description = "Legal holds: stop the permanent destruction of trash items until released (scope trash:hold)."),
        (name = "resources", description = "What the trash acts on."),
        (name = "operations", description = "Health, readiness, this document."),
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("api_key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route, with its documentation. Routes sharing a path are
/// registered together.
fn api() -> OpenApiRouter<AppState> {
    use routes::*;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(welcome_get, welcome_post))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(openapi_json))
        .routes(routes!(get_workspace))
        .routes(routes!(create_project))
        .routes(routes!(create_workflow))
        .routes(routes!(list_trash))
        .routes(routes!(list_events))
        .routes(routes!(list_holds, place_hold))
        .routes(routes!(release_hold))
        .routes(routes!(restore))
        .routes(routes!(get_project, delete_project))
        .routes(routes!(create_version))
        .routes(routes!(add_image))
        .routes(routes!(get_version, delete_version))
        .routes(routes!(get_workflow, delete_workflow))
        .routes(routes!(get_image))
        .routes(routes!(list_trainings, create_training))
        .routes(routes!(get_training, delete_training))
        .routes(routes!(set_training_status))
}

/// The OpenAPI 3 document generated from the handlers' annotations: every
/// route, operation and type. [`openapi_document`] is what is served.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}

/// The OpenAPI 3.1 document `GET /openapi.json` serves: [`openapi`] with
/// what the server accepts written in (see [`contract`]).
pub fn openapi_document() -> serde_json::Value {
    let mut doc = serde_json::to_value(openapi()).unwrap_or_default();
    contract::constrain(&mut doc);
    doc
}

/// The whole HTTP surface: REST API, `/healthz`, `/readyz`, `/openapi.json`,
/// JSON fallbacks, the body limit, the request-id header, the rate limits
/// of `state.edge`, and one tracing line per request (method, matched path
/// template, status, latency, request id, client address).
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// [`router`] with more routes mounted beside the API (the web Trash view
/// under `/app/`): they share the request id, the request log line, the
/// body limit, the panic guard and the JSON answers for unknown routes and
/// methods. `extra` must not set a fallback of its own.
pub fn router_with(state: AppState, extra: Router) -> Router {
    let body_limit = state.limits.body_bytes;
    let request_timeout = state.limits.request_timeout;
    let edge = state.edge.clone();
    let identify = edge.clone();
    let (api, _) = api().split_for_parts();
    let inner = api
        .route_layer(axum::middleware::from_fn(middleware::reserved_segments))
        .with_state(state)
        .merge(extra)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .fallback(middleware::not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                middleware::time_limit(request_timeout, req, next)
            },
        ))
        .layer(CatchPanicLayer::custom(middleware::panicked))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                throttle::limit_clients(edge.clone(), req, next)
            },
        ))
        .layer(axum::middleware::from_fn(middleware::observe))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                throttle::identify_client(identify.clone(), req, next)
            },
        ))
        .layer(axum::middleware::from_fn(middleware::security_headers));
    Router::new().fallback_service(
        ServiceBuilder::new()
            .map_request(middleware::collapse_leading_slashes)
            .service(inner),
    )
}
