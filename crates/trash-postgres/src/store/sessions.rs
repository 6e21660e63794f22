//! The sessions role: web sessions (stored as hashes) and the user changes
//! that end them, each atomic.

use async_trait::async_trait;
use trash_core::domain::*;
use trash_core::ports::*;

use super::{sql_time, Query};
use crate::error::{insert_error, store_error};
use crate::rows;
use crate::PgStore;

impl PgStore {
    /// Runs `change` (a statement on the user) and removes the user's
    /// sessions in one transaction; returns whether the user was changed.
    async fn change_user(&self, user: &UserId, change: Query<'_>) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let result = async {
            let changed = tx.execute(change).await.map_err(store_error)?;
            tx.execute(
                sqlx::query("DELETE FROM web_sessions WHERE user_id = $1").bind(user.as_str()),
            )
            .await
            .map_err(store_error)?;
            Ok(changed > 0)
        }
        .await;
        tx.finish(result).await
    }
}

#[async_trait]
impl SessionStore for PgStore {
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        self.execute(
            sqlx::query(
                "INSERT INTO web_sessions (session_hash, user_id, created_at, last_seen_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(session.hash.to_hex())
            .bind(session.user.as_str())
            .bind(sql_time(session.created_at))
            .bind(sql_time(session.last_seen_at)),
        )
        .await
        .map(|_| ())
        .map_err(insert_error)
    }

    async fn session_by_hash(&self, hash: &KeyHash) -> Result<Option<SessionRecord>, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query(
                    "SELECT session_hash, user_id, created_at, last_seen_at \
                     FROM web_sessions WHERE session_hash = $1",
                )
                .bind(hash.to_hex()),
            )
            .await?;
        row.map(|r| rows::session(&r)).transpose()
    }

    async fn touch_session(&self, hash: &KeyHash, at: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .execute(
                sqlx::query(
                    "UPDATE web_sessions SET last_seen_at = GREATEST(last_seen_at, $2) \
                     WHERE session_hash = $1",
                )
                .bind(hash.to_hex())
                .bind(sql_time(at)),
            )
            .await
            .map_err(store_error)?;
        Ok(n > 0)
    }

    async fn delete_session(&self, hash: &KeyHash) -> Result<bool, StoreError> {
        let n = self
            .execute(
                sqlx::query("DELETE FROM web_sessions WHERE session_hash = $1").bind(hash.to_hex()),
            )
            .await
            .map_err(store_error)?;
        Ok(n > 0)
    }

    async fn delete_user_sessions(&self, user: &UserId) -> Result<u64, StoreError> {
        self.execute(sqlx::query("DELETE FROM web_sessions WHERE user_id = $1").bind(user.as_str()))
            .await
            .map_err(store_error)
    }

    async fn delete_ended_sessions(
        &self,
        last_seen_before: Timestamp,
        created_before: Timestamp,
    ) -> Result<u64, StoreError> {
        self.execute(
            sqlx::query("DELETE FROM web_sessions WHERE last_seen_at < $1 OR created_at < $2")
                .bind(sql_time(last_seen_before))
                .bind(sql_time(created_before)),
        )
        .await
        .map_err(store_error)
    }

    async fn set_user_role(&self, user: &UserId, role: Role) -> Result<bool, StoreError> {
        self.change_user(
            user,
            sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
                .bind(user.as_str())
                .bind(role.as_str()),
        )
        .await
    }

    async fn set_user_password(
        &self,
        user: &UserId,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        self.change_user(
            user,
            sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                .bind(user.as_str())
                .bind(password_hash.to_owned()),
        )
        .await
    }

    async fn remove_user(&self, user: &UserId) -> Result<bool, StoreError> {
        self.change_user(
            user,
            sqlx::query("DELETE FROM users WHERE id = $1").bind(user.as_str()),
        )
        .await
    }
}
