//! Embedding the core: plug your own store (and canceller, clock, ids)
//! into the trash use cases of `trash-core`.
//!
//! An embedder implements only the trash roles ([`TrashReads`],
//! [`TrashWrites`], [`WorkQueue`], [`AuditLog`], [`LegalHolds`]) over its own database. Its
//! projects, versions and trainings are created by its own code, and its
//! own authentication decides who is asking: it builds the [`Principal`]
//! itself and never implements the accounts role.
//!
//! The custom store here is a decorator that counts calls per method and
//! delegates to any store playing the trash roles; a real embedding
//! implements the same five traits over its own tables. Run with:
//!
//! ```sh
//! cargo run -p trash-memory --example embed_custom_store
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use trash_core::domain::*;
use trash_core::ports::*;
use trash_core::usecases::*;
use trash_core::{AccountService, ResourceService, Runtime, TrashConfig, TrashPorts, TrashService};
use trash_memory::{ManualClock, MemoryStore};
use trash_runtime::{RandomIds, TokioPause};

/// A store playing the trash roles: counts the calls it receives and
/// forwards them to `inner`.
pub struct CountingStore<S> {
    inner: Arc<S>,
    calls: Mutex<BTreeMap<&'static str, u64>>,
}

impl<S> CountingStore<S> {
    /// Wraps a store.
    pub fn new(inner: Arc<S>) -> CountingStore<S> {
        CountingStore {
            inner,
            calls: Mutex::new(BTreeMap::new()),
        }
    }

    fn count(&self, method: &'static str) {
        *self
            .calls
            .lock()
            .expect("not poisoned")
            .entry(method)
            .or_default() += 1;
    }

    /// How often each method was called.
    pub fn calls(&self) -> BTreeMap<&'static str, u64> {
        self.calls.lock().expect("not poisoned").clone()
    }
}

#[async_trait]
impl<S: TrashReads> TrashReads for CountingStore<S> {
    async fn projects_with_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Vec<SlugHolder<ProjectId>>, StoreError> {
        self.count("projects_with_slug");
        self.inner.projects_with_slug(workspace, slug).await
    }

    async fn workflows_with_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Vec<SlugHolder<WorkflowId>>, StoreError> {
        self.count("workflows_with_slug");
        self.inner.workflows_with_slug(workspace, slug).await
    }

    async fn load_project(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
    ) -> Result<Option<ProjectAggregate>, StoreError> {
        self.count("load_project");
        self.inner.load_project(workspace, id).await
    }

    async fn load_project_part(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
        part: ProjectPart,
    ) -> Result<Option<ProjectAggregate>, StoreError> {
        self.count("load_project_part");
        self.inner.load_project_part(workspace, id, part).await
    }

    async fn training_project(
        &self,
        workspace: &WorkspaceSlug,
        training: &TrainingId,
    ) -> Result<Option<ProjectId>, StoreError> {
        self.count("training_project");
        self.inner.training_project(workspace, training).await
    }

    async fn load_workflow(
        &self,
        workspace: &WorkspaceSlug,
        id: &WorkflowId,
    ) -> Result<Option<WorkflowAggregate>, StoreError> {
        self.count("load_workflow");
        self.inner.load_workflow(workspace, id).await
    }

    async fn taken_slugs(
        &self,
        workspace: &WorkspaceSlug,
        space: SlugSpace,
        base: &Slug,
    ) -> Result<Vec<Slug>, StoreError> {
        self.count("taken_slugs");
        self.inner.taken_slugs(workspace, space, base).await
    }

    async fn list_trash(&self, query: &TrashQuery) -> Result<Vec<TrashEntry>, StoreError> {
        self.count("list_trash");
        self.inner.list_trash(query).await
    }

    async fn exclusive_images(
        &self,
        workspace: &WorkspaceSlug,
        project: &ProjectId,
    ) -> Result<u64, StoreError> {
        self.count("exclusive_images");
        self.inner.exclusive_images(workspace, project).await
    }
}

#[async_trait]
impl<S: TrashWrites> TrashWrites for CountingStore<S> {
    async fn trash(&self, plan: &TrashPlan) -> Result<(), StoreError> {
        self.count("trash");
        self.inner.trash(plan).await
    }

    async fn restore(&self, plan: &RestorePlan) -> Result<(), StoreError> {
        self.count("restore");
        self.inner.restore(plan).await
    }

    async fn purge(&self, plan: &PurgePlan) -> Result<PurgeCounts, StoreError> {
        self.count("purge");
        self.inner.purge(plan).await
    }

    async fn purge_batch(
        &self,
        plans: &[PurgePlan],
        time_limit: chrono::Duration,
    ) -> Result<PurgeCounts, StoreError> {
        self.count("purge_batch");
        self.inner.purge_batch(plans, time_limit).await
    }
}

#[async_trait]
impl<S: WorkQueue> WorkQueue for CountingStore<S> {
    async fn claim_due_operations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TrashOperation>, StoreError> {
        self.count("claim_due_operations");
        self.inner
            .claim_due_operations(now, claimed_until, limit)
            .await
    }

    async fn claim_cancellations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PendingCancellation>, StoreError> {
        self.count("claim_cancellations");
        self.inner
            .claim_cancellations(now, claimed_until, limit)
            .await
    }

    async fn complete_cancellation(
        &self,
        training: &TrainingId,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.count("complete_cancellation");
        self.inner.complete_cancellation(training, event).await
    }

    async fn fail_cancellation(
        &self,
        training: &TrainingId,
        retry_at: Timestamp,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.count("fail_cancellation");
        self.inner
            .fail_cancellation(training, retry_at, event)
            .await
    }

    async fn pending_cancellations(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<PendingCancellation>, StoreError> {
        self.count("pending_cancellations");
        self.inner.pending_cancellations(workspace).await
    }
}

#[async_trait]
impl<S: AuditLog> AuditLog for CountingStore<S> {
    async fn audit_events(
        &self,
        workspace: &WorkspaceSlug,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.count("audit_events");
        self.inner.audit_events(workspace, after, limit).await
    }

    async fn audit_page(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.count("audit_page");
        self.inner.audit_page(query).await
    }
}

#[async_trait]
impl<S: LegalHolds> LegalHolds for CountingStore<S> {
    async fn holds(&self, workspace: &WorkspaceSlug) -> Result<WorkspaceHolds, StoreError> {
        self.count("holds");
        self.inner.holds(workspace).await
    }

    async fn holds_of(
        &self,
        workspaces: &[WorkspaceSlug],
    ) -> Result<Vec<WorkspaceHolds>, StoreError> {
        self.count("holds_of");
        self.inner.holds_of(workspaces).await
    }

    async fn place_hold(&self, hold: &Hold, event: &AuditEvent) -> Result<(), StoreError> {
        self.count("place_hold");
        self.inner.place_hold(hold, event).await
    }

    async fn release_hold(
        &self,
        workspace: &WorkspaceSlug,
        id: &HoldId,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        self.count("release_hold");
        self.inner.release_hold(workspace, id, event).await
    }
}

/// A job canceller that talks to "your" job system; here it only remembers.
#[derive(Default)]
pub struct MyJobSystem {
    /// Trainings whose jobs were stopped.
    pub stopped: Mutex<Vec<TrainingId>>,
}

#[async_trait]
impl JobCanceller for MyJobSystem {
    async fn cancel(&self, _: &WorkspaceSlug, training: &TrainingId) -> Result<(), CancelError> {
        self.stopped
            .lock()
            .expect("not poisoned")
            .push(training.clone());
        Ok(())
    }
}

/// What the scenario observed.
pub struct ScenarioReport {
    /// Entries listed right after the trash.
    pub listed: usize,
    /// Whether restore brought the project back.
    pub restored: bool,
    /// Operations purged after the retention window.
    pub purged: u32,
    /// Trainings whose jobs were stopped.
    pub stopped_jobs: usize,
    /// Calls per store method.
    pub calls: BTreeMap<&'static str, u64>,
}

/// The caller as your own authentication established it: a principal with
/// the scopes you grant, built directly (no API key is stored anywhere).
fn caller(workspace: &WorkspaceSlug) -> Principal {
    Principal::ApiKey(ApiKeyPrincipal {
        workspace: workspace.clone(),
        key_id: KeyId::parse("embedderServiceKey01").expect("valid"),
        key_name: Name::parse("our-service").expect("valid"),
        scopes: ScopeSet::all(),
    })
}

/// Your database's own rows: a workspace and a project with a version and
/// a running training. Here the reference store plays your database and its
/// resource and account roles seed it; a real embedding already has them.
async fn seed(db: &Arc<MemoryStore>, runtime: &Runtime, ws: &WorkspaceSlug, slug: &Slug) {
    let accounts = AccountService::new(db.clone(), runtime.clone());
    let resources = ResourceService::new(
        db.clone(),
        db.clone(),
        db.clone(),
        runtime.clone(),
        TrashConfig::default(),
    );
    accounts
        .create_workspace(ws.clone(), Name::parse("Acme").expect("valid"))
        .await
        .expect("workspace");
    let me = caller(ws);
    resources
        .create_project(
            &me,
            ws,
            Name::parse("Detector").expect("valid"),
            Some(slug.clone()),
        )
        .await
        .expect("project");
    let version = resources
        .create_version(&me, ws, slug, None)
        .await
        .expect("version");
    resources
        .create_training(&me, ws, slug, version.number)
        .await
        .expect("training");
}

/// Trash a project with a running training, list, restore, trash again,
/// travel past the retention window and clean up.
pub async fn scenario() -> ScenarioReport {
    let db = Arc::new(MemoryStore::new());
    let store = Arc::new(CountingStore::new(db.clone()));
    let clock = Arc::new(ManualClock::new(
        Timestamp::from_unix_millis(1_767_225_600_000).expect("valid"),
    ));
    let runtime = Runtime {
        clock: clock.clone(),
        ids: Arc::new(RandomIds),
        pause: Arc::new(TokioPause),
        locks: Arc::new(trash_core::ports::NoLocks),
    };
    let ws = WorkspaceSlug::parse("acme").expect("valid slug");
    let slug = Slug::parse("detector").expect("valid");
    seed(&db, &runtime, &ws, &slug).await;

    // The trash use cases need the four trash roles, a canceller and the
    // runtime; the same store hands out each role.
    let jobs = Arc::new(MyJobSystem::default());
    let service = TrashService::new(
        TrashPorts::from_store(store.clone(), jobs.clone(), runtime),
        TrashConfig::default(),
    );
    let me = caller(&ws);

    let trashed = service
        .trash_project(&me, &ws, &slug, true)
        .await
        .expect("trash");
    let listed = service
        .list_trash(&me, &ws, &ListTrashRequest::default())
        .await
        .expect("list")
        .entries
        .len();
    let restored = !service
        .restore(
            &me,
            &ws,
            &ItemRef::Project(trashed.item.id.clone()),
            OnConflict::Fail,
        )
        .await
        .expect("restore")
        .already_active;
    service
        .trash_project(&me, &ws, &slug, true)
        .await
        .expect("trash again");
    clock.advance(chrono::Duration::days(30));
    let purged = service.purge_due(100).await.expect("cleanup").purged;

    let stopped_jobs = jobs.stopped.lock().expect("not poisoned").len();
    ScenarioReport {
        listed,
        restored,
        purged,
        stopped_jobs,
        calls: store.calls(),
    }
}

#[allow(dead_code)]
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let report = scenario().await;
    println!(
        "listed {}, restored {}, purged {}, jobs stopped {}",
        report.listed, report.restored, report.purged, report.stopped_jobs
    );
    for (method, n) in report.calls {
        println!("{method:>28}: {n}");
    }
}
