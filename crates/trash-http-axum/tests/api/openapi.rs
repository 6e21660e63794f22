//! The OpenAPI document and the router stay in step: every route is
//! documented, every documented path and method exists, and nothing else
//! answers on a documented path.

use std::collections::BTreeSet;

use axum::http::Method;
use utoipa::openapi::HttpMethod;

use crate::common::*;

/// Every route of the API, from the spec (the independent list).
const ROUTES: [(&str, &str); 25] = [
    ("GET", "/"),
    ("POST", "/"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/{ws}"),
    ("POST", "/{ws}/projects"),
    ("POST", "/{ws}/workflows"),
    ("GET", "/{ws}/trash"),
    ("POST", "/{ws}/trash/restore"),
    ("GET", "/{ws}/trash/events"),
    ("GET", "/{ws}/{project}"),
    ("DELETE", "/{ws}/{project}"),
    ("POST", "/{ws}/{project}/versions"),
    ("POST", "/{ws}/{project}/images"),
    ("GET", "/{ws}/{project}/{version}"),
    ("DELETE", "/{ws}/{project}/{version}"),
    ("GET", "/{ws}/workflows/{workflow}"),
    ("DELETE", "/{ws}/workflows/{workflow}"),
    ("GET", "/{ws}/images/{id}"),
    ("GET", "/{ws}/{project}/{version}/v2/trainings"),
    ("POST", "/{ws}/{project}/{version}/v2/trainings"),
    ("GET", "/{ws}/{project}/{version}/v2/trainings/{id}"),
    ("DELETE", "/{ws}/{project}/{version}/v2/trainings/{id}"),
    ("POST", "/{ws}/{project}/{version}/v2/trainings/{id}/status"),
];

const UNAUTHENTICATED: [&str; 3] = ["/healthz", "/readyz", "/openapi.json"];

fn method_name(m: &HttpMethod) -> &'static str {
    match m {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Head => "HEAD",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Trace => "TRACE",
    }
}

fn documented() -> BTreeSet<(String, String)> {
    let doc = trash_http_axum::openapi();
    let mut out = BTreeSet::new();
    for (path, item) in &doc.paths.paths {
        let ops = [
            (HttpMethod::Get, &item.get),
            (HttpMethod::Post, &item.post),
            (HttpMethod::Put, &item.put),
            (HttpMethod::Delete, &item.delete),
            (HttpMethod::Options, &item.options),
            (HttpMethod::Head, &item.head),
            (HttpMethod::Patch, &item.patch),
            (HttpMethod::Trace, &item.trace),
        ];
        for (m, op) in ops {
            if op.is_some() {
                out.insert((method_name(&m).to_owned(), path.clone()));
            }
        }
    }
    out
}

fn concrete(path: &str) -> String {
    path.replace("{ws}", "acme")
        .replace("{project}", "det")
        .replace("{version}", "1")
        .replace("{workflow}", "det-wf")
        .replace("{id}", "Zzzzzzzzzzzzzzzzzzz1")
}

#[test]
fn the_document_lists_exactly_the_spec_routes() {
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented(), expected);
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_nothing_else_is() {
    let fx = Fixture::new().await;
    fx.seed("det").await;
    let documented = documented();
    let paths: BTreeSet<String> = documented.iter().map(|(_, p)| p.clone()).collect();
    for path in &paths {
        let uri = concrete(path);
        for method in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
            Method::TRACE,
        ] {
            let is_documented = documented.contains(&(method.to_string(), path.clone()));
            // Without a key: a routed operation asks for one (or needs none).
            let r = fx.call_as(&Auth::None, method.clone(), &uri, None).await;
            if is_documented {
                let expected = if UNAUTHENTICATED.contains(&path.as_str()) {
                    200
                } else {
                    401
                };
                assert_eq!(r.status, expected, "{method} {uri}: {}", r.body);
            } else {
                assert_eq!(r.status, 405, "{method} {uri} is routed but undocumented");
            }
        }
        // HEAD follows GET.
        let has_get = documented.contains(&("GET".to_owned(), path.clone()));
        let r = fx.call_as(&Auth::None, Method::HEAD, &uri, None).await;
        if has_get {
            assert_ne!(r.status, 405, "HEAD {uri}");
        } else {
            assert_eq!(r.status, 405, "HEAD {uri}");
        }
    }
}

#[test]
fn every_operation_documents_its_answers_and_security() {
    let doc = trash_http_axum::openapi();
    let json = serde_json::to_value(&doc).unwrap();
    assert!(json["openapi"].as_str().unwrap().starts_with("3."));
    let schemes = &json["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["in"], "query");
    assert_eq!(schemes["api_key"]["name"], "api_key");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    for (path, item) in json["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("200"), "{method} {path}");
            if UNAUTHENTICATED.contains(&path.as_str()) {
                assert_eq!(op["security"], serde_json::json!([{}]), "{method} {path}");
            } else {
                assert!(responses.contains_key("401"), "{method} {path}");
                assert!(responses.contains_key("400"), "{method} {path}");
                assert!(
                    op.get("security").is_none(),
                    "{method} {path} overrides security"
                );
            }
            for placeholder in path.split('/').filter(|s| s.starts_with('{')) {
                let name = placeholder.trim_matches(|c| c == '{' || c == '}');
                let params = op["parameters"].as_array().unwrap();
                assert!(
                    params
                        .iter()
                        .any(|p| p["name"] == name && p["in"] == "path"),
                    "{method} {path} does not document {name}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_served_document_is_the_generated_one() {
    let fx = Fixture::new().await;
    let r = fx
        .call_as(&Auth::None, Method::GET, "/openapi.json", None)
        .await;
    r.expect(200);
    assert_eq!(
        r.body,
        serde_json::to_value(trash_http_axum::openapi()).unwrap()
    );
}
