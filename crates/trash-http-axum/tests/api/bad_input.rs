//! A battery of hostile input: malformed and truncated JSON, wrong JSON
//! types, huge bodies, unicode and control characters, `../` and
//! percent-encoded tricks in path segments, SQL metacharacters in slugs.
//! Every answer is a 4xx JSON error, and nothing changes.

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::json;

use crate::common::*;

struct Raw {
    method: Method,
    uri: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    authorization: Option<String>,
}

fn raw(method: Method, uri: impl Into<String>, body: impl Into<Vec<u8>>) -> Raw {
    let body = body.into();
    Raw {
        method,
        uri: uri.into(),
        content_type: (!body.is_empty()).then_some("application/json"),
        body,
        authorization: None,
    }
}

fn with_type(mut r: Raw, content_type: &'static str) -> Raw {
    r.content_type = Some(content_type);
    r
}

fn battery(key: &str, w: &World) -> Vec<Raw> {
    let k = format!("api_key={key}");
    let t = &w.det.training_id;
    let mut out = Vec::new();

    // Path segments: traversal, encoded separators, control and unicode
    // characters, SQL, overflow. Each under GET and DELETE.
    let paths = [
        "/acme/..%2Fglobex".to_owned(),
        "/acme/%2e%2e/trash".to_owned(),
        "/acme/../globex/secret".to_owned(),
        "/acme/det%2F1".to_owned(),
        "/acme/det/1%2F..%2F2".to_owned(),
        "/acme/det%00".to_owned(),
        "/acme/det%0A".to_owned(),
        "/acme/det%0D%0AX-Injected:%201".to_owned(),
        "/acme/%E2%80%AEted".to_owned(),
        "/acme/d%C3%A9t".to_owned(),
        "/acme/%F0%9F%98%80".to_owned(),
        "/acme/%FF%FE".to_owned(),
        "/acme/det%E2%80%8B".to_owned(),
        "/acme/det'%20OR%20'1'%3D'1".to_owned(),
        "/acme/det%3BDROP%20TABLE%20projects".to_owned(),
        "/acme/det%22%3B--".to_owned(),
        "/acme/det/1%20OR%201%3D1".to_owned(),
        "/acme/det/99999999999999999999".to_owned(),
        "/acme/det/2147483648".to_owned(),
        "/acme/det/-1".to_owned(),
        "/acme/det/0x1".to_owned(),
        "/acme/det/%EF%BC%91".to_owned(),
        format!("/acme/det/1/v2/trainings/..%2F..%2F..%2Fglobex%2F{t}"),
        format!("/acme/det/1/v2/trainings/{t}%27%3B--"),
        "/acme/det/1/v2/trainings/%25".to_owned(),
        "/acme/images/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/acme/workflows/..%2Fdet".to_owned(),
        "/acme/workflows/%2A".to_owned(),
        "/acme/workflows/det-wf%00".to_owned(),
        "/%2e%2e/trash".to_owned(),
        "/ACME/det".to_owned(),
        "/acme%20/det".to_owned(),
        format!("/acme/{}", "a".repeat(5000)),
        format!("/acme/det/{}", "9".repeat(500)),
    ];
    for p in &paths {
        for m in [Method::GET, Method::DELETE] {
            out.push(raw(m, format!("{p}?{k}"), Vec::new()));
        }
    }

    // Query values.
    for q in [
        "type=project'--",
        "type=%00",
        "type=PROJECT",
        "limit=1;DELETE",
        "limit=-1",
        "limit=1e3",
        "limit=99999999999999999999",
        "cursor=%27%20OR%201%3D1",
        "cursor=c%2E%2E%2Fetc%2Fpasswd00000000000000000",
        "cursor=cffffffffffffffffffffffffffffffff0000000000000000000x",
        "limit=5&limit=6",
    ] {
        out.push(raw(Method::GET, format!("/acme/trash?{q}&{k}"), Vec::new()));
    }
    out.push(raw(
        Method::DELETE,
        format!("/acme/det?cleanupDeleteImages=TRUE&{k}"),
        Vec::new(),
    ));
    out.push(raw(
        Method::DELETE,
        format!("/acme/det?cleanupDeleteImages=1&{k}"),
        Vec::new(),
    ));
    out.push(raw(Method::GET, format!("/acme/trash?{k}&{k}"), Vec::new()));

    // Restore bodies: malformed, truncated, wrong types, hostile strings.
    let restore = format!("/acme/trash/restore?{k}");
    let gone = &w.gone.project_id;
    let bodies: Vec<Vec<u8>> = vec![
        b"{\"type\":\"pro".to_vec(),
        format!("{{\"type\":\"project\",\"id\":\"{gone}\"").into_bytes(),
        format!("{{\"type\":\"project\",\"id\":\"{gone}\",}}").into_bytes(),
        b"{'type':'project'}".to_vec(),
        b"{\"type\":\"project\",\"id\":NaN}".to_vec(),
        b"{\"type\":\"project\" /* c */,\"id\":\"x\"}".to_vec(),
        format!("\u{feff}{{\"type\":\"project\",\"id\":\"{gone}\"}}").into_bytes(),
        "[".repeat(100_000).into_bytes(),
        b"{\"type\":\"project\",\"id\":\"\xff\xfe\"}".to_vec(),
        b"{\"type\":\"project\",\"id\":\"\\u0000\"}".to_vec(),
        json!({"type": "project", "id": "x".repeat(10_000)})
            .to_string()
            .into_bytes(),
        json!({"type": "project\u{0}", "id": gone})
            .to_string()
            .into_bytes(),
        json!({"type": "project", "id": [gone]})
            .to_string()
            .into_bytes(),
        json!({"type": "project", "id": {"$ne": null}})
            .to_string()
            .into_bytes(),
        json!({"type": "version", "id": 2.5, "parentId": w.old.project_id})
            .to_string()
            .into_bytes(),
        json!({"type": "version", "id": 1e30, "parentId": w.old.project_id})
            .to_string()
            .into_bytes(),
        json!({"type": "version", "id": "2", "parentId": {"id": w.old.project_id}})
            .to_string()
            .into_bytes(),
        json!({"type": "version", "id": "2", "parentId": "../../x"})
            .to_string()
            .into_bytes(),
        json!({"type": "version", "id": "2 OR 1=1", "parentId": w.old.project_id})
            .to_string()
            .into_bytes(),
        json!({"type": "project", "id": gone, "onConflict": 5})
            .to_string()
            .into_bytes(),
        json!({"type": "project", "id": gone, "onConflict": "RENAME"})
            .to_string()
            .into_bytes(),
        json!({"type": "project", "id": format!("{gone}' OR '1'='1")})
            .to_string()
            .into_bytes(),
        json!({"type": "project", "id": gone, "api_key": 12345})
            .to_string()
            .into_bytes(),
        b"true".to_vec(),
        b"\"project\"".to_vec(),
        b"   ".to_vec(),
    ];
    for b in bodies {
        out.push(raw(Method::POST, restore.clone(), b));
    }
    out.push(with_type(
        raw(
            Method::POST,
            restore.clone(),
            json!({"type": "project", "id": gone}).to_string(),
        ),
        "text/html",
    ));
    out.push(with_type(
        raw(
            Method::POST,
            restore.clone(),
            format!("type=project&id={gone}"),
        ),
        "application/x-www-form-urlencoded",
    ));
    out.push(with_type(
        raw(Method::POST, restore.clone(), b"--x\r\n\r\n--x--".to_vec()),
        "multipart/form-data; boundary=x",
    ));

    // Creation bodies with hostile names and slugs.
    let projects = format!("/acme/projects?{k}");
    let workflows = format!("/acme/workflows?{k}");
    for b in [
        json!({"name": "a\u{7}b"}),
        json!({"name": "x".repeat(10_000)}),
        json!({"name": "\u{200b}"}),
        json!({"name": "ok", "url": "fresh'; DROP TABLE projects; --"}),
        json!({"name": "ok", "url": "../fresh"}),
        json!({"name": "ok", "url": "fresh/x"}),
        json!({"name": "ok", "url": "frésh"}),
        json!({"name": "ok", "url": "FRESH"}),
        json!({"name": "ok", "url": "fresh\u{0}"}),
        json!({"name": "ok", "url": "a".repeat(101)}),
        json!({"name": "ok", "url": ""}),
        json!({"name": 5}),
        json!({"name": null}),
        json!({"name": ["fresh"]}),
        json!({"name": "ok", "url": 7}),
    ] {
        out.push(raw(Method::POST, projects.clone(), b.to_string()));
        out.push(raw(Method::POST, workflows.clone(), b.to_string()));
    }
    // Reserved for routes (workflow slugs live in their own namespace).
    for reserved in trash_http_axum::RESERVED_PROJECT_SLUGS {
        let b = json!({"name": "fresh", "url": reserved});
        out.push(raw(Method::POST, projects.clone(), b.to_string()));
    }
    let status = format!("/acme/det/1/v2/trainings/{t}/status?{k}");
    for b in [
        json!({"status": "succeeded\u{0}"}),
        json!({"status": "SUCCEEDED"}),
        json!({"status": "cancelled"}),
        json!({"status": "running"}),
        json!({"status": ["stopped"]}),
        json!({}),
    ] {
        out.push(raw(Method::POST, status.clone(), b.to_string()));
    }
    let images = format!("/acme/det/images?{k}");
    for b in [
        json!({"imageId": "../../x"}),
        json!({"imageId": format!("{}'--", w.det.image_id)}),
        json!({"name": "\u{1}"}),
        json!({"name": "x", "imageId": w.fin.image_id}),
        json!({"name": 1}),
    ] {
        out.push(raw(Method::POST, images.clone(), b.to_string()));
    }
    out.push(raw(
        Method::POST,
        format!("/acme/det/versions?{k}"),
        json!({"name": "\u{1b}[31mred"}).to_string(),
    ));

    // Huge bodies.
    let huge = format!("{{\"name\":\"{}\"}}", "x".repeat(70_000));
    out.push(raw(Method::POST, projects.clone(), huge.clone()));
    out.push(raw(
        Method::POST,
        restore.clone(),
        vec![b'{'; 2 * 1024 * 1024],
    ));
    out.push(raw(
        Method::DELETE,
        format!("/acme/det?{k}"),
        huge.into_bytes(),
    ));

    // Credentials that are not keys.
    for a in [
        format!("Bearer {key} extra"),
        "Bearer ".to_owned(),
        "Bearer \u{7f}".to_owned(),
        format!("Basic {key}"),
        format!("bearer{key}"),
    ] {
        let mut r = raw(Method::DELETE, "/acme/det", Vec::new());
        r.authorization = Some(a);
        out.push(r);
    }
    out
}

#[tokio::test]
async fn hostile_input_is_a_4xx_json_error_and_changes_nothing() {
    let fx = Fixture::new().await;
    let world = fx.world().await;
    let all = world.all();
    let before = fx.snapshot(&all).await;
    let cases = battery(&fx.key, &world);
    assert!(cases.len() > 150);
    for c in cases {
        let mut b = Request::builder().method(c.method.clone()).uri(&c.uri);
        if let Some(ct) = c.content_type {
            b = b.header("content-type", ct);
        }
        if let Some(a) = &c.authorization {
            match axum::http::HeaderValue::from_str(a) {
                Ok(v) => b = b.header("authorization", v),
                Err(_) => continue,
            }
        }
        let label = format!(
            "{} {} {:?}",
            c.method,
            c.uri.chars().take(120).collect::<String>(),
            String::from_utf8_lossy(&c.body[..c.body.len().min(80)])
        );
        let r = send(&fx.app, b.body(Body::from(c.body)).unwrap()).await;
        assert!(
            r.status.is_client_error(),
            "{label}: {} {}",
            r.status,
            r.body
        );
        assert!(!r.error().is_empty(), "{label}");
        assert!(
            !r.headers.contains_key("x-injected"),
            "{label}: header injection"
        );
    }
    assert_eq!(
        before,
        fx.snapshot(&all).await,
        "hostile input changed state"
    );
    // The world is still usable afterwards.
    fx.get("/acme/det").await.expect(200);
    fx.get("/acme/trash").await.expect(200);
}
