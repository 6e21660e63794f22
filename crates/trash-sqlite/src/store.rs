//! [`SqliteStore`]: every store role of `trash-core` on one SQLite file,
//! one `impl` per role in the submodules ([`TrashReads`] and [`AuditLog`] in
//! `reads`, [`TrashWrites`] in `writes`, [`WorkQueue`] in `queue`,
//! [`ResourceStore`] in `resources`, [`AccountStore`] in `accounts`,
//! [`SessionStore`] in `sessions`, [`LegalHolds`] in `holds`, and
//! [`Health`] here).
//!
//! Writes run in `BEGIN IMMEDIATE` transactions on the single connection of
//! the writer pool: the write lock is taken up front (waiting up to the busy
//! timeout for another process), so a transaction never fails half-way with
//! "database is locked" and two writers of this process never contend inside
//! SQLite. Guarded writes start with
//! `UPDATE … SET revision = revision + 1 WHERE id = ? AND revision = ?`; no
//! row updated means the aggregate changed, and the transaction is rolled
//! back with `StoreError::Conflict`. Reads that need several statements run
//! in a (deferred) read transaction on the reader pool, i.e. on one WAL
//! snapshot.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{Sqlite, SqliteConnection, SqlitePool};
use sqlx::Transaction;
use trash_core::domain::*;
use trash_core::ports::*;

use crate::error::{db, is_unique_violation, SqliteError};
use crate::open;
use crate::rows::*;

mod accounts;
mod holds;
mod jobs;
mod outbox;
mod queue;
mod reads;
mod resources;
mod sessions;
mod writes;

type Tx = Transaction<'static, Sqlite>;

/// How the store's connection pools are used right now, for monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// The most connections the pools open.
    pub max: u32,
    /// Connections open now (in use or idle).
    pub open: u32,
    /// Open connections not in use.
    pub idle: u32,
}

/// The SQLite store: implements every role of `trash-core`'s ports (it is a
/// [`StandaloneStore`]). Cheap to share behind an `Arc`; several processes
/// may open the same file at once.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if missing, with owner-only 0600 permissions) the
    /// database file and migrates it. Refuses, with one clear sentence and
    /// without touching the file: a bad path, a read-only directory, a file
    /// that is not SQLite, a database written by a newer schema version.
    pub async fn open(path: &Path) -> Result<SqliteStore, SqliteError> {
        SqliteStore::open_with(path, open::BUSY_TIMEOUT).await
    }

    async fn open_with(path: &Path, busy_timeout: Duration) -> Result<SqliteStore, SqliteError> {
        let created = open::prepare_file(path)?;
        match open::connect(path, busy_timeout).await {
            Ok(pools) => Ok(SqliteStore {
                writer: pools.writer,
                reader: pools.reader,
                path: path.to_owned(),
            }),
            Err(e) => {
                if created {
                    // Nothing but our own empty file is there: leave no trace.
                    remove_new_file(path);
                }
                Err(e)
            }
        }
    }

    /// Parses `sqlite://PATH` / `sqlite:PATH` URLs and calls [`SqliteStore::open`].
    /// `sqlite:///var/lib/trashd.db` is absolute, `sqlite://trash.db` relative
    /// to the working directory. Query parameters are refused.
    pub async fn open_url(url: &str) -> Result<SqliteStore, SqliteError> {
        SqliteStore::open(&open::path_of_url(url)?).await
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The newest schema version this build knows.
    pub fn schema_version() -> i64 {
        open::known_schema()
    }

    /// How the connection pools (the one writer and the readers, added up)
    /// are used right now, for monitoring.
    pub fn pool_stats(&self) -> PoolStats {
        let mut stats = PoolStats::default();
        for pool in [&self.writer, &self.reader] {
            let open = pool.size();
            stats.max += pool.options().get_max_connections();
            stats.open += open;
            stats.idle += u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(open);
        }
        stats
    }

    /// Closes every connection (checkpointing the write-ahead log into the
    /// database file). Later calls fail with `StoreError::Unavailable`.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    async fn begin_write(&self) -> Result<Tx, StoreError> {
        self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(db)
    }

    async fn begin_read(&self) -> Result<Tx, StoreError> {
        self.reader.begin().await.map_err(db)
    }
}

fn remove_new_file(path: &Path) {
    let mut name = path.as_os_str().to_owned();
    let _ = std::fs::remove_file(path);
    for suffix in ["-wal", "-shm", "-journal"] {
        name.push(suffix);
        let _ = std::fs::remove_file(&name);
        name = path.as_os_str().to_owned();
    }
}

/// Commits on success, rolls back on failure.
async fn finish<T>(tx: Tx, result: Result<T, StoreError>) -> Result<T, StoreError> {
    match result {
        Ok(value) => {
            tx.commit().await.map_err(db)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rollback failed; the connection is discarded");
            }
            Err(e)
        }
    }
}

/// Ends a read transaction (releasing its snapshot).
async fn end_read<T>(tx: Tx, result: Result<T, StoreError>) -> Result<T, StoreError> {
    if let Err(e) = tx.rollback().await {
        tracing::warn!(error = %e, "ending a read transaction failed");
    }
    result
}

/// Checks the guard and bumps the aggregate's revision in one statement.
async fn guard(conn: &mut SqliteConnection, guard: &Guard) -> Result<(), StoreError> {
    let (sql, id) = match &guard.aggregate {
        AggregateId::Project(id) => (
            "UPDATE projects SET revision = revision + 1 WHERE id = ?1 AND revision = ?2",
            id.as_str(),
        ),
        AggregateId::Workflow(id) => (
            "UPDATE workflows SET revision = revision + 1 WHERE id = ?1 AND revision = ?2",
            id.as_str(),
        ),
    };
    let done = sqlx::query(sql)
        .bind(id)
        .bind(guard.revision.0)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

fn guarded_project(guard: &Guard) -> Result<&ProjectId, StoreError> {
    match &guard.aggregate {
        AggregateId::Project(id) => Ok(id),
        AggregateId::Workflow(_) => Err(StoreError::Internal(
            "this write needs a project aggregate, got a workflow".into(),
        )),
    }
}

/// Appends audit events, in order, with one statement.
async fn record(conn: &mut SqliteConnection, events: &[AuditEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO audit_events (workspace, at, kind, actor_kind, actor_id, actor_name, \
                                   item_kind, item_id, item_version, operation_id) \
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
                value ->> 6, value ->> 7, value ->> 8, value ->> 9 \
         FROM json_each(?1) ORDER BY key",
    )
    .bind(events_json(events))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

async fn exists(
    conn: &mut SqliteConnection,
    sql: &'static str,
    binds: &[&str],
) -> Result<bool, StoreError> {
    let mut q = sqlx::query_scalar::<_, i64>(sql);
    for b in binds {
        q = q.bind(*b);
    }
    Ok(q.fetch_optional(&mut *conn).await.map_err(db)?.is_some())
}

/// The id of the active item of `space` holding `slug`, other than `except`.
async fn slug_holder(
    conn: &mut SqliteConnection,
    workspace: &str,
    space: SlugSpace,
    slug: &str,
    except: &str,
) -> Result<Option<String>, StoreError> {
    let sql = match space {
        SlugSpace::Projects => {
            "SELECT id FROM projects \
             WHERE workspace = ?1 AND slug = ?2 AND trash_op_id IS NULL AND id <> ?3"
        }
        SlugSpace::Workflows => {
            "SELECT id FROM workflows \
             WHERE workspace = ?1 AND slug = ?2 AND trash_op_id IS NULL AND id <> ?3"
        }
    };
    sqlx::query_scalar(sql)
        .bind(workspace)
        .bind(slug)
        .bind(except)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)
}

async fn operations_of_project(
    conn: &mut SqliteConnection,
    project: &str,
) -> Result<Vec<TrashOperation>, StoreError> {
    let sql = format!(
        "SELECT {OPERATION_COLUMNS} FROM operations o WHERE o.project_id = ?1 ORDER BY o.id"
    );
    sqlx::query_as::<_, OperationRow>(&sql)
        .bind(project)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?
        .into_iter()
        .map(TrashOperation::try_from)
        .collect()
}

async fn project_row(
    conn: &mut SqliteConnection,
    workspace: &WorkspaceSlug,
    id: &ProjectId,
) -> Result<Option<ProjectRow>, StoreError> {
    let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = ?1 AND workspace = ?2");
    sqlx::query_as::<_, ProjectRow>(&sql)
        .bind(id.as_str())
        .bind(workspace.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)
}

#[async_trait]
impl Health for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query_scalar::<_, i64>("SELECT 1")
            .fetch_one(&self.reader)
            .await
            .map(|_| ())
            .map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn fresh() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&dir.path().join("t.db"))
            .await
            .expect("open");
        (dir, store)
    }

    async fn plan_of(pool: &SqlitePool, sql: &str) -> String {
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                .fetch_all(pool)
                .await
                .expect("explain");
        rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
    }

    #[tokio::test]
    async fn every_connection_has_the_durability_settings() {
        let (_dir, store) = fresh().await;
        for pool in [&store.writer, &store.reader] {
            let mut conn = pool.acquire().await.expect("connection");
            let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut *conn)
                .await
                .expect("journal_mode");
            let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .expect("synchronous");
            let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(&mut *conn)
                .await
                .expect("foreign_keys");
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&mut *conn)
                .await
                .expect("busy_timeout");
            assert_eq!(journal, "wal");
            assert_eq!(synchronous, 2, "synchronous = FULL");
            assert_eq!(foreign_keys, 1);
            assert_eq!(busy, open::BUSY_TIMEOUT.as_millis() as i64);
        }
    }

    #[tokio::test]
    async fn listing_and_claims_walk_their_indexes() {
        let (_dir, store) = fresh().await;
        for (kind, after, index) in [
            (false, false, "operations_listing"),
            (false, true, "operations_listing"),
            (true, false, "operations_listing_kind"),
            (true, true, "operations_listing_kind"),
        ] {
            let plan = plan_of(&store.reader, &reads::list_sql(kind, after)).await;
            assert!(
                plan.contains(&format!("SEARCH o USING INDEX {index} (workspace=?")),
                "listing (kind {kind}, after {after}) does not use {index}:\n{plan}"
            );
            assert!(
                !plan.contains("TEMP B-TREE"),
                "listing (kind {kind}, after {after}) sorts:\n{plan}"
            );
            if after {
                assert!(
                    plan.contains("deleted_at<?"),
                    "the cursor does not bound the index range:\n{plan}"
                );
            }
        }
        let due = plan_of(
            &store.reader,
            "SELECT id FROM operations WHERE scheduled_cleanup_at <= ?2 \
             AND (claimed_until IS NULL OR claimed_until <= ?2) \
             ORDER BY scheduled_cleanup_at, id LIMIT ?3",
        )
        .await;
        assert!(due.contains("USING INDEX operations_due"), "{due}");
        assert!(!due.contains("TEMP B-TREE"), "{due}");
    }

    #[tokio::test]
    async fn purge_statements_walk_their_indexes() {
        // A purge costs what it removes: every table is searched by key,
        // only the JSON arrays of the plan are scanned.
        let (_dir, store) = fresh().await;
        for sql in writes::purge_sql::ALL {
            let plan = plan_of(&store.reader, sql).await;
            for line in plan.lines() {
                assert!(
                    !line.starts_with("SCAN") || line.contains("json_each"),
                    "{sql} scans a table:\n{plan}"
                );
            }
        }
    }

    #[tokio::test]
    async fn an_abandoned_write_transaction_is_rolled_back_and_frees_the_writer() {
        let (_dir, store) = fresh().await;
        let ws = Workspace {
            slug: WorkspaceSlug::parse("ws").expect("slug"),
            name: Name::parse("ws").expect("name"),
            created_at: Timestamp::from_unix_millis(0).expect("instant"),
        };
        {
            let mut tx = store.begin_write().await.expect("begin");
            sqlx::query("INSERT INTO workspaces (slug, name, created_at) VALUES ('gone', 'x', 0)")
                .execute(&mut *tx)
                .await
                .expect("insert");
            // Dropped without commit, as when the caller's task is cancelled.
        }
        store
            .create_workspace(&ws)
            .await
            .expect("the writer is free");
        let gone = WorkspaceSlug::parse("gone").expect("slug");
        assert_eq!(store.workspace(&gone).await, Ok(None));
        assert_eq!(store.workspace(&ws.slug).await, Ok(Some(ws)));
    }

    #[tokio::test]
    async fn a_write_blocked_past_the_busy_timeout_is_unavailable_and_reads_go_on() {
        let (dir, holder) = fresh().await;
        let impatient = SqliteStore::open_with(&dir.path().join("t.db"), Duration::from_millis(50))
            .await
            .expect("second store on the same file");
        let ws = Workspace {
            slug: WorkspaceSlug::parse("ws").expect("slug"),
            name: Name::parse("ws").expect("name"),
            created_at: Timestamp::from_unix_millis(0).expect("instant"),
        };
        let held = holder.begin_write().await.expect("hold the write lock");
        assert!(matches!(
            impatient.create_workspace(&ws).await,
            Err(StoreError::Unavailable(_))
        ));
        // WAL: readers are not blocked by the writer.
        impatient.ping().await.expect("ping while the lock is held");
        assert_eq!(impatient.workspace(&ws.slug).await, Ok(None));
        held.rollback().await.expect("release the lock");
        impatient
            .create_workspace(&ws)
            .await
            .expect("the write succeeds once the lock is free");
    }

    #[tokio::test]
    async fn a_write_waits_for_another_connection_holding_the_lock() {
        let (dir, store) = fresh().await;
        let other = SqliteStore::open(&dir.path().join("t.db"))
            .await
            .expect("second store on the same file");
        let mut held = other.begin_write().await.expect("hold the write lock");
        let ws = Workspace {
            slug: WorkspaceSlug::parse("ws").expect("slug"),
            name: Name::parse("ws").expect("name"),
            created_at: Timestamp::from_unix_millis(0).expect("instant"),
        };
        let waiting = tokio::spawn({
            let store = store.clone();
            let ws = ws.clone();
            async move { store.create_workspace(&ws).await }
        });
        sqlx::query("INSERT INTO workspaces (slug, name, created_at) VALUES ('first', 'x', 0)")
            .execute(&mut *held)
            .await
            .expect("insert");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        held.commit().await.expect("commit");
        waiting
            .await
            .expect("task")
            .expect("the waiting write succeeds once the lock is released");
        let first = WorkspaceSlug::parse("first").expect("slug");
        assert!(store.workspace(&first).await.expect("read").is_some());
        assert!(other.workspace(&ws.slug).await.expect("read").is_some());
    }
}
