//! [`Outbox`] and [`WebhookEndpoints`]: the messages the trash writes with
//! its changes (written by `writes` inside the same transaction), claimed by
//! the delivery worker in immediate transactions, and the endpoints.

use trash_core::events::{DeliveryStatus, EventType, OutboxMessage, StoredMessage};

use super::*;

const MESSAGE_COLUMNS: &str = "id, workspace, event_type, body, due_at, operation_id, status, \
     attempts, acked, last_error, finished_at";

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: String,
    workspace: String,
    event_type: String,
    body: String,
    due_at: i64,
    operation_id: Option<String>,
    status: String,
    attempts: i64,
    acked: String,
    last_error: Option<String>,
    finished_at: Option<i64>,
}

impl TryFrom<MessageRow> for StoredMessage {
    type Error = StoreError;
    fn try_from(r: MessageRow) -> Result<Self, StoreError> {
        let acked: Vec<String> = serde_json::from_str(&r.acked)
            .map_err(|e| crate::error::corrupt("acknowledged endpoints", e))?;
        Ok(StoredMessage {
            message: OutboxMessage {
                id: r.id,
                workspace: parse("workspace", &r.workspace, WorkspaceSlug::parse)?,
                event: parse("event type", &r.event_type, EventType::parse)?,
                body: r.body,
                due_at: ts("due_at", r.due_at)?,
                operation: r
                    .operation_id
                    .as_deref()
                    .map(|o| parse("operation id", o, OperationId::parse))
                    .transpose()?,
            },
            status: parse("status", &r.status, DeliveryStatus::parse)?,
            attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            acked,
            last_error: r.last_error,
            finished_at: opt_ts("finished_at", r.finished_at)?,
        })
    }
}

/// Writes outbox messages (an id already stored is kept as it is), with one
/// statement whatever their number.
pub(super) async fn enqueue(
    conn: &mut SqliteConnection,
    messages: &[OutboxMessage],
) -> Result<(), StoreError> {
    if messages.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            serde_json::json!([
                m.id,
                m.workspace.as_str(),
                m.event.as_str(),
                m.body,
                m.due_at.unix_millis(),
                m.operation.as_ref().map(|o| o.as_str()),
            ])
        })
        .collect();
    // `WHERE true` keeps SQLite from reading ON CONFLICT as a join clause.
    sqlx::query(
        "INSERT INTO outbox (id, workspace, event_type, body, due_at, operation_id, \
             available_at) \
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
             value ->> 4 \
         FROM json_each(?1) WHERE true ORDER BY key \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Deletes the pending `purge_soon` notices of these operations.
pub(super) async fn withdraw_notices<'a>(
    conn: &mut SqliteConnection,
    operations: impl IntoIterator<Item = &'a OperationId>,
) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM outbox WHERE event_type = 'trash.item.purge_soon' AND status = 'pending' \
         AND operation_id IN (SELECT value FROM json_each(?1))",
    )
    .bind(json_strings(operations.into_iter().map(|o| o.as_str())))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

fn acked_json(acked: &[String]) -> String {
    json_strings(acked.iter().map(String::as_str))
}

impl SqliteStore {
    async fn finish_attempt(
        &self,
        id: &str,
        acked: &[String],
        status: DeliveryStatus,
        at: Timestamp,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = sqlx::query(
            "UPDATE outbox SET acked = ?2, status = ?3, available_at = ?4, \
                 attempts = attempts + ?5, last_error = COALESCE(?6, last_error), \
                 finished_at = CASE WHEN ?3 = 'pending' THEN NULL ELSE ?4 END \
             WHERE id = ?1",
        )
        .bind(id)
        .bind(acked_json(acked))
        .bind(status.as_str())
        .bind(at.unix_millis())
        .bind(i64::from(error.is_some()))
        .bind(error)
        .execute(&mut *tx)
        .await
        .map(|_| ())
        .map_err(db);
        finish(tx, result).await
    }
}

#[async_trait]
impl Outbox for SqliteStore {
    async fn claim_messages(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let sql = format!(
            "UPDATE outbox SET available_at = ?1 WHERE rowid IN ( \
                 SELECT rowid FROM outbox WHERE status = 'pending' AND available_at <= ?2 \
                 ORDER BY available_at, rowid LIMIT ?3) \
             RETURNING {MESSAGE_COLUMNS}"
        );
        let mut tx = self.begin_write().await?;
        let result = sqlx::query_as::<_, MessageRow>(&sql)
            .bind(claimed_until.unix_millis())
            .bind(now.unix_millis())
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(db)
            .and_then(|rows| rows.into_iter().map(StoredMessage::try_from).collect());
        finish(tx, result).await
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
            "SELECT {MESSAGE_COLUMNS} FROM outbox WHERE workspace = ?1 \
             AND (?2 = 0 OR status = 'failed') ORDER BY due_at DESC, rowid DESC LIMIT ?3"
        );
        sqlx::query_as::<_, MessageRow>(&sql)
            .bind(workspace.as_str())
            .bind(failed_only)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?
            .into_iter()
            .map(StoredMessage::try_from)
            .collect()
    }

    async fn message(&self, id: &str) -> Result<Option<StoredMessage>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM outbox WHERE id = ?1");
        sqlx::query_as::<_, MessageRow>(&sql)
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .map(StoredMessage::try_from)
            .transpose()
    }

    async fn redeliver(&self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = sqlx::query(
            "UPDATE outbox SET status = 'pending', attempts = 0, acked = '[]', \
                 last_error = NULL, finished_at = NULL, due_at = ?2, available_at = ?2 \
             WHERE id = ?1",
        )
        .bind(id)
        .bind(now.unix_millis())
        .execute(&mut *tx)
        .await
        .map(|done| done.rows_affected() == 1)
        .map_err(db);
        finish(tx, result).await
    }

    async fn prune_messages(
        &self,
        finished_before: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = sqlx::query(
            "DELETE FROM outbox WHERE rowid IN ( \
                 SELECT rowid FROM outbox WHERE status <> 'pending' AND finished_at < ?1 \
                 ORDER BY finished_at LIMIT ?2)",
        )
        .bind(finished_before.unix_millis())
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await
        .map(|done| done.rows_affected())
        .map_err(db);
        finish(tx, result).await
    }
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: String,
    workspace: String,
    url: String,
    secret: String,
    previous_secret: Option<String>,
    previous_until: Option<i64>,
    events: Option<String>,
    created_at: i64,
}

const ENDPOINT_COLUMNS: &str =
    "id, workspace, url, secret, previous_secret, previous_until, events, created_at";

/// Event lists are stored comma-separated.
fn events_text(events: Option<&[EventType]>) -> Option<String> {
    events.map(|list| {
        list.iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(",")
    })
}

impl TryFrom<EndpointRow> for WebhookEndpoint {
    type Error = StoreError;
    fn try_from(r: EndpointRow) -> Result<Self, StoreError> {
        let events = r
            .events
            .as_deref()
            .map(|text| {
                text.split(',')
                    .filter(|e| !e.is_empty())
                    .map(|e| parse("event type", e, EventType::parse))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let previous_secret = match (r.previous_secret, r.previous_until) {
            (Some(s), Some(until)) => Some((s, ts("previous_until", until)?)),
            _ => None,
        };
        Ok(WebhookEndpoint {
            id: r.id,
            workspace: parse("workspace", &r.workspace, WorkspaceSlug::parse)?,
            url: r.url,
            secret: r.secret,
            previous_secret,
            events,
            created_at: ts("created_at", r.created_at)?,
        })
    }
}

#[async_trait]
impl WebhookEndpoints for SqliteStore {
    async fn add_endpoint(&self, e: &WebhookEndpoint) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = sqlx::query(
            "INSERT INTO webhook_endpoints (id, workspace, url, secret, previous_secret, \
                 previous_until, events, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(&e.id)
        .bind(e.workspace.as_str())
        .bind(&e.url)
        .bind(&e.secret)
        .bind(e.previous_secret.as_ref().map(|(s, _)| s.as_str()))
        .bind(e.previous_secret.as_ref().map(|(_, t)| t.unix_millis()))
        .bind(events_text(e.events.as_deref()))
        .bind(e.created_at.unix_millis())
        .execute(&mut *tx)
        .await
        .map(|_| ())
        .map_err(|err| {
            if is_unique_violation(&err) {
                StoreError::AlreadyExists
            } else {
                db(err)
            }
        });
        finish(tx, result).await
    }

    async fn endpoints(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE workspace = ?1 \
             ORDER BY created_at, id"
        );
        sqlx::query_as::<_, EndpointRow>(&sql)
            .bind(workspace.as_str())
            .fetch_all(&self.reader)
            .await
            .map_err(db)?
            .into_iter()
            .map(WebhookEndpoint::try_from)
            .collect()
    }

    async fn endpoint(&self, id: &str) -> Result<Option<WebhookEndpoint>, StoreError> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?1");
        sqlx::query_as::<_, EndpointRow>(&sql)
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .map(WebhookEndpoint::try_from)
            .transpose()
    }

    async fn remove_endpoint(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = sqlx::query("DELETE FROM webhook_endpoints WHERE id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map(|done| done.rows_affected() == 1)
            .map_err(db);
        finish(tx, result).await
    }

    async fn rotate_endpoint_secret(
        &self,
        id: &str,
        secret: &str,
        previous_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = sqlx::query(
            "UPDATE webhook_endpoints SET previous_secret = secret, previous_until = ?3, \
                 secret = ?2 WHERE id = ?1",
        )
        .bind(id)
        .bind(secret)
        .bind(previous_until.unix_millis())
        .execute(&mut *tx)
        .await
        .map(|done| done.rows_affected() == 1)
        .map_err(db);
        finish(tx, result).await
    }
}
