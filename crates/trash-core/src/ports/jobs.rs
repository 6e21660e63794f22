//! The "Empty Trash" jobs role: one persisted background job per workspace
//! at a time, resumed after a restart.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::*;

/// Where an "Empty Trash" job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyJobState {
    /// Still removing (or waiting for a worker to resume it).
    Running,
    /// Finished: the trash was read to its end.
    Done,
}

impl EmptyJobState {
    /// A stable name for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            EmptyJobState::Running => "running",
            EmptyJobState::Done => "done",
        }
    }

    /// Parses the name given by [`EmptyJobState::as_str`].
    pub fn parse(value: &str) -> Result<EmptyJobState, InvalidValue> {
        match value {
            "running" => Ok(EmptyJobState::Running),
            "done" => Ok(EmptyJobState::Done),
            other => Err(InvalidValue::Unknown {
                what: "empty job state",
                value: other.chars().take(40).collect(),
                expected: "running or done",
            }),
        }
    }
}

/// An "Empty Trash" of one workspace, run in the background in bounded
/// batches, its progress stored after each batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmptyJob {
    /// Its id (random letters and digits).
    pub id: String,
    /// The workspace emptied.
    pub workspace: WorkspaceSlug,
    /// Who asked (recorded on every removal).
    pub actor: Actor,
    /// How many items were in the trash when it started.
    pub total: u64,
    /// How many items it removed so far.
    pub removed: u64,
    /// How many items it could not remove (left in the trash).
    pub failed: u64,
    /// Running or done.
    pub state: EmptyJobState,
    /// When it was asked for.
    pub started_at: Timestamp,
    /// When its progress was last stored.
    pub updated_at: Timestamp,
    /// When it finished.
    pub finished_at: Option<Timestamp>,
    /// A worker holds it until then (`None`: nobody does).
    pub claimed_until: Option<Timestamp>,
}

/// Persisted "Empty Trash" jobs. Only needed by the standalone server.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EmptyJobs: Send + Sync {
    /// MUST store `job` (running) unless its workspace has a running job:
    /// then MUST store nothing and return that job. Atomic: two concurrent
    /// starts of one workspace store one job.
    async fn start_empty_job(&self, job: &EmptyJob) -> Result<Option<EmptyJob>, StoreError>;
    /// MUST return the workspace's most recently started job, if any.
    async fn latest_empty_job(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Option<EmptyJob>, StoreError>;
    /// MUST atomically pick one running job that nobody holds at `now`
    /// (`claimed_until` unset or not after `now`), set its `claimed_until`
    /// to `until`, and return it; `None` if there is none. Two workers
    /// never get one job for overlapping times.
    async fn claim_empty_job(
        &self,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<EmptyJob>, StoreError>;
    /// MUST store the job's progress (`removed`, `failed`, `state`,
    /// `updated_at`, `finished_at`, `claimed_until`), found by its id.
    async fn save_empty_job(&self, job: &EmptyJob) -> Result<(), StoreError>;
    /// MUST return how many live operations the workspace's trash holds
    /// (the entries of its listing).
    async fn trash_size(&self, workspace: &WorkspaceSlug) -> Result<u64, StoreError>;
}
