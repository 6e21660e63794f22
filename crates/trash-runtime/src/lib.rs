//! Production adapters of the small `trash-core` ports, used by `trashd`
//! and by services that embed the core: the system clock, random ids from
//! the operating system's generator, pauses on the tokio timer, and a job
//! canceller for deployments without a job system.
//!
//! Test doubles (a manual clock, a recording canceller) live in
//! `trash-memory` beside the reference store.
#![warn(missing_docs)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rand::distributions::Alphanumeric;
use rand::Rng;
use trash_core::domain::{AggregateId, Timestamp, TrainingId, WorkspaceSlug};
use trash_core::ports::{
    AggregateLock, AggregateLocks, CancelError, Clock, IdGenerator, JobCanceller, Pause,
};
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

type LockMap = Arc<Mutex<HashMap<AggregateId, Arc<tokio::sync::Mutex<()>>>>>;

/// Turn-taking of the writers of one aggregate inside this process: a fair
/// (FIFO) tokio mutex per aggregate, created on first use and dropped when
/// nobody holds or waits for it, so memory follows the aggregates being
/// written right now, not every aggregate ever written.
#[derive(Debug, Clone, Default)]
pub struct LocalLocks {
    map: LockMap,
}

impl LocalLocks {
    /// How many aggregates have a lock right now (held or waited for).
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether no aggregate has a lock right now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

struct Turn {
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    map: LockMap,
    key: AggregateId,
}

impl Drop for Turn {
    fn drop(&mut self) {
        drop(self.guard.take());
        if let Ok(mut map) = self.map.lock() {
            // Only the map's own reference left: nobody holds or waits.
            if map
                .get(&self.key)
                .is_some_and(|m| Arc::strong_count(m) == 1)
            {
                map.remove(&self.key);
            }
        }
    }
}

#[async_trait]
impl AggregateLocks for LocalLocks {
    async fn lock(&self, aggregate: &AggregateId) -> AggregateLock {
        let mutex = match self.map.lock() {
            Ok(mut map) => map.entry(aggregate.clone()).or_default().clone(),
            // A poisoned map only loses the turn-taking; the guard stays.
            Err(_) => return AggregateLock::unheld(),
        };
        let guard = mutex.lock_owned().await;
        AggregateLock::held(Turn {
            guard: Some(guard),
            map: self.map.clone(),
            key: aggregate.clone(),
        })
    }
}

/// The production [`Runtime`]: system clock, random ids, tokio pauses, and
/// turn-taking of one process's writers per aggregate.
pub fn system_runtime() -> Runtime {
    Runtime {
        clock: Arc::new(SystemClock),
        ids: Arc::new(RandomIds),
        pause: Arc::new(TokioPause),
        locks: Arc::new(LocalLocks::default()),
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

    fn project(n: u8) -> AggregateId {
        AggregateId::Project(
            trash_core::domain::ProjectId::parse(&format!("p000000000000000000{n}")).unwrap(),
        )
    }

    #[tokio::test]
    async fn writers_of_one_aggregate_take_turns_and_others_do_not_wait() {
        let locks = LocalLocks::default();
        let first = locks.lock(&project(1)).await;
        assert!(first.is_held());
        // Another aggregate is not held up.
        let other =
            tokio::time::timeout(std::time::Duration::from_secs(5), locks.lock(&project(2)))
                .await
                .expect("another aggregate does not wait");
        assert_eq!(locks.len(), 2);
        // The same aggregate waits until the first turn ends.
        let locks2 = locks.clone();
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let waiter = tokio::spawn(async move {
            let turn = locks2.lock(&project(1)).await;
            tx.send(()).unwrap();
            drop(turn);
        });
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(rx.try_recv().is_err(), "second writer waits for its turn");
        drop(first);
        waiter.await.unwrap();
        drop(other);
        assert!(locks.is_empty(), "locks nobody holds are forgotten");
    }
}
