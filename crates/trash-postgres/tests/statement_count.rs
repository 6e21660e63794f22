//! Set-based SQL: trashing, restoring and purging a project with 1,000
//! versions, 10,000 trainings and 1,000 images sends exactly as many
//! statements as doing it to a project with one version. Counted by the
//! store's own statement counter (every statement, BEGIN and COMMIT
//! included), through the real use cases. The counts themselves are the
//! ones `docs/postgres.md` states (checked against the server's statement
//! log with `log_statement = all`).

mod support;

use std::sync::Arc;
use std::time::Instant;

use support::PgFactory;
use trash_conformance::harness::{days, Harness};
use trash_core::domain::*;
use trash_postgres::PgStore;

const VERSIONS: i32 = 1_000;
const TRAININGS: i32 = 10_000;
const IMAGES: i32 = 1_000;
/// In-flight trainings in each project: each one costs the use case a call
/// to the job canceller and a recorded confirmation, so both projects have
/// the same number.
const IN_FLIGHT: i32 = 2;

/// Trashing a project by slug with two in-flight trainings: the slug
/// holders (1); the aggregate in one read-only snapshot (BEGIN, three
/// SELECTs, COMMIT: 5); the trash transaction (BEGIN, guard, operation,
/// project, versions, trainings, cancel, pending cancellations, audit lock,
/// audit insert, COMMIT: 11); one confirmed cancellation per in-flight
/// training (BEGIN, delete, audit lock, audit insert, COMMIT: 5 each).
const TRASH_STATEMENTS: u64 = 1 + 5 + 11 + 5 * IN_FLIGHT as u64;
/// Trashing a project with three versions and no training in flight, as
/// the server's log shows it with `log_statement = all` (checked on
/// 2026-12-01): the slug holders (1); the aggregate (5); the trash
/// transaction (BEGIN, guard, operation, project, versions, audit lock,
/// audit insert, COMMIT: 8). (The request's API-key lookup comes on top.)
const TRASH_PLAIN_STATEMENTS: u64 = 1 + 5 + 8;
/// Restoring a project by id: the aggregate (5); the restore transaction
/// (BEGIN, guard, projects, versions, trainings, operation, audit lock,
/// audit insert, withdrawing the operation's pending purge notice, COMMIT: 10).
const RESTORE_STATEMENTS: u64 = 5 + 10;
/// A cleanup batch of one project: the claim (1); the batch's aggregates,
/// which the purge sets are decided from (BEGIN, the projects with their
/// operations, their versions, their trainings, COMMIT: 5); the legal holds
/// of the batch's workspaces (1); the batch's purge transaction (BEGIN, its
/// time limit, the guards (revisions and hold revisions), image lock, the
/// one statement that deletes every named row, audit lock, audit insert,
/// withdrawing the removed operations' pending purge notices, COMMIT: 9).
const PURGE_STATEMENTS: u64 = 1 + 5 + 1 + 9;
/// A cleanup batch of projects and workflows, whatever their number: as
/// [`PURGE_STATEMENTS`], plus one statement reading the workflows.
const MIXED_BATCH_STATEMENTS: u64 = 1 + 6 + 1 + 9;

/// Seeds the big project's children directly (through the use cases it
/// would take 11,000 guarded writes).
async fn seed_big(admin: &sqlx::PgPool, schema: &str, project: &ProjectId) {
    let statements = [
        format!(
            "INSERT INTO {schema}.versions (project_id, number, name, created_at) \
             SELECT $1, n, 'v' || n, date_trunc('milliseconds', now()) \
             FROM generate_series(1, {VERSIONS}) AS n"
        ),
        format!(
            "INSERT INTO {schema}.trainings (id, project_id, version_number, status, started_at, ended_at) \
             SELECT 'T' || lpad(i::text, 19, '0'), $1, (i - 1) % {VERSIONS} + 1, \
                    CASE WHEN i <= {IN_FLIGHT} THEN 'running' ELSE 'succeeded' END, \
                    date_trunc('milliseconds', now()), \
                    CASE WHEN i <= {IN_FLIGHT} THEN NULL ELSE date_trunc('milliseconds', now()) END \
             FROM generate_series(1, {TRAININGS}) AS i"
        ),
        format!(
            "UPDATE {schema}.projects SET next_version = {VERSIONS} + 1, revision = revision + 1 \
             WHERE id = $1"
        ),
        format!(
            "INSERT INTO {schema}.images (id, workspace, name, created_at) \
             SELECT 'I' || lpad(i::text, 19, '0'), 'acme', 'image ' || i, \
                    date_trunc('milliseconds', now()) \
             FROM generate_series(1, {IMAGES}) AS i WHERE $1 <> ''"
        ),
        format!(
            "INSERT INTO {schema}.project_images (project_id, image_id) \
             SELECT $1, 'I' || lpad(i::text, 19, '0') FROM generate_series(1, {IMAGES}) AS i"
        ),
        format!("ANALYZE {schema}.versions"),
        format!("ANALYZE {schema}.trainings"),
        format!("ANALYZE {schema}.project_images"),
    ];
    for sql in &statements {
        let q = sqlx::query(sql);
        let q = if sql.contains("$1") {
            q.bind(project.as_str())
        } else {
            q
        };
        q.execute(admin).await.expect("seed the big project");
    }
}

/// Runs `f` and returns how many statements the store sent meanwhile.
async fn statements<F: std::future::Future>(store: &PgStore, what: &str, f: F) -> (u64, F::Output) {
    let before = store.statement_count();
    let started = Instant::now();
    let out = f.await;
    let n = store.statement_count() - before;
    println!("{what}: {n} statements in {:?}", started.elapsed());
    (n, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trash_restore_and_purge_do_not_grow_with_the_children() {
    let factory = PgFactory::default();
    let (store, schema) = factory.store_in_schema().await;
    let admin = factory.admin().await;
    let h = Harness::whole(Arc::new(store.clone())).await;

    // Small: one version, two running trainings and one finished, one image.
    let small = h.project("small").await;
    h.version("small").await;
    for _ in 0..IN_FLIGHT {
        h.training("small", 1).await;
    }
    h.finished_training("small", 1).await;
    h.image("small", "only").await;
    // Big: seeded in bulk, the same number of in-flight trainings.
    let big = h.project("big").await;
    seed_big(&admin, &schema, &big.id).await;
    let loaded = h.must_agg(&big.id).await;
    assert_eq!(loaded.versions.len(), VERSIONS as usize);
    assert_eq!(loaded.trainings.len(), TRAININGS as usize);

    // Trash.
    let (small_trash, _) = statements(&store, "trash small", h.trash_project("small")).await;
    let (big_trash, outcome) = statements(&store, "trash big", h.trash_project("big")).await;
    assert_eq!(outcome.cancelled_trainings, IN_FLIGHT as u32);
    assert_eq!(
        small_trash, big_trash,
        "trashing sends more statements for more children"
    );
    assert_eq!(big_trash, TRASH_STATEMENTS);
    let op = h.must_agg(&big.id).await.operations;
    assert_eq!(op.len(), 1);
    assert_eq!(op[0].contains.versions, VERSIONS as u32);
    assert_eq!(op[0].contains.trainings, TRAININGS as u32);

    // Restore.
    let (small_restore, r) = statements(
        &store,
        "restore small",
        h.restore(ItemRef::Project(small.id.clone())),
    )
    .await;
    r.expect("restore small");
    let (big_restore, r) = statements(
        &store,
        "restore big",
        h.restore(ItemRef::Project(big.id.clone())),
    )
    .await;
    r.expect("restore big");
    assert_eq!(
        small_restore, big_restore,
        "restoring sends more statements for more children"
    );
    assert_eq!(big_restore, RESTORE_STATEMENTS);
    let agg = h.must_agg(&big.id).await;
    assert!(agg.project.state.is_active());
    assert!(agg.versions.iter().all(|v| v.state.is_active()));
    assert!(agg.trainings.iter().all(|t| t.state.is_active()));

    // Purge: trash again (small first, so its schedule comes first), then
    // let the cleanup take one operation at a time.
    h.trash_project("small").await;
    h.clock.advance(chrono::Duration::hours(1));
    h.trash_project("big").await;
    h.clock.advance(days(31));
    let (small_purge, report) = statements(&store, "purge small", h.service.purge_due(1)).await;
    let report = report.expect("cleanup");
    assert_eq!((report.purged, report.removed.projects), (1, 1));
    assert_eq!(report.removed.versions, 1);
    let (big_purge, report) = statements(&store, "purge big", h.service.purge_due(1)).await;
    let report = report.expect("cleanup");
    assert_eq!((report.purged, report.removed.projects), (1, 1));
    assert_eq!(report.removed.versions, VERSIONS as u64);
    assert_eq!(report.removed.trainings, TRAININGS as u64);
    assert_eq!(report.removed.images, IMAGES as u64);
    assert_eq!(
        small_purge, big_purge,
        "purging sends more statements for more children"
    );
    assert_eq!(big_purge, PURGE_STATEMENTS);
    assert!(h.agg(&big.id).await.is_none());

    // A batch of many operations costs what a batch of two does: one read
    // and one purge transaction for the whole batch.
    let mut batch_statements = Vec::new();
    for n in [1, 25] {
        for i in 0..n {
            let p = format!("batch-{n}-p{i}");
            h.project(&p).await;
            h.version(&p).await;
            h.image(&p, "img").await;
            h.trash_project(&p).await;
            let w = format!("batch-{n}-w{i}");
            h.workflow(&w).await;
            h.trash(trash_core::usecases::TrashTarget::Workflow {
                slug: Slug::parse(&w).expect("slug"),
            })
            .await;
        }
        h.clock.advance(days(31));
        let (count, report) = statements(
            &store,
            &format!("purge a batch of {}", 2 * n),
            h.service.purge_due(100),
        )
        .await;
        let report = report.expect("cleanup");
        assert_eq!(report.purged, 2 * n);
        assert_eq!((report.batched, report.alone), (2 * n, 0));
        assert_eq!(report.removed.images, u64::from(n));
        batch_statements.push(count);
    }
    assert_eq!(
        batch_statements,
        vec![MIXED_BATCH_STATEMENTS, MIXED_BATCH_STATEMENTS],
        "a batch costs the same statements whatever its size"
    );

    for table in [
        "versions",
        "trainings",
        "project_images",
        "images",
        "trash_operations",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {schema}.{table}"))
            .fetch_one(&admin)
            .await
            .expect("count");
        assert_eq!(n, 0, "{table} still has rows");
    }

    // Trash a plain project: three versions, nothing in flight.
    h.project("plain").await;
    for _ in 0..3 {
        h.version("plain").await;
    }
    let (plain_trash, _) = statements(&store, "trash plain", h.trash_project("plain")).await;
    assert_eq!(plain_trash, TRASH_PLAIN_STATEMENTS);

    store.close().await;
}
