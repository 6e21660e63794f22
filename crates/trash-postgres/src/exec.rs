//! The one way this crate talks to PostgreSQL: a connection (or transaction)
//! that counts every statement it sends, `BEGIN` and `COMMIT` included. The
//! count is how the tests prove that transitions are set-based (a constant
//! number of statements whatever the number of children).

use std::ops::DerefMut;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::{Execute, Executor, PgConnection, PgPool, Postgres, Transaction};
use trash_core::ports::StoreError;

use crate::error::store_error;

/// A connection or transaction whose statements are counted.
pub(crate) struct Counted<'s, C> {
    conn: C,
    counter: &'s AtomicU64,
}

/// A pooled connection outside any explicit transaction.
pub(crate) type Conn<'s> = Counted<'s, PoolConnection<Postgres>>;
/// An open transaction; dropped without commit, it rolls back.
pub(crate) type Tx<'s> = Counted<'s, Transaction<'static, Postgres>>;

/// What the store counts about its use of the database: statements sent,
/// and the times a caller found every pooled connection busy (and how long
/// such callers waited).
#[derive(Debug, Default)]
pub(crate) struct Meters {
    pub(crate) statements: AtomicU64,
    pub(crate) waits: AtomicU64,
    pub(crate) wait_micros: AtomicU64,
}

impl Meters {
    /// Runs `acquire`, counting it as a wait when the pool had no idle
    /// connection and could open no new one.
    async fn acquiring<T>(
        &self,
        pool: &PgPool,
        acquire: impl std::future::Future<Output = T>,
    ) -> T {
        let saturated = pool.num_idle() == 0 && pool.size() >= pool.options().get_max_connections();
        if !saturated {
            return acquire.await;
        }
        let started = std::time::Instant::now();
        let out = acquire.await;
        self.waits.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.wait_micros.fetch_add(micros, Ordering::Relaxed);
        out
    }
}

/// Takes a connection from the pool.
pub(crate) async fn acquire<'s>(pool: &PgPool, meters: &'s Meters) -> Result<Conn<'s>, StoreError> {
    let conn = meters
        .acquiring(pool, pool.acquire())
        .await
        .map_err(store_error)?;
    Ok(Counted {
        conn,
        counter: &meters.statements,
    })
}

/// Takes a connection from the pool, keeping the pool's error as it is
/// (for callers that map errors in context).
pub(crate) async fn acquire_raw<'s>(
    pool: &PgPool,
    meters: &'s Meters,
) -> Result<Conn<'s>, sqlx::Error> {
    let conn = meters.acquiring(pool, pool.acquire()).await?;
    Ok(Counted {
        conn,
        counter: &meters.statements,
    })
}

/// Starts a read-write transaction (READ COMMITTED, the server default).
pub(crate) async fn begin<'s>(pool: &PgPool, meters: &'s Meters) -> Result<Tx<'s>, StoreError> {
    meters.statements.fetch_add(1, Ordering::Relaxed);
    let conn = meters
        .acquiring(pool, pool.begin())
        .await
        .map_err(store_error)?;
    Ok(Counted {
        conn,
        counter: &meters.statements,
    })
}

/// Starts a read-only transaction that sees one snapshot for all its
/// statements (for reads that must be consistent across tables).
pub(crate) async fn begin_snapshot<'s>(
    pool: &PgPool,
    meters: &'s Meters,
) -> Result<Tx<'s>, StoreError> {
    meters.statements.fetch_add(1, Ordering::Relaxed);
    let conn = meters
        .acquiring(
            pool,
            pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
        )
        .await
        .map_err(store_error)?;
    Ok(Counted {
        conn,
        counter: &meters.statements,
    })
}

impl<C> Counted<'_, C>
where
    C: DerefMut<Target = PgConnection>,
{
    fn count(&self) {
        self.counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs a statement; returns the number of rows it affected.
    pub(crate) async fn execute<'q, E>(&mut self, query: E) -> Result<u64, sqlx::Error>
    where
        E: Execute<'q, Postgres> + 'q,
    {
        self.count();
        let conn: &mut PgConnection = &mut self.conn;
        Ok(conn.execute(query).await?.rows_affected())
    }

    /// Runs a query and returns every row.
    pub(crate) async fn fetch_all<'q, E>(&mut self, query: E) -> Result<Vec<PgRow>, sqlx::Error>
    where
        E: Execute<'q, Postgres> + 'q,
    {
        self.count();
        let conn: &mut PgConnection = &mut self.conn;
        conn.fetch_all(query).await
    }

    /// Runs a query and returns its first row, if any.
    pub(crate) async fn fetch_optional<'q, E>(
        &mut self,
        query: E,
    ) -> Result<Option<PgRow>, sqlx::Error>
    where
        E: Execute<'q, Postgres> + 'q,
    {
        self.count();
        let conn: &mut PgConnection = &mut self.conn;
        conn.fetch_optional(query).await
    }
}

impl Tx<'_> {
    /// Commits the transaction.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.count();
        self.conn.commit().await.map_err(store_error)
    }

    /// Rolls the transaction back. Errors are ignored: if the connection is
    /// gone, the server has already rolled back.
    pub(crate) async fn rollback(self) {
        self.count();
        let _ = self.conn.rollback().await;
    }

    /// Commits on success, rolls back on failure, and returns the result.
    pub(crate) async fn finish<T>(self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match result {
            Ok(value) => {
                self.commit().await?;
                Ok(value)
            }
            Err(e) => {
                self.rollback().await;
                Err(e)
            }
        }
    }
}
