//! `trashd quickstart`: a demo workspace with sample data, an all-scopes API
//! key and a web login, printed with commands to try, then `serve`.

use std::net::SocketAddr;

use trash_core::domain::*;
use trash_core::ports::IdGenerator;
use trash_core::usecases::{AdminError, ResourceError, TrashError, WorkflowRef};
use trash_core::{ResourceService, Services, TrashService};
use trash_runtime::RandomIds;

use crate::config::DatabaseUrl;
use crate::error::Failure;
use crate::password;

/// What the demo seeding produced.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The workspace.
    pub workspace: WorkspaceSlug,
    /// Whether it was created now (false: an existing one was reused as is).
    pub created: bool,
    /// A new all-scopes API key (plaintext, shown once).
    pub api_key: String,
    /// The web login e-mail.
    pub email: Email,
    /// The web login password (plaintext, shown once).
    pub password: String,
}

/// Sample projects: slug, name, versions, and the final status of the
/// training of each version (`None`: no training; `running` stays in flight).
const PROJECTS: &[(&str, &str, &[Option<&str>])] = &[
    (
        "hard-hat-detector",
        "Hard Hat Detector",
        &[Some("succeeded"), Some("failed"), Some("running")],
    ),
    (
        "parking-lot",
        "Parking Lot Cars",
        &[Some("succeeded"), Some("running")],
    ),
    ("shelf-inventory", "Shelf Inventory", &[None]),
    (
        "scratch-experiment",
        "Scratch Experiment",
        &[Some("stopped")],
    ),
];

/// Sample workflows: slug and name.
const WORKFLOWS: &[(&str, &str)] = &[
    ("count-vehicles", "Count Vehicles"),
    ("blur-faces", "Blur Faces"),
    ("old-pipeline", "Old Pipeline"),
];

/// Creates (or reuses) the demo workspace, a fresh all-scopes key and a web
/// owner. Sample data is added only when the workspace is new, so running
/// quickstart again never duplicates it. `step` reports progress.
pub async fn seed(
    services: &Services,
    workspace: &WorkspaceSlug,
    mut step: impl FnMut(&str),
) -> Result<Demo, Failure> {
    let accounts = &services.accounts;
    let created = match accounts
        .create_workspace(workspace.clone(), name("Demo Workspace")?)
        .await
    {
        Ok(_) => true,
        Err(AdminError::AlreadyExists) => false,
        Err(e) => {
            return Err(Failure::failed(format!(
                "cannot create the demo workspace: {e}"
            )))
        }
    };
    step(if created {
        "created the demo workspace"
    } else {
        "reusing the existing demo workspace"
    });

    let key = accounts
        .create_api_key(workspace, name("quickstart")?, ScopeSet::all())
        .await
        .map_err(|e| Failure::failed(format!("cannot create the demo API key: {e}")))?;
    let principal = Principal::ApiKey(ApiKeyPrincipal {
        workspace: key.record.workspace.clone(),
        key_id: key.record.id.clone(),
        key_name: key.record.name.clone(),
        scopes: key.record.scopes.clone(),
    });
    step("created an all-scopes API key");

    if created {
        seed_data(
            &services.resources,
            &services.trash,
            &principal,
            workspace,
            &mut step,
        )
        .await
        .map_err(|e| Failure::failed(format!("cannot seed the demo data: {e}")))?;
    }

    let ids = RandomIds;
    let password = ids.alphanumeric(20);
    let hash = password::hash(&password)?;
    let mut email = Email::parse(&format!("owner@{workspace}.example"))
        .map_err(|e| Failure::failed(e.to_string()))?;
    let mut attempt = 0;
    loop {
        match accounts
            .create_user(workspace, email.clone(), Role::Owner, hash.clone())
            .await
        {
            Ok(_) => break,
            Err(AdminError::AlreadyExists) if attempt < 5 => {
                attempt += 1;
                let suffix = ids.alphanumeric(6).to_lowercase();
                email = Email::parse(&format!("owner-{suffix}@{workspace}.example"))
                    .map_err(|e| Failure::failed(e.to_string()))?;
            }
            Err(e) => return Err(Failure::failed(format!("cannot create the web login: {e}"))),
        }
    }
    step("created a web login");

    Ok(Demo {
        workspace: workspace.clone(),
        created,
        api_key: key.plaintext,
        email,
        password,
    })
}

/// Why seeding one item failed.
#[derive(Debug, thiserror::Error)]
enum SeedError {
    #[error(transparent)]
    Resource(#[from] ResourceError),
    #[error(transparent)]
    Trash(#[from] TrashError),
    #[error(transparent)]
    Value(#[from] InvalidValue),
}

async fn seed_data(
    service: &ResourceService,
    trash: &TrashService,
    principal: &Principal,
    ws: &WorkspaceSlug,
    step: &mut impl FnMut(&str),
) -> Result<(), SeedError> {
    for (slug, project_name, versions) in PROJECTS {
        let slug = Slug::parse(slug)?;
        service
            .create_project(
                principal,
                ws,
                Name::parse(project_name)?,
                Some(slug.clone()),
            )
            .await?;
        for training in *versions {
            let version = service.create_version(principal, ws, &slug, None).await?;
            if let Some(status) = training {
                let t = service
                    .create_training(principal, ws, &slug, version.number)
                    .await?;
                if *status != "running" {
                    service
                        .set_training_status(
                            principal,
                            ws,
                            &slug,
                            version.number,
                            &t.id,
                            FinishedStatus::parse(status)?,
                        )
                        .await?;
                }
            }
        }
        step(&format!("created project {slug}"));
    }

    // Images: some exclusive to one project, some shared between two, so a
    // purge with cleanupDeleteImages shows which ones go and which stay.
    let hard_hat = Slug::parse("hard-hat-detector")?;
    let parking = Slug::parse("parking-lot")?;
    let shelf = Slug::parse("shelf-inventory")?;
    for i in 1..=3 {
        service
            .add_image(
                principal,
                ws,
                &hard_hat,
                Name::parse(&format!("helmet-{i}.jpg"))?,
            )
            .await?;
        service
            .add_image(
                principal,
                ws,
                &parking,
                Name::parse(&format!("cars-{i}.jpg"))?,
            )
            .await?;
        service
            .add_image(
                principal,
                ws,
                &shelf,
                Name::parse(&format!("shelf-{i}.jpg"))?,
            )
            .await?;
    }
    for i in 1..=2 {
        let shared = service
            .add_image(
                principal,
                ws,
                &hard_hat,
                Name::parse(&format!("site-entrance-{i}.jpg"))?,
            )
            .await?;
        service
            .link_image(principal, ws, &parking, &shared.image.id)
            .await?;
    }
    step("added images (two shared by two projects)");

    for (slug, wf_name) in WORKFLOWS {
        service
            .create_workflow(
                principal,
                ws,
                Name::parse(wf_name)?,
                Some(Slug::parse(slug)?),
            )
            .await?;
    }
    step("created workflows");

    // Something to find in the trash right away.
    trash
        .trash_project(principal, ws, &Slug::parse("scratch-experiment")?, true)
        .await?;
    trash
        .trash_version(principal, ws, &hard_hat, VersionNumber::new(2)?)
        .await?;
    trash
        .trash_workflow(
            principal,
            ws,
            &WorkflowRef::Slug(Slug::parse("old-pipeline")?),
        )
        .await?;
    step("moved a project, a version and a workflow to the trash");
    Ok(())
}

fn name(value: &str) -> Result<Name, Failure> {
    Name::parse(value).map_err(|e| Failure::failed(e.to_string()))
}

/// The text printed once the server is about to listen.
pub fn banner(demo: &Demo, addr: SocketAddr, url: &DatabaseUrl) -> String {
    let base = format!("http://{}", display_addr(addr));
    let ws = &demo.workspace;
    let key = &demo.api_key;
    let data_note = if demo.created {
        "created with sample data"
    } else {
        "already existed; reused as it is"
    };
    let storage_note = if url.is_persistent() {
        String::new()
    } else {
        "\n  (memory:// storage: everything is gone when the server stops)".to_owned()
    };
    format!(
        r#"
trashd quickstart: workspace "{ws}" ({data_note}) on {url}{storage_note}

  API key (all scopes, shown once): {key}
  Web Trash view:                   {base}/app/login
    e-mail:                         {email}
    password:                       {password}

Try it with curl:
  curl -s "{base}/{ws}/trash?api_key={key}"
  curl -s -X DELETE "{base}/{ws}/parking-lot?api_key={key}"
  curl -s "{base}/{ws}/trash?api_key={key}&type=project"
  curl -s -X POST "{base}/{ws}/trash/restore?api_key={key}" \
       -H 'Content-Type: application/json' -d '{{"type":"project","id":"<id from the listing>"}}'

Try it with the official roboflow CLI (pip install roboflow-slim==1.7.3):
  export API_URL={base} ROBOFLOW_API_KEY={key} RF_WORKSPACE={ws}
  roboflow trash list
  roboflow project delete {ws}/parking-lot -y
  roboflow project restore {ws}/parking-lot
  roboflow version delete {ws}/hard-hat-detector/1 -y
  roboflow version restore {ws}/hard-hat-detector/1
  roboflow workflow delete count-vehicles -y
  roboflow workflow restore count-vehicles

Serving on {base} (Ctrl-C to stop).
"#,
        email = demo.email,
        password = demo.password,
    )
}

/// `0.0.0.0:8080` is not somewhere to send requests; show `127.0.0.1` instead.
fn display_addr(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        let ip = match addr {
            SocketAddr::V4(_) => std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            SocketAddr::V6(_) => std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        };
        SocketAddr::new(ip, addr.port())
    } else {
        addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose;
    use std::sync::Arc;
    use trash_core::ports::TrashQuery;
    use trash_memory::MemoryStore;

    #[tokio::test]
    async fn seeding_is_complete_and_idempotent() {
        let store = Arc::new(MemoryStore::new());
        let services = compose::services(store.clone(), Retention::default());
        let service = &services.resources;
        let ws = WorkspaceSlug::parse("demo").unwrap();
        let mut steps = Vec::new();
        let first = seed(&services, &ws, |s| steps.push(s.to_owned()))
            .await
            .unwrap();
        assert!(first.created);
        assert!(steps.len() >= 5, "{steps:?}");

        let me = Principal::ApiKey(
            services
                .accounts
                .authenticate(&first.api_key)
                .await
                .unwrap(),
        );
        let view = service
            .get_workspace(&me, &ws, Default::default())
            .await
            .unwrap();
        let slugs: Vec<&str> = view.projects.iter().map(|p| p.slug.as_str()).collect();
        assert_eq!(
            slugs,
            ["hard-hat-detector", "parking-lot", "shelf-inventory"]
        );
        let running: usize = {
            let v = service
                .list_trainings(
                    &me,
                    &ws,
                    &Slug::parse("parking-lot").unwrap(),
                    VersionNumber::new(2).unwrap(),
                )
                .await
                .unwrap();
            v.iter().filter(|t| t.status.is_in_flight()).count()
        };
        assert_eq!(running, 1, "some trainings are still running");
        let trash = |store: Arc<MemoryStore>| async move {
            use trash_core::ports::TrashReads;
            store
                .list_trash(&TrashQuery {
                    workspace: WorkspaceSlug::parse("demo").unwrap(),
                    kind: None,
                    limit: 100,
                    after: None,
                })
                .await
                .unwrap()
                .len()
        };
        assert_eq!(trash(store.clone()).await, 3);

        let second = seed(&services, &ws, |_| {}).await.unwrap();
        assert!(!second.created);
        assert_ne!(second.api_key, first.api_key, "a new key each time");
        assert_ne!(second.email, first.email, "a new login each time");
        assert_eq!(trash(store.clone()).await, 3, "nothing seeded twice");
        assert_eq!(
            service
                .get_workspace(&me, &ws, Default::default())
                .await
                .unwrap()
                .projects
                .len(),
            3
        );

        let text = banner(
            &first,
            "0.0.0.0:8080".parse().unwrap(),
            &DatabaseUrl::Memory,
        );
        assert!(text.contains("http://127.0.0.1:8080/demo/trash?api_key="));
        assert!(text.contains(&first.api_key));
        assert!(text.contains(&first.password));
        assert!(text.contains("roboflow trash list"));
    }
}
