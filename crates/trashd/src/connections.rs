//! Serving TCP connections so that clients cannot exhaust the process:
//! HTTP/1.1 through hyper with a real timer, a header-read timeout, an
//! idle (keep-alive) timeout, and a cap on open connections kept below the
//! open-file limit.
//!
//! - A connection holds one of `max_connections` slots from accept to
//!   close. With every slot taken the server stops accepting; new
//!   connections wait in the kernel's backlog (they cost the process no
//!   file descriptor) until a slot frees, so `accept` never fails with
//!   "too many open files".
//! - The header-read timeout bounds how long the server waits for a
//!   complete request head, from the moment it starts waiting (connection
//!   opened, or previous answer sent): a client trickling one header line
//!   every few seconds is cut off.
//! - The idle timeout closes a connection that has no request in flight and
//!   has neither sent nor received a byte for that long (a connection that
//!   never sends a request, or an unused keep-alive connection). An idle
//!   connection is closed by whichever of the two timeouts comes first.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How connections are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Longest wait for a complete request head (default 10 s).
    pub header_read_timeout: Duration,
    /// Longest silence on a connection with no request in flight (default 5 s).
    pub idle_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

/// File descriptors kept free of client connections, besides the database
/// pool: the listener, log and database files, DNS, and some slack.
pub const RESERVED_FILES: u64 = 64;

/// Raises the soft limit on open files to the hard limit, and returns the
/// soft limit now in force (`None` where it cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft)
        }
    }
}

/// The connection cap actually used: `requested`, lowered if needed so
/// that connections plus `reserved` descriptors stay below `file_limit`
/// (never below 1).
pub fn effective_max_connections(
    requested: usize,
    file_limit: Option<u64>,
    reserved: u64,
) -> usize {
    match file_limit {
        Some(limit) => {
            let room = limit.saturating_sub(reserved).max(1);
            requested.min(usize::try_from(room).unwrap_or(usize::MAX))
        }
        None => requested,
    }
}

/// What a connection has been doing, shared by its byte stream, its
/// requests and the task that closes it when idle.
#[derive(Debug)]
struct Activity {
    opened: Instant,
    /// Milliseconds after `opened` of the last byte read or written, or
    /// the last request finished.
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            opened: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.touch();
        InFlight(self.clone())
    }

    /// Resolves once nothing is in flight and nothing moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let quiet = self.opened.elapsed().saturating_sub(last);
            let busy = self.in_flight.load(Ordering::Acquire) > 0;
            if !busy && quiet >= limit {
                return;
            }
            let wait = if busy { limit } else { limit - quiet };
            tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
        }
    }
}

/// A request in flight on a connection; ends when dropped.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A TCP stream that records when bytes move.
struct Tracked {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Errors of `accept` that concern one connection only (it was reset
/// before it was accepted); the next `accept` may well succeed.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops
/// accepting, lets every open connection finish the request it is on,
/// and returns once all are closed. Each request carries the peer's
/// address as [`ConnectInfo`] (a `SocketAddr`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    // Under a flood the cap is reached again each time a slot frees: say so
    // at most once a minute.
    let mut last_full_log: Option<Instant> = None;
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if last_full_log.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection cap reached; new connections wait until one closes"
                    );
                    last_full_log = Some(Instant::now());
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed; retrying shortly");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Tracked {
            stream,
            activity: activity.clone(),
        });
        let requests = activity.clone();
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let in_flight = requests.begin();
            let app = app.clone();
            async move {
                let answer = app.oneshot(req).await;
                drop(in_flight);
                Ok::<_, Infallible>(answer.unwrap_or_else(|never| match never {}))
            }
        });
        let connection = graceful.watch(http.serve_connection(io, service));
        let idle_timeout = limits.idle_timeout;
        tokio::spawn(async move {
            tokio::select! {
                served = connection => {
                    if let Err(e) = served {
                        tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
                    }
                }
                () = activity.idle_for(idle_timeout) => {
                    tracing::debug!(peer = %peer, "closing an idle connection");
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_below_the_file_limit() {
        assert_eq!(effective_max_connections(4096, Some(1024), 64), 960);
        assert_eq!(effective_max_connections(100, Some(1024), 64), 100);
        assert_eq!(effective_max_connections(100, None, 64), 100);
        assert_eq!(effective_max_connections(100, Some(10), 64), 1);
    }

    #[test]
    fn the_soft_file_limit_is_raised_to_the_hard_one() {
        let limit = raise_open_file_limit().expect("readable on this platform");
        let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        assert_eq!(limit, soft);
        assert!(soft == hard || hard == rlimit::INFINITY, "{soft} < {hard}");
    }

    #[tokio::test]
    async fn idleness_waits_for_requests_in_flight() {
        let activity = Arc::new(Activity::new());
        let guard = activity.begin();
        let idle = tokio::time::timeout(
            Duration::from_millis(150),
            activity.idle_for(Duration::from_millis(20)),
        )
        .await;
        assert!(idle.is_err(), "idle while a request was in flight");
        drop(guard);
        tokio::time::timeout(
            Duration::from_secs(5),
            activity.idle_for(Duration::from_millis(20)),
        )
        .await
        .expect("idle once the request ended");
    }
}
