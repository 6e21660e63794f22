//! Shutdown on SIGINT/SIGTERM: one signal asks every part of the process to
//! stop at its next safe point; a second one exits at once.

use tokio::sync::watch;

/// A handle that tells whether shutdown was requested, and waits for it.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// Requests shutdown for every [`Shutdown`] handle made from it.
#[derive(Debug)]
pub struct ShutdownTrigger {
    tx: watch::Sender<bool>,
}

impl ShutdownTrigger {
    /// Requests shutdown.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// A handle observing this trigger.
    pub fn handle(&self) -> Shutdown {
        Shutdown {
            rx: self.tx.subscribe(),
        }
    }
}

/// A trigger and a first handle.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger { tx }, Shutdown { rx })
}

impl Shutdown {
    /// Whether shutdown was requested.
    pub fn is_requested(&self) -> bool {
        *self.rx.borrow()
    }

    /// Completes once shutdown is requested (at once if it already was).
    pub async fn requested(mut self) {
        // An error means every trigger is gone: nobody can ask any more, so
        // waiting would be forever; treat it as a request.
        let _ = self.rx.wait_for(|stop| *stop).await;
    }
}

/// Listens for SIGINT and SIGTERM: the first one triggers shutdown, a
/// second one ends the process at once with status 130.
pub fn listen_for_signals(trigger: ShutdownTrigger) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};

    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(
            signal = name,
            "shutting down: no new connections; finishing requests in flight"
        );
        trigger.trigger();
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::warn!(signal = name, "second signal: exiting at once");
        std::process::exit(130);
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn handles_see_the_trigger() {
        let (trigger, handle) = channel();
        let other = trigger.handle();
        assert!(!handle.is_requested());
        let waiter = tokio::spawn(other.requested());
        trigger.trigger();
        waiter.await.unwrap();
        assert!(handle.is_requested());
        // Already requested: completes at once.
        handle.clone().requested().await;
    }
}
