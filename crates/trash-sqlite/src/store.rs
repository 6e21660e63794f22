//! [`SqliteStore`]: the store port on one SQLite file.
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

type Tx = Transaction<'static, Sqlite>;

/// The SQLite implementation of [`TrashStore`]. Cheap to share behind an
/// `Arc`; several processes may open the same file at once.
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

/// Picks the active item with the slug, else the most recently trashed one.
const PROJECT_BY_SLUG: &str = "SELECT p.id FROM projects p \
     LEFT JOIN operations o ON o.id = p.trash_op_id \
     WHERE p.workspace = ?1 AND p.slug = ?2 \
     ORDER BY p.trash_op_id IS NULL DESC, o.deleted_at DESC, p.id ASC LIMIT 1";
const WORKFLOW_BY_SLUG: &str = "SELECT w.id FROM workflows w \
     LEFT JOIN operations o ON o.id = w.trash_op_id \
     WHERE w.workspace = ?1 AND w.slug = ?2 \
     ORDER BY w.trash_op_id IS NULL DESC, o.deleted_at DESC, w.id ASC LIMIT 1";

/// One listing row: an operation and what its root looks like.
#[derive(sqlx::FromRow)]
struct ListRow {
    #[sqlx(flatten)]
    op: OperationRow,
    p_slug: Option<String>,
    p_name: Option<String>,
    v_name: Option<String>,
    w_slug: Option<String>,
    w_name: Option<String>,
    t_version: Option<i64>,
}

fn dangling(op: &TrashOperation) -> StoreError {
    StoreError::Internal(format!(
        "operation {} refers to a missing item ({})",
        op.id, op.root
    ))
}

impl ListRow {
    fn entry(self) -> Result<TrashEntry, StoreError> {
        let ListRow {
            op,
            p_slug,
            p_name,
            v_name,
            w_slug,
            w_name,
            t_version,
        } = self;
        let op_project = op.project_id.clone();
        let operation = TrashOperation::try_from(op)?;
        let need = |v: Option<String>| v.ok_or_else(|| dangling(&operation));
        let project_slug =
            |v: Option<String>| need(v).and_then(|s| parse("project slug", &s, Slug::parse));
        let item = match &operation.root {
            ItemRef::Project(id) => TrashedItem::Project {
                id: id.clone(),
                slug: project_slug(p_slug)?,
                name: parse("project name", &need(p_name)?, Name::parse)?,
            },
            ItemRef::Version(project, number) => TrashedItem::Version {
                project: project.clone(),
                project_slug: project_slug(p_slug)?,
                project_name: parse("project name", &need(p_name)?, Name::parse)?,
                number: *number,
                name: parse("version name", &need(v_name)?, Name::parse)?,
            },
            ItemRef::Workflow(id) => TrashedItem::Workflow {
                id: id.clone(),
                slug: parse("workflow slug", &need(w_slug)?, Slug::parse)?,
                name: parse("workflow name", &need(w_name)?, Name::parse)?,
            },
            ItemRef::Training(id) => {
                let version = t_version.ok_or_else(|| dangling(&operation))?;
                TrashedItem::Training {
                    id: id.clone(),
                    project: parse("project id", &need(op_project)?, ProjectId::parse)?,
                    project_slug: project_slug(p_slug)?,
                    version: version_number(version)?,
                }
            }
        };
        Ok(TrashEntry { operation, item })
    }
}

/// Marks the root of a new operation as trashed (explicitly).
async fn trash_root(
    conn: &mut SqliteConnection,
    root: &ItemRef,
    op: &str,
) -> Result<(), StoreError> {
    let q = match root {
        ItemRef::Project(id) => {
            sqlx::query("UPDATE projects SET trash_op_id = ?1, trash_cascaded = 0 WHERE id = ?2")
                .bind(op)
                .bind(id.as_str())
        }
        ItemRef::Version(project, number) => sqlx::query(
            "UPDATE versions SET trash_op_id = ?1, trash_cascaded = 0 \
             WHERE project_id = ?2 AND number = ?3",
        )
        .bind(op)
        .bind(project.as_str())
        .bind(number_value(*number)),
        ItemRef::Workflow(id) => {
            sqlx::query("UPDATE workflows SET trash_op_id = ?1, trash_cascaded = 0 WHERE id = ?2")
                .bind(op)
                .bind(id.as_str())
        }
        ItemRef::Training(id) => {
            sqlx::query("UPDATE trainings SET trash_op_id = ?1, trash_cascaded = 0 WHERE id = ?2")
                .bind(op)
                .bind(id.as_str())
        }
    };
    let done = q.execute(&mut *conn).await.map_err(db)?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Internal(format!(
            "the root of the trash operation ({root}) does not exist"
        )))
    }
}

/// Inserts the operation row. Roots inside a project record the project.
async fn insert_operation(
    conn: &mut SqliteConnection,
    op: &TrashOperation,
) -> Result<(), StoreError> {
    let (project, version, training, workflow): (
        Option<&str>,
        Option<i64>,
        Option<&str>,
        Option<&str>,
    ) = match &op.root {
        ItemRef::Project(p) => (Some(p.as_str()), None, None, None),
        ItemRef::Version(p, n) => (Some(p.as_str()), Some(number_value(*n)), None, None),
        ItemRef::Training(t) => (None, None, Some(t.as_str()), None),
        ItemRef::Workflow(w) => (None, None, None, Some(w.as_str())),
    };
    sqlx::query(
        "INSERT INTO operations (id, workspace, root_kind, project_id, version, training_id, \
             workflow_id, actor_kind, actor_id, actor_name, deleted_at, scheduled_cleanup_at, \
             cleanup_delete_images, contains_versions, contains_trainings, claimed_until) \
         VALUES (?1, ?2, ?3, \
             COALESCE(?4, (SELECT project_id FROM trainings WHERE id = ?6)), \
             ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, NULL)",
    )
    .bind(op.id.as_str())
    .bind(op.workspace.as_str())
    .bind(op.root.kind().as_str())
    .bind(project)
    .bind(version)
    .bind(training)
    .bind(workflow)
    .bind(op.actor.kind.as_str())
    .bind(&op.actor.id)
    .bind(&op.actor.name)
    .bind(op.deleted_at.unix_millis())
    .bind(op.scheduled_cleanup_at.unix_millis())
    .bind(op.cleanup_delete_images)
    .bind(i64::from(op.contains.versions))
    .bind(i64::from(op.contains.trainings))
    .execute(&mut *conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::AlreadyExists
        } else {
            db(e)
        }
    })?;
    Ok(())
}

async fn apply_trash(conn: &mut SqliteConnection, plan: &TrashPlan) -> Result<(), StoreError> {
    guard(conn, &plan.guard).await?;
    let op = &plan.operation;
    insert_operation(conn, op).await?;
    trash_root(conn, &op.root, op.id.as_str()).await?;
    let mut versions = Vec::new();
    let mut trainings = Vec::new();
    for member in &plan.members {
        match member {
            ItemRef::Version(p, n) => versions.push((p, *n)),
            ItemRef::Training(t) => trainings.push(t.as_str()),
            other => {
                return Err(StoreError::Internal(format!(
                    "{other} cannot be trashed along with another item"
                )))
            }
        }
    }
    if !versions.is_empty() {
        let project = guarded_project(&plan.guard)?;
        if versions.iter().any(|(p, _)| *p != project) {
            return Err(StoreError::Internal(
                "a cascaded version belongs to another project".into(),
            ));
        }
        sqlx::query(
            "UPDATE versions SET trash_op_id = ?1, trash_cascaded = 1 \
             WHERE project_id = ?2 AND number IN (SELECT value FROM json_each(?3))",
        )
        .bind(op.id.as_str())
        .bind(project.as_str())
        .bind(json_numbers(versions.iter().map(|(_, n)| number_value(*n))))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    if !trainings.is_empty() {
        let project = guarded_project(&plan.guard)?;
        sqlx::query(
            "UPDATE trainings SET trash_op_id = ?1, trash_cascaded = 1 \
             WHERE project_id = ?2 AND id IN (SELECT value FROM json_each(?3))",
        )
        .bind(op.id.as_str())
        .bind(project.as_str())
        .bind(json_strings(trainings.iter().copied()))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    if !plan.cancel.is_empty() {
        let project = guarded_project(&plan.guard)?;
        let ids = json_strings(plan.cancel.iter().map(|t| t.as_str()));
        sqlx::query(
            "UPDATE trainings SET status = 'cancelled', ended_at = ?1 \
             WHERE project_id = ?2 AND id IN (SELECT value FROM json_each(?3))",
        )
        .bind(op.deleted_at.unix_millis())
        .bind(project.as_str())
        .bind(&ids)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
        sqlx::query(
            "INSERT INTO cancellations (training_id, workspace, operation_id, attempts, claimed_until) \
             SELECT value, ?1, ?2, 0, ?3 FROM json_each(?4) WHERE true \
             ON CONFLICT (training_id) DO UPDATE SET workspace = excluded.workspace, \
                 operation_id = excluded.operation_id, attempts = 0, \
                 claimed_until = excluded.claimed_until",
        )
        .bind(op.workspace.as_str())
        .bind(op.id.as_str())
        .bind(plan.cancel_claimed_until.unix_millis())
        .bind(&ids)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    record(conn, &plan.events).await
}

async fn apply_restore(conn: &mut SqliteConnection, plan: &RestorePlan) -> Result<(), StoreError> {
    guard(conn, &plan.guard).await?;
    let op = plan.operation.as_str();
    let workspace: String = sqlx::query_scalar("SELECT workspace FROM operations WHERE id = ?1")
        .bind(op)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .ok_or(StoreError::Conflict)?;
    // The slug must be free among active items before anything changes.
    let slug_check = match &plan.root {
        ItemRef::Project(id) => Some((SlugSpace::Projects, id.as_str(), "projects")),
        ItemRef::Workflow(id) => Some((SlugSpace::Workflows, id.as_str(), "workflows")),
        _ => None,
    };
    if let Some((space, id, table)) = slug_check {
        let current: Option<String> =
            sqlx::query_scalar(&format!("SELECT slug FROM {table} WHERE id = ?1"))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?;
        if let Some(current) = current {
            let slug = plan
                .new_slug
                .as_ref()
                .map_or(current.as_str(), |s| s.as_str());
            if let Some(conflicting) = slug_holder(conn, &workspace, space, slug, id).await? {
                return Err(StoreError::SlugTaken { conflicting });
            }
        }
    }
    let new_slug = plan.new_slug.as_ref().map(|s| s.as_str());
    for sql in [
        "UPDATE projects SET trash_op_id = NULL, trash_cascaded = 0, slug = COALESCE(?2, slug) \
         WHERE trash_op_id = ?1",
        "UPDATE versions SET trash_op_id = NULL, trash_cascaded = 0 WHERE trash_op_id = ?1",
        "UPDATE trainings SET trash_op_id = NULL, trash_cascaded = 0 WHERE trash_op_id = ?1",
        "UPDATE workflows SET trash_op_id = NULL, trash_cascaded = 0, slug = COALESCE(?2, slug) \
         WHERE trash_op_id = ?1",
    ] {
        sqlx::query(sql)
            .bind(op)
            .bind(new_slug)
            .execute(&mut *conn)
            .await
            .map_err(|e| restore_error(e, &plan.root))?;
    }
    sqlx::query("DELETE FROM operations WHERE id = ?1")
        .bind(op)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    record(conn, &plan.events).await
}

/// A unique violation while restoring can only be the active-slug index,
/// which the check above (in the same immediate transaction) rules out: if
/// it happens anyway, the store's invariants are broken.
fn restore_error(e: sqlx::Error, root: &ItemRef) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Internal(format!(
            "restoring {root} broke the active-slug index after the slug was checked free"
        ))
    } else {
        db(e)
    }
}

async fn apply_purge(
    conn: &mut SqliteConnection,
    plan: &PurgePlan,
) -> Result<PurgeCounts, StoreError> {
    guard(conn, &plan.guard).await?;
    if !exists(
        conn,
        "SELECT 1 FROM operations WHERE id = ?1",
        &[plan.operation.as_str()],
    )
    .await?
    {
        return Err(StoreError::Conflict);
    }
    let mut counts = PurgeCounts::default();
    let run = |sql: &'static str| sqlx::query(sql);
    match &plan.root {
        ItemRef::Project(pid) => {
            let pid = pid.as_str();
            // Every operation rooted in the project, its versions or trainings.
            run("DELETE FROM operations WHERE project_id = ?1")
                .bind(pid)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            if plan.delete_exclusive_images {
                counts.images = run("DELETE FROM images WHERE id IN ( \
                         SELECT l.image_id FROM image_links l WHERE l.project_id = ?1 \
                         AND NOT EXISTS (SELECT 1 FROM image_links o \
                                         WHERE o.image_id = l.image_id AND o.project_id <> ?1))")
                .bind(pid)
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
            }
            run("DELETE FROM image_links WHERE project_id = ?1")
                .bind(pid)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            counts.trainings = run("DELETE FROM trainings WHERE project_id = ?1")
                .bind(pid)
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
            counts.versions = run("DELETE FROM versions WHERE project_id = ?1")
                .bind(pid)
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
            counts.projects = run("DELETE FROM projects WHERE id = ?1")
                .bind(pid)
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
        }
        ItemRef::Version(pid, number) => {
            let (pid, n) = (pid.as_str(), number_value(*number));
            run("DELETE FROM operations WHERE project_id = ?1 AND ( \
                     (root_kind = 'version' AND version = ?2) OR \
                     (root_kind = 'training' AND training_id IN \
                         (SELECT id FROM trainings WHERE project_id = ?1 AND version = ?2)))")
            .bind(pid)
            .bind(n)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            counts.trainings = run("DELETE FROM trainings WHERE project_id = ?1 AND version = ?2")
                .bind(pid)
                .bind(n)
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
            counts.versions = run("DELETE FROM versions WHERE project_id = ?1 AND number = ?2")
                .bind(pid)
                .bind(n)
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
        }
        ItemRef::Workflow(id) => {
            run("DELETE FROM operations WHERE id = ?1")
                .bind(plan.operation.as_str())
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            counts.workflows = run("DELETE FROM workflows WHERE id = ?1")
                .bind(id.as_str())
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
        }
        ItemRef::Training(id) => {
            run("DELETE FROM operations WHERE id = ?1")
                .bind(plan.operation.as_str())
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            counts.trainings = run("DELETE FROM trainings WHERE id = ?1")
                .bind(id.as_str())
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
        }
    }
    record(conn, &plan.events).await?;
    Ok(counts)
}

fn list_sql(kind: bool, after: bool) -> String {
    let mut sql = format!(
        "SELECT {OPERATION_COLUMNS}, p.slug AS p_slug, p.name AS p_name, v.name AS v_name, \
                w.slug AS w_slug, w.name AS w_name, t.version AS t_version \
         FROM operations o \
         LEFT JOIN projects p ON p.id = o.project_id \
         LEFT JOIN versions v ON v.project_id = o.project_id AND v.number = o.version \
         LEFT JOIN workflows w ON w.id = o.workflow_id \
         LEFT JOIN trainings t ON t.id = o.training_id \
         WHERE o.workspace = ?1"
    );
    if kind {
        sql.push_str(" AND o.root_kind = ?2");
    }
    if after {
        // The first term bounds the index range; the second excludes the
        // cursor's own position and what precedes it at the same instant.
        sql.push_str(" AND o.deleted_at <= ?3 AND (o.deleted_at < ?3 OR o.id < ?4)");
    }
    sql.push_str(" ORDER BY o.deleted_at DESC, o.id DESC LIMIT ?5");
    sql
}

#[async_trait]
impl TrashStore for SqliteStore {
    async fn create_workspace(&self, workspace: &Workspace) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result =
            sqlx::query("INSERT INTO workspaces (slug, name, created_at) VALUES (?1, ?2, ?3)")
                .bind(workspace.slug.as_str())
                .bind(workspace.name.as_str())
                .bind(workspace.created_at.unix_millis())
                .execute(&mut *tx)
                .await
                .map(|_| ())
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::AlreadyExists
                    } else {
                        db(e)
                    }
                });
        finish(tx, result).await
    }

    async fn workspace(&self, slug: &WorkspaceSlug) -> Result<Option<Workspace>, StoreError> {
        sqlx::query_as::<_, WorkspaceRow>(
            "SELECT slug, name, created_at FROM workspaces WHERE slug = ?1",
        )
        .bind(slug.as_str())
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?
        .map(Workspace::try_from)
        .transpose()
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let hash = key.hash.to_hex();
        let result = async {
            let conn = &mut *tx;
            if exists(
                conn,
                "SELECT 1 FROM api_keys WHERE id = ?1 OR hash = ?2",
                &[key.id.as_str(), &hash],
            )
            .await?
            {
                return Err(StoreError::AlreadyExists);
            }
            if !exists(
                conn,
                "SELECT 1 FROM workspaces WHERE slug = ?1",
                &[key.workspace.as_str()],
            )
            .await?
            {
                return Err(StoreError::Missing);
            }
            let sql =
                format!("INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
            sqlx::query(&sql)
                .bind(key.id.as_str())
                .bind(key.workspace.as_str())
                .bind(key.name.as_str())
                .bind(key.scopes.to_list())
                .bind(&hash)
                .bind(key.created_at.unix_millis())
                .bind(key.revoked_at.map(Timestamp::unix_millis))
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            Ok(())
        }
        .await;
        finish(tx, result).await
    }

    async fn api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE hash = ?1");
        sqlx::query_as::<_, KeyRow>(&sql)
            .bind(hash.to_hex())
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .map(ApiKeyRecord::try_from)
            .transpose()
    }

    async fn revoke_api_key(&self, id: &KeyId, at: Timestamp) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let result =
            sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1")
                .bind(id.as_str())
                .bind(at.unix_millis())
                .execute(&mut *tx)
                .await
                .map(|done| done.rows_affected() > 0)
                .map_err(db);
        finish(tx, result).await
    }

    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            if exists(
                conn,
                "SELECT 1 FROM users WHERE id = ?1 OR email = ?2",
                &[user.id.as_str(), user.email.as_str()],
            )
            .await?
            {
                return Err(StoreError::AlreadyExists);
            }
            if !exists(
                conn,
                "SELECT 1 FROM workspaces WHERE slug = ?1",
                &[user.workspace.as_str()],
            )
            .await?
            {
                return Err(StoreError::Missing);
            }
            let sql = format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
            sqlx::query(&sql)
                .bind(user.id.as_str())
                .bind(user.workspace.as_str())
                .bind(user.email.as_str())
                .bind(user.role.as_str())
                .bind(&user.password_hash)
                .bind(user.created_at.unix_millis())
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            Ok(())
        }
        .await;
        finish(tx, result).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1");
        sqlx::query_as::<_, UserRow>(&sql)
            .bind(email.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .map(UserRecord::try_from)
            .transpose()
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
        sqlx::query_as::<_, UserRow>(&sql)
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .map(UserRecord::try_from)
            .transpose()
    }

    async fn project_id_by_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Option<ProjectId>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(PROJECT_BY_SLUG)
            .bind(workspace.as_str())
            .bind(slug.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?;
        id.map(|id| parse("project id", &id, ProjectId::parse))
            .transpose()
    }

    async fn load_project(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
    ) -> Result<Option<ProjectAggregate>, StoreError> {
        let mut tx = self.begin_read().await?;
        let result = async {
            let conn = &mut *tx;
            let Some(row) = project_row(conn, workspace, id).await? else {
                return Ok(None);
            };
            let versions = sqlx::query_as::<_, VersionRow>(&format!(
                "SELECT {VERSION_COLUMNS} FROM versions WHERE project_id = ?1 ORDER BY number"
            ))
            .bind(id.as_str())
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?
            .into_iter()
            .map(Version::try_from)
            .collect::<Result<Vec<_>, _>>()?;
            let trainings = sqlx::query_as::<_, TrainingRow>(&format!(
                "SELECT {TRAINING_COLUMNS} FROM trainings WHERE project_id = ?1 ORDER BY id"
            ))
            .bind(id.as_str())
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?
            .into_iter()
            .map(Training::try_from)
            .collect::<Result<Vec<_>, _>>()?;
            let operations = operations_of_project(conn, id.as_str()).await?;
            Ok(Some(ProjectAggregate {
                project: row.project()?,
                revision: Revision(row.revision),
                next_version: version_number(row.next_version)?,
                versions,
                trainings,
                operations,
            }))
        }
        .await;
        end_read(tx, result).await
    }

    async fn project_head(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
    ) -> Result<Option<ProjectHead>, StoreError> {
        let mut tx = self.begin_read().await?;
        let result = async {
            let conn = &mut *tx;
            let Some(row) = project_row(conn, workspace, id).await? else {
                return Ok(None);
            };
            Ok(Some(ProjectHead {
                project: row.project()?,
                revision: Revision(row.revision),
                operations: operations_of_project(conn, id.as_str()).await?,
            }))
        }
        .await;
        end_read(tx, result).await
    }

    async fn active_projects(&self, workspace: &WorkspaceSlug) -> Result<Vec<Project>, StoreError> {
        let sql = format!(
            "SELECT {PROJECT_COLUMNS} FROM projects \
             WHERE workspace = ?1 AND trash_op_id IS NULL ORDER BY slug"
        );
        sqlx::query_as::<_, ProjectRow>(&sql)
            .bind(workspace.as_str())
            .fetch_all(&self.reader)
            .await
            .map_err(db)?
            .iter()
            .map(ProjectRow::project)
            .collect()
    }

    async fn training_project(
        &self,
        workspace: &WorkspaceSlug,
        training: &TrainingId,
    ) -> Result<Option<ProjectId>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT t.project_id FROM trainings t JOIN projects p ON p.id = t.project_id \
             WHERE t.id = ?1 AND p.workspace = ?2",
        )
        .bind(training.as_str())
        .bind(workspace.as_str())
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        id.map(|id| parse("project id", &id, ProjectId::parse))
            .transpose()
    }

    async fn workflow_id_by_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Option<WorkflowId>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(WORKFLOW_BY_SLUG)
            .bind(workspace.as_str())
            .bind(slug.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?;
        id.map(|id| parse("workflow id", &id, WorkflowId::parse))
            .transpose()
    }

    async fn load_workflow(
        &self,
        workspace: &WorkspaceSlug,
        id: &WorkflowId,
    ) -> Result<Option<WorkflowAggregate>, StoreError> {
        let mut tx = self.begin_read().await?;
        let result = async {
            let conn = &mut *tx;
            let sql = format!(
                "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = ?1 AND workspace = ?2"
            );
            let Some(row) = sqlx::query_as::<_, WorkflowRow>(&sql)
                .bind(id.as_str())
                .bind(workspace.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?
            else {
                return Ok(None);
            };
            let operation = match &row.trash_op_id {
                None => None,
                Some(op) => {
                    let sql =
                        format!("SELECT {OPERATION_COLUMNS} FROM operations o WHERE o.id = ?1");
                    sqlx::query_as::<_, OperationRow>(&sql)
                        .bind(op)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(db)?
                        .map(TrashOperation::try_from)
                        .transpose()?
                }
            };
            Ok(Some(WorkflowAggregate {
                workflow: row.workflow()?,
                revision: Revision(row.revision),
                operation,
            }))
        }
        .await;
        end_read(tx, result).await
    }

    async fn taken_slugs(
        &self,
        workspace: &WorkspaceSlug,
        space: SlugSpace,
        base: &Slug,
    ) -> Result<Vec<Slug>, StoreError> {
        // Slugs hold only a-z, 0-9, '-' and '_': no GLOB metacharacters, so
        // `base-*` matches exactly the slugs starting with `base-`.
        let sql = match space {
            SlugSpace::Projects => {
                "SELECT slug FROM projects WHERE workspace = ?1 AND trash_op_id IS NULL \
                 AND (slug = ?2 OR slug GLOB ?2 || '-*') ORDER BY slug"
            }
            SlugSpace::Workflows => {
                "SELECT slug FROM workflows WHERE workspace = ?1 AND trash_op_id IS NULL \
                 AND (slug = ?2 OR slug GLOB ?2 || '-*') ORDER BY slug"
            }
        };
        let slugs: Vec<String> = sqlx::query_scalar(sql)
            .bind(workspace.as_str())
            .bind(base.as_str())
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        slugs
            .iter()
            .map(|s| parse("slug", s, Slug::parse))
            .collect()
    }

    async fn image(
        &self,
        workspace: &WorkspaceSlug,
        id: &ImageId,
    ) -> Result<Option<ImageView>, StoreError> {
        let mut tx = self.begin_read().await?;
        let result = async {
            let conn = &mut *tx;
            let Some(row) = sqlx::query_as::<_, ImageRow>(
                "SELECT id, workspace, name, created_at FROM images WHERE id = ?1 AND workspace = ?2",
            )
            .bind(id.as_str())
            .bind(workspace.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?
            else {
                return Ok(None);
            };
            let projects: Vec<String> = sqlx::query_scalar(
                "SELECT project_id FROM image_links WHERE image_id = ?1 ORDER BY project_id",
            )
            .bind(id.as_str())
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
            Ok(Some(ImageView {
                image: Image::try_from(row)?,
                projects: projects
                    .iter()
                    .map(|p| parse("project id", p, ProjectId::parse))
                    .collect::<Result<_, _>>()?,
            }))
        }
        .await;
        end_read(tx, result).await
    }

    async fn list_trash(&self, query: &TrashQuery) -> Result<Vec<TrashEntry>, StoreError> {
        let sql = list_sql(query.kind.is_some(), query.after.is_some());
        let mut tx = self.begin_read().await?;
        let result = sqlx::query_as::<_, ListRow>(&sql)
            .bind(query.workspace.as_str())
            .bind(query.kind.map(ItemKind::as_str))
            .bind(query.after.as_ref().map(|c| c.deleted_at.unix_millis()))
            .bind(query.after.as_ref().map(|c| c.operation.as_str()))
            .bind(i64::from(query.limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(db)
            .and_then(|rows| rows.into_iter().map(ListRow::entry).collect());
        end_read(tx, result).await
    }

    async fn audit_events(
        &self,
        workspace: &WorkspaceSlug,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events \
             WHERE workspace = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
        );
        sqlx::query_as::<_, AuditRow>(&sql)
            .bind(workspace.as_str())
            .bind(after.unwrap_or(i64::MIN))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?
            .into_iter()
            .map(AuditRecord::try_from)
            .collect()
    }

    async fn create_project(&self, project: &Project) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            let ws = project.workspace.as_str();
            if !exists(conn, "SELECT 1 FROM workspaces WHERE slug = ?1", &[ws]).await? {
                return Err(StoreError::Missing);
            }
            let slug = project.slug.as_str();
            if let Some(conflicting) = slug_holder(conn, ws, SlugSpace::Projects, slug, "").await? {
                return Err(StoreError::SlugTaken { conflicting });
            }
            let (op, cascaded) = match &project.state {
                ItemState::Active => (None, false),
                ItemState::Trashed {
                    operation,
                    cascaded,
                } => (Some(operation.as_str()), *cascaded),
            };
            sqlx::query(
                "INSERT INTO projects (id, workspace, slug, name, created_at, trash_op_id, \
                     trash_cascaded, revision, next_version) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, 1)",
            )
            .bind(project.id.as_str())
            .bind(ws)
            .bind(slug)
            .bind(project.name.as_str())
            .bind(project.created_at.unix_millis())
            .bind(op)
            .bind(cascaded)
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::AlreadyExists
                } else {
                    db(e)
                }
            })?;
            Ok(())
        }
        .await;
        finish(tx, result).await
    }

    async fn create_workflow(&self, workflow: &Workflow) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            let ws = workflow.workspace.as_str();
            if !exists(conn, "SELECT 1 FROM workspaces WHERE slug = ?1", &[ws]).await? {
                return Err(StoreError::Missing);
            }
            let slug = workflow.slug.as_str();
            if let Some(conflicting) = slug_holder(conn, ws, SlugSpace::Workflows, slug, "").await?
            {
                return Err(StoreError::SlugTaken { conflicting });
            }
            let (op, cascaded) = match &workflow.state {
                ItemState::Active => (None, false),
                ItemState::Trashed {
                    operation,
                    cascaded,
                } => (Some(operation.as_str()), *cascaded),
            };
            sqlx::query(
                "INSERT INTO workflows (id, workspace, slug, name, created_at, trash_op_id, \
                     trash_cascaded, revision) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)",
            )
            .bind(workflow.id.as_str())
            .bind(ws)
            .bind(slug)
            .bind(workflow.name.as_str())
            .bind(workflow.created_at.unix_millis())
            .bind(op)
            .bind(cascaded)
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::AlreadyExists
                } else {
                    db(e)
                }
            })?;
            Ok(())
        }
        .await;
        finish(tx, result).await
    }

    async fn create_version(&self, guard_: &Guard, version: &Version) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            guard(conn, guard_).await?;
            let project = version.project.as_str();
            let number = number_value(version.number);
            let (op, cascaded) = match &version.state {
                ItemState::Active => (None, false),
                ItemState::Trashed {
                    operation,
                    cascaded,
                } => (Some(operation.as_str()), *cascaded),
            };
            sqlx::query(
                "INSERT INTO versions (project_id, number, name, created_at, trash_op_id, trash_cascaded) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .bind(project)
            .bind(number)
            .bind(version.name.as_str())
            .bind(version.created_at.unix_millis())
            .bind(op)
            .bind(cascaded)
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::AlreadyExists
                } else {
                    db(e)
                }
            })?;
            sqlx::query("UPDATE projects SET next_version = ?2 WHERE id = ?1")
                .bind(project)
                .bind(number_value(version.number.next()))
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            Ok(())
        }
        .await;
        finish(tx, result).await
    }

    async fn create_training(&self, guard_: &Guard, training: &Training) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            guard(conn, guard_).await?;
            let (op, cascaded) = match &training.state {
                ItemState::Active => (None, false),
                ItemState::Trashed {
                    operation,
                    cascaded,
                } => (Some(operation.as_str()), *cascaded),
            };
            sqlx::query(
                "INSERT INTO trainings (id, project_id, version, status, started_at, ended_at, \
                     trash_op_id, trash_cascaded) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .bind(training.id.as_str())
            .bind(training.project.as_str())
            .bind(number_value(training.version))
            .bind(training.status.as_str())
            .bind(training.started_at.unix_millis())
            .bind(training.ended_at.map(Timestamp::unix_millis))
            .bind(op)
            .bind(cascaded)
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::AlreadyExists
                } else {
                    db(e)
                }
            })?;
            Ok(())
        }
        .await;
        finish(tx, result).await
    }

    async fn set_training_status(
        &self,
        guard_: &Guard,
        training: &TrainingId,
        status: TrainingStatus,
        ended_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            guard(conn, guard_).await?;
            let done = sqlx::query("UPDATE trainings SET status = ?2, ended_at = ?3 WHERE id = ?1")
                .bind(training.as_str())
                .bind(status.as_str())
                .bind(ended_at.map(Timestamp::unix_millis))
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Missing);
            }
            Ok(())
        }
        .await;
        finish(tx, result).await
    }

    async fn add_image(&self, guard_: &Guard, image: &Image) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            guard(conn, guard_).await?;
            let project = guarded_project(guard_)?;
            sqlx::query(
                "INSERT INTO images (id, workspace, name, created_at) VALUES (?1, ?2, ?3, ?4)",
            )
            .bind(image.id.as_str())
            .bind(image.workspace.as_str())
            .bind(image.name.as_str())
            .bind(image.created_at.unix_millis())
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::AlreadyExists
                } else {
                    db(e)
                }
            })?;
            sqlx::query("INSERT INTO image_links (project_id, image_id) VALUES (?1, ?2)")
                .bind(project.as_str())
                .bind(image.id.as_str())
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            Ok(())
        }
        .await;
        finish(tx, result).await
    }

    async fn link_image(&self, guard_: &Guard, image: &ImageId) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            guard(conn, guard_).await?;
            let project = guarded_project(guard_)?;
            // The image must exist in the project's workspace at commit time.
            let done = sqlx::query(
                "INSERT OR IGNORE INTO image_links (project_id, image_id) \
                 SELECT p.id, i.id FROM projects p JOIN images i ON i.workspace = p.workspace \
                 WHERE p.id = ?1 AND i.id = ?2",
            )
            .bind(project.as_str())
            .bind(image.as_str())
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            if done.rows_affected() == 0
                && !exists(
                    conn,
                    "SELECT 1 FROM image_links WHERE project_id = ?1 AND image_id = ?2",
                    &[project.as_str(), image.as_str()],
                )
                .await?
            {
                return Err(StoreError::Missing);
            }
            Ok(())
        }
        .await;
        finish(tx, result).await
    }

    async fn trash(&self, plan: &TrashPlan) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = apply_trash(&mut tx, plan).await;
        finish(tx, result).await
    }

    async fn restore(&self, plan: &RestorePlan) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = apply_restore(&mut tx, plan).await;
        finish(tx, result).await
    }

    async fn purge(&self, plan: &PurgePlan) -> Result<PurgeCounts, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = apply_purge(&mut tx, plan).await;
        finish(tx, result).await
    }

    async fn claim_due_operations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TrashOperation>, StoreError> {
        let sql = format!(
            "UPDATE operations SET claimed_until = ?1 WHERE id IN ( \
                 SELECT id FROM operations \
                 WHERE scheduled_cleanup_at <= ?2 AND (claimed_until IS NULL OR claimed_until <= ?2) \
                 ORDER BY scheduled_cleanup_at, id LIMIT ?3) \
             RETURNING {OPERATION_RETURNING}"
        );
        let mut tx = self.begin_write().await?;
        let result = sqlx::query_as::<_, OperationRow>(&sql)
            .bind(claimed_until.unix_millis())
            .bind(now.unix_millis())
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(db)
            .and_then(|rows| {
                rows.into_iter()
                    .map(TrashOperation::try_from)
                    .collect::<Result<Vec<_>, _>>()
            })
            .map(|mut ops| {
                // RETURNING has no defined order.
                ops.sort_by(|a, b| {
                    (a.scheduled_cleanup_at, &a.id).cmp(&(b.scheduled_cleanup_at, &b.id))
                });
                ops
            });
        finish(tx, result).await
    }

    async fn claim_cancellations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PendingCancellation>, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            let sql = format!(
                "SELECT {CANCELLATION_COLUMNS} FROM cancellations WHERE claimed_until <= ?1 \
                 ORDER BY claimed_until, training_id LIMIT ?2"
            );
            let rows = sqlx::query_as::<_, CancellationRow>(&sql)
                .bind(now.unix_millis())
                .bind(i64::from(limit))
                .fetch_all(&mut *conn)
                .await
                .map_err(db)?;
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            sqlx::query(
                "UPDATE cancellations SET claimed_until = ?1 \
                 WHERE training_id IN (SELECT value FROM json_each(?2))",
            )
            .bind(claimed_until.unix_millis())
            .bind(json_strings(rows.iter().map(|r| r.training_id.as_str())))
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            rows.into_iter()
                .map(PendingCancellation::try_from)
                .collect()
        }
        .await;
        finish(tx, result).await
    }

    async fn complete_cancellation(
        &self,
        training: &TrainingId,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            sqlx::query("DELETE FROM cancellations WHERE training_id = ?1")
                .bind(training.as_str())
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            record(conn, std::slice::from_ref(event)).await
        }
        .await;
        finish(tx, result).await
    }

    async fn fail_cancellation(
        &self,
        training: &TrainingId,
        retry_at: Timestamp,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            sqlx::query(
                "UPDATE cancellations SET attempts = attempts + 1, claimed_until = ?2 \
                 WHERE training_id = ?1",
            )
            .bind(training.as_str())
            .bind(retry_at.unix_millis())
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            record(conn, std::slice::from_ref(event)).await
        }
        .await;
        finish(tx, result).await
    }

    async fn pending_cancellations(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<PendingCancellation>, StoreError> {
        let sql = format!(
            "SELECT {CANCELLATION_COLUMNS} FROM cancellations WHERE workspace = ?1 ORDER BY training_id"
        );
        sqlx::query_as::<_, CancellationRow>(&sql)
            .bind(workspace.as_str())
            .fetch_all(&self.reader)
            .await
            .map_err(db)?
            .into_iter()
            .map(PendingCancellation::try_from)
            .collect()
    }

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
            let plan = plan_of(&store.reader, &list_sql(kind, after)).await;
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
