//! The legal-holds role. Placing a hold updates `workspaces.hold_revision`
//! (a row lock on the workspace, held until commit); a purge reads that
//! row `FOR SHARE` in its own transaction and refuses to go on when the
//! revision moved (see `writes.rs`). The two row locks conflict, so the
//! hold and the purge are ordered by the workspace row: a hold that commits
//! first makes the purge (waiting on the row, then re-reading it) conflict;
//! a hold that comes second waits until the purge has committed.

use super::*;

/// The workspaces with their revision and holds (one statement, so one
/// snapshot).
const HOLDS_SQL: &str = "SELECT w.slug AS ws, w.hold_revision, h.id, h.target_kind, \
            h.project_id, h.version_number, h.workflow_id, h.training_id, h.reason, \
            h.created_at, h.actor_kind, h.actor_id, h.actor_name \
     FROM workspaces w LEFT JOIN holds h ON h.workspace = w.slug \
     WHERE w.slug = ANY($1::text[]) \
     ORDER BY w.slug, h.created_at, h.id";

fn hold_of(row: &PgRow, workspace: &WorkspaceSlug) -> Result<Hold, StoreError> {
    let kind: String = get(row, "target_kind")?;
    let version = || -> Result<VersionNumber, StoreError> {
        let n: Option<i32> = get(row, "version_number")?;
        rows::number_from(n.ok_or_else(|| crate::error::corrupt("hold", "version missing"))?)
    };
    let target = match kind.as_str() {
        "workspace" => HoldTarget::Workspace,
        "project" => HoldTarget::Project(rows::project_id(row, "project_id")?),
        "version" => HoldTarget::Version(rows::project_id(row, "project_id")?, version()?),
        "workflow" => HoldTarget::Workflow(rows::workflow_id(row, "workflow_id")?),
        "training" => HoldTarget::Training {
            id: rows::training_id(row, "training_id")?,
            project: rows::project_id(row, "project_id")?,
            version: version()?,
        },
        other => return Err(crate::error::corrupt("hold target kind", other)),
    };
    let id: String = get(row, "id")?;
    let reason: String = get(row, "reason")?;
    Ok(Hold {
        id: rows::parse("hold id", &id, HoldId::parse)?,
        workspace: workspace.clone(),
        target,
        reason: rows::parse("hold reason", &reason, HoldReason::parse)?,
        created_at: rows::timestamp(row, "created_at")?,
        created_by: rows::actor(row)?,
    })
}

#[async_trait]
impl LegalHolds for PgStore {
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
        let slugs: Vec<&str> = workspaces.iter().map(|w| w.as_str()).collect();
        let found = self.fetch_all(sqlx::query(HOLDS_SQL).bind(&slugs)).await?;
        let mut out: Vec<WorkspaceHolds> = workspaces
            .iter()
            .map(|w| WorkspaceHolds::none(w.clone()))
            .collect();
        for row in &found {
            let ws: String = get(row, "ws")?;
            let Some(entry) = out.iter_mut().find(|e| e.workspace.as_str() == ws) else {
                continue;
            };
            entry.revision = Revision(get(row, "hold_revision")?);
            let id: Option<String> = get(row, "id")?;
            if id.is_some() {
                let hold = hold_of(row, &entry.workspace)?;
                entry.holds.push(hold);
            }
        }
        Ok(out)
    }

    async fn place_hold(&self, hold: &Hold, event: &AuditEvent) -> Result<(), StoreError> {
        let (project, version, workflow, training) = match &hold.target {
            HoldTarget::Workspace => (None, None, None, None),
            HoldTarget::Project(p) => (Some(p.as_str()), None, None, None),
            HoldTarget::Version(p, n) => {
                (Some(p.as_str()), Some(rows::number_to_sql(*n)), None, None)
            }
            HoldTarget::Workflow(w) => (None, None, Some(w.as_str()), None),
            HoldTarget::Training {
                id,
                project,
                version,
            } => (
                Some(project.as_str()),
                Some(rows::number_to_sql(*version)),
                None,
                Some(id.as_str()),
            ),
        };
        let mut tx = self.begin().await?;
        let result = async {
            // First the workspace row: from here until commit no purge of
            // the workspace can pass its hold check (it waits for us).
            let bumped = tx
                .execute(
                    sqlx::query(
                        "UPDATE workspaces SET hold_revision = hold_revision + 1 WHERE slug = $1",
                    )
                    .bind(hold.workspace.as_str()),
                )
                .await
                .map_err(store_error)?;
            if bumped != 1 {
                return Err(StoreError::Missing);
            }
            tx.execute(
                sqlx::query(
                    "INSERT INTO holds (id, workspace, target_kind, project_id, version_number, \
                                        workflow_id, training_id, reason, created_at, \
                                        actor_kind, actor_id, actor_name) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(hold.id.as_str())
                .bind(hold.workspace.as_str())
                .bind(hold.target.kind_str())
                .bind(project)
                .bind(version)
                .bind(workflow)
                .bind(training)
                .bind(hold.reason.as_str())
                .bind(sql_time(hold.created_at))
                .bind(hold.created_by.kind.as_str())
                .bind(&hold.created_by.id)
                .bind(&hold.created_by.name),
            )
            .await
            .map_err(|e| {
                if is_unique_violation(&e, None) {
                    StoreError::AlreadyExists
                } else {
                    store_error(e)
                }
            })?;
            record(&mut tx, std::slice::from_ref(event)).await
        }
        .await;
        tx.finish(result).await
    }

    async fn release_hold(
        &self,
        workspace: &WorkspaceSlug,
        id: &HoldId,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let result = async {
            let gone = tx
                .execute(
                    sqlx::query("DELETE FROM holds WHERE id = $1 AND workspace = $2")
                        .bind(id.as_str())
                        .bind(workspace.as_str()),
                )
                .await
                .map_err(store_error)?;
            if gone == 0 {
                return Ok(false);
            }
            tx.execute(
                sqlx::query(
                    "UPDATE trash_operations SET claimed_until = NULL \
                     WHERE workspace = $1 AND claimed_until IS NOT NULL",
                )
                .bind(workspace.as_str()),
            )
            .await
            .map_err(store_error)?;
            record(&mut tx, std::slice::from_ref(event)).await?;
            Ok(true)
        }
        .await;
        tx.finish(result).await
    }
}
