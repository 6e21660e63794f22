//! An "Empty Trash" job cut off by a crash is resumed by the next `serve`:
//! a job stored as running, with some progress and a claim that has run
//! out (what a process killed mid-job leaves behind), is taken over by a
//! fresh server's worker, which empties the rest of the trash and marks
//! the job done with the stored count carried on.

mod common;

use std::time::Duration;

use common::{eventually, workspace_with_key, Api, Server, SqliteDb};
use serde_json::json;
use sqlx::{Connection, Row, SqliteConnection};

const ITEMS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_left_running_by_a_dead_process_is_resumed_by_the_next_server() {
    let db = SqliteDb::new();
    let key = workspace_with_key(&db.url, "acme");
    let mut server = Server::start(&db.url, &["--no-cleanup"]);
    let api = Api::new(&server, &key);
    for n in 0..ITEMS {
        api.post_ok(
            "/acme/projects",
            json!({"name": format!("P {n}"), "url": format!("p-{n}")}),
        )
        .await;
        assert_eq!(api.delete(&format!("/acme/p-{n}")).await.0, 200);
    }
    assert!(server.terminate().success());

    // What a process that died after removing 7 items leaves behind.
    let mut conn = SqliteConnection::connect(&db.url).await.expect("open");
    let now = chrono::Utc::now().timestamp_millis();
    sqlx::query(
        "INSERT INTO empty_jobs (id, workspace, actor_kind, actor_id, actor_name, total, \
         removed, failed, state, started_at, updated_at, finished_at, claimed_until) \
         VALUES ('job00000000000000001', 'acme', 'web_user', 'uuuuuuuuuuuuuuuuuuuu', \
         'owner@acme.test', ?1, 7, 0, 'running', ?2, ?2, NULL, ?3)",
    )
    .bind(ITEMS as i64 + 7)
    .bind(now - 120_000)
    .bind(now - 1_000)
    .execute(&mut conn)
    .await
    .expect("a job left running");

    let server = Server::start(&db.url, &["--no-cleanup"]);
    let api = Api::new(&server, &key);
    eventually(
        "the resumed job to empty the trash",
        Duration::from_secs(60),
        || {
            let api = &api;
            async move {
                let (status, body) = api.get("/acme/trash").await;
                assert_eq!(status, 200);
                body["items"]
                    .as_array()
                    .is_some_and(|i| i.is_empty())
                    .then_some(())
            }
        },
    )
    .await;
    let row = eventually("the job to be marked done", Duration::from_secs(30), || {
        let url = db.url.clone();
        async move {
            let mut conn = SqliteConnection::connect(&url).await.expect("open");
            let row = sqlx::query(
                "SELECT state, removed, failed, finished_at FROM empty_jobs \
                 WHERE id = 'job00000000000000001'",
            )
            .fetch_one(&mut conn)
            .await
            .expect("the job");
            (row.get::<String, _>("state") == "done").then_some(row)
        }
    })
    .await;
    assert_eq!(row.get::<i64, _>("removed"), ITEMS as i64 + 7);
    assert_eq!(row.get::<i64, _>("failed"), 0);
    assert!(row.get::<Option<i64>, _>("finished_at").is_some());
    // Every removal is audited as the job's, by its actor.
    let (_, events) = api.get("/acme/trash/events?limit=1000").await;
    let emptied = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "emptied")
        .count();
    assert_eq!(emptied, ITEMS, "{events}");
    assert!(server.log().contains("empty trash job"), "{}", server.log());
}
