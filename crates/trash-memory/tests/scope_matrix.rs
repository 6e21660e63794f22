//! The scope matrix as a table: every action × every item type × scope sets
//! (exactly the needed scope, every other scope, no scope), through the use
//! cases on the reference store.

use std::sync::Arc;

use trash_conformance::harness::{name, num, slug, Harness};
use trash_core::domain::*;
use trash_core::rules::preferred_holder;
use trash_core::usecases::*;
use trash_memory::MemoryStore;

/// The matrix of spec section 2, written out by hand (not derived from
/// `required_scope`, so a change there is caught here).
const MATRIX: &[(Action, ItemKind, &str)] = &[
    (Action::MoveToTrash, ItemKind::Project, "project:update"),
    (Action::MoveToTrash, ItemKind::Version, "version:update"),
    (Action::MoveToTrash, ItemKind::Workflow, "workflow:update"),
    (Action::MoveToTrash, ItemKind::Training, "training:update"),
    (Action::Restore, ItemKind::Project, "project:update"),
    (Action::Restore, ItemKind::Version, "version:update"),
    (Action::Restore, ItemKind::Workflow, "workflow:update"),
    (Action::Restore, ItemKind::Training, "training:update"),
    (Action::ListTrash, ItemKind::Project, "project:read"),
    (Action::ListTrash, ItemKind::Version, "project:read"),
    (Action::ListTrash, ItemKind::Workflow, "project:read"),
    (Action::ListTrash, ItemKind::Training, "project:read"),
    (Action::Create, ItemKind::Project, "project:create"),
    (Action::Create, ItemKind::Version, "version:create"),
    (Action::Create, ItemKind::Workflow, "workflow:create"),
    (Action::Create, ItemKind::Training, "training:create"),
    (Action::Read, ItemKind::Project, "project:read"),
    (Action::Read, ItemKind::Version, "project:read"),
    (Action::Read, ItemKind::Workflow, "project:read"),
    (Action::Read, ItemKind::Training, "project:read"),
];

#[test]
fn matrix_covers_every_action_and_type_and_matches_the_core() {
    assert_eq!(MATRIX.len(), Action::ALL.len() * ItemKind::ALL.len());
    for (action, kind, scope) in MATRIX {
        assert_eq!(
            required_scope(*action, *kind).to_string(),
            *scope,
            "{action:?} {kind:?}"
        );
    }
}

/// A world with one item of each type in each state an action needs.
struct World {
    h: Harness,
    project: ProjectId,
    training: TrainingId,
    trashed_training: TrainingId,
}

async fn world() -> World {
    let h = Harness::whole(Arc::new(MemoryStore::new())).await;
    let p = h.project("det").await;
    h.version("det").await;
    h.version("det").await;
    let t = h.finished_training("det", 1).await;
    let gone = h.finished_training("det", 1).await;
    h.workflow("flow").await;
    h.workflow("old-flow").await;
    h.trash_version("det", 2).await;
    h.trash_training("det", 1, &gone.id).await;
    h.trash(TrashTarget::Workflow {
        slug: slug("old-flow"),
    })
    .await;
    h.project("old").await;
    h.trash_project("old").await;
    World {
        project: p.id,
        training: t.id,
        trashed_training: gone.id,
        h,
    }
}

/// What happened to one attempt.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// The use case succeeded.
    Done,
    /// Refused for access.
    Denied(AccessDenied),
    /// Failed for another reason (a broken world, for the test).
    Failed(String),
}

/// Performs `action` on an item of `kind` as `who`.
async fn attempt(w: &World, who: &Principal, action: Action, kind: ItemKind) -> Outcome {
    let (h, svc, res, ws) = (&w.h, &w.h.service, &w.h.resources, &w.h.ws);
    let old_project = h.project_id("old").await.expect("old");
    let flows = h
        .store
        .reads
        .workflows_with_slug(ws, &slug("old-flow"))
        .await
        .expect("q");
    let old_flow = preferred_holder(&flows).expect("old-flow");
    macro_rules! denied {
        ($e:expr, $variant:path) => {
            match $e {
                Ok(_) => Outcome::Done,
                Err($variant(d)) => Outcome::Denied(d),
                Err(other) => Outcome::Failed(format!("{other:?}")),
            }
        };
    }
    match action {
        Action::MoveToTrash => {
            let target = match kind {
                ItemKind::Project => TrashTarget::Project {
                    slug: slug("det"),
                    cleanup_delete_images: true,
                },
                ItemKind::Version => TrashTarget::Version {
                    project: slug("det"),
                    number: num(1),
                },
                ItemKind::Workflow => TrashTarget::Workflow { slug: slug("flow") },
                ItemKind::Training => TrashTarget::Training {
                    project: slug("det"),
                    number: num(1),
                    id: w.training.clone(),
                },
            };
            denied!(
                svc.move_to_trash(who, ws, &target).await,
                TrashError::Denied
            )
        }
        Action::Restore => {
            let item = match kind {
                ItemKind::Project => ItemRef::Project(old_project),
                ItemKind::Version => ItemRef::Version(w.project.clone(), num(2)),
                ItemKind::Workflow => ItemRef::Workflow(old_flow),
                ItemKind::Training => ItemRef::Training(w.trashed_training.clone()),
            };
            denied!(
                svc.restore(who, ws, &item, OnConflict::Fail).await,
                RestoreError::Denied
            )
        }
        Action::ListTrash => {
            let request = ListTrashRequest {
                kind: Some(kind),
                ..ListTrashRequest::default()
            };
            denied!(
                svc.list_trash(who, ws, &request).await,
                ListTrashError::Denied
            )
        }
        Action::Create => match kind {
            ItemKind::Project => denied!(
                res.create_project(who, ws, name("New"), Some(slug("new")))
                    .await,
                ResourceError::Denied
            ),
            ItemKind::Version => denied!(
                res.create_version(who, ws, &slug("det"), None).await,
                ResourceError::Denied
            ),
            ItemKind::Workflow => denied!(
                res.create_workflow(who, ws, name("New"), Some(slug("new-flow")))
                    .await,
                ResourceError::Denied
            ),
            ItemKind::Training => denied!(
                res.create_training(who, ws, &slug("det"), num(1)).await,
                ResourceError::Denied
            ),
        },
        Action::Read => match kind {
            ItemKind::Project => denied!(
                res.get_project(who, ws, &slug("det"), Default::default())
                    .await,
                ResourceError::Denied
            ),
            ItemKind::Version => denied!(
                res.get_version(who, ws, &slug("det"), num(1)).await,
                ResourceError::Denied
            ),
            ItemKind::Workflow => denied!(
                res.get_workflow(who, ws, &slug("flow")).await,
                ResourceError::Denied
            ),
            ItemKind::Training => denied!(
                res.get_training(who, ws, &slug("det"), num(1), &w.training)
                    .await,
                ResourceError::Denied
            ),
        },
    }
}

#[tokio::test]
async fn every_action_and_type_needs_exactly_its_scope() {
    let mut checked = 0;
    for (action, kind, scope) in MATRIX {
        let needed = Scope::parse(scope).expect("valid scope");
        // Exactly the scope: allowed (a fresh world, so the action can succeed).
        let w = world().await;
        let exact = w.h.key_with(&[needed]).await;
        assert_eq!(
            attempt(&w, &exact, *action, *kind).await,
            Outcome::Done,
            "{action:?} {kind:?} with exactly {scope}"
        );
        // Every other scope, one at a time and all together: refused, naming the scope.
        let w = world().await;
        let others: Vec<Scope> = Scope::ALL.into_iter().filter(|s| *s != needed).collect();
        for other in &others {
            let key = w.h.key_with(&[*other]).await;
            assert_eq!(
                attempt(&w, &key, *action, *kind).await,
                Outcome::Denied(AccessDenied::MissingScope(needed)),
                "{action:?} {kind:?} with only {other}"
            );
            checked += 1;
        }
        let all_others = w.h.key_with(&others).await;
        assert_eq!(
            attempt(&w, &all_others, *action, *kind).await,
            Outcome::Denied(AccessDenied::MissingScope(needed)),
            "{action:?} {kind:?} with every other scope"
        );
        let none = w.h.key_with(&[]).await;
        assert_eq!(
            attempt(&w, &none, *action, *kind).await,
            Outcome::Denied(AccessDenied::MissingScope(needed)),
            "{action:?} {kind:?} with no scope"
        );
        // A key of another workspace is refused whatever its scopes.
        assert_eq!(
            attempt(&w, &w.h.other_key, *action, *kind).await,
            Outcome::Denied(AccessDenied::WrongWorkspace),
            "{action:?} {kind:?} with another workspace's key"
        );
        checked += 4;
    }
    assert_eq!(checked, 20 * 16);
}

/// The holds row of the matrix: placing, listing and releasing a legal
/// hold need `trash:hold` and nothing else gives it.
#[tokio::test]
async fn legal_holds_need_exactly_trash_hold() {
    assert_eq!(Scope::TRASH_HOLD.to_string(), "trash:hold");
    let w = world().await;
    let (svc, ws) = (&w.h.service, &w.h.ws);
    let reason = || HoldReason::parse("audit").expect("reason");
    let subject = HoldSubject::Item(ItemRef::Project(w.project.clone()));
    let exact = w.h.key_with(&[Scope::TRASH_HOLD]).await;
    let hold = svc
        .place_hold(&exact, ws, &subject, reason())
        .await
        .expect("placed with exactly trash:hold");
    assert_eq!(svc.list_holds(&exact, ws).await.expect("listed").len(), 1);
    let others: Vec<Scope> = Scope::ALL
        .into_iter()
        .filter(|s| *s != Scope::TRASH_HOLD)
        .collect();
    let mut keys = vec![w.h.key_with(&others).await, w.h.key_with(&[]).await];
    for other in &others {
        keys.push(w.h.key_with(&[*other]).await);
    }
    let denied = Some(HoldError::Denied(AccessDenied::MissingScope(
        Scope::TRASH_HOLD,
    )));
    for key in &keys {
        let placed = svc.place_hold(key, ws, &subject, reason()).await;
        assert_eq!(placed.err(), denied);
        assert_eq!(svc.list_holds(key, ws).await.err(), denied);
        assert_eq!(svc.release_hold(key, ws, &hold.id).await.err(), denied);
    }
    let wrong = Some(HoldError::Denied(AccessDenied::WrongWorkspace));
    assert_eq!(svc.list_holds(&w.h.other_key, ws).await.err(), wrong);
    let released = svc.release_hold(&w.h.other_key, ws, &hold.id).await;
    assert_eq!(released.err(), wrong);
    svc.release_hold(&exact, ws, &hold.id)
        .await
        .expect("released with exactly trash:hold");
}
