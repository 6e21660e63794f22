//! [`EmptyJobs`]: "Empty Trash" jobs, one running per workspace (a partial
//! unique index decides between concurrent starts).

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use trash_core::domain::*;
use trash_core::ports::*;

use super::sql_time;
use crate::error::store_error;
use crate::rows::{self, get};
use crate::PgStore;

const JOB_COLUMNS: &str = "id, workspace, actor_kind, actor_id, actor_name, total, removed, \
     failed, state, started_at, updated_at, finished_at, claimed_until";

fn job(row: &PgRow) -> Result<EmptyJob, StoreError> {
    let count = |c: &str| get::<i64>(row, c).map(|n| u64::try_from(n).unwrap_or(0));
    let workspace: String = get(row, "workspace")?;
    let state: String = get(row, "state")?;
    Ok(EmptyJob {
        id: get(row, "id")?,
        workspace: rows::parse("workspace slug", &workspace, WorkspaceSlug::parse)?,
        actor: rows::actor(row)?,
        total: count("total")?,
        removed: count("removed")?,
        failed: count("failed")?,
        state: rows::parse("empty job state", &state, EmptyJobState::parse)?,
        started_at: rows::timestamp(row, "started_at")?,
        updated_at: rows::timestamp(row, "updated_at")?,
        finished_at: rows::opt_timestamp(row, "finished_at")?,
        claimed_until: rows::opt_timestamp(row, "claimed_until")?,
    })
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl EmptyJobs for PgStore {
    async fn start_empty_job(&self, job_: &EmptyJob) -> Result<Option<EmptyJob>, StoreError> {
        // A job that finishes between the refused insert and the read of
        // the running one leaves room for this one: try again once.
        for _ in 0..2 {
            let inserted = self
                .fetch_optional(
                    sqlx::query(&format!(
                        "INSERT INTO empty_jobs ({JOB_COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                         ON CONFLICT (workspace) WHERE state = 'running' DO NOTHING \
                         RETURNING id"
                    ))
                    .bind(&job_.id)
                    .bind(job_.workspace.as_str())
                    .bind(job_.actor.kind.as_str())
                    .bind(&job_.actor.id)
                    .bind(&job_.actor.name)
                    .bind(signed(job_.total))
                    .bind(signed(job_.removed))
                    .bind(signed(job_.failed))
                    .bind(job_.state.as_str())
                    .bind(sql_time(job_.started_at))
                    .bind(sql_time(job_.updated_at))
                    .bind(job_.finished_at.map(sql_time))
                    .bind(job_.claimed_until.map(sql_time)),
                )
                .await?;
            if inserted.is_some() {
                return Ok(None);
            }
            let running = self
                .fetch_optional(
                    sqlx::query(&format!(
                        "SELECT {JOB_COLUMNS} FROM empty_jobs \
                         WHERE workspace = $1 AND state = 'running'"
                    ))
                    .bind(job_.workspace.as_str()),
                )
                .await?;
            if let Some(row) = running {
                return job(&row).map(Some);
            }
        }
        Err(StoreError::Unavailable(
            "empty trash jobs kept changing; try again".into(),
        ))
    }

    async fn latest_empty_job(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Option<EmptyJob>, StoreError> {
        self.fetch_optional(
            sqlx::query(&format!(
                "SELECT {JOB_COLUMNS} FROM empty_jobs WHERE workspace = $1 \
                 ORDER BY started_at DESC, id DESC LIMIT 1"
            ))
            .bind(workspace.as_str()),
        )
        .await?
        .map(|row| job(&row))
        .transpose()
    }

    async fn claim_empty_job(
        &self,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<EmptyJob>, StoreError> {
        self.fetch_optional(
            sqlx::query(&format!(
                "UPDATE empty_jobs SET claimed_until = $2 WHERE id = ( \
                     SELECT id FROM empty_jobs WHERE state = 'running' \
                     AND (claimed_until IS NULL OR claimed_until <= $1) \
                     ORDER BY started_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING {JOB_COLUMNS}"
            ))
            .bind(sql_time(now))
            .bind(sql_time(until)),
        )
        .await?
        .map(|row| job(&row))
        .transpose()
    }

    async fn save_empty_job(&self, job_: &EmptyJob) -> Result<(), StoreError> {
        self.execute(
            sqlx::query(
                "UPDATE empty_jobs SET removed = $2, failed = $3, state = $4, updated_at = $5, \
                 finished_at = $6, claimed_until = $7 WHERE id = $1",
            )
            .bind(&job_.id)
            .bind(signed(job_.removed))
            .bind(signed(job_.failed))
            .bind(job_.state.as_str())
            .bind(sql_time(job_.updated_at))
            .bind(job_.finished_at.map(sql_time))
            .bind(job_.claimed_until.map(sql_time)),
        )
        .await
        .map(|_| ())
        .map_err(store_error)
    }

    async fn trash_size(&self, workspace: &WorkspaceSlug) -> Result<u64, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query("SELECT count(*) AS n FROM trash_operations WHERE workspace = $1")
                    .bind(workspace.as_str()),
            )
            .await?;
        let n: i64 = match row {
            Some(row) => get(&row, "n")?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
