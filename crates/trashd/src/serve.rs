//! `trashd serve`: the HTTP server and the cleanup loop, with graceful
//! shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use trash_core::Services;
use trash_web::WebConfig;

use crate::cleanup::{self, LoopSettings};
use crate::cli::ServeArgs;
use crate::compose;
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

/// Serves until shutdown is requested: stops accepting, lets requests in
/// flight finish (for at most `shutdown_timeout`), stops the cleanup loop
/// between batches, and returns. With `metrics`, also serves `/metrics` on
/// its own listener and counts every request.
pub async fn run(
    services: Services,
    listener: TcpListener,
    args: &ServeArgs,
    web: WebConfig,
    metrics: Option<MetricsEndpoint>,
    shutdown: Shutdown,
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
            "no session secret given: web sign-ins last until this process stops (set TRASHD_SESSION_SECRET to keep them across restarts and replicas)"
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

    let app = compose::observed_app(services, web, observed);
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.clone().requested());
    tracing::info!(
        addr = %addr,
        retention = %crate::config::format_duration(args.retention.duration().to_std().unwrap_or_default()),
        "listening on http://{addr}"
    );
    let mut server = tokio::spawn(async move { server.await });

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
