//! # trashd
//!
//! The binary that operators run: it parses the command line ([`cli`]),
//! builds the adapters once ([`compose`], the composition root) and runs one
//! command: `serve`, `migrate`, `cleanup`, `admin …` or `quickstart`.
//! Everything with rules lives in `trash-core`; everything with HTTP in
//! `trash-http-axum`; storage in `trash-sqlite` / `trash-postgres` /
//! `trash-memory`; the clock, random ids and pauses in `trash-runtime`.
#![warn(missing_docs)]

pub mod admin;
pub mod cleanup;
pub mod cli;
pub mod compose;
pub mod config;
pub mod connections;
pub mod empty_jobs;
pub mod error;
pub mod metrics;
pub mod password;
pub mod quickstart;
pub mod serve;
pub mod shutdown;
pub mod webhooks;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use trash_core::domain::Retention;

use crate::cli::{Cli, Command, GlobalArgs, LogFormat};
use crate::compose::StorageOptions;
use crate::config::DatabaseUrl;
use crate::error::Failure;

/// Parses the command line, runs the command, and returns the exit status:
/// 0 on success, 1 when the command failed, 2 for bad usage.
pub fn main_entry() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version on stdout and errors on stderr, with
            // its own exit code (0 for --help, 2 for bad usage).
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    let database_url = match cli.global.database_url() {
        Ok(url) => url,
        Err(e) => return report(&e),
    };
    init_logging(cli.global.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(&Failure::failed(format!("cannot start the runtime: {e}"))),
    };
    let result = runtime.block_on(run(cli, database_url));
    // Do not wait for blocking tasks (e.g. a password prompt) at exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

fn report(e: &Failure) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {e}");
    e.exit_code()
}

/// Structured logs on stderr. The filter comes from `TRASHD_LOG`, else
/// `RUST_LOG`, else `info` (SQL drivers only from `warn`).
fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;

    const DEFAULT: &str = "info,sqlx=warn";
    let spec = std::env::var("TRASHD_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .filter(|s| !s.trim().is_empty());
    let (filter, refused) = match spec.as_deref().map(EnvFilter::try_new) {
        Some(Ok(filter)) => (filter, false),
        Some(Err(_)) => (EnvFilter::new(DEFAULT), true),
        None => (EnvFilter::new(DEFAULT), false),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if refused {
        tracing::warn!("TRASHD_LOG/RUST_LOG is not a valid log filter; logging at info");
    }
}

fn storage(global: &GlobalArgs, url: &DatabaseUrl) -> StorageOptions {
    StorageOptions {
        url: url.clone(),
        max_connections: global.db_max_connections,
        acquire_timeout: global.db_acquire_timeout,
        migrate: !global.skip_migrations,
    }
}

/// Runs a parsed command line against the storage at `url`.
pub async fn run(cli: Cli, url: DatabaseUrl) -> Result<(), Failure> {
    let global = cli.global;
    let opts = storage(&global, &url);
    match cli.command {
        Command::Serve(args) => {
            let web = compose::web_config(&args.web, &args.listen)?;
            let shutdown = on_signals()?;
            tracing::info!(storage = %url, "trashd {} starting", env!("CARGO_PKG_VERSION"));
            let events = compose::Events::from_args(&args.webhooks)?;
            let (store, pool) = compose::open_store_probed(&opts).await?;
            let metrics = metrics_endpoint(&args, &store, pool).await?;
            let services = compose::services_with(store.clone(), args.retention, &events);
            let listener = serve::bind(&args.listen).await?;
            let delivery = start_delivery(
                store,
                services.trash.clone(),
                &events,
                &args.webhooks,
                &shutdown,
            )?;
            let served = serve::run(
                services,
                listener,
                &args,
                web,
                metrics,
                shutdown,
                global.db_max_connections,
            )
            .await;
            stop_delivery(delivery).await;
            served
        }
        Command::Deliver(args) => {
            let shutdown = on_signals()?;
            let events = compose::Events::from_args(&args.webhooks)?;
            let store = compose::open_store(&opts).await?;
            let trash = compose::services_with(store.clone(), Retention::default(), &events).trash;
            let deliverer =
                compose::deliverer(store, &events, &args.webhooks)?.confirming_cancellations(trash);
            if args.once {
                let report = deliverer.drain(&shutdown).await.map_err(|e| {
                    Failure::failed(format!("delivery failed: {}", compose::one_line(&e)))
                })?;
                let pruned = deliverer.prune().await.map_err(|e| {
                    Failure::failed(format!("pruning failed: {}", compose::one_line(&e)))
                })?;
                println!(
                    "deliver: {} message{} claimed, {} delivered, {} to retry, {} failed; \
                     {} finished message{} past the retention deleted",
                    report.claimed,
                    if report.claimed == 1 { "" } else { "s" },
                    report.delivered,
                    report.retried,
                    report.failed,
                    pruned,
                    if pruned == 1 { "" } else { "s" },
                );
            } else {
                deliverer
                    .run_loop(args.webhooks.deliver_interval, shutdown)
                    .await;
            }
            Ok(())
        }
        Command::Migrate => {
            if !url.is_persistent() {
                eprintln!("memory:// storage has no schema to migrate; nothing to do");
                return Ok(());
            }
            compose::open_store(&StorageOptions {
                migrate: true,
                ..opts
            })
            .await?;
            eprintln!("the database schema at {url} is up to date");
            Ok(())
        }
        Command::Cleanup(args) => {
            let shutdown = on_signals()?;
            let events = compose::Events::from_args(&args.webhooks)?;
            let store = compose::open_store(&opts).await?;
            let trash = compose::services_with(store, Retention::default(), &events).trash;
            if args.once {
                cleanup_once(&trash, args.cleanup.cleanup_batch, &shutdown).await
            } else {
                cleanup::run_loop(
                    trash,
                    cleanup::LoopSettings {
                        interval: args.cleanup.cleanup_interval,
                        batch: args.cleanup.cleanup_batch,
                        metrics: None,
                    },
                    shutdown,
                )
                .await;
                Ok(())
            }
        }
        Command::Admin(command) => {
            if !url.is_persistent() {
                return Err(Failure::usage(
                    "admin commands need a database that outlives the process: use --database-url sqlite://PATH or postgres://…",
                ));
            }
            let store = compose::open_store(&opts).await?;
            let services = compose::services(store.clone(), Retention::default());
            let admin = admin::Admin {
                accounts: services.accounts,
                sessions: services.sessions,
                account_store: store.clone(),
                queue: store.clone(),
                store,
            };
            admin::run(&admin, command).await
        }
        Command::Quickstart(args) => {
            let ws = admin::new_workspace_slug(&args.workspace)?;
            let web = compose::web_config(&args.serve.web, &args.serve.listen)?;
            let shutdown = on_signals()?;
            let events = compose::Events::from_args(&args.serve.webhooks)?;
            let (store, pool) = compose::open_store_probed(&opts).await?;
            let metrics = metrics_endpoint(&args.serve, &store, pool).await?;
            let services = compose::services_with(store.clone(), args.serve.retention, &events);
            let listener = serve::bind(&args.serve.listen).await?;
            let addr = serve::local_addr(&listener)?;
            let progress = Progress::new("seeding the demo workspace");
            let demo = quickstart::seed(&services, &ws, |s| progress.show(s)).await?;
            progress.finish("demo workspace ready");
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(quickstart::banner(&demo, addr, &url).as_bytes());
            let _ = out.flush();
            drop(out);
            let delivery = start_delivery(
                store,
                services.trash.clone(),
                &events,
                &args.serve.webhooks,
                &shutdown,
            )?;
            let served = serve::run(
                services,
                listener,
                &args.serve,
                web,
                metrics,
                shutdown,
                global.db_max_connections,
            )
            .await;
            stop_delivery(delivery).await;
            served
        }
    }
}

/// Starts the webhook delivery worker inside `serve`, unless `--no-delivery`.
fn start_delivery(
    store: std::sync::Arc<dyn trash_core::ports::StandaloneStore>,
    trash: trash_core::TrashService,
    events: &compose::Events,
    args: &cli::WebhookArgs,
    shutdown: &shutdown::Shutdown,
) -> Result<Option<tokio::task::JoinHandle<()>>, Failure> {
    if args.no_delivery {
        tracing::info!("webhook delivery disabled in this process (--no-delivery)");
        return Ok(None);
    }
    let deliverer = compose::deliverer(store, events, args)?.confirming_cancellations(trash);
    Ok(Some(tokio::spawn(
        deliverer.run_loop(args.deliver_interval, shutdown.clone()),
    )))
}

/// Waits (briefly) for the delivery worker to finish its round.
async fn stop_delivery(delivery: Option<tokio::task::JoinHandle<()>>) {
    if let Some(handle) = delivery {
        if tokio::time::timeout(std::time::Duration::from_secs(15), handle)
            .await
            .is_err()
        {
            tracing::warn!("the webhook delivery worker did not stop in time");
        }
    }
}

/// Binds the metrics listener when `--metrics-listen` asks for one.
async fn metrics_endpoint(
    args: &cli::ServeArgs,
    store: &std::sync::Arc<dyn trash_core::ports::StandaloneStore>,
    pool: metrics::PoolProbe,
) -> Result<Option<serve::MetricsEndpoint>, Failure> {
    let Some(addr) = &args.metrics_listen else {
        return Ok(None);
    };
    let listener = serve::bind(addr).await?;
    Ok(Some(serve::MetricsEndpoint {
        metrics: compose::metrics(store, pool),
        listener,
    }))
}

/// Installs the SIGINT/SIGTERM handlers and returns the shutdown handle.
fn on_signals() -> Result<shutdown::Shutdown, Failure> {
    let (trigger, shutdown) = shutdown::channel();
    shutdown::listen_for_signals(trigger)
        .map_err(|e| Failure::failed(format!("cannot listen for signals: {e}")))?;
    Ok(shutdown)
}

async fn cleanup_once(
    service: &trash_core::TrashService,
    batch: u32,
    shutdown: &shutdown::Shutdown,
) -> Result<(), Failure> {
    let progress = Progress::new("cleanup");
    let started = std::time::Instant::now();
    let result = cleanup::drain(service, batch, shutdown, |t| {
        progress.show(&format!(
            "purged {} operations ({} projects, {} versions, {} workflows, {} trainings, {} images)",
            t.purged,
            t.removed.projects,
            t.removed.versions,
            t.removed.workflows,
            t.removed.trainings,
            t.removed.images
        ))
    })
    .await;
    progress.finish("");
    let (totals, end) = result
        .map_err(|e| Failure::failed(format!("cleanup failed: {}", compose::one_line(&e))))?;
    let secs = started.elapsed().as_secs_f64();
    match end {
        cleanup::DrainEnd::Drained => {
            println!(
                "cleanup: {} in {secs:.1}s; nothing due is left",
                totals.summary()
            );
        }
        cleanup::DrainEnd::Interrupted => {
            println!(
                "cleanup: {} in {secs:.1}s; interrupted, the rest is left for the next run",
                totals.summary()
            );
        }
    }
    Ok(())
}

/// A one-line live counter on stderr, only when stderr is a terminal.
struct Progress {
    tty: bool,
}

impl Progress {
    fn new(what: &str) -> Progress {
        let tty = std::io::stderr().is_terminal();
        if tty {
            eprint!("{what}…");
        }
        Progress { tty }
    }

    fn show(&self, line: &str) {
        if self.tty {
            eprint!("\r\x1b[2K{line}");
            let _ = std::io::stderr().flush();
        }
    }

    fn finish(&self, line: &str) {
        if self.tty {
            if line.is_empty() {
                eprint!("\r\x1b[2K");
            } else {
                eprintln!("\r\x1b[2K{line}");
            }
        }
    }
}
