//! A purge removes the rows its plan names and decides nothing else: no
//! reference in the schema cascades, so a plan that would leave a row
//! pointing at a removed one (an operation rooted in a removed version, a
//! training of a removed version, a version of a removed project) fails as
//! a whole at the foreign-key check and changes nothing.

use std::sync::Arc;

use trash_conformance::harness::Harness;
use trash_core::domain::*;
use trash_core::ports::*;
use trash_core::rules::{self, PurgeReason};
use trash_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_that_leaves_a_dependant_behind_fails_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("trash.db"))
            .await
            .expect("open"),
    );
    let h = Harness::whole(store.clone()).await;
    let project = h.project("det").await;
    h.version("det").await;
    h.version("det").await;
    let training = h.finished_training("det", 2).await;
    h.image("det", "only").await;
    h.trash_version("det", 2).await;
    h.trash_project("det").await;

    let agg = h.must_agg(&project.id).await;
    let root_op = |root: &ItemRef| {
        agg.operations
            .iter()
            .find(|o| &o.root == root)
            .map(|o| o.id.clone())
            .expect("operation")
    };
    let project_op = root_op(&ItemRef::Project(project.id.clone()));
    let version_op = root_op(&ItemRef::Version(
        project.id.clone(),
        VersionNumber::new(2).expect("number"),
    ));
    let plan = rules::purge_in_project(
        &agg,
        &project_op,
        PurgeReason::DeleteForever,
        &WorkspaceHolds::none(h.ws.clone()),
        &Actor::system(),
        h.clock.now(),
    )
    .expect("plan");
    assert!(plan.remove.operations.contains(&version_op));
    assert_eq!(plan.remove.trainings, vec![training.id.clone()]);
    assert!(plan.delete_orphaned_images);
    let audit_before = h.audit().await;

    let mut keeps_an_operation = plan.clone();
    keeps_an_operation
        .remove
        .operations
        .retain(|o| o != &version_op);
    let mut keeps_a_training = plan.clone();
    keeps_a_training.remove.trainings.clear();
    let mut keeps_a_version = plan.clone();
    keeps_a_version.remove.versions.pop();
    for partial in [keeps_an_operation, keeps_a_training, keeps_a_version] {
        let refused = store.purge(&partial).await;
        assert!(
            matches!(refused, Err(StoreError::Internal(_))),
            "{refused:?}"
        );
        assert_eq!(h.must_agg(&project.id).await, agg, "nothing changed");
        assert_eq!(h.audit().await, audit_before, "no event recorded");
    }

    let counts = store.purge(&plan).await.expect("the whole plan");
    assert_eq!(
        counts,
        PurgeCounts {
            projects: 1,
            versions: 2,
            workflows: 0,
            trainings: 1,
            images: 1,
        }
    );
    assert!(h.agg(&project.id).await.is_none());
    assert!(h.listing().await.is_empty());
    assert_eq!(
        h.audit().await.len(),
        audit_before.len() + plan.events.len()
    );
}
