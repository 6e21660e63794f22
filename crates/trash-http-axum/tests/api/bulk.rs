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

/// The same mix as a dry run: every item answers what the real call then
/// answers (the version named before its project included, since the
/// project would be restored first), with the items it would bring back,
/// and nothing changes.
#[tokio::test]
async fn a_bulk_dry_run_predicts_each_result_and_changes_nothing() {
    let fx = Fixture::new().await;
    let old = fx.seed("old").await;
    fx.delete(&format!("/acme/workflows/{}", old.workflow_slug))
        .await
        .expect(200);
    fx.clock.advance(Duration::days(31));
    let a = fx.seed("a").await;
    fx.delete("/acme/a/2").await.expect(200);
    fx.delete("/acme/a").await.expect(200);
    let b = fx.seed("b").await;
    fx.delete(&format!("/acme/workflows/{}", b.workflow_slug))
        .await
        .expect(200);
    let taker = fx
        .post("/acme/workflows", json!({"name": "Taker", "url": "b-wf"}))
        .await;
    taker.expect(200);
    fx.delete("/acme/b").await.expect(200);
    // Two workflows of one slug: the second is refused once the first would be back.
    let c = fx.seed("c").await;
    fx.delete(&format!("/acme/workflows/{}", c.workflow_slug))
        .await
        .expect(200);
    let again = fx
        .post("/acme/workflows", json!({"name": "Again", "url": "c-wf"}))
        .await;
    again.expect(200);
    let again_id = again.body["id"].as_str().expect("id").to_owned();
    fx.delete(&format!("/acme/workflows/{again_id}"))
        .await
        .expect(200);
    let body = json!({"items": [
        {"type": "version", "id": "2", "parentId": a.project_id},
        {"type": "project", "id": "Zzzzzzzzzzzzzzzzzzz1"},
        {"type": "workflow", "id": b.workflow_id},
        {"type": "workflow", "id": old.workflow_id},
        {"type": "project", "id": a.project_id},
        {"type": "version", "id": 1, "parentId": b.project_id},
        {"type": "workflow", "id": c.workflow_id},
        {"type": "workflow", "id": again_id},
        {"type": "workflow", "id": b.workflow_id, "onConflict": "rename"},
    ]});
    let everything = [a.clone(), b.clone(), c.clone(), old.clone()];
    let before = fx.snapshot(&everything).await;
    let dry = fx
        .post("/acme/trash/restore?dryRun=true", body.clone())
        .await;
    dry.expect(200);
    assert_eq!(keys(&dry.body), fields(&["dryRun", "results"]));
    assert_eq!(dry.body["dryRun"], true);
    assert_eq!(
        before,
        fx.snapshot(&everything).await,
        "a dry run changed state"
    );
    let res = dry.body["results"].as_array().unwrap();
    // The version's project would be restored first: 200, with the items.
    assert_eq!(res[0]["status"], 200);
    assert_eq!(
        res[0]["items"],
        json!([{"type": "version", "id": "2", "parentId": a.project_id}])
    );
    assert_eq!(res[4]["items"][0]["type"], "project");
    assert!(res[4]["items"].as_array().unwrap().len() >= 2);
    assert!(res[1].get("items").is_none());
    // The renamed workflow names the slug the real call would pick.
    assert_eq!(res[8]["url"], "b-wf-2");

    let real = fx.post("/acme/trash/restore", body).await;
    real.expect(200);
    assert_eq!(statuses(&dry), statuses(&real));
    assert_eq!(
        statuses(&real),
        [200, 404, 409, 410, 200, 409, 200, 409, 200]
    );
    for (d, r) in res.iter().zip(real.body["results"].as_array().unwrap()) {
        for field in [
            "type",
            "id",
            "status",
            "restored",
            "url",
            "error",
            "conflictingId",
        ] {
            assert_eq!(d.get(field), r.get(field), "{field}: {d} vs {r}");
        }
        assert!(r.get("items").is_none());
    }
    assert!(real.body.get("dryRun").is_none());
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
