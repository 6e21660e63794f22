//! The trash-writes role: applying the plans the rules made.

use async_trait::async_trait;

use super::{Guard, HoldGuard, StoreError};
use crate::domain::*;
use crate::events::OutboxMessage;

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
    /// Outbound messages written to the outbox in the same transaction.
    pub outbox: Vec<OutboxMessage>,
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
    /// Outbound messages written to the outbox in the same transaction; the
    /// pending `purge_soon` notices of the operation are withdrawn.
    pub outbox: Vec<OutboxMessage>,
}

/// Everything one purge removes, named item by item by the core from the
/// aggregate it read. A store removes exactly these rows (and, when asked,
/// the images left without a link), nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PurgeSet {
    /// Projects removed (with their image links).
    pub projects: Vec<ProjectId>,
    /// Versions removed.
    pub versions: Vec<(ProjectId, VersionNumber)>,
    /// Trainings removed.
    pub trainings: Vec<TrainingId>,
    /// Workflows removed.
    pub workflows: Vec<WorkflowId>,
    /// Live operations removed: the purged one and every operation rooted in
    /// a removed item.
    pub operations: Vec<OperationId>,
}

/// Remove an operation's root for good, with every dependant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgePlan {
    /// The aggregate and revision the plan was made from.
    pub guard: Guard,
    /// The hold revision of the workspace the plan was decided at: the
    /// purge MUST be refused (`Conflict`) if a hold was placed since.
    pub holds: HoldGuard,
    /// The operation purged.
    pub operation: OperationId,
    /// Its root.
    pub root: ItemRef,
    /// Every row removed. Pending cancellations of removed trainings are
    /// kept: their jobs may still be running, and the cancellation is still
    /// delivered.
    pub remove: PurgeSet,
    /// Also delete the images that were linked to a removed project and that
    /// no remaining project (active or trashed) links at commit time.
    pub delete_orphaned_images: bool,
    /// Audit events recorded in the same transaction.
    pub events: Vec<AuditEvent>,
    /// Outbound messages written to the outbox in the same transaction; the
    /// pending `purge_soon` notices of every removed operation are withdrawn.
    pub outbox: Vec<OutboxMessage>,
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

/// Guarded transitions. See the module documentation of [`crate::ports`]
/// for the guard contract every method here keeps.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TrashWrites: Send + Sync {
    /// Guarded: MUST apply the [`TrashPlan`] atomically: record the
    /// operation, mark its root and members, cancel and record the pending
    /// cancellations, record the events, write the outbox messages
    /// (pending, available at their `due_at`; an id already stored is kept
    /// as it is).
    async fn trash(&self, plan: &TrashPlan) -> Result<(), StoreError>;
    /// Guarded: MUST apply the [`RestorePlan`] atomically, or return
    /// `SlugTaken` (changing nothing) if the root's slug (the new one when
    /// renaming) is held by an active item of its type at commit time.
    /// In the same transaction it MUST delete the pending
    /// `trash.item.purge_soon` messages of the operation and write the
    /// plan's outbox messages.
    async fn restore(&self, plan: &RestorePlan) -> Result<(), StoreError>;
    /// Guarded: MUST remove exactly the rows the [`PurgePlan`] names (plus
    /// the orphaned images when it asks), record its events, atomically, in
    /// one transaction per plan, and report what it removed. MUST return
    /// `Conflict`, changing nothing, if the workspace's hold revision is no
    /// longer the plan's [`HoldGuard`] one, checked in that transaction
    /// under the exclusion [`super::LegalHolds::place_hold`] also takes.
    async fn purge(&self, plan: &PurgePlan) -> Result<PurgeCounts, StoreError>;
    /// Guarded, for many plans at once (the cleanup's batches): MUST apply
    /// every plan as [`TrashWrites::purge`] would, all in ONE transaction,
    /// with a number of statements that does not grow with the number of
    /// plans: all of them or none. If any plan's guard fails or its
    /// operation is gone, or any plan's hold guard fails, MUST return
    /// `Conflict` and change nothing; any
    /// other failure MUST change nothing either. The plans name distinct
    /// aggregates. MUST give up, changing nothing, once the transaction has
    /// run for `time_limit` (answering `Unavailable`). Reports what all the
    /// plans removed together. An image linked to projects of several plans
    /// is deleted when one of them asks and no project outside the batch
    /// links it.
    async fn purge_batch(
        &self,
        plans: &[PurgePlan],
        time_limit: chrono::Duration,
    ) -> Result<PurgeCounts, StoreError>;
}
