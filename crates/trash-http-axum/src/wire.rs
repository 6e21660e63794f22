//! Wire types: the exact JSON of spec sections 3 and 4. They live here and
//! nowhere else; the core has no serde. Ids are strings, version numbers are
//! strings (`"3"`), times are RFC 3339 UTC with milliseconds.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use trash_core::domain::{
    ActorKind, AuditRecord, Contains, Hold, HoldId, HoldTarget, Image, ItemRef, Project, Timestamp,
    Training, TrashOperation, Version, Workflow, Workspace,
};
use trash_core::ports::{
    ImageView, ProjectItem, TrainingItem, TrashEntry, TrashedItem, VersionItem, WorkflowItem,
};
use trash_core::usecases::{AffectedItem, EventsPage, Preview, TrashPage, Trashed};
use utoipa::{IntoParams, ToSchema};

fn time(t: Timestamp) -> String {
    t.to_rfc3339()
}

// ---- errors and operations -------------------------------------------------

/// Every error: one readable sentence, plus optional details.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// What went wrong, in one sentence.
    #[schema(example = "this API key lacks the version:update scope")]
    pub error: String,
    /// On a name conflict: the id of the active item holding the slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicting_id: Option<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// On a 401 for a missing scope: the scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_scope: Option<String>,
}

/// `GET /healthz` and `GET /readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusBody {
    /// `ok` (process up) or `ready` (storage reachable).
    pub status: String,
}

/// `POST /` and `GET /`: who the key belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct Welcome {
    /// A greeting.
    pub welcome: String,
    /// Confirms the key works.
    pub instructions: String,
    /// The slug of the key's workspace.
    pub workspace: String,
}

// ---- move to trash ----------------------------------------------------------

/// `DELETE /{ws}/{project}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectDeleted {
    /// Always `true`.
    pub deleted: bool,
    /// `project`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The workspace slug.
    pub workspace: String,
    /// The project slug.
    pub project: String,
    /// The project id.
    pub project_id: String,
    /// Always `true`: moved to trash, not deleted for good.
    pub trash: bool,
    /// When cleanup may remove it (fixed at the first delete).
    pub scheduled_cleanup_at: String,
    /// In-flight trainings this call cancelled.
    pub cancelled_trainings: u32,
    /// Present (`true`) when the project was already in trash; nothing changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub already_in_trash: Option<bool>,
    /// Present (`true`) on a dry run (`?dryRun=true`): nothing changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// On a dry run: every item the call would move.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<EventItem>>,
}

/// `DELETE /{ws}/{project}/{version}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionDeleted {
    /// Always `true`.
    pub deleted: bool,
    /// `version`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The workspace slug.
    pub workspace: String,
    /// The project slug.
    pub project: String,
    /// The project id.
    pub project_id: String,
    /// The version number, as a string.
    pub version: String,
    /// Always `true`.
    pub trash: bool,
    /// When cleanup may remove it.
    pub scheduled_cleanup_at: String,
    /// In-flight trainings this call cancelled.
    pub cancelled_trainings: u32,
    /// Present (`true`) when the version was already in trash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub already_in_trash: Option<bool>,
    /// Present (`true`) on a dry run (`?dryRun=true`): nothing changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// On a dry run: every item the call would move.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<EventItem>>,
}

/// `DELETE /{ws}/workflows/{workflow}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowDeleted {
    /// Always `true`.
    pub deleted: bool,
    /// `workflow`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The workspace slug.
    pub workspace: String,
    /// The workflow slug.
    pub workflow: String,
    /// The workflow id.
    pub workflow_id: String,
    /// Always `true`.
    pub trash: bool,
    /// When cleanup may remove it.
    pub scheduled_cleanup_at: String,
    /// Present (`true`) when the workflow was already in trash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub already_in_trash: Option<bool>,
    /// On a dry run: in-flight trainings the call would cancel (always 0 here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_trainings: Option<u32>,
    /// Present (`true`) on a dry run (`?dryRun=true`): nothing changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// On a dry run: every item the call would move.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<EventItem>>,
}

/// `DELETE /{ws}/{project}/{version}/v2/trainings/{id}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingDeleted {
    /// Always `true`.
    pub deleted: bool,
    /// `training`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The workspace slug.
    pub workspace: String,
    /// The training id.
    pub training_id: String,
    /// Always `true`.
    pub trash: bool,
    /// When cleanup may remove it.
    pub scheduled_cleanup_at: String,
    /// Present (`true`) when the training was already in trash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub already_in_trash: Option<bool>,
    /// On a dry run: in-flight trainings the call would cancel (always 0 here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_trainings: Option<u32>,
    /// Present (`true`) on a dry run (`?dryRun=true`): nothing changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// On a dry run: every item the call would move.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<EventItem>>,
}

fn already<T>(out: &Trashed<T>) -> Option<bool> {
    out.already_in_trash.then_some(true)
}

impl ProjectDeleted {
    /// The answer for a trashed project.
    pub fn from_outcome(out: &Trashed<ProjectItem>) -> ProjectDeleted {
        ProjectDeleted {
            deleted: true,
            kind: "project".into(),
            workspace: out.workspace.to_string(),
            project: out.item.slug.to_string(),
            project_id: out.item.id.to_string(),
            trash: true,
            scheduled_cleanup_at: time(out.scheduled_cleanup_at),
            cancelled_trainings: out.cancelled_trainings,
            already_in_trash: already(out),
            dry_run: None,
            items: None,
        }
    }
}

impl VersionDeleted {
    /// The answer for a trashed version.
    pub fn from_outcome(out: &Trashed<VersionItem>) -> VersionDeleted {
        VersionDeleted {
            deleted: true,
            kind: "version".into(),
            workspace: out.workspace.to_string(),
            project: out.item.project_slug.to_string(),
            project_id: out.item.project.to_string(),
            version: out.item.number.to_string(),
            trash: true,
            scheduled_cleanup_at: time(out.scheduled_cleanup_at),
            cancelled_trainings: out.cancelled_trainings,
            already_in_trash: already(out),
            dry_run: None,
            items: None,
        }
    }
}

impl WorkflowDeleted {
    /// The answer for a trashed workflow.
    pub fn from_outcome(out: &Trashed<WorkflowItem>) -> WorkflowDeleted {
        WorkflowDeleted {
            deleted: true,
            kind: "workflow".into(),
            workspace: out.workspace.to_string(),
            workflow: out.item.slug.to_string(),
            workflow_id: out.item.id.to_string(),
            trash: true,
            scheduled_cleanup_at: time(out.scheduled_cleanup_at),
            already_in_trash: already(out),
            cancelled_trainings: None,
            dry_run: None,
            items: None,
        }
    }
}

impl TrainingDeleted {
    /// The answer for a trashed training.
    pub fn from_outcome(out: &Trashed<TrainingItem>) -> TrainingDeleted {
        TrainingDeleted {
            deleted: true,
            kind: "training".into(),
            workspace: out.workspace.to_string(),
            training_id: out.item.id.to_string(),
            trash: true,
            scheduled_cleanup_at: time(out.scheduled_cleanup_at),
            already_in_trash: already(out),
            cancelled_trainings: None,
            dry_run: None,
            items: None,
        }
    }
}

// ---- listing ----------------------------------------------------------------

/// Query of `GET /{ws}/trash`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListTrashParams {
    /// Only items of this type: `project`, `version`, `workflow` or `training`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// Page size, 1 to 1000 (default 1000).
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// What a trashed root carries with it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContainsBody {
    /// Versions trashed with it.
    pub versions: u32,
    /// Trainings trashed with it.
    pub trainings: u32,
}

impl From<Contains> for ContainsBody {
    fn from(c: Contains) -> Self {
        ContainsBody {
            versions: c.versions,
            trainings: c.trainings,
        }
    }
}

/// A trashed project.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectEntry {
    /// Project id.
    pub id: String,
    /// Project slug.
    pub url: String,
    /// Project name.
    pub name: String,
    /// When it was moved to trash.
    pub deleted_at: String,
    /// When cleanup may remove it.
    pub scheduled_cleanup_at: String,
    /// Id of who moved it (API key id or user id).
    pub deleted_by: String,
    /// Name of who moved it (API key name or user e-mail).
    pub deleted_by_name: String,
    /// Whether cleanup also deletes images no other project links.
    pub cleanup_delete_images: bool,
    /// What was trashed with it.
    pub contains: ContainsBody,
    /// `true` while legal holds stop its permanent destruction; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<bool>,
    /// The legal holds that keep it (only when held).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_ids: Option<Vec<String>>,
}

/// A trashed version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionEntry {
    /// The version number, as a string.
    pub id: String,
    /// Version name.
    pub name: String,
    /// The project id (send it back as `parentId` to restore).
    pub parent_id: String,
    /// The project slug.
    pub parent_url: String,
    /// The project name.
    pub parent_name: String,
    /// When it was moved to trash.
    pub deleted_at: String,
    /// When cleanup may remove it.
    pub scheduled_cleanup_at: String,
    /// Id of who moved it.
    pub deleted_by: String,
    /// Name of who moved it.
    pub deleted_by_name: String,
    /// What was trashed with it (its trainings).
    pub contains: ContainsBody,
    /// `true` while legal holds stop its permanent destruction; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<bool>,
    /// The legal holds that keep it (only when held).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_ids: Option<Vec<String>>,
}

/// A trashed workflow.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowEntry {
    /// Workflow id.
    pub id: String,
    /// Workflow slug.
    pub url: String,
    /// Workflow name.
    pub name: String,
    /// When it was moved to trash.
    pub deleted_at: String,
    /// When cleanup may remove it.
    pub scheduled_cleanup_at: String,
    /// Id of who moved it.
    pub deleted_by: String,
    /// Name of who moved it.
    pub deleted_by_name: String,
    /// `true` while legal holds stop its permanent destruction; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<bool>,
    /// The legal holds that keep it (only when held).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_ids: Option<Vec<String>>,
}

/// A trashed training.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingEntry {
    /// Training id.
    pub id: String,
    /// Its project's id.
    pub project_id: String,
    /// Its project's slug.
    pub project_url: String,
    /// Its version number, as a string.
    pub version: String,
    /// When it was moved to trash.
    pub deleted_at: String,
    /// When cleanup may remove it.
    pub scheduled_cleanup_at: String,
    /// Id of who moved it.
    pub deleted_by: String,
    /// Name of who moved it.
    pub deleted_by_name: String,
    /// `true` while legal holds stop its permanent destruction; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<bool>,
    /// The legal holds that keep it (only when held).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_ids: Option<Vec<String>>,
}

/// One listed trash item, tagged by `type`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TrashItem {
    /// `"type": "project"`.
    Project(ProjectEntry),
    /// `"type": "version"`.
    Version(VersionEntry),
    /// `"type": "workflow"`.
    Workflow(WorkflowEntry),
    /// `"type": "training"`.
    Training(TrainingEntry),
}

impl TrashItem {
    fn from_entry(entry: &TrashEntry, holds: &[HoldId]) -> TrashItem {
        let held = (!holds.is_empty()).then_some(true);
        let hold_ids =
            (!holds.is_empty()).then(|| holds.iter().map(|h| h.to_string()).collect::<Vec<_>>());
        let op: &TrashOperation = &entry.operation;
        let deleted_at = time(op.deleted_at);
        let scheduled_cleanup_at = time(op.scheduled_cleanup_at);
        let deleted_by = op.actor.id.clone();
        let deleted_by_name = op.actor.name.clone();
        match &entry.item {
            TrashedItem::Project(p) => TrashItem::Project(ProjectEntry {
                id: p.id.to_string(),
                url: p.slug.to_string(),
                name: p.name.to_string(),
                deleted_at,
                scheduled_cleanup_at,
                deleted_by,
                deleted_by_name,
                cleanup_delete_images: op.cleanup_delete_images,
                contains: op.contains.into(),
                held,
                hold_ids,
            }),
            TrashedItem::Version(v) => TrashItem::Version(VersionEntry {
                id: v.number.to_string(),
                name: v.name.to_string(),
                parent_id: v.project.to_string(),
                parent_url: v.project_slug.to_string(),
                parent_name: v.project_name.to_string(),
                deleted_at,
                scheduled_cleanup_at,
                deleted_by,
                deleted_by_name,
                contains: op.contains.into(),
                held,
                hold_ids,
            }),
            TrashedItem::Workflow(w) => TrashItem::Workflow(WorkflowEntry {
                id: w.id.to_string(),
                url: w.slug.to_string(),
                name: w.name.to_string(),
                deleted_at,
                scheduled_cleanup_at,
                deleted_by,
                deleted_by_name,
                held,
                hold_ids,
            }),
            TrashedItem::Training(t) => TrashItem::Training(TrainingEntry {
                id: t.id.to_string(),
                project_id: t.project.to_string(),
                project_url: t.project_slug.to_string(),
                version: t.version.to_string(),
                deleted_at,
                scheduled_cleanup_at,
                deleted_by,
                deleted_by_name,
                held,
                hold_ids,
            }),
        }
    }
}

/// The listed items grouped by type; every array is always present.
#[derive(Debug, Serialize, ToSchema)]
pub struct Sections {
    /// Trashed projects.
    pub projects: Vec<TrashItem>,
    /// Trashed versions.
    pub versions: Vec<TrashItem>,
    /// Trashed workflows.
    pub workflows: Vec<TrashItem>,
    /// Trashed trainings.
    pub trainings: Vec<TrashItem>,
}

/// `GET /{ws}/trash`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrashList {
    /// Every listed item, newest `deletedAt` first.
    pub items: Vec<TrashItem>,
    /// The same items grouped by type.
    pub sections: Sections,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<&TrashPage> for TrashList {
    fn from(page: &TrashPage) -> Self {
        let mut sections = Sections {
            projects: Vec::new(),
            versions: Vec::new(),
            workflows: Vec::new(),
            trainings: Vec::new(),
        };
        let none = Vec::new();
        let holds_of = |i: usize| page.holds.get(i).unwrap_or(&none).as_slice();
        for (i, entry) in page.entries.iter().enumerate() {
            let section = match entry.item {
                TrashedItem::Project(_) => &mut sections.projects,
                TrashedItem::Version(_) => &mut sections.versions,
                TrashedItem::Workflow(_) => &mut sections.workflows,
                TrashedItem::Training(_) => &mut sections.trainings,
            };
            section.push(TrashItem::from_entry(entry, holds_of(i)));
        }
        TrashList {
            items: page
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| TrashItem::from_entry(e, holds_of(i)))
                .collect(),
            sections,
            next_cursor: page.next_cursor.as_ref().map(|c| c.encode()),
        }
    }
}

// ---- restore ----------------------------------------------------------------

/// Body of `POST /{ws}/trash/restore`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRequest {
    /// `project`, `version`, `workflow` or `training`.
    #[serde(rename = "type")]
    #[schema(example = "version")]
    pub kind: Option<String>,
    /// The id from the trash listing (for a version, its number; a JSON
    /// number is accepted too).
    #[schema(value_type = String, example = "3")]
    pub id: Option<Value>,
    /// Required for a version: its project's id.
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<Value>,
    /// `fail` (default) or `rename`: what to do if an active item took the slug.
    pub on_conflict: Option<String>,
    /// A bulk restore: 1 to 100 items, each with the fields above, instead
    /// of `type`, `id`, `parentId` and `onConflict` at the top level.
    pub items: Option<Vec<RestoreItemBody>>,
}

/// One item of a bulk `POST /{ws}/trash/restore`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreItemBody {
    /// `project`, `version`, `workflow` or `training`.
    #[serde(rename = "type")]
    #[schema(example = "version")]
    pub kind: Option<String>,
    /// The id from the trash listing.
    #[schema(value_type = String, example = "3")]
    pub id: Option<Value>,
    /// Required for a version: its project's id.
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<Value>,
    /// `fail` (default) or `rename`.
    pub on_conflict: Option<String>,
}

/// The result of one item of a bulk restore.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkRestoreResult {
    /// The item type, as sent.
    #[serde(rename = "type")]
    pub kind: String,
    /// The item id, as sent.
    pub id: String,
    /// What a single restore of this item would have answered: 200, 401
    /// (the key lacks the scope of this item's type), 404, 409 or 410.
    #[schema(example = 200)]
    pub status: u16,
    /// `true` on 200.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored: Option<bool>,
    /// On 200, for a project or workflow: the slug it is active under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Otherwise: the error sentence a single restore would have answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// On a slug conflict: the id of the active item holding the slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicting_id: Option<String>,
    /// In a dry run, on 200: every item this restore would bring back
    /// (empty when already active).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<EventItem>>,
}

/// Answer of a bulk `POST /{ws}/trash/restore`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkRestored {
    /// `true` in a dry run (`?dryRun=true`): each result is what the real
    /// call would answer for that item now, and nothing changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// One result per item, in request order.
    pub results: Vec<BulkRestoreResult>,
}

/// Answer of `POST /{ws}/trash/restore`: one item, or many.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum RestoreAnswer {
    /// A single-item body.
    One(Restored),
    /// A body with `items`.
    Many(BulkRestored),
}

/// Answer of `POST /{ws}/trash/restore`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Restored {
    /// Always `true`.
    pub restored: bool,
    /// The item type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The item id, as sent.
    pub id: String,
    /// For a project or workflow: the slug it is active under (a new one after a rename).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For a version or training: its project's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Present (`true`) when the item was active already; nothing changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub already_active: Option<bool>,
    /// Present (`true`) on a dry run (`?dryRun=true`): nothing changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// On a dry run: every item the call would move.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<EventItem>>,
}

// ---- audit events -------------------------------------------------------------

/// Query of `GET /{ws}/trash/events`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// Only events about items of this type: `project`, `version`,
    /// `workflow` or `training`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// An item: the one an event is about, or one a dry run would move.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventItem {
    /// `project`, `version`, `workflow` or `training` (`workspace` for the
    /// events of a workspace hold).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its id (a version's number, as a string).
    pub id: String,
    /// Its slug, where one is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For a version: its project's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
}

impl From<&AffectedItem> for EventItem {
    fn from(a: &AffectedItem) -> Self {
        EventItem {
            kind: a.item.kind().as_str().to_owned(),
            id: a.item.wire_id(),
            url: a.slug.as_ref().map(|s| s.to_string()),
            parent_id: a.parent.as_ref().map(|p| p.to_string()),
        }
    }
}

/// The dry-run fields of a preview.
pub fn dry_items<T>(preview: &Preview<T>) -> (Option<bool>, Option<Vec<EventItem>>) {
    (
        Some(true),
        Some(preview.items.iter().map(EventItem::from).collect()),
    )
}

impl From<&ItemRef> for EventItem {
    fn from(item: &ItemRef) -> Self {
        EventItem {
            kind: item.kind().as_str().to_owned(),
            id: item.wire_id(),
            url: None,
            parent_id: match item {
                ItemRef::Version(p, _) => Some(p.to_string()),
                _ => None,
            },
        }
    }
}

/// Who acted. Never a key secret or a password: a key is named by its id
/// and name, a web user by id and e-mail.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventActor {
    /// `key`, `user` or `system` (the cleanup job).
    #[schema(example = "key")]
    pub kind: String,
    /// The key id, user id, or `system`.
    pub id: String,
    /// The key name, user e-mail, or `cleanup`.
    pub name: String,
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventBody {
    /// When it happened.
    pub at: String,
    /// `trashed`, `restored`, `purged`, `deleted_forever`, `emptied`,
    /// `cancellation_requested`, `cancellation_confirmed`, `hold_placed` or
    /// `hold_released`.
    #[schema(example = "trashed")]
    pub action: String,
    /// What it happened to.
    pub item: EventItem,
    /// Who did it.
    pub actor: EventActor,
    /// The trash operation it belongs to (`null` for holds).
    pub operation_id: Option<String>,
}

impl EventBody {
    /// The wire form of a record; `None` for kinds readers do not see.
    pub fn from_record(record: &AuditRecord) -> Option<EventBody> {
        let e = &record.event;
        Some(EventBody {
            at: time(e.at),
            action: e.kind.action()?.to_owned(),
            item: match &e.item {
                Some(item) => EventItem::from(item),
                // A workspace hold's events are about the workspace itself.
                None => EventItem {
                    kind: "workspace".to_owned(),
                    id: e.workspace.to_string(),
                    url: Some(e.workspace.to_string()),
                    parent_id: None,
                },
            },
            actor: EventActor {
                kind: match e.actor.kind {
                    ActorKind::ApiKey => "key",
                    ActorKind::WebUser => "user",
                    ActorKind::System => "system",
                }
                .to_owned(),
                id: e.actor.id.clone(),
                name: e.actor.name.clone(),
            },
            operation_id: e.operation.as_ref().map(|o| o.to_string()),
        })
    }
}

/// `GET /{ws}/trash/events`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventList {
    /// The events, newest first.
    pub events: Vec<EventBody>,
    /// Pass as `cursor` to get older events; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<&EventsPage> for EventList {
    fn from(page: &EventsPage) -> Self {
        EventList {
            events: page
                .events
                .iter()
                .filter_map(EventBody::from_record)
                .collect(),
            next_cursor: page.next_cursor.map(|c| c.encode()),
        }
    }
}

// ---- resources ----------------------------------------------------------------

/// Body of `POST /{ws}/projects` and `POST /{ws}/workflows`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateNamed {
    /// Display name.
    pub name: String,
    /// Slug; derived from the name when absent.
    pub url: Option<String>,
}

/// Body of `POST /{ws}/{project}/versions`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateVersion {
    /// Display name; `v<number>` when absent.
    pub name: Option<String>,
}

/// Body of `POST …/v2/trainings/{id}/status`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetStatus {
    /// `succeeded`, `failed` or `stopped`.
    pub status: String,
}

/// Body of `POST /{ws}/{project}/images`: exactly one of the two fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageRequest {
    /// Add a new image with this name.
    pub name: Option<String>,
    /// Link an existing image of the workspace.
    pub image_id: Option<String>,
}

/// A project.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectBody {
    /// Project id.
    pub id: String,
    /// Project slug.
    pub url: String,
    /// Project name.
    pub name: String,
    /// When it was created.
    pub created_at: String,
}

impl From<&Project> for ProjectBody {
    fn from(p: &Project) -> Self {
        ProjectBody {
            id: p.id.to_string(),
            url: p.slug.to_string(),
            name: p.name.to_string(),
            created_at: time(p.created_at),
        }
    }
}

/// A workspace and its active projects.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceInfo {
    /// Workspace slug.
    pub url: String,
    /// Workspace name.
    pub name: String,
    /// When it was created.
    pub created_at: String,
    /// Its active projects, by slug.
    pub projects: Vec<ProjectBody>,
}

/// Query of the paginated resource reads, `GET /{ws}` and `GET /{ws}/{project}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 1000 (default 1000).
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// `GET /{ws}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceBody {
    /// The workspace, with a page of its active projects (by slug).
    pub workspace: WorkspaceInfo,
    /// Pass as `cursor` to get the next page of projects; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl WorkspaceBody {
    /// From the workspace and a page of its active projects.
    pub fn new(
        ws: &Workspace,
        projects: &[Project],
        next: Option<&trash_core::domain::Slug>,
    ) -> WorkspaceBody {
        WorkspaceBody {
            workspace: WorkspaceInfo {
                url: ws.slug.to_string(),
                name: ws.name.to_string(),
                created_at: time(ws.created_at),
                projects: projects.iter().map(ProjectBody::from).collect(),
            },
            next_cursor: next.map(|s| s.to_string()),
        }
    }
}

/// A version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionBody {
    /// The version number, as a string.
    pub id: String,
    /// The version number, as a string.
    pub version: String,
    /// Version name.
    pub name: String,
    /// Its project's id.
    pub project_id: String,
    /// When it was created.
    pub created_at: String,
}

impl From<&Version> for VersionBody {
    fn from(v: &Version) -> Self {
        VersionBody {
            id: v.number.to_string(),
            version: v.number.to_string(),
            name: v.name.to_string(),
            project_id: v.project.to_string(),
            created_at: time(v.created_at),
        }
    }
}

/// `GET /{ws}/{project}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectDetail {
    /// The project.
    pub project: ProjectBody,
    /// A page of its active versions, by number.
    pub versions: Vec<VersionBody>,
    /// Pass as `cursor` to get the next page of versions; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A training.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingBody {
    /// Training id.
    pub id: String,
    /// Its version number, as a string.
    pub version_id: String,
    /// Its project's id.
    pub project_id: String,
    /// `queued`, `running`, `succeeded`, `failed`, `stopped` or `cancelled`.
    pub status: String,
    /// When it started.
    pub start: String,
    /// When it ended; `null` while in flight.
    pub end: Option<String>,
}

impl From<&Training> for TrainingBody {
    fn from(t: &Training) -> Self {
        TrainingBody {
            id: t.id.to_string(),
            version_id: t.version.to_string(),
            project_id: t.project.to_string(),
            status: t.status.as_str().to_owned(),
            start: time(t.started_at),
            end: t.ended_at.map(time),
        }
    }
}

/// `GET /{ws}/{project}/{version}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDetail {
    /// The project.
    pub project: ProjectBody,
    /// The version.
    pub version: VersionBody,
    /// Its active trainings.
    pub trainings: Vec<TrainingBody>,
}

/// `GET /{ws}/{project}/{version}/v2/trainings`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingList {
    /// The version's active trainings.
    pub trainings: Vec<TrainingBody>,
}

/// A workflow.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowBody {
    /// Workflow id.
    pub id: String,
    /// Workflow slug.
    pub url: String,
    /// Workflow name.
    pub name: String,
    /// When it was created.
    pub created_at: String,
}

impl From<&Workflow> for WorkflowBody {
    fn from(w: &Workflow) -> Self {
        WorkflowBody {
            id: w.id.to_string(),
            url: w.slug.to_string(),
            name: w.name.to_string(),
            created_at: time(w.created_at),
        }
    }
}

/// An image, with the projects (active or trashed) linking it when known.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageBody {
    /// Image id.
    pub id: String,
    /// Image name.
    pub name: String,
    /// When it was created.
    pub created_at: String,
    /// Ids of the projects linking it.
    pub projects: Vec<String>,
}

impl From<&ImageView> for ImageBody {
    fn from(v: &ImageView) -> Self {
        ImageBody {
            projects: v.projects.iter().map(|p| p.to_string()).collect(),
            ..ImageBody::new(&v.image, Vec::new())
        }
    }
}

impl ImageBody {
    /// An image linked by `projects`.
    pub fn new(image: &Image, projects: Vec<String>) -> ImageBody {
        ImageBody {
            id: image.id.to_string(),
            name: image.name.to_string(),
            created_at: time(image.created_at),
            projects,
        }
    }
}

// ---- legal holds ------------------------------------------------------------

/// Body of `POST /{ws}/trash/holds`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlaceHoldRequest {
    /// `workspace` (everything in the trash, present and future), or the
    /// type of the held item: `project`, `version`, `workflow`, `training`.
    #[serde(rename = "type")]
    #[schema(example = "project")]
    pub kind: Option<String>,
    /// The held item's id (a version's number); absent for `workspace`.
    #[schema(value_type = Option<String>, example = "Jjk3Tjq2yjxenyA9g5er")]
    pub id: Option<Value>,
    /// For a version: its project's id.
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<Value>,
    /// Why the hold is placed (1 to 1000 characters).
    #[schema(example = "litigation 2026-114")]
    pub reason: Option<String>,
}

/// A legal hold.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HoldBody {
    /// Its id (pass it to `DELETE /{ws}/trash/holds/{holdId}` to release it).
    pub hold_id: String,
    /// `workspace`, `project`, `version`, `workflow` or `training`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The held item's id (a version's number); absent for `workspace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// For a version: its project's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Why it was placed.
    pub reason: String,
    /// When it was placed.
    pub created_at: String,
    /// Who placed it: the API key id (or web user id).
    pub created_by: String,
    /// The key's name (or the user's e-mail).
    pub created_by_name: String,
}

impl From<&Hold> for HoldBody {
    fn from(h: &Hold) -> Self {
        let (id, parent_id) = match &h.target {
            HoldTarget::Workspace => (None, None),
            HoldTarget::Project(p) => (Some(p.to_string()), None),
            HoldTarget::Version(p, n) => (Some(n.to_string()), Some(p.to_string())),
            HoldTarget::Workflow(w) => (Some(w.to_string()), None),
            HoldTarget::Training { id, .. } => (Some(id.to_string()), None),
        };
        HoldBody {
            hold_id: h.id.to_string(),
            kind: h.target.kind_str().to_owned(),
            id,
            parent_id,
            reason: h.reason.to_string(),
            created_at: time(h.created_at),
            created_by: h.created_by.id.clone(),
            created_by_name: h.created_by.name.clone(),
        }
    }
}

/// `GET /{ws}/trash/holds`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldList {
    /// The workspace's holds, oldest first.
    pub holds: Vec<HoldBody>,
}

/// `DELETE /{ws}/trash/holds/{holdId}`: the released hold.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HoldReleased {
    /// Always `true`.
    pub released: bool,
    /// The hold that was released (or, in a dry run, would be).
    pub hold: HoldBody,
    /// `true` in a dry run (`?dryRun=true`): nothing was released.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}
