//! [`SessionStore`]: web sessions (stored as hashes) and the user changes
//! that end them, each in one write transaction.

use super::*;

impl SqliteStore {
    /// Runs one statement with `binds` in a write transaction; returns the
    /// number of rows it changed.
    async fn write_one(&self, sql: &'static str, binds: &[&str]) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(*b);
        }
        let result = q
            .execute(&mut *tx)
            .await
            .map(|done| done.rows_affected())
            .map_err(db);
        finish(tx, result).await
    }

    /// Changes a user with `sql` (binding the user id as `?1` and `value`
    /// as `?2`) and removes their sessions, in one transaction.
    async fn change_user(
        &self,
        sql: &'static str,
        user: &UserId,
        value: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            sqlx::query("DELETE FROM web_sessions WHERE user_id = ?1")
                .bind(user.as_str())
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            let changed = sqlx::query(sql)
                .bind(user.as_str())
                .bind(value)
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
            Ok(changed > 0)
        }
        .await;
        finish(tx, result).await
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let hash = session.hash.to_hex();
        let result = async {
            let conn = &mut *tx;
            if exists(conn, "SELECT 1 FROM web_sessions WHERE hash = ?1", &[&hash]).await? {
                return Err(StoreError::AlreadyExists);
            }
            if !exists(
                conn,
                "SELECT 1 FROM users WHERE id = ?1",
                &[session.user.as_str()],
            )
            .await?
            {
                return Err(StoreError::Missing);
            }
            let sql =
                format!("INSERT INTO web_sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4)");
            sqlx::query(&sql)
                .bind(&hash)
                .bind(session.user.as_str())
                .bind(session.created_at.unix_millis())
                .bind(session.last_seen_at.unix_millis())
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            Ok(())
        }
        .await;
        finish(tx, result).await
    }

    async fn session_by_hash(&self, hash: &KeyHash) -> Result<Option<SessionRecord>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM web_sessions WHERE hash = ?1");
        sqlx::query_as::<_, SessionRow>(&sql)
            .bind(hash.to_hex())
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .map(SessionRecord::try_from)
            .transpose()
    }

    async fn touch_session(&self, hash: &KeyHash, at: Timestamp) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = sqlx::query(
            "UPDATE web_sessions SET last_seen_at = MAX(last_seen_at, ?2) WHERE hash = ?1",
        )
        .bind(hash.to_hex())
        .bind(at.unix_millis())
        .execute(&mut *tx)
        .await
        .map(|done| done.rows_affected() > 0)
        .map_err(db);
        finish(tx, result).await
    }

    async fn delete_session(&self, hash: &KeyHash) -> Result<bool, StoreError> {
        let hash = hash.to_hex();
        Ok(self
            .write_one("DELETE FROM web_sessions WHERE hash = ?1", &[&hash])
            .await?
            > 0)
    }

    async fn delete_user_sessions(&self, user: &UserId) -> Result<u64, StoreError> {
        self.write_one(
            "DELETE FROM web_sessions WHERE user_id = ?1",
            &[user.as_str()],
        )
        .await
    }

    async fn delete_ended_sessions(
        &self,
        last_seen_before: Timestamp,
        created_before: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let result =
            sqlx::query("DELETE FROM web_sessions WHERE last_seen_at < ?1 OR created_at < ?2")
                .bind(last_seen_before.unix_millis())
                .bind(created_before.unix_millis())
                .execute(&mut *tx)
                .await
                .map(|done| done.rows_affected())
                .map_err(db);
        finish(tx, result).await
    }

    async fn set_user_role(&self, user: &UserId, role: Role) -> Result<bool, StoreError> {
        self.change_user(
            "UPDATE users SET role = ?2 WHERE id = ?1",
            user,
            role.as_str(),
        )
        .await
    }

    async fn set_user_password(
        &self,
        user: &UserId,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        self.change_user(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            user,
            password_hash,
        )
        .await
    }

    async fn remove_user(&self, user: &UserId) -> Result<bool, StoreError> {
        // `?2` is bound but unused: the same helper serves every change.
        self.change_user("DELETE FROM users WHERE id = ?1 AND ?2 = ?2", user, "")
            .await
    }
}
