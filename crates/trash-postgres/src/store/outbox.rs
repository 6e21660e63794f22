//! [`Outbox`] and [`WebhookEndpoints`] on PostgreSQL. Messages are written by
//! the trash writes inside their transaction; claims take rows with
//! `FOR UPDATE SKIP LOCKED`, so replicas claiming at once never take the
//! same message.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use trash_core::domain::*;
use trash_core::events::{DeliveryStatus, EventType, OutboxMessage, StoredMessage};
use trash_core::ports::*;

use super::sql_time;
use crate::error::{corrupt, is_unique_violation, store_error};
use crate::exec::Tx;
use crate::rows::{self, get};
use crate::PgStore;

const MESSAGE_COLUMNS: &str = "id, workspace, event_type, body, due_at, operation_id, status, \
     attempts, acked, last_error, finished_at";

fn message(row: &PgRow) -> Result<StoredMessage, StoreError> {
    let event: String = get(row, "event_type")?;
    let status: String = get(row, "status")?;
    let attempts: i32 = get(row, "attempts")?;
    Ok(StoredMessage {
        message: OutboxMessage {
            id: get(row, "id")?,
            workspace: rows::workspace_slug(row, "workspace")?,
            event: EventType::parse(&event).map_err(|e| corrupt("event type", e))?,
            body: get(row, "body")?,
            due_at: rows::timestamp(row, "due_at")?,
            operation: rows::opt_operation_id(row, "operation_id")?,
        },
        status: DeliveryStatus::parse(&status).map_err(|e| corrupt("status", e))?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        acked: get(row, "acked")?,
        last_error: get(row, "last_error")?,
        finished_at: rows::opt_timestamp(row, "finished_at")?,
    })
}

/// Writes outbox messages inside the caller's transaction (an id already
/// stored is kept as it is).
pub(super) async fn enqueue(tx: &mut Tx<'_>, messages: &[OutboxMessage]) -> Result<(), StoreError> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
    let ws: Vec<&str> = messages.iter().map(|m| m.workspace.as_str()).collect();
    let events: Vec<&str> = messages.iter().map(|m| m.event.as_str()).collect();
    let bodies: Vec<&str> = messages.iter().map(|m| m.body.as_str()).collect();
    let due: Vec<_> = messages.iter().map(|m| sql_time(m.due_at)).collect();
    let ops: Vec<Option<&str>> = messages
        .iter()
        .map(|m| m.operation.as_ref().map(|o| o.as_str()))
        .collect();
    tx.execute(
        sqlx::query(
            "INSERT INTO outbox (id, workspace, event_type, body, due_at, operation_id, \
                 available_at) \
             SELECT id, ws, ev, body, due, op, due \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], \
                         $6::text[]) WITH ORDINALITY AS m(id, ws, ev, body, due, op, n) \
             ORDER BY n \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&ids)
        .bind(&ws)
        .bind(&events)
        .bind(&bodies)
        .bind(&due)
        .bind(&ops),
    )
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Deletes the pending `purge_soon` notices of these operations inside the
/// caller's transaction.
pub(super) async fn withdraw_notices(
    tx: &mut Tx<'_>,
    operations: &[&str],
) -> Result<(), StoreError> {
    if operations.is_empty() {
        return Ok(());
    }
    tx.execute(
        sqlx::query(
            "DELETE FROM outbox WHERE event_type = 'trash.item.purge_soon' \
             AND status = 'pending' AND operation_id = ANY($1)",
        )
        .bind(operations),
    )
    .await
    .map_err(store_error)?;
    Ok(())
}

impl PgStore {
    async fn finish_attempt(
        &self,
        id: &str,
        acked: &[String],
        status: DeliveryStatus,
        at: Timestamp,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.execute(
            sqlx::query(
                "UPDATE outbox SET acked = $2, status = $3, available_at = $4, \
                     attempts = attempts + $5, last_error = COALESCE($6, last_error), \
                     finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE $4 END \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(acked)
            .bind(status.as_str())
            .bind(sql_time(at))
            .bind(i32::from(error.is_some()))
            .bind(error),
        )
        .await
        .map_err(store_error)?;
        Ok(())
    }
}

#[async_trait]
impl Outbox for PgStore {
    async fn claim_messages(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        // One statement: lock up to `limit` available messages, skipping the
        // ones another replica holds, and push them out of reach until the
        // claim ends.
        let sql = format!(
            "WITH due AS ( \
                 SELECT id FROM outbox \
                 WHERE status = 'pending' AND available_at <= $1 \
                 ORDER BY available_at, seq \
                 LIMIT $3 \
                 FOR UPDATE SKIP LOCKED) \
             UPDATE outbox o SET available_at = $2 FROM due WHERE o.id = due.id \
             RETURNING {}",
            MESSAGE_COLUMNS
                .split(", ")
                .map(|c| format!("o.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows = self
            .fetch_all(
                sqlx::query(&sql)
                    .bind(sql_time(now))
                    .bind(sql_time(claimed_until))
                    .bind(i64::from(limit)),
            )
            .await?;
        rows.iter().map(message).collect()
    }

    async fn complete_message(
        &self,
        id: &str,
        acked: &[String],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.finish_attempt(id, acked, DeliveryStatus::Delivered, at, None)
            .await
    }

    async fn retry_message(
        &self,
        id: &str,
        acked: &[String],
        retry_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        self.finish_attempt(id, acked, DeliveryStatus::Pending, retry_at, Some(error))
            .await
    }

    async fn fail_message(
        &self,
        id: &str,
        acked: &[String],
        at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        self.finish_attempt(id, acked, DeliveryStatus::Failed, at, Some(error))
            .await
    }

    async fn messages(
        &self,
        workspace: &WorkspaceSlug,
        failed_only: bool,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM outbox WHERE workspace = $1 \
             AND (NOT $2 OR status = 'failed') ORDER BY due_at DESC, seq DESC LIMIT $3"
        );
        let rows = self
            .fetch_all(
                sqlx::query(&sql)
                    .bind(workspace.as_str())
                    .bind(failed_only)
                    .bind(i64::from(limit)),
            )
            .await?;
        rows.iter().map(message).collect()
    }

    async fn message(&self, id: &str) -> Result<Option<StoredMessage>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM outbox WHERE id = $1");
        self.fetch_optional(sqlx::query(&sql).bind(id))
            .await?
            .as_ref()
            .map(message)
            .transpose()
    }

    async fn redeliver(&self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .execute(
                sqlx::query(
                    "UPDATE outbox SET status = 'pending', attempts = 0, acked = '{}', \
                         last_error = NULL, finished_at = NULL, due_at = $2, available_at = $2 \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(sql_time(now)),
            )
            .await
            .map_err(store_error)?;
        Ok(n == 1)
    }

    async fn prune_messages(
        &self,
        finished_before: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.execute(
            sqlx::query(
                "DELETE FROM outbox WHERE id IN ( \
                     SELECT id FROM outbox WHERE status <> 'pending' AND finished_at < $1 \
                     ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
            )
            .bind(sql_time(finished_before))
            .bind(i64::from(limit)),
        )
        .await
        .map_err(store_error)
    }
}

const ENDPOINT_COLUMNS: &str =
    "id, workspace, url, secret, previous_secret, previous_until, events, created_at";

fn endpoint(row: &PgRow) -> Result<WebhookEndpoint, StoreError> {
    let events: Option<Vec<String>> = get(row, "events")?;
    let events = events
        .map(|list| {
            list.iter()
                .map(|e| EventType::parse(e).map_err(|err| corrupt("event type", err)))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let previous: Option<String> = get(row, "previous_secret")?;
    let until = rows::opt_timestamp(row, "previous_until")?;
    Ok(WebhookEndpoint {
        id: get(row, "id")?,
        workspace: rows::workspace_slug(row, "workspace")?,
        url: get(row, "url")?,
        secret: get(row, "secret")?,
        previous_secret: previous.zip(until),
        events,
        created_at: rows::timestamp(row, "created_at")?,
    })
}

#[async_trait]
impl WebhookEndpoints for PgStore {
    async fn add_endpoint(&self, e: &WebhookEndpoint) -> Result<(), StoreError> {
        let events: Option<Vec<&str>> = e
            .events
            .as_ref()
            .map(|list| list.iter().map(|ev| ev.as_str()).collect());
        self.execute(
            sqlx::query(
                "INSERT INTO webhook_endpoints (id, workspace, url, secret, previous_secret, \
                     previous_until, events, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&e.id)
            .bind(e.workspace.as_str())
            .bind(&e.url)
            .bind(&e.secret)
            .bind(e.previous_secret.as_ref().map(|(s, _)| s.as_str()))
            .bind(e.previous_secret.as_ref().map(|(_, t)| sql_time(*t)))
            .bind(events)
            .bind(sql_time(e.created_at)),
        )
        .await
        .map_err(|err| {
            if is_unique_violation(&err, None) {
                StoreError::AlreadyExists
            } else {
                store_error(err)
            }
        })?;
        Ok(())
    }

    async fn endpoints(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE workspace = $1 \
             ORDER BY created_at, id"
        );
        let rows = self
            .fetch_all(sqlx::query(&sql).bind(workspace.as_str()))
            .await?;
        rows.iter().map(endpoint).collect()
    }

    async fn endpoint(&self, id: &str) -> Result<Option<WebhookEndpoint>, StoreError> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1");
        self.fetch_optional(sqlx::query(&sql).bind(id))
            .await?
            .as_ref()
            .map(endpoint)
            .transpose()
    }

    async fn remove_endpoint(&self, id: &str) -> Result<bool, StoreError> {
        let n = self
            .execute(sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1").bind(id))
            .await
            .map_err(store_error)?;
        Ok(n == 1)
    }

    async fn rotate_endpoint_secret(
        &self,
        id: &str,
        secret: &str,
        previous_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                sqlx::query(
                    "UPDATE webhook_endpoints SET previous_secret = secret, \
                         previous_until = $3, secret = $2 WHERE id = $1",
                )
                .bind(id)
                .bind(secret)
                .bind(sql_time(previous_until)),
            )
            .await
            .map_err(store_error)?;
        Ok(n == 1)
    }
}
