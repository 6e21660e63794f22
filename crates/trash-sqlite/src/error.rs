//! Errors: why a database cannot be opened ([`SqliteError`]), and how
//! `sqlx` errors become the port's [`StoreError`] at this adapter's edge.

use std::path::PathBuf;

use trash_core::ports::StoreError;

/// Why [`crate::SqliteStore::open`] refused a database. Each variant displays
/// as one sentence an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum SqliteError {
    /// The URL is not a `sqlite:` URL this store understands.
    #[error("{url:?} is not a usable SQLite URL: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The path cannot name a database file.
    #[error("{path} cannot be used as a database file: {reason}")]
    BadPath {
        /// The path as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The directory that should hold the database does not exist.
    #[error("the directory {dir} for the database does not exist; create it first")]
    DirectoryMissing {
        /// The missing directory.
        dir: PathBuf,
    },
    /// The directory that should hold the database cannot be written (the
    /// database and its write-ahead log need a writable directory).
    #[error("the directory {dir} is read-only; the database needs a writable directory for its file and write-ahead log")]
    ReadOnlyDirectory {
        /// The directory.
        dir: PathBuf,
    },
    /// The database file is read-only.
    #[error("the database file {path} is read-only; make it writable by its owner")]
    ReadOnlyFile {
        /// The file.
        path: PathBuf,
    },
    /// The file exists and is not a SQLite database; it was left untouched.
    #[error("{path} exists and is not a SQLite database; refusing to touch it")]
    NotSqlite {
        /// The file.
        path: PathBuf,
    },
    /// The file is a SQLite database of some other application; it was left untouched.
    #[error("{path} is a SQLite database of another application (it has tables but no trashd schema); refusing to touch it")]
    ForeignDatabase {
        /// The file.
        path: PathBuf,
    },
    /// The database was migrated by a later build; this build would misread it.
    #[error("database was written by a newer trashd (schema {found}, this build knows {known})")]
    NewerSchema {
        /// The schema version found in the database.
        found: i64,
        /// The newest schema version this build knows.
        known: i64,
    },
    /// The file system refused an operation on the database file.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was attempted ("create", "read").
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// SQLite refused to open the database.
    #[error("cannot open the SQLite database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: sqlx::Error,
    },
    /// Bringing the schema up to date failed; the database was left as it was.
    #[error("cannot migrate the SQLite database {path}: {source}")]
    Migrate {
        /// The file.
        path: PathBuf,
        /// The migration error.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
}

// SQLite primary result codes (the low byte of an extended code).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_NOMEM: i64 = 7;
const SQLITE_READONLY: i64 = 8;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;
const SQLITE_PROTOCOL: i64 = 15;
/// The file is not a database.
pub(crate) const SQLITE_NOTADB: i64 = 26;

/// The primary SQLite result code of a database error, if it is one.
pub(crate) fn primary_code(e: &sqlx::Error) -> Option<i64> {
    let db = e.as_database_error()?;
    let code = db.code()?.parse::<i64>().ok()?;
    Some(code & 0xff)
}

/// Whether `e` is a violation of a UNIQUE or PRIMARY KEY constraint.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// Maps a `sqlx` error to the port's error: unreachable or busy storage is
/// `Unavailable` (retrying later may work), anything else is `Internal`.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Database(d) => match primary_code(&e) {
            Some(
                SQLITE_BUSY | SQLITE_LOCKED | SQLITE_NOMEM | SQLITE_READONLY | SQLITE_IOERR
                | SQLITE_FULL | SQLITE_CANTOPEN | SQLITE_PROTOCOL,
            ) => StoreError::Unavailable(d.message().to_owned()),
            _ => StoreError::Internal(d.message().to_owned()),
        },
        _ => StoreError::Internal(e.to_string()),
    }
}

/// A stored value that breaks the store's own invariants.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("stored {what} is invalid: {detail}"))
}
