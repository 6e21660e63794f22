//! Sign-in that cannot be flooded: a cap on concurrent password checks, and
//! throttles per account and per client address after repeated failures.
//!
//! Password checks (argon2id, about 19 MiB and tens of milliseconds each)
//! run on blocking threads; without a cap, a flood of bogus sign-ins grows
//! the process by one check's memory per request in flight. The cap keeps
//! at most [`SignInLimits::concurrent_checks`] running; a request waits for
//! a turn at most [`SignInLimits::wait_for_check`], then gets 429.
//!
//! Failures are counted per account (the e-mail as typed, known or not, so
//! the throttle is no oracle) and per client address, in a window; past the
//! limit that key is refused with 429 and `Retry-After` until the lockout
//! ends. Time comes from the clock port. The counters live in this process
//! (each replica counts its own) and are bounded in number.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use trash_core::domain::Timestamp;

/// Limits of the sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    /// Password checks running at once (default: the number of CPUs).
    pub concurrent_checks: usize,
    /// How long a sign-in waits for a turn before it gets 429 (default 2 s).
    pub wait_for_check: StdDuration,
    /// Failures of one account within `window` that lock it (default 5).
    pub account_failures: u32,
    /// Failures from one client address within `window` that lock it
    /// (default 20).
    pub address_failures: u32,
    /// The window failures are counted in (default 15 minutes).
    pub window: Duration,
    /// How long a locked account or address is refused (default 15 minutes).
    pub lockout: Duration,
    /// Most accounts and addresses tracked at once (default 10,000); past
    /// it the entries that matter least are dropped first.
    pub max_tracked: usize,
}

impl Default for SignInLimits {
    fn default() -> Self {
        SignInLimits {
            concurrent_checks: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            wait_for_check: StdDuration::from_secs(2),
            account_failures: 5,
            address_failures: 20,
            window: Duration::minutes(15),
            lockout: Duration::minutes(15),
            max_tracked: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Timestamp,
    locked_until: Option<Timestamp>,
}

/// What is throttled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// An account, by the e-mail typed (lower-cased).
    Account(String),
    /// A client address.
    Address(String),
}

/// The guard of the sign-in: the cap and the failure counters.
#[derive(Debug, Clone)]
pub struct SignInGuard {
    limits: SignInLimits,
    checks: Arc<Semaphore>,
    failures: Arc<Mutex<HashMap<ThrottleKey, Failures>>>,
}

impl SignInGuard {
    /// A guard with these limits.
    pub fn new(limits: SignInLimits) -> SignInGuard {
        SignInGuard {
            limits,
            checks: Arc::new(Semaphore::new(limits.concurrent_checks.max(1))),
            failures: Arc::default(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> SignInLimits {
        self.limits
    }

    /// The turns of the password checks (for tests and metrics: holding a
    /// permit keeps a sign-in from starting its check).
    pub fn checks(&self) -> Arc<Semaphore> {
        self.checks.clone()
    }

    /// A turn to check a password, or `None` after waiting too long.
    pub async fn turn(&self) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout(
            self.limits.wait_for_check,
            self.checks.clone().acquire_owned(),
        )
        .await
        .ok()?
        .ok()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ThrottleKey, Failures>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the latest lockout of any of `keys` ends, if one is in force.
    pub fn locked_until(&self, keys: &[ThrottleKey], now: Timestamp) -> Option<Timestamp> {
        let map = self.lock();
        keys.iter()
            .filter_map(|k| map.get(k)?.locked_until)
            .filter(|until| *until > now)
            .max()
    }

    fn limit_of(&self, key: &ThrottleKey) -> u32 {
        match key {
            ThrottleKey::Account(_) => self.limits.account_failures,
            ThrottleKey::Address(_) => self.limits.address_failures,
        }
        .max(1)
    }

    /// Counts a failed sign-in against every key; returns when the latest
    /// lockout it caused or found ends, if any.
    pub fn failed(&self, keys: &[ThrottleKey], now: Timestamp) -> Option<Timestamp> {
        let mut map = self.lock();
        if map.len() + keys.len() > self.limits.max_tracked {
            prune(&mut map, now, self.limits.max_tracked / 2);
        }
        let mut until = None;
        for key in keys {
            let limit = self.limit_of(key);
            let entry = map.entry(key.clone()).or_insert(Failures {
                count: 0,
                since: now,
                locked_until: None,
            });
            if now >= entry.since.plus(self.limits.window)
                && entry.locked_until.is_none_or(|u| u <= now)
            {
                *entry = Failures {
                    count: 0,
                    since: now,
                    locked_until: None,
                };
            }
            entry.count += 1;
            if entry.count >= limit {
                entry.locked_until = Some(now.plus(self.limits.lockout));
            }
            until = until.max(entry.locked_until.filter(|u| *u > now));
        }
        until
    }

    /// Forgets the failures of the keys (after a successful sign-in).
    pub fn succeeded(&self, keys: &[ThrottleKey]) {
        let mut map = self.lock();
        for key in keys {
            map.remove(key);
        }
    }

    /// How many accounts and addresses are tracked.
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }
}

/// Drops entries whose window and lockout are over, then, if still above
/// `keep`, the ones with the fewest failures.
fn prune(map: &mut HashMap<ThrottleKey, Failures>, now: Timestamp, keep: usize) {
    map.retain(|_, f| f.locked_until.is_some_and(|u| u > now) || f.count > 1);
    if map.len() > keep {
        let mut counts: Vec<(u32, ThrottleKey)> =
            map.iter().map(|(k, f)| (f.count, k.clone())).collect();
        counts.sort_by_key(|(count, _)| *count);
        for (_, key) in counts.into_iter().take(map.len() - keep) {
            map.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_800_000_000_000 + secs * 1000).expect("in range")
    }

    fn limits() -> SignInLimits {
        SignInLimits {
            concurrent_checks: 1,
            wait_for_check: StdDuration::from_millis(10),
            account_failures: 3,
            address_failures: 5,
            window: Duration::seconds(60),
            lockout: Duration::seconds(120),
            max_tracked: 10,
        }
    }

    #[test]
    fn failures_lock_a_key_for_the_lockout() {
        let g = SignInGuard::new(limits());
        let acct = [ThrottleKey::Account("a".into())];
        assert_eq!(g.failed(&acct, at(0)), None);
        assert_eq!(g.failed(&acct, at(1)), None);
        assert_eq!(g.failed(&acct, at(2)), Some(at(122)));
        assert_eq!(g.locked_until(&acct, at(121)), Some(at(122)));
        assert_eq!(g.locked_until(&acct, at(122)), None);
        // A new window after the lockout.
        assert_eq!(g.failed(&acct, at(130)), None);
        g.succeeded(&acct);
        assert_eq!(g.tracked(), 0);
        // Failures spread beyond the window never lock.
        for i in 0..10 {
            assert_eq!(g.failed(&acct, at(200 + i * 61)), None);
        }
    }

    #[test]
    fn the_address_limit_is_its_own() {
        let g = SignInGuard::new(limits());
        let addr = ThrottleKey::Address("10.0.0.1".into());
        for i in 0..4 {
            let keys = [ThrottleKey::Account(format!("u{i}")), addr.clone()];
            assert_eq!(g.failed(&keys, at(i)), None);
        }
        let keys = [ThrottleKey::Account("u9".into()), addr.clone()];
        assert_eq!(g.failed(&keys, at(5)), Some(at(125)));
        assert_eq!(
            g.locked_until(&[ThrottleKey::Account("fresh".into()), addr], at(6)),
            Some(at(125))
        );
    }

    #[test]
    fn the_counters_stay_bounded() {
        let g = SignInGuard::new(limits());
        for i in 0..1000 {
            g.failed(
                &[
                    ThrottleKey::Account(format!("u{i}")),
                    ThrottleKey::Address(format!("a{i}")),
                ],
                at(i),
            );
            assert!(g.tracked() <= 10, "{}", g.tracked());
        }
    }

    #[tokio::test]
    async fn a_turn_is_refused_while_every_check_is_taken() {
        let g = SignInGuard::new(limits());
        let held = g.turn().await.expect("free");
        assert!(g.turn().await.is_none());
        drop(held);
        assert!(g.turn().await.is_some());
    }
}
