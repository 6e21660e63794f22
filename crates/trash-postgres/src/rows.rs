//! Row types stay here: stored columns become domain values, and a stored
//! value the core refuses is reported as `Internal`, never a panic.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Decode, Postgres, Row, Type};
use trash_core::domain::*;
use trash_core::ports::{PendingCancellation, StoreError};

use crate::error::corrupt;

/// Reads one column.
pub(crate) fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T, StoreError>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(column)
        .map_err(|e| StoreError::Internal(format!("reading column {column}: {e}")))
}

/// Parses a stored string with a core parser.
pub(crate) fn parse<T, E: std::fmt::Display>(
    what: &str,
    value: &str,
    parser: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    parser(value).map_err(|e| corrupt(what, e))
}

macro_rules! string_column {
    ($fn:ident, $opt:ident, $ty:ty, $what:literal) => {
        string_column!($fn, $opt, $ty, $what, <$ty>::parse);
    };
    ($fn:ident, $opt:ident, $ty:ty, $what:literal, $parser:expr) => {
        pub(crate) fn $fn(row: &PgRow, column: &str) -> Result<$ty, StoreError> {
            let s: String = get(row, column)?;
            parse($what, &s, $parser)
        }

        #[allow(dead_code)]
        pub(crate) fn $opt(row: &PgRow, column: &str) -> Result<Option<$ty>, StoreError> {
            let s: Option<String> = get(row, column)?;
            s.map(|s| parse($what, &s, $parser)).transpose()
        }
    };
}

string_column!(
    workspace_slug,
    opt_workspace_slug,
    WorkspaceSlug,
    "workspace slug"
);
string_column!(slug, opt_slug, Slug, "slug");
// Names stored before format characters were refused still read back.
string_column!(name, opt_name, Name, "name", Name::from_stored);
string_column!(project_id, opt_project_id, ProjectId, "project id");
string_column!(workflow_id, opt_workflow_id, WorkflowId, "workflow id");
string_column!(training_id, opt_training_id, TrainingId, "training id");
string_column!(image_id, opt_image_id, ImageId, "image id");
string_column!(operation_id, opt_operation_id, OperationId, "operation id");
string_column!(key_id, opt_key_id, KeyId, "key id");
string_column!(user_id, opt_user_id, UserId, "user id");
string_column!(email, opt_email, Email, "email");

/// A timestamp column.
pub(crate) fn timestamp(row: &PgRow, column: &str) -> Result<Timestamp, StoreError> {
    let at: DateTime<Utc> = get(row, column)?;
    Ok(Timestamp::from_datetime(at))
}

/// A nullable timestamp column.
pub(crate) fn opt_timestamp(row: &PgRow, column: &str) -> Result<Option<Timestamp>, StoreError> {
    let at: Option<DateTime<Utc>> = get(row, column)?;
    Ok(at.map(Timestamp::from_datetime))
}

/// A version number stored as `integer`.
pub(crate) fn version_number(row: &PgRow, column: &str) -> Result<VersionNumber, StoreError> {
    let n: i32 = get(row, column)?;
    number_from(n)
}

/// A version number from its stored form.
pub(crate) fn number_from(n: i32) -> Result<VersionNumber, StoreError> {
    u32::try_from(n)
        .map_err(|e| corrupt("version number", e))
        .and_then(|n| VersionNumber::new(n).map_err(|e| corrupt("version number", e)))
}

/// The stored form of a version number (always fits: the core caps it at `i32::MAX`).
pub(crate) fn number_to_sql(n: VersionNumber) -> i32 {
    i32::try_from(n.get()).unwrap_or(i32::MAX)
}

/// A non-negative count stored as `integer`.
fn count(row: &PgRow, column: &str) -> Result<u32, StoreError> {
    let n: i32 = get(row, column)?;
    u32::try_from(n).map_err(|e| corrupt(column, e))
}

/// The stored form of a count.
pub(crate) fn count_to_sql(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The state columns `<prefix>trash_op_id` and `<prefix>trash_cascaded`.
pub(crate) fn state(
    row: &PgRow,
    op_column: &str,
    cascaded_column: &str,
) -> Result<ItemState, StoreError> {
    let op: Option<String> = get(row, op_column)?;
    match op {
        None => Ok(ItemState::Active),
        Some(op) => Ok(ItemState::Trashed {
            operation: parse("operation id", &op, OperationId::parse)?,
            cascaded: get(row, cascaded_column)?,
        }),
    }
}

/// The state columns of an item as `(trash_op_id, trash_cascaded)`.
pub(crate) fn state_to_sql(state: &ItemState) -> (Option<&str>, bool) {
    match state {
        ItemState::Active => (None, false),
        ItemState::Trashed {
            operation,
            cascaded,
        } => (Some(operation.as_str()), *cascaded),
    }
}

/// A project from the columns `id, workspace, slug, name, created_at,
/// trash_op_id, trash_cascaded`.
pub(crate) fn project(row: &PgRow) -> Result<Project, StoreError> {
    Ok(Project {
        id: project_id(row, "id")?,
        workspace: workspace_slug(row, "workspace")?,
        slug: slug(row, "slug")?,
        name: name(row, "name")?,
        created_at: timestamp(row, "created_at")?,
        state: state(row, "trash_op_id", "trash_cascaded")?,
    })
}

/// A workflow from the same columns as a project.
pub(crate) fn workflow(row: &PgRow) -> Result<Workflow, StoreError> {
    Ok(Workflow {
        id: workflow_id(row, "id")?,
        workspace: workspace_slug(row, "workspace")?,
        slug: slug(row, "slug")?,
        name: name(row, "name")?,
        created_at: timestamp(row, "created_at")?,
        state: state(row, "trash_op_id", "trash_cascaded")?,
    })
}

/// A version from `project_id, number, name, created_at, trash_op_id, trash_cascaded`.
pub(crate) fn version(row: &PgRow) -> Result<Version, StoreError> {
    Ok(Version {
        project: project_id(row, "project_id")?,
        number: version_number(row, "number")?,
        name: name(row, "name")?,
        created_at: timestamp(row, "created_at")?,
        state: state(row, "trash_op_id", "trash_cascaded")?,
    })
}

/// A training from its table's columns.
pub(crate) fn training(row: &PgRow) -> Result<Training, StoreError> {
    let status: String = get(row, "status")?;
    Ok(Training {
        id: training_id(row, "id")?,
        project: project_id(row, "project_id")?,
        version: version_number(row, "version_number")?,
        status: parse("training status", &status, TrainingStatus::parse)?,
        started_at: timestamp(row, "started_at")?,
        ended_at: opt_timestamp(row, "ended_at")?,
        state: state(row, "trash_op_id", "trash_cascaded")?,
    })
}

/// An actor from `<prefix>actor_kind, actor_id, actor_name`.
pub(crate) fn actor(row: &PgRow) -> Result<Actor, StoreError> {
    let kind: String = get(row, "actor_kind")?;
    Ok(Actor {
        kind: parse("actor kind", &kind, ActorKind::parse)?,
        id: get(row, "actor_id")?,
        name: get(row, "actor_name")?,
    })
}

/// The columns of a trash operation, aliased so they can sit beside an item's.
pub(crate) const OP_COLUMNS: &str = "o.id AS op_id, o.workspace AS op_workspace, o.root_kind, \
     o.project_id AS op_project_id, o.version_number AS op_version_number, \
     o.training_id AS op_training_id, o.workflow_id AS op_workflow_id, \
     o.actor_kind, o.actor_id, o.actor_name, o.deleted_at, o.scheduled_cleanup_at, \
     o.cleanup_delete_images, o.contains_versions, o.contains_trainings";

/// A trash operation from [`OP_COLUMNS`].
pub(crate) fn operation(row: &PgRow) -> Result<TrashOperation, StoreError> {
    let kind: String = get(row, "root_kind")?;
    let root = match parse("root kind", &kind, ItemKind::parse)? {
        ItemKind::Project => ItemRef::Project(project_id(row, "op_project_id")?),
        ItemKind::Version => ItemRef::Version(
            project_id(row, "op_project_id")?,
            version_number(row, "op_version_number")?,
        ),
        ItemKind::Workflow => ItemRef::Workflow(workflow_id(row, "op_workflow_id")?),
        ItemKind::Training => ItemRef::Training(training_id(row, "op_training_id")?),
    };
    Ok(TrashOperation {
        id: operation_id(row, "op_id")?,
        workspace: workspace_slug(row, "op_workspace")?,
        root,
        actor: actor(row)?,
        deleted_at: timestamp(row, "deleted_at")?,
        scheduled_cleanup_at: timestamp(row, "scheduled_cleanup_at")?,
        cleanup_delete_images: get(row, "cleanup_delete_images")?,
        contains: Contains {
            versions: count(row, "contains_versions")?,
            trainings: count(row, "contains_trainings")?,
        },
    })
}

/// How an item is stored in the audit trail: kind, id, version number.
pub(crate) fn item_to_sql(item: &ItemRef) -> (&'static str, &str, Option<i32>) {
    match item {
        ItemRef::Project(id) => ("project", id.as_str(), None),
        ItemRef::Version(p, n) => ("version", p.as_str(), Some(number_to_sql(*n))),
        ItemRef::Workflow(id) => ("workflow", id.as_str(), None),
        ItemRef::Training(id) => ("training", id.as_str(), None),
    }
}

/// An item from the audit columns `item_kind, item_id, item_version`;
/// `None` for the workspace itself (`item_kind = 'workspace'`).
pub(crate) fn audit_item(row: &PgRow) -> Result<Option<ItemRef>, StoreError> {
    let kind: String = get(row, "item_kind")?;
    if kind == "workspace" {
        return Ok(None);
    }
    Ok(Some(match parse("item kind", &kind, ItemKind::parse)? {
        ItemKind::Project => ItemRef::Project(project_id(row, "item_id")?),
        ItemKind::Version => {
            let n: Option<i32> = get(row, "item_version")?;
            let n = n.ok_or_else(|| corrupt("audit item", "version without a number"))?;
            ItemRef::Version(project_id(row, "item_id")?, number_from(n)?)
        }
        ItemKind::Workflow => ItemRef::Workflow(workflow_id(row, "item_id")?),
        ItemKind::Training => ItemRef::Training(training_id(row, "item_id")?),
    }))
}

/// An audit record from its table's columns.
pub(crate) fn audit_record(row: &PgRow) -> Result<AuditRecord, StoreError> {
    let kind: String = get(row, "kind")?;
    Ok(AuditRecord {
        seq: get(row, "seq")?,
        event: AuditEvent {
            workspace: workspace_slug(row, "workspace")?,
            at: timestamp(row, "at")?,
            kind: parse("audit kind", &kind, AuditKind::parse)?,
            actor: actor(row)?,
            item: audit_item(row)?,
            operation: opt_operation_id(row, "operation_id")?,
        },
    })
}

/// An API key record from its table's columns.
pub(crate) fn api_key(row: &PgRow) -> Result<ApiKeyRecord, StoreError> {
    let scopes: String = get(row, "scopes")?;
    let hash: String = get(row, "key_hash")?;
    Ok(ApiKeyRecord {
        id: key_id(row, "id")?,
        workspace: workspace_slug(row, "workspace")?,
        name: name(row, "name")?,
        scopes: parse("scopes", &scopes, ScopeSet::parse_list)?,
        hash: parse("key hash", &hash, KeyHash::from_hex)?,
        created_at: timestamp(row, "created_at")?,
        revoked_at: opt_timestamp(row, "revoked_at")?,
        last_used_at: opt_timestamp(row, "last_used_at")?,
    })
}

/// A web session from `session_hash, user_id, created_at, last_seen_at`.
pub(crate) fn session(row: &PgRow) -> Result<SessionRecord, StoreError> {
    let hash: String = get(row, "session_hash")?;
    Ok(SessionRecord {
        hash: parse("session hash", &hash, KeyHash::from_hex)?,
        user: user_id(row, "user_id")?,
        created_at: timestamp(row, "created_at")?,
        last_seen_at: timestamp(row, "last_seen_at")?,
    })
}

/// A user record from its table's columns.
pub(crate) fn user(row: &PgRow) -> Result<UserRecord, StoreError> {
    let role: String = get(row, "role")?;
    Ok(UserRecord {
        id: user_id(row, "id")?,
        workspace: workspace_slug(row, "workspace")?,
        email: email(row, "email")?,
        role: parse("role", &role, Role::parse)?,
        password_hash: get(row, "password_hash")?,
        created_at: timestamp(row, "created_at")?,
    })
}

/// A pending cancellation from `training_id, workspace, operation_id, attempts`.
pub(crate) fn pending(row: &PgRow) -> Result<PendingCancellation, StoreError> {
    Ok(PendingCancellation {
        workspace: workspace_slug(row, "workspace")?,
        training: training_id(row, "training_id")?,
        operation: operation_id(row, "operation_id")?,
        attempts: count(row, "attempts")?,
    })
}
