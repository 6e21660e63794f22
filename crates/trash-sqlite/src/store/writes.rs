//! [`TrashWrites`]: applying trash, restore and purge plans, each in one
//! immediate transaction that checks and bumps the guard first. Every
//! statement is set-based (lists are passed as one JSON array and expanded
//! with `json_each(?)`), so the number of statements does not grow with the
//! number of versions or trainings.

use super::*;

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
    record(conn, &plan.events).await?;
    super::outbox::enqueue(conn, &plan.outbox).await
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
    record(conn, &plan.events).await?;
    super::outbox::withdraw_notices(conn, [&plan.operation]).await?;
    super::outbox::enqueue(conn, &plan.outbox).await
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

/// The statements of a purge, one per table, each over a JSON array bound
/// as `?1`.
pub(super) mod purge_sql {
    /// Images linked to one of the projects and to no project outside them.
    pub(crate) const ORPHANED_IMAGES: &str = "DELETE FROM images WHERE id IN ( \
         SELECT l.image_id FROM image_links l \
         WHERE l.project_id IN (SELECT value FROM json_each(?1)) \
         AND NOT EXISTS (SELECT 1 FROM image_links o WHERE o.image_id = l.image_id \
             AND o.project_id NOT IN (SELECT value FROM json_each(?1))))";
    /// Images linked to a project of `?1` (those whose plan asks) and to no
    /// project outside `?2` (every project the batch removes).
    pub(crate) const ORPHANED_IMAGES_OF_BATCH: &str = "DELETE FROM images WHERE id IN ( \
         SELECT l.image_id FROM image_links l \
         WHERE l.project_id IN (SELECT value FROM json_each(?1)) \
         AND NOT EXISTS (SELECT 1 FROM image_links o WHERE o.image_id = l.image_id \
             AND o.project_id NOT IN (SELECT value FROM json_each(?2))))";
    /// Checks and bumps the revisions of a batch's projects: `[id, revision,
    /// operation, workspace, hold revision]` rows; only those still at the
    /// revision, whose operation exists and whose workspace's hold revision
    /// is still the planned one are bumped.
    pub(crate) const BATCH_GUARD_PROJECTS: &str = "UPDATE projects SET revision = revision + 1 \
         WHERE id IN (SELECT value ->> 0 FROM json_each(?1) \
                      WHERE EXISTS (SELECT 1 FROM operations o WHERE o.id = value ->> 2) \
                        AND EXISTS (SELECT 1 FROM workspaces w \
                                    WHERE w.slug = value ->> 3 AND w.hold_revision = value ->> 4)) \
           AND revision = (SELECT value ->> 1 FROM json_each(?1) \
                           WHERE value ->> 0 = projects.id)";
    /// The same for a batch's workflows.
    pub(crate) const BATCH_GUARD_WORKFLOWS: &str = "UPDATE workflows SET revision = revision + 1 \
         WHERE id IN (SELECT value ->> 0 FROM json_each(?1) \
                      WHERE EXISTS (SELECT 1 FROM operations o WHERE o.id = value ->> 2) \
                        AND EXISTS (SELECT 1 FROM workspaces w \
                                    WHERE w.slug = value ->> 3 AND w.hold_revision = value ->> 4)) \
           AND revision = (SELECT value ->> 1 FROM json_each(?1) \
                           WHERE value ->> 0 = workflows.id)";
    /// The image links of the projects.
    pub(crate) const IMAGE_LINKS: &str =
        "DELETE FROM image_links WHERE project_id IN (SELECT value FROM json_each(?1))";
    /// Operations by id.
    pub(crate) const OPERATIONS: &str =
        "DELETE FROM operations WHERE id IN (SELECT value FROM json_each(?1))";
    /// Trainings by id.
    pub(crate) const TRAININGS: &str =
        "DELETE FROM trainings WHERE id IN (SELECT value FROM json_each(?1))";
    /// Versions by `[project id, number]` pairs.
    pub(crate) const VERSIONS: &str = "DELETE FROM versions WHERE (project_id, number) IN \
         (SELECT value ->> 0, value ->> 1 FROM json_each(?1))";
    /// Projects by id.
    pub(crate) const PROJECTS: &str =
        "DELETE FROM projects WHERE id IN (SELECT value FROM json_each(?1))";
    /// Workflows by id.
    pub(crate) const WORKFLOWS: &str =
        "DELETE FROM workflows WHERE id IN (SELECT value FROM json_each(?1))";
    /// Every one of them, for the query-plan test.
    #[cfg(test)]
    pub(crate) const ALL: [&str; 10] = [
        ORPHANED_IMAGES,
        ORPHANED_IMAGES_OF_BATCH,
        BATCH_GUARD_PROJECTS,
        BATCH_GUARD_WORKFLOWS,
        IMAGE_LINKS,
        OPERATIONS,
        TRAININGS,
        VERSIONS,
        PROJECTS,
        WORKFLOWS,
    ];
}

/// Removes exactly the rows the plan names, with one statement per table
/// whatever their number. The order follows the immediate references:
/// operations before the items they point at, trainings before their
/// versions, versions and image links before their projects. (Items point at
/// their operation through deferred references, checked at commit.)
async fn apply_purge(
    conn: &mut SqliteConnection,
    plan: &PurgePlan,
) -> Result<PurgeCounts, StoreError> {
    guard(conn, &plan.guard).await?;
    // The operation still exists and no hold was placed in its workspace
    // since the plan was decided (the write lock keeps both true until the
    // commit).
    let live: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM operations WHERE id = ?1 \
           AND EXISTS (SELECT 1 FROM workspaces WHERE slug = ?2 AND hold_revision = ?3)",
    )
    .bind(plan.operation.as_str())
    .bind(plan.holds.workspace.as_str())
    .bind(plan.holds.revision.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    if live.is_none() {
        return Err(StoreError::Conflict);
    }
    let set = &plan.remove;
    let mut counts = PurgeCounts::default();
    let projects = json_strings(set.projects.iter().map(|p| p.as_str()));
    if !set.projects.is_empty() && plan.delete_orphaned_images {
        // Images linked to a removed project and to no project that stays.
        // The write lock is held, so no link can appear before the commit.
        // Image links reference images through a deferred reference, so the
        // links of the removed projects can go right after.
        counts.images = remove(conn, purge_sql::ORPHANED_IMAGES, &projects).await?;
    }
    remove_rows(conn, set, &projects, &mut counts).await?;
    record(conn, &plan.events).await?;
    super::outbox::withdraw_notices(conn, &set.operations).await?;
    super::outbox::enqueue(conn, &plan.outbox).await?;
    Ok(counts)
}

/// Deletes the purge set's image links, operations, trainings, versions,
/// projects and workflows, one statement per table, in the order of their
/// immediate references; adds what went to `counts`. `projects` is the
/// set's projects as a JSON array. Pending cancellations are not touched:
/// they outlive their trainings.
async fn remove_rows(
    conn: &mut SqliteConnection,
    set: &PurgeSet,
    projects: &str,
    counts: &mut PurgeCounts,
) -> Result<(), StoreError> {
    if !set.projects.is_empty() {
        remove(conn, purge_sql::IMAGE_LINKS, projects).await?;
    }
    if !set.operations.is_empty() {
        remove(
            conn,
            purge_sql::OPERATIONS,
            &json_strings(set.operations.iter().map(|o| o.as_str())),
        )
        .await?;
    }
    if !set.trainings.is_empty() {
        counts.trainings = remove(
            conn,
            purge_sql::TRAININGS,
            &json_strings(set.trainings.iter().map(|t| t.as_str())),
        )
        .await?;
    }
    if !set.versions.is_empty() {
        counts.versions = remove(conn, purge_sql::VERSIONS, &json_versions(&set.versions)).await?;
    }
    if !set.projects.is_empty() {
        counts.projects = remove(conn, purge_sql::PROJECTS, projects).await?;
    }
    if !set.workflows.is_empty() {
        counts.workflows = remove(
            conn,
            purge_sql::WORKFLOWS,
            &json_strings(set.workflows.iter().map(|w| w.as_str())),
        )
        .await?;
    }
    Ok(())
}

/// Applies a batch of purge plans (on distinct aggregates) with one
/// statement per table whatever the number of plans: the guards of all
/// projects, then of all workflows, then the rows of every plan together,
/// then every event. Any stale guard fails the whole batch with `Conflict`.
/// Gives up with `Unavailable` once `time_limit` has passed.
async fn apply_purge_batch(
    conn: &mut SqliteConnection,
    plans: &[PurgePlan],
    time_limit: std::time::Duration,
) -> Result<PurgeCounts, StoreError> {
    let started = std::time::Instant::now();
    let in_time = || {
        if started.elapsed() > time_limit {
            Err(StoreError::Unavailable(format!(
                "the purge batch ran past its time limit of {} ms",
                time_limit.as_millis()
            )))
        } else {
            Ok(())
        }
    };
    let mut project_guards: Vec<serde_json::Value> = Vec::new();
    let mut workflow_guards: Vec<serde_json::Value> = Vec::new();
    let mut set = PurgeSet::default();
    let mut orphaning: Vec<&str> = Vec::new();
    let mut events = Vec::new();
    let mut outbox = Vec::new();
    for plan in plans {
        let guard = &plan.guard;
        let (list, id) = match &guard.aggregate {
            AggregateId::Project(id) => (&mut project_guards, id.as_str()),
            AggregateId::Workflow(id) => (&mut workflow_guards, id.as_str()),
        };
        list.push(serde_json::json!([
            id,
            guard.revision.0,
            plan.operation.as_str(),
            plan.holds.workspace.as_str(),
            plan.holds.revision.0
        ]));
        let r = &plan.remove;
        set.projects.extend(r.projects.iter().cloned());
        set.versions.extend(r.versions.iter().cloned());
        set.trainings.extend(r.trainings.iter().cloned());
        set.workflows.extend(r.workflows.iter().cloned());
        set.operations.extend(r.operations.iter().cloned());
        if plan.delete_orphaned_images {
            orphaning.extend(r.projects.iter().map(|p| p.as_str()));
        }
        events.extend(plan.events.iter().cloned());
        outbox.extend(plan.outbox.iter().cloned());
    }
    for (sql, guards) in [
        (purge_sql::BATCH_GUARD_PROJECTS, &project_guards),
        (purge_sql::BATCH_GUARD_WORKFLOWS, &workflow_guards),
    ] {
        if guards.is_empty() {
            continue;
        }
        let json = serde_json::Value::Array(guards.clone()).to_string();
        let bumped = remove(conn, sql, &json).await?;
        if bumped != guards.len() as u64 {
            return Err(StoreError::Conflict);
        }
    }
    in_time()?;
    let mut counts = PurgeCounts::default();
    let projects = json_strings(set.projects.iter().map(|p| p.as_str()));
    if !orphaning.is_empty() {
        counts.images = sqlx::query(purge_sql::ORPHANED_IMAGES_OF_BATCH)
            .bind(json_strings(orphaning.iter().copied()))
            .bind(&projects)
            .execute(&mut *conn)
            .await
            .map_err(db)?
            .rows_affected();
    }
    remove_rows(conn, &set, &projects, &mut counts).await?;
    record(conn, &events).await?;
    super::outbox::withdraw_notices(conn, &set.operations).await?;
    super::outbox::enqueue(conn, &outbox).await?;
    in_time()?;
    Ok(counts)
}

/// Runs one set-based `DELETE` over a JSON array; returns the rows removed.
async fn remove(
    conn: &mut SqliteConnection,
    sql: &'static str,
    json: &str,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(sql)
        .bind(json)
        .execute(&mut *conn)
        .await
        .map_err(db)?
        .rows_affected())
}

#[async_trait]
impl TrashWrites for SqliteStore {
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

    async fn purge_batch(
        &self,
        plans: &[PurgePlan],
        time_limit: chrono::Duration,
    ) -> Result<PurgeCounts, StoreError> {
        if plans.is_empty() {
            return Ok(PurgeCounts::default());
        }
        let limit = time_limit.to_std().unwrap_or_default();
        let mut tx = self.begin_write().await?;
        let result = apply_purge_batch(&mut tx, plans, limit).await;
        finish(tx, result).await
    }
}
