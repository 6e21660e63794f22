//! The conformance cases: every rule of the trash, end to end through the
//! use cases, against the store under test.

use chrono::Duration;
use trash_core::domain::*;
use trash_core::ports::*;
use trash_core::usecases::*;

use crate::harness::*;
use crate::StoreFactory;

pub use crate::batch::*;
pub use crate::bulk::*;
pub use crate::contention::*;
pub use crate::events::*;
pub use crate::exact_purge::*;
pub use crate::preview::*;
pub use crate::races::*;

async fn harness(factory: &dyn StoreFactory) -> Harness {
    Harness::new(factory.create().await).await
}

fn trashed(state: &ItemState, op: &OperationId, cascaded: bool) -> bool {
    *state
        == ItemState::Trashed {
            operation: op.clone(),
            cascaded,
        }
}

fn op_of(state: &ItemState) -> OperationId {
    state.operation().expect("item is trashed").clone()
}

/// Trashing a project cascades to its active versions and their trainings;
/// only the root is listed, with `contains`.
pub async fn trash_project_cascades_and_lists_only_the_root(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("det").await;
    h.version("det").await;
    h.version("det").await;
    let t1 = h.finished_training("det", 1).await;
    let t2 = h.training("det", 2).await;
    let out = h.trash_project("det").await;
    assert!(!out.already_in_trash);
    assert_eq!(out.cancelled_trainings, 1);
    assert_eq!(out.scheduled_cleanup_at, t0().plus(days(30)));
    let agg = h.must_agg(&p.id).await;
    let op = op_of(&agg.project.state);
    assert!(trashed(&agg.project.state, &op, false));
    assert!(trashed(version_state(&agg, 1), &op, true));
    assert!(trashed(version_state(&agg, 2), &op, true));
    assert!(trashed(&training_in(&agg, &t1.id).state, &op, true));
    assert!(trashed(&training_in(&agg, &t2.id).state, &op, true));
    let list = h.listing().await;
    assert_eq!(list.len(), 1, "only the root is listed: {list:?}");
    assert_eq!(list[0].operation.root, ItemRef::Project(p.id.clone()));
    assert_eq!(
        list[0].operation.contains,
        Contains {
            versions: 2,
            trainings: 2
        }
    );
    assert!(
        matches!(&list[0].item, TrashedItem::Project(ProjectItem { slug, .. }) if slug.as_str() == "det")
    );

    // A version alone carries its trainings.
    let q = h.project("seg").await;
    h.version("seg").await;
    h.finished_training("seg", 1).await;
    h.trash_version("seg", 1).await;
    let list = h.listing().await;
    let entry = list
        .iter()
        .find(|e| e.operation.root == ItemRef::Version(q.id.clone(), num(1)))
        .expect("version listed");
    assert_eq!(
        entry.operation.contains,
        Contains {
            versions: 0,
            trainings: 1
        }
    );
    assert!(
        matches!(&entry.item, TrashedItem::Version(VersionItem { project_slug, number, .. })
        if project_slug.as_str() == "seg" && number.get() == 1)
    );
}

/// `scheduledCleanupAt = deletedAt + retention`, fixed at trash time.
pub async fn retention_is_fixed_at_trash_time(f: &dyn StoreFactory) {
    let h = harness(f).await;
    h.project("det").await;
    let first = h.trash_project("det").await;
    assert_eq!(first.deleted_at, t0());
    assert_eq!(first.scheduled_cleanup_at, t0().plus(days(30)));
    h.clock.advance(days(1));
    let again = h.trash_project("det").await;
    assert!(again.already_in_trash);
    assert_eq!(again.deleted_at, first.deleted_at);
    assert_eq!(again.scheduled_cleanup_at, first.scheduled_cleanup_at);
    // Changing the retention later never moves an existing schedule.
    let short = h.service_with(
        h.clock.clone(),
        Retention::new(Duration::days(1)).expect("valid"),
    );
    let target = TrashTarget::Project {
        slug: slug("det"),
        cleanup_delete_images: true,
    };
    let third = short
        .move_to_trash(&h.key, &h.ws, &target)
        .await
        .expect("repeat");
    assert!(third.already_in_trash);
    assert_eq!(third.scheduled_cleanup_at, first.scheduled_cleanup_at);
    // New trashes use the retention in force at their time.
    h.workflow("flow").await;
    let wf = short
        .move_to_trash(&h.key, &h.ws, &TrashTarget::Workflow { slug: slug("flow") })
        .await
        .expect("trash workflow");
    assert_eq!(wf.scheduled_cleanup_at, h.clock.now().plus(days(1)));
    let list = h.listing().await;
    assert!(list
        .iter()
        .any(|e| e.operation.scheduled_cleanup_at == t0().plus(days(30))));
}

/// Restoring a root brings back the root and exactly its cascaded members.
pub async fn restore_brings_back_exactly_the_operation(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("det").await;
    for _ in 0..3 {
        h.version("det").await;
    }
    let t1 = h.finished_training("det", 1).await;
    let t2 = h.finished_training("det", 2).await;
    h.trash_training("det", 2, &t2.id).await;
    h.clock.advance(Duration::seconds(1));
    h.trash_version("det", 3).await;
    h.clock.advance(Duration::seconds(1));
    let out = h.trash_project("det").await;
    assert_eq!(out.cancelled_trainings, 0);
    let before = h.must_agg(&p.id).await;
    let v3_op = op_of(version_state(&before, 3));
    let t2_op = op_of(&training_in(&before, &t2.id).state);

    let restored = h
        .restore(ItemRef::Project(p.id.clone()))
        .await
        .expect("restore");
    assert!(!restored.already_active);
    assert_eq!(restored.slug, Some(slug("det")));
    let agg = h.must_agg(&p.id).await;
    assert!(agg.project.state.is_active());
    assert!(version_state(&agg, 1).is_active());
    assert!(version_state(&agg, 2).is_active());
    assert!(training_in(&agg, &t1.id).state.is_active());
    // Items trashed earlier on their own keep their own operation and entry.
    assert!(trashed(version_state(&agg, 3), &v3_op, false));
    assert!(trashed(&training_in(&agg, &t2.id).state, &t2_op, false));
    let roots: Vec<ItemRef> = h
        .listing()
        .await
        .into_iter()
        .map(|e| e.operation.root)
        .collect();
    assert_eq!(roots.len(), 2);
    assert!(roots.contains(&ItemRef::Version(p.id.clone(), num(3))));
    assert!(roots.contains(&ItemRef::Training(t2.id.clone())));
    // They can still be restored on their own.
    h.restore(ItemRef::Version(p.id.clone(), num(3)))
        .await
        .expect("restore version");
    h.restore(ItemRef::Training(t2.id.clone()))
        .await
        .expect("restore training");
    assert!(h.listing().await.is_empty());
    let agg = h.must_agg(&p.id).await;
    assert!(agg.versions.iter().all(|v| v.state.is_active()));
    assert!(agg.trainings.iter().all(|t| t.state.is_active()));
}

/// A cascaded item cannot be restored on its own: conflict naming the root.
pub async fn cascaded_item_cannot_be_restored_alone(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("det").await;
    h.version("det").await;
    h.version("det").await;
    let t1 = h.finished_training("det", 1).await;
    let t2 = h.finished_training("det", 2).await;
    h.trash_version("det", 2).await;
    assert_eq!(
        h.restore(ItemRef::Training(t2.id.clone())).await,
        Err(RestoreError::CascadedWith {
            root: ItemRef::Version(p.id.clone(), num(2))
        })
    );
    h.trash_project("det").await;
    assert_eq!(
        h.restore(ItemRef::Version(p.id.clone(), num(1))).await,
        Err(RestoreError::CascadedWith {
            root: ItemRef::Project(p.id.clone())
        })
    );
    assert_eq!(
        h.restore(ItemRef::Training(t1.id.clone())).await,
        Err(RestoreError::CascadedWith {
            root: ItemRef::Project(p.id.clone())
        })
    );
    // Nothing changed.
    let agg = h.must_agg(&p.id).await;
    assert!(!version_state(&agg, 1).is_active());
    assert!(!training_in(&agg, &t1.id).state.is_active());
}

/// A version is restored only while its project is active; a training only
/// while its version and project are.
pub async fn parent_active_rule(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("det").await;
    h.version("det").await;
    h.version("det").await;
    let t = h.finished_training("det", 2).await;
    h.trash_training("det", 2, &t.id).await;
    h.trash_version("det", 2).await;
    assert_eq!(
        h.restore(ItemRef::Training(t.id.clone())).await,
        Err(RestoreError::ParentInTrash {
            parent: ItemRef::Version(p.id.clone(), num(2))
        })
    );
    h.trash_version("det", 1).await;
    h.trash_project("det").await;
    assert_eq!(
        h.restore(ItemRef::Version(p.id.clone(), num(1))).await,
        Err(RestoreError::ParentInTrash {
            parent: ItemRef::Project(p.id.clone())
        })
    );
    let agg = h.must_agg(&p.id).await;
    assert!(!version_state(&agg, 1).is_active());
    h.restore(ItemRef::Project(p.id.clone()))
        .await
        .expect("project");
    h.restore(ItemRef::Version(p.id.clone(), num(1)))
        .await
        .expect("version 1");
    assert_eq!(
        h.restore(ItemRef::Training(t.id.clone())).await,
        Err(RestoreError::ParentInTrash {
            parent: ItemRef::Version(p.id.clone(), num(2))
        })
    );
    h.restore(ItemRef::Version(p.id.clone(), num(2)))
        .await
        .expect("version 2");
    h.restore(ItemRef::Training(t.id.clone()))
        .await
        .expect("training");
    let agg = h.must_agg(&p.id).await;
    assert!(agg.versions.iter().all(|v| v.state.is_active()));
    assert!(agg.trainings.iter().all(|t| t.state.is_active()));
}

/// Items of another workspace look exactly like missing ones.
pub async fn owner_check_has_no_existence_oracle(f: &dyn StoreFactory) {
    let h = harness(f).await;
    // The other workspace owns a project, a workflow and a training.
    let theirs = h
        .resources
        .create_project(
            &h.other_key,
            &h.other_ws,
            name("Theirs"),
            Some(slug("theirs")),
        )
        .await
        .expect("create");
    h.resources
        .create_version(&h.other_key, &h.other_ws, &slug("theirs"), None)
        .await
        .expect("version");
    let wf = h
        .resources
        .create_workflow(&h.other_key, &h.other_ws, name("Flow"), Some(slug("flow")))
        .await
        .expect("workflow");
    let training = h
        .resources
        .create_training(&h.other_key, &h.other_ws, &slug("theirs"), num(1))
        .await
        .expect("training");
    h.service
        .move_to_trash(
            &h.other_key,
            &h.other_ws,
            &TrashTarget::Project {
                slug: slug("theirs"),
                cleanup_delete_images: true,
            },
        )
        .await
        .expect("their trash");

    // Our key on our workspace: their items are simply not there.
    let missing_project = ProjectId::parse("zzzzzzzzzzzzzzzzzzzz").expect("valid");
    for item in [
        ItemRef::Project(theirs.id.clone()),
        ItemRef::Version(theirs.id.clone(), num(1)),
        ItemRef::Training(training.id.clone()),
        ItemRef::Workflow(wf.id.clone()),
    ] {
        assert_eq!(h.restore(item).await, Err(RestoreError::NotFound));
    }
    assert_eq!(
        h.restore(ItemRef::Project(missing_project)).await,
        Err(RestoreError::NotFound)
    );
    for target in [
        TrashTarget::Project {
            slug: slug("theirs"),
            cleanup_delete_images: true,
        },
        TrashTarget::Workflow { slug: slug("flow") },
    ] {
        assert_eq!(
            h.service.move_to_trash(&h.key, &h.ws, &target).await,
            Err(TrashError::NotFound)
        );
    }
    assert!(h.listing().await.is_empty());
    assert_eq!(
        h.resources
            .get_image(
                &h.key,
                &h.ws,
                &ImageId::parse("iiiiiiiiiiiiiiiiiiii").expect("valid")
            )
            .await,
        Err(ResourceError::NotFound(Missing::Image))
    );
    // Our key on their workspace: refused before anything is looked up.
    assert_eq!(
        h.service
            .restore(
                &h.key,
                &h.other_ws,
                &ItemRef::Project(theirs.id.clone()),
                OnConflict::Fail
            )
            .await,
        Err(RestoreError::Denied(AccessDenied::WrongWorkspace))
    );
    assert_eq!(
        h.service
            .list_trash(&h.key, &h.other_ws, &ListTrashRequest::default())
            .await,
        Err(ListTrashError::Denied(AccessDenied::WrongWorkspace))
    );
    // Their project is untouched.
    let agg = h
        .store
        .reads
        .load_project(&h.other_ws, &theirs.id)
        .await
        .expect("load")
        .expect("exists");
    assert!(!agg.project.state.is_active());
    assert!(h
        .store
        .reads
        .load_project(&h.ws, &theirs.id)
        .await
        .expect("load")
        .is_none());
}

/// A key without the needed scope is refused, naming the scope.
pub async fn missing_scope_is_refused(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("det").await;
    h.version("det").await;
    let read_only = h
        .key_with(&[Scope::new(Resource::Project, Permission::Read)])
        .await;
    let update = Scope::new(Resource::Project, Permission::Update);
    assert_eq!(
        h.service
            .move_to_trash(
                &read_only,
                &h.ws,
                &TrashTarget::Project {
                    slug: slug("det"),
                    cleanup_delete_images: true
                }
            )
            .await,
        Err(TrashError::Denied(AccessDenied::MissingScope(update)))
    );
    let version_only = h
        .key_with(&[Scope::new(Resource::Version, Permission::Update)])
        .await;
    h.service
        .move_to_trash(
            &version_only,
            &h.ws,
            &TrashTarget::Version {
                project: slug("det"),
                number: num(1),
            },
        )
        .await
        .expect("version:update suffices for a version");
    assert_eq!(
        h.service
            .restore(
                &read_only,
                &h.ws,
                &ItemRef::Version(p.id.clone(), num(1)),
                OnConflict::Fail
            )
            .await,
        Err(RestoreError::Denied(AccessDenied::MissingScope(
            Scope::new(Resource::Version, Permission::Update)
        )))
    );
    assert!(h
        .service
        .list_trash(&read_only, &h.ws, &ListTrashRequest::default())
        .await
        .is_ok());
    assert_eq!(
        h.service
            .list_trash(&version_only, &h.ws, &ListTrashRequest::default())
            .await,
        Err(ListTrashError::Denied(AccessDenied::MissingScope(
            Scope::new(Resource::Project, Permission::Read)
        )))
    );
    // The refused calls changed nothing.
    let agg = h.must_agg(&p.id).await;
    assert!(agg.project.state.is_active());
    assert!(!version_state(&agg, 1).is_active());
}

/// A queued or running training cannot be moved to trash.
pub async fn in_flight_training_cannot_be_trashed(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("det").await;
    h.version("det").await;
    let t = h.training("det", 1).await;
    let target = TrashTarget::Training {
        project: slug("det"),
        number: num(1),
        id: t.id.clone(),
    };
    assert_eq!(
        h.service.move_to_trash(&h.key, &h.ws, &target).await,
        Err(TrashError::TrainingInProgress(t.id.clone()))
    );
    assert!(training_in(&h.must_agg(&p.id).await, &t.id)
        .state
        .is_active());
    h.resources
        .set_training_status(
            &h.key,
            &h.ws,
            &slug("det"),
            num(1),
            &t.id,
            FinishedStatus::parse("stopped").expect("valid"),
        )
        .await
        .expect("stop");
    let out = h.trash(target).await;
    assert!(!out.already_in_trash);
    assert!(h.canceller.calls().is_empty());
    // A training addressed under the wrong version is not found.
    h.version("det").await;
    assert_eq!(
        h.service
            .move_to_trash(
                &h.key,
                &h.ws,
                &TrashTarget::Training {
                    project: slug("det"),
                    number: num(2),
                    id: t.id.clone()
                }
            )
            .await,
        Err(TrashError::NotFound)
    );
}

/// Trashing a project or version cancels exactly its in-flight trainings;
/// restoring never resumes them.
pub async fn trashing_cancels_in_flight_trainings_and_restore_never_resumes(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("det").await;
    h.version("det").await;
    h.version("det").await;
    let running = h.training("det", 1).await;
    let done = h.finished_training("det", 1).await;
    let other = h.training("det", 2).await;
    let out = h.trash_version("det", 1).await;
    assert_eq!(out.cancelled_trainings, 1);
    assert_eq!(out.cancellations_pending, 0);
    assert_eq!(h.canceller.calls(), vec![running.id.clone()]);
    let agg = h.must_agg(&p.id).await;
    assert_eq!(
        training_in(&agg, &running.id).status,
        TrainingStatus::Cancelled
    );
    assert_eq!(
        training_in(&agg, &done.id).status,
        TrainingStatus::Succeeded
    );
    assert_eq!(training_in(&agg, &other.id).status, TrainingStatus::Running);
    assert!(h
        .store
        .queue
        .pending_cancellations(&h.ws)
        .await
        .expect("pending")
        .is_empty());

    let out = h.trash_project("det").await;
    assert_eq!(out.cancelled_trainings, 1);
    assert_eq!(
        h.canceller.calls(),
        vec![running.id.clone(), other.id.clone()]
    );
    h.restore(ItemRef::Project(p.id.clone()))
        .await
        .expect("restore");
    h.restore(ItemRef::Version(p.id.clone(), num(1)))
        .await
        .expect("restore");
    let agg = h.must_agg(&p.id).await;
    assert_eq!(
        training_in(&agg, &running.id).status,
        TrainingStatus::Cancelled
    );
    assert_eq!(
        training_in(&agg, &other.id).status,
        TrainingStatus::Cancelled
    );
    assert!(training_in(&agg, &other.id).state.is_active());
    assert_eq!(h.canceller.calls().len(), 2, "restore sends nothing");
}

/// A failing canceller never blocks or undoes a trash; the cancellation
/// stays pending and is retried until it succeeds.
pub async fn failing_canceller_keeps_trash_and_retries_cancellation(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("det").await;
    h.version("det").await;
    let t = h.training("det", 1).await;
    h.canceller.set_failing(true);
    let out = h.trash_project("det").await;
    assert_eq!(out.cancelled_trainings, 1);
    assert_eq!(out.cancellations_pending, 1);
    let agg = h.must_agg(&p.id).await;
    assert!(!agg.project.state.is_active());
    assert_eq!(training_in(&agg, &t.id).status, TrainingStatus::Cancelled);
    let pending = h
        .store
        .queue
        .pending_cancellations(&h.ws)
        .await
        .expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].training, t.id);
    assert_eq!(pending[0].attempts, 1);
    // Not retried before its backoff.
    let report = h.service.retry_cancellations(10).await.expect("retry");
    assert_eq!(report.attempted, 0);
    // Still failing after the backoff: counted, kept.
    h.clock.advance(Duration::seconds(31));
    let report = h.service.retry_cancellations(10).await.expect("retry");
    assert_eq!((report.attempted, report.failed), (1, 1));
    assert_eq!(
        h.store.queue.pending_cancellations(&h.ws).await.expect("p")[0].attempts,
        2
    );
    h.canceller.set_failing(false);
    h.clock.advance(Duration::minutes(10));
    let report = h.service.retry_cancellations(10).await.expect("retry");
    assert_eq!((report.attempted, report.succeeded), (1, 1));
    assert!(h
        .store
        .queue
        .pending_cancellations(&h.ws)
        .await
        .expect("p")
        .is_empty());
    assert_eq!(h.canceller.calls().len(), 3);
    let kinds: Vec<AuditKind> = h.audit().await.into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&AuditKind::CancellationFailed));
    assert!(kinds.contains(&AuditKind::CancellationSucceeded));
    // Nothing left to do.
    h.clock.advance(Duration::hours(2));
    assert_eq!(
        h.service
            .retry_cancellations(10)
            .await
            .expect("r")
            .attempted,
        0
    );
}

/// Deleting something already in trash changes nothing; restoring something
/// active changes nothing.
pub async fn delete_and_restore_are_idempotent(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("det").await;
    h.version("det").await;
    let w = h.workflow("flow").await;
    let wf = TrashTarget::Workflow { slug: slug("flow") };
    let first = h.trash(wf.clone()).await;
    h.clock.advance(Duration::hours(1));
    let second = h.trash(wf.clone()).await;
    assert!(second.already_in_trash);
    assert_eq!(second.scheduled_cleanup_at, first.scheduled_cleanup_at);
    assert_eq!(second.item, first.item);
    let v1 = h.trash_version("det", 1).await;
    let v2 = h.trash_version("det", 1).await;
    assert!(v2.already_in_trash && !v1.already_in_trash);
    assert_eq!(h.listing().await.len(), 2);
    let trashed_events = h
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind == AuditKind::Trashed)
        .count();
    assert_eq!(trashed_events, 2);

    let r1 = h
        .restore(ItemRef::Workflow(w.id.clone()))
        .await
        .expect("restore");
    assert!(!r1.already_active);
    let r2 = h
        .restore(ItemRef::Workflow(w.id.clone()))
        .await
        .expect("again");
    assert!(r2.already_active);
    assert_eq!(r2.slug, Some(slug("flow")));
    let r3 = h
        .restore(ItemRef::Project(p.id.clone()))
        .await
        .expect("active project");
    assert!(r3.already_active);
    let restored_events = h
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind == AuditKind::Restored)
        .count();
    assert_eq!(restored_events, 1);
}

/// While trashed, a slug is free; restoring into a taken slug conflicts,
/// or renames with `onConflict: rename`.
pub async fn slug_is_free_while_trashed_and_restore_handles_conflicts(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let old = h.project("det").await;
    h.trash_project("det").await;
    let newer = h.project("det").await;
    assert_ne!(old.id, newer.id);
    assert_eq!(
        h.restore(ItemRef::Project(old.id.clone())).await,
        Err(RestoreError::NameTaken {
            conflicting: newer.id.to_string()
        })
    );
    assert!(!h.must_agg(&old.id).await.project.state.is_active());
    h.project("det-2").await;
    let renamed = h
        .service
        .restore(
            &h.key,
            &h.ws,
            &ItemRef::Project(old.id.clone()),
            OnConflict::Rename,
        )
        .await
        .expect("rename");
    assert!(renamed.renamed);
    assert_eq!(renamed.slug, Some(slug("det-3")));
    let agg = h.must_agg(&old.id).await;
    assert!(agg.project.state.is_active());
    assert_eq!(agg.project.slug, slug("det-3"));
    // Creating a project on an active slug is refused.
    assert_eq!(
        h.resources
            .create_project(&h.key, &h.ws, name("x"), Some(slug("det")))
            .await,
        Err(ResourceError::SlugTaken {
            conflicting: newer.id.to_string()
        })
    );
    // Workflows too.
    let w_old = h.workflow("flow").await;
    h.trash(TrashTarget::Workflow { slug: slug("flow") }).await;
    let w_new = h.workflow("flow").await;
    // Addressed by id, the trashed workflow answers for itself, never for
    // the active one that took its slug.
    let by_id = h
        .trash(TrashTarget::WorkflowById {
            id: w_old.id.clone(),
        })
        .await;
    assert!(by_id.already_in_trash);
    assert!(
        matches!(&by_id.item, TrashedItem::Workflow(WorkflowItem { id, .. }) if id == &w_old.id)
    );
    assert!(h
        .store
        .reads
        .load_workflow(&h.ws, &w_new.id)
        .await
        .expect("load")
        .expect("exists")
        .workflow
        .state
        .is_active());
    assert_eq!(
        h.restore(ItemRef::Workflow(w_old.id.clone())).await,
        Err(RestoreError::NameTaken {
            conflicting: w_new.id.to_string()
        })
    );
    let renamed = h
        .service
        .restore(
            &h.key,
            &h.ws,
            &ItemRef::Workflow(w_old.id.clone()),
            OnConflict::Rename,
        )
        .await
        .expect("rename");
    assert_eq!(renamed.slug, Some(slug("flow-2")));
    // A 100-character slug: the candidates are shortened to fit, and a
    // candidate taken meanwhile is skipped rather than retried forever.
    let long = "l".repeat(100);
    let long_old = h.project(&long).await;
    h.trash_project(&long).await;
    h.project(&long).await;
    let second = slug(&long).with_suffix(2);
    h.project(second.as_str()).await;
    let renamed = h
        .service
        .restore(
            &h.key,
            &h.ws,
            &ItemRef::Project(long_old.id.clone()),
            OnConflict::Rename,
        )
        .await
        .expect("rename a long slug");
    let third = slug(&long).with_suffix(3);
    assert_eq!(renamed.slug, Some(third.clone()));
    assert_eq!(third.as_str().len(), 100);
    // Two trashed projects share a slug: a repeated delete by slug answers
    // for the most recently trashed one.
    h.project("twice").await;
    h.trash_project("twice").await;
    let later = h.project("twice").await;
    h.clock.advance(Duration::seconds(1));
    h.trash_project("twice").await;
    let again = h.trash_project("twice").await;
    assert!(again.already_in_trash);
    assert!(matches!(&again.item, TrashedItem::Project(ProjectItem { id, .. }) if id == &later.id));
    // Restoring when the slug is free keeps it, even with rename.
    h.project("free").await;
    let free = h.trash_project("free").await;
    let TrashedItem::Project(ProjectItem { id, .. }) = free.item else {
        panic!("project item")
    };
    let kept = h
        .service
        .restore(&h.key, &h.ws, &ItemRef::Project(id), OnConflict::Rename)
        .await
        .expect("restore");
    assert_eq!((kept.slug, kept.renamed), (Some(slug("free")), false));
}

/// Restore works until `scheduledCleanupAt`, and answers "retention
/// expired" from that instant.
pub async fn restore_window_closes_at_schedule(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let a = h.project("a").await;
    let b = h.project("b").await;
    h.trash_project("a").await;
    h.trash_project("b").await;
    h.clock
        .set(t0().plus(days(30)).plus(Duration::milliseconds(-1)));
    h.restore(ItemRef::Project(a.id.clone()))
        .await
        .expect("just in time");
    h.clock.set(t0().plus(days(30)));
    assert_eq!(
        h.restore(ItemRef::Project(b.id.clone())).await,
        Err(RestoreError::RetentionExpired)
    );
    assert!(!h.must_agg(&b.id).await.project.state.is_active());
}

/// Nothing is purged before its schedule; a purged root takes every
/// dependant, including items trashed earlier on their own.
pub async fn cleanup_waits_for_schedule_and_takes_dependants(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("det").await;
    h.version("det").await;
    h.version("det").await;
    let t = h.finished_training("det", 2).await;
    h.trash_version("det", 1).await; // at t0, due t0+30d
    h.clock.set(t0().plus(days(1)));
    h.trash_project("det").await; // due t0+31d
    h.clock
        .set(t0().plus(days(30)).plus(Duration::milliseconds(-1)));
    assert_eq!(h.drain_cleanup(&h.service).await, 0);
    h.clock.set(t0().plus(days(30)));
    assert_eq!(h.drain_cleanup(&h.service).await, 1);
    let agg = h.must_agg(&p.id).await;
    assert!(
        agg.versions.iter().all(|v| v.number != num(1)),
        "version 1 purged"
    );
    assert_eq!(agg.versions.len(), 1);
    h.clock.set(t0().plus(days(31)));
    assert_eq!(h.drain_cleanup(&h.service).await, 1);
    assert!(h.agg(&p.id).await.is_none());
    assert!(h
        .store
        .reads
        .training_project(&h.ws, &t.id)
        .await
        .expect("q")
        .is_none());
    assert!(h.listing().await.is_empty());

    // A project purged first takes a version trashed earlier on its own.
    let q = h.project("seg").await;
    h.version("seg").await;
    h.version("seg").await;
    h.trash_version("seg", 2).await; // 30 days
    let short = h.service_with(
        h.clock.clone(),
        Retention::new(Duration::days(1)).expect("valid"),
    );
    short
        .move_to_trash(
            &h.key,
            &h.ws,
            &TrashTarget::Project {
                slug: slug("seg"),
                cleanup_delete_images: true,
            },
        )
        .await
        .expect("trash");
    assert_eq!(h.listing().await.len(), 2);
    h.clock.advance(days(1));
    assert_eq!(h.drain_cleanup(&h.service).await, 1);
    assert!(h.agg(&q.id).await.is_none());
    assert!(
        h.listing().await.is_empty(),
        "the version's own entry went too"
    );
    let purged = h
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind == AuditKind::Purged)
        .count();
    assert_eq!(purged, 4, "one event per operation removed");
    assert_eq!(h.drain_cleanup(&h.service).await, 0);
}

/// With `cleanupDeleteImages`, a purged project deletes the images no other
/// project (active or trashed) links; without it, none.
pub async fn cleanup_deletes_only_exclusive_images(f: &dyn StoreFactory) {
    let h = harness(f).await;
    h.project("p1").await;
    h.project("p2").await;
    h.project("p3").await;
    h.project("p4").await;
    let exclusive = h.image("p1", "exclusive").await;
    let shared_active = h.image("p1", "shared-active").await;
    h.link("p2", &shared_active.id).await;
    let shared_trashed = h.image("p1", "shared-trashed").await;
    h.link("p3", &shared_trashed.id).await;
    let kept_flag = h.image("p4", "p4-only").await;
    h.trash_project("p1").await;
    // p3 stays in trash (with a longer schedule) while p1 is purged.
    let long = h.service_with(h.clock.clone(), Retention::new(days(60)).expect("valid"));
    long.move_to_trash(
        &h.key,
        &h.ws,
        &TrashTarget::Project {
            slug: slug("p3"),
            cleanup_delete_images: true,
        },
    )
    .await
    .expect("trash p3 for 60 days");
    h.trash(TrashTarget::Project {
        slug: slug("p4"),
        cleanup_delete_images: false,
    })
    .await;
    let listing = h.listing().await;
    let p1_entry = listing
        .iter()
        .find(|e| matches!(&e.item, TrashedItem::Project(ProjectItem { slug, .. }) if slug.as_str() == "p1"))
        .expect("p1 listed");
    assert!(p1_entry.operation.cleanup_delete_images);
    let p4_entry = listing
        .iter()
        .find(|e| matches!(&e.item, TrashedItem::Project(ProjectItem { slug, .. }) if slug.as_str() == "p4"))
        .expect("p4 listed");
    assert!(!p4_entry.operation.cleanup_delete_images);

    let image = |id: ImageId| {
        let h = &h;
        async move { h.store.resources.image(&h.ws, &id).await.expect("image") }
    };
    h.clock.set(t0().plus(days(30)));
    assert_eq!(h.drain_cleanup(&h.service).await, 2);
    assert!(
        image(exclusive.id.clone()).await.is_none(),
        "exclusive image deleted"
    );
    let sa = image(shared_active.id.clone())
        .await
        .expect("shared with active kept");
    assert_eq!(sa.projects.len(), 1);
    let st = image(shared_trashed.id.clone())
        .await
        .expect("shared with trashed kept");
    assert_eq!(st.projects.len(), 1);
    assert!(
        image(kept_flag.id.clone()).await.is_some(),
        "cleanupDeleteImages=false keeps"
    );
    // Once p3 is purged too, its now-exclusive image goes.
    h.clock.set(t0().plus(days(60)));
    assert_eq!(h.drain_cleanup(&h.service).await, 1);
    assert!(image(shared_trashed.id.clone()).await.is_none());
    assert!(image(shared_active.id.clone()).await.is_some());
}

/// A worker that claimed due operations and died does not block cleanup for
/// longer than its claim; rerunning finishes the work exactly once.
pub async fn cleanup_is_resumable_after_a_lost_claim(f: &dyn StoreFactory) {
    let h = harness(f).await;
    h.project("a").await;
    h.project("b").await;
    h.trash_project("a").await;
    h.trash_project("b").await;
    h.clock.set(t0().plus(days(30)));
    let now = h.clock.now();
    let lost = h
        .store
        .queue
        .claim_due_operations(now, now.plus(Duration::minutes(5)), 1)
        .await
        .expect("claim");
    assert_eq!(lost.len(), 1);
    let report = h.service.purge_due(10).await.expect("cleanup");
    assert_eq!((report.claimed, report.purged), (1, 1), "the unclaimed one");
    assert_eq!(h.service.purge_due(10).await.expect("c").claimed, 0);
    h.clock.advance(Duration::minutes(5));
    let report = h.service.purge_due(10).await.expect("cleanup");
    assert_eq!((report.claimed, report.purged), (1, 1));
    assert!(h.listing().await.is_empty());
    h.clock.advance(Duration::hours(1));
    assert_eq!(h.service.purge_due(10).await.expect("c").claimed, 0);
}

/// The listing is newest first, pages with an opaque cursor, filters by type.
pub async fn listing_pages_newest_first_with_filters(f: &dyn StoreFactory) {
    let h = harness(f).await;
    h.project("a").await;
    h.project("b").await;
    h.version("b").await;
    h.version("b").await;
    let t = h.finished_training("b", 2).await;
    h.workflow("w").await;
    h.trash_project("a").await;
    h.clock.advance(Duration::seconds(1));
    h.trash_version("b", 1).await;
    h.clock.advance(Duration::seconds(1));
    h.trash(TrashTarget::Workflow { slug: slug("w") }).await;
    h.trash_training("b", 2, &t.id).await; // same instant as the workflow
    h.clock.advance(Duration::seconds(1));
    h.project("c").await;
    h.trash_project("c").await;
    let all = h.listing().await;
    assert_eq!(all.len(), 5);
    for pair in all.windows(2) {
        let (x, y) = (&pair[0].operation, &pair[1].operation);
        assert!(
            (x.deleted_at, &x.id) > (y.deleted_at, &y.id),
            "newest first"
        );
    }
    assert!(
        matches!(&all[0].item, TrashedItem::Project(ProjectItem { slug, .. }) if slug.as_str() == "c")
    );
    assert!(
        matches!(&all[4].item, TrashedItem::Project(ProjectItem { slug, .. }) if slug.as_str() == "a")
    );
    // Pages of two, then one.
    let mut paged = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = h
            .service
            .list_trash(
                &h.key,
                &h.ws,
                &ListTrashRequest {
                    kind: None,
                    limit: PageLimit::new(2).expect("valid"),
                    cursor: cursor.clone(),
                },
            )
            .await
            .expect("page");
        pages += 1;
        assert!(page.entries.len() <= 2);
        paged.extend(page.entries);
        // The cursor survives its string form.
        cursor = page
            .next_cursor
            .map(|c| TrashCursor::parse(&c.encode()).expect("round trip"));
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(paged, all);
    let versions = h
        .service
        .list_trash(
            &h.key,
            &h.ws,
            &ListTrashRequest {
                kind: Some(ItemKind::Version),
                ..ListTrashRequest::default()
            },
        )
        .await
        .expect("filtered");
    assert_eq!(versions.entries.len(), 1);
    assert!(versions.next_cursor.is_none());
    assert!(
        matches!(&versions.entries[0].item, TrashedItem::Version(VersionItem { number, .. }) if number.get() == 1)
    );
    let trainings = h
        .service
        .list_trash(
            &h.key,
            &h.ws,
            &ListTrashRequest {
                kind: Some(ItemKind::Training),
                ..ListTrashRequest::default()
            },
        )
        .await
        .expect("filtered");
    assert!(matches!(&trainings.entries[0].item,
        TrashedItem::Training(TrainingItem { id, project_slug, version, .. })
        if id == &t.id && project_slug.as_str() == "b" && version.get() == 2));
    // The other workspace's trash is separate.
    let theirs = h
        .service
        .list_trash(&h.other_key, &h.other_ws, &ListTrashRequest::default())
        .await
        .expect("list");
    assert!(theirs.entries.is_empty());
}

/// Every transition is recorded with actor, item, operation and time.
pub async fn audit_trail_records_every_transition(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("det").await;
    h.version("det").await;
    let t = h.training("det", 1).await;
    let key_id = match &h.key {
        Principal::ApiKey(k) => k.key_id.to_string(),
        Principal::WebUser(_) => unreachable!("harness keys are API keys"),
    };
    h.trash_project("det").await;
    h.clock.advance(Duration::seconds(5));
    h.restore(ItemRef::Project(p.id.clone()))
        .await
        .expect("restore");
    h.trash_project("det").await;
    h.clock.advance(days(31));
    h.drain_cleanup(&h.service).await;
    let events = h.audit().await;
    let kinds: Vec<AuditKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            AuditKind::Trashed,
            AuditKind::CancellationRequested,
            AuditKind::CancellationSucceeded,
            AuditKind::Restored,
            AuditKind::Trashed,
            AuditKind::Purged,
        ]
    );
    let project = ItemRef::Project(p.id.clone());
    assert_eq!(events[0].item, Some(project));
    assert_eq!(events[0].actor.id, key_id);
    assert_eq!(events[0].actor.kind, ActorKind::ApiKey);
    assert_eq!(events[0].at, t0());
    assert_eq!(events[1].item, Some(ItemRef::Training(t.id.clone())));
    assert_eq!(events[1].operation, events[0].operation);
    assert_eq!(events[3].at, t0().plus(Duration::seconds(5)));
    assert_eq!(events[3].operation, events[0].operation);
    assert_ne!(events[4].operation, events[0].operation);
    assert_eq!(events[5].actor.kind, ActorKind::System);
    assert_eq!(events[5].operation, events[4].operation);
    assert!(events.iter().all(|e| e.workspace == h.ws));
    // Paging the trail.
    let after = h
        .store
        .audit
        .audit_events(&h.ws, Some(0), 2)
        .await
        .expect("a");
    assert_eq!(after.len(), 2);
    let rest = h
        .store
        .audit
        .audit_events(&h.ws, Some(after[1].seq), 100)
        .await
        .expect("a");
    assert_eq!(rest.len(), 4);
    assert!(h
        .store
        .audit
        .audit_events(&h.other_ws, None, 100)
        .await
        .expect("a")
        .is_empty());
}

fn admin(h: &Harness, ws: &WorkspaceSlug, role: Role) -> Result<WorkspaceAdmin, NotAnAdmin> {
    let _ = h;
    WorkspaceAdmin::from_user(WebUser {
        workspace: ws.clone(),
        user_id: UserId::parse("uuuuuuuuuuuuuuuuuuuu").expect("valid"),
        email: Email::parse("owner@example.com").expect("valid"),
        role,
    })
}

/// A web admin can delete one trash item forever, or empty the trash.
pub async fn delete_forever_and_empty_trash(f: &dyn StoreFactory) {
    let h = harness(f).await;
    assert!(admin(&h, &h.ws, Role::Member).is_err());
    let owner = admin(&h, &h.ws, Role::Owner).expect("owner");
    let p = h.project("det").await;
    h.version("det").await;
    let img = h.image("det", "only").await;
    h.trash_project("det").await;
    assert_eq!(
        h.service
            .delete_forever(&owner, &h.ws, &ItemRef::Version(p.id.clone(), num(1)), "v1")
            .await,
        Err(DeleteForeverError::CascadedWith {
            root: ItemRef::Project(p.id.clone())
        })
    );
    let foreign = admin(&h, &h.other_ws, Role::Admin).expect("admin");
    assert_eq!(
        h.service
            .delete_forever(
                &foreign,
                &h.ws,
                &ItemRef::Project(p.id.clone()),
                "Project det"
            )
            .await,
        Err(DeleteForeverError::WrongWorkspace)
    );
    assert_eq!(
        h.service
            .delete_forever(&owner, &h.ws, &ItemRef::Project(p.id.clone()), "det")
            .await,
        Err(DeleteForeverError::ConfirmationMismatch {
            expected: "Project det".into()
        })
    );
    assert!(
        h.agg(&p.id).await.is_some(),
        "a wrong confirmation deletes nothing"
    );
    let counts = h
        .service
        .delete_forever(
            &owner,
            &h.ws,
            &ItemRef::Project(p.id.clone()),
            "Project det",
        )
        .await
        .expect("delete forever");
    assert_eq!((counts.projects, counts.versions, counts.images), (1, 1, 1));
    assert!(h.agg(&p.id).await.is_none());
    assert!(h
        .store
        .resources
        .image(&h.ws, &img.id)
        .await
        .expect("q")
        .is_none());
    let last = h.audit().await.pop().expect("event");
    assert_eq!(last.kind, AuditKind::DeletedForever);
    assert_eq!(last.actor.kind, ActorKind::WebUser);
    // Active items cannot be deleted forever.
    let q = h.project("active").await;
    assert_eq!(
        h.service
            .delete_forever(
                &owner,
                &h.ws,
                &ItemRef::Project(q.id.clone()),
                "Project active"
            )
            .await,
        Err(DeleteForeverError::NotInTrash)
    );
    // Empty trash.
    h.trash_project("active").await;
    h.workflow("w").await;
    h.trash(TrashTarget::Workflow { slug: slug("w") }).await;
    h.project("x").await;
    h.version("x").await;
    h.trash_version("x", 1).await;
    let mut calls = 0;
    assert_eq!(
        h.service
            .empty_trash(&owner, &h.ws, "wrong", &mut |_| calls += 1)
            .await,
        Err(DeleteForeverError::ConfirmationMismatch {
            expected: "acme".into()
        })
    );
    assert_eq!(h.listing().await.len(), 3);
    let report = h
        .service
        .empty_trash(&owner, &h.ws, "acme", &mut |_| calls += 1)
        .await
        .expect("empty");
    assert_eq!(report.operations, 3);
    assert!(calls >= 1);
    assert!(h.listing().await.is_empty());
    assert!(h.agg(&q.id).await.is_none());
    // Active things survive.
    let x = h.project_id("x").await.expect("x");
    assert!(h.must_agg(&x).await.project.state.is_active());
}

/// Version numbers are never reused inside a project.
pub async fn version_numbers_are_never_reused(f: &dyn StoreFactory) {
    let h = harness(f).await;
    h.project("det").await;
    h.version("det").await;
    h.version("det").await;
    h.trash_version("det", 2).await;
    h.clock.advance(days(30));
    h.drain_cleanup(&h.service).await;
    let v = h.version("det").await;
    assert_eq!(v.number, num(3));
}

/// Narrow project reads return exactly the part asked for (what
/// `ProjectPart::narrow` keeps of the whole aggregate, at the same
/// revision), and the resource listings page by key: every active project
/// and version once, in order, trashed ones never.
pub async fn narrow_reads_and_resource_pages(f: &dyn StoreFactory) {
    let h = harness(f).await;
    for p in ["b-one", "a-two", "c-three", "a", "d-gone"] {
        h.project(p).await;
    }
    for _ in 0..6 {
        h.version("a-two").await;
    }
    h.finished_training("a-two", 2).await;
    h.finished_training("a-two", 2).await;
    h.finished_training("a-two", 5).await;
    h.trash_version("a-two", 3).await;
    h.trash_project("d-gone").await;
    let id = h.project_id("a-two").await.expect("a-two");
    let reads = &h.store.reads;
    let whole = reads
        .load_project(&h.ws, &id)
        .await
        .unwrap()
        .expect("whole");
    assert_eq!(whole.versions.len(), 6);
    assert_eq!(whole.trainings.len(), 3);
    let parts = [
        ProjectPart::Head,
        ProjectPart::Version(num(2)),
        ProjectPart::Version(num(3)),
        ProjectPart::Version(num(9)),
        ProjectPart::ActiveVersions {
            after: None,
            limit: 2,
        },
        ProjectPart::ActiveVersions {
            after: Some(num(2)),
            limit: 2,
        },
        ProjectPart::ActiveVersions {
            after: Some(num(5)),
            limit: 10,
        },
    ];
    for part in parts {
        let narrow = reads
            .load_project_part(&h.ws, &id, part)
            .await
            .unwrap()
            .expect("narrow");
        assert_eq!(narrow, part.narrow(whole.clone()), "{part:?}");
    }
    let page = reads
        .load_project_part(
            &h.ws,
            &id,
            ProjectPart::ActiveVersions {
                after: Some(num(2)),
                limit: 2,
            },
        )
        .await
        .unwrap()
        .unwrap();
    let numbers: Vec<u32> = page.versions.iter().map(|v| v.number.get()).collect();
    assert_eq!(numbers, vec![4, 5], "3 is trashed");
    let two = reads
        .load_project_part(&h.ws, &id, ProjectPart::Version(num(2)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(two.trainings.len(), 2);
    assert!(
        reads
            .load_project_part(&h.other_ws, &id, ProjectPart::Head)
            .await
            .unwrap()
            .is_none(),
        "another workspace's project is missing"
    );

    // Projects page by slug (byte order: "a" < "a-two" < "b-one").
    let two = PageLimit::new(2).expect("valid");
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let view = h
            .resources
            .get_workspace(
                &h.key,
                &h.ws,
                Page {
                    after: after.clone(),
                    limit: two,
                },
            )
            .await
            .expect("workspace");
        assert!(view.projects.len() <= 2);
        seen.extend(view.projects.iter().map(|p| p.slug.to_string()));
        match view.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, vec!["a", "a-two", "b-one", "c-three"]);
    // Versions page by number, trashed ones left out.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let view = h
            .resources
            .get_project(&h.key, &h.ws, &slug("a-two"), Page { after, limit: two })
            .await
            .expect("project");
        seen.extend(view.versions.iter().map(|v| v.number.get()));
        match view.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, vec![1, 2, 4, 5, 6]);
    // The decisions read narrowly and still decide right.
    let v7 = h.version("a-two").await;
    assert_eq!(v7.number.get(), 7, "numbers are never reused");
    assert_eq!(
        h.resources
            .create_training(&h.key, &h.ws, &slug("a-two"), num(3))
            .await,
        Err(ResourceError::NotFound(Missing::Version)),
        "a trashed version takes no training"
    );
    let view = h
        .resources
        .get_version(&h.key, &h.ws, &slug("a-two"), num(2))
        .await
        .expect("version 2");
    assert_eq!(view.trainings.len(), 2);
}

/// Reads answer 404 for trashed items, directly or through a parent.
pub async fn trashed_items_are_hidden_from_reads(f: &dyn StoreFactory) {
    let h = harness(f).await;
    h.project("det").await;
    h.version("det").await;
    h.version("det").await;
    let t = h.finished_training("det", 1).await;
    let t_other = h.finished_training("det", 1).await;
    h.workflow("w").await;
    h.trash_training("det", 1, &t.id).await;
    let trainings = h
        .resources
        .list_trainings(&h.key, &h.ws, &slug("det"), num(1))
        .await
        .expect("list");
    assert_eq!(
        trainings.iter().map(|t| &t.id).collect::<Vec<_>>(),
        vec![&t_other.id]
    );
    h.trash_version("det", 2).await;
    assert_eq!(
        h.resources
            .get_version(&h.key, &h.ws, &slug("det"), num(2))
            .await,
        Err(ResourceError::NotFound(Missing::Version))
    );
    let view = h
        .resources
        .get_project(&h.key, &h.ws, &slug("det"), Page::default())
        .await
        .expect("project");
    assert_eq!(view.versions.len(), 1);
    h.trash_project("det").await;
    assert_eq!(
        h.resources
            .get_project(&h.key, &h.ws, &slug("det"), Page::default())
            .await,
        Err(ResourceError::NotFound(Missing::Project))
    );
    assert_eq!(
        h.resources
            .get_version(&h.key, &h.ws, &slug("det"), num(1))
            .await,
        Err(ResourceError::NotFound(Missing::Project))
    );
    assert!(h
        .resources
        .get_workspace(&h.key, &h.ws, Page::default())
        .await
        .expect("ws")
        .projects
        .is_empty());
    assert_eq!(
        h.resources
            .create_version(&h.key, &h.ws, &slug("det"), None)
            .await,
        Err(ResourceError::NotFound(Missing::Project))
    );
    h.trash(TrashTarget::Workflow { slug: slug("w") }).await;
    assert_eq!(
        h.resources.get_workflow(&h.key, &h.ws, &slug("w")).await,
        Err(ResourceError::NotFound(Missing::Workflow))
    );
}

/// Keys are stored hashed, authenticate, and stop working once revoked.
pub async fn keys_are_hashed_and_revocable(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let key = h
        .accounts
        .create_api_key(&h.ws, name("ci"), ScopeSet::all())
        .await
        .expect("key");
    let stored = h
        .store
        .accounts
        .api_key_by_hash(&KeyHash::of(&key.plaintext))
        .await
        .expect("q")
        .expect("stored");
    assert_eq!(stored.id, key.record.id);
    assert_eq!(stored.scopes, ScopeSet::all());
    assert!(stored.hash.matches(&KeyHash::of(&key.plaintext)));
    let principal = h.accounts.authenticate(&key.plaintext).await.expect("auth");
    assert_eq!(principal.workspace, h.ws);
    assert_eq!(
        h.accounts.authenticate("notakeynotakeynotakey").await,
        Err(AuthError::Invalid)
    );
    assert_eq!(h.accounts.authenticate("").await, Err(AuthError::Missing));
    assert!(h
        .accounts
        .revoke_api_key(&key.record.id)
        .await
        .expect("revoke"));
    assert_eq!(
        h.accounts.authenticate(&key.plaintext).await,
        Err(AuthError::Revoked)
    );
    assert!(!h
        .accounts
        .revoke_api_key(&KeyId::parse("kkkkkkkkkkkkkkkkkkkk").expect("valid"))
        .await
        .expect("revoke"));
    assert_eq!(
        h.accounts
            .create_api_key(
                &WorkspaceSlug::parse("nope").expect("valid"),
                name("x"),
                ScopeSet::all()
            )
            .await
            .map(|_| ())
            .unwrap_err(),
        AdminError::NoSuchWorkspace
    );
    // Users: unique e-mail.
    h.accounts
        .create_user(
            &h.ws,
            Email::parse("a@b.c").expect("v"),
            Role::Owner,
            "$argon2id$x".into(),
        )
        .await
        .expect("user");
    assert_eq!(
        h.accounts
            .create_user(
                &h.ws,
                Email::parse("A@b.c").expect("v"),
                Role::Admin,
                "$argon2id$y".into()
            )
            .await
            .map(|_| ())
            .unwrap_err(),
        AdminError::AlreadyExists
    );
    let u = h
        .store
        .accounts
        .user_by_email(&Email::parse("a@b.c").expect("v"))
        .await
        .expect("q")
        .expect("user");
    assert_eq!(u.role, Role::Owner);
    assert_eq!(
        h.store.accounts.user_by_id(&u.id).await.expect("q"),
        Some(u)
    );
}

/// Sessions: stored by hash, valid until idle or absolute expiry (moving
/// the clock), ended by sign-out, by revoking, and at once by a role
/// change, a password reset or the user's removal.
pub async fn sessions_end_with_time_sign_out_and_user_changes(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let email = Email::parse("s@acme.test").expect("v");
    let user = h
        .accounts
        .create_user(&h.ws, email.clone(), Role::Owner, "$argon2id$x".into())
        .await
        .expect("user");
    let policy = SessionPolicy {
        idle: Duration::minutes(30),
        absolute: Duration::hours(2),
        touch_every: Duration::minutes(1),
    };
    let sessions = h.sessions.clone().with_policy(policy);
    let started = sessions.start(&user.id).await.expect("start");
    assert_eq!(started.token.len(), SESSION_TOKEN_LEN);
    let stored = h
        .store
        .sessions
        .session_by_hash(&KeyHash::of(&started.token))
        .await
        .expect("q")
        .expect("stored by its hash");
    assert_eq!(stored, started.record);
    let active = sessions
        .resume(&started.token)
        .await
        .expect("q")
        .expect("valid");
    assert_eq!(active.user.user_id, user.id);
    assert_eq!(active.user.role, Role::Owner);
    assert_eq!(sessions.resume("x").await.expect("q"), None);
    assert_eq!(
        sessions
            .resume(&"a".repeat(SESSION_TOKEN_LEN))
            .await
            .expect("q"),
        None
    );

    // Used every 20 minutes, it outlives the idle limit, but not the absolute one.
    for _ in 0..5 {
        h.clock.advance(Duration::minutes(20));
        assert!(sessions.resume(&started.token).await.expect("q").is_some());
    }
    h.clock.advance(Duration::minutes(20));
    assert_eq!(sessions.resume(&started.token).await.expect("q"), None);
    assert_eq!(
        h.store
            .sessions
            .session_by_hash(&KeyHash::of(&started.token))
            .await
            .expect("q"),
        None,
        "an ended session is removed"
    );

    // Idle expiry.
    let idle = sessions.start(&user.id).await.expect("start");
    h.clock.advance(Duration::minutes(29));
    assert!(sessions.resume(&idle.token).await.expect("q").is_some());
    h.clock.advance(Duration::minutes(30));
    assert_eq!(sessions.resume(&idle.token).await.expect("q"), None);

    // Sign-out ends exactly that session.
    let a = sessions.start(&user.id).await.expect("start");
    let b = sessions.start(&user.id).await.expect("start");
    assert!(sessions.end(&a.token).await.expect("end"));
    assert!(!sessions.end(&a.token).await.expect("end"));
    assert_eq!(sessions.resume(&a.token).await.expect("q"), None);
    assert!(sessions.resume(&b.token).await.expect("q").is_some());

    // Revoking ends every session of the user.
    let c = sessions.start(&user.id).await.expect("start");
    assert_eq!(sessions.revoke_sessions(&email).await.expect("revoke"), 2);
    assert_eq!(sessions.resume(&b.token).await.expect("q"), None);
    assert_eq!(sessions.resume(&c.token).await.expect("q"), None);

    // A role change ends the sessions and is kept.
    let d = sessions.start(&user.id).await.expect("start");
    let changed = sessions.set_role(&email, Role::Member).await.expect("role");
    assert_eq!(changed.role, Role::Member);
    assert_eq!(sessions.resume(&d.token).await.expect("q"), None);
    let e = sessions.start(&user.id).await.expect("start");
    assert_eq!(
        sessions
            .resume(&e.token)
            .await
            .expect("q")
            .expect("valid")
            .user
            .role,
        Role::Member
    );

    // A password reset ends them and stores the new hash.
    sessions
        .reset_password(&email, "$argon2id$new".into())
        .await
        .expect("reset");
    assert_eq!(sessions.resume(&e.token).await.expect("q"), None);
    let stored = h
        .store
        .accounts
        .user_by_email(&email)
        .await
        .expect("q")
        .expect("user");
    assert_eq!(stored.password_hash, "$argon2id$new");

    // Removal ends them and the user.
    let g = sessions.start(&user.id).await.expect("start");
    sessions.remove_user(&email).await.expect("remove");
    assert_eq!(sessions.resume(&g.token).await.expect("q"), None);
    assert_eq!(
        h.store.accounts.user_by_email(&email).await.expect("q"),
        None
    );
    assert_eq!(
        sessions.remove_user(&email).await.unwrap_err(),
        AdminError::NoSuchUser
    );
    assert_eq!(
        sessions.set_role(&email, Role::Admin).await.unwrap_err(),
        AdminError::NoSuchUser
    );
    assert_eq!(
        h.store.sessions.insert_session(&g.record).await,
        Err(StoreError::Missing),
        "a session needs its user"
    );
}

/// Users are listed by e-mail, keys oldest first with their last use
/// (recorded at most once a minute), neither across workspaces.
pub async fn users_and_keys_are_listed_by_workspace(f: &dyn StoreFactory) {
    let h = harness(f).await;
    for (email, ws) in [
        ("b@x.test", &h.ws),
        ("a@x.test", &h.ws),
        ("c@x.test", &h.other_ws),
    ] {
        h.accounts
            .create_user(
                ws,
                Email::parse(email).expect("v"),
                Role::Member,
                "$h".into(),
            )
            .await
            .expect("user");
    }
    let users = h.sessions.list_users(&h.ws).await.expect("list");
    let emails: Vec<&str> = users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, ["a@x.test", "b@x.test"]);
    assert_eq!(
        h.sessions
            .list_users(&WorkspaceSlug::parse("nope").expect("v"))
            .await
            .unwrap_err(),
        AdminError::NoSuchWorkspace
    );

    let before = h.accounts.list_api_keys(&h.ws).await.expect("list");
    h.clock.advance(Duration::seconds(1));
    let key = h
        .accounts
        .create_api_key(&h.ws, name("second"), ScopeSet::all())
        .await
        .expect("key");
    let keys = h.accounts.list_api_keys(&h.ws).await.expect("list");
    assert_eq!(keys.len(), before.len() + 1);
    assert_eq!(keys.last().expect("key").id, key.record.id);
    assert_eq!(keys.last().expect("key").last_used_at, None);
    h.clock.advance(Duration::seconds(1));
    let first_use = h.clock.now();
    h.accounts.authenticate(&key.plaintext).await.expect("auth");
    h.clock.advance(Duration::seconds(30));
    h.accounts.authenticate(&key.plaintext).await.expect("auth");
    let used = |keys: Vec<ApiKeyRecord>| {
        keys.into_iter()
            .find(|k| k.id == key.record.id)
            .expect("listed")
            .last_used_at
    };
    assert_eq!(
        used(h.accounts.list_api_keys(&h.ws).await.expect("list")),
        Some(first_use),
        "a use within a minute is not written again"
    );
    h.clock.advance(Duration::seconds(31));
    h.accounts.authenticate(&key.plaintext).await.expect("auth");
    assert_eq!(
        used(h.accounts.list_api_keys(&h.ws).await.expect("list")),
        Some(h.clock.now())
    );
    assert!(h
        .accounts
        .list_api_keys(&h.other_ws)
        .await
        .expect("list")
        .iter()
        .all(|k| k.workspace == h.other_ws));
}
