//! The work-queue role: due operations for the cleanup, and pending job
//! cancellations.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::*;

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

/// Work that waits for a worker. Claims only spread work between workers:
/// what a worker then writes is still guarded.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WorkQueue: Send + Sync {
    /// MUST atomically claim up to `limit` live operations of any workspace
    /// with `scheduled_cleanup_at <= now` that are not claimed (or whose claim
    /// has passed), holding them until `claimed_until`, oldest schedule
    /// first. An operation claimed by one caller MUST NOT be returned to
    /// another before the claim passes.
    async fn claim_due_operations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TrashOperation>, StoreError>;
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
    /// MUST return the pending cancellations of a workspace, claimed or not,
    /// in training id order (what `trashd admin pending-cancellations` shows).
    async fn pending_cancellations(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<PendingCancellation>, StoreError>;
}

/// How much cleanup work waits, for monitoring (`/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Live operations whose `scheduled_cleanup_at` has come, claimed or not.
    pub due_operations: u64,
    /// The earliest `scheduled_cleanup_at` among them (`None` when none is due).
    pub oldest_due: Option<Timestamp>,
    /// Pending job cancellations, claimed or not.
    pub pending_cancellations: u64,
    /// Outbound messages waiting for a sender: pending, and available at
    /// `now` (due, and not held by a sender's claim or a retry delay).
    pub outbox_ready: u64,
}

/// Reads the size of the work queue. Only for monitoring: nothing decides
/// on it, so it need not be one snapshot.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait QueueDepth: Send + Sync {
    /// MUST count the live operations of every workspace with
    /// `scheduled_cleanup_at <= now` (claimed or not) and return the earliest
    /// such `scheduled_cleanup_at`, count every pending cancellation, and
    /// count the pending outbox messages available at `now`;
    /// with a cost that does not grow with the number of operations that
    /// are not due (an index on the schedule).
    async fn backlog(&self, now: Timestamp) -> Result<Backlog, StoreError>;
}
