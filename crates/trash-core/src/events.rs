//! Outbound events: what the trash tells the outside world, decided here as
//! pure functions and written by the stores into a transactional outbox in
//! the same transaction as the change each message reports.
//!
//! A message body is `{"type": …, "timestamp": RFC 3339, "data": {…}}`.
//! Item events carry the fields of the trash listing (`workspace`, `type`,
//! `id`, `url`, `parentId`, …, `deletedAt`, `scheduledCleanupAt`,
//! `operationId`); `training.cancel_requested` carries `workspace`,
//! `projectId`, `projectUrl`, `version` and `trainingId`.
//!
//! Delivery (signing, HTTP, retries) happens outside the core; the retry
//! schedule is decided here ([`delivery_retry_at`]).

use std::fmt::Write as _;

use chrono::Duration;

use crate::domain::*;
use crate::ports::{TrainingItem, TrashedItem};

/// The kinds of outbound events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// `trash.item.trashed`: an item was moved to trash.
    ItemTrashed,
    /// `trash.item.restored`: an item was restored.
    ItemRestored,
    /// `trash.item.purge_soon`: an item will be removed for good soon.
    ItemPurgeSoon,
    /// `trash.item.purged`: an item was removed for good.
    ItemPurged,
    /// `training.cancel_requested`: the job of a training must stop.
    TrainingCancelRequested,
}

impl EventType {
    /// Every event type.
    pub const ALL: [EventType; 5] = [
        EventType::ItemTrashed,
        EventType::ItemRestored,
        EventType::ItemPurgeSoon,
        EventType::ItemPurged,
        EventType::TrainingCancelRequested,
    ];

    /// The wire name (`trash.item.trashed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ItemTrashed => "trash.item.trashed",
            EventType::ItemRestored => "trash.item.restored",
            EventType::ItemPurgeSoon => "trash.item.purge_soon",
            EventType::ItemPurged => "trash.item.purged",
            EventType::TrainingCancelRequested => "training.cancel_requested",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str) -> Result<EventType, InvalidValue> {
        EventType::ALL
            .into_iter()
            .find(|e| e.as_str() == value)
            .ok_or(InvalidValue::OutOfRange {
                what: "event type",
                detail: "one of trash.item.trashed, trash.item.restored, trash.item.purge_soon, \
                         trash.item.purged, training.cancel_requested",
            })
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message to deliver, as written into the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The message id, sent as `webhook-id` on every attempt.
    pub id: String,
    /// The workspace the event belongs to.
    pub workspace: WorkspaceSlug,
    /// The event type.
    pub event: EventType,
    /// The JSON body, exactly as sent and signed.
    pub body: String,
    /// Not delivered before this instant.
    pub due_at: Timestamp,
    /// The trash operation an item event is about (a restore or purge
    /// withdraws the undelivered `purge_soon` notices of its operations).
    pub operation: Option<OperationId>,
}

/// Where a message is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt (or being attempted).
    Pending,
    /// Every subscribed endpoint answered 2xx.
    Delivered,
    /// Retries ran out; only a redelivery sends it again.
    Failed,
}

impl DeliveryStatus {
    /// The stored name (`pending`, `delivered`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Result<DeliveryStatus, InvalidValue> {
        match value {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "failed" => Ok(DeliveryStatus::Failed),
            _ => Err(InvalidValue::OutOfRange {
                what: "delivery status",
                detail: "one of pending, delivered, failed",
            }),
        }
    }
}

/// A message with its delivery state, as the outbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// The message.
    pub message: OutboxMessage,
    /// Its delivery status.
    pub status: DeliveryStatus,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The endpoints (ids) that already answered 2xx; not sent to again.
    pub acked: Vec<String>,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// When it was delivered (or failed for good).
    pub finished_at: Option<Timestamp>,
}

/// How an item event describes its item: the fields of the trash listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemEvent {
    /// The workspace.
    pub workspace: WorkspaceSlug,
    /// The item, as listed.
    pub item: TrashedItem,
    /// When it was moved to trash.
    pub deleted_at: Timestamp,
    /// When cleanup may remove it.
    pub scheduled_cleanup_at: Timestamp,
    /// Its trash operation.
    pub operation: OperationId,
}

impl ItemEvent {
    /// The event of `item`, the root of `op`.
    pub fn of(item: TrashedItem, op: &TrashOperation) -> ItemEvent {
        ItemEvent {
            workspace: op.workspace.clone(),
            item,
            deleted_at: op.deleted_at,
            scheduled_cleanup_at: op.scheduled_cleanup_at,
            operation: op.id.clone(),
        }
    }
}

/// Writes `value` as a JSON string literal (quoted and escaped).
pub fn json_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON object built field by field, in order.
struct Object(String);

impl Object {
    fn new() -> Object {
        Object(String::from("{"))
    }
    fn raw(mut self, key: &str, json: &str) -> Object {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push_str(&json_string(key));
        self.0.push(':');
        self.0.push_str(json);
        self
    }
    fn str(self, key: &str, value: &str) -> Object {
        let v = json_string(value);
        self.raw(key, &v)
    }
    fn end(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// The body of any event: `{"type","timestamp","data"}`.
pub fn body(event: EventType, timestamp: Timestamp, data: &str) -> String {
    Object::new()
        .str("type", event.as_str())
        .str("timestamp", &timestamp.to_rfc3339())
        .raw("data", data)
        .end()
}

/// The `data` of an item event, named as in the trash listing.
pub fn item_data(e: &ItemEvent) -> String {
    let o = Object::new()
        .str("workspace", e.workspace.as_str())
        .str("type", e.item.item_ref().kind().as_str());
    let o = match &e.item {
        TrashedItem::Project(p) => o
            .str("id", p.id.as_str())
            .str("url", p.slug.as_str())
            .str("name", p.name.as_str()),
        TrashedItem::Workflow(w) => o
            .str("id", w.id.as_str())
            .str("url", w.slug.as_str())
            .str("name", w.name.as_str()),
        TrashedItem::Version(v) => o
            .str("id", &v.number.to_string())
            .str("name", v.name.as_str())
            .str("parentId", v.project.as_str())
            .str("parentUrl", v.project_slug.as_str()),
        TrashedItem::Training(t) => o
            .str("id", t.id.as_str())
            .str("projectId", t.project.as_str())
            .str("projectUrl", t.project_slug.as_str())
            .str("version", &t.version.to_string()),
    };
    o.str("deletedAt", &e.deleted_at.to_rfc3339())
        .str("scheduledCleanupAt", &e.scheduled_cleanup_at.to_rfc3339())
        .str("operationId", e.operation.as_str())
        .end()
}

/// An item event (`trashed`, `restored`, `purged`) happening at `at`.
pub fn item_message(id: String, event: EventType, e: &ItemEvent, at: Timestamp) -> OutboxMessage {
    OutboxMessage {
        id,
        workspace: e.workspace.clone(),
        event,
        body: body(event, at, &item_data(e)),
        due_at: at,
        operation: Some(e.operation.clone()),
    }
}

/// When the `purge_soon` notice of an item is due: `notice` before its
/// fixed `scheduledCleanupAt`, or `now` if that is already past.
pub fn purge_notice_at(
    scheduled_cleanup_at: Timestamp,
    notice: Duration,
    now: Timestamp,
) -> Timestamp {
    let at = scheduled_cleanup_at.plus(-notice);
    if at < now {
        now
    } else {
        at
    }
}

/// The `purge_soon` notice of an item trashed at `now`, due at
/// [`purge_notice_at`] (its `timestamp` is that instant).
pub fn purge_soon_message(
    id: String,
    e: &ItemEvent,
    notice: Duration,
    now: Timestamp,
) -> OutboxMessage {
    let at = purge_notice_at(e.scheduled_cleanup_at, notice, now);
    item_message(id, EventType::ItemPurgeSoon, e, at)
}

/// The id of the `training.cancel_requested` message of a training: one per
/// training (a training is cancelled at most once), so the job canceller can
/// find it.
pub fn cancel_message_id(training: &TrainingId) -> String {
    format!("msg_cancel_{}", training.as_str())
}

/// `training.cancel_requested` for `training`, requested at `at`.
pub fn cancel_message(
    workspace: &WorkspaceSlug,
    training: &TrainingItem,
    at: Timestamp,
) -> OutboxMessage {
    let data = Object::new()
        .str("workspace", workspace.as_str())
        .str("projectId", training.project.as_str())
        .str("projectUrl", training.project_slug.as_str())
        .str("version", &training.version.to_string())
        .str("trainingId", training.id.as_str())
        .end();
    OutboxMessage {
        id: cancel_message_id(&training.id),
        workspace: workspace.clone(),
        event: EventType::TrainingCancelRequested,
        body: body(EventType::TrainingCancelRequested, at, &data),
        due_at: at,
        operation: None,
    }
}

/// How long delivery of one message is retried before it is failed.
pub fn delivery_window() -> Duration {
    Duration::hours(24)
}

/// When to retry a message after its `attempts`-th failed attempt (1 for the
/// first) at `now`: exponential backoff from 5 s, doubling, at most one hour,
/// with full jitter over the upper half (`random` is any number). `None` once
/// the retry would fall more than [`delivery_window`] after `due_at`: the
/// message is then failed.
pub fn delivery_retry_at(
    due_at: Timestamp,
    attempts: u32,
    now: Timestamp,
    random: u64,
) -> Option<Timestamp> {
    let ceiling = 5i64
        .saturating_mul(1i64 << attempts.saturating_sub(1).min(12))
        .min(3600)
        * 1000;
    let half = ceiling / 2;
    let wait = half + (random % (half as u64 + 1)) as i64;
    let at = now.plus(Duration::milliseconds(wait));
    (at <= due_at.plus(delivery_window())).then_some(at)
}

/// Whether an endpoint subscribed to `events` (`None`: every event) receives `event`.
pub fn subscribes(events: Option<&[EventType]>, event: EventType) -> bool {
    events.is_none_or(|list| list.contains(&event))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms).unwrap()
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\u0001é\"");
    }

    #[test]
    fn event_names_round_trip() {
        for e in EventType::ALL {
            assert_eq!(EventType::parse(e.as_str()), Ok(e));
        }
        assert!(EventType::parse("trash.item.other").is_err());
    }

    #[test]
    fn the_notice_is_never_before_now() {
        let sched = ts(10 * 86_400_000);
        assert_eq!(
            purge_notice_at(sched, Duration::days(7), ts(0)),
            ts(3 * 86_400_000)
        );
        assert_eq!(
            purge_notice_at(sched, Duration::days(7), ts(5 * 86_400_000)),
            ts(5 * 86_400_000)
        );
    }

    #[test]
    fn retries_grow_and_stop_after_a_day() {
        let due = ts(0);
        let first = delivery_retry_at(due, 1, due, 0).unwrap();
        assert_eq!(first, ts(2_500));
        let max = delivery_retry_at(due, 1, due, u64::MAX).unwrap();
        assert!(max <= ts(5_000));
        let late = delivery_retry_at(due, 30, ts(23 * 3_600_000), 0).unwrap();
        assert_eq!(late, ts(23 * 3_600_000 + 1_800_000));
        assert_eq!(delivery_retry_at(due, 30, ts(24 * 3_600_000), 0), None);
    }

    #[test]
    fn subscriptions_filter() {
        assert!(subscribes(None, EventType::ItemPurged));
        assert!(!subscribes(
            Some(&[EventType::ItemTrashed]),
            EventType::ItemPurged
        ));
    }
}
