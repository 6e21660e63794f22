//! `trashd admin …`: workspaces, API keys and web users. Results meant for
//! scripts go to stdout (the key alone); everything else to stderr.

use trash_core::domain::{Email, KeyId, Name, Role, ScopeSet, WorkspaceSlug};
use trash_core::usecases::AdminError;
use trash_core::TrashService;

use crate::cli::{AdminCommand, RoleArg};
use crate::error::Failure;
use crate::password;

/// Runs one admin command.
pub async fn run(service: &TrashService, command: AdminCommand) -> Result<(), Failure> {
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
        AdminError::Store(s) => Failure::failed(format!("storage error: {s}")),
    }
}
