//! Crashes and interleavings that only a real database has: a cleanup whose
//! connection is killed in the middle of a purge, and purges racing
//! `link_image` on a shared image.

mod support;

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection, Row};
use support::PgFactory;
use trash_conformance::harness::{days, slug, Harness};
use trash_core::domain::*;
use trash_core::usecases::{Missing, ResourceError, RestoreError, TrashTarget};

/// Counts rows that break referential or trash invariants. Foreign keys
/// already forbid most of them; this checks the data, not the schema.
async fn orphans(conn: &mut PgConnection, schema: &str) -> Vec<(String, i64)> {
    let checks = [
        ("versions without project",
         "SELECT count(*) FROM {s}.versions v WHERE NOT EXISTS (SELECT 1 FROM {s}.projects p WHERE p.id = v.project_id)"),
        ("trainings without version",
         "SELECT count(*) FROM {s}.trainings t WHERE NOT EXISTS (SELECT 1 FROM {s}.versions v WHERE v.project_id = t.project_id AND v.number = t.version_number)"),
        ("links without image",
         "SELECT count(*) FROM {s}.project_images l WHERE NOT EXISTS (SELECT 1 FROM {s}.images i WHERE i.id = l.image_id)"),
        ("links without project",
         "SELECT count(*) FROM {s}.project_images l WHERE NOT EXISTS (SELECT 1 FROM {s}.projects p WHERE p.id = l.project_id)"),
        ("operations whose root is gone or does not record them",
         "SELECT count(*) FROM {s}.trash_operations o WHERE NOT CASE o.root_kind \
            WHEN 'project' THEN EXISTS (SELECT 1 FROM {s}.projects p WHERE p.id = o.project_id AND p.trash_op_id = o.id AND NOT p.trash_cascaded) \
            WHEN 'version' THEN EXISTS (SELECT 1 FROM {s}.versions v WHERE v.project_id = o.project_id AND v.number = o.version_number AND v.trash_op_id = o.id AND NOT v.trash_cascaded) \
            WHEN 'training' THEN EXISTS (SELECT 1 FROM {s}.trainings t WHERE t.id = o.training_id AND t.trash_op_id = o.id AND NOT t.trash_cascaded) \
            WHEN 'workflow' THEN EXISTS (SELECT 1 FROM {s}.workflows w WHERE w.id = o.workflow_id AND w.trash_op_id = o.id AND NOT w.trash_cascaded) END"),
        ("operations whose members do not match their counts",
         "SELECT count(*) FROM {s}.trash_operations o WHERE \
            o.contains_versions <> (SELECT count(*) FROM {s}.versions v WHERE v.trash_op_id = o.id AND v.trash_cascaded) \
            OR o.contains_trainings <> (SELECT count(*) FROM {s}.trainings t WHERE t.trash_op_id = o.id AND t.trash_cascaded)"),
        ("items recording a missing operation",
         "SELECT (SELECT count(*) FROM {s}.projects x WHERE x.trash_op_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {s}.trash_operations o WHERE o.id = x.trash_op_id)) \
               + (SELECT count(*) FROM {s}.versions x WHERE x.trash_op_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {s}.trash_operations o WHERE o.id = x.trash_op_id)) \
               + (SELECT count(*) FROM {s}.trainings x WHERE x.trash_op_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {s}.trash_operations o WHERE o.id = x.trash_op_id)) \
               + (SELECT count(*) FROM {s}.workflows x WHERE x.trash_op_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {s}.trash_operations o WHERE o.id = x.trash_op_id))"),
    ];
    let mut found = Vec::new();
    for (what, sql) in checks {
        let n: i64 = conn
            .fetch_one(sql.replace("{s}", schema).as_str())
            .await
            .expect("orphan check")
            .get(0);
        if n != 0 {
            found.push((what.to_owned(), n));
        }
    }
    found
}

/// How the purge's one delete statement starts (it removes the trainings
/// first, so a held training row stops it there).
const PURGE_STATEMENT: &str = "WITH gone_trainings AS (DELETE FROM trainings";

async fn count(conn: &mut PgConnection, schema: &str, table: &str) -> i64 {
    conn.fetch_one(format!("SELECT count(*) FROM {schema}.{table}").as_str())
        .await
        .expect("count")
        .get(0)
}

/// The backend of `database` waiting on a lock in a statement starting with `prefix`.
async fn waiting_backend(conn: &mut PgConnection, database: &str, prefix: &str) -> i32 {
    for _ in 0..600 {
        let row = conn
            .fetch_optional(
                sqlx::query(
                    "SELECT pid FROM pg_stat_activity \
                     WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE $2 || '%'",
                )
                .bind(database)
                .bind(prefix),
            )
            .await
            .expect("pg_stat_activity");
        if let Some(row) = row {
            return row.get("pid");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no backend waited on a lock in `{prefix}…` within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleanup_killed_mid_purge_leaves_no_orphans_and_a_rerun_finishes() {
    let factory = PgFactory::default();
    let (store, schema) = factory.store_in_schema().await;
    let database = factory.database().await;
    let url = support::TestDb::url_of(&database);
    let mut inspect = PgConnection::connect(&url).await.expect("connect");
    let h = Harness::whole(Arc::new(store.clone())).await;

    // A project kept active, sharing an image with the first victim.
    h.project("keeper").await;
    let mut victims = Vec::new();
    let mut exclusive = Vec::new();
    for i in 0..4 {
        let name = format!("p{i}");
        let p = h.project(&name).await;
        for n in 1..=3 {
            h.version(&name).await;
            h.finished_training(&name, n).await;
            h.finished_training(&name, n).await;
        }
        exclusive.push(h.image(&name, "mine").await);
        if i == 1 {
            // A version trashed on its own before its project.
            h.trash_version(&name, 3).await;
        }
        victims.push(p);
    }
    let shared = h.image("p0", "shared").await;
    h.link("keeper", &shared.id).await;
    h.workflow("flow").await;

    // Trash in order, a minute apart: after p1's version, p0 is the first due.
    h.clock.advance(chrono::Duration::minutes(1));
    for i in 0..4 {
        h.trash_project(&format!("p{i}")).await;
        h.clock.advance(chrono::Duration::minutes(1));
    }
    h.trash(TrashTarget::Workflow { slug: slug("flow") }).await;
    h.clock.advance(days(31));
    assert!(orphans(&mut inspect, &schema).await.is_empty());
    let due = count(&mut inspect, &schema, "trash_operations").await;
    assert_eq!(due, 6);

    // Hold one of p0's training rows: the purge of p0 blocks in the middle
    // of its transaction (revision bumped, images locked, its one delete
    // statement under way).
    let mut blocker = PgConnection::connect(&url).await.expect("connect");
    blocker.execute("BEGIN").await.expect("begin");
    blocker
        .execute(
            sqlx::query(&format!(
                "SELECT id FROM {schema}.trainings WHERE project_id = $1 LIMIT 1 FOR UPDATE"
            ))
            .bind(victims[0].id.as_str()),
        )
        .await
        .expect("lock a training");

    let worker = h.service_with(h.clock.clone(), Retention::default());
    let cleanup = tokio::spawn(async move { worker.purge_due(10).await });
    let pid = waiting_backend(&mut inspect, &database, PURGE_STATEMENT).await;
    let killed: bool = inspect
        .fetch_one(sqlx::query("SELECT pg_terminate_backend($1)").bind(pid))
        .await
        .expect("terminate")
        .get(0);
    assert!(killed);
    // The killed purge fails alone: the worker goes on with the rest of its
    // batch, and p0 stays claimed until its claim passes.
    let report = cleanup
        .await
        .expect("cleanup task")
        .expect("the batch goes on");
    assert_eq!(
        (report.claimed, report.purged, report.failed),
        (6, 5, 1),
        "{report:?}"
    );
    blocker.execute("ROLLBACK").await.expect("rollback");

    // Nothing half-done: p0 is whole and nothing dangles.
    assert_eq!(orphans(&mut inspect, &schema).await, Vec::new());
    let p0 = h.must_agg(&victims[0].id).await;
    assert_eq!((p0.versions.len(), p0.trainings.len()), (3, 6));
    assert!(h
        .store
        .resources
        .image(&h.ws, &exclusive[0].id)
        .await
        .expect("image")
        .is_some());
    // Every other purge committed; p0's rolled back.
    assert_eq!(count(&mut inspect, &schema, "trash_operations").await, 1);
    assert_eq!(h.drain_cleanup(&h.service).await, 0, "p0 is still claimed");

    // Rerun once the killed worker's claim has passed: p0 goes too.
    h.clock.advance(chrono::Duration::minutes(10));
    let purged = h.drain_cleanup(&h.service).await;
    assert_eq!(purged, 1, "the project whose purge was killed");
    assert_eq!(orphans(&mut inspect, &schema).await, Vec::new());
    assert_eq!(count(&mut inspect, &schema, "trash_operations").await, 0);
    assert_eq!(count(&mut inspect, &schema, "projects").await, 1);
    assert_eq!(count(&mut inspect, &schema, "versions").await, 0);
    assert_eq!(count(&mut inspect, &schema, "trainings").await, 0);
    assert_eq!(count(&mut inspect, &schema, "workflows").await, 0);
    for image in &exclusive {
        assert!(h
            .store
            .resources
            .image(&h.ws, &image.id)
            .await
            .expect("image")
            .is_none());
    }
    let kept = h
        .store
        .resources
        .image(&h.ws, &shared.id)
        .await
        .expect("image");
    assert_eq!(
        kept.map(|v| v.projects.len()),
        Some(1),
        "the shared image stays"
    );
    let _ = inspect.close().await;
    store.close().await;
}

/// A purge that has locked a project's images makes a concurrent link of
/// one of them wait; once the purge commits, the link finds no image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_waits_for_a_purge_that_holds_the_image_and_then_finds_it_gone() {
    let factory = PgFactory::default();
    let (store, schema) = factory.store_in_schema().await;
    let database = factory.database().await;
    let url = support::TestDb::url_of(&database);
    let mut inspect = PgConnection::connect(&url).await.expect("connect");
    let h = Harness::whole(Arc::new(store.clone())).await;
    let a = h.project("a").await;
    h.version("a").await;
    h.finished_training("a", 1).await;
    let img = h.image("a", "only-a").await;
    h.project("b").await;
    h.trash_project("a").await;
    h.clock.advance(days(31));

    // Pause the purge after it locked the images.
    let mut blocker = PgConnection::connect(&url).await.expect("connect");
    blocker.execute("BEGIN").await.expect("begin");
    blocker
        .execute(
            sqlx::query(&format!(
                "SELECT id FROM {schema}.trainings WHERE project_id = $1 FOR UPDATE"
            ))
            .bind(a.id.as_str()),
        )
        .await
        .expect("lock");
    let worker = h.service_with(h.clock.clone(), Retention::default());
    let cleanup = tokio::spawn(async move { worker.purge_due(10).await });
    waiting_backend(&mut inspect, &database, PURGE_STATEMENT).await;

    // The link: it waits for the purge's lock on the image.
    let linker = h.resources.clone();
    let (key, ws, image) = (h.key.clone(), h.ws.clone(), img.id.clone());
    let link = tokio::spawn(async move { linker.link_image(&key, &ws, &slug("b"), &image).await });
    waiting_backend(&mut inspect, &database, "SELECT id FROM images").await;

    blocker.execute("ROLLBACK").await.expect("release");
    let report = cleanup.await.expect("task").expect("cleanup");
    assert_eq!((report.purged, report.removed.images), (1, 1));
    let linked = link.await.expect("task");
    assert!(
        matches!(linked, Err(ResourceError::NotFound(Missing::Image))),
        "{linked:?}"
    );
    assert!(h
        .store
        .resources
        .image(&h.ws, &img.id)
        .await
        .expect("q")
        .is_none());
    assert_eq!(orphans(&mut inspect, &schema).await, Vec::new());
    let _ = inspect.close().await;
    store.close().await;
}

/// A link that committed while a purge waited for the image's lock is seen
/// by the purge: the image is no longer exclusive and stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_waits_for_an_in_flight_link_and_keeps_the_image() {
    let factory = PgFactory::default();
    let (store, schema) = factory.store_in_schema().await;
    let database = factory.database().await;
    let url = support::TestDb::url_of(&database);
    let mut inspect = PgConnection::connect(&url).await.expect("connect");
    let h = Harness::whole(Arc::new(store.clone())).await;
    h.project("a").await;
    let img = h.image("a", "only-a").await;
    let b = h.project("b").await;
    h.trash_project("a").await;
    h.clock.advance(days(31));

    // An in-flight link of the image to b, not committed yet (what
    // link_image does between its lock and its commit).
    let mut linker = PgConnection::connect(&url).await.expect("connect");
    linker.execute("BEGIN").await.expect("begin");
    linker
        .execute(
            sqlx::query(&format!(
                "SELECT id FROM {schema}.images WHERE id = $1 FOR KEY SHARE"
            ))
            .bind(img.id.as_str()),
        )
        .await
        .expect("lock image");
    linker
        .execute(
            sqlx::query(&format!(
                "INSERT INTO {schema}.project_images (project_id, image_id) VALUES ($1, $2)"
            ))
            .bind(b.id.as_str())
            .bind(img.id.as_str()),
        )
        .await
        .expect("link");
    let worker = h.service_with(h.clock.clone(), Retention::default());
    let cleanup = tokio::spawn(async move { worker.purge_due(10).await });
    waiting_backend(&mut inspect, &database, "SELECT count(*) FROM").await;
    linker.execute("COMMIT").await.expect("commit link");

    let report = cleanup.await.expect("task").expect("cleanup");
    assert_eq!((report.purged, report.removed.images), (1, 0));
    let view = h
        .store
        .resources
        .image(&h.ws, &img.id)
        .await
        .expect("q")
        .expect("kept");
    assert_eq!(view.projects, vec![b.id.clone()]);
    assert_eq!(orphans(&mut inspect, &schema).await, Vec::new());
    let _ = inspect.close().await;
    store.close().await;
}

/// Purges and links racing freely: whichever wins, the image is either
/// gone with the link refused, or kept and linked; never an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn purge_and_link_race_freely_without_errors() {
    let factory = PgFactory::default();
    let (store, schema) = factory.store_in_schema().await;
    let url = support::TestDb::url_of(&factory.database().await);
    let mut inspect = PgConnection::connect(&url).await.expect("connect");
    let h = Harness::whole(Arc::new(store.clone())).await;
    let (mut kept, mut gone) = (0, 0);
    for i in 0..40 {
        let (a, b) = (format!("a{i}"), format!("b{i}"));
        h.project(&a).await;
        let img = h.image(&a, "img").await;
        let b_id = h.project(&b).await.id;
        h.trash_project(&a).await;
        h.clock.advance(days(31));
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let worker = h.service_with(h.clock.clone(), Retention::default());
        let linker = h.resources.clone();
        let (key, ws, image) = (h.key.clone(), h.ws.clone(), img.id.clone());
        let (b1, b2) = (barrier.clone(), barrier);
        let cleanup = tokio::spawn(async move {
            b1.wait().await;
            worker.purge_due(10).await
        });
        let link = tokio::spawn(async move {
            b2.wait().await;
            linker.link_image(&key, &ws, &slug(&b), &image).await
        });
        let report = cleanup.await.expect("task").expect("cleanup");
        assert_eq!(report.purged, 1);
        match link.await.expect("task") {
            Ok(view) => {
                kept += 1;
                assert_eq!(report.removed.images, 0);
                // Read right after linking, perhaps before the purge.
                assert!(view.projects.contains(&b_id));
                let now = h
                    .store
                    .resources
                    .image(&h.ws, &img.id)
                    .await
                    .expect("q")
                    .expect("kept");
                assert_eq!(now.projects, vec![b_id]);
            }
            Err(ResourceError::NotFound(Missing::Image)) => {
                gone += 1;
                assert_eq!(report.removed.images, 1);
                assert!(h
                    .store
                    .resources
                    .image(&h.ws, &img.id)
                    .await
                    .expect("q")
                    .is_none());
            }
            Err(other) => panic!("link failed with {other:?}"),
        }
    }
    println!("image kept {kept} times, purged {gone} times");
    assert_eq!(orphans(&mut inspect, &schema).await, Vec::new());
    let _ = inspect.close().await;
    store.close().await;
}

/// Restoring a project while another request creates an active project
/// with its slug: different aggregates, so the partial unique index decides.
/// Exactly one of them gets the slug; the other is told who holds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restore_and_create_race_for_one_slug() {
    let factory = PgFactory::default();
    let store = factory.store().await;
    let h = Harness::whole(Arc::new(store.clone())).await;
    let (mut restored, mut created) = (0, 0);
    for i in 0..40 {
        let name = format!("x{i}");
        let old = h.project(&name).await;
        h.trash_project(&name).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let (b1, b2) = (barrier.clone(), barrier);
        let restorer = h.service_with(h.clock.clone(), Retention::default());
        let creator = h.resources.clone();
        let (k1, k2, w1, w2) = (h.key.clone(), h.key.clone(), h.ws.clone(), h.ws.clone());
        let item = ItemRef::Project(old.id.clone());
        let wanted = slug(&name);
        let restore = tokio::spawn(async move {
            b1.wait().await;
            restorer.restore(&k1, &w1, &item, OnConflict::Fail).await
        });
        let create = tokio::spawn(async move {
            b2.wait().await;
            let name = Name::parse("Newcomer").expect("name");
            creator.create_project(&k2, &w2, name, Some(wanted)).await
        });
        let (r, c) = (restore.await.expect("task"), create.await.expect("task"));
        let active = h.project_id(&name).await.expect("someone holds the slug");
        match (r, c) {
            (Ok(_), Err(ResourceError::SlugTaken { conflicting })) => {
                restored += 1;
                assert_eq!(conflicting, old.id.to_string());
                assert_eq!(active, old.id);
            }
            (Err(RestoreError::NameTaken { conflicting }), Ok(new)) => {
                created += 1;
                assert_eq!(conflicting, new.id.to_string());
                assert_eq!(active, new.id);
            }
            other => panic!("both or neither got the slug: {other:?}"),
        }
        let holders = h
            .store
            .resources
            .active_projects(&h.ws, None, u32::MAX)
            .await
            .expect("active");
        assert_eq!(
            holders.iter().filter(|p| p.slug.as_str() == name).count(),
            1
        );
    }
    println!("restore won {restored} times, create won {created} times");
    store.close().await;
}
