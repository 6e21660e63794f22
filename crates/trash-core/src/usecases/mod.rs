//! Use cases, in three services by the roles they need:
//!
//! * [`TrashService`]: the trash itself (move to trash, restore, list,
//!   cleanup, cancellations, permanent deletion, audit trail). Needs only
//!   the trash roles: [`TrashReads`], [`TrashWrites`], [`WorkQueue`],
//!   [`AuditLog`], [`LegalHolds`].
//! * [`ResourceService`]: creating and reading projects, versions,
//!   workflows, trainings and images (the standalone server).
//! * [`AccountService`]: workspaces, API keys and web users, and turning a
//!   presented key into a [`Principal`].
//!
//! Each reads through its ports, decides with [`crate::rules`], and hands a
//! guarded plan to the store; a conflicting concurrent change makes it wait
//! a little ([`crate::rules::retry_delay`]), re-read and decide again, a
//! bounded number of times, after which it answers `Busy`.

use std::sync::Arc;

use chrono::Duration;

use crate::domain::*;
use crate::ports::*;
use crate::rules::{self, Backoff};

mod accounts;
mod bulk_preview;
mod cleanup;
mod empty_job;
mod holds;
mod list;
mod permanent;
mod resources;
mod restore;
mod sessions;
mod trash;

pub use accounts::*;
pub use cleanup::*;
pub use empty_job::*;
pub use holds::*;
pub use list::*;
pub use permanent::*;
pub use resources::*;
pub use restore::*;
pub use sessions::*;
pub use trash::*;

/// Settings of a deployment that the rules depend on.
#[derive(Debug, Clone)]
pub struct TrashConfig {
    /// How long trashed items are kept (default 30 days).
    pub retention: Retention,
    /// How many times a use case decides and writes before giving up with a
    /// `Busy` error when concurrent changes keep invalidating its decision
    /// (default 16).
    pub max_attempts: u32,
    /// How long it waits between those attempts.
    pub backoff: Backoff,
    /// How long a caller holds the claim on a cancellation it is sending, and
    /// a cleanup worker on the operations it purges (default 5 minutes).
    pub claim: Duration,
    /// The longest one cleanup batch's transaction may run before the store
    /// gives it up (and the batch is retried item by item); default 2 seconds.
    pub batch_time_limit: Duration,
    /// Outbound events: when set, every trash, restore and purge writes its
    /// messages ([`crate::events`]) into the outbox in the same transaction
    /// (default: off, for stores without an outbox).
    pub events: Option<EventsConfig>,
}

/// Settings of the outbound events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventsConfig {
    /// How long before `scheduledCleanupAt` the `purge_soon` notice is due
    /// (default 7 days).
    pub purge_notice: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            purge_notice: Duration::days(7),
        }
    }
}

impl Default for TrashConfig {
    fn default() -> Self {
        TrashConfig {
            retention: Retention::default(),
            max_attempts: 16,
            backoff: Backoff::default(),
            claim: Duration::minutes(5),
            events: None,
            batch_time_limit: Duration::seconds(2),
        }
    }
}

/// The ports every service shares: time, randomness and waiting.
#[derive(Clone)]
pub struct Runtime {
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Random ids, secrets and jitter.
    pub ids: Arc<dyn IdGenerator>,
    /// Waiting between attempts.
    pub pause: Arc<dyn Pause>,
    /// Turn-taking of writers of one aggregate inside this process
    /// ([`NoLocks`] to rely on the guard alone).
    pub locks: Arc<dyn AggregateLocks>,
}

/// The ports a [`TrashService`] is built from: the trash roles, a job
/// canceller and the [`Runtime`]. One store type may play every role: pass
/// the same `Arc` to each field.
#[derive(Clone)]
pub struct TrashPorts {
    /// Reads the rules decide on.
    pub reads: Arc<dyn TrashReads>,
    /// Guarded transitions.
    pub writes: Arc<dyn TrashWrites>,
    /// Due operations and pending cancellations.
    pub queue: Arc<dyn WorkQueue>,
    /// The audit trail.
    pub audit: Arc<dyn AuditLog>,
    /// Legal holds.
    pub holds: Arc<dyn LegalHolds>,
    /// Stops training jobs.
    pub canceller: Arc<dyn JobCanceller>,
    /// Time, randomness and waiting.
    pub runtime: Runtime,
}

impl TrashPorts {
    /// The trash roles of one store that plays them all.
    pub fn from_store<S>(store: Arc<S>, canceller: Arc<dyn JobCanceller>, runtime: Runtime) -> Self
    where
        S: TrashReads + TrashWrites + WorkQueue + AuditLog + LegalHolds + 'static,
    {
        TrashPorts {
            reads: store.clone(),
            writes: store.clone(),
            queue: store.clone(),
            audit: store.clone(),
            holds: store,
            canceller,
            runtime,
        }
    }
}

/// The trash use cases over a set of ports.
#[derive(Clone)]
pub struct TrashService {
    reads: Arc<dyn TrashReads>,
    writes: Arc<dyn TrashWrites>,
    queue: Arc<dyn WorkQueue>,
    audit: Arc<dyn AuditLog>,
    holds: Arc<dyn LegalHolds>,
    canceller: Arc<dyn JobCanceller>,
    runtime: Runtime,
    config: TrashConfig,
}

impl TrashService {
    /// Builds the service.
    pub fn new(ports: TrashPorts, config: TrashConfig) -> TrashService {
        TrashService {
            reads: ports.reads,
            writes: ports.writes,
            queue: ports.queue,
            audit: ports.audit,
            holds: ports.holds,
            canceller: ports.canceller,
            runtime: ports.runtime,
            config,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &TrashConfig {
        &self.config
    }

    fn now(&self) -> Timestamp {
        self.runtime.clock.now()
    }

    fn attempts(&self) -> Attempts<'_> {
        Attempts::new(&self.runtime, &self.config)
    }

    /// A new outbox message id (`msg_` and random letters and digits).
    fn new_message_id(&self) -> String {
        format!("msg_{}", self.runtime.ids.alphanumeric(24))
    }

    /// The outbox messages of items leaving the trash (`event` is restored
    /// or purged) at `now`, when events are on.
    fn item_messages(
        &self,
        event: crate::events::EventType,
        items: impl IntoIterator<Item = crate::events::ItemEvent>,
        now: Timestamp,
    ) -> Vec<crate::events::OutboxMessage> {
        if self.config.events.is_none() {
            return Vec::new();
        }
        items
            .into_iter()
            .map(|e| crate::events::item_message(self.new_message_id(), event, &e, now))
            .collect()
    }

    fn new_operation_id(&self) -> Result<OperationId, StoreError> {
        self.runtime.new_id(OperationId::parse)
    }

    /// The aggregate an item belongs to (a training's needs one read), or
    /// `None` if a training is not in the workspace.
    async fn aggregate_of(
        &self,
        workspace: &WorkspaceSlug,
        item: &ItemRef,
    ) -> Result<Option<AggregateId>, StoreError> {
        Ok(match item {
            ItemRef::Workflow(id) => Some(AggregateId::Workflow(id.clone())),
            ItemRef::Project(id) | ItemRef::Version(id, _) => {
                Some(AggregateId::Project(id.clone()))
            }
            ItemRef::Training(t) => self
                .reads
                .training_project(workspace, t)
                .await?
                .map(AggregateId::Project),
        })
    }
}

impl Runtime {
    fn new_id<T>(&self, parse: impl Fn(&str) -> Result<T, InvalidValue>) -> Result<T, StoreError> {
        parse(&self.ids.alphanumeric(RANDOM_ID_LEN)).map_err(bad_generator)
    }
}

fn bad_generator(e: InvalidValue) -> StoreError {
    StoreError::Internal(format!("id generator produced an invalid id: {e}"))
}

/// Concurrent changes kept invalidating a decision: every attempt lost its
/// race. Each use case's error enum turns it into its own `Busy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the item is changing concurrently; try again")]
pub struct Contended;

/// The one retry helper: counts the attempts of a decide-and-write loop and
/// waits between them with exponential backoff and full jitter. A use case
/// calls [`Attempts::next`] before each attempt; it answers [`Contended`]
/// once `max_attempts` have been made.
pub(crate) struct Attempts<'a> {
    runtime: &'a Runtime,
    config: &'a TrashConfig,
    made: u32,
}

impl<'a> Attempts<'a> {
    pub(crate) fn new(runtime: &'a Runtime, config: &'a TrashConfig) -> Attempts<'a> {
        Attempts {
            runtime,
            config,
            made: 0,
        }
    }

    /// Allows one more attempt, after a pause if this is not the first.
    pub(crate) async fn next(&mut self) -> Result<(), Contended> {
        if self.made >= self.config.max_attempts.max(1) {
            return Err(Contended);
        }
        if self.made > 0 {
            let delay = rules::retry_delay(self.config.backoff, self.made - 1, self.random());
            self.runtime.pause.pause(delay).await;
        }
        self.made += 1;
        Ok(())
    }

    fn random(&self) -> u64 {
        self.runtime.ids.below(u64::MAX)
    }
}

/// The checks every use case acting for a principal makes first: the
/// principal belongs to the workspace of the path, and holds the scope.
/// Returns [`AccessDenied`] otherwise.
pub fn check_access(
    principal: &Principal,
    workspace: &WorkspaceSlug,
    scope: Scope,
) -> Result<(), AccessDenied> {
    if principal.workspace() != workspace {
        return Err(AccessDenied::WrongWorkspace);
    }
    if !principal.has_scope(scope) {
        return Err(AccessDenied::MissingScope(scope));
    }
    Ok(())
}

/// Why a principal may not act at all (before any item is looked at).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccessDenied {
    /// The principal belongs to another workspace than the one in the path.
    #[error("this key does not belong to the workspace in the path")]
    WrongWorkspace,
    /// The principal lacks the scope the action needs.
    #[error("this key lacks the {0} scope")]
    MissingScope(Scope),
}

/// Resolves a slug to the item it means ([`rules::preferred_holder`]).
async fn project_by_slug(
    reads: &dyn TrashReads,
    workspace: &WorkspaceSlug,
    slug: &Slug,
) -> Result<Option<ProjectId>, StoreError> {
    let holders = reads.projects_with_slug(workspace, slug).await?;
    Ok(rules::preferred_holder(&holders))
}

async fn workflow_by_slug(
    reads: &dyn TrashReads,
    workspace: &WorkspaceSlug,
    slug: &Slug,
) -> Result<Option<WorkflowId>, StoreError> {
    let holders = reads.workflows_with_slug(workspace, slug).await?;
    Ok(rules::preferred_holder(&holders))
}

/// Every service of the standalone server, over one store that plays every
/// role (the same `Arc` handed out once per role).
#[derive(Clone)]
pub struct Services {
    /// The trash use cases.
    pub trash: TrashService,
    /// Creating and reading resources.
    pub resources: ResourceService,
    /// Workspaces, keys, users and authentication.
    pub accounts: AccountService,
    /// Web sessions, and the user changes that end them.
    pub sessions: SessionService,
    /// "Empty Trash" in the background.
    pub empty_jobs: EmptyJobService,
    /// Readiness.
    pub health: Arc<dyn Health>,
}

impl Services {
    /// Wires every service over `store`.
    pub fn over(
        store: Arc<dyn StandaloneStore>,
        canceller: Arc<dyn JobCanceller>,
        runtime: Runtime,
        config: TrashConfig,
    ) -> Services {
        let trash = TrashService::new(
            TrashPorts {
                reads: store.clone(),
                writes: store.clone(),
                queue: store.clone(),
                audit: store.clone(),
                holds: store.clone(),
                canceller,
                runtime: runtime.clone(),
            },
            config.clone(),
        );
        let resources = ResourceService::new(
            store.clone(),
            store.clone(),
            store.clone(),
            runtime.clone(),
            config,
        );
        let accounts = AccountService::new(store.clone(), runtime.clone());
        let sessions = SessionService::new(store.clone(), store.clone(), runtime);
        Services {
            empty_jobs: EmptyJobService::new(trash.clone(), store.clone()),
            trash,
            resources,
            accounts,
            sessions,
            health: store,
        }
    }
}
