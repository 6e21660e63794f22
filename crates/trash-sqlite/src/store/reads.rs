//! [`TrashReads`] and [`AuditLog`]: the aggregates the rules decide on, the
//! slug holders, the listing and the audit trail.

use super::*;

/// Every item of `space` in the workspace whose slug is `slug`: the active
/// one and the trashed ones, each with the `deleted_at` of the operation it
/// records. Which of them a slug means is the core's rule, not this query's.
async fn slug_holders<Id, E: std::fmt::Display>(
    pool: &SqlitePool,
    workspace: &WorkspaceSlug,
    space: SlugSpace,
    slug: &Slug,
    parse_id: impl Fn(&str) -> Result<Id, E>,
) -> Result<Vec<SlugHolder<Id>>, StoreError> {
    let (sql, what) = match space {
        SlugSpace::Projects => (
            "SELECT i.id, i.trash_op_id, o.deleted_at FROM projects i \
             LEFT JOIN operations o ON o.id = i.trash_op_id \
             WHERE i.workspace = ?1 AND i.slug = ?2 ORDER BY i.id",
            "project id",
        ),
        SlugSpace::Workflows => (
            "SELECT i.id, i.trash_op_id, o.deleted_at FROM workflows i \
             LEFT JOIN operations o ON o.id = i.trash_op_id \
             WHERE i.workspace = ?1 AND i.slug = ?2 ORDER BY i.id",
            "workflow id",
        ),
    };
    let rows: Vec<(String, Option<String>, Option<i64>)> = sqlx::query_as(sql)
        .bind(workspace.as_str())
        .bind(slug.as_str())
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.into_iter()
        .map(|(id, op, deleted_at)| {
            let trashed_at = match (op, deleted_at) {
                (None, _) => None,
                (Some(_), Some(at)) => Some(ts("operation deletion time", at)?),
                (Some(op), None) => {
                    return Err(StoreError::Internal(format!(
                        "{id} records the missing operation {op}"
                    )))
                }
            };
            Ok(SlugHolder {
                id: parse(what, &id, &parse_id)?,
                trashed_at,
            })
        })
        .collect()
}
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
            ItemRef::Project(id) => TrashedItem::Project(ProjectItem {
                id: id.clone(),
                slug: project_slug(p_slug)?,
                name: parse("project name", &need(p_name)?, Name::from_stored)?,
            }),
            ItemRef::Version(project, number) => TrashedItem::Version(VersionItem {
                project: project.clone(),
                project_slug: project_slug(p_slug)?,
                project_name: parse("project name", &need(p_name)?, Name::from_stored)?,
                number: *number,
                name: parse("version name", &need(v_name)?, Name::from_stored)?,
            }),
            ItemRef::Workflow(id) => TrashedItem::Workflow(WorkflowItem {
                id: id.clone(),
                slug: parse("workflow slug", &need(w_slug)?, Slug::parse)?,
                name: parse("workflow name", &need(w_name)?, Name::from_stored)?,
            }),
            ItemRef::Training(id) => {
                let version = t_version.ok_or_else(|| dangling(&operation))?;
                TrashedItem::Training(TrainingItem {
                    id: id.clone(),
                    project: parse("project id", &need(op_project)?, ProjectId::parse)?,
                    project_slug: project_slug(p_slug)?,
                    version: version_number(version)?,
                })
            }
        };
        Ok(TrashEntry { operation, item })
    }
}

pub(super) fn list_sql(kind: bool, after: bool) -> String {
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
impl TrashReads for SqliteStore {
    async fn exclusive_images(
        &self,
        workspace: &WorkspaceSlug,
        project: &ProjectId,
    ) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM image_links l \
             JOIN projects p ON p.id = l.project_id AND p.workspace = ?1 \
             WHERE l.project_id = ?2 \
               AND NOT EXISTS (SELECT 1 FROM image_links o \
                               WHERE o.image_id = l.image_id AND o.project_id <> ?2)",
        )
        .bind(workspace.as_str())
        .bind(project.as_str())
        .fetch_one(&self.reader)
        .await
        .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn projects_with_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Vec<SlugHolder<ProjectId>>, StoreError> {
        slug_holders(
            &self.reader,
            workspace,
            SlugSpace::Projects,
            slug,
            ProjectId::parse,
        )
        .await
    }

    async fn workflows_with_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Vec<SlugHolder<WorkflowId>>, StoreError> {
        slug_holders(
            &self.reader,
            workspace,
            SlugSpace::Workflows,
            slug,
            WorkflowId::parse,
        )
        .await
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
}

#[async_trait]
impl AuditLog for SqliteStore {
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

    async fn audit_page(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let kinds: Vec<&str> = query.kinds.iter().map(|k| k.as_str()).collect();
        let kinds = serde_json::to_string(&kinds)
            .map_err(|e| StoreError::Internal(format!("audit kinds: {e}")))?;
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events \
             WHERE workspace = ?1 AND seq < ?2 \
               AND kind IN (SELECT value FROM json_each(?3)) \
               AND (?4 IS NULL OR item_kind = ?4) \
             ORDER BY seq DESC LIMIT ?5"
        );
        sqlx::query_as::<_, AuditRow>(&sql)
            .bind(query.workspace.as_str())
            .bind(query.before.unwrap_or(i64::MAX))
            .bind(kinds)
            .bind(query.item_kind.map(|k| k.as_str()))
            .bind(i64::from(query.limit))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?
            .into_iter()
            .map(AuditRecord::try_from)
            .collect()
    }
}

/// A project read at one revision: whole (`part` is `None`) or only the
/// versions and trainings of `part`, each read on an index so that the
/// rows left out cost nothing.
async fn read_project(
    store: &SqliteStore,
    workspace: &WorkspaceSlug,
    id: &ProjectId,
    part: Option<ProjectPart>,
) -> Result<Option<ProjectAggregate>, StoreError> {
    let mut tx = store.begin_read().await?;
    let result = async {
        let conn = &mut *tx;
        let Some(row) = project_row(conn, workspace, id).await? else {
            return Ok(None);
        };
        let (versions_where, number, limit): (&str, i64, i64) = match part {
            // Every variant binds ?2 and ?3 (numbers start at 1; LIMIT -1 is none).
            None | Some(ProjectPart::Head) => ("AND number > ?2", 0, -1),
            Some(ProjectPart::Version(n)) => ("AND number = ?2", i64::from(n.get()), -1),
            Some(ProjectPart::ActiveVersions { after, limit }) => (
                "AND trash_op_id IS NULL AND number > ?2",
                after.map_or(0, |a| i64::from(a.get())),
                i64::from(limit),
            ),
        };
        let versions = if matches!(part, Some(ProjectPart::Head)) {
            Vec::new()
        } else {
            sqlx::query_as::<_, VersionRow>(&format!(
                "SELECT {VERSION_COLUMNS} FROM versions WHERE project_id = ?1 {versions_where} \
                 ORDER BY number LIMIT ?3"
            ))
            .bind(id.as_str())
            .bind(number)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?
            .into_iter()
            .map(Version::try_from)
            .collect::<Result<Vec<_>, _>>()?
        };
        let trainings_where = match part {
            None => Some("AND version > ?2"),
            Some(ProjectPart::Version(_)) => Some("AND version = ?2"),
            Some(ProjectPart::Head | ProjectPart::ActiveVersions { .. }) => None,
        };
        let trainings = match trainings_where {
            None => Vec::new(),
            Some(filter) => sqlx::query_as::<_, TrainingRow>(&format!(
                "SELECT {TRAINING_COLUMNS} FROM trainings WHERE project_id = ?1 {filter} \
                 ORDER BY id"
            ))
            .bind(id.as_str())
            .bind(number)
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?
            .into_iter()
            .map(Training::try_from)
            .collect::<Result<Vec<_>, _>>()?,
        };
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
