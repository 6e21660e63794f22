//! Opening a database file: checks that refuse bad paths and foreign files
//! before SQLite touches anything, owner-only creation, connection settings
//! and migrations.

use std::fs;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::Connection;

use crate::error::{primary_code, SqliteError, SQLITE_NOTADB};

/// The schema migrations owned by this crate.
pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a write waits for another connection or process holding the
/// write lock before giving up with `StoreError::Unavailable`.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections used for reads (WAL lets them run beside the writer).
const READ_CONNECTIONS: u32 = 4;

/// The first 16 bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// The pools of an opened store.
pub(crate) struct Pools {
    /// One connection: every write transaction of this process, in turn.
    pub writer: SqlitePool,
    /// Read transactions (snapshots), in parallel.
    pub reader: SqlitePool,
}

/// The newest schema version this build knows.
pub(crate) fn known_schema() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or_default()
}

/// Splits a `sqlite://PATH` or `sqlite:PATH` URL into its path.
pub(crate) fn path_of_url(url: &str) -> Result<PathBuf, SqliteError> {
    let bad = |reason| SqliteError::BadUrl {
        url: url.to_owned(),
        reason,
    };
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| bad("it must start with sqlite:// or sqlite:"))?;
    if rest.is_empty() {
        return Err(bad("it names no file (write sqlite://PATH)"));
    }
    if rest == ":memory:" || rest.starts_with("file::memory:") {
        return Err(bad(
            "an in-memory SQLite database would lose the trash on exit; use memory:// for that",
        ));
    }
    if rest.contains('?') || rest.contains('#') {
        return Err(bad(
            "query parameters are not supported; the store chooses its own settings",
        ));
    }
    Ok(PathBuf::from(rest))
}

/// Checks the path and prepares the file: refuses bad paths, read-only
/// locations and files that are not SQLite databases without changing
/// anything, and creates a missing file with owner-only permissions.
/// Returns whether the file was created.
pub(crate) fn prepare_file(path: &Path) -> Result<bool, SqliteError> {
    let bad = |reason| SqliteError::BadPath {
        path: path.to_owned(),
        reason,
    };
    let raw = path.as_os_str().as_encoded_bytes();
    if raw.is_empty() {
        return Err(bad("the path is empty"));
    }
    if raw.contains(&0) {
        return Err(bad("the path contains a NUL byte"));
    }
    if raw.ends_with(b"/") || path.file_name().is_none() {
        return Err(bad("it names a directory, not a file"));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    match fs::metadata(&dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(SqliteError::DirectoryMissing { dir })
        }
        Err(e) if e.kind() == ErrorKind::NotADirectory => {
            return Err(bad("a component of its directory is not a directory"))
        }
        Err(source) => {
            return Err(SqliteError::Io {
                action: "inspect the directory",
                path: dir,
                source,
            })
        }
        Ok(m) if !m.is_dir() => return Err(bad("its parent is not a directory")),
        // No write permission bits at all: read-only for everyone, even for a
        // superuser who could bypass them. The write-ahead log needs the
        // directory writable.
        Ok(m) if m.permissions().readonly() => return Err(SqliteError::ReadOnlyDirectory { dir }),
        Ok(_) => {}
    }
    match fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(bad("it is a directory, not a file")),
        Ok(m) if !m.is_file() => Err(bad("it is not a regular file")),
        Ok(m) => {
            check_header(path)?;
            if m.permissions().readonly() {
                return Err(SqliteError::ReadOnlyFile {
                    path: path.to_owned(),
                });
            }
            Ok(false)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => create_private(path, &dir),
        Err(source) => Err(SqliteError::Io {
            action: "inspect",
            path: path.to_owned(),
            source,
        }),
    }
}

/// Creates the database file readable and writable by its owner only (the
/// write-ahead log and shared-memory files SQLite creates later take the
/// same permissions).
fn create_private(path: &Path, dir: &Path) -> Result<bool, SqliteError> {
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(file) => {
            // Make the new directory entry durable too.
            file.sync_all().map_err(|source| SqliteError::Io {
                action: "create",
                path: path.to_owned(),
                source,
            })?;
            if let Ok(d) = fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(true)
        }
        // Another process created it meanwhile: treat it as existing.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            check_header(path)?;
            Ok(false)
        }
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            Err(SqliteError::ReadOnlyDirectory {
                dir: dir.to_owned(),
            })
        }
        Err(source) => Err(SqliteError::Io {
            action: "create",
            path: path.to_owned(),
            source,
        }),
    }
}

/// Refuses a non-empty file that does not start with the SQLite header. An
/// empty file is an empty database to SQLite and is accepted.
fn check_header(path: &Path) -> Result<(), SqliteError> {
    let io = |source| SqliteError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    };
    let mut head = Vec::with_capacity(SQLITE_MAGIC.len());
    fs::File::open(path)
        .map_err(io)?
        .take(SQLITE_MAGIC.len() as u64)
        .read_to_end(&mut head)
        .map_err(io)?;
    if head.is_empty() || head == SQLITE_MAGIC {
        Ok(())
    } else {
        Err(SqliteError::NotSqlite {
            path: path.to_owned(),
        })
    }
}

/// Settings of every connection of the store.
fn connect_options(path: &Path, busy_timeout: Duration) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .foreign_keys(true)
        // WAL: readers never block the writer, and a commit is one append.
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: the log is synced at every commit, so an acknowledged write
        // survives power loss too, not only a killed process.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(busy_timeout)
}

fn open_error(path: &Path, source: sqlx::Error) -> SqliteError {
    if primary_code(&source) == Some(SQLITE_NOTADB) {
        SqliteError::NotSqlite {
            path: path.to_owned(),
        }
    } else {
        SqliteError::Open {
            path: path.to_owned(),
            source,
        }
    }
}

/// Looks at the schema without changing anything: refuses a database of
/// another application or of a newer trashd.
async fn check_schema(path: &Path) -> Result<(), SqliteError> {
    // Settings that write nothing: no journal-mode change.
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .busy_timeout(BUSY_TIMEOUT);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| open_error(path, e))?;
    let result = inspect_schema(path, &mut conn).await;
    let _ = conn.close().await;
    result
}

async fn inspect_schema(path: &Path, conn: &mut SqliteConnection) -> Result<(), SqliteError> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| open_error(path, e))?;
    if tables.iter().any(|t| t == "_sqlx_migrations") {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| open_error(path, e))?;
        let known = known_schema();
        match found {
            Some(found) if found > known => Err(SqliteError::NewerSchema { found, known }),
            _ => Ok(()),
        }
    } else if tables.is_empty() {
        Ok(())
    } else {
        Err(SqliteError::ForeignDatabase {
            path: path.to_owned(),
        })
    }
}

/// Opens the pools and brings the schema up to date. Writes wait up to
/// `busy_timeout` for another process's write transaction.
pub(crate) async fn connect(path: &Path, busy_timeout: Duration) -> Result<Pools, SqliteError> {
    check_schema(path).await?;
    let options = connect_options(path, busy_timeout);
    // A connection handed back while still inside a transaction (its task was
    // cancelled mid-transaction) is closed, which rolls the transaction back,
    // instead of being reused.
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(busy_timeout + Duration::from_secs(20))
        .after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
        .connect_with(options.clone())
        .await
        .map_err(|e| open_error(path, e))?;
    if let Err(first) = MIGRATOR.run(&writer).await {
        // Another process may have migrated the same new file at the same
        // moment; a second run finds its work done. Anything else fails again.
        tracing::debug!(error = %first, "migration failed once; retrying");
        if let Err(source) = MIGRATOR.run(&writer).await {
            writer.close().await;
            return Err(SqliteError::Migrate {
                path: path.to_owned(),
                source,
            });
        }
    }
    let reader = SqlitePoolOptions::new()
        .max_connections(READ_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(30))
        .after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
        .connect_lazy_with(options);
    Ok(Pools { writer, reader })
}
