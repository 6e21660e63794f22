//! End-to-end tests of the real `trashd` binary: admin commands, the REST
//! API over HTTP, the cleanup loop, `cleanup --once`, `quickstart`, graceful
//! shutdown and CLI errors, on SQLite and on PostgreSQL.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn items(list: &Value) -> &Vec<Value> {
    list["items"].as_array().expect("items is an array")
}

fn find<'a>(list: &'a Value, kind: &str, id: &str) -> Option<&'a Value> {
    items(list)
        .iter()
        .find(|i| i["type"] == kind && i["id"] == id)
}

/// The key id printed on stderr by `admin create-key`.
fn key_id(stderr: &str) -> String {
    stderr
        .split("created API key ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no key id in {stderr:?}"))
        .to_owned()
}

/// Create, trash, list, restore every kind of item over HTTP; scope and
/// revocation checks; SIGTERM ends the server with status 0.
async fn trash_lifecycle(db: &str) {
    let key = workspace_with_key(db, "acme");
    let (reader_key, reader_err) = trashd_ok(
        db,
        &[
            "admin",
            "create-key",
            "acme",
            "--scopes",
            "project:read",
            "--name",
            "reader",
        ],
    );
    let reader_key = reader_key.trim().to_owned();
    let reader_id = key_id(&reader_err);

    let mut server = Server::start(db, &["--retention", "30d"]);
    let api = Api::new(&server, &key);
    let reader = Api::new(&server, &reader_key);

    let (status, welcome) = api.get("/").await;
    assert_eq!(status, 200, "{welcome}");
    assert_eq!(welcome["workspace"], "acme");

    // Build a project with two versions, a finished and a running training,
    // an image, and a workflow.
    let project = api
        .post_ok(
            "/acme/projects",
            json!({"name": "Hard Hats", "url": "hard-hats"}),
        )
        .await;
    let project_id = id_of(&project);
    assert_eq!(project["url"], "hard-hats");
    let v1 = api.post_ok("/acme/hard-hats/versions", json!({})).await;
    let v2 = api.post_ok("/acme/hard-hats/versions", json!({})).await;
    assert_eq!(
        (v1["id"].as_str(), v2["id"].as_str()),
        (Some("1"), Some("2"))
    );
    let done = api
        .post_ok("/acme/hard-hats/1/v2/trainings", json!({}))
        .await;
    let done_id = id_of(&done);
    api.post_ok(
        &format!("/acme/hard-hats/1/v2/trainings/{done_id}/status"),
        json!({"status": "succeeded"}),
    )
    .await;
    let running = api
        .post_ok("/acme/hard-hats/2/v2/trainings", json!({}))
        .await;
    let running_id = id_of(&running);
    assert_eq!(running["status"], "running");
    api.post_ok("/acme/hard-hats/images", json!({"name": "helmet.jpg"}))
        .await;
    let workflow = api
        .post_ok(
            "/acme/workflows",
            json!({"name": "Count Cars", "url": "count-cars"}),
        )
        .await;
    let workflow_id = id_of(&workflow);

    // A running training cannot be trashed on its own.
    let (status, body) = api
        .delete(&format!("/acme/hard-hats/2/v2/trainings/{running_id}"))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("in progress"));

    // A key without the scope is refused with a message naming it.
    let (status, body) = reader.delete("/acme/hard-hats").await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].as_str().unwrap().contains("project:update"));

    // Trash the finished training on its own, then the whole project.
    let (status, body) = api
        .delete(&format!("/acme/hard-hats/1/v2/trainings/{done_id}"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["trash"], true);
    let (status, body) = api.delete("/acme/hard-hats").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["projectId"], project_id.as_str());
    assert!(body["scheduledCleanupAt"].is_string());
    let (status, _) = api.get("/acme/hard-hats").await;
    assert_eq!(status, 404, "a trashed project is not found");

    let (status, list) = reader.get("/acme/trash").await;
    assert_eq!(status, 200, "{list}");
    let listed = find(&list, "project", &project_id).expect("the project is listed");
    assert_eq!(listed["contains"]["versions"], 2);
    assert!(
        find(&list, "training", &done_id).is_some(),
        "trashed earlier, listed on its own"
    );
    assert!(list["sections"]["projects"].is_array());

    // Deleting again changes nothing.
    let (status, again) = api.delete("/acme/hard-hats").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["alreadyInTrash"], true);

    // Restore the project: it comes back with its versions; the running
    // training stays cancelled; the training trashed earlier stays in trash.
    let restored = api
        .post_ok(
            "/acme/trash/restore",
            json!({"type": "project", "id": project_id}),
        )
        .await;
    assert_eq!(restored["restored"], true);
    let (status, body) = api.get("/acme/hard-hats").await;
    assert_eq!(status, 200, "{body}");
    let (status, training) = api
        .get(&format!("/acme/hard-hats/2/v2/trainings/{running_id}"))
        .await;
    assert_eq!(status, 200, "{training}");
    assert_eq!(training["status"], "cancelled");
    let (_, list) = api.get("/acme/trash").await;
    assert!(find(&list, "project", &project_id).is_none());
    assert!(find(&list, "training", &done_id).is_some());
    api.post_ok(
        "/acme/trash/restore",
        json!({"type": "training", "id": done_id}),
    )
    .await;
    let (status, trainings) = api.get("/acme/hard-hats/1/v2/trainings").await;
    assert_eq!(status, 200);
    assert_eq!(trainings["trainings"].as_array().unwrap().len(), 1);

    // A version on its own.
    let (status, body) = api.delete("/acme/hard-hats/1").await;
    assert_eq!(status, 200, "{body}");
    let (_, list) = api.get("/acme/trash").await;
    let version = find(&list, "version", "1").expect("the version is listed");
    assert_eq!(version["parentId"], project_id.as_str());
    api.post_ok(
        "/acme/trash/restore",
        json!({"type": "version", "id": "1", "parentId": project_id}),
    )
    .await;
    let (status, _) = api.get("/acme/hard-hats/1").await;
    assert_eq!(status, 200);

    // A workflow.
    let (status, body) = api.delete("/acme/workflows/count-cars").await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = api.get("/acme/workflows/count-cars").await;
    assert_eq!(status, 404);
    api.post_ok(
        "/acme/trash/restore",
        json!({"type": "workflow", "id": workflow_id}),
    )
    .await;
    let (status, _) = api.get("/acme/workflows/count-cars").await;
    assert_eq!(status, 200);

    // Revoking a key takes effect on the running server.
    trashd_ok(db, &["admin", "revoke-key", &reader_id]);
    let (status, body) = reader.get("/acme/trash").await;
    assert_eq!(status, 401, "{body}");

    let status = server.terminate();
    assert!(status.success(), "SIGTERM ends with status 0: {status}");
    let log = server.log();
    assert!(log.contains("shutting down"), "{log}");
    assert!(!log.contains(&key), "the API key must never be logged");
    assert!(
        !log.contains(&reader_key),
        "the API key must never be logged"
    );
}

/// With a 2 s retention and a 1 s cleanup interval, trashed items are listed
/// and then purged by the loop inside `serve`, with the project's exclusive
/// images; shared images stay.
async fn cleanup_loop_purges(db: &str) {
    let key = workspace_with_key(db, "beta");
    let mut server = Server::start(db, &["--retention", "2s", "--cleanup-interval", "1s"]);
    let api = Api::new(&server, &key);

    api.post_ok("/beta/projects", json!({"name": "Keeper", "url": "keeper"}))
        .await;
    let doomed = api
        .post_ok("/beta/projects", json!({"name": "Doomed", "url": "doomed"}))
        .await;
    let doomed_id = id_of(&doomed);
    api.post_ok("/beta/doomed/versions", json!({})).await;
    api.post_ok("/beta/doomed/1/v2/trainings", json!({})).await;
    let exclusive = id_of(
        &api.post_ok("/beta/doomed/images", json!({"name": "only-doomed.jpg"}))
            .await,
    );
    let shared = id_of(
        &api.post_ok("/beta/keeper/images", json!({"name": "both.jpg"}))
            .await,
    );
    api.post_ok("/beta/doomed/images", json!({"imageId": shared}))
        .await;
    let workflow = id_of(
        &api.post_ok(
            "/beta/workflows",
            json!({"name": "Old Flow", "url": "old-flow"}),
        )
        .await,
    );

    // Each item is looked for right after its own delete, well inside its
    // two-second window.
    let (status, body) = api.delete("/beta/doomed").await;
    assert_eq!(status, 200, "{body}");
    let (_, list) = api.get("/beta/trash?type=project").await;
    assert!(find(&list, "project", &doomed_id).is_some(), "{list}");
    let (status, body) = api.delete("/beta/workflows/old-flow").await;
    assert_eq!(status, 200, "{body}");
    let (_, list) = api.get("/beta/trash?type=workflow").await;
    assert!(find(&list, "workflow", &workflow).is_some(), "{list}");

    eventually(
        "the cleanup loop to purge the trash",
        Duration::from_secs(60),
        || async {
            let (status, list) = api.get("/beta/trash").await;
            (status == 200 && items(&list).is_empty()).then_some(())
        },
    )
    .await;

    let (status, _) = api.get(&format!("/beta/images/{exclusive}")).await;
    assert_eq!(status, 404, "the exclusive image went with the project");
    let (status, image) = api.get(&format!("/beta/images/{shared}")).await;
    assert_eq!(status, 200, "the shared image stays");
    assert!(!image.to_string().contains(&doomed_id), "{image}");
    let (status, _) = api
        .post(
            "/beta/trash/restore",
            json!({"type": "project", "id": doomed_id}),
        )
        .await;
    assert_ne!(status, 200, "a purged project cannot come back");
    let (status, _) = api.get("/beta/keeper").await;
    assert_eq!(status, 200);

    let status = server.terminate();
    assert!(status.success(), "{status}");
    assert!(server.log().contains("cleanup: purged"), "{}", server.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_end_to_end() {
    let db = SqliteDb::new();
    trash_lifecycle(&db.url).await;
    // The same file, served again: data written by the first server is there.
    cleanup_loop_purges(&db.url).await;
    let key = workspace_with_key(&db.url, "gamma");
    let server = Server::start(&db.url, &[]);
    let (status, project) = Api::new(&server, &key).get("/acme/hard-hats").await;
    assert_eq!(status, 401, "another workspace's key: {project}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_end_to_end() {
    let db = PgDb::new("main").await;
    let (_, err) = trashd_ok(&db.url, &["migrate"]);
    assert!(err.contains("up to date"), "{err}");
    trash_lifecycle(&db.url).await;
    cleanup_loop_purges(&db.url).await;
}

/// `cleanup --once` drains what is due and prints one summary line when
/// not on a terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_once_drains_the_backlog() {
    let db = SqliteDb::new();
    let key = workspace_with_key(&db.url, "acme");
    let mut server = Server::start(&db.url, &["--retention", "1s", "--no-cleanup"]);
    let api = Api::new(&server, &key);
    for i in 0..5 {
        let url = format!("flow-{i}");
        api.post_ok("/acme/workflows", json!({"name": url, "url": url}))
            .await;
        let (status, body) = api.delete(&format!("/acme/workflows/{url}")).await;
        assert_eq!(status, 200, "{body}");
    }
    assert!(server.terminate().success());

    let mut purged = 0u64;
    eventually(
        "cleanup --once to purge five workflows",
        Duration::from_secs(60),
        || {
            let (out, _) = trashd_ok(&db.url, &["cleanup", "--once", "--cleanup-batch", "2"]);
            assert_eq!(out.lines().count(), 1, "one summary line: {out:?}");
            let n: u64 = out
                .split("purged ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no count in {out:?}"));
            purged += n;
            async move { (purged == 5).then_some(()) }
        },
    )
    .await;
    let (out, _) = trashd_ok(&db.url, &["cleanup", "--once"]);
    assert!(
        out.starts_with("cleanup: purged 0 trash operations"),
        "{out}"
    );
}

/// `quickstart` seeds a demo workspace, prints a working key, and serves;
/// a second run reuses the workspace without seeding it twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_seeds_prints_and_serves() {
    let db = SqliteDb::new();
    let mut keys = Vec::new();
    for run in 0..2 {
        let mut server = Server::start_command(&db.url, "quickstart", &[]);
        let key = eventually("the quickstart banner", Duration::from_secs(30), || {
            let out = server.stdout();
            let key = out
                .split("API key (all scopes, shown once): ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_owned);
            async move { key }
        })
        .await;
        let out = server.stdout();
        assert!(
            out.contains(&format!("{}/demo/trash?api_key={key}", server.base)),
            "{out}"
        );
        assert!(out.contains("roboflow trash list"), "{out}");
        assert!(out.contains("password:"), "{out}");
        assert_eq!(out.contains("reused"), run == 1, "{out}");

        let api = Api::new(&server, &key);
        let (status, list) = api.get("/demo/trash").await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(items(&list).len(), 3, "{list}");
        let (status, ws) = api.get("/demo").await;
        assert_eq!(status, 200, "{ws}");
        let (status, trainings) = api.get("/demo/parking-lot/2/v2/trainings").await;
        assert_eq!(status, 200, "{trainings}");
        assert_eq!(trainings["trainings"][0]["status"], "running");

        // The printed web login signs in to the Trash view.
        let field = |name: &str| {
            out.split(&format!("{name}:"))
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("no {name} in {out}"))
        };
        let (email, password) = (field("e-mail"), field("password"));
        let page = web_sign_in(&server.base, &email, &password).await;
        assert!(page.contains("Scratch Experiment"), "{page}");

        assert!(server.terminate().success());
        assert!(!server.log().contains(&key));
        assert!(!server.log().contains(&password));
        keys.push(key);
    }
    assert_ne!(keys[0], keys[1]);
}

/// Signs in through `/app/login` like a browser and returns the Trash page.
async fn web_sign_in(base: &str, email: &str, password: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie_of = |resp: &reqwest::Response| -> String {
        resp.headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter(|pair| !pair.ends_with('='))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let form = client
        .get(format!("{base}/app/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let login_cookie = cookie_of(&form);
    let html = form.text().await.unwrap();
    let token = html
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no CSRF token in the sign-in form: {html}"));
    let encode = |v: &str| {
        v.replace('%', "%25")
            .replace('@', "%40")
            .replace('+', "%2B")
    };
    let signed_in = client
        .post(format!("{base}/app/login"))
        .header(reqwest::header::COOKIE, login_cookie)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(format!(
            "csrf_token={token}&email={}&password={}",
            encode(email),
            encode(password)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303, "sign-in redirects to the trash");
    let location = signed_in.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let session = cookie_of(&signed_in);
    let page = client
        .get(format!("{base}{location}"))
        .header(reqwest::header::COOKIE, session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

fn failing(db: &str, args: &[&str], code: i32, needle: &str) -> String {
    let out = trashd(db, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "trashd {args:?}: expected exit {code}, got {}: {stderr}",
        out.status
    );
    assert!(
        stderr.contains(needle),
        "trashd {args:?}: {needle:?} not in {stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
    stderr
}

#[test]
fn bad_options_and_admin_input_give_clear_errors() {
    let db = SqliteDb::new();
    let url = db.url.as_str();

    failing(url, &["serve", "--retention", "5x"], 2, "not a duration");
    failing(
        url,
        &["serve", "--cleanup-interval", "soon"],
        2,
        "--cleanup-interval",
    );
    failing(url, &["serve", "--listen", "8080"], 2, "HOST:PORT");
    let err = failing(
        url,
        &["serve", "--session-secret", "tooshort-hunter2"],
        2,
        "session secret must be at least 32 characters",
    );
    assert!(!err.contains("hunter2"), "{err}");
    let err = failing(
        "mysql://root:hunter2@localhost/db",
        &["serve"],
        2,
        "unsupported database URL scheme \"mysql\"",
    );
    assert!(!err.contains("hunter2"), "{err}");
    let err = failing(
        "postgres://postgres:hunter2@127.0.0.1:1/nothing",
        &["migrate", "--db-acquire-timeout", "300ms"],
        1,
        "cannot open the database at postgres://postgres:***@127.0.0.1:1/nothing",
    );
    assert!(!err.contains("hunter2"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
    let not_a_dir = tempfile::NamedTempFile::new().unwrap();
    failing(
        &format!("sqlite://{}/trashd.db", not_a_dir.path().display()),
        &["migrate"],
        1,
        "cannot open the database",
    );

    // Options come from TRASHD_* variables too.
    let from_env = |var: &str, value: &str, args: &[&str]| {
        let mut cmd = std::process::Command::new(bin());
        cmd.env(var, value)
            .args(args)
            .stdin(std::process::Stdio::null());
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = from_env("TRASHD_DATABASE_URL", "mysql://x/y", &["migrate"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("\"mysql\""), "{err}");
    let (code, err) = from_env("TRASHD_RETENTION", "whenever", &["serve"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--retention"), "{err}");
    let (code, err) = from_env("TRASHD_DATABASE_URL", url, &["migrate"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains(url), "{err}");

    workspace_with_key(url, "acme");
    failing(
        url,
        &["admin", "create-workspace", "acme"],
        1,
        "already exists",
    );
    failing(url, &["admin", "create-workspace", "readyz"], 2, "reserved");
    failing(
        url,
        &["admin", "create-workspace", "Not A Slug"],
        2,
        "workspace slug",
    );
    failing(
        url,
        &["admin", "create-key", "nope", "--all-scopes"],
        1,
        "workspace nope does not exist",
    );
    failing(
        url,
        &["admin", "create-key", "acme", "--scopes", "project:destroy"],
        2,
        "unknown scope",
    );
    failing(url, &["admin", "create-key", "acme"], 2, "--scopes");
    failing(
        url,
        &["admin", "revoke-key", "AAAAAAAAAAAAAAAAAAAA"],
        1,
        "no API key has the id",
    );
    failing(url, &["admin", "revoke-key", "short"], 2, "key id");
    failing(
        url,
        &[
            "admin",
            "create-key",
            "acme",
            "--all-scopes",
            "--database-url",
            "memory://",
        ],
        2,
        "admin commands need a database",
    );
    failing(
        url,
        &[
            "admin",
            "create-user",
            "acme",
            "ann@example.com",
            "--role",
            "owner",
        ],
        2,
        "TRASHD_PASSWORD",
    );
    failing(
        url,
        &[
            "admin",
            "create-user",
            "acme",
            "ann@example.com",
            "--role",
            "king",
        ],
        2,
        "--role",
    );

    let created = trashd_command(
        url,
        &[
            "admin",
            "create-user",
            "acme",
            "ann@example.com",
            "--role",
            "admin",
        ],
    )
    .env("TRASHD_PASSWORD", "correct horse battery")
    .output()
    .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(!String::from_utf8_lossy(&created.stderr).contains("correct horse"));
    let again = trashd_command(
        url,
        &[
            "admin",
            "create-user",
            "acme",
            "ANN@example.com",
            "--role",
            "member",
        ],
    )
    .env("TRASHD_PASSWORD", "correct horse battery")
    .output()
    .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

/// `admin pending-cancellations` lists what the job system has not
/// confirmed: one line per training with its operation and failed attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_pending_cancellations_lists_unconfirmed_cancellations() {
    use std::sync::Arc;

    use trash_core::domain::*;
    use trash_core::{Services, TrashConfig};
    use trash_memory::RecordingCanceller;
    use trash_sqlite::SqliteStore;

    let db = SqliteDb::new();
    let url = db.url.as_str();
    let key = workspace_with_key(url, "acme");
    let (out, err) = trashd_ok(url, &["admin", "pending-cancellations", "acme"]);
    assert_eq!(out, "", "nothing on stdout when there is nothing pending");
    assert!(
        err.contains("no pending cancellations in workspace acme"),
        "{err}"
    );
    failing(
        url,
        &["admin", "pending-cancellations", "nope"],
        1,
        "workspace nope does not exist",
    );
    failing(
        url,
        &["admin", "pending-cancellations", "Not A Slug"],
        2,
        "workspace slug",
    );

    // Trash a project with two running trainings while the job system is
    // unreachable: both cancellations stay pending after one failed attempt.
    let (operation, mut trainings) = {
        let store = Arc::new(SqliteStore::open_url(url).await.expect("open the file"));
        let canceller = Arc::new(RecordingCanceller::default());
        canceller.set_failing(true);
        let services = Services::over(
            store.clone(),
            canceller.clone(),
            trash_runtime::system_runtime(),
            TrashConfig::default(),
        );
        let me = Principal::ApiKey(services.accounts.authenticate(&key).await.unwrap());
        let ws = WorkspaceSlug::parse("acme").unwrap();
        let slug = Slug::parse("jobs").unwrap();
        services
            .resources
            .create_project(&me, &ws, Name::parse("Jobs").unwrap(), Some(slug.clone()))
            .await
            .unwrap();
        let mut trainings = Vec::new();
        for _ in 0..2 {
            let v = services
                .resources
                .create_version(&me, &ws, &slug, None)
                .await
                .unwrap();
            let t = services
                .resources
                .create_training(&me, &ws, &slug, v.number)
                .await
                .unwrap();
            trainings.push(t.id.to_string());
        }
        let out = services
            .trash
            .trash_project(&me, &ws, &slug, false)
            .await
            .unwrap();
        assert_eq!((out.cancelled_trainings, out.cancellations_pending), (2, 2));
        assert_eq!(canceller.calls().len(), 2);
        let page = services
            .trash
            .list_trash(&me, &ws, &Default::default())
            .await
            .unwrap();
        assert_eq!(page.entries.len(), 1);
        let operation = page.entries[0].operation.id.to_string();
        store.close().await;
        (operation, trainings)
    };

    let (out, err) = trashd_ok(url, &["admin", "pending-cancellations", "acme"]);
    let mut lines = out.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(header, ["TRAINING", "OPERATION", "ATTEMPTS"], "{out}");
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    trainings.sort();
    let expected: Vec<Vec<String>> = trainings
        .iter()
        .map(|t| vec![t.clone(), operation.clone(), "1".to_owned()])
        .collect();
    assert_eq!(rows, expected, "in training id order: {out}");
    assert!(
        err.contains("2 pending cancellations in workspace acme"),
        "{err}"
    );
}

/// Bytes the server's socket (local port `server`, peer port `client`, on
/// IPv4 loopback) has received and not yet read, from `/proc/net/tcp`.
fn server_unread_bytes(server: u16, client: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!(":{server:04X}");
    let remote = format!(":{client:04X}");
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() > 4 && f[1].ends_with(&local) && f[2].ends_with(&remote) {
            let rx = f[4].split(':').nth(1)?;
            u64::from_str_radix(rx, 16).ok()
        } else {
            None
        }
    })
}

/// SIGTERM while a request is in flight: the server stops accepting new
/// connections, finishes that request, and exits with status 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_request_in_flight() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let db = SqliteDb::new();
    let key = workspace_with_key(&db.url, "acme");
    let mut server = Server::start(&db.url, &[]);
    let addr = server.base.trim_start_matches("http://").to_owned();

    // Send the headers and half of the body, then stop.
    let body = r#"{"name":"In Flight","url":"in-flight"}"#;
    let (first, rest) = body.split_at(body.len() / 2);
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /acme/projects?api_key={key} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.flush().await.unwrap();
    // In flight means the server has read what was sent: wait until the
    // kernel holds nothing unread on the server's end of this connection.
    // (A SIGTERM before that finds a connection that has sent nothing the
    // server knows of, which a graceful shutdown rightly closes as idle.)
    let ours = conn.local_addr().unwrap().port();
    let theirs = conn.peer_addr().unwrap().port();
    eventually(
        "the server to read the request head",
        Duration::from_secs(30),
        || async move { (server_unread_bytes(theirs, ours) == Some(0)).then_some(()) },
    )
    .await;

    let kill = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(server.pid().to_string())
        .status()
        .unwrap();
    assert!(kill.success());
    eventually(
        "the server to start shutting down",
        Duration::from_secs(30),
        || {
            let seen = server.log().contains("shutting down");
            async move { seen.then_some(()) }
        },
    )
    .await;
    // New connections are refused from now on.
    eventually("the listener to close", Duration::from_secs(30), || {
        let addr = addr.clone();
        async move {
            tokio::net::TcpStream::connect(&addr)
                .await
                .is_err()
                .then_some(())
        }
    })
    .await;

    // The request in flight still completes.
    conn.write_all(rest.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), conn.read_to_end(&mut response))
        .await
        .expect("the response arrives")
        .unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"in-flight\""), "{response}");

    let status = server.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status}: {}", server.log());

    // The project was committed before the exit.
    let server = Server::start(&db.url, &[]);
    let (status, _) = Api::new(&server, &key).get("/acme/in-flight").await;
    assert_eq!(status, 200);
}
