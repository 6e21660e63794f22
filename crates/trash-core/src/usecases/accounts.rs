//! Authentication and administration: workspaces, API keys and web users.
//! Needs the accounts role only; an embedder with its own identity builds
//! [`Principal`]s itself and never uses this service.

use std::sync::Arc;

use crate::domain::*;
use crate::ports::{AccountStore, StoreError};

use super::Runtime;

/// Why a presented API key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No key was presented.
    #[error("an API key is required")]
    Missing,
    /// The key is not known.
    #[error("invalid API key")]
    Invalid,
    /// The key was revoked.
    #[error("this API key has been revoked")]
    Revoked,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an administrative action failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// The workspace does not exist.
    #[error("no such workspace")]
    NoSuchWorkspace,
    /// No user has that e-mail.
    #[error("no such user")]
    NoSuchUser,
    /// The workspace slug or e-mail is already used.
    #[error("already exists")]
    AlreadyExists,
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AlreadyExists => AdminError::AlreadyExists,
            other => AdminError::Store(other),
        }
    }
}

/// A freshly created API key: the plaintext is shown once and never stored.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// The stored record (hash only).
    pub record: ApiKeyRecord,
    /// The key itself, to show to the operator once.
    pub plaintext: String,
}

/// Length of generated API keys.
pub const API_KEY_LEN: usize = 32;

/// How stale a key's `last_used_at` may get before a use records it again.
pub const KEY_USE_RECORDED_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// Workspaces, API keys and web users over the accounts role.
#[derive(Clone)]
pub struct AccountService {
    accounts: Arc<dyn AccountStore>,
    runtime: Runtime,
}

impl AccountService {
    /// Builds the service.
    pub fn new(accounts: Arc<dyn AccountStore>, runtime: Runtime) -> AccountService {
        AccountService { accounts, runtime }
    }

    fn now(&self) -> Timestamp {
        self.runtime.clock.now()
    }

    /// Authenticates a presented API key: looked up by its SHA-256 and
    /// compared in constant time; revoked keys are refused.
    pub async fn authenticate(&self, presented: &str) -> Result<ApiKeyPrincipal, AuthError> {
        if presented.is_empty() {
            return Err(AuthError::Missing);
        }
        if !plausible_key(presented) {
            return Err(AuthError::Invalid);
        }
        let hash = KeyHash::of(presented);
        let record = self
            .accounts
            .api_key_by_hash(&hash)
            .await?
            .ok_or(AuthError::Invalid)?;
        if !record.hash.matches(&hash) {
            return Err(AuthError::Invalid);
        }
        if record.revoked_at.is_some() {
            return Err(AuthError::Revoked);
        }
        let now = self.now();
        let stale = record
            .last_used_at
            .is_none_or(|used| now >= used.plus(KEY_USE_RECORDED_EVERY));
        if stale {
            self.accounts.touch_api_key(&record.id, now).await?;
        }
        Ok(ApiKeyPrincipal {
            workspace: record.workspace,
            key_id: record.id,
            key_name: record.name,
            scopes: record.scopes,
        })
    }

    /// Creates a workspace.
    pub async fn create_workspace(
        &self,
        slug: WorkspaceSlug,
        name: Name,
    ) -> Result<Workspace, AdminError> {
        let workspace = Workspace {
            slug,
            name,
            created_at: self.now(),
        };
        self.accounts.create_workspace(&workspace).await?;
        Ok(workspace)
    }

    /// Creates an API key for a workspace. The plaintext is returned once;
    /// only its hash is stored.
    pub async fn create_api_key(
        &self,
        workspace: &WorkspaceSlug,
        name: Name,
        scopes: ScopeSet,
    ) -> Result<NewApiKey, AdminError> {
        self.accounts
            .workspace(workspace)
            .await?
            .ok_or(AdminError::NoSuchWorkspace)?;
        let plaintext = self.runtime.ids.alphanumeric(API_KEY_LEN);
        if !plausible_key(&plaintext) {
            return Err(AdminError::Store(StoreError::Internal(
                "id generator produced an invalid key".into(),
            )));
        }
        let record = ApiKeyRecord {
            id: self.runtime.new_id(KeyId::parse)?,
            workspace: workspace.clone(),
            name,
            scopes,
            hash: KeyHash::of(&plaintext),
            created_at: self.now(),
            revoked_at: None,
            last_used_at: None,
        };
        self.accounts.insert_api_key(&record).await?;
        Ok(NewApiKey { record, plaintext })
    }

    /// Every key of an existing workspace (revoked ones too), oldest first.
    /// The records hold hashes only: a key cannot be shown again.
    pub async fn list_api_keys(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<ApiKeyRecord>, AdminError> {
        self.accounts
            .workspace(workspace)
            .await?
            .ok_or(AdminError::NoSuchWorkspace)?;
        Ok(self.accounts.api_keys_of(workspace).await?)
    }

    /// Revokes a key; returns whether it existed.
    pub async fn revoke_api_key(&self, id: &KeyId) -> Result<bool, AdminError> {
        Ok(self.accounts.revoke_api_key(id, self.now()).await?)
    }

    /// Creates a web user. The password hash is computed by the caller
    /// (argon2 in the adapters); the core never sees the password.
    pub async fn create_user(
        &self,
        workspace: &WorkspaceSlug,
        email: Email,
        role: Role,
        password_hash: String,
    ) -> Result<UserRecord, AdminError> {
        self.accounts
            .workspace(workspace)
            .await?
            .ok_or(AdminError::NoSuchWorkspace)?;
        let user = UserRecord {
            id: self.runtime.new_id(UserId::parse)?,
            workspace: workspace.clone(),
            email,
            role,
            password_hash,
            created_at: self.now(),
        };
        self.accounts.insert_user(&user).await?;
        Ok(user)
    }

    /// Finds the user who signs in with `email`, for the web adapter to check
    /// the password against the stored hash.
    pub async fn user_for_sign_in(&self, email: &Email) -> Result<Option<UserRecord>, AuthError> {
        Ok(self.accounts.user_by_email(email).await?)
    }

    /// The web principal of a signed-in user (by the id kept in the session).
    pub async fn web_user(&self, id: &UserId) -> Result<Option<WebUser>, AuthError> {
        Ok(self.accounts.user_by_id(id).await?.map(|u| WebUser {
            workspace: u.workspace,
            user_id: u.id,
            email: u.email,
            role: u.role,
        }))
    }
}
