//! The legal-holds role: placing, listing and releasing holds, and the
//! guard that makes a hold and a purge exclusive.
//!
//! # Holds against purges
//!
//! Every workspace has a *hold revision*: a number that placing a hold
//! increases (0 before the first). [`LegalHolds::holds`] reads the holds
//! and the revision in one snapshot; every [`PurgePlan`](super::PurgePlan)
//! carries a [`HoldGuard`] with the revision its decision saw, and
//! [`TrashWrites::purge`](super::TrashWrites::purge) /
//! [`purge_batch`](super::TrashWrites::purge_batch) MUST refuse it with
//! `Conflict` (changing nothing) when the workspace's revision has moved.
//!
//! So a hold placed concurrently with a cleanup either commits before the
//! purge's check (the purge conflicts, re-reads, sees the hold and skips)
//! or after the purge committed (the hold came too late: the item is gone).
//! Never half: the check and the purge are one transaction, and placing a
//! hold and checking the revision MUST exclude each other (one store lock,
//! or a row lock on the workspace that both take).

use async_trait::async_trait;

use super::{Revision, StoreError};
use crate::domain::*;

/// The holds of one workspace, read in one snapshot with its hold revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceHolds {
    /// The workspace.
    pub workspace: WorkspaceSlug,
    /// Its hold revision when read (increased by every placed hold).
    pub revision: Revision,
    /// Its holds, oldest first.
    pub holds: Vec<Hold>,
}

impl WorkspaceHolds {
    /// A workspace on which no hold was ever placed.
    pub fn none(workspace: WorkspaceSlug) -> WorkspaceHolds {
        WorkspaceHolds {
            workspace,
            revision: Revision(0),
            holds: Vec::new(),
        }
    }

    /// The guard a purge decided from this read carries.
    pub fn guard(&self) -> HoldGuard {
        HoldGuard {
            workspace: self.workspace.clone(),
            revision: self.revision,
        }
    }
}

/// The precondition of a purge: no hold was placed in the workspace since
/// the holds were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldGuard {
    /// The workspace of the purged items.
    pub workspace: WorkspaceSlug,
    /// Its hold revision when the purge was decided.
    pub revision: Revision,
}

/// Legal holds. Scoped like every lookup: a hold of another workspace is
/// reported exactly like a missing one.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LegalHolds: Send + Sync {
    /// MUST return the workspace's holds (oldest first, then by id) and its
    /// hold revision, read in one snapshot (a revision 0 and no holds for a
    /// workspace on which none was ever placed).
    async fn holds(&self, workspace: &WorkspaceSlug) -> Result<WorkspaceHolds, StoreError>;
    /// MUST return what [`LegalHolds::holds`] returns for each of
    /// `workspaces` (distinct), in the same order, with a number of
    /// statements that does not grow with their number (the cleanup's
    /// batches read them together). Each entry MUST be one snapshot.
    async fn holds_of(
        &self,
        workspaces: &[WorkspaceSlug],
    ) -> Result<Vec<WorkspaceHolds>, StoreError>;
    /// MUST store the hold, increase its workspace's hold revision and record
    /// `event`, atomically; and MUST exclude the hold checks of purges while
    /// doing so (see the module documentation): a purge that commits after
    /// this returns MUST have seen the new revision. Returns `AlreadyExists`
    /// if a hold with this id exists.
    async fn place_hold(&self, hold: &Hold, event: &AuditEvent) -> Result<(), StoreError>;
    /// MUST remove the workspace's hold `id` and record `event`,
    /// atomically, and make the workspace's claimed cleanup operations
    /// claimable again at once (they were skipped while held; a claim only
    /// spreads work, so the next cleanup takes them). Returns `false`,
    /// changing nothing, if the workspace has no such hold.
    async fn release_hold(
        &self,
        workspace: &WorkspaceSlug,
        id: &HoldId,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;
}
