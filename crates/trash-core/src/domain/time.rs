//! Timestamps (millisecond precision) and the retention window.

use std::fmt;

use chrono::{DateTime, Duration, SubsecRound, Utc};

use super::ids::InvalidValue;

/// An instant in UTC with millisecond precision, the precision of the wire
/// format. Every store round-trips it exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Truncates an instant to whole milliseconds.
    pub fn from_datetime(at: DateTime<Utc>) -> Timestamp {
        Timestamp(at.trunc_subsecs(3))
    }

    /// The instant `millis` milliseconds after the Unix epoch; `None` if out of range.
    pub fn from_unix_millis(millis: i64) -> Option<Timestamp> {
        DateTime::<Utc>::from_timestamp_millis(millis).map(Timestamp)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// The instant as a `chrono` value.
    pub fn as_datetime(self) -> DateTime<Utc> {
        self.0
    }

    /// RFC 3339 in UTC with milliseconds: `2026-11-27T21:40:34.123Z`.
    pub fn to_rfc3339(self) -> String {
        self.0.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// This instant plus a duration (saturating at the end of representable time).
    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(
            self.0
                .checked_add_signed(d)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
        .trunc()
    }

    fn trunc(self) -> Timestamp {
        Timestamp::from_datetime(self.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// How long a trashed item is kept before cleanup may remove it (default 30
/// days). At least one second, at most ten years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(Duration);

impl Retention {
    /// The default retention: 30 days.
    pub fn thirty_days() -> Retention {
        Retention(Duration::days(30))
    }

    /// A retention of the given length; refuses less than a second or more than ten years.
    pub fn new(d: Duration) -> Result<Retention, InvalidValue> {
        if d < Duration::seconds(1) || d > Duration::days(3650) {
            return Err(InvalidValue::OutOfRange {
                what: "retention",
                detail: "must be between 1 second and 3650 days",
            });
        }
        Ok(Retention(d))
    }

    /// The length of the window.
    pub fn duration(self) -> Duration {
        self.0
    }

    /// When an item trashed at `deleted_at` is scheduled for cleanup.
    pub fn cleanup_at(self, deleted_at: Timestamp) -> Timestamp {
        deleted_at.plus(self.0)
    }
}

impl Default for Retention {
    fn default() -> Self {
        Retention::thirty_days()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_millisecond_precise() {
        let t = Timestamp::from_unix_millis(1_796_000_000_123).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-30T00:53:20.123Z");
        let fine = t.as_datetime() + Duration::nanoseconds(999_999);
        assert_eq!(Timestamp::from_datetime(fine), t);
    }

    #[test]
    fn retention_bounds() {
        assert!(Retention::new(Duration::milliseconds(999)).is_err());
        assert!(Retention::new(Duration::days(3651)).is_err());
        let r = Retention::new(Duration::seconds(2)).unwrap();
        let t = Timestamp::from_unix_millis(0).unwrap();
        assert_eq!(r.cleanup_at(t).unix_millis(), 2000);
        assert_eq!(Retention::default().duration(), Duration::days(30));
    }
}
