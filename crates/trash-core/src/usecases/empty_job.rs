//! "Empty Trash" in the background: a persisted job per workspace, run in
//! bounded batches by a worker, resumed after a restart.

use std::sync::Arc;

use chrono::Duration;

use crate::domain::*;
use crate::ports::{EmptyJob, EmptyJobState, EmptyJobs, StoreError};
use crate::rules::PurgeReason;

use super::cleanup::CleanupError;
use super::{DeleteForeverError, ListTrashRequest, PageLimit, TrashService};

/// Starts, shows and runs "Empty Trash" jobs.
#[derive(Clone)]
pub struct EmptyJobService {
    trash: TrashService,
    jobs: Arc<dyn EmptyJobs>,
}

/// What one run of a worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmptyRun {
    /// No job was waiting.
    Idle,
    /// It worked on this job (finished, or its time was up).
    Worked(EmptyJob),
}

impl EmptyJobService {
    /// A service over the trash use cases and the job store.
    pub fn new(trash: TrashService, jobs: Arc<dyn EmptyJobs>) -> EmptyJobService {
        EmptyJobService { trash, jobs }
    }

    /// Asks for the workspace's trash to be emptied in the background.
    /// `confirmation` must be the workspace slug. If a job of the workspace
    /// is running already, that job is returned and no other is started.
    pub async fn start(
        &self,
        admin: &WorkspaceAdmin,
        workspace: &WorkspaceSlug,
        confirmation: &str,
    ) -> Result<EmptyJob, DeleteForeverError> {
        if &admin.user().workspace != workspace {
            return Err(DeleteForeverError::WrongWorkspace);
        }
        if confirmation.trim() != workspace.as_str() {
            return Err(DeleteForeverError::ConfirmationMismatch {
                expected: workspace.to_string(),
            });
        }
        let now = self.trash.now();
        let job = EmptyJob {
            id: self.trash.runtime.ids.alphanumeric(20),
            workspace: workspace.clone(),
            actor: admin.actor(),
            total: self.jobs.trash_size(workspace).await?,
            removed: 0,
            failed: 0,
            state: EmptyJobState::Running,
            started_at: now,
            updated_at: now,
            finished_at: None,
            claimed_until: None,
        };
        Ok(match self.jobs.start_empty_job(&job).await? {
            Some(running) => running,
            None => job,
        })
    }

    /// The workspace's latest job, for a user of the workspace.
    pub async fn latest(
        &self,
        user: &WebUser,
        workspace: &WorkspaceSlug,
    ) -> Result<Option<EmptyJob>, StoreError> {
        if &user.workspace != workspace {
            return Ok(None);
        }
        self.jobs.latest_empty_job(workspace).await
    }

    /// Claims a waiting job (a new one, or one whose worker stopped: its
    /// claim ran out) and works on it for at most `batches` batches of
    /// `batch` items, each batch purged as the cleanup purges its batches
    /// (one all-or-nothing transaction, else item by item), recorded as
    /// `emptied`, storing the progress and renewing the claim for
    /// `lease` after each batch. Items that cannot be removed are counted
    /// as failed and left in the trash. The job is done when a read of the
    /// trash from where it stands finds nothing more.
    pub async fn run_once(
        &self,
        batch: u32,
        batches: u32,
        lease: Duration,
    ) -> Result<EmptyRun, StoreError> {
        let now = self.trash.now();
        let Some(mut job) = self.jobs.claim_empty_job(now, now.plus(lease)).await? else {
            return Ok(EmptyRun::Idle);
        };
        let limit = PageLimit::new(batch.clamp(1, 1000)).expect("clamped to 1..=1000");
        let mut cursor = None;
        for _ in 0..batches.max(1) {
            let page = self
                .trash
                .trash_page(
                    &job.workspace,
                    &ListTrashRequest {
                        kind: None,
                        limit,
                        cursor: cursor.clone(),
                    },
                )
                .await?;
            let finished = page.entries.is_empty();
            let ops: Vec<TrashOperation> =
                page.entries.iter().map(|e| e.operation.clone()).collect();
            // The cleanup's batch: one all-or-nothing transaction, else item
            // by item. An item gone meanwhile (restored, or purged with its
            // parent) is skipped; one that legal holds keep is neither
            // removed nor failed; one that kept failing is left in the
            // trash. If the store is down the claim runs out and the job is
            // resumed from the stored progress.
            let report = self
                .trash
                .purge_in_batch(&ops, PurgeReason::EmptyTrash, &job.actor)
                .await
                .map_err(|CleanupError::Store(e)| e)?;
            job.removed += u64::from(report.purged);
            job.failed += u64::from(report.failed);
            // Everything up to here was removed, is gone, or failed: the
            // next read starts after it (items trashed later than the page
            // are newer and not in this read).
            if let Some(last) = page.entries.last() {
                cursor = Some(TrashCursor::after(&last.operation));
            }
            let now = self.trash.now();
            job.updated_at = now;
            if finished {
                job.state = EmptyJobState::Done;
                job.finished_at = Some(now);
                job.claimed_until = None;
            } else {
                job.claimed_until = Some(now.plus(lease));
            }
            self.jobs.save_empty_job(&job).await?;
            if finished {
                break;
            }
        }
        if job.state == EmptyJobState::Running {
            // Let the next run (this worker's or another's) claim it at once.
            job.claimed_until = None;
            self.jobs.save_empty_job(&job).await?;
        }
        Ok(EmptyRun::Worked(job))
    }
}
