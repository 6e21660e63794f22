//! [`EmptyJobs`]: "Empty Trash" jobs, one running per workspace.

use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::*;

const JOB_COLUMNS: &str = "id, workspace, actor_kind, actor_id, actor_name, total, removed, \
     failed, state, started_at, updated_at, finished_at, claimed_until";

fn job(row: &SqliteRow) -> Result<EmptyJob, StoreError> {
    let int = |c: &str| row.try_get::<i64, _>(c).map_err(db);
    let opt = |c: &str| row.try_get::<Option<i64>, _>(c).map_err(db);
    let text = |c: &str| row.try_get::<String, _>(c).map_err(db);
    let opt_ts = |what: &str, v: Option<i64>| v.map(|m| ts(what, m)).transpose();
    let count = |c: &str| int(c).map(|n| u64::try_from(n).unwrap_or(0));
    Ok(EmptyJob {
        id: text("id")?,
        workspace: parse("workspace slug", &text("workspace")?, WorkspaceSlug::parse)?,
        actor: Actor {
            kind: parse("actor kind", &text("actor_kind")?, ActorKind::parse)?,
            id: text("actor_id")?,
            name: text("actor_name")?,
        },
        total: count("total")?,
        removed: count("removed")?,
        failed: count("failed")?,
        state: parse("empty job state", &text("state")?, EmptyJobState::parse)?,
        started_at: ts("job start", int("started_at")?)?,
        updated_at: ts("job update", int("updated_at")?)?,
        finished_at: opt_ts("job end", opt("finished_at")?)?,
        claimed_until: opt_ts("job claim", opt("claimed_until")?)?,
    })
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl EmptyJobs for SqliteStore {
    async fn start_empty_job(&self, job_: &EmptyJob) -> Result<Option<EmptyJob>, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            let running = sqlx::query(&format!(
                "SELECT {JOB_COLUMNS} FROM empty_jobs WHERE workspace = ?1 AND state = 'running'"
            ))
            .bind(job_.workspace.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
            if let Some(row) = running {
                return job(&row).map(Some);
            }
            sqlx::query(&format!(
                "INSERT INTO empty_jobs ({JOB_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
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
            .bind(job_.started_at.unix_millis())
            .bind(job_.updated_at.unix_millis())
            .bind(job_.finished_at.map(Timestamp::unix_millis))
            .bind(job_.claimed_until.map(Timestamp::unix_millis))
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            Ok(None)
        }
        .await;
        finish(tx, result).await
    }

    async fn latest_empty_job(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Option<EmptyJob>, StoreError> {
        sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM empty_jobs WHERE workspace = ?1 \
             ORDER BY started_at DESC, rowid DESC LIMIT 1"
        ))
        .bind(workspace.as_str())
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?
        .map(|row| job(&row))
        .transpose()
    }

    async fn claim_empty_job(
        &self,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<EmptyJob>, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            sqlx::query(&format!(
                "UPDATE empty_jobs SET claimed_until = ?2 WHERE id = ( \
                     SELECT id FROM empty_jobs WHERE state = 'running' \
                     AND (claimed_until IS NULL OR claimed_until <= ?1) \
                     ORDER BY started_at LIMIT 1) \
                 RETURNING {JOB_COLUMNS}"
            ))
            .bind(now.unix_millis())
            .bind(until.unix_millis())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .map(|row| job(&row))
            .transpose()
        }
        .await;
        finish(tx, result).await
    }

    async fn save_empty_job(&self, job_: &EmptyJob) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = sqlx::query(
            "UPDATE empty_jobs SET removed = ?2, failed = ?3, state = ?4, updated_at = ?5, \
             finished_at = ?6, claimed_until = ?7 WHERE id = ?1",
        )
        .bind(&job_.id)
        .bind(signed(job_.removed))
        .bind(signed(job_.failed))
        .bind(job_.state.as_str())
        .bind(job_.updated_at.unix_millis())
        .bind(job_.finished_at.map(Timestamp::unix_millis))
        .bind(job_.claimed_until.map(Timestamp::unix_millis))
        .execute(&mut *tx)
        .await
        .map(|_| ())
        .map_err(db);
        finish(tx, result).await
    }

    async fn trash_size(&self, workspace: &WorkspaceSlug) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM operations WHERE workspace = ?1")
            .bind(workspace.as_str())
            .fetch_one(&self.reader)
            .await
            .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
