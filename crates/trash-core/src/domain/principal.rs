//! Who is asking: API keys and web users, and the credentials behind them.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::ids::{truncate_for_message, Email, InvalidValue, KeyId, Name, UserId, WorkspaceSlug};
use super::operation::{Actor, ActorKind};
use super::scope::{Scope, ScopeSet};
use super::time::Timestamp;

/// An authenticated API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyPrincipal {
    /// The workspace the key belongs to.
    pub workspace: WorkspaceSlug,
    /// The key's public id.
    pub key_id: KeyId,
    /// The key's name.
    pub key_name: Name,
    /// What the key may do.
    pub scopes: ScopeSet,
}

/// A web user's role in their workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The workspace owner.
    Owner,
    /// An administrator.
    Admin,
    /// A member.
    Member,
}

impl Role {
    /// Parses `owner`, `admin` or `member`.
    pub fn parse(value: &str) -> Result<Role, InvalidValue> {
        match value {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            other => Err(InvalidValue::Unknown {
                what: "role",
                value: truncate_for_message(other),
                expected: "owner, admin, member",
            }),
        }
    }

    /// The name of the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

/// A signed-in web user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebUser {
    /// The workspace the user belongs to.
    pub workspace: WorkspaceSlug,
    /// The user's id.
    pub user_id: UserId,
    /// The user's e-mail.
    pub email: Email,
    /// The user's role.
    pub role: Role,
}

/// A web user who is owner or admin of their workspace: the only principal
/// that can permanently delete. There is no way to build one from an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceAdmin(WebUser);

/// The user is not an owner or admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("only a workspace owner or admin can permanently delete")]
pub struct NotAnAdmin;

impl WorkspaceAdmin {
    /// Accepts a web user with role owner or admin.
    pub fn from_user(user: WebUser) -> Result<WorkspaceAdmin, NotAnAdmin> {
        match user.role {
            Role::Owner | Role::Admin => Ok(WorkspaceAdmin(user)),
            Role::Member => Err(NotAnAdmin),
        }
    }

    /// The user behind the admin.
    pub fn user(&self) -> &WebUser {
        &self.0
    }

    /// The actor recorded for the admin's actions.
    pub fn actor(&self) -> Actor {
        Principal::WebUser(self.0.clone()).actor()
    }
}

/// Anyone who may act on the trash through the use cases (not permanent deletion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An API key.
    ApiKey(ApiKeyPrincipal),
    /// A signed-in web user (every role holds every scope).
    WebUser(WebUser),
}

impl Principal {
    /// The workspace the principal belongs to.
    pub fn workspace(&self) -> &WorkspaceSlug {
        match self {
            Principal::ApiKey(k) => &k.workspace,
            Principal::WebUser(u) => &u.workspace,
        }
    }

    /// Whether the principal holds `scope`.
    pub fn has_scope(&self, scope: Scope) -> bool {
        match self {
            Principal::ApiKey(k) => k.scopes.contains(scope),
            Principal::WebUser(_) => true,
        }
    }

    /// The actor recorded for the principal's actions.
    pub fn actor(&self) -> Actor {
        match self {
            Principal::ApiKey(k) => Actor {
                kind: ActorKind::ApiKey,
                id: k.key_id.to_string(),
                name: k.key_name.to_string(),
            },
            Principal::WebUser(u) => Actor {
                kind: ActorKind::WebUser,
                id: u.user_id.to_string(),
                name: u.email.to_string(),
            },
        }
    }
}

/// The SHA-256 of an API key or a session token: the only form in which
/// either is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyHash([u8; 32]);

impl std::fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHash(..)")
    }
}

impl KeyHash {
    /// Hashes a presented key.
    pub fn of(presented: &str) -> KeyHash {
        KeyHash(Sha256::digest(presented.as_bytes()).into())
    }

    /// Rebuilds a hash from its stored hex form.
    pub fn from_hex(hex: &str) -> Result<KeyHash, InvalidValue> {
        let bad = InvalidValue::BadCharacter {
            what: "key hash",
            allowed: "64 hexadecimal digits",
        };
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(bad);
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad.clone())?;
        }
        Ok(KeyHash(out))
    }

    /// The stored hex form.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Compares two hashes in constant time.
    pub fn matches(&self, other: &KeyHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// A stored API key (its hash, never the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Public id (for listing and revocation).
    pub id: KeyId,
    /// The workspace it belongs to.
    pub workspace: WorkspaceSlug,
    /// A name for people.
    pub name: Name,
    /// Its scopes.
    pub scopes: ScopeSet,
    /// SHA-256 of the key.
    pub hash: KeyHash,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// When it last authenticated a request, if ever (recorded at most
    /// once a minute).
    pub last_used_at: Option<Timestamp>,
}

/// A stored web user (the password only as a PHC hash string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The user's id.
    pub id: UserId,
    /// The workspace the user belongs to.
    pub workspace: WorkspaceSlug,
    /// E-mail, unique across the deployment.
    pub email: Email,
    /// Role in the workspace.
    pub role: Role,
    /// The password hash (argon2 PHC string), computed by the adapter.
    pub password_hash: String,
    /// When the user was created.
    pub created_at: Timestamp,
}

/// Whether a presented string can be an API key at all: 16 to 128 ASCII
/// letters and digits. Anything else is refused without a store lookup.
pub fn plausible_key(presented: &str) -> bool {
    (16..=128).contains(&presented.len()) && presented.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hash_round_trip_and_compare() {
        let h = KeyHash::of("secret-key");
        assert_eq!(KeyHash::from_hex(&h.to_hex()).unwrap(), h);
        assert!(h.matches(&KeyHash::of("secret-key")));
        assert!(!h.matches(&KeyHash::of("secret-kez")));
        assert!(KeyHash::from_hex("zz").is_err());
        assert!(!format!("{h:?}").contains(&h.to_hex()));
    }

    #[test]
    fn only_owner_and_admin_are_admins() {
        let user = |role| WebUser {
            workspace: WorkspaceSlug::parse("ws").unwrap(),
            user_id: UserId::parse("uuuuuuuuuuuuuuuuuuuu").unwrap(),
            email: Email::parse("a@b.c").unwrap(),
            role,
        };
        assert!(WorkspaceAdmin::from_user(user(Role::Owner)).is_ok());
        assert!(WorkspaceAdmin::from_user(user(Role::Admin)).is_ok());
        assert_eq!(
            WorkspaceAdmin::from_user(user(Role::Member)),
            Err(NotAnAdmin)
        );
        assert!(Role::parse("root").is_err());
    }
}
