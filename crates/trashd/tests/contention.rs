//! Writers hammering one project back to back through the real HTTP
//! application on SQLite with the production runtime: none of them is
//! answered 503. Inside one process the writers of a project take turns
//! (`LocalLocks`), so they never invalidate each other's reads: the test
//! allows a single attempt per request, so any lost race would be a 503.
//! (The revision guard and the retry backoff remain for other processes;
//! the conformance suite's contention case covers those.)

use std::time::Duration;

use trashd::compose::{self, StorageOptions};
use trashd::config::DatabaseUrl;

const WRITERS: usize = 4;
const REQUESTS: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn back_to_back_writers_on_one_project_never_get_503() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .expect("url");
    let store = compose::open_store(&StorageOptions {
        url,
        max_connections: 4,
        acquire_timeout: Duration::from_secs(5),
        migrate: true,
    })
    .await
    .expect("open");
    let services = trash_core::Services::over(
        store,
        std::sync::Arc::new(trash_runtime::NoopCanceller),
        trash_runtime::system_runtime(),
        trash_core::TrashConfig {
            max_attempts: 1,
            ..trash_core::TrashConfig::default()
        },
    );
    let ws = trash_core::domain::WorkspaceSlug::parse("acme").expect("slug");
    services
        .accounts
        .create_workspace(
            ws.clone(),
            trash_core::domain::Name::parse("Acme").expect("name"),
        )
        .await
        .expect("workspace");
    let key = services
        .accounts
        .create_api_key(
            &ws,
            trash_core::domain::Name::parse("k").expect("name"),
            trash_core::domain::ScopeSet::all(),
        )
        .await
        .expect("key")
        .plaintext;
    let app = compose::app(services, trash_web::WebConfig::random());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::new();
    let created = client
        .post(format!("{base}/acme/projects?api_key={key}"))
        .json(&serde_json::json!({"name": "Busy", "url": "busy"}))
        .send()
        .await
        .expect("create project");
    assert_eq!(created.status(), 200);

    let writers = (0..WRITERS).map(|w| {
        let client = client.clone();
        let url = format!("{base}/acme/busy/versions?api_key={key}");
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for n in 0..REQUESTS {
                let answer = client
                    .post(&url)
                    .json(&serde_json::json!({"name": format!("w{w}-{n}")}))
                    .send()
                    .await
                    .expect("answer");
                statuses.push(answer.status().as_u16());
            }
            statuses
        })
    });
    let mut refused = Vec::new();
    for writer in writers {
        refused.extend(
            writer
                .await
                .expect("writer")
                .into_iter()
                .filter(|s| *s != 200),
        );
    }
    assert!(refused.is_empty(), "answers other than 200: {refused:?}");

    let project: serde_json::Value = client
        .get(format!("{base}/acme/busy?api_key={key}"))
        .send()
        .await
        .expect("read")
        .json()
        .await
        .expect("json");
    let versions = project["versions"].as_array().expect("versions").len();
    assert_eq!(versions, WRITERS * REQUESTS, "every write landed once");
}
