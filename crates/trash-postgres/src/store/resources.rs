//! The resources role: creating projects, workflows, versions, trainings
//! and images, for the standalone server.

use async_trait::async_trait;
use trash_core::domain::*;
use trash_core::ports::*;

use super::{bump, sql_time};
use crate::error::{insert_error, is_foreign_key_violation, store_error};
use crate::rows;
use crate::PgStore;

#[async_trait]
impl ResourceStore for PgStore {
    async fn active_projects(
        &self,
        workspace: &WorkspaceSlug,
        after: Option<Slug>,
        limit: u32,
    ) -> Result<Vec<Project>, StoreError> {
        // `slug` is COLLATE "C": byte order, walked on projects_active_slug.
        self.fetch_all(
            sqlx::query(
                "SELECT id, workspace, slug, name, created_at, trash_op_id, trash_cascaded \
                 FROM projects WHERE workspace = $1 AND trash_op_id IS NULL AND slug > $2 \
                 ORDER BY slug LIMIT $3",
            )
            .bind(workspace.as_str())
            .bind(after.as_ref().map_or("", |s| s.as_str()))
            .bind(i64::from(limit)),
        )
        .await?
        .iter()
        .map(rows::project)
        .collect()
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
}
