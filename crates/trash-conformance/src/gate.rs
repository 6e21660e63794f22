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
//! A gated store plays only the roles whose calls a race has to hold or
//! watch: [`TrashWrites`] and the guarded writes of [`ResourceStore`] (held
//! at the gate), and [`WorkQueue`] (its claims order the cleanup races).
//! Reads and the audit log need no gate: a side reads the store under test
//! directly ([`GatedStore::roles`]).
//!
//! Use a fresh gate (and fresh gated stores) for every race iteration.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;
use trash_core::domain::*;
use trash_core::ports::*;

use crate::harness::TrashRoles;
use crate::StoreUnderTest;

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

    /// The store `side` uses: `inner`'s writes and work queue behind this gate.
    pub fn store(self: &Arc<Self>, side: Side, inner: &StoreUnderTest) -> Arc<GatedStore> {
        Arc::new(GatedStore {
            inner: inner.clone(),
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

/// One side's view of the store: holds the side's first guarded write at
/// the [`Gate`], counts the `Conflict`s its guarded writes get, and tells
/// the gate when it claimed due operations. Everything else goes straight
/// to the store under test.
pub struct GatedStore {
    inner: StoreUnderTest,
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

    /// The trash roles of this side: the store's reads and audit log, and
    /// the gated writes and work queue.
    pub fn roles(self: &Arc<Self>) -> TrashRoles {
        TrashRoles {
            reads: self.inner.reads.clone(),
            writes: self.clone(),
            queue: self.clone(),
            audit: self.inner.audit.clone(),
            holds: self.inner.holds.clone(),
        }
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
impl TrashWrites for GatedStore {
    async fn trash(&self, plan: &TrashPlan) -> Result<(), StoreError> {
        self.guarded(self.inner.writes.trash(plan)).await
    }

    async fn restore(&self, plan: &RestorePlan) -> Result<(), StoreError> {
        self.guarded(self.inner.writes.restore(plan)).await
    }

    async fn purge(&self, plan: &PurgePlan) -> Result<PurgeCounts, StoreError> {
        self.guarded(self.inner.writes.purge(plan)).await
    }

    async fn purge_batch(
        &self,
        plans: &[PurgePlan],
        time_limit: chrono::Duration,
    ) -> Result<PurgeCounts, StoreError> {
        self.guarded(self.inner.writes.purge_batch(plans, time_limit))
            .await
    }
}

#[async_trait]
impl WorkQueue for GatedStore {
    async fn claim_due_operations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TrashOperation>, StoreError> {
        let claimed = self
            .inner
            .queue
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
        let queue = &self.inner.queue;
        queue.claim_cancellations(now, claimed_until, limit).await
    }

    async fn complete_cancellation(
        &self,
        training: &TrainingId,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let queue = &self.inner.queue;
        queue.complete_cancellation(training, event).await
    }

    async fn fail_cancellation(
        &self,
        training: &TrainingId,
        retry_at: Timestamp,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let queue = &self.inner.queue;
        queue.fail_cancellation(training, retry_at, event).await
    }

    async fn pending_cancellations(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<PendingCancellation>, StoreError> {
        self.inner.queue.pending_cancellations(workspace).await
    }
}

#[async_trait]
impl ResourceStore for GatedStore {
    async fn active_projects(
        &self,
        workspace: &WorkspaceSlug,
        after: Option<Slug>,
        limit: u32,
    ) -> Result<Vec<Project>, StoreError> {
        self.inner
            .resources
            .active_projects(workspace, after, limit)
            .await
    }

    async fn image(
        &self,
        workspace: &WorkspaceSlug,
        id: &ImageId,
    ) -> Result<Option<ImageView>, StoreError> {
        self.inner.resources.image(workspace, id).await
    }

    async fn create_project(&self, project: &Project) -> Result<(), StoreError> {
        self.inner.resources.create_project(project).await
    }

    async fn create_workflow(&self, workflow: &Workflow) -> Result<(), StoreError> {
        self.inner.resources.create_workflow(workflow).await
    }

    async fn create_version(&self, guard: &Guard, version: &Version) -> Result<(), StoreError> {
        let resources = &self.inner.resources;
        self.guarded(resources.create_version(guard, version)).await
    }

    async fn create_training(&self, guard: &Guard, training: &Training) -> Result<(), StoreError> {
        let resources = &self.inner.resources;
        self.guarded(resources.create_training(guard, training))
            .await
    }

    async fn set_training_status(
        &self,
        guard: &Guard,
        training: &TrainingId,
        status: TrainingStatus,
        ended_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let resources = &self.inner.resources;
        self.guarded(resources.set_training_status(guard, training, status, ended_at))
            .await
    }

    async fn add_image(&self, guard: &Guard, image: &Image) -> Result<(), StoreError> {
        self.guarded(self.inner.resources.add_image(guard, image))
            .await
    }

    async fn link_image(&self, guard: &Guard, image: &ImageId) -> Result<(), StoreError> {
        self.guarded(self.inner.resources.link_image(guard, image))
            .await
    }
}
