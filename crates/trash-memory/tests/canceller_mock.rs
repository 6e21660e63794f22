//! The job-canceller port, mocked with mockall: cancellation is requested
//! exactly for the in-flight trainings under the trashed item, and a
//! failing canceller leaves the trash done and the cancellation pending.

use std::sync::Arc;

use mockall::predicate::eq;
use trash_conformance::harness::{name, num, slug, t0};
use trash_core::domain::*;
use trash_core::ports::{CancelError, MockJobCanceller, TrashStore};
use trash_core::usecases::*;
use trash_core::{Ports, TrashConfig, TrashService};
use trash_memory::{ManualClock, MemoryStore, NoopCanceller, RandomIds};

struct Setup {
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    ws: WorkspaceSlug,
    key: Principal,
    running: Vec<TrainingId>,
    finished: TrainingId,
    other_project_running: TrainingId,
}

fn service(
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    canceller: MockJobCanceller,
) -> TrashService {
    TrashService::new(
        Ports {
            store,
            canceller: Arc::new(canceller),
            clock,
            ids: Arc::new(RandomIds),
        },
        TrashConfig::default(),
    )
}

/// Project `det` with version 1 (two running trainings, one finished) and
/// version 2 (one running); project `other` with one running training.
async fn setup() -> Setup {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(t0()));
    let plain = TrashService::new(
        Ports {
            store: store.clone(),
            canceller: Arc::new(NoopCanceller),
            clock: clock.clone(),
            ids: Arc::new(RandomIds),
        },
        TrashConfig::default(),
    );
    let ws = WorkspaceSlug::parse("acme").unwrap();
    plain
        .create_workspace(ws.clone(), name("Acme"))
        .await
        .unwrap();
    let key = plain
        .create_api_key(&ws, name("k"), ScopeSet::all())
        .await
        .unwrap();
    let key = Principal::ApiKey(plain.authenticate(&key.plaintext).await.unwrap());
    let mut running = Vec::new();
    for s in ["det", "other"] {
        plain
            .create_project(&key, &ws, name(s), Some(slug(s)))
            .await
            .unwrap();
        plain
            .create_version(&key, &ws, &slug(s), None)
            .await
            .unwrap();
    }
    plain
        .create_version(&key, &ws, &slug("det"), None)
        .await
        .unwrap();
    for v in [1, 1, 2] {
        running.push(
            plain
                .create_training(&key, &ws, &slug("det"), num(v))
                .await
                .unwrap()
                .id,
        );
    }
    let finished = plain
        .create_training(&key, &ws, &slug("det"), num(1))
        .await
        .unwrap();
    plain
        .set_training_status(
            &key,
            &ws,
            &slug("det"),
            num(1),
            &finished.id,
            FinishedStatus::parse("failed").unwrap(),
        )
        .await
        .unwrap();
    let other = plain
        .create_training(&key, &ws, &slug("other"), num(1))
        .await
        .unwrap();
    Setup {
        store,
        clock,
        ws,
        key,
        running,
        finished: finished.id,
        other_project_running: other.id,
    }
}

#[tokio::test]
async fn trashing_a_version_cancels_exactly_its_in_flight_trainings() {
    let s = setup().await;
    let mut mock = MockJobCanceller::new();
    for id in &s.running[..2] {
        mock.expect_cancel()
            .with(eq(s.ws.clone()), eq(id.clone()))
            .times(1)
            .returning(|_, _| Ok(()));
    }
    // Anything else (version 2's training, the finished one, the other project's) is unexpected.
    let svc = service(s.store.clone(), s.clock.clone(), mock);
    let out = svc
        .move_to_trash(
            &s.key,
            &s.ws,
            &TrashTarget::Version {
                project: slug("det"),
                number: num(1),
            },
        )
        .await
        .unwrap();
    assert_eq!((out.cancelled_trainings, out.cancellations_pending), (2, 0));
    let _ = (&s.finished, &s.other_project_running);
}

#[tokio::test]
async fn trashing_a_project_cancels_every_in_flight_training_under_it_only() {
    let s = setup().await;
    let mut mock = MockJobCanceller::new();
    for id in &s.running {
        mock.expect_cancel()
            .with(eq(s.ws.clone()), eq(id.clone()))
            .times(1)
            .returning(|_, _| Ok(()));
    }
    mock.expect_cancel()
        .with(eq(s.ws.clone()), eq(s.finished.clone()))
        .never();
    mock.expect_cancel()
        .with(eq(s.ws.clone()), eq(s.other_project_running.clone()))
        .never();
    let svc = service(s.store.clone(), s.clock.clone(), mock);
    let out = svc
        .move_to_trash(
            &s.key,
            &s.ws,
            &TrashTarget::Project {
                slug: slug("det"),
                cleanup_delete_images: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(out.cancelled_trainings, 3);
    // Nothing is pending after confirmed cancellations; a retry round sends nothing.
    assert!(s
        .store
        .pending_cancellations(&s.ws)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(svc.retry_cancellations(10).await.unwrap().attempted, 0);
}

#[tokio::test]
async fn a_failing_canceller_leaves_the_trash_done_and_the_cancellation_pending() {
    let s = setup().await;
    let mut mock = MockJobCanceller::new();
    mock.expect_cancel()
        .times(3)
        .returning(|_, _| Err(CancelError("job system down".into())));
    let svc = service(s.store.clone(), s.clock.clone(), mock);
    let out = svc
        .move_to_trash(
            &s.key,
            &s.ws,
            &TrashTarget::Project {
                slug: slug("det"),
                cleanup_delete_images: true,
            },
        )
        .await
        .expect("the trash succeeds although the canceller fails");
    assert_eq!((out.cancelled_trainings, out.cancellations_pending), (3, 3));
    let id = s
        .store
        .project_id_by_slug(&s.ws, &slug("det"))
        .await
        .unwrap()
        .unwrap();
    let agg = s.store.load_project(&s.ws, &id).await.unwrap().unwrap();
    assert!(!agg.project.state.is_active(), "the trash is not undone");
    let mut pending: Vec<TrainingId> = s
        .store
        .pending_cancellations(&s.ws)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.training)
        .collect();
    pending.sort();
    let mut expected = s.running.clone();
    expected.sort();
    assert_eq!(pending, expected);

    // Later, a working canceller receives each pending cancellation once.
    let mut mock = MockJobCanceller::new();
    for id in &s.running {
        mock.expect_cancel()
            .with(eq(s.ws.clone()), eq(id.clone()))
            .times(1)
            .returning(|_, _| Ok(()));
    }
    let svc = service(s.store.clone(), s.clock.clone(), mock);
    s.clock.advance(chrono::Duration::minutes(1));
    let report = svc.retry_cancellations(10).await.unwrap();
    assert_eq!((report.attempted, report.succeeded), (3, 3));
    assert!(s
        .store
        .pending_cancellations(&s.ws)
        .await
        .unwrap()
        .is_empty());
}
