//! Bulk restore ([`TrashService::restore_many`]) on the store under test.

use trash_core::domain::*;
use trash_core::usecases::*;

use crate::harness::*;
use crate::StoreFactory;

/// Items are independent, answered in request order, and a project named
/// after its own version is still restored first.
pub async fn bulk_restore_restores_parents_first_item_by_item(f: &dyn StoreFactory) {
    let h = Harness::new(f.create().await).await;
    let p = h.project("det").await;
    h.version("det").await;
    h.version("det").await;
    h.trash_version("det", 2).await;
    h.trash_project("det").await;
    let missing = ProjectId::parse("Zzzzzzzzzzzzzzzzzzz1").expect("valid");
    let item = |target| RestoreItem {
        target,
        on_conflict: OnConflict::Fail,
    };
    let items = [
        item(ItemRef::Version(p.id.clone(), num(2))),
        item(ItemRef::Project(missing)),
        item(ItemRef::Project(p.id.clone())),
    ];
    let results = h
        .service
        .restore_many(&h.key, &h.ws, &items)
        .await
        .expect("bulk");
    assert_eq!(results.len(), 3);
    assert!(results[0].as_ref().is_ok_and(|o| !o.already_active));
    assert_eq!(results[1], Err(RestoreError::NotFound));
    assert!(results[2].as_ref().is_ok_and(|o| !o.already_active));
    let agg = h.must_agg(&p.id).await;
    assert!(agg.operations.is_empty(), "both operations restored");
    assert!(matches!(version_state(&agg, 2), ItemState::Active));
    // Whole-call refusals.
    assert_eq!(
        h.service.restore_many(&h.key, &h.ws, &[]).await,
        Err(BulkRestoreError::Count { given: 0, max: 100 })
    );
    assert_eq!(
        h.service.restore_many(&h.other_key, &h.ws, &items).await,
        Err(BulkRestoreError::Denied(AccessDenied::WrongWorkspace))
    );
}
