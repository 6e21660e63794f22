//! No API key, whatever its scopes, can delete anything for good: every
//! documented route × every method × parameters that would mean "for good"
//! elsewhere, with an all-scopes key, before and after the retention window
//! has passed. After each call every item still exists (active or in trash)
//! and the audit trail holds no purge.

use axum::http::Method;
use serde_json::{json, Value};
use trash_core::domain::*;
use trash_core::ports::{AuditLog, ResourceStore, TrashReads};

use crate::common::*;

const METHODS: [Method; 8] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
    Method::TRACE,
];

const FOREVER_QUERY: &str =
    "permanent=true&force=true&purge=true&hard=true&forever=true&emptyTrash=true&skipTrash=true";

/// How many versions and trainings each project holds, active or trashed.
async fn census(fx: &Fixture, all: &[Seeded]) -> Vec<(usize, usize)> {
    let ws = WorkspaceSlug::parse("acme").unwrap();
    let mut out = Vec::new();
    for s in all {
        let pid = ProjectId::parse(&s.project_id).unwrap();
        let agg = fx
            .store
            .load_project(&ws, &pid)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("project {} is gone", s.slug));
        out.push((agg.versions.len(), agg.trainings.len()));
        let wid = WorkflowId::parse(&s.workflow_id).unwrap();
        assert!(
            fx.store.load_workflow(&ws, &wid).await.unwrap().is_some(),
            "workflow {} is gone",
            s.workflow_slug
        );
        let iid = ImageId::parse(&s.image_id).unwrap();
        assert!(
            fx.store.image(&ws, &iid).await.unwrap().is_some(),
            "image gone"
        );
    }
    let purges = fx
        .store
        .audit_events(&ws, None, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| matches!(r.event.kind, AuditKind::Purged | AuditKind::DeletedForever))
        .count();
    assert_eq!(purges, 0, "something was purged");
    out
}

/// Concrete URIs for a documented path template, one set per seeded project.
fn concrete(template: &str, s: &Seeded) -> Vec<String> {
    let id = if template.contains("/images/") {
        &s.image_id
    } else {
        &s.training_id
    };
    let mut out = Vec::new();
    for version in ["1", "2"] {
        for workflow in [&s.workflow_slug, &s.workflow_id] {
            out.push(
                template
                    .replace("{ws}", "acme")
                    .replace("{project}", &s.slug)
                    .replace("{version}", version)
                    .replace("{id}", id)
                    .replace("{workflow}", workflow),
            );
        }
    }
    out.sort();
    out.dedup();
    out
}

fn forever_body(s: &Seeded) -> Value {
    json!({
        "permanent": true, "force": true, "purge": true, "forever": true,
        "type": "project", "id": s.project_id, "onConflict": "rename",
        "name": "walk", "status": "stopped"
    })
}

async fn walk(fx: &Fixture, world: &World) -> usize {
    let all = world.all();
    let doc = trash_http_axum::openapi();
    let templates: Vec<String> = doc.paths.paths.keys().cloned().collect();
    assert!(templates.len() >= 15, "the document lists the routes");
    let mut baseline = census(fx, &all).await;
    let mut calls = 0;
    for template in &templates {
        for s in &all {
            for uri in concrete(template, s) {
                for method in METHODS {
                    let sep = if uri.contains('?') { '&' } else { '?' };
                    let variants = [
                        (uri.clone(), None),
                        (format!("{uri}{sep}{FOREVER_QUERY}"), None),
                        (format!("{uri}{sep}{FOREVER_QUERY}"), Some(forever_body(s))),
                    ];
                    for (u, body) in variants {
                        let body = if method == Method::HEAD || method == Method::GET {
                            None
                        } else {
                            body
                        };
                        let r = fx.call(method.clone(), &u, body).await;
                        calls += 1;
                        assert!(!r.status.is_server_error(), "{method} {u}: {}", r.body);
                        let now = census(fx, &all).await;
                        for (i, ((v0, t0), (v1, t1))) in baseline.iter().zip(&now).enumerate() {
                            assert!(
                                v1 >= v0 && t1 >= t0,
                                "{method} {u} removed children of {}",
                                all[i].slug
                            );
                        }
                        baseline = now;
                    }
                }
            }
        }
    }
    calls
}

#[tokio::test]
async fn no_route_method_or_parameter_deletes_for_good() {
    let fx = Fixture::new().await;
    let world = fx.world().await;
    let calls = walk(&fx, &world).await;
    assert!(calls > 1000, "walked {calls} calls");
    // Past every schedule: whatever is in trash is now due, and still no
    // call may remove it.
    fx.clock.advance(chrono::Duration::days(31));
    walk(&fx, &world).await;
}

#[tokio::test]
async fn purge_shaped_paths_do_not_exist() {
    let fx = Fixture::new().await;
    let world = fx.world().await;
    let gone = &world.gone.project_id;
    let all = world.all();
    let before = fx.snapshot(&all).await;
    for (method, uri) in [
        (Method::DELETE, "/acme/trash".to_owned()),
        (Method::POST, "/acme/trash/empty".to_owned()),
        (Method::DELETE, "/acme/trash/empty".to_owned()),
        (Method::POST, "/acme/trash/purge".to_owned()),
        (Method::POST, "/acme/trash/delete".to_owned()),
        (Method::DELETE, format!("/acme/trash/{gone}")),
        (Method::POST, format!("/acme/trash/{gone}/delete")),
        (Method::DELETE, format!("/acme/trash/project/{gone}")),
        (Method::DELETE, "/acme/trash/restore".to_owned()),
        (Method::DELETE, format!("/acme/projects/{gone}")),
        (Method::POST, "/acme/gone/delete".to_owned()),
        (Method::DELETE, "/acme".to_owned()),
        (Method::POST, "/admin/cleanup".to_owned()),
        (Method::POST, "/acme/cleanup".to_owned()),
        (Method::DELETE, "/app/acme/trash".to_owned()),
    ] {
        let r = fx
            .call(method.clone(), &uri, Some(json!({"confirm": "acme"})))
            .await;
        // 404/405 (no such route), or 400/404 where the path reads as a
        // project or version route with an impossible slug or number.
        assert!(
            r.status.is_client_error(),
            "{method} {uri} answered {}: {}",
            r.status,
            r.body
        );
    }
    assert_eq!(before, fx.snapshot(&all).await);
}
