//! A purge removes exactly the rows its plan names. Nothing cascades in the
//! schema, so a plan that would leave behind a row depending on a removed
//! one fails as a whole and changes nothing, instead of the database
//! deciding what else goes.

mod support;

use std::sync::Arc;

use support::PgFactory;
use trash_conformance::harness::Harness;
use trash_core::domain::*;
use trash_core::ports::*;
use trash_core::rules::{self, PurgeReason};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_that_leaves_a_dependant_behind_fails_and_changes_nothing() {
    let factory = PgFactory::default();
    let store = factory.store().await;
    let h = Harness::whole(Arc::new(store.clone())).await;
    let project = h.project("det").await;
    h.version("det").await;
    h.version("det").await;
    h.finished_training("det", 2).await;
    h.image("det", "only").await;
    h.trash_version("det", 2).await;
    h.trash_project("det").await;

    let agg = h.must_agg(&project.id).await;
    let op_of = |root: &ItemRef| {
        agg.operations
            .iter()
            .find(|o| &o.root == root)
            .map(|o| o.id.clone())
            .expect("operation")
    };
    let project_op = op_of(&ItemRef::Project(project.id.clone()));
    let version_op = op_of(&ItemRef::Version(
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
    assert!(plan.delete_orphaned_images);

    // The version's operation, rooted in a removed version, left out.
    let mut keeps_an_operation = plan.clone();
    keeps_an_operation
        .remove
        .operations
        .retain(|o| o != &version_op);
    // A training of a removed version left out.
    let mut keeps_a_training = plan.clone();
    keeps_a_training.remove.trainings.clear();
    for partial in [keeps_an_operation, keeps_a_training] {
        let refused = store.purge(&partial).await;
        assert!(
            matches!(refused, Err(StoreError::Internal(_))),
            "{refused:?}"
        );
        assert_eq!(h.must_agg(&project.id).await, agg, "nothing changed");
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
    store.close().await;
}
