//! The accounts role: workspaces, API keys and web users.
//!
//! Only needed to authenticate with the core's own identity model (the
//! standalone server). An embedder with its own identity builds a
//! [`Principal`](crate::domain::Principal) from its own authentication and
//! never implements this role.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::*;

/// Workspaces, API keys (stored as hashes) and web users.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// MUST store the workspace, or return `AlreadyExists` (storing
    /// nothing) if the slug is used.
    async fn create_workspace(&self, workspace: &Workspace) -> Result<(), StoreError>;
    /// MUST return the workspace with this slug, if any.
    async fn workspace(&self, slug: &WorkspaceSlug) -> Result<Option<Workspace>, StoreError>;
    /// MUST store the key record (its hash, never a plaintext), or return
    /// `AlreadyExists` on a duplicate id or hash.
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// MUST return the key whose hash equals `hash`, revoked or not.
    async fn api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// MUST mark the key revoked at `at`, keeping an earlier revocation time,
    /// and return whether such a key exists.
    async fn revoke_api_key(&self, id: &KeyId, at: Timestamp) -> Result<bool, StoreError>;
    /// MUST store the user, or return `AlreadyExists` if the e-mail is used.
    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// MUST return the user with this e-mail, if any.
    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>, StoreError>;
    /// MUST return the user with this id, if any.
    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>, StoreError>;
    /// MUST return every user of the workspace, ordered by e-mail.
    async fn users_of(&self, workspace: &WorkspaceSlug) -> Result<Vec<UserRecord>, StoreError>;
    /// MUST return every key of the workspace (revoked ones too), ordered
    /// by creation time, then id.
    async fn api_keys_of(&self, workspace: &WorkspaceSlug)
        -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// MUST set the key's `last_used_at` to `at` if that is later (or it
    /// was never used); a missing key is not an error.
    async fn touch_api_key(&self, id: &KeyId, at: Timestamp) -> Result<(), StoreError>;
}
