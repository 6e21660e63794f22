//! The sessions role: web sign-in sessions kept in the store, and the
//! changes to a user that must end them in the same write.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::*;

/// Web sessions (stored by the hash of their token), and the user changes
/// that end a user's sessions atomically: a new role, a new password, a
/// removal. Only needed by the standalone server's web view.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// MUST store the session, or return `AlreadyExists` (storing nothing)
    /// if its hash is used, or `Missing` if its user does not exist.
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// MUST return the session whose hash equals `hash`, if any.
    async fn session_by_hash(&self, hash: &KeyHash) -> Result<Option<SessionRecord>, StoreError>;
    /// MUST set the session's `last_seen_at` to `at` if that is later, and
    /// return whether the session exists.
    async fn touch_session(&self, hash: &KeyHash, at: Timestamp) -> Result<bool, StoreError>;
    /// MUST remove the session and return whether it existed.
    async fn delete_session(&self, hash: &KeyHash) -> Result<bool, StoreError>;
    /// MUST remove every session of `user` and return how many there were.
    async fn delete_user_sessions(&self, user: &UserId) -> Result<u64, StoreError>;
    /// MUST remove every session last seen before `last_seen_before` or
    /// created before `created_before`, and return how many there were.
    async fn delete_ended_sessions(
        &self,
        last_seen_before: Timestamp,
        created_before: Timestamp,
    ) -> Result<u64, StoreError>;
    /// MUST, atomically, set the user's role and remove every session of
    /// the user; returns whether the user exists (changing nothing if not).
    async fn set_user_role(&self, user: &UserId, role: Role) -> Result<bool, StoreError>;
    /// MUST, atomically, replace the user's password hash and remove every
    /// session of the user; returns whether the user exists.
    async fn set_user_password(
        &self,
        user: &UserId,
        password_hash: &str,
    ) -> Result<bool, StoreError>;
    /// MUST, atomically, remove the user and every session of the user;
    /// returns whether the user existed.
    async fn remove_user(&self, user: &UserId) -> Result<bool, StoreError>;
}
