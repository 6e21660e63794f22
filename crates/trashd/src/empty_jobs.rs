//! The worker that runs "Empty Trash" jobs in `serve`: it claims a waiting
//! job (one started from the web view, or one whose worker stopped), works
//! through it in batches, storing the progress and renewing its claim after
//! each, and polls again when there is nothing to do.

use std::time::Duration;

use trash_core::usecases::{EmptyJobService, EmptyRun};

use crate::shutdown::Shutdown;

/// Items per batch: a batch is purged as the cleanup purges its batches,
/// and the progress the page shows is stored after each.
pub const BATCH: u32 = 100;

/// How long a worker holds a job without storing progress before another
/// worker (after a restart, or on another replica) may take it over.
pub const LEASE_SECONDS: i64 = 60;

/// How often an idle worker looks for a job.
pub const POLL: Duration = Duration::from_secs(1);

/// Runs jobs until shutdown is requested. A job cut off by the shutdown
/// keeps its stored progress and is resumed once its claim runs out.
pub async fn run_loop(jobs: EmptyJobService, shutdown: Shutdown) {
    let lease = chrono::Duration::seconds(LEASE_SECONDS);
    while !shutdown.is_requested() {
        let wait = match jobs.run_once(BATCH, u32::MAX, lease).await {
            Ok(EmptyRun::Worked(job)) => {
                tracing::info!(
                    job = %job.id,
                    workspace = %job.workspace,
                    removed = job.removed,
                    failed = job.failed,
                    state = job.state.as_str(),
                    "empty trash job"
                );
                continue;
            }
            Ok(EmptyRun::Idle) => POLL,
            Err(e) => {
                tracing::warn!(error = %e, "empty trash job: the store failed; retrying");
                POLL * 5
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.clone().requested() => {}
        }
    }
}
