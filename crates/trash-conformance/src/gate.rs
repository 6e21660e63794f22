//! [`GatedStore`]: a store decorator that makes the two sides of a race
//! really overlap.
//!
//! Left alone, two tasks racing on a fast store seldom interleave: a use
//! case reads and writes within microseconds, so one side usually commits
//! before the other has read, and the revision guard is never put to the
//! test (a store without it passes). In a gated race each side talks to the
//! store through its own [`GatedStore`], all of them wrapping the *same*
//! inner store and sharing one [`Gate`]. A side's *first* guarded write
//! (`trash`, `restore`, `purge`, `create_version`, `create_training`,
//! `set_training_status`, `add_image`, `link_image`) waits at the gate until
//! the other side has reached its own first guarded write too, or has
//! finished without writing ([`Gate::depart`]), or [`GATE_TIMEOUT`] passed.
//! When the gate opens because both sides arrived ([`Gate::met`]), both have
//! read before either wrote: if they write the same aggregate, the guard MUST
//! refuse one of them with [`StoreError::Conflict`]. The gate counts the
//! conflicts the inner store returned, so a race can assert that it did.
//!
//! Use a fresh gate (and fresh gated stores) for every race iteration.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;
use trash_core::domain::*;
use trash_core::ports::*;

/// How long a side waits at the gate for the other one. Only a backstop: a
/// side that finishes without writing releases the gate at once, so in a
/// normal run the timeout never fires ([`Gate::total_timeouts`] tells).
pub const GATE_TIMEOUT: Duration = Duration::from_millis(500);

/// Gate timeouts of the whole process, for reporting.
static TIMEOUTS: AtomicUsize = AtomicUsize::new(0);

/// One of the two sides of a race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The first side.
    A,
    /// The second side.
    B,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }

    fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// What each side has done so far.
#[derive(Debug, Clone, Copy, Default)]
struct State {
    /// Reached its first guarded write.
    arrived: [bool; 2],
    /// Finished (its future completed).
    departed: [bool; 2],
    /// Claimed at least one due operation.
    claimed: [bool; 2],
}

/// The meeting point of the two sides of one race iteration.
#[derive(Debug)]
pub struct Gate {
    state: watch::Sender<State>,
    timeout: Duration,
    timeouts: AtomicUsize,
    conflicts: AtomicUsize,
}

impl Gate {
    /// A fresh gate waiting at most [`GATE_TIMEOUT`].
    pub fn new() -> Arc<Gate> {
        Gate::with_timeout(GATE_TIMEOUT)
    }

    /// A fresh gate waiting at most `timeout`.
    pub fn with_timeout(timeout: Duration) -> Arc<Gate> {
        Arc::new(Gate {
            state: watch::Sender::new(State::default()),
            timeout,
            timeouts: AtomicUsize::new(0),
            conflicts: AtomicUsize::new(0),
        })
    }

    /// The store `side` uses: `inner` behind this gate.
    pub fn store(self: &Arc<Self>, side: Side, inner: Arc<dyn TrashStore>) -> Arc<GatedStore> {
        Arc::new(GatedStore {
            inner,
            gate: self.clone(),
            side,
            passed: AtomicBool::new(false),
            conflicts: AtomicUsize::new(0),
        })
    }

    /// `side` reached its first guarded write: waits until the other side
    /// has reached its own, or has finished, or the timeout passed.
    async fn arrive(&self, side: Side) {
        self.state.send_modify(|s| s.arrived[side.index()] = true);
        let other = side.other().index();
        self.wait(|s| s.arrived[other] || s.departed[other]).await;
    }

    /// `side` finished: the other side no longer waits for it.
    pub fn depart(&self, side: Side) {
        self.state.send_modify(|s| s.departed[side.index()] = true);
    }

    /// Waits until `side` has claimed a due operation (through its gated
    /// store) or finished, or the timeout passed. Orders one side's claim
    /// before the other's.
    pub async fn claimed_by(&self, side: Side) {
        let i = side.index();
        self.wait(|s| s.claimed[i] || s.departed[i]).await;
    }

    async fn wait(&self, ready: impl FnMut(&State) -> bool) {
        let mut rx = self.state.subscribe();
        let waited = tokio::time::timeout(self.timeout, rx.wait_for(ready)).await;
        if waited.is_err() {
            self.timeouts.fetch_add(1, Ordering::SeqCst);
            TIMEOUTS.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Whether both sides reached their first guarded write and neither
    /// gave up waiting: both read before either wrote.
    pub fn met(&self) -> bool {
        self.state.borrow().arrived == [true, true] && self.timeouts() == 0
    }

    /// How many sides reached a guarded write.
    pub fn arrivals(&self) -> usize {
        self.state.borrow().arrived.iter().filter(|a| **a).count()
    }

    /// `Conflict`s the inner store returned to guarded writes of either side.
    pub fn conflicts(&self) -> usize {
        self.conflicts.load(Ordering::SeqCst)
    }

    /// How often a wait at this gate timed out.
    pub fn timeouts(&self) -> usize {
        self.timeouts.load(Ordering::SeqCst)
    }

    /// How often a wait at any gate of this process timed out.
    pub fn total_timeouts() -> usize {
        TIMEOUTS.load(Ordering::SeqCst)
    }
}

/// One side's view of the store: delegates every call to the inner store,
/// holds the side's first guarded write at the [`Gate`], and counts the
/// `Conflict`s its guarded writes get.
pub struct GatedStore {
    inner: Arc<dyn TrashStore>,
    gate: Arc<Gate>,
    side: Side,
    passed: AtomicBool,
    conflicts: AtomicUsize,
}

impl GatedStore {
    /// `Conflict`s this side's guarded writes got.
    pub fn conflicts(&self) -> usize {
        self.conflicts.load(Ordering::SeqCst)
    }

    /// Runs a guarded write: the first one waits at the gate.
    async fn guarded<T, F>(&self, write: F) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = Result<T, StoreError>>,
    {
        if !self.passed.swap(true, Ordering::SeqCst) {
            self.gate.arrive(self.side).await;
        }
        let result = write.await;
        if matches!(result, Err(StoreError::Conflict)) {
            self.conflicts.fetch_add(1, Ordering::SeqCst);
            self.gate.conflicts.fetch_add(1, Ordering::SeqCst);
        }
        result
    }
}

#[async_trait]
impl TrashStore for GatedStore {
    async fn create_workspace(&self, workspace: &Workspace) -> Result<(), StoreError> {
        self.inner.create_workspace(workspace).await
    }

    async fn workspace(&self, slug: &WorkspaceSlug) -> Result<Option<Workspace>, StoreError> {
        self.inner.workspace(slug).await
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.inner.insert_api_key(key).await
    }

    async fn api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.inner.api_key_by_hash(hash).await
    }

    async fn revoke_api_key(&self, id: &KeyId, at: Timestamp) -> Result<bool, StoreError> {
        self.inner.revoke_api_key(id, at).await
    }

    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.inner.insert_user(user).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>, StoreError> {
        self.inner.user_by_email(email).await
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>, StoreError> {
        self.inner.user_by_id(id).await
    }

    async fn project_id_by_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Option<ProjectId>, StoreError> {
        self.inner.project_id_by_slug(workspace, slug).await
    }

    async fn load_project(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
    ) -> Result<Option<ProjectAggregate>, StoreError> {
        self.inner.load_project(workspace, id).await
    }

    async fn project_head(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
    ) -> Result<Option<ProjectHead>, StoreError> {
        self.inner.project_head(workspace, id).await
    }

    async fn active_projects(&self, workspace: &WorkspaceSlug) -> Result<Vec<Project>, StoreError> {
        self.inner.active_projects(workspace).await
    }

    async fn training_project(
        &self,
        workspace: &WorkspaceSlug,
        training: &TrainingId,
    ) -> Result<Option<ProjectId>, StoreError> {
        self.inner.training_project(workspace, training).await
    }

    async fn workflow_id_by_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Option<WorkflowId>, StoreError> {
        self.inner.workflow_id_by_slug(workspace, slug).await
    }

    async fn load_workflow(
        &self,
        workspace: &WorkspaceSlug,
        id: &WorkflowId,
    ) -> Result<Option<WorkflowAggregate>, StoreError> {
        self.inner.load_workflow(workspace, id).await
    }

    async fn taken_slugs(
        &self,
        workspace: &WorkspaceSlug,
        space: SlugSpace,
        base: &Slug,
    ) -> Result<Vec<Slug>, StoreError> {
        self.inner.taken_slugs(workspace, space, base).await
    }

    async fn image(
        &self,
        workspace: &WorkspaceSlug,
        id: &ImageId,
    ) -> Result<Option<ImageView>, StoreError> {
        self.inner.image(workspace, id).await
    }

    async fn list_trash(&self, query: &TrashQuery) -> Result<Vec<TrashEntry>, StoreError> {
        self.inner.list_trash(query).await
    }

    async fn audit_events(
        &self,
        workspace: &WorkspaceSlug,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.inner.audit_events(workspace, after, limit).await
    }

    async fn create_project(&self, project: &Project) -> Result<(), StoreError> {
        self.inner.create_project(project).await
    }

    async fn create_workflow(&self, workflow: &Workflow) -> Result<(), StoreError> {
        self.inner.create_workflow(workflow).await
    }

    async fn create_version(&self, guard: &Guard, version: &Version) -> Result<(), StoreError> {
        self.guarded(self.inner.create_version(guard, version))
            .await
    }

    async fn create_training(&self, guard: &Guard, training: &Training) -> Result<(), StoreError> {
        self.guarded(self.inner.create_training(guard, training))
            .await
    }

    async fn set_training_status(
        &self,
        guard: &Guard,
        training: &TrainingId,
        status: TrainingStatus,
        ended_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        self.guarded(
            self.inner
                .set_training_status(guard, training, status, ended_at),
        )
        .await
    }

    async fn add_image(&self, guard: &Guard, image: &Image) -> Result<(), StoreError> {
        self.guarded(self.inner.add_image(guard, image)).await
    }

    async fn link_image(&self, guard: &Guard, image: &ImageId) -> Result<(), StoreError> {
        self.guarded(self.inner.link_image(guard, image)).await
    }

    async fn trash(&self, plan: &TrashPlan) -> Result<(), StoreError> {
        self.guarded(self.inner.trash(plan)).await
    }

    async fn restore(&self, plan: &RestorePlan) -> Result<(), StoreError> {
        self.guarded(self.inner.restore(plan)).await
    }

    async fn purge(&self, plan: &PurgePlan) -> Result<PurgeCounts, StoreError> {
        self.guarded(self.inner.purge(plan)).await
    }

    async fn claim_due_operations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TrashOperation>, StoreError> {
        let claimed = self
            .inner
            .claim_due_operations(now, claimed_until, limit)
            .await;
        if matches!(&claimed, Ok(ops) if !ops.is_empty()) {
            let i = self.side.index();
            self.gate.state.send_modify(|s| s.claimed[i] = true);
        }
        claimed
    }

    async fn claim_cancellations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PendingCancellation>, StoreError> {
        self.inner
            .claim_cancellations(now, claimed_until, limit)
            .await
    }

    async fn complete_cancellation(
        &self,
        training: &TrainingId,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.inner.complete_cancellation(training, event).await
    }

    async fn fail_cancellation(
        &self,
        training: &TrainingId,
        retry_at: Timestamp,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.inner
            .fail_cancellation(training, retry_at, event)
            .await
    }

    async fn pending_cancellations(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<PendingCancellation>, StoreError> {
        self.inner.pending_cancellations(workspace).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}
