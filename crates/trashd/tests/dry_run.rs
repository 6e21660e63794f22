//! Dry runs against the real binary on SQLite and PostgreSQL: every table's
//! rows (and the sequences) are identical before and after, and each dry
//! run answers what the real call then answers.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::{json, Value};
use sqlx::{Connection, Row};

type Dump = BTreeMap<String, Vec<String>>;

async fn dump_sqlite(url: &str) -> Dump {
    let mut conn = sqlx::SqliteConnection::connect(&format!("{url}?mode=ro"))
        .await
        .expect("open the SQLite file");
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut conn)
            .await
            .expect("tables");
    let mut out = Dump::new();
    for t in tables {
        let columns: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT name FROM pragma_table_info('{t}') ORDER BY cid"
        ))
        .fetch_all(&mut conn)
        .await
        .expect("columns");
        let row = columns
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let mut rows: Vec<String> = sqlx::query_scalar(&format!("SELECT {row} FROM \"{t}\""))
            .fetch_all(&mut conn)
            .await
            .expect("rows");
        rows.sort();
        out.insert(t, rows);
    }
    out
}

async fn dump_postgres(url: &str) -> Dump {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to PostgreSQL");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables");
    let mut out = Dump::new();
    for t in tables {
        let mut rows: Vec<String> = sqlx::query_scalar(&format!("SELECT r::text FROM \"{t}\" r"))
            .fetch_all(&mut conn)
            .await
            .expect("rows");
        rows.sort();
        out.insert(t, rows);
    }
    let sequences = sqlx::query(
        "SELECT sequencename::text AS name, COALESCE(last_value, 0) AS last \
         FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .expect("sequences");
    out.insert(
        "(sequences)".into(),
        sequences
            .iter()
            .map(|r| format!("{}={}", r.get::<String, _>("name"), r.get::<i64, _>("last")))
            .collect(),
    );
    out
}

/// The answer of a dry run without its dry-run fields.
fn without_dry(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("dryRun");
        o.remove("items");
    }
    v
}

fn item_ids(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {v}"))
        .iter()
        .map(|i| {
            format!(
                "{}:{}",
                i["type"].as_str().unwrap(),
                i["id"].as_str().unwrap()
            )
        })
        .collect()
}

async fn dry_runs_change_nothing(db: &str, dump: impl AsyncDump) {
    let key = workspace_with_key(db, "acme");
    let server = Server::start(db, &["--retention", "30d"]);
    let api = Api::new(&server, &key);
    let project = api
        .post_ok(
            "/acme/projects",
            json!({"name": "Hard Hats", "url": "hard-hats"}),
        )
        .await;
    let project_id = id_of(&project);
    api.post_ok("/acme/hard-hats/versions", json!({})).await;
    api.post_ok("/acme/hard-hats/versions", json!({})).await;
    let running = api
        .post_ok("/acme/hard-hats/1/v2/trainings", json!({}))
        .await;
    let running_id = id_of(&running);
    api.post_ok("/acme/hard-hats/images", json!({"name": "a.jpg"}))
        .await;
    let wf = api
        .post_ok("/acme/workflows", json!({"name": "Flow", "url": "flow"}))
        .await;
    let wf_id = id_of(&wf);
    let (s, _) = api.delete("/acme/hard-hats/2").await;
    assert_eq!(s, 200);
    let (s, _) = api.delete("/acme/workflows/flow").await;
    assert_eq!(s, 200);
    let taker = api
        .post_ok("/acme/workflows", json!({"name": "Taker", "url": "flow"}))
        .await;

    let before = dump.dump(db).await;
    assert!(before.values().any(|rows| !rows.is_empty()));

    // Every DELETE route and restore, dry: successes and refusals.
    let (s, project_dry) = api.delete("/acme/hard-hats?dryRun=true").await;
    assert_eq!(s, 200, "{project_dry}");
    assert_eq!(project_dry["dryRun"], true);
    assert_eq!(project_dry["cancelledTrainings"], 1);
    assert_eq!(
        item_ids(&project_dry),
        vec![
            format!("project:{project_id}"),
            "version:1".to_owned(),
            format!("training:{running_id}")
        ]
    );
    assert_eq!(project_dry["items"][0]["url"], "hard-hats");
    assert_eq!(project_dry["items"][1]["parentId"], project_id.as_str());
    let (s, version_dry) = api.delete("/acme/hard-hats/1?dryRun=true").await;
    assert_eq!(s, 200, "{version_dry}");
    assert_eq!(version_dry["cancelledTrainings"], 1);
    let (s, again_dry) = api.delete("/acme/hard-hats/2?dryRun=true").await;
    assert_eq!(s, 200, "{again_dry}");
    assert_eq!(again_dry["alreadyInTrash"], true);
    assert_eq!(item_ids(&again_dry), Vec::<String>::new());
    let (s, training_dry) = api
        .delete(&format!(
            "/acme/hard-hats/1/v2/trainings/{running_id}?dryRun=true"
        ))
        .await;
    assert_eq!(s, 409, "{training_dry}");
    let (s, wf_dry) = api
        .delete(&format!("/acme/workflows/{wf_id}?dryRun=true"))
        .await;
    assert_eq!(s, 200, "{wf_dry}");
    assert_eq!(wf_dry["alreadyInTrash"], true);
    let (s, restore_v2_dry) = api
        .post(
            "/acme/trash/restore?dryRun=true",
            json!({"type": "version", "id": "2", "parentId": project_id}),
        )
        .await;
    assert_eq!(s, 200, "{restore_v2_dry}");
    assert_eq!(item_ids(&restore_v2_dry), vec!["version:2".to_owned()]);
    let (s, conflict_dry) = api
        .post(
            "/acme/trash/restore?dryRun=true",
            json!({"type": "workflow", "id": wf_id}),
        )
        .await;
    assert_eq!(s, 409, "{conflict_dry}");
    assert_eq!(conflict_dry["conflictingId"], taker["id"]);
    let (s, rename_dry) = api
        .post(
            "/acme/trash/restore?dryRun=true",
            json!({"type": "workflow", "id": wf_id, "onConflict": "rename"}),
        )
        .await;
    assert_eq!(s, 200, "{rename_dry}");
    assert_eq!(rename_dry["url"], "flow-2");
    let (s, missing_dry) = api
        .post(
            "/acme/trash/restore?dryRun=true",
            json!({"type": "project", "id": "Zzzzzzzzzzzzzzzzzzz1"}),
        )
        .await;
    assert_eq!(s, 404, "{missing_dry}");
    // A bulk restore, dry: one result per item, as the real call would answer.
    let (s, bulk_dry) = api
        .post(
            "/acme/trash/restore?dryRun=true",
            json!({"items": [
                {"type": "workflow", "id": wf_id},
                {"type": "version", "id": "2", "parentId": project_id},
                {"type": "project", "id": "Zzzzzzzzzzzzzzzzzzz1"},
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{bulk_dry}");
    assert_eq!(bulk_dry["dryRun"], true);
    let statuses: Vec<u64> = bulk_dry["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_u64().expect("status"))
        .collect();
    assert_eq!(statuses, [409, 200, 404], "{bulk_dry}");
    assert_eq!(
        bulk_dry["results"][1]["items"],
        json!([{"type": "version", "id": "2", "parentId": project_id}])
    );

    assert_eq!(
        before,
        dump.dump(db).await,
        "a dry run changed the database"
    );

    // The real calls answer what the dry runs said.
    let (s, real) = api
        .delete(&format!("/acme/hard-hats/1/v2/trainings/{running_id}"))
        .await;
    assert_eq!((s, real), (409, training_dry));
    let (s, real) = api
        .post(
            "/acme/trash/restore",
            json!({"type": "workflow", "id": wf_id}),
        )
        .await;
    assert_eq!((s, real), (409, conflict_dry));
    let (s, real) = api
        .post(
            "/acme/trash/restore",
            json!({"type": "workflow", "id": wf_id, "onConflict": "rename"}),
        )
        .await;
    assert_eq!((s, real), (200, without_dry(&rename_dry)));
    let (s, real) = api
        .post(
            "/acme/trash/restore",
            json!({"type": "version", "id": "2", "parentId": project_id}),
        )
        .await;
    assert_eq!((s, real), (200, without_dry(&restore_v2_dry)));
    let (s, real) = api.delete("/acme/hard-hats").await;
    assert_eq!(s, 200);
    // Times are "now" in both; everything else is the same.
    let mut dry = without_dry(&project_dry);
    dry["scheduledCleanupAt"] = real["scheduledCleanupAt"].clone();
    assert_eq!(real, dry);
    assert_ne!(before, dump.dump(db).await, "the dump sees real changes");
}

trait AsyncDump {
    fn dump(&self, db: &str) -> impl std::future::Future<Output = Dump>;
}

struct Sqlite;
impl AsyncDump for Sqlite {
    async fn dump(&self, db: &str) -> Dump {
        dump_sqlite(db).await
    }
}

struct Postgres;
impl AsyncDump for Postgres {
    async fn dump(&self, db: &str) -> Dump {
        dump_postgres(db).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_dry_runs_leave_every_row_unchanged() {
    let db = SqliteDb::new();
    dry_runs_change_nothing(&db.url, Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dry_runs_leave_every_row_unchanged() {
    let db = PgDb::new("dryrun").await;
    dry_runs_change_nothing(&db.url, Postgres).await;
}
