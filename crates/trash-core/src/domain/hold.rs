//! Legal holds: a hold stops the permanent destruction of what it covers
//! (cleanup, delete forever, Empty Trash) until it is released. It never
//! stops a restore.

use std::fmt;

use super::ids::{
    HoldId, InvalidValue, ProjectId, TrainingId, VersionNumber, WorkflowId, WorkspaceSlug,
};
use super::item::{ItemKind, ItemRef};
use super::operation::Actor;
use super::time::Timestamp;

/// What a hold is placed on.
///
/// A training target records its project and version (they never change
/// for a training), so whether a trash operation takes the held training
/// with it is decided from the target alone ([`crate::rules::blocking_holds`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HoldTarget {
    /// Everything in the workspace's trash, present and future.
    Workspace,
    /// A project (active or trashed).
    Project(ProjectId),
    /// A version, by its project and number.
    Version(ProjectId, VersionNumber),
    /// A workflow.
    Workflow(WorkflowId),
    /// A training, with the version and project it belongs to.
    Training {
        /// The training.
        id: TrainingId,
        /// Its project.
        project: ProjectId,
        /// Its version.
        version: VersionNumber,
    },
}

impl HoldTarget {
    /// The wire and storage name of the target's type: `workspace`,
    /// `project`, `version`, `workflow` or `training`.
    pub fn kind_str(&self) -> &'static str {
        match self {
            HoldTarget::Workspace => "workspace",
            HoldTarget::Project(_) => ItemKind::Project.as_str(),
            HoldTarget::Version(..) => ItemKind::Version.as_str(),
            HoldTarget::Workflow(_) => ItemKind::Workflow.as_str(),
            HoldTarget::Training { .. } => ItemKind::Training.as_str(),
        }
    }

    /// The held item; `None` for a workspace hold.
    pub fn item(&self) -> Option<ItemRef> {
        match self {
            HoldTarget::Workspace => None,
            HoldTarget::Project(p) => Some(ItemRef::Project(p.clone())),
            HoldTarget::Version(p, n) => Some(ItemRef::Version(p.clone(), *n)),
            HoldTarget::Workflow(w) => Some(ItemRef::Workflow(w.clone())),
            HoldTarget::Training { id, .. } => Some(ItemRef::Training(id.clone())),
        }
    }
}

/// Why a hold was placed: 1 to 1000 characters, not only whitespace
/// (kept as given, trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HoldReason(String);

impl HoldReason {
    /// The longest reason, in characters.
    pub const MAX_CHARS: usize = 1000;

    /// Accepts a non-blank reason of at most [`HoldReason::MAX_CHARS`]
    /// characters, without control characters other than line breaks and tabs.
    pub fn parse(value: &str) -> Result<HoldReason, InvalidValue> {
        let v = value.trim();
        if v.is_empty() {
            return Err(InvalidValue::Empty { what: "reason" });
        }
        if v.chars().count() > Self::MAX_CHARS {
            return Err(InvalidValue::TooLong {
                what: "reason",
                max: Self::MAX_CHARS,
            });
        }
        if v.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(InvalidValue::BadCharacter {
                what: "reason",
                allowed: "printable characters, line breaks and tabs",
            });
        }
        Ok(HoldReason(v.to_owned()))
    }

    /// The reason as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One legal hold of a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Its id.
    pub id: HoldId,
    /// The workspace it belongs to.
    pub workspace: WorkspaceSlug,
    /// What it covers.
    pub target: HoldTarget,
    /// Why it was placed.
    pub reason: HoldReason,
    /// When it was placed.
    pub created_at: Timestamp,
    /// Who placed it.
    pub created_by: Actor,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_non_blank_bounded_and_printable() {
        assert_eq!(
            HoldReason::parse("  litigation 42 ").map(|r| r.to_string()),
            Ok("litigation 42".to_owned())
        );
        assert!(HoldReason::parse("   ").is_err());
        assert!(HoldReason::parse(&"x".repeat(1001)).is_err());
        assert!(HoldReason::parse(&"é".repeat(1000)).is_ok());
        assert!(HoldReason::parse("a\u{0}b").is_err());
        assert!(HoldReason::parse("line one\nline two").is_ok());
    }
}
