//! Restore from trash.

use crate::domain::*;
use crate::events::{EventType, ItemEvent};
use crate::ports::{RestorePlan, SlugSpace, StoreError, TrashedItem};
use crate::rules::{self, RestoreDecision, RestoreRefusal};

use super::{check_access, AccessDenied, AffectedItem, Contended, Preview, TrashService};

/// The result of a restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreOutcome {
    /// The item addressed.
    pub item: ItemRef,
    /// For projects and workflows: the slug it is active under now (a new
    /// one after `onConflict: rename`).
    pub slug: Option<Slug>,
    /// For versions and trainings: the project they belong to.
    pub parent: Option<ProjectId>,
    /// Whether the item was active already (nothing changed).
    pub already_active: bool,
    /// Whether it was restored under a new slug.
    pub renamed: bool,
}

/// Why a restore failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// The principal may not do this.
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    /// No such item in this workspace's trash (or anywhere in it).
    #[error("not found in trash")]
    NotFound,
    /// A parent is in trash; restore it first.
    #[error("parent {parent} is in trash; restore it first")]
    ParentInTrash {
        /// The trashed parent.
        parent: ItemRef,
    },
    /// The item was trashed with `root` and comes back only with it.
    #[error("this item was moved to trash with {root}; restore that instead")]
    CascadedWith {
        /// The root to restore.
        root: ItemRef,
    },
    /// An active item holds the slug and `onConflict` is `fail`.
    #[error("an active item already uses this slug")]
    NameTaken {
        /// The id of the active item.
        conflicting: String,
    },
    /// The restore window closed at `scheduledCleanupAt`.
    #[error("retention expired")]
    RetentionExpired,
    /// Concurrent changes kept invalidating the decision.
    #[error("the item is changing concurrently; try again")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<Contended> for RestoreError {
    fn from(_: Contended) -> Self {
        RestoreError::Busy
    }
}

impl From<StoreError> for RestoreError {
    fn from(e: StoreError) -> Self {
        RestoreError::Store(e)
    }
}

impl From<RestoreRefusal> for RestoreError {
    fn from(r: RestoreRefusal) -> Self {
        match r {
            RestoreRefusal::NotFound => RestoreError::NotFound,
            RestoreRefusal::RetentionExpired => RestoreError::RetentionExpired,
            RestoreRefusal::CascadedWith { root } => RestoreError::CascadedWith { root },
            RestoreRefusal::ParentInTrash { parent } => RestoreError::ParentInTrash { parent },
        }
    }
}

impl TrashService {
    /// Restores exactly the operation that trashed `target`: its root and
    /// the items cascaded with it, nothing else.
    pub async fn restore(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        target: &ItemRef,
        on_conflict: OnConflict,
    ) -> Result<RestoreOutcome, RestoreError> {
        check_access(
            principal,
            workspace,
            required_scope(Action::Restore, target.kind()),
        )?;
        let actor = principal.actor();
        let mut rename_to: Option<Slug> = None;
        // Candidates refused at commit (taken meanwhile, or beyond what the
        // prefix lookup can see for very long slugs).
        let mut refused: Vec<Slug> = Vec::new();
        let mut attempts = self.attempts();
        loop {
            attempts.next().await?;
            let aggregate = self
                .aggregate_of(workspace, target)
                .await?
                .ok_or(RestoreError::NotFound)?;
            let turn = self.runtime.locks.lock(&aggregate).await;
            let now = self.now();
            let RestoreDecided {
                decision,
                slug: current_slug,
                parent,
                described,
                ..
            } = self
                .decide_restore(
                    workspace,
                    target,
                    &aggregate,
                    &actor,
                    now,
                    rename_to.clone(),
                )
                .await?;
            let mut plan: RestorePlan = match decision {
                RestoreDecision::AlreadyActive => {
                    return Ok(RestoreOutcome {
                        item: target.clone(),
                        slug: current_slug,
                        parent,
                        already_active: true,
                        renamed: false,
                    })
                }
                RestoreDecision::Apply(plan) => plan,
            };
            if let Some(mut e) = described {
                if let Some(slug) = &plan.new_slug {
                    match &mut e.item {
                        TrashedItem::Project(p) => p.slug = slug.clone(),
                        TrashedItem::Workflow(w) => w.slug = slug.clone(),
                        _ => {}
                    }
                }
                plan.outbox = self.item_messages(EventType::ItemRestored, [e], now);
            }
            let written = self.writes.restore(&plan).await;
            drop(turn);
            match written {
                Ok(()) => {
                    let renamed = plan.new_slug.is_some();
                    return Ok(RestoreOutcome {
                        item: target.clone(),
                        slug: plan.new_slug.or(current_slug),
                        parent,
                        already_active: false,
                        renamed,
                    });
                }
                Err(StoreError::Conflict) => continue,
                Err(StoreError::SlugTaken { conflicting }) => match on_conflict {
                    OnConflict::Fail => return Err(RestoreError::NameTaken { conflicting }),
                    OnConflict::Rename => {
                        let (space, base) = match (target, current_slug) {
                            (ItemRef::Project(_), Some(s)) => (SlugSpace::Projects, s),
                            (ItemRef::Workflow(_), Some(s)) => (SlugSpace::Workflows, s),
                            _ => return Err(RestoreError::NameTaken { conflicting }),
                        };
                        let mut taken = self.reads.taken_slugs(workspace, space, &base).await?;
                        refused.extend(rename_to.take());
                        taken.extend(refused.iter().cloned());
                        rename_to = Some(rules::free_slug(&base, &taken));
                    }
                },
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn decide_restore(
        &self,
        workspace: &WorkspaceSlug,
        target: &ItemRef,
        aggregate: &AggregateId,
        actor: &Actor,
        now: Timestamp,
        new_slug: Option<Slug>,
    ) -> Result<RestoreDecided, RestoreError> {
        let project_id = match aggregate {
            AggregateId::Workflow(id) => {
                let agg = self
                    .reads
                    .load_workflow(workspace, id)
                    .await?
                    .ok_or(RestoreError::NotFound)?;
                let slug = Some(agg.workflow.slug.clone());
                let decision = rules::restore_workflow(&agg, actor, now, new_slug)?;
                let described = agg.operation.as_ref().map(|op| {
                    ItemEvent::of(TrashedItem::Workflow(rules::describe_workflow(&agg)), op)
                });
                let items = match &decision {
                    RestoreDecision::Apply(plan) => vec![plan.root.clone()],
                    RestoreDecision::AlreadyActive => Vec::new(),
                };
                return Ok(RestoreDecided {
                    decision,
                    slug,
                    parent: None,
                    items,
                    described,
                });
            }
            AggregateId::Project(id) => id,
        };
        // A version's restore decides on that version's subtree only (its
        // operation holds the version and its trainings): read just that.
        let agg = match target {
            ItemRef::Version(_, number) => {
                let part = crate::ports::ProjectPart::Version(*number);
                self.reads
                    .load_project_part(workspace, project_id, part)
                    .await?
            }
            _ => self.reads.load_project(workspace, project_id).await?,
        }
        .ok_or(RestoreError::NotFound)?;
        let slug = matches!(target, ItemRef::Project(_)).then(|| agg.project.slug.clone());
        let parent = (!matches!(target, ItemRef::Project(_))).then(|| agg.project.id.clone());
        let decision = rules::restore_in_project(&agg, target, actor, now, new_slug)?;
        let described = match &decision {
            RestoreDecision::Apply(plan) => agg
                .operations
                .iter()
                .find(|op| op.id == plan.operation)
                .zip(rules::describe_in_project(&agg, &plan.root))
                .map(|(op, (_, item))| ItemEvent::of(item, op)),
            RestoreDecision::AlreadyActive => None,
        };
        let items = match &decision {
            RestoreDecision::Apply(plan) => rules::operation_items(&agg, &plan.operation),
            RestoreDecision::AlreadyActive => Vec::new(),
        };
        Ok(RestoreDecided {
            decision,
            slug,
            parent,
            items,
            described,
        })
    }
}

/// What deciding a restore found.
struct RestoreDecided {
    decision: RestoreDecision,
    /// For a project or workflow: its current slug.
    slug: Option<Slug>,
    /// For a version or training: its project.
    parent: Option<ProjectId>,
    /// What the plan would restore: the root, then every item recording
    /// its operation (empty when already active).
    items: Vec<ItemRef>,
    /// The restored root as outbound messages describe it.
    described: Option<ItemEvent>,
}

impl TrashService {
    /// Dry run of [`TrashService::restore`]: the same checks and decision,
    /// the answer the real call would give and every item it would bring
    /// back; nothing changes. The slug check the store makes at commit is
    /// predicted from a read of the active holders of the slug, and a
    /// rename picks the slug the real call would pick now.
    pub async fn preview_restore(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        target: &ItemRef,
        on_conflict: OnConflict,
    ) -> Result<Preview<RestoreOutcome>, RestoreError> {
        check_access(
            principal,
            workspace,
            required_scope(Action::Restore, target.kind()),
        )?;
        let aggregate = self
            .aggregate_of(workspace, target)
            .await?
            .ok_or(RestoreError::NotFound)?;
        let decided = self
            .decide_restore(
                workspace,
                target,
                &aggregate,
                &principal.actor(),
                self.now(),
                None,
            )
            .await?;
        let mut outcome = RestoreOutcome {
            item: target.clone(),
            slug: decided.slug.clone(),
            parent: decided.parent.clone(),
            already_active: false,
            renamed: false,
        };
        if let RestoreDecision::AlreadyActive = decided.decision {
            outcome.already_active = true;
            return Ok(Preview {
                outcome,
                items: Vec::new(),
            });
        }
        if let Some(current) = &decided.slug {
            let space = match target {
                ItemRef::Workflow(_) => SlugSpace::Workflows,
                _ => SlugSpace::Projects,
            };
            if let Some(conflicting) = self
                .active_holder(workspace, space, current, target)
                .await?
            {
                match on_conflict {
                    OnConflict::Fail => return Err(RestoreError::NameTaken { conflicting }),
                    OnConflict::Rename => {
                        let taken = self.reads.taken_slugs(workspace, space, current).await?;
                        outcome.slug = Some(rules::free_slug(current, &taken));
                        outcome.renamed = true;
                    }
                }
            }
        }
        let items = decided
            .items
            .into_iter()
            .map(|item| match item {
                ItemRef::Project(_) | ItemRef::Workflow(_) => AffectedItem {
                    item,
                    slug: outcome.slug.clone(),
                    parent: None,
                },
                other => AffectedItem {
                    parent: match &aggregate {
                        AggregateId::Project(p) => Some(p.clone()),
                        AggregateId::Workflow(_) => None,
                    },
                    item: other,
                    slug: None,
                },
            })
            .collect();
        Ok(Preview { outcome, items })
    }

    /// The id of the active item other than `target` holding `slug`.
    async fn active_holder(
        &self,
        workspace: &WorkspaceSlug,
        space: SlugSpace,
        slug: &Slug,
        target: &ItemRef,
    ) -> Result<Option<String>, StoreError> {
        Ok(match space {
            SlugSpace::Projects => self
                .reads
                .projects_with_slug(workspace, slug)
                .await?
                .into_iter()
                .find(|h| h.trashed_at.is_none() && ItemRef::Project(h.id.clone()) != *target)
                .map(|h| h.id.to_string()),
            SlugSpace::Workflows => self
                .reads
                .workflows_with_slug(workspace, slug)
                .await?
                .into_iter()
                .find(|h| h.trashed_at.is_none() && ItemRef::Workflow(h.id.clone()) != *target)
                .map(|h| h.id.to_string()),
        })
    }
}

/// One item of a bulk restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreItem {
    /// The item to restore.
    pub target: ItemRef,
    /// What to do if an active item took its slug.
    pub on_conflict: OnConflict,
}

/// Why a bulk restore failed as a whole (each item's own refusal is in its
/// result instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BulkRestoreError {
    /// The principal belongs to another workspace.
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    /// No items, or more than [`rules::MAX_BULK_RESTORE`].
    #[error("a bulk restore names 1 to {max} items, not {given}")]
    Count {
        /// How many were given.
        given: usize,
        /// The most allowed.
        max: usize,
    },
    /// Concurrent changes kept invalidating the decision on one item; the
    /// items tried before it keep their results.
    #[error("an item is changing concurrently; try again")]
    Busy,
    /// The store failed; the items tried before keep their results.
    #[error(transparent)]
    Store(StoreError),
}

impl TrashService {
    /// Restores many items in one call, each on its own (not all or
    /// nothing), with the scope of each item's type checked per item. A
    /// project is restored before its versions when both are named
    /// ([`rules::bulk_restore_order`]). Results are in request order. Busy
    /// or failing storage ends the whole call.
    pub async fn restore_many(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        items: &[RestoreItem],
    ) -> Result<Vec<Result<RestoreOutcome, RestoreError>>, BulkRestoreError> {
        if principal.workspace() != workspace {
            return Err(AccessDenied::WrongWorkspace.into());
        }
        if items.is_empty() || items.len() > rules::MAX_BULK_RESTORE {
            return Err(BulkRestoreError::Count {
                given: items.len(),
                max: rules::MAX_BULK_RESTORE,
            });
        }
        let targets: Vec<ItemRef> = items.iter().map(|i| i.target.clone()).collect();
        let mut results: Vec<Option<Result<RestoreOutcome, RestoreError>>> =
            vec![None; items.len()];
        for i in rules::bulk_restore_order(&targets) {
            let item = &items[i];
            let result = self
                .restore(principal, workspace, &item.target, item.on_conflict)
                .await;
            match result {
                Err(RestoreError::Busy) => return Err(BulkRestoreError::Busy),
                Err(RestoreError::Store(e)) => return Err(BulkRestoreError::Store(e)),
                other => results[i] = Some(other),
            }
        }
        // The order visits every index exactly once.
        Ok(results.into_iter().flatten().collect())
    }
}
