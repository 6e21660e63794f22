//! Legal holds: place, list, release (scope `trash:hold`).

use crate::domain::*;
use crate::ports::{StoreError, WorkspaceHolds};

use super::{check_access, AccessDenied, TrashService};

/// What a new hold is placed on, as asked (the item not looked up yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldSubject {
    /// The whole workspace.
    Workspace,
    /// One item, active or in trash.
    Item(ItemRef),
}

/// Why a hold use case failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoldError {
    /// The principal may not do this.
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    /// The item to hold is not in the workspace (active or in trash).
    #[error("{0} not found")]
    ItemNotFound(ItemRef),
    /// The workspace has no such hold.
    #[error("hold {0} not found")]
    HoldNotFound(HoldId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TrashService {
    /// Places a legal hold (`trash:hold`), recorded as `HoldPlaced` with the
    /// principal as actor. The item must exist in the workspace, active or
    /// in trash; a hold on an active item applies once it is trashed.
    pub async fn place_hold(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        subject: &HoldSubject,
        reason: HoldReason,
    ) -> Result<Hold, HoldError> {
        check_access(principal, workspace, Scope::TRASH_HOLD)?;
        let target = match subject {
            HoldSubject::Workspace => HoldTarget::Workspace,
            HoldSubject::Item(item) => self
                .hold_target(workspace, item)
                .await?
                .ok_or_else(|| HoldError::ItemNotFound(item.clone()))?,
        };
        let now = self.now();
        let hold = Hold {
            id: self.runtime.new_id(HoldId::parse)?,
            workspace: workspace.clone(),
            target,
            reason,
            created_at: now,
            created_by: principal.actor(),
        };
        let event = hold_event(&hold, AuditKind::HoldPlaced, principal.actor(), now);
        self.holds.place_hold(&hold, &event).await?;
        Ok(hold)
    }

    /// The workspace's holds, oldest first (`trash:hold`).
    pub async fn list_holds(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<Hold>, HoldError> {
        check_access(principal, workspace, Scope::TRASH_HOLD)?;
        Ok(self.holds.holds(workspace).await?.holds)
    }

    /// Releases a hold (`trash:hold`), recorded as `HoldReleased`. A hold of
    /// another workspace is not found, like a missing one. Items whose
    /// schedule has passed are purged by the next cleanup.
    pub async fn release_hold(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        id: &HoldId,
    ) -> Result<Hold, HoldError> {
        check_access(principal, workspace, Scope::TRASH_HOLD)?;
        let hold = self
            .holds
            .holds(workspace)
            .await?
            .holds
            .into_iter()
            .find(|h| &h.id == id)
            .ok_or_else(|| HoldError::HoldNotFound(id.clone()))?;
        let now = self.now();
        let event = hold_event(&hold, AuditKind::HoldReleased, principal.actor(), now);
        if self.holds.release_hold(workspace, id, &event).await? {
            Ok(hold)
        } else {
            Err(HoldError::HoldNotFound(id.clone()))
        }
    }

    /// What [`TrashService::release_hold`] would release, changing nothing
    /// (a dry run): the same checks and the same refusals.
    pub async fn preview_release_hold(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        id: &HoldId,
    ) -> Result<Hold, HoldError> {
        check_access(principal, workspace, Scope::TRASH_HOLD)?;
        self.holds
            .holds(workspace)
            .await?
            .holds
            .into_iter()
            .find(|h| &h.id == id)
            .ok_or_else(|| HoldError::HoldNotFound(id.clone()))
    }

    /// The holds of a workspace (for the listing and permanent deletion).
    pub(crate) async fn workspace_holds(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<WorkspaceHolds, StoreError> {
        self.holds.holds(workspace).await
    }

    /// What holding `item` means, if it exists in the workspace: a
    /// training's target records its project and version.
    async fn hold_target(
        &self,
        workspace: &WorkspaceSlug,
        item: &ItemRef,
    ) -> Result<Option<HoldTarget>, StoreError> {
        let project = match item {
            ItemRef::Workflow(id) => {
                let agg = self.reads.load_workflow(workspace, id).await?;
                return Ok(agg.map(|_| HoldTarget::Workflow(id.clone())));
            }
            ItemRef::Project(p) | ItemRef::Version(p, _) => p.clone(),
            ItemRef::Training(t) => match self.reads.training_project(workspace, t).await? {
                Some(p) => p,
                None => return Ok(None),
            },
        };
        let Some(agg) = self.reads.load_project(workspace, &project).await? else {
            return Ok(None);
        };
        Ok(match item {
            ItemRef::Project(p) => Some(HoldTarget::Project(p.clone())),
            ItemRef::Version(p, n) => agg
                .versions
                .iter()
                .any(|v| v.number == *n)
                .then(|| HoldTarget::Version(p.clone(), *n)),
            ItemRef::Training(t) => {
                agg.trainings
                    .iter()
                    .find(|x| &x.id == t)
                    .map(|x| HoldTarget::Training {
                        id: t.clone(),
                        project: x.project.clone(),
                        version: x.version,
                    })
            }
            ItemRef::Workflow(_) => None,
        })
    }
}

fn hold_event(hold: &Hold, kind: AuditKind, actor: Actor, at: Timestamp) -> AuditEvent {
    AuditEvent {
        workspace: hold.workspace.clone(),
        at,
        kind,
        actor,
        item: hold.target.item(),
        operation: None,
    }
}
