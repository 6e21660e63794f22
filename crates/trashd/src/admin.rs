//! `trashd admin …`: workspaces, API keys and web users, and the pending
//! job cancellations. Results meant for scripts go to stdout (the key alone,
//! the table of cancellations); everything else to stderr.

use std::sync::Arc;

use trash_core::domain::{ApiKeyRecord, Timestamp, UserRecord};
use trash_core::domain::{Email, KeyId, Name, Role, ScopeSet, WorkspaceSlug};
use trash_core::ports::{AccountStore, PendingCancellation, StandaloneStore, WorkQueue};
use trash_core::usecases::AdminError;
use trash_core::{AccountService, SessionService};

use crate::cli::{AdminCommand, RoleArg};
use crate::error::Failure;
use crate::password;

/// What the admin commands act on, by role: the accounts service, the
/// accounts role itself (to look a workspace up) and the work queue (read
/// only). The composition root hands the same store out for both roles.
#[derive(Clone)]
pub struct Admin {
    /// Workspaces, API keys and web users.
    pub accounts: AccountService,
    /// Web sessions, and the user changes that end them.
    pub sessions: SessionService,
    /// The accounts role of the store.
    pub account_store: Arc<dyn AccountStore>,
    /// The work-queue role of the store.
    pub queue: Arc<dyn WorkQueue>,
    /// The whole store (webhook endpoints and the outbox).
    pub store: Arc<dyn StandaloneStore>,
}

/// Runs one admin command.
pub async fn run(admin: &Admin, command: AdminCommand) -> Result<(), Failure> {
    let service = &admin.accounts;
    match command {
        AdminCommand::CreateWorkspace { slug, name } => {
            let slug = new_workspace_slug(&slug)?;
            let name = parse_name(name.as_deref().unwrap_or(slug.as_str()), "workspace name")?;
            let ws = service
                .create_workspace(slug.clone(), name)
                .await
                .map_err(|e| match e {
                    AdminError::AlreadyExists => {
                        Failure::failed(format!("workspace {slug} already exists"))
                    }
                    other => admin_failure(other, &slug),
                })?;
            eprintln!("created workspace {} ({:?})", ws.slug, ws.name.as_str());
            Ok(())
        }
        AdminCommand::CreateKey {
            workspace,
            name,
            scopes,
            all_scopes,
        } => {
            let ws = workspace_slug(&workspace)?;
            let name = parse_name(&name, "key name")?;
            let scopes = if all_scopes {
                ScopeSet::all()
            } else {
                let list = scopes.unwrap_or_default();
                let set = ScopeSet::parse_list(&list).map_err(|e| Failure::usage(e.to_string()))?;
                if set.iter().next().is_none() {
                    return Err(Failure::usage(
                        "--scopes needs at least one scope, e.g. project:read,project:update",
                    ));
                }
                set
            };
            let key = service
                .create_api_key(&ws, name, scopes)
                .await
                .map_err(|e| admin_failure(e, &ws))?;
            eprintln!(
                "created API key {} for workspace {} with scopes {} (shown once, stored only as a hash; revoke with `trashd admin revoke-key {}`)",
                key.record.id,
                ws,
                key.record.scopes.to_list(),
                key.record.id
            );
            println!("{}", key.plaintext);
            Ok(())
        }
        AdminCommand::RevokeKey { key_id } => {
            let id = KeyId::parse(key_id.trim()).map_err(|e| Failure::usage(e.to_string()))?;
            let existed = service.revoke_api_key(&id).await.map_err(|e| match e {
                AdminError::Store(s) => Failure::failed(format!("storage error: {s}")),
                other => Failure::failed(other.to_string()),
            })?;
            if !existed {
                return Err(Failure::failed(format!("no API key has the id {id}")));
            }
            eprintln!("revoked API key {id}");
            Ok(())
        }
        AdminCommand::CreateUser {
            workspace,
            email,
            role,
        } => {
            let ws = workspace_slug(&workspace)?;
            let email = Email::parse(&email).map_err(|e| Failure::usage(e.to_string()))?;
            let password = password::obtain(std::env::var("TRASHD_PASSWORD").ok())?;
            let hash = password::hash(&password)?;
            let user = service
                .create_user(&ws, email.clone(), role_of(role), hash)
                .await
                .map_err(|e| match e {
                    AdminError::AlreadyExists => {
                        Failure::failed(format!("a user with the e-mail {email} already exists"))
                    }
                    other => admin_failure(other, &ws),
                })?;
            eprintln!(
                "created {} {} (user id {}) in workspace {}",
                user.role.as_str(),
                user.email,
                user.id,
                ws
            );
            Ok(())
        }
        AdminCommand::AddWebhook {
            workspace,
            url,
            events,
        } => {
            let ws = workspace_slug(&workspace)?;
            require_workspace(admin, &ws).await?;
            crate::webhooks::admin::add(admin.store.as_ref(), &ws, &url, events.as_deref()).await
        }
        AdminCommand::ListWebhooks { workspace } => {
            let ws = workspace_slug(&workspace)?;
            require_workspace(admin, &ws).await?;
            crate::webhooks::admin::list(admin.store.as_ref(), &ws).await
        }
        AdminCommand::RemoveWebhook { id } => {
            crate::webhooks::admin::remove(admin.store.as_ref(), &id).await
        }
        AdminCommand::RotateWebhookSecret { id } => {
            crate::webhooks::admin::rotate(admin.store.as_ref(), &id).await
        }
        AdminCommand::ListDeliveries { workspace, failed } => {
            let ws = workspace_slug(&workspace)?;
            require_workspace(admin, &ws).await?;
            crate::webhooks::admin::deliveries(admin.store.as_ref(), &ws, failed).await
        }
        AdminCommand::Redeliver { id } => {
            crate::webhooks::admin::redeliver(admin.store.as_ref(), &id).await
        }
        AdminCommand::ListUsers { workspace } => {
            let ws = workspace_slug(&workspace)?;
            let users = admin
                .sessions
                .list_users(&ws)
                .await
                .map_err(|e| admin_failure(e, &ws))?;
            print!("{}", user_table(&users));
            eprintln!("{} in workspace {ws}", plural(users.len(), "user", "users"));
            Ok(())
        }
        AdminCommand::SetRole { email, role } => {
            let email = parse_email(&email)?;
            let user = admin
                .sessions
                .set_role(&email, role_of(role))
                .await
                .map_err(|e| user_failure(e, &email))?;
            eprintln!(
                "{} is now {} in workspace {}; their sessions were ended",
                user.email,
                user.role.as_str(),
                user.workspace
            );
            Ok(())
        }
        AdminCommand::ResetPassword { email } => {
            let email = parse_email(&email)?;
            let password = password::obtain(std::env::var("TRASHD_PASSWORD").ok())?;
            let hash = password::hash(&password)?;
            admin
                .sessions
                .reset_password(&email, hash)
                .await
                .map_err(|e| user_failure(e, &email))?;
            eprintln!("set a new password for {email}; their sessions were ended");
            Ok(())
        }
        AdminCommand::RemoveUser { email } => {
            let email = parse_email(&email)?;
            let user = admin
                .sessions
                .remove_user(&email)
                .await
                .map_err(|e| user_failure(e, &email))?;
            eprintln!(
                "removed {} (user id {}) from workspace {}; their sessions were ended",
                user.email, user.id, user.workspace
            );
            Ok(())
        }
        AdminCommand::RevokeSessions { email } => {
            let email = parse_email(&email)?;
            let ended = admin
                .sessions
                .revoke_sessions(&email)
                .await
                .map_err(|e| user_failure(e, &email))?;
            eprintln!(
                "ended {} of {email}",
                plural(ended as usize, "session", "sessions")
            );
            Ok(())
        }
        AdminCommand::ListKeys { workspace } => {
            let ws = workspace_slug(&workspace)?;
            let keys = service
                .list_api_keys(&ws)
                .await
                .map_err(|e| admin_failure(e, &ws))?;
            print!("{}", key_table(&keys));
            eprintln!(
                "{} in workspace {ws} (keys are stored as hashes and cannot be shown)",
                plural(keys.len(), "API key", "API keys")
            );
            Ok(())
        }
        AdminCommand::PendingCancellations { workspace } => {
            let ws = workspace_slug(&workspace)?;
            let pending = pending_cancellations(admin, &ws).await?;
            if pending.is_empty() {
                eprintln!("no pending cancellations in workspace {ws}");
            } else {
                print!("{}", cancellation_table(&pending));
                eprintln!(
                    "{} pending cancellation{} in workspace {ws}; the cleanup loop retries them",
                    pending.len(),
                    if pending.len() == 1 { "" } else { "s" }
                );
            }
            Ok(())
        }
    }
}

async fn require_workspace(admin: &Admin, ws: &WorkspaceSlug) -> Result<(), Failure> {
    let found = admin
        .account_store
        .workspace(ws)
        .await
        .map_err(|e| Failure::failed(format!("storage error: {e}")))?;
    match found {
        Some(_) => Ok(()),
        None => Err(admin_failure(AdminError::NoSuchWorkspace, ws)),
    }
}

/// The pending cancellations of an existing workspace, in training id order.
pub async fn pending_cancellations(
    admin: &Admin,
    ws: &WorkspaceSlug,
) -> Result<Vec<PendingCancellation>, Failure> {
    let storage = |e: trash_core::ports::StoreError| Failure::failed(format!("storage error: {e}"));
    if admin
        .account_store
        .workspace(ws)
        .await
        .map_err(storage)?
        .is_none()
    {
        return Err(admin_failure(AdminError::NoSuchWorkspace, ws));
    }
    admin.queue.pending_cancellations(ws).await.map_err(storage)
}

/// One line per cancellation under a header: training, operation, attempts.
pub fn cancellation_table(pending: &[PendingCancellation]) -> String {
    let mut out = format!("{:<20}  {:<20}  {}\n", "TRAINING", "OPERATION", "ATTEMPTS");
    for p in pending {
        out.push_str(&format!(
            "{:<20}  {:<20}  {}\n",
            p.training.as_str(),
            p.operation.as_str(),
            p.attempts
        ));
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn when(at: Option<Timestamp>) -> String {
    at.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339())
}

/// One line per user under a header: e-mail, role, id, created.
pub fn user_table(users: &[UserRecord]) -> String {
    let width = users
        .iter()
        .map(|u| u.email.as_str().len())
        .max()
        .unwrap_or(0)
        .max(5);
    let mut out = format!(
        "{:<width$}  {:<6}  {:<20}  {}\n",
        "EMAIL", "ROLE", "ID", "CREATED"
    );
    for u in users {
        out.push_str(&format!(
            "{:<width$}  {:<6}  {:<20}  {}\n",
            u.email.as_str(),
            u.role.as_str(),
            u.id.as_str(),
            u.created_at.to_rfc3339()
        ));
    }
    out
}

/// One line per key under a header: id, name, scopes, created, last used,
/// revoked. Never the key (only its hash is stored).
pub fn key_table(keys: &[ApiKeyRecord]) -> String {
    let mut out = String::from("ID\tNAME\tSCOPES\tCREATED\tLAST USED\tREVOKED\n");
    for k in keys {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            k.id.as_str(),
            k.name.as_str(),
            k.scopes.to_list(),
            k.created_at.to_rfc3339(),
            when(k.last_used_at),
            when(k.revoked_at),
        ));
    }
    out
}

fn parse_email(value: &str) -> Result<Email, Failure> {
    Email::parse(value).map_err(|e| Failure::usage(e.to_string()))
}

fn user_failure(e: AdminError, email: &Email) -> Failure {
    match e {
        AdminError::NoSuchUser => Failure::failed(format!("no web user has the e-mail {email}")),
        AdminError::Store(s) => Failure::failed(format!("storage error: {s}")),
        other => Failure::failed(other.to_string()),
    }
}

/// The core role for a command-line role.
pub fn role_of(role: RoleArg) -> Role {
    match role {
        RoleArg::Owner => Role::Owner,
        RoleArg::Admin => Role::Admin,
        RoleArg::Member => Role::Member,
    }
}

fn workspace_slug(value: &str) -> Result<WorkspaceSlug, Failure> {
    WorkspaceSlug::parse(value).map_err(|e| Failure::usage(e.to_string()))
}

/// A slug for a workspace to create: valid, and not one of the top-level
/// routes (`/healthz`, `/readyz`, `/app`) it would be hidden behind.
pub fn new_workspace_slug(value: &str) -> Result<WorkspaceSlug, Failure> {
    let slug = workspace_slug(value)?;
    if trash_http_axum::RESERVED_WORKSPACE_SLUGS.contains(&slug.as_str()) {
        return Err(Failure::usage(format!(
            "the workspace slug {:?} is reserved for a server route; choose another",
            slug.as_str()
        )));
    }
    Ok(slug)
}

fn parse_name(value: &str, what: &str) -> Result<Name, Failure> {
    Name::parse(value).map_err(|e| Failure::usage(format!("bad {what}: {e}")))
}

fn admin_failure(e: AdminError, ws: &WorkspaceSlug) -> Failure {
    match e {
        AdminError::NoSuchWorkspace => Failure::failed(format!(
            "workspace {ws} does not exist; create it with `trashd admin create-workspace {ws}`"
        )),
        AdminError::AlreadyExists => Failure::failed("that record already exists"),
        AdminError::NoSuchUser => Failure::failed("no such web user"),
        AdminError::Store(s) => Failure::failed(format!("storage error: {s}")),
    }
}

#[cfg(test)]
mod tests {
    use trash_core::domain::{OperationId, TrainingId};

    use super::*;

    #[test]
    fn the_cancellation_table_has_a_header_and_a_line_per_cancellation() {
        let ws = WorkspaceSlug::parse("acme").unwrap();
        let row = |t: &str, o: &str, attempts| PendingCancellation {
            workspace: ws.clone(),
            training: TrainingId::parse(t).unwrap(),
            operation: OperationId::parse(o).unwrap(),
            attempts,
        };
        let table = cancellation_table(&[
            row("t0000000000000000001", "o0000000000000000001", 0),
            row("t0000000000000000002", "o0000000000000000001", 3),
        ]);
        assert_eq!(
            table,
            "TRAINING              OPERATION             ATTEMPTS\n\
             t0000000000000000001  o0000000000000000001  0\n\
             t0000000000000000002  o0000000000000000001  3\n"
        );
    }
}
