//! The role ports on PostgreSQL, one module (and one `impl` block) per
//! role. Each method is one statement or one transaction;
//! `docs/postgres.md` lists the locks each transition takes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use trash_core::domain::*;
use trash_core::ports::*;

use crate::error::{is_foreign_key_violation, is_unique_violation, store_error};
use crate::exec::{self, Conn, Tx};
use crate::rows::{self, get};
use crate::PgStore;

mod accounts;
mod holds;
mod jobs;
mod outbox;
mod queue;
mod reads;
pub use reads::ListingReads;
mod resources;
mod sessions;
mod writes;

/// The first argument of the advisory lock that orders audit sequence
/// numbers within a workspace (the second is a hash of the workspace slug).
const AUDIT_LOCK_CLASS: i32 = 0x7472_6173; // "tras"

fn sql_time(at: Timestamp) -> DateTime<Utc> {
    at.as_datetime()
}

/// A statement with its bound parameters.
type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

impl PgStore {
    async fn conn(&self) -> Result<Conn<'_>, StoreError> {
        exec::acquire(&self.pool, &self.statements).await
    }

    async fn begin(&self) -> Result<Tx<'_>, StoreError> {
        exec::begin(&self.pool, &self.statements).await
    }

    /// Runs one read statement on a pooled connection.
    async fn fetch_all<'q>(&self, query: Query<'q>) -> Result<Vec<PgRow>, StoreError> {
        let mut conn = self.conn().await?;
        conn.fetch_all(query).await.map_err(store_error)
    }

    async fn fetch_optional<'q>(&self, query: Query<'q>) -> Result<Option<PgRow>, StoreError> {
        let mut conn = self.conn().await?;
        conn.fetch_optional(query).await.map_err(store_error)
    }

    async fn execute<'q>(&self, query: Query<'q>) -> Result<u64, sqlx::Error> {
        // Callers map errors in context, so the pool's error stays as it is.
        let mut conn = exec::acquire_raw(&self.pool, &self.statements).await?;
        conn.execute(query).await
    }

    /// The active holder of `slug` in `space`, other than `except`.
    async fn active_holder(
        &self,
        workspace: &str,
        space: SlugSpace,
        slug: &str,
        except: &str,
    ) -> Result<Option<String>, StoreError> {
        let sql = match space {
            SlugSpace::Projects => {
                "SELECT id FROM projects \
                 WHERE workspace = $1 AND slug = $2 AND trash_op_id IS NULL AND id <> $3"
            }
            SlugSpace::Workflows => {
                "SELECT id FROM workflows \
                 WHERE workspace = $1 AND slug = $2 AND trash_op_id IS NULL AND id <> $3"
            }
        };
        let row = self
            .fetch_optional(sqlx::query(sql).bind(workspace).bind(slug).bind(except))
            .await?;
        row.map(|r| get::<String>(&r, "id")).transpose()
    }

    /// Maps the failure of inserting a project or workflow.
    async fn create_error(
        &self,
        error: sqlx::Error,
        space: SlugSpace,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> StoreError {
        if is_foreign_key_violation(&error) {
            return StoreError::Missing;
        }
        if !is_unique_violation(&error, None) {
            return store_error(error);
        }
        // Either the slug is held by an active item, or the id exists. The
        // slug wins, as in the reference store.
        match self
            .active_holder(workspace.as_str(), space, slug.as_str(), "")
            .await
        {
            Ok(Some(conflicting)) => StoreError::SlugTaken { conflicting },
            Ok(None) if is_slug_index(&error) => StoreError::Conflict,
            Ok(None) => StoreError::AlreadyExists,
            Err(e) => e,
        }
    }
}

fn is_slug_index(error: &sqlx::Error) -> bool {
    is_unique_violation(error, Some("projects_active_slug"))
        || is_unique_violation(error, Some("workflows_active_slug"))
}

/// Checks the guard and bumps the aggregate's revision, locking its row
/// until the transaction ends. Returns the aggregate's workspace.
async fn bump(tx: &mut Tx<'_>, guard: &Guard) -> Result<String, StoreError> {
    bump_if(tx, guard, None).await
}

/// Like [`bump`], and also requires the operation to exist.
async fn bump_if(
    tx: &mut Tx<'_>,
    guard: &Guard,
    operation: Option<&OperationId>,
) -> Result<String, StoreError> {
    let (sql, id) = match (&guard.aggregate, operation.is_some()) {
        (AggregateId::Project(id), false) => (
            "UPDATE projects SET revision = revision + 1 \
             WHERE id = $1 AND revision = $2 RETURNING workspace",
            id.as_str(),
        ),
        (AggregateId::Workflow(id), false) => (
            "UPDATE workflows SET revision = revision + 1 \
             WHERE id = $1 AND revision = $2 RETURNING workspace",
            id.as_str(),
        ),
        (AggregateId::Project(id), true) => (
            "UPDATE projects SET revision = revision + 1 \
             WHERE id = $1 AND revision = $2 \
               AND EXISTS (SELECT 1 FROM trash_operations WHERE id = $3) \
             RETURNING workspace",
            id.as_str(),
        ),
        (AggregateId::Workflow(id), true) => (
            "UPDATE workflows SET revision = revision + 1 \
             WHERE id = $1 AND revision = $2 \
               AND EXISTS (SELECT 1 FROM trash_operations WHERE id = $3) \
             RETURNING workspace",
            id.as_str(),
        ),
    };
    let mut query = sqlx::query(sql).bind(id).bind(guard.revision.0);
    if let Some(op) = operation {
        query = query.bind(op.as_str());
    }
    match tx.fetch_optional(query).await.map_err(store_error)? {
        Some(row) => get(&row, "workspace"),
        None => Err(StoreError::Conflict),
    }
}

/// Records audit events. Takes a per-workspace advisory lock first, held
/// until commit, so sequence numbers of one workspace are drawn in commit
/// order: a reader paging with `after` never skips an event that commits later.
async fn record(tx: &mut Tx<'_>, events: &[AuditEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut workspaces: Vec<&str> = events.iter().map(|e| e.workspace.as_str()).collect();
    workspaces.sort_unstable();
    workspaces.dedup();
    tx.execute(
        sqlx::query(
            "SELECT pg_advisory_xact_lock($1, hashtext(w)) \
             FROM (SELECT w FROM unnest($2::text[]) AS w ORDER BY w) AS sorted",
        )
        .bind(AUDIT_LOCK_CLASS)
        .bind(&workspaces),
    )
    .await
    .map_err(store_error)?;

    let mut ws = Vec::with_capacity(events.len());
    let mut at = Vec::with_capacity(events.len());
    let mut kind = Vec::with_capacity(events.len());
    let mut actor_kind = Vec::with_capacity(events.len());
    let mut actor_id = Vec::with_capacity(events.len());
    let mut actor_name = Vec::with_capacity(events.len());
    let mut item_kind = Vec::with_capacity(events.len());
    let mut item_id = Vec::with_capacity(events.len());
    let mut item_version = Vec::with_capacity(events.len());
    let mut operation = Vec::with_capacity(events.len());
    for e in events {
        // A workspace hold's events name the workspace itself.
        let (k, id, n) = match &e.item {
            Some(item) => rows::item_to_sql(item),
            None => ("workspace", e.workspace.as_str(), None),
        };
        ws.push(e.workspace.as_str());
        at.push(sql_time(e.at));
        kind.push(e.kind.as_str());
        actor_kind.push(e.actor.kind.as_str());
        actor_id.push(e.actor.id.as_str());
        actor_name.push(e.actor.name.as_str());
        item_kind.push(k);
        item_id.push(id);
        item_version.push(n);
        operation.push(e.operation.as_ref().map(|o| o.as_str()));
    }
    tx.execute(
        sqlx::query(
            "INSERT INTO audit_events (workspace, at, kind, actor_kind, actor_id, actor_name, \
                                       item_kind, item_id, item_version, operation_id) \
             SELECT workspace, at, kind, actor_kind, actor_id, actor_name, \
                    item_kind, item_id, item_version, operation_id \
             FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], \
                         $6::text[], $7::text[], $8::text[], $9::int4[], $10::text[]) \
                  WITH ORDINALITY AS e(workspace, at, kind, actor_kind, actor_id, actor_name, \
                                       item_kind, item_id, item_version, operation_id, ord) \
             ORDER BY ord",
        )
        .bind(&ws)
        .bind(&at)
        .bind(&kind)
        .bind(&actor_kind)
        .bind(&actor_id)
        .bind(&actor_name)
        .bind(&item_kind)
        .bind(&item_id)
        .bind(&item_version)
        .bind(&operation),
    )
    .await
    .map_err(store_error)?;
    Ok(())
}

#[async_trait]
impl Health for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.execute(sqlx::query("SELECT 1"))
            .await
            .map(|_| ())
            .map_err(store_error)
    }
}
