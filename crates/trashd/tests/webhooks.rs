//! Outbound webhooks with the real `trashd` binary and a receiver (an axum
//! server) inside the test: every event type arrives signed, a 500 is
//! retried until acknowledged, a `purge_soon` notice is never sent for a
//! restored item, a slow receiver does not hold up the API, and a message
//! survives a SIGKILL of trashd while the receiver is down.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const GLOBAL_SECRET: &str = "whsec_dGhpcyBpcyB0aGUgZ2xvYmFsIHNlY3JldCE=";

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("the body is JSON")
    }
    pub fn event(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }
}

/// How the receiver answers.
#[derive(Default)]
struct Behaviour {
    /// Paths that answer 500 to the first attempt of each message.
    fail_first: Vec<String>,
    /// Ids seen per path.
    seen: BTreeMap<(String, String), u32>,
    /// Requests wait until this is released.
    gate: Option<Arc<tokio::sync::Semaphore>>,
}

#[derive(Clone, Default)]
pub struct Receiver {
    log: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

async fn receive(
    State(r): State<Receiver>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let path = uri.path().to_owned();
    let id = header("webhook-id");
    let gate = r.behaviour.lock().unwrap().gate.clone();
    if let Some(gate) = gate {
        let _permit = gate.acquire().await;
    }
    let status = {
        let mut b = r.behaviour.lock().unwrap();
        let n = b.seen.entry((path.clone(), id.clone())).or_insert(0);
        *n += 1;
        let first = *n == 1;
        if b.fail_first.contains(&path) && first {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::NO_CONTENT
        }
    };
    r.log.lock().unwrap().push(Received {
        path,
        id,
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
        answered: status.as_u16(),
    });
    status
}

impl Receiver {
    /// Serves on `listener` until the test ends.
    pub fn serve(&self, listener: tokio::net::TcpListener) {
        let app = axum::Router::new()
            .fallback(axum::routing::post(receive))
            .with_state(self.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    }

    pub async fn start() -> (Receiver, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let r = Receiver::default();
        r.serve(listener);
        (r, base)
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    fn at(&self, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

/// Verifies a Standard Webhooks signature header against a `whsec_` secret:
/// true if one of its space-separated `v1,` signatures matches.
pub fn verifies(secret: &str, r: &Received) -> bool {
    let key = B64
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", r.id, r.timestamp, r.body).as_bytes());
    let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
    r.signature.split(' ').any(|s| s == expected)
}

fn serve_args<'a>(global: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--webhook-url",
        global,
        "--webhook-secret",
        GLOBAL_SECRET,
        "--deliver-interval",
        "200ms",
    ];
    args.extend_from_slice(extra);
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_signed_retries_follow_a_500_and_restored_items_get_no_notice() {
    let db = SqliteDb::new();
    let key = workspace_with_key(&db.url, "acme");
    let (receiver, base) = Receiver::start().await;
    receiver
        .behaviour
        .lock()
        .unwrap()
        .fail_first
        .push("/acme".into());
    let (out, _) = trashd_ok(
        &db.url,
        &["admin", "add-webhook", "acme", &format!("{base}/acme")],
    );
    let mut lines = out.lines();
    let endpoint = lines.next().unwrap().to_owned();
    let secret = lines.next().unwrap().to_owned();
    assert!(
        endpoint.starts_with("ep_") && secret.starts_with("whsec_"),
        "{out}"
    );
    let (listed, _) = trashd_ok(&db.url, &["admin", "list-webhooks", "acme"]);
    assert!(
        listed.contains(&endpoint) && listed.contains("all"),
        "{listed}"
    );

    let global = format!("{base}/global");
    let server = Server::start(
        &db.url,
        &serve_args(
            &global,
            &[
                "--retention",
                "10s",
                "--purge-notice",
                "8s",
                "--cleanup-interval",
                "500ms",
            ],
        ),
    );
    let api = Api::new(&server, &key);
    // A project with a running training, trashed: trashed,
    // cancel_requested, purge_soon 2 s later (the notice is 8 s before a
    // 10 s retention), and purged by the cleanup.
    api.post_ok("/acme/projects", json!({"name": "Hats", "url": "hats"}))
        .await;
    api.post_ok("/acme/hats/versions", json!({})).await;
    let training = id_of(&api.post_ok("/acme/hats/1/v2/trainings", json!({})).await);
    let (status, trashed) = api.delete("/acme/hats").await;
    assert_eq!(status, 200, "{trashed}");
    assert_eq!(trashed["cancelledTrainings"], 1);
    // Another project trashed and restored at once: its notice (due 2 s
    // after trashing) must never be sent.
    let kept = id_of(
        &api.post_ok("/acme/projects", json!({"name": "Kept", "url": "kept"}))
            .await,
    );
    assert_eq!(api.delete("/acme/kept").await.0, 200);
    api.post_ok(
        "/acme/trash/restore",
        json!({"type": "project", "id": kept}),
    )
    .await;

    // Everything reaches the global endpoint; the workspace's endpoint
    // answered 500 first and gets each message again until it acknowledged.
    let want = [
        "trash.item.trashed",
        "trash.item.purge_soon",
        "trash.item.purged",
        "trash.item.restored",
        "training.cancel_requested",
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let done = ["/global", "/acme"].iter().all(|path| {
            let acked: Vec<String> = receiver
                .at(path)
                .into_iter()
                .filter(|x| x.answered < 300)
                .map(|x| x.event())
                .collect();
            want.iter().all(|w| acked.iter().any(|e| e == w))
        });
        if done {
            break;
        }
        if std::time::Instant::now() > deadline {
            let got: Vec<(String, String, u16)> = receiver
                .received()
                .iter()
                .map(|r| (r.path.clone(), r.event(), r.answered))
                .collect();
            let (deliveries, _) = trashd_ok(&db.url, &["admin", "list-deliveries", "acme"]);
            panic!(
                "not every event arrived: {got:?}\n{deliveries}\n{}",
                server.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The pending cancellation is confirmed once both acknowledged.
    eventually(
        "the cancellation confirmed",
        Duration::from_secs(60),
        || async {
            let (out, _) = trashd_ok(&db.url, &["admin", "pending-cancellations", "acme"]);
            (!out.contains(&training)).then_some(())
        },
    )
    .await;

    let all = receiver.received();
    for r in &all {
        let secret = if r.path == "/global" {
            GLOBAL_SECRET
        } else {
            secret.as_str()
        };
        assert!(verifies(secret, r), "bad signature on {r:?}");
        assert!(r.id.starts_with("msg_"), "{r:?}");
        let body = r.json();
        assert!(
            body["timestamp"]
                .as_str()
                .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()),
            "{body}"
        );
        assert_eq!(body["data"]["workspace"], "acme", "{body}");
    }
    // Item data is named as in the trash listing.
    let item = all
        .iter()
        .find(|r| r.event() == "trash.item.trashed" && r.json()["data"]["url"] == "hats")
        .expect("trashed")
        .json();
    for field in [
        "type",
        "id",
        "url",
        "deletedAt",
        "scheduledCleanupAt",
        "operationId",
    ] {
        assert!(item["data"][field].is_string(), "{field} in {item}");
    }
    let cancel = all
        .iter()
        .find(|r| r.event() == "training.cancel_requested")
        .unwrap()
        .json();
    assert_eq!(cancel["data"]["trainingId"], training.as_str());
    assert_eq!(cancel["data"]["projectUrl"], "hats");
    assert_eq!(cancel["data"]["version"], "1");
    // The global endpoint acknowledged each message once and never saw it
    // again; the workspace's got each twice (500, then 2xx), same id.
    let count = |path: &str| {
        let mut by_id: BTreeMap<String, Vec<u16>> = BTreeMap::new();
        for r in all.iter().filter(|r| r.path == path) {
            by_id.entry(r.id.clone()).or_default().push(r.answered);
        }
        by_id
    };
    assert!(
        count("/global").values().all(|a| a == &vec![204]),
        "{:?}",
        count("/global")
    );
    assert!(
        count("/acme").values().all(|a| a == &vec![500, 204]),
        "{:?}",
        count("/acme")
    );
    // Never a notice for the restored project.
    assert!(
        !all.iter().any(
            |r| r.event() == "trash.item.purge_soon" && r.json()["data"]["id"] == kept.as_str()
        ),
        "a purge notice was sent for a restored item"
    );
    let (deliveries, _) = trashd_ok(&db.url, &["admin", "list-deliveries", "acme"]);
    assert!(
        deliveries.contains("delivered") && !deliveries.contains("failed"),
        "{deliveries}"
    );
    // Interop: the official Python library verifies the same signatures.
    let file = tempfile::NamedTempFile::new().unwrap();
    let cases: Vec<Value> = all
        .iter()
        .map(|r| {
            json!({
                "secret": if r.path == "/global" { GLOBAL_SECRET } else { secret.as_str() },
                "headers": {
                    "webhook-id": r.id,
                    "webhook-timestamp": r.timestamp,
                    "webhook-signature": r.signature,
                },
                "body": r.body,
            })
        })
        .collect();
    std::fs::write(file.path(), serde_json::to_vec(&cases).unwrap()).unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/webhooks-interop.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(file.path())
        .output()
        .expect("the interop script runs");
    assert!(
        out.status.success(),
        "standardwebhooks refused a signature:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_does_not_hold_up_the_api() {
    let db = SqliteDb::new();
    let key = workspace_with_key(&db.url, "acme");
    let (receiver, base) = Receiver::start().await;
    // The receiver holds every request until the API calls are done.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    receiver.behaviour.lock().unwrap().gate = Some(gate.clone());
    let global = format!("{base}/global");
    let server = Server::start(&db.url, &serve_args(&global, &["--webhook-timeout", "60s"]));
    let api = Api::new(&server, &key);
    for i in 0..10 {
        let slug = format!("p{i}");
        api.post_ok("/acme/projects", json!({"name": slug, "url": slug}))
            .await;
        let (status, body) = api.delete(&format!("/acme/{slug}")).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, listed) = api.get("/acme/trash").await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 10);
    // Nothing was acknowledged while the API answered.
    assert!(receiver.received().is_empty());
    gate.add_permits(1000);
    eventually(
        "the held messages delivered",
        Duration::from_secs(60),
        || {
            let r = receiver.clone();
            async move {
                let n = r
                    .received()
                    .iter()
                    .filter(|x| x.event() == "trash.item.trashed")
                    .count();
                (n == 10).then_some(())
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_survives_sigkill_while_the_receiver_is_down() {
    let db = SqliteDb::new();
    let key = workspace_with_key(&db.url, "acme");
    // A port with nobody listening (yet).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let global = format!("http://127.0.0.1:{port}/global");
    let mut server = Server::start(&db.url, &serve_args(&global, &[]));
    let api = Api::new(&server, &key);
    api.post_ok("/acme/projects", json!({"name": "Hats", "url": "hats"}))
        .await;
    assert_eq!(api.delete("/acme/hats").await.0, 200);
    eventually("a failed attempt", Duration::from_secs(30), || async {
        let (out, _) = trashd_ok(&db.url, &["admin", "list-deliveries", "acme"]);
        out.lines()
            .any(|l| l.contains("trash.item.trashed") && l.contains("cannot connect"))
            .then_some(())
    })
    .await;
    let pid = server.pid();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    server.wait_exit(Duration::from_secs(10));

    let receiver = Receiver::default();
    receiver.serve(
        tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap(),
    );
    let _restarted = Server::start(&db.url, &serve_args(&global, &[]));
    let got = eventually(
        "delivered after the restart",
        Duration::from_secs(60),
        || {
            let r = receiver.clone();
            async move {
                r.received()
                    .into_iter()
                    .find(|x| x.event() == "trash.item.trashed")
            }
        },
    )
    .await;
    assert!(verifies(GLOBAL_SECRET, &got));
    let (out, _) = trashd_ok(&db.url, &["admin", "list-deliveries", "acme"]);
    assert!(out.contains(&got.id), "{out}");
}

/// Secret rotation, with a manual clock: during the 24-hour window the
/// signature header carries a signature by each secret; after it, only the
/// new one signs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_signs_with_both_until_the_window_ends() {
    use trash_conformance::harness::{slug, test_runtime, Harness};
    use trash_core::ports::{Outbox, StandaloneStore, WebhookEndpoint, WebhookEndpoints};
    use trash_core::{EventsConfig, TrashConfig};

    let store = Arc::new(trash_memory::MemoryStore::new());
    let h = Harness::whole(store.clone()).await;
    let service = h.service_on(
        h.roles(),
        test_runtime(h.clock.clone()),
        TrashConfig {
            events: Some(EventsConfig::default()),
            ..TrashConfig::default()
        },
    );
    let (receiver, base) = Receiver::start().await;
    let old = "whsec_b2xkIHNlY3JldCBvZiB0aGUgZW5kcG9pbnQ=";
    let new = "whsec_bmV3IHNlY3JldCBvZiB0aGUgZW5kcG9pbnQ=";
    store
        .add_endpoint(&WebhookEndpoint {
            id: "ep_rotating".into(),
            workspace: h.ws.clone(),
            url: format!("{base}/rotating"),
            secret: old.into(),
            previous_secret: None,
            events: None,
            created_at: h.clock.now_ts(),
        })
        .await
        .unwrap();
    let until = h.clock.now_ts().plus(trashd::webhooks::rotation_window());
    assert!(store
        .rotate_endpoint_secret("ep_rotating", new, until)
        .await
        .unwrap());
    let whole: Arc<dyn StandaloneStore> = store.clone();
    let deliverer = trashd::webhooks::Deliverer::new(
        whole,
        None,
        h.clock.clone(),
        Arc::new(trash_runtime::RandomIds),
        trashd::webhooks::DeliverySettings::default(),
    )
    .unwrap();

    h.project("det").await;
    service
        .trash_project(&h.key, &h.ws, &slug("det"), true)
        .await
        .unwrap();
    let report = deliverer.round().await.unwrap();
    assert_eq!(report.delivered, 1, "{report:?}");
    let first = receiver.received().pop().unwrap();
    assert_eq!(first.signature.split(' ').count(), 2, "{first:?}");
    assert!(verifies(new, &first) && verifies(old, &first));

    // The window passes: the same message sent again carries one signature.
    h.clock.advance(chrono::Duration::hours(25));
    assert!(store.redeliver(&first.id, h.clock.now_ts()).await.unwrap());
    assert_eq!(deliverer.round().await.unwrap().delivered, 1);
    let second = receiver.received().pop().unwrap();
    assert_eq!(second.id, first.id, "the same webhook-id on every send");
    assert_eq!(second.signature.split(' ').count(), 1, "{second:?}");
    assert!(verifies(new, &second));
    assert!(!verifies(old, &second), "the old secret no longer signs");
}

/// Two replicas on one PostgreSQL database deliver every message, and a
/// message is never delivered twice under two webhook-ids. Duplicates
/// (the same webhook-id twice) are counted and reported; with claims taken
/// by `FOR UPDATE SKIP LOCKED` and a claim far longer than an attempt,
/// normal operation has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgres_replicas_deliver_every_message_once() {
    let db = PgDb::new("hooks2").await;
    trashd_ok(&db.url, &["migrate"]);
    let key = workspace_with_key(&db.url, "acme");
    let (receiver, base) = Receiver::start().await;
    let global = format!("{base}/global");
    let a = Server::start(&db.url, &serve_args(&global, &[]));
    let b = Server::start(&db.url, &serve_args(&global, &[]));
    let apis = [Api::new(&a, &key), Api::new(&b, &key)];
    const PROJECTS: usize = 60;
    let mut project_ids = Vec::new();
    for i in 0..PROJECTS {
        let api = &apis[i % 2];
        let slug = format!("p{i}");
        let created = api
            .post_ok("/acme/projects", json!({"name": slug, "url": slug}))
            .await;
        project_ids.push(id_of(&created));
        let (status, body) = api.delete(&format!("/acme/{slug}")).await;
        assert_eq!(status, 200, "{body}");
    }
    // Half of them restored, through the other replica.
    for i in (0..PROJECTS).step_by(2) {
        let api = &apis[(i + 1) % 2];
        let (status, body) = api
            .post(
                "/acme/trash/restore",
                json!({"type": "project", "id": project_ids[i]}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let expected = PROJECTS + PROJECTS / 2;
    let distinct = |r: &Receiver| {
        r.received()
            .iter()
            .map(|x| x.id.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    eventually("every message delivered", Duration::from_secs(90), || {
        let r = receiver.clone();
        async move { (distinct(&r) >= expected).then_some(()) }
    })
    .await;
    // A few more rounds of both replicas, for late duplicates to show.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let got = receiver.received();
    let ids: std::collections::BTreeSet<_> = got.iter().map(|x| x.id.clone()).collect();
    assert_eq!(ids.len(), expected, "no message invented");
    // One webhook-id per event: (type, item) never arrives under two ids.
    let mut by_event: BTreeMap<(String, String), std::collections::BTreeSet<String>> =
        BTreeMap::new();
    for x in &got {
        assert!(verifies(GLOBAL_SECRET, x), "{x:?}");
        let body = x.json();
        let item = body["data"]["id"].as_str().unwrap_or_default().to_owned();
        by_event
            .entry((x.event(), item))
            .or_default()
            .insert(x.id.clone());
    }
    assert_eq!(by_event.len(), expected);
    assert!(by_event.values().all(|ids| ids.len() == 1), "{by_event:?}");
    let trashed = by_event
        .keys()
        .filter(|k| k.0 == "trash.item.trashed")
        .count();
    let restored = by_event
        .keys()
        .filter(|k| k.0 == "trash.item.restored")
        .count();
    assert_eq!((trashed, restored), (PROJECTS, PROJECTS / 2));
    let duplicates = got.len() - ids.len();
    eprintln!(
        "two replicas on PostgreSQL: {} messages, {} deliveries, {duplicates} duplicates",
        ids.len(),
        got.len()
    );
    assert_eq!(
        duplicates, 0,
        "a message was delivered twice in normal operation"
    );
}

/// The delivery worker deletes finished messages once the outbox retention
/// has passed (with a manual clock), and keeps pending ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_messages_are_pruned_after_the_retention() {
    use trash_conformance::harness::{slug, test_runtime, Harness};
    use trash_core::ports::{Outbox, StandaloneStore};
    use trash_core::{EventsConfig, TrashConfig};

    let store = Arc::new(trash_memory::MemoryStore::new());
    let h = Harness::whole(store.clone()).await;
    let service = h.service_on(
        h.roles(),
        test_runtime(h.clock.clone()),
        TrashConfig {
            events: Some(EventsConfig::default()),
            ..TrashConfig::default()
        },
    );
    let (receiver, base) = Receiver::start().await;
    let whole: Arc<dyn StandaloneStore> = store.clone();
    let secret = trashd::webhooks::Secret::parse(GLOBAL_SECRET).unwrap();
    let deliverer = trashd::webhooks::Deliverer::new(
        whole,
        Some(trashd::webhooks::GlobalEndpoint {
            url: format!("{base}/global"),
            secret,
        }),
        h.clock.clone(),
        Arc::new(trash_runtime::RandomIds),
        trashd::webhooks::DeliverySettings {
            keep_finished: chrono::Duration::days(30),
            prune_batch: 1,
            ..Default::default()
        },
    )
    .unwrap();
    for p in ["a", "b"] {
        h.project(p).await;
        service
            .trash_project(&h.key, &h.ws, &slug(p), true)
            .await
            .unwrap();
    }
    assert_eq!(deliverer.round().await.unwrap().delivered, 2);
    let delivered: Vec<String> = receiver.received().iter().map(|r| r.id.clone()).collect();
    assert_eq!(delivered.len(), 2);
    // Within the retention: kept, listed, redeliverable.
    h.clock.advance(chrono::Duration::days(29));
    assert_eq!(deliverer.prune().await.unwrap(), 0);
    for id in &delivered {
        assert!(store.message(id).await.unwrap().is_some());
    }
    // Past it: both deleted (in statements of one); the two purge notices,
    // still pending, stay.
    h.clock.advance(chrono::Duration::days(2));
    assert_eq!(deliverer.prune().await.unwrap(), 2);
    for id in &delivered {
        assert!(store.message(id).await.unwrap().is_none());
    }
    let left = store.messages(&h.ws, false, 10).await.unwrap();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left
        .iter()
        .all(|m| m.message.event == trash_core::events::EventType::ItemPurgeSoon));
}

trait NowTs {
    fn now_ts(&self) -> trash_core::domain::Timestamp;
}

impl NowTs for trash_memory::ManualClock {
    fn now_ts(&self) -> trash_core::domain::Timestamp {
        trash_core::ports::Clock::now(self)
    }
}
