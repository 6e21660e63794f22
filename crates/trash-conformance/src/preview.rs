//! Read-only previews and searches the web view shows: what "delete
//! forever" would destroy, and a bounded search of the trash by name.

use trash_core::domain::*;
use trash_core::ports::{Clock, EmptyJobState};
use trash_core::usecases::*;

use crate::harness::*;
use crate::StoreFactory;

fn owner(ws: &WorkspaceSlug) -> WorkspaceAdmin {
    WorkspaceAdmin::from_user(WebUser {
        workspace: ws.clone(),
        user_id: UserId::parse("uuuuuuuuuuuuuuuuuuuu").expect("valid"),
        email: Email::parse("owner@example.com").expect("valid"),
        role: Role::Owner,
    })
    .expect("an owner")
}

/// The preview names exactly what the deletion then removes (versions
/// trashed earlier on their own included, images only the project links),
/// changes nothing, and says when images are kept.
pub async fn delete_forever_preview_counts_what_goes(f: &dyn StoreFactory) {
    let h = Harness::new(f.create().await).await;
    let owner = owner(&h.ws);
    let p = h.project("det").await;
    h.project("other").await;
    h.version("det").await;
    h.version("det").await;
    h.finished_training("det", 1).await;
    h.finished_training("det", 2).await;
    h.image("det", "only-here").await;
    h.image("det", "also-only-here").await;
    let shared = h.image("det", "shared").await;
    h.link("other", &shared.id).await;
    // Version 2 goes to the trash on its own first: the project's purge
    // takes it too.
    h.trash_version("det", 2).await;
    h.trash_project("det").await;
    let before = h.agg(&p.id).await;
    let root = ItemRef::Project(p.id.clone());
    let preview = h
        .service
        .preview_delete_forever(&owner, &h.ws, &root)
        .await
        .expect("preview");
    assert_eq!(preview.confirmation, "Project det");
    assert!(preview.deletes_images);
    let r = preview.removed;
    assert_eq!(
        (r.projects, r.versions, r.trainings, r.workflows, r.images),
        (1, 2, 2, 0, 2)
    );
    assert_eq!(h.agg(&p.id).await, before, "a preview changes nothing");
    assert_eq!(
        h.store
            .reads
            .exclusive_images(&h.other_ws, &p.id)
            .await
            .expect("read"),
        0,
        "another workspace's project has no images here"
    );
    // A cascaded item is refused as the deletion refuses it.
    assert_eq!(
        h.service
            .preview_delete_forever(&owner, &h.ws, &ItemRef::Version(p.id.clone(), num(1)))
            .await,
        Err(DeleteForeverError::CascadedWith { root: root.clone() })
    );
    let counts = h
        .service
        .delete_forever(&owner, &h.ws, &root, "Project det")
        .await
        .expect("delete forever");
    assert_eq!(counts, preview.removed, "the preview was exact");
    assert_eq!(
        h.service.preview_delete_forever(&owner, &h.ws, &root).await,
        Err(DeleteForeverError::NotInTrash)
    );
    // A project trashed without cleanupDeleteImages keeps its images.
    h.project("keep").await;
    h.image("keep", "kept").await;
    h.trash(TrashTarget::Project {
        slug: slug("keep"),
        cleanup_delete_images: false,
    })
    .await;
    let keep = h.project_id("keep").await.expect("keep");
    let preview = h
        .service
        .preview_delete_forever(&owner, &h.ws, &ItemRef::Project(keep))
        .await
        .expect("preview");
    assert!(!preview.deletes_images);
    assert_eq!(preview.removed.images, 0);
}

/// A search reads the listing in order within its budget: matches by name
/// or slug ignoring case, pages that continue, and a page cut short by the
/// budget that says so and continues where it stopped.
pub async fn search_pages_within_a_budget(f: &dyn StoreFactory) {
    let h = Harness::new(f.create().await).await;
    for s in ["alpha-1", "beta-1", "alpha-2", "beta-2", "alpha-3"] {
        h.project(s).await;
        h.trash_project(s).await;
        h.clock.advance(chrono::Duration::seconds(1));
    }
    h.workflow("alpha-flow").await;
    let search = |text: &str, kind, limit, cursor, budget| TrashSearch {
        kind,
        text: text.to_owned(),
        limit: PageLimit::new(limit).expect("limit"),
        cursor,
        budget,
    };
    let names = |page: &SearchPage| -> Vec<String> {
        page.entries
            .iter()
            .map(|e| e.item.confirmation_name())
            .collect()
    };
    let first = h
        .service
        .search_trash(&h.key, &h.ws, &search("ALPHA", None, 2, None, 100))
        .await
        .expect("search");
    assert_eq!(names(&first), ["Project alpha-3", "Project alpha-2"]);
    assert!(!first.budget_spent);
    let rest = h
        .service
        .search_trash(
            &h.key,
            &h.ws,
            &search("alpha", None, 2, first.next_cursor, 100),
        )
        .await
        .expect("search");
    assert_eq!(names(&rest), ["Project alpha-1"]);
    assert_eq!(rest.next_cursor, None);
    // A budget of two entries: the newest two are alpha-3 and beta-2.
    let short = h
        .service
        .search_trash(&h.key, &h.ws, &search("alpha", None, 10, None, 2))
        .await
        .expect("search");
    assert_eq!(
        (names(&short), short.examined, short.budget_spent),
        (vec!["Project alpha-3".to_owned()], 2, true)
    );
    let more = h
        .service
        .search_trash(
            &h.key,
            &h.ws,
            &search("alpha", None, 10, short.next_cursor, 2),
        )
        .await
        .expect("search");
    assert_eq!(names(&more), ["Project alpha-2"]);
    // The kind filter, and blank text lists everything of the kind.
    let none = h
        .service
        .search_trash(
            &h.key,
            &h.ws,
            &search("alpha", Some(ItemKind::Workflow), 10, None, 100),
        )
        .await
        .expect("search");
    assert!(none.entries.is_empty() && none.next_cursor.is_none());
    let all = h
        .service
        .search_trash(&h.key, &h.ws, &search(" ", None, 3, None, 1))
        .await
        .expect("list");
    assert_eq!(all.entries.len(), 3);
    assert!(all.next_cursor.is_some());
    // Another workspace sees none of it.
    let foreign = h
        .service
        .search_trash(&h.key, &h.other_ws, &search("alpha", None, 10, None, 100))
        .await;
    assert!(foreign.is_err());
}

/// "Empty Trash" as a job: one running per workspace, run in batches with
/// its progress stored, resumed by another worker once a claim runs out,
/// done when the trash is empty; every removal recorded as `emptied`.
pub async fn empty_trash_job_runs_in_batches_and_resumes(f: &dyn StoreFactory) {
    let h = Harness::new(f.create().await).await;
    let jobs = EmptyJobService::new(h.service.clone(), h.store.empty_jobs.clone());
    let owner = owner(&h.ws);
    for n in 0..7 {
        let s = format!("p{n}");
        h.project(&s).await;
        h.version(&s).await;
        h.trash_project(&s).await;
    }
    h.project("other").await;
    let other = h
        .resources
        .create_project(
            &h.other_key,
            &h.other_ws,
            name("Theirs"),
            Some(slug("theirs")),
        )
        .await
        .expect("project");
    h.service
        .trash_project(&h.other_key, &h.other_ws, &other.slug, true)
        .await
        .expect("trash theirs");
    assert_eq!(
        jobs.start(&owner, &h.ws, "wrong").await,
        Err(DeleteForeverError::ConfirmationMismatch {
            expected: h.ws.to_string()
        })
    );
    let job = jobs
        .start(&owner, &h.ws, h.ws.as_str())
        .await
        .expect("start");
    assert_eq!(
        (job.total, job.removed, job.state),
        (7, 0, EmptyJobState::Running)
    );
    let again = jobs
        .start(&owner, &h.ws, h.ws.as_str())
        .await
        .expect("start");
    assert_eq!(again.id, job.id, "one running job per workspace");
    let lease = chrono::Duration::seconds(60);
    // A worker does two batches of three, then stops (as a restart would,
    // after storing its progress).
    let EmptyRun::Worked(first) = jobs.run_once(3, 2, lease).await.expect("run") else {
        panic!("the job was waiting");
    };
    assert_eq!((first.removed, first.state), (6, EmptyJobState::Running));
    let stored = jobs
        .latest(owner.user(), &h.ws)
        .await
        .expect("read")
        .expect("job");
    assert_eq!(stored.removed, 6, "progress is stored");
    // A claim held by a worker that died keeps others off until it runs out.
    let now = h.clock.now();
    let held = h
        .store
        .empty_jobs
        .claim_empty_job(now, now.plus(lease))
        .await
        .expect("claim")
        .expect("the job is claimable");
    assert_eq!(held.id, job.id);
    assert_eq!(
        jobs.run_once(3, 10, lease).await.expect("run"),
        EmptyRun::Idle
    );
    h.clock.advance(lease);
    let EmptyRun::Worked(done) = jobs.run_once(3, 10, lease).await.expect("run") else {
        panic!("the job is resumed once the claim ran out");
    };
    assert_eq!(
        (done.removed, done.failed, done.state),
        (7, 0, EmptyJobState::Done)
    );
    assert!(done.finished_at.is_some());
    assert!(h.listing().await.is_empty());
    assert_eq!(
        jobs.run_once(3, 10, lease).await.expect("run"),
        EmptyRun::Idle
    );
    let emptied = h
        .audit()
        .await
        .iter()
        .filter(|e| e.kind == AuditKind::Emptied)
        .count();
    assert_eq!(emptied, 7);
    // Another workspace's trash is untouched, and a new job may start.
    assert_eq!(
        h.store
            .empty_jobs
            .trash_size(&h.other_ws)
            .await
            .expect("size"),
        1
    );
    let next = jobs
        .start(&owner, &h.ws, h.ws.as_str())
        .await
        .expect("start");
    assert_ne!(next.id, job.id);
    assert_eq!(next.total, 0);
}

/// Two starts of one workspace's job at once store one job, and two
/// workers claiming at once never both get it; run many times.
pub async fn race_empty_job_start_and_claim(f: &dyn StoreFactory) {
    let h = Harness::new(f.create().await).await;
    let jobs = EmptyJobService::new(h.service.clone(), h.store.empty_jobs.clone());
    let owner = owner(&h.ws);
    for i in 0..crate::RACE_ITERATIONS {
        let (a, b) = (jobs.clone(), jobs.clone());
        let (oa, ob) = (owner.clone(), owner.clone());
        let (wa, wb) = (h.ws.clone(), h.ws.clone());
        let sa = tokio::spawn(async move { a.start(&oa, &wa, wa.as_str()).await });
        let sb = tokio::spawn(async move { b.start(&ob, &wb, wb.as_str()).await });
        let ja = sa.await.expect("task").expect("start");
        let jb = sb.await.expect("task").expect("start");
        assert_eq!(ja.id, jb.id, "iteration {i}: one running job per workspace");
        let now = h.clock.now();
        let until = now.plus(chrono::Duration::seconds(60));
        let (ca, cb) = (h.store.empty_jobs.clone(), h.store.empty_jobs.clone());
        let ka = tokio::spawn(async move { ca.claim_empty_job(now, until).await });
        let kb = tokio::spawn(async move { cb.claim_empty_job(now, until).await });
        let ka = ka.await.expect("task").expect("claim");
        let kb = kb.await.expect("task").expect("claim");
        assert!(
            ka.is_some() != kb.is_some(),
            "iteration {i}: exactly one worker claims the job"
        );
        let mut done = ka.or(kb).expect("claimed");
        done.state = EmptyJobState::Done;
        done.finished_at = Some(now);
        done.claimed_until = None;
        h.store
            .empty_jobs
            .save_empty_job(&done)
            .await
            .expect("save");
    }
}
