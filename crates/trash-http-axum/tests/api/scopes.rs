//! The scope matrix over HTTP: every route × {no key, unknown key, revoked
//! key, key of another workspace, key without the scope, key with exactly
//! the scope}. The first five answer 401 and change nothing; the last one
//! succeeds.

use axum::http::Method;
use serde_json::{json, Value};
use trash_core::domain::{Scope, ScopeSet};

use crate::common::*;

struct Case {
    method: Method,
    uri: String,
    body: Option<Value>,
    /// The scope of the spec's matrix; `None` for "any valid key".
    scope: Option<&'static str>,
}

fn case(method: Method, uri: String, body: Option<Value>, scope: Option<&'static str>) -> Case {
    Case {
        method,
        uri,
        body,
        scope,
    }
}

fn cases(w: &World) -> Vec<Case> {
    let t = &w.det.training_id;
    vec![
        case(Method::POST, "/".into(), None, None),
        case(Method::GET, "/".into(), None, None),
        case(Method::GET, "/acme".into(), None, Some("project:read")),
        case(
            Method::POST,
            "/acme/projects".into(),
            Some(json!({"name": "fresh"})),
            Some("project:create"),
        ),
        case(Method::GET, "/acme/det".into(), None, Some("project:read")),
        case(
            Method::DELETE,
            "/acme/det".into(),
            None,
            Some("project:update"),
        ),
        case(
            Method::POST,
            "/acme/det/versions".into(),
            None,
            Some("version:create"),
        ),
        case(
            Method::GET,
            "/acme/det/1".into(),
            None,
            Some("project:read"),
        ),
        case(
            Method::DELETE,
            "/acme/det/1".into(),
            None,
            Some("version:update"),
        ),
        case(
            Method::POST,
            "/acme/workflows".into(),
            Some(json!({"name": "fresh-wf"})),
            Some("workflow:create"),
        ),
        case(
            Method::GET,
            "/acme/workflows/det-wf".into(),
            None,
            Some("project:read"),
        ),
        case(
            Method::DELETE,
            "/acme/workflows/det-wf".into(),
            None,
            Some("workflow:update"),
        ),
        case(
            Method::POST,
            "/acme/det/1/v2/trainings".into(),
            None,
            Some("training:create"),
        ),
        case(
            Method::GET,
            "/acme/det/1/v2/trainings".into(),
            None,
            Some("project:read"),
        ),
        case(
            Method::GET,
            format!("/acme/det/1/v2/trainings/{t}"),
            None,
            Some("project:read"),
        ),
        case(
            Method::POST,
            format!("/acme/det/1/v2/trainings/{t}/status"),
            Some(json!({"status": "stopped"})),
            Some("training:update"),
        ),
        case(
            Method::DELETE,
            format!("/acme/fin/1/v2/trainings/{}", w.fin.training_id),
            None,
            Some("training:update"),
        ),
        case(
            Method::POST,
            "/acme/det/images".into(),
            Some(json!({"name": "x.png"})),
            Some("project:update"),
        ),
        case(
            Method::POST,
            "/acme/fin/images".into(),
            Some(json!({"imageId": w.det.image_id})),
            Some("project:update"),
        ),
        case(
            Method::GET,
            format!("/acme/images/{}", w.det.image_id),
            None,
            Some("project:read"),
        ),
        case(
            Method::GET,
            "/acme/trash".into(),
            None,
            Some("project:read"),
        ),
        case(
            Method::GET,
            "/acme/trash?type=workflow".into(),
            None,
            Some("project:read"),
        ),
        case(
            Method::GET,
            "/acme/trash/events".into(),
            None,
            Some("project:read"),
        ),
        case(
            Method::GET,
            "/acme/trash/holds".into(),
            None,
            Some("trash:hold"),
        ),
        case(
            Method::POST,
            "/acme/trash/holds".into(),
            Some(json!({"type": "project", "id": w.det.project_id, "reason": "case 9"})),
            Some("trash:hold"),
        ),
        case(
            Method::DELETE,
            format!("/acme/trash/holds/{}", w.hold_id),
            None,
            Some("trash:hold"),
        ),
        case(
            Method::POST,
            "/acme/trash/restore".into(),
            Some(json!({"type": "project", "id": w.gone.project_id})),
            Some("project:update"),
        ),
        case(
            Method::POST,
            "/acme/trash/restore".into(),
            Some(json!({"type": "version", "id": "2", "parentId": w.old.project_id})),
            Some("version:update"),
        ),
        case(
            Method::POST,
            "/acme/trash/restore".into(),
            Some(json!({"type": "workflow", "id": w.old.workflow_id})),
            Some("workflow:update"),
        ),
        case(
            Method::POST,
            "/acme/trash/restore".into(),
            Some(json!({"type": "training", "id": w.old.training_id})),
            Some("training:update"),
        ),
    ]
}

#[tokio::test]
async fn every_route_against_every_kind_of_key() {
    // The routes of one fresh world, to count them.
    let n = {
        let fx = Fixture::new().await;
        cases(&fx.world().await).len()
    };
    for i in 0..n {
        let fx = Fixture::new().await;
        let world = fx.world().await;
        let c = cases(&world).remove(i);
        let label = format!("{} {}", c.method, c.uri);
        let scope = c.scope.map(|s| Scope::parse(s).expect("valid scope"));
        let without: ScopeSet = match scope {
            Some(s) => Scope::ALL.into_iter().filter(|x| *x != s).collect(),
            None => ScopeSet::empty(),
        };
        let exactly: ScopeSet = scope.into_iter().collect();
        let without_key = fx.key_with(without).await;
        let exact_key = fx.key_with(exactly).await;
        let before = fx.snapshot(&world.all()).await;

        let denials = [
            (Auth::None, "an API key is required".to_owned()),
            (
                Auth::Query("unknownKey000000000000000000000x".into()),
                "this API key does not exist (or has been revoked)".to_owned(),
            ),
            (
                Auth::Query(fx.revoked_key.clone()),
                "this API key does not exist (or has been revoked)".to_owned(),
            ),
            (
                Auth::Query(fx.other_key.clone()),
                "this API key does not belong to the workspace in the path".to_owned(),
            ),
        ];
        for (auth, expected) in &denials {
            if c.uri == "/" && matches!(auth, Auth::Query(k) if *k == fx.other_key) {
                // No workspace in the path: any valid key is welcome, as itself.
                let r = fx.call_as(auth, c.method.clone(), &c.uri, None).await;
                r.expect(200);
                assert_eq!(r.body["workspace"], "globex");
                continue;
            }
            let r = fx
                .call_as(auth, c.method.clone(), &c.uri, c.body.clone())
                .await;
            assert_eq!(r.status, 401, "{label} with {auth:?}: {}", r.body);
            assert!(
                r.error().starts_with(expected.as_str()),
                "{label}: {}",
                r.error()
            );
        }
        let r = fx
            .call_as(
                &Auth::Bearer(without_key),
                c.method.clone(),
                &c.uri,
                c.body.clone(),
            )
            .await;
        match scope {
            Some(s) => {
                assert_eq!(r.status, 401, "{label} without {s}: {}", r.body);
                assert_eq!(
                    r.error(),
                    format!("this API key lacks the {s} scope"),
                    "{label}"
                );
                assert_eq!(r.body["missingScope"], s.to_string());
            }
            None => assert_eq!(r.status, 200, "{label} with a scopeless key: {}", r.body),
        }
        assert_eq!(
            before,
            fx.snapshot(&world.all()).await,
            "{label}: a refused call changed state"
        );

        let r = fx
            .call_as(
                &Auth::Body(exact_key),
                c.method.clone(),
                &c.uri,
                c.body.clone(),
            )
            .await;
        assert_eq!(
            r.status, 200,
            "{label} with exactly {:?}: {}",
            c.scope, r.body
        );
        // The snapshot does see writes (so its equality above means something).
        let writes = c.method != Method::GET && c.uri != "/";
        assert_eq!(
            writes,
            before != fx.snapshot(&world.all()).await,
            "{label}: snapshot blind to the change"
        );
    }
}
