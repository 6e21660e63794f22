//! [`ResourceStore`]: creating projects, workflows, versions, trainings and
//! images, and reading active projects and images.

use super::*;

#[async_trait]
impl ResourceStore for SqliteStore {
    async fn active_projects(
        &self,
        workspace: &WorkspaceSlug,
        after: Option<Slug>,
        limit: u32,
    ) -> Result<Vec<Project>, StoreError> {
        // Slugs compare with SQLite's BINARY collation: byte order.
        let sql = format!(
            "SELECT {PROJECT_COLUMNS} FROM projects \
             WHERE workspace = ?1 AND trash_op_id IS NULL AND slug > ?2 \
             ORDER BY slug LIMIT ?3"
        );
        sqlx::query_as::<_, ProjectRow>(&sql)
            .bind(workspace.as_str())
            .bind(after.as_ref().map_or("", |s| s.as_str()))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?
            .iter()
            .map(ProjectRow::project)
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
}
