//! Outbound webhooks: the delivery worker, the Standard Webhooks signature,
//! and the job canceller that asks for `training.cancel_requested`.
//!
//! The trash writes its messages into the outbox in the transaction of the
//! change they report; this worker claims them (a claim holds a message for
//! one worker), posts each to every endpoint that receives it (the global
//! one from `--webhook-url` and the workspace's own), and records the
//! outcome: every endpoint answered 2xx → delivered; otherwise the endpoints
//! that answered 2xx are remembered and the message is retried with
//! exponential backoff and jitter for up to 24 hours, then failed. A
//! request never waits for a delivery: they only share the database.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use trash_core::domain::*;
use trash_core::events::{self, DeliveryStatus, EventType, StoredMessage};
use trash_core::ports::*;

use crate::shutdown::Shutdown;

/// The id of the global endpoint in `acked` lists and logs.
pub const GLOBAL_ENDPOINT: &str = "global";

/// How long the old secret of a rotated endpoint keeps signing.
pub fn rotation_window() -> chrono::Duration {
    chrono::Duration::hours(24)
}

/// A `whsec_<base64>` secret, decoded.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// Parses `whsec_<base64>` (the prefix is required; the key at least 16 bytes).
    pub fn parse(text: &str) -> Result<Secret, String> {
        let b64 = text
            .strip_prefix("whsec_")
            .ok_or("a webhook secret starts with whsec_")?;
        let key = B64
            .decode(b64.trim())
            .map_err(|_| "the part after whsec_ is not base64".to_string())?;
        if key.len() < 16 {
            return Err("a webhook secret holds at least 16 bytes".into());
        }
        Ok(Secret(key))
    }

    /// A new random secret in `whsec_` form (24 random letters and digits
    /// from the id generator, about 143 bits).
    pub fn generate(ids: &dyn IdGenerator) -> String {
        format!("whsec_{}", B64.encode(ids.alphanumeric(24)))
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
    }
}

/// The operator's endpoint that receives every event of every workspace.
#[derive(Debug, Clone)]
pub struct GlobalEndpoint {
    /// Where messages are posted.
    pub url: String,
    /// Its secret.
    pub secret: Secret,
}

/// Where one message goes.
#[derive(Debug, Clone)]
struct Target {
    id: String,
    url: String,
    secrets: Vec<Secret>,
}

/// How the worker runs.
#[derive(Debug, Clone, Copy)]
pub struct DeliverySettings {
    /// Messages claimed per round.
    pub batch: u32,
    /// How long a claim holds a message (longer than an attempt can take).
    pub claim: chrono::Duration,
    /// The time limit of one HTTP attempt.
    pub attempt_timeout: Duration,
    /// How long finished (delivered or failed) messages are kept.
    pub keep_finished: chrono::Duration,
    /// Messages deleted per pruning statement.
    pub prune_batch: u32,
    /// Time between two prunings inside the delivery loop.
    pub prune_every: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            batch: 32,
            claim: chrono::Duration::minutes(2),
            attempt_timeout: Duration::from_secs(10),
            keep_finished: chrono::Duration::days(30),
            prune_batch: 1000,
            prune_every: Duration::from_secs(3600),
        }
    }
}

/// What a round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Messages claimed.
    pub claimed: u32,
    /// Delivered to every endpoint (or to none: nobody receives it).
    pub delivered: u32,
    /// To be retried.
    pub retried: u32,
    /// Failed for good.
    pub failed: u32,
}

/// The delivery worker.
#[derive(Clone)]
pub struct Deliverer {
    outbox: Arc<dyn Outbox>,
    endpoints: Arc<dyn WebhookEndpoints>,
    global: Option<GlobalEndpoint>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    client: reqwest::Client,
    settings: DeliverySettings,
    trash: Option<trash_core::TrashService>,
}

impl Deliverer {
    /// Once a `training.cancel_requested` message is acknowledged, confirms
    /// the pending cancellation through `trash` at once (instead of at its
    /// next retry by the cleanup loop).
    pub fn confirming_cancellations(mut self, trash: trash_core::TrashService) -> Deliverer {
        self.trash = Some(trash);
        self
    }

    /// A worker over `store` posting with its own HTTP client (redirects
    /// are not followed; each attempt is bounded by `attempt_timeout`).
    pub fn new(
        store: Arc<dyn StandaloneStore>,
        global: Option<GlobalEndpoint>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        settings: DeliverySettings,
    ) -> Result<Deliverer, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.attempt_timeout)
            .connect_timeout(settings.attempt_timeout)
            .user_agent(concat!("trashd/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Deliverer {
            outbox: store.clone(),
            endpoints: store,
            global,
            clock,
            ids,
            client,
            settings,
            trash: None,
        })
    }

    async fn targets(&self, m: &StoredMessage, now: Timestamp) -> Result<Vec<Target>, StoreError> {
        let mut out = Vec::new();
        if let Some(g) = &self.global {
            out.push(Target {
                id: GLOBAL_ENDPOINT.into(),
                url: g.url.clone(),
                secrets: vec![g.secret.clone()],
            });
        }
        for e in self.endpoints.endpoints(&m.message.workspace).await? {
            if !events::subscribes(e.events.as_deref(), m.message.event) {
                continue;
            }
            let mut secrets = Vec::new();
            match Secret::parse(&e.secret) {
                Ok(s) => secrets.push(s),
                Err(err) => {
                    tracing::warn!(endpoint = %e.id, error = %err, "skipping an endpoint with an unreadable secret");
                    continue;
                }
            }
            if let Some((old, until)) = &e.previous_secret {
                if now < *until {
                    if let Ok(s) = Secret::parse(old) {
                        secrets.push(s);
                    }
                }
            }
            out.push(Target {
                id: e.id,
                url: e.url,
                secrets,
            });
        }
        Ok(out)
    }

    /// Posts one message to one endpoint: `Ok` on 2xx.
    async fn post(&self, m: &StoredMessage, target: &Target) -> Result<(), String> {
        let now = self.clock.now();
        let timestamp = now.unix_millis().div_euclid(1000);
        let id = &m.message.id;
        let body = &m.message.body;
        let signature = target
            .secrets
            .iter()
            .map(|s| s.sign(id, timestamp, body))
            .collect::<Vec<_>>()
            .join(" ");
        let answer = self
            .client
            .post(&target.url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.clone())
            .send()
            .await
            .map_err(|e| format!("{}: {}", target.id, describe(&e)))?;
        let status = answer.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("{}: HTTP {}", target.id, status.as_u16()))
        }
    }

    /// Delivers one claimed message and records the outcome.
    async fn deliver(&self, m: StoredMessage) -> Result<DeliveryStatus, StoreError> {
        let now = self.clock.now();
        let targets = self.targets(&m, now).await?;
        let mut acked = m.acked.clone();
        let pending: Vec<&Target> = targets.iter().filter(|t| !acked.contains(&t.id)).collect();
        let message = &m;
        let results = futures_join(
            pending
                .iter()
                .map(|t| async move { (t.id.clone(), self.post(message, t).await) }),
        )
        .await;
        let mut errors = Vec::new();
        for (id, result) in results {
            match result {
                Ok(()) => acked.push(id),
                Err(e) => errors.push(e),
            }
        }
        let done = self.clock.now();
        if errors.is_empty() {
            self.outbox
                .complete_message(&m.message.id, &acked, done)
                .await?;
            tracing::debug!(id = %m.message.id, event = %m.message.event, "webhook delivered");
            if let (Some(trash), EventType::TrainingCancelRequested) =
                (&self.trash, m.message.event)
            {
                let training = m
                    .message
                    .id
                    .strip_prefix("msg_cancel_")
                    .and_then(|t| TrainingId::parse(t).ok());
                if let Some(training) = training {
                    if let Err(e) = trash
                        .recheck_cancellation(&m.message.workspace, &training)
                        .await
                    {
                        tracing::warn!(error = %e, training = %training, "confirming a cancellation failed; the cleanup loop retries it");
                    }
                }
            }
            return Ok(DeliveryStatus::Delivered);
        }
        let error = errors.join("; ");
        let attempts = m.attempts + 1;
        match events::delivery_retry_at(m.message.due_at, attempts, done, self.ids.below(u64::MAX))
        {
            Some(at) => {
                tracing::info!(id = %m.message.id, event = %m.message.event, attempts, retry_at = %at, error = %error, "webhook delivery failed; retrying");
                self.outbox
                    .retry_message(&m.message.id, &acked, at, &error)
                    .await?;
                Ok(DeliveryStatus::Pending)
            }
            None => {
                tracing::warn!(id = %m.message.id, event = %m.message.event, attempts, error = %error, "webhook delivery failed for 24 hours; giving up");
                self.outbox
                    .fail_message(&m.message.id, &acked, done, &error)
                    .await?;
                Ok(DeliveryStatus::Failed)
            }
        }
    }

    /// Claims one batch of available messages and delivers them, all at once.
    pub async fn round(&self) -> Result<RoundReport, StoreError> {
        let now = self.clock.now();
        let claimed = self
            .outbox
            .claim_messages(now, now.plus(self.settings.claim), self.settings.batch)
            .await?;
        let mut report = RoundReport {
            claimed: claimed.len() as u32,
            ..RoundReport::default()
        };
        let outcomes = futures_join(claimed.into_iter().map(|m| self.deliver(m))).await;
        for outcome in outcomes {
            match outcome {
                Ok(DeliveryStatus::Delivered) => report.delivered += 1,
                Ok(DeliveryStatus::Pending) => report.retried += 1,
                Ok(DeliveryStatus::Failed) => report.failed += 1,
                // Left claimed: retried once the claim passes.
                Err(e) => tracing::warn!(error = %e, "recording a webhook delivery failed"),
            }
        }
        Ok(report)
    }

    /// Deletes the finished messages older than the retention, in bounded
    /// statements, and returns how many it deleted. Pending messages stay.
    pub async fn prune(&self) -> Result<u64, StoreError> {
        let before = self.clock.now().plus(-self.settings.keep_finished);
        let batch = self.settings.prune_batch.max(1);
        let mut total = 0;
        // Bounded, so that one pass cannot run for ever against a writer.
        for _ in 0..1000 {
            let n = self.outbox.prune_messages(before, batch).await?;
            total += n;
            if n < u64::from(batch) {
                break;
            }
        }
        if total > 0 {
            tracing::info!(deleted = total, "pruned finished webhook messages");
        }
        Ok(total)
    }

    /// Rounds until nothing is available now (`deliver --once`).
    pub async fn drain(&self, shutdown: &Shutdown) -> Result<RoundReport, StoreError> {
        let mut total = RoundReport::default();
        while !shutdown.is_requested() {
            let r = self.round().await?;
            total.claimed += r.claimed;
            total.delivered += r.delivered;
            total.retried += r.retried;
            total.failed += r.failed;
            if r.claimed == 0 {
                break;
            }
        }
        Ok(total)
    }

    /// Delivers every `interval` until shutdown (inside `serve`).
    pub async fn run_loop(self, interval: Duration, shutdown: Shutdown) {
        tracing::info!(
            interval = %crate::config::format_duration(interval),
            global = self.global.is_some(),
            "webhook delivery started"
        );
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_prune = tokio::time::Instant::now();
        loop {
            tokio::select! {
                biased;
                _ = shutdown.clone().requested() => break,
                _ = ticker.tick() => {}
            }
            if tokio::time::Instant::now() >= next_prune {
                next_prune = tokio::time::Instant::now() + self.settings.prune_every;
                if let Err(e) = self.prune().await {
                    tracing::warn!(error = %e, "pruning finished webhook messages failed; retrying later");
                }
            }
            // Keep going while full batches come back.
            loop {
                match self.round().await {
                    Ok(r) if r.claimed == self.settings.batch && !shutdown.is_requested() => {
                        continue
                    }
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming webhook messages failed; retrying next round");
                        break;
                    }
                }
            }
        }
        tracing::info!("webhook delivery stopped");
    }
}

/// Runs futures concurrently on this task and collects their outputs in order.
async fn futures_join<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    let mut futures: Vec<Option<_>> = futures.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *out = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        "request failed".into()
    }
}

/// The job canceller of `trashd`: the trash transaction wrote a
/// `training.cancel_requested` message for every cancelled training; the
/// cancellation is confirmed once that message was delivered to every
/// endpoint receiving it, or at once if no endpoint receives it. Until
/// then it stays pending, and the cleanup loop asks again with its backoff.
pub struct WebhookCanceller {
    outbox: Arc<dyn Outbox>,
    endpoints: Arc<dyn WebhookEndpoints>,
    global: bool,
}

impl WebhookCanceller {
    /// A canceller over `store`; `global` says whether a global endpoint is set.
    pub fn new(store: Arc<dyn StandaloneStore>, global: bool) -> WebhookCanceller {
        WebhookCanceller {
            outbox: store.clone(),
            endpoints: store,
            global,
        }
    }
}

#[async_trait]
impl JobCanceller for WebhookCanceller {
    async fn cancel(
        &self,
        workspace: &WorkspaceSlug,
        training: &TrainingId,
    ) -> Result<(), CancelError> {
        let failed = |e: StoreError| CancelError(format!("reading the outbox: {e}"));
        let Some(m) = self
            .outbox
            .message(&events::cancel_message_id(training))
            .await
            .map_err(failed)?
        else {
            // Trashed without events: nobody is told, as before.
            return Ok(());
        };
        match m.status {
            DeliveryStatus::Delivered => Ok(()),
            DeliveryStatus::Failed => Err(CancelError(format!(
                "the training.cancel_requested webhook failed ({}); redeliver {}",
                m.last_error.unwrap_or_default(),
                m.message.id
            ))),
            DeliveryStatus::Pending => {
                let subscribed = self.global
                    || self
                        .endpoints
                        .endpoints(workspace)
                        .await
                        .map_err(failed)?
                        .iter()
                        .any(|e| {
                            events::subscribes(
                                e.events.as_deref(),
                                EventType::TrainingCancelRequested,
                            )
                        });
                if subscribed {
                    Err(CancelError(
                        "waiting for the training.cancel_requested webhook to be acknowledged"
                            .into(),
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_parse_and_sign_like_the_specification() {
        // The example of the Standard Webhooks specification.
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert!(Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(Secret::parse("whsec_!!").is_err());
        assert!(Secret::parse("whsec_YWJj").is_err(), "too short");
    }
}

/// The `trashd admin` commands of webhooks: endpoints and deliveries.
/// Tables go to stdout, notes to stderr.
pub mod admin {
    use trash_core::domain::WorkspaceSlug;
    use trash_core::events::{DeliveryStatus, EventType};
    use trash_core::ports::{Clock, IdGenerator, StandaloneStore, StoreError, WebhookEndpoint};
    use trash_runtime::{RandomIds, SystemClock};

    use super::{rotation_window, Secret};
    use crate::error::Failure;

    fn storage(e: StoreError) -> Failure {
        Failure::failed(format!("storage error: {e}"))
    }

    /// Parses `--events a,b` (every event when absent).
    pub fn parse_events(list: Option<&str>) -> Result<Option<Vec<EventType>>, Failure> {
        let Some(list) = list else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let e = EventType::parse(name).map_err(|_| {
                Failure::usage(format!(
                    "unknown event {name:?}; the events are {}",
                    EventType::ALL.map(|e| e.as_str()).join(", ")
                ))
            })?;
            if !out.contains(&e) {
                out.push(e);
            }
        }
        if out.is_empty() {
            return Err(Failure::usage("--events needs at least one event"));
        }
        Ok(Some(out))
    }

    /// `add-webhook WS URL [--events a,b]`: prints the id and the secret.
    pub async fn add(
        store: &dyn StandaloneStore,
        ws: &WorkspaceSlug,
        url: &str,
        events: Option<&str>,
    ) -> Result<(), Failure> {
        let parsed =
            reqwest::Url::parse(url).map_err(|e| Failure::usage(format!("invalid URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Failure::usage("the URL must be http:// or https://"));
        }
        let events = parse_events(events)?;
        let ids = RandomIds;
        let endpoint = WebhookEndpoint {
            id: format!("ep_{}", ids.alphanumeric(20)),
            workspace: ws.clone(),
            url: url.to_string(),
            secret: Secret::generate(&ids),
            previous_secret: None,
            events,
            created_at: SystemClock.now(),
        };
        store.add_endpoint(&endpoint).await.map_err(storage)?;
        println!("{}", endpoint.id);
        println!("{}", endpoint.secret);
        eprintln!(
            "added webhook {} for workspace {ws} → {url} (the secret is shown once; keep it)",
            endpoint.id
        );
        Ok(())
    }

    /// `list-webhooks WS`.
    pub async fn list(store: &dyn StandaloneStore, ws: &WorkspaceSlug) -> Result<(), Failure> {
        let endpoints = store.endpoints(ws).await.map_err(storage)?;
        if endpoints.is_empty() {
            eprintln!("no webhook endpoints in workspace {ws}");
            return Ok(());
        }
        let now = SystemClock.now();
        println!("{:<23}  {:<40}  {:<10}  EVENTS", "ID", "URL", "ROTATING");
        for e in endpoints {
            let rotating = match &e.previous_secret {
                Some((_, until)) if *until > now => "yes",
                _ => "no",
            };
            let events = e.events.map_or_else(
                || "all".to_string(),
                |l| l.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(","),
            );
            println!("{:<23}  {:<40}  {:<10}  {events}", e.id, e.url, rotating);
        }
        Ok(())
    }

    /// `remove-webhook ID`.
    pub async fn remove(store: &dyn StandaloneStore, id: &str) -> Result<(), Failure> {
        if store.remove_endpoint(id).await.map_err(storage)? {
            eprintln!("removed webhook {id}");
            Ok(())
        } else {
            Err(Failure::failed(format!("no webhook endpoint {id}")))
        }
    }

    /// `rotate-webhook-secret ID`: prints the new secret.
    pub async fn rotate(store: &dyn StandaloneStore, id: &str) -> Result<(), Failure> {
        let secret = Secret::generate(&RandomIds);
        let until = SystemClock.now().plus(rotation_window());
        if !store
            .rotate_endpoint_secret(id, &secret, until)
            .await
            .map_err(storage)?
        {
            return Err(Failure::failed(format!("no webhook endpoint {id}")));
        }
        println!("{secret}");
        eprintln!("rotated the secret of webhook {id}; the old secret also signs until {until}");
        Ok(())
    }

    /// `list-deliveries WS [--failed]`.
    pub async fn deliveries(
        store: &dyn StandaloneStore,
        ws: &WorkspaceSlug,
        failed: bool,
    ) -> Result<(), Failure> {
        let messages = store.messages(ws, failed, 1000).await.map_err(storage)?;
        if messages.is_empty() {
            eprintln!(
                "no {}messages in workspace {ws}",
                if failed { "failed " } else { "" }
            );
            return Ok(());
        }
        println!(
            "{:<40}  {:<26}  {:<9}  {:<8}  {:<24}  LAST ERROR",
            "ID", "TYPE", "STATUS", "ATTEMPTS", "DUE"
        );
        for m in messages {
            let status = match m.status {
                DeliveryStatus::Pending => "pending",
                DeliveryStatus::Delivered => "delivered",
                DeliveryStatus::Failed => "failed",
            };
            println!(
                "{:<40}  {:<26}  {:<9}  {:<8}  {:<24}  {}",
                m.message.id,
                m.message.event.as_str(),
                status,
                m.attempts,
                m.message.due_at.to_rfc3339(),
                m.last_error.unwrap_or_default()
            );
        }
        Ok(())
    }

    /// `redeliver ID`.
    pub async fn redeliver(store: &dyn StandaloneStore, id: &str) -> Result<(), Failure> {
        if store
            .redeliver(id, SystemClock.now())
            .await
            .map_err(storage)?
        {
            eprintln!("message {id} will be sent again");
            Ok(())
        } else {
            Err(Failure::failed(format!("no message {id}")))
        }
    }
}
