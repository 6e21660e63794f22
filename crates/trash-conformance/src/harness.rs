//! A test harness around one store: a workspace with an all-scopes key,
//! a second workspace, a manual clock and a recording job canceller, and
//! the three services of `trash-core` over the store's roles.

use std::sync::Arc;

use chrono::Duration;
use trash_core::domain::*;
use trash_core::ports::*;
use trash_core::rules;
use trash_core::usecases::*;
use trash_core::{
    AccountService, ResourceService, Runtime, SessionService, TrashConfig, TrashPorts, TrashService,
};
use trash_memory::{ManualClock, NoPause, RecordingCanceller};
use trash_runtime::RandomIds;

use crate::StoreUnderTest;

/// The harness.
pub struct Harness {
    /// The store under test, role by role.
    pub store: StoreUnderTest,
    /// The clock every default service reads.
    pub clock: Arc<ManualClock>,
    /// The job canceller every default service calls.
    pub canceller: Arc<RecordingCanceller>,
    /// The trash use cases with the default 30-day retention.
    pub service: TrashService,
    /// Creating and reading resources.
    pub resources: ResourceService,
    /// Workspaces, keys and authentication.
    pub accounts: AccountService,
    /// Web sessions and the user changes that end them (default policy).
    pub sessions: SessionService,
    /// The main workspace.
    pub ws: WorkspaceSlug,
    /// An all-scopes key of the main workspace.
    pub key: Principal,
    /// A second workspace.
    pub other_ws: WorkspaceSlug,
    /// An all-scopes key of the second workspace.
    pub other_key: Principal,
}

/// The trash roles a [`TrashService`] is built on: the store under test's,
/// or decorators of them (such as a [`crate::gate::GatedStore`]).
#[derive(Clone)]
pub struct TrashRoles {
    /// Reads.
    pub reads: Arc<dyn TrashReads>,
    /// Guarded transitions.
    pub writes: Arc<dyn TrashWrites>,
    /// The work queue.
    pub queue: Arc<dyn WorkQueue>,
    /// The audit log.
    pub audit: Arc<dyn AuditLog>,
    /// Legal holds.
    pub holds: Arc<dyn LegalHolds>,
}

/// The instant every harness clock starts at: 2026-01-01T00:00:00Z.
pub fn t0() -> Timestamp {
    Timestamp::from_unix_millis(1_767_225_600_000).expect("valid instant")
}

/// `n` days.
pub fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// Parses a slug (test input is always valid).
pub fn slug(s: &str) -> Slug {
    Slug::parse(s).expect("valid test slug")
}

/// Parses a name.
pub fn name(s: &str) -> Name {
    Name::parse(s).expect("valid test name")
}

/// A version number.
pub fn num(n: u32) -> VersionNumber {
    VersionNumber::new(n).expect("valid version number")
}

/// The runtime of the harness's services: `clock`, random ids, and pauses
/// that return at once (retries need no real waiting in these tests).
pub fn test_runtime(clock: Arc<dyn Clock>) -> Runtime {
    Runtime {
        clock,
        ids: Arc::new(RandomIds),
        pause: Arc::new(NoPause),
        locks: Arc::new(trash_core::ports::NoLocks),
    }
}

impl Harness {
    /// Sets up two workspaces with all-scopes keys on `store`.
    pub async fn new(store: StoreUnderTest) -> Harness {
        let clock = Arc::new(ManualClock::new(t0()));
        let canceller = Arc::new(RecordingCanceller::default());
        let runtime = test_runtime(clock.clone());
        let config = TrashConfig::default();
        let service = TrashService::new(
            TrashPorts {
                reads: store.reads.clone(),
                writes: store.writes.clone(),
                queue: store.queue.clone(),
                audit: store.audit.clone(),
                holds: store.holds.clone(),
                canceller: canceller.clone(),
                runtime: runtime.clone(),
            },
            config.clone(),
        );
        let resources = ResourceService::new(
            store.accounts.clone(),
            store.reads.clone(),
            store.resources.clone(),
            runtime.clone(),
            config,
        );
        let accounts = AccountService::new(store.accounts.clone(), runtime.clone());
        let sessions = SessionService::new(store.sessions.clone(), store.accounts.clone(), runtime);
        let ws = WorkspaceSlug::parse("acme").expect("valid");
        let other_ws = WorkspaceSlug::parse("globex").expect("valid");
        let key = Self::setup_workspace(&accounts, &ws).await;
        let other_key = Self::setup_workspace(&accounts, &other_ws).await;
        Harness {
            store,
            clock,
            canceller,
            service,
            resources,
            accounts,
            sessions,
            ws,
            key,
            other_ws,
            other_key,
        }
    }

    /// Sets up the harness on one store that plays every role.
    pub async fn whole(store: Arc<dyn StandaloneStore>) -> Harness {
        Harness::new(StoreUnderTest::whole(store)).await
    }

    async fn setup_workspace(accounts: &AccountService, ws: &WorkspaceSlug) -> Principal {
        accounts
            .create_workspace(ws.clone(), name(ws.as_str()))
            .await
            .expect("create workspace");
        let key = accounts
            .create_api_key(ws, name("all"), ScopeSet::all())
            .await
            .expect("create key");
        Principal::ApiKey(
            accounts
                .authenticate(&key.plaintext)
                .await
                .expect("fresh key authenticates"),
        )
    }

    /// The trash roles of the store under test.
    pub fn roles(&self) -> TrashRoles {
        TrashRoles {
            reads: self.store.reads.clone(),
            writes: self.store.writes.clone(),
            queue: self.store.queue.clone(),
            audit: self.store.audit.clone(),
            holds: self.store.holds.clone(),
        }
    }

    /// A service over the same store and canceller with its own clock and retention.
    pub fn service_with(&self, clock: Arc<dyn Clock>, retention: Retention) -> TrashService {
        self.service_on(
            self.roles(),
            test_runtime(clock),
            TrashConfig {
                retention,
                ..TrashConfig::default()
            },
        )
    }

    /// A trash service over `roles` (the store's, or decorators of them)
    /// and the harness's canceller, with its own runtime and configuration.
    pub fn service_on(
        &self,
        roles: TrashRoles,
        runtime: Runtime,
        config: TrashConfig,
    ) -> TrashService {
        TrashService::new(
            TrashPorts {
                reads: roles.reads,
                writes: roles.writes,
                queue: roles.queue,
                audit: roles.audit,
                holds: roles.holds,
                canceller: self.canceller.clone(),
                runtime,
            },
            config,
        )
    }

    /// A resource service over `resources` (the store's, or a decorator of
    /// it) and the store's reads and accounts, with its own runtime.
    pub fn resources_on(
        &self,
        resources: Arc<dyn ResourceStore>,
        runtime: Runtime,
        config: TrashConfig,
    ) -> ResourceService {
        ResourceService::new(
            self.store.accounts.clone(),
            self.store.reads.clone(),
            resources,
            runtime,
            config,
        )
    }

    /// A key of the main workspace with exactly `scopes`.
    pub async fn key_with(&self, scopes: &[Scope]) -> Principal {
        let key = self
            .accounts
            .create_api_key(&self.ws, name("limited"), scopes.iter().copied().collect())
            .await
            .expect("create key");
        Principal::ApiKey(
            self.accounts
                .authenticate(&key.plaintext)
                .await
                .expect("auth"),
        )
    }

    /// Creates a project.
    pub async fn project(&self, s: &str) -> Project {
        self.resources
            .create_project(
                &self.key,
                &self.ws,
                name(&format!("Project {s}")),
                Some(slug(s)),
            )
            .await
            .expect("create project")
    }

    /// Creates the next version of a project.
    pub async fn version(&self, project: &str) -> Version {
        self.resources
            .create_version(&self.key, &self.ws, &slug(project), None)
            .await
            .expect("create version")
    }

    /// Starts a (running) training.
    pub async fn training(&self, project: &str, n: u32) -> Training {
        self.resources
            .create_training(&self.key, &self.ws, &slug(project), num(n))
            .await
            .expect("create training")
    }

    /// Starts a training and finishes it (`succeeded`).
    pub async fn finished_training(&self, project: &str, n: u32) -> Training {
        let t = self.training(project, n).await;
        self.resources
            .set_training_status(
                &self.key,
                &self.ws,
                &slug(project),
                num(n),
                &t.id,
                FinishedStatus::parse("succeeded").expect("valid"),
            )
            .await
            .expect("finish training")
    }

    /// Creates a workflow.
    pub async fn workflow(&self, s: &str) -> Workflow {
        self.resources
            .create_workflow(
                &self.key,
                &self.ws,
                name(&format!("Workflow {s}")),
                Some(slug(s)),
            )
            .await
            .expect("create workflow")
    }

    /// Adds a new image to a project.
    pub async fn image(&self, project: &str, n: &str) -> Image {
        self.resources
            .add_image(&self.key, &self.ws, &slug(project), name(n))
            .await
            .expect("add image")
            .image
    }

    /// Links an existing image to a project.
    pub async fn link(&self, project: &str, image: &ImageId) {
        self.resources
            .link_image(&self.key, &self.ws, &slug(project), image)
            .await
            .expect("link image");
    }

    /// Moves an item to trash with the default service.
    pub async fn trash(&self, target: TrashTarget) -> TrashOutcome {
        self.service
            .move_to_trash(&self.key, &self.ws, &target)
            .await
            .expect("move to trash")
    }

    /// Trashes a project (deleting exclusive images at cleanup).
    pub async fn trash_project(&self, s: &str) -> TrashOutcome {
        self.trash(TrashTarget::Project {
            slug: slug(s),
            cleanup_delete_images: true,
        })
        .await
    }

    /// Trashes a version.
    pub async fn trash_version(&self, project: &str, n: u32) -> TrashOutcome {
        self.trash(TrashTarget::Version {
            project: slug(project),
            number: num(n),
        })
        .await
    }

    /// Trashes a training.
    pub async fn trash_training(&self, project: &str, n: u32, id: &TrainingId) -> TrashOutcome {
        self.trash(TrashTarget::Training {
            project: slug(project),
            number: num(n),
            id: id.clone(),
        })
        .await
    }

    /// Restores with the default service.
    pub async fn restore(&self, item: ItemRef) -> Result<RestoreOutcome, RestoreError> {
        self.service
            .restore(&self.key, &self.ws, &item, OnConflict::Fail)
            .await
    }

    /// Loads a project aggregate of the main workspace.
    pub async fn agg(&self, id: &ProjectId) -> Option<ProjectAggregate> {
        self.store
            .reads
            .load_project(&self.ws, id)
            .await
            .expect("load project")
    }

    /// Loads a project aggregate that must exist.
    pub async fn must_agg(&self, id: &ProjectId) -> ProjectAggregate {
        self.agg(id).await.expect("project exists")
    }

    /// The project a slug of the main workspace means (the active holder,
    /// else the most recently trashed one), if any.
    pub async fn project_id(&self, s: &str) -> Option<ProjectId> {
        let holders = self
            .store
            .reads
            .projects_with_slug(&self.ws, &slug(s))
            .await
            .expect("projects with slug");
        rules::preferred_holder(&holders)
    }

    /// The pending cancellations of the main workspace.
    pub async fn pending(&self) -> Vec<PendingCancellation> {
        self.store
            .queue
            .pending_cancellations(&self.ws)
            .await
            .expect("pending cancellations")
    }

    /// The whole trash listing of the main workspace.
    pub async fn listing(&self) -> Vec<TrashEntry> {
        self.service
            .list_trash(&self.key, &self.ws, &ListTrashRequest::default())
            .await
            .expect("list trash")
            .entries
    }

    /// The whole audit trail of the main workspace, read page by page.
    pub async fn audit(&self) -> Vec<AuditEvent> {
        let mut seen = None;
        self.audit_after(&mut seen).await
    }

    /// The audit events of the main workspace after position `*seen`,
    /// oldest first, read page by page; moves `*seen` past them.
    pub async fn audit_after(&self, seen: &mut Option<i64>) -> Vec<AuditEvent> {
        let mut out = Vec::new();
        loop {
            let page = self
                .store
                .audit
                .audit_events(&self.ws, *seen, 500)
                .await
                .expect("audit");
            let Some(last) = page.last() else {
                return out;
            };
            *seen = Some(last.seq);
            out.extend(page.into_iter().map(|r| r.event));
        }
    }

    /// Runs cleanup until nothing more is claimed; returns the total purged.
    pub async fn drain_cleanup(&self, service: &TrashService) -> u32 {
        let mut purged = 0;
        loop {
            let report = service.purge_due(10).await.expect("cleanup");
            purged += report.purged;
            if report.claimed == 0 {
                return purged;
            }
        }
    }
}

/// The state of a version in an aggregate.
pub fn version_state(agg: &ProjectAggregate, n: u32) -> &ItemState {
    &agg.versions
        .iter()
        .find(|v| v.number.get() == n)
        .expect("version exists")
        .state
}

/// A training in an aggregate.
pub fn training_in<'a>(agg: &'a ProjectAggregate, id: &TrainingId) -> &'a Training {
    agg.trainings
        .iter()
        .find(|t| &t.id == id)
        .expect("training exists")
}
