//! The outbox role: messages written with the changes they report (by
//! [`super::TrashWrites`]), claimed and acknowledged by a delivery worker;
//! and the webhook endpoints operators register per workspace.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::*;
use crate::events::{EventType, StoredMessage};

/// The messages waiting for delivery and their state. Messages are written
/// only by the guarded writes ([`super::TrashPlan::outbox`], …), in the
/// same transaction as the change they report. Claims only spread work
/// between workers: delivery is at least once, and a message's id lets a
/// receiver drop duplicates.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Outbox: Send + Sync {
    /// MUST atomically claim up to `limit` pending messages of any workspace
    /// that are available at `now` (due, not claimed, or whose claim or retry
    /// time has passed), making them unavailable until `claimed_until`,
    /// earliest first. A message claimed by one caller MUST NOT be returned
    /// to another before `claimed_until` (several processes may claim at
    /// once; a SQL store skips rows another transaction holds).
    async fn claim_messages(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError>;
    /// MUST mark the message delivered at `at` with the endpoints that
    /// acknowledged it. A message no longer stored (withdrawn) is not an error.
    async fn complete_message(
        &self,
        id: &str,
        acked: &[String],
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// MUST count a failed attempt, record `error` and the endpoints that
    /// acknowledged so far, and keep the message unavailable until
    /// `retry_at`. A message no longer stored is not an error.
    async fn retry_message(
        &self,
        id: &str,
        acked: &[String],
        retry_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError>;
    /// MUST count a failed attempt and mark the message failed at `at`
    /// (never claimed again unless redelivered).
    async fn fail_message(
        &self,
        id: &str,
        acked: &[String],
        at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError>;
    /// MUST return up to `limit` messages of a workspace (only the failed
    /// ones when `failed_only`), most recent `due_at` first.
    async fn messages(
        &self,
        workspace: &WorkspaceSlug,
        failed_only: bool,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError>;
    /// MUST return the message with this id, of any workspace.
    async fn message(&self, id: &str) -> Result<Option<StoredMessage>, StoreError>;
    /// MUST make the message pending again, available at `now`, with no
    /// attempts, no acknowledged endpoints and its `due_at` set to `now`
    /// (so it gets a fresh retry window); `false` if there is no such message.
    async fn redeliver(&self, id: &str, now: Timestamp) -> Result<bool, StoreError>;
    /// MUST delete up to `limit` finished messages (delivered or failed)
    /// whose `finished_at` is before `finished_before`, oldest first, and
    /// return how many it deleted. A pending message MUST NOT be deleted,
    /// whatever its age.
    async fn prune_messages(
        &self,
        finished_before: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError>;
}

/// A webhook endpoint an operator registered for one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// Its id (`ep_…`).
    pub id: String,
    /// The workspace whose events it receives.
    pub workspace: WorkspaceSlug,
    /// Where messages are posted.
    pub url: String,
    /// The signing secret, `whsec_<base64>`.
    pub secret: String,
    /// The secret before the last rotation, and until when it also signs.
    pub previous_secret: Option<(String, Timestamp)>,
    /// The events it receives; `None` for every event.
    pub events: Option<Vec<EventType>>,
    /// When it was registered.
    pub created_at: Timestamp,
}

/// The per-workspace webhook endpoints. Registered by operators only.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookEndpoints: Send + Sync {
    /// MUST store the endpoint (`AlreadyExists` if its id is taken).
    async fn add_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError>;
    /// MUST return the endpoints of a workspace, oldest first.
    async fn endpoints(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<WebhookEndpoint>, StoreError>;
    /// MUST return the endpoint with this id, of any workspace.
    async fn endpoint(&self, id: &str) -> Result<Option<WebhookEndpoint>, StoreError>;
    /// MUST remove the endpoint; `false` if there is none with this id.
    async fn remove_endpoint(&self, id: &str) -> Result<bool, StoreError>;
    /// MUST replace the endpoint's secret with `secret`, keeping the
    /// current one as the previous secret until `previous_until`, atomically;
    /// `false` if there is no such endpoint.
    async fn rotate_endpoint_secret(
        &self,
        id: &str,
        secret: &str,
        previous_until: Timestamp,
    ) -> Result<bool, StoreError>;
}
