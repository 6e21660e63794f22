//! Races, each run [`RACE_ITERATIONS`] times with real parallel tasks on one
//! store: whatever the interleaving, the outcome must be one of the allowed
//! ones and the invariants must hold.
//!
//! Each side of a race runs its use case through its own
//! [`GatedStore`](crate::gate::GatedStore) over the store under test, both
//! sharing a fresh [`Gate`] per iteration, so neither side writes before
//! both have read (see [`crate::gate`]). Where both sides then write the
//! same aggregate, the race asserts that the revision guard refused one of
//! them with `Conflict`: a store that does not enforce its guards fails here
//! every run, not just once in a while.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Duration;
use tokio::sync::Barrier;
use trash_core::domain::*;
use trash_core::ports::*;
use trash_core::usecases::*;
use trash_core::TrashConfig;
use trash_memory::ManualClock;

use crate::gate::{Gate, Side};
use crate::harness::*;
use crate::{StoreFactory, RACE_ITERATIONS};

async fn harness(factory: &dyn StoreFactory) -> Harness {
    Harness::new(factory.create().await).await
}

/// The service of one side of a race: the harness's store with its writes
/// and work queue behind `gate`, read with `clock`, default retention.
fn side(h: &Harness, gate: &Arc<Gate>, side: Side, clock: Arc<dyn Clock>) -> TrashService {
    h.service_on(
        gate.store(side, &h.store).roles(),
        test_runtime(clock),
        TrashConfig::default(),
    )
}

/// The services of both sides of a race, on the harness's clock.
fn sides(h: &Harness, gate: &Arc<Gate>) -> (TrashService, TrashService) {
    (
        side(h, gate, Side::A, h.clock.clone()),
        side(h, gate, Side::B, h.clock.clone()),
    )
}

/// Runs two futures at once, released together by a barrier: `a` is side A
/// of `gate`, `b` side B. A side that finishes leaves the gate, so the
/// other never waits for a write that will not come.
async fn race<A, B, RA, RB>(gate: &Arc<Gate>, a: A, b: B) -> (RA, RB)
where
    A: std::future::Future<Output = RA> + Send + 'static,
    B: std::future::Future<Output = RB> + Send + 'static,
    RA: Send + 'static,
    RB: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(2));
    let (ba, bb) = (barrier.clone(), barrier);
    let (ga, gb) = (gate.clone(), gate.clone());
    let ta = tokio::spawn(async move {
        ba.wait().await;
        let r = a.await;
        ga.depart(Side::A);
        r
    });
    let tb = tokio::spawn(async move {
        bb.wait().await;
        let r = b.await;
        gb.depart(Side::B);
        r
    });
    let (ra, rb) = tokio::join!(ta, tb);
    (ra.expect("task a panicked"), rb.expect("task b panicked"))
}

/// What the gates of one race saw over its iterations.
#[derive(Debug, Default)]
struct Overlap {
    iterations: usize,
    met: usize,
    conflicts: usize,
    timeouts: usize,
}

impl Overlap {
    /// Records an iteration's gate.
    fn record(&mut self, gate: &Gate) {
        self.iterations += 1;
        self.met += usize::from(gate.met());
        self.conflicts += gate.conflicts();
        self.timeouts += gate.timeouts();
    }

    /// Records an iteration whose sides both write the same aggregate: if
    /// both read before either wrote, the guard must have refused one.
    fn same_aggregate(&mut self, gate: &Gate, i: usize) {
        self.record(gate);
        if gate.met() {
            assert!(
                gate.conflicts() >= 1,
                "iteration {i}: both sides read the aggregate before either wrote it, \
                 yet no guarded write was refused with Conflict: the revision guard \
                 is not enforced"
            );
        }
    }

    /// Reports, and checks the sides did meet at the gate in most
    /// iterations (its timeout is only a backstop).
    fn finish(&self, race: &str) {
        eprintln!(
            "{race}: gate met in {}/{} iterations, {} conflicts, {} gate timeouts",
            self.met, self.iterations, self.conflicts, self.timeouts
        );
        assert!(
            self.met * 2 >= self.iterations,
            "{race}: the sides met at the gate in only {} of {} iterations",
            self.met,
            self.iterations
        );
    }
}

fn assert_no_active_child_under_trashed_parent(agg: &ProjectAggregate) {
    if !agg.project.state.is_active() {
        assert!(
            agg.versions.iter().all(|v| !v.state.is_active()),
            "active version under a trashed project: {agg:?}"
        );
    }
    for t in &agg.trainings {
        let v = agg
            .versions
            .iter()
            .find(|v| v.number == t.version)
            .expect("training's version exists");
        if !v.state.is_active() {
            assert!(
                !t.state.is_active(),
                "active training under a trashed version"
            );
        }
    }
    // Every operation's `contains` matches its cascaded members.
    for op in &agg.operations {
        let versions = agg
            .versions
            .iter()
            .filter(|v| v.state == cascaded_in(&op.id))
            .count() as u32;
        let trainings = agg
            .trainings
            .iter()
            .filter(|t| t.state == cascaded_in(&op.id))
            .count() as u32;
        assert_eq!(
            op.contains,
            Contains {
                versions,
                trainings
            },
            "contains of {op:?}"
        );
    }
}

fn cascaded_in(op: &OperationId) -> ItemState {
    ItemState::Trashed {
        operation: op.clone(),
        cascaded: true,
    }
}

/// Restore and cleanup of the same item: exactly one wins (the other's
/// write is refused), and the item is either fully restored or fully gone.
pub async fn race_restore_vs_cleanup(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let (mut restored_count, mut purged_count) = (0, 0);
    let mut overlap = Overlap::default();
    for i in 0..RACE_ITERATIONS {
        let s = format!("p{i}");
        h.clock.set(t0().plus(Duration::hours(i as i64)));
        let p = h.project(&s).await;
        h.version(&s).await;
        h.version(&s).await;
        let t = h.finished_training(&s, 1).await;
        let out = h.trash_project(&s).await;
        let due = out.scheduled_cleanup_at;
        let gate = Gate::new();
        let restorer = side(
            &h,
            &gate,
            Side::A,
            Arc::new(ManualClock::new(due.plus(Duration::milliseconds(-1)))),
        );
        let cleaner = side(&h, &gate, Side::B, Arc::new(ManualClock::new(due)));
        let (key, ws, id) = (h.key.clone(), h.ws.clone(), p.id.clone());
        let (restore, cleanup) = race(
            &gate,
            async move {
                restorer
                    .restore(&key, &ws, &ItemRef::Project(id), OnConflict::Fail)
                    .await
            },
            async move { cleaner.purge_due(10).await },
        )
        .await;
        let cleanup = cleanup.expect("cleanup runs");
        overlap.same_aggregate(&gate, i);
        let restored = matches!(&restore, Ok(o) if !o.already_active);
        let purged = cleanup.purged == 1;
        assert!(
            restored != purged,
            "iteration {i}: exactly one must win: restore={restore:?} cleanup={cleanup:?}"
        );
        match h.agg(&p.id).await {
            Some(agg) => {
                assert!(restored, "iteration {i}: project exists but restore lost");
                assert!(agg.project.state.is_active());
                assert_eq!(agg.versions.len(), 2);
                assert!(agg.versions.iter().all(|v| v.state.is_active()));
                assert!(agg.trainings.iter().all(|t| t.state.is_active()));
                assert!(agg.operations.is_empty());
                restored_count += 1;
            }
            None => {
                assert!(purged, "iteration {i}: project gone but cleanup lost");
                assert_eq!(restore, Err(RestoreError::NotFound), "iteration {i}");
                assert!(h
                    .store
                    .reads
                    .training_project(&h.ws, &t.id)
                    .await
                    .expect("q")
                    .is_none());
                purged_count += 1;
            }
        }
    }
    assert!(h.listing().await.is_empty());
    eprintln!("restore vs cleanup: restore won {restored_count}, cleanup won {purged_count}");
    overlap.finish("restore vs cleanup");
}

/// Restoring a version while its project is being trashed never leaves an
/// active version under a trashed project.
pub async fn race_restore_version_vs_trash_project(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let mut outcomes: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut overlap = Overlap::default();
    for i in 0..RACE_ITERATIONS {
        let s = format!("p{i}");
        let p = h.project(&s).await;
        h.version(&s).await;
        h.version(&s).await;
        h.finished_training(&s, 1).await;
        let own = h.trash_version(&s, 1).await;
        assert!(!own.already_in_trash);
        let gate = Gate::new();
        let (svc_a, svc_b) = sides(&h, &gate);
        let (key_a, key_b, ws_a, ws_b) = (h.key.clone(), h.key.clone(), h.ws.clone(), h.ws.clone());
        let (id, slug_b) = (p.id.clone(), slug(&s));
        let (restore, trash) = race(
            &gate,
            async move {
                svc_a
                    .restore(
                        &key_a,
                        &ws_a,
                        &ItemRef::Version(id, num(1)),
                        OnConflict::Fail,
                    )
                    .await
            },
            async move {
                svc_b
                    .move_to_trash(
                        &key_b,
                        &ws_b,
                        &TrashTarget::Project {
                            slug: slug_b,
                            cleanup_delete_images: true,
                        },
                    )
                    .await
            },
        )
        .await;
        let trash = trash.expect("trashing the project succeeds");
        assert!(!trash.already_in_trash);
        overlap.same_aggregate(&gate, i);
        let agg = h.must_agg(&p.id).await;
        assert_no_active_child_under_trashed_parent(&agg);
        let project_op = agg.project.state.operation().expect("trashed").clone();
        let v1 = version_state(&agg, 1);
        match restore {
            Ok(o) => {
                assert!(!o.already_active);
                assert_eq!(*v1, cascaded_in(&project_op), "restored, then cascaded");
                *outcomes.entry("restore first").or_default() += 1;
            }
            Err(RestoreError::ParentInTrash { parent }) => {
                assert_eq!(parent, ItemRef::Project(p.id.clone()));
                assert!(
                    matches!(v1, ItemState::Trashed { cascaded: false, operation } if operation != &project_op),
                    "still in trash on its own"
                );
                *outcomes.entry("trash first").or_default() += 1;
            }
            other => panic!("iteration {i}: unexpected restore outcome {other:?}"),
        }
    }
    eprintln!("restore version vs trash project: {outcomes:?}");
    overlap.finish("restore version vs trash project");
}

/// Two cleanup workers at once: each due operation is purged exactly once
/// and each pending cancellation is sent exactly once. Their claims keep
/// them on different operations; then, with one worker's claim lapsed (a
/// slow worker), both hold the same operation and the guard keeps the purge
/// single.
pub async fn race_two_cleanup_workers(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let claim = h.service.config().claim;
    let (mut apart, mut lapsed) = (Overlap::default(), Overlap::default());
    let mut audit_seen = None;
    for i in 0..RACE_ITERATIONS {
        let base = t0().plus(days(60 * i as i64));
        h.clock.set(base);
        let mut trainings = Vec::new();
        h.canceller.set_failing(true);
        for j in 0..3 {
            let s = format!("p{i}x{j}");
            h.project(&s).await;
            h.version(&s).await;
            trainings.push(h.training(&s, 1).await.id);
            h.trash_project(&s).await;
        }
        let w = format!("w{i}");
        h.workflow(&w).await;
        h.trash(TrashTarget::Workflow { slug: slug(&w) }).await;
        h.canceller.set_failing(false);
        let calls_before = h.canceller.calls().len();
        h.audit_after(&mut audit_seen).await;
        h.clock.set(base.plus(days(30)).plus(Duration::minutes(1)));

        let worker = |svc: TrashService| async move {
            let mut purged = 0;
            let mut sent = 0;
            loop {
                let r = svc.purge_due(1).await.expect("cleanup");
                purged += r.purged;
                let c = svc.retry_cancellations(1).await.expect("cancellations");
                sent += c.succeeded;
                if r.claimed == 0 && c.attempted == 0 {
                    return (purged, sent);
                }
            }
        };
        let gate = Gate::new();
        let (svc_a, svc_b) = sides(&h, &gate);
        let ((pa, sa), (pb, sb)) = race(&gate, worker(svc_a), worker(svc_b)).await;
        apart.record(&gate);
        assert_eq!(pa + pb, 4, "iteration {i}: every operation purged once");
        assert_eq!(sa + sb, 3, "iteration {i}: every cancellation sent once");
        let mut calls = h.canceller.calls()[calls_before..].to_vec();
        calls.sort();
        let mut expected = trainings.clone();
        expected.sort();
        assert_eq!(
            calls, expected,
            "iteration {i}: each cancellation sent exactly once"
        );
        assert!(h.pending().await.is_empty());

        // A slow worker's claim lapses while it purges: a second worker
        // claims the same operation, and both purge it at once.
        let l = format!("l{i}");
        let workflow = h.workflow(&l).await;
        let due = h
            .trash(TrashTarget::Workflow { slug: slug(&l) })
            .await
            .scheduled_cleanup_at;
        let gate = Gate::new();
        let slow = side(&h, &gate, Side::A, Arc::new(ManualClock::new(due)));
        let late = Arc::new(ManualClock::new(due.plus(claim).plus(Duration::minutes(1))));
        let fresh = side(&h, &gate, Side::B, late);
        let waits = gate.clone();
        let (ra, rb) = race(&gate, async move { slow.purge_due(1).await }, async move {
            waits.claimed_by(Side::A).await;
            fresh.purge_due(1).await
        })
        .await;
        let (ra, rb) = (ra.expect("slow worker"), rb.expect("fresh worker"));
        lapsed.same_aggregate(&gate, i);
        assert_eq!(
            ra.purged + rb.purged,
            1,
            "iteration {i}: a lapsed claim purged once: {ra:?} {rb:?}"
        );
        if gate.met() {
            assert_eq!(
                (ra.claimed, rb.claimed, ra.skipped + rb.skipped),
                (1, 1, 1),
                "iteration {i}: both claimed it, one skipped it: {ra:?} {rb:?}"
            );
        }
        assert!(h
            .store
            .reads
            .load_workflow(&h.ws, &workflow.id)
            .await
            .expect("load workflow")
            .is_none());

        let new_events = h.audit_after(&mut audit_seen).await;
        let mut purged_ops: Vec<OperationId> = new_events
            .iter()
            .filter(|e| e.kind == AuditKind::Purged)
            .filter_map(|e| e.operation.clone())
            .collect();
        let n = purged_ops.len();
        purged_ops.sort();
        purged_ops.dedup();
        assert_eq!(
            (n, purged_ops.len()),
            (5, 5),
            "iteration {i}: one purge event each"
        );
    }
    assert!(h.listing().await.is_empty());
    apart.finish("two cleanup workers");
    lapsed.finish("two cleanup workers, lapsed claim");
}

/// Creating a version while the project is trashed never leaves an active
/// version under a trashed project.
pub async fn race_create_version_vs_trash_project(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let mut overlap = Overlap::default();
    let mut created_first = 0;
    for i in 0..RACE_ITERATIONS {
        let s = format!("p{i}");
        let p = h.project(&s).await;
        h.version(&s).await;
        let gate = Gate::new();
        let svc_a = h.resources_on(
            gate.store(Side::A, &h.store),
            test_runtime(h.clock.clone()),
            TrashConfig::default(),
        );
        let svc_b = side(&h, &gate, Side::B, h.clock.clone());
        let (key_a, key_b, ws_a, ws_b) = (h.key.clone(), h.key.clone(), h.ws.clone(), h.ws.clone());
        let (slug_a, slug_b) = (slug(&s), slug(&s));
        let (created, trashed) = race(
            &gate,
            async move { svc_a.create_version(&key_a, &ws_a, &slug_a, None).await },
            async move {
                svc_b
                    .move_to_trash(
                        &key_b,
                        &ws_b,
                        &TrashTarget::Project {
                            slug: slug_b,
                            cleanup_delete_images: false,
                        },
                    )
                    .await
            },
        )
        .await;
        trashed.expect("trash succeeds");
        overlap.same_aggregate(&gate, i);
        let agg = h.must_agg(&p.id).await;
        assert_no_active_child_under_trashed_parent(&agg);
        match created {
            Ok(v) => {
                let op = agg.project.state.operation().expect("trashed").clone();
                assert_eq!(*version_state(&agg, v.number.get()), cascaded_in(&op));
                created_first += 1;
            }
            Err(e) => assert_eq!(
                e,
                ResourceError::NotFound(Missing::Project),
                "iteration {i}"
            ),
        }
    }
    eprintln!(
        "create version vs trash project: version created first {created_first}, \
         trash first {}",
        RACE_ITERATIONS - created_first
    );
    overlap.finish("create version vs trash project");
}

/// Two concurrent deletes of one project create one operation.
pub async fn race_double_trash(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let mut overlap = Overlap::default();
    for i in 0..RACE_ITERATIONS {
        let s = format!("p{i}");
        let p = h.project(&s).await;
        h.version(&s).await;
        let target = TrashTarget::Project {
            slug: slug(&s),
            cleanup_delete_images: true,
        };
        let gate = Gate::new();
        let (svc_a, svc_b) = sides(&h, &gate);
        let (key_a, key_b, ws_a, ws_b) = (h.key.clone(), h.key.clone(), h.ws.clone(), h.ws.clone());
        let (ta, tb) = (target.clone(), target);
        let (a, b) = race(
            &gate,
            async move { svc_a.move_to_trash(&key_a, &ws_a, &ta).await },
            async move { svc_b.move_to_trash(&key_b, &ws_b, &tb).await },
        )
        .await;
        let (a, b) = (a.expect("a"), b.expect("b"));
        overlap.same_aggregate(&gate, i);
        assert!(
            a.already_in_trash != b.already_in_trash,
            "iteration {i}: exactly one creates the operation"
        );
        assert_eq!(a.scheduled_cleanup_at, b.scheduled_cleanup_at);
        let agg = h.must_agg(&p.id).await;
        assert_eq!(agg.operations.len(), 1);
        assert_no_active_child_under_trashed_parent(&agg);
    }
    assert_eq!(h.listing().await.len(), RACE_ITERATIONS);
    overlap.finish("double trash");
}
