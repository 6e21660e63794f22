//! Web sessions and the user administration that must end them: signing
//! in and out, resuming a session from its token, and changing a user's
//! role or password, or removing them, which ends their sessions at once.
//! Needs the accounts and sessions roles; an embedder with its own identity
//! never uses this service.

use std::sync::Arc;

use crate::domain::*;
use crate::ports::{AccountStore, SessionStore, StoreError};

use super::{AdminError, Runtime};

/// Length of session tokens (random letters and digits).
pub const SESSION_TOKEN_LEN: usize = 40;

/// A session just started: the token goes into the browser's cookie once;
/// only its hash is stored.
#[derive(Clone)]
pub struct NewSession {
    /// The token to hand to the browser.
    pub token: String,
    /// The stored session.
    pub record: SessionRecord,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("token", &"..")
            .field("record", &self.record)
            .finish()
    }
}

/// A valid session and the user behind it, as they are now (a role
/// change is seen on the next request, and ends the session anyway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    /// The signed-in user.
    pub user: WebUser,
    /// The stored session.
    pub record: SessionRecord,
}

/// Sessions and the user changes that end them.
#[derive(Clone)]
pub struct SessionService {
    sessions: Arc<dyn SessionStore>,
    accounts: Arc<dyn AccountStore>,
    runtime: Runtime,
    policy: SessionPolicy,
}

impl SessionService {
    /// Builds the service with the default [`SessionPolicy`].
    pub fn new(
        sessions: Arc<dyn SessionStore>,
        accounts: Arc<dyn AccountStore>,
        runtime: Runtime,
    ) -> SessionService {
        SessionService {
            sessions,
            accounts,
            runtime,
            policy: SessionPolicy::default(),
        }
    }

    /// The same service with another policy.
    pub fn with_policy(mut self, policy: SessionPolicy) -> SessionService {
        self.policy = policy;
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    /// The current time, by the clock port (for adapters that time
    /// things in step with the sessions, such as sign-in throttles).
    pub fn now(&self) -> Timestamp {
        self.runtime.clock.now()
    }

    /// Starts a session for a user whose password the caller has checked.
    /// Also removes sessions that have ended, so the table stays small.
    pub async fn start(&self, user: &UserId) -> Result<NewSession, StoreError> {
        let now = self.now();
        let (idle, absolute) = self.policy.ended_before(now);
        self.sessions.delete_ended_sessions(idle, absolute).await?;
        let token = self.runtime.ids.alphanumeric(SESSION_TOKEN_LEN);
        if token.len() != SESSION_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(StoreError::Internal(
                "id generator produced an invalid session token".into(),
            ));
        }
        let record = SessionRecord {
            hash: KeyHash::of(&token),
            user: user.clone(),
            created_at: now,
            last_seen_at: now,
        };
        self.sessions.insert_session(&record).await?;
        Ok(NewSession { token, record })
    }

    /// The session a presented token belongs to, if it is valid now. An
    /// ended session is removed; a use is recorded (at most once per
    /// [`SessionPolicy::touch_every`]) to keep the idle limit moving.
    pub async fn resume(&self, token: &str) -> Result<Option<ActiveSession>, StoreError> {
        if token.len() != SESSION_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        let hash = KeyHash::of(token);
        let Some(record) = self.sessions.session_by_hash(&hash).await? else {
            return Ok(None);
        };
        if !record.hash.matches(&hash) {
            return Ok(None);
        }
        let now = self.now();
        match self.policy.check(&record, now) {
            SessionCheck::Ended => {
                self.sessions.delete_session(&hash).await?;
                return Ok(None);
            }
            SessionCheck::Valid { touch: true } => {
                self.sessions.touch_session(&hash, now).await?;
            }
            SessionCheck::Valid { touch: false } => {}
        }
        let Some(user) = self.accounts.user_by_id(&record.user).await? else {
            self.sessions.delete_session(&hash).await?;
            return Ok(None);
        };
        Ok(Some(ActiveSession {
            user: WebUser {
                workspace: user.workspace,
                user_id: user.id,
                email: user.email,
                role: user.role,
            },
            record,
        }))
    }

    /// Ends the session of a presented token (signing out); returns whether
    /// there was one.
    pub async fn end(&self, token: &str) -> Result<bool, StoreError> {
        self.sessions.delete_session(&KeyHash::of(token)).await
    }

    async fn user(&self, email: &Email) -> Result<UserRecord, AdminError> {
        self.accounts
            .user_by_email(email)
            .await?
            .ok_or(AdminError::NoSuchUser)
    }

    /// Every user of an existing workspace, by e-mail.
    pub async fn list_users(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<UserRecord>, AdminError> {
        self.accounts
            .workspace(workspace)
            .await?
            .ok_or(AdminError::NoSuchWorkspace)?;
        Ok(self.accounts.users_of(workspace).await?)
    }

    /// Gives a user another role and ends their sessions.
    pub async fn set_role(&self, email: &Email, role: Role) -> Result<UserRecord, AdminError> {
        let mut user = self.user(email).await?;
        if !self.sessions.set_user_role(&user.id, role).await? {
            return Err(AdminError::NoSuchUser);
        }
        user.role = role;
        Ok(user)
    }

    /// Replaces a user's password hash (computed by the adapter) and ends
    /// their sessions.
    pub async fn reset_password(
        &self,
        email: &Email,
        password_hash: String,
    ) -> Result<UserRecord, AdminError> {
        let user = self.user(email).await?;
        if !self
            .sessions
            .set_user_password(&user.id, &password_hash)
            .await?
        {
            return Err(AdminError::NoSuchUser);
        }
        Ok(user)
    }

    /// Removes a user and their sessions.
    pub async fn remove_user(&self, email: &Email) -> Result<UserRecord, AdminError> {
        let user = self.user(email).await?;
        if !self.sessions.remove_user(&user.id).await? {
            return Err(AdminError::NoSuchUser);
        }
        Ok(user)
    }

    /// Ends every session of a user (signs them out everywhere); returns
    /// how many there were.
    pub async fn revoke_sessions(&self, email: &Email) -> Result<u64, AdminError> {
        let user = self.user(email).await?;
        Ok(self.sessions.delete_user_sessions(&user.id).await?)
    }
}
