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
}

impl AuditKind {
    /// Every kind.
    pub const ALL: [AuditKind; 7] = [
        AuditKind::Trashed,
        AuditKind::Restored,
        AuditKind::Purged,
        AuditKind::DeletedForever,
        AuditKind::CancellationRequested,
        AuditKind::CancellationSucceeded,
        AuditKind::CancellationFailed,
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
    /// To which item.
    pub item: ItemRef,
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
