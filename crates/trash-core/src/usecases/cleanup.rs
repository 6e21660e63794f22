//! The cleanup job: purge due operations in bounded batches, and deliver
//! pending job cancellations.

use std::collections::{HashMap, HashSet};

use crate::domain::*;
use crate::events::{EventType, ItemEvent};
use crate::ports::{
    AggregateRead, PurgeCounts, PurgePlan, StoreError, TrashedItem, WorkspaceHolds,
};
use crate::rules::{self, PurgeReason, PurgeRefusal};

use super::{Contended, TrashService};

/// What one batch of cleanup did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CleanupReport {
    /// Operations claimed in this batch.
    pub claimed: u32,
    /// Operations purged.
    pub purged: u32,
    /// Claimed operations that were gone or restored meanwhile.
    pub skipped: u32,
    /// Claimed operations a legal hold kept: not purged, schedule unchanged;
    /// the cleanup after the hold's release takes them.
    pub held: u32,
    /// Claimed operations whose purge failed (they are retried once their
    /// claim passes); the rest of the batch goes on.
    pub failed: u32,
    /// Operations purged together in the batch's one transaction.
    pub batched: u32,
    /// Operations purged (or tried) one at a time: those whose batch
    /// transaction failed (so a failing operation cannot block the others),
    /// and those sharing an aggregate with an operation of the batch.
    pub alone: u32,
    /// Items removed.
    pub removed: PurgeCounts,
}

/// What one round of cancellation delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CancellationReport {
    /// Cancellations attempted.
    pub attempted: u32,
    /// Cancellations the job canceller confirmed.
    pub succeeded: u32,
    /// Cancellations that failed and stay pending.
    pub failed: u32,
}

/// The cleanup job failed to talk to the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CleanupError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why purging one operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurgeError {
    /// Concurrent changes kept invalidating the decision.
    #[error("the item is changing concurrently; try again")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Contended> for PurgeError {
    fn from(_: Contended) -> Self {
        PurgeError::Busy
    }
}

/// What purging one operation did.
pub(crate) enum PurgeOutcome {
    Purged(PurgeCounts),
    /// The operation no longer exists or (for cleanup) is not due.
    Skipped,
    /// Legal holds stop its destruction.
    Held(Vec<HoldId>),
}

impl TrashService {
    /// Purges up to `batch` due operations. Call repeatedly until it reports
    /// `claimed == 0` to drain a backlog; memory use is bounded by `batch`.
    /// Safe to run from several workers at once: each operation is purged
    /// exactly once.
    ///
    /// The claimed operations are read together
    /// ([`TrashReads::load_for_purge`](crate::ports::TrashReads::load_for_purge)),
    /// each purge is decided by the rules from its aggregate as always, and
    /// the plans (one per aggregate) are applied in ONE transaction
    /// ([`TrashWrites::purge_batch`](crate::ports::TrashWrites::purge_batch)),
    /// bounded by `batch` and by [`TrashConfig::batch_time_limit`]. If that
    /// transaction fails for any reason, nothing of it was applied and the
    /// batch is retried item by item (each in its own transaction, re-read
    /// and re-decided on conflict), so one failing operation cannot block the
    /// others. Operations sharing an aggregate with one already in the
    /// batch also go one at a time, after it.
    ///
    /// [`TrashConfig::batch_time_limit`]: crate::TrashConfig::batch_time_limit
    pub async fn purge_due(&self, batch: u32) -> Result<CleanupReport, CleanupError> {
        let now = self.now();
        let ops = self
            .queue
            .claim_due_operations(now, now.plus(self.config.claim), batch.max(1))
            .await?;
        self.purge_in_batch(&ops, PurgeReason::Cleanup, &Actor::system())
            .await
    }

    /// Purges `ops` for `reason` as `actor`, in one batch as
    /// [`TrashService::purge_due`] describes (one all-or-nothing,
    /// time-limited transaction, else item by item). Used by the cleanup
    /// and by "Empty Trash" jobs.
    pub(crate) async fn purge_in_batch(
        &self,
        ops: &[TrashOperation],
        reason: PurgeReason,
        actor: &Actor,
    ) -> Result<CleanupReport, CleanupError> {
        let mut report = CleanupReport {
            claimed: ops.len() as u32,
            ..CleanupReport::default()
        };
        if ops.is_empty() {
            return Ok(report);
        }
        let mut alone: Vec<&TrashOperation> = Vec::new();
        let mut batched: Vec<&TrashOperation> = Vec::new();
        let mut plans: Vec<PurgePlan> = Vec::new();
        match self.read_for_purge(ops).await {
            Ok((read, holds)) => {
                let now = self.now();
                let mut aggregates = HashSet::new();
                for (op, agg) in ops.iter().zip(read) {
                    let Some(agg) = agg else {
                        report.skipped += 1;
                        continue;
                    };
                    if !aggregates.insert(agg.id()) {
                        alone.push(op);
                        continue;
                    }
                    let Some(held) = holds.get(&op.workspace) else {
                        alone.push(op);
                        continue;
                    };
                    match self.decide_purge(op, &agg, reason, held, actor, now) {
                        Ok(plan) => {
                            batched.push(op);
                            plans.push(plan);
                        }
                        Err(PurgeRefusal::Held(_)) => report.held += 1,
                        Err(_) => report.skipped += 1,
                    }
                }
            }
            // The batch could not be read: every operation goes alone.
            _ => alone.extend(ops.iter()),
        }
        if !plans.is_empty() {
            match self
                .writes
                .purge_batch(&plans, self.config.batch_time_limit)
                .await
            {
                Ok(counts) => {
                    report.purged += plans.len() as u32;
                    report.batched += plans.len() as u32;
                    report.removed.add(counts);
                }
                // Nothing of the batch was applied: each goes alone, first.
                Err(_) => {
                    batched.extend(alone);
                    alone = batched;
                }
            }
        }
        drop(plans);
        let mut last_error = None;
        for op in alone {
            report.alone += 1;
            let outcome = self.purge_operation(op, reason, actor).await;
            match outcome {
                Ok(PurgeOutcome::Purged(counts)) => {
                    report.purged += 1;
                    report.removed.add(counts);
                }
                Ok(PurgeOutcome::Skipped) => report.skipped += 1,
                Ok(PurgeOutcome::Held(_)) => report.held += 1,
                Err(e) => {
                    report.failed += 1;
                    last_error = Some(e);
                }
            }
        }
        match last_error {
            // Nothing went through because the store failed: report that.
            Some(PurgeError::Store(e))
                if report.purged == 0 && report.skipped == 0 && report.held == 0 =>
            {
                Err(e.into())
            }
            _ => Ok(report),
        }
    }

    /// Purges one operation, re-reading on conflict.
    pub(crate) async fn purge_operation(
        &self,
        op: &TrashOperation,
        reason: PurgeReason,
        actor: &Actor,
    ) -> Result<PurgeOutcome, PurgeError> {
        let mut attempts = self.attempts();
        loop {
            attempts.next().await?;
            let Some(aggregate) = self.aggregate_of(&op.workspace, &op.root).await? else {
                return Ok(PurgeOutcome::Skipped);
            };
            let _turn = self.runtime.locks.lock(&aggregate).await;
            let now = self.now();
            let plan = match self.plan_purge(op, &aggregate, reason, actor, now).await? {
                Ok(plan) => plan,
                Err(PurgeRefusal::Held(holds)) => return Ok(PurgeOutcome::Held(holds)),
                Err(_) => return Ok(PurgeOutcome::Skipped),
            };
            match self.writes.purge(&plan).await {
                Ok(counts) => return Ok(PurgeOutcome::Purged(counts)),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Reads the claimed operations' aggregates and the holds of their
    /// workspaces; `Err` if either could not be read whole.
    async fn read_for_purge(
        &self,
        ops: &[TrashOperation],
    ) -> Result<
        (
            Vec<Option<AggregateRead>>,
            HashMap<WorkspaceSlug, WorkspaceHolds>,
        ),
        StoreError,
    > {
        let read = self.reads.load_for_purge(ops).await?;
        if read.len() != ops.len() {
            return Err(StoreError::Internal(
                "load_for_purge answered another number of aggregates".into(),
            ));
        }
        let mut workspaces: Vec<WorkspaceSlug> = Vec::new();
        for op in ops {
            if !workspaces.contains(&op.workspace) {
                workspaces.push(op.workspace.clone());
            }
        }
        let holds = self.holds.holds_of(&workspaces).await?;
        let holds = holds
            .into_iter()
            .map(|h| (h.workspace.clone(), h))
            .collect();
        Ok((read, holds))
    }

    /// Reads `aggregate` (the one of `op`'s root) and the workspace's holds,
    /// and decides the purge; `Err` with why not (gone, not due, held).
    pub(crate) async fn plan_purge(
        &self,
        op: &TrashOperation,
        aggregate: &AggregateId,
        reason: PurgeReason,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Result<PurgePlan, PurgeRefusal>, StoreError> {
        let workspace = &op.workspace;
        let holds = self.holds.holds(workspace).await?;
        let read = match aggregate {
            AggregateId::Workflow(id) => self
                .reads
                .load_workflow(workspace, id)
                .await?
                .map(AggregateRead::Workflow),
            AggregateId::Project(id) => self
                .reads
                .load_project(workspace, id)
                .await?
                .map(AggregateRead::Project),
        };
        Ok(match read {
            Some(agg) => self.decide_purge(op, &agg, reason, &holds, actor, now),
            None => Err(PurgeRefusal::Gone),
        })
    }

    /// Decides purging `op` from its aggregate and its workspace's holds
    /// (the rules), with the outbox messages of every operation the purge
    /// removes; `Err` if the operation is gone, (for cleanup) not due, or held.
    pub(crate) fn decide_purge(
        &self,
        op: &TrashOperation,
        aggregate: &AggregateRead,
        reason: PurgeReason,
        holds: &WorkspaceHolds,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<PurgePlan, PurgeRefusal> {
        match aggregate {
            AggregateRead::Workflow(agg) => {
                let mut plan = rules::purge_workflow(agg, &op.id, reason, holds, actor, now)?;
                let described = agg.operation.as_ref().map(|o| {
                    ItemEvent::of(TrashedItem::Workflow(rules::describe_workflow(agg)), o)
                });
                plan.outbox = self.item_messages(EventType::ItemPurged, described, now);
                Ok(plan)
            }
            AggregateRead::Project(agg) => {
                let mut plan = rules::purge_in_project(agg, &op.id, reason, holds, actor, now)?;
                // Every removed operation's root is purged: the purged one
                // first, then those rooted inside it.
                let mut removed: Vec<&TrashOperation> = agg
                    .operations
                    .iter()
                    .filter(|o| plan.remove.operations.contains(&o.id))
                    .collect();
                removed.sort_by_key(|o| o.id != op.id);
                let described = removed.into_iter().filter_map(|o| {
                    rules::describe_in_project(agg, &o.root).map(|(_, item)| ItemEvent::of(item, o))
                });
                plan.outbox = self.item_messages(EventType::ItemPurged, described, now);
                Ok(plan)
            }
        }
    }

    /// Sends cancellations for trainings whose pending cancellation the
    /// caller holds; returns how many are still pending afterwards.
    pub(crate) async fn send_cancellations(
        &self,
        workspace: &WorkspaceSlug,
        operation: &OperationId,
        trainings: &[TrainingId],
    ) -> u32 {
        let mut pending = 0;
        for training in trainings {
            let ok = self
                .deliver_cancellation(workspace, training, 0, Some(operation.clone()))
                .await;
            if !ok {
                pending += 1;
            }
        }
        pending
    }

    /// Delivers one cancellation and records the result. A store failure
    /// while recording leaves the cancellation pending (it is retried once
    /// its claim passes). Returns whether the canceller confirmed it.
    async fn deliver_cancellation(
        &self,
        workspace: &WorkspaceSlug,
        training: &TrainingId,
        attempts: u32,
        operation: Option<OperationId>,
    ) -> bool {
        let result = self.canceller.cancel(workspace, training).await;
        let now = self.now();
        let event = |kind| AuditEvent {
            workspace: workspace.clone(),
            at: now,
            kind,
            actor: Actor::system(),
            item: Some(ItemRef::Training(training.clone())),
            operation: operation.clone(),
        };
        match result {
            Ok(()) => {
                let _ = self
                    .queue
                    .complete_cancellation(training, &event(AuditKind::CancellationSucceeded))
                    .await;
                true
            }
            Err(_) => {
                let retry_at = now.plus(rules::cancellation_backoff(attempts));
                let _ = self
                    .queue
                    .fail_cancellation(training, retry_at, &event(AuditKind::CancellationFailed))
                    .await;
                false
            }
        }
    }

    /// Asks the job canceller again, now, about a training's pending
    /// cancellation (when the job system reported back, e.g. acknowledged
    /// the cancellation webhook) instead of at its next retry time. Returns
    /// whether it is confirmed (or was no longer pending).
    pub async fn recheck_cancellation(
        &self,
        workspace: &WorkspaceSlug,
        training: &TrainingId,
    ) -> Result<bool, StoreError> {
        let pending = self.queue.pending_cancellations(workspace).await?;
        let Some(p) = pending.into_iter().find(|p| &p.training == training) else {
            return Ok(true);
        };
        Ok(self
            .deliver_cancellation(workspace, training, p.attempts, Some(p.operation))
            .await)
    }

    /// Claims up to `batch` pending cancellations whose retry time has come
    /// and delivers them. Safe to run from several workers at once: each
    /// claimed cancellation is sent by one worker.
    pub async fn retry_cancellations(
        &self,
        batch: u32,
    ) -> Result<CancellationReport, CleanupError> {
        let now = self.now();
        let claimed = self
            .queue
            .claim_cancellations(now, now.plus(self.config.claim), batch.max(1))
            .await?;
        let mut report = CancellationReport::default();
        for pending in claimed {
            report.attempted += 1;
            if self
                .deliver_cancellation(
                    &pending.workspace,
                    &pending.training,
                    pending.attempts,
                    Some(pending.operation.clone()),
                )
                .await
            {
                report.succeeded += 1;
            } else {
                report.failed += 1;
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ports::*;
    use crate::usecases::TrashPorts;
    use crate::TrashConfig;

    fn ts(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms).expect("valid")
    }

    fn workflow_op(n: u8) -> (TrashOperation, WorkflowAggregate) {
        let id = WorkflowId::parse(&format!("w{}", "0".repeat(18) + &n.to_string())).expect("id");
        let op = TrashOperation {
            id: OperationId::parse(&format!("o{}", "0".repeat(18) + &n.to_string())).expect("id"),
            workspace: WorkspaceSlug::parse("acme").expect("slug"),
            root: ItemRef::Workflow(id.clone()),
            actor: Actor::system(),
            deleted_at: ts(0),
            scheduled_cleanup_at: ts(1000),
            cleanup_delete_images: false,
            contains: Contains::default(),
        };
        let agg = WorkflowAggregate {
            workflow: Workflow {
                id,
                workspace: op.workspace.clone(),
                slug: Slug::parse(&format!("w{n}")).expect("slug"),
                name: Name::parse("w").expect("name"),
                created_at: ts(0),
                state: ItemState::Trashed {
                    operation: op.id.clone(),
                    cascaded: false,
                },
            },
            revision: Revision(1),
            operation: Some(op.clone()),
        };
        (op, agg)
    }

    /// A holds role with no hold in any workspace.
    pub(crate) fn no_holds() -> MockLegalHolds {
        let mut holds = MockLegalHolds::new();
        holds
            .expect_holds()
            .returning(|ws| Ok(WorkspaceHolds::none(ws.clone())));
        holds.expect_holds_of().returning(|wss| {
            Ok(wss
                .iter()
                .map(|ws| WorkspaceHolds::none(ws.clone()))
                .collect())
        });
        holds
    }

    /// A runtime whose clock stands at 5 s and whose pauses return at once.
    pub(crate) fn runtime() -> crate::usecases::Runtime {
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| ts(5000));
        let mut ids = MockIdGenerator::new();
        ids.expect_below().returning(|bound| bound / 2);
        let mut pause = MockPause::new();
        pause.expect_pause().returning(|_| ());
        crate::usecases::Runtime {
            clock: Arc::new(clock),
            ids: Arc::new(ids),
            pause: Arc::new(pause),
            locks: Arc::new(NoLocks),
        }
    }

    /// Only the roles the cleanup touches get expectations: the queue
    /// claims, the reads load the workflows, the writes purge them.
    fn service(failing: Vec<bool>) -> TrashService {
        let pairs: Vec<_> = (1..=failing.len() as u8).map(workflow_op).collect();
        let ops: Vec<TrashOperation> = pairs.iter().map(|(op, _)| op.clone()).collect();
        let mut queue = MockWorkQueue::new();
        queue
            .expect_claim_due_operations()
            .times(1)
            .returning(move |_, _, _| Ok(ops.clone()));
        let aggs = pairs.clone();
        let mut reads = MockTrashReads::new();
        reads.expect_load_workflow().returning(move |_, id| {
            Ok(aggs
                .iter()
                .find(|(_, a)| &a.workflow.id == id)
                .map(|(_, a)| a.clone()))
        });
        let aggs = pairs.clone();
        reads
            .expect_load_for_purge()
            .times(1)
            .returning(move |ops| {
                Ok(ops
                    .iter()
                    .map(|op| {
                        aggs.iter()
                            .find(|(o, _)| o.id == op.id)
                            .map(|(_, a)| AggregateRead::Workflow(a.clone()))
                    })
                    .collect())
            });
        let mut writes = MockTrashWrites::new();
        let batch_pairs = pairs.clone();
        let batch_failing = failing.clone();
        let any_fails = failing.iter().any(|f| *f);
        writes
            .expect_purge_batch()
            .times(1)
            .returning(move |plans, _| {
                assert_eq!(plans.len(), batch_pairs.len(), "one plan per operation");
                if plans.iter().any(|plan| {
                    let n = batch_pairs
                        .iter()
                        .position(|(op, _)| op.id == plan.operation)
                        .expect("known operation");
                    batch_failing[n]
                }) {
                    Err(StoreError::Unavailable("disk on fire".into()))
                } else {
                    Ok(PurgeCounts {
                        workflows: plans.len() as u64,
                        ..PurgeCounts::default()
                    })
                }
            });
        writes
            .expect_purge()
            .times(if any_fails { pairs.len() } else { 0 })
            .returning(move |plan| {
                let n = pairs
                    .iter()
                    .position(|(op, _)| op.id == plan.operation)
                    .expect("known operation");
                assert_eq!(plan.remove.workflows, vec![pairs[n].1.workflow.id.clone()]);
                if failing[n] {
                    Err(StoreError::Unavailable("disk on fire".into()))
                } else {
                    Ok(PurgeCounts {
                        workflows: 1,
                        ..PurgeCounts::default()
                    })
                }
            });
        TrashService::new(
            TrashPorts {
                reads: Arc::new(reads),
                writes: Arc::new(writes),
                queue: Arc::new(queue),
                audit: Arc::new(MockAuditLog::new()),
                holds: Arc::new(no_holds()),
                canceller: Arc::new(MockJobCanceller::new()),
                runtime: runtime(),
            },
            TrashConfig::default(),
        )
    }

    #[tokio::test]
    async fn one_failing_purge_does_not_stop_the_batch() {
        let report = service(vec![true, false, false])
            .purge_due(10)
            .await
            .expect("batch goes on");
        assert_eq!((report.claimed, report.purged, report.failed), (3, 2, 1));
        assert_eq!(
            (report.batched, report.alone),
            (0, 3),
            "the failed batch is retried item by item"
        );
        assert_eq!(report.removed.workflows, 2);
    }

    #[tokio::test]
    async fn a_healthy_batch_is_one_transaction() {
        let report = service(vec![false, false, false, false])
            .purge_due(10)
            .await
            .expect("purged");
        assert_eq!((report.claimed, report.purged, report.failed), (4, 4, 0));
        assert_eq!((report.batched, report.alone), (4, 0));
        assert_eq!(report.removed.workflows, 4);
    }

    #[tokio::test]
    async fn a_batch_where_everything_fails_reports_the_error() {
        let err = service(vec![true, true])
            .purge_due(10)
            .await
            .expect_err("nothing went through");
        assert_eq!(
            err,
            CleanupError::Store(StoreError::Unavailable("disk on fire".into()))
        );
    }

    #[tokio::test]
    async fn a_purge_that_keeps_conflicting_is_busy_not_a_raw_conflict() {
        let (op, agg) = workflow_op(1);
        let claimed = vec![op.clone()];
        let mut queue = MockWorkQueue::new();
        queue
            .expect_claim_due_operations()
            .returning(move |_, _, _| Ok(claimed.clone()));
        let mut reads = MockTrashReads::new();
        let read = agg.clone();
        reads
            .expect_load_workflow()
            .returning(move |_, _| Ok(Some(read.clone())));
        reads
            .expect_load_for_purge()
            .returning(move |_| Ok(vec![Some(AggregateRead::Workflow(agg.clone()))]));
        let mut writes = MockTrashWrites::new();
        writes
            .expect_purge_batch()
            .times(1)
            .returning(|_, _| Err(StoreError::Conflict));
        writes
            .expect_purge()
            // Every attempt of the direct call, then every attempt of the
            // batch's operation alone.
            .times(2 * TrashConfig::default().max_attempts as usize)
            .returning(|_| Err(StoreError::Conflict));
        let service = TrashService::new(
            TrashPorts {
                reads: Arc::new(reads),
                writes: Arc::new(writes),
                queue: Arc::new(queue),
                audit: Arc::new(MockAuditLog::new()),
                holds: Arc::new(no_holds()),
                canceller: Arc::new(MockJobCanceller::new()),
                runtime: runtime(),
            },
            TrashConfig::default(),
        );
        let outcome = service
            .purge_operation(&op, PurgeReason::Cleanup, &Actor::system())
            .await;
        assert!(matches!(outcome, Err(PurgeError::Busy)));
        let report = service
            .purge_due(1)
            .await
            .expect("a busy purge is a failed item");
        assert_eq!((report.claimed, report.failed), (1, 1));
    }

    /// Records every lock taken, and whether one was still held when the
    /// next was asked for.
    #[derive(Default)]
    struct RecordingLocks {
        taken: std::sync::Mutex<Vec<AggregateId>>,
        held: Arc<std::sync::atomic::AtomicBool>,
        overlapped: std::sync::atomic::AtomicBool,
    }

    struct Release(Arc<std::sync::atomic::AtomicBool>);

    impl Drop for Release {
        fn drop(&mut self) {
            self.0.store(false, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[async_trait::async_trait]
    impl AggregateLocks for RecordingLocks {
        async fn lock(&self, aggregate: &AggregateId) -> AggregateLock {
            use std::sync::atomic::Ordering;
            if self.held.swap(true, Ordering::SeqCst) {
                self.overlapped.store(true, Ordering::SeqCst);
            }
            self.taken.lock().unwrap().push(aggregate.clone());
            AggregateLock::held(Release(self.held.clone()))
        }
    }

    #[tokio::test]
    async fn each_attempt_takes_and_releases_the_turn_of_its_aggregate() {
        let (op, agg) = workflow_op(1);
        let mut reads = MockTrashReads::new();
        reads
            .expect_load_workflow()
            .returning(move |_, _| Ok(Some(agg.clone())));
        let mut writes = MockTrashWrites::new();
        let mut seq = mockall::Sequence::new();
        writes
            .expect_purge()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Err(StoreError::Conflict));
        writes
            .expect_purge()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(PurgeCounts::default()));
        let locks = Arc::new(RecordingLocks::default());
        let mut rt = runtime();
        rt.locks = locks.clone();
        let service = TrashService::new(
            TrashPorts {
                reads: Arc::new(reads),
                writes: Arc::new(writes),
                queue: Arc::new(MockWorkQueue::new()),
                audit: Arc::new(MockAuditLog::new()),
                holds: Arc::new(no_holds()),
                canceller: Arc::new(MockJobCanceller::new()),
                runtime: rt,
            },
            TrashConfig::default(),
        );
        let outcome = service
            .purge_operation(&op, PurgeReason::Cleanup, &Actor::system())
            .await
            .expect("second attempt wins");
        assert!(matches!(outcome, PurgeOutcome::Purged(_)));
        let expected = AggregateId::Workflow(match &op.root {
            ItemRef::Workflow(w) => w.clone(),
            other => panic!("{other:?}"),
        });
        assert_eq!(
            *locks.taken.lock().unwrap(),
            vec![expected.clone(), expected]
        );
        assert!(
            !locks.overlapped.load(std::sync::atomic::Ordering::SeqCst),
            "the turn is given back before the next attempt"
        );
        assert!(!locks.held.load(std::sync::atomic::Ordering::SeqCst));
    }
}
