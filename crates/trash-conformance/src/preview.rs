//! Read-only previews and searches the web view shows: what "delete
//! forever" would destroy, and a bounded search of the trash by name.

use trash_core::domain::*;
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
