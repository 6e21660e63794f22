//! The embedding example is real: its scenario runs, and its custom store
//! passes the whole conformance suite.

#[path = "../examples/embed_custom_store.rs"]
mod example;

use std::sync::Arc;

use trash_core::ports::TrashStore;
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
    assert_eq!(report.calls.get("purge"), Some(&1));
}

struct CountingFactory;

#[async_trait::async_trait]
impl trash_conformance::StoreFactory for CountingFactory {
    async fn create(&self) -> Arc<dyn TrashStore> {
        Arc::new(example::CountingStore::new(Arc::new(MemoryStore::new())))
    }
}

mod conformance {
    trash_conformance::store_conformance_tests!(super::CountingFactory);
}
