//! Helpers for tests that run the real `trashd` binary: one-shot commands,
//! a server on a free port, temporary SQLite files and PostgreSQL databases.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_trashd")
}

/// A `trashd` command with a clean environment (no TRASHD_* from the caller).
pub fn trashd_command(db: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    for (k, _) in std::env::vars() {
        if k.starts_with("TRASHD_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.arg("--database-url").arg(db).args(args);
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs a one-shot command to completion.
pub fn trashd(db: &str, args: &[&str]) -> Output {
    trashd_command(db, args)
        .output()
        .expect("the trashd binary runs")
}

/// Runs a one-shot command that must succeed; returns its stdout and stderr.
pub fn trashd_ok(db: &str, args: &[&str]) -> (String, String) {
    let out = trashd(db, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "trashd {args:?} failed with {}:\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    (stdout, stderr)
}

/// Creates a workspace and an all-scopes key; returns the key.
pub fn workspace_with_key(db: &str, ws: &str) -> String {
    trashd_ok(db, &["admin", "create-workspace", ws]);
    let (key, _) = trashd_ok(db, &["admin", "create-key", ws, "--all-scopes"]);
    let key = key.trim().to_owned();
    assert!(
        key.len() >= 24 && key.bytes().all(|b| b.is_ascii_alphanumeric()),
        "the key alone on stdout: {key:?}"
    );
    key
}

/// A running `trashd serve` (killed on drop if still running).
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<String>>>,
}

fn collect(
    stream: impl std::io::Read + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
    found: Option<std::sync::mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let (Some(tx), Some(rest)) = (&found, line.split("listening on http://").nth(1)) {
                let addr = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx.send(addr);
            }
            lines.lock().unwrap().push(line);
        }
    });
}

impl Server {
    /// Starts `trashd <command> --listen 127.0.0.1:0 …` and waits until it listens.
    pub fn start_command(db: &str, command: &str, args: &[&str]) -> Server {
        let mut all = vec![command, "--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        // Rate limits off: these tests drive the server faster than one
        // client would (the contention test alone sends 600 writes with one
        // key). Tests of the limits pass --rate-limit / --ip-rate-limit,
        // which win over these variables.
        let mut child = trashd_command(db, &all)
            .env("TRASHD_LOG", "info")
            .env("TRASHD_RATE_LIMIT", "0")
            .env("TRASHD_IP_RATE_LIMIT", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("trashd starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        collect(child.stderr.take().unwrap(), log.clone(), Some(tx));
        collect(child.stdout.take().unwrap(), stdout.clone(), None);
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "trashd did not start listening ({status:?}):\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        Server {
            child,
            base: format!("http://{addr}"),
            log,
            stdout,
        }
    }

    /// Starts `trashd serve` with extra options.
    pub fn start(db: &str, args: &[&str]) -> Server {
        Server::start_command(db, "serve", args)
    }

    /// The log lines so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The stdout lines so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (at most 30 s) for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM failed");
        self.wait_exit(Duration::from_secs(30))
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("trashd did not exit in time:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A JSON HTTP client bound to one server and key.
pub struct Api {
    client: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    /// A client for `server` authenticating with `key` (in the query string).
    pub fn new(server: &Server, key: &str) -> Api {
        Api {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: server.base.clone(),
            key: key.to_owned(),
        }
    }

    fn url(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{sep}api_key={}", self.base, self.key)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body read");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text}"))
        };
        (status, body)
    }

    /// GET.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(self.url(path))).await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.client.delete(self.url(path))).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.client.post(self.url(path)).json(&body))
            .await
    }

    /// POST that must answer 200; returns the body.
    pub async fn post_ok(&self, path: &str, body: Value) -> Value {
        let (status, body) = self.post(path, body).await;
        assert_eq!(status, 200, "POST {path}: {body}");
        body
    }
}

/// The `id` field of a JSON object as a string.
pub fn id_of(v: &Value) -> String {
    match &v["id"] {
        Value::String(s) => s.clone(),
        other => panic!("no string id in {v} ({other})"),
    }
}

/// Polls `check` until it returns `Some`, failing after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A temporary SQLite database file.
pub struct SqliteDb {
    _dir: tempfile::TempDir,
    /// `sqlite:///…/trashd.db`.
    pub url: String,
}

impl SqliteDb {
    /// A fresh, not yet created, database file in a temporary directory.
    pub fn new() -> SqliteDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("trashd.db").display());
        SqliteDb { _dir: dir, url }
    }
}

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A PostgreSQL database created for one test and dropped afterwards.
pub struct PgDb {
    name: String,
    /// `postgres://postgres@127.0.0.1:5432/<name>`.
    pub url: String,
}

async fn pg_admin() -> sqlx::PgConnection {
    use sqlx::Connection;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut started = false;
    loop {
        match sqlx::PgConnection::connect(PG_ADMIN_URL).await {
            Ok(conn) => return conn,
            Err(e) => {
                if !started {
                    started = true;
                    start_postgres();
                }
                assert!(
                    Instant::now() < deadline,
                    "PostgreSQL at {PG_ADMIN_URL} is unreachable: {e}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Starts the local PostgreSQL cluster if it is down (as CI machines allow).
fn start_postgres() {
    let Ok(versions) = std::fs::read_dir("/etc/postgresql") else {
        return;
    };
    for version in versions.flatten() {
        let _ = Command::new("pg_ctlcluster")
            .arg("--skip-systemctl-redirect")
            .arg(version.file_name())
            .arg("main")
            .arg("start")
            .status();
    }
}

impl PgDb {
    /// Creates a database with a unique name.
    pub async fn new(tag: &str) -> PgDb {
        use sqlx::Executor;
        let name = format!(
            "trashd_e2e_{tag}_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
                % 1_000_000_000
        );
        let mut conn = pg_admin().await;
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create the test database");
        PgDb {
            url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
            name,
        }
    }
}

/// Drops the database, even when the test failed. Runs on its own thread
/// and runtime so it works inside and outside an async test.
impl Drop for PgDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                use sqlx::Executor;
                let mut conn = pg_admin().await;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await
                    .map(|_| ())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) && !std::thread::panicking() {
            panic!("could not drop the test database {}", self.name);
        }
    }
}

/// Runs `scripts/{script}` with bash from the repository root against this
/// build's `trashd` (`TRASHD_BIN`) and asserts that it succeeded and that
/// its standard error holds `summary`, the line it prints last. `what`
/// names the check in failure messages. python3 and curl are required: the
/// check fails, and never skips, when they are missing.
pub fn run_repo_script(script: &str, what: &str, summary: &str) {
    fn have(program: &str) -> bool {
        Command::new(program)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }
    assert!(
        have("python3"),
        "python3 is required for the {what}; install it (it is not optional)"
    );
    assert!(have("curl"), "curl is required for the {what}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/trashd sits two levels below the repository root")
        .to_path_buf();
    let path = root.join("scripts").join(script);
    assert!(path.is_file(), "{} is missing", path.display());
    let output = Command::new("bash")
        .arg(&path)
        .current_dir(&root)
        .env("TRASHD_BIN", env!("CARGO_BIN_EXE_trashd"))
        .output()
        .expect("bash runs the script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the {what} failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        output.status
    );
    assert!(
        stderr.contains(summary),
        "the {what} ended without its summary:\n{stderr}"
    );
}
