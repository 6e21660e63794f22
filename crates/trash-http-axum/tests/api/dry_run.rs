//! `?dryRun=true` over HTTP (in-memory store): nothing changes, the answer
//! is the real one plus `dryRun` and `items`, refusals are the real ones.

use axum::http::Method;
use serde_json::json;
use trash_core::domain::ScopeSet;

use crate::common::*;

#[tokio::test]
async fn dry_runs_answer_like_the_real_call_and_change_nothing() {
    let fx = Fixture::new().await;
    let world = fx.world().await;
    let before = fx.snapshot(&world.all()).await;
    let cancels_before = fx.canceller.calls().len();
    let det = &world.det;
    let calls = [
        (Method::DELETE, "/acme/det".to_owned(), None),
        (Method::DELETE, "/acme/det/1".to_owned(), None),
        (
            Method::DELETE,
            format!("/acme/workflows/{}", det.workflow_slug),
            None,
        ),
        (
            Method::DELETE,
            format!("/acme/workflows/{}", det.workflow_id),
            None,
        ),
        (
            Method::DELETE,
            format!("/acme/fin/1/v2/trainings/{}", world.fin.training_id),
            None,
        ),
        (
            Method::DELETE,
            format!("/acme/det/1/v2/trainings/{}", det.training_id),
            None,
        ),
        (Method::DELETE, "/acme/nope".to_owned(), None),
        (
            Method::POST,
            "/acme/trash/restore".to_owned(),
            Some(json!({"type": "project", "id": world.gone.project_id})),
        ),
        (
            Method::POST,
            "/acme/trash/restore".to_owned(),
            Some(json!({"type": "project", "id": det.project_id})),
        ),
        (
            Method::POST,
            "/acme/trash/restore".to_owned(),
            Some(json!({"type": "version", "id": "2", "parentId": world.old.project_id})),
        ),
    ];
    let mut dry_answers = Vec::new();
    for (method, uri, body) in &calls {
        let sep = if uri.contains('?') { '&' } else { '?' };
        let r = fx
            .call(
                method.clone(),
                &format!("{uri}{sep}dryRun=true"),
                body.clone(),
            )
            .await;
        if r.status == 200 {
            assert_eq!(r.body["dryRun"], true, "{method} {uri}: {}", r.body);
            assert!(r.body["items"].is_array(), "{method} {uri}: {}", r.body);
            if *method == Method::DELETE {
                assert!(
                    r.body["cancelledTrainings"].is_u64(),
                    "{method} {uri}: {}",
                    r.body
                );
            }
        } else {
            assert!(r.body.get("dryRun").is_none());
        }
        dry_answers.push(r);
    }
    assert_eq!(
        before,
        fx.snapshot(&world.all()).await,
        "a dry run changed state"
    );
    assert_eq!(
        fx.canceller.calls().len(),
        cancels_before,
        "a dry run cancelled a job"
    );
    // The real calls, one at a time on a fresh world each, answer the same.
    for (i, (method, uri, body)) in calls.iter().enumerate() {
        let fx = Fixture::new().await;
        let w = fx.world().await;
        // Ids differ between worlds: rewrite this world's ids into the call.
        let map = |s: &str| {
            let mut s = s.to_owned();
            for (a, b) in world.all().iter().zip(w.all().iter()) {
                for (x, y) in [
                    (&a.project_id, &b.project_id),
                    (&a.training_id, &b.training_id),
                    (&a.workflow_id, &b.workflow_id),
                    (&a.image_id, &b.image_id),
                ] {
                    s = s.replace(x.as_str(), y.as_str());
                }
            }
            s
        };
        let uri = map(uri);
        let body = body
            .as_ref()
            .map(|b| serde_json::from_str(&map(&b.to_string())).unwrap());
        let real = fx.call(method.clone(), &uri, body).await;
        let dry = &dry_answers[i];
        assert_eq!(real.status, dry.status, "{method} {uri}: {}", real.body);
        let mut expected = dry.body.clone();
        if let Some(o) = expected.as_object_mut() {
            o.remove("dryRun");
            o.remove("items");
            if uri.contains("/workflows/") || uri.contains("/trainings/") {
                // Only dry runs of these routes add cancelledTrainings.
                o.remove("cancelledTrainings");
            }
        }
        assert_eq!(
            map(&expected.to_string()),
            real.body.to_string(),
            "{method} {uri}"
        );
    }
}

#[tokio::test]
async fn dry_run_values_and_refusals() {
    let fx = Fixture::new().await;
    let world = fx.world().await;
    let r = fx.delete("/acme/det?dryRun=yes").await;
    r.expect(400);
    assert_eq!(r.error(), "dryRun must be true or false");
    // dryRun=false is the real call.
    let r = fx.delete("/acme/det?dryRun=false").await;
    r.expect(200);
    assert!(r.body.get("dryRun").is_none());
    fx.get("/acme/det").await.expect(404);
    // A key without the scope is refused exactly like the real call.
    let none = fx.key_with(ScopeSet::empty()).await;
    let r = fx
        .call_as(
            &Auth::Bearer(none),
            Method::DELETE,
            "/acme/fin?dryRun=true",
            None,
        )
        .await;
    r.expect(401);
    assert_eq!(r.error(), "this API key lacks the project:update scope");
    // Bulk restore takes dryRun too; a bad value is a 400 there as well.
    let r = fx
        .post(
            "/acme/trash/restore?dryRun=true",
            json!({"items": [{"type": "project", "id": world.gone.project_id}]}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["dryRun"], true);
    assert_eq!(r.body["results"][0]["status"], 200);
    let r = fx
        .post(
            "/acme/trash/restore?dryRun=yes",
            json!({"items": [{"type": "project", "id": world.gone.project_id}]}),
        )
        .await;
    r.expect(400);
    fx.get(&format!("/acme/{}", world.gone.slug))
        .await
        .expect(404);
}
