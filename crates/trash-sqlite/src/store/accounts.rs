//! [`AccountStore`]: workspaces, API keys (stored as hashes) and web users.

use super::*;

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_workspace(&self, workspace: &Workspace) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result =
            sqlx::query("INSERT INTO workspaces (slug, name, created_at) VALUES (?1, ?2, ?3)")
                .bind(workspace.slug.as_str())
                .bind(workspace.name.as_str())
                .bind(workspace.created_at.unix_millis())
                .execute(&mut *tx)
                .await
                .map(|_| ())
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::AlreadyExists
                    } else {
                        db(e)
                    }
                });
        finish(tx, result).await
    }

    async fn workspace(&self, slug: &WorkspaceSlug) -> Result<Option<Workspace>, StoreError> {
        sqlx::query_as::<_, WorkspaceRow>(
            "SELECT slug, name, created_at FROM workspaces WHERE slug = ?1",
        )
        .bind(slug.as_str())
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?
        .map(Workspace::try_from)
        .transpose()
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let hash = key.hash.to_hex();
        let result = async {
            let conn = &mut *tx;
            if exists(
                conn,
                "SELECT 1 FROM api_keys WHERE id = ?1 OR hash = ?2",
                &[key.id.as_str(), &hash],
            )
            .await?
            {
                return Err(StoreError::AlreadyExists);
            }
            if !exists(
                conn,
                "SELECT 1 FROM workspaces WHERE slug = ?1",
                &[key.workspace.as_str()],
            )
            .await?
            {
                return Err(StoreError::Missing);
            }
            let sql = format!(
                "INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            );
            sqlx::query(&sql)
                .bind(key.id.as_str())
                .bind(key.workspace.as_str())
                .bind(key.name.as_str())
                .bind(key.scopes.to_list())
                .bind(&hash)
                .bind(key.created_at.unix_millis())
                .bind(key.revoked_at.map(Timestamp::unix_millis))
                .bind(key.last_used_at.map(Timestamp::unix_millis))
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            Ok(())
        }
        .await;
        finish(tx, result).await
    }

    async fn api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE hash = ?1");
        sqlx::query_as::<_, KeyRow>(&sql)
            .bind(hash.to_hex())
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .map(ApiKeyRecord::try_from)
            .transpose()
    }

    async fn revoke_api_key(&self, id: &KeyId, at: Timestamp) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let result =
            sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1")
                .bind(id.as_str())
                .bind(at.unix_millis())
                .execute(&mut *tx)
                .await
                .map(|done| done.rows_affected() > 0)
                .map_err(db);
        finish(tx, result).await
    }

    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let conn = &mut *tx;
            if exists(
                conn,
                "SELECT 1 FROM users WHERE id = ?1 OR email = ?2",
                &[user.id.as_str(), user.email.as_str()],
            )
            .await?
            {
                return Err(StoreError::AlreadyExists);
            }
            if !exists(
                conn,
                "SELECT 1 FROM workspaces WHERE slug = ?1",
                &[user.workspace.as_str()],
            )
            .await?
            {
                return Err(StoreError::Missing);
            }
            let sql = format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
            sqlx::query(&sql)
                .bind(user.id.as_str())
                .bind(user.workspace.as_str())
                .bind(user.email.as_str())
                .bind(user.role.as_str())
                .bind(&user.password_hash)
                .bind(user.created_at.unix_millis())
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            Ok(())
        }
        .await;
        finish(tx, result).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1");
        sqlx::query_as::<_, UserRow>(&sql)
            .bind(email.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .map(UserRecord::try_from)
            .transpose()
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
        sqlx::query_as::<_, UserRow>(&sql)
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .map(UserRecord::try_from)
            .transpose()
    }

    async fn users_of(&self, workspace: &WorkspaceSlug) -> Result<Vec<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE workspace = ?1 ORDER BY email");
        sqlx::query_as::<_, UserRow>(&sql)
            .bind(workspace.as_str())
            .fetch_all(&self.reader)
            .await
            .map_err(db)?
            .into_iter()
            .map(UserRecord::try_from)
            .collect()
    }

    async fn api_keys_of(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE workspace = ?1 ORDER BY created_at, id"
        );
        sqlx::query_as::<_, KeyRow>(&sql)
            .bind(workspace.as_str())
            .fetch_all(&self.reader)
            .await
            .map_err(db)?
            .into_iter()
            .map(ApiKeyRecord::try_from)
            .collect()
    }

    async fn touch_api_key(&self, id: &KeyId, at: Timestamp) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = sqlx::query(
            "UPDATE api_keys SET last_used_at = ?2 \
             WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
        )
        .bind(id.as_str())
        .bind(at.unix_millis())
        .execute(&mut *tx)
        .await
        .map(|_| ())
        .map_err(db);
        finish(tx, result).await
    }
}
