//! The OpenAPI document and the router stay in step: every route is
//! documented, every documented path and method exists, and nothing else
//! answers on a documented path.

use std::collections::BTreeSet;

use axum::http::Method;
use utoipa::openapi::HttpMethod;

use crate::common::*;

/// Every route of the API, from the spec (the independent list).
const ROUTES: [(&str, &str); 28] = [
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
    ("GET", "/{ws}/trash/holds"),
    ("POST", "/{ws}/trash/holds"),
    ("DELETE", "/{ws}/trash/holds/{holdId}"),
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
        .replace("{holdId}", "Zzzzzzzzzzzzzzzzzzz2")
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
async fn the_served_document_is_the_generated_one_with_its_contract() {
    let fx = Fixture::new().await;
    let r = fx
        .call_as(&Auth::None, Method::GET, "/openapi.json", None)
        .await;
    r.expect(200);
    assert_eq!(r.body, trash_http_axum::openapi_document());
}

/// Whether a parameter schema says which values are accepted.
fn constrained(schema: &serde_json::Value) -> bool {
    ["pattern", "enum", "minimum", "maximum"]
        .iter()
        .any(|k| schema.get(*k).is_some())
        || schema["type"] == "boolean"
}

#[test]
fn every_parameter_says_what_is_accepted_and_has_an_example() {
    let doc = trash_http_axum::openapi_document();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                seen += 1;
                let name = &p["name"];
                assert!(
                    constrained(&p["schema"]),
                    "{method} {path}: {name} is unconstrained: {}",
                    p["schema"]
                );
                assert!(
                    !p["example"].is_null(),
                    "{method} {path}: {name} has no example"
                );
            }
        }
    }
    assert!(seen > 40, "{seen} parameters");
    // Version numbers start at 1 (0 is refused by the server).
    let version = doc["paths"]["/{ws}/{project}/{version}"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "version")
        .unwrap()
        .clone();
    assert_eq!(version["schema"]["minimum"], 1);
    assert_eq!(version["schema"]["type"], "integer");
}

#[test]
fn every_body_field_says_what_is_accepted() {
    let doc = trash_http_axum::openapi_document();
    let schemas = &doc["components"]["schemas"];
    let name = &schemas["CreateProject"]["properties"]["name"];
    assert_eq!(name["maxLength"], 200);
    let pattern = name["pattern"].as_str().unwrap();
    assert!(pattern.contains("\\u202a-\\u202e") && pattern.contains("\\u200b-\\u200f"));
    assert!(schemas["CreateProject"]["properties"]["url"]["pattern"]
        .as_str()
        .unwrap()
        .contains("trash|workflows|images|projects"));
    assert_eq!(
        schemas["SetStatus"]["properties"]["status"]["enum"],
        serde_json::json!(["succeeded", "failed", "stopped"])
    );
    assert_eq!(
        schemas["ImageRequest"]["oneOf"].as_array().unwrap().len(),
        2
    );
    // Every operation taking a body names a component that exists.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(r) =
                op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
            {
                let component = r.trim_start_matches("#/components/schemas/");
                assert!(schemas.get(component).is_some(), "{method} {path}: {r}");
            }
        }
    }
}

#[test]
fn every_delete_and_the_restore_declare_dry_run() {
    let doc = trash_http_axum::openapi_document();
    let mut declared = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let dry = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == "dryRun");
            let wanted = method == "delete" || op["operationId"] == "restore";
            assert_eq!(dry.is_some(), wanted, "{method} {path}");
            if let Some(p) = dry {
                assert_eq!(p["in"], "query", "{method} {path}");
                assert_eq!(p["required"], false, "{method} {path}");
                assert_eq!(
                    p["schema"],
                    serde_json::json!({"type": "boolean", "default": false}),
                    "{method} {path}"
                );
                declared.push(format!("{method} {path}"));
            }
        }
    }
    // Four trash deletes, the hold release and the restore.
    assert_eq!(declared.len(), 6, "{declared:?}");
}

#[test]
fn a_hold_request_is_typed_and_its_fields_constrained() {
    let doc = trash_http_axum::openapi_document();
    let schemas = &doc["components"]["schemas"];
    let request = &schemas["PlaceHoldRequest"];
    assert_eq!(request["oneOf"].as_array().unwrap().len(), 3);
    assert_eq!(request["discriminator"]["propertyName"], "type");
    assert_eq!(
        schemas["HoldWorkspace"]["required"],
        serde_json::json!(["type", "reason"])
    );
    assert_eq!(
        schemas["HoldItem"]["required"],
        serde_json::json!(["type", "id", "reason"])
    );
    assert_eq!(
        schemas["HoldVersion"]["required"],
        serde_json::json!(["type", "id", "parentId", "reason"])
    );
    let reason = &schemas["HoldItem"]["properties"]["reason"];
    assert_eq!(reason["maxLength"], 1000);
    let pattern = reason_pattern_shape(reason["pattern"].as_str().unwrap());
    assert!(
        pattern,
        "the reason pattern refuses blank text and controls"
    );
    let release = &doc["paths"]["/{ws}/trash/holds/{holdId}"]["delete"];
    let hold_id = release["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "holdId")
        .expect("holdId parameter");
    assert_eq!(hold_id["in"], "path");
    assert_eq!(hold_id["schema"]["pattern"], "^[A-Za-z0-9]{20}$");
}

/// The reason pattern's shape: anchored, with a required character class
/// that excludes spaces and controls.
fn reason_pattern_shape(pattern: &str) -> bool {
    pattern.starts_with('^')
        && pattern.ends_with('$')
        && pattern.contains("\\u0000-\\u0008")
        && pattern.contains("[^ \\t\\n\\r")
}

#[test]
fn a_version_restore_requires_its_parent_by_type() {
    let doc = trash_http_axum::openapi_document();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["RestoreRequest"]["oneOf"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        schemas["RestoreBulk"]["required"],
        serde_json::json!(["items"])
    );
    let restore = &schemas["RestoreOne"];
    assert_eq!(restore["discriminator"]["propertyName"], "type");
    assert_eq!(
        restore["discriminator"]["mapping"]["version"],
        "#/components/schemas/RestoreVersion"
    );
    assert_eq!(restore["oneOf"].as_array().unwrap().len(), 2);
    let version = &schemas["RestoreVersion"];
    assert_eq!(
        version["required"],
        serde_json::json!(["type", "id", "parentId"])
    );
    assert_eq!(
        version["properties"]["type"]["enum"],
        serde_json::json!(["version"])
    );
    let item = &schemas["RestoreItem"];
    assert_eq!(item["required"], serde_json::json!(["type", "id"]));
    assert!(!item["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("version")));
    assert_eq!(item["properties"]["id"]["maxLength"], 128);
}

#[test]
fn links_lead_from_create_to_delete_to_restore() {
    let doc = trash_http_axum::openapi_document();
    let links =
        |path: &str, method: &str| doc["paths"][path][method]["responses"]["200"]["links"].clone();
    let created = links("/{ws}/projects", "post");
    assert_eq!(created["DeleteProject"]["operationId"], "delete_project");
    assert_eq!(
        created["DeleteProject"]["parameters"]["path.project"],
        "$response.body#/url"
    );
    let deleted = links("/{ws}/{project}", "delete");
    assert_eq!(deleted["RestoreProject"]["operationId"], "restore");
    assert_eq!(
        deleted["RestoreProject"]["requestBody"]["id"],
        "$response.body#/projectId"
    );
    let version = links("/{ws}/{project}/{version}", "delete");
    assert_eq!(
        version["RestoreVersion"]["requestBody"]["parentId"],
        "$response.body#/projectId"
    );
    // Every link targets an operation that exists.
    let ids: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str().map(str::to_owned))
        .collect();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for link in op["responses"]["200"]["links"]
                .as_object()
                .into_iter()
                .flat_map(|l| l.values())
            {
                let target = link["operationId"].as_str().unwrap();
                assert!(ids.contains(target), "link to {target}");
            }
        }
    }
}
