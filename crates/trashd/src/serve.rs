//! `trashd serve`: the HTTP server and the cleanup loop, with graceful
//! shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use trash_core::Services;

use crate::cleanup::{self, LoopSettings};
use crate::cli::ServeArgs;
use crate::compose;
use crate::connections::{self, ConnectionLimits};
use crate::error::Failure;
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

/// Binds the listening socket.
pub async fn bind(listen: &str) -> Result<TcpListener, Failure> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| Failure::failed(format!("cannot listen on {listen}: {e}")))?;
    Ok(listener)
}

/// The address a listener is bound to.
pub fn local_addr(listener: &TcpListener) -> Result<SocketAddr, Failure> {
    listener
        .local_addr()
        .map_err(|e| Failure::failed(format!("cannot read the listening address: {e}")))
}

/// `/metrics` and the listener it is served on (`--metrics-listen`).
pub struct MetricsEndpoint {
    /// The process's metrics.
    pub metrics: Arc<Metrics>,
    /// The separate listener.
    pub listener: TcpListener,
}

/// The connection limits of `args`, after raising the soft open-file limit
/// to the hard one; the cap is lowered (with a warning) to leave room for
/// the database pool and the process's own files.
pub fn connection_limits(args: &ServeArgs, db_connections: u32) -> ConnectionLimits {
    let requested = args.connections.max_connections as usize;
    let file_limit = connections::raise_open_file_limit();
    let reserved = connections::RESERVED_FILES + u64::from(db_connections);
    let max_connections = connections::effective_max_connections(requested, file_limit, reserved);
    if max_connections < requested {
        tracing::warn!(
            requested,
            max_connections,
            open_file_limit = file_limit.unwrap_or_default(),
            "--max-connections lowered to stay below the open-file limit"
        );
    }
    ConnectionLimits {
        header_read_timeout: args.connections.header_read_timeout,
        idle_timeout: args.connections.keep_alive_timeout,
        max_connections,
    }
}

/// Serves until shutdown is requested: stops accepting, lets requests in
/// flight finish (for at most `shutdown_timeout`), stops the cleanup loop
/// between batches, and returns. With `metrics`, also serves `/metrics` on
/// its own listener and counts every request. `db_connections` (the
/// database pool's size) is kept free of client connections under the
/// open-file limit.
pub async fn run(
    services: Services,
    listener: TcpListener,
    args: &ServeArgs,
    web: compose::Web,
    metrics: Option<MetricsEndpoint>,
    shutdown: Shutdown,
    db_connections: u32,
) -> Result<(), Failure> {
    let addr = local_addr(&listener)?;
    let observed = metrics.as_ref().map(|m| m.metrics.clone());
    if let Some(endpoint) = metrics {
        let metrics_addr = local_addr(&endpoint.listener)?;
        let server = axum::serve(endpoint.listener, crate::metrics::router(endpoint.metrics))
            .with_graceful_shutdown(shutdown.clone().requested());
        tracing::info!(addr = %metrics_addr, "metrics at http://{metrics_addr}/metrics");
        tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::warn!(error = %e, "the metrics listener failed");
            }
        });
    }
    if args.web.session_secret.is_none() {
        tracing::info!(
            "no session secret given: web forms loaded before a restart must be reloaded (set TRASHD_SESSION_SECRET, the same on every replica)"
        );
    }
    let cleanup = if args.no_cleanup {
        tracing::info!("cleanup loop disabled in this process (--no-cleanup)");
        None
    } else {
        Some(tokio::spawn(cleanup::run_loop(
            services.trash.clone(),
            LoopSettings {
                interval: args.cleanup.cleanup_interval,
                batch: args.cleanup.cleanup_batch,
                metrics: observed.clone(),
            },
            shutdown.clone(),
        )))
    };

    // "Empty Trash" jobs run in every serving process (one job is worked on
    // by one process at a time; a stopped one is resumed by any of them).
    let empty_jobs = tokio::spawn(crate::empty_jobs::run_loop(
        services.empty_jobs.clone(),
        shutdown.clone(),
    ));

    let edge = compose::edge_config(&args.rate_limits);
    let app = compose::observed_app(services, web, edge.clone(), observed);
    let limits = connection_limits(args, db_connections);
    let server = connections::serve(listener, app, limits, shutdown.clone().requested());
    tracing::info!(
        addr = %addr,
        max_connections = limits.max_connections,
        header_read_timeout = %crate::config::format_duration(limits.header_read_timeout),
        keep_alive_timeout = %crate::config::format_duration(limits.idle_timeout),
        rate_limit = edge.per_key.map_or(0, |n| n.get()),
        ip_rate_limit = edge.per_client.map_or(0, |n| n.get()),
        trusted_proxies = edge.trusted_proxies.len(),
        retention = %crate::config::format_duration(args.retention.duration().to_std().unwrap_or_default()),
        "listening on http://{addr}"
    );
    let mut server = tokio::spawn(async move {
        server.await;
        Ok::<(), std::io::Error>(())
    });

    let served = tokio::select! {
        done = &mut server => Some(done),
        _ = shutdown.clone().requested() => None,
    };
    let served = match served {
        Some(done) => done,
        None => match tokio::time::timeout(args.shutdown_timeout, &mut server).await {
            Ok(done) => done,
            Err(_) => {
                tracing::warn!(
                    timeout = %crate::config::format_duration(args.shutdown_timeout),
                    "requests still in flight after the shutdown timeout; closing them"
                );
                server.abort();
                Ok(Ok(()))
            }
        },
    };
    // A job cut off here keeps its stored progress; it is resumed after
    // its claim runs out.
    empty_jobs.abort();
    if let Some(handle) = cleanup {
        if !shutdown.is_requested() {
            // The server ended on its own (an error): nothing is left to serve.
            handle.abort();
        }
        // The loop stops between batches; a batch is one short transaction
        // per operation, so this wait is bounded.
        if tokio::time::timeout(Duration::from_secs(60), handle)
            .await
            .is_err()
        {
            tracing::warn!("the cleanup loop did not stop in time");
        }
    }
    match served {
        Ok(Ok(())) => {
            tracing::info!("stopped");
            Ok(())
        }
        Ok(Err(e)) => Err(Failure::failed(format!("the HTTP server failed: {e}"))),
        Err(e) => Err(Failure::failed(format!("the HTTP server task failed: {e}"))),
    }
}
