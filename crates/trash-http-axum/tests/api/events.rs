//! `GET /{ws}/trash/events`: the audit trail over HTTP.

use axum::http::Method;
use serde_json::{json, Value};
use trash_core::domain::{Scope, ScopeSet};

use crate::common::*;

fn events(r: &Reply) -> &Vec<Value> {
    r.body["events"].as_array().expect("events array")
}

#[tokio::test]
async fn events_answer_the_documented_shape_newest_first() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    fx.delete("/acme/det").await.expect(200);
    fx.post(
        "/acme/trash/restore",
        json!({"type": "project", "id": s.project_id}),
    )
    .await
    .expect(200);
    fx.delete("/acme/det/2").await.expect(200);
    let r = fx.get("/acme/trash/events").await;
    r.expect(200);
    assert_eq!(keys(&r.body), fields(&["events", "nextCursor"]));
    assert_eq!(r.body["nextCursor"], Value::Null);
    let ev = events(&r);
    let actions: Vec<&str> = ev.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "trashed",
            "restored",
            "cancellation_confirmed",
            "cancellation_requested",
            "trashed"
        ]
    );
    for e in ev {
        assert_eq!(
            keys(e),
            fields(&["action", "actor", "at", "item", "operationId"])
        );
        assert_time(&e["at"]);
        assert_eq!(keys(&e["actor"]), fields(&["id", "kind", "name"]));
        if e["action"] == "cancellation_confirmed" {
            // The job system's answer, recorded by the server.
            assert_eq!(
                e["actor"],
                json!({"kind": "system", "id": "system", "name": "cleanup"})
            );
        } else {
            assert_eq!(e["actor"]["kind"], "key");
            assert_eq!(e["actor"]["name"], "test key");
        }
        assert!(e["operationId"].is_string());
    }
    assert_eq!(
        ev[4]["item"],
        json!({"type": "project", "id": s.project_id})
    );
    assert_eq!(
        ev[0]["item"],
        json!({"type": "version", "id": "2", "parentId": s.project_id})
    );
    assert_eq!(ev[3]["item"]["type"], "training");
    assert_eq!(ev[3]["item"]["id"], s.training_id.as_str());
    assert_eq!(ev[4]["operationId"], ev[1]["operationId"]);
    assert_ne!(ev[0]["operationId"], ev[1]["operationId"]);
    // The key's secret is nowhere in the answer.
    let raw = String::from_utf8_lossy(&r.raw);
    assert!(!raw.contains(&fx.key), "the key secret leaked");
    // The type filter.
    let r = fx.get("/acme/trash/events?type=training").await;
    r.expect(200);
    assert_eq!(events(&r).len(), 2);
    let r = fx.get("/acme/trash/events?type=workflow").await;
    r.expect(200);
    assert!(events(&r).is_empty());
    // Another workspace sees none of it.
    let r = fx
        .call_as(
            &Auth::Query(fx.other_key.clone()),
            Method::GET,
            "/globex/trash/events",
            None,
        )
        .await;
    r.expect(200);
    assert!(events(&r).is_empty());
}

#[tokio::test]
async fn events_page_over_thousands_of_rows() {
    let fx = Fixture::new().await;
    let s = fx.seed("det").await;
    let cycles = 1100;
    for _ in 0..cycles {
        fx.delete(&format!("/acme/workflows/{}", s.workflow_id))
            .await
            .expect(200);
        fx.post(
            "/acme/trash/restore",
            json!({"type": "workflow", "id": s.workflow_id}),
        )
        .await
        .expect(200);
    }
    let mut uri = "/acme/trash/events?limit=250".to_owned();
    let mut seen = 0;
    let mut pages = 0;
    let mut last_at = None::<String>;
    loop {
        let r = fx.get(&uri).await;
        r.expect(200);
        pages += 1;
        for (i, e) in events(&r).iter().enumerate() {
            // Newest first: restores and trashes alternate, a restore first.
            let expected = if (seen + i) % 2 == 0 {
                "restored"
            } else {
                "trashed"
            };
            assert_eq!(e["action"], expected, "event {}", seen + i);
            let at = e["at"].as_str().unwrap().to_owned();
            if let Some(prev) = &last_at {
                assert!(at <= *prev, "newest first");
            }
            last_at = Some(at);
        }
        seen += events(&r).len();
        match r.body["nextCursor"].as_str() {
            Some(c) => uri = format!("/acme/trash/events?limit=250&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, cycles * 2);
    assert_eq!(pages, (cycles * 2).div_ceil(250));
    // The default page is 100 events.
    let r = fx.get("/acme/trash/events").await;
    assert_eq!(events(&r).len(), 100);
    assert!(r.body["nextCursor"].is_string());
}

#[tokio::test]
async fn bad_event_queries_are_400_and_scopes_are_checked() {
    let fx = Fixture::new().await;
    for q in [
        "type=image",
        "limit=0",
        "limit=1001",
        "limit=x",
        "cursor=nope",
        "cursor=c123",
    ] {
        let r = fx.get(&format!("/acme/trash/events?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.body);
    }
    let read_only = fx
        .key_with(
            [Scope::parse("project:read").unwrap()]
                .into_iter()
                .collect(),
        )
        .await;
    let r = fx
        .call_as(
            &Auth::Bearer(read_only),
            Method::GET,
            "/acme/trash/events",
            None,
        )
        .await;
    r.expect(200);
    let none = fx.key_with(ScopeSet::empty()).await;
    let r = fx
        .call_as(&Auth::Bearer(none), Method::GET, "/acme/trash/events", None)
        .await;
    r.expect(401);
    assert_eq!(r.error(), "this API key lacks the project:read scope");
    let r = fx
        .call_as(
            &Auth::Query(fx.other_key.clone()),
            Method::GET,
            "/acme/trash/events",
            None,
        )
        .await;
    r.expect(401);
}
