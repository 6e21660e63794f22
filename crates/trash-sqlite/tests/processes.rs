//! Real processes on one database file.
//!
//! * Kill test: a child process streams trash/restore writes and prints each
//!   acknowledged one; the parent SIGKILLs it mid-stream, reopens the file
//!   and finds every acknowledged write (at most the one in flight more), a
//!   database that passes `PRAGMA integrity_check` and `foreign_key_check`,
//!   and no orphans. Three rounds, each resuming from the killed state.
//! * Second process: a child and the parent write to the same file at the
//!   same time; neither sees an error.
//!
//! The child is this test binary re-run on the test that spawned it, with
//! the database path in `TRASH_SQLITE_CHILD_DB`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Connection};
use trash_core::domain::*;
use trash_core::ports::*;
use trash_core::rules::preferred_holder;
use trash_core::usecases::TrashTarget;
use trash_core::{Services, TrashConfig};
use trash_runtime::{system_runtime, NoopCanceller};
use trash_sqlite::SqliteStore;

const CHILD_DB: &str = "TRASH_SQLITE_CHILD_DB";
const CHILD_PREFIX: &str = "TRASH_SQLITE_CHILD_PREFIX";
const CHILD_OPS: &str = "TRASH_SQLITE_CHILD_OPS";
/// Projects each writer cycles through.
const PROJECTS: usize = 6;
/// A child never runs longer than this, even if its parent vanished.
const CHILD_LIFETIME: Duration = Duration::from_secs(120);

fn ws() -> WorkspaceSlug {
    WorkspaceSlug::parse("acme").expect("slug")
}

fn slug_of(prefix: &str, i: usize) -> Slug {
    Slug::parse(&format!("{prefix}-{i}")).expect("slug")
}

fn principal() -> Principal {
    Principal::WebUser(WebUser {
        workspace: ws(),
        user_id: UserId::parse("u0000000000000000001").expect("id"),
        email: Email::parse("writer@example.com").expect("email"),
        role: Role::Owner,
    })
}

/// A writer: the services over a store, and the store itself for reads.
struct Writer {
    store: Arc<SqliteStore>,
    services: Services,
}

fn writer(store: Arc<SqliteStore>) -> Writer {
    let services = Services::over(
        store.clone(),
        Arc::new(NoopCanceller),
        system_runtime(),
        TrashConfig::default(),
    );
    Writer { store, services }
}

/// Creates the workspace and, for each prefix, projects with two versions.
async fn setup(path: &Path, prefixes: &[&str]) {
    let store = Arc::new(SqliteStore::open(path).await.expect("open"));
    let svc = writer(store.clone()).services;
    svc.accounts
        .create_workspace(ws(), Name::parse("Acme").expect("name"))
        .await
        .expect("workspace");
    for prefix in prefixes {
        for i in 0..PROJECTS {
            let s = slug_of(prefix, i);
            svc.resources
                .create_project(
                    &principal(),
                    &ws(),
                    Name::parse(s.as_str()).expect("name"),
                    Some(s.clone()),
                )
                .await
                .expect("project");
            for _ in 0..2 {
                svc.resources
                    .create_version(&principal(), &ws(), &s, None)
                    .await
                    .expect("version");
            }
        }
    }
    store.close().await;
}

/// One step of a writer: flips project `i % PROJECTS` between active and
/// trashed. Returns the acknowledged write as `trashed <id>` / `restored <id>`.
async fn step(w: &Writer, prefix: &str, i: usize) -> Result<String, String> {
    let s = slug_of(prefix, i % PROJECTS);
    let store = &w.store;
    let holders = store
        .projects_with_slug(&ws(), &s)
        .await
        .map_err(|e| e.to_string())?;
    let id = preferred_holder(&holders).ok_or("project vanished")?;
    let agg = store
        .load_project(&ws(), &id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("project vanished")?;
    if agg.project.state.is_active() {
        w.services
            .trash
            .move_to_trash(
                &principal(),
                &ws(),
                &TrashTarget::Project {
                    slug: s,
                    cleanup_delete_images: false,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("trashed {id}"))
    } else {
        w.services
            .trash
            .restore(
                &principal(),
                &ws(),
                &ItemRef::Project(id.clone()),
                OnConflict::Fail,
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("restored {id}"))
    }
}

/// The child: writes until killed, or `TRASH_SQLITE_CHILD_OPS` writes, or
/// its lifetime ends; prints `ACK …` after each acknowledged write.
fn child_main(db: &str) {
    let prefix = std::env::var(CHILD_PREFIX).unwrap_or_else(|_| "k".into());
    let max_ops: usize = std::env::var(CHILD_OPS)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = Arc::new(SqliteStore::open(Path::new(db)).await.expect("child open"));
        let w = writer(store);
        let started = Instant::now();
        let mut i = 0;
        while i < max_ops && started.elapsed() < CHILD_LIFETIME {
            match step(&w, &prefix, i).await {
                Ok(ack) => println!("ACK {ack}"),
                Err(e) => {
                    println!("ERR {e}");
                    std::process::exit(3);
                }
            }
            i += 1;
        }
        println!("DONE {i}");
    });
}

/// Runs the child role if this process is a child; returns whether it was.
fn run_as_child() -> bool {
    match std::env::var(CHILD_DB) {
        Ok(db) => {
            child_main(&db);
            true
        }
        Err(_) => false,
    }
}

fn spawn_child(test: &str, db: &Path, prefix: &str, ops: Option<usize>) -> Child {
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(CHILD_DB, db)
        .env(CHILD_PREFIX, prefix)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(n) = ops {
        cmd.env(CHILD_OPS, n.to_string());
    }
    cmd.spawn().expect("spawn child")
}

fn child_stderr(child: &mut Child) -> String {
    let mut err = String::new();
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    err
}

/// An acknowledged write: the audit kind and the project.
type Ack = (AuditKind, ProjectId);

/// The harness of the child may print its own text before the first ack on
/// the same line (`test name ... ACK …`), so acks are found anywhere in a line.
fn parse_ack(line: &str) -> Option<Ack> {
    let (_, rest) = line.split_once("ACK ")?;
    let (kind, id) = rest.split_once(' ')?;
    let kind = match kind {
        "trashed" => AuditKind::Trashed,
        "restored" => AuditKind::Restored,
        _ => return None,
    };
    Some((kind, ProjectId::parse(id).ok()?))
}

/// Trash and restore events of projects after `after`, in commit order.
async fn project_events(store: &SqliteStore, after: i64) -> Vec<(i64, Ack)> {
    store
        .audit_events(&ws(), Some(after), 100_000)
        .await
        .expect("audit")
        .into_iter()
        .filter_map(|r| match (&r.event.kind, &r.event.item) {
            (AuditKind::Trashed | AuditKind::Restored, Some(ItemRef::Project(p))) => {
                Some((r.seq, (r.event.kind, p.clone())))
            }
            _ => None,
        })
        .collect()
}

async fn scalar(conn: &mut sqlx::SqliteConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The file passes SQLite's own checks and the schema's invariants.
async fn assert_consistent(path: &Path) {
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .expect("raw connection");
    let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .expect("integrity_check");
    assert_eq!(integrity, vec!["ok".to_owned()]);
    let fk: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&mut conn)
        .await
        .expect("foreign_key_check");
    assert!(fk.is_empty(), "rows break foreign keys in {fk:?}");
    let orphans = [
        // An operation whose root does not record it as its root.
        "SELECT COUNT(*) FROM operations o WHERE o.root_kind = 'project' AND NOT EXISTS \
         (SELECT 1 FROM projects p WHERE p.id = o.project_id AND p.trash_op_id = o.id \
          AND p.trash_cascaded = 0)",
        // An item recording an operation that does not exist.
        "SELECT COUNT(*) FROM projects WHERE trash_op_id IS NOT NULL \
         AND trash_op_id NOT IN (SELECT id FROM operations)",
        "SELECT COUNT(*) FROM versions WHERE trash_op_id IS NOT NULL \
         AND trash_op_id NOT IN (SELECT id FROM operations)",
        // A version whose state disagrees with its trashed project's cascade.
        "SELECT COUNT(*) FROM versions v JOIN projects p ON p.id = v.project_id \
         WHERE p.trash_op_id IS NOT NULL AND (v.trash_op_id IS NOT p.trash_op_id \
         OR v.trash_cascaded <> 1)",
        // A version left trashed under an active project (these writers
        // only ever trash whole projects).
        "SELECT COUNT(*) FROM versions v JOIN projects p ON p.id = v.project_id \
         WHERE p.trash_op_id IS NULL AND v.trash_op_id IS NOT NULL",
        // An operation without its audit event.
        "SELECT COUNT(*) FROM operations o WHERE NOT EXISTS (SELECT 1 FROM audit_events a \
         WHERE a.operation_id = o.id AND a.kind = 'trashed')",
    ];
    for sql in orphans {
        assert_eq!(scalar(&mut conn, sql).await, 0, "{sql}");
    }
    conn.close().await.expect("close");
}

/// Every project's state matches the last trash/restore event recorded for it.
async fn assert_states_match_audit(store: &SqliteStore) {
    let events = project_events(store, 0).await;
    let mut last = std::collections::BTreeMap::new();
    for (_, (kind, id)) in events {
        last.insert(id, kind);
    }
    assert!(!last.is_empty());
    for (id, kind) in last {
        let agg = store
            .load_project(&ws(), &id)
            .await
            .expect("load")
            .expect("project exists");
        assert_eq!(
            agg.project.state.is_active(),
            kind == AuditKind::Restored,
            "project {id} disagrees with its last event {kind:?}"
        );
    }
}

const KILL_TEST: &str = "sigkill_mid_stream_loses_no_acknowledged_write";

#[test]
fn sigkill_mid_stream_loses_no_acknowledged_write() {
    if run_as_child() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("trash.db");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(setup(&path, &["k"]));
    let mut total_acks = 0;
    for kill_after in [25, 60, 110] {
        let after_seq = runtime.block_on(async {
            let store = SqliteStore::open(&path).await.expect("open");
            let seq = store
                .audit_events(&ws(), None, 1_000_000)
                .await
                .expect("audit")
                .last()
                .map_or(0, |r| r.seq);
            store.close().await;
            seq
        });

        let mut child = spawn_child(KILL_TEST, &path, "k", None);
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut acks: Vec<Ack> = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(90);
        while acks.len() < kill_after {
            assert!(Instant::now() < deadline, "the child is too slow");
            match lines.next() {
                Some(Ok(line)) => {
                    assert!(!line.contains("ERR "), "child failed: {line}");
                    acks.extend(parse_ack(&line));
                }
                _ => panic!(
                    "the child stopped after {} acks: {}",
                    acks.len(),
                    child_stderr(&mut child)
                ),
            }
        }
        // SIGKILL while the child is in the middle of its stream.
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        assert!(!status.success(), "the child was not killed: {status:?}");
        // Acks printed before the kill are still in the pipe.
        for line in lines.map_while(Result::ok) {
            acks.extend(parse_ack(&line));
        }

        runtime.block_on(async {
            assert_consistent(&path).await;
            let store = SqliteStore::open(&path).await.expect("reopen after kill");
            let recorded: Vec<Ack> = project_events(&store, after_seq)
                .await
                .into_iter()
                .map(|(_, ack)| ack)
                .collect();
            // Every acknowledged write is there, in order; at most the one
            // write in flight at the kill committed without its ack.
            assert!(
                recorded.len() == acks.len() || recorded.len() == acks.len() + 1,
                "{} acknowledged, {} recorded",
                acks.len(),
                recorded.len()
            );
            assert_eq!(&recorded[..acks.len()], &acks[..]);
            assert_states_match_audit(&store).await;
            store.close().await;
        });
        total_acks += acks.len();
    }
    assert!(total_acks >= 25 + 60 + 110);
}

const TWO_PROCESSES_TEST: &str = "a_second_process_writes_the_same_file_at_the_same_time";

#[test]
fn a_second_process_writes_the_same_file_at_the_same_time() {
    if run_as_child() {
        return;
    }
    const OPS: usize = 120;
    let dir = tempfile::tempdir().expect("tempdir");
    let path: PathBuf = dir.path().join("trash.db");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(setup(&path, &["p", "c"]));

    let mut child = spawn_child(TWO_PROCESSES_TEST, &path, "c", Some(OPS));
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    runtime.block_on(async {
        let store = Arc::new(SqliteStore::open(&path).await.expect("open"));
        let w = writer(store.clone());
        for i in 0..OPS {
            step(&w, "p", i)
                .await
                .unwrap_or_else(|e| panic!("parent write {i} failed: {e}"));
        }
        store.close().await;
    });
    let status = child.wait().expect("wait");
    let stderr = child_stderr(&mut child);
    let lines = reader.join().expect("reader thread");
    assert!(
        status.success(),
        "child failed: {status:?}\n{lines:?}\n{stderr}"
    );
    assert_eq!(lines.iter().filter_map(|l| parse_ack(l)).count(), OPS);
    assert!(
        lines.iter().any(|l| l.contains(&format!("DONE {OPS}"))),
        "{lines:?}"
    );

    runtime.block_on(async {
        assert_consistent(&path).await;
        let store = SqliteStore::open(&path).await.expect("reopen");
        assert_eq!(project_events(&store, 0).await.len(), 2 * OPS);
        assert_states_match_audit(&store).await;
    });
}
