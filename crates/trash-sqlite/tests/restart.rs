//! Restart: trash items, drop the store, open the file again: states,
//! schedules, operations, claims, pending cancellations and the audit trail
//! are all intact, and the reopened store carries on from them.

use std::path::Path;
use std::sync::Arc;

use trash_conformance::harness::{days, name, slug, t0, Harness};
use trash_core::domain::*;
use trash_core::ports::*;
use trash_core::usecases::TrashTarget;
use trash_core::{Runtime, Services, TrashConfig};
use trash_memory::ManualClock;
use trash_runtime::{system_runtime, NoopCanceller};
use trash_sqlite::SqliteStore;

/// Everything the store can tell about the main workspace.
#[derive(Debug, PartialEq)]
struct Snapshot {
    projects: Vec<Option<ProjectAggregate>>,
    workflows: Vec<Option<WorkflowAggregate>>,
    active: Vec<Project>,
    listing: Vec<TrashEntry>,
    audit: Vec<AuditRecord>,
    pending: Vec<PendingCancellation>,
    images: Vec<Option<ImageView>>,
    user: Option<UserRecord>,
    workspace: Option<Workspace>,
    taken: Vec<Slug>,
}

struct Ids {
    projects: Vec<ProjectId>,
    workflows: Vec<WorkflowId>,
    images: Vec<ImageId>,
    email: Email,
}

async fn snapshot(store: &SqliteStore, ws: &WorkspaceSlug, ids: &Ids) -> Snapshot {
    let mut projects = Vec::new();
    for id in &ids.projects {
        projects.push(store.load_project(ws, id).await.expect("load project"));
    }
    let mut workflows = Vec::new();
    for id in &ids.workflows {
        workflows.push(store.load_workflow(ws, id).await.expect("load workflow"));
    }
    let mut images = Vec::new();
    for id in &ids.images {
        images.push(store.image(ws, id).await.expect("image"));
    }
    Snapshot {
        projects,
        workflows,
        active: store
            .active_projects(ws, None, u32::MAX)
            .await
            .expect("active projects"),
        listing: store
            .list_trash(&TrashQuery {
                workspace: ws.clone(),
                kind: None,
                limit: 1000,
                after: None,
            })
            .await
            .expect("listing"),
        audit: store.audit_events(ws, None, 10_000).await.expect("audit"),
        pending: store.pending_cancellations(ws).await.expect("pending"),
        images,
        user: store.user_by_email(&ids.email).await.expect("user"),
        workspace: store.workspace(ws).await.expect("workspace"),
        taken: store
            .taken_slugs(ws, SlugSpace::Projects, &slug("alpha"))
            .await
            .expect("taken slugs"),
    }
}

async fn open(path: &Path) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(path).await.expect("open"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("trash.db");
    let store = open(&path).await;
    let h = Harness::whole(store.clone()).await;

    // alpha: three versions, a running and a finished training, an exclusive
    // and a shared image. beta shares the image. gamma is trashed and restored.
    let alpha = h.project("alpha").await;
    for _ in 0..3 {
        h.version("alpha").await;
    }
    let running = h.training("alpha", 1).await;
    let finished = h.finished_training("alpha", 2).await;
    let beta = h.project("beta").await;
    h.version("beta").await;
    let gamma = h.project("gamma").await;
    let own = h.image("alpha", "own").await;
    let shared = h.image("beta", "shared").await;
    h.link("alpha", &shared.id).await;
    let flow = h.workflow("flow").await;
    let kept = h.workflow("kept").await;
    let user = h
        .accounts
        .create_user(
            &h.ws,
            Email::parse("owner@example.com").expect("email"),
            Role::Owner,
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        )
        .await
        .expect("user");

    h.clock.advance(chrono::Duration::minutes(1));
    h.trash_version("alpha", 3).await;
    h.trash_training("alpha", 2, &finished.id).await;
    h.clock.advance(chrono::Duration::minutes(1));
    // The job system is down: the running training's cancellation stays pending.
    h.canceller.set_failing(true);
    let alpha_out = h.trash_project("alpha").await;
    assert_eq!(alpha_out.cancelled_trainings, 1);
    assert_eq!(alpha_out.cancellations_pending, 1);
    h.trash(TrashTarget::Workflow { slug: slug("flow") }).await;
    h.clock.advance(chrono::Duration::minutes(1));
    h.trash_project("gamma").await;
    h.restore(ItemRef::Project(gamma.id.clone()))
        .await
        .expect("restore gamma");
    // A cleanup worker claims the oldest due operation and then dies.
    let late = t0().plus(days(40));
    let claimed = store
        .claim_due_operations(late, late.plus(chrono::Duration::hours(1)), 1)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);

    let ids = Ids {
        projects: vec![alpha.id.clone(), beta.id.clone(), gamma.id.clone()],
        workflows: vec![flow.id.clone(), kept.id.clone()],
        images: vec![own.id.clone(), shared.id.clone()],
        email: user.email.clone(),
    };
    let before = snapshot(store.as_ref(), &h.ws, &ids).await;
    // The snapshot is not trivially empty.
    assert_eq!(before.listing.len(), 4, "{:#?}", before.listing);
    assert_eq!(before.pending.len(), 1);
    assert!(before.audit.len() >= 8, "{:#?}", before.audit);
    let alpha_agg = before.projects[0].as_ref().expect("alpha");
    assert_eq!(alpha_agg.operations.len(), 3);
    assert!(alpha_agg
        .trainings
        .iter()
        .any(|t| t.id == running.id && t.status == TrainingStatus::Cancelled));

    // Stop without a graceful close, as a crashed or restarted process would.
    let ws = h.ws.clone();
    let key = h.key.clone();
    drop(h);
    drop(store);

    let store = open(&path).await;
    let after = snapshot(store.as_ref(), &ws, &ids).await;
    assert_eq!(after, before);

    // The claim survived: only the other due operations can be claimed now.
    let reclaimed = store
        .claim_due_operations(late, late.plus(chrono::Duration::hours(1)), 100)
        .await
        .expect("claim after restart");
    assert_eq!(reclaimed.len(), 3);
    assert!(reclaimed.iter().all(|op| op.id != claimed[0].id));

    // And the reopened store carries on: restore alpha exactly as trashed.
    let services = Services::over(
        store.clone(),
        Arc::new(NoopCanceller),
        Runtime {
            clock: Arc::new(ManualClock::new(t0().plus(chrono::Duration::hours(1)))),
            ..system_runtime()
        },
        TrashConfig::default(),
    );
    services
        .trash
        .restore(
            &key,
            &ws,
            &ItemRef::Project(alpha.id.clone()),
            OnConflict::Fail,
        )
        .await
        .expect("restore alpha after restart");
    let alpha_now = store
        .load_project(&ws, &alpha.id)
        .await
        .expect("load")
        .expect("alpha exists");
    let states: Vec<bool> = alpha_now
        .versions
        .iter()
        .map(|v| v.state.is_active())
        .collect();
    assert_eq!(states, vec![true, true, false], "version 3 stays in trash");
    assert_eq!(alpha_now.revision.0, alpha_agg.revision.0 + 1);
    assert_eq!(
        services
            .resources
            .get_project(&key, &ws, &slug("alpha"), Default::default())
            .await
            .expect("alpha is active")
            .project
            .name,
        name("Project alpha")
    );

    // A graceful close and a third open see the restore.
    store.close().await;
    drop(services);
    drop(store);
    let store = open(&path).await;
    let listing = store
        .list_trash(&TrashQuery {
            workspace: ws.clone(),
            kind: None,
            limit: 1000,
            after: None,
        })
        .await
        .expect("listing");
    assert_eq!(listing.len(), 3, "{listing:#?}");
    assert!(listing
        .iter()
        .all(|e| e.operation.root != ItemRef::Project(alpha.id.clone())));
}
