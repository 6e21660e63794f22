//! Reference adapters for the small ports: clocks, id generators and job cancellers.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use rand::distributions::Alphanumeric;
use rand::Rng;
use trash_core::domain::{Timestamp, TrainingId, WorkspaceSlug};
use trash_core::ports::{CancelError, Clock, IdGenerator, JobCanceller};

/// The real time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(chrono::Utc::now())
    }
}

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

/// Random ids from the operating system's generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl IdGenerator for RandomIds {
    fn alphanumeric(&self, len: usize) -> String {
        rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(len)
            .map(char::from)
            .collect()
    }
}

/// A canceller with nothing to cancel (the store's own training status is
/// the whole job): always succeeds.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopCanceller;

#[async_trait]
impl JobCanceller for NoopCanceller {
    async fn cancel(&self, _: &WorkspaceSlug, _: &TrainingId) -> Result<(), CancelError> {
        Ok(())
    }
}

/// A canceller that records every call and can be told to fail (for tests).
#[derive(Debug, Default)]
pub struct RecordingCanceller {
    calls: Mutex<Vec<TrainingId>>,
    failing: std::sync::atomic::AtomicBool,
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
