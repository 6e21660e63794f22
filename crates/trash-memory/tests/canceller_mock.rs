//! The ports mocked with mockall, one mock per role.
//!
//! The job canceller over the reference store: cancellation is requested
//! exactly for the in-flight trainings under the trashed item, and a failing
//! canceller leaves the trash done and the cancellation pending. Then each
//! store role on its own (`MockTrashReads`, `MockTrashWrites`,
//! `MockWorkQueue`, `MockAuditLog`, `MockResourceStore`,
//! `MockAccountStore`) and the small ports (`MockClock`,
//! `MockIdGenerator`, `MockPause`): a use case calls exactly the roles it
//! needs, and a role with no expectations proves it is not called at all.

use std::sync::Arc;

use mockall::predicate::eq;
use mockall::Sequence;
use trash_conformance::harness::{name, num, slug, t0};
use trash_core::domain::*;
use trash_core::ports::*;
use trash_core::rules::preferred_holder;
use trash_core::usecases::*;
use trash_core::{AccountService, ResourceService, Runtime, TrashConfig, TrashPorts, TrashService};
use trash_memory::{ManualClock, MemoryStore, NoPause, SeededIds};

struct Setup {
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    runtime: Runtime,
    ws: WorkspaceSlug,
    key: Principal,
    running: Vec<TrainingId>,
    finished: TrainingId,
    other_project_running: TrainingId,
}

fn service(s: &Setup, canceller: MockJobCanceller) -> TrashService {
    TrashService::new(
        TrashPorts::from_store(s.store.clone(), Arc::new(canceller), s.runtime.clone()),
        TrashConfig::default(),
    )
}

/// Project `det` with version 1 (two running trainings, one finished) and
/// version 2 (one running); project `other` with one running training.
async fn setup() -> Setup {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(t0()));
    let runtime = Runtime {
        clock: clock.clone(),
        ids: Arc::new(SeededIds::new(8)),
        pause: Arc::new(NoPause),
        locks: Arc::new(trash_core::ports::NoLocks),
    };
    let accounts = AccountService::new(store.clone(), runtime.clone());
    let plain = ResourceService::new(
        store.clone(),
        store.clone(),
        store.clone(),
        runtime.clone(),
        TrashConfig::default(),
    );
    let ws = WorkspaceSlug::parse("acme").unwrap();
    accounts
        .create_workspace(ws.clone(), name("Acme"))
        .await
        .unwrap();
    let key = accounts
        .create_api_key(&ws, name("k"), ScopeSet::all())
        .await
        .unwrap();
    let key = Principal::ApiKey(accounts.authenticate(&key.plaintext).await.unwrap());
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
        runtime,
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
    let svc = service(&s, mock);
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
    let svc = service(&s, mock);
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
    let svc = service(&s, mock);
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
    let holders = s
        .store
        .projects_with_slug(&s.ws, &slug("det"))
        .await
        .unwrap();
    let id = preferred_holder(&holders).unwrap();
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
    let svc = service(&s, mock);
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

fn id<T>(parse: fn(&str) -> Result<T, InvalidValue>, c: char) -> T {
    parse(&c.to_string().repeat(RANDOM_ID_LEN)).unwrap()
}

fn acme() -> WorkspaceSlug {
    WorkspaceSlug::parse("acme").unwrap()
}

fn all_scopes() -> Principal {
    Principal::ApiKey(ApiKeyPrincipal {
        workspace: acme(),
        key_id: id(KeyId::parse, 'k'),
        key_name: name("mock"),
        scopes: ScopeSet::all(),
    })
}

/// Project `det` (id `ppp…`) with one finished version, at revision 7.
fn det_aggregate() -> ProjectAggregate {
    let pid = id(ProjectId::parse, 'p');
    ProjectAggregate {
        project: Project {
            id: pid.clone(),
            workspace: acme(),
            slug: slug("det"),
            name: name("Detector"),
            created_at: t0(),
            state: ItemState::Active,
        },
        revision: Revision(7),
        next_version: num(2),
        versions: vec![Version {
            project: pid,
            number: num(1),
            name: name("v1"),
            created_at: t0(),
            state: ItemState::Active,
        }],
        trainings: Vec::new(),
        operations: Vec::new(),
    }
}

/// Reads that find `det` by slug and load it, `times` times each.
fn det_reads(times: usize) -> MockTrashReads {
    let mut reads = MockTrashReads::new();
    reads
        .expect_projects_with_slug()
        .with(eq(acme()), eq(slug("det")))
        .times(times)
        .returning(|_, _| {
            Ok(vec![SlugHolder {
                id: id(ProjectId::parse, 'p'),
                trashed_at: None,
            }])
        });
    reads
        .expect_load_project()
        .times(times)
        .returning(|_, _| Ok(Some(det_aggregate())));
    reads
}

/// A holds role with no hold in any workspace.
fn no_holds() -> MockLegalHolds {
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

fn trash_service(
    reads: MockTrashReads,
    writes: MockTrashWrites,
    queue: MockWorkQueue,
    audit: MockAuditLog,
    runtime: Runtime,
) -> TrashService {
    TrashService::new(
        TrashPorts {
            reads: Arc::new(reads),
            writes: Arc::new(writes),
            queue: Arc::new(queue),
            audit: Arc::new(audit),
            holds: Arc::new(no_holds()),
            canceller: Arc::new(MockJobCanceller::new()),
            runtime,
        },
        TrashConfig::default(),
    )
}

fn quiet_runtime() -> Runtime {
    Runtime {
        clock: Arc::new(ManualClock::new(t0())),
        ids: Arc::new(SeededIds::new(1)),
        pause: Arc::new(NoPause),
        locks: Arc::new(trash_core::ports::NoLocks),
    }
}

#[tokio::test]
async fn trashing_a_project_reads_then_writes_one_plan_and_nothing_else() {
    let mut writes = MockTrashWrites::new();
    let pid = id(ProjectId::parse, 'p');
    let expected_members = vec![ItemRef::Version(pid.clone(), num(1))];
    writes
        .expect_trash()
        .withf(move |plan| {
            plan.guard.revision == Revision(7)
                && plan.operation.root == ItemRef::Project(id(ProjectId::parse, 'p'))
                && plan.members == expected_members
                && plan.cancel.is_empty()
                && plan.events.len() == 1
        })
        .times(1)
        .returning(|_| Ok(()));
    // No expectations: the work queue and the audit log are never called.
    let svc = trash_service(
        det_reads(1),
        writes,
        MockWorkQueue::new(),
        MockAuditLog::new(),
        quiet_runtime(),
    );
    let out = svc
        .trash_project(&all_scopes(), &acme(), &slug("det"), true)
        .await
        .unwrap();
    assert_eq!(
        out.item,
        ProjectItem {
            id: pid,
            slug: slug("det"),
            name: name("Detector"),
        }
    );
    assert!(!out.already_in_trash);
    assert_eq!(
        out.scheduled_cleanup_at,
        t0().plus(chrono::Duration::days(30))
    );
}

#[tokio::test]
async fn a_lost_race_pauses_rereads_and_writes_again() {
    let mut seq = Sequence::new();
    let mut writes = MockTrashWrites::new();
    writes
        .expect_trash()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(StoreError::Conflict));
    let mut pause = MockPause::new();
    pause
        .expect_pause()
        .withf(|d| *d >= chrono::Duration::zero() && *d <= chrono::Duration::milliseconds(2))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| ());
    writes
        .expect_trash()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    let mut clock = MockClock::new();
    clock.expect_now().returning(t0);
    let mut ids = MockIdGenerator::new();
    ids.expect_alphanumeric()
        .with(eq(RANDOM_ID_LEN))
        .returning(|len| "o".repeat(len));
    ids.expect_below().times(1).returning(|bound| bound / 2);
    let runtime = Runtime {
        clock: Arc::new(clock),
        ids: Arc::new(ids),
        pause: Arc::new(pause),
        locks: Arc::new(trash_core::ports::NoLocks),
    };
    let svc = trash_service(
        det_reads(2),
        writes,
        MockWorkQueue::new(),
        MockAuditLog::new(),
        runtime,
    );
    let out = svc
        .trash_project(&all_scopes(), &acme(), &slug("det"), false)
        .await
        .unwrap();
    assert_eq!(out.deleted_at, t0());
}

#[tokio::test]
async fn writes_that_keep_losing_answer_busy() {
    let attempts = TrashConfig::default().max_attempts as usize;
    let mut writes = MockTrashWrites::new();
    writes
        .expect_trash()
        .times(attempts)
        .returning(|_| Err(StoreError::Conflict));
    let svc = trash_service(
        det_reads(attempts),
        writes,
        MockWorkQueue::new(),
        MockAuditLog::new(),
        quiet_runtime(),
    );
    assert_eq!(
        svc.trash_project(&all_scopes(), &acme(), &slug("det"), true)
            .await,
        Err(TrashError::Busy)
    );
}

#[tokio::test]
async fn the_work_queue_hands_out_cancellations_and_hears_the_outcome() {
    let training = id(TrainingId::parse, 't');
    let mut queue = MockWorkQueue::new();
    queue
        .expect_claim_due_operations()
        .times(1)
        .returning(|_, _, _| Ok(Vec::new()));
    let pending = PendingCancellation {
        workspace: acme(),
        training: training.clone(),
        operation: id(OperationId::parse, 'o'),
        attempts: 2,
    };
    queue
        .expect_claim_cancellations()
        .times(1)
        .returning(move |_, _, _| Ok(vec![pending.clone()]));
    queue
        .expect_complete_cancellation()
        .withf(|t, e| {
            *t == id(TrainingId::parse, 't') && e.kind == AuditKind::CancellationSucceeded
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let mut canceller = MockJobCanceller::new();
    canceller
        .expect_cancel()
        .with(eq(acme()), eq(training))
        .times(1)
        .returning(|_, _| Ok(()));
    // Neither reads nor writes are needed when nothing is due.
    let svc = TrashService::new(
        TrashPorts {
            reads: Arc::new(MockTrashReads::new()),
            writes: Arc::new(MockTrashWrites::new()),
            queue: Arc::new(queue),
            audit: Arc::new(MockAuditLog::new()),
            holds: Arc::new(no_holds()),
            canceller: Arc::new(canceller),
            runtime: quiet_runtime(),
        },
        TrashConfig::default(),
    );
    assert_eq!(svc.purge_due(10).await.unwrap().claimed, 0);
    let report = svc.retry_cancellations(10).await.unwrap();
    assert_eq!((report.attempted, report.succeeded), (1, 1));
}

#[tokio::test]
async fn the_audit_trail_is_read_from_the_audit_log_alone() {
    let record = AuditRecord {
        seq: 4,
        event: AuditEvent {
            workspace: acme(),
            at: t0(),
            kind: AuditKind::Restored,
            actor: Actor::system(),
            item: Some(ItemRef::Project(id(ProjectId::parse, 'p'))),
            operation: Some(id(OperationId::parse, 'o')),
        },
    };
    let mut audit = MockAuditLog::new();
    let returned = record.clone();
    audit
        .expect_audit_events()
        .with(eq(acme()), eq(Some(3)), eq(1000))
        .times(1)
        .returning(move |_, _, _| Ok(vec![returned.clone()]));
    let svc = trash_service(
        MockTrashReads::new(),
        MockTrashWrites::new(),
        MockWorkQueue::new(),
        audit,
        quiet_runtime(),
    );
    assert_eq!(
        svc.audit_trail(&all_scopes(), &acme(), Some(3), 5000)
            .await
            .unwrap(),
        vec![record]
    );
}

#[tokio::test]
async fn resource_and_account_roles_mocked() {
    // Resources: a taken slug comes back typed.
    let mut resources = MockResourceStore::new();
    resources
        .expect_create_project()
        .withf(|p| p.slug == slug("det") && p.state.is_active())
        .times(1)
        .returning(|_| {
            Err(StoreError::SlugTaken {
                conflicting: "p".repeat(RANDOM_ID_LEN),
            })
        });
    let svc = ResourceService::new(
        Arc::new(MockAccountStore::new()),
        Arc::new(MockTrashReads::new()),
        Arc::new(resources),
        quiet_runtime(),
        TrashConfig::default(),
    );
    assert_eq!(
        svc.create_project(&all_scopes(), &acme(), name("Det"), Some(slug("det")))
            .await,
        Err(ResourceError::SlugTaken {
            conflicting: "p".repeat(RANDOM_ID_LEN)
        })
    );

    // Accounts: a revoked key is refused, found by its hash.
    let presented = "a".repeat(32);
    let record = ApiKeyRecord {
        id: id(KeyId::parse, 'k'),
        workspace: acme(),
        name: name("old"),
        scopes: ScopeSet::all(),
        hash: KeyHash::of(&presented),
        created_at: t0(),
        revoked_at: Some(t0()),
        last_used_at: None,
    };
    let mut accounts = MockAccountStore::new();
    accounts
        .expect_api_key_by_hash()
        .with(eq(KeyHash::of(&presented)))
        .times(1)
        .returning(move |_| Ok(Some(record.clone())));
    let accounts = AccountService::new(Arc::new(accounts), quiet_runtime());
    assert_eq!(
        accounts.authenticate(&presented).await,
        Err(AuthError::Revoked)
    );
}
