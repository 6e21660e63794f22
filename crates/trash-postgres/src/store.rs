//! The store port on PostgreSQL. Each method is one statement or one
//! transaction; `docs/postgres.md` lists the locks each transition takes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use trash_core::domain::*;
use trash_core::ports::*;

use crate::error::{insert_error, is_foreign_key_violation, is_unique_violation, store_error};
use crate::exec::{self, Conn, Tx};
use crate::rows::{self, get, OP_COLUMNS};
use crate::PgStore;

/// The first argument of the advisory lock that orders audit sequence
/// numbers within a workspace (the second is a hash of the workspace slug).
const AUDIT_LOCK_CLASS: i32 = 0x7472_6173; // "tras"

/// The earliest instant PostgreSQL's `timestamptz` holds (4714-11-24 BC).
const PG_MIN_MILLIS: i64 = -210_866_803_200_000;

fn sql_time(at: Timestamp) -> DateTime<Utc> {
    at.as_datetime()
}

/// The columns of `projects` a [`Project`] is read from, plus the aggregate's.
const PROJECT_COLUMNS: &str = "p.id, p.workspace, p.slug, p.name, p.created_at, \
     p.trash_op_id, p.trash_cascaded, p.revision, p.next_version";

/// Items of one trash plan grouped by table, with their `cascaded` flag.
#[derive(Default)]
struct ItemsByTable<'a> {
    projects: (Vec<&'a str>, Vec<bool>),
    versions: (Vec<&'a str>, Vec<i32>, Vec<bool>),
    workflows: (Vec<&'a str>, Vec<bool>),
    trainings: (Vec<&'a str>, Vec<bool>),
}

impl<'a> ItemsByTable<'a> {
    fn push(&mut self, item: &'a ItemRef, cascaded: bool) {
        match item {
            ItemRef::Project(id) => {
                self.projects.0.push(id.as_str());
                self.projects.1.push(cascaded);
            }
            ItemRef::Version(p, n) => {
                self.versions.0.push(p.as_str());
                self.versions.1.push(rows::number_to_sql(*n));
                self.versions.2.push(cascaded);
            }
            ItemRef::Workflow(id) => {
                self.workflows.0.push(id.as_str());
                self.workflows.1.push(cascaded);
            }
            ItemRef::Training(id) => {
                self.trainings.0.push(id.as_str());
                self.trainings.1.push(cascaded);
            }
        }
    }
}

/// The columns that name an operation's root. Project, version and
/// training roots belong to the guarded project; a workflow root to the
/// guarded workflow.
struct RootColumns<'a> {
    kind: &'static str,
    project_id: Option<&'a str>,
    version_number: Option<i32>,
    training_id: Option<&'a str>,
    workflow_id: Option<&'a str>,
}

fn root_columns<'a>(root: &'a ItemRef, guard: &'a Guard) -> Result<RootColumns<'a>, StoreError> {
    let none = RootColumns {
        kind: "project",
        project_id: None,
        version_number: None,
        training_id: None,
        workflow_id: None,
    };
    match (root, &guard.aggregate) {
        (ItemRef::Project(id), AggregateId::Project(g)) if id == g => Ok(RootColumns {
            project_id: Some(id.as_str()),
            ..none
        }),
        (ItemRef::Version(p, n), AggregateId::Project(g)) if p == g => Ok(RootColumns {
            kind: "version",
            project_id: Some(p.as_str()),
            version_number: Some(rows::number_to_sql(*n)),
            ..none
        }),
        (ItemRef::Training(t), AggregateId::Project(g)) => Ok(RootColumns {
            kind: "training",
            project_id: Some(g.as_str()),
            training_id: Some(t.as_str()),
            ..none
        }),
        (ItemRef::Workflow(w), AggregateId::Workflow(g)) if w == g => Ok(RootColumns {
            kind: "workflow",
            workflow_id: Some(w.as_str()),
            ..none
        }),
        _ => Err(StoreError::Internal(format!(
            "{root} is not in the guarded aggregate"
        ))),
    }
}

impl PgStore {
    async fn conn(&self) -> Result<Conn<'_>, StoreError> {
        exec::acquire(&self.pool, &self.statements).await
    }

    async fn begin(&self) -> Result<Tx<'_>, StoreError> {
        exec::begin(&self.pool, &self.statements).await
    }

    /// Runs one read statement on a pooled connection.
    async fn fetch_all<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<Vec<PgRow>, StoreError> {
        let mut conn = self.conn().await?;
        conn.fetch_all(query).await.map_err(store_error)
    }

    async fn fetch_optional<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<Option<PgRow>, StoreError> {
        let mut conn = self.conn().await?;
        conn.fetch_optional(query).await.map_err(store_error)
    }

    async fn execute<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<u64, sqlx::Error> {
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
        let (k, id, n) = rows::item_to_sql(&e.item);
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

/// A project read with the operations of its aggregate.
struct ProjectRead {
    project: Project,
    revision: Revision,
    next_version: VersionNumber,
    operations: Vec<TrashOperation>,
}

/// The project row of a read, with its operations, as returned by the
/// project-with-operations query.
fn project_and_operations(rows: &[PgRow]) -> Result<Option<ProjectRead>, StoreError> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let project = rows::project(first)?;
    let revision = Revision(get(first, "revision")?);
    let next_version = rows::version_number(first, "next_version")?;
    let mut operations = Vec::new();
    for row in rows {
        let op: Option<String> = get(row, "op_id")?;
        if op.is_some() {
            operations.push(rows::operation(row)?);
        }
    }
    Ok(Some(ProjectRead {
        project,
        revision,
        next_version,
        operations,
    }))
}

/// The project (in the workspace) and the operations of its aggregate, in
/// one statement so both come from one snapshot.
fn project_with_operations_sql() -> String {
    format!(
        "SELECT {PROJECT_COLUMNS}, {OP_COLUMNS} \
         FROM projects p LEFT JOIN trash_operations o ON o.project_id = p.id \
         WHERE p.id = $1 AND p.workspace = $2 \
         ORDER BY o.id"
    )
}

fn slug_matches(candidate: &str, base: &str) -> bool {
    candidate == base
        || candidate
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('-'))
}

/// The listing query for `query`: four shapes of one keyset query, each
/// matching an index (workspace[, root_kind], deleted_at, id) read backwards.
fn list_sql(query: &TrashQuery) -> String {
    let mut sql = format!(
        "SELECT {OP_COLUMNS}, p.slug AS p_slug, p.name AS p_name, v.name AS v_name, \
                w.slug AS w_slug, w.name AS w_name, t.version_number AS t_version \
         FROM trash_operations o \
         LEFT JOIN projects p ON p.id = o.project_id \
         LEFT JOIN versions v ON v.project_id = o.project_id AND v.number = o.version_number \
         LEFT JOIN workflows w ON w.id = o.workflow_id \
         LEFT JOIN trainings t ON t.id = o.training_id \
         WHERE o.workspace = $1"
    );
    let mut next = 2;
    if query.kind.is_some() {
        sql.push_str(&format!(" AND o.root_kind = ${next}"));
        next += 1;
    }
    if query.after.is_some() {
        sql.push_str(&format!(
            " AND (o.deleted_at, o.id) < (${}, ${})",
            next,
            next + 1
        ));
        next += 2;
    }
    sql.push_str(&format!(
        " ORDER BY o.deleted_at DESC, o.id DESC LIMIT ${next}"
    ));
    sql
}

/// Binds the parameters of [`list_sql`].
fn list_query<'q>(
    sql: &'q str,
    query: &'q TrashQuery,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let mut q = sqlx::query(sql).bind(query.workspace.as_str());
    if let Some(kind) = query.kind {
        q = q.bind(kind.as_str());
    }
    if let Some(after) = &query.after {
        q = q
            .bind(sql_time(after.deleted_at))
            .bind(after.operation.as_str());
    }
    q.bind(i64::from(query.limit))
}

impl PgStore {
    /// The plan PostgreSQL chooses for the trash listing of `query`
    /// (`EXPLAIN` output, one line per plan node). For operators checking
    /// that listing reads an index in order instead of sorting the trash.
    pub async fn explain_list_trash(&self, query: &TrashQuery) -> Result<String, StoreError> {
        let sql = format!("EXPLAIN {}", list_sql(query));
        let rows = self.fetch_all(list_query(&sql, query)).await?;
        let mut plan = String::new();
        for row in &rows {
            let line: String = get(row, "QUERY PLAN")?;
            plan.push_str(&line);
            plan.push('\n');
        }
        Ok(plan)
    }
}

/// How a restore transaction failed.
enum Restore {
    /// The root's slug is held by an active item (the transaction is aborted).
    SlugTaken,
    /// Anything else.
    Failed(StoreError),
}

impl PgStore {
    /// After a restore hit the slug index: which active item holds the slug.
    async fn restore_slug_conflict(&self, plan: &RestorePlan) -> StoreError {
        let (space, sql, id) = match &plan.root {
            ItemRef::Project(id) => (
                SlugSpace::Projects,
                "SELECT workspace, slug FROM projects WHERE id = $1",
                id.as_str(),
            ),
            ItemRef::Workflow(id) => (
                SlugSpace::Workflows,
                "SELECT workspace, slug FROM workflows WHERE id = $1",
                id.as_str(),
            ),
            _ => return StoreError::Conflict,
        };
        let root = match self.fetch_optional(sqlx::query(sql).bind(id)).await {
            Ok(Some(row)) => row,
            Ok(None) => return StoreError::Conflict,
            Err(e) => return e,
        };
        let (workspace, current): (String, String) =
            match (get(&root, "workspace"), get(&root, "slug")) {
                (Ok(w), Ok(s)) => (w, s),
                (Err(e), _) | (_, Err(e)) => return e,
            };
        let wanted = plan
            .new_slug
            .as_ref()
            .map_or(current.as_str(), |s| s.as_str());
        match self.active_holder(&workspace, space, wanted, id).await {
            Ok(Some(conflicting)) => StoreError::SlugTaken { conflicting },
            // The holder went away meanwhile: the caller re-reads and retries.
            Ok(None) => StoreError::Conflict,
            Err(e) => e,
        }
    }
}

#[async_trait]
impl TrashStore for PgStore {
    async fn create_workspace(&self, workspace: &Workspace) -> Result<(), StoreError> {
        self.execute(
            sqlx::query("INSERT INTO workspaces (slug, name, created_at) VALUES ($1, $2, $3)")
                .bind(workspace.slug.as_str())
                .bind(workspace.name.as_str())
                .bind(sql_time(workspace.created_at)),
        )
        .await
        .map(|_| ())
        .map_err(insert_error)
    }

    async fn workspace(&self, slug: &WorkspaceSlug) -> Result<Option<Workspace>, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query("SELECT slug, name, created_at FROM workspaces WHERE slug = $1")
                    .bind(slug.as_str()),
            )
            .await?;
        row.map(|r| {
            Ok(Workspace {
                slug: rows::workspace_slug(&r, "slug")?,
                name: rows::name(&r, "name")?,
                created_at: rows::timestamp(&r, "created_at")?,
            })
        })
        .transpose()
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.execute(
            sqlx::query(
                "INSERT INTO api_keys (id, workspace, name, scopes, key_hash, created_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(key.id.as_str())
            .bind(key.workspace.as_str())
            .bind(key.name.as_str())
            .bind(key.scopes.to_list())
            .bind(key.hash.to_hex())
            .bind(sql_time(key.created_at))
            .bind(key.revoked_at.map(sql_time)),
        )
        .await
        .map(|_| ())
        .map_err(insert_error)
    }

    async fn api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query(
                    "SELECT id, workspace, name, scopes, key_hash, created_at, revoked_at \
                     FROM api_keys WHERE key_hash = $1",
                )
                .bind(hash.to_hex()),
            )
            .await?;
        row.map(|r| rows::api_key(&r)).transpose()
    }

    async fn revoke_api_key(&self, id: &KeyId, at: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .execute(
                sqlx::query(
                    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                )
                .bind(id.as_str())
                .bind(sql_time(at)),
            )
            .await
            .map_err(store_error)?;
        Ok(n > 0)
    }

    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.execute(
            sqlx::query(
                "INSERT INTO users (id, workspace, email, role, password_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(user.id.as_str())
            .bind(user.workspace.as_str())
            .bind(user.email.as_str())
            .bind(user.role.as_str())
            .bind(&user.password_hash)
            .bind(sql_time(user.created_at)),
        )
        .await
        .map(|_| ())
        .map_err(insert_error)
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query(
                    "SELECT id, workspace, email, role, password_hash, created_at \
                     FROM users WHERE email = $1",
                )
                .bind(email.as_str()),
            )
            .await?;
        row.map(|r| rows::user(&r)).transpose()
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query(
                    "SELECT id, workspace, email, role, password_hash, created_at \
                     FROM users WHERE id = $1",
                )
                .bind(id.as_str()),
            )
            .await?;
        row.map(|r| rows::user(&r)).transpose()
    }

    async fn project_id_by_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Option<ProjectId>, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query(
                    "SELECT p.id FROM projects p \
                     LEFT JOIN trash_operations o ON o.id = p.trash_op_id \
                     WHERE p.workspace = $1 AND p.slug = $2 \
                     ORDER BY (p.trash_op_id IS NULL) DESC, o.deleted_at DESC NULLS LAST, p.id \
                     LIMIT 1",
                )
                .bind(workspace.as_str())
                .bind(slug.as_str()),
            )
            .await?;
        row.map(|r| rows::project_id(&r, "id")).transpose()
    }

    async fn load_project(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
    ) -> Result<Option<ProjectAggregate>, StoreError> {
        // One snapshot for the three reads, so they agree on one revision.
        let mut tx = exec::begin_snapshot(&self.pool, &self.statements).await?;
        let result = async {
            let sql = project_with_operations_sql();
            let head = tx
                .fetch_all(sqlx::query(&sql).bind(id.as_str()).bind(workspace.as_str()))
                .await
                .map_err(store_error)?;
            let Some(ProjectRead {
                project,
                revision,
                next_version,
                operations,
            }) = project_and_operations(&head)?
            else {
                return Ok(None);
            };
            let versions = tx
                .fetch_all(
                    sqlx::query(
                        "SELECT project_id, number, name, created_at, trash_op_id, trash_cascaded \
                         FROM versions WHERE project_id = $1 ORDER BY number",
                    )
                    .bind(id.as_str()),
                )
                .await
                .map_err(store_error)?
                .iter()
                .map(rows::version)
                .collect::<Result<Vec<_>, _>>()?;
            let trainings = tx
                .fetch_all(
                    sqlx::query(
                        "SELECT id, project_id, version_number, status, started_at, ended_at, \
                                trash_op_id, trash_cascaded \
                         FROM trainings WHERE project_id = $1 ORDER BY id",
                    )
                    .bind(id.as_str()),
                )
                .await
                .map_err(store_error)?
                .iter()
                .map(rows::training)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(ProjectAggregate {
                project,
                revision,
                next_version,
                versions,
                trainings,
                operations,
            }))
        }
        .await;
        tx.finish(result).await
    }

    async fn project_head(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
    ) -> Result<Option<ProjectHead>, StoreError> {
        let sql = project_with_operations_sql();
        let head = self
            .fetch_all(sqlx::query(&sql).bind(id.as_str()).bind(workspace.as_str()))
            .await?;
        Ok(project_and_operations(&head)?.map(|read| ProjectHead {
            project: read.project,
            revision: read.revision,
            operations: read.operations,
        }))
    }

    async fn active_projects(&self, workspace: &WorkspaceSlug) -> Result<Vec<Project>, StoreError> {
        self.fetch_all(
            sqlx::query(
                "SELECT id, workspace, slug, name, created_at, trash_op_id, trash_cascaded \
                 FROM projects WHERE workspace = $1 AND trash_op_id IS NULL ORDER BY slug",
            )
            .bind(workspace.as_str()),
        )
        .await?
        .iter()
        .map(rows::project)
        .collect()
    }

    async fn training_project(
        &self,
        workspace: &WorkspaceSlug,
        training: &TrainingId,
    ) -> Result<Option<ProjectId>, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query(
                    "SELECT t.project_id FROM trainings t JOIN projects p ON p.id = t.project_id \
                     WHERE t.id = $1 AND p.workspace = $2",
                )
                .bind(training.as_str())
                .bind(workspace.as_str()),
            )
            .await?;
        row.map(|r| rows::project_id(&r, "project_id")).transpose()
    }

    async fn workflow_id_by_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Option<WorkflowId>, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query(
                    "SELECT w.id FROM workflows w \
                     LEFT JOIN trash_operations o ON o.id = w.trash_op_id \
                     WHERE w.workspace = $1 AND w.slug = $2 \
                     ORDER BY (w.trash_op_id IS NULL) DESC, o.deleted_at DESC NULLS LAST, w.id \
                     LIMIT 1",
                )
                .bind(workspace.as_str())
                .bind(slug.as_str()),
            )
            .await?;
        row.map(|r| rows::workflow_id(&r, "id")).transpose()
    }

    async fn load_workflow(
        &self,
        workspace: &WorkspaceSlug,
        id: &WorkflowId,
    ) -> Result<Option<WorkflowAggregate>, StoreError> {
        let sql = format!(
            "SELECT w.id, w.workspace, w.slug, w.name, w.created_at, w.trash_op_id, \
                    w.trash_cascaded, w.revision, {OP_COLUMNS} \
             FROM workflows w LEFT JOIN trash_operations o ON o.id = w.trash_op_id \
             WHERE w.id = $1 AND w.workspace = $2"
        );
        let Some(row) = self
            .fetch_optional(sqlx::query(&sql).bind(id.as_str()).bind(workspace.as_str()))
            .await?
        else {
            return Ok(None);
        };
        let op: Option<String> = get(&row, "op_id")?;
        Ok(Some(WorkflowAggregate {
            workflow: rows::workflow(&row)?,
            revision: Revision(get(&row, "revision")?),
            operation: op.map(|_| rows::operation(&row)).transpose()?,
        }))
    }

    async fn taken_slugs(
        &self,
        workspace: &WorkspaceSlug,
        space: SlugSpace,
        base: &Slug,
    ) -> Result<Vec<Slug>, StoreError> {
        // `base` itself, or `base-…`: with the "C" collation every slug that
        // starts with `base-` sorts in [`base-`, `base.`), since '.' follows '-'.
        let sql = match space {
            SlugSpace::Projects => {
                "SELECT slug FROM projects \
                 WHERE workspace = $1 AND trash_op_id IS NULL \
                   AND (slug = $2 OR (slug >= $2 || '-' AND slug < $2 || '.')) \
                 ORDER BY slug"
            }
            SlugSpace::Workflows => {
                "SELECT slug FROM workflows \
                 WHERE workspace = $1 AND trash_op_id IS NULL \
                   AND (slug = $2 OR (slug >= $2 || '-' AND slug < $2 || '.')) \
                 ORDER BY slug"
            }
        };
        let rows = self
            .fetch_all(
                sqlx::query(sql)
                    .bind(workspace.as_str())
                    .bind(base.as_str()),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let slug = rows::slug(row, "slug")?;
            if slug_matches(slug.as_str(), base.as_str()) {
                out.push(slug);
            }
        }
        Ok(out)
    }

    async fn image(
        &self,
        workspace: &WorkspaceSlug,
        id: &ImageId,
    ) -> Result<Option<ImageView>, StoreError> {
        let rows = self
            .fetch_all(
                sqlx::query(
                    "SELECT i.id, i.workspace, i.name, i.created_at, l.project_id \
                     FROM images i LEFT JOIN project_images l ON l.image_id = i.id \
                     WHERE i.id = $1 AND i.workspace = $2 \
                     ORDER BY l.project_id",
                )
                .bind(id.as_str())
                .bind(workspace.as_str()),
            )
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let image = Image {
            id: rows::image_id(first, "id")?,
            workspace: rows::workspace_slug(first, "workspace")?,
            name: rows::name(first, "name")?,
            created_at: rows::timestamp(first, "created_at")?,
        };
        let mut projects = Vec::new();
        for row in &rows {
            if let Some(p) = rows::opt_project_id(row, "project_id")? {
                projects.push(p);
            }
        }
        Ok(Some(ImageView { image, projects }))
    }

    async fn list_trash(&self, query: &TrashQuery) -> Result<Vec<TrashEntry>, StoreError> {
        if let Some(after) = &query.after {
            if after.deleted_at.unix_millis() < PG_MIN_MILLIS {
                // Nothing can be older than what the database can hold.
                return Ok(Vec::new());
            }
        }
        let sql = list_sql(query);
        let rows = self.fetch_all(list_query(&sql, query)).await?;
        let dangling = || StoreError::Internal("operation refers to a missing item".into());
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let operation = rows::operation(row)?;
            let item = match &operation.root {
                ItemRef::Project(id) => TrashedItem::Project {
                    id: id.clone(),
                    slug: rows::opt_slug(row, "p_slug")?.ok_or_else(dangling)?,
                    name: rows::opt_name(row, "p_name")?.ok_or_else(dangling)?,
                },
                ItemRef::Version(project, number) => TrashedItem::Version {
                    project: project.clone(),
                    project_slug: rows::opt_slug(row, "p_slug")?.ok_or_else(dangling)?,
                    project_name: rows::opt_name(row, "p_name")?.ok_or_else(dangling)?,
                    number: *number,
                    name: rows::opt_name(row, "v_name")?.ok_or_else(dangling)?,
                },
                ItemRef::Workflow(id) => TrashedItem::Workflow {
                    id: id.clone(),
                    slug: rows::opt_slug(row, "w_slug")?.ok_or_else(dangling)?,
                    name: rows::opt_name(row, "w_name")?.ok_or_else(dangling)?,
                },
                ItemRef::Training(id) => {
                    let version: Option<i32> = get(row, "t_version")?;
                    TrashedItem::Training {
                        id: id.clone(),
                        project: rows::opt_project_id(row, "op_project_id")?
                            .ok_or_else(dangling)?,
                        project_slug: rows::opt_slug(row, "p_slug")?.ok_or_else(dangling)?,
                        version: rows::number_from(version.ok_or_else(dangling)?)?,
                    }
                }
            };
            out.push(TrashEntry { operation, item });
        }
        Ok(out)
    }

    async fn audit_events(
        &self,
        workspace: &WorkspaceSlug,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.fetch_all(
            sqlx::query(
                "SELECT seq, workspace, at, kind, actor_kind, actor_id, actor_name, \
                        item_kind, item_id, item_version, operation_id \
                 FROM audit_events WHERE workspace = $1 AND seq > $2 \
                 ORDER BY seq LIMIT $3",
            )
            .bind(workspace.as_str())
            .bind(after.unwrap_or(i64::MIN))
            .bind(i64::from(limit)),
        )
        .await?
        .iter()
        .map(rows::audit_record)
        .collect()
    }

    async fn create_project(&self, project: &Project) -> Result<(), StoreError> {
        let (op, cascaded) = rows::state_to_sql(&project.state);
        let result = self
            .execute(
                sqlx::query(
                    "INSERT INTO projects (id, workspace, slug, name, created_at, \
                                           trash_op_id, trash_cascaded) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(project.id.as_str())
                .bind(project.workspace.as_str())
                .bind(project.slug.as_str())
                .bind(project.name.as_str())
                .bind(sql_time(project.created_at))
                .bind(op)
                .bind(cascaded),
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(self
                .create_error(e, SlugSpace::Projects, &project.workspace, &project.slug)
                .await),
        }
    }

    async fn create_workflow(&self, workflow: &Workflow) -> Result<(), StoreError> {
        let (op, cascaded) = rows::state_to_sql(&workflow.state);
        let result = self
            .execute(
                sqlx::query(
                    "INSERT INTO workflows (id, workspace, slug, name, created_at, \
                                            trash_op_id, trash_cascaded) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(workflow.id.as_str())
                .bind(workflow.workspace.as_str())
                .bind(workflow.slug.as_str())
                .bind(workflow.name.as_str())
                .bind(sql_time(workflow.created_at))
                .bind(op)
                .bind(cascaded),
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(self
                .create_error(e, SlugSpace::Workflows, &workflow.workspace, &workflow.slug)
                .await),
        }
    }

    async fn create_version(&self, guard: &Guard, version: &Version) -> Result<(), StoreError> {
        if guard.aggregate != AggregateId::Project(version.project.clone()) {
            return Err(StoreError::Internal(
                "a version is written under its own project's guard".into(),
            ));
        }
        let mut tx = self.begin().await?;
        let result = async {
            bump(&mut tx, guard).await?;
            let (op, cascaded) = rows::state_to_sql(&version.state);
            tx.execute(
                sqlx::query(
                    "INSERT INTO versions (project_id, number, name, created_at, \
                                           trash_op_id, trash_cascaded) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(version.project.as_str())
                .bind(rows::number_to_sql(version.number))
                .bind(version.name.as_str())
                .bind(sql_time(version.created_at))
                .bind(op)
                .bind(cascaded),
            )
            .await
            .map_err(insert_error)?;
            tx.execute(
                sqlx::query("UPDATE projects SET next_version = $2 WHERE id = $1")
                    .bind(version.project.as_str())
                    .bind(rows::number_to_sql(version.number.next())),
            )
            .await
            .map_err(store_error)?;
            Ok(())
        }
        .await;
        tx.finish(result).await
    }

    async fn create_training(&self, guard: &Guard, training: &Training) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let result = async {
            bump(&mut tx, guard).await?;
            let (op, cascaded) = rows::state_to_sql(&training.state);
            tx.execute(
                sqlx::query(
                    "INSERT INTO trainings (id, project_id, version_number, status, started_at, \
                                            ended_at, trash_op_id, trash_cascaded) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(training.id.as_str())
                .bind(training.project.as_str())
                .bind(rows::number_to_sql(training.version))
                .bind(training.status.as_str())
                .bind(sql_time(training.started_at))
                .bind(training.ended_at.map(sql_time))
                .bind(op)
                .bind(cascaded),
            )
            .await
            .map_err(insert_error)?;
            Ok(())
        }
        .await;
        tx.finish(result).await
    }

    async fn set_training_status(
        &self,
        guard: &Guard,
        training: &TrainingId,
        status: TrainingStatus,
        ended_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let AggregateId::Project(project) = &guard.aggregate else {
            return Err(StoreError::Internal("trainings belong to projects".into()));
        };
        let mut tx = self.begin().await?;
        let result = async {
            bump(&mut tx, guard).await?;
            let n = tx
                .execute(
                    sqlx::query(
                        "UPDATE trainings SET status = $3, ended_at = $4 \
                         WHERE id = $1 AND project_id = $2",
                    )
                    .bind(training.as_str())
                    .bind(project.as_str())
                    .bind(status.as_str())
                    .bind(ended_at.map(sql_time)),
                )
                .await
                .map_err(store_error)?;
            if n == 0 {
                return Err(StoreError::Missing);
            }
            Ok(())
        }
        .await;
        tx.finish(result).await
    }

    async fn add_image(&self, guard: &Guard, image: &Image) -> Result<(), StoreError> {
        let AggregateId::Project(project) = &guard.aggregate else {
            return Err(StoreError::Internal("images link to projects".into()));
        };
        let mut tx = self.begin().await?;
        let result = async {
            bump(&mut tx, guard).await?;
            tx.execute(
                sqlx::query(
                    "INSERT INTO images (id, workspace, name, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(image.id.as_str())
                .bind(image.workspace.as_str())
                .bind(image.name.as_str())
                .bind(sql_time(image.created_at)),
            )
            .await
            .map_err(insert_error)?;
            tx.execute(
                sqlx::query("INSERT INTO project_images (project_id, image_id) VALUES ($1, $2)")
                    .bind(project.as_str())
                    .bind(image.id.as_str()),
            )
            .await
            .map_err(insert_error)?;
            Ok(())
        }
        .await;
        tx.finish(result).await
    }

    async fn link_image(&self, guard: &Guard, image: &ImageId) -> Result<(), StoreError> {
        let AggregateId::Project(project) = &guard.aggregate else {
            return Err(StoreError::Internal("images link to projects".into()));
        };
        let mut tx = self.begin().await?;
        let result = async {
            let workspace = bump(&mut tx, guard).await?;
            // FOR KEY SHARE waits for a purge that holds the image FOR
            // UPDATE; once that purge commits the row is gone and this finds
            // nothing. Conversely a purge waits for this lock, then sees the link.
            let found = tx
                .fetch_optional(
                    sqlx::query(
                        "SELECT id FROM images WHERE id = $1 AND workspace = $2 FOR KEY SHARE",
                    )
                    .bind(image.as_str())
                    .bind(&workspace),
                )
                .await
                .map_err(store_error)?;
            if found.is_none() {
                return Err(StoreError::Missing);
            }
            tx.execute(
                sqlx::query(
                    "INSERT INTO project_images (project_id, image_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(project.as_str())
                .bind(image.as_str()),
            )
            .await
            .map_err(|e| {
                if is_foreign_key_violation(&e) {
                    StoreError::Missing
                } else {
                    store_error(e)
                }
            })?;
            Ok(())
        }
        .await;
        tx.finish(result).await
    }

    async fn trash(&self, plan: &TrashPlan) -> Result<(), StoreError> {
        let op = &plan.operation;
        let root = root_columns(&op.root, &plan.guard)?;
        let mut items = ItemsByTable::default();
        items.push(&op.root, false);
        for member in &plan.members {
            items.push(member, true);
        }
        let cancel: Vec<&str> = plan.cancel.iter().map(|t| t.as_str()).collect();

        let mut tx = self.begin().await?;
        let result = async {
            bump(&mut tx, &plan.guard).await?;
            tx.execute(
                sqlx::query(
                    "INSERT INTO trash_operations (id, workspace, root_kind, project_id, \
                         version_number, training_id, workflow_id, actor_kind, actor_id, \
                         actor_name, deleted_at, scheduled_cleanup_at, cleanup_delete_images, \
                         contains_versions, contains_trainings) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(op.id.as_str())
                .bind(op.workspace.as_str())
                .bind(root.kind)
                .bind(root.project_id)
                .bind(root.version_number)
                .bind(root.training_id)
                .bind(root.workflow_id)
                .bind(op.actor.kind.as_str())
                .bind(&op.actor.id)
                .bind(&op.actor.name)
                .bind(sql_time(op.deleted_at))
                .bind(sql_time(op.scheduled_cleanup_at))
                .bind(op.cleanup_delete_images)
                .bind(rows::count_to_sql(op.contains.versions))
                .bind(rows::count_to_sql(op.contains.trainings)),
            )
            .await
            .map_err(|e| {
                if is_unique_violation(&e, None) {
                    StoreError::AlreadyExists
                } else {
                    store_error(e)
                }
            })?;
            if !items.projects.0.is_empty() {
                tx.execute(
                    sqlx::query(
                        "UPDATE projects p SET trash_op_id = $1, trash_cascaded = m.cascaded \
                         FROM unnest($2::text[], $3::bool[]) AS m(id, cascaded) \
                         WHERE p.id = m.id",
                    )
                    .bind(op.id.as_str())
                    .bind(&items.projects.0)
                    .bind(&items.projects.1),
                )
                .await
                .map_err(store_error)?;
            }
            if !items.versions.0.is_empty() {
                tx.execute(
                    sqlx::query(
                        "UPDATE versions v SET trash_op_id = $1, trash_cascaded = m.cascaded \
                         FROM unnest($2::text[], $3::int4[], $4::bool[]) \
                              AS m(project_id, number, cascaded) \
                         WHERE v.project_id = m.project_id AND v.number = m.number",
                    )
                    .bind(op.id.as_str())
                    .bind(&items.versions.0)
                    .bind(&items.versions.1)
                    .bind(&items.versions.2),
                )
                .await
                .map_err(store_error)?;
            }
            if !items.workflows.0.is_empty() {
                tx.execute(
                    sqlx::query(
                        "UPDATE workflows w SET trash_op_id = $1, trash_cascaded = m.cascaded \
                         FROM unnest($2::text[], $3::bool[]) AS m(id, cascaded) \
                         WHERE w.id = m.id",
                    )
                    .bind(op.id.as_str())
                    .bind(&items.workflows.0)
                    .bind(&items.workflows.1),
                )
                .await
                .map_err(store_error)?;
            }
            if !items.trainings.0.is_empty() {
                tx.execute(
                    sqlx::query(
                        "UPDATE trainings t SET trash_op_id = $1, trash_cascaded = m.cascaded \
                         FROM unnest($2::text[], $3::bool[]) AS m(id, cascaded) \
                         WHERE t.id = m.id",
                    )
                    .bind(op.id.as_str())
                    .bind(&items.trainings.0)
                    .bind(&items.trainings.1),
                )
                .await
                .map_err(store_error)?;
            }
            if !cancel.is_empty() {
                tx.execute(
                    sqlx::query(
                        "UPDATE trainings SET status = 'cancelled', ended_at = $2 \
                         WHERE id = ANY($1::text[])",
                    )
                    .bind(&cancel)
                    .bind(sql_time(op.deleted_at)),
                )
                .await
                .map_err(store_error)?;
                tx.execute(
                    sqlx::query(
                        "INSERT INTO pending_cancellations \
                             (training_id, workspace, operation_id, attempts, claimed_until) \
                         SELECT t, $2, $3, 0, $4 FROM unnest($1::text[]) AS t \
                         ON CONFLICT (training_id) DO UPDATE SET \
                             workspace = EXCLUDED.workspace, \
                             operation_id = EXCLUDED.operation_id, \
                             attempts = 0, \
                             claimed_until = EXCLUDED.claimed_until",
                    )
                    .bind(&cancel)
                    .bind(op.workspace.as_str())
                    .bind(op.id.as_str())
                    .bind(sql_time(plan.cancel_claimed_until)),
                )
                .await
                .map_err(store_error)?;
            }
            record(&mut tx, &plan.events).await
        }
        .await;
        tx.finish(result).await
    }

    async fn restore(&self, plan: &RestorePlan) -> Result<(), StoreError> {
        let op = plan.operation.as_str();
        let new_slug = plan.new_slug.as_ref().map(|s| s.as_str());
        // Making a project or workflow active is where the partial unique
        // index checks its slug, against everything committed by then.
        let activate = |e: sqlx::Error| {
            if is_slug_index(&e) {
                Restore::SlugTaken
            } else {
                Restore::Failed(store_error(e))
            }
        };
        let failed = |e: sqlx::Error| Restore::Failed(store_error(e));
        let mut tx = self.begin().await?;
        let result: Result<(), Restore> = async {
            bump(&mut tx, &plan.guard).await.map_err(Restore::Failed)?;
            // Everything that records the operation becomes active again.
            // Members always sit below their root, so the tables to touch
            // follow from the root's kind.
            let reactivate = |table: &'static str| match table {
                "projects" => {
                    "UPDATE projects SET trash_op_id = NULL, trash_cascaded = false, \
                                                   slug = COALESCE($2, slug) \
                               WHERE trash_op_id = $1"
                }
                "workflows" => {
                    "UPDATE workflows SET trash_op_id = NULL, trash_cascaded = false, \
                                                     slug = COALESCE($2, slug) \
                                WHERE trash_op_id = $1"
                }
                "versions" => {
                    "UPDATE versions SET trash_op_id = NULL, trash_cascaded = false \
                               WHERE trash_op_id = $1"
                }
                _ => {
                    "UPDATE trainings SET trash_op_id = NULL, trash_cascaded = false \
                      WHERE trash_op_id = $1"
                }
            };
            let tables: &[&'static str] = match &plan.root {
                ItemRef::Project(_) => &["projects", "versions", "trainings"],
                ItemRef::Version(..) => &["versions", "trainings"],
                ItemRef::Training(_) => &["trainings"],
                ItemRef::Workflow(_) => &["workflows"],
            };
            for table in tables {
                let sql = reactivate(table);
                if matches!(*table, "projects" | "workflows") {
                    tx.execute(sqlx::query(sql).bind(op).bind(new_slug))
                        .await
                        .map_err(activate)?;
                } else {
                    tx.execute(sqlx::query(sql).bind(op))
                        .await
                        .map_err(failed)?;
                }
            }
            let removed = tx
                .execute(sqlx::query("DELETE FROM trash_operations WHERE id = $1").bind(op))
                .await
                .map_err(failed)?;
            if removed == 0 {
                return Err(Restore::Failed(StoreError::Conflict));
            }
            record(&mut tx, &plan.events).await.map_err(Restore::Failed)
        }
        .await;
        match result {
            Ok(()) => tx.commit().await,
            Err(Restore::Failed(e)) => {
                tx.rollback().await;
                Err(e)
            }
            Err(Restore::SlugTaken) => {
                tx.rollback().await;
                Err(self.restore_slug_conflict(plan).await)
            }
        }
    }

    async fn purge(&self, plan: &PurgePlan) -> Result<PurgeCounts, StoreError> {
        let mut tx = self.begin().await?;
        let result = async {
            bump_if(&mut tx, &plan.guard, Some(&plan.operation)).await?;
            let mut counts = PurgeCounts::default();
            // Children before parents. Operations rooted in a removed item go
            // with it (ON DELETE CASCADE from their root).
            match &plan.root {
                ItemRef::Project(id) => {
                    let id = id.as_str();
                    if plan.delete_exclusive_images {
                        // Lock the linked images (in id order, so two purges
                        // sharing images cannot deadlock) before deciding which
                        // are exclusive: a concurrent link_image either
                        // committed before (and is seen below) or waits for us.
                        tx.execute(
                            sqlx::query(
                                "SELECT count(*) FROM ( \
                                     SELECT i.id FROM images i \
                                     JOIN project_images l ON l.image_id = i.id \
                                     WHERE l.project_id = $1 \
                                     ORDER BY i.id FOR UPDATE OF i) AS locked",
                            )
                            .bind(id),
                        )
                        .await
                        .map_err(store_error)?;
                    }
                    counts.trainings = tx
                        .execute(sqlx::query("DELETE FROM trainings WHERE project_id = $1").bind(id))
                        .await
                        .map_err(store_error)?;
                    counts.versions = tx
                        .execute(sqlx::query("DELETE FROM versions WHERE project_id = $1").bind(id))
                        .await
                        .map_err(store_error)?;
                    if plan.delete_exclusive_images {
                        counts.images = tx
                            .execute(
                                sqlx::query(
                                    "WITH unlinked AS ( \
                                         DELETE FROM project_images WHERE project_id = $1 \
                                         RETURNING image_id) \
                                     DELETE FROM images i USING unlinked u \
                                     WHERE i.id = u.image_id \
                                       AND NOT EXISTS ( \
                                           SELECT 1 FROM project_images o \
                                           WHERE o.image_id = i.id AND o.project_id <> $1)",
                                )
                                .bind(id),
                            )
                            .await
                            .map_err(store_error)?;
                    } else {
                        tx.execute(
                            sqlx::query("DELETE FROM project_images WHERE project_id = $1")
                                .bind(id),
                        )
                        .await
                        .map_err(store_error)?;
                    }
                    counts.projects = tx
                        .execute(sqlx::query("DELETE FROM projects WHERE id = $1").bind(id))
                        .await
                        .map_err(store_error)?;
                }
                ItemRef::Version(project, number) => {
                    let n = rows::number_to_sql(*number);
                    counts.trainings = tx
                        .execute(
                            sqlx::query(
                                "DELETE FROM trainings WHERE project_id = $1 AND version_number = $2",
                            )
                            .bind(project.as_str())
                            .bind(n),
                        )
                        .await
                        .map_err(store_error)?;
                    counts.versions = tx
                        .execute(
                            sqlx::query("DELETE FROM versions WHERE project_id = $1 AND number = $2")
                                .bind(project.as_str())
                                .bind(n),
                        )
                        .await
                        .map_err(store_error)?;
                }
                ItemRef::Workflow(id) => {
                    counts.workflows = tx
                        .execute(sqlx::query("DELETE FROM workflows WHERE id = $1").bind(id.as_str()))
                        .await
                        .map_err(store_error)?;
                }
                ItemRef::Training(id) => {
                    counts.trainings = tx
                        .execute(sqlx::query("DELETE FROM trainings WHERE id = $1").bind(id.as_str()))
                        .await
                        .map_err(store_error)?;
                }
            }
            record(&mut tx, &plan.events).await?;
            Ok(counts)
        }
        .await;
        tx.finish(result).await
    }

    async fn claim_due_operations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TrashOperation>, StoreError> {
        // One statement: lock up to `limit` due, unclaimed operations,
        // skipping any another worker (or a restore, or a purge) holds, and
        // stamp the claim. Re-checked on the locked row, so an operation
        // claimed meanwhile is not taken twice.
        let sql = format!(
            "WITH due AS ( \
                 SELECT id FROM trash_operations \
                 WHERE scheduled_cleanup_at <= $1 \
                   AND (claimed_until IS NULL OR claimed_until <= $1) \
                 ORDER BY scheduled_cleanup_at, id \
                 LIMIT $3 \
                 FOR UPDATE SKIP LOCKED) \
             UPDATE trash_operations o SET claimed_until = $2 FROM due WHERE o.id = due.id \
             RETURNING {OP_COLUMNS}"
        );
        let rows = self
            .fetch_all(
                sqlx::query(&sql)
                    .bind(sql_time(now))
                    .bind(sql_time(claimed_until))
                    .bind(i64::from(limit)),
            )
            .await?;
        let mut ops = rows
            .iter()
            .map(rows::operation)
            .collect::<Result<Vec<_>, _>>()?;
        ops.sort_by(|a, b| (a.scheduled_cleanup_at, &a.id).cmp(&(b.scheduled_cleanup_at, &b.id)));
        Ok(ops)
    }

    async fn claim_cancellations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PendingCancellation>, StoreError> {
        let rows = self
            .fetch_all(
                sqlx::query(
                    "WITH due AS ( \
                         SELECT training_id, claimed_until AS previous FROM pending_cancellations \
                         WHERE claimed_until <= $1 \
                         ORDER BY claimed_until, training_id \
                         LIMIT $3 \
                         FOR UPDATE SKIP LOCKED) \
                     UPDATE pending_cancellations c SET claimed_until = $2 \
                     FROM due WHERE c.training_id = due.training_id \
                     RETURNING c.training_id, c.workspace, c.operation_id, c.attempts, due.previous",
                )
                .bind(sql_time(now))
                .bind(sql_time(claimed_until))
                .bind(i64::from(limit)),
            )
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            claimed.push((rows::timestamp(row, "previous")?, rows::pending(row)?));
        }
        claimed.sort_by(|a, b| (a.0, &a.1.training).cmp(&(b.0, &b.1.training)));
        Ok(claimed.into_iter().map(|(_, p)| p).collect())
    }

    async fn complete_cancellation(
        &self,
        training: &TrainingId,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let result = async {
            tx.execute(
                sqlx::query("DELETE FROM pending_cancellations WHERE training_id = $1")
                    .bind(training.as_str()),
            )
            .await
            .map_err(store_error)?;
            record(&mut tx, std::slice::from_ref(event)).await
        }
        .await;
        tx.finish(result).await
    }

    async fn fail_cancellation(
        &self,
        training: &TrainingId,
        retry_at: Timestamp,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let result = async {
            tx.execute(
                sqlx::query(
                    "UPDATE pending_cancellations \
                     SET attempts = attempts + 1, claimed_until = $2 WHERE training_id = $1",
                )
                .bind(training.as_str())
                .bind(sql_time(retry_at)),
            )
            .await
            .map_err(store_error)?;
            record(&mut tx, std::slice::from_ref(event)).await
        }
        .await;
        tx.finish(result).await
    }

    async fn pending_cancellations(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<PendingCancellation>, StoreError> {
        self.fetch_all(
            sqlx::query(
                "SELECT training_id, workspace, operation_id, attempts \
                 FROM pending_cancellations WHERE workspace = $1 ORDER BY training_id",
            )
            .bind(workspace.as_str()),
        )
        .await?
        .iter()
        .map(rows::pending)
        .collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.execute(sqlx::query("SELECT 1"))
            .await
            .map(|_| ())
            .map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> WorkspaceSlug {
        WorkspaceSlug::parse("acme").expect("slug")
    }

    #[test]
    fn taken_slugs_keep_only_the_base_and_its_dash_suffixes() {
        assert!(slug_matches("det", "det"));
        assert!(slug_matches("det-2", "det"));
        assert!(slug_matches("det-x-3", "det"));
        assert!(!slug_matches("det_2", "det"));
        assert!(!slug_matches("detector", "det"));
        assert!(!slug_matches("de", "det"));
    }

    #[test]
    fn listing_has_one_shape_per_filter_and_numbers_its_parameters() {
        let op = OperationId::parse("abcdefghij0123456789").expect("id");
        let cursor = TrashCursor {
            deleted_at: Timestamp::from_unix_millis(0).expect("t"),
            operation: op,
        };
        let base = TrashQuery {
            workspace: ws(),
            kind: None,
            limit: 10,
            after: None,
        };
        let plain = list_sql(&base);
        assert!(plain.ends_with("ORDER BY o.deleted_at DESC, o.id DESC LIMIT $2"));
        assert!(!plain.contains("root_kind ="));
        let both = list_sql(&TrashQuery {
            kind: Some(ItemKind::Version),
            after: Some(cursor),
            ..base
        });
        assert!(both.contains("o.root_kind = $2"));
        assert!(both.contains("(o.deleted_at, o.id) < ($3, $4)"));
        assert!(both.ends_with("LIMIT $5"));
    }

    #[test]
    fn an_operation_root_must_sit_in_the_guarded_aggregate() {
        let p = ProjectId::parse("pppppppppppppppppppp").expect("id");
        let q = ProjectId::parse("qqqqqqqqqqqqqqqqqqqq").expect("id");
        let w = WorkflowId::parse("wwwwwwwwwwwwwwwwwwww").expect("id");
        let guard = |aggregate| Guard {
            aggregate,
            revision: Revision(1),
        };
        let on_p = guard(AggregateId::Project(p.clone()));
        let root = ItemRef::Version(p.clone(), VersionNumber::FIRST);
        let cols = root_columns(&root, &on_p).expect("version of p");
        assert_eq!(
            (cols.kind, cols.project_id, cols.version_number),
            ("version", Some(p.as_str()), Some(1))
        );
        let elsewhere = ItemRef::Project(q);
        assert!(matches!(
            root_columns(&elsewhere, &on_p),
            Err(StoreError::Internal(_))
        ));
        let flow = ItemRef::Workflow(w.clone());
        assert!(root_columns(&flow, &on_p).is_err());
        let on_w = guard(AggregateId::Workflow(w));
        let cols = root_columns(&flow, &on_w).expect("workflow");
        assert_eq!((cols.kind, cols.project_id), ("workflow", None));
    }
}
