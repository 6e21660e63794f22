//! The work-queue role: due operations for the cleanup, and pending job
//! cancellations.

use async_trait::async_trait;
use trash_core::domain::*;
use trash_core::ports::*;

use super::{record, sql_time};
use crate::error::store_error;
use crate::rows::{self, OP_COLUMNS};
use crate::PgStore;

#[async_trait]
impl WorkQueue for PgStore {
    async fn claim_due_operations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TrashOperation>, StoreError> {
        // One statement: lock up to `limit` due, unclaimed operations,
        // skipping any another worker (or a restore, or a purge) holds, and
        // stamp the claim. Re-checked on the locked row, so an operation
        // claimed meanwhile is not taken twice.
        let sql = format!(
            "WITH due AS ( \
                 SELECT id FROM trash_operations \
                 WHERE scheduled_cleanup_at <= $1 \
                   AND (claimed_until IS NULL OR claimed_until <= $1) \
                 ORDER BY scheduled_cleanup_at, id \
                 LIMIT $3 \
                 FOR UPDATE SKIP LOCKED) \
             UPDATE trash_operations o SET claimed_until = $2 FROM due WHERE o.id = due.id \
             RETURNING {OP_COLUMNS}"
        );
        let rows = self
            .fetch_all(
                sqlx::query(&sql)
                    .bind(sql_time(now))
                    .bind(sql_time(claimed_until))
                    .bind(i64::from(limit)),
            )
            .await?;
        let mut ops = rows
            .iter()
            .map(rows::operation)
            .collect::<Result<Vec<_>, _>>()?;
        ops.sort_by(|a, b| (a.scheduled_cleanup_at, &a.id).cmp(&(b.scheduled_cleanup_at, &b.id)));
        Ok(ops)
    }

    async fn claim_cancellations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PendingCancellation>, StoreError> {
        let rows = self
            .fetch_all(
                sqlx::query(
                    "WITH due AS ( \
                         SELECT training_id, claimed_until AS previous FROM pending_cancellations \
                         WHERE claimed_until <= $1 \
                         ORDER BY claimed_until, training_id \
                         LIMIT $3 \
                         FOR UPDATE SKIP LOCKED) \
                     UPDATE pending_cancellations c SET claimed_until = $2 \
                     FROM due WHERE c.training_id = due.training_id \
                     RETURNING c.training_id, c.workspace, c.operation_id, c.attempts, due.previous",
                )
                .bind(sql_time(now))
                .bind(sql_time(claimed_until))
                .bind(i64::from(limit)),
            )
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            claimed.push((rows::timestamp(row, "previous")?, rows::pending(row)?));
        }
        claimed.sort_by(|a, b| (a.0, &a.1.training).cmp(&(b.0, &b.1.training)));
        Ok(claimed.into_iter().map(|(_, p)| p).collect())
    }

    async fn complete_cancellation(
        &self,
        training: &TrainingId,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let result = async {
            tx.execute(
                sqlx::query("DELETE FROM pending_cancellations WHERE training_id = $1")
                    .bind(training.as_str()),
            )
            .await
            .map_err(store_error)?;
            record(&mut tx, std::slice::from_ref(event)).await
        }
        .await;
        tx.finish(result).await
    }

    async fn fail_cancellation(
        &self,
        training: &TrainingId,
        retry_at: Timestamp,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let result = async {
            tx.execute(
                sqlx::query(
                    "UPDATE pending_cancellations \
                     SET attempts = attempts + 1, claimed_until = $2 WHERE training_id = $1",
                )
                .bind(training.as_str())
                .bind(sql_time(retry_at)),
            )
            .await
            .map_err(store_error)?;
            record(&mut tx, std::slice::from_ref(event)).await
        }
        .await;
        tx.finish(result).await
    }

    async fn pending_cancellations(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<PendingCancellation>, StoreError> {
        self.fetch_all(
            sqlx::query(
                "SELECT training_id, workspace, operation_id, attempts \
                 FROM pending_cancellations WHERE workspace = $1 ORDER BY training_id",
            )
            .bind(workspace.as_str()),
        )
        .await?
        .iter()
        .map(rows::pending)
        .collect()
    }
}

#[async_trait]
impl QueueDepth for PgStore {
    async fn backlog(&self, now: Timestamp) -> Result<Backlog, StoreError> {
        // One statement; both counts walk an index (the schedule, the
        // pending cancellations' primary key).
        let row = self
            .fetch_optional(
                sqlx::query(
                    "SELECT (SELECT count(*) FROM trash_operations \
                             WHERE scheduled_cleanup_at <= $1) AS due, \
                            (SELECT min(scheduled_cleanup_at) FROM trash_operations \
                             WHERE scheduled_cleanup_at <= $1) AS oldest, \
                            (SELECT count(*) FROM pending_cancellations) AS pending, \
                            (SELECT count(*) FROM outbox \
                             WHERE status = 'pending' AND available_at <= $1) AS outbox",
                )
                .bind(sql_time(now)),
            )
            .await?
            .ok_or_else(|| StoreError::Internal("the backlog query returned no row".into()))?;
        let count = |column: &str| -> Result<u64, StoreError> {
            let n: i64 = rows::get(&row, column)?;
            u64::try_from(n).map_err(|e| StoreError::Internal(format!("{column}: {e}")))
        };
        Ok(Backlog {
            due_operations: count("due")?,
            oldest_due: rows::opt_timestamp(&row, "oldest")?,
            pending_cancellations: count("pending")?,
            outbox_ready: count("outbox")?,
        })
    }
}
