//! Legal holds on every store: what a hold covers, that it stops the
//! cleanup, delete forever and Empty Trash but not restore, and that a hold
//! placed concurrently with a cleanup either blocks the purge or comes too
//! late, never half (forced once, then raced [`RACE_ITERATIONS`] times).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::Duration;
use tokio::sync::Barrier;
use trash_core::domain::*;
use trash_core::ports::*;
use trash_core::usecases::*;
use trash_core::TrashConfig;

use crate::harness::*;
use crate::{StoreFactory, RACE_ITERATIONS};

async fn harness(factory: &dyn StoreFactory) -> Harness {
    Harness::new(factory.create().await).await
}

fn reason(s: &str) -> HoldReason {
    HoldReason::parse(s).expect("valid reason")
}

fn owner(h: &Harness) -> WorkspaceAdmin {
    WorkspaceAdmin::from_user(WebUser {
        workspace: h.ws.clone(),
        user_id: UserId::parse("uuuuuuuuuuuuuuuuuuuu").expect("valid"),
        email: Email::parse("owner@example.com").expect("valid"),
        role: Role::Owner,
    })
    .expect("owner")
}

impl Harness {
    /// Places a hold with the all-scopes key.
    pub async fn hold(&self, subject: HoldSubject, why: &str) -> Hold {
        self.service
            .place_hold(&self.key, &self.ws, &subject, reason(why))
            .await
            .expect("place hold")
    }

    /// Releases a hold with the all-scopes key.
    pub async fn release(&self, hold: &Hold) {
        self.service
            .release_hold(&self.key, &self.ws, &hold.id)
            .await
            .expect("release hold");
    }

    /// The first listing page with the holds of each entry.
    pub async fn held_listing(&self) -> Vec<(ItemRef, Vec<HoldId>)> {
        let page = self
            .service
            .list_trash(&self.key, &self.ws, &ListTrashRequest::default())
            .await
            .expect("list trash");
        page.entries
            .iter()
            .map(|e| e.operation.root.clone())
            .zip(page.holds)
            .collect()
    }
}

/// A hold placed on an active project applies once the project is trashed:
/// the cleanup skips it with its schedule unchanged, the listing shows it
/// held; released, the next cleanup purges it. Both changes are audited
/// with the key as actor.
pub async fn hold_on_an_active_project_applies_once_trashed(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("det").await;
    h.version("det").await;
    let other = h.project("free").await;
    let hold = h
        .hold(HoldSubject::Item(ItemRef::Project(p.id.clone())), "case 7")
        .await;
    assert_eq!(hold.target, HoldTarget::Project(p.id.clone()));
    assert_eq!(hold.created_by, h.key.actor());
    assert!(h.listing().await.is_empty(), "nothing trashed yet");
    let out = h.trash_project("det").await;
    h.trash_project("free").await;
    let listing = h.held_listing().await;
    let held_of = |id: &ProjectId| {
        listing
            .iter()
            .find(|(root, _)| root == &ItemRef::Project(id.clone()))
            .map(|(_, holds)| holds.clone())
            .expect("listed")
    };
    assert_eq!(held_of(&p.id), vec![hold.id.clone()]);
    assert!(held_of(&other.id).is_empty());

    h.clock
        .set(out.scheduled_cleanup_at.plus(Duration::days(1)));
    let report = h.service.purge_due(10).await.expect("cleanup");
    assert_eq!((report.purged, report.held), (1, 1), "{report:?}");
    let agg = h.agg(&p.id).await.expect("held project kept");
    assert_eq!(agg.versions.len(), 1);
    assert_eq!(
        agg.operations[0].scheduled_cleanup_at, out.scheduled_cleanup_at,
        "the schedule is unchanged"
    );
    assert!(h.agg(&other.id).await.is_none());

    h.release(&hold).await;
    assert!(h.held_listing().await.iter().all(|(_, ids)| ids.is_empty()));
    // The next cleanup, at the same instant (the held operation's claim has
    // not passed), takes it.
    let report = h.service.purge_due(10).await.expect("cleanup");
    assert_eq!(report.purged, 1, "{report:?}");
    assert!(h.agg(&p.id).await.is_none());

    let events = h.audit().await;
    let of = |kind| {
        events
            .iter()
            .filter(|e| e.kind == kind)
            .cloned()
            .collect::<Vec<_>>()
    };
    for kind in [AuditKind::HoldPlaced, AuditKind::HoldReleased] {
        let e = of(kind);
        assert_eq!(e.len(), 1, "{kind:?}");
        assert_eq!(e[0].item, Some(ItemRef::Project(p.id.clone())));
        assert_eq!(e[0].actor, h.key.actor());
        assert_eq!(e[0].operation, None);
    }
    assert!(h
        .service
        .list_holds(&h.key, &h.ws)
        .await
        .expect("holds")
        .is_empty());
}

/// A workspace hold keeps a whole due backlog (projects, versions trashed
/// on their own, workflows): nothing is purged; after its release every
/// item is.
pub async fn workspace_hold_keeps_a_due_backlog(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let mut last = None;
    for i in 0..8 {
        let s = format!("p{i}");
        h.project(&s).await;
        h.version(&s).await;
        h.version(&s).await;
        h.trash_version(&s, 2).await;
        last = Some(h.trash_project(&s).await.scheduled_cleanup_at);
        h.workflow(&format!("w{i}")).await;
        h.trash(TrashTarget::Workflow {
            slug: slug(&format!("w{i}")),
        })
        .await;
    }
    let hold = h.hold(HoldSubject::Workspace, "regulator").await;
    assert_eq!(hold.target, HoldTarget::Workspace);
    let listing = h.held_listing().await;
    assert_eq!(listing.len(), 24);
    assert!(listing.iter().all(|(_, ids)| ids == &vec![hold.id.clone()]));
    h.clock.set(last.expect("trashed").plus(Duration::days(30)));
    assert_eq!(h.drain_cleanup(&h.service).await, 0, "nothing purged");
    assert_eq!(h.listing().await.len(), 24);
    assert_eq!(
        h.store
            .queue
            .claim_due_operations(h.clock.now(), h.clock.now(), 100)
            .await
            .expect("claim")
            .len(),
        0,
        "the held operations stay claimed by the cleanup until released"
    );
    h.release(&hold).await;
    // A project's purge takes the version trashed on its own with it.
    assert!(h.drain_cleanup(&h.service).await >= 16);
    assert!(h.listing().await.is_empty());
    let released = h
        .audit()
        .await
        .into_iter()
        .find(|e| e.kind == AuditKind::HoldReleased)
        .expect("audited");
    assert_eq!(released.item, None, "a workspace hold names no item");
}

/// Delete forever refuses a held item naming the hold, Empty Trash removes
/// everything else and reports what was held, restore still works. A
/// hold on a version trashed with its project holds the project's entry.
pub async fn held_items_refuse_permanent_deletion_but_restore(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let admin = owner(&h);
    let p = h.project("det").await;
    h.version("det").await;
    h.version("det").await;
    let q = h.project("kept").await;
    h.project("gone").await;
    h.trash_project("det").await;
    h.trash_project("kept").await;
    h.trash_project("gone").await;
    // Held through a member of its operation.
    let hold = h
        .hold(
            HoldSubject::Item(ItemRef::Version(p.id.clone(), num(2))),
            "keep v2",
        )
        .await;
    let q_hold = h
        .hold(HoldSubject::Item(ItemRef::Project(q.id.clone())), "keep")
        .await;
    assert_eq!(
        h.service
            .delete_forever(
                &admin,
                &h.ws,
                &ItemRef::Project(p.id.clone()),
                "Project det"
            )
            .await,
        Err(DeleteForeverError::Held {
            holds: vec![hold.id.clone()]
        })
    );
    let report = h
        .service
        .empty_trash(&admin, &h.ws, h.ws.as_str(), &mut |_| {})
        .await
        .expect("emptied");
    assert_eq!((report.operations, report.held), (1, 2), "{report:?}");
    let left: Vec<ItemRef> = h
        .listing()
        .await
        .into_iter()
        .map(|e| e.operation.root)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(left.contains(&ItemRef::Project(p.id.clone())));
    assert!(left.contains(&ItemRef::Project(q.id.clone())));
    // Restore is not destruction.
    let restored = h
        .restore(ItemRef::Project(p.id.clone()))
        .await
        .expect("restored");
    assert!(!restored.already_active);
    assert!(h.must_agg(&p.id).await.project.state.is_active());
    h.release(&q_hold).await;
    h.service
        .delete_forever(
            &admin,
            &h.ws,
            &ItemRef::Project(q.id.clone()),
            "Project kept",
        )
        .await
        .expect("deleted once released");
    assert!(h.agg(&q.id).await.is_none());
}

/// Holds are scoped like everything else: an item of another workspace
/// cannot be held (not found), another workspace's hold is not listed and
/// cannot be released (not found, like a missing one).
pub async fn holds_are_scoped_to_their_workspace(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let mine = h.project("det").await;
    let theirs = h
        .resources
        .create_project(
            &h.other_key,
            &h.other_ws,
            name("Theirs"),
            Some(slug("theirs")),
        )
        .await
        .expect("project of the other workspace");
    let foreign = ItemRef::Project(theirs.id.clone());
    assert_eq!(
        h.service
            .place_hold(
                &h.key,
                &h.ws,
                &HoldSubject::Item(foreign.clone()),
                reason("x")
            )
            .await,
        Err(HoldError::ItemNotFound(foreign))
    );
    let missing = ItemRef::Version(mine.id.clone(), num(9));
    assert_eq!(
        h.service
            .place_hold(
                &h.key,
                &h.ws,
                &HoldSubject::Item(missing.clone()),
                reason("x")
            )
            .await,
        Err(HoldError::ItemNotFound(missing))
    );
    let their_hold = h
        .service
        .place_hold(
            &h.other_key,
            &h.other_ws,
            &HoldSubject::Workspace,
            reason("theirs"),
        )
        .await
        .expect("placed");
    let my_hold = h
        .hold(HoldSubject::Item(ItemRef::Project(mine.id.clone())), "mine")
        .await;
    let listed = h.service.list_holds(&h.key, &h.ws).await.expect("list");
    assert_eq!(listed, vec![my_hold.clone()]);
    assert_eq!(
        h.service.release_hold(&h.key, &h.ws, &their_hold.id).await,
        Err(HoldError::HoldNotFound(their_hold.id.clone()))
    );
    assert_eq!(
        h.service
            .list_holds(&h.other_key, &h.other_ws)
            .await
            .expect("list"),
        vec![their_hold]
    );
    h.release(&my_hold).await;
    assert_eq!(
        h.service.release_hold(&h.key, &h.ws, &my_hold.id).await,
        Err(HoldError::HoldNotFound(my_hold.id.clone())),
        "a released hold is gone"
    );
}

/// Writes that run `before` (once) right before the first purge reaches
/// the store: the purge was decided from holds read before it.
struct BeforeFirstPurge {
    inner: Arc<dyn TrashWrites>,
    before:
        tokio::sync::Mutex<Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>>,
}

impl BeforeFirstPurge {
    async fn run_before(&self) {
        let pending = self.before.lock().await.take();
        if let Some(f) = pending {
            f.await;
        }
    }
}

#[async_trait]
impl TrashWrites for BeforeFirstPurge {
    async fn trash(&self, plan: &TrashPlan) -> Result<(), StoreError> {
        self.inner.trash(plan).await
    }

    async fn restore(&self, plan: &RestorePlan) -> Result<(), StoreError> {
        self.inner.restore(plan).await
    }

    async fn purge(&self, plan: &PurgePlan) -> Result<PurgeCounts, StoreError> {
        self.run_before().await;
        self.inner.purge(plan).await
    }

    async fn purge_batch(
        &self,
        plans: &[PurgePlan],
        time_limit: chrono::Duration,
    ) -> Result<PurgeCounts, StoreError> {
        self.run_before().await;
        self.inner.purge_batch(plans, time_limit).await
    }
}

/// A hold placed after the cleanup claimed and decided (with no hold) but
/// before its purge transaction: the batch purge is refused by the hold
/// guard, and the cleanup re-reads, sees the hold and keeps the item.
/// Released, the next cleanup purges it.
pub async fn hold_placed_between_claim_and_purge_blocks_it(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("det").await;
    h.version("det").await;
    let out = h.trash_project("det").await;
    h.clock.set(out.scheduled_cleanup_at);
    let holder = h.service.clone();
    let (key, ws) = (h.key.clone(), h.ws.clone());
    let placed: Arc<std::sync::Mutex<Option<Hold>>> = Arc::default();
    let slot = placed.clone();
    let mut roles = h.roles();
    roles.writes = Arc::new(BeforeFirstPurge {
        inner: h.store.writes.clone(),
        before: tokio::sync::Mutex::new(Some(Box::pin(async move {
            let hold = holder
                .place_hold(&key, &ws, &HoldSubject::Workspace, reason("late"))
                .await
                .expect("placed");
            *slot.lock().expect("slot") = Some(hold);
        }))),
    });
    let cleaner = h.service_on(roles, test_runtime(h.clock.clone()), TrashConfig::default());
    let report = cleaner.purge_due(10).await.expect("cleanup");
    assert_eq!((report.purged, report.held), (0, 1), "{report:?}");
    let hold = placed.lock().expect("slot").clone().expect("hold placed");
    let agg = h.agg(&p.id).await.expect("kept whole");
    assert_eq!(agg.versions.len(), 1);
    assert_eq!(agg.operations.len(), 1);
    h.release(&hold).await;
    assert_eq!(h.service.purge_due(10).await.expect("cleanup").purged, 1);
    assert!(h.agg(&p.id).await.is_none());
}

/// The same with delete forever: a hold placed between its decision and
/// its purge makes it refuse, naming the hold.
pub async fn hold_placed_during_delete_forever_refuses_it(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("det").await;
    h.trash_project("det").await;
    let holder = h.service.clone();
    let (key, ws) = (h.key.clone(), h.ws.clone());
    let target = ItemRef::Project(p.id.clone());
    let subject = HoldSubject::Item(target.clone());
    let placed: Arc<std::sync::Mutex<Option<Hold>>> = Arc::default();
    let slot = placed.clone();
    let mut roles = h.roles();
    roles.writes = Arc::new(BeforeFirstPurge {
        inner: h.store.writes.clone(),
        before: tokio::sync::Mutex::new(Some(Box::pin(async move {
            let hold = holder
                .place_hold(&key, &ws, &subject, reason("late"))
                .await
                .expect("placed");
            *slot.lock().expect("slot") = Some(hold);
        }))),
    });
    let service = h.service_on(roles, test_runtime(h.clock.clone()), TrashConfig::default());
    let refused = service
        .delete_forever(&owner(&h), &h.ws, &target, "Project det")
        .await;
    let hold = placed.lock().expect("slot").clone().expect("hold placed");
    assert_eq!(
        refused,
        Err(DeleteForeverError::Held {
            holds: vec![hold.id]
        })
    );
    assert!(h.agg(&p.id).await.is_some());
}

/// Writes whose first purge waits at a barrier, so the purge transaction
/// and a hold placement start together.
struct PurgeAtBarrier {
    inner: Arc<dyn TrashWrites>,
    barrier: Arc<Barrier>,
    waited: std::sync::atomic::AtomicBool,
}

impl PurgeAtBarrier {
    async fn wait(&self) {
        if !self.waited.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let _ = tokio::time::timeout(StdDuration::from_secs(5), self.barrier.wait()).await;
        }
    }
}

#[async_trait]
impl TrashWrites for PurgeAtBarrier {
    async fn trash(&self, plan: &TrashPlan) -> Result<(), StoreError> {
        self.inner.trash(plan).await
    }

    async fn restore(&self, plan: &RestorePlan) -> Result<(), StoreError> {
        self.inner.restore(plan).await
    }

    async fn purge(&self, plan: &PurgePlan) -> Result<PurgeCounts, StoreError> {
        self.wait().await;
        self.inner.purge(plan).await
    }

    async fn purge_batch(
        &self,
        plans: &[PurgePlan],
        time_limit: chrono::Duration,
    ) -> Result<PurgeCounts, StoreError> {
        self.wait().await;
        self.inner.purge_batch(plans, time_limit).await
    }
}

/// Races a workspace hold against a cleanup that already decided (with no
/// hold) [`RACE_ITERATIONS`] times, both transactions started together on
/// real parallel tasks. Whichever commits first decides: either the item
/// was purged whole before the hold was recorded (the hold came too late),
/// or it is kept whole and the cleanup reports it held. A held item is
/// never purged; released, it is purged by the next cleanup.
pub async fn race_hold_vs_cleanup(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let (mut too_late, mut blocked) = (0, 0);
    for i in 0..RACE_ITERATIONS {
        let s = format!("p{i}");
        h.clock.set(t0().plus(Duration::hours(i as i64)));
        let p = h.project(&s).await;
        h.version(&s).await;
        let t = h.finished_training(&s, 1).await;
        let due = h.trash_project(&s).await.scheduled_cleanup_at;
        let barrier = Arc::new(Barrier::new(2));
        let mut roles = h.roles();
        roles.writes = Arc::new(PurgeAtBarrier {
            inner: h.store.writes.clone(),
            barrier: barrier.clone(),
            waited: Default::default(),
        });
        let clock = Arc::new(trash_memory::ManualClock::new(due));
        let cleaner = h.service_on(roles, test_runtime(clock), TrashConfig::default());
        let holder = h.service.clone();
        let (key, ws) = (h.key.clone(), h.ws.clone());
        let hold_task = tokio::spawn(async move {
            let _ = tokio::time::timeout(StdDuration::from_secs(5), barrier.wait()).await;
            holder
                .place_hold(&key, &ws, &HoldSubject::Workspace, reason("race"))
                .await
        });
        let clean_task = tokio::spawn(async move { cleaner.purge_due(10).await });
        let report = clean_task.await.expect("task").expect("cleanup");
        let hold = hold_task.await.expect("task").expect("hold placed");
        let events = h.audit().await;
        let placed_at = events
            .iter()
            .rposition(|e| e.kind == AuditKind::HoldPlaced)
            .expect("audited");
        let purged_at = events.iter().position(|e| {
            e.kind == AuditKind::Purged && e.item == Some(ItemRef::Project(p.id.clone()))
        });
        match h.agg(&p.id).await {
            None => {
                assert_eq!((report.purged, report.held), (1, 0), "iteration {i}");
                let purged_at = purged_at.expect("purge audited");
                assert!(
                    purged_at < placed_at,
                    "iteration {i}: purged after a hold was placed"
                );
                assert!(h
                    .store
                    .reads
                    .training_project(&h.ws, &t.id)
                    .await
                    .expect("q")
                    .is_none());
                too_late += 1;
            }
            Some(agg) => {
                assert_eq!((report.purged, report.held), (0, 1), "iteration {i}");
                assert!(purged_at.is_none(), "iteration {i}");
                assert_eq!(agg.versions.len(), 1, "iteration {i}: kept whole");
                assert_eq!(agg.trainings.len(), 1, "iteration {i}: kept whole");
                assert_eq!(agg.operations.len(), 1, "iteration {i}");
                blocked += 1;
            }
        }
        // Released, the next cleanup purges what the hold kept.
        h.release(&hold).await;
        let after = h.service_with(
            Arc::new(trash_memory::ManualClock::new(due)),
            Retention::default(),
        );
        h.drain_cleanup(&after).await;
        assert!(
            h.agg(&p.id).await.is_none(),
            "iteration {i}: purged once released"
        );
    }
    eprintln!("hold vs cleanup: the hold came too late {too_late} times, blocked {blocked}");
    assert!(h.listing().await.is_empty());
}

/// "Empty Trash" as a background job keeps held items too: they are
/// neither removed nor counted as failed, and the job finishes.
pub async fn empty_trash_job_keeps_held_items(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let jobs = EmptyJobService::new(h.service.clone(), h.store.empty_jobs.clone());
    let kept = h.project("kept").await;
    h.trash_project("kept").await;
    for n in 0..3 {
        let s = format!("p{n}");
        h.project(&s).await;
        h.trash_project(&s).await;
    }
    h.hold(HoldSubject::Item(ItemRef::Project(kept.id.clone())), "keep")
        .await;
    jobs.start(&owner(&h), &h.ws, h.ws.as_str())
        .await
        .expect("start");
    let EmptyRun::Worked(job) = jobs
        .run_once(10, 5, chrono::Duration::seconds(60))
        .await
        .expect("run")
    else {
        panic!("the job was waiting");
    };
    assert_eq!(
        (job.removed, job.failed, job.state),
        (3, 0, EmptyJobState::Done)
    );
    let left: Vec<ItemRef> = h
        .listing()
        .await
        .into_iter()
        .map(|e| e.operation.root)
        .collect();
    assert_eq!(left, vec![ItemRef::Project(kept.id.clone())]);
}
