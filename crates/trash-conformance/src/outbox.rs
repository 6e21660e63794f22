//! The outbox cases: messages are written atomically with the change they
//! report, a claim hands a message to one worker until it expires, a restore
//! withdraws its item's pending `purge_soon` notice, and endpoints are
//! stored, listed, rotated and removed.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use trash_core::domain::*;
use trash_core::events::*;
use trash_core::ports::*;
use trash_core::rules::{self, TrashContext, TrashDecision};
use trash_core::{EventsConfig, TrashConfig, TrashService};

use crate::harness::*;
use crate::StoreUnderTest;

/// A store under test that also plays the outbox roles.
#[derive(Clone)]
pub struct OutboxUnderTest {
    /// The trash roles and fixtures.
    pub store: StoreUnderTest,
    /// The outbox under test.
    pub outbox: Arc<dyn Outbox>,
    /// The endpoints under test.
    pub endpoints: Arc<dyn WebhookEndpoints>,
}

impl OutboxUnderTest {
    /// Every role from one store.
    pub fn whole<S>(store: Arc<S>) -> OutboxUnderTest
    where
        S: StandaloneStore + Outbox + WebhookEndpoints + 'static,
    {
        OutboxUnderTest {
            store: StoreUnderTest::whole(store.clone()),
            outbox: store.clone(),
            endpoints: store,
        }
    }
}

/// Creates fresh stores that play the outbox roles.
#[async_trait]
pub trait OutboxFactory: Send + Sync + 'static {
    /// A new, empty, migrated store, isolated from every other one.
    async fn create_outbox(&self) -> OutboxUnderTest;
}

struct Events {
    h: Harness,
    outbox: Arc<dyn Outbox>,
    endpoints: Arc<dyn WebhookEndpoints>,
    service: TrashService,
}

async fn setup(f: &dyn OutboxFactory) -> Events {
    let under = f.create_outbox().await;
    let h = Harness::new(under.store).await;
    let service = h.service_on(
        h.roles(),
        test_runtime(h.clock.clone()),
        TrashConfig {
            events: Some(EventsConfig::default()),
            ..TrashConfig::default()
        },
    );
    Events {
        h,
        outbox: under.outbox,
        endpoints: under.endpoints,
        service,
    }
}

fn far() -> Timestamp {
    t0().plus(days(400))
}

fn types(messages: &[StoredMessage]) -> Vec<EventType> {
    let mut t: Vec<EventType> = messages.iter().map(|m| m.message.event).collect();
    t.sort();
    t
}

fn message(id: &str, ws: &WorkspaceSlug, at: Timestamp) -> OutboxMessage {
    OutboxMessage {
        id: id.to_string(),
        workspace: ws.clone(),
        event: EventType::ItemTrashed,
        body: format!("{{\"id\":{}}}", json_string(id)),
        due_at: at,
        operation: None,
    }
}

/// A trash writes its messages in its own transaction: a plan refused by
/// the guard writes none, and the messages of the committed one are all
/// there, with the `purge_soon` notice due a week before the schedule.
pub async fn outbox_is_written_atomically_with_the_change(f: &dyn OutboxFactory) {
    let e = setup(f).await;
    let h = &e.h;
    let p = h.project("det").await;
    h.version("det").await;
    let t = h.training("det", 1).await;

    // Two decisions from one read: the second is refused by the guard.
    let agg = h.must_agg(&p.id).await;
    let decide = |op: &str| {
        let ctx = TrashContext {
            actor: Actor::system(),
            now: t0(),
            retention: Retention::default(),
            operation_id: OperationId::parse(op).expect("valid id"),
            cleanup_delete_images: false,
            cancel_claim: Duration::minutes(5),
        };
        match rules::trash_project(&agg, &ctx) {
            TrashDecision::Apply(plan) => plan,
            other => panic!("expected a plan, got {other:?}"),
        }
    };
    let mut first = decide("aaaaaaaaaaaaaaaaaaaa");
    first.outbox = vec![message("msg_first", &h.ws, t0())];
    let mut second = decide("bbbbbbbbbbbbbbbbbbbb");
    second.outbox = vec![message("msg_second", &h.ws, t0())];
    h.store.writes.trash(&first).await.expect("first commits");
    assert_eq!(
        h.store.writes.trash(&second).await,
        Err(StoreError::Conflict)
    );
    assert!(e.outbox.message("msg_first").await.unwrap().is_some());
    assert_eq!(e.outbox.message("msg_second").await.unwrap(), None);
    let first_stored = e.outbox.message("msg_first").await.unwrap().unwrap();
    assert_eq!(first_stored.message, first.outbox[0]);
    assert_eq!(first_stored.status, DeliveryStatus::Pending);

    // Through the use case: trashed, purge_soon and cancel_requested.
    h.project("seg").await;
    h.version("seg").await;
    let t2 = h.training("seg", 1).await;
    let out = e
        .service
        .trash_project(&h.key, &h.ws, &slug("seg"), true)
        .await
        .expect("trash");
    let all = e.outbox.messages(&h.ws, false, 100).await.unwrap();
    let mine: Vec<StoredMessage> = all
        .into_iter()
        .filter(|m| m.message.id != "msg_first")
        .collect();
    assert_eq!(
        types(&mine),
        vec![
            EventType::ItemTrashed,
            EventType::ItemPurgeSoon,
            EventType::TrainingCancelRequested
        ]
    );
    let notice = mine
        .iter()
        .find(|m| m.message.event == EventType::ItemPurgeSoon)
        .unwrap();
    assert_eq!(
        notice.message.due_at,
        out.scheduled_cleanup_at.plus(-days(7))
    );
    let cancel = e
        .outbox
        .message(&cancel_message_id(&t2.id))
        .await
        .unwrap()
        .expect("the cancellation is in the outbox");
    assert!(cancel.message.body.contains(t2.id.as_str()));
    assert!(cancel
        .message
        .body
        .starts_with("{\"type\":\"training.cancel_requested\""));
    // The first (direct) trash cancelled `t` without a message: none invented.
    assert_eq!(
        e.outbox.message(&cancel_message_id(&t.id)).await.unwrap(),
        None
    );
    // Other workspaces see none of it.
    assert!(e
        .outbox
        .messages(&h.other_ws, false, 100)
        .await
        .unwrap()
        .is_empty());
}

/// A claimed message goes to one caller until its claim expires; a retry
/// holds it until the retry time; a failed one is never claimed again
/// unless redelivered; a delivered one is done.
pub async fn outbox_claims_once_and_releases_on_expiry(f: &dyn OutboxFactory) {
    let e = setup(f).await;
    let h = &e.h;
    h.project("det").await;
    e.service
        .trash_project(&h.key, &h.ws, &slug("det"), true)
        .await
        .expect("trash");
    let now = t0();
    let until = now.plus(Duration::minutes(1));
    let claimed = e.outbox.claim_messages(now, until, 10).await.unwrap();
    assert_eq!(
        types(&claimed),
        vec![EventType::ItemTrashed],
        "the notice is not due"
    );
    assert!(e
        .outbox
        .claim_messages(now, until, 10)
        .await
        .unwrap()
        .is_empty());
    let later = now.plus(Duration::seconds(59));
    assert!(e
        .outbox
        .claim_messages(later, until, 10)
        .await
        .unwrap()
        .is_empty());
    // The claim expires: claimed again.
    let again = e
        .outbox
        .claim_messages(until, until.plus(Duration::minutes(1)), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    let id = again[0].message.id.clone();

    // A failed attempt keeps it until the retry time and remembers acks.
    let acked = vec!["ep_a".to_string()];
    let retry_at = until.plus(Duration::minutes(10));
    e.outbox
        .retry_message(&id, &acked, retry_at, "500")
        .await
        .unwrap();
    assert!(e
        .outbox
        .claim_messages(retry_at.plus(Duration::seconds(-1)), far(), 10)
        .await
        .unwrap()
        .is_empty());
    let retried = e
        .outbox
        .claim_messages(retry_at, retry_at.plus(Duration::minutes(1)), 10)
        .await
        .unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].attempts, 1);
    assert_eq!(retried[0].acked, acked);
    assert_eq!(retried[0].last_error.as_deref(), Some("500"));

    // Failed for good: listed as failed, never claimed.
    e.outbox
        .fail_message(&id, &acked, retry_at, "gave up")
        .await
        .unwrap();
    assert!(e
        .outbox
        .claim_messages(far(), far(), 10)
        .await
        .unwrap()
        .iter()
        .all(|m| m.message.id != id));
    let failed = e.outbox.messages(&h.ws, true, 10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].status, DeliveryStatus::Failed);
    assert_eq!(failed[0].attempts, 2);

    // Redelivered: pending again with a fresh window, then delivered.
    let t = retry_at.plus(Duration::hours(1));
    assert!(e.outbox.redeliver(&id, t).await.unwrap());
    assert!(!e.outbox.redeliver("msg_missing", t).await.unwrap());
    let back = e
        .outbox
        .claim_messages(t, t.plus(Duration::minutes(1)), 10)
        .await
        .unwrap();
    let back: Vec<_> = back.into_iter().filter(|m| m.message.id == id).collect();
    assert_eq!(back.len(), 1);
    assert_eq!((back[0].attempts, back[0].acked.len()), (0, 0));
    assert_eq!(back[0].message.due_at, t);
    e.outbox.complete_message(&id, &acked, t).await.unwrap();
    let done = e.outbox.message(&id).await.unwrap().unwrap();
    assert_eq!(done.status, DeliveryStatus::Delivered);
    assert_eq!(done.finished_at, Some(t));
    assert!(e
        .outbox
        .claim_messages(far(), far(), 10)
        .await
        .unwrap()
        .iter()
        .all(|m| m.message.id != id));
    // Acknowledging a message that is gone is not an error.
    e.outbox.complete_message("msg_gone", &[], t).await.unwrap();
}

/// A restore withdraws the item's pending `purge_soon` notice and writes
/// `restored`; a purge writes `purged` and withdraws the notices of every
/// operation it removes.
pub async fn restore_and_purge_withdraw_the_purge_notice(f: &dyn OutboxFactory) {
    let e = setup(f).await;
    let h = &e.h;
    let p = h.project("det").await;
    e.service
        .trash_project(&h.key, &h.ws, &slug("det"), true)
        .await
        .expect("trash");
    e.service
        .restore(
            &h.key,
            &h.ws,
            &ItemRef::Project(p.id.clone()),
            OnConflict::Fail,
        )
        .await
        .expect("restore");
    let all = e.outbox.messages(&h.ws, false, 100).await.unwrap();
    assert_eq!(
        types(&all),
        vec![EventType::ItemTrashed, EventType::ItemRestored],
        "the notice of the restored item is gone"
    );
    let restored = all
        .iter()
        .find(|m| m.message.event == EventType::ItemRestored)
        .unwrap();
    assert!(restored.message.body.contains("\"url\":\"det\""));
    assert!(e
        .outbox
        .claim_messages(far(), far(), 100)
        .await
        .unwrap()
        .iter()
        .all(|m| m.message.event != EventType::ItemPurgeSoon));

    // Trashed again and purged by the cleanup after the schedule.
    h.version("det").await;
    e.service
        .trash_version(&h.key, &h.ws, &slug("det"), num(1))
        .await
        .expect("trash version");
    e.service
        .trash_project(&h.key, &h.ws, &slug("det"), true)
        .await
        .expect("trash project");
    let late = t0().plus(days(31));
    h.clock.set(late);
    // Deliver the notices first, as the worker would have by then, except one.
    let notices: Vec<StoredMessage> = e
        .outbox
        .messages(&h.ws, false, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.message.event == EventType::ItemPurgeSoon)
        .collect();
    assert_eq!(notices.len(), 2);
    e.outbox
        .complete_message(&notices[0].message.id, &[], late)
        .await
        .unwrap();
    // The project takes the version's operation with it, or the version's
    // is purged first: either way each item is reported purged once.
    let report = e.service.purge_due(10).await.expect("cleanup");
    assert!(report.purged >= 1);
    let all = e.outbox.messages(&h.ws, false, 100).await.unwrap();
    let purged: Vec<&StoredMessage> = all
        .iter()
        .filter(|m| m.message.event == EventType::ItemPurged)
        .collect();
    assert_eq!(purged.len(), 2, "one per removed operation: {all:?}");
    let notices_left: Vec<&StoredMessage> = all
        .iter()
        .filter(|m| m.message.event == EventType::ItemPurgeSoon)
        .collect();
    assert_eq!(
        notices_left.len(),
        1,
        "the delivered notice stays, the pending one is withdrawn"
    );
    assert_eq!(notices_left[0].status, DeliveryStatus::Delivered);
}

/// Endpoints are stored per workspace, rotated (keeping the previous secret
/// until the given instant) and removed.
pub async fn webhook_endpoints_are_stored_rotated_and_removed(f: &dyn OutboxFactory) {
    let e = setup(f).await;
    let h = &e.h;
    let ep = WebhookEndpoint {
        id: "ep_one".into(),
        workspace: h.ws.clone(),
        url: "http://127.0.0.1:9/hook".into(),
        secret: "whsec_b25l".into(),
        previous_secret: None,
        events: Some(vec![EventType::ItemTrashed, EventType::ItemPurged]),
        created_at: t0(),
    };
    e.endpoints.add_endpoint(&ep).await.unwrap();
    assert_eq!(
        e.endpoints.add_endpoint(&ep).await,
        Err(StoreError::AlreadyExists)
    );
    let all_events = WebhookEndpoint {
        id: "ep_two".into(),
        events: None,
        created_at: t0().plus(Duration::seconds(1)),
        ..ep.clone()
    };
    e.endpoints.add_endpoint(&all_events).await.unwrap();
    assert_eq!(
        e.endpoints.endpoints(&h.ws).await.unwrap(),
        vec![ep.clone(), all_events.clone()]
    );
    assert!(e.endpoints.endpoints(&h.other_ws).await.unwrap().is_empty());
    let until = t0().plus(days(1));
    assert!(e
        .endpoints
        .rotate_endpoint_secret("ep_one", "whsec_dHdv", until)
        .await
        .unwrap());
    assert!(!e
        .endpoints
        .rotate_endpoint_secret("ep_none", "whsec_dHdv", until)
        .await
        .unwrap());
    let rotated = e.endpoints.endpoint("ep_one").await.unwrap().unwrap();
    assert_eq!(rotated.secret, "whsec_dHdv");
    assert_eq!(
        rotated.previous_secret,
        Some(("whsec_b25l".to_string(), until))
    );
    assert!(e.endpoints.remove_endpoint("ep_one").await.unwrap());
    assert!(!e.endpoints.remove_endpoint("ep_one").await.unwrap());
    assert_eq!(
        e.endpoints.endpoints(&h.ws).await.unwrap(),
        vec![all_events]
    );
}

/// Pruning deletes finished messages (delivered or failed) older than the
/// cut-off, oldest first and no more than asked, and never a pending one,
/// however old.
pub async fn prune_removes_only_old_finished_messages(f: &dyn OutboxFactory) {
    let e = setup(f).await;
    let h = &e.h;
    for p in ["pa", "pb", "pc"] {
        h.project(p).await;
        e.service
            .trash_project(&h.key, &h.ws, &slug(p), true)
            .await
            .expect("trash");
    }
    let now = t0();
    let claimed = e
        .outbox
        .claim_messages(now, now.plus(Duration::minutes(1)), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3, "the three trashed messages");
    let ids: Vec<String> = claimed.iter().map(|m| m.message.id.clone()).collect();
    let t1 = now.plus(Duration::hours(1));
    let t2 = now.plus(Duration::hours(2));
    e.outbox.complete_message(&ids[0], &[], t1).await.unwrap();
    e.outbox
        .fail_message(&ids[1], &[], t2, "gave up")
        .await
        .unwrap();
    e.outbox
        .retry_message(&ids[2], &[], now.plus(Duration::minutes(5)), "500")
        .await
        .unwrap();
    let all_before = e.outbox.messages(&h.ws, false, 100).await.unwrap().len();
    assert_eq!(all_before, 6, "three trashed, three purge notices");

    // The cut-off is exclusive.
    assert_eq!(e.outbox.prune_messages(t1, 10).await.unwrap(), 0);
    // Oldest first, at most `limit`.
    let cut = t2.plus(Duration::seconds(1));
    assert_eq!(e.outbox.prune_messages(cut, 1).await.unwrap(), 1);
    assert!(e.outbox.message(&ids[0]).await.unwrap().is_none());
    assert!(e.outbox.message(&ids[1]).await.unwrap().is_some());
    assert_eq!(e.outbox.prune_messages(cut, 10).await.unwrap(), 1);
    assert!(e.outbox.message(&ids[1]).await.unwrap().is_none());
    // Pending messages stay, however far the cut-off.
    assert_eq!(e.outbox.prune_messages(far(), 100).await.unwrap(), 0);
    let left = e.outbox.messages(&h.ws, false, 100).await.unwrap();
    assert_eq!(left.len(), 4);
    assert!(left.iter().all(|m| m.status == DeliveryStatus::Pending));
    assert!(e.outbox.message(&ids[2]).await.unwrap().is_some());
}

/// Expands to one `#[tokio::test]` per outbox case, each calling the case
/// with `$factory` (an expression implementing [`OutboxFactory`]).
#[macro_export]
macro_rules! outbox_conformance_tests {
    ($factory:expr) => {
        $crate::outbox_conformance_tests!(@each $factory;
            outbox_is_written_atomically_with_the_change,
            outbox_claims_once_and_releases_on_expiry,
            restore_and_purge_withdraw_the_purge_notice,
            webhook_endpoints_are_stored_rotated_and_removed,
            prune_removes_only_old_finished_messages,
        );
    };
    (@each $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let factory = $factory;
                $crate::outbox::$case(&factory).await;
            }
        )*
    };
}
