//! Permanent deletion: only for a web owner or admin ([`WorkspaceAdmin`]).
//! No API-key principal can reach these use cases: their signatures take a
//! `WorkspaceAdmin`, which cannot be built from an API key.

use crate::domain::*;
use crate::ports::{PurgeCounts, StoreError, TrashedItem};
use crate::rules::{self, PurgeReason, PurgeRefusal};

use super::cleanup::{PurgeError, PurgeOutcome};
use super::{ListTrashRequest, PageLimit, TrashService};

/// Why a permanent deletion failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeleteForeverError {
    /// The admin belongs to another workspace.
    #[error("you are not an administrator of this workspace")]
    WrongWorkspace,
    /// The item is not in this workspace's trash.
    #[error("not found in trash")]
    NotInTrash,
    /// The item was trashed with `root`; only the root can be deleted.
    #[error("this item was moved to trash with {root}; delete that instead")]
    CascadedWith {
        /// The root of its operation.
        root: ItemRef,
    },
    /// The typed confirmation does not match the item's name (or, to empty
    /// the trash, the workspace slug).
    #[error("the confirmation does not match; type {expected:?} to confirm")]
    ConfirmationMismatch {
        /// What has to be typed.
        expected: String,
    },
    /// Legal holds stop its destruction; release them first.
    #[error("this item is under legal hold ({}); release the hold first", holds.iter().map(|h| h.as_str()).collect::<Vec<_>>().join(", "))]
    Held {
        /// The holds that block it.
        holds: Vec<HoldId>,
    },
    /// Concurrent changes kept invalidating the decision.
    #[error("the item is changing concurrently; try again")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PurgeError> for DeleteForeverError {
    fn from(e: PurgeError) -> Self {
        match e {
            PurgeError::Busy => DeleteForeverError::Busy,
            PurgeError::Store(e) => DeleteForeverError::Store(e),
        }
    }
}

/// What "delete forever" of one trash item would destroy, as of now: the
/// purge plan the deletion itself would make (the same rules), applied to
/// nothing. See [`TrashService::preview_delete_forever`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteForeverPreview {
    /// The item, as the trash shows it.
    pub item: TrashedItem,
    /// The operation that trashed it.
    pub operation: TrashOperation,
    /// What has to be typed to confirm (the item's name).
    pub confirmation: String,
    /// What goes: the root and every dependant, trashed with it or earlier
    /// on its own (`images`: the images no other project links, counted
    /// only when `deletes_images`).
    pub removed: PurgeCounts,
    /// Whether the images linked only to the removed project go too (a
    /// project trashed with `cleanupDeleteImages`); otherwise they are kept.
    pub deletes_images: bool,
}

/// What an "empty trash" removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EmptyTrashReport {
    /// Operations removed.
    pub operations: u32,
    /// Operations kept because legal holds stop their destruction.
    pub held: u32,
    /// Items removed.
    pub removed: PurgeCounts,
}

impl TrashService {
    /// "Delete forever" of one trash item (an operation root), before its
    /// schedule. `confirmation` must be the item's name as shown in the
    /// trash (a training's id, having no name). Recorded as
    /// `DeletedForever` with the admin as actor.
    pub async fn delete_forever(
        &self,
        admin: &WorkspaceAdmin,
        workspace: &WorkspaceSlug,
        target: &ItemRef,
        confirmation: &str,
    ) -> Result<PurgeCounts, DeleteForeverError> {
        if &admin.user().workspace != workspace {
            return Err(DeleteForeverError::WrongWorkspace);
        }
        let (op, item) = self.trashed(workspace, target).await?;
        if op.root != *target {
            return Err(DeleteForeverError::CascadedWith { root: op.root });
        }
        let expected = item.confirmation_name();
        if confirmation.trim() != expected {
            return Err(DeleteForeverError::ConfirmationMismatch { expected });
        }
        match self
            .purge_operation(&op, PurgeReason::DeleteForever, &admin.actor())
            .await?
        {
            PurgeOutcome::Purged(counts) => Ok(counts),
            PurgeOutcome::Skipped => Err(DeleteForeverError::NotInTrash),
            PurgeOutcome::Held(holds) => Err(DeleteForeverError::Held { holds }),
        }
    }

    /// What [`TrashService::delete_forever`] of `target` would destroy now,
    /// changing nothing: the same checks (workspace, in the trash, an
    /// operation root) and the same purge decision, with the number of
    /// images only the project links when the plan deletes them.
    pub async fn preview_delete_forever(
        &self,
        admin: &WorkspaceAdmin,
        workspace: &WorkspaceSlug,
        target: &ItemRef,
    ) -> Result<DeleteForeverPreview, DeleteForeverError> {
        if &admin.user().workspace != workspace {
            return Err(DeleteForeverError::WrongWorkspace);
        }
        let (op, item) = self.trashed(workspace, target).await?;
        if op.root != *target {
            return Err(DeleteForeverError::CascadedWith { root: op.root });
        }
        let aggregate = self
            .aggregate_of(workspace, target)
            .await?
            .ok_or(DeleteForeverError::NotInTrash)?;
        let plan = match self
            .plan_purge(
                &op,
                &aggregate,
                PurgeReason::DeleteForever,
                &admin.actor(),
                self.now(),
            )
            .await?
        {
            Ok(plan) => plan,
            Err(PurgeRefusal::Held(holds)) => return Err(DeleteForeverError::Held { holds }),
            Err(_) => return Err(DeleteForeverError::NotInTrash),
        };
        let mut removed = PurgeCounts {
            projects: plan.remove.projects.len() as u64,
            versions: plan.remove.versions.len() as u64,
            workflows: plan.remove.workflows.len() as u64,
            trainings: plan.remove.trainings.len() as u64,
            images: 0,
        };
        if plan.delete_orphaned_images {
            for project in &plan.remove.projects {
                removed.images += self.reads.exclusive_images(workspace, project).await?;
            }
        }
        Ok(DeleteForeverPreview {
            confirmation: item.confirmation_name(),
            item,
            operation: op,
            removed,
            deletes_images: plan.delete_orphaned_images,
        })
    }

    /// "Empty trash": deletes every operation in the workspace's trash for
    /// good, a page at a time, except those legal holds keep (counted in
    /// [`EmptyTrashReport::held`]). `confirmation` must be the workspace slug.
    /// `progress` is called after each page with the running totals.
    pub async fn empty_trash(
        &self,
        admin: &WorkspaceAdmin,
        workspace: &WorkspaceSlug,
        confirmation: &str,
        progress: &mut (dyn FnMut(&EmptyTrashReport) + Send),
    ) -> Result<EmptyTrashReport, DeleteForeverError> {
        if &admin.user().workspace != workspace {
            return Err(DeleteForeverError::WrongWorkspace);
        }
        if confirmation.trim() != workspace.as_str() {
            return Err(DeleteForeverError::ConfirmationMismatch {
                expected: workspace.to_string(),
            });
        }
        let mut report = EmptyTrashReport::default();
        let mut request = ListTrashRequest {
            kind: None,
            limit: PageLimit::new(100).expect("100 is a valid page size"),
            cursor: None,
        };
        // Keyset pages: removed entries never shift the pages still to
        // come, and entries that stay (held ones) are passed over.
        loop {
            let page = self.trash_page(workspace, &request).await?;
            for (entry, holds) in page.entries.iter().zip(&page.holds) {
                if !holds.is_empty() {
                    report.held += 1;
                    continue;
                }
                match self
                    .purge_operation(&entry.operation, PurgeReason::EmptyTrash, &admin.actor())
                    .await?
                {
                    PurgeOutcome::Purged(counts) => {
                        report.operations += 1;
                        report.removed.add(counts);
                    }
                    // Held since the page was read.
                    PurgeOutcome::Held(_) => report.held += 1,
                    PurgeOutcome::Skipped => {}
                }
            }
            progress(&report);
            match page.next_cursor {
                Some(cursor) => request.cursor = Some(cursor),
                None => return Ok(report),
            }
        }
    }

    /// The live operation that trashed `target`, and how the item is shown.
    async fn trashed(
        &self,
        workspace: &WorkspaceSlug,
        target: &ItemRef,
    ) -> Result<(TrashOperation, TrashedItem), DeleteForeverError> {
        let project = match target {
            ItemRef::Workflow(id) => {
                let agg = self
                    .reads
                    .load_workflow(workspace, id)
                    .await?
                    .ok_or(DeleteForeverError::NotInTrash)?;
                let item = TrashedItem::Workflow(rules::describe_workflow(&agg));
                let op = agg.operation.ok_or(DeleteForeverError::NotInTrash)?;
                return Ok((op, item));
            }
            ItemRef::Project(p) | ItemRef::Version(p, _) => p.clone(),
            ItemRef::Training(t) => self
                .reads
                .training_project(workspace, t)
                .await?
                .ok_or(DeleteForeverError::NotInTrash)?,
        };
        let agg = self
            .reads
            .load_project(workspace, &project)
            .await?
            .ok_or(DeleteForeverError::NotInTrash)?;
        let (state, item) =
            rules::describe_in_project(&agg, target).ok_or(DeleteForeverError::NotInTrash)?;
        let op_id = state.operation().ok_or(DeleteForeverError::NotInTrash)?;
        let op = agg
            .operations
            .into_iter()
            .find(|op| &op.id == op_id)
            .ok_or(DeleteForeverError::NotInTrash)?;
        Ok((op, item))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ports::*;
    use crate::usecases::TrashPorts;
    use crate::TrashConfig;

    #[tokio::test]
    async fn empty_trash_stops_when_a_listed_entry_cannot_be_purged() {
        let ws = WorkspaceSlug::parse("acme").expect("slug");
        let wf = WorkflowId::parse("w0000000000000000001").expect("id");
        let at = Timestamp::from_unix_millis(0).expect("time");
        let entry = TrashEntry {
            operation: TrashOperation {
                id: OperationId::parse("o0000000000000000001").expect("id"),
                workspace: ws.clone(),
                root: ItemRef::Workflow(wf.clone()),
                actor: Actor::system(),
                deleted_at: at,
                scheduled_cleanup_at: at,
                cleanup_delete_images: false,
                contains: Contains::default(),
            },
            item: TrashedItem::Workflow(WorkflowItem {
                id: wf,
                slug: Slug::parse("w").expect("slug"),
                name: Name::parse("w").expect("name"),
            }),
        };
        let mut reads = MockTrashReads::new();
        // A store that keeps listing an operation its aggregate does not have.
        reads
            .expect_list_trash()
            .times(1)
            .returning(move |_| Ok(vec![entry.clone()]));
        reads.expect_load_workflow().returning(|_, _| Ok(None));
        let mut holds = MockLegalHolds::new();
        let held_ws = ws.clone();
        holds
            .expect_holds()
            .returning(move |_| Ok(WorkspaceHolds::none(held_ws.clone())));
        let service = TrashService::new(
            TrashPorts {
                reads: Arc::new(reads),
                writes: Arc::new(MockTrashWrites::new()),
                queue: Arc::new(MockWorkQueue::new()),
                audit: Arc::new(MockAuditLog::new()),
                holds: Arc::new(holds),
                canceller: Arc::new(MockJobCanceller::new()),
                runtime: crate::usecases::cleanup::tests::runtime(),
            },
            TrashConfig::default(),
        );
        let admin = WorkspaceAdmin::from_user(WebUser {
            workspace: ws.clone(),
            user_id: UserId::parse("u0000000000000000001").expect("id"),
            email: Email::parse("o@x.y").expect("email"),
            role: Role::Owner,
        })
        .expect("owner");
        let report = service
            .empty_trash(&admin, &ws, "acme", &mut |_| {})
            .await
            .expect("returns");
        assert_eq!(report.operations, 0);
    }
}
