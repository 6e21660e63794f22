//! The trash-reads role: the aggregates the rules decide on, and the listing.

use async_trait::async_trait;

use super::{Revision, StoreError};
use crate::domain::*;

/// A project with everything that belongs to it, read at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectAggregate {
    /// The project.
    pub project: Project,
    /// The revision all of this was read at.
    pub revision: Revision,
    /// The number the next new version gets (numbers are never reused).
    pub next_version: VersionNumber,
    /// All its versions, active or trashed.
    pub versions: Vec<Version>,
    /// All its trainings, active or trashed.
    pub trainings: Vec<Training>,
    /// The live trash operations rooted in the project, its versions or its trainings.
    pub operations: Vec<TrashOperation>,
}

/// Which part of a project a narrow read returns
/// ([`TrashReads::load_project_part`]). Every part carries the project, its
/// revision, its next version number and its live operations; the parts
/// differ only in the versions and trainings they carry, so a decision that
/// needs one version (or none) does not read a project of 10,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectPart {
    /// No versions, no trainings.
    Head,
    /// The version with this number (if any) and its trainings.
    Version(VersionNumber),
    /// Up to `limit` *active* versions numbered above `after`, ascending;
    /// no trainings.
    ActiveVersions {
        /// Versions numbered above this (from the first when `None`).
        after: Option<VersionNumber>,
        /// At most this many.
        limit: u32,
    },
}

impl ProjectPart {
    /// Keeps of a whole aggregate exactly what this part carries: what a
    /// store's narrow read MUST return (the default implementation of
    /// [`TrashReads::load_project_part`] and the conformance suite use it).
    pub fn narrow(self, mut agg: ProjectAggregate) -> ProjectAggregate {
        match self {
            ProjectPart::Head => {
                agg.versions.clear();
                agg.trainings.clear();
            }
            ProjectPart::Version(n) => {
                agg.versions.retain(|v| v.number == n);
                agg.trainings.retain(|t| t.version == n);
            }
            ProjectPart::ActiveVersions { after, limit } => {
                agg.versions
                    .retain(|v| v.state.is_active() && after.is_none_or(|a| v.number > a));
                agg.versions.sort_by_key(|v| v.number);
                agg.versions.truncate(limit as usize);
                agg.trainings.clear();
            }
        }
        agg
    }
}

/// The aggregate a purge decides on: a project's or a workflow's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AggregateRead {
    /// A project with its versions, trainings and operations.
    Project(ProjectAggregate),
    /// A workflow with its operation.
    Workflow(WorkflowAggregate),
}

impl AggregateRead {
    /// Which aggregate this is.
    pub fn id(&self) -> AggregateId {
        match self {
            AggregateRead::Project(agg) => AggregateId::Project(agg.project.id.clone()),
            AggregateRead::Workflow(agg) => AggregateId::Workflow(agg.workflow.id.clone()),
        }
    }
}

/// A workflow with its live trash operation, read at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowAggregate {
    /// The workflow.
    pub workflow: Workflow,
    /// The revision this was read at.
    pub revision: Revision,
    /// The live operation that trashed it, if it is trashed.
    pub operation: Option<TrashOperation>,
}

/// One item holding a slug: active, or trashed at `trashed_at`. Which holder
/// a slug means is a rule ([`crate::rules::preferred_holder`]), not a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlugHolder<Id> {
    /// The item.
    pub id: Id,
    /// `None` while active; the `deleted_at` of its live operation when trashed.
    pub trashed_at: Option<Timestamp>,
}

/// Which slugs a slug belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlugSpace {
    /// Project slugs.
    Projects,
    /// Workflow slugs.
    Workflows,
}

/// One listing entry: a live operation and what its root looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashEntry {
    /// The operation.
    pub operation: TrashOperation,
    /// Its root item.
    pub item: TrashedItem,
}

/// A trashed project as shown in the listing and in trash outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectItem {
    /// Id.
    pub id: ProjectId,
    /// Slug.
    pub slug: Slug,
    /// Name.
    pub name: Name,
}

/// A trashed version as shown in the listing and in trash outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionItem {
    /// Its project.
    pub project: ProjectId,
    /// The project's slug.
    pub project_slug: Slug,
    /// The project's name.
    pub project_name: Name,
    /// Its number.
    pub number: VersionNumber,
    /// Its name.
    pub name: Name,
}

/// A trashed workflow as shown in the listing and in trash outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowItem {
    /// Id.
    pub id: WorkflowId,
    /// Slug.
    pub slug: Slug,
    /// Name.
    pub name: Name,
}

/// A trashed training as shown in the listing and in trash outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingItem {
    /// Id.
    pub id: TrainingId,
    /// Its project.
    pub project: ProjectId,
    /// The project's slug.
    pub project_slug: Slug,
    /// Its version.
    pub version: VersionNumber,
}

/// The root item of a listed operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrashedItem {
    /// A project.
    Project(ProjectItem),
    /// A version.
    Version(VersionItem),
    /// A workflow.
    Workflow(WorkflowItem),
    /// A training.
    Training(TrainingItem),
}

impl TrashedItem {
    /// The item referenced.
    pub fn item_ref(&self) -> ItemRef {
        match self {
            TrashedItem::Project(p) => ItemRef::Project(p.id.clone()),
            TrashedItem::Version(v) => ItemRef::Version(v.project.clone(), v.number),
            TrashedItem::Workflow(w) => ItemRef::Workflow(w.id.clone()),
            TrashedItem::Training(t) => ItemRef::Training(t.id.clone()),
        }
    }

    /// The name a person types to confirm a permanent deletion: the item's
    /// name, or a training's id (trainings have no name).
    pub fn confirmation_name(&self) -> String {
        match self {
            TrashedItem::Project(p) => p.name.to_string(),
            TrashedItem::Version(v) => v.name.to_string(),
            TrashedItem::Workflow(w) => w.name.to_string(),
            TrashedItem::Training(t) => t.id.to_string(),
        }
    }
}

/// A page request for the trash listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashQuery {
    /// The workspace.
    pub workspace: WorkspaceSlug,
    /// Only operations whose root is of this kind.
    pub kind: Option<ItemKind>,
    /// At most this many entries.
    pub limit: u32,
    /// Only entries strictly after this position.
    pub after: Option<TrashCursor>,
}

/// Reads for the trash rules. Every read is scoped to the workspace given.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TrashReads: Send + Sync {
    /// MUST return every project of the workspace whose slug is `slug`: the
    /// active one (at most one) and the trashed ones, each with the
    /// `deleted_at` of its live operation. Order does not matter.
    async fn projects_with_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Vec<SlugHolder<ProjectId>>, StoreError>;
    /// Like [`TrashReads::projects_with_slug`], for workflows.
    async fn workflows_with_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Vec<SlugHolder<WorkflowId>>, StoreError>;
    /// MUST return the project with everything in it (every version,
    /// training and live operation rooted in any of them, active or
    /// trashed), read consistently at one revision.
    async fn load_project(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
    ) -> Result<Option<ProjectAggregate>, StoreError>;
    /// MUST return what [`TrashReads::load_project`] would, narrowed to
    /// `part` exactly as [`ProjectPart::narrow`] narrows it, read at one
    /// revision. Its cost MUST NOT grow with the number of versions and
    /// trainings the part leaves out (the default reads the whole aggregate:
    /// correct, not narrow; SQL stores override it).
    async fn load_project_part(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
        part: ProjectPart,
    ) -> Result<Option<ProjectAggregate>, StoreError> {
        Ok(self
            .load_project(workspace, id)
            .await?
            .map(|agg| part.narrow(agg)))
    }
    /// MUST return the project a training belongs to, if the training is in
    /// the workspace.
    async fn training_project(
        &self,
        workspace: &WorkspaceSlug,
        training: &TrainingId,
    ) -> Result<Option<ProjectId>, StoreError>;
    /// MUST return the workflow and its live operation, read consistently.
    async fn load_workflow(
        &self,
        workspace: &WorkspaceSlug,
        id: &WorkflowId,
    ) -> Result<Option<WorkflowAggregate>, StoreError>;
    /// MUST return, for each of `operations` and in their order, the
    /// aggregate its root belongs to in the operation's workspace, exactly
    /// as [`TrashReads::load_project`] or [`TrashReads::load_workflow`]
    /// would return it (`None` where they would, or where a training root's
    /// training is gone). Each aggregate MUST be read at one revision. The
    /// cleanup reads a whole batch through it; the default reads one
    /// operation after the other, and SQL stores read the batch with a
    /// fixed number of statements.
    async fn load_for_purge(
        &self,
        operations: &[TrashOperation],
    ) -> Result<Vec<Option<AggregateRead>>, StoreError> {
        let mut out = Vec::with_capacity(operations.len());
        for op in operations {
            let ws = &op.workspace;
            let project = match &op.root {
                ItemRef::Workflow(id) => {
                    out.push(
                        self.load_workflow(ws, id)
                            .await?
                            .map(AggregateRead::Workflow),
                    );
                    continue;
                }
                ItemRef::Project(id) | ItemRef::Version(id, _) => Some(id.clone()),
                ItemRef::Training(t) => self.training_project(ws, t).await?,
            };
            out.push(match project {
                Some(id) => self
                    .load_project(ws, &id)
                    .await?
                    .map(AggregateRead::Project),
                None => None,
            });
        }
        Ok(out)
    }
    /// MUST return the slugs of *active* items in `space` that equal `base`
    /// or start with `base-`.
    async fn taken_slugs(
        &self,
        workspace: &WorkspaceSlug,
        space: SlugSpace,
        base: &Slug,
    ) -> Result<Vec<Slug>, StoreError>;
    /// MUST return the workspace's live operations (roots of kind
    /// `query.kind`, if given) ordered by `deleted_at` descending then
    /// operation id descending, strictly after `query.after`, at most
    /// `query.limit`, each with its root as it looks now. The cost MUST NOT
    /// grow with the size of the trash.
    async fn list_trash(&self, query: &TrashQuery) -> Result<Vec<TrashEntry>, StoreError>;
    /// MUST return how many images are linked to the workspace's project
    /// `project` and to no other project, active or trashed: the images a
    /// purge of that project deletes when its plan asks for orphaned images
    /// to go (0 if the project does not exist in the workspace). Read only;
    /// used to tell a person what "delete forever" would destroy.
    async fn exclusive_images(
        &self,
        workspace: &WorkspaceSlug,
        project: &ProjectId,
    ) -> Result<u64, StoreError>;
}

/// A page of the audit trail read newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// The workspace whose trail is read.
    pub workspace: WorkspaceSlug,
    /// Only events with `seq` strictly below this (all if `None`).
    pub before: Option<i64>,
    /// Only events of these kinds.
    pub kinds: Vec<AuditKind>,
    /// Only events about an item of this kind, if given.
    pub item_kind: Option<ItemKind>,
    /// At most this many events.
    pub limit: u32,
}

/// Reading the audit trail that [`super::TrashWrites`] and
/// [`super::WorkQueue`] record in the same transaction as each change.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// MUST return the workspace's audit trail after position `after`,
    /// oldest first, at most `limit` records.
    async fn audit_events(
        &self,
        workspace: &WorkspaceSlug,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;
    /// MUST return the workspace's events matching `query` (kind in
    /// `query.kinds`, item of `query.item_kind` if given, `seq` below
    /// `query.before` if given), newest first (`seq` descending), at most
    /// `query.limit`. The cost MUST NOT grow with the number of events
    /// already read (keyset pagination over `seq`).
    async fn audit_page(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
}
