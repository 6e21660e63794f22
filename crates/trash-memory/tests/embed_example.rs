//! The embedding example is real: its scenario runs, and its custom store,
//! which plays only the trash roles, passes the whole conformance suite.

#[path = "../examples/embed_custom_store.rs"]
mod example;

use std::sync::Arc;

use trash_conformance::StoreUnderTest;
use trash_memory::MemoryStore;

#[tokio::test]
async fn the_embedding_scenario_runs_through_the_custom_store() {
    let report = example::scenario().await;
    assert_eq!(report.listed, 1);
    assert!(report.restored);
    assert_eq!(report.purged, 1);
    assert_eq!(
        report.stopped_jobs, 1,
        "the running training was cancelled once"
    );
    assert_eq!(report.calls.get("trash"), Some(&2));
    assert_eq!(report.calls.get("restore"), Some(&1));
    assert_eq!(
        report.calls.get("purge_batch"),
        Some(&1),
        "the cleanup purges its batch in one call"
    );
    assert_eq!(report.calls.get("purge"), None);
}

/// The trash roles under test are the custom store's; the fixtures
/// (workspaces, projects, versions, trainings, images) are written through
/// the reference store it wraps, so both see the same data.
struct CountingFactory;

#[async_trait::async_trait]
impl trash_conformance::StoreFactory for CountingFactory {
    async fn create(&self) -> StoreUnderTest {
        let db = Arc::new(MemoryStore::new());
        let custom = Arc::new(example::CountingStore::new(db.clone()));
        StoreUnderTest {
            reads: custom.clone(),
            writes: custom.clone(),
            queue: custom.clone(),
            audit: custom.clone(),
            holds: custom,
            resources: db.clone(),
            accounts: db.clone(),
            sessions: db.clone(),
            empty_jobs: db,
        }
    }
}

mod conformance {
    trash_conformance::store_conformance_tests!(super::CountingFactory);
}
