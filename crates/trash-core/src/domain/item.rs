//! The things that can be trashed, and their states.

use std::fmt;

use super::ids::{
    truncate_for_message, ImageId, InvalidValue, Name, OperationId, ProjectId, Slug, TrainingId,
    VersionNumber, WorkflowId, WorkspaceSlug,
};
use super::time::Timestamp;

/// The four kinds of trashable item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemKind {
    /// A project (root of versions and trainings).
    Project,
    /// A dataset version of a project.
    Version,
    /// A workflow.
    Workflow,
    /// A training run of a version.
    Training,
}

impl ItemKind {
    /// Every kind, in listing-section order.
    pub const ALL: [ItemKind; 4] = [
        ItemKind::Project,
        ItemKind::Version,
        ItemKind::Workflow,
        ItemKind::Training,
    ];

    /// Parses the wire name (`project`, `version`, `workflow`, `training`).
    pub fn parse(value: &str) -> Result<ItemKind, InvalidValue> {
        match value {
            "project" => Ok(ItemKind::Project),
            "version" => Ok(ItemKind::Version),
            "workflow" => Ok(ItemKind::Workflow),
            "training" => Ok(ItemKind::Training),
            other => Err(InvalidValue::Unknown {
                what: "type",
                value: truncate_for_message(other),
                expected: "project, version, workflow, training",
            }),
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Project => "project",
            ItemKind::Version => "version",
            ItemKind::Workflow => "workflow",
            ItemKind::Training => "training",
        }
    }
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reference to one trashable item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemRef {
    /// A project.
    Project(ProjectId),
    /// A version, by its project and number.
    Version(ProjectId, VersionNumber),
    /// A workflow.
    Workflow(WorkflowId),
    /// A training.
    Training(TrainingId),
}

impl ItemRef {
    /// The kind of item referenced.
    pub fn kind(&self) -> ItemKind {
        match self {
            ItemRef::Project(_) => ItemKind::Project,
            ItemRef::Version(..) => ItemKind::Version,
            ItemRef::Workflow(_) => ItemKind::Workflow,
            ItemRef::Training(_) => ItemKind::Training,
        }
    }

    /// The id as shown on the wire (a version's id is its number).
    pub fn wire_id(&self) -> String {
        match self {
            ItemRef::Project(id) => id.to_string(),
            ItemRef::Version(_, n) => n.to_string(),
            ItemRef::Workflow(id) => id.to_string(),
            ItemRef::Training(id) => id.to_string(),
        }
    }
}

impl fmt::Display for ItemRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemRef::Version(p, n) => write!(f, "version {n} of project {p}"),
            other => write!(f, "{} {}", other.kind(), other.wire_id()),
        }
    }
}

/// The aggregate an item belongs to: the unit of consistency. Every change to
/// a project, its versions or its trainings is guarded by the project's
/// revision; a workflow has its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AggregateId {
    /// A project with its versions and trainings.
    Project(ProjectId),
    /// A workflow.
    Workflow(WorkflowId),
}

/// The state of a trashable item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemState {
    /// Visible and usable.
    Active,
    /// In trash, as part of `operation`.
    Trashed {
        /// The trash operation that trashed the item.
        operation: OperationId,
        /// `false` for the root of the operation (trashed explicitly),
        /// `true` for an item trashed along with its root.
        cascaded: bool,
    },
}

impl ItemState {
    /// Whether the item is active.
    pub fn is_active(&self) -> bool {
        matches!(self, ItemState::Active)
    }

    /// The operation that trashed the item, if any.
    pub fn operation(&self) -> Option<&OperationId> {
        match self {
            ItemState::Active => None,
            ItemState::Trashed { operation, .. } => Some(operation),
        }
    }
}

/// The status of a training run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrainingStatus {
    /// Waiting for a worker (in flight).
    Queued,
    /// Running (in flight).
    Running,
    /// Finished successfully.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Stopped by a user.
    Stopped,
    /// Cancelled because the project or version was moved to trash.
    Cancelled,
}

impl TrainingStatus {
    /// Every status.
    pub const ALL: [TrainingStatus; 6] = [
        TrainingStatus::Queued,
        TrainingStatus::Running,
        TrainingStatus::Succeeded,
        TrainingStatus::Failed,
        TrainingStatus::Stopped,
        TrainingStatus::Cancelled,
    ];

    /// Parses the wire name.
    pub fn parse(value: &str) -> Result<TrainingStatus, InvalidValue> {
        TrainingStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| InvalidValue::Unknown {
                what: "training status",
                value: truncate_for_message(value),
                expected: "queued, running, succeeded, failed, stopped, cancelled",
            })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TrainingStatus::Queued => "queued",
            TrainingStatus::Running => "running",
            TrainingStatus::Succeeded => "succeeded",
            TrainingStatus::Failed => "failed",
            TrainingStatus::Stopped => "stopped",
            TrainingStatus::Cancelled => "cancelled",
        }
    }

    /// Whether a job is still working on the training (`queued` or `running`).
    pub fn is_in_flight(self) -> bool {
        matches!(self, TrainingStatus::Queued | TrainingStatus::Running)
    }
}

impl fmt::Display for TrainingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status a client may set on a training through the API (a finished one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinishedStatus(TrainingStatus);

impl FinishedStatus {
    /// Parses `succeeded`, `failed` or `stopped`.
    pub fn parse(value: &str) -> Result<FinishedStatus, InvalidValue> {
        match value {
            "succeeded" => Ok(FinishedStatus(TrainingStatus::Succeeded)),
            "failed" => Ok(FinishedStatus(TrainingStatus::Failed)),
            "stopped" => Ok(FinishedStatus(TrainingStatus::Stopped)),
            other => Err(InvalidValue::Unknown {
                what: "status",
                value: truncate_for_message(other),
                expected: "succeeded, failed, stopped",
            }),
        }
    }

    /// The status.
    pub fn get(self) -> TrainingStatus {
        self.0
    }
}

/// A workspace: owns projects, workflows, images, keys and users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// The slug in paths.
    pub slug: WorkspaceSlug,
    /// The display name.
    pub name: Name,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Its id.
    pub id: ProjectId,
    /// The workspace that owns it.
    pub workspace: WorkspaceSlug,
    /// Its slug (unique among active projects of the workspace).
    pub slug: Slug,
    /// Display name.
    pub name: Name,
    /// When it was created.
    pub created_at: Timestamp,
    /// Active or trashed.
    pub state: ItemState,
}

/// A dataset version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The project it belongs to.
    pub project: ProjectId,
    /// Its number within the project.
    pub number: VersionNumber,
    /// Display name.
    pub name: Name,
    /// When it was created.
    pub created_at: Timestamp,
    /// Active or trashed.
    pub state: ItemState,
}

/// A workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workflow {
    /// Its id.
    pub id: WorkflowId,
    /// The workspace that owns it.
    pub workspace: WorkspaceSlug,
    /// Its slug (unique among active workflows of the workspace).
    pub slug: Slug,
    /// Display name.
    pub name: Name,
    /// When it was created.
    pub created_at: Timestamp,
    /// Active or trashed.
    pub state: ItemState,
}

/// A training run of a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Training {
    /// Its id.
    pub id: TrainingId,
    /// The project of its version.
    pub project: ProjectId,
    /// Its version.
    pub version: VersionNumber,
    /// Its job status.
    pub status: TrainingStatus,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended, once it has.
    pub ended_at: Option<Timestamp>,
    /// Active or trashed.
    pub state: ItemState,
}

/// An image of a workspace; any number of projects may link it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Its id.
    pub id: ImageId,
    /// The workspace that owns it.
    pub workspace: WorkspaceSlug,
    /// Display name.
    pub name: Name,
    /// When it was created.
    pub created_at: Timestamp,
}

/// What to do when a restored project or workflow's slug is taken by an active one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Refuse with a conflict naming the active item (the default).
    #[default]
    Fail,
    /// Restore under the first free slug `slug-2`, `slug-3`, …
    Rename,
}

impl OnConflict {
    /// Parses `fail` or `rename`.
    pub fn parse(value: &str) -> Result<OnConflict, InvalidValue> {
        match value {
            "fail" => Ok(OnConflict::Fail),
            "rename" => Ok(OnConflict::Rename),
            other => Err(InvalidValue::Unknown {
                what: "onConflict",
                value: truncate_for_message(other),
                expected: "fail, rename",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_statuses_parse() {
        for k in ItemKind::ALL {
            assert_eq!(ItemKind::parse(k.as_str()), Ok(k));
        }
        assert!(ItemKind::parse("image").is_err());
        assert!(ItemKind::parse("Project").is_err());
        for s in TrainingStatus::ALL {
            assert_eq!(TrainingStatus::parse(s.as_str()), Ok(s));
        }
        assert!(TrainingStatus::parse("done").is_err());
        assert!(FinishedStatus::parse("running").is_err());
        assert!(FinishedStatus::parse("cancelled").is_err());
        assert_eq!(
            FinishedStatus::parse("failed").unwrap().get(),
            TrainingStatus::Failed
        );
        assert!(OnConflict::parse("overwrite").is_err());
        assert!(TrainingStatus::Queued.is_in_flight());
        assert!(!TrainingStatus::Stopped.is_in_flight());
    }
}
