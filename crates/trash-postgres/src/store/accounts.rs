//! The accounts role: workspaces, API keys and web users.

use async_trait::async_trait;
use trash_core::domain::*;
use trash_core::ports::*;

use super::sql_time;
use crate::error::{insert_error, store_error};
use crate::rows;
use crate::PgStore;

#[async_trait]
impl AccountStore for PgStore {
    async fn create_workspace(&self, workspace: &Workspace) -> Result<(), StoreError> {
        self.execute(
            sqlx::query("INSERT INTO workspaces (slug, name, created_at) VALUES ($1, $2, $3)")
                .bind(workspace.slug.as_str())
                .bind(workspace.name.as_str())
                .bind(sql_time(workspace.created_at)),
        )
        .await
        .map(|_| ())
        .map_err(insert_error)
    }

    async fn workspace(&self, slug: &WorkspaceSlug) -> Result<Option<Workspace>, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query("SELECT slug, name, created_at FROM workspaces WHERE slug = $1")
                    .bind(slug.as_str()),
            )
            .await?;
        row.map(|r| {
            Ok(Workspace {
                slug: rows::workspace_slug(&r, "slug")?,
                name: rows::name(&r, "name")?,
                created_at: rows::timestamp(&r, "created_at")?,
            })
        })
        .transpose()
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.execute(
            sqlx::query(
                "INSERT INTO api_keys (id, workspace, name, scopes, key_hash, created_at, revoked_at, last_used_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(key.id.as_str())
            .bind(key.workspace.as_str())
            .bind(key.name.as_str())
            .bind(key.scopes.to_list())
            .bind(key.hash.to_hex())
            .bind(sql_time(key.created_at))
            .bind(key.revoked_at.map(sql_time))
            .bind(key.last_used_at.map(sql_time)),
        )
        .await
        .map(|_| ())
        .map_err(insert_error)
    }

    async fn api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query(
                    "SELECT id, workspace, name, scopes, key_hash, created_at, revoked_at, last_used_at \
                     FROM api_keys WHERE key_hash = $1",
                )
                .bind(hash.to_hex()),
            )
            .await?;
        row.map(|r| rows::api_key(&r)).transpose()
    }

    async fn revoke_api_key(&self, id: &KeyId, at: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .execute(
                sqlx::query(
                    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                )
                .bind(id.as_str())
                .bind(sql_time(at)),
            )
            .await
            .map_err(store_error)?;
        Ok(n > 0)
    }

    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.execute(
            sqlx::query(
                "INSERT INTO users (id, workspace, email, role, password_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(user.id.as_str())
            .bind(user.workspace.as_str())
            .bind(user.email.as_str())
            .bind(user.role.as_str())
            .bind(&user.password_hash)
            .bind(sql_time(user.created_at)),
        )
        .await
        .map(|_| ())
        .map_err(insert_error)
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query(
                    "SELECT id, workspace, email, role, password_hash, created_at \
                     FROM users WHERE email = $1",
                )
                .bind(email.as_str()),
            )
            .await?;
        row.map(|r| rows::user(&r)).transpose()
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query(
                    "SELECT id, workspace, email, role, password_hash, created_at \
                     FROM users WHERE id = $1",
                )
                .bind(id.as_str()),
            )
            .await?;
        row.map(|r| rows::user(&r)).transpose()
    }

    async fn users_of(&self, workspace: &WorkspaceSlug) -> Result<Vec<UserRecord>, StoreError> {
        self.fetch_all(
            sqlx::query(
                "SELECT id, workspace, email, role, password_hash, created_at \
                 FROM users WHERE workspace = $1 ORDER BY email",
            )
            .bind(workspace.as_str()),
        )
        .await?
        .iter()
        .map(rows::user)
        .collect()
    }

    async fn api_keys_of(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.fetch_all(
            sqlx::query(
                "SELECT id, workspace, name, scopes, key_hash, created_at, revoked_at, last_used_at \
                 FROM api_keys WHERE workspace = $1 ORDER BY created_at, id",
            )
            .bind(workspace.as_str()),
        )
        .await?
        .iter()
        .map(rows::api_key)
        .collect()
    }

    async fn touch_api_key(&self, id: &KeyId, at: Timestamp) -> Result<(), StoreError> {
        self.execute(
            sqlx::query(
                "UPDATE api_keys SET last_used_at = $2 \
                 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
            )
            .bind(id.as_str())
            .bind(sql_time(at)),
        )
        .await
        .map(|_| ())
        .map_err(store_error)
    }
}
