//! Production adapters of the small `trash-core` ports, used by `trashd`
//! and by services that embed the core: the system clock, random ids from
//! the operating system's generator, pauses on the tokio timer, and a job
//! canceller for deployments without a job system.
//!
//! Test doubles (a manual clock, a recording canceller) live in
//! `trash-memory` beside the reference store.
#![warn(missing_docs)]

use std::sync::Arc;

use async_trait::async_trait;
use rand::distributions::Alphanumeric;
use rand::Rng;
use trash_core::domain::{Timestamp, TrainingId, WorkspaceSlug};
use trash_core::ports::{CancelError, Clock, IdGenerator, JobCanceller, Pause};
use trash_core::Runtime;

/// The real time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(chrono::Utc::now())
    }
}

/// Random ids and keys from the operating system's generator (through
/// `rand`'s thread-local CSPRNG, seeded from the OS).
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

    fn below(&self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            rand::thread_rng().gen_range(0..bound)
        }
    }
}

/// Pauses on the tokio timer (needs a tokio runtime with time enabled).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioPause;

#[async_trait]
impl Pause for TokioPause {
    async fn pause(&self, duration: chrono::Duration) {
        if let Ok(d) = duration.to_std() {
            tokio::time::sleep(d).await;
        }
    }
}

/// A canceller with nothing to cancel, for a deployment whose only record
/// of a training is the store's own (the trash transaction already marks it
/// cancelled): it always confirms.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopCanceller;

#[async_trait]
impl JobCanceller for NoopCanceller {
    async fn cancel(&self, _: &WorkspaceSlug, _: &TrainingId) -> Result<(), CancelError> {
        Ok(())
    }
}

/// The production [`Runtime`]: system clock, random ids, tokio pauses.
pub fn system_runtime() -> Runtime {
    Runtime {
        clock: Arc::new(SystemClock),
        ids: Arc::new(RandomIds),
        pause: Arc::new(TokioPause),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_alphanumeric_and_below_stays_below() {
        let id = RandomIds.alphanumeric(20);
        assert_eq!(id.len(), 20);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(id, RandomIds.alphanumeric(20), "two draws differ");
        assert_eq!(RandomIds.below(0), 0);
        assert!((0..1000).all(|_| RandomIds.below(3) < 3));
    }

    #[tokio::test]
    async fn pause_waits_on_the_tokio_timer() {
        let start = tokio::time::Instant::now();
        TokioPause.pause(chrono::Duration::milliseconds(20)).await;
        assert!(start.elapsed() >= std::time::Duration::from_millis(20));
        // A negative duration is no wait at all.
        TokioPause.pause(chrono::Duration::milliseconds(-5)).await;
    }
}
