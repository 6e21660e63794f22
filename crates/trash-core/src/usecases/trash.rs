//! Move to trash.

use std::future::Future;

use crate::domain::*;
use crate::events::{
    cancel_message, item_message, purge_soon_message, EventType, ItemEvent, OutboxMessage,
};
use crate::ports::{
    ProjectItem, StoreError, TrainingItem, TrashPlan, TrashedItem, VersionItem, WorkflowItem,
};
use crate::rules::{self, TrashContext, TrashDecision, TrashRefusal};

use super::{
    check_access, project_by_slug, workflow_by_slug, AccessDenied, Contended, EventsConfig,
    TrashService,
};

/// What to move to trash, addressed as in the REST paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrashTarget {
    /// `DELETE /{ws}/{project}`.
    Project {
        /// The project slug.
        slug: Slug,
        /// Delete the project's exclusive images at cleanup.
        cleanup_delete_images: bool,
    },
    /// `DELETE /{ws}/{project}/{version}`.
    Version {
        /// The project slug.
        project: Slug,
        /// The version number.
        number: VersionNumber,
    },
    /// `DELETE /{ws}/workflows/{workflow}`.
    Workflow {
        /// The workflow slug.
        slug: Slug,
    },
    /// `DELETE /{ws}/workflows/{id}`: a workflow addressed by its id.
    WorkflowById {
        /// The workflow id.
        id: WorkflowId,
    },
    /// `DELETE /{ws}/{project}/{version}/v2/trainings/{id}`.
    Training {
        /// The project slug.
        project: Slug,
        /// The version number.
        number: VersionNumber,
        /// The training id.
        id: TrainingId,
    },
}

impl TrashTarget {
    /// The kind of item addressed.
    pub fn kind(&self) -> ItemKind {
        match self {
            TrashTarget::Project { .. } => ItemKind::Project,
            TrashTarget::Version { .. } => ItemKind::Version,
            TrashTarget::Workflow { .. } | TrashTarget::WorkflowById { .. } => ItemKind::Workflow,
            TrashTarget::Training { .. } => ItemKind::Training,
        }
    }
}

/// The result of a move to trash (a new one, or the existing one on
/// repeat), typed by what was trashed: trashing a project yields a
/// `Trashed<ProjectItem>`, and so on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trashed<T> {
    /// The workspace.
    pub workspace: WorkspaceSlug,
    /// The item that was addressed.
    pub item: T,
    /// When the item's operation was created.
    pub deleted_at: Timestamp,
    /// When cleanup may remove it (fixed at trash time).
    pub scheduled_cleanup_at: Timestamp,
    /// Whether the item was already in trash (nothing changed).
    pub already_in_trash: bool,
    /// In-flight trainings whose cancellation this call requested.
    pub cancelled_trainings: u32,
    /// Of those, cancellations the job canceller has not confirmed yet (kept
    /// pending and retried by the cleanup loop).
    pub cancellations_pending: u32,
}

impl<T> Trashed<T> {
    /// The same outcome with its item mapped (e.g. into a [`TrashedItem`]).
    pub fn map_item<U>(self, f: impl FnOnce(T) -> U) -> Trashed<U> {
        Trashed {
            workspace: self.workspace,
            item: f(self.item),
            deleted_at: self.deleted_at,
            scheduled_cleanup_at: self.scheduled_cleanup_at,
            already_in_trash: self.already_in_trash,
            cancelled_trainings: self.cancelled_trainings,
            cancellations_pending: self.cancellations_pending,
        }
    }
}

/// The outcome of [`TrashService::move_to_trash`], for any kind of item.
pub type TrashOutcome = Trashed<TrashedItem>;

/// One item a call moves (into or out of trash), as a dry run lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedItem {
    /// The item.
    pub item: ItemRef,
    /// For a project or workflow: its slug (after the move).
    pub slug: Option<Slug>,
    /// For a version or training: its project.
    pub parent: Option<ProjectId>,
}

impl AffectedItem {
    /// An item of a project aggregate (`project` is the aggregate's project).
    pub fn in_project(item: ItemRef, project: &Project) -> AffectedItem {
        match item {
            ItemRef::Project(_) => AffectedItem {
                item,
                slug: Some(project.slug.clone()),
                parent: None,
            },
            other => AffectedItem {
                item: other,
                slug: None,
                parent: Some(project.id.clone()),
            },
        }
    }
}

/// What a dry run found: the answer the real call would give, and every
/// item it would move. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview<T> {
    /// The outcome the real call would have.
    pub outcome: T,
    /// Every item that would move, the addressed one first; empty when
    /// nothing would change (already in trash, already active).
    pub items: Vec<AffectedItem>,
}

/// Whether a call changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Decide and apply.
    Apply,
    /// Decide with the same functions, apply nothing.
    DryRun,
}

/// A workflow addressed by slug (`DELETE /{ws}/workflows/{slug}`) or by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkflowRef {
    /// By slug: the active workflow with it, else the most recently trashed.
    Slug(Slug),
    /// By id.
    Id(WorkflowId),
}

/// Why a move to trash failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrashError {
    /// The principal may not do this.
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    /// No such item in this workspace.
    #[error("not found")]
    NotFound,
    /// The training is queued or running.
    #[error("training {0} is in progress; stop it before moving it to trash")]
    TrainingInProgress(TrainingId),
    /// Concurrent changes kept invalidating the decision.
    #[error("the item is changing concurrently; try again")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<Contended> for TrashError {
    fn from(_: Contended) -> Self {
        TrashError::Busy
    }
}

impl From<StoreError> for TrashError {
    fn from(e: StoreError) -> Self {
        TrashError::Store(e)
    }
}

impl From<TrashRefusal> for TrashError {
    fn from(r: TrashRefusal) -> Self {
        match r {
            TrashRefusal::NotFound => TrashError::NotFound,
            TrashRefusal::TrainingInProgress(t) => TrashError::TrainingInProgress(t),
        }
    }
}

/// One kind of trash target: which aggregate it is in, and how to decide.
trait Subject: Sync {
    type Item: Send + Clone + Into<TrashedItem>;
    fn kind(&self) -> ItemKind;
    fn cleanup_delete_images(&self) -> bool {
        false
    }
    /// The aggregate the target is in (read again on every attempt).
    fn resolve(
        &self,
        service: &TrashService,
        workspace: &WorkspaceSlug,
    ) -> impl Future<Output = Result<AggregateId, TrashError>> + Send;
    /// How an item this target's move takes is listed by a dry run.
    fn affected(item: ItemRef, described: &Self::Item) -> AffectedItem;
    /// Reads that aggregate and decides.
    fn decide(
        &self,
        service: &TrashService,
        workspace: &WorkspaceSlug,
        aggregate: &AggregateId,
        ctx: &TrashContext,
    ) -> impl Future<Output = Result<(TrashDecision, Self::Item), TrashError>> + Send;
}

struct ProjectSubject<'a> {
    slug: &'a Slug,
    cleanup_delete_images: bool,
}

struct VersionSubject<'a> {
    project: &'a Slug,
    number: VersionNumber,
}

struct TrainingSubject<'a> {
    project: &'a Slug,
    number: VersionNumber,
    id: &'a TrainingId,
}

impl TrashService {
    async fn project_by_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<AggregateId, TrashError> {
        project_by_slug(self.reads.as_ref(), workspace, slug)
            .await?
            .map(AggregateId::Project)
            .ok_or(TrashError::NotFound)
    }

    /// The project aggregate, whole (`part` is `None`: a project's trash
    /// decides on everything in it) or narrowed to the one version whose
    /// subtree a version's or training's trash decides on.
    async fn project_aggregate(
        &self,
        workspace: &WorkspaceSlug,
        aggregate: &AggregateId,
        part: Option<crate::ports::ProjectPart>,
    ) -> Result<crate::ports::ProjectAggregate, TrashError> {
        let AggregateId::Project(id) = aggregate else {
            return Err(TrashError::NotFound);
        };
        match part {
            None => self.reads.load_project(workspace, id).await?,
            Some(part) => self.reads.load_project_part(workspace, id, part).await?,
        }
        .ok_or(TrashError::NotFound)
    }
}

fn project_item(p: &Project) -> ProjectItem {
    ProjectItem {
        id: p.id.clone(),
        slug: p.slug.clone(),
        name: p.name.clone(),
    }
}

impl Subject for ProjectSubject<'_> {
    fn affected(item: ItemRef, described: &ProjectItem) -> AffectedItem {
        match item {
            ItemRef::Project(_) => AffectedItem {
                item,
                slug: Some(described.slug.clone()),
                parent: None,
            },
            other => AffectedItem {
                item: other,
                slug: None,
                parent: Some(described.id.clone()),
            },
        }
    }
    type Item = ProjectItem;
    fn kind(&self) -> ItemKind {
        ItemKind::Project
    }
    fn cleanup_delete_images(&self) -> bool {
        self.cleanup_delete_images
    }
    async fn resolve(
        &self,
        service: &TrashService,
        workspace: &WorkspaceSlug,
    ) -> Result<AggregateId, TrashError> {
        service.project_by_slug(workspace, self.slug).await
    }
    async fn decide(
        &self,
        service: &TrashService,
        workspace: &WorkspaceSlug,
        aggregate: &AggregateId,
        ctx: &TrashContext,
    ) -> Result<(TrashDecision, ProjectItem), TrashError> {
        let agg = service
            .project_aggregate(workspace, aggregate, None)
            .await?;
        Ok((rules::trash_project(&agg, ctx), project_item(&agg.project)))
    }
}

impl Subject for VersionSubject<'_> {
    fn affected(item: ItemRef, described: &VersionItem) -> AffectedItem {
        AffectedItem {
            item,
            slug: None,
            parent: Some(described.project.clone()),
        }
    }
    type Item = VersionItem;
    fn kind(&self) -> ItemKind {
        ItemKind::Version
    }
    async fn resolve(
        &self,
        service: &TrashService,
        workspace: &WorkspaceSlug,
    ) -> Result<AggregateId, TrashError> {
        service.project_by_slug(workspace, self.project).await
    }
    async fn decide(
        &self,
        service: &TrashService,
        workspace: &WorkspaceSlug,
        aggregate: &AggregateId,
        ctx: &TrashContext,
    ) -> Result<(TrashDecision, VersionItem), TrashError> {
        let part = crate::ports::ProjectPart::Version(self.number);
        let agg = service
            .project_aggregate(workspace, aggregate, Some(part))
            .await?;
        let version = agg
            .versions
            .iter()
            .find(|v| v.number == self.number)
            .ok_or(TrashError::NotFound)?;
        let item = VersionItem {
            project: agg.project.id.clone(),
            project_slug: agg.project.slug.clone(),
            project_name: agg.project.name.clone(),
            number: self.number,
            name: version.name.clone(),
        };
        Ok((rules::trash_version(&agg, self.number, ctx)?, item))
    }
}

impl Subject for TrainingSubject<'_> {
    fn affected(item: ItemRef, described: &TrainingItem) -> AffectedItem {
        AffectedItem {
            item,
            slug: None,
            parent: Some(described.project.clone()),
        }
    }
    type Item = TrainingItem;
    fn kind(&self) -> ItemKind {
        ItemKind::Training
    }
    async fn resolve(
        &self,
        service: &TrashService,
        workspace: &WorkspaceSlug,
    ) -> Result<AggregateId, TrashError> {
        service.project_by_slug(workspace, self.project).await
    }
    async fn decide(
        &self,
        service: &TrashService,
        workspace: &WorkspaceSlug,
        aggregate: &AggregateId,
        ctx: &TrashContext,
    ) -> Result<(TrashDecision, TrainingItem), TrashError> {
        let part = crate::ports::ProjectPart::Version(self.number);
        let agg = service
            .project_aggregate(workspace, aggregate, Some(part))
            .await?;
        // The training must live under the version of the path.
        if !agg
            .trainings
            .iter()
            .any(|t| &t.id == self.id && t.version == self.number)
        {
            return Err(TrashError::NotFound);
        }
        let item = TrainingItem {
            id: self.id.clone(),
            project: agg.project.id.clone(),
            project_slug: agg.project.slug.clone(),
            version: self.number,
        };
        Ok((rules::trash_training(&agg, self.id, ctx)?, item))
    }
}

impl Subject for WorkflowRef {
    fn affected(item: ItemRef, described: &WorkflowItem) -> AffectedItem {
        AffectedItem {
            item,
            slug: Some(described.slug.clone()),
            parent: None,
        }
    }
    type Item = WorkflowItem;
    fn kind(&self) -> ItemKind {
        ItemKind::Workflow
    }
    async fn resolve(
        &self,
        service: &TrashService,
        workspace: &WorkspaceSlug,
    ) -> Result<AggregateId, TrashError> {
        match self {
            WorkflowRef::Id(id) => Ok(AggregateId::Workflow(id.clone())),
            WorkflowRef::Slug(slug) => workflow_by_slug(service.reads.as_ref(), workspace, slug)
                .await?
                .map(AggregateId::Workflow)
                .ok_or(TrashError::NotFound),
        }
    }
    async fn decide(
        &self,
        service: &TrashService,
        workspace: &WorkspaceSlug,
        aggregate: &AggregateId,
        ctx: &TrashContext,
    ) -> Result<(TrashDecision, WorkflowItem), TrashError> {
        let AggregateId::Workflow(id) = aggregate else {
            return Err(TrashError::NotFound);
        };
        let agg = service
            .reads
            .load_workflow(workspace, id)
            .await?
            .ok_or(TrashError::NotFound)?;
        Ok((
            rules::trash_workflow(&agg, ctx),
            rules::describe_workflow(&agg),
        ))
    }
}

impl From<ProjectItem> for TrashedItem {
    fn from(item: ProjectItem) -> Self {
        TrashedItem::Project(item)
    }
}

impl From<VersionItem> for TrashedItem {
    fn from(item: VersionItem) -> Self {
        TrashedItem::Version(item)
    }
}

impl From<WorkflowItem> for TrashedItem {
    fn from(item: WorkflowItem) -> Self {
        TrashedItem::Workflow(item)
    }
}

impl From<TrainingItem> for TrashedItem {
    fn from(item: TrainingItem) -> Self {
        TrashedItem::Training(item)
    }
}

impl TrashService {
    /// The messages of a trash: `trashed` now, `purge_soon` at its notice
    /// time, and `training.cancel_requested` for every cancelled training.
    async fn trash_messages(
        &self,
        plan: &TrashPlan,
        item: TrashedItem,
        events: EventsConfig,
    ) -> Result<Vec<OutboxMessage>, TrashError> {
        let op = &plan.operation;
        let now = op.deleted_at;
        let e = ItemEvent::of(item, op);
        let mut out = vec![
            item_message(self.new_message_id(), EventType::ItemTrashed, &e, now),
            purge_soon_message(self.new_message_id(), &e, events.purge_notice, now),
        ];
        if let (false, AggregateId::Project(project)) =
            (plan.cancel.is_empty(), &plan.guard.aggregate)
        {
            // Gone meanwhile: the guarded write conflicts and this is redone.
            let Some(agg) = self.reads.load_project(&op.workspace, project).await? else {
                return Ok(out);
            };
            for training in &plan.cancel {
                if let Some((_, TrashedItem::Training(t))) =
                    rules::describe_in_project(&agg, &ItemRef::Training(training.clone()))
                {
                    out.push(cancel_message(&op.workspace, &t, now));
                }
            }
        }
        Ok(out)
    }

    /// Moves a project to trash (`project:update`) with its active versions
    /// and their trainings, cancelling the in-flight ones. With
    /// `cleanup_delete_images`, the cleanup later also deletes the images no
    /// other project links. Repeating it on a project already in trash
    /// changes nothing and reports `already_in_trash`.
    pub async fn trash_project(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        slug: &Slug,
        cleanup_delete_images: bool,
    ) -> Result<Trashed<ProjectItem>, TrashError> {
        let subject = ProjectSubject {
            slug,
            cleanup_delete_images,
        };
        self.run_trash(principal, workspace, &subject).await
    }

    /// Moves a version to trash (`version:update`) with its active
    /// trainings, cancelling the in-flight ones.
    pub async fn trash_version(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        project: &Slug,
        number: VersionNumber,
    ) -> Result<Trashed<VersionItem>, TrashError> {
        let subject = VersionSubject { project, number };
        self.run_trash(principal, workspace, &subject).await
    }

    /// Moves a workflow to trash (`workflow:update`).
    pub async fn trash_workflow(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        workflow: &WorkflowRef,
    ) -> Result<Trashed<WorkflowItem>, TrashError> {
        self.run_trash(principal, workspace, workflow).await
    }

    /// Moves a training to trash (`training:update`); refused while it is
    /// queued or running.
    pub async fn trash_training(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        project: &Slug,
        number: VersionNumber,
        id: &TrainingId,
    ) -> Result<Trashed<TrainingItem>, TrashError> {
        let subject = TrainingSubject {
            project,
            number,
            id,
        };
        self.run_trash(principal, workspace, &subject).await
    }

    /// Dry run of [`TrashService::trash_project`]: the same checks and
    /// decision, the answer the real call would give and every item it
    /// would move; nothing changes and no job is cancelled.
    pub async fn preview_trash_project(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        slug: &Slug,
        cleanup_delete_images: bool,
    ) -> Result<Preview<Trashed<ProjectItem>>, TrashError> {
        let subject = ProjectSubject {
            slug,
            cleanup_delete_images,
        };
        self.preview_trash(principal, workspace, &subject).await
    }

    /// Dry run of [`TrashService::trash_version`].
    pub async fn preview_trash_version(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        project: &Slug,
        number: VersionNumber,
    ) -> Result<Preview<Trashed<VersionItem>>, TrashError> {
        let subject = VersionSubject { project, number };
        self.preview_trash(principal, workspace, &subject).await
    }

    /// Dry run of [`TrashService::trash_workflow`].
    pub async fn preview_trash_workflow(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        workflow: &WorkflowRef,
    ) -> Result<Preview<Trashed<WorkflowItem>>, TrashError> {
        self.preview_trash(principal, workspace, workflow).await
    }

    /// Dry run of [`TrashService::trash_training`].
    pub async fn preview_trash_training(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        project: &Slug,
        number: VersionNumber,
        id: &TrainingId,
    ) -> Result<Preview<Trashed<TrainingItem>>, TrashError> {
        let subject = TrainingSubject {
            project,
            number,
            id,
        };
        self.preview_trash(principal, workspace, &subject).await
    }

    /// Moves any item to trash: [`TrashService::trash_project`] and its
    /// siblings, for callers that hold a [`TrashTarget`].
    pub async fn move_to_trash(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        target: &TrashTarget,
    ) -> Result<TrashOutcome, TrashError> {
        Ok(match target {
            TrashTarget::Project {
                slug,
                cleanup_delete_images,
            } => self
                .trash_project(principal, workspace, slug, *cleanup_delete_images)
                .await?
                .map_item(TrashedItem::Project),
            TrashTarget::Version { project, number } => self
                .trash_version(principal, workspace, project, *number)
                .await?
                .map_item(TrashedItem::Version),
            TrashTarget::Workflow { slug } => self
                .trash_workflow(principal, workspace, &WorkflowRef::Slug(slug.clone()))
                .await?
                .map_item(TrashedItem::Workflow),
            TrashTarget::WorkflowById { id } => self
                .trash_workflow(principal, workspace, &WorkflowRef::Id(id.clone()))
                .await?
                .map_item(TrashedItem::Workflow),
            TrashTarget::Training {
                project,
                number,
                id,
            } => self
                .trash_training(principal, workspace, project, *number, id)
                .await?
                .map_item(TrashedItem::Training),
        })
    }

    async fn run_trash<S: Subject>(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        subject: &S,
    ) -> Result<Trashed<S::Item>, TrashError> {
        Ok(self
            .decide_and_trash(principal, workspace, subject, Mode::Apply)
            .await?
            .outcome)
    }

    async fn preview_trash<S: Subject>(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        subject: &S,
    ) -> Result<Preview<Trashed<S::Item>>, TrashError> {
        self.decide_and_trash(principal, workspace, subject, Mode::DryRun)
            .await
    }

    /// The one path of every move to trash: a dry run decides exactly as
    /// the real call does and stops before writing.
    async fn decide_and_trash<S: Subject>(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        subject: &S,
        mode: Mode,
    ) -> Result<Preview<Trashed<S::Item>>, TrashError> {
        check_access(
            principal,
            workspace,
            required_scope(Action::MoveToTrash, subject.kind()),
        )?;
        let mut attempts = self.attempts();
        loop {
            attempts.next().await?;
            let aggregate = subject.resolve(self, workspace).await?;
            // Writers of one aggregate in this process take turns; the
            // guard still decides between processes.
            let turn = self.runtime.locks.lock(&aggregate).await;
            let ctx = TrashContext {
                actor: principal.actor(),
                now: self.now(),
                retention: self.config.retention,
                operation_id: self.new_operation_id()?,
                cleanup_delete_images: subject.cleanup_delete_images(),
                cancel_claim: self.config.claim,
            };
            let (decision, item) = subject.decide(self, workspace, &aggregate, &ctx).await?;
            let mut plan = match decision {
                TrashDecision::AlreadyInTrash(op) => {
                    return Ok(Preview {
                        outcome: Trashed {
                            workspace: workspace.clone(),
                            item,
                            deleted_at: op.deleted_at,
                            scheduled_cleanup_at: op.scheduled_cleanup_at,
                            already_in_trash: true,
                            cancelled_trainings: 0,
                            cancellations_pending: 0,
                        },
                        items: Vec::new(),
                    })
                }
                TrashDecision::Apply(plan) => plan,
            };
            if mode == Mode::DryRun {
                let items = std::iter::once(&plan.operation.root)
                    .chain(&plan.members)
                    .map(|i| S::affected(i.clone(), &item))
                    .collect();
                return Ok(Preview {
                    outcome: Trashed {
                        workspace: workspace.clone(),
                        item,
                        deleted_at: plan.operation.deleted_at,
                        scheduled_cleanup_at: plan.operation.scheduled_cleanup_at,
                        already_in_trash: false,
                        cancelled_trainings: plan.cancel.len() as u32,
                        cancellations_pending: 0,
                    },
                    items,
                });
            }
            if let Some(events) = self.config.events {
                plan.outbox = self
                    .trash_messages(&plan, item.clone().into(), events)
                    .await?;
            }
            let written = self.writes.trash(&plan).await;
            // The job system is called outside the turn.
            drop(turn);
            match written {
                Ok(()) => {
                    let pending = self
                        .send_cancellations(workspace, &plan.operation.id, &plan.cancel)
                        .await;
                    return Ok(Preview {
                        outcome: Trashed {
                            workspace: workspace.clone(),
                            item,
                            deleted_at: plan.operation.deleted_at,
                            scheduled_cleanup_at: plan.operation.scheduled_cleanup_at,
                            already_in_trash: false,
                            cancelled_trainings: plan.cancel.len() as u32,
                            cancellations_pending: pending,
                        },
                        items: Vec::new(),
                    });
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}
