//! The audit trail: every transition, with actor, item, operation and time.

use super::ids::{truncate_for_message, InvalidValue, OperationId, WorkspaceSlug};
use super::item::ItemRef;
use super::operation::Actor;
use super::time::Timestamp;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// An item was moved to trash (the root of an operation).
    Trashed,
    /// An operation was restored (recorded for its root).
    Restored,
    /// The cleanup job removed an operation's root for good.
    Purged,
    /// A web admin removed an item for good before its schedule.
    DeletedForever,
    /// Cancellation of an in-flight training was requested.
    CancellationRequested,
    /// The job canceller confirmed a cancellation.
    CancellationSucceeded,
    /// A cancellation attempt failed; it stays pending and is retried.
    CancellationFailed,
    /// A web admin's "Empty Trash" removed an operation's root for good.
    Emptied,
    /// A legal hold was placed.
    HoldPlaced,
    /// A legal hold was released.
    HoldReleased,
}

impl AuditKind {
    /// Every kind.
    pub const ALL: [AuditKind; 10] = [
        AuditKind::Trashed,
        AuditKind::Restored,
        AuditKind::Purged,
        AuditKind::DeletedForever,
        AuditKind::CancellationRequested,
        AuditKind::CancellationSucceeded,
        AuditKind::CancellationFailed,
        AuditKind::Emptied,
        AuditKind::HoldPlaced,
        AuditKind::HoldReleased,
    ];

    /// The kinds readers of the trail see (the events API, the web activity
    /// panel). A failed cancellation attempt is an internal retry detail:
    /// it is recorded but not shown.
    pub const PUBLIC: [AuditKind; 9] = [
        AuditKind::Trashed,
        AuditKind::Restored,
        AuditKind::Purged,
        AuditKind::DeletedForever,
        AuditKind::Emptied,
        AuditKind::CancellationRequested,
        AuditKind::CancellationSucceeded,
        AuditKind::HoldPlaced,
        AuditKind::HoldReleased,
    ];

    /// A stable name for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Trashed => "trashed",
            AuditKind::Restored => "restored",
            AuditKind::Purged => "purged",
            AuditKind::DeletedForever => "deleted_forever",
            AuditKind::CancellationRequested => "cancellation_requested",
            AuditKind::CancellationSucceeded => "cancellation_succeeded",
            AuditKind::CancellationFailed => "cancellation_failed",
            AuditKind::Emptied => "emptied",
            AuditKind::HoldPlaced => "hold_placed",
            AuditKind::HoldReleased => "hold_released",
        }
    }

    /// The action name readers see (`action` of the events API), for the
    /// kinds in [`AuditKind::PUBLIC`]; `None` for the others.
    pub fn action(self) -> Option<&'static str> {
        match self {
            AuditKind::CancellationSucceeded => Some("cancellation_confirmed"),
            AuditKind::CancellationFailed => None,
            other => Some(other.as_str()),
        }
    }

    /// Parses the name given by [`AuditKind::as_str`].
    pub fn parse(value: &str) -> Result<AuditKind, InvalidValue> {
        AuditKind::ALL
            .into_iter()
            .find(|k| k.as_str() == value)
            .ok_or_else(|| InvalidValue::Unknown {
                what: "audit kind",
                value: truncate_for_message(value),
                expected: "an audit event kind",
            })
    }
}

/// One recorded transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// The workspace it happened in.
    pub workspace: WorkspaceSlug,
    /// When.
    pub at: Timestamp,
    /// What.
    pub kind: AuditKind,
    /// Who.
    pub actor: Actor,
    /// To which item; `None` for the workspace itself (a workspace hold).
    pub item: Option<ItemRef>,
    /// As part of which trash operation, if any.
    pub operation: Option<OperationId>,
}

/// An audit event as stored, with its position in the workspace's trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Increasing position; later events have larger values.
    pub seq: i64,
    /// The event.
    pub event: AuditEvent,
}

/// A position in the audit trail read newest first: the next page holds
/// the events older than `seq`. Encoded as an opaque string for clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCursor {
    /// The position of the last event of the previous page.
    pub seq: i64,
}

impl EventCursor {
    /// The opaque string form.
    pub fn encode(&self) -> String {
        format!("e{:x}", self.seq)
    }

    /// Parses the opaque string form; anything else is refused.
    pub fn parse(value: &str) -> Result<EventCursor, InvalidValue> {
        let bad = || InvalidValue::Unknown {
            what: "cursor",
            value: truncate_for_message(value),
            expected: "a nextCursor value returned by a previous page",
        };
        let hex = value.strip_prefix('e').ok_or_else(bad)?;
        if hex.is_empty() || hex.len() > 15 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let seq = i64::from_str_radix(hex, 16).map_err(|_| bad())?;
        Ok(EventCursor { seq })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_public_ones_have_actions() {
        for k in AuditKind::ALL {
            assert_eq!(AuditKind::parse(k.as_str()), Ok(k));
            assert_eq!(
                k.action().is_some(),
                AuditKind::PUBLIC.contains(&k),
                "{k:?}"
            );
        }
        assert_eq!(
            AuditKind::CancellationSucceeded.action(),
            Some("cancellation_confirmed")
        );
    }

    #[test]
    fn event_cursor_round_trips_and_rejects_garbage() {
        for seq in [0, 1, 255, 1 << 40] {
            let c = EventCursor { seq };
            assert_eq!(EventCursor::parse(&c.encode()), Ok(c));
        }
        for bad in ["", "e", "x12", "e-1", "ezz", "e1234567890abcdef0", "é"] {
            assert!(EventCursor::parse(bad).is_err(), "{bad}");
        }
    }
}
