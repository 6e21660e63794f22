//! Test databases: each test gets its own database on the local server
//! (`TRASHD_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432`, the
//! server part of a URL without a database name), and each store it asks
//! for lives in a fresh schema of that database. Databases are dropped when
//! their owner is dropped; ones left by a killed run are swept by the next.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rand::Rng;
use sqlx::{Connection, Executor, PgConnection, PgPool, Row};
use tokio::sync::OnceCell;
use trash_conformance::StoreUnderTest;
use trash_postgres::{PgOptions, PgStore};

/// Databases this suite creates start with this.
const PREFIX: &str = "trashd_test_";
/// Databases older than this are left over from a killed run.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The server URL, without a database name.
pub fn server_url() -> String {
    std::env::var("TRASHD_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// A connection to the maintenance database.
pub async fn maintenance() -> PgConnection {
    PgConnection::connect(&format!("{}/postgres", server_url()))
        .await
        .expect("connect to the maintenance database (is PostgreSQL running? scripts/ensure-postgres.sh)")
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Drops test databases left by runs that were killed (older than an hour).
async fn sweep_stale(conn: &mut PgConnection) {
    let rows = conn
        .fetch_all(
            sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE $1")
                .bind(format!("{PREFIX}%")),
        )
        .await
        .expect("list test databases");
    let now = unix_seconds();
    for row in rows {
        let name: String = row.get("datname");
        let created = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|c| now.saturating_sub(c) > STALE_AFTER.as_secs()) {
            // Fails harmlessly if someone still uses it.
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS \"{name}\"").as_str())
                .await;
        }
    }
}

static SWEPT: OnceCell<()> = OnceCell::const_new();

/// A database of its own, dropped (with its connections) on drop.
pub struct TestDb {
    name: String,
}

impl TestDb {
    /// Creates an empty database.
    pub async fn create() -> TestDb {
        let mut conn = maintenance().await;
        SWEPT.get_or_init(|| sweep_stale(&mut conn)).await;
        let suffix: u64 = rand::thread_rng().gen();
        let name = format!("{PREFIX}{}_{suffix:016x}", unix_seconds());
        conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .expect("create test database");
        let _ = conn.close().await;
        TestDb { name }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its URL.
    pub fn url(&self) -> String {
        Self::url_of(&self.name)
    }

    /// The URL of the database called `name`.
    pub fn url_of(name: &str) -> String {
        format!("{}/{}", server_url(), name)
    }

    /// Its URL with `search_path` set to `schema`.
    pub fn url_in_schema(&self, schema: &str) -> String {
        format!("{}?options[search_path]={schema}", self.url())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime: do the async work on a
        // thread of its own and wait for it.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                let mut conn = PgConnection::connect(&format!("{}/postgres", server_url()))
                    .await
                    .ok()?;
                conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                    .await
                    .ok()?;
                let _ = conn.close().await;
                Some(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!(
                "could not drop test database {}; the next run sweeps it",
                self.name
            );
        }
    }
}

/// Options for test stores: few connections (the server is shared), a
/// generous acquire timeout (the machine is busy).
pub fn test_options() -> PgOptions {
    PgOptions {
        max_connections: 5,
        acquire_timeout: Duration::from_secs(30),
        ..PgOptions::default()
    }
}

/// Creates fresh stores: one database per factory, one schema per store.
#[derive(Default)]
pub struct PgFactory {
    db: OnceCell<(TestDb, PgPool)>,
    schemas: AtomicU32,
}

impl PgFactory {
    /// The factory's database and an admin pool on it.
    async fn db(&self) -> &(TestDb, PgPool) {
        self.db
            .get_or_init(|| async {
                let db = TestDb::create().await;
                let admin = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&db.url())
                    .await
                    .expect("connect to the test database");
                (db, admin)
            })
            .await
    }

    /// A new, migrated, empty store in a schema of its own.
    pub async fn store(&self) -> PgStore {
        self.store_in_schema().await.0
    }

    /// Like [`PgFactory::store`], also naming the schema (for tests that
    /// seed or inspect tables directly through [`PgFactory::admin`]).
    pub async fn store_in_schema(&self) -> (PgStore, String) {
        let (db, admin) = self.db().await;
        let schema = format!("s{}", self.schemas.fetch_add(1, Ordering::Relaxed));
        admin
            .execute(format!("CREATE SCHEMA {schema}").as_str())
            .await
            .expect("create schema");
        let store = PgStore::connect(&db.url_in_schema(&schema), test_options())
            .await
            .expect("connect store");
        store.migrate().await.expect("migrate");
        (store, schema)
    }

    /// The name of the factory's database.
    pub async fn database(&self) -> String {
        self.db().await.0.name().to_owned()
    }

    /// An admin pool on the factory's database (search_path: public).
    pub async fn admin(&self) -> PgPool {
        self.db().await.1.clone()
    }
}

#[async_trait]
impl trash_conformance::StoreFactory for PgFactory {
    async fn create(&self) -> StoreUnderTest {
        StoreUnderTest::whole(Arc::new(self.store().await))
    }
}

#[async_trait::async_trait]
impl trash_conformance::outbox::OutboxFactory for PgFactory {
    async fn create_outbox(&self) -> trash_conformance::outbox::OutboxUnderTest {
        trash_conformance::outbox::OutboxUnderTest::whole(Arc::new(self.store().await))
    }
}
