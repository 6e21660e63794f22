//! Test doubles for the small ports: a manual clock, deterministic ids, a
//! pause that does not wait, and a recording job canceller. The production
//! adapters (system clock, random ids, tokio pauses, a no-op canceller) live
//! in `trash-runtime`.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use trash_core::domain::{Timestamp, TrainingId, WorkspaceSlug};
use trash_core::ports::{CancelError, Clock, IdGenerator, JobCanceller, Pause};

/// A clock that only moves when told to (for tests that travel in time).
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock(AtomicI64::new(start.unix_millis()))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: Timestamp) {
        self.0.store(at.unix_millis(), Ordering::SeqCst);
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        self.0.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.0.load(Ordering::SeqCst)).expect("clock in range")
    }
}

/// Deterministic ids: a seeded pseudo-random sequence (splitmix64), the same
/// for the same seed, shared safely between threads. Not for secrets.
#[derive(Debug)]
pub struct SeededIds(AtomicU64);

impl SeededIds {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> SeededIds {
        SeededIds(AtomicU64::new(seed))
    }

    fn next(&self) -> u64 {
        const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut z = self
            .0
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl IdGenerator for SeededIds {
    fn alphanumeric(&self, len: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| char::from(CHARS[(self.next() % CHARS.len() as u64) as usize]))
            .collect()
    }

    fn below(&self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next() % bound
        }
    }
}

/// A pause that returns at once (retries in tests need no real waiting).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPause;

#[async_trait]
impl Pause for NoPause {
    async fn pause(&self, _: chrono::Duration) {}
}

/// A canceller that records every call and can be told to fail (for tests).
#[derive(Debug, Default)]
pub struct RecordingCanceller {
    calls: Mutex<Vec<TrainingId>>,
    failing: AtomicBool,
}

impl RecordingCanceller {
    /// Makes later calls fail (`true`) or succeed (`false`).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Every training a cancellation was requested for, in call order
    /// (failed calls included).
    pub fn calls(&self) -> Vec<TrainingId> {
        self.calls.lock().expect("not poisoned").clone()
    }
}

#[async_trait]
impl JobCanceller for RecordingCanceller {
    async fn cancel(&self, _: &WorkspaceSlug, training: &TrainingId) -> Result<(), CancelError> {
        self.calls
            .lock()
            .expect("not poisoned")
            .push(training.clone());
        if self.failing.load(Ordering::SeqCst) {
            Err(CancelError("job system unreachable".into()))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_repeat_per_seed_and_stay_in_range() {
        let (a, b) = (SeededIds::new(7), SeededIds::new(7));
        let first = a.alphanumeric(20);
        assert_eq!(first, b.alphanumeric(20));
        assert_eq!(first.len(), 20);
        assert!(first.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(first, a.alphanumeric(20), "the sequence moves on");
        assert_ne!(first, SeededIds::new(8).alphanumeric(20));
        assert_eq!(a.below(0), 0);
        assert!((0..1000).all(|_| a.below(3) < 3));
        assert!((0..1000).any(|_| a.below(3) == 2));
    }
}
