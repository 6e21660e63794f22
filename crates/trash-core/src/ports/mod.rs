//! Ports: what the core needs from the outside world, one trait per role,
//! and the contract each implementation MUST keep.
//!
//! # Roles
//!
//! | role | what it is for | who implements it |
//! |---|---|---|
//! | [`TrashReads`] | reading the aggregates the rules decide on, and the listing | every embedder |
//! | [`TrashWrites`] | applying the plans the rules made (trash, restore, purge), guarded | every embedder |
//! | [`WorkQueue`] | due operations for the cleanup, pending job cancellations | every embedder |
//! | [`AuditLog`] | reading the audit trail the writes record | every embedder |
//! | [`LegalHolds`] | legal holds, and the hold revision purges are guarded by | every embedder |
//! | [`ResourceStore`] | creating projects, versions, trainings, images (the standalone server) | `trashd`'s stores; embedders only for the conformance suite's fixtures |
//! | [`AccountStore`] | workspaces, API keys, web users | `trashd`'s stores; embedders with their own identity never |
//! | [`SessionStore`] | web sessions, and the user changes that end them | `trashd`'s stores; embedders with their own identity never |
//! | [`Health`] | readiness | anyone who wants a readiness check |
//! | [`QueueDepth`] | the cleanup backlog, for `/metrics` | `trashd`'s stores |
//! | [`Outbox`], [`WebhookEndpoints`] | outbound events: claiming and acknowledging messages, operator-registered endpoints | `trashd`'s stores; embedders that send events |
//! | [`JobCanceller`], [`Clock`], [`IdGenerator`], [`Pause`] | the outside world | small adapters |
//!
//! One store type may implement every role; the composition root hands the
//! same `Arc` out once per role ([`StandaloneStore`] names that bundle).
//!
//! # The concurrency contract of guarded writes
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
//!
//! # Scoping
//!
//! Every lookup is scoped to a workspace: an item of another workspace is
//! reported exactly like a missing one (`None`).

use crate::domain::*;

mod accounts;
mod holds;
mod jobs;
mod outbox;
mod queue;
mod reads;
mod resources;
mod sessions;
mod small;
mod writes;

pub use accounts::*;
pub use holds::*;
pub use jobs::*;
pub use outbox::*;
pub use queue::*;
pub use reads::*;
pub use resources::*;
pub use sessions::*;
pub use small::*;
pub use writes::*;

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
    /// Use cases retry on it and never hand it to their callers.
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

/// A store that plays every role: what the standalone server runs on.
/// Implemented automatically for any type that implements all of them; an
/// `Arc<dyn StandaloneStore>` coerces to an `Arc` of each role.
pub trait StandaloneStore:
    TrashReads
    + TrashWrites
    + WorkQueue
    + QueueDepth
    + AuditLog
    + LegalHolds
    + ResourceStore
    + AccountStore
    + SessionStore
    + Health
    + Outbox
    + WebhookEndpoints
    + EmptyJobs
{
}

impl<T> StandaloneStore for T where
    T: TrashReads
        + TrashWrites
        + WorkQueue
        + QueueDepth
        + AuditLog
        + LegalHolds
        + ResourceStore
        + AccountStore
        + SessionStore
        + Health
        + Outbox
        + WebhookEndpoints
        + EmptyJobs
{
}
