//! The small ports: health, the job system, time, randomness and waiting.

use async_trait::async_trait;
use chrono::Duration;

use super::StoreError;
use crate::domain::*;

/// Whether the storage answers.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Health: Send + Sync {
    /// MUST answer `Ok` when the storage is reachable (for readiness checks),
    /// and `Unavailable` otherwise, within the store's own time limits.
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
    /// MUST return the current instant.
    fn now(&self) -> Timestamp;
}

/// A source of random identifiers, secrets and jitter.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait IdGenerator: Send + Sync {
    /// MUST return `len` random ASCII letters and digits, unpredictable to
    /// outsiders (they become ids and API keys).
    fn alphanumeric(&self, len: usize) -> String;
    /// MUST return a number in `0..bound` (`0` when `bound` is 0), spread
    /// evenly; used to jitter retries, so it need not be unpredictable.
    fn below(&self, bound: u64) -> u64;
}

/// Waiting between attempts of a contended write.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Pause: Send + Sync {
    /// MUST return after about `duration` without blocking other work (a
    /// test double MAY return at once).
    async fn pause(&self, duration: Duration);
}

/// A held [`AggregateLocks`] lock; dropping it lets the next writer in.
pub struct AggregateLock(Option<Box<dyn Send + Sync>>);

impl AggregateLock {
    /// A lock held by `inner` until it is dropped.
    pub fn held(inner: impl Send + Sync + 'static) -> AggregateLock {
        AggregateLock(Some(Box::new(inner)))
    }

    /// A lock that holds nothing (no serialization).
    pub fn unheld() -> AggregateLock {
        AggregateLock(None)
    }

    /// Whether something is held.
    pub fn is_held(&self) -> bool {
        self.0.is_some()
    }
}

impl std::fmt::Debug for AggregateLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AggregateLock")
            .field(&self.is_held())
            .finish()
    }
}

/// Lets the writers of one aggregate inside this process take turns, so
/// that a busy project does not make them lose their guarded writes to each
/// other over and over. An optimisation only: the revision guard stays what
/// makes concurrent writes safe, across processes and replicas.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AggregateLocks: Send + Sync {
    /// MUST return a lock on `aggregate` such that, while it is held, another
    /// `lock` of the same aggregate through this value waits (locks of other
    /// aggregates MUST NOT wait). MAY return [`AggregateLock::unheld`]
    /// instead, giving up the turn-taking (e.g. in tests that force races).
    async fn lock(&self, aggregate: &AggregateId) -> AggregateLock;
}

/// [`AggregateLocks`] that never serialize: every writer relies on the
/// guard and the retry backoff alone, as separate replicas do.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLocks;

#[async_trait]
impl AggregateLocks for NoLocks {
    async fn lock(&self, _: &AggregateId) -> AggregateLock {
        AggregateLock::unheld()
    }
}
