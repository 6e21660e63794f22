//! The conformance suite against the in-memory store: the trash roles and
//! the accounts role.

use std::sync::Arc;

use trash_conformance::StoreUnderTest;
use trash_memory::MemoryStore;

struct Factory;

#[async_trait::async_trait]
impl trash_conformance::StoreFactory for Factory {
    async fn create(&self) -> StoreUnderTest {
        StoreUnderTest::whole(Arc::new(MemoryStore::new()))
    }
}

trash_conformance::store_conformance_tests!(Factory);
trash_conformance::account_conformance_tests!(Factory);

#[async_trait::async_trait]
impl trash_conformance::outbox::OutboxFactory for Factory {
    async fn create_outbox(&self) -> trash_conformance::outbox::OutboxUnderTest {
        trash_conformance::outbox::OutboxUnderTest::whole(Arc::new(MemoryStore::new()))
    }
}

trash_conformance::outbox_conformance_tests!(Factory);
