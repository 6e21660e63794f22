//! Web sign-in sessions: what is stored, and when one has ended.

use chrono::Duration;

use super::ids::UserId;
use super::principal::KeyHash;
use super::time::Timestamp;

/// A web session as stored: the SHA-256 of its token (never the token
/// itself), whose it is, and when it started and was last used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the token kept in the browser's cookie.
    pub hash: KeyHash,
    /// The signed-in user.
    pub user: UserId,
    /// When the user signed in.
    pub created_at: Timestamp,
    /// When the session was last used (updated at most every
    /// [`SessionPolicy::touch_every`]).
    pub last_seen_at: Timestamp,
}

/// How long web sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused for this long has ended (default 2 hours).
    pub idle: Duration,
    /// A session this old has ended, used or not (default 12 hours).
    pub absolute: Duration,
    /// How stale `last_seen_at` may get before a use writes it again
    /// (default 1 minute), so that reading a page is not a write each time.
    pub touch_every: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle: Duration::hours(2),
            absolute: Duration::hours(12),
            touch_every: Duration::minutes(1),
        }
    }
}

/// What a session is worth at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCheck {
    /// Unused for longer than the idle limit, or older than the absolute one.
    Ended,
    /// Still valid; `touch` says whether `last_seen_at` should be written.
    Valid {
        /// Whether to record this use.
        touch: bool,
    },
}

impl SessionPolicy {
    /// Whether `session` is still valid at `now`: strictly before both its
    /// idle and its absolute end.
    pub fn check(&self, session: &SessionRecord, now: Timestamp) -> SessionCheck {
        if now >= session.last_seen_at.plus(self.idle)
            || now >= session.created_at.plus(self.absolute)
        {
            return SessionCheck::Ended;
        }
        SessionCheck::Valid {
            touch: now >= session.last_seen_at.plus(self.touch_every),
        }
    }

    /// The instant until which a session must be kept at least, seen at
    /// `now`: sessions last seen before `now - idle` or created before
    /// `now - absolute` have ended and may be removed.
    pub fn ended_before(&self, now: Timestamp) -> (Timestamp, Timestamp) {
        (now.plus(-self.idle), now.plus(-self.absolute))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_800_000_000_000 + secs * 1000).expect("in range")
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let policy = SessionPolicy {
            idle: Duration::seconds(100),
            absolute: Duration::seconds(1000),
            touch_every: Duration::seconds(10),
        };
        let mut s = SessionRecord {
            hash: KeyHash::of("t"),
            user: UserId::parse("uuuuuuuuuuuuuuuuuuuu").expect("valid"),
            created_at: at(0),
            last_seen_at: at(0),
        };
        assert_eq!(
            policy.check(&s, at(5)),
            SessionCheck::Valid { touch: false }
        );
        assert_eq!(
            policy.check(&s, at(10)),
            SessionCheck::Valid { touch: true }
        );
        assert_eq!(
            policy.check(&s, at(99)),
            SessionCheck::Valid { touch: true }
        );
        assert_eq!(policy.check(&s, at(100)), SessionCheck::Ended);
        s.last_seen_at = at(950);
        assert_eq!(
            policy.check(&s, at(999)),
            SessionCheck::Valid { touch: true }
        );
        assert_eq!(policy.check(&s, at(1000)), SessionCheck::Ended);
        assert_eq!(policy.ended_before(at(1000)), (at(900), at(0)));
    }
}
