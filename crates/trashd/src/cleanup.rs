//! The cleanup job: drain due trash operations in bounded batches, then
//! retry pending job cancellations. Runs as a loop inside `serve` (and
//! `cleanup` without `--once`), or once over the backlog.

use std::sync::Arc;
use std::time::Duration;

use trash_core::ports::PurgeCounts;
use trash_core::usecases::{CleanupError, CleanupReport};
use trash_core::TrashService;

use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

/// What one drain did, added up over its batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DrainTotals {
    /// Batches run (including the last, empty one).
    pub batches: u32,
    /// Operations purged.
    pub purged: u64,
    /// Claimed operations that were restored or gone meanwhile.
    pub skipped: u64,
    /// Claimed operations whose purge failed (retried once their claim passes).
    pub failed: u64,
    /// Items removed.
    pub removed: PurgeCounts,
}

impl DrainTotals {
    fn add(&mut self, report: &CleanupReport) {
        self.batches += 1;
        self.purged += u64::from(report.purged);
        self.skipped += u64::from(report.skipped);
        self.failed += u64::from(report.failed);
        self.removed.add(report.removed);
    }

    /// Whether anything was purged or skipped.
    pub fn did_something(&self) -> bool {
        self.purged > 0 || self.skipped > 0 || self.failed > 0
    }

    /// `purged 3 operations (1 project, 2 versions, …)`.
    pub fn summary(&self) -> String {
        let r = &self.removed;
        let mut s = format!(
            "purged {} trash operation{} (removed {} project{}, {} version{}, {} workflow{}, {} training{}, {} image{})",
            self.purged,
            plural(self.purged),
            r.projects,
            plural(r.projects),
            r.versions,
            plural(r.versions),
            r.workflows,
            plural(r.workflows),
            r.trainings,
            plural(r.trainings),
            r.images,
            plural(r.images),
        );
        if self.skipped > 0 {
            s.push_str(&format!(
                "; skipped {} restored or already removed",
                self.skipped
            ));
        }
        if self.failed > 0 {
            s.push_str(&format!("; {} failed and will be retried", self.failed));
        }
        s
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Why a drain stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrainEnd {
    /// Nothing due is left.
    Drained,
    /// Shutdown was requested; the rest is left for the next run.
    Interrupted,
}

/// Purges due operations batch after batch until a batch claims nothing or
/// shutdown is requested (checked between batches, never inside one).
/// `progress` is called after every batch with the totals so far.
pub async fn drain(
    service: &TrashService,
    batch: u32,
    shutdown: &Shutdown,
    mut progress: impl FnMut(&DrainTotals),
) -> Result<(DrainTotals, DrainEnd), CleanupError> {
    let mut totals = DrainTotals::default();
    loop {
        if shutdown.is_requested() {
            return Ok((totals, DrainEnd::Interrupted));
        }
        let report = service.purge_due(batch).await?;
        totals.add(&report);
        progress(&totals);
        if report.claimed == 0 {
            return Ok((totals, DrainEnd::Drained));
        }
    }
}

/// Settings of the cleanup loop.
#[derive(Clone)]
pub struct LoopSettings {
    /// Time between rounds.
    pub interval: Duration,
    /// Operations per batch.
    pub batch: u32,
    /// Where the outcomes are counted (`/metrics`), if anywhere.
    pub metrics: Option<Arc<Metrics>>,
}

/// Runs cleanup rounds every `interval` until shutdown: each round drains
/// the due operations, then retries pending job cancellations, and logs a
/// summary when it did something. Storage errors are logged and the next
/// round tries again.
pub async fn run_loop(service: TrashService, settings: LoopSettings, shutdown: Shutdown) {
    tracing::info!(
        interval = %crate::config::format_duration(settings.interval),
        batch = settings.batch,
        "cleanup loop started"
    );
    let mut ticker = tokio::time::interval(settings.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.clone().requested() => break,
            _ = ticker.tick() => {}
        }
        round(&service, &settings, &shutdown).await;
    }
    tracing::info!("cleanup loop stopped");
}

/// One cleanup round.
async fn round(service: &TrashService, settings: &LoopSettings, shutdown: &Shutdown) {
    let batch = settings.batch;
    let metrics = settings.metrics.as_deref();
    let started = std::time::Instant::now();
    let mut counted = DrainTotals::default();
    let drained = drain(service, batch, shutdown, |totals| {
        // Count each batch as it ends, so a round that fails later still
        // shows what it did.
        if let Some(m) = metrics {
            m.observe_cleanup(&CleanupReport {
                purged: (totals.purged - counted.purged) as u32,
                skipped: (totals.skipped - counted.skipped) as u32,
                failed: (totals.failed - counted.failed) as u32,
                ..CleanupReport::default()
            });
        }
        counted = *totals;
    })
    .await;
    match drained {
        Ok((totals, end)) => {
            if totals.did_something() {
                tracing::info!(
                    purged = totals.purged,
                    skipped = totals.skipped,
                    projects = totals.removed.projects,
                    versions = totals.removed.versions,
                    workflows = totals.removed.workflows,
                    trainings = totals.removed.trainings,
                    images = totals.removed.images,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    interrupted = end == DrainEnd::Interrupted,
                    "cleanup: {}",
                    totals.summary()
                );
            }
        }
        Err(e) => {
            if let Some(m) = metrics {
                m.observe_cleanup_error();
            }
            tracing::warn!(error = %e, "cleanup round failed; retrying next round")
        }
    }
    if shutdown.is_requested() {
        return;
    }
    let retried = service.retry_cancellations(batch).await;
    if let (Some(m), Ok(r)) = (metrics, &retried) {
        m.observe_cancellations(r);
    }
    match retried {
        Ok(r) if r.attempted > 0 => tracing::info!(
            attempted = r.attempted,
            succeeded = r.succeeded,
            failed = r.failed,
            "cleanup: retried pending job cancellations"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "retrying job cancellations failed"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Duration as ChronoDuration;
    use trash_core::domain::*;
    use trash_core::ports::TrashReads;
    use trash_core::usecases::WorkflowRef;
    use trash_core::{Runtime, Services, TrashConfig};
    use trash_memory::{ManualClock, MemoryStore, NoPause};
    use trash_runtime::{NoopCanceller, RandomIds};

    use super::*;
    use crate::shutdown;

    struct Trashed {
        service: TrashService,
        clock: Arc<ManualClock>,
        store: Arc<MemoryStore>,
    }

    async fn service_with_trashed_workflows(n: usize) -> Trashed {
        let clock = Arc::new(ManualClock::new(
            Timestamp::from_unix_millis(1_800_000_000_000).unwrap(),
        ));
        let store = Arc::new(MemoryStore::new());
        let services = Services::over(
            store.clone(),
            Arc::new(NoopCanceller),
            Runtime {
                clock: clock.clone(),
                ids: Arc::new(RandomIds),
                pause: Arc::new(NoPause),
                locks: Arc::new(trash_core::ports::NoLocks),
            },
            TrashConfig {
                retention: Retention::new(ChronoDuration::seconds(2)).unwrap(),
                ..TrashConfig::default()
            },
        );
        let ws = WorkspaceSlug::parse("ws").unwrap();
        let accounts = &services.accounts;
        accounts
            .create_workspace(ws.clone(), Name::parse("Ws").unwrap())
            .await
            .unwrap();
        let key = accounts
            .create_api_key(&ws, Name::parse("k").unwrap(), ScopeSet::all())
            .await
            .unwrap();
        let principal = Principal::ApiKey(accounts.authenticate(&key.plaintext).await.unwrap());
        for i in 0..n {
            let wf = services
                .resources
                .create_workflow(
                    &principal,
                    &ws,
                    Name::parse(&format!("wf {i}")).unwrap(),
                    None,
                )
                .await
                .unwrap();
            services
                .trash
                .trash_workflow(&principal, &ws, &WorkflowRef::Slug(wf.slug))
                .await
                .unwrap();
        }
        Trashed {
            service: services.trash,
            clock,
            store,
        }
    }

    #[tokio::test]
    async fn drain_empties_a_backlog_larger_than_a_batch() {
        let Trashed { service, clock, .. } = service_with_trashed_workflows(7).await;
        let (_trigger, stop) = shutdown::channel();

        let (nothing, end) = drain(&service, 3, &stop, |_| {}).await.unwrap();
        assert_eq!(end, DrainEnd::Drained);
        assert_eq!(nothing.purged, 0, "nothing is due before the retention");

        clock.advance(ChronoDuration::seconds(3));
        let mut seen = Vec::new();
        let (totals, end) = drain(&service, 3, &stop, |t| seen.push(t.purged))
            .await
            .unwrap();
        assert_eq!(end, DrainEnd::Drained);
        assert_eq!(totals.purged, 7);
        assert_eq!(totals.removed.workflows, 7);
        assert_eq!(totals.batches, 4, "3 + 3 + 1, then an empty batch");
        assert_eq!(seen, vec![3, 6, 7, 7]);
        assert!(totals.summary().starts_with("purged 7 trash operations"));

        let (again, _) = drain(&service, 3, &stop, |_| {}).await.unwrap();
        assert!(!again.did_something(), "cleanup is idempotent");
    }

    #[tokio::test]
    async fn drain_stops_between_batches_on_shutdown() {
        let Trashed { service, clock, .. } = service_with_trashed_workflows(5).await;
        clock.advance(ChronoDuration::seconds(3));
        let (trigger, stop) = shutdown::channel();
        let (totals, end) = drain(&service, 2, &stop, |t| {
            if t.batches == 1 {
                trigger.trigger();
            }
        })
        .await
        .unwrap();
        assert_eq!(end, DrainEnd::Interrupted);
        assert_eq!(totals.purged, 2, "only the first batch ran");
    }

    #[tokio::test]
    async fn loop_purges_and_stops_on_shutdown() {
        let Trashed {
            service,
            clock,
            store,
        } = service_with_trashed_workflows(4).await;
        clock.advance(ChronoDuration::seconds(3));
        let (trigger, stop) = shutdown::channel();
        let handle = tokio::spawn(run_loop(
            service.clone(),
            LoopSettings {
                interval: Duration::from_millis(100),
                batch: 2,
                metrics: None,
            },
            stop,
        ));
        let ws = WorkspaceSlug::parse("ws").unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = store
                .list_trash(&trash_core::ports::TrashQuery {
                    workspace: ws.clone(),
                    kind: None,
                    limit: 100,
                    after: None,
                })
                .await
                .unwrap();
            if left.is_empty() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the loop never purged"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        trigger.trigger();
        tokio::time::timeout(Duration::from_secs(20), handle)
            .await
            .expect("the loop stops after shutdown")
            .unwrap();
    }
}
