//! [`WorkQueue`]: claiming due operations and pending cancellations. A claim
//! selects and marks rows inside one immediate transaction, and lives in
//! `claimed_until`, so it survives restarts.

use super::*;

#[async_trait]
impl WorkQueue for SqliteStore {
    async fn claim_due_operations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TrashOperation>, StoreError> {
        let sql = format!(
            "UPDATE operations SET claimed_until = ?1 WHERE id IN ( \
                 SELECT id FROM operations \
                 WHERE scheduled_cleanup_at <= ?2 AND (claimed_until IS NULL OR claimed_until <= ?2) \
                 ORDER BY scheduled_cleanup_at, id LIMIT ?3) \
             RETURNING {OPERATION_RETURNING}"
        );
        let mut tx = self.begin_write().await?;
        let result = sqlx::query_as::<_, OperationRow>(&sql)
            .bind(claimed_until.unix_millis())
            .bind(now.unix_millis())
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(db)
            .and_then(|rows| {
                rows.into_iter()
                    .map(TrashOperation::try_from)
                    .collect::<Result<Vec<_>, _>>()
            })
            .map(|mut ops| {
                // RETURNING has no defined order.
                ops.sort_by(|a, b| {
                    (a.scheduled_cleanup_at, &a.id).cmp(&(b.scheduled_cleanup_at, &b.id))
                });
                ops
            });
        finish(tx, result).await
    }

    async fn claim_cancellations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PendingCancellation>, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            let sql = format!(
                "SELECT {CANCELLATION_COLUMNS} FROM cancellations WHERE claimed_until <= ?1 \
                 ORDER BY claimed_until, training_id LIMIT ?2"
            );
            let rows = sqlx::query_as::<_, CancellationRow>(&sql)
                .bind(now.unix_millis())
                .bind(i64::from(limit))
                .fetch_all(&mut *conn)
                .await
                .map_err(db)?;
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            sqlx::query(
                "UPDATE cancellations SET claimed_until = ?1 \
                 WHERE training_id IN (SELECT value FROM json_each(?2))",
            )
            .bind(claimed_until.unix_millis())
            .bind(json_strings(rows.iter().map(|r| r.training_id.as_str())))
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            rows.into_iter()
                .map(PendingCancellation::try_from)
                .collect()
        }
        .await;
        finish(tx, result).await
    }

    async fn complete_cancellation(
        &self,
        training: &TrainingId,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            sqlx::query("DELETE FROM cancellations WHERE training_id = ?1")
                .bind(training.as_str())
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            record(conn, std::slice::from_ref(event)).await
        }
        .await;
        finish(tx, result).await
    }

    async fn fail_cancellation(
        &self,
        training: &TrainingId,
        retry_at: Timestamp,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            sqlx::query(
                "UPDATE cancellations SET attempts = attempts + 1, claimed_until = ?2 \
                 WHERE training_id = ?1",
            )
            .bind(training.as_str())
            .bind(retry_at.unix_millis())
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            record(conn, std::slice::from_ref(event)).await
        }
        .await;
        finish(tx, result).await
    }

    async fn pending_cancellations(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<PendingCancellation>, StoreError> {
        let sql = format!(
            "SELECT {CANCELLATION_COLUMNS} FROM cancellations WHERE workspace = ?1 ORDER BY training_id"
        );
        sqlx::query_as::<_, CancellationRow>(&sql)
            .bind(workspace.as_str())
            .fetch_all(&self.reader)
            .await
            .map_err(db)?
            .into_iter()
            .map(PendingCancellation::try_from)
            .collect()
    }
}

#[async_trait]
impl QueueDepth for SqliteStore {
    async fn backlog(&self, now: Timestamp) -> Result<Backlog, StoreError> {
        // One statement on the reader pool; the counts walk the schedule
        // index and the cancellations' primary key.
        let (due, oldest, pending, outbox): (i64, Option<i64>, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM operations WHERE scheduled_cleanup_at <= ?1), \
                    (SELECT min(scheduled_cleanup_at) FROM operations \
                     WHERE scheduled_cleanup_at <= ?1), \
                    (SELECT count(*) FROM cancellations), \
                    (SELECT count(*) FROM outbox \
                     WHERE status = 'pending' AND available_at <= ?1)",
        )
        .bind(now.unix_millis())
        .fetch_one(&self.reader)
        .await
        .map_err(db)?;
        let count = |what: &str, n: i64| {
            u64::try_from(n).map_err(|e| StoreError::Internal(format!("{what}: {e}")))
        };
        Ok(Backlog {
            due_operations: count("due operations", due)?,
            oldest_due: opt_ts("oldest due operation", oldest)?,
            pending_cancellations: count("pending cancellations", pending)?,
            outbox_ready: count("ready outbox messages", outbox)?,
        })
    }
}
