//! The resources the trash acts on: creating and reading workspaces,
//! projects, versions, workflows, trainings and images.

use std::fmt;
use std::sync::Arc;

use crate::domain::*;
use crate::ports::{
    AccountStore, AggregateLock, Guard, ImageView, ProjectAggregate, ProjectPart, ResourceStore,
    StoreError, TrashReads,
};

use super::{check_access, project_by_slug, workflow_by_slug, AccessDenied, Attempts, Contended};
use super::{PageLimit, Runtime, TrashConfig};

/// Which kind of thing was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Missing {
    /// The workspace.
    Workspace,
    /// The project (no active one with that slug).
    Project,
    /// The version (none active with that number).
    Version,
    /// The workflow.
    Workflow,
    /// The training.
    Training,
    /// The image.
    Image,
}

impl Missing {
    /// The lower-case name of the kind, as used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Missing::Workspace => "workspace",
            Missing::Project => "project",
            Missing::Version => "version",
            Missing::Workflow => "workflow",
            Missing::Training => "training",
            Missing::Image => "image",
        }
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a resource operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    /// The principal may not do this.
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    /// An input could not be used (e.g. no slug can be derived from the name).
    #[error(transparent)]
    Invalid(InvalidValue),
    /// No such active item at that path (or not in this workspace).
    #[error("{0} not found")]
    NotFound(Missing),
    /// An active item already uses the slug.
    #[error("an active item already uses this slug")]
    SlugTaken {
        /// The id of the active item.
        conflicting: String,
    },
    /// The training is not queued or running, so its status cannot change.
    #[error("training {0} is not in progress; its status can no longer change")]
    NotInFlight(TrainingId),
    /// Concurrent changes kept invalidating the decision.
    #[error("the item is changing concurrently; try again")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<Contended> for ResourceError {
    fn from(_: Contended) -> Self {
        ResourceError::Busy
    }
}

impl From<StoreError> for ResourceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::SlugTaken { conflicting } => ResourceError::SlugTaken { conflicting },
            other => ResourceError::Store(other),
        }
    }
}

/// A workspace and its active projects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceView {
    /// The workspace.
    pub workspace: Workspace,
    /// A page of its active projects, by slug.
    pub projects: Vec<Project>,
    /// The slug to continue after, when more projects follow.
    pub next: Option<Slug>,
}

/// A page of a resource listing: up to `limit` entries after `after`, in
/// the listing's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<C> {
    /// Continue after this entry (from the first when `None`).
    pub after: Option<C>,
    /// At most this many.
    pub limit: PageLimit,
}

impl<C> Default for Page<C> {
    /// The first page, of the largest size (what a client that does not
    /// page, such as the official CLI, gets).
    fn default() -> Self {
        Page {
            after: None,
            limit: PageLimit::MAX,
        }
    }
}

/// An active project and its active versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectView {
    /// The project.
    pub project: Project,
    /// A page of its active versions, by number.
    pub versions: Vec<Version>,
    /// The number to continue after, when more versions follow.
    pub next: Option<VersionNumber>,
}

/// An active version, with its project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionView {
    /// The project.
    pub project: Project,
    /// The version.
    pub version: Version,
    /// Its active trainings.
    pub trainings: Vec<Training>,
}

fn read_scope() -> Scope {
    required_scope(Action::Read, ItemKind::Project)
}

fn guard_of(agg: &ProjectAggregate) -> Guard {
    Guard {
        aggregate: AggregateId::Project(agg.project.id.clone()),
        revision: agg.revision,
    }
}

/// Creating and reading what the trash acts on (the standalone server).
#[derive(Clone)]
pub struct ResourceService {
    accounts: Arc<dyn AccountStore>,
    reads: Arc<dyn TrashReads>,
    resources: Arc<dyn ResourceStore>,
    runtime: Runtime,
    config: TrashConfig,
}

impl ResourceService {
    /// Builds the service. `config` supplies the retry settings.
    pub fn new(
        accounts: Arc<dyn AccountStore>,
        reads: Arc<dyn TrashReads>,
        resources: Arc<dyn ResourceStore>,
        runtime: Runtime,
        config: TrashConfig,
    ) -> ResourceService {
        ResourceService {
            accounts,
            reads,
            resources,
            runtime,
            config,
        }
    }

    fn now(&self) -> Timestamp {
        self.runtime.clock.now()
    }

    async fn active_project(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
        part: ProjectPart,
    ) -> Result<ProjectAggregate, ResourceError> {
        let id = project_by_slug(self.reads.as_ref(), workspace, slug)
            .await?
            .ok_or(ResourceError::NotFound(Missing::Project))?;
        self.active_project_by_id(workspace, &id, part).await
    }

    /// Like [`Self::active_project`], read during this process's turn on the
    /// project: writers of one project take turns instead of invalidating
    /// each other's reads. Keep the lock until the write is done.
    async fn active_project_in_turn(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
        part: ProjectPart,
    ) -> Result<(ProjectAggregate, AggregateLock), ResourceError> {
        let id = project_by_slug(self.reads.as_ref(), workspace, slug)
            .await?
            .ok_or(ResourceError::NotFound(Missing::Project))?;
        let turn = self
            .runtime
            .locks
            .lock(&AggregateId::Project(id.clone()))
            .await;
        Ok((self.active_project_by_id(workspace, &id, part).await?, turn))
    }

    /// The project read narrowly: only the `part` the decision needs (and
    /// the revision its write is guarded by), so the cost of a write does
    /// not grow with the project's size.
    async fn active_project_by_id(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
        part: ProjectPart,
    ) -> Result<ProjectAggregate, ResourceError> {
        let agg = self
            .reads
            .load_project_part(workspace, id, part)
            .await?
            .ok_or(ResourceError::NotFound(Missing::Project))?;
        if !agg.project.state.is_active() {
            return Err(ResourceError::NotFound(Missing::Project));
        }
        Ok(agg)
    }

    /// Repeats `step` while it reports a concurrent change, with the
    /// backoff of [`Attempts`].
    async fn guarded<T, F, Fut>(&self, mut step: F) -> Result<T, ResourceError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ResourceError>>,
    {
        let mut attempts = Attempts::new(&self.runtime, &self.config);
        loop {
            attempts.next().await?;
            match step().await {
                Err(ResourceError::Store(StoreError::Conflict)) => continue,
                other => return other,
            }
        }
    }

    /// The workspace and a page of its active projects, by slug
    /// (`project:read`).
    pub async fn get_workspace(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        page: Page<Slug>,
    ) -> Result<WorkspaceView, ResourceError> {
        check_access(principal, workspace, read_scope())?;
        let ws = self
            .accounts
            .workspace(workspace)
            .await?
            .ok_or(ResourceError::NotFound(Missing::Workspace))?;
        let limit = page.limit.get();
        let mut projects = self
            .resources
            .active_projects(workspace, page.after, limit + 1)
            .await?;
        let next = if projects.len() > limit as usize {
            projects.truncate(limit as usize);
            projects.last().map(|p| p.slug.clone())
        } else {
            None
        };
        Ok(WorkspaceView {
            workspace: ws,
            projects,
            next,
        })
    }

    /// Creates a project (`project:create`); the slug defaults to one derived
    /// from the name.
    pub async fn create_project(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        name: Name,
        slug: Option<Slug>,
    ) -> Result<Project, ResourceError> {
        check_access(
            principal,
            workspace,
            required_scope(Action::Create, ItemKind::Project),
        )?;
        let slug = match slug {
            Some(s) => s,
            None => Slug::from_name(name.as_str()).map_err(ResourceError::Invalid)?,
        };
        let project = Project {
            id: self.runtime.new_id(ProjectId::parse)?,
            workspace: workspace.clone(),
            slug,
            name,
            created_at: self.now(),
            state: ItemState::Active,
        };
        self.resources.create_project(&project).await?;
        Ok(project)
    }

    /// An active project and a page of its active versions, by number
    /// (`project:read`).
    pub async fn get_project(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        slug: &Slug,
        page: Page<VersionNumber>,
    ) -> Result<ProjectView, ResourceError> {
        check_access(principal, workspace, read_scope())?;
        let limit = page.limit.get();
        // One more than asked, to know whether another page follows.
        let part = ProjectPart::ActiveVersions {
            after: page.after,
            limit: limit + 1,
        };
        let agg = self.active_project(workspace, slug, part).await?;
        let mut versions = agg.versions;
        let next = if versions.len() > limit as usize {
            versions.truncate(limit as usize);
            versions.last().map(|v| v.number)
        } else {
            None
        };
        Ok(ProjectView {
            project: agg.project,
            versions,
            next,
        })
    }

    /// Creates the next version of an active project (`version:create`).
    pub async fn create_version(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        project: &Slug,
        name: Option<Name>,
    ) -> Result<Version, ResourceError> {
        check_access(
            principal,
            workspace,
            required_scope(Action::Create, ItemKind::Version),
        )?;
        self.guarded(|| async {
            let (agg, _turn) = self
                .active_project_in_turn(workspace, project, ProjectPart::Head)
                .await?;
            let number = agg.next_version;
            let version = Version {
                project: agg.project.id.clone(),
                number,
                name: match &name {
                    Some(n) => n.clone(),
                    None => Name::parse(&format!("v{number}")).map_err(ResourceError::Invalid)?,
                },
                created_at: self.now(),
                state: ItemState::Active,
            };
            self.resources
                .create_version(&guard_of(&agg), &version)
                .await?;
            Ok(version)
        })
        .await
    }

    /// An active version of an active project, with its active trainings (`project:read`).
    pub async fn get_version(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        project: &Slug,
        number: VersionNumber,
    ) -> Result<VersionView, ResourceError> {
        check_access(principal, workspace, read_scope())?;
        let agg = self
            .active_project(workspace, project, ProjectPart::Version(number))
            .await?;
        let version = agg
            .versions
            .iter()
            .find(|v| v.number == number && v.state.is_active())
            .cloned()
            .ok_or(ResourceError::NotFound(Missing::Version))?;
        let trainings = agg
            .trainings
            .into_iter()
            .filter(|t| t.version == number && t.state.is_active())
            .collect();
        Ok(VersionView {
            project: agg.project,
            version,
            trainings,
        })
    }

    /// Creates a workflow (`workflow:create`).
    pub async fn create_workflow(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        name: Name,
        slug: Option<Slug>,
    ) -> Result<Workflow, ResourceError> {
        check_access(
            principal,
            workspace,
            required_scope(Action::Create, ItemKind::Workflow),
        )?;
        let slug = match slug {
            Some(s) => s,
            None => Slug::from_name(name.as_str()).map_err(ResourceError::Invalid)?,
        };
        let workflow = Workflow {
            id: self.runtime.new_id(WorkflowId::parse)?,
            workspace: workspace.clone(),
            slug,
            name,
            created_at: self.now(),
            state: ItemState::Active,
        };
        self.resources.create_workflow(&workflow).await?;
        Ok(workflow)
    }

    /// An active workflow (`project:read`).
    pub async fn get_workflow(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Workflow, ResourceError> {
        check_access(principal, workspace, read_scope())?;
        let id = workflow_by_slug(self.reads.as_ref(), workspace, slug)
            .await?
            .ok_or(ResourceError::NotFound(Missing::Workflow))?;
        let agg = self
            .reads
            .load_workflow(workspace, &id)
            .await?
            .ok_or(ResourceError::NotFound(Missing::Workflow))?;
        if !agg.workflow.state.is_active() {
            return Err(ResourceError::NotFound(Missing::Workflow));
        }
        Ok(agg.workflow)
    }

    /// Starts a training of an active version (`training:create`); it starts `running`.
    pub async fn create_training(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        project: &Slug,
        number: VersionNumber,
    ) -> Result<Training, ResourceError> {
        check_access(
            principal,
            workspace,
            required_scope(Action::Create, ItemKind::Training),
        )?;
        let id = self.runtime.new_id(TrainingId::parse)?;
        self.guarded(|| async {
            let (agg, _turn) = self
                .active_project_in_turn(workspace, project, ProjectPart::Version(number))
                .await?;
            if !agg
                .versions
                .iter()
                .any(|v| v.number == number && v.state.is_active())
            {
                return Err(ResourceError::NotFound(Missing::Version));
            }
            let training = Training {
                id: id.clone(),
                project: agg.project.id.clone(),
                version: number,
                status: TrainingStatus::Running,
                started_at: self.now(),
                ended_at: None,
                state: ItemState::Active,
            };
            self.resources
                .create_training(&guard_of(&agg), &training)
                .await?;
            Ok(training)
        })
        .await
    }

    /// The active trainings of an active version (`project:read`).
    pub async fn list_trainings(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        project: &Slug,
        number: VersionNumber,
    ) -> Result<Vec<Training>, ResourceError> {
        Ok(self
            .get_version(principal, workspace, project, number)
            .await?
            .trainings)
    }

    /// One active training of an active version (`project:read`).
    pub async fn get_training(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        project: &Slug,
        number: VersionNumber,
        id: &TrainingId,
    ) -> Result<Training, ResourceError> {
        self.list_trainings(principal, workspace, project, number)
            .await?
            .into_iter()
            .find(|t| &t.id == id)
            .ok_or(ResourceError::NotFound(Missing::Training))
    }

    /// Finishes an in-flight training with `status` (`training:update`).
    pub async fn set_training_status(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        project: &Slug,
        number: VersionNumber,
        id: &TrainingId,
        status: FinishedStatus,
    ) -> Result<Training, ResourceError> {
        check_access(
            principal,
            workspace,
            required_scope(Action::MoveToTrash, ItemKind::Training),
        )?;
        self.guarded(|| async {
            let (agg, _turn) = self
                .active_project_in_turn(workspace, project, ProjectPart::Version(number))
                .await?;
            let version_active = agg
                .versions
                .iter()
                .any(|v| v.number == number && v.state.is_active());
            let mut training = agg
                .trainings
                .iter()
                .find(|t| &t.id == id && t.version == number && t.state.is_active())
                .filter(|_| version_active)
                .cloned()
                .ok_or(ResourceError::NotFound(Missing::Training))?;
            if !training.status.is_in_flight() {
                return Err(ResourceError::NotInFlight(id.clone()));
            }
            let now = self.now();
            self.resources
                .set_training_status(&guard_of(&agg), id, status.get(), Some(now))
                .await?;
            training.status = status.get();
            training.ended_at = Some(now);
            Ok(training)
        })
        .await
    }

    /// Adds a new image to the workspace, linked to an active project
    /// (`project:update`); answers the image and the projects linking it.
    pub async fn add_image(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        project: &Slug,
        name: Name,
    ) -> Result<ImageView, ResourceError> {
        check_access(
            principal,
            workspace,
            required_scope(Action::MoveToTrash, ItemKind::Project),
        )?;
        let image = Image {
            id: self.runtime.new_id(ImageId::parse)?,
            workspace: workspace.clone(),
            name,
            created_at: self.now(),
        };
        let project_id = self
            .guarded(|| async {
                let (agg, _turn) = self
                    .active_project_in_turn(workspace, project, ProjectPart::Head)
                    .await?;
                self.resources.add_image(&guard_of(&agg), &image).await?;
                Ok(agg.project.id)
            })
            .await?;
        // Read back; a concurrent purge may already have taken it.
        Ok(self
            .resources
            .image(workspace, &image.id)
            .await?
            .unwrap_or(ImageView {
                image,
                projects: vec![project_id],
            }))
    }

    /// Links an existing image of the workspace to an active project (`project:update`).
    pub async fn link_image(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        project: &Slug,
        image: &ImageId,
    ) -> Result<ImageView, ResourceError> {
        check_access(
            principal,
            workspace,
            required_scope(Action::MoveToTrash, ItemKind::Project),
        )?;
        self.guarded(|| async {
            let (agg, _turn) = self
                .active_project_in_turn(workspace, project, ProjectPart::Head)
                .await?;
            if self.resources.image(workspace, image).await?.is_none() {
                return Err(ResourceError::NotFound(Missing::Image));
            }
            match self.resources.link_image(&guard_of(&agg), image).await {
                Err(StoreError::Missing) => Err(ResourceError::NotFound(Missing::Image)),
                other => Ok(other?),
            }
        })
        .await?;
        self.resources
            .image(workspace, image)
            .await?
            .ok_or(ResourceError::NotFound(Missing::Image))
    }

    /// An image and the projects linking it (`project:read`).
    pub async fn get_image(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        image: &ImageId,
    ) -> Result<ImageView, ResourceError> {
        check_access(principal, workspace, read_scope())?;
        self.resources
            .image(workspace, image)
            .await?
            .ok_or(ResourceError::NotFound(Missing::Image))
    }
}
