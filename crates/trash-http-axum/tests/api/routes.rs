//! Every route of spec section 3 on its success path, with the JSON checked
//! field by field.

use axum::http::Method;
use serde_json::{json, Value};

use crate::common::*;

#[tokio::test]
async fn welcome_names_the_workspace_of_the_key_by_every_auth_means() {
    let fx = Fixture::new().await;
    for method in [Method::POST, Method::GET] {
        for auth in [
            Auth::Query(fx.key.clone()),
            Auth::Bearer(fx.key.clone()),
            Auth::Body(fx.key.clone()),
        ] {
            let r = fx.call_as(&auth, method.clone(), "/", None).await;
            r.expect(200);
            assert_eq!(
                keys(&r.body),
                fields(&["welcome", "instructions", "workspace"])
            );
            assert_eq!(r.body["workspace"], "acme");
        }
    }
    let r = fx
        .call_as(&Auth::Query(fx.other_key.clone()), Method::POST, "/", None)
        .await;
    assert_eq!(r.body["workspace"], "globex");
}

#[tokio::test]
async fn the_official_client_discovery_call_has_no_body_and_no_content_type() {
    let fx = Fixture::new().await;
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/?api_key={}", fx.key))
        .header("content-length", "0")
        .header("user-agent", "roboflow-python/1.7.3")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = send(&fx.app, req).await;
    r.expect(200);
    assert_eq!(r.body["workspace"], "acme");
}

#[tokio::test]
async fn workspace_lists_active_projects() {
    let fx = Fixture::new().await;
    let a = fx.seed("alpha").await;
    fx.seed("beta").await;
    fx.delete("/acme/beta").await.expect(200);
    let r = fx.get("/acme").await;
    r.expect(200);
    let ws = &r.body["workspace"];
    assert_eq!(keys(ws), fields(&["url", "name", "createdAt", "projects"]));
    assert_eq!(ws["url"], "acme");
    assert_time(&ws["createdAt"]);
    let projects = ws["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 1, "trashed projects are left out");
    assert_eq!(
        keys(&projects[0]),
        fields(&["id", "url", "name", "createdAt"])
    );
    assert_eq!(projects[0]["id"], a.project_id.as_str());
    assert_eq!(projects[0]["url"], "alpha");
    assert_eq!(projects[0]["name"], "Project alpha");
}

#[tokio::test]
async fn projects_are_created_read_and_conflict_on_active_slugs() {
    let fx = Fixture::new().await;
    let r = fx
        .post("/acme/projects", json!({"name": "My Detector"}))
        .await;
    r.expect(200);
    assert_eq!(keys(&r.body), fields(&["id", "url", "name", "createdAt"]));
    assert_eq!(r.body["url"], "my-detector", "slug derived from the name");
    assert_eq!(r.body["name"], "My Detector");
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 20);
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));

    let r = fx
        .post(
            "/acme/projects",
            json!({"name": "Other", "url": "my-detector"}),
        )
        .await;
    r.expect(409);
    assert_eq!(r.body["conflictingId"], id.as_str());

    let r = fx
        .post(
            "/acme/projects",
            json!({"name": "Given", "url": "given-slug"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["url"], "given-slug");

    let r = fx.get("/acme/my-detector").await;
    r.expect(200);
    assert_eq!(
        keys(&r.body),
        fields(&["project", "versions", "nextCursor"])
    );
    assert_eq!(r.body["project"]["id"], id.as_str());
    assert_eq!(r.body["versions"], json!([]));
    assert_eq!(r.body["nextCursor"], Value::Null);
}

#[tokio::test]
async fn reserved_project_slugs_are_refused() {
    let fx = Fixture::new().await;
    for slug in trash_http_axum::RESERVED_PROJECT_SLUGS {
        let r = fx
            .post("/acme/projects", json!({"name": "x", "url": slug}))
            .await;
        r.expect(400);
        assert!(r.error().contains("reserved"), "{}", r.error());
        let r = fx.post("/acme/projects", json!({"name": slug})).await;
        r.expect(400);
    }
}

#[tokio::test]
async fn versions_are_numbered_and_read() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let r = fx.post("/acme/det/versions", json!({})).await;
    r.expect(200);
    assert_eq!(
        keys(&r.body),
        fields(&["id", "version", "name", "projectId", "createdAt"])
    );
    assert_eq!(r.body["id"], "3");
    assert_eq!(r.body["version"], "3");
    assert_eq!(r.body["name"], "v3");
    assert_eq!(r.body["projectId"], s.project_id.as_str());
    let r = fx
        .post("/acme/det/versions", json!({"name": "augmented"}))
        .await;
    assert_eq!(r.body["id"], "4");
    assert_eq!(r.body["name"], "augmented");
    // Without a body at all.
    let r = fx.call(Method::POST, "/acme/det/versions", None).await;
    r.expect(200);
    assert_eq!(r.body["id"], "5");

    let r = fx.get("/acme/det/1").await;
    r.expect(200);
    assert_eq!(keys(&r.body), fields(&["project", "version", "trainings"]));
    assert_eq!(r.body["version"]["id"], "1");
    assert_eq!(r.body["trainings"][0]["id"], s.training_id.as_str());

    let r = fx.get("/acme/det").await;
    let numbers: Vec<&str> = r.body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["1", "2", "3", "4", "5"]);
}

/// `GET /{ws}` and `GET /{ws}/{project}` page with `limit` and `cursor`:
/// every active entry once, in order, and `nextCursor` null on the last
/// page; without `limit` everything up to 1000 comes at once (what the
/// official CLI reads). A cursor of the wrong form is a 400.
#[tokio::test]
async fn workspace_and_project_reads_are_paginated() {
    let fx = Fixture::new().await;
    for p in ["p1", "p2", "p3", "p4", "p5"] {
        fx.seed(p).await;
    }
    fx.delete("/acme/p3").await.expect(200);
    for _ in 0..4 {
        fx.call(Method::POST, "/acme/p1/versions", None)
            .await
            .expect(200);
    }
    fx.delete("/acme/p1/2").await.expect(200);

    let all = fx.get("/acme").await;
    all.expect(200);
    assert_eq!(all.body["nextCursor"], Value::Null);
    let slugs = |body: &Value| -> Vec<String> {
        body["workspace"]["projects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["url"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(slugs(&all.body), ["p1", "p2", "p4", "p5"]);
    let mut seen = Vec::new();
    let mut path = "/acme?limit=3".to_owned();
    loop {
        let r = fx.get(&path).await;
        r.expect(200);
        assert!(slugs(&r.body).len() <= 3);
        seen.extend(slugs(&r.body));
        match r.body["nextCursor"].as_str() {
            Some(c) => path = format!("/acme?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["p1", "p2", "p4", "p5"]);

    let numbers = |body: &Value| -> Vec<String> {
        body["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // Every active version of p1 at once, then the same in pages of two.
    let whole = fx.get("/acme/p1").await;
    whole.expect(200);
    let all_numbers = numbers(&whole.body);
    assert!(all_numbers.len() >= 4, "{all_numbers:?}");
    assert!(!all_numbers.contains(&"2".to_owned()), "2 is trashed");
    let mut seen = Vec::new();
    let mut path = "/acme/p1?limit=2".to_owned();
    loop {
        let r = fx.get(&path).await;
        r.expect(200);
        let page = numbers(&r.body);
        assert!(page.len() <= 2);
        seen.extend(page);
        match r.body["nextCursor"].as_str() {
            Some(c) => {
                assert_eq!(Some(c), seen.last().map(String::as_str));
                path = format!("/acme/p1?limit=2&cursor={c}");
            }
            None => break,
        }
    }
    assert_eq!(seen, all_numbers);

    fx.get("/acme?cursor=Not%20a%20slug").await.expect(400);
    fx.get("/acme/p1?cursor=x").await.expect(400);
    fx.get("/acme/p1?limit=0").await.expect(400);
    fx.get("/acme?limit=1001").await.expect(400);
}

#[tokio::test]
async fn workflows_are_created_and_read() {
    let fx = Fixture::new().await;
    let r = fx
        .post("/acme/workflows", json!({"name": "Count Cats"}))
        .await;
    r.expect(200);
    assert_eq!(keys(&r.body), fields(&["id", "url", "name", "createdAt"]));
    assert_eq!(r.body["url"], "count-cats");
    let id = r.body["id"].clone();
    let r = fx.get("/acme/workflows/count-cats").await;
    r.expect(200);
    assert_eq!(r.body["id"], id);
    let r = fx
        .post("/acme/workflows", json!({"name": "x", "url": "count-cats"}))
        .await;
    r.expect(409);
    assert_eq!(r.body["conflictingId"], id);
}

#[tokio::test]
async fn trainings_start_list_finish_and_read() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let r = fx
        .call(Method::POST, "/acme/det/2/v2/trainings", None)
        .await;
    r.expect(200);
    assert_eq!(
        keys(&r.body),
        fields(&["id", "versionId", "projectId", "status", "start", "end"])
    );
    assert_eq!(r.body["status"], "running");
    assert_eq!(r.body["versionId"], "2");
    assert_eq!(r.body["end"], json!(null));
    assert_time(&r.body["start"]);
    let t2 = r.body["id"].as_str().unwrap().to_owned();

    let r = fx.get("/acme/det/1/v2/trainings").await;
    r.expect(200);
    assert_eq!(keys(&r.body), fields(&["trainings"]));
    let list = r.body["trainings"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], s.training_id.as_str());

    let uri = format!("/acme/det/2/v2/trainings/{t2}/status");
    let r = fx.post(&uri, json!({"status": "succeeded"})).await;
    r.expect(200);
    assert_eq!(r.body["status"], "succeeded");
    assert_time(&r.body["end"]);
    let r = fx.post(&uri, json!({"status": "failed"})).await;
    r.expect(409);

    let r = fx.get(&format!("/acme/det/2/v2/trainings/{t2}")).await;
    r.expect(200);
    assert_eq!(r.body["status"], "succeeded");
    // The training lives under version 2, not 1.
    fx.get(&format!("/acme/det/1/v2/trainings/{t2}"))
        .await
        .expect(404);
}

#[tokio::test]
async fn images_are_added_linked_and_read() {
    let fx = Fixture::new().await;
    let a = fx.seed("alpha").await;
    let b = fx.seed("beta").await;
    let r = fx
        .post("/acme/alpha/images", json!({"name": "dog.png"}))
        .await;
    r.expect(200);
    assert_eq!(
        keys(&r.body),
        fields(&["id", "name", "createdAt", "projects"])
    );
    assert_eq!(r.body["projects"], json!([a.project_id]));
    let r = fx
        .post("/acme/beta/images", json!({"imageId": a.image_id}))
        .await;
    r.expect(200);
    let mut expected = vec![a.project_id.clone(), b.project_id.clone()];
    expected.sort();
    assert_eq!(r.body["projects"], json!(expected));
    let r = fx.get(&format!("/acme/images/{}", a.image_id)).await;
    r.expect(200);
    assert_eq!(r.body["projects"], json!(expected));
    assert_eq!(r.body["name"], "cat.jpg");
}

#[tokio::test]
async fn deleting_a_project_answers_the_spec_shape_and_cascades() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let r = fx.delete("/acme/det").await;
    r.expect(200);
    assert_eq!(
        keys(&r.body),
        fields(&[
            "deleted",
            "type",
            "workspace",
            "project",
            "projectId",
            "trash",
            "scheduledCleanupAt",
            "cancelledTrainings"
        ])
    );
    assert_eq!(r.body["deleted"], true);
    assert_eq!(r.body["type"], "project");
    assert_eq!(r.body["workspace"], "acme");
    assert_eq!(r.body["project"], "det");
    assert_eq!(r.body["projectId"], s.project_id.as_str());
    assert_eq!(r.body["trash"], true);
    assert_eq!(r.body["scheduledCleanupAt"], "2026-01-31T00:00:00.000Z");
    assert_eq!(r.body["cancelledTrainings"], 1);
    assert_eq!(fx.canceller.calls().len(), 1);

    // Repeating changes nothing, not even the schedule.
    fx.clock.advance(chrono::Duration::days(3));
    let again = fx.delete("/acme/det").await;
    again.expect(200);
    assert_eq!(again.body["alreadyInTrash"], true);
    assert_eq!(
        again.body["scheduledCleanupAt"],
        r.body["scheduledCleanupAt"]
    );
    assert_eq!(again.body["cancelledTrainings"], 0);

    fx.get("/acme/det").await.expect(404);
    fx.get("/acme/det/1").await.expect(404);
    let list = fx.get("/acme/trash").await;
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "cascaded items are not listed");
    assert_eq!(items[0]["contains"], json!({"versions": 2, "trainings": 1}));
    assert_eq!(items[0]["cleanupDeleteImages"], true);
}

#[tokio::test]
async fn cleanup_delete_images_is_recorded() {
    let fx = Fixture::new().await;
    fx.seed("det").await;
    fx.delete("/acme/det?cleanupDeleteImages=false")
        .await
        .expect(200);
    let list = fx.get("/acme/trash").await;
    assert_eq!(list.body["items"][0]["cleanupDeleteImages"], false);
}

#[tokio::test]
async fn deleting_a_version_answers_the_spec_shape() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let r = fx.delete("/acme/det/1").await;
    r.expect(200);
    assert_eq!(
        keys(&r.body),
        fields(&[
            "deleted",
            "type",
            "workspace",
            "project",
            "projectId",
            "version",
            "trash",
            "scheduledCleanupAt",
            "cancelledTrainings"
        ])
    );
    assert_eq!(r.body["type"], "version");
    assert_eq!(r.body["version"], "1");
    assert_eq!(r.body["project"], "det");
    assert_eq!(r.body["projectId"], s.project_id.as_str());
    assert_eq!(r.body["cancelledTrainings"], 1);
    let again = fx.delete("/acme/det/1").await;
    again.expect(200);
    assert_eq!(again.body["alreadyInTrash"], true);
    fx.get("/acme/det/1").await.expect(404);
    fx.get("/acme/det/2").await.expect(200);
}

#[tokio::test]
async fn deleting_a_workflow_by_slug_or_by_id() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let r = fx
        .delete(&format!("/acme/workflows/{}", s.workflow_slug))
        .await;
    r.expect(200);
    assert_eq!(
        keys(&r.body),
        fields(&[
            "deleted",
            "type",
            "workspace",
            "workflow",
            "workflowId",
            "trash",
            "scheduledCleanupAt"
        ])
    );
    assert_eq!(r.body["type"], "workflow");
    assert_eq!(r.body["workflow"], s.workflow_slug.as_str());
    assert_eq!(r.body["workflowId"], s.workflow_id.as_str());
    // Again, by id: already in trash, same schedule.
    let again = fx
        .delete(&format!("/acme/workflows/{}", s.workflow_id))
        .await;
    again.expect(200);
    assert_eq!(again.body["alreadyInTrash"], true);
    assert_eq!(
        again.body["scheduledCleanupAt"],
        r.body["scheduledCleanupAt"]
    );

    // A new active workflow takes the slug; deleting the trashed one by id
    // must not touch it.
    let fresh = fx
        .post(
            "/acme/workflows",
            json!({"name": "n", "url": s.workflow_slug}),
        )
        .await;
    fresh.expect(200);
    let again = fx
        .delete(&format!("/acme/workflows/{}", s.workflow_id))
        .await;
    assert_eq!(again.body["alreadyInTrash"], true);
    assert_eq!(again.body["workflowId"], s.workflow_id.as_str());
    fx.get(&format!("/acme/workflows/{}", s.workflow_slug))
        .await
        .expect(200);

    // By id, while active.
    let id = fresh.body["id"].as_str().unwrap();
    let r = fx.delete(&format!("/acme/workflows/{id}")).await;
    r.expect(200);
    assert_eq!(r.body["workflowId"], id);
    assert!(r.body.get("alreadyInTrash").is_none());
}

#[tokio::test]
async fn deleting_a_training_answers_the_spec_shape() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    fx.finish(&s).await;
    let uri = format!("/acme/det/1/v2/trainings/{}", s.training_id);
    let r = fx.delete(&uri).await;
    r.expect(200);
    assert_eq!(
        keys(&r.body),
        fields(&[
            "deleted",
            "type",
            "workspace",
            "trainingId",
            "trash",
            "scheduledCleanupAt"
        ])
    );
    assert_eq!(r.body["type"], "training");
    assert_eq!(r.body["trainingId"], s.training_id.as_str());
    let list = fx.get("/acme/det/1/v2/trainings").await;
    assert_eq!(list.body["trainings"], json!([]), "trashed runs are hidden");
    let again = fx.delete(&uri).await;
    again.expect(200);
    assert_eq!(again.body["alreadyInTrash"], true);
}

/// Trashes one item of each type at distinct times: workflow, training,
/// version 2, then project `other`.
async fn trash_one_of_each(fx: &Fixture) -> (Seeded, Seeded) {
    let s = fx.seed("det").await;
    let o = fx.seed("other").await;
    fx.finish(&s).await;
    fx.delete(&format!("/acme/workflows/{}", s.workflow_slug))
        .await
        .expect(200);
    fx.clock.advance(chrono::Duration::seconds(1));
    fx.delete(&format!("/acme/det/1/v2/trainings/{}", s.training_id))
        .await
        .expect(200);
    fx.clock.advance(chrono::Duration::seconds(1));
    fx.delete("/acme/det/2").await.expect(200);
    fx.clock.advance(chrono::Duration::seconds(1));
    fx.delete("/acme/other").await.expect(200);
    (s, o)
}

#[tokio::test]
async fn the_listing_has_items_sections_and_every_field() {
    let fx = Fixture::new().await;
    let (s, o) = trash_one_of_each(&fx).await;
    let r = fx.get("/acme/trash").await;
    r.expect(200);
    assert_eq!(keys(&r.body), fields(&["items", "sections", "nextCursor"]));
    assert_eq!(r.body["nextCursor"], json!(null));
    let items = r.body["items"].as_array().unwrap();
    let types: Vec<&str> = items.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["project", "version", "training", "workflow"],
        "newest first"
    );
    let common = [
        "type",
        "id",
        "deletedAt",
        "scheduledCleanupAt",
        "deletedBy",
        "deletedByName",
    ];
    let with = |extra: &[&str]| {
        let mut all: Vec<&str> = common.to_vec();
        all.extend_from_slice(extra);
        fields(&all)
    };

    let p = &items[0];
    assert_eq!(
        keys(p),
        with(&["url", "name", "cleanupDeleteImages", "contains"])
    );
    assert_eq!(p["id"], o.project_id.as_str());
    assert_eq!(p["url"], "other");
    assert_eq!(p["name"], "Project other");
    assert_eq!(p["deletedAt"], "2026-01-01T00:00:03.000Z");
    assert_eq!(p["scheduledCleanupAt"], "2026-01-31T00:00:03.000Z");
    assert_eq!(p["deletedByName"], "test key");
    assert_eq!(p["deletedBy"].as_str().unwrap().len(), 20);
    assert_eq!(p["contains"], json!({"versions": 2, "trainings": 1}));

    let v = &items[1];
    assert_eq!(
        keys(v),
        with(&["name", "parentId", "parentUrl", "parentName", "contains"])
    );
    assert_eq!(v["id"], "2");
    assert_eq!(v["name"], "v2");
    assert_eq!(v["parentId"], s.project_id.as_str());
    assert_eq!(v["parentUrl"], "det");
    assert_eq!(v["parentName"], "Project det");
    assert_eq!(v["contains"], json!({"versions": 0, "trainings": 0}));

    let t = &items[2];
    assert_eq!(keys(t), with(&["projectId", "projectUrl", "version"]));
    assert_eq!(t["id"], s.training_id.as_str());
    assert_eq!(t["projectId"], s.project_id.as_str());
    assert_eq!(t["projectUrl"], "det");
    assert_eq!(t["version"], "1");

    let w = &items[3];
    assert_eq!(keys(w), with(&["url", "name"]));
    assert_eq!(w["id"], s.workflow_id.as_str());
    assert_eq!(w["url"], s.workflow_slug.as_str());
    assert_eq!(w["name"], "Flow");
    for item in items {
        assert_time(&item["deletedAt"]);
        assert_time(&item["scheduledCleanupAt"]);
    }

    let sections = &r.body["sections"];
    assert_eq!(
        keys(sections),
        fields(&["projects", "versions", "workflows", "trainings"])
    );
    assert_eq!(sections["projects"], json!([items[0]]));
    assert_eq!(sections["versions"], json!([items[1]]));
    assert_eq!(sections["trainings"], json!([items[2]]));
    assert_eq!(sections["workflows"], json!([items[3]]));
}

#[tokio::test]
async fn an_empty_trash_still_has_every_section() {
    let fx = Fixture::new().await;
    let r = fx.get("/acme/trash").await;
    r.expect(200);
    assert_eq!(
        r.body,
        json!({"items": [], "sections": {"projects": [], "versions": [], "workflows": [], "trainings": []}, "nextCursor": null})
    );
}

#[tokio::test]
async fn the_listing_pages_with_an_opaque_cursor_and_filters_by_type() {
    let fx = Fixture::new().await;
    trash_one_of_each(&fx).await;
    let mut seen = Vec::new();
    let mut uri = "/acme/trash?limit=1".to_owned();
    loop {
        let r = fx.get(&uri).await;
        r.expect(200);
        let items = r.body["items"].as_array().unwrap();
        assert!(items.len() <= 1);
        seen.extend(items.iter().map(|i| i["type"].as_str().unwrap().to_owned()));
        match r.body["nextCursor"].as_str() {
            Some(c) => uri = format!("/acme/trash?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["project", "version", "training", "workflow"]);

    for kind in ["project", "version", "workflow", "training"] {
        let r = fx.get(&format!("/acme/trash?type={kind}")).await;
        r.expect(200);
        let items = r.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["type"], kind);
    }
}

#[tokio::test]
async fn restoring_each_type_answers_the_spec_shape() {
    let fx = Fixture::new().await;
    let (s, o) = trash_one_of_each(&fx).await;

    let r = fx
        .post(
            "/acme/trash/restore",
            json!({"type": "project", "id": o.project_id}),
        )
        .await;
    r.expect(200);
    assert_eq!(
        r.body,
        json!({"restored": true, "type": "project", "id": o.project_id, "url": "other"})
    );
    fx.get("/acme/other/2").await.expect(200);

    // The version id as a JSON number, as the official client may send it.
    let r = fx
        .post(
            "/acme/trash/restore",
            json!({"type": "version", "id": 2, "parentId": s.project_id}),
        )
        .await;
    r.expect(200);
    assert_eq!(
        r.body,
        json!({"restored": true, "type": "version", "id": "2", "parentId": s.project_id})
    );

    let r = fx
        .post(
            "/acme/trash/restore",
            json!({"type": "workflow", "id": s.workflow_id}),
        )
        .await;
    r.expect(200);
    assert_eq!(
        r.body,
        json!({"restored": true, "type": "workflow", "id": s.workflow_id, "url": s.workflow_slug})
    );

    let r = fx
        .post(
            "/acme/trash/restore",
            json!({"type": "training", "id": s.training_id}),
        )
        .await;
    r.expect(200);
    assert_eq!(
        r.body,
        json!({"restored": true, "type": "training", "id": s.training_id, "parentId": s.project_id})
    );
    assert_eq!(fx.get("/acme/trash").await.body["items"], json!([]));

    // Already active: 200 with alreadyActive.
    let r = fx
        .post(
            "/acme/trash/restore",
            json!({"type": "version", "id": "2", "parentId": s.project_id}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["alreadyActive"], true);
}

#[tokio::test]
async fn restore_renames_on_request_when_the_slug_is_taken() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    fx.delete("/acme/det").await.expect(200);
    fx.post("/acme/projects", json!({"name": "n", "url": "det"}))
        .await
        .expect(200);
    let body = json!({"type": "project", "id": s.project_id, "onConflict": "rename"});
    let r = fx.post("/acme/trash/restore", body).await;
    r.expect(200);
    assert_eq!(r.body["url"], "det-2");
    fx.get("/acme/det-2").await.expect(200);
}

#[tokio::test]
async fn key_in_the_body_works_for_restore() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    fx.delete("/acme/det").await.expect(200);
    let r = fx
        .call_as(
            &Auth::Body(fx.key.clone()),
            Method::POST,
            "/acme/trash/restore",
            Some(json!({"type": "project", "id": s.project_id})),
        )
        .await;
    r.expect(200);
}

#[tokio::test]
async fn health_readiness_and_document_need_no_key() {
    let fx = Fixture::new().await;
    let r = fx.call_as(&Auth::None, Method::GET, "/healthz", None).await;
    r.expect(200);
    assert_eq!(r.body, json!({"status": "ok"}));
    let r = fx.call_as(&Auth::None, Method::GET, "/readyz", None).await;
    r.expect(200);
    assert_eq!(r.body, json!({"status": "ready"}));
    let r = fx
        .call_as(&Auth::None, Method::GET, "/openapi.json", None)
        .await;
    r.expect(200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3."));
    let r = fx
        .call_as(&Auth::None, Method::HEAD, "/healthz", None)
        .await;
    r.expect(200);
}

#[tokio::test]
async fn a_doubled_leading_slash_still_routes() {
    let fx = Fixture::new().await;
    fx.get("//acme/trash").await.expect(200);
    fx.call(Method::POST, "//", None).await.expect(200);
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_honours_a_given_one() {
    let fx = Fixture::new().await;
    let a = fx.get("/acme/trash").await;
    let b = fx.get("/nope/x/y/z/w/v").await;
    let ida = a.headers["x-request-id"].to_str().unwrap().to_owned();
    let idb = b.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(ida, idb);
    let req = axum::http::Request::builder()
        .uri("/healthz")
        .header("x-request-id", "trace-42")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = send(&fx.app, req).await;
    assert_eq!(r.headers["x-request-id"], "trace-42");
    let req = axum::http::Request::builder()
        .uri("/healthz")
        .header("x-request-id", "bad id with spaces")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = send(&fx.app, req).await;
    assert_ne!(r.headers["x-request-id"], "bad id with spaces");
}
