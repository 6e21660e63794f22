//! [`LegalHolds`]: holds and the workspace's hold revision. Placing a hold
//! bumps the revision in a write transaction; a purge checks it in its own
//! write transaction. SQLite has one writer at a time, so the two exclude
//! each other: whichever commits first decides.

use sqlx::Row;

use super::*;

/// The columns of a hold, after the workspace and its revision.
const HOLDS_SQL: &str = "SELECT w.slug AS ws, w.hold_revision AS revision, h.id, h.target_kind, \
            h.project_id, h.version, h.workflow_id, h.training_id, h.reason, h.created_at, \
            h.actor_kind, h.actor_id, h.actor_name \
     FROM workspaces w LEFT JOIN holds h ON h.workspace = w.slug \
     WHERE w.slug IN (SELECT value FROM json_each(?1)) \
     ORDER BY w.slug, h.created_at, h.id";

fn hold_of(row: &sqlx::sqlite::SqliteRow, workspace: &WorkspaceSlug) -> Result<Hold, StoreError> {
    let get_s = |c: &str| -> Result<Option<String>, StoreError> { row.try_get(c).map_err(db) };
    let need = |c: &str| -> Result<String, StoreError> {
        get_s(c)?.ok_or_else(|| crate::error::corrupt("hold column", c))
    };
    let kind = need("target_kind")?;
    let project = || -> Result<ProjectId, StoreError> {
        parse("project id", &need("project_id")?, ProjectId::parse)
    };
    let version = || -> Result<VersionNumber, StoreError> {
        let n: Option<i64> = row.try_get("version").map_err(db)?;
        version_number(n.ok_or_else(|| crate::error::corrupt("hold column", "version"))?)
    };
    let target = match kind.as_str() {
        "workspace" => HoldTarget::Workspace,
        "project" => HoldTarget::Project(project()?),
        "version" => HoldTarget::Version(project()?, version()?),
        "workflow" => HoldTarget::Workflow(parse(
            "workflow id",
            &need("workflow_id")?,
            WorkflowId::parse,
        )?),
        "training" => HoldTarget::Training {
            id: parse("training id", &need("training_id")?, TrainingId::parse)?,
            project: project()?,
            version: version()?,
        },
        other => return Err(crate::error::corrupt("hold target kind", other)),
    };
    let created_at: i64 = row.try_get("created_at").map_err(db)?;
    Ok(Hold {
        id: parse("hold id", &need("id")?, HoldId::parse)?,
        workspace: workspace.clone(),
        target,
        reason: parse("hold reason", &need("reason")?, HoldReason::parse)?,
        created_at: ts("hold time", created_at)?,
        created_by: Actor {
            kind: parse("actor kind", &need("actor_kind")?, ActorKind::parse)?,
            id: need("actor_id")?,
            name: need("actor_name")?,
        },
    })
}

/// The columns naming a hold's target: kind, project, version, workflow, training.
fn target_columns(
    target: &HoldTarget,
) -> (
    &'static str,
    Option<&str>,
    Option<i64>,
    Option<&str>,
    Option<&str>,
) {
    let kind = target.kind_str();
    match target {
        HoldTarget::Workspace => (kind, None, None, None, None),
        HoldTarget::Project(p) => (kind, Some(p.as_str()), None, None, None),
        HoldTarget::Version(p, n) => (kind, Some(p.as_str()), Some(number_value(*n)), None, None),
        HoldTarget::Workflow(w) => (kind, None, None, Some(w.as_str()), None),
        HoldTarget::Training {
            id,
            project,
            version,
        } => (
            kind,
            Some(project.as_str()),
            Some(number_value(*version)),
            None,
            Some(id.as_str()),
        ),
    }
}

#[async_trait]
impl LegalHolds for SqliteStore {
    async fn holds(&self, workspace: &WorkspaceSlug) -> Result<WorkspaceHolds, StoreError> {
        let mut all = self.holds_of(std::slice::from_ref(workspace)).await?;
        Ok(all
            .pop()
            .unwrap_or_else(|| WorkspaceHolds::none(workspace.clone())))
    }

    async fn holds_of(
        &self,
        workspaces: &[WorkspaceSlug],
    ) -> Result<Vec<WorkspaceHolds>, StoreError> {
        if workspaces.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(HOLDS_SQL)
            .bind(json_strings(workspaces.iter().map(|w| w.as_str())))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        let mut out: Vec<WorkspaceHolds> = workspaces
            .iter()
            .map(|w| WorkspaceHolds::none(w.clone()))
            .collect();
        for row in &rows {
            let ws: String = row.try_get("ws").map_err(db)?;
            let Some(entry) = out.iter_mut().find(|e| e.workspace.as_str() == ws) else {
                continue;
            };
            entry.revision = Revision(row.try_get("revision").map_err(db)?);
            let id: Option<String> = row.try_get("id").map_err(db)?;
            if id.is_some() {
                let hold = hold_of(row, &entry.workspace)?;
                entry.holds.push(hold);
            }
        }
        Ok(out)
    }

    async fn place_hold(&self, hold: &Hold, event: &AuditEvent) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let (kind, project, version, workflow, training) = target_columns(&hold.target);
            sqlx::query(
                "INSERT INTO holds (id, workspace, target_kind, project_id, version, workflow_id, \
                                    training_id, reason, created_at, actor_kind, actor_id, \
                                    actor_name) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .bind(hold.id.as_str())
            .bind(hold.workspace.as_str())
            .bind(kind)
            .bind(project)
            .bind(version)
            .bind(workflow)
            .bind(training)
            .bind(hold.reason.as_str())
            .bind(hold.created_at.unix_millis())
            .bind(hold.created_by.kind.as_str())
            .bind(&hold.created_by.id)
            .bind(&hold.created_by.name)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::AlreadyExists
                } else {
                    db(e)
                }
            })?;
            let bumped = sqlx::query(
                "UPDATE workspaces SET hold_revision = hold_revision + 1 WHERE slug = ?1",
            )
            .bind(hold.workspace.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            if bumped.rows_affected() != 1 {
                return Err(StoreError::Missing);
            }
            record(&mut tx, std::slice::from_ref(event)).await
        }
        .await;
        finish(tx, result).await
    }

    async fn release_hold(
        &self,
        workspace: &WorkspaceSlug,
        id: &HoldId,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let gone = sqlx::query("DELETE FROM holds WHERE id = ?1 AND workspace = ?2")
                .bind(id.as_str())
                .bind(workspace.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            if gone.rows_affected() == 0 {
                return Ok(false);
            }
            sqlx::query(
                "UPDATE operations SET claimed_until = NULL \
                 WHERE workspace = ?1 AND claimed_until IS NOT NULL",
            )
            .bind(workspace.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            record(&mut tx, std::slice::from_ref(event)).await?;
            Ok(true)
        }
        .await;
        finish(tx, result).await
    }
}
