//! The schema: migrations apply to an empty database, are idempotent and
//! safe to run from several replicas at once; the trash listing reads an
//! index in order whatever the size of the trash.

mod support;

use sqlx::{Connection, Executor, PgConnection, Row};
use support::{test_options, PgFactory, TestDb};
use trash_core::domain::*;
use trash_core::ports::*;
use trash_postgres::PgStore;

const TABLES: [&str; 17] = [
    "api_keys",
    "audit_events",
    "empty_jobs",
    "holds",
    "images",
    "outbox",
    "pending_cancellations",
    "project_images",
    "projects",
    "trainings",
    "trash_operations",
    "users",
    "versions",
    "web_sessions",
    "webhook_endpoints",
    "workflows",
    "workspaces",
];

async fn tables_and_migrations(url: &str) -> (Vec<String>, i64) {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let tables: Vec<String> = conn
        .fetch_all(
            "SELECT table_name::text AS t FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' ORDER BY 1",
        )
        .await
        .expect("list tables")
        .iter()
        .map(|r| r.get("t"))
        .collect();
    let applied: i64 = conn
        .fetch_one("SELECT count(*) AS n FROM _sqlx_migrations WHERE success")
        .await
        .expect("count migrations")
        .get("n");
    let _ = conn.close().await;
    (tables, applied)
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_are_idempotent() {
    let db = TestDb::create().await;
    let store = PgStore::connect(&db.url(), test_options())
        .await
        .expect("connect");
    store.migrate().await.expect("first migration");
    let (tables, applied) = tables_and_migrations(&db.url()).await;
    assert_eq!(tables, TABLES);
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations dir")
        .count() as i64;
    assert_eq!(applied, migrations);

    // Rerun: nothing changes, nothing fails; the store works.
    store.migrate().await.expect("second migration");
    let again = PgStore::connect(&db.url(), test_options())
        .await
        .expect("connect");
    again.migrate().await.expect("migration from a new process");
    assert_eq!(tables_and_migrations(&db.url()).await, (tables, applied));
    again.ping().await.expect("ping");
    store.close().await;
    again.close().await;
}

#[tokio::test]
async fn replicas_may_migrate_at_the_same_time() {
    let db = TestDb::create().await;
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(
            PgStore::connect(&db.url(), test_options())
                .await
                .expect("connect"),
        );
    }
    let results = futures::future::join_all(stores.iter().map(|s| s.migrate())).await;
    for r in results {
        r.expect("concurrent migration");
    }
    let (tables, _) = tables_and_migrations(&db.url()).await;
    assert_eq!(tables, TABLES);
    for s in stores {
        s.close().await;
    }
}

#[tokio::test]
async fn a_bad_url_is_refused_with_a_sentence() {
    let err = PgStore::connect("mysql://nope", test_options())
        .await
        .expect_err("not a postgres url");
    assert!(
        err.to_string()
            .starts_with("the PostgreSQL URL is not valid"),
        "{err}"
    );
}

/// Fills a workspace's trash with `n` trashed workflows, directly in SQL,
/// and gathers statistics when `analyze` says so.
async fn fill_trash(admin: &sqlx::PgPool, schema: &str, ws: &str, n: i32, analyze: bool) {
    let sql = format!(
        "INSERT INTO {schema}.workflows (id, workspace, slug, name, created_at) \
         SELECT 'w' || lpad(i::text, 19, '0'), $1, 'wf-' || i, 'Workflow ' || i, now() \
         FROM generate_series(1, $2) AS i;
         INSERT INTO {schema}.trash_operations (id, workspace, root_kind, workflow_id, actor_kind, \
             actor_id, actor_name, deleted_at, scheduled_cleanup_at, cleanup_delete_images, \
             contains_versions, contains_trainings) \
         SELECT 'o' || lpad(i::text, 19, '0'), $1, 'workflow', 'w' || lpad(i::text, 19, '0'), \
             'system', 'system', 'seed', timestamptz '2026-01-01' + i * interval '1 second', \
             timestamptz '2026-02-01' + i * interval '1 second', false, 0, 0 \
         FROM generate_series(1, $2) AS i;
         UPDATE {schema}.workflows SET trash_op_id = 'o' || substr(id, 2) WHERE workspace = $1;
         {{analyze}}"
    );
    let analyze = if analyze {
        format!("ANALYZE {schema}.workflows; ANALYZE {schema}.trash_operations;")
    } else {
        String::new()
    };
    let sql = sql.replace("{analyze}", &analyze);
    // Several statements: run them one by one with the same binds.
    for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let q = sqlx::query(statement);
        let q = if statement.contains("$1") {
            q.bind(ws)
        } else {
            q
        };
        let q = if statement.contains("$2") {
            q.bind(n)
        } else {
            q
        };
        q.execute(admin).await.expect("seed");
    }
}

#[tokio::test]
async fn listing_reads_an_index_in_order_whatever_the_trash_size() {
    let factory = PgFactory::default();
    let (store, schema) = factory.store_in_schema().await;
    let admin = factory.admin().await;
    let ws = WorkspaceSlug::parse("big").expect("slug");
    store
        .create_workspace(&Workspace {
            slug: ws.clone(),
            name: Name::parse("Big").expect("name"),
            created_at: Timestamp::from_unix_millis(0).expect("t"),
        })
        .await
        .expect("workspace");
    fill_trash(&admin, &schema, ws.as_str(), 20_000, true).await;

    let first = TrashQuery {
        workspace: ws.clone(),
        kind: None,
        limit: 50,
        after: None,
    };
    let page = store.list_trash(&first).await.expect("first page");
    assert_eq!(page.len(), 50);
    let cursor = TrashCursor::after(&page[49].operation);
    let queries = [
        first.clone(),
        TrashQuery {
            kind: Some(ItemKind::Workflow),
            ..first.clone()
        },
        TrashQuery {
            after: Some(cursor.clone()),
            ..first.clone()
        },
        TrashQuery {
            kind: Some(ItemKind::Workflow),
            after: Some(cursor),
            ..first.clone()
        },
    ];
    for query in &queries {
        assert_reads_only_its_page(&store, query).await;
    }
    // The pages themselves: newest first, strictly after the cursor.
    let second = store.list_trash(&queries[2]).await.expect("second page");
    assert_eq!(second.len(), 50);
    assert!(second[0].operation.deleted_at < page[49].operation.deleted_at);
    store.close().await;
}

/// What a listing read from `trash_operations`, by PostgreSQL's own
/// counters: the page's rows (one more when more follow), never the
/// workspace's whole trash, and nothing by a sequential scan.
async fn assert_reads_only_its_page(store: &PgStore, query: &TrashQuery) {
    let reads = store.list_trash_reads(query).await.expect("reads");
    assert_eq!(reads.entries, query.limit as usize, "{query:?}");
    // The counters count (`track_counts` on): the page's rows were fetched.
    assert!(
        reads.index_fetches >= reads.entries as i64,
        "PostgreSQL counted {} fetches for {} entries ({query:?})",
        reads.index_fetches,
        reads.entries
    );
    assert!(
        reads.index_fetches <= i64::from(query.limit) + 1,
        "listing read {} rows for a page of {} ({query:?})",
        reads.index_fetches,
        query.limit
    );
    assert_eq!(
        reads.sequential_reads, 0,
        "listing scanned the trash ({query:?})"
    );
}

/// Without statistics (no `ANALYZE` has run, as on a cluster with autovacuum
/// off), PostgreSQL estimates a workspace at 0.5 % of the table, and between
/// a few thousand and a few hundred thousand items a plain keyset query is
/// planned as a bitmap scan of the whole workspace and a sort (32 ms instead
/// of 0.3 ms at 50,000 items). The listing still reads only its page, on
/// the first call and once its plan is kept.
#[tokio::test]
async fn listing_without_statistics_reads_only_its_page() {
    let factory = PgFactory::default();
    let (store, schema) = factory.store_in_schema().await;
    let admin = factory.admin().await;
    let ws = WorkspaceSlug::parse("fresh").expect("slug");
    store
        .create_workspace(&Workspace {
            slug: ws.clone(),
            name: Name::parse("Fresh").expect("name"),
            created_at: Timestamp::from_unix_millis(0).expect("t"),
        })
        .await
        .expect("workspace");
    fill_trash(&admin, &schema, ws.as_str(), 50_000, false).await;
    // A plain keyset query keeps to the index below about 100 rows a page
    // here and sorts the whole workspace above; the API allows 1,000.
    for limit in [50, 101, 1000] {
        let query = TrashQuery {
            workspace: ws.clone(),
            kind: None,
            limit,
            after: None,
        };
        // Past the fifth call PL/pgSQL may switch to a generic plan.
        for _ in 0..7 {
            assert_reads_only_its_page(&store, &query).await;
        }
        let by_kind = TrashQuery {
            kind: Some(ItemKind::Workflow),
            ..query.clone()
        };
        assert_reads_only_its_page(&store, &by_kind).await;
        // Deep in the trash, with and without the kind: the cursor stays
        // an index bound in both shapes.
        let deep = store.list_trash(&query).await.expect("page");
        let after = Some(TrashCursor::after(&deep[deep.len() - 1].operation));
        for kind in [None, Some(ItemKind::Workflow)] {
            let next = TrashQuery {
                kind,
                after: after.clone(),
                ..query.clone()
            };
            assert_reads_only_its_page(&store, &next).await;
        }
    }
    let query = TrashQuery {
        workspace: ws.clone(),
        kind: None,
        limit: 50,
        after: None,
    };
    let page = store.list_trash(&query).await.expect("first page");
    assert_eq!(page.len(), 50);
    match &page[0].item {
        TrashedItem::Workflow(w) => assert_eq!(w.slug.as_str(), "wf-50000"),
        other => panic!("{other:?}"),
    }
    store.close().await;
}
