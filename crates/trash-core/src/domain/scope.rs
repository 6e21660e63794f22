//! API-key scopes and the scope matrix of the trash.

use std::collections::BTreeSet;
use std::fmt;

use super::ids::{truncate_for_message, InvalidValue};
use super::item::ItemKind;

/// The resource part of a scope (`project` in `project:update`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// Projects; also guards reading and listing trash.
    Project,
    /// Dataset versions.
    Version,
    /// Workflows.
    Workflow,
    /// Trainings.
    Training,
    /// The trash itself (legal holds).
    Trash,
}

/// The action part of a scope (`update` in `project:update`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Read items and list the trash.
    Read,
    /// Create items.
    Create,
    /// Change items, including moving them to trash and restoring them.
    Update,
    /// Place, list and release legal holds (only with [`Resource::Trash`]).
    Hold,
}

/// One API-key scope, such as `project:update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    resource: Resource,
    permission: Permission,
}

impl Scope {
    /// Every scope there is.
    pub const ALL: [Scope; 13] = {
        use Permission::*;
        use Resource::*;
        [
            Scope::new(Project, Read),
            Scope::new(Project, Create),
            Scope::new(Project, Update),
            Scope::new(Version, Read),
            Scope::new(Version, Create),
            Scope::new(Version, Update),
            Scope::new(Workflow, Read),
            Scope::new(Workflow, Create),
            Scope::new(Workflow, Update),
            Scope::new(Training, Read),
            Scope::new(Training, Create),
            Scope::new(Training, Update),
            Scope::new(Trash, Hold),
        ]
    };

    /// `trash:hold`: place, list and release legal holds.
    pub const TRASH_HOLD: Scope = Scope::new(Resource::Trash, Permission::Hold);

    /// A scope from its two parts.
    pub const fn new(resource: Resource, permission: Permission) -> Scope {
        Scope {
            resource,
            permission,
        }
    }

    /// Parses `resource:permission`, e.g. `version:update`.
    pub fn parse(value: &str) -> Result<Scope, InvalidValue> {
        let v = value.trim();
        Scope::ALL
            .into_iter()
            .find(|s| s.to_string() == v)
            .ok_or_else(|| InvalidValue::Unknown {
                what: "scope",
                value: truncate_for_message(v),
                expected: "project|version|workflow|training followed by :read, :create or :update, or trash:hold",
            })
    }

    /// The resource part.
    pub fn resource(self) -> Resource {
        self.resource
    }

    /// The permission part.
    pub fn permission(self) -> Permission {
        self.permission
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = match self.resource {
            Resource::Project => "project",
            Resource::Version => "version",
            Resource::Workflow => "workflow",
            Resource::Training => "training",
            Resource::Trash => "trash",
        };
        let p = match self.permission {
            Permission::Read => "read",
            Permission::Create => "create",
            Permission::Update => "update",
            Permission::Hold => "hold",
        };
        write!(f, "{r}:{p}")
    }
}

/// A set of scopes held by an API key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// No scopes at all.
    pub fn empty() -> ScopeSet {
        ScopeSet::default()
    }

    /// Every scope.
    pub fn all() -> ScopeSet {
        Scope::ALL.into_iter().collect()
    }

    /// Parses a comma-separated list such as `project:read,project:update`.
    /// Empty entries are ignored; an unknown scope is an error.
    pub fn parse_list(value: &str) -> Result<ScopeSet, InvalidValue> {
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Scope::parse)
            .collect()
    }

    /// Whether the set holds `scope`.
    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    /// The scopes, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// The scopes as a comma-separated list (the inverse of [`ScopeSet::parse_list`]).
    pub fn to_list(&self) -> String {
        self.iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<T: IntoIterator<Item = Scope>>(iter: T) -> Self {
        ScopeSet(iter.into_iter().collect())
    }
}

/// What a caller wants to do, for the purpose of the scope matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Move an item to trash.
    MoveToTrash,
    /// Restore an item from trash.
    Restore,
    /// List the trash.
    ListTrash,
    /// Create an item.
    Create,
    /// Read an item.
    Read,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 5] = [
        Action::MoveToTrash,
        Action::Restore,
        Action::ListTrash,
        Action::Create,
        Action::Read,
    ];
}

/// The scope matrix: the one scope needed to do `action` on an item of `kind`.
pub fn required_scope(action: Action, kind: ItemKind) -> Scope {
    let own = match kind {
        ItemKind::Project => Resource::Project,
        ItemKind::Version => Resource::Version,
        ItemKind::Workflow => Resource::Workflow,
        ItemKind::Training => Resource::Training,
    };
    match action {
        Action::MoveToTrash | Action::Restore => Scope::new(own, Permission::Update),
        Action::Create => Scope::new(own, Permission::Create),
        Action::ListTrash | Action::Read => Scope::new(Resource::Project, Permission::Read),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_reject_unknown() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(&s.to_string()), Ok(s));
        }
        for bad in [
            "",
            "project",
            "project:delete",
            "PROJECT:READ",
            "image:read",
            "project:read:x",
            "trash:read",
            "project:hold",
        ] {
            assert!(
                matches!(Scope::parse(bad), Err(InvalidValue::Unknown { .. })),
                "{bad}"
            );
        }
        let set = ScopeSet::parse_list("project:read, version:update,").unwrap();
        assert_eq!(set.to_list(), "project:read,version:update");
        assert!(ScopeSet::parse_list("project:read,nope").is_err());
        assert_eq!(Scope::TRASH_HOLD.to_string(), "trash:hold");
        assert!(ScopeSet::all().contains(Scope::TRASH_HOLD));
    }
}
