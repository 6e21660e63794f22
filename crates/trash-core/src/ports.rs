//! Ports: what the core needs from the outside world, and the contract each
//! implementation MUST keep.
//!
//! # The concurrency contract of [`TrashStore`]
//!
//! The unit of consistency is the *aggregate* ([`AggregateId`]): a project
//! with its versions, trainings and the trash operations rooted in them, or a
//! workflow with its operation. Every aggregate carries a [`Revision`]. Each
//! guarded write takes a [`Guard`] naming the aggregate and the revision the
//! caller read; the store MUST, atomically (all or nothing):
//!
//! 1. check that the aggregate's current revision equals the guard's, and
//!    return [`StoreError::Conflict`] otherwise, changing nothing;
//! 2. apply every effect of the write;
//! 3. increase the revision.
//!
//! Two writes to one aggregate can therefore never both succeed from the same
//! read: the loser gets `Conflict`, re-reads and re-decides. The rules are
//! decided in the core; the store only enforces the guard (and the uniqueness
//! of active slugs) atomically. A store MUST NOT retry a write on its own.

use async_trait::async_trait;

use crate::domain::*;

/// The version of an aggregate; changes on every guarded write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision(pub i64);

/// The precondition of a guarded write: the aggregate still has this revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// The aggregate written.
    pub aggregate: AggregateId,
    /// The revision the caller read.
    pub revision: Revision,
}

/// Errors a store reports. Infrastructure errors are mapped into these at the
/// adapter edge; nothing else crosses the port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A guarded write found the aggregate changed (or gone) since it was read.
    #[error("the item changed concurrently")]
    Conflict,
    /// An active item of the same type already uses the slug.
    #[error("an active item already uses this slug")]
    SlugTaken {
        /// The id of the active item holding the slug.
        conflicting: String,
    },
    /// A record with the same unique key (workspace slug, e-mail, key hash) exists.
    #[error("a record with this key already exists")]
    AlreadyExists,
    /// A record the write refers to (an image to link) does not exist.
    #[error("a referenced record does not exist")]
    Missing,
    /// The storage cannot be reached right now; retrying later may succeed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The storage answered with something that breaks its own invariants.
    #[error("storage error: {0}")]
    Internal(String),
}

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

/// A project without its children: enough to purge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectHead {
    /// The project.
    pub project: Project,
    /// The revision this was read at.
    pub revision: Revision,
    /// The live trash operations rooted in the project, its versions or its trainings.
    pub operations: Vec<TrashOperation>,
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

/// An image and the projects (active or trashed) that link it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageView {
    /// The image.
    pub image: Image,
    /// Projects linking it, in id order.
    pub projects: Vec<ProjectId>,
}

/// Which slugs a slug belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlugSpace {
    /// Project slugs.
    Projects,
    /// Workflow slugs.
    Workflows,
}

/// Move an item (and what cascades with it) to trash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashPlan {
    /// The aggregate and revision the plan was made from.
    pub guard: Guard,
    /// The new operation; its `root` becomes `Trashed { cascaded: false }`.
    pub operation: TrashOperation,
    /// Items that become `Trashed { operation, cascaded: true }` (all active when read).
    pub members: Vec<ItemRef>,
    /// In-flight trainings to cancel: their status becomes `cancelled` with
    /// `ended_at = deleted_at`, and a pending cancellation is recorded for
    /// each, already claimed by the caller until `cancel_claimed_until`.
    pub cancel: Vec<TrainingId>,
    /// Until when the caller holds the claim on the new pending cancellations.
    pub cancel_claimed_until: Timestamp,
    /// Audit events recorded in the same transaction.
    pub events: Vec<AuditEvent>,
}

/// Restore one operation exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePlan {
    /// The aggregate and revision the plan was made from.
    pub guard: Guard,
    /// The operation restored: its root and every item recording it become
    /// active, and the operation is removed.
    pub operation: OperationId,
    /// The root of the operation.
    pub root: ItemRef,
    /// For a project or workflow root restored under another slug.
    pub new_slug: Option<Slug>,
    /// Audit events recorded in the same transaction.
    pub events: Vec<AuditEvent>,
}

/// Remove an operation's root for good, with every dependant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgePlan {
    /// The aggregate and revision the plan was made from.
    pub guard: Guard,
    /// The operation purged.
    pub operation: OperationId,
    /// Its root. Removed with every dependant: a project takes all its
    /// versions, trainings and image links; a version takes all its
    /// trainings. Every operation rooted in a removed item is removed too.
    /// Pending cancellations of removed trainings are kept: their jobs may
    /// still be running, and the cancellation is still delivered.
    pub root: ItemRef,
    /// Also delete the images linked to the purged project that no other
    /// project (active or trashed) links at commit time.
    pub delete_exclusive_images: bool,
    /// Audit events recorded in the same transaction.
    pub events: Vec<AuditEvent>,
}

/// What a purge removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurgeCounts {
    /// Projects removed.
    pub projects: u64,
    /// Versions removed.
    pub versions: u64,
    /// Workflows removed.
    pub workflows: u64,
    /// Trainings removed.
    pub trainings: u64,
    /// Images removed.
    pub images: u64,
}

impl PurgeCounts {
    /// Adds another count to this one.
    pub fn add(&mut self, other: PurgeCounts) {
        self.projects += other.projects;
        self.versions += other.versions;
        self.workflows += other.workflows;
        self.trainings += other.trainings;
        self.images += other.images;
    }
}

/// One listing entry: a live operation and what its root looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashEntry {
    /// The operation.
    pub operation: TrashOperation,
    /// Its root item.
    pub item: TrashedItem,
}

/// The root item of a listed operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrashedItem {
    /// A project.
    Project {
        /// Id.
        id: ProjectId,
        /// Slug.
        slug: Slug,
        /// Name.
        name: Name,
    },
    /// A version.
    Version {
        /// Its project.
        project: ProjectId,
        /// The project's slug.
        project_slug: Slug,
        /// The project's name.
        project_name: Name,
        /// Its number.
        number: VersionNumber,
        /// Its name.
        name: Name,
    },
    /// A workflow.
    Workflow {
        /// Id.
        id: WorkflowId,
        /// Slug.
        slug: Slug,
        /// Name.
        name: Name,
    },
    /// A training.
    Training {
        /// Id.
        id: TrainingId,
        /// Its project.
        project: ProjectId,
        /// The project's slug.
        project_slug: Slug,
        /// Its version.
        version: VersionNumber,
    },
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

/// A cancellation that has not been confirmed by the job canceller yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCancellation {
    /// The workspace of the training.
    pub workspace: WorkspaceSlug,
    /// The training whose job is to be cancelled.
    pub training: TrainingId,
    /// The operation that requested it.
    pub operation: OperationId,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// The persistence port. Every method documents what it MUST do; see the
/// module documentation for the concurrency contract of guarded writes.
/// Lookups are always scoped to a workspace: an item of another workspace is
/// reported exactly like a missing one (`None`).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TrashStore: Send + Sync {
    // ---- workspaces, keys, users -------------------------------------

    /// MUST store the workspace, or return `AlreadyExists` if the slug is used.
    async fn create_workspace(&self, workspace: &Workspace) -> Result<(), StoreError>;
    /// MUST return the workspace with this slug, if any.
    async fn workspace(&self, slug: &WorkspaceSlug) -> Result<Option<Workspace>, StoreError>;
    /// MUST store the key record (hash only), or return `AlreadyExists` on a duplicate id or hash.
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// MUST return the key whose hash equals `hash`, revoked or not.
    async fn api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// MUST mark the key revoked at `at` (keeping an earlier revocation time);
    /// returns whether such a key exists.
    async fn revoke_api_key(&self, id: &KeyId, at: Timestamp) -> Result<bool, StoreError>;
    /// MUST store the user, or return `AlreadyExists` if the e-mail is used.
    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// MUST return the user with this e-mail, if any.
    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>, StoreError>;
    /// MUST return the user with this id, if any.
    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>, StoreError>;

    // ---- reads --------------------------------------------------------

    /// MUST return the id of the workspace's *active* project with this slug,
    /// or else of its most recently trashed project with this slug, or `None`.
    async fn project_id_by_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Option<ProjectId>, StoreError>;
    /// MUST return the project with everything in it, read consistently at one revision.
    async fn load_project(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
    ) -> Result<Option<ProjectAggregate>, StoreError>;
    /// Like [`TrashStore::load_project`] without versions and trainings.
    async fn project_head(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
    ) -> Result<Option<ProjectHead>, StoreError>;
    /// MUST return the workspace's active projects, ordered by slug.
    async fn active_projects(&self, workspace: &WorkspaceSlug) -> Result<Vec<Project>, StoreError>;
    /// MUST return the project a training belongs to, if the training is in the workspace.
    async fn training_project(
        &self,
        workspace: &WorkspaceSlug,
        training: &TrainingId,
    ) -> Result<Option<ProjectId>, StoreError>;
    /// Like [`TrashStore::project_id_by_slug`], for workflows.
    async fn workflow_id_by_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Option<WorkflowId>, StoreError>;
    /// MUST return the workflow and its live operation, read consistently.
    async fn load_workflow(
        &self,
        workspace: &WorkspaceSlug,
        id: &WorkflowId,
    ) -> Result<Option<WorkflowAggregate>, StoreError>;
    /// MUST return the slugs of *active* items in `space` that equal `base`
    /// or start with `base-`.
    async fn taken_slugs(
        &self,
        workspace: &WorkspaceSlug,
        space: SlugSpace,
        base: &Slug,
    ) -> Result<Vec<Slug>, StoreError>;
    /// MUST return the image and every project (active or trashed) linking it.
    async fn image(
        &self,
        workspace: &WorkspaceSlug,
        id: &ImageId,
    ) -> Result<Option<ImageView>, StoreError>;
    /// MUST return the workspace's live operations (roots of kind
    /// `query.kind`, if given) ordered by `deleted_at` descending then
    /// operation id descending, strictly after `query.after`, at most
    /// `query.limit`. The cost MUST NOT grow with the size of the trash.
    async fn list_trash(&self, query: &TrashQuery) -> Result<Vec<TrashEntry>, StoreError>;
    /// MUST return the workspace's audit trail after position `after`, oldest first.
    async fn audit_events(
        &self,
        workspace: &WorkspaceSlug,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    // ---- creation -----------------------------------------------------

    /// MUST store a new active project (revision starts anew), or return
    /// `SlugTaken` if an active project of the workspace has its slug.
    async fn create_project(&self, project: &Project) -> Result<(), StoreError>;
    /// Like [`TrashStore::create_project`], for workflows.
    async fn create_workflow(&self, workflow: &Workflow) -> Result<(), StoreError>;
    /// Guarded: MUST add the version and set the project's next version
    /// number to `version.number + 1`.
    async fn create_version(&self, guard: &Guard, version: &Version) -> Result<(), StoreError>;
    /// Guarded: MUST add the training.
    async fn create_training(&self, guard: &Guard, training: &Training) -> Result<(), StoreError>;
    /// Guarded: MUST set the training's status and end time.
    async fn set_training_status(
        &self,
        guard: &Guard,
        training: &TrainingId,
        status: TrainingStatus,
        ended_at: Option<Timestamp>,
    ) -> Result<(), StoreError>;
    /// Guarded: MUST create the image and link it to the guarded project.
    async fn add_image(&self, guard: &Guard, image: &Image) -> Result<(), StoreError>;
    /// Guarded: MUST link an existing image of the workspace to the guarded
    /// project (doing nothing if already linked), or return `Missing` if the
    /// image does not exist at commit time.
    async fn link_image(&self, guard: &Guard, image: &ImageId) -> Result<(), StoreError>;

    // ---- transitions --------------------------------------------------

    /// Guarded: MUST apply the [`TrashPlan`] atomically.
    async fn trash(&self, plan: &TrashPlan) -> Result<(), StoreError>;
    /// Guarded: MUST apply the [`RestorePlan`] atomically, or return
    /// `SlugTaken` (changing nothing) if the root's slug (the new one when
    /// renaming) is held by an active item of its type at commit time.
    async fn restore(&self, plan: &RestorePlan) -> Result<(), StoreError>;
    /// Guarded: MUST apply the [`PurgePlan`] atomically (one transaction per
    /// operation: the cleanup's batches are the operations it claims, so a
    /// crash loses at most the operation in progress) and report what it removed.
    async fn purge(&self, plan: &PurgePlan) -> Result<PurgeCounts, StoreError>;
    /// MUST atomically claim up to `limit` live operations of any workspace
    /// with `scheduled_cleanup_at <= now` that are not claimed (or whose claim
    /// has passed), holding them until `claimed_until`, oldest schedule
    /// first. An operation claimed by one caller MUST NOT be returned to
    /// another before the claim passes. Claims only spread work: the purge
    /// itself is still guarded.
    async fn claim_due_operations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TrashOperation>, StoreError>;

    // ---- pending job cancellations ------------------------------------

    /// MUST atomically claim up to `limit` pending cancellations whose claim
    /// has passed at `now`, holding them until `claimed_until`. A claimed
    /// cancellation MUST NOT be returned to another caller before that.
    async fn claim_cancellations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PendingCancellation>, StoreError>;
    /// MUST remove the pending cancellation and record `event`, atomically.
    async fn complete_cancellation(
        &self,
        training: &TrainingId,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// MUST count a failed attempt, keep the cancellation claimed until
    /// `retry_at`, and record `event`, atomically.
    async fn fail_cancellation(
        &self,
        training: &TrainingId,
        retry_at: Timestamp,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// MUST return the pending cancellations of a workspace (for operators and tests).
    async fn pending_cancellations(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<PendingCancellation>, StoreError>;

    /// MUST answer `Ok` when the storage is reachable (for readiness checks).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// The job canceller failed; the cancellation stays pending and is retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("job cancellation failed: {0}")]
pub struct CancelError(pub String);

/// Stops the jobs of trainings. Called after the trash is committed, inside
/// the request that trashed; a failure never blocks or undoes a trash.
/// Implementations MUST bound their own time (a job system that does not
/// answer within a few seconds is a failure: the cancellation stays pending
/// and the cleanup loop retries it).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait JobCanceller: Send + Sync {
    /// MUST stop the job of `training` (or confirm it is not running) and
    /// return `Ok`; MAY be called more than once for the same training.
    async fn cancel(
        &self,
        workspace: &WorkspaceSlug,
        training: &TrainingId,
    ) -> Result<(), CancelError>;
}

/// The current time. The core never reads the clock itself.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// A source of random identifiers and secrets.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait IdGenerator: Send + Sync {
    /// `len` random ASCII letters and digits, unpredictable to outsiders.
    fn alphanumeric(&self, len: usize) -> String;
}
