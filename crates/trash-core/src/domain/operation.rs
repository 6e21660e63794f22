//! Trash operations: one "move to trash", with everything it took.

use std::fmt;

use super::ids::{truncate_for_message, InvalidValue, OperationId, WorkspaceSlug};
use super::item::ItemRef;
use super::time::Timestamp;

/// Who did something: the actor recorded on operations and audit events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// What kind of principal acted.
    pub kind: ActorKind,
    /// The key id, user id, or `system`.
    pub id: String,
    /// A display name (key name, user email, or `cleanup`).
    pub name: String,
}

/// The kind of principal behind an [`Actor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    /// An API key.
    ApiKey,
    /// A signed-in web user.
    WebUser,
    /// The server itself (the cleanup job).
    System,
}

impl ActorKind {
    /// A stable name for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::ApiKey => "api_key",
            ActorKind::WebUser => "web_user",
            ActorKind::System => "system",
        }
    }

    /// Parses the name given by [`ActorKind::as_str`].
    pub fn parse(value: &str) -> Result<ActorKind, InvalidValue> {
        match value {
            "api_key" => Ok(ActorKind::ApiKey),
            "web_user" => Ok(ActorKind::WebUser),
            "system" => Ok(ActorKind::System),
            other => Err(InvalidValue::Unknown {
                what: "actor kind",
                value: truncate_for_message(other),
                expected: "api_key, web_user, system",
            }),
        }
    }
}

impl Actor {
    /// The cleanup job.
    pub fn system() -> Actor {
        Actor {
            kind: ActorKind::System,
            id: "system".into(),
            name: "cleanup".into(),
        }
    }
}

/// What a trashed root carries with it (cascaded members), as listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Contains {
    /// Versions trashed with the root.
    pub versions: u32,
    /// Trainings trashed with the root.
    pub trainings: u32,
}

/// One move to trash. Its root is the item that was trashed explicitly; its
/// members are the items cascaded with it (they record this operation in
/// their [`ItemState::Trashed`](super::item::ItemState::Trashed) state with
/// `cascaded: true`). Restoring the operation brings back exactly the root
/// and its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashOperation {
    /// Its id.
    pub id: OperationId,
    /// The workspace of the root.
    pub workspace: WorkspaceSlug,
    /// The item trashed explicitly.
    pub root: ItemRef,
    /// Who trashed it.
    pub actor: Actor,
    /// When it was trashed.
    pub deleted_at: Timestamp,
    /// When cleanup may remove it: `deleted_at + retention`, fixed at trash time.
    pub scheduled_cleanup_at: Timestamp,
    /// For a project: whether cleanup also deletes images no other project links.
    pub cleanup_delete_images: bool,
    /// How many members of each kind were cascaded.
    pub contains: Contains,
}

impl TrashOperation {
    /// Whether the item can still be restored at `now` (strictly before the schedule).
    pub fn is_restorable_at(&self, now: Timestamp) -> bool {
        now < self.scheduled_cleanup_at
    }

    /// Whether cleanup may remove it at `now` (at or after the schedule).
    pub fn is_due_at(&self, now: Timestamp) -> bool {
        now >= self.scheduled_cleanup_at
    }
}

/// A position in the trash listing (newest `deletedAt` first, then operation
/// id descending). Encoded as an opaque string for clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashCursor {
    /// `deletedAt` of the last item of the previous page.
    pub deleted_at: Timestamp,
    /// Operation id of the last item of the previous page.
    pub operation: OperationId,
}

impl TrashCursor {
    /// The cursor that continues after `op`.
    pub fn after(op: &TrashOperation) -> TrashCursor {
        TrashCursor {
            deleted_at: op.deleted_at,
            operation: op.id.clone(),
        }
    }

    /// The opaque string form.
    pub fn encode(&self) -> String {
        format!("c{:x}{}", self.deleted_at.unix_millis(), self.operation)
    }

    /// Parses the opaque string form; anything else is refused.
    pub fn parse(value: &str) -> Result<TrashCursor, InvalidValue> {
        const WHAT: &str = "cursor";
        let bad = || InvalidValue::Unknown {
            what: WHAT,
            value: truncate_for_message(value),
            expected: "a nextCursor value returned by a previous page",
        };
        let rest = value.strip_prefix('c').ok_or_else(bad)?;
        if rest.len() <= 20 || !rest.is_ascii() {
            return Err(bad());
        }
        let (hex, op) = rest.split_at(rest.len() - 20);
        if hex.len() > 12 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let millis = i64::from_str_radix(hex, 16).map_err(|_| bad())?;
        // Between 1970 and the end of year 9999: what any store can hold.
        if millis > 253_402_300_799_999 {
            return Err(bad());
        }
        let deleted_at = Timestamp::from_unix_millis(millis).ok_or_else(bad)?;
        let operation = OperationId::parse(op).map_err(|_| bad())?;
        Ok(TrashCursor {
            deleted_at,
            operation,
        })
    }
}

impl fmt::Display for TrashCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = TrashCursor {
            deleted_at: Timestamp::from_unix_millis(1_700_000_000_123).unwrap(),
            operation: OperationId::parse("abcdefghij0123456789").unwrap(),
        };
        assert_eq!(TrashCursor::parse(&c.encode()), Ok(c));
        for bad in [
            "",
            "c",
            "x18bcfe56800abcdefghij0123456789",
            "czz!abcdefghij0123456789",
            "c1abcdefghij012345678é",
        ] {
            assert!(TrashCursor::parse(bad).is_err(), "{bad}");
        }
    }
}
