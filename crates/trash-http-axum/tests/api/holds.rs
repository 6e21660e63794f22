//! Legal holds over HTTP: `POST`, `GET /{ws}/trash/holds`, `DELETE
//! /{ws}/trash/holds/{holdId}`, the listing's `held`/`holdIds`, and the
//! cleanup honouring them.

use axum::http::Method;
use chrono::Duration;
use serde_json::{json, Value};
use trash_core::domain::{Scope, ScopeSet};

use crate::common::*;

fn listed<'a>(r: &'a Reply, id: &str) -> &'a Value {
    r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == id)
        .expect("listed")
}

#[tokio::test]
async fn a_hold_is_placed_listed_shown_on_the_listing_and_released() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    fx.seed("free").await;
    // On the active project: applies once it is trashed.
    let r = fx
        .post(
            "/acme/trash/holds",
            json!({"type": "project", "id": s.project_id, "reason": " litigation 42 "}),
        )
        .await;
    r.expect(200);
    assert_eq!(
        keys(&r.body),
        fields(&[
            "createdAt",
            "createdBy",
            "createdByName",
            "holdId",
            "id",
            "reason",
            "type"
        ])
    );
    assert_eq!(r.body["type"], "project");
    assert_eq!(r.body["id"], s.project_id.as_str());
    assert_eq!(r.body["reason"], "litigation 42");
    assert_eq!(r.body["createdByName"], "test key");
    assert_time(&r.body["createdAt"]);
    let hold_id = r.body["holdId"].as_str().expect("id").to_owned();
    let listed_holds = fx.get("/acme/trash/holds").await;
    listed_holds.expect(200);
    assert_eq!(
        listed_holds.body["holds"].as_array().expect("holds").len(),
        1
    );
    assert_eq!(listed_holds.body["holds"][0], r.body);

    fx.delete("/acme/det?cleanupDeleteImages=true")
        .await
        .expect(200);
    fx.delete("/acme/free").await.expect(200);
    let trash = fx.get("/acme/trash").await;
    trash.expect(200);
    let held = listed(&trash, &s.project_id);
    assert_eq!(held["held"], true);
    assert_eq!(held["holdIds"], json!([hold_id]));
    let free = trash.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["url"] == "free")
        .expect("listed");
    // No field at all when not held: the official client's shapes stay.
    assert!(free.get("held").is_none() && free.get("holdIds").is_none());
    let sections = trash.body["sections"]["projects"]
        .as_array()
        .expect("section");
    assert_eq!(sections.iter().filter(|p| p["held"] == true).count(), 1);

    // Past the retention window, the cleanup keeps the held project only.
    fx.clock.advance(Duration::days(31));
    let report = fx.services.trash.purge_due(10).await.expect("cleanup");
    assert_eq!((report.purged, report.held), (1, 1));
    let trash = fx.get("/acme/trash").await;
    assert_eq!(trash.body["items"].as_array().expect("items").len(), 1);
    let before = listed(&trash, &s.project_id)["scheduledCleanupAt"].clone();
    assert_time(&before);

    // A dry run of the release answers the same and releases nothing.
    let r = fx
        .delete(&format!("/acme/trash/holds/{hold_id}?dryRun=true"))
        .await;
    r.expect(200);
    assert_eq!(r.body["dryRun"], true);
    assert_eq!(r.body["hold"]["holdId"], hold_id.as_str());
    fx.delete("/acme/trash/holds/AAAAAAAAAAAAAAAAAAAA?dryRun=true")
        .await
        .expect(404);
    fx.delete(&format!("/acme/trash/holds/{hold_id}?dryRun=maybe"))
        .await
        .expect(400);
    assert_eq!(
        fx.get("/acme/trash/holds").await.body["holds"]
            .as_array()
            .expect("holds")
            .len(),
        1
    );

    // Releasing: 200 with the hold, audited, then the next cleanup purges.
    let r = fx.delete(&format!("/acme/trash/holds/{hold_id}")).await;
    r.expect(200);
    assert_eq!(r.body["released"], true);
    assert!(r.body.get("dryRun").is_none());
    assert_eq!(r.body["hold"]["holdId"], hold_id.as_str());
    fx.delete(&format!("/acme/trash/holds/{hold_id}"))
        .await
        .expect(404);
    let trash = fx.get("/acme/trash").await;
    assert!(listed(&trash, &s.project_id).get("held").is_none());
    let report = fx.services.trash.purge_due(10).await.expect("cleanup");
    assert_eq!(report.purged, 1);
    let events = fx.get("/acme/trash/events").await;
    let actions: Vec<&str> = events.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert!(actions.contains(&"hold_placed") && actions.contains(&"hold_released"));
    let placed = events.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["action"] == "hold_placed")
        .expect("placed");
    assert_eq!(placed["actor"]["kind"], "key");
    assert_eq!(
        placed["item"],
        json!({"type": "project", "id": s.project_id})
    );
    assert_eq!(placed["operationId"], Value::Null);
}

#[tokio::test]
async fn a_workspace_hold_and_a_version_hold() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let r = fx
        .post(
            "/acme/trash/holds",
            json!({"type": "workspace", "reason": "regulator"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["type"], "workspace");
    assert!(r.body.get("id").is_none());
    let r = fx
        .post(
            "/acme/trash/holds",
            json!({"type": "version", "id": 2, "parentId": s.project_id, "reason": "v2"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["id"], "2");
    assert_eq!(r.body["parentId"], s.project_id.as_str());
    let r = fx
        .post(
            "/acme/trash/holds",
            json!({"type": "training", "id": s.training_id, "reason": "t"}),
        )
        .await;
    r.expect(200);
    fx.delete("/acme/det").await.expect(200);
    let trash = fx.get("/acme/trash").await;
    assert_eq!(
        listed(&trash, &s.project_id)["holdIds"]
            .as_array()
            .expect("ids")
            .len(),
        3
    );
    let events = fx.get("/acme/trash/events").await;
    let ws_event = events.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .rfind(|e| e["action"] == "hold_placed")
        .expect("first placed");
    assert_eq!(ws_event["item"]["type"], "workspace");
    assert_eq!(ws_event["item"]["id"], "acme");
}

#[tokio::test]
async fn bad_hold_requests_are_clear_400s_and_missing_things_404() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let bad = [
        json!({"reason": "x"}),
        json!({"type": "project", "id": s.project_id}),
        json!({"type": "project", "id": s.project_id, "reason": "   "}),
        json!({"type": "project", "id": s.project_id, "reason": "x".repeat(1001)}),
        json!({"type": "project", "id": s.project_id, "reason": "a\u{0}b"}),
        json!({"type": "bucket", "id": "x", "reason": "x"}),
        json!({"type": "project", "reason": "x"}),
        json!({"type": "project", "id": "", "reason": "x"}),
        json!({"type": "project", "id": {"a": 1}, "reason": "x"}),
        json!({"type": "version", "id": "1", "reason": "x"}),
        json!({"type": "workspace", "id": s.project_id, "reason": "x"}),
        json!({"type": "project", "id": s.project_id, "reason": 7}),
    ];
    for body in bad {
        let r = fx.post("/acme/trash/holds", body.clone()).await;
        r.expect(400);
        assert!(!r.error().is_empty(), "{body}");
    }
    // Well-formed, but naming nothing here.
    for body in [
        json!({"type": "project", "id": "nope", "reason": "x"}),
        json!({"type": "project", "id": "AAAAAAAAAAAAAAAAAAAA", "reason": "x"}),
        json!({"type": "version", "id": "9", "parentId": s.project_id, "reason": "x"}),
    ] {
        fx.post("/acme/trash/holds", body).await.expect(404);
    }
    fx.delete("/acme/trash/holds/not-an-id").await.expect(400);
    fx.delete("/acme/trash/holds/AAAAAAAAAAAAAAAAAAAA")
        .await
        .expect(404);
    // DELETE /{ws}/trash/holds names nothing (the reserved `trash` segment).
    fx.delete("/acme/trash/holds").await.expect(405);
}

#[tokio::test]
async fn another_workspaces_holds_and_items_look_missing() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let theirs = fx
        .call_as(
            &Auth::Query(fx.other_key.clone()),
            Method::POST,
            "/globex/trash/holds",
            Some(json!({"type": "workspace", "reason": "theirs"})),
        )
        .await;
    theirs.expect(200);
    let their_id = theirs.body["holdId"].as_str().expect("id").to_owned();
    fx.delete(&format!("/acme/trash/holds/{their_id}"))
        .await
        .expect(404);
    let mine = fx.get("/acme/trash/holds").await;
    mine.expect(200);
    assert_eq!(mine.body, json!({"holds": []}));
    // Their key on my item: refused for the workspace (401), as everywhere.
    fx.call_as(
        &Auth::Query(fx.other_key.clone()),
        Method::POST,
        "/acme/trash/holds",
        Some(json!({"type": "project", "id": s.project_id, "reason": "x"})),
    )
    .await
    .expect(401);
    // My project named in their workspace: not found there.
    fx.call_as(
        &Auth::Query(fx.other_key.clone()),
        Method::POST,
        "/globex/trash/holds",
        Some(json!({"type": "project", "id": s.project_id, "reason": "x"})),
    )
    .await
    .expect(404);
}

#[tokio::test]
async fn holds_need_trash_hold_and_nothing_else() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let without: ScopeSet = Scope::ALL
        .into_iter()
        .filter(|x| *x != Scope::TRASH_HOLD)
        .collect();
    let other = fx.key_with(without).await;
    let only = fx.key_with([Scope::TRASH_HOLD].into_iter().collect()).await;
    let body = json!({"type": "project", "id": s.project_id, "reason": "x"});
    let r = fx
        .call_as(
            &Auth::Query(other.clone()),
            Method::POST,
            "/acme/trash/holds",
            Some(body.clone()),
        )
        .await;
    r.expect(401);
    assert!(r.error().contains("trash:hold"), "{}", r.error());
    fx.call_as(
        &Auth::Query(other.clone()),
        Method::GET,
        "/acme/trash/holds",
        None,
    )
    .await
    .expect(401);
    let placed = fx
        .call_as(
            &Auth::Query(only.clone()),
            Method::POST,
            "/acme/trash/holds",
            Some(body),
        )
        .await;
    placed.expect(200);
    let uri = format!(
        "/acme/trash/holds/{}",
        placed.body["holdId"].as_str().expect("id")
    );
    fx.call_as(&Auth::Query(other), Method::DELETE, &uri, None)
        .await
        .expect(401);
    fx.call_as(&Auth::Query(only), Method::DELETE, &uri, None)
        .await
        .expect(200);
}
