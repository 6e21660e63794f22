//! Bulk `POST /{ws}/trash/restore` with `"items"`.

use axum::http::Method;
use chrono::Duration;
use serde_json::{json, Value};
use trash_core::domain::Scope;

use crate::common::*;

fn statuses(r: &Reply) -> Vec<u64> {
    r.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|x| x["status"].as_u64().expect("status"))
        .collect()
}

#[tokio::test]
async fn bulk_restore_mixes_outcomes_and_restores_parents_first() {
    let fx = Fixture::new().await;
    // Trashed first, and expired by the time of the bulk restore.
    let old = fx.seed("old").await;
    fx.delete(&format!("/acme/workflows/{}", old.workflow_slug))
        .await
        .expect(200);
    fx.clock.advance(Duration::days(31));
    // A project whose version 2 was trashed on its own before the project.
    let a = fx.seed("a").await;
    fx.delete("/acme/a/2").await.expect(200);
    fx.delete("/acme/a").await.expect(200);
    // A workflow whose slug was taken meanwhile, and a project trashed with
    // its versions.
    let b = fx.seed("b").await;
    fx.delete(&format!("/acme/workflows/{}", b.workflow_slug))
        .await
        .expect(200);
    let taker = fx
        .post("/acme/workflows", json!({"name": "Taker", "url": "b-wf"}))
        .await;
    taker.expect(200);
    fx.delete("/acme/b").await.expect(200);

    let r = fx
        .post(
            "/acme/trash/restore",
            json!({"items": [
                {"type": "version", "id": "2", "parentId": a.project_id},
                {"type": "project", "id": "Zzzzzzzzzzzzzzzzzzz1"},
                {"type": "workflow", "id": b.workflow_id},
                {"type": "workflow", "id": old.workflow_id},
                {"type": "project", "id": a.project_id},
                {"type": "version", "id": 1, "parentId": b.project_id},
            ]}),
        )
        .await;
    r.expect(200);
    assert_eq!(keys(&r.body), fields(&["results"]));
    assert_eq!(statuses(&r), [200, 404, 409, 410, 200, 409]);
    let res = r.body["results"].as_array().unwrap();
    assert_eq!(
        res[0],
        json!({"type": "version", "id": "2", "status": 200, "restored": true})
    );
    assert_eq!(
        res[1],
        json!({"type": "project", "id": "Zzzzzzzzzzzzzzzzzzz1", "status": 404,
               "error": "project Zzzzzzzzzzzzzzzzzzz1 not found in trash"})
    );
    assert_eq!(res[2]["conflictingId"], taker.body["id"]);
    assert!(res[2]["error"]
        .as_str()
        .unwrap()
        .contains("already uses the slug"));
    assert_eq!(res[3]["error"], "retention expired");
    assert_eq!(
        res[4],
        json!({"type": "project", "id": a.project_id, "status": 200, "restored": true, "url": "a"})
    );
    assert!(res[5]["error"]
        .as_str()
        .unwrap()
        .contains("moved to trash together with"));
    // The version named before its project is back, with the project.
    fx.get("/acme/a/2").await.expect(200);
    fx.get("/acme/a/1").await.expect(200);
    // Items are independent: the refused ones are still in trash.
    fx.get("/acme/b").await.expect(404);
    // The same body again: each item answers like a repeated single restore.
    let r = fx
        .post(
            "/acme/trash/restore",
            json!({"items": [
                {"type": "project", "id": a.project_id},
                {"type": "version", "id": "2", "parentId": a.project_id},
            ]}),
        )
        .await;
    assert_eq!(statuses(&r), [200, 200]);
}

#[tokio::test]
async fn bulk_restore_checks_scopes_per_item() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    fx.delete(&format!("/acme/workflows/{}", s.workflow_slug))
        .await
        .expect(200);
    fx.delete("/acme/det").await.expect(200);
    let key = fx
        .key_with(
            [Scope::parse("project:update").unwrap()]
                .into_iter()
                .collect(),
        )
        .await;
    let body = json!({"items": [
        {"type": "workflow", "id": s.workflow_id},
        {"type": "project", "id": s.project_id},
    ]});
    let r = fx
        .call_as(
            &Auth::Bearer(key),
            Method::POST,
            "/acme/trash/restore",
            Some(body.clone()),
        )
        .await;
    r.expect(200);
    assert_eq!(statuses(&r), [401, 200]);
    assert_eq!(
        r.body["results"][0]["error"],
        "this API key lacks the workflow:update scope"
    );
    fx.get(&format!("/acme/workflows/{}", s.workflow_slug))
        .await
        .expect(404);
    fx.get("/acme/det").await.expect(200);
    // A key of another workspace is refused as a whole.
    let r = fx
        .call_as(
            &Auth::Query(fx.other_key.clone()),
            Method::POST,
            "/acme/trash/restore",
            Some(body),
        )
        .await;
    r.expect(401);
}

#[tokio::test]
async fn malformed_bulk_bodies_are_400() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    fx.delete("/acme/det").await.expect(200);
    let many: Vec<Value> = (0..101)
        .map(|_| json!({"type": "project", "id": s.project_id}))
        .collect();
    for (body, needle) in [
        (json!({"items": []}), "1 to 100"),
        (json!({"items": many}), "1 to 100"),
        (json!({"items": "x"}), ""),
        (
            json!({"items": [{"type": "project", "id": s.project_id}, {"type": "image", "id": "x"}]}),
            "items[1]",
        ),
        (
            json!({"items": [{"type": "version", "id": "1"}]}),
            "items[0]: restoring a version needs",
        ),
        (
            json!({"type": "project", "id": s.project_id, "items": [{"type": "project", "id": s.project_id}]}),
            "either",
        ),
    ] {
        let r = fx.post("/acme/trash/restore", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.error().contains(needle), "{}", r.error());
    }
    // Nothing was restored by any of them.
    fx.get("/acme/det").await.expect(404);
    // 100 items are fine (the same project, restored once, then active).
    let hundred: Vec<Value> = (0..100)
        .map(|_| json!({"type": "project", "id": s.project_id}))
        .collect();
    let r = fx
        .post("/acme/trash/restore", json!({"items": hundred}))
        .await;
    r.expect(200);
    assert!(statuses(&r).iter().all(|s| *s == 200));
}
