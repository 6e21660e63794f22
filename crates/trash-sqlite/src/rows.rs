//! Row types of the schema and their conversion into domain values. Rows
//! stay in this adapter; every stored value is parsed back into the core's
//! validated types, and a value that does not parse is reported as
//! `StoreError::Internal`, never a panic.

use trash_core::domain::*;
use trash_core::ports::StoreError;

use crate::error::corrupt;

/// Parses a stored value with a domain parser.
pub(crate) fn parse<T, E: std::fmt::Display>(
    what: &str,
    value: &str,
    parser: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    parser(value).map_err(|e| corrupt(what, e))
}

/// A stored Unix-millisecond instant.
pub(crate) fn ts(what: &str, millis: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_unix_millis(millis).ok_or_else(|| corrupt(what, millis))
}

/// An optional stored instant.
pub(crate) fn opt_ts(what: &str, millis: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    millis.map(|m| ts(what, m)).transpose()
}

/// A stored version number.
pub(crate) fn version_number(n: i64) -> Result<VersionNumber, StoreError> {
    u32::try_from(n)
        .ok()
        .and_then(|n| VersionNumber::new(n).ok())
        .ok_or_else(|| corrupt("version number", n))
}

/// The integer stored for a version number.
pub(crate) fn number_value(n: VersionNumber) -> i64 {
    i64::from(n.get())
}

/// The item state stored as `trash_op_id` + `trash_cascaded`.
pub(crate) fn state(op: Option<&str>, cascaded: bool) -> Result<ItemState, StoreError> {
    match op {
        None => Ok(ItemState::Active),
        Some(op) => Ok(ItemState::Trashed {
            operation: parse("operation id", op, OperationId::parse)?,
            cascaded,
        }),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct WorkspaceRow {
    pub slug: String,
    pub name: String,
    pub created_at: i64,
}

impl TryFrom<WorkspaceRow> for Workspace {
    type Error = StoreError;
    fn try_from(r: WorkspaceRow) -> Result<Self, StoreError> {
        Ok(Workspace {
            slug: parse("workspace slug", &r.slug, WorkspaceSlug::parse)?,
            name: parse("workspace name", &r.name, Name::from_stored)?,
            created_at: ts("workspace creation time", r.created_at)?,
        })
    }
}

pub(crate) const KEY_COLUMNS: &str =
    "id, workspace, name, scopes, hash, created_at, revoked_at, last_used_at";

#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    pub id: String,
    pub workspace: String,
    pub name: String,
    pub scopes: String,
    pub hash: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl TryFrom<KeyRow> for ApiKeyRecord {
    type Error = StoreError;
    fn try_from(r: KeyRow) -> Result<Self, StoreError> {
        Ok(ApiKeyRecord {
            id: parse("key id", &r.id, KeyId::parse)?,
            workspace: parse("workspace slug", &r.workspace, WorkspaceSlug::parse)?,
            name: parse("key name", &r.name, Name::from_stored)?,
            scopes: parse("key scopes", &r.scopes, ScopeSet::parse_list)?,
            hash: parse("key hash", &r.hash, KeyHash::from_hex)?,
            created_at: ts("key creation time", r.created_at)?,
            revoked_at: opt_ts("key revocation time", r.revoked_at)?,
            last_used_at: opt_ts("key last use", r.last_used_at)?,
        })
    }
}

pub(crate) const SESSION_COLUMNS: &str = "hash, user_id, created_at, last_seen_at";

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub hash: String,
    pub user_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

impl TryFrom<SessionRow> for SessionRecord {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        Ok(SessionRecord {
            hash: parse("session hash", &r.hash, KeyHash::from_hex)?,
            user: parse("session user", &r.user_id, UserId::parse)?,
            created_at: ts("session start", r.created_at)?,
            last_seen_at: ts("session last use", r.last_seen_at)?,
        })
    }
}

pub(crate) const USER_COLUMNS: &str = "id, workspace, email, role, password_hash, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: String,
    pub workspace: String,
    pub email: String,
    pub role: String,
    pub password_hash: String,
    pub created_at: i64,
}

impl TryFrom<UserRow> for UserRecord {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(UserRecord {
            id: parse("user id", &r.id, UserId::parse)?,
            workspace: parse("workspace slug", &r.workspace, WorkspaceSlug::parse)?,
            email: parse("user email", &r.email, Email::parse)?,
            role: parse("user role", &r.role, Role::parse)?,
            password_hash: r.password_hash,
            created_at: ts("user creation time", r.created_at)?,
        })
    }
}

pub(crate) const PROJECT_COLUMNS: &str =
    "id, workspace, slug, name, created_at, trash_op_id, trash_cascaded, revision, next_version";

#[derive(sqlx::FromRow)]
pub(crate) struct ProjectRow {
    pub id: String,
    pub workspace: String,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
    pub trash_op_id: Option<String>,
    pub trash_cascaded: bool,
    pub revision: i64,
    pub next_version: i64,
}

impl ProjectRow {
    pub(crate) fn project(&self) -> Result<Project, StoreError> {
        Ok(Project {
            id: parse("project id", &self.id, ProjectId::parse)?,
            workspace: parse("workspace slug", &self.workspace, WorkspaceSlug::parse)?,
            slug: parse("project slug", &self.slug, Slug::parse)?,
            name: parse("project name", &self.name, Name::from_stored)?,
            created_at: ts("project creation time", self.created_at)?,
            state: state(self.trash_op_id.as_deref(), self.trash_cascaded)?,
        })
    }
}

pub(crate) const VERSION_COLUMNS: &str =
    "project_id, number, name, created_at, trash_op_id, trash_cascaded";

#[derive(sqlx::FromRow)]
pub(crate) struct VersionRow {
    pub project_id: String,
    pub number: i64,
    pub name: String,
    pub created_at: i64,
    pub trash_op_id: Option<String>,
    pub trash_cascaded: bool,
}

impl TryFrom<VersionRow> for Version {
    type Error = StoreError;
    fn try_from(r: VersionRow) -> Result<Self, StoreError> {
        Ok(Version {
            project: parse("project id", &r.project_id, ProjectId::parse)?,
            number: version_number(r.number)?,
            name: parse("version name", &r.name, Name::from_stored)?,
            created_at: ts("version creation time", r.created_at)?,
            state: state(r.trash_op_id.as_deref(), r.trash_cascaded)?,
        })
    }
}

pub(crate) const TRAINING_COLUMNS: &str =
    "id, project_id, version, status, started_at, ended_at, trash_op_id, trash_cascaded";

#[derive(sqlx::FromRow)]
pub(crate) struct TrainingRow {
    pub id: String,
    pub project_id: String,
    pub version: i64,
    pub status: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub trash_op_id: Option<String>,
    pub trash_cascaded: bool,
}

impl TryFrom<TrainingRow> for Training {
    type Error = StoreError;
    fn try_from(r: TrainingRow) -> Result<Self, StoreError> {
        Ok(Training {
            id: parse("training id", &r.id, TrainingId::parse)?,
            project: parse("project id", &r.project_id, ProjectId::parse)?,
            version: version_number(r.version)?,
            status: parse("training status", &r.status, TrainingStatus::parse)?,
            started_at: ts("training start", r.started_at)?,
            ended_at: opt_ts("training end", r.ended_at)?,
            state: state(r.trash_op_id.as_deref(), r.trash_cascaded)?,
        })
    }
}

pub(crate) const WORKFLOW_COLUMNS: &str =
    "id, workspace, slug, name, created_at, trash_op_id, trash_cascaded, revision";

#[derive(sqlx::FromRow)]
pub(crate) struct WorkflowRow {
    pub id: String,
    pub workspace: String,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
    pub trash_op_id: Option<String>,
    pub trash_cascaded: bool,
    pub revision: i64,
}

impl WorkflowRow {
    pub(crate) fn workflow(&self) -> Result<Workflow, StoreError> {
        Ok(Workflow {
            id: parse("workflow id", &self.id, WorkflowId::parse)?,
            workspace: parse("workspace slug", &self.workspace, WorkspaceSlug::parse)?,
            slug: parse("workflow slug", &self.slug, Slug::parse)?,
            name: parse("workflow name", &self.name, Name::from_stored)?,
            created_at: ts("workflow creation time", self.created_at)?,
            state: state(self.trash_op_id.as_deref(), self.trash_cascaded)?,
        })
    }
}

/// Columns of `operations`, qualified with the alias `o`.
pub(crate) const OPERATION_COLUMNS: &str = "o.id, o.workspace, o.root_kind, o.project_id, \
     o.version, o.training_id, o.workflow_id, o.actor_kind, o.actor_id, o.actor_name, \
     o.deleted_at, o.scheduled_cleanup_at, o.cleanup_delete_images, o.contains_versions, \
     o.contains_trainings";

/// The same columns unqualified (for `RETURNING`).
pub(crate) const OPERATION_RETURNING: &str = "id, workspace, root_kind, project_id, \
     version, training_id, workflow_id, actor_kind, actor_id, actor_name, \
     deleted_at, scheduled_cleanup_at, cleanup_delete_images, contains_versions, \
     contains_trainings";

#[derive(sqlx::FromRow)]
pub(crate) struct OperationRow {
    pub id: String,
    pub workspace: String,
    pub root_kind: String,
    pub project_id: Option<String>,
    pub version: Option<i64>,
    pub training_id: Option<String>,
    pub workflow_id: Option<String>,
    pub actor_kind: String,
    pub actor_id: String,
    pub actor_name: String,
    pub deleted_at: i64,
    pub scheduled_cleanup_at: i64,
    pub cleanup_delete_images: bool,
    pub contains_versions: i64,
    pub contains_trainings: i64,
}

/// The columns an [`ItemRef`] is stored in: kind, main id, version number.
/// The main id is the project's for a project or version, else the item's own.
pub(crate) fn item_columns(item: &ItemRef) -> (&'static str, &str, Option<i64>) {
    let kind = item.kind().as_str();
    match item {
        ItemRef::Project(id) => (kind, id.as_str(), None),
        ItemRef::Version(id, n) => (kind, id.as_str(), Some(number_value(*n))),
        ItemRef::Workflow(id) => (kind, id.as_str(), None),
        ItemRef::Training(id) => (kind, id.as_str(), None),
    }
}

/// Rebuilds an [`ItemRef`] from the columns written by [`item_columns`].
pub(crate) fn item_ref(kind: &str, id: &str, version: Option<i64>) -> Result<ItemRef, StoreError> {
    let kind = parse("item kind", kind, ItemKind::parse)?;
    Ok(match (kind, version) {
        (ItemKind::Project, None) => ItemRef::Project(parse("project id", id, ProjectId::parse)?),
        (ItemKind::Version, Some(n)) => ItemRef::Version(
            parse("project id", id, ProjectId::parse)?,
            version_number(n)?,
        ),
        (ItemKind::Workflow, None) => {
            ItemRef::Workflow(parse("workflow id", id, WorkflowId::parse)?)
        }
        (ItemKind::Training, None) => {
            ItemRef::Training(parse("training id", id, TrainingId::parse)?)
        }
        (kind, version) => {
            return Err(corrupt(
                "item reference",
                format!("{kind} {id} with version {version:?}"),
            ))
        }
    })
}

fn count(what: &str, n: i64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| corrupt(what, n))
}

impl TryFrom<OperationRow> for TrashOperation {
    type Error = StoreError;
    fn try_from(r: OperationRow) -> Result<Self, StoreError> {
        let missing = || {
            corrupt(
                "operation root",
                format!("operation {} has no root id", r.id),
            )
        };
        let root = match r.root_kind.as_str() {
            "project" => ItemRef::Project(parse(
                "project id",
                r.project_id.as_deref().ok_or_else(missing)?,
                ProjectId::parse,
            )?),
            "version" => ItemRef::Version(
                parse(
                    "project id",
                    r.project_id.as_deref().ok_or_else(missing)?,
                    ProjectId::parse,
                )?,
                version_number(r.version.ok_or_else(missing)?)?,
            ),
            "training" => ItemRef::Training(parse(
                "training id",
                r.training_id.as_deref().ok_or_else(missing)?,
                TrainingId::parse,
            )?),
            "workflow" => ItemRef::Workflow(parse(
                "workflow id",
                r.workflow_id.as_deref().ok_or_else(missing)?,
                WorkflowId::parse,
            )?),
            other => return Err(corrupt("operation root kind", other)),
        };
        Ok(TrashOperation {
            id: parse("operation id", &r.id, OperationId::parse)?,
            workspace: parse("workspace slug", &r.workspace, WorkspaceSlug::parse)?,
            root,
            actor: Actor {
                kind: parse("actor kind", &r.actor_kind, ActorKind::parse)?,
                id: r.actor_id,
                name: r.actor_name,
            },
            deleted_at: ts("deletion time", r.deleted_at)?,
            scheduled_cleanup_at: ts("scheduled cleanup time", r.scheduled_cleanup_at)?,
            cleanup_delete_images: r.cleanup_delete_images,
            contains: Contains {
                versions: count("cascaded version count", r.contains_versions)?,
                trainings: count("cascaded training count", r.contains_trainings)?,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ImageRow {
    pub id: String,
    pub workspace: String,
    pub name: String,
    pub created_at: i64,
}

impl TryFrom<ImageRow> for Image {
    type Error = StoreError;
    fn try_from(r: ImageRow) -> Result<Self, StoreError> {
        Ok(Image {
            id: parse("image id", &r.id, ImageId::parse)?,
            workspace: parse("workspace slug", &r.workspace, WorkspaceSlug::parse)?,
            name: parse("image name", &r.name, Name::from_stored)?,
            created_at: ts("image creation time", r.created_at)?,
        })
    }
}

pub(crate) const CANCELLATION_COLUMNS: &str = "training_id, workspace, operation_id, attempts";

#[derive(sqlx::FromRow)]
pub(crate) struct CancellationRow {
    pub training_id: String,
    pub workspace: String,
    pub operation_id: String,
    pub attempts: i64,
}

impl TryFrom<CancellationRow> for trash_core::ports::PendingCancellation {
    type Error = StoreError;
    fn try_from(r: CancellationRow) -> Result<Self, StoreError> {
        Ok(trash_core::ports::PendingCancellation {
            workspace: parse("workspace slug", &r.workspace, WorkspaceSlug::parse)?,
            training: parse("training id", &r.training_id, TrainingId::parse)?,
            operation: parse("operation id", &r.operation_id, OperationId::parse)?,
            attempts: count("cancellation attempts", r.attempts)?,
        })
    }
}

pub(crate) const AUDIT_COLUMNS: &str = "seq, workspace, at, kind, actor_kind, actor_id, \
     actor_name, item_kind, item_id, item_version, operation_id";

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub seq: i64,
    pub workspace: String,
    pub at: i64,
    pub kind: String,
    pub actor_kind: String,
    pub actor_id: String,
    pub actor_name: String,
    pub item_kind: String,
    pub item_id: String,
    pub item_version: Option<i64>,
    pub operation_id: Option<String>,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        Ok(AuditRecord {
            seq: r.seq,
            event: AuditEvent {
                workspace: parse("workspace slug", &r.workspace, WorkspaceSlug::parse)?,
                at: ts("audit time", r.at)?,
                kind: parse("audit kind", &r.kind, AuditKind::parse)?,
                actor: Actor {
                    kind: parse("actor kind", &r.actor_kind, ActorKind::parse)?,
                    id: r.actor_id,
                    name: r.actor_name,
                },
                item: if r.item_kind == "workspace" {
                    None
                } else {
                    Some(item_ref(&r.item_kind, &r.item_id, r.item_version)?)
                },
                operation: r
                    .operation_id
                    .as_deref()
                    .map(|op| parse("operation id", op, OperationId::parse))
                    .transpose()?,
            },
        })
    }
}

/// The events as one JSON array of arrays, inserted by a single statement.
pub(crate) fn events_json(events: &[AuditEvent]) -> String {
    let rows: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            // A workspace hold's events name the workspace itself.
            let (item_kind, item_id, item_version) = match &e.item {
                Some(item) => item_columns(item),
                None => ("workspace", e.workspace.as_str(), None),
            };
            serde_json::json!([
                e.workspace.as_str(),
                e.at.unix_millis(),
                e.kind.as_str(),
                e.actor.kind.as_str(),
                e.actor.id,
                e.actor.name,
                item_kind,
                item_id,
                item_version,
                e.operation.as_ref().map(|o| o.as_str()),
            ])
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// A JSON array of strings (ids), for `json_each(?)`.
pub(crate) fn json_strings<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    serde_json::Value::Array(
        values
            .into_iter()
            .map(|v| serde_json::Value::String(v.to_owned()))
            .collect(),
    )
    .to_string()
}

/// A JSON array of integers, for `json_each(?)`.
pub(crate) fn json_numbers(values: impl IntoIterator<Item = i64>) -> String {
    serde_json::Value::Array(values.into_iter().map(serde_json::Value::from).collect()).to_string()
}

/// Version keys as a JSON array of `[project id, number]` pairs, for
/// `json_each(?)` (read back with `value ->> 0` and `value ->> 1`).
pub(crate) fn json_versions(versions: &[(ProjectId, VersionNumber)]) -> String {
    serde_json::Value::Array(
        versions
            .iter()
            .map(|(project, number)| serde_json::json!([project.as_str(), number_value(*number)]))
            .collect(),
    )
    .to_string()
}
