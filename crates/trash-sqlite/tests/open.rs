//! Opening: owner-only creation, URLs, and the files and places that are
//! refused with one sentence and left exactly as they were.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sqlx::{ConnectOptions, Connection};
use trash_core::domain::{Name, Timestamp, Workspace, WorkspaceSlug};
use trash_core::ports::{AccountStore, Health};
use trash_sqlite::{SqliteError, SqliteStore};

/// Every file of a directory with its bytes and mode.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            let path = e.expect("entry").path();
            let bytes = std::fs::read(&path).unwrap_or_default();
            let mode = std::fs::metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            (path, (bytes, mode))
        })
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

fn workspace(slug: &str) -> Workspace {
    Workspace {
        slug: WorkspaceSlug::parse(slug).expect("slug"),
        name: Name::parse(slug).expect("name"),
        created_at: Timestamp::from_unix_millis(1_700_000_000_000).expect("instant"),
    }
}

/// Asserts the error is one sentence (no line breaks) and returns it.
fn sentence(e: &SqliteError) -> String {
    let text = e.to_string();
    assert!(!text.contains('\n'), "{text:?} spans several lines");
    assert!(!text.is_empty());
    text
}

async fn raw_connection(path: &Path) -> sqlx::SqliteConnection {
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .expect("raw connection")
}

#[tokio::test]
async fn a_new_database_and_its_log_are_owner_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("trash.db");
    let store = SqliteStore::open(&path).await.expect("open");
    store
        .create_workspace(&workspace("acme"))
        .await
        .expect("write");
    assert_eq!(mode(&path), 0o600);
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        assert!(
            side.exists(),
            "{} missing while the store is open",
            side.display()
        );
        assert_eq!(mode(&side), 0o600, "{}", side.display());
    }
    assert_eq!(store.path(), path);
}

#[tokio::test]
async fn urls_name_files_and_anything_else_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    let store = SqliteStore::open_url(&format!("sqlite://{}", a.display()))
        .await
        .expect("sqlite:// URL");
    store.ping().await.expect("ping");
    SqliteStore::open_url(&format!("sqlite:{}", b.display()))
        .await
        .expect("sqlite: URL");
    assert!(a.is_file() && b.is_file());
    for bad in [
        "postgres://localhost/trash",
        "sqlite://",
        "sqlite:",
        "sqlite::memory:",
        "sqlite://trash.db?mode=rwc",
        "trash.db",
    ] {
        match SqliteStore::open_url(bad).await {
            Err(e @ SqliteError::BadUrl { .. }) => {
                sentence(&e);
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn bad_paths_are_refused_without_creating_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"").expect("write");
    let before = snapshot(dir.path());
    let cases: Vec<(PathBuf, &str)> = vec![
        (PathBuf::new(), "bad path"),
        (dir.path().to_owned(), "bad path"),
        (
            PathBuf::from(format!("{}/", dir.path().join("x.db").display())),
            "bad path",
        ),
        (dir.path().join("missing").join("x.db"), "missing directory"),
        (file.join("x.db"), "bad path"),
    ];
    for (path, expected) in cases {
        let err = SqliteStore::open(&path)
            .await
            .expect_err(&format!("{} accepted", path.display()));
        let text = sentence(&err);
        let kind = match err {
            SqliteError::BadPath { .. } => "bad path",
            SqliteError::DirectoryMissing { .. } => "missing directory",
            other => panic!("{}: unexpected {other:?}", path.display()),
        };
        assert_eq!(kind, expected, "{}: {text}", path.display());
    }
    assert_eq!(snapshot(dir.path()), before, "something was created");
}

#[tokio::test]
async fn a_read_only_directory_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).expect("mkdir");
    // One database created while the directory was writable.
    let existing = ro.join("existing.db");
    SqliteStore::open(&existing)
        .await
        .expect("open")
        .close()
        .await;
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let before = snapshot(&ro);
    for path in [ro.join("new.db"), existing.clone()] {
        match SqliteStore::open(&path).await {
            Err(e @ SqliteError::ReadOnlyDirectory { .. }) => {
                let text = sentence(&e);
                assert!(text.contains("read-only"), "{text}");
                assert!(text.contains(&ro.display().to_string()), "{text}");
            }
            other => panic!("{}: {other:?}", path.display()),
        }
    }
    assert_eq!(snapshot(&ro), before);
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).expect("chmod back");
}

#[tokio::test]
async fn a_read_only_database_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("trash.db");
    SqliteStore::open(&path).await.expect("open").close().await;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).expect("chmod");
    let before = snapshot(dir.path());
    match SqliteStore::open(&path).await {
        Err(e @ SqliteError::ReadOnlyFile { .. }) => {
            sentence(&e);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(dir.path()), before);
}

#[tokio::test]
async fn files_that_are_not_sqlite_databases_are_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "these are my notes, not a database\n".repeat(200)).expect("write");
    // The right magic, then garbage: SQLite itself must refuse it.
    let fake = dir.path().join("fake.db");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend((0u32..4096).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&fake, &bytes).expect("write");
    let before = snapshot(dir.path());
    for path in [&text, &fake] {
        match SqliteStore::open(path).await {
            Err(e @ SqliteError::NotSqlite { .. }) => {
                let msg = sentence(&e);
                assert!(msg.contains("not a SQLite database"), "{msg}");
            }
            other => panic!("{}: {other:?}", path.display()),
        }
    }
    assert_eq!(snapshot(dir.path()), before, "a refused file was changed");
}

#[tokio::test]
async fn a_database_of_another_application_is_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("other.db");
    std::fs::File::create(&path).expect("create");
    let mut conn = raw_connection(&path).await;
    sqlx::query("CREATE TABLE recipes (id INTEGER PRIMARY KEY, title TEXT)")
        .execute(&mut conn)
        .await
        .expect("create table");
    conn.close().await.expect("close");
    let before = snapshot(dir.path());
    match SqliteStore::open(&path).await {
        Err(e @ SqliteError::ForeignDatabase { .. }) => {
            sentence(&e);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(dir.path()), before);
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("trash.db");
    let store = SqliteStore::open(&path).await.expect("open");
    store
        .create_workspace(&workspace("acme"))
        .await
        .expect("write");
    store.close().await;
    // What a later build's migration would leave behind.
    let mut conn = raw_connection(&path).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9001, 'from the future', 1, x'00', 1)",
    )
    .execute(&mut conn)
    .await
    .expect("insert");
    conn.close().await.expect("close");
    let before = snapshot(dir.path());
    let err = SqliteStore::open(&path)
        .await
        .expect_err("newer schema accepted");
    assert!(
        matches!(err, SqliteError::NewerSchema { found: 9001, .. }),
        "{err:?}"
    );
    assert_eq!(
        sentence(&err),
        format!(
            "database was written by a newer trashd (schema 9001, this build knows {})",
            SqliteStore::schema_version()
        )
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[tokio::test]
async fn an_empty_file_becomes_a_database_and_an_existing_one_is_reopened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.db");
    std::fs::File::create(&path).expect("create");
    let store = SqliteStore::open(&path)
        .await
        .expect("an empty file is an empty database");
    store
        .create_workspace(&workspace("acme"))
        .await
        .expect("write");
    store.close().await;
    let again = SqliteStore::open(&path).await.expect("reopen");
    assert!(again
        .workspace(&WorkspaceSlug::parse("acme").expect("slug"))
        .await
        .expect("read")
        .is_some());
}
