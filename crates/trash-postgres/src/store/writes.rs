//! The trash-writes role: applying the plans the rules made, guarded.

use async_trait::async_trait;
use trash_core::domain::*;
use trash_core::ports::*;

use super::{bump, bump_if, is_slug_index, record, sql_time};
use crate::error::{is_foreign_key_violation, is_unique_violation, store_error};
use crate::rows::{self, get};
use crate::PgStore;

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

/// Locks the images linked to the projects `$1` names, in id order.
const LOCK_LINKED_IMAGES_SQL: &str = "SELECT count(*) FROM ( \
         SELECT i.id FROM images i JOIN project_images l ON l.image_id = i.id \
         WHERE l.project_id = ANY($1::text[]) \
         ORDER BY i.id FOR UPDATE OF i) AS locked";

/// Removes exactly the rows a purge plan names, in one statement, and
/// counts them. Foreign keys are checked when the statement ends, so rows
/// that refer to each other (an item and the operation that trashed it, a
/// version and its trainings, a project and its links) go together, and a
/// row left behind that still depends on a removed one fails the whole
/// purge instead of being removed unasked (no foreign key cascades).
///
/// Every sub-statement sees the snapshot taken when the statement starts,
/// after the images were locked: an image linked to a removed project of
/// `$7` (the projects whose plan asks for orphaned images to go) is deleted
/// when no project outside `$1` (every removed project) links it.
/// Pending cancellations are not touched: the jobs of removed trainings may
/// still be running.
const PURGE_SQL: &str = "WITH gone_trainings AS (DELETE FROM trainings \
             WHERE id = ANY($4::text[]) RETURNING 1), \
         gone_versions AS (DELETE FROM versions v \
             USING unnest($2::text[], $3::int4[]) AS r(project_id, number) \
             WHERE v.project_id = r.project_id AND v.number = r.number RETURNING 1), \
         gone_links AS (DELETE FROM project_images \
             WHERE project_id = ANY($1::text[]) RETURNING project_id, image_id), \
         gone_images AS (DELETE FROM images i \
             WHERE i.id IN (SELECT image_id FROM gone_links \
                            WHERE project_id = ANY($7::text[])) \
               AND NOT EXISTS (SELECT 1 FROM project_images l \
                               WHERE l.image_id = i.id AND l.project_id <> ALL($1::text[])) \
             RETURNING 1), \
         gone_projects AS (DELETE FROM projects \
             WHERE id = ANY($1::text[]) RETURNING 1), \
         gone_workflows AS (DELETE FROM workflows \
             WHERE id = ANY($5::text[]) RETURNING 1), \
         gone_operations AS (DELETE FROM trash_operations \
             WHERE id = ANY($6::text[])) \
     SELECT (SELECT count(*) FROM gone_projects) AS projects, \
            (SELECT count(*) FROM gone_versions) AS versions, \
            (SELECT count(*) FROM gone_trainings) AS trainings, \
            (SELECT count(*) FROM gone_workflows) AS workflows, \
            (SELECT count(*) FROM gone_images) AS images";

/// The rows of one or more [`PurgeSet`]s as the arrays [`PURGE_SQL`] binds.
#[derive(Default)]
struct PurgeArrays<'a> {
    projects: Vec<&'a str>,
    version_projects: Vec<&'a str>,
    version_numbers: Vec<i32>,
    trainings: Vec<&'a str>,
    workflows: Vec<&'a str>,
    operations: Vec<&'a str>,
    /// The removed projects whose plan deletes the images they orphan.
    orphaning: Vec<&'a str>,
}

impl<'a> PurgeArrays<'a> {
    fn of(plan: &'a PurgePlan) -> PurgeArrays<'a> {
        let mut arrays = PurgeArrays::default();
        arrays.add(plan);
        arrays
    }

    fn add(&mut self, plan: &'a PurgePlan) {
        let set = &plan.remove;
        self.projects
            .extend(set.projects.iter().map(|p| p.as_str()));
        self.version_projects
            .extend(set.versions.iter().map(|(p, _)| p.as_str()));
        self.version_numbers
            .extend(set.versions.iter().map(|(_, n)| rows::number_to_sql(*n)));
        self.trainings
            .extend(set.trainings.iter().map(|t| t.as_str()));
        self.workflows
            .extend(set.workflows.iter().map(|w| w.as_str()));
        self.operations
            .extend(set.operations.iter().map(|o| o.as_str()));
        if plan.delete_orphaned_images {
            self.orphaning
                .extend(set.projects.iter().map(|p| p.as_str()));
        }
    }
}

/// Checks the guards of a batch of purge plans and bumps their revisions,
/// in one statement: locks the aggregates' rows in id order (projects,
/// then workflows, as every batch does, so two batches cannot deadlock),
/// keeping those still at the planned revision whose operation exists;
/// and reads the batch's workspaces `FOR SHARE`, keeping those whose hold
/// revision is still the planned one (a hold being placed holds the row:
/// the check waits for it and then sees its revision).
const BATCH_GUARD_SQL: &str =
    "WITH pg AS (SELECT * FROM unnest($1::text[], $2::int8[], $3::text[]) \
             AS g(id, revision, op)), \
         pl AS (SELECT p.id FROM projects p JOIN pg ON pg.id = p.id \
             WHERE p.revision = pg.revision \
               AND EXISTS (SELECT 1 FROM trash_operations o WHERE o.id = pg.op) \
             ORDER BY p.id FOR UPDATE OF p), \
         pu AS (UPDATE projects p SET revision = p.revision + 1 FROM pl \
             WHERE p.id = pl.id RETURNING 1), \
         wg AS (SELECT * FROM unnest($4::text[], $5::int8[], $6::text[]) \
             AS g(id, revision, op)), \
         wl AS (SELECT w.id FROM workflows w JOIN wg ON wg.id = w.id \
             WHERE w.revision = wg.revision \
               AND EXISTS (SELECT 1 FROM trash_operations o WHERE o.id = wg.op) \
             ORDER BY w.id FOR UPDATE OF w), \
         wu AS (UPDATE workflows w SET revision = w.revision + 1 FROM wl \
             WHERE w.id = wl.id RETURNING 1), \
         hg AS (SELECT * FROM unnest($7::text[], $8::int8[]) AS g(slug, revision)), \
         hl AS (SELECT ws.slug FROM workspaces ws JOIN hg ON hg.slug = ws.slug \
             WHERE ws.hold_revision = hg.revision \
             ORDER BY ws.slug FOR SHARE OF ws) \
     SELECT (SELECT count(*) FROM pu) AS projects, (SELECT count(*) FROM wu) AS workflows, \
            (SELECT count(*) FROM hl) AS holds";

/// Checks that no hold was placed in the workspace since the plan was
/// decided, reading its row `FOR SHARE` (held until commit): a hold being
/// placed holds the row, so the check waits for it and then fails; a hold
/// placed later waits for this transaction.
async fn check_holds(tx: &mut crate::exec::Tx<'_>, holds: &HoldGuard) -> Result<(), StoreError> {
    let row = tx
        .fetch_optional(
            sqlx::query(
                "SELECT 1 AS ok FROM workspaces WHERE slug = $1 AND hold_revision = $2 FOR SHARE",
            )
            .bind(holds.workspace.as_str())
            .bind(holds.revision.0),
        )
        .await
        .map_err(store_error)?;
    match row {
        Some(_) => Ok(()),
        None => Err(StoreError::Conflict),
    }
}

/// Runs the purge statement over `named` (after locking the images it may
/// delete) and reports what it removed.
async fn remove_named(
    tx: &mut crate::exec::Tx<'_>,
    named: &PurgeArrays<'_>,
) -> Result<PurgeCounts, StoreError> {
    if !named.orphaning.is_empty() {
        // Lock the images linked to the removed projects (in id order, so
        // two purges sharing images cannot deadlock) before deciding which
        // are orphaned: a concurrent link_image either committed before
        // (and is seen below) or waits for us.
        tx.execute(sqlx::query(LOCK_LINKED_IMAGES_SQL).bind(&named.projects))
            .await
            .map_err(store_error)?;
    }
    let row = tx
        .fetch_optional(
            sqlx::query(PURGE_SQL)
                .bind(&named.projects)
                .bind(&named.version_projects)
                .bind(&named.version_numbers)
                .bind(&named.trainings)
                .bind(&named.workflows)
                .bind(&named.operations)
                .bind(&named.orphaning),
        )
        .await
        .map_err(purge_error)?
        .ok_or_else(|| StoreError::Internal("the purge returned no counts".into()))?;
    let count = |column: &str| -> Result<u64, StoreError> {
        let n: i64 = get(&row, column)?;
        u64::try_from(n).map_err(|e| StoreError::Internal(format!("{column}: {e}")))
    };
    Ok(PurgeCounts {
        projects: count("projects")?,
        versions: count("versions")?,
        workflows: count("workflows")?,
        trainings: count("trainings")?,
        images: count("images")?,
    })
}

/// Maps the failure of the purge statement: a foreign-key violation means
/// the plan removes a row that something it leaves behind depends on.
fn purge_error(error: sqlx::Error) -> StoreError {
    if is_foreign_key_violation(&error) {
        let detail = match &error {
            sqlx::Error::Database(db) => db.message().to_owned(),
            other => other.to_string(),
        };
        StoreError::Internal(format!(
            "the purge plan leaves rows that depend on removed ones: {detail}"
        ))
    } else {
        store_error(error)
    }
}

#[async_trait]
impl TrashWrites for PgStore {
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
            record(&mut tx, &plan.events).await?;
            super::outbox::enqueue(&mut tx, &plan.outbox).await
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
            record(&mut tx, &plan.events)
                .await
                .map_err(Restore::Failed)?;
            super::outbox::withdraw_notices(&mut tx, &[op])
                .await
                .map_err(Restore::Failed)?;
            super::outbox::enqueue(&mut tx, &plan.outbox)
                .await
                .map_err(Restore::Failed)
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
        let named = PurgeArrays::of(plan);
        let mut tx = self.begin().await?;
        let result = async {
            check_holds(&mut tx, &plan.holds).await?;
            bump_if(&mut tx, &plan.guard, Some(&plan.operation)).await?;
            let counts = remove_named(&mut tx, &named).await?;
            record(&mut tx, &plan.events).await?;
            super::outbox::withdraw_notices(&mut tx, &named.operations).await?;
            super::outbox::enqueue(&mut tx, &plan.outbox).await?;
            Ok(counts)
        }
        .await;
        tx.finish(result).await
    }

    async fn purge_batch(
        &self,
        plans: &[PurgePlan],
        time_limit: chrono::Duration,
    ) -> Result<PurgeCounts, StoreError> {
        if plans.is_empty() {
            return Ok(PurgeCounts::default());
        }
        let mut named = PurgeArrays::default();
        let (mut p_ids, mut p_revs, mut p_ops) = (Vec::new(), Vec::new(), Vec::new());
        let (mut w_ids, mut w_revs, mut w_ops) = (Vec::new(), Vec::new(), Vec::new());
        let mut events = Vec::new();
        let mut outbox = Vec::new();
        let (mut h_slugs, mut h_revs): (Vec<&str>, Vec<i64>) = (Vec::new(), Vec::new());
        for plan in plans {
            let ws = plan.holds.workspace.as_str();
            match h_slugs.iter().position(|s| *s == ws) {
                Some(i) if h_revs[i] != plan.holds.revision.0 => {
                    // Two reads of one workspace's holds disagree: stale.
                    return Err(StoreError::Conflict);
                }
                Some(_) => {}
                None => {
                    h_slugs.push(ws);
                    h_revs.push(plan.holds.revision.0);
                }
            }
            named.add(plan);
            outbox.extend(plan.outbox.iter().cloned());
            match &plan.guard.aggregate {
                AggregateId::Project(id) => {
                    p_ids.push(id.as_str());
                    p_revs.push(plan.guard.revision.0);
                    p_ops.push(plan.operation.as_str());
                }
                AggregateId::Workflow(id) => {
                    w_ids.push(id.as_str());
                    w_revs.push(plan.guard.revision.0);
                    w_ops.push(plan.operation.as_str());
                }
            }
            events.extend(plan.events.iter().cloned());
        }
        let limit_ms = time_limit.num_milliseconds().max(1);
        let started = std::time::Instant::now();
        let mut tx = self.begin().await?;
        let result = async {
            // No statement of the batch may run past the limit ...
            tx.execute(
                sqlx::query("SELECT set_config('statement_timeout', $1, true)")
                    .bind(format!("{limit_ms}ms")),
            )
            .await
            .map_err(store_error)?;
            let row = tx
                .fetch_optional(
                    sqlx::query(BATCH_GUARD_SQL)
                        .bind(&p_ids)
                        .bind(&p_revs)
                        .bind(&p_ops)
                        .bind(&w_ids)
                        .bind(&w_revs)
                        .bind(&w_ops)
                        .bind(&h_slugs)
                        .bind(&h_revs),
                )
                .await
                .map_err(store_error)?
                .ok_or_else(|| StoreError::Internal("the guard returned no counts".into()))?;
            let bumped: (i64, i64) = (get(&row, "projects")?, get(&row, "workflows")?);
            if bumped != (p_ids.len() as i64, w_ids.len() as i64) {
                return Err(StoreError::Conflict);
            }
            let unheld: i64 = get(&row, "holds")?;
            if unheld != h_slugs.len() as i64 {
                // A hold was placed in one of the workspaces since.
                return Err(StoreError::Conflict);
            }
            let counts = remove_named(&mut tx, &named).await?;
            record(&mut tx, &events).await?;
            super::outbox::withdraw_notices(&mut tx, &named.operations).await?;
            super::outbox::enqueue(&mut tx, &outbox).await?;
            // ... and the whole transaction commits within it, or not at all.
            if started.elapsed().as_millis() > limit_ms as u128 {
                return Err(StoreError::Unavailable(format!(
                    "the purge batch ran past its time limit of {limit_ms} ms"
                )));
            }
            Ok(counts)
        }
        .await;
        tx.finish(result).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
