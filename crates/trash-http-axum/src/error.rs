//! The one HTTP error type. Every failure of every route, including the
//! framework's own rejections, becomes `{"error": "<one sentence>"}` with a
//! status from spec section 4, plus a few optional fields (`conflictingId`,
//! `hint`, `missingScope`).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};
use trash_core::domain::{InvalidValue, ItemRef};
use trash_core::ports::StoreError;
use trash_core::usecases::{
    AccessDenied, AuditError, AuthError, DeleteForeverError, HoldError, ListTrashError, PurgeError,
    ResourceError, RestoreError, TrashError,
};

/// Seconds a client is told to wait after a 503.
const RETRY_AFTER_SECS: u32 = 1;

/// The longest error sentence sent; longer ones (which could only come from
/// echoing input) are cut.
const MAX_MESSAGE_CHARS: usize = 300;

/// The sentence for a key that is unknown or revoked (the same for both).
pub const INVALID_KEY: &str = "this API key does not exist (or has been revoked)";

/// An error answered as JSON. Build it from a use-case error (`?` does it)
/// or with one of the constructors.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    extra: Map<String, Value>,
    /// Seconds sent in `Retry-After`.
    retry_after: Option<u32>,
    /// The cause of a 5xx, logged (never sent).
    cause: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        let mut message: String = message.into();
        if message.chars().count() > MAX_MESSAGE_CHARS {
            message = message.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "…";
        }
        ApiError {
            status,
            message,
            extra: Map::new(),
            retry_after: None,
            cause: None,
        }
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 for a value that did not parse into its domain type.
    pub fn invalid(field: &str, err: &InvalidValue) -> ApiError {
        ApiError::bad_request(format!("invalid {field}: {err}"))
    }

    /// 401: no usable credentials, or not allowed.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 404 with a sentence naming what was not found.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 405: the path exists, the method does not.
    pub fn method_not_allowed(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, message)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    /// 413: the body is over the limit.
    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than the limit of {} KiB",
                limit / 1024
            ),
        )
    }

    /// 503: try again shortly.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message);
        e.retry_after = Some(RETRY_AFTER_SECS);
        e
    }

    /// 429: over a rate limit; `Retry-After` tells when to try again.
    pub fn too_many_requests(message: impl Into<String>, retry_after_secs: u32) -> ApiError {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, message);
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// 500 with a generic sentence; `cause` is logged, never sent.
    pub fn internal(cause: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server failed to handle this request",
        );
        e.cause = Some(cause.into());
        e
    }

    /// Adds a field next to `error`.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// Replaces the sentence of a 404 (handlers know what was addressed);
    /// other errors are left alone.
    pub fn or_not_found(mut self, message: impl Into<String>) -> ApiError {
        if self.status == StatusCode::NOT_FOUND {
            self.message = message.into();
        }
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The sentence.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A field added next to `error` (such as `conflictingId`).
    pub fn extra(&self, key: &str) -> Option<&Value> {
        self.extra.get(key)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            tracing::error!(status = self.status.as_u16(), cause = %cause, "request failed");
        } else if self.status.is_server_error() {
            tracing::warn!(status = self.status.as_u16(), error = %self.message, "request failed");
        }
        let mut body = Map::new();
        body.insert("error".into(), Value::String(self.message));
        for (k, v) in self.extra {
            body.insert(k, v);
        }
        let mut response = (self.status, Json(Value::Object(body))).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

fn busy() -> ApiError {
    ApiError::unavailable("the item is changing concurrently; try again")
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(cause = %cause, "storage unavailable");
                ApiError::unavailable("storage is unavailable right now; try again shortly")
            }
            StoreError::Conflict => busy(),
            StoreError::SlugTaken { conflicting } => {
                ApiError::conflict("an active item already uses this slug")
                    .with("conflictingId", conflicting)
            }
            StoreError::AlreadyExists => {
                ApiError::conflict("a record with this key already exists")
            }
            StoreError::Missing => {
                ApiError::not_found("a record this request refers to does not exist")
            }
            StoreError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

impl From<AccessDenied> for ApiError {
    fn from(e: AccessDenied) -> Self {
        match e {
            AccessDenied::WrongWorkspace => {
                ApiError::unauthorized("this API key does not belong to the workspace in the path")
            }
            AccessDenied::MissingScope(scope) => {
                ApiError::unauthorized(format!("this API key lacks the {scope} scope"))
                    .with("missingScope", scope.to_string())
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Missing => ApiError::unauthorized(
                "an API key is required: pass ?api_key=, an Authorization: Bearer header, or \"api_key\" in the JSON body",
            ),
            // One sentence for both: the answer must not tell a guessed key
            // from one that once worked.
            AuthError::Invalid | AuthError::Revoked => ApiError::unauthorized(INVALID_KEY),
            AuthError::Store(s) => s.into(),
        }
    }
}

impl From<TrashError> for ApiError {
    fn from(e: TrashError) -> Self {
        match e {
            TrashError::Denied(d) => d.into(),
            TrashError::NotFound => ApiError::not_found("no such item in this workspace"),
            e @ TrashError::TrainingInProgress(_) => ApiError::conflict(e.to_string()),
            TrashError::Busy => busy(),
            TrashError::Store(s) => s.into(),
        }
    }
}

/// How an item is named in messages: `project <id>`, `version 3 of project <id>`.
fn describe(item: &ItemRef) -> String {
    item.to_string()
}

/// The wire fields naming an item: `{"type", "id"}` plus `parentId` for a version.
fn item_fields(prefix: &str, item: &ItemRef) -> Vec<(String, Value)> {
    let mut out = vec![
        (format!("{prefix}Type"), Value::from(item.kind().as_str())),
        (format!("{prefix}Id"), Value::from(item.wire_id())),
    ];
    if let ItemRef::Version(project, _) = item {
        out.push((format!("{prefix}ParentId"), Value::from(project.as_str())));
    }
    out
}

impl From<RestoreError> for ApiError {
    fn from(e: RestoreError) -> Self {
        match e {
            RestoreError::Denied(d) => d.into(),
            RestoreError::NotFound => ApiError::not_found("item not found in trash"),
            RestoreError::ParentInTrash { parent } => {
                let mut err = ApiError::conflict(format!(
                    "parent {} is in trash; restore it first",
                    describe(&parent)
                ));
                for (k, v) in item_fields("parent", &parent) {
                    err = err.with(&k, v);
                }
                err
            }
            RestoreError::CascadedWith { root } => {
                let mut err = ApiError::conflict(format!(
                    "this item was moved to trash together with {}; restore that instead",
                    describe(&root)
                ))
                .with(
                    "hint",
                    "restore the root of the trash operation; it brings this item back with it",
                );
                for (k, v) in item_fields("root", &root) {
                    err = err.with(&k, v);
                }
                err
            }
            RestoreError::NameTaken { conflicting } => {
                ApiError::conflict("an active item already uses the slug of the item to restore")
                    .with("conflictingId", conflicting)
                    .with(
                        "hint",
                        "send \"onConflict\": \"rename\" to restore it under a free slug",
                    )
            }
            RestoreError::RetentionExpired => ApiError::new(StatusCode::GONE, "retention expired"),
            RestoreError::Busy => busy(),
            RestoreError::Store(s) => s.into(),
        }
    }
}

impl From<ResourceError> for ApiError {
    fn from(e: ResourceError) -> Self {
        match e {
            ResourceError::Denied(d) => d.into(),
            ResourceError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            ResourceError::Invalid(e) => ApiError::bad_request(format!("{e}.")),
            ResourceError::SlugTaken { conflicting } => {
                ApiError::conflict("an active item already uses this slug")
                    .with("conflictingId", conflicting)
            }
            e @ ResourceError::NotInFlight(_) => ApiError::conflict(e.to_string()),
            ResourceError::Busy => busy(),
            ResourceError::Store(s) => s.into(),
        }
    }
}

/// Not reachable through this API (it never deletes for good), but mapped
/// like every other use-case error for routes an embedder mounts beside it:
/// contention is `Busy`, answered 503 with `Retry-After`.
impl From<DeleteForeverError> for ApiError {
    fn from(e: DeleteForeverError) -> Self {
        match e {
            DeleteForeverError::WrongWorkspace => {
                ApiError::unauthorized("you are not an administrator of this workspace")
            }
            DeleteForeverError::NotInTrash => ApiError::not_found("item not found in trash"),
            DeleteForeverError::CascadedWith { root } => {
                let mut err = ApiError::conflict(format!(
                    "this item was moved to trash together with {}; delete that instead",
                    describe(&root)
                ));
                for (k, v) in item_fields("root", &root) {
                    err = err.with(&k, v);
                }
                err
            }
            e @ DeleteForeverError::ConfirmationMismatch { .. } => {
                ApiError::bad_request(e.to_string())
            }
            e @ DeleteForeverError::Held { .. } => {
                let ids: Vec<Value> = match &e {
                    DeleteForeverError::Held { holds } => {
                        holds.iter().map(|h| Value::from(h.as_str())).collect()
                    }
                    _ => Vec::new(),
                };
                ApiError::conflict(e.to_string()).with("holdIds", ids)
            }
            DeleteForeverError::Busy => busy(),
            DeleteForeverError::Store(s) => s.into(),
        }
    }
}

impl From<HoldError> for ApiError {
    fn from(e: HoldError) -> Self {
        match e {
            HoldError::Denied(d) => d.into(),
            HoldError::ItemNotFound(item) => {
                ApiError::not_found(format!("{} not found", describe(&item)))
            }
            HoldError::HoldNotFound(_) => ApiError::not_found("hold not found"),
            HoldError::Store(s) => s.into(),
        }
    }
}

impl From<PurgeError> for ApiError {
    fn from(e: PurgeError) -> Self {
        match e {
            PurgeError::Busy => busy(),
            PurgeError::Store(s) => s.into(),
        }
    }
}

impl From<AuditError> for ApiError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Denied(d) => d.into(),
            AuditError::Store(s) => s.into(),
        }
    }
}

impl From<ListTrashError> for ApiError {
    fn from(e: ListTrashError) -> Self {
        match e {
            ListTrashError::Denied(d) => d.into(),
            ListTrashError::Store(s) => s.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trash_core::domain::{ProjectId, VersionNumber};

    #[test]
    fn parent_project_message_is_exact() {
        let parent = ItemRef::Project(ProjectId::parse("Jjk3Tjq2yjxenyA9g5er").unwrap());
        let e = ApiError::from(RestoreError::ParentInTrash { parent });
        assert_eq!(e.status(), StatusCode::CONFLICT);
        assert_eq!(
            e.message(),
            "parent project Jjk3Tjq2yjxenyA9g5er is in trash; restore it first"
        );
    }

    #[test]
    fn version_parent_names_version_and_project() {
        let parent = ItemRef::Version(
            ProjectId::parse("Jjk3Tjq2yjxenyA9g5er").unwrap(),
            VersionNumber::new(3).unwrap(),
        );
        let e = ApiError::from(RestoreError::ParentInTrash { parent });
        assert_eq!(
            e.message(),
            "parent version 3 of project Jjk3Tjq2yjxenyA9g5er is in trash; restore it first"
        );
    }

    #[test]
    fn every_busy_is_503_with_retry_after() {
        let errors = [
            ApiError::from(TrashError::Busy),
            ApiError::from(RestoreError::Busy),
            ApiError::from(ResourceError::Busy),
            ApiError::from(DeleteForeverError::Busy),
            ApiError::from(PurgeError::Busy),
            ApiError::from(StoreError::Conflict),
        ];
        for e in errors {
            assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(e.message(), "the item is changing concurrently; try again");
            let response = e.into_response();
            assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        }
    }

    #[test]
    fn not_found_names_the_missing_kind() {
        use trash_core::usecases::Missing;
        let cases = [
            (Missing::Workspace, "workspace not found"),
            (Missing::Project, "project not found"),
            (Missing::Version, "version not found"),
            (Missing::Workflow, "workflow not found"),
            (Missing::Training, "training not found"),
            (Missing::Image, "image not found"),
        ];
        for (missing, sentence) in cases {
            let e = ApiError::from(ResourceError::NotFound(missing));
            assert_eq!(e.status(), StatusCode::NOT_FOUND);
            assert_eq!(e.message(), sentence);
        }
    }

    #[test]
    fn delete_forever_errors_keep_their_meaning() {
        let root = ItemRef::Project(ProjectId::parse("Jjk3Tjq2yjxenyA9g5er").unwrap());
        let e = ApiError::from(DeleteForeverError::CascadedWith { root });
        assert_eq!(e.status(), StatusCode::CONFLICT);
        assert_eq!(
            ApiError::from(DeleteForeverError::NotInTrash).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            ApiError::from(DeleteForeverError::Store(StoreError::Unavailable(
                "x".into()
            )))
            .status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn long_messages_are_cut() {
        let e = ApiError::bad_request("x".repeat(10_000));
        assert!(e.message().chars().count() <= MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn internal_cause_is_not_sent() {
        let e = ApiError::from(StoreError::Internal("secret detail".into()));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.message().contains("secret"));
    }
}
