//! `/metrics`: what the server is doing, in the Prometheus (OpenMetrics)
//! text format, through `prometheus-client`.
//!
//! Served only on its own listener (`--metrics-listen ADDR`), never on the
//! public port. What it shows:
//!
//! - `trashd_http_requests_total` and `trashd_http_request_duration_seconds`
//!   by method, route *template* (`/{ws}/trash`, never the raw path;
//!   `unmatched` for paths no route knows) and status;
//! - `trashd_cleanup_due_operations` and `trashd_cleanup_purge_lag_seconds`
//!   (now minus the oldest due `scheduledCleanupAt`; 0 when nothing is due),
//!   read from the store at each scrape;
//! - `trashd_cleanup_purges_total` by outcome (`purged`, `skipped`,
//!   `failed`) and `trashd_cleanup_round_errors_total`, counted by this
//!   process's cleanup loop;
//! - `trashd_pending_cancellations`, and the cancellations this process
//!   delivered by outcome;
//! - `trashd_outbox_ready_messages`: outbound event messages waiting for a
//!   sender (pending and due);
//! - the database pool: `trashd_db_pool_connections` (by `state`: `in_use`,
//!   `idle`), `trashd_db_pool_max_connections`, and on PostgreSQL
//!   `trashd_db_pool_waits_total` / `trashd_db_pool_wait_seconds_total`
//!   (calls that found every connection busy and the pool at its limit).

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use trash_core::ports::{Clock, QueueDepth};
use trash_core::usecases::{CancellationReport, CleanupReport};

/// Where the pool figures come from.
#[derive(Clone)]
pub enum PoolProbe {
    /// No pool (the in-memory store).
    None,
    /// A SQLite store (its writer and reader pools added up).
    Sqlite(trash_sqlite::SqliteStore),
    /// A PostgreSQL store.
    Postgres(trash_postgres::PgStore),
}

/// The labels of a request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

/// The label of an outcome.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// The label of a pool connection's state.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

/// Every metric of the process, and where the scraped gauges are read from.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram>,
    purges: Family<OutcomeLabels, Counter>,
    round_errors: Counter,
    cancellations: Family<OutcomeLabels, Counter>,
    due: Gauge,
    lag: Gauge<f64, AtomicU64>,
    pending: Gauge,
    outbox: Gauge,
    pool_connections: Family<StateLabels, Gauge>,
    pool_max: Gauge,
    pool_waits: Counter,
    pool_wait_seconds: Counter<f64, AtomicU64>,
    /// The pool's cumulative figures already added to the counters.
    pool_seen: Mutex<(u64, u64)>,
    queue: Arc<dyn QueueDepth>,
    pool: PoolProbe,
    clock: Arc<dyn Clock>,
}

impl Metrics {
    /// Registers every metric; the backlog is read from `queue` and the
    /// pool figures from `pool` at each scrape.
    pub fn new(queue: Arc<dyn QueueDepth>, pool: PoolProbe, clock: Arc<dyn Clock>) -> Metrics {
        let mut registry = Registry::with_prefix("trashd");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            // 0.25 ms to about 8 s.
            Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by method, route template and status",
            latency.clone(),
        );
        let purges = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "cleanup_purges",
            "Due trash operations the cleanup loop of this process handled, by outcome",
            purges.clone(),
        );
        let round_errors = Counter::default();
        registry.register(
            "cleanup_round_errors",
            "Cleanup rounds that failed because the store failed",
            round_errors.clone(),
        );
        let cancellations = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "cancellation_retries",
            "Pending job cancellations this process retried, by outcome",
            cancellations.clone(),
        );
        let due = Gauge::default();
        registry.register(
            "cleanup_due_operations",
            "Trash operations whose scheduled cleanup has come (the cleanup backlog)",
            due.clone(),
        );
        let lag = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "cleanup_purge_lag_seconds",
            "Now minus the oldest due scheduledCleanupAt (0 when nothing is due)",
            lag.clone(),
        );
        let pending = Gauge::default();
        registry.register(
            "pending_cancellations",
            "Job cancellations the job system has not confirmed yet",
            pending.clone(),
        );
        let outbox = Gauge::default();
        registry.register(
            "outbox_ready_messages",
            "Outbound event messages waiting for a sender (pending and due)",
            outbox.clone(),
        );
        let pool_connections = Family::<StateLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Open database connections, by state (in_use, idle)",
            pool_connections.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "db_pool_max_connections",
            "The most database connections the pool opens",
            pool_max.clone(),
        );
        let pool_waits = Counter::default();
        let pool_wait_seconds = Counter::<f64, AtomicU64>::default();
        if matches!(pool, PoolProbe::Postgres(_)) {
            registry.register(
                "db_pool_waits",
                "Calls that found every database connection busy and waited for one",
                pool_waits.clone(),
            );
            registry.register(
                "db_pool_wait_seconds",
                "Time calls spent waiting for a busy database pool",
                pool_wait_seconds.clone(),
            );
        }
        Metrics {
            registry,
            requests,
            latency,
            purges,
            round_errors,
            cancellations,
            due,
            lag,
            pending,
            outbox,
            pool_connections,
            pool_max,
            pool_waits,
            pool_wait_seconds,
            pool_seen: Mutex::new((0, 0)),
            queue,
            pool,
            clock,
        }
    }

    /// Counts one answered request.
    pub fn observe_request(
        &self,
        method: &Method,
        route: &str,
        status: StatusCode,
        took: Duration,
    ) {
        let labels = RequestLabels {
            method: method_label(method),
            route: route.to_owned(),
            status: status.as_u16(),
        };
        self.latency
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        self.requests.get_or_create(&labels).inc();
    }

    /// Counts one cleanup batch's outcomes.
    pub fn observe_cleanup(&self, report: &CleanupReport) {
        for (outcome, n) in [
            ("purged", report.purged),
            ("skipped", report.skipped),
            ("failed", report.failed),
        ] {
            self.purges
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(u64::from(n));
        }
    }

    /// Counts a cleanup round that failed.
    pub fn observe_cleanup_error(&self) {
        self.round_errors.inc();
    }

    /// Counts one round of cancellation retries.
    pub fn observe_cancellations(&self, report: &CancellationReport) {
        for (outcome, n) in [("succeeded", report.succeeded), ("failed", report.failed)] {
            self.cancellations
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(u64::from(n));
        }
    }

    /// Reads the gauges (backlog from the store, pool) and renders every
    /// metric in the OpenMetrics text format. A store that does not answer
    /// leaves the backlog gauges at their last values (and says so in the log).
    pub async fn render(&self) -> String {
        let now = self.clock.now();
        match self.queue.backlog(now).await {
            Ok(backlog) => {
                self.due
                    .set(i64::try_from(backlog.due_operations).unwrap_or(i64::MAX));
                self.pending
                    .set(i64::try_from(backlog.pending_cancellations).unwrap_or(i64::MAX));
                self.outbox
                    .set(i64::try_from(backlog.outbox_ready).unwrap_or(i64::MAX));
                let lag = backlog.oldest_due.map_or(0.0, |oldest| {
                    let ms = now.unix_millis() - oldest.unix_millis();
                    (ms.max(0) as f64) / 1000.0
                });
                self.lag.set(lag);
            }
            Err(e) => tracing::warn!(error = %e, "metrics: cannot read the cleanup backlog"),
        }
        self.read_pool();
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "metrics: encoding failed");
        }
        out
    }

    fn read_pool(&self) {
        let (max, open, idle, waits, wait_micros) = match &self.pool {
            PoolProbe::None => return,
            PoolProbe::Sqlite(store) => {
                let s = store.pool_stats();
                (s.max, s.open, s.idle, 0, 0)
            }
            PoolProbe::Postgres(store) => {
                let s = store.pool_stats();
                (s.max, s.open, s.idle, s.waits, s.wait_micros)
            }
        };
        self.pool_max.set(i64::from(max));
        self.pool_connections
            .get_or_create(&StateLabels { state: "in_use" })
            .set(i64::from(open.saturating_sub(idle)));
        self.pool_connections
            .get_or_create(&StateLabels { state: "idle" })
            .set(i64::from(idle));
        // The store keeps running totals; the counters take the increase.
        let mut seen = self.pool_seen.lock().unwrap_or_else(|e| e.into_inner());
        if waits > seen.0 {
            self.pool_waits.inc_by(waits - seen.0);
        }
        if wait_micros > seen.1 {
            self.pool_wait_seconds
                .inc_by((wait_micros - seen.1) as f64 / 1e6);
        }
        *seen = (waits.max(seen.0), wait_micros.max(seen.1));
    }
}

/// A bounded set of method labels, so odd clients cannot add series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: counts each request under its route template (which the
/// router leaves in the response's extensions, or in the request's when
/// this layer sits inside the router). Paths that no route matched share the
/// `unmatched` label, so the number of series stays bounded whatever
/// clients send.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let inner = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .or(inner.as_ref())
        .map_or("unmatched", |p| p.as_str());
    metrics.observe_request(&method, route, response.status(), started.elapsed());
    response
}

/// Wraps the application so every request is counted.
pub fn instrument(app: axum::Router, metrics: Arc<Metrics>) -> axum::Router {
    app.layer(axum::middleware::from_fn_with_state(metrics, track))
}

/// The router of the metrics listener: `GET /metrics` and nothing else.
pub fn router(metrics: Arc<Metrics>) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(metrics)
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> Response {
    let body = metrics.render().await;
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use trash_core::domain::Timestamp;
    use trash_core::ports::{Backlog, MockQueueDepth};
    use trash_memory::ManualClock;

    use super::*;

    fn metrics(backlog: Backlog) -> Metrics {
        let mut queue = MockQueueDepth::new();
        queue.expect_backlog().returning(move |_| Ok(backlog));
        let clock = ManualClock::new(Timestamp::from_unix_millis(10_000).unwrap());
        Metrics::new(Arc::new(queue), PoolProbe::None, Arc::new(clock))
    }

    #[tokio::test]
    async fn backlog_lag_and_outcomes_are_rendered() {
        let m = metrics(Backlog {
            due_operations: 3,
            oldest_due: Some(Timestamp::from_unix_millis(7_500).unwrap()),
            pending_cancellations: 2,
            outbox_ready: 4,
        });
        m.observe_cleanup(&CleanupReport {
            claimed: 4,
            purged: 3,
            skipped: 1,
            failed: 0,
            ..CleanupReport::default()
        });
        m.observe_request(
            &Method::GET,
            "/{ws}/trash",
            StatusCode::OK,
            Duration::from_millis(3),
        );
        let text = m.render().await;
        for line in [
            "trashd_cleanup_due_operations 3",
            "trashd_cleanup_purge_lag_seconds 2.5",
            "trashd_pending_cancellations 2",
            "trashd_outbox_ready_messages 4",
            "trashd_cleanup_purges_total{outcome=\"purged\"} 3",
            "trashd_cleanup_purges_total{outcome=\"skipped\"} 1",
            "trashd_cleanup_purges_total{outcome=\"failed\"} 0",
            "trashd_http_requests_total{method=\"GET\",route=\"/{ws}/trash\",status=\"200\"} 1",
            "trashd_http_request_duration_seconds_count{method=\"GET\",route=\"/{ws}/trash\",status=\"200\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
        assert!(!text.contains("db_pool_waits"), "no pool, no pool waits");
    }

    #[tokio::test]
    async fn nothing_due_means_no_lag() {
        let m = metrics(Backlog::default());
        let text = m.render().await;
        assert!(
            text.lines()
                .any(|l| l == "trashd_cleanup_purge_lag_seconds 0.0"),
            "{text}"
        );
        assert!(
            text.lines().any(|l| l == "trashd_cleanup_due_operations 0"),
            "{text}"
        );
    }
}
