//! Use cases: each reads through the store, decides with [`crate::rules`],
//! and hands a guarded plan to the store; a conflicting concurrent change
//! makes it re-read and decide again (a bounded number of times).

use std::sync::Arc;

use chrono::Duration;

use crate::domain::*;
use crate::ports::{Clock, IdGenerator, JobCanceller, StoreError, TrashStore};

mod access;
mod cleanup;
mod list;
mod permanent;
mod resources;
mod restore;
mod trash;

pub use access::*;
pub use cleanup::*;
pub use list::*;
pub use permanent::*;
pub use resources::*;
pub use restore::*;
pub use trash::*;

/// Settings of a deployment that the rules depend on.
#[derive(Debug, Clone)]
pub struct TrashConfig {
    /// How long trashed items are kept (default 30 days).
    pub retention: Retention,
    /// How often a use case re-reads and re-decides after a concurrent change
    /// before giving up with a `Busy` error (default 16).
    pub max_attempts: u32,
    /// How long a caller holds the claim on a cancellation it is sending, and
    /// a cleanup worker on the operations it purges (default 5 minutes).
    pub claim: Duration,
}

impl Default for TrashConfig {
    fn default() -> Self {
        TrashConfig {
            retention: Retention::default(),
            max_attempts: 16,
            claim: Duration::minutes(5),
        }
    }
}

/// The ports a [`TrashService`] is built from.
#[derive(Clone)]
pub struct Ports {
    /// Persistence.
    pub store: Arc<dyn TrashStore>,
    /// Stops training jobs.
    pub canceller: Arc<dyn JobCanceller>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Random ids and secrets.
    pub ids: Arc<dyn IdGenerator>,
}

/// The entry point of the core: every use case, over a set of ports.
#[derive(Clone)]
pub struct TrashService {
    store: Arc<dyn TrashStore>,
    canceller: Arc<dyn JobCanceller>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    config: TrashConfig,
}

impl TrashService {
    /// Builds the service.
    pub fn new(ports: Ports, config: TrashConfig) -> TrashService {
        TrashService {
            store: ports.store,
            canceller: ports.canceller,
            clock: ports.clock,
            ids: ports.ids,
            config,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &TrashConfig {
        &self.config
    }

    /// The store, for tests and operator tooling. Adapters serving users go
    /// through the use cases, which check scopes and ownership.
    pub fn store(&self) -> &Arc<dyn TrashStore> {
        &self.store
    }

    /// Whether the storage answers (for readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn random_id(&self) -> String {
        self.ids.alphanumeric(RANDOM_ID_LEN)
    }

    fn new_operation_id(&self) -> Result<OperationId, StoreError> {
        OperationId::parse(&self.random_id()).map_err(bad_generator)
    }
}

fn bad_generator(e: InvalidValue) -> StoreError {
    StoreError::Internal(format!("id generator produced an invalid id: {e}"))
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
