//! The resources role: creating what the trash acts on, for the standalone
//! server (and for fixtures in the conformance suite). An embedder whose
//! projects live elsewhere does not need it in production.

use async_trait::async_trait;

use super::{Guard, StoreError};
use crate::domain::*;

/// An image and the projects (active or trashed) that link it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageView {
    /// The image.
    pub image: Image,
    /// Projects linking it, in id order.
    pub projects: Vec<ProjectId>,
}

/// Creating and reading resources. Guarded methods keep the contract in the
/// module documentation of [`crate::ports`].
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ResourceStore: Send + Sync {
    /// MUST return up to `limit` of the workspace's active projects whose
    /// slug sorts after `after` (from the first when `None`), ordered by
    /// slug (byte order). The cost MUST NOT grow with the projects skipped.
    async fn active_projects(
        &self,
        workspace: &WorkspaceSlug,
        after: Option<Slug>,
        limit: u32,
    ) -> Result<Vec<Project>, StoreError>;
    /// MUST return the image and every project (active or trashed) linking it.
    async fn image(
        &self,
        workspace: &WorkspaceSlug,
        id: &ImageId,
    ) -> Result<Option<ImageView>, StoreError>;
    /// MUST store a new active project (its revision starts anew), or return
    /// `SlugTaken` if an active project of the workspace has its slug.
    async fn create_project(&self, project: &Project) -> Result<(), StoreError>;
    /// Like [`ResourceStore::create_project`], for workflows.
    async fn create_workflow(&self, workflow: &Workflow) -> Result<(), StoreError>;
    /// Guarded: MUST add the version and set the project's next version
    /// number to `version.number + 1`.
    async fn create_version(&self, guard: &Guard, version: &Version) -> Result<(), StoreError>;
    /// Guarded: MUST add the training.
    async fn create_training(&self, guard: &Guard, training: &Training) -> Result<(), StoreError>;
    /// Guarded: MUST set the training's status and end time.
    async fn set_training_status(
        &self,
        guard: &Guard,
        training: &TrainingId,
        status: TrainingStatus,
        ended_at: Option<Timestamp>,
    ) -> Result<(), StoreError>;
    /// Guarded: MUST create the image and link it to the guarded project.
    async fn add_image(&self, guard: &Guard, image: &Image) -> Result<(), StoreError>;
    /// Guarded: MUST link an existing image of the workspace to the guarded
    /// project (doing nothing if already linked), or return `Missing` if the
    /// image does not exist at commit time.
    async fn link_image(&self, guard: &Guard, image: &ImageId) -> Result<(), StoreError>;
}
