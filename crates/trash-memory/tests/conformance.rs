//! The conformance suite against the in-memory store.

use std::sync::Arc;

use trash_core::ports::TrashStore;
use trash_memory::MemoryStore;

struct Factory;

#[async_trait::async_trait]
impl trash_conformance::StoreFactory for Factory {
    async fn create(&self) -> Arc<dyn TrashStore> {
        Arc::new(MemoryStore::new())
    }
}

trash_conformance::store_conformance_tests!(Factory);
