//! Password checks on a fixed set of worker threads, each reusing one
//! argon2 memory buffer.
//!
//! An argon2id check with the default parameters fills about 19 MiB. Run
//! on the runtime's blocking pool, every check may land on a new thread
//! whose allocator arena keeps that memory afterwards, so a flood of
//! sign-ins grows the process by gigabytes that are never given back.
//! Here `workers` threads (the cap of [`SignInLimits`](crate::SignInLimits))
//! take the checks in turn, each filling the same buffer every time: the
//! memory of password checks is `workers × 19 MiB`, allocated once.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use argon2::password_hash::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

struct Job {
    stored: String,
    password: String,
    reply: oneshot::Sender<bool>,
}

/// Checks passwords against stored PHC strings on its worker threads. The
/// workers stop when the last clone is dropped.
#[derive(Clone)]
pub struct PasswordChecker {
    jobs: SyncSender<Job>,
}

impl std::fmt::Debug for PasswordChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChecker")
    }
}

impl PasswordChecker {
    /// Starts `workers` threads (at least one). At most `workers` checks
    /// wait in the queue besides those running; callers are expected to
    /// take a turn first (see `SignInGuard::turn`).
    pub fn start(workers: usize) -> PasswordChecker {
        let workers = workers.max(1);
        let (jobs, queue) = sync_channel::<Job>(workers);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..workers {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-check-{n}"))
                .spawn(move || work(&queue));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-check thread");
            }
        }
        PasswordChecker { jobs }
    }

    /// Whether `password` matches the stored PHC string. `false` for a
    /// string that cannot be parsed, and if no worker can take the check.
    pub async fn check(&self, stored: String, password: String) -> bool {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            stored,
            password,
            reply,
        };
        let queued = match self.jobs.try_send(job) {
            Ok(()) => true,
            Err(TrySendError::Full(job)) => {
                // Only when callers skip their turn: wait off the runtime.
                let jobs = self.jobs.clone();
                tokio::task::spawn_blocking(move || jobs.send(job).is_ok())
                    .await
                    .unwrap_or(false)
            }
            Err(TrySendError::Disconnected(_)) => false,
        };
        queued && answer.await.unwrap_or(false)
    }
}

fn work(queue: &Mutex<Receiver<Job>>) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = {
            let Ok(queue) = queue.lock() else { return };
            match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let ok = verify(&job.stored, job.password.as_bytes(), &mut memory);
        let _ = job.reply.send(ok);
    }
}

/// Argon2 verification of `password` against a PHC string, filling
/// `memory` (grown to the hash's size once, then reused).
pub fn verify(stored: &str, password: &[u8], memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    if argon
        .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..])
        .is_err()
    {
        return false;
    }
    out.ct_eq(expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checks_agree_with_the_argon2_crate() {
        let stored = crate::hash_password("correct horse").unwrap();
        let mut memory = Vec::new();
        assert!(verify(&stored, b"correct horse", &mut memory));
        assert!(!verify(&stored, b"correct horsf", &mut memory));
        assert!(!verify("not a hash", b"x", &mut memory));
        assert!(
            verify(&stored, b"correct horse", &mut memory),
            "buffer reused"
        );
        let checker = PasswordChecker::start(2);
        let answers = futures_like_join(&checker, &stored).await;
        assert_eq!(answers, [true, false, true, false]);
    }

    async fn futures_like_join(checker: &PasswordChecker, stored: &str) -> Vec<bool> {
        let mut tasks = Vec::new();
        for pw in ["correct horse", "nope", "correct horse", ""] {
            let (c, s) = (checker.clone(), stored.to_owned());
            tasks.push(tokio::spawn(async move { c.check(s, pw.to_owned()).await }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }
}
