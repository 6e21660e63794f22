//! Move to trash.

use crate::domain::*;
use crate::ports::{StoreError, TrashPlan, TrashedItem};
use crate::rules::{self, TrashContext, TrashDecision, TrashRefusal};

use super::{check_access, AccessDenied, TrashService};

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

/// The result of a move to trash (a new one, or the existing one on repeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashOutcome {
    /// The workspace.
    pub workspace: WorkspaceSlug,
    /// The item that was addressed.
    pub item: TrashedItem,
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

enum Decided {
    Done(TrashOutcome),
    Plan(Box<TrashPlan>, TrashedItem),
}

impl TrashService {
    /// Moves an item to trash for `principal`, cascading and cancelling as
    /// the rules say. Repeating it on an item already in trash changes
    /// nothing and reports `already_in_trash`.
    pub async fn move_to_trash(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        target: &TrashTarget,
    ) -> Result<TrashOutcome, TrashError> {
        check_access(
            principal,
            workspace,
            required_scope(Action::MoveToTrash, target.kind()),
        )?;
        for _ in 0..self.config.max_attempts {
            let ctx = TrashContext {
                actor: principal.actor(),
                now: self.now(),
                retention: self.config.retention,
                operation_id: self.new_operation_id()?,
                cleanup_delete_images: matches!(
                    target,
                    TrashTarget::Project {
                        cleanup_delete_images: true,
                        ..
                    }
                ),
                cancel_claim: self.config.claim,
            };
            let (plan, item) = match self.decide_trash(workspace, target, &ctx).await? {
                Decided::Done(outcome) => return Ok(outcome),
                Decided::Plan(plan, item) => (plan, item),
            };
            match self.store.trash(&plan).await {
                Ok(()) => {
                    let pending = self
                        .send_cancellations(workspace, &plan.operation.id, &plan.cancel)
                        .await;
                    return Ok(TrashOutcome {
                        workspace: workspace.clone(),
                        item,
                        deleted_at: plan.operation.deleted_at,
                        scheduled_cleanup_at: plan.operation.scheduled_cleanup_at,
                        already_in_trash: false,
                        cancelled_trainings: plan.cancel.len() as u32,
                        cancellations_pending: pending,
                    });
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(TrashError::Busy)
    }

    async fn decide_trash(
        &self,
        workspace: &WorkspaceSlug,
        target: &TrashTarget,
        ctx: &TrashContext,
    ) -> Result<Decided, TrashError> {
        let already = |op: TrashOperation, item: TrashedItem| {
            Decided::Done(TrashOutcome {
                workspace: workspace.clone(),
                item,
                deleted_at: op.deleted_at,
                scheduled_cleanup_at: op.scheduled_cleanup_at,
                already_in_trash: true,
                cancelled_trainings: 0,
                cancellations_pending: 0,
            })
        };
        let decided = |d: TrashDecision, item: TrashedItem| match d {
            TrashDecision::AlreadyInTrash(op) => already(op, item),
            TrashDecision::Apply(plan) => Decided::Plan(Box::new(plan), item),
        };
        match target {
            TrashTarget::Workflow { .. } | TrashTarget::WorkflowById { .. } => {
                let id = match target {
                    TrashTarget::WorkflowById { id } => id.clone(),
                    TrashTarget::Workflow { slug } => self
                        .store
                        .workflow_id_by_slug(workspace, slug)
                        .await?
                        .ok_or(TrashError::NotFound)?,
                    _ => return Err(TrashError::NotFound),
                };
                let agg = self
                    .store
                    .load_workflow(workspace, &id)
                    .await?
                    .ok_or(TrashError::NotFound)?;
                let item = TrashedItem::Workflow {
                    id: agg.workflow.id.clone(),
                    slug: agg.workflow.slug.clone(),
                    name: agg.workflow.name.clone(),
                };
                Ok(decided(rules::trash_workflow(&agg, ctx), item))
            }
            TrashTarget::Project {
                slug: project_slug, ..
            }
            | TrashTarget::Version {
                project: project_slug,
                ..
            }
            | TrashTarget::Training {
                project: project_slug,
                ..
            } => {
                let id = self
                    .store
                    .project_id_by_slug(workspace, project_slug)
                    .await?
                    .ok_or(TrashError::NotFound)?;
                let agg = self
                    .store
                    .load_project(workspace, &id)
                    .await?
                    .ok_or(TrashError::NotFound)?;
                let project = &agg.project;
                match target {
                    TrashTarget::Project { .. } => {
                        let item = TrashedItem::Project {
                            id: project.id.clone(),
                            slug: project.slug.clone(),
                            name: project.name.clone(),
                        };
                        Ok(decided(rules::trash_project(&agg, ctx), item))
                    }
                    TrashTarget::Version { number, .. } => {
                        let version = agg
                            .versions
                            .iter()
                            .find(|v| v.number == *number)
                            .ok_or(TrashError::NotFound)?;
                        let item = TrashedItem::Version {
                            project: project.id.clone(),
                            project_slug: project.slug.clone(),
                            project_name: project.name.clone(),
                            number: *number,
                            name: version.name.clone(),
                        };
                        Ok(decided(rules::trash_version(&agg, *number, ctx)?, item))
                    }
                    TrashTarget::Training {
                        number, id: tid, ..
                    } => {
                        // The training must live under the version of the path.
                        if !agg
                            .trainings
                            .iter()
                            .any(|t| &t.id == tid && t.version == *number)
                        {
                            return Err(TrashError::NotFound);
                        }
                        let item = TrashedItem::Training {
                            id: tid.clone(),
                            project: project.id.clone(),
                            project_slug: project.slug.clone(),
                            version: *number,
                        };
                        Ok(decided(rules::trash_training(&agg, tid, ctx)?, item))
                    }
                    TrashTarget::Workflow { .. } | TrashTarget::WorkflowById { .. } => {
                        Err(TrashError::NotFound)
                    }
                }
            }
        }
    }
}
