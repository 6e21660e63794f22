//! The composition root: the one place that picks the adapters and wires
//! them into the services ([`Services`]) and an HTTP application.
//!
//! Every store (memory, SQLite, PostgreSQL) plays every role; it is opened
//! once as an `Arc<dyn StandaloneStore>` and the same `Arc` is handed out
//! once per role.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use trash_core::domain::{Retention, SessionPolicy};
use trash_core::ports::{Health, StandaloneStore};
use trash_core::{EventsConfig, Services, TrashConfig};
use trash_memory::MemoryStore;
use trash_runtime::system_runtime;

use trash_http_axum::EdgeConfig;
use trash_web::WebConfig;

use crate::cli::{RateLimitArgs, WebArgs, WebhookArgs};
use crate::config::DatabaseUrl;
use crate::error::Failure;
use crate::metrics::{Metrics, PoolProbe};
use crate::webhooks::{Deliverer, DeliverySettings, GlobalEndpoint, Secret, WebhookCanceller};

/// How to open the storage.
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// The storage URL.
    pub url: DatabaseUrl,
    /// PostgreSQL pool size.
    pub max_connections: u32,
    /// How long to wait for a pooled PostgreSQL connection.
    pub acquire_timeout: Duration,
    /// Bring the schema up to date while opening (SQLite always does).
    pub migrate: bool,
}

/// Opens the storage named by the URL, brings its schema up to date when
/// asked, and checks that it answers.
pub async fn open_store(opts: &StorageOptions) -> Result<Arc<dyn StandaloneStore>, Failure> {
    Ok(open_store_probed(opts).await?.0)
}

/// Like [`open_store`], and also returns where `/metrics` reads the
/// connection pool's figures.
pub async fn open_store_probed(
    opts: &StorageOptions,
) -> Result<(Arc<dyn StandaloneStore>, PoolProbe), Failure> {
    let url = &opts.url;
    let (store, probe): (Arc<dyn StandaloneStore>, PoolProbe) = match url {
        DatabaseUrl::Memory => (Arc::new(MemoryStore::new()), PoolProbe::None),
        DatabaseUrl::Sqlite(raw) => {
            let store = trash_sqlite::SqliteStore::open_url(raw)
                .await
                .map_err(|e| unreachable_db(url, &e))?;
            (Arc::new(store.clone()), PoolProbe::Sqlite(store))
        }
        DatabaseUrl::Postgres(raw) => {
            let store = trash_postgres::PgStore::connect(
                raw,
                trash_postgres::PgOptions {
                    max_connections: opts.max_connections,
                    acquire_timeout: opts.acquire_timeout,
                    ..trash_postgres::PgOptions::default()
                },
            )
            .await
            .map_err(|e| unreachable_db(url, &e))?;
            // The pool connects lazily: make sure the server answers before
            // touching the schema, so an outage reads as one.
            store.ping().await.map_err(|e| unreachable_db(url, &e))?;
            if opts.migrate {
                store.migrate().await.map_err(|e| match e {
                    trash_postgres::PgError::Unavailable(_) => unreachable_db(url, &e),
                    other => Failure::failed(format!(
                        "cannot bring the database schema at {url} up to date: {}",
                        one_line(&other)
                    )),
                })?;
            }
            (Arc::new(store.clone()), PoolProbe::Postgres(store))
        }
    };
    store.ping().await.map_err(|e| unreachable_db(url, &e))?;
    tracing::debug!(storage = url.kind(), url = %url, "storage opened");
    Ok((store, probe))
}

/// The metrics of a server over `store`, when `--metrics-listen` asks for them.
pub fn metrics(store: &Arc<dyn StandaloneStore>, pool: PoolProbe) -> Arc<Metrics> {
    let queue: Arc<dyn trash_core::ports::QueueDepth> = store.clone();
    Arc::new(Metrics::new(
        queue,
        pool,
        Arc::new(trash_runtime::SystemClock),
    ))
}

fn unreachable_db(url: &DatabaseUrl, e: &dyn std::fmt::Display) -> Failure {
    Failure::failed(format!(
        "cannot open the database at {url}: {}",
        one_line(e)
    ))
}

/// An error's message on one line, with any database URL password hidden.
pub fn one_line(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let joined = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let words: Vec<String> = joined
        .split(' ')
        .map(|w| {
            if w.contains("://") {
                crate::config::redact(w)
            } else {
                w.to_owned()
            }
        })
        .collect();
    words.join(" ").trim_end_matches('.').to_owned()
}

/// Every service over one store (handed out once per role), with the
/// production runtime (system clock, random ids, tokio pauses) and a job
/// canceller. The store's own trainings are cancelled by the trash
/// transaction itself; there is no external job system to notify, so the
/// canceller only confirms (pending cancellations are still recorded and
/// retried by the cleanup loop, so a real canceller can be dropped in here).
pub fn services(store: Arc<dyn StandaloneStore>, retention: Retention) -> Services {
    services_with(store, retention, &Events::default())
}

/// The outbound events of a process: the global endpoint, if any, and the
/// purge notice.
#[derive(Debug, Clone)]
pub struct Events {
    /// The endpoint that receives every event (`--webhook-url`).
    pub global: Option<GlobalEndpoint>,
    /// How long before `scheduledCleanupAt` the `purge_soon` notice is due.
    pub purge_notice: chrono::Duration,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            global: None,
            purge_notice: EventsConfig::default().purge_notice,
        }
    }
}

impl Events {
    /// From the command line: `--webhook-url` and `--webhook-secret` go
    /// together, and the secret must be `whsec_<base64>`.
    pub fn from_args(args: &WebhookArgs) -> Result<Events, Failure> {
        let global = match (&args.webhook_url, &args.webhook_secret) {
            (None, None) => None,
            (Some(url), Some(secret)) => {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|e| Failure::usage(format!("invalid --webhook-url: {e}")))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(Failure::usage(
                        "--webhook-url must be an http:// or https:// URL",
                    ));
                }
                let secret = Secret::parse(secret)
                    .map_err(|e| Failure::usage(format!("invalid --webhook-secret: {e}")))?;
                Some(GlobalEndpoint {
                    url: url.clone(),
                    secret,
                })
            }
            (Some(_), None) => {
                return Err(Failure::usage(
                    "--webhook-url needs --webhook-secret (TRASHD_WEBHOOK_SECRET), whsec_<base64>",
                ))
            }
            (None, Some(_)) => return Err(Failure::usage("--webhook-secret needs --webhook-url")),
        };
        let purge_notice = chrono::Duration::from_std(args.purge_notice)
            .map_err(|_| Failure::usage("--purge-notice is too long"))?;
        Ok(Events {
            global,
            purge_notice,
        })
    }
}

/// [`services`] with outbound events: every trash, restore and purge writes
/// its messages into the outbox, and the job canceller waits for the
/// `training.cancel_requested` webhook to be acknowledged (at once when no
/// endpoint receives it).
pub fn services_with(
    store: Arc<dyn StandaloneStore>,
    retention: Retention,
    events: &Events,
) -> Services {
    Services::over(
        store.clone(),
        Arc::new(WebhookCanceller::new(store, events.global.is_some())),
        system_runtime(),
        TrashConfig {
            retention,
            events: Some(EventsConfig {
                purge_notice: events.purge_notice,
            }),
            ..TrashConfig::default()
        },
    )
}

/// The delivery worker over `store`, with the production clock and ids.
pub fn deliverer(
    store: Arc<dyn StandaloneStore>,
    events: &Events,
    args: &WebhookArgs,
) -> Result<Deliverer, Failure> {
    Deliverer::new(
        store,
        events.global.clone(),
        Arc::new(trash_runtime::SystemClock),
        Arc::new(trash_runtime::RandomIds),
        DeliverySettings {
            attempt_timeout: args.webhook_timeout,
            keep_finished: chrono::Duration::from_std(args.outbox_retention)
                .map_err(|_| Failure::failed("the outbox retention is out of range"))?,
            ..DeliverySettings::default()
        },
    )
    .map_err(Failure::failed)
}

/// Shortest accepted `--session-secret`.
pub const MIN_SESSION_SECRET: usize = 32;

/// The web view's settings: form-token key and cookie flags, and how long
/// sessions last.
#[derive(Debug, Clone)]
pub struct Web {
    /// Form-token key and cookie flags.
    pub config: WebConfig,
    /// Idle and absolute session limits.
    pub policy: SessionPolicy,
}

/// Whether `listen` (HOST:PORT) names a loopback address: only there are
/// cookies sent without `Secure` by default.
pub fn is_loopback(listen: &str) -> bool {
    if let Ok(addr) = listen.parse::<std::net::SocketAddr>() {
        return addr.ip().is_loopback();
    }
    let host = listen.rsplit_once(':').map_or(listen, |(h, _)| h);
    host.eq_ignore_ascii_case("localhost")
}

/// The web view's settings from the command line and the listening
/// address. Without a secret, a random one keys the forms.
pub fn web_config(args: &WebArgs, listen: &str) -> Result<Web, Failure> {
    let mut config = match &args.session_secret {
        Some(secret) => {
            if secret.chars().count() < MIN_SESSION_SECRET {
                return Err(Failure::usage(format!(
                    "the session secret must be at least {MIN_SESSION_SECRET} characters long"
                )));
            }
            WebConfig::from_secret(secret.as_bytes())
        }
        None => WebConfig::random(),
    };
    config.secure_cookies = args.secure_cookies || (!args.insecure_cookies && !is_loopback(listen));
    let duration = |d: std::time::Duration| {
        chrono::Duration::from_std(d)
            .map_err(|_| Failure::usage("the session lifetime is out of range"))
    };
    let policy = SessionPolicy {
        idle: duration(args.session_idle)?,
        absolute: duration(args.session_ttl)?,
        ..SessionPolicy::default()
    };
    Ok(Web { config, policy })
}

/// The whole HTTP application: the web Trash view under `/app/`, and the
/// REST API (with `/healthz`, `/readyz`, `/openapi.json`) for every other
/// path, under the rate limits of `edge`.
pub fn app(services: Services, web: Web, edge: EdgeConfig) -> axum::Router {
    let web = trash_web::web_router(
        trash_web::WebState::new(
            services.trash.clone(),
            services.accounts.clone(),
            services.sessions.clone().with_policy(web.policy),
            web.config,
        )
        .with_empty_jobs(services.empty_jobs.clone()),
    )
    // The sign-in throttles count by the client the edge resolved (the
    // trusted proxies' `X-Forwarded-For`), not the proxy's address.
    .layer(axum::middleware::map_request(
        |mut req: axum::extract::Request| async move {
            if let Some(trash_http_axum::ClientAddr(Some(ip))) = req.extensions().get().copied() {
                req.extensions_mut().insert(trash_web::ClientIp(ip));
            }
            req
        },
    ));
    trash_http_axum::router_with(
        trash_http_axum::AppState::new(services).with_edge(edge),
        web,
    )
}

/// The rate limits and trusted proxies of the command line (0 turns a
/// limit off).
pub fn edge_config(args: &RateLimitArgs) -> EdgeConfig {
    EdgeConfig {
        per_key: NonZeroU32::new(args.rate_limit),
        per_client: NonZeroU32::new(args.ip_rate_limit),
        trusted_proxies: args.trusted_proxies.clone(),
    }
}

/// [`app`], with every request counted in `metrics` when given.
pub fn observed_app(
    services: Services,
    web: Web,
    edge: EdgeConfig,
    metrics: Option<Arc<Metrics>>,
) -> axum::Router {
    let app = app(services, web, edge);
    match metrics {
        Some(metrics) => crate::metrics::instrument(app, metrics),
        None => app,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_hides_passwords_and_newlines() {
        let e = "error connecting to postgres://u:pw@h/db\n  caused by: refused.";
        assert_eq!(
            one_line(&e),
            "error connecting to postgres://u:***@h/db; caused by: refused"
        );
    }

    #[test]
    fn cookies_are_secure_unless_on_loopback() {
        assert!(is_loopback("127.0.0.1:8080"));
        assert!(is_loopback("[::1]:80"));
        assert!(is_loopback("localhost:0"));
        assert!(!is_loopback("0.0.0.0:8080"));
        assert!(!is_loopback("trash.example.com:443"));
        let args = |extra: &[&str]| {
            let mut argv = vec!["trashd", "serve"];
            argv.extend_from_slice(extra);
            match <crate::cli::Cli as clap::Parser>::try_parse_from(argv)
                .unwrap()
                .command
            {
                crate::cli::Command::Serve(s) => s.web,
                _ => unreachable!(),
            }
        };
        let secure = |extra: &[&str], listen| {
            web_config(&args(extra), listen)
                .unwrap()
                .config
                .secure_cookies
        };
        assert!(!secure(&[], "127.0.0.1:8080"));
        assert!(secure(&[], "0.0.0.0:8080"));
        assert!(!secure(&["--insecure-cookies"], "0.0.0.0:8080"));
        assert!(secure(&["--secure-cookies"], "127.0.0.1:8080"));
        let web = web_config(&args(&["--session-idle", "10m"]), "127.0.0.1:1").unwrap();
        assert_eq!(web.policy.idle, chrono::Duration::minutes(10));
        assert_eq!(web.policy.absolute, chrono::Duration::hours(12));
    }

    #[tokio::test]
    async fn memory_storage_opens() {
        let store = open_store(&StorageOptions {
            url: DatabaseUrl::Memory,
            max_connections: 1,
            acquire_timeout: Duration::from_secs(1),
            migrate: true,
        })
        .await
        .unwrap();
        store.ping().await.unwrap();
    }
}
