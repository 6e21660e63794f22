//! The contract suite against SQLite: every case, and every race iteration,
//! gets a fresh database file in its own temporary directory.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use trash_conformance::{StoreFactory, StoreUnderTest};
use trash_sqlite::SqliteStore;

/// Creates stores in temporary directories that live as long as the factory
/// (one test case), so files stay valid while the case's stores are in use.
struct SqliteFactory {
    dirs: Mutex<Vec<tempfile::TempDir>>,
}

impl SqliteFactory {
    fn new() -> SqliteFactory {
        SqliteFactory {
            dirs: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl StoreFactory for SqliteFactory {
    async fn create(&self) -> StoreUnderTest {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&dir.path().join("trash.db"))
            .await
            .expect("open a fresh SQLite store");
        self.dirs.lock().expect("not poisoned").push(dir);
        StoreUnderTest::whole(Arc::new(store))
    }
}

trash_conformance::store_conformance_tests!(SqliteFactory::new());
trash_conformance::account_conformance_tests!(SqliteFactory::new());

#[async_trait]
impl trash_conformance::outbox::OutboxFactory for SqliteFactory {
    async fn create_outbox(&self) -> trash_conformance::outbox::OutboxUnderTest {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&dir.path().join("trash.db"))
            .await
            .expect("open a fresh SQLite store");
        self.dirs.lock().expect("not poisoned").push(dir);
        trash_conformance::outbox::OutboxUnderTest::whole(Arc::new(store))
    }
}

trash_conformance::outbox_conformance_tests!(SqliteFactory::new());
