//! Set-based SQL: trashing, restoring and purging a project with 1,000
//! versions, 5,000 trainings and 1,000 images runs exactly as many
//! statements as doing it to a project with one of each, through the real
//! use cases. Statements are counted from sqlx's own statement events
//! (target `sqlx::query`), which cover every statement sent to SQLite except
//! the transaction control (`BEGIN`, `COMMIT`, `ROLLBACK`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sqlx::{ConnectOptions, Connection};
use trash_conformance::harness::{days, t0, Harness};
use trash_core::domain::*;
use trash_core::ports::*;
use trash_sqlite::SqliteStore;

const VERSIONS: i64 = 1_000;
const TRAININGS: i64 = 5_000;
const IMAGES: i64 = 1_000;
/// The purge transaction alone: guard, operation check, orphaned images,
/// image links, operations, trainings, versions, projects, audit events.
const PURGE_TRANSACTION: u64 = 9;

static STATEMENTS: AtomicU64 = AtomicU64::new(0);

/// Counts the statement events of sqlx, on whichever thread they happen
/// (SQLite statements run on each connection's worker thread).
struct StatementCounter;

impl tracing::Subscriber for StatementCounter {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "sqlx::query"
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() == "sqlx::query" {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn statements() -> u64 {
    STATEMENTS.load(Ordering::SeqCst)
}

/// Gives the big project its other versions, trainings and images directly
/// (through the use cases it would take 7,000 guarded writes).
async fn seed_big(path: &std::path::Path, project: &ProjectId) {
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .foreign_keys(true)
        .connect()
        .await
        .expect("raw connection");
    let at = t0().unix_millis();
    let statements = [
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < {VERSIONS}) \
             INSERT INTO versions (project_id, number, name, created_at) \
             SELECT ?1, i, 'v' || i, ?2 FROM n"
        ),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < {TRAININGS}) \
             INSERT INTO trainings (id, project_id, version, status, started_at, ended_at) \
             SELECT printf('T%019d', i), ?1, (i - 1) % {VERSIONS} + 1, 'succeeded', ?2, ?2 FROM n"
        ),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {IMAGES}) \
             INSERT INTO images (id, workspace, name, created_at) \
             SELECT printf('I%019d', i), 'acme', 'image ' || i, ?2 FROM n WHERE ?1 <> ''"
        ),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {IMAGES}) \
             INSERT INTO image_links (project_id, image_id) \
             SELECT ?1, printf('I%019d', i) FROM n WHERE ?2 IS NOT NULL"
        ),
        format!(
            "UPDATE projects SET next_version = {VERSIONS} + 1, revision = revision + 1 \
             WHERE id = ?1 AND ?2 IS NOT NULL"
        ),
    ];
    let mut tx = conn.begin().await.expect("begin");
    for sql in &statements {
        sqlx::query(sql)
            .bind(project.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    tx.commit().await.expect("commit");
    conn.close().await.expect("close");
}

/// One version, one finished training and one exclusive image.
async fn small_project(h: &Harness, s: &str) -> Project {
    let p = h.project(s).await;
    h.version(s).await;
    h.finished_training(s, 1).await;
    h.image(s, "own").await;
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trash_restore_and_purge_do_not_grow_with_the_project() {
    tracing::subscriber::set_global_default(StatementCounter).expect("the only subscriber");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("trash.db");
    let store = Arc::new(SqliteStore::open(&path).await.expect("open"));
    let h = Harness::whole(store.clone()).await;

    let small = small_project(&h, "small").await;
    let big = small_project(&h, "big").await;
    seed_big(&path, &big.id).await;
    // An image the big project shares with a project that stays.
    h.project("keeper").await;
    let shared = h.image("keeper", "shared").await;
    h.link("big", &shared.id).await;
    let agg = h.must_agg(&big.id).await;
    assert_eq!(agg.versions.len() as i64, VERSIONS);
    assert_eq!(agg.trainings.len() as i64, TRAININGS);

    let mut counts = Vec::new();
    for p in ["small", "big"] {
        let before = statements();
        h.trash_project(p).await;
        let trash = statements() - before;
        let id = h.project_id(p).await.expect("project");
        let before = statements();
        h.restore(ItemRef::Project(id)).await.expect("restore");
        let restore = statements() - before;
        h.trash_project(p).await;
        h.clock.advance(chrono::Duration::minutes(1));
        counts.push((trash, restore));
    }

    // Past the retention: the small project is due first.
    h.clock.advance(days(31));
    let mut removed = Vec::new();
    for _ in ["small", "big"] {
        let before = statements();
        let report = h.service.purge_due(1).await.expect("cleanup");
        assert_eq!(report.purged, 1, "{report:?}");
        removed.push((statements() - before, report.removed));
    }

    let (small_trash, small_restore) = counts[0];
    assert!(
        small_trash > 0 && small_restore > 0,
        "the counter sees statements"
    );
    assert_eq!(counts[1], counts[0], "trash and restore statements");
    assert!(removed[0].0 >= PURGE_TRANSACTION, "{removed:?}");
    assert_eq!(removed[1].0, removed[0].0, "purge statements");

    assert_eq!(
        removed[0].1,
        PurgeCounts {
            projects: 1,
            versions: 1,
            workflows: 0,
            trainings: 1,
            images: 1,
        }
    );
    assert_eq!(
        removed[1].1,
        PurgeCounts {
            projects: 1,
            versions: VERSIONS as u64,
            workflows: 0,
            trainings: TRAININGS as u64,
            images: IMAGES as u64 + 1,
        }
    );
    for id in [&small.id, &big.id] {
        assert_eq!(store.load_project(&h.ws, id).await.expect("load"), None);
    }
    let keeper = store
        .image(&h.ws, &shared.id)
        .await
        .expect("image")
        .expect("the shared image stays");
    assert_eq!(keeper.projects.len(), 1);
}
