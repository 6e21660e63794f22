//! The adapter edge: `sqlx::Error` becomes the port's [`StoreError`] here and
//! nowhere else.

use sqlx::error::DatabaseError;
use trash_core::ports::StoreError;

/// SQLSTATE of a unique violation.
pub(crate) const UNIQUE_VIOLATION: &str = "23505";
/// SQLSTATE of a foreign-key violation.
pub(crate) const FOREIGN_KEY_VIOLATION: &str = "23503";

/// Maps an error with no better meaning in its context.
///
/// Connection-level failures (pool timeout, closed pool, I/O, TLS, server
/// shutting down or refusing connections) are `Unavailable`: retrying later
/// may succeed. Serialization failures, deadlocks and lock timeouts mean a
/// concurrent writer won, which the port reports as `Conflict`. Everything
/// else breaks an invariant the store relies on and is `Internal`.
pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable("timed out waiting for a database connection".into())
        }
        sqlx::Error::PoolClosed => {
            StoreError::Unavailable("the database connection pool is closed".into())
        }
        sqlx::Error::Io(e) => StoreError::Unavailable(format!("database connection failed: {e}")),
        sqlx::Error::Tls(e) => StoreError::Unavailable(format!("database TLS failed: {e}")),
        sqlx::Error::WorkerCrashed => {
            StoreError::Unavailable("the database connection worker stopped".into())
        }
        sqlx::Error::Database(db) => database_error(db.as_ref()),
        other => StoreError::Internal(format!("database client error: {other}")),
    }
}

fn database_error(db: &dyn DatabaseError) -> StoreError {
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    match code.as_str() {
        // Class 08: connection exception; 57P01-57P03: the server is shutting
        // down, crashed or not accepting connections yet; 53300: too many
        // connections.
        c if c.starts_with("08") => {
            StoreError::Unavailable(format!("database connection lost ({c})"))
        }
        "57P01" | "57P02" | "57P03" | "53300" => {
            StoreError::Unavailable(format!("database not accepting work ({code})"))
        }
        // query_canceled: the statement timeout fired (a stuck lock or a
        // server that stopped making progress).
        "57014" => StoreError::Unavailable("a database statement took too long".into()),
        // serialization_failure, deadlock_detected, lock_not_available.
        "40001" | "40P01" | "55P03" => StoreError::Conflict,
        _ => StoreError::Internal(format!("database error {code}: {}", db.message())),
    }
}

/// The SQLSTATE and constraint name of a database error, if it is one.
pub(crate) fn violation(error: &sqlx::Error) -> Option<(String, Option<String>)> {
    match error {
        sqlx::Error::Database(db) => db
            .code()
            .map(|code| (code.into_owned(), db.constraint().map(str::to_owned))),
        _ => None,
    }
}

/// Whether the error is a unique violation (of `constraint`, if given).
pub(crate) fn is_unique_violation(error: &sqlx::Error, constraint: Option<&str>) -> bool {
    matches!(violation(error), Some((code, c))
        if code == UNIQUE_VIOLATION && constraint.is_none_or(|want| c.as_deref() == Some(want)))
}

/// Whether the error is a foreign-key violation.
pub(crate) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(violation(error), Some((code, _)) if code == FOREIGN_KEY_VIOLATION)
}

/// Maps an insert error: a unique violation is `AlreadyExists`, a missing
/// referenced row (the workspace) is `Missing`.
pub(crate) fn insert_error(error: sqlx::Error) -> StoreError {
    if is_unique_violation(&error, None) {
        StoreError::AlreadyExists
    } else if is_foreign_key_violation(&error) {
        StoreError::Missing
    } else {
        store_error(error)
    }
}

/// A stored value that the core refuses: the database broke an invariant.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("stored {what} is invalid: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable() {
        assert!(matches!(
            store_error(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            store_error(sqlx::Error::PoolClosed),
            StoreError::Unavailable(_)
        ));
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(matches!(
            store_error(sqlx::Error::Io(io)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            store_error(sqlx::Error::RowNotFound),
            StoreError::Internal(_)
        ));
    }
}
