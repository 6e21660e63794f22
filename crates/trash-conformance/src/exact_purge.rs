//! A purge removes exactly what its plan names: the case snapshots every
//! row the suite created (through the store's own reads) before and after
//! each purge, and compares what disappeared with a set built from the
//! fixtures alone, never from what the store reports.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use trash_core::domain::*;
use trash_core::ports::*;
use trash_core::usecases::*;

use crate::harness::*;
use crate::StoreFactory;

/// One stored row, as far as the ports can see it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Row {
    Project(ProjectId),
    Version(ProjectId, VersionNumber),
    Training(TrainingId),
    Workflow(WorkflowId),
    Operation(OperationId),
    Image(ImageId),
    Link(ProjectId, ImageId),
    Cancellation(TrainingId),
}

/// Everything the case created, by workspace: what the snapshot probes.
#[derive(Default)]
struct Known {
    projects: Vec<(WorkspaceSlug, ProjectId)>,
    trainings: Vec<(WorkspaceSlug, TrainingId)>,
    workflows: Vec<(WorkspaceSlug, WorkflowId)>,
    images: Vec<(WorkspaceSlug, ImageId)>,
}

impl Known {
    fn project(&mut self, ws: &WorkspaceSlug, p: &Project) {
        self.projects.push((ws.clone(), p.id.clone()));
    }

    fn training(&mut self, ws: &WorkspaceSlug, t: &Training) {
        self.trainings.push((ws.clone(), t.id.clone()));
    }

    fn workflow(&mut self, ws: &WorkspaceSlug, w: &Workflow) {
        self.workflows.push((ws.clone(), w.id.clone()));
    }

    fn image(&mut self, ws: &WorkspaceSlug, i: &Image) {
        self.images.push((ws.clone(), i.id.clone()));
    }
}

/// Every row of `known` that the store still has, read through its roles.
async fn snapshot(h: &Harness, known: &Known) -> BTreeSet<Row> {
    let reads = &h.store.reads;
    let mut rows = BTreeSet::new();
    for (ws, id) in &known.projects {
        let Some(agg) = reads.load_project(ws, id).await.expect("load project") else {
            continue;
        };
        rows.insert(Row::Project(agg.project.id.clone()));
        for v in &agg.versions {
            rows.insert(Row::Version(v.project.clone(), v.number));
        }
        for t in &agg.trainings {
            rows.insert(Row::Training(t.id.clone()));
        }
        for op in &agg.operations {
            rows.insert(Row::Operation(op.id.clone()));
        }
    }
    // A training left behind by a removed project still answers here.
    for (ws, id) in &known.trainings {
        if reads
            .training_project(ws, id)
            .await
            .expect("training project")
            .is_some()
        {
            rows.insert(Row::Training(id.clone()));
        }
    }
    for (ws, id) in &known.workflows {
        let Some(agg) = reads.load_workflow(ws, id).await.expect("load workflow") else {
            continue;
        };
        rows.insert(Row::Workflow(agg.workflow.id.clone()));
        if let Some(op) = &agg.operation {
            rows.insert(Row::Operation(op.id.clone()));
        }
    }
    for (ws, id) in &known.images {
        let Some(view) = h.store.resources.image(ws, id).await.expect("image") else {
            continue;
        };
        rows.insert(Row::Image(view.image.id.clone()));
        for p in &view.projects {
            rows.insert(Row::Link(p.clone(), view.image.id.clone()));
        }
    }
    for ws in [&h.ws, &h.other_ws] {
        for c in h
            .store
            .queue
            .pending_cancellations(ws)
            .await
            .expect("pending cancellations")
        {
            rows.insert(Row::Cancellation(c.training));
        }
        let query = TrashQuery {
            workspace: ws.clone(),
            kind: None,
            limit: 1000,
            after: None,
        };
        for entry in reads.list_trash(&query).await.expect("list trash") {
            rows.insert(Row::Operation(entry.operation.id));
        }
    }
    rows
}

/// The live operations of the main workspace, by root.
async fn operations(h: &Harness) -> BTreeMap<ItemRef, OperationId> {
    h.listing()
        .await
        .into_iter()
        .map(|e| (e.operation.root, e.operation.id))
        .collect()
}

/// Runs one purge and checks that exactly `expected` disappeared (nothing
/// else, nothing new), and that one event per removed operation was
/// recorded with `kind`.
async fn check_purge<F, Fut>(
    h: &Harness,
    known: &Known,
    audit_seen: &mut Option<i64>,
    what: &str,
    expected: BTreeSet<Row>,
    kind: AuditKind,
    purge: F,
) where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    h.audit_after(audit_seen).await;
    let before = snapshot(h, known).await;
    let missing: Vec<&Row> = expected.difference(&before).collect();
    assert!(
        missing.is_empty(),
        "{what}: the fixture lacks rows it should have: {missing:?}"
    );
    purge().await;
    let after = snapshot(h, known).await;
    let removed: BTreeSet<Row> = before.difference(&after).cloned().collect();
    let added: Vec<&Row> = after.difference(&before).collect();
    let too_much: Vec<&Row> = removed.difference(&expected).collect();
    let too_little: Vec<&Row> = expected.difference(&removed).collect();
    assert!(
        too_much.is_empty() && too_little.is_empty(),
        "{what}: the purge removed rows outside its plan: {too_much:?}; \
         and left rows its plan names: {too_little:?}"
    );
    assert!(added.is_empty(), "{what}: rows appeared: {added:?}");
    let events = h.audit_after(audit_seen).await;
    assert!(events.iter().all(|e| e.kind == kind), "{what}: {events:?}");
    let recorded: BTreeSet<OperationId> =
        events.iter().filter_map(|e| e.operation.clone()).collect();
    let removed_ops: BTreeSet<OperationId> = expected
        .iter()
        .filter_map(|r| match r {
            Row::Operation(id) => Some(id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        (events.len(), recorded),
        (removed_ops.len(), removed_ops),
        "{what}: one event per removed operation"
    );
}

fn owner(h: &Harness) -> WorkspaceAdmin {
    WorkspaceAdmin::from_user(WebUser {
        workspace: h.ws.clone(),
        user_id: UserId::parse("uuuuuuuuuuuuuuuuuuuu").expect("valid"),
        email: Email::parse("owner@example.com").expect("valid"),
        role: Role::Owner,
    })
    .expect("an owner is an admin")
}

/// A purge removes exactly the rows its plan names (plus the images its
/// removed projects leave unlinked, when asked): the root, the items
/// trashed with it, the items trashed earlier on their own under it, their
/// operations and image links. Neighbours (other projects, shared images,
/// other workspaces, pending cancellations of removed trainings) stay.
pub async fn purge_removes_exactly_the_plan(f: &dyn StoreFactory) {
    let h = Harness::new(f.create().await).await;
    let mut known = Known::default();
    let ws = h.ws.clone();
    let admin = owner(&h);

    // Neighbours first: an active project sharing an image, a trashed one
    // holding another, and the other workspace's look-alikes.
    let nbr = h.project("nbr").await;
    known.project(&ws, &nbr);
    h.version("nbr").await;
    let nbr_t = h.finished_training("nbr", 1).await;
    known.training(&ws, &nbr_t);
    let nbr_img = h.image("nbr", "nbr-only").await;
    known.image(&ws, &nbr_img);
    let held = h.project("held").await;
    known.project(&ws, &held);
    h.version("held").await;

    // The project root: three versions with trainings, one training and one
    // version trashed on their own first, a running training.
    let root = h.project("root").await;
    known.project(&ws, &root);
    for _ in 0..3 {
        h.version("root").await;
    }
    let t1 = h.finished_training("root", 1).await;
    let t2 = h.finished_training("root", 2).await;
    let t3 = h.finished_training("root", 3).await;
    let t2b = h.training("root", 2).await;
    for t in [&t1, &t2, &t3, &t2b] {
        known.training(&ws, t);
    }
    let excl = h.image("root", "root-only").await;
    let shared = h.image("root", "shared").await;
    h.link("nbr", &shared.id).await;
    let shared_held = h.image("root", "shared-held").await;
    h.link("held", &shared_held.id).await;
    for i in [&excl, &shared, &shared_held] {
        known.image(&ws, i);
    }

    // A version root: two trainings (one trashed on its own first), and a
    // neighbour version with its own training.
    let vroot = h.project("vroot").await;
    known.project(&ws, &vroot);
    h.version("vroot").await;
    let vroot_v2 = h.version("vroot").await;
    h.version("vroot").await;
    let q1 = h.finished_training("vroot", 2).await;
    let q2 = h.finished_training("vroot", 2).await;
    let q3 = h.finished_training("vroot", 3).await;
    let q4 = h.finished_training("vroot", 1).await;
    for t in [&q1, &q2, &q3, &q4] {
        known.training(&ws, t);
    }

    // A training root beside a training that stays.
    let troot = h.project("troot").await;
    known.project(&ws, &troot);
    h.version("troot").await;
    let r1 = h.finished_training("troot", 1).await;
    let r2 = h.finished_training("troot", 1).await;
    known.training(&ws, &r1);
    known.training(&ws, &r2);

    // A project whose images stay (cleanupDeleteImages off).
    let keep = h.project("keepimg").await;
    known.project(&ws, &keep);
    h.version("keepimg").await;
    let keep_img = h.image("keepimg", "keep-only").await;
    known.image(&ws, &keep_img);

    // Workflows: one purged, one active, one left in trash.
    let flow = h.workflow("flow").await;
    let flow_active = h.workflow("flow-active").await;
    let flow_held = h.workflow("flow-held").await;
    for w in [&flow, &flow_active, &flow_held] {
        known.workflow(&ws, w);
    }

    // The other workspace: a trashed project with the same slug and shape,
    // and a trashed workflow.
    let (ok, ows) = (&h.other_key, &h.other_ws);
    let theirs = h
        .resources
        .create_project(ok, ows, name("Theirs"), Some(slug("root")))
        .await
        .expect("their project");
    known.project(ows, &theirs);
    h.resources
        .create_version(ok, ows, &slug("root"), None)
        .await
        .expect("their version");
    let their_t = h
        .resources
        .create_training(ok, ows, &slug("root"), num(1))
        .await
        .expect("their training");
    known.training(ows, &their_t);
    let their_img = h
        .resources
        .add_image(ok, ows, &slug("root"), name("theirs"))
        .await
        .expect("their image")
        .image;
    known.image(ows, &their_img);
    let their_flow = h
        .resources
        .create_workflow(ok, ows, name("Flow"), Some(slug("flow")))
        .await
        .expect("their workflow");
    known.workflow(ows, &their_flow);
    h.canceller.set_failing(true);
    h.service
        .move_to_trash(
            ok,
            ows,
            &TrashTarget::Project {
                slug: slug("root"),
                cleanup_delete_images: true,
            },
        )
        .await
        .expect("trash theirs");
    h.service
        .move_to_trash(ok, ows, &TrashTarget::Workflow { slug: slug("flow") })
        .await
        .expect("trash their workflow");

    // Trash, in this order: items on their own, then their parents. The
    // running training's cancellation fails and stays pending.
    h.trash_project("held").await;
    h.trash_training("root", 1, &t1.id).await;
    h.trash_version("root", 3).await;
    let out = h.trash_project("root").await;
    assert_eq!(out.cancellations_pending, 1);
    h.canceller.set_failing(false);
    h.trash_training("vroot", 2, &q2.id).await;
    h.trash_version("vroot", 2).await;
    h.trash_training("troot", 1, &r1.id).await;
    h.trash(TrashTarget::Project {
        slug: slug("keepimg"),
        cleanup_delete_images: false,
    })
    .await;
    h.trash(TrashTarget::Workflow {
        slug: slug("flow-held"),
    })
    .await;
    let short = h.service_with(
        h.clock.clone(),
        Retention::new(Duration::days(1)).expect("valid"),
    );
    short
        .move_to_trash(&h.key, &ws, &TrashTarget::Workflow { slug: slug("flow") })
        .await
        .expect("trash workflow");
    let ops = operations(&h).await;
    let op = |item: ItemRef| ops.get(&item).cloned().expect("operation listed");
    let mut audit_seen = None;

    // 1. The project root takes every version and training, the operations
    //    of the items trashed on their own, its links, and the image only
    //    it linked. The pending cancellation of its running training stays.
    let expected: BTreeSet<Row> = [
        Row::Project(root.id.clone()),
        Row::Version(root.id.clone(), num(1)),
        Row::Version(root.id.clone(), num(2)),
        Row::Version(root.id.clone(), num(3)),
        Row::Training(t1.id.clone()),
        Row::Training(t2.id.clone()),
        Row::Training(t3.id.clone()),
        Row::Training(t2b.id.clone()),
        Row::Operation(op(ItemRef::Project(root.id.clone()))),
        Row::Operation(op(ItemRef::Training(t1.id.clone()))),
        Row::Operation(op(ItemRef::Version(root.id.clone(), num(3)))),
        Row::Link(root.id.clone(), excl.id.clone()),
        Row::Link(root.id.clone(), shared.id.clone()),
        Row::Link(root.id.clone(), shared_held.id.clone()),
        Row::Image(excl.id.clone()),
    ]
    .into();
    assert!(
        snapshot(&h, &known)
            .await
            .contains(&Row::Cancellation(t2b.id.clone())),
        "the running training's cancellation is pending"
    );
    let target = ItemRef::Project(root.id.clone());
    check_purge(
        &h,
        &known,
        &mut audit_seen,
        "project root",
        expected,
        AuditKind::DeletedForever,
        || async {
            let counts = h
                .service
                .delete_forever(&admin, &ws, &target, "Project root")
                .await
                .expect("delete project forever");
            assert_eq!(
                counts,
                PurgeCounts {
                    projects: 1,
                    versions: 3,
                    workflows: 0,
                    trainings: 4,
                    images: 1
                }
            );
        },
    )
    .await;

    // 2. A version root takes its trainings, also one trashed on its own,
    //    and their operations; the other versions and trainings stay.
    let expected: BTreeSet<Row> = [
        Row::Version(vroot.id.clone(), num(2)),
        Row::Training(q1.id.clone()),
        Row::Training(q2.id.clone()),
        Row::Operation(op(ItemRef::Version(vroot.id.clone(), num(2)))),
        Row::Operation(op(ItemRef::Training(q2.id.clone()))),
    ]
    .into();
    let target = ItemRef::Version(vroot.id.clone(), num(2));
    let confirmation = vroot_v2.name.to_string();
    check_purge(
        &h,
        &known,
        &mut audit_seen,
        "version root",
        expected,
        AuditKind::DeletedForever,
        || async {
            let counts = h
                .service
                .delete_forever(&admin, &ws, &target, &confirmation)
                .await
                .expect("delete version forever");
            assert_eq!(
                counts,
                PurgeCounts {
                    versions: 1,
                    trainings: 2,
                    ..PurgeCounts::default()
                }
            );
        },
    )
    .await;

    // 3. A training root takes itself and its operation.
    let expected: BTreeSet<Row> = [
        Row::Training(r1.id.clone()),
        Row::Operation(op(ItemRef::Training(r1.id.clone()))),
    ]
    .into();
    let target = ItemRef::Training(r1.id.clone());
    check_purge(
        &h,
        &known,
        &mut audit_seen,
        "training root",
        expected,
        AuditKind::DeletedForever,
        || async {
            let counts = h
                .service
                .delete_forever(&admin, &ws, &target, r1.id.as_str())
                .await
                .expect("delete training forever");
            assert_eq!(
                counts,
                PurgeCounts {
                    trainings: 1,
                    ..PurgeCounts::default()
                }
            );
        },
    )
    .await;

    // 4. Without cleanupDeleteImages, a project's only image stays.
    let expected: BTreeSet<Row> = [
        Row::Project(keep.id.clone()),
        Row::Version(keep.id.clone(), num(1)),
        Row::Link(keep.id.clone(), keep_img.id.clone()),
        Row::Operation(op(ItemRef::Project(keep.id.clone()))),
    ]
    .into();
    let target = ItemRef::Project(keep.id.clone());
    check_purge(
        &h,
        &known,
        &mut audit_seen,
        "project root keeping images",
        expected,
        AuditKind::DeletedForever,
        || async {
            let counts = h
                .service
                .delete_forever(&admin, &ws, &target, "Project keepimg")
                .await
                .expect("delete project forever");
            assert_eq!(
                counts,
                PurgeCounts {
                    projects: 1,
                    versions: 1,
                    ..PurgeCounts::default()
                }
            );
        },
    )
    .await;

    // 5. A workflow root, through the cleanup job at its schedule (nothing
    //    else is due yet).
    let expected: BTreeSet<Row> = [
        Row::Workflow(flow.id.clone()),
        Row::Operation(op(ItemRef::Workflow(flow.id.clone()))),
    ]
    .into();
    h.clock
        .set(t0().plus(days(1)).plus(Duration::milliseconds(1)));
    check_purge(
        &h,
        &known,
        &mut audit_seen,
        "workflow root",
        expected,
        AuditKind::Purged,
        || async {
            let report = h.service.purge_due(10).await.expect("cleanup");
            assert_eq!((report.claimed, report.purged), (1, 1));
            assert_eq!(
                report.removed,
                PurgeCounts {
                    workflows: 1,
                    ..PurgeCounts::default()
                }
            );
        },
    )
    .await;

    // What is left: the neighbours, whole.
    let left = snapshot(&h, &known).await;
    for row in [
        Row::Project(nbr.id.clone()),
        Row::Training(nbr_t.id.clone()),
        Row::Image(nbr_img.id.clone()),
        Row::Image(shared.id.clone()),
        Row::Link(nbr.id.clone(), shared.id.clone()),
        Row::Image(shared_held.id.clone()),
        Row::Link(held.id.clone(), shared_held.id.clone()),
        Row::Image(keep_img.id.clone()),
        Row::Project(theirs.id.clone()),
        Row::Training(their_t.id.clone()),
        Row::Image(their_img.id.clone()),
        Row::Workflow(their_flow.id.clone()),
        Row::Workflow(flow_active.id.clone()),
        Row::Workflow(flow_held.id.clone()),
        Row::Training(q3.id.clone()),
        Row::Training(q4.id.clone()),
        Row::Training(r2.id.clone()),
        Row::Cancellation(t2b.id.clone()),
        Row::Cancellation(their_t.id.clone()),
    ] {
        assert!(left.contains(&row), "{row:?} survives every purge");
    }
}
