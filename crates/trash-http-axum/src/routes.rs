//! The handlers. Each one is thin: authenticate, parse the path, query and
//! body into core types, call one use case, and shape the answer.
//!
//! Order of checks, the same on every route: body syntax and size (the key
//! may be in the body) → key (401) → path, query and body values (400) →
//! the use case (workspace and scope 401, then 404/409/410).

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use trash_core::domain::*;
use trash_core::usecases::{
    check_access, AccessDenied, BulkRestoreError, EventsRequest, HoldSubject, ListTrashRequest,
    Missing, Page, PageLimit, ResourceError, RestoreError, RestoreItem, RestoreOutcome, TrashError,
    WorkflowRef,
};
use utoipa::{IntoParams, IntoResponses};

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiRequest};
use crate::wire::*;
use crate::{AppState, RESERVED_PROJECT_SLUGS};

// ---- path parameters -------------------------------------------------------------

/// `/{ws}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WsPath {
    /// Workspace slug.
    pub ws: String,
}

/// `/{ws}/{project}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProjectPath {
    /// Workspace slug.
    pub ws: String,
    /// Project slug.
    pub project: String,
}

/// `/{ws}/{project}/{version}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct VersionPath {
    /// Workspace slug.
    pub ws: String,
    /// Project slug.
    pub project: String,
    /// Version number.
    pub version: String,
}

/// `/{ws}/{project}/{version}/v2/trainings/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TrainingPath {
    /// Workspace slug.
    pub ws: String,
    /// Project slug.
    pub project: String,
    /// Version number.
    pub version: String,
    /// Training id.
    pub id: String,
}

/// `/{ws}/workflows/{workflow}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WorkflowPath {
    /// Workspace slug.
    pub ws: String,
    /// Workflow slug (or, for `DELETE`, its id).
    pub workflow: String,
}

/// `/{ws}/images/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ImagePath {
    /// Workspace slug.
    pub ws: String,
    /// Image id.
    pub id: String,
}

/// `/{ws}/trash/holds/{holdId}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct HoldPath {
    /// Workspace slug.
    pub ws: String,
    /// The hold's id.
    #[serde(rename = "holdId")]
    #[param(rename = "holdId")]
    pub hold_id: String,
}

/// `?dryRun=`, on every `DELETE` route and on `POST /{ws}/trash/restore`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DryRunParams {
    /// `true`: answer what the call would do (same status, same body plus
    /// `"dryRun": true` and the `items` it would move) and change nothing.
    /// `false` (default): the real call. Anything else is a 400.
    #[param(rename = "dryRun")]
    #[serde(rename = "dryRun")]
    pub dry_run: Option<bool>,
}

/// Query of `DELETE /{ws}/{project}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct DeleteProjectParams {
    /// `true` (default) or `false`: whether cleanup also deletes the images
    /// that no other project links.
    #[param(rename = "cleanupDeleteImages")]
    pub cleanup_delete_images: Option<bool>,
}

/// The errors every authenticated route can answer.
#[derive(IntoResponses)]
pub enum CommonErrors {
    /// Malformed JSON, a bad path segment or query value, a missing field.
    #[response(status = 400)]
    BadRequest(#[to_schema] ErrorBody),
    /// Missing, unknown or revoked key; key of another workspace; key lacking the scope.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// No such active resource at that path (or not in this workspace's trash).
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The body is larger than 64 KiB.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// Over the rate limit of the key or of the client address; retry after
    /// `Retry-After` seconds.
    #[response(status = 429)]
    TooMany(ErrorBody),
    /// The server failed; the cause is logged.
    #[response(status = 500)]
    Internal(ErrorBody),
    /// Storage unreachable or the item kept changing; retry after `Retry-After` seconds.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

// ---- parsing helpers ------------------------------------------------------------------

fn workspace(s: &str) -> Result<WorkspaceSlug, ApiError> {
    WorkspaceSlug::parse(s).map_err(|e| ApiError::invalid("workspace in the path", &e))
}

fn project_slug(s: &str) -> Result<Slug, ApiError> {
    Slug::parse(s).map_err(|e| ApiError::invalid("project in the path", &e))
}

fn version_number(s: &str) -> Result<VersionNumber, ApiError> {
    VersionNumber::parse(s).map_err(|e| ApiError::invalid("version in the path", &e))
}

fn training_id(s: &str) -> Result<TrainingId, ApiError> {
    TrainingId::parse(s).map_err(|e| ApiError::invalid("training id in the path", &e))
}

fn name(field: &str, s: &str) -> Result<Name, ApiError> {
    Name::parse(s).map_err(|e| ApiError::invalid(field, &e))
}

/// A slug given in a body, or derived from the name.
fn new_slug(url: Option<&str>, name: &Name) -> Result<Slug, ApiError> {
    match url {
        Some(u) => Slug::parse(u).map_err(|e| ApiError::invalid("url", &e)),
        None => Slug::from_name(name.as_str()).map_err(|_| {
            ApiError::bad_request("no slug can be derived from this name; pass \"url\"")
        }),
    }
}

/// The longest restore `id` or `parentId` looked up; a longer one is a 400.
pub const MAX_RESTORE_ID_CHARS: usize = 128;

/// A restore `id` or `parentId` must be printable text of 1 to
/// [`MAX_RESTORE_ID_CHARS`] characters (400 otherwise); any such text is
/// looked up, so an id of another syntax answers 404, not 400.
fn restore_id_text(field: &str, id: &str) -> Result<(), ApiError> {
    if id.is_empty() {
        return Err(ApiError::bad_request(format!(
            "\"{field}\" must not be empty"
        )));
    }
    if id.chars().count() > MAX_RESTORE_ID_CHARS {
        return Err(ApiError::bad_request(format!(
            "\"{field}\" is too long: ids are at most {MAX_RESTORE_ID_CHARS} characters"
        )));
    }
    let unprintable =
        |c: char| c.is_control() || is_format_character(c) || (c.is_whitespace() && c != ' ');
    if id.chars().any(unprintable) {
        return Err(ApiError::bad_request(format!(
            "\"{field}\" must be printable text: no control, format or line-breaking characters"
        )));
    }
    Ok(())
}

/// The item a restore names, or `None` when the text is not an id of
/// that kind (so nothing of that kind can have it).
fn parse_restore_ref(kind: ItemKind, id: &str, parent: Option<&str>) -> Option<ItemRef> {
    Some(match kind {
        ItemKind::Project => ItemRef::Project(ProjectId::parse(id).ok()?),
        ItemKind::Workflow => ItemRef::Workflow(WorkflowId::parse(id).ok()?),
        ItemKind::Training => ItemRef::Training(TrainingId::parse(id).ok()?),
        ItemKind::Version => ItemRef::Version(
            ProjectId::parse(parent?).ok()?,
            VersionNumber::parse(id).ok()?,
        ),
    })
}

/// A JSON number that is a whole number from 0 to u64::MAX.
fn whole_number(n: &serde_json::Number) -> Option<u64> {
    n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 18_446_744_073_709_551_616.0)
            .map(|f| f as u64)
    })
}

/// An id sent as a JSON string or number (the official client echoes ids
/// with the JSON type it read them with).
fn json_id(field: &str, value: Option<Value>) -> Result<Option<String>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        // A whole number, even one written as `3.0` (JSON Schema's integers
        // include it), up to u64::MAX.
        Some(Value::Number(n)) if whole_number(&n).is_some() => {
            Ok(whole_number(&n).map(|w| w.to_string()))
        }
        Some(_) => Err(ApiError::bad_request(format!(
            "\"{field}\" must be a string (or, for a version number, a positive integer)"
        ))),
    }
}

/// `?dryRun=true|false` (default `false`).
fn dry_run(req: &ApiRequest) -> Result<bool, ApiError> {
    req.query_bool("dryRun", false)
}

// ---- authentication ------------------------------------------------------------------

/// Who the key belongs to (any valid key).
#[utoipa::path(get, path = "/", tag = "auth", operation_id = "whoami",
    responses((status = 200, body = Welcome), CommonErrors))]
pub async fn welcome_get(
    State(state): State<AppState>,
    req: ApiRequest,
) -> Result<Json<Welcome>, ApiError> {
    welcome(&state, &req).await
}

/// Who the key belongs to (any valid key); the official client discovers
/// its workspace with this call.
#[utoipa::path(post, path = "/", tag = "auth", operation_id = "discover_workspace",
    responses((status = 200, body = Welcome), CommonErrors))]
pub async fn welcome_post(
    State(state): State<AppState>,
    req: ApiRequest,
) -> Result<Json<Welcome>, ApiError> {
    welcome(&state, &req).await
}

async fn welcome(state: &AppState, req: &ApiRequest) -> Result<Json<Welcome>, ApiError> {
    let principal = req.principal(state).await?;
    Ok(Json(Welcome {
        welcome: "Welcome to the trashd API.".into(),
        instructions: "You are successfully authenticated.".into(),
        workspace: principal.workspace().to_string(),
    }))
}

// ---- move to trash ----------------------------------------------------------------------

/// Moves a project, its active versions and their trainings to trash, and
/// cancels the in-flight trainings under it (`project:update`).
#[utoipa::path(delete, path = "/{ws}/{project}", tag = "trash", operation_id = "delete_project",
    params(ProjectPath, DeleteProjectParams, DryRunParams),
    responses((status = 200, body = ProjectDeleted), CommonErrors))]
pub async fn delete_project(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProjectPath>,
    req: ApiRequest,
) -> Result<Json<ProjectDeleted>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let slug = project_slug(&path.project)?;
    let cleanup_delete_images = req.query_bool("cleanupDeleteImages", true)?;
    let not_found =
        |e: TrashError| ApiError::from(e).or_not_found(format!("project {slug} not found"));
    if dry_run(&req)? {
        let preview = state
            .trash
            .preview_trash_project(&principal, &ws, &slug, cleanup_delete_images)
            .await
            .map_err(not_found)?;
        let mut body = ProjectDeleted::from_outcome(&preview.outcome);
        (body.dry_run, body.items) = dry_items(&preview);
        return Ok(Json(body));
    }
    let out = state
        .trash
        .trash_project(&principal, &ws, &slug, cleanup_delete_images)
        .await
        .map_err(not_found)?;
    Ok(Json(ProjectDeleted::from_outcome(&out)))
}

/// Moves a version and its trainings to trash, cancelling the in-flight
/// ones (`version:update`).
#[utoipa::path(delete, path = "/{ws}/{project}/{version}", tag = "trash",
    operation_id = "delete_version", params(VersionPath, DryRunParams),
    responses((status = 200, body = VersionDeleted), CommonErrors))]
pub async fn delete_version(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<VersionPath>,
    req: ApiRequest,
) -> Result<Json<VersionDeleted>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let project = project_slug(&path.project)?;
    let number = version_number(&path.version)?;
    let not_found = |e: TrashError| {
        ApiError::from(e).or_not_found(format!("version {number} of project {project} not found"))
    };
    if dry_run(&req)? {
        let preview = state
            .trash
            .preview_trash_version(&principal, &ws, &project, number)
            .await
            .map_err(not_found)?;
        let mut body = VersionDeleted::from_outcome(&preview.outcome);
        (body.dry_run, body.items) = dry_items(&preview);
        return Ok(Json(body));
    }
    let out = state
        .trash
        .trash_version(&principal, &ws, &project, number)
        .await
        .map_err(not_found)?;
    Ok(Json(VersionDeleted::from_outcome(&out)))
}

/// Moves a workflow to trash (`workflow:update`). The workflow is addressed
/// by its slug, or by its id (what the official client's help promises).
#[utoipa::path(delete, path = "/{ws}/workflows/{workflow}", tag = "trash",
    operation_id = "delete_workflow", params(WorkflowPath, DryRunParams),
    responses((status = 200, body = WorkflowDeleted), CommonErrors))]
pub async fn delete_workflow(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<WorkflowPath>,
    req: ApiRequest,
) -> Result<Json<WorkflowDeleted>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let not_found = || format!("workflow {} not found", path.workflow);
    let by_id = WorkflowId::parse(&path.workflow).ok();
    let slug = match (Slug::parse(&path.workflow), &by_id) {
        (Ok(slug), _) => Some(slug),
        (Err(_), Some(_)) => None,
        (Err(e), None) => return Err(ApiError::invalid("workflow in the path", &e)),
    };
    let dry = dry_run(&req)?;
    let trash = |workflow: WorkflowRef| {
        let (state, principal, ws) = (&state, &principal, &ws);
        async move {
            if dry {
                let preview = state
                    .trash
                    .preview_trash_workflow(principal, ws, &workflow)
                    .await?;
                let mut body = WorkflowDeleted::from_outcome(&preview.outcome);
                body.cancelled_trainings = Some(preview.outcome.cancelled_trainings);
                (body.dry_run, body.items) = dry_items(&preview);
                Ok::<_, TrashError>(body)
            } else {
                let out = state.trash.trash_workflow(principal, ws, &workflow).await?;
                Ok(WorkflowDeleted::from_outcome(&out))
            }
        }
    };
    if let Some(slug) = slug {
        match trash(WorkflowRef::Slug(slug)).await {
            Ok(body) => return Ok(Json(body)),
            // A 20-letter lower-case id also reads as a slug: try it as an id.
            Err(TrashError::NotFound) if by_id.is_some() => {}
            Err(e) => return Err(ApiError::from(e).or_not_found(not_found())),
        }
    }
    // Addressed by id, the core resolves it: a repeated delete answers from
    // that workflow's own operation, never from another that took its slug.
    let id = by_id.ok_or_else(|| ApiError::not_found(not_found()))?;
    let body = trash(WorkflowRef::Id(id))
        .await
        .map_err(|e| ApiError::from(e).or_not_found(not_found()))?;
    Ok(Json(body))
}

/// Moves a finished training to trash (`training:update`); refused with
/// 409 while it is queued or running.
#[utoipa::path(delete, path = "/{ws}/{project}/{version}/v2/trainings/{id}", tag = "trash",
    operation_id = "delete_training", params(TrainingPath, DryRunParams),
    responses((status = 200, body = TrainingDeleted),
        (status = 409, description = "The training is in progress.", body = ErrorBody),
        CommonErrors))]
pub async fn delete_training(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<TrainingPath>,
    req: ApiRequest,
) -> Result<Json<TrainingDeleted>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let project = project_slug(&path.project)?;
    let number = version_number(&path.version)?;
    let id = training_id(&path.id)?;
    let not_found =
        |e: TrashError| ApiError::from(e).or_not_found(format!("training {id} not found"));
    if dry_run(&req)? {
        let preview = state
            .trash
            .preview_trash_training(&principal, &ws, &project, number, &id)
            .await
            .map_err(not_found)?;
        let mut body = TrainingDeleted::from_outcome(&preview.outcome);
        body.cancelled_trainings = Some(preview.outcome.cancelled_trainings);
        (body.dry_run, body.items) = dry_items(&preview);
        return Ok(Json(body));
    }
    let out = state
        .trash
        .trash_training(&principal, &ws, &project, number, &id)
        .await
        .map_err(not_found)?;
    Ok(Json(TrainingDeleted::from_outcome(&out)))
}

// ---- list and restore ---------------------------------------------------------------------

/// Lists the workspace's trash, newest first (`project:read`).
#[utoipa::path(get, path = "/{ws}/trash", tag = "trash", operation_id = "list_trash",
    params(WsPath, ListTrashParams),
    responses((status = 200, body = TrashList), CommonErrors))]
pub async fn list_trash(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<WsPath>,
    req: ApiRequest,
) -> Result<Json<TrashList>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let kind = req.query_parsed("type", ItemKind::parse)?;
    let limit = req
        .query_parsed("limit", PageLimit::parse)?
        .unwrap_or_default();
    let cursor = req.query_parsed("cursor", TrashCursor::parse)?;
    let page = state
        .trash
        .list_trash(
            &principal,
            &ws,
            &ListTrashRequest {
                kind,
                limit,
                cursor,
            },
        )
        .await?;
    Ok(Json(TrashList::from(&page)))
}

/// The workspace's audit trail, newest first (`project:read`): what was
/// trashed, restored, purged, deleted forever, emptied, which trainings were
/// cancelled, which holds were placed and released, by whom.
#[utoipa::path(get, path = "/{ws}/trash/events", tag = "trash", operation_id = "list_events",
    params(WsPath, EventsParams),
    responses((status = 200, body = EventList), CommonErrors))]
pub async fn list_events(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<WsPath>,
    req: ApiRequest,
) -> Result<Json<EventList>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let kind = req.query_parsed("type", ItemKind::parse)?;
    let limit = req
        .query_parsed("limit", PageLimit::parse)?
        .unwrap_or(EventsRequest::DEFAULT_LIMIT);
    let cursor = req.query_parsed("cursor", EventCursor::parse)?;
    let page = state
        .trash
        .events(
            &principal,
            &ws,
            &EventsRequest {
                kind,
                limit,
                cursor,
            },
        )
        .await?;
    Ok(Json(EventList::from(&page)))
}

// ---- legal holds ---------------------------------------------------------------------------

/// Places a legal hold (`trash:hold`): on the whole workspace (everything
/// in its trash, present and future) or on one item, active or in trash
/// (the item and everything trashed with it; on an active item from the
/// moment it is trashed). While held, cleanup skips it with its
/// `scheduledCleanupAt` unchanged, and permanent deletion refuses it;
/// restore still works.
#[utoipa::path(post, path = "/{ws}/trash/holds", tag = "holds", operation_id = "place_hold",
    params(WsPath), request_body = PlaceHoldRequest,
    responses((status = 200, body = HoldBody), CommonErrors))]
pub async fn place_hold(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<WsPath>,
    req: ApiRequest,
) -> Result<Json<HoldBody>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let body: PlaceHoldRequest = req.json()?;
    const TYPES: &str = "one of workspace, project, version, workflow, training";
    let kind = body
        .kind
        .as_deref()
        .ok_or_else(|| ApiError::bad_request(format!("the body needs \"type\": {TYPES}")))?;
    let reason = body.reason.as_deref().ok_or_else(|| {
        ApiError::bad_request("the body needs \"reason\": why the hold is placed")
    })?;
    let reason = HoldReason::parse(reason).map_err(|e| ApiError::invalid("reason", &e))?;
    let subject = if kind == "workspace" {
        let named = |v: &Option<Value>| !matches!(v, None | Some(Value::Null));
        if named(&body.id) || named(&body.parent_id) {
            return Err(ApiError::bad_request(
                "a workspace hold names no item: leave out \"id\" and \"parentId\"",
            ));
        }
        HoldSubject::Workspace
    } else {
        let kind = ItemKind::parse(kind).map_err(|_| {
            ApiError::bad_request(format!(
                "unknown \"type\" {:?}; expected {TYPES}",
                kind.chars().take(64).collect::<String>()
            ))
        })?;
        let id = json_id("id", body.id)?.ok_or_else(|| {
            ApiError::bad_request("the body needs \"id\", the id of the item to hold")
        })?;
        restore_id_text("id", &id)?;
        let parent = match kind {
            ItemKind::Version => {
                let parent = json_id("parentId", body.parent_id)?.ok_or_else(|| {
                    ApiError::bad_request(
                        "holding a version needs \"parentId\", the id of its project",
                    )
                })?;
                restore_id_text("parentId", &parent)?;
                Some(parent)
            }
            _ => None,
        };
        match parse_restore_ref(kind, &id, parent.as_deref()) {
            Some(item) => HoldSubject::Item(item),
            // Text that is no id of this kind names nothing: 404, once the
            // key may place holds here.
            None => {
                check_access(&principal, &ws, Scope::TRASH_HOLD)?;
                return Err(ApiError::not_found(format!("{kind} {id:?} not found")));
            }
        }
    };
    let hold = state
        .trash
        .place_hold(&principal, &ws, &subject, reason)
        .await?;
    Ok(Json(HoldBody::from(&hold)))
}

/// Lists the workspace's legal holds, oldest first (`trash:hold`).
#[utoipa::path(get, path = "/{ws}/trash/holds", tag = "holds", operation_id = "list_holds",
    params(WsPath),
    responses((status = 200, body = HoldList), CommonErrors))]
pub async fn list_holds(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<WsPath>,
    req: ApiRequest,
) -> Result<Json<HoldList>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let holds = state.trash.list_holds(&principal, &ws).await?;
    Ok(Json(HoldList {
        holds: holds.iter().map(HoldBody::from).collect(),
    }))
}

/// Releases a legal hold (`trash:hold`). The only `DELETE` under `/trash`:
/// it destroys no data. Items whose `scheduledCleanupAt` has passed are
/// purged by the next cleanup. A hold of another workspace answers 404,
/// like a missing one.
#[utoipa::path(delete, path = "/{ws}/trash/holds/{holdId}", tag = "holds",
    operation_id = "release_hold",
    params(HoldPath, DryRunParams),
    responses((status = 200, body = HoldReleased), CommonErrors))]
pub async fn release_hold(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<HoldPath>,
    req: ApiRequest,
) -> Result<Json<HoldReleased>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let id =
        HoldId::parse(&path.hold_id).map_err(|e| ApiError::invalid("holdId in the path", &e))?;
    if dry_run(&req)? {
        let hold = state
            .trash
            .preview_release_hold(&principal, &ws, &id)
            .await?;
        return Ok(Json(HoldReleased {
            released: true,
            hold: HoldBody::from(&hold),
            dry_run: Some(true),
        }));
    }
    let hold = state.trash.release_hold(&principal, &ws, &id).await?;
    Ok(Json(HoldReleased {
        released: true,
        hold: HoldBody::from(&hold),
        dry_run: None,
    }))
}

/// Restores exactly the trash operation of an item: the item and what was
/// trashed with it (`<type>:update`). With `"items": [...]` (1 to 100 of
/// the same objects), restores each item on its own, the scope of its type
/// checked per item, a project before its versions, and answers one result
/// per item in request order.
#[utoipa::path(post, path = "/{ws}/trash/restore", tag = "trash", operation_id = "restore",
    params(WsPath, DryRunParams), request_body = RestoreRequest,
    responses((status = 200, body = RestoreAnswer),
        (status = 409, description = "Parent in trash, item trashed with another root, or slug taken.", body = ErrorBody),
        (status = 410, description = "retention expired", body = ErrorBody),
        CommonErrors))]
pub async fn restore(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<WsPath>,
    req: ApiRequest,
) -> Result<Json<RestoreAnswer>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let body: RestoreRequest = req.json()?;
    let dry = dry_run(&req)?;
    if let Some(items) = body.items {
        if body.kind.is_some() || body.id.is_some() || body.parent_id.is_some() {
            return Err(ApiError::bad_request(
                "send either \"items\" or a single item's \"type\" and \"id\", not both",
            ));
        }
        return restore_many(&state, &principal, &ws, items, dry).await;
    }
    let parsed = restore_target(body.kind, body.id, body.parent_id, body.on_conflict)?;
    let target = match parsed.target {
        Ok(target) => target,
        Err(missing) => {
            check_access(
                &principal,
                &ws,
                required_scope(Action::Restore, parsed.kind),
            )?;
            return Err(ApiError::not_found(missing));
        }
    };
    let not_found =
        |e: RestoreError| ApiError::from(e).or_not_found(format!("{target} not found in trash"));
    let (outcome, dry) = if dry {
        let preview = state
            .trash
            .preview_restore(&principal, &ws, &target, parsed.on_conflict)
            .await
            .map_err(not_found)?;
        let dry = dry_items(&preview);
        (preview.outcome, dry)
    } else {
        let outcome = state
            .trash
            .restore(&principal, &ws, &target, parsed.on_conflict)
            .await
            .map_err(not_found)?;
        (outcome, (None, None))
    };
    let parent_id = outcome.parent.as_ref().map(|p| p.to_string());
    Ok(Json(RestoreAnswer::One(Restored {
        restored: true,
        kind: target.kind().as_str().to_owned(),
        id: outcome.item.wire_id(),
        url: outcome.slug.as_ref().map(|s| s.to_string()),
        parent_id,
        already_active: outcome.already_active.then_some(true),
        dry_run: dry.0,
        items: dry.1,
    })))
}

/// A restore target parsed from a body (single or one of `items`).
struct ParsedRestore {
    kind: ItemKind,
    /// The id as sent.
    id: String,
    /// The item, or (for printable text that is no id of this kind) the
    /// sentence of the 404 it answers: nothing of that kind can have it.
    target: Result<ItemRef, String>,
    on_conflict: OnConflict,
}

fn restore_target(
    kind: Option<String>,
    id: Option<Value>,
    parent_id: Option<Value>,
    on_conflict: Option<String>,
) -> Result<ParsedRestore, ApiError> {
    let kind = kind.as_deref().ok_or_else(|| {
        ApiError::bad_request(
            "the body needs \"type\": one of project, version, workflow, training",
        )
    })?;
    let kind = ItemKind::parse(kind).map_err(|e| ApiError::invalid("type", &e))?;
    let id = json_id("id", id)?
        .ok_or_else(|| ApiError::bad_request("the body needs \"id\", the id of the item"))?;
    restore_id_text("id", &id)?;
    let on_conflict = on_conflict
        .as_deref()
        .map(OnConflict::parse)
        .transpose()
        .map_err(|e| ApiError::invalid("onConflict", &e))?
        .unwrap_or_default();
    let parent = match kind {
        ItemKind::Version => {
            let parent = json_id("parentId", parent_id)?.ok_or_else(|| {
                ApiError::bad_request(
                    "restoring a version needs \"parentId\", the id of its project",
                )
            })?;
            restore_id_text("parentId", &parent)?;
            Some(parent)
        }
        _ => None,
    };
    // Well-formed text that is not an id of this kind names nothing that
    // can be in trash: 404 (once the key may restore this kind here).
    let target = parse_restore_ref(kind, &id, parent.as_deref()).ok_or_else(|| {
        let what = match &parent {
            Some(parent) => format!("version {id} of project {parent}"),
            None => format!("{kind} {id}"),
        };
        format!("{what} not found in trash")
    });
    Ok(ParsedRestore {
        kind,
        id,
        target,
        on_conflict,
    })
}

/// What restoring one item of a bulk restore answered.
type ItemResult = Result<RestoreOutcome, RestoreError>;

async fn restore_many(
    state: &AppState,
    principal: &Principal,
    ws: &WorkspaceSlug,
    items: Vec<RestoreItemBody>,
    dry: bool,
) -> Result<Json<RestoreAnswer>, ApiError> {
    let max = trash_core::rules::MAX_BULK_RESTORE;
    if items.is_empty() || items.len() > max {
        return Err(ApiError::bad_request(format!(
            "\"items\" must hold 1 to {max} items, not {}",
            items.len()
        )));
    }
    // Items whose id is no id of their kind answer 404 in their place;
    // the others go to the use case together.
    let mut parsed = Vec::with_capacity(items.len());
    let mut unknown = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let p = restore_target(item.kind, item.id, item.parent_id, item.on_conflict)
            .map_err(|e| ApiError::bad_request(format!("items[{i}]: {}", e.message())))?;
        match p.target {
            Ok(target) => parsed.push(RestoreItem {
                target,
                on_conflict: p.on_conflict,
            }),
            Err(missing) => {
                let answer =
                    match check_access(principal, ws, required_scope(Action::Restore, p.kind)) {
                        Ok(()) => ApiError::not_found(missing),
                        Err(AccessDenied::WrongWorkspace) => {
                            return Err(AccessDenied::WrongWorkspace.into())
                        }
                        Err(denied) => ApiError::from(denied),
                    };
                unknown.push((i, p.kind, p.id, answer));
            }
        }
    }
    let whole = |e: BulkRestoreError| match e {
        BulkRestoreError::Denied(d) => ApiError::from(d),
        BulkRestoreError::Count { given, max } => {
            ApiError::bad_request(format!("\"items\" must hold 1 to {max} items, not {given}"))
        }
        BulkRestoreError::Busy => ApiError::from(RestoreError::Busy),
        BulkRestoreError::Store(s) => ApiError::from(s),
    };
    // Each result, with (in a dry run) the items it would bring back.
    let results: Vec<(ItemResult, Option<Vec<EventItem>>)> = if parsed.is_empty() {
        Vec::new()
    } else if dry {
        state
            .trash
            .preview_restore_many(principal, ws, &parsed)
            .await
            .map_err(whole)?
            .into_iter()
            .map(|r| match r {
                Ok(preview) => {
                    let (_, items) = dry_items(&preview);
                    (Ok(preview.outcome), items)
                }
                Err(e) => (Err(e), None),
            })
            .collect()
    } else {
        state
            .trash
            .restore_many(principal, ws, &parsed)
            .await
            .map_err(whole)?
            .into_iter()
            .map(|r| (r, None))
            .collect()
    };
    let mut results: Vec<BulkRestoreResult> = parsed
        .iter()
        .zip(results)
        .map(|(item, (result, moved))| {
            let kind = item.target.kind().as_str().to_owned();
            let id = item.target.wire_id();
            match result {
                Ok(outcome) => BulkRestoreResult {
                    kind,
                    id,
                    status: 200,
                    restored: Some(true),
                    url: outcome.slug.as_ref().map(|s| s.to_string()),
                    error: None,
                    conflicting_id: None,
                    items: moved,
                },
                Err(e) => {
                    let err = ApiError::from(e)
                        .or_not_found(format!("{} not found in trash", item.target));
                    BulkRestoreResult {
                        kind,
                        id,
                        status: err.status().as_u16(),
                        restored: None,
                        url: None,
                        error: Some(err.message().to_owned()),
                        conflicting_id: err
                            .extra("conflictingId")
                            .and_then(|v| v.as_str())
                            .map(str::to_owned),
                        items: None,
                    }
                }
            }
        })
        .collect();
    for (i, kind, id, answer) in unknown {
        results.insert(
            i,
            BulkRestoreResult {
                kind: kind.as_str().to_owned(),
                id,
                status: answer.status().as_u16(),
                restored: None,
                url: None,
                error: Some(answer.message().to_owned()),
                conflicting_id: None,
                items: None,
            },
        );
    }
    Ok(Json(RestoreAnswer::Many(BulkRestored {
        dry_run: dry.then_some(true),
        results,
    })))
}

// ---- resources ---------------------------------------------------------------------------------

/// The `limit` query parameter of the paginated resource reads (1 to 1000,
/// default 1000).
fn page_limit(req: &ApiRequest) -> Result<PageLimit, ApiError> {
    Ok(req
        .query_parsed("limit", PageLimit::parse)?
        .unwrap_or_default())
}

/// The workspace and a page of its active projects, by slug
/// (`project:read`). Without `limit`, up to 1000 projects.
#[utoipa::path(get, path = "/{ws}", tag = "resources", operation_id = "get_workspace",
    params(WsPath, PageParams), responses((status = 200, body = WorkspaceBody), CommonErrors))]
pub async fn get_workspace(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<WsPath>,
    req: ApiRequest,
) -> Result<Json<WorkspaceBody>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let page = Page {
        limit: page_limit(&req)?,
        after: req.query_parsed("cursor", Slug::parse)?,
    };
    let view = state.resources.get_workspace(&principal, &ws, page).await?;
    Ok(Json(WorkspaceBody::new(
        &view.workspace,
        &view.projects,
        view.next.as_ref(),
    )))
}

/// Creates a project (`project:create`). The slugs `trash`, `workflows`,
/// `images` and `projects` are reserved for routes.
#[utoipa::path(post, path = "/{ws}/projects", tag = "resources", operation_id = "create_project",
    params(WsPath), request_body = CreateNamed,
    responses((status = 200, body = ProjectBody),
        (status = 409, description = "An active project has the slug.", body = ErrorBody),
        CommonErrors))]
pub async fn create_project(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<WsPath>,
    req: ApiRequest,
) -> Result<Json<ProjectBody>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let body: CreateNamed = req.json()?;
    let name = name("name", &body.name)?;
    let slug = new_slug(body.url.as_deref(), &name)?;
    if RESERVED_PROJECT_SLUGS.contains(&slug.as_str()) {
        return Err(ApiError::bad_request(format!(
            "the project slug {slug} is reserved for API routes; choose another \"url\""
        )));
    }
    let project = state
        .resources
        .create_project(&principal, &ws, name, Some(slug))
        .await?;
    Ok(Json(ProjectBody::from(&project)))
}

/// An active project and a page of its active versions, by number
/// (`project:read`). Without `limit`, up to 1000 versions.
#[utoipa::path(get, path = "/{ws}/{project}", tag = "resources", operation_id = "get_project",
    params(ProjectPath, PageParams), responses((status = 200, body = ProjectDetail), CommonErrors))]
pub async fn get_project(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProjectPath>,
    req: ApiRequest,
) -> Result<Json<ProjectDetail>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let slug = project_slug(&path.project)?;
    let page = Page {
        limit: page_limit(&req)?,
        after: req.query_parsed("cursor", VersionNumber::parse)?,
    };
    let view = state
        .resources
        .get_project(&principal, &ws, &slug, page)
        .await
        .map_err(|e| ApiError::from(e).or_not_found(format!("project {slug} not found")))?;
    Ok(Json(ProjectDetail {
        project: ProjectBody::from(&view.project),
        versions: view.versions.iter().map(VersionBody::from).collect(),
        next_cursor: view.next.map(|n| n.to_string()),
    }))
}

/// Creates the next version of an active project (`version:create`).
#[utoipa::path(post, path = "/{ws}/{project}/versions", tag = "resources",
    operation_id = "create_version", params(ProjectPath), request_body = CreateVersion,
    responses((status = 200, body = VersionBody), CommonErrors))]
pub async fn create_version(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProjectPath>,
    req: ApiRequest,
) -> Result<Json<VersionBody>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let slug = project_slug(&path.project)?;
    let body: CreateVersion = req.json()?;
    let version_name = body.name.as_deref().map(|n| name("name", n)).transpose()?;
    let version = state
        .resources
        .create_version(&principal, &ws, &slug, version_name)
        .await
        .map_err(|e| ApiError::from(e).or_not_found(format!("project {slug} not found")))?;
    Ok(Json(VersionBody::from(&version)))
}

/// An active version of an active project, with its active trainings (`project:read`).
#[utoipa::path(get, path = "/{ws}/{project}/{version}", tag = "resources",
    operation_id = "get_version", params(VersionPath),
    responses((status = 200, body = VersionDetail), CommonErrors))]
pub async fn get_version(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<VersionPath>,
    req: ApiRequest,
) -> Result<Json<VersionDetail>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let slug = project_slug(&path.project)?;
    let number = version_number(&path.version)?;
    let view = state
        .resources
        .get_version(&principal, &ws, &slug, number)
        .await
        .map_err(|e| not_found_version(e, &slug, number))?;
    Ok(Json(VersionDetail {
        project: ProjectBody::from(&view.project),
        version: VersionBody::from(&view.version),
        trainings: view.trainings.iter().map(TrainingBody::from).collect(),
    }))
}

fn not_found_version(e: ResourceError, slug: &Slug, number: VersionNumber) -> ApiError {
    let what = match e {
        ResourceError::NotFound(Missing::Project) => format!("project {slug} not found"),
        _ => format!("version {number} of project {slug} not found"),
    };
    ApiError::from(e).or_not_found(what)
}

/// Creates a workflow (`workflow:create`).
#[utoipa::path(post, path = "/{ws}/workflows", tag = "resources", operation_id = "create_workflow",
    params(WsPath), request_body = CreateNamed,
    responses((status = 200, body = WorkflowBody),
        (status = 409, description = "An active workflow has the slug.", body = ErrorBody),
        CommonErrors))]
pub async fn create_workflow(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<WsPath>,
    req: ApiRequest,
) -> Result<Json<WorkflowBody>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let body: CreateNamed = req.json()?;
    let name = name("name", &body.name)?;
    let slug = new_slug(body.url.as_deref(), &name)?;
    let workflow = state
        .resources
        .create_workflow(&principal, &ws, name, Some(slug))
        .await?;
    Ok(Json(WorkflowBody::from(&workflow)))
}

/// An active workflow (`project:read`).
#[utoipa::path(get, path = "/{ws}/workflows/{workflow}", tag = "resources",
    operation_id = "get_workflow", params(WorkflowPath),
    responses((status = 200, body = WorkflowBody), CommonErrors))]
pub async fn get_workflow(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<WorkflowPath>,
    req: ApiRequest,
) -> Result<Json<WorkflowBody>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let slug =
        Slug::parse(&path.workflow).map_err(|e| ApiError::invalid("workflow in the path", &e))?;
    let workflow = state
        .resources
        .get_workflow(&principal, &ws, &slug)
        .await
        .map_err(|e| ApiError::from(e).or_not_found(format!("workflow {slug} not found")))?;
    Ok(Json(WorkflowBody::from(&workflow)))
}

/// Starts a training of an active version; it starts `running` (`training:create`).
#[utoipa::path(post, path = "/{ws}/{project}/{version}/v2/trainings", tag = "resources",
    operation_id = "create_training", params(VersionPath),
    responses((status = 200, body = TrainingBody), CommonErrors))]
pub async fn create_training(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<VersionPath>,
    req: ApiRequest,
) -> Result<Json<TrainingBody>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let slug = project_slug(&path.project)?;
    let number = version_number(&path.version)?;
    let training = state
        .resources
        .create_training(&principal, &ws, &slug, number)
        .await
        .map_err(|e| not_found_version(e, &slug, number))?;
    Ok(Json(TrainingBody::from(&training)))
}

/// The active trainings of an active version (`project:read`).
#[utoipa::path(get, path = "/{ws}/{project}/{version}/v2/trainings", tag = "resources",
    operation_id = "list_trainings", params(VersionPath),
    responses((status = 200, body = TrainingList), CommonErrors))]
pub async fn list_trainings(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<VersionPath>,
    req: ApiRequest,
) -> Result<Json<TrainingList>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let slug = project_slug(&path.project)?;
    let number = version_number(&path.version)?;
    let trainings = state
        .resources
        .list_trainings(&principal, &ws, &slug, number)
        .await
        .map_err(|e| not_found_version(e, &slug, number))?;
    Ok(Json(TrainingList {
        trainings: trainings.iter().map(TrainingBody::from).collect(),
    }))
}

/// One active training (`project:read`).
#[utoipa::path(get, path = "/{ws}/{project}/{version}/v2/trainings/{id}", tag = "resources",
    operation_id = "get_training", params(TrainingPath),
    responses((status = 200, body = TrainingBody), CommonErrors))]
pub async fn get_training(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<TrainingPath>,
    req: ApiRequest,
) -> Result<Json<TrainingBody>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let slug = project_slug(&path.project)?;
    let number = version_number(&path.version)?;
    let id = training_id(&path.id)?;
    let training = state
        .resources
        .get_training(&principal, &ws, &slug, number, &id)
        .await
        .map_err(|e| ApiError::from(e).or_not_found(format!("training {id} not found")))?;
    Ok(Json(TrainingBody::from(&training)))
}

/// Finishes an in-flight training (`training:update`).
#[utoipa::path(post, path = "/{ws}/{project}/{version}/v2/trainings/{id}/status",
    tag = "resources", operation_id = "set_training_status", params(TrainingPath),
    request_body = SetStatus,
    responses((status = 200, body = TrainingBody),
        (status = 409, description = "The training is not in progress.", body = ErrorBody),
        CommonErrors))]
pub async fn set_training_status(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<TrainingPath>,
    req: ApiRequest,
) -> Result<Json<TrainingBody>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let slug = project_slug(&path.project)?;
    let number = version_number(&path.version)?;
    let id = training_id(&path.id)?;
    let body: SetStatus = req.json()?;
    let status =
        FinishedStatus::parse(&body.status).map_err(|e| ApiError::invalid("status", &e))?;
    let training = state
        .resources
        .set_training_status(&principal, &ws, &slug, number, &id, status)
        .await
        .map_err(|e| ApiError::from(e).or_not_found(format!("training {id} not found")))?;
    Ok(Json(TrainingBody::from(&training)))
}

/// Adds a new image to an active project, or links an existing image of the
/// workspace to it (`project:update`).
#[utoipa::path(post, path = "/{ws}/{project}/images", tag = "resources",
    operation_id = "add_image", params(ProjectPath), request_body = ImageRequest,
    responses((status = 200, body = ImageBody), CommonErrors))]
pub async fn add_image(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProjectPath>,
    req: ApiRequest,
) -> Result<Json<ImageBody>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let slug = project_slug(&path.project)?;
    let body: ImageRequest = req.json()?;
    let project_missing = format!("project {slug} not found");
    match (body.name, body.image_id) {
        (Some(new_name), None) => {
            let new_name = name("name", &new_name)?;
            let view = state
                .resources
                .add_image(&principal, &ws, &slug, new_name)
                .await
                .map_err(|e| ApiError::from(e).or_not_found(project_missing))?;
            let projects = view.projects.iter().map(|p| p.to_string()).collect();
            Ok(Json(ImageBody::new(&view.image, projects)))
        }
        (None, Some(image_id)) => {
            let image_id =
                ImageId::parse(&image_id).map_err(|e| ApiError::invalid("imageId", &e))?;
            let view = state
                .resources
                .link_image(&principal, &ws, &slug, &image_id)
                .await
                .map_err(|e| match e {
                    ResourceError::NotFound(Missing::Image) => {
                        ApiError::not_found(format!("image {image_id} not found"))
                    }
                    other => ApiError::from(other).or_not_found(project_missing),
                })?;
            Ok(Json(ImageBody::from(&view)))
        }
        _ => Err(ApiError::bad_request(
            "the body needs exactly one of \"name\" (a new image) or \"imageId\" (an existing one)",
        )),
    }
}

/// An image and the projects (active or trashed) linking it; 404 once purged (`project:read`).
#[utoipa::path(get, path = "/{ws}/images/{id}", tag = "resources", operation_id = "get_image",
    params(ImagePath), responses((status = 200, body = ImageBody), CommonErrors))]
pub async fn get_image(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ImagePath>,
    req: ApiRequest,
) -> Result<Json<ImageBody>, ApiError> {
    let principal = req.principal(&state).await?;
    let ws = workspace(&path.ws)?;
    let id = ImageId::parse(&path.id).map_err(|e| ApiError::invalid("image id in the path", &e))?;
    let view = state
        .resources
        .get_image(&principal, &ws, &id)
        .await
        .map_err(|e| ApiError::from(e).or_not_found(format!("image {id} not found")))?;
    Ok(Json(ImageBody::from(&view)))
}

// ---- operations -----------------------------------------------------------------------------

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "healthz",
    security(()), responses((status = 200, body = StatusBody)))]
pub async fn healthz() -> Json<StatusBody> {
    Json(StatusBody {
        status: "ok".into(),
    })
}

/// The storage answers (200) or not (503).
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "readyz",
    security(()), responses((status = 200, body = StatusBody),
        (status = 503, description = "Storage unreachable.", body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<StatusBody>, ApiError> {
    let ping = state.health.ping();
    match tokio::time::timeout(state.limits.readiness_timeout, ping).await {
        Ok(Ok(())) => Ok(Json(StatusBody {
            status: "ready".into(),
        })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::unavailable("storage is unreachable"))
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            Err(ApiError::unavailable("storage did not answer in time"))
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", operation_id = "openapi",
    security(()), responses((status = 200, description = "The OpenAPI 3 document.")))]
pub async fn openapi_json() -> Result<Response, ApiError> {
    static DOC: OnceLock<Result<String, String>> = OnceLock::new();
    let doc = DOC.get_or_init(|| {
        serde_json::to_string(&crate::openapi_document()).map_err(|e| e.to_string())
    });
    match doc {
        Ok(json) => {
            Ok(([(header::CONTENT_TYPE, "application/json")], json.clone()).into_response())
        }
        Err(e) => Err(ApiError::internal(format!(
            "the OpenAPI document failed to render: {e}"
        ))),
    }
}
