//! Option values: storage URLs and durations, parsed once at the edge so the
//! rest of the binary only sees valid values.

use std::fmt;
use std::time::Duration;

use trash_core::domain::Retention;

/// Where the data lives, chosen by the scheme of `--database-url`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://PATH` (the embedded default). Holds the URL as given.
    Sqlite(String),
    /// `postgres://…` or `postgresql://…`. Holds the URL as given.
    Postgres(String),
    /// `memory://`: nothing survives the process.
    Memory,
}

/// The `--database-url` value was not one trashd understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    /// Nothing was given.
    #[error("the database URL is empty; use sqlite://PATH, postgres://… or memory://")]
    Empty,
    /// A scheme trashd has no store for.
    #[error("unsupported database URL scheme {0:?}; use sqlite://PATH, postgres://… or memory://")]
    Scheme(String),
    /// Not of the form `scheme://…`.
    #[error("{0:?} is not a database URL; use sqlite://PATH, postgres://… or memory://")]
    NotAUrl(String),
    /// `sqlite://` without a path.
    #[error("sqlite:// needs a file path, e.g. sqlite://trashd.db or sqlite:///var/lib/trashd/trashd.db")]
    NoSqlitePath,
}

impl DatabaseUrl {
    /// The default: `trashd.db` in the working directory.
    pub const DEFAULT: &'static str = "sqlite://trashd.db";

    /// Parses a storage URL by its scheme.
    pub fn parse(value: &str) -> Result<DatabaseUrl, DatabaseUrlError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(DatabaseUrlError::Empty);
        }
        let Some((scheme, rest)) = value.split_once(':') else {
            return Err(DatabaseUrlError::NotAUrl(redact(value)));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                let path = rest.trim_start_matches('/');
                let path = path.split('?').next().unwrap_or_default();
                if path.is_empty() {
                    return Err(DatabaseUrlError::NoSqlitePath);
                }
                Ok(DatabaseUrl::Sqlite(value.to_owned()))
            }
            "postgres" | "postgresql" => {
                if !rest.starts_with("//") {
                    return Err(DatabaseUrlError::NotAUrl(redact(value)));
                }
                Ok(DatabaseUrl::Postgres(value.to_owned()))
            }
            "memory" => Ok(DatabaseUrl::Memory),
            other if other.is_empty() || other.contains(['/', '\\', '.']) => {
                Err(DatabaseUrlError::NotAUrl(redact(value)))
            }
            other => Err(DatabaseUrlError::Scheme(other.to_owned())),
        }
    }

    /// The name of the storage kind, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
            DatabaseUrl::Memory => "memory",
        }
    }

    /// Whether data written by one process is visible to the next.
    pub fn is_persistent(&self) -> bool {
        !matches!(self, DatabaseUrl::Memory)
    }
}

/// Shows the URL with any password replaced by `***`, so it can be logged
/// and printed in error messages.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(url) | DatabaseUrl::Postgres(url) => f.write_str(&redact(url)),
            DatabaseUrl::Memory => f.write_str("memory://"),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Replaces the password of `scheme://user:password@host/…` (and any
/// `password=` query parameter) with `***`.
pub fn redact(url: &str) -> String {
    let mut out = match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
                    None => url.to_owned(),
                },
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    };
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let cleaned: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{base}{}", cleaned.join("&"));
    }
    out
}

/// Parses a human duration such as `2s`, `90s`, `15m` or `30d`.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("a duration is required, e.g. 90s, 15m or 30d".into());
    }
    humantime::parse_duration(value)
        .map_err(|e| format!("{value:?} is not a duration ({e}); use e.g. 90s, 15m or 30d"))
}

/// Parses `--retention`: a duration between one second and 3650 days.
pub fn parse_retention(value: &str) -> Result<Retention, String> {
    let d = parse_duration(value)?;
    let d = chrono::Duration::from_std(d)
        .map_err(|_| "the retention must be between 1 second and 3650 days".to_owned())?;
    Retention::new(d).map_err(|_| "the retention must be between 1 second and 3650 days".into())
}

/// Parses `--cleanup-interval`: a duration between 100 milliseconds and one day.
pub fn parse_interval(value: &str) -> Result<Duration, String> {
    let d = parse_duration(value)?;
    if d < Duration::from_millis(100) || d > Duration::from_secs(86_400) {
        return Err("the cleanup interval must be between 100ms and 1 day".into());
    }
    Ok(d)
}

/// Parses `--purge-notice`: a duration of at most 3650 days (`0s` sends
/// the notice at `scheduledCleanupAt` itself).
pub fn parse_purge_notice(value: &str) -> Result<Duration, String> {
    let d = parse_duration(value)?;
    if d > Duration::from_secs(3650 * 86_400) {
        return Err("the purge notice must be at most 3650 days".into());
    }
    Ok(d)
}

/// Parses `--outbox-retention`: a duration between one hour and 3650 days.
pub fn parse_outbox_retention(value: &str) -> Result<Duration, String> {
    let d = parse_duration(value)?;
    if d < Duration::from_secs(3600) || d > Duration::from_secs(3650 * 86_400) {
        return Err("the outbox retention must be between 1 hour and 3650 days".into());
    }
    Ok(d)
}

/// Parses a timeout: a duration between 1 millisecond and one hour.
pub fn parse_timeout(value: &str) -> Result<Duration, String> {
    let d = parse_duration(value)?;
    if d < Duration::from_millis(1) || d > Duration::from_secs(3600) {
        return Err("the timeout must be between 1ms and 1 hour".into());
    }
    Ok(d)
}

/// Parses `--session-ttl`: a duration between one minute and 30 days.
pub fn parse_session_ttl(value: &str) -> Result<Duration, String> {
    let d = parse_duration(value)?;
    if d < Duration::from_secs(60) || d > Duration::from_secs(30 * 86_400) {
        return Err("the session lifetime must be between 1 minute and 30 days".into());
    }
    Ok(d)
}

/// Formats a duration the way it is written on the command line (`30days`, `2s`).
pub fn format_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_by_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://trashd.db"),
            Ok(DatabaseUrl::Sqlite("sqlite://trashd.db".into()))
        );
        assert!(matches!(
            DatabaseUrl::parse("sqlite:///var/lib/x.db?mode=rwc"),
            Ok(DatabaseUrl::Sqlite(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgres://u:p@127.0.0.1:5432/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://127.0.0.1/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert_eq!(DatabaseUrl::parse("memory://"), Ok(DatabaseUrl::Memory));
        assert_eq!(
            DatabaseUrl::parse("mysql://localhost/db"),
            Err(DatabaseUrlError::Scheme("mysql".into()))
        );
        assert_eq!(DatabaseUrl::parse("  "), Err(DatabaseUrlError::Empty));
        assert_eq!(
            DatabaseUrl::parse("sqlite://"),
            Err(DatabaseUrlError::NoSqlitePath)
        );
        assert!(matches!(
            DatabaseUrl::parse("trashd.db"),
            Err(DatabaseUrlError::NotAUrl(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgres:db"),
            Err(DatabaseUrlError::NotAUrl(_))
        ));
    }

    #[test]
    fn passwords_never_show() {
        let url =
            DatabaseUrl::parse("postgres://app:s3cret@db:5432/trash?sslmode=require").unwrap();
        let shown = url.to_string();
        assert_eq!(shown, "postgres://app:***@db:5432/trash?sslmode=require");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(
            redact("postgres://db/trash?user=a&password=hunter2"),
            "postgres://db/trash?user=a&password=***"
        );
        assert_eq!(redact("postgres://app@db/x"), "postgres://app@db/x");
        let err = DatabaseUrl::parse("mysql://root:pw@h/x")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("pw@"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert!(parse_duration("soon")
            .unwrap_err()
            .contains("not a duration"));
        assert!(parse_duration("").is_err());
        assert_eq!(
            parse_retention("30d").unwrap().duration(),
            chrono::Duration::days(30)
        );
        assert!(parse_retention("500ms").is_err());
        assert!(parse_retention("4000d").is_err());
        assert!(parse_interval("1s").is_ok());
        assert!(parse_interval("10ms").is_err());
        assert!(parse_timeout("0s").is_err());
        assert_eq!(parse_session_ttl("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert!(parse_session_ttl("10s").is_err());
        assert_eq!(format_duration(Duration::from_secs(90)), "1m 30s");
    }
}
