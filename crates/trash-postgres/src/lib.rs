//! # trash-postgres
//!
//! The PostgreSQL store of `trash-core`: the production backend, safe with
//! several `trashd` replicas sharing one database. [`PgStore`] plays every
//! role of [`trash_core::ports`] (trash reads and writes, work queue, audit
//! log, resources, accounts, health), one `impl` block per role, so it is a
//! [`StandaloneStore`](trash_core::ports::StandaloneStore).
//!
//! * Every guarded write is one transaction that starts by bumping the
//!   aggregate's revision (`UPDATE … SET revision = revision + 1 WHERE id = $1
//!   AND revision = $2`). Zero rows means the aggregate changed: the
//!   transaction rolls back and the call answers `Conflict`. The row lock that
//!   `UPDATE` takes serialises writers of one aggregate until commit.
//! * Slugs are unique among *active* items through partial unique indexes,
//!   so a restore under a taken slug fails at the statement that makes the
//!   item active, whatever committed in between.
//! * Trash, restore and purge are set-based: a fixed number of statements
//!   whatever the number of versions, trainings or images involved. A purge
//!   removes exactly the rows its plan names (arrays bound to one statement;
//!   no foreign key cascades), plus the images left without a link when the
//!   plan asks for it.
//! * Cleanup claims due operations with `FOR UPDATE SKIP LOCKED` and a
//!   `claimed_until` column, so replicas share the backlog without blocking.
//!
//! `docs/postgres.md` describes the schema and which lock each transition
//! takes. Migrations live in `migrations/` and are embedded in the binary.
#![warn(missing_docs)]

use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use trash_core::ports::StoreError;

mod error;
mod exec;
mod rows;
mod store;

pub use store::ListingReads;

/// The embedded migrations (`crates/trash-postgres/migrations`).
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How the store uses the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// The most connections the store opens at once.
    pub max_connections: u32,
    /// How long a call waits for a connection before answering
    /// `StoreError::Unavailable` (this includes connecting to a server that
    /// does not answer).
    pub acquire_timeout: Duration,
    /// The longest a single statement may run before the server cancels it
    /// and the call answers `StoreError::Unavailable` (also bounds lock
    /// waits). A transaction left idle for four times as long is ended by
    /// the server.
    pub statement_timeout: Duration,
}

impl Default for PgOptions {
    /// Ten connections, three seconds to get one, fifteen per statement.
    fn default() -> Self {
        PgOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(15),
        }
    }
}

/// Why the store could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The database URL could not be parsed.
    #[error("the PostgreSQL URL is not valid: {0}")]
    InvalidUrl(String),
    /// The options cannot work (for example zero connections).
    #[error("the PostgreSQL store options are not valid: {0}")]
    InvalidOptions(&'static str),
    /// The database could not be reached.
    #[error("the PostgreSQL database cannot be reached: {0}")]
    Unavailable(String),
    /// The database is at a schema version this build does not know, or a
    /// migration it applied earlier was changed since.
    #[error("the PostgreSQL schema does not match this build's migrations: {0}")]
    SchemaMismatch(String),
    /// A migration failed to apply.
    #[error("applying the PostgreSQL migrations failed: {0}")]
    Migration(String),
}

/// Every store role of `trash-core` on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    statements: Arc<exec::Meters>,
}

/// How the store's connection pool is used right now, for monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// The most connections the pool opens.
    pub max: u32,
    /// Connections open now (in use or idle).
    pub open: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// Since the store was created (shared by its clones): how many times a
    /// call found every connection in use and the pool at its limit, so it
    /// had to wait for one.
    pub waits: u64,
    /// The total time those calls waited, in microseconds.
    pub wait_micros: u64,
}

impl PgStore {
    /// Prepares a store for the database at `url` (`postgres://…`). Connects
    /// lazily: this succeeds while the database is down, and calls answer
    /// `Unavailable` until it is back. Does not migrate.
    pub async fn connect(url: &str, options: PgOptions) -> Result<PgStore, PgError> {
        if options.max_connections == 0 {
            return Err(PgError::InvalidOptions(
                "max_connections must be at least 1",
            ));
        }
        if options.acquire_timeout.is_zero() {
            return Err(PgError::InvalidOptions("acquire_timeout must be positive"));
        }
        let scheme = url.split_once("://").map(|(s, _)| s);
        if !matches!(scheme, Some("postgres" | "postgresql")) {
            return Err(PgError::InvalidUrl(
                "it must start with postgres:// or postgresql://".into(),
            ));
        }
        if options.statement_timeout.is_zero() {
            return Err(PgError::InvalidOptions(
                "statement_timeout must be positive",
            ));
        }
        let statement_ms = options.statement_timeout.as_millis().to_string();
        let idle_ms = (options.statement_timeout.as_millis() * 4).to_string();
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| {
                // The parser's message never echoes the password.
                PgError::InvalidUrl(e.to_string())
            })?
            .options([
                ("statement_timeout", statement_ms.as_str()),
                ("idle_in_transaction_session_timeout", idle_ms.as_str()),
            ]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .min_connections(0)
            .acquire_timeout(options.acquire_timeout)
            .test_before_acquire(true)
            .connect_lazy_with(connect);
        Ok(PgStore {
            pool,
            statements: Arc::new(exec::Meters::default()),
        })
    }

    /// Applies the embedded migrations that the database lacks. Idempotent,
    /// and safe to run from several replicas at once (the migrator holds an
    /// advisory lock while it works).
    pub async fn migrate(&self) -> Result<(), PgError> {
        MIGRATOR.run(&self.pool).await.map_err(|e| match e {
            MigrateError::Execute(inner) => match error::store_error(inner) {
                StoreError::Unavailable(why) => PgError::Unavailable(why),
                other => PgError::Migration(other.to_string()),
            },
            MigrateError::VersionMissing(v) => {
                PgError::SchemaMismatch(format!("the database has migration {v}, unknown here"))
            }
            MigrateError::VersionMismatch(v) => {
                PgError::SchemaMismatch(format!("migration {v} was changed after it was applied"))
            }
            MigrateError::Dirty(v) => PgError::SchemaMismatch(format!(
                "migration {v} failed part-way earlier; repair the database by hand"
            )),
            other => PgError::Migration(other.to_string()),
        })
    }

    /// Closes every connection; later calls answer `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// How many SQL statements this store (and its clones) has sent so far,
    /// `BEGIN` and `COMMIT` included. For diagnostics and for the tests that
    /// prove transitions use a constant number of statements.
    pub fn statement_count(&self) -> u64 {
        self.statements.statements.load(Ordering::Relaxed)
    }

    /// The connection pool's use right now, and the waits for a connection
    /// since the store was created.
    pub fn pool_stats(&self) -> PoolStats {
        let open = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        PoolStats {
            max: self.pool.options().get_max_connections(),
            open,
            idle: idle.min(open),
            waits: self.statements.waits.load(Ordering::Relaxed),
            wait_micros: self.statements.wait_micros.load(Ordering::Relaxed),
        }
    }
}
