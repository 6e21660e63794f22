//! Reading the audit trail newest first, a page at a time
//! ([`AuditLog::audit_page`] through [`TrashService::events`]).

use trash_core::domain::*;
use trash_core::ports::*;
use trash_core::usecases::*;

use crate::harness::*;
use crate::StoreFactory;

async fn harness(factory: &dyn StoreFactory) -> Harness {
    Harness::new(factory.create().await).await
}

fn query(h: &Harness, before: Option<i64>, kinds: &[AuditKind], limit: u32) -> AuditQuery {
    AuditQuery {
        workspace: h.ws.clone(),
        before,
        kinds: kinds.to_vec(),
        item_kind: None,
        limit,
    }
}

/// The trail read newest first: filtered by kind and item kind, scoped to
/// the workspace, and cut at `before`.
pub async fn audit_page_reads_newest_first_with_filters(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let p = h.project("det").await;
    h.version("det").await;
    let t = h.training("det", 1).await;
    let wf = h.workflow("flow").await;
    h.trash_project("det").await;
    h.trash(TrashTarget::WorkflowById { id: wf.id.clone() })
        .await;
    h.restore(ItemRef::Project(p.id.clone()))
        .await
        .expect("restore");
    let oldest_first: Vec<AuditRecord> = h
        .store
        .audit
        .audit_events(&h.ws, None, 100)
        .await
        .expect("read");
    let all = h
        .store
        .audit
        .audit_page(&query(&h, None, &AuditKind::ALL, 100))
        .await
        .expect("page");
    let mut reversed = oldest_first.clone();
    reversed.reverse();
    assert_eq!(all, reversed, "newest first, every kind");
    let kinds: Vec<AuditKind> = all.iter().map(|r| r.event.kind).collect();
    assert_eq!(
        kinds,
        vec![
            AuditKind::Restored,
            AuditKind::Trashed,
            AuditKind::CancellationSucceeded,
            AuditKind::CancellationRequested,
            AuditKind::Trashed,
        ]
    );
    // Only some kinds.
    let trashed = h
        .store
        .audit
        .audit_page(&query(&h, None, &[AuditKind::Trashed], 100))
        .await
        .expect("page");
    assert_eq!(trashed.len(), 2);
    assert_eq!(
        trashed[0].event.item,
        Some(ItemRef::Workflow(wf.id.clone()))
    );
    assert_eq!(trashed[1].event.item, Some(ItemRef::Project(p.id.clone())));
    // Only one item kind.
    let mut q = query(&h, None, &AuditKind::ALL, 100);
    q.item_kind = Some(ItemKind::Training);
    let trainings = h.store.audit.audit_page(&q).await.expect("page");
    assert_eq!(trainings.len(), 2);
    assert!(trainings
        .iter()
        .all(|r| r.event.item == Some(ItemRef::Training(t.id.clone()))));
    // Cut at `before`, limited.
    let older = h
        .store
        .audit
        .audit_page(&query(&h, Some(all[1].seq), &AuditKind::ALL, 2))
        .await
        .expect("page");
    assert_eq!(older, all[2..4].to_vec());
    // Another workspace's trail is not this one's.
    let theirs = AuditQuery {
        workspace: h.other_ws.clone(),
        ..query(&h, None, &AuditKind::ALL, 100)
    };
    assert!(h
        .store
        .audit
        .audit_page(&theirs)
        .await
        .expect("page")
        .is_empty());
    // No kinds asked: nothing.
    assert!(h
        .store
        .audit
        .audit_page(&query(&h, None, &[], 100))
        .await
        .expect("page")
        .is_empty());
}

/// Paging the events of a long trail (well over a thousand events) visits
/// each exactly once, newest first, and an event recorded while paging
/// does not shift the pages (keyset pagination).
pub async fn events_page_through_a_long_trail(f: &dyn StoreFactory) {
    let h = harness(f).await;
    let wf = h.workflow("flow").await;
    let item = ItemRef::Workflow(wf.id.clone());
    const CYCLES: usize = 650;
    for _ in 0..CYCLES {
        h.trash(TrashTarget::WorkflowById { id: wf.id.clone() })
            .await;
        h.restore(item.clone()).await.expect("restore");
    }
    let total = CYCLES * 2;
    let mut seen: Vec<AuditRecord> = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = h
            .service
            .events(
                &h.key,
                &h.ws,
                &EventsRequest {
                    kind: None,
                    limit: PageLimit::new(97).expect("valid"),
                    cursor,
                },
            )
            .await
            .expect("events");
        pages += 1;
        if pages == 3 {
            // A new event while paging lands before the first page, not in
            // the pages still to come.
            h.trash(TrashTarget::WorkflowById { id: wf.id.clone() })
                .await;
        }
        seen.extend(page.events);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);
    assert_eq!(pages, total.div_ceil(97));
    assert!(seen.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
    assert_eq!(seen[0].event.kind, AuditKind::Restored);
    assert_eq!(seen[total - 1].event.kind, AuditKind::Trashed);
    // A page needs project:read.
    let scopeless = h.key_with(&[]).await;
    assert!(matches!(
        h.service
            .events(&scopeless, &h.ws, &EventsRequest::default())
            .await,
        Err(AuditError::Denied(_))
    ));
    // Another workspace's key reads nothing of this one.
    assert!(matches!(
        h.service
            .events(&h.other_key, &h.ws, &EventsRequest::default())
            .await,
        Err(AuditError::Denied(_))
    ));
}
