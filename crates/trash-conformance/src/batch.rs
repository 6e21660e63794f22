//! Cleanup in batches: the due operations of one claim are read together
//! and purged in one transaction; a batch that fails is retried item by
//! item, so one failing operation never blocks the others.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use trash_core::domain::*;
use trash_core::ports::*;
use trash_core::rules::{self, PurgeReason};
use trash_core::usecases::TrashTarget;
use trash_core::TrashConfig;

use crate::harness::*;
use crate::StoreFactory;

async fn harness(factory: &dyn StoreFactory) -> Harness {
    Harness::new(factory.create().await).await
}

/// Four workflows and two projects (one with an exclusive image and a
/// version) in the trash, all due now. Returns the operation of workflow `w2`.
async fn due_backlog(h: &Harness) -> OperationId {
    for w in ["w1", "w2", "w3", "w4"] {
        h.workflow(w).await;
        h.trash(TrashTarget::Workflow { slug: slug(w) }).await;
    }
    for p in ["p1", "p2"] {
        h.project(p).await;
        h.version(p).await;
        h.image(p, &format!("{p}.jpg")).await;
        h.trash_project(p).await;
    }
    h.clock.advance(days(30));
    op_of_root(h, "w2").await
}

/// The operation whose root has the slug `s` (from the listing).
async fn op_of_root(h: &Harness, s: &str) -> OperationId {
    h.listing()
        .await
        .into_iter()
        .find(|e| match &e.item {
            TrashedItem::Workflow(w) => w.slug.as_str() == s,
            TrashedItem::Project(p) => p.slug.as_str() == s,
            _ => false,
        })
        .map(|e| e.operation.id)
        .unwrap_or_else(|| panic!("{s} is not in the trash"))
}

/// The store's writes, except that any purge (alone or in a batch) that
/// names `failing` fails as if the store had.
struct FailsFor {
    inner: Arc<dyn TrashWrites>,
    failing: OperationId,
}

impl FailsFor {
    fn check(&self, plan: &PurgePlan) -> Result<(), StoreError> {
        if plan.operation == self.failing {
            Err(StoreError::Unavailable("this one always fails".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl TrashWrites for FailsFor {
    async fn trash(&self, plan: &TrashPlan) -> Result<(), StoreError> {
        self.inner.trash(plan).await
    }

    async fn restore(&self, plan: &RestorePlan) -> Result<(), StoreError> {
        self.inner.restore(plan).await
    }

    async fn purge(&self, plan: &PurgePlan) -> Result<PurgeCounts, StoreError> {
        self.check(plan)?;
        self.inner.purge(plan).await
    }

    async fn purge_batch(
        &self,
        plans: &[PurgePlan],
        time_limit: Duration,
    ) -> Result<PurgeCounts, StoreError> {
        for plan in plans {
            self.check(plan)?;
        }
        self.inner.purge_batch(plans, time_limit).await
    }
}

/// A healthy backlog is purged in one batch; a batch with a failing
/// operation is retried item by item: the others are purged, the failing
/// one stays (counted as failed) and goes once its claim has passed.
pub async fn cleanup_batches_and_isolates_a_failing_item(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let w2 = due_backlog(&h).await;
    let mut roles = h.roles();
    roles.writes = Arc::new(FailsFor {
        inner: h.store.writes.clone(),
        failing: w2.clone(),
    });
    let failing = h.service_on(roles, test_runtime(h.clock.clone()), TrashConfig::default());
    let report = failing.purge_due(100).await.expect("the batch goes on");
    assert_eq!(report.claimed, 6);
    assert_eq!((report.purged, report.failed, report.skipped), (5, 1, 0));
    assert_eq!(
        (report.batched, report.alone),
        (0, 6),
        "the failed batch was retried item by item"
    );
    assert_eq!(report.removed.workflows, 3);
    assert_eq!(report.removed.projects, 2);
    assert_eq!(report.removed.versions, 2);
    assert_eq!(report.removed.images, 2);
    let left: Vec<OperationId> = h
        .listing()
        .await
        .into_iter()
        .map(|e| e.operation.id)
        .collect();
    assert_eq!(left, vec![w2.clone()], "only the failing one is left");

    // Its claim holds it back; once the claim has passed it goes, in a
    // batch of its own.
    let again = h.service.purge_due(100).await.expect("cleanup");
    assert_eq!(again.claimed, 0, "still claimed");
    h.clock
        .advance(TrashConfig::default().claim + Duration::milliseconds(1));
    let last = h.service.purge_due(100).await.expect("cleanup");
    assert_eq!((last.claimed, last.purged, last.batched), (1, 1, 1));
    assert!(h.listing().await.is_empty());
    let purged = h
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind == AuditKind::Purged)
        .count();
    assert_eq!(purged, 6, "one Purged event per operation");

    // Healthy: a whole backlog in one batch.
    due_backlog(&h).await;
    let report = h.service.purge_due(100).await.expect("cleanup");
    assert_eq!((report.claimed, report.purged, report.batched), (6, 6, 6));
    assert_eq!(report.alone, 0);
    assert!(h.listing().await.is_empty());
}

/// Two due operations of one aggregate: one goes in the batch, the other
/// alone after it (re-read, so it sees what the batch removed).
pub async fn cleanup_batch_takes_one_operation_per_aggregate(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("two").await;
    h.version("two").await;
    h.version("two").await;
    h.version("two").await;
    h.trash_version("two", 1).await;
    h.trash_version("two", 2).await;
    h.clock.advance(days(30));
    let report = h.service.purge_due(100).await.expect("cleanup");
    assert_eq!((report.claimed, report.purged), (2, 2));
    assert_eq!((report.batched, report.alone), (1, 1));
    let agg = h.must_agg(&p.id).await;
    let numbers: Vec<u32> = agg.versions.iter().map(|v| v.number.get()).collect();
    assert_eq!(numbers, vec![3]);
    assert!(agg.operations.is_empty());
}

/// The store's batch read returns what the one-by-one reads return, and
/// its batch purge is all or nothing: one stale guard fails the batch with
/// `Conflict` and changes nothing.
pub async fn purge_batch_is_all_or_nothing(f: &dyn StoreFactory) {
    let h = harness(f).await;
    due_backlog(&h).await;
    h.project("t").await;
    h.version("t").await;
    let training = h.finished_training("t", 1).await;
    h.trash_training("t", 1, &training.id).await;
    h.clock.advance(days(30));
    let now = h.clock.now();
    let ops = h
        .store
        .queue
        .claim_due_operations(now, now.plus(Duration::minutes(5)), 100)
        .await
        .expect("claim");
    assert_eq!(ops.len(), 7);

    let read = h
        .store
        .reads
        .load_for_purge(&ops)
        .await
        .expect("batch read");
    assert_eq!(read.len(), ops.len());
    for (op, agg) in ops.iter().zip(&read) {
        let one = match &op.root {
            ItemRef::Workflow(id) => h
                .store
                .reads
                .load_workflow(&op.workspace, id)
                .await
                .expect("read")
                .map(AggregateRead::Workflow),
            ItemRef::Training(t) => {
                let project = h
                    .store
                    .reads
                    .training_project(&op.workspace, t)
                    .await
                    .expect("read")
                    .expect("its project");
                h.store
                    .reads
                    .load_project(&op.workspace, &project)
                    .await
                    .expect("read")
                    .map(AggregateRead::Project)
            }
            ItemRef::Project(id) | ItemRef::Version(id, _) => h
                .store
                .reads
                .load_project(&op.workspace, id)
                .await
                .expect("read")
                .map(AggregateRead::Project),
        };
        assert_eq!(agg, &one, "batch read of {}", op.id);
    }
    // Scoped: an operation looked up in another workspace finds nothing.
    let mut elsewhere = ops[0].clone();
    elsewhere.workspace = h.other_ws.clone();
    assert_eq!(
        h.store
            .reads
            .load_for_purge(&[elsewhere])
            .await
            .expect("read"),
        vec![None]
    );

    let plans: Vec<PurgePlan> = ops
        .iter()
        .zip(read)
        .map(|(op, agg)| {
            let none = WorkspaceHolds::none(op.workspace.clone());
            let (reason, actor) = (PurgeReason::Cleanup, Actor::system());
            match agg.expect("aggregate") {
                AggregateRead::Project(a) => {
                    rules::purge_in_project(&a, &op.id, reason, &none, &actor, now)
                }
                AggregateRead::Workflow(a) => {
                    rules::purge_workflow(&a, &op.id, reason, &none, &actor, now)
                }
            }
        })
        .collect::<Result<_, _>>()
        .expect("every one is due");
    let mut stale = plans.clone();
    stale[3].guard.revision = Revision(stale[3].guard.revision.0 + 7);
    let before_listing = h.listing().await;
    let before_audit = h.audit().await.len();
    assert_eq!(
        h.store
            .writes
            .purge_batch(&stale, Duration::seconds(30))
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(h.listing().await, before_listing, "nothing changed");
    assert_eq!(h.audit().await.len(), before_audit, "no event recorded");

    let counts = h
        .store
        .writes
        .purge_batch(&plans, Duration::seconds(30))
        .await
        .expect("the batch commits");
    assert_eq!(
        counts,
        PurgeCounts {
            projects: 2,
            versions: 2,
            workflows: 4,
            trainings: 1,
            images: 2,
        }
    );
    assert!(h.listing().await.is_empty());
    assert_eq!(
        h.store
            .writes
            .purge_batch(&plans, Duration::seconds(30))
            .await,
        Err(StoreError::Conflict),
        "exactly once: the same plans cannot apply twice"
    );
}
