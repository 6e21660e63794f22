//! Embedding the core: plug your own store (and canceller, clock, ids) into
//! the use cases of `trash-core`.
//!
//! The custom store here is a decorator that counts calls per port method
//! and delegates to any other store; a real embedding implements the same
//! trait over its own database. Run with:
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
use trash_core::{Ports, TrashConfig, TrashService};
use trash_memory::{ManualClock, MemoryStore, RandomIds};

/// A store that counts the calls it receives and forwards them to `inner`.
pub struct CountingStore {
    inner: Arc<dyn TrashStore>,
    calls: Mutex<BTreeMap<&'static str, u64>>,
}

impl CountingStore {
    /// Wraps a store.
    pub fn new(inner: Arc<dyn TrashStore>) -> CountingStore {
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
impl TrashStore for CountingStore {
    async fn create_workspace(&self, workspace: &Workspace) -> Result<(), StoreError> {
        self.count("create_workspace");
        self.inner.create_workspace(workspace).await
    }

    async fn workspace(&self, slug: &WorkspaceSlug) -> Result<Option<Workspace>, StoreError> {
        self.count("workspace");
        self.inner.workspace(slug).await
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.count("insert_api_key");
        self.inner.insert_api_key(key).await
    }

    async fn api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.count("api_key_by_hash");
        self.inner.api_key_by_hash(hash).await
    }

    async fn revoke_api_key(&self, id: &KeyId, at: Timestamp) -> Result<bool, StoreError> {
        self.count("revoke_api_key");
        self.inner.revoke_api_key(id, at).await
    }

    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.count("insert_user");
        self.inner.insert_user(user).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>, StoreError> {
        self.count("user_by_email");
        self.inner.user_by_email(email).await
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>, StoreError> {
        self.count("user_by_id");
        self.inner.user_by_id(id).await
    }

    async fn project_id_by_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Option<ProjectId>, StoreError> {
        self.count("project_id_by_slug");
        self.inner.project_id_by_slug(workspace, slug).await
    }

    async fn load_project(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
    ) -> Result<Option<ProjectAggregate>, StoreError> {
        self.count("load_project");
        self.inner.load_project(workspace, id).await
    }

    async fn project_head(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
    ) -> Result<Option<ProjectHead>, StoreError> {
        self.count("project_head");
        self.inner.project_head(workspace, id).await
    }

    async fn active_projects(&self, workspace: &WorkspaceSlug) -> Result<Vec<Project>, StoreError> {
        self.count("active_projects");
        self.inner.active_projects(workspace).await
    }

    async fn training_project(
        &self,
        workspace: &WorkspaceSlug,
        training: &TrainingId,
    ) -> Result<Option<ProjectId>, StoreError> {
        self.count("training_project");
        self.inner.training_project(workspace, training).await
    }

    async fn workflow_id_by_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Option<WorkflowId>, StoreError> {
        self.count("workflow_id_by_slug");
        self.inner.workflow_id_by_slug(workspace, slug).await
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

    async fn image(
        &self,
        workspace: &WorkspaceSlug,
        id: &ImageId,
    ) -> Result<Option<ImageView>, StoreError> {
        self.count("image");
        self.inner.image(workspace, id).await
    }

    async fn list_trash(&self, query: &TrashQuery) -> Result<Vec<TrashEntry>, StoreError> {
        self.count("list_trash");
        self.inner.list_trash(query).await
    }

    async fn audit_events(
        &self,
        workspace: &WorkspaceSlug,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.count("audit_events");
        self.inner.audit_events(workspace, after, limit).await
    }

    async fn create_project(&self, project: &Project) -> Result<(), StoreError> {
        self.count("create_project");
        self.inner.create_project(project).await
    }

    async fn create_workflow(&self, workflow: &Workflow) -> Result<(), StoreError> {
        self.count("create_workflow");
        self.inner.create_workflow(workflow).await
    }

    async fn create_version(&self, guard: &Guard, version: &Version) -> Result<(), StoreError> {
        self.count("create_version");
        self.inner.create_version(guard, version).await
    }

    async fn create_training(&self, guard: &Guard, training: &Training) -> Result<(), StoreError> {
        self.count("create_training");
        self.inner.create_training(guard, training).await
    }

    async fn set_training_status(
        &self,
        guard: &Guard,
        training: &TrainingId,
        status: TrainingStatus,
        ended_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        self.count("set_training_status");
        self.inner
            .set_training_status(guard, training, status, ended_at)
            .await
    }

    async fn add_image(&self, guard: &Guard, image: &Image) -> Result<(), StoreError> {
        self.count("add_image");
        self.inner.add_image(guard, image).await
    }

    async fn link_image(&self, guard: &Guard, image: &ImageId) -> Result<(), StoreError> {
        self.count("link_image");
        self.inner.link_image(guard, image).await
    }

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

    async fn ping(&self) -> Result<(), StoreError> {
        self.count("ping");
        self.inner.ping().await
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

/// Trash a project with a running training, list, restore, trash again,
/// travel past the retention window and clean up.
pub async fn scenario() -> ScenarioReport {
    let store = Arc::new(CountingStore::new(Arc::new(MemoryStore::new())));
    let clock = Arc::new(ManualClock::new(
        Timestamp::from_unix_millis(1_767_225_600_000).expect("valid"),
    ));
    let jobs = Arc::new(MyJobSystem::default());
    let service = TrashService::new(
        Ports {
            store: store.clone(),
            canceller: jobs.clone(),
            clock: clock.clone(),
            ids: Arc::new(RandomIds),
        },
        TrashConfig::default(),
    );

    let ws = WorkspaceSlug::parse("acme").expect("valid slug");
    service
        .create_workspace(ws.clone(), Name::parse("Acme").expect("valid"))
        .await
        .expect("workspace");
    let key = service
        .create_api_key(&ws, Name::parse("ci").expect("valid"), ScopeSet::all())
        .await
        .expect("key");
    let me = Principal::ApiKey(service.authenticate(&key.plaintext).await.expect("auth"));

    let slug = Slug::parse("detector").expect("valid");
    let project = service
        .create_project(
            &me,
            &ws,
            Name::parse("Detector").expect("valid"),
            Some(slug.clone()),
        )
        .await
        .expect("project");
    let version = service
        .create_version(&me, &ws, &slug, None)
        .await
        .expect("version");
    service
        .create_training(&me, &ws, &slug, version.number)
        .await
        .expect("training");

    let target = TrashTarget::Project {
        slug: slug.clone(),
        cleanup_delete_images: true,
    };
    service
        .move_to_trash(&me, &ws, &target)
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
            &ItemRef::Project(project.id.clone()),
            OnConflict::Fail,
        )
        .await
        .expect("restore")
        .already_active;
    service
        .move_to_trash(&me, &ws, &target)
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
