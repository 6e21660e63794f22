//! The trash-reads role and the audit log: the aggregates the rules decide
//! on, the listing, the audit trail.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use trash_core::domain::*;
use trash_core::ports::*;

use super::{sql_time, Query};
use crate::error::store_error;
use crate::exec;
use crate::rows::{self, get, OP_COLUMNS};
use crate::PgStore;

/// The earliest instant PostgreSQL's `timestamptz` holds (4714-11-24 BC).
const PG_MIN_MILLIS: i64 = -210_866_803_200_000;

/// The columns of `projects` a [`Project`] is read from, plus the aggregate's.
const PROJECT_COLUMNS: &str = "p.id, p.workspace, p.slug, p.name, p.created_at, \
     p.trash_op_id, p.trash_cascaded, p.revision, p.next_version";

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

/// One holder of a slug from `id, trash_op_id, deleted_at` (the
/// `deleted_at` of the operation the item records).
fn slug_holder<Id>(
    row: &PgRow,
    id: impl Fn(&PgRow, &str) -> Result<Id, StoreError>,
) -> Result<SlugHolder<Id>, StoreError> {
    let operation: Option<String> = get(row, "trash_op_id")?;
    let trashed_at = match operation {
        None => None,
        Some(_) => Some(
            rows::opt_timestamp(row, "deleted_at")?
                .ok_or_else(|| StoreError::Internal("item records a missing operation".into()))?,
        ),
    };
    Ok(SlugHolder {
        id: id(row, "id")?,
        trashed_at,
    })
}

fn slug_matches(candidate: &str, base: &str) -> bool {
    candidate == base
        || candidate
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('-'))
}

/// The listing statement: one text for every query, so one prepared
/// statement. The page itself comes from `trash_list_page` (migration
/// 0150), a PL/pgSQL function that reads it from the index
/// (workspace[, root_kind], deleted_at, id) backwards with sorting disabled,
/// so that neither missing statistics (no `ANALYZE` yet) nor re-planning on
/// every call can make it sort the workspace's whole trash; its plans are
/// kept by PL/pgSQL (generic after five calls).
///
/// The names of each root are looked up by scalar subqueries on primary
/// keys, evaluated only for the rows of the page (a five-way join costs
/// milliseconds to plan and, without statistics, joins every trash row of
/// the workspace before sorting). The outer `ORDER BY` sorts the page only.
static LIST_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {OP_COLUMNS}, \
                (SELECT p.slug FROM projects p WHERE p.id = o.project_id) AS p_slug, \
                (SELECT p.name FROM projects p WHERE p.id = o.project_id) AS p_name, \
                (SELECT v.name FROM versions v \
                 WHERE v.project_id = o.project_id AND v.number = o.version_number) AS v_name, \
                (SELECT w.slug FROM workflows w WHERE w.id = o.workflow_id) AS w_slug, \
                (SELECT w.name FROM workflows w WHERE w.id = o.workflow_id) AS w_name, \
                (SELECT t.version_number FROM trainings t WHERE t.id = o.training_id) AS t_version \
         FROM trash_list_page($1, $2, $3, $4, $5) o \
         ORDER BY o.deleted_at DESC, o.id DESC"
    )
});

/// Binds the parameters of [`LIST_SQL`].
fn list_query<'q>(sql: &'q str, query: &'q TrashQuery) -> Query<'q> {
    let (after_at, after_id) = match &query.after {
        Some(after) => (
            Some(sql_time(after.deleted_at)),
            Some(after.operation.as_str()),
        ),
        None => (None, None),
    };
    sqlx::query(sql)
        .bind(query.workspace.as_str())
        .bind(query.kind.map(|k| k.as_str()))
        .bind(after_at)
        .bind(after_id)
        .bind(i32::try_from(query.limit).unwrap_or(i32::MAX))
}

/// What one listing read from `trash_operations`, from PostgreSQL's own
/// per-transaction table counters (`pg_stat_xact_user_tables`): see
/// [`PgStore::list_trash_reads`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListingReads {
    /// Entries on the page.
    pub entries: usize,
    /// Rows of `trash_operations` fetched through an index (bitmap scans
    /// included).
    pub index_fetches: i64,
    /// Rows of `trash_operations` read by sequential scans.
    pub sequential_reads: i64,
}

impl PgStore {
    /// [`TrashReads::load_for_purge`]: every aggregate of a batch of
    /// operations from one snapshot, with at most five statements whatever
    /// the batch's size (the trainings of training roots, the projects with
    /// their operations, their versions, their trainings, the workflows).
    async fn load_batch(
        &self,
        operations: &[TrashOperation],
    ) -> Result<Vec<Option<AggregateRead>>, StoreError> {
        use std::collections::HashMap;
        let training_roots: Vec<&str> = operations
            .iter()
            .filter_map(|op| match &op.root {
                ItemRef::Training(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        let workflow_ids: Vec<&str> = operations
            .iter()
            .filter_map(|op| match &op.root {
                ItemRef::Workflow(w) => Some(w.as_str()),
                _ => None,
            })
            .collect();
        let mut tx = exec::begin_snapshot(&self.pool, &self.statements).await?;
        let result = async {
            // Which project each training root belongs to.
            let mut training_project: HashMap<String, ProjectId> = HashMap::new();
            if !training_roots.is_empty() {
                let rows = tx
                    .fetch_all(
                        sqlx::query("SELECT id, project_id FROM trainings WHERE id = ANY($1::text[])")
                            .bind(&training_roots),
                    )
                    .await
                    .map_err(store_error)?;
                for row in &rows {
                    training_project.insert(get(row, "id")?, rows::project_id(row, "project_id")?);
                }
            }
            let project_of = |op: &TrashOperation| -> Option<ProjectId> {
                match &op.root {
                    ItemRef::Project(id) | ItemRef::Version(id, _) => Some(id.clone()),
                    ItemRef::Training(t) => training_project.get(t.as_str()).cloned(),
                    ItemRef::Workflow(_) => None,
                }
            };
            let mut project_ids: Vec<String> = operations
                .iter()
                .filter_map(|op| project_of(op).map(|p| p.as_str().to_owned()))
                .collect();
            project_ids.sort_unstable();
            project_ids.dedup();

            let mut projects: HashMap<String, ProjectAggregate> = HashMap::new();
            if !project_ids.is_empty() {
                let head = tx
                    .fetch_all(sqlx::query(&format!(
                        "SELECT {PROJECT_COLUMNS}, {OP_COLUMNS} \
                         FROM projects p LEFT JOIN trash_operations o ON o.project_id = p.id \
                         WHERE p.id = ANY($1::text[]) \
                         ORDER BY p.id, o.id"
                    ))
                    .bind(&project_ids))
                    .await
                    .map_err(store_error)?;
                let mut start = 0;
                while start < head.len() {
                    let id: String = get(&head[start], "id")?;
                    let mut end = start + 1;
                    while end < head.len() && get::<String>(&head[end], "id")? == id {
                        end += 1;
                    }
                    if let Some(read) = project_and_operations(&head[start..end])? {
                        projects.insert(
                            id,
                            ProjectAggregate {
                                project: read.project,
                                revision: read.revision,
                                next_version: read.next_version,
                                versions: Vec::new(),
                                trainings: Vec::new(),
                                operations: read.operations,
                            },
                        );
                    }
                    start = end;
                }
                let versions = tx
                    .fetch_all(
                        sqlx::query(
                            "SELECT project_id, number, name, created_at, trash_op_id, trash_cascaded \
                             FROM versions WHERE project_id = ANY($1::text[]) \
                             ORDER BY project_id, number",
                        )
                        .bind(&project_ids),
                    )
                    .await
                    .map_err(store_error)?;
                for row in &versions {
                    let version = rows::version(row)?;
                    if let Some(agg) = projects.get_mut(version.project.as_str()) {
                        agg.versions.push(version);
                    }
                }
                let trainings = tx
                    .fetch_all(
                        sqlx::query(
                            "SELECT id, project_id, version_number, status, started_at, ended_at, \
                                    trash_op_id, trash_cascaded \
                             FROM trainings WHERE project_id = ANY($1::text[]) \
                             ORDER BY project_id, id",
                        )
                        .bind(&project_ids),
                    )
                    .await
                    .map_err(store_error)?;
                for row in &trainings {
                    let training = rows::training(row)?;
                    if let Some(agg) = projects.get_mut(training.project.as_str()) {
                        agg.trainings.push(training);
                    }
                }
            }

            let mut workflows: HashMap<String, WorkflowAggregate> = HashMap::new();
            if !workflow_ids.is_empty() {
                let rows = tx
                    .fetch_all(sqlx::query(&format!(
                        "SELECT w.id, w.workspace, w.slug, w.name, w.created_at, w.trash_op_id, \
                                w.trash_cascaded, w.revision, {OP_COLUMNS} \
                         FROM workflows w LEFT JOIN trash_operations o ON o.id = w.trash_op_id \
                         WHERE w.id = ANY($1::text[])"
                    ))
                    .bind(&workflow_ids))
                    .await
                    .map_err(store_error)?;
                for row in &rows {
                    let op: Option<String> = get(row, "op_id")?;
                    let agg = WorkflowAggregate {
                        workflow: rows::workflow(row)?,
                        revision: Revision(get(row, "revision")?),
                        operation: op.map(|_| rows::operation(row)).transpose()?,
                    };
                    workflows.insert(agg.workflow.id.as_str().to_owned(), agg);
                }
            }

            // Scoped: an aggregate of another workspace is `None`.
            Ok(operations
                .iter()
                .map(|op| match &op.root {
                    ItemRef::Workflow(w) => workflows
                        .get(w.as_str())
                        .filter(|agg| agg.workflow.workspace == op.workspace)
                        .map(|agg| AggregateRead::Workflow(agg.clone())),
                    _ => project_of(op)
                        .and_then(|p| projects.get(p.as_str()))
                        .filter(|agg| agg.project.workspace == op.workspace)
                        .map(|agg| AggregateRead::Project(agg.clone())),
                })
                .collect())
        }
        .await;
        tx.finish(result).await
    }

    /// Runs the trash listing of `query` and reports how many rows of
    /// `trash_operations` it read, as PostgreSQL counted them. For operators
    /// and tests checking that a page costs its own rows, not the trash's
    /// size: a page of `n` entries fetches `n` rows (plus one when more
    /// follow), where a sort of the workspace's trash fetches all of them.
    pub async fn list_trash_reads(&self, query: &TrashQuery) -> Result<ListingReads, StoreError> {
        const COUNTERS: &str = "SELECT coalesce(sum(idx_tup_fetch), 0)::bigint AS idx, \
                coalesce(sum(seq_tup_read), 0)::bigint AS seq \
             FROM pg_stat_xact_user_tables \
             WHERE relname = 'trash_operations' AND schemaname = current_schema()";
        let sql: &str = &LIST_SQL;
        let mut tx = exec::begin(&self.pool, &self.statements).await?;
        let result = async {
            let counters = |row: &PgRow| -> Result<(i64, i64), StoreError> {
                Ok((get(row, "idx")?, get(row, "seq")?))
            };
            let before = tx
                .fetch_all(sqlx::query(COUNTERS))
                .await
                .map_err(store_error)?;
            let page = tx
                .fetch_all(list_query(sql, query))
                .await
                .map_err(store_error)?;
            let after = tx
                .fetch_all(sqlx::query(COUNTERS))
                .await
                .map_err(store_error)?;
            let (b, a) = (counters(&before[0])?, counters(&after[0])?);
            Ok(ListingReads {
                entries: page.len(),
                index_fetches: a.0 - b.0,
                sequential_reads: a.1 - b.1,
            })
        }
        .await;
        tx.finish(result).await
    }
}

#[async_trait]
impl TrashReads for PgStore {
    async fn exclusive_images(
        &self,
        workspace: &WorkspaceSlug,
        project: &ProjectId,
    ) -> Result<u64, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query(
                    "SELECT count(*) AS n FROM project_images l \
                     JOIN projects p ON p.id = l.project_id AND p.workspace = $1 \
                     WHERE l.project_id = $2 \
                       AND NOT EXISTS (SELECT 1 FROM project_images o \
                                       WHERE o.image_id = l.image_id AND o.project_id <> $2)",
                )
                .bind(workspace.as_str())
                .bind(project.as_str()),
            )
            .await?;
        let n: i64 = match row {
            Some(row) => get(&row, "n")?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn projects_with_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Vec<SlugHolder<ProjectId>>, StoreError> {
        let rows = self
            .fetch_all(
                sqlx::query(
                    "SELECT p.id, p.trash_op_id, o.deleted_at FROM projects p \
                     LEFT JOIN trash_operations o ON o.id = p.trash_op_id \
                     WHERE p.workspace = $1 AND p.slug = $2 \
                     ORDER BY p.id",
                )
                .bind(workspace.as_str())
                .bind(slug.as_str()),
            )
            .await?;
        rows.iter()
            .map(|row| slug_holder(row, rows::project_id))
            .collect()
    }

    async fn workflows_with_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Vec<SlugHolder<WorkflowId>>, StoreError> {
        let rows = self
            .fetch_all(
                sqlx::query(
                    "SELECT w.id, w.trash_op_id, o.deleted_at FROM workflows w \
                     LEFT JOIN trash_operations o ON o.id = w.trash_op_id \
                     WHERE w.workspace = $1 AND w.slug = $2 \
                     ORDER BY w.id",
                )
                .bind(workspace.as_str())
                .bind(slug.as_str()),
            )
            .await?;
        rows.iter()
            .map(|row| slug_holder(row, rows::workflow_id))
            .collect()
    }

    async fn load_project(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
    ) -> Result<Option<ProjectAggregate>, StoreError> {
        read_project(self, workspace, id, None).await
    }

    async fn load_project_part(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
        part: ProjectPart,
    ) -> Result<Option<ProjectAggregate>, StoreError> {
        read_project(self, workspace, id, Some(part)).await
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

    async fn load_for_purge(
        &self,
        operations: &[TrashOperation],
    ) -> Result<Vec<Option<AggregateRead>>, StoreError> {
        self.load_batch(operations).await
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

    async fn list_trash(&self, query: &TrashQuery) -> Result<Vec<TrashEntry>, StoreError> {
        if let Some(after) = &query.after {
            if after.deleted_at.unix_millis() < PG_MIN_MILLIS {
                // Nothing can be older than what the database can hold.
                return Ok(Vec::new());
            }
        }
        let rows = self.fetch_all(list_query(&LIST_SQL, query)).await?;
        let dangling = || StoreError::Internal("operation refers to a missing item".into());
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let operation = rows::operation(row)?;
            let item = match &operation.root {
                ItemRef::Project(id) => TrashedItem::Project(ProjectItem {
                    id: id.clone(),
                    slug: rows::opt_slug(row, "p_slug")?.ok_or_else(dangling)?,
                    name: rows::opt_name(row, "p_name")?.ok_or_else(dangling)?,
                }),
                ItemRef::Version(project, number) => TrashedItem::Version(VersionItem {
                    project: project.clone(),
                    project_slug: rows::opt_slug(row, "p_slug")?.ok_or_else(dangling)?,
                    project_name: rows::opt_name(row, "p_name")?.ok_or_else(dangling)?,
                    number: *number,
                    name: rows::opt_name(row, "v_name")?.ok_or_else(dangling)?,
                }),
                ItemRef::Workflow(id) => TrashedItem::Workflow(WorkflowItem {
                    id: id.clone(),
                    slug: rows::opt_slug(row, "w_slug")?.ok_or_else(dangling)?,
                    name: rows::opt_name(row, "w_name")?.ok_or_else(dangling)?,
                }),
                ItemRef::Training(id) => {
                    let version: Option<i32> = get(row, "t_version")?;
                    TrashedItem::Training(TrainingItem {
                        id: id.clone(),
                        project: rows::opt_project_id(row, "op_project_id")?
                            .ok_or_else(dangling)?,
                        project_slug: rows::opt_slug(row, "p_slug")?.ok_or_else(dangling)?,
                        version: rows::number_from(version.ok_or_else(dangling)?)?,
                    })
                }
            };
            out.push(TrashEntry { operation, item });
        }
        Ok(out)
    }
}

#[async_trait]
impl AuditLog for PgStore {
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

    async fn audit_page(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let kinds: Vec<String> = query.kinds.iter().map(|k| k.as_str().to_owned()).collect();
        self.fetch_all(
            sqlx::query(
                "SELECT seq, workspace, at, kind, actor_kind, actor_id, actor_name, \
                        item_kind, item_id, item_version, operation_id \
                 FROM audit_events WHERE workspace = $1 AND seq < $2 \
                   AND kind = ANY($3) AND ($4::text IS NULL OR item_kind = $4) \
                 ORDER BY seq DESC LIMIT $5",
            )
            .bind(query.workspace.as_str())
            .bind(query.before.unwrap_or(i64::MAX))
            .bind(kinds)
            .bind(query.item_kind.map(|k| k.as_str()))
            .bind(i64::from(query.limit)),
        )
        .await?
        .iter()
        .map(rows::audit_record)
        .collect()
    }
}

/// A project read in one snapshot: whole (`part` is `None`) or only the
/// versions and trainings of `part`, each read on an index (versions by
/// their primary key, trainings by `trainings_by_version`) so that the rows
/// left out cost nothing.
async fn read_project(
    store: &PgStore,
    workspace: &WorkspaceSlug,
    id: &ProjectId,
    part: Option<ProjectPart>,
) -> Result<Option<ProjectAggregate>, StoreError> {
    // One snapshot for the reads, so they agree on one revision.
    let mut tx = exec::begin_snapshot(&store.pool, &store.statements).await?;
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
        // Every variant binds $2 and $3 (numbers start at 1; LIMIT NULL is none).
        let (versions_where, number, limit): (&str, i32, Option<i64>) = match part {
            None | Some(ProjectPart::Head) => ("number > $2", 0, None),
            Some(ProjectPart::Version(n)) => ("number = $2", n.get() as i32, None),
            Some(ProjectPart::ActiveVersions { after, limit }) => (
                "trash_op_id IS NULL AND number > $2",
                after.map_or(0, |a| a.get() as i32),
                Some(i64::from(limit)),
            ),
        };
        let versions = if matches!(part, Some(ProjectPart::Head)) {
            Vec::new()
        } else {
            tx.fetch_all(
                sqlx::query(&format!(
                    "SELECT project_id, number, name, created_at, trash_op_id, trash_cascaded \
                     FROM versions WHERE project_id = $1 AND {versions_where} \
                     ORDER BY number LIMIT $3"
                ))
                .bind(id.as_str())
                .bind(number)
                .bind(limit),
            )
            .await
            .map_err(store_error)?
            .iter()
            .map(rows::version)
            .collect::<Result<Vec<_>, _>>()?
        };
        let trainings_where = match part {
            None => Some("version_number > $2"),
            Some(ProjectPart::Version(_)) => Some("version_number = $2"),
            Some(ProjectPart::Head | ProjectPart::ActiveVersions { .. }) => None,
        };
        let trainings = match trainings_where {
            None => Vec::new(),
            Some(filter) => tx
                .fetch_all(
                    sqlx::query(&format!(
                        "SELECT id, project_id, version_number, status, started_at, ended_at, \
                                trash_op_id, trash_cascaded \
                         FROM trainings WHERE project_id = $1 AND {filter} ORDER BY id"
                    ))
                    .bind(id.as_str())
                    .bind(number),
                )
                .await
                .map_err(store_error)?
                .iter()
                .map(rows::training)
                .collect::<Result<Vec<_>, _>>()?,
        };
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn listing_takes_its_page_from_the_function_and_joins_nothing() {
        let sql: &str = &LIST_SQL;
        assert!(sql.contains("FROM trash_list_page($1, $2, $3, $4, $5) o"));
        assert!(!sql.contains("JOIN"), "one page; names by primary key");
        assert!(!sql.contains("$6"));
    }
}
