//! What the server accepts, written into the OpenAPI document so that a
//! request the document calls valid is never refused as malformed (400),
//! and one it calls invalid is never carried out:
//!
//! - patterns, lengths, ranges and enums on every path parameter, query
//!   parameter and body field, the same rules the handlers parse with;
//! - the restore body as a `oneOf` by `type` (a version needs `parentId`);
//! - examples that work against `trashd quickstart` (workspace `demo`);
//! - links from each create to its read and delete, and from each delete
//!   to the restore that undoes it, for clients that follow them.
//!
//! The generated document is amended here (not through attributes) because
//! these rules cross fields (`url` or a name a slug can be made from) and
//! need JSON Schema that the derive macros do not write.

use serde_json::{json, Map, Value};

use crate::routes::MAX_RESTORE_ID_CHARS;

/// A workspace slug: 1–64 of `a-z 0-9 - _`, starting and ending with a
/// letter or digit.
pub const WORKSPACE_SLUG: &str = "^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$";

/// A project slug: as a workspace slug, up to 100 characters, and none of
/// the slugs reserved for routes.
pub const PROJECT_SLUG: &str =
    "^(?!(?:trash|workflows|images|projects)$)[a-z0-9](?:[a-z0-9_-]{0,98}[a-z0-9])?$";

/// A workflow slug: as a project slug, without reserved ones.
pub const WORKFLOW_SLUG: &str = "^[a-z0-9](?:[a-z0-9_-]{0,98}[a-z0-9])?$";

/// A project, workflow, training or image id: 20 ASCII letters and digits.
pub const RANDOM_ID: &str = "^[A-Za-z0-9]{20}$";

/// A `nextCursor`: `c`, the hexadecimal millisecond instant, an operation id.
pub const CURSOR: &str = "^c(?:[0-9a-fA-F]{1,11}|[0-9a-dA-D][0-9a-fA-F]{11})[A-Za-z0-9]{20}$";

/// An audit-event `nextCursor`: `e` and a hexadecimal sequence number.
pub const EVENT_CURSOR: &str = "^e[0-9a-fA-F]{1,15}$";

/// Control characters (Unicode Cc).
const CONTROL: &str = "\\u0000-\\u001f\\u007f-\\u009f";

/// Format characters (Unicode Cf, as of Unicode 16), which names refuse.
const FORMAT: &str = "\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891\\u08e2\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb\u{110bd}\u{110cd}\u{13430}-\u{1343f}\u{1bca0}-\u{1bca3}\u{1d173}-\u{1d17a}\u{e0001}\u{e0020}-\u{e007f}";

/// White space other than controls (Unicode White_Space), which a name may
/// not consist of alone, and a restore id may hold only as U+0020.
const SPACE: &str = "\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

/// A name: no control or format characters, and something besides spaces.
pub fn name_pattern() -> String {
    format!("^[^{CONTROL}{FORMAT}]*[^ {CONTROL}{FORMAT}{SPACE}][^{CONTROL}{FORMAT}]*$")
}

/// A restore id: printable text, spaces allowed, no other white space.
pub fn printable_id_pattern() -> String {
    format!("^[^{CONTROL}{FORMAT}{SPACE}]+$")
}

/// A hold's reason: no control characters but tabs and line breaks, and
/// something besides white space (the server trims it).
pub fn reason_pattern() -> String {
    let control = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f";
    format!("^[^{control}]*[^ \\t\\n\\r{CONTROL}{SPACE}][^{control}]*$")
}

/// Names whose derived slug would be reserved (`"Trash!"` makes `trash`).
const RESERVED_BY_NAME: &str = "^[^A-Za-z0-9]*(?:[Tt][Rr][Aa][Ss][Hh]|[Ww][Oo][Rr][Kk][Ff][Ll][Oo][Ww][Ss]|[Ii][Mm][Aa][Gg][Ee][Ss]|[Pp][Rr][Oo][Jj][Ee][Cc][Tt][Ss])[^A-Za-z0-9]*$";

fn name_schema() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": 200,
        "pattern": name_pattern(),
        "description": "1 to 200 characters after trimming white space; no control characters and no invisible format characters (Unicode Cf: bidi controls, zero-width characters).",
        "example": "Hard Hat Detector",
    })
}

fn printable_id_schema(description: &str) -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_RESTORE_ID_CHARS,
        "pattern": printable_id_pattern(),
        "description": description,
    })
}

fn reason_schema() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": trash_core::domain::HoldReason::MAX_CHARS,
        "pattern": reason_pattern(),
        "description": "Why the hold is placed: 1 to 1000 characters after trimming white space, no control characters but tabs and line breaks.",
    })
}

fn json_integer_id() -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})
}

/// The schema and example of a path or query parameter, by operation and name.
fn parameter(operation: &str, name: &str) -> Option<(Value, Value)> {
    let slug = |pattern: &str, max: u32| json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": pattern});
    Some(match (operation, name) {
        (_, "ws") => (slug(WORKSPACE_SLUG, 64), json!("demo")),
        (_, "project") => (slug(PROJECT_SLUG, 100), json!("hard-hat-detector")),
        (_, "version") => (
            json!({"type": "integer", "minimum": 1, "maximum": i32::MAX}),
            json!(1),
        ),
        ("delete_workflow", "workflow") => (
            json!({
                "type": "string",
                "minLength": 1,
                "maxLength": 100,
                "pattern": format!(
                    "(?:{WORKFLOW_SLUG})|(?:{RANDOM_ID})"
                ),
                "description": "The workflow slug, or its id.",
            }),
            json!("count-vehicles"),
        ),
        (_, "workflow") => (slug(WORKFLOW_SLUG, 100), json!("count-vehicles")),
        (_, "id") => (
            json!({"type": "string", "minLength": 20, "maxLength": 20, "pattern": RANDOM_ID}),
            json!("Jjk3Tjq2yjxenyA9g5er"),
        ),
        (_, "holdId") => (
            json!({"type": "string", "minLength": 20, "maxLength": 20, "pattern": RANDOM_ID}),
            json!("Hd7kQ2mZp9xL4vN8rT1a"),
        ),
        (_, "dryRun") => (json!({"type": "boolean", "default": false}), json!(false)),
        (_, "cleanupDeleteImages") => (json!({"type": "boolean", "default": true}), json!(true)),
        (_, "type") => (
            json!({"type": "string", "enum": ["project", "version", "workflow", "training"]}),
            json!("project"),
        ),
        ("list_events", "limit") => (
            json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
            json!(50),
        ),
        ("list_events", "cursor") => (
            json!({"type": "string", "pattern": EVENT_CURSOR, "minLength": 2, "maxLength": 16}),
            json!("e2a"),
        ),
        ("get_workspace", "cursor") => (
            json!({"type": "string", "minLength": 1, "maxLength": 100, "pattern": PROJECT_SLUG,
                "description": "The nextCursor of the previous page: the last project slug it held."}),
            json!("hard-hat-detector"),
        ),
        ("get_project", "cursor") => (
            json!({"type": "string", "minLength": 1, "maxLength": 9, "pattern": "^[1-9][0-9]{0,8}$",
                "description": "The nextCursor of the previous page: the last version number it held."}),
            json!("1"),
        ),
        (_, "limit") => (
            json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000}),
            json!(50),
        ),
        (_, "cursor") => (
            json!({"type": "string", "pattern": CURSOR, "minLength": 22, "maxLength": 33}),
            json!("c19b0a3c1a00Jjk3Tjq2yjxenyA9g5er"),
        ),
        _ => return None,
    })
}

/// Request bodies, by component name.
fn bodies() -> Vec<(&'static str, Value)> {
    let url = |pattern: &str| {
        json!({
            "type": ["string", "null"],
            "minLength": 1,
            "maxLength": 100,
            "pattern": pattern,
            "description": "The slug; derived from the name when absent.",
        })
    };
    // Without `url`, the slug is made of the name's ASCII letters and digits.
    let derivable = |extra: Value| {
        let mut name = json!({"pattern": "[A-Za-z0-9]"});
        if let (Value::Object(n), Value::Object(e)) = (&mut name, extra) {
            n.extend(e);
        }
        json!([
            {"required": ["url"], "properties": {"url": {"type": "string"}}},
            {"properties": {"name": name}},
        ])
    };
    let on_conflict = json!({
        "type": ["string", "null"],
        "enum": ["fail", "rename", null],
        "default": "fail",
        "description": "`fail` (default) or `rename`: what to do if an active item took the slug.",
    });
    vec![
        (
            "CreateProject",
            json!({
                "type": "object",
                "required": ["name"],
                "properties": {"name": name_schema(), "url": url(PROJECT_SLUG)},
                "anyOf": derivable(json!({"not": {"pattern": RESERVED_BY_NAME}})),
                "example": {"name": "Forklift Finder", "url": "forklift-finder"},
            }),
        ),
        (
            "CreateWorkflow",
            json!({
                "type": "object",
                "required": ["name"],
                "properties": {"name": name_schema(), "url": url(WORKFLOW_SLUG)},
                "anyOf": derivable(json!({})),
                "example": {"name": "Count Forklifts", "url": "count-forklifts"},
            }),
        ),
        (
            "CreateVersion",
            json!({
                "type": "object",
                "properties": {"name": {
                    "type": ["string", "null"],
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": name_pattern(),
                    "description": "Display name; `v<number>` when absent.",
                }},
                "example": {"name": "augmented"},
            }),
        ),
        (
            "SetStatus",
            json!({
                "type": "object",
                "required": ["status"],
                "properties": {"status": {"type": "string", "enum": ["succeeded", "failed", "stopped"]}},
                "example": {"status": "succeeded"},
            }),
        ),
        (
            "ImageRequest",
            json!({
                "type": "object",
                "description": "Exactly one of `name` (add a new image) and `imageId` (link an existing image of the workspace).",
                "oneOf": [
                    {
                        "required": ["name"],
                        "properties": {"name": name_schema(), "imageId": {"type": "null"}},
                    },
                    {
                        "required": ["imageId"],
                        "properties": {
                            "imageId": {"type": "string", "pattern": RANDOM_ID, "minLength": 20, "maxLength": 20},
                            "name": {"type": "null"},
                        },
                    },
                ],
                "example": {"name": "forklift-001.jpg"},
            }),
        ),
        (
            "RestoreItem",
            json!({
                "type": "object",
                "required": ["type", "id"],
                "properties": {
                    "type": {"type": "string", "enum": ["project", "workflow", "training"]},
                    "id": printable_id_schema("The id from the trash listing; an id that is not in trash answers 404."),
                    "onConflict": on_conflict,
                    "items": {"type": "null"},
                },
                "example": {"type": "project", "id": "Jjk3Tjq2yjxenyA9g5er"},
            }),
        ),
        (
            "RestoreVersion",
            json!({
                "type": "object",
                "required": ["type", "id", "parentId"],
                "properties": {
                    "type": {"type": "string", "enum": ["version"]},
                    "id": {
                        "description": "The version number, as a string or a JSON number.",
                        "oneOf": [printable_id_schema("The version number."), json_integer_id()],
                    },
                    "parentId": {
                        "description": "The id of the version's project.",
                        "oneOf": [printable_id_schema("The project id."), json_integer_id()],
                    },
                    "onConflict": on_conflict,
                    "items": {"type": "null"},
                },
                "example": {"type": "version", "id": "1", "parentId": "Jjk3Tjq2yjxenyA9g5er"},
            }),
        ),
        (
            "PlaceHoldRequest",
            json!({
                "description": "What to hold, by `type`: the whole workspace, or one item (a version also needs `parentId`, its project's id).",
                "oneOf": [
                    {"$ref": "#/components/schemas/HoldWorkspace"},
                    {"$ref": "#/components/schemas/HoldItem"},
                    {"$ref": "#/components/schemas/HoldVersion"},
                ],
                "discriminator": {
                    "propertyName": "type",
                    "mapping": {
                        "workspace": "#/components/schemas/HoldWorkspace",
                        "project": "#/components/schemas/HoldItem",
                        "workflow": "#/components/schemas/HoldItem",
                        "training": "#/components/schemas/HoldItem",
                        "version": "#/components/schemas/HoldVersion",
                    },
                },
            }),
        ),
        (
            "HoldWorkspace",
            json!({
                "type": "object",
                "required": ["type", "reason"],
                "properties": {
                    "type": {"type": "string", "enum": ["workspace"]},
                    "reason": reason_schema(),
                    "id": {"type": "null"},
                    "parentId": {"type": "null"},
                },
                "example": {"type": "workspace", "reason": "regulator request 2026-7"},
            }),
        ),
        (
            "HoldItem",
            json!({
                "type": "object",
                "required": ["type", "id", "reason"],
                "properties": {
                    "type": {"type": "string", "enum": ["project", "workflow", "training"]},
                    "id": printable_id_schema("The item's id, active or in trash; an id that names nothing in the workspace answers 404."),
                    "reason": reason_schema(),
                },
                "example": {"type": "project", "id": "Jjk3Tjq2yjxenyA9g5er", "reason": "litigation 2026-114"},
            }),
        ),
        (
            "HoldVersion",
            json!({
                "type": "object",
                "required": ["type", "id", "parentId", "reason"],
                "properties": {
                    "type": {"type": "string", "enum": ["version"]},
                    "id": {
                        "description": "The version number, as a string or a JSON number.",
                        "oneOf": [printable_id_schema("The version number."), json_integer_id()],
                    },
                    "parentId": {
                        "description": "The id of the version's project.",
                        "oneOf": [printable_id_schema("The project id."), json_integer_id()],
                    },
                    "reason": reason_schema(),
                },
                "example": {"type": "version", "id": "1", "parentId": "Jjk3Tjq2yjxenyA9g5er", "reason": "audit"},
            }),
        ),
        (
            "RestoreBulk",
            json!({
                "type": "object",
                "description": "Several items, each restored on its own, with one result per item.",
                "required": ["items"],
                "properties": {
                    "items": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": trash_core::rules::MAX_BULK_RESTORE,
                        "items": {"$ref": "#/components/schemas/RestoreOne"},
                    },
                    "type": {"type": "null"},
                    "id": {"type": "null"},
                    "parentId": {"type": "null"},
                },
                "example": {"items": [
                    {"type": "project", "id": "Jjk3Tjq2yjxenyA9g5er"},
                    {"type": "version", "id": "2", "parentId": "Jjk3Tjq2yjxenyA9g5er"},
                ]},
            }),
        ),
        (
            "RestoreRequest",
            json!({
                "description": "One item (by `type`), or several (`items`).",
                "oneOf": [
                    {"$ref": "#/components/schemas/RestoreOne"},
                    {"$ref": "#/components/schemas/RestoreBulk"},
                ],
            }),
        ),
        (
            "RestoreOne",
            json!({
                "description": "What to restore, by `type`: a version also needs `parentId`, its project's id.",
                "oneOf": [
                    {"$ref": "#/components/schemas/RestoreItem"},
                    {"$ref": "#/components/schemas/RestoreVersion"},
                ],
                "discriminator": {
                    "propertyName": "type",
                    "mapping": {
                        "project": "#/components/schemas/RestoreItem",
                        "workflow": "#/components/schemas/RestoreItem",
                        "training": "#/components/schemas/RestoreItem",
                        "version": "#/components/schemas/RestoreVersion",
                    },
                },
            }),
        ),
    ]
}

/// Which request body each operation takes (by component name).
fn body_of(operation: &str) -> Option<&'static str> {
    Some(match operation {
        "create_project" => "CreateProject",
        "create_workflow" => "CreateWorkflow",
        "create_version" => "CreateVersion",
        "set_training_status" => "SetStatus",
        "add_image" => "ImageRequest",
        "restore" => "RestoreRequest",
        "place_hold" => "PlaceHoldRequest",
        _ => return None,
    })
}

/// Links of each operation's 200 answer: name → (target operation,
/// parameters, request body).
fn links(operation: &str) -> Vec<(&'static str, &'static str, Value, Option<Value>)> {
    let ws = || ("path.ws", json!("$request.path.ws"));
    let params = |pairs: Vec<(&str, Value)>| {
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<Map<String, Value>>(),
        )
    };
    let project = || params(vec![ws(), ("path.project", json!("$response.body#/url"))]);
    let version = || {
        params(vec![
            ws(),
            ("path.project", json!("$request.path.project")),
            ("path.version", json!("$response.body#/version")),
        ])
    };
    let training = || {
        params(vec![
            ws(),
            ("path.project", json!("$request.path.project")),
            ("path.version", json!("$request.path.version")),
            ("path.id", json!("$response.body#/id")),
        ])
    };
    let restore = |body: Value| ("restore", params(vec![ws()]), Some(body));
    match operation {
        "create_project" => vec![
            ("GetProject", "get_project", project(), None),
            ("DeleteProject", "delete_project", project(), None),
            ("CreateVersion", "create_version", project(), None),
            ("AddImage", "add_image", project(), None),
        ],
        "delete_project" => {
            let (op, p, b) = restore(json!({"type": "project", "id": "$response.body#/projectId"}));
            vec![("RestoreProject", op, p, b)]
        }
        "create_version" => vec![
            ("GetVersion", "get_version", version(), None),
            ("DeleteVersion", "delete_version", version(), None),
            ("StartTraining", "create_training", version(), None),
        ],
        "delete_version" => {
            let (op, p, b) = restore(json!({
                "type": "version",
                "id": "$response.body#/version",
                "parentId": "$response.body#/projectId",
            }));
            vec![("RestoreVersion", op, p, b)]
        }
        "create_workflow" => {
            let workflow = || params(vec![ws(), ("path.workflow", json!("$response.body#/url"))]);
            vec![
                ("GetWorkflow", "get_workflow", workflow(), None),
                ("DeleteWorkflow", "delete_workflow", workflow(), None),
            ]
        }
        "delete_workflow" => {
            let (op, p, b) =
                restore(json!({"type": "workflow", "id": "$response.body#/workflowId"}));
            vec![("RestoreWorkflow", op, p, b)]
        }
        "create_training" => vec![
            ("GetTraining", "get_training", training(), None),
            ("FinishTraining", "set_training_status", training(), None),
            ("DeleteTraining", "delete_training", training(), None),
        ],
        "delete_training" => {
            let (op, p, b) =
                restore(json!({"type": "training", "id": "$response.body#/trainingId"}));
            vec![("RestoreTraining", op, p, b)]
        }
        "add_image" => vec![(
            "GetImage",
            "get_image",
            params(vec![ws(), ("path.id", json!("$response.body#/id"))]),
            None,
        )],
        _ => Vec::new(),
    }
}

/// Amends the generated document in place.
pub(crate) fn constrain(doc: &mut Value) {
    if let Some(Value::Object(schemas)) = doc.pointer_mut("/components/schemas") {
        for (name, schema) in bodies() {
            schemas.insert(name.to_owned(), schema);
        }
        schemas.remove("CreateNamed");
        schemas.remove("RestoreItemBody");
    }
    let Some(Value::Object(paths)) = doc.get_mut("paths") else {
        return;
    };
    for item in paths.values_mut() {
        let Value::Object(item) = item else { continue };
        for op in item.values_mut() {
            let Some(id) = op
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_owned)
            else {
                continue;
            };
            if let Some(Value::Array(params)) = op.get_mut("parameters") {
                for p in params.iter_mut() {
                    let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
                    if let Some((schema, example)) = parameter(&id, name) {
                        p["schema"] = schema;
                        p["example"] = example;
                    }
                }
            }
            if let Some(component) = body_of(&id) {
                op["requestBody"] = json!({
                    "required": true,
                    "content": {"application/json": {"schema": {
                        "$ref": format!("#/components/schemas/{component}")
                    }}},
                });
            }
            let links = links(&id);
            if !links.is_empty() {
                let mut out = Map::new();
                for (name, target, parameters, body) in links {
                    let mut link = json!({"operationId": target, "parameters": parameters});
                    if let Some(body) = body {
                        link["requestBody"] = body;
                    }
                    out.insert(name.to_owned(), link);
                }
                if let Some(ok) = op.pointer_mut("/responses/200") {
                    ok["links"] = Value::Object(out);
                }
            }
        }
    }
}
