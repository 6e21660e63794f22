//! Legal holds: which holds stop the permanent destruction of a trash
//! operation.
//!
//! A workspace hold covers every operation in the workspace's trash. An item
//! hold covers its item and everything trashed with it: purging an
//! operation removes its root and every dependant of the root (a project
//! takes its versions and trainings, a version its trainings), so the
//! operation is held when the held item is its root or one of those
//! dependants. That includes:
//!
//! * a hold on an item cascaded into its parent's operation (a version
//!   trashed with its project): the parent's operation is held, since
//!   purging it is the only way the version can be destroyed;
//! * a hold on an item trashed earlier on its own, under a parent trashed
//!   later: the parent's operation would take it, so it is held too;
//! * a hold on an active item: nothing is held until the item is trashed
//!   (alone, or with a parent); from then on the operation that took it is.
//!
//! An item hold never covers the item's parent trashed on its own, nor a
//! child trashed earlier on its own: destroying those leaves the held item
//! untouched.

use crate::domain::*;

/// Whether purging an operation rooted at `root` would destroy what
/// `target` holds.
pub fn hold_covers(target: &HoldTarget, root: &ItemRef) -> bool {
    match (target, root) {
        (HoldTarget::Workspace, _) => true,
        (HoldTarget::Workflow(w), ItemRef::Workflow(r)) => w == r,
        (HoldTarget::Project(p), ItemRef::Project(r)) => p == r,
        (HoldTarget::Version(p, _), ItemRef::Project(r)) => p == r,
        (HoldTarget::Version(p, n), ItemRef::Version(rp, rn)) => p == rp && n == rn,
        (HoldTarget::Training { project, .. }, ItemRef::Project(r)) => project == r,
        (
            HoldTarget::Training {
                project, version, ..
            },
            ItemRef::Version(rp, rn),
        ) => project == rp && version == rn,
        (HoldTarget::Training { id, .. }, ItemRef::Training(r)) => id == r,
        _ => false,
    }
}

/// The holds of a workspace that stop the destruction of the operation
/// rooted at `root` (cleanup, delete forever, Empty Trash), in the order
/// given; empty when it may be destroyed. Restoring is never held.
pub fn blocking_holds<'a>(holds: &'a [Hold], root: &ItemRef) -> Vec<&'a Hold> {
    holds
        .iter()
        .filter(|h| hold_covers(&h.target, root))
        .collect()
}

/// The ids of [`blocking_holds`].
pub fn blocking_hold_ids(holds: &[Hold], root: &ItemRef) -> Vec<HoldId> {
    blocking_holds(holds, root)
        .into_iter()
        .map(|h| h.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(c: char) -> ProjectId {
        ProjectId::parse(&c.to_string().repeat(20)).expect("id")
    }

    fn n(v: u32) -> VersionNumber {
        VersionNumber::new(v).expect("number")
    }

    fn hold(i: u8, target: HoldTarget) -> Hold {
        Hold {
            id: HoldId::parse(&format!("h{:019}", i)).expect("id"),
            workspace: WorkspaceSlug::parse("acme").expect("slug"),
            target,
            reason: HoldReason::parse("case").expect("reason"),
            created_at: Timestamp::from_unix_millis(0).expect("time"),
            created_by: Actor::system(),
        }
    }

    #[test]
    fn an_item_hold_covers_the_operations_that_would_destroy_the_item() {
        let (p, q) = (pid('p'), pid('q'));
        let t = TrainingId::parse(&"t".repeat(20)).expect("id");
        let w = WorkflowId::parse(&"w".repeat(20)).expect("id");
        let training = HoldTarget::Training {
            id: t.clone(),
            project: p.clone(),
            version: n(2),
        };
        let version = HoldTarget::Version(p.clone(), n(2));
        let project = HoldTarget::Project(p.clone());
        let workflow = HoldTarget::Workflow(w.clone());
        let workspace = HoldTarget::Workspace;
        let table: Vec<(&HoldTarget, ItemRef, bool)> = vec![
            // The item itself, and every ancestor whose purge takes it.
            (&training, ItemRef::Training(t.clone()), true),
            (&training, ItemRef::Version(p.clone(), n(2)), true),
            (&training, ItemRef::Project(p.clone()), true),
            (&training, ItemRef::Version(p.clone(), n(1)), false),
            (&training, ItemRef::Project(q.clone()), false),
            (&version, ItemRef::Version(p.clone(), n(2)), true),
            (&version, ItemRef::Project(p.clone()), true),
            (&version, ItemRef::Version(p.clone(), n(3)), false),
            (&version, ItemRef::Training(t.clone()), false),
            // A project hold never covers a child purged on its own.
            (&project, ItemRef::Project(p.clone()), true),
            (&project, ItemRef::Version(p.clone(), n(2)), false),
            (&project, ItemRef::Training(t.clone()), false),
            (&project, ItemRef::Workflow(w.clone()), false),
            (&workflow, ItemRef::Workflow(w.clone()), true),
            (&workflow, ItemRef::Project(p.clone()), false),
            (&workspace, ItemRef::Training(t), true),
            (&workspace, ItemRef::Project(q), true),
        ];
        for (target, root, held) in table {
            assert_eq!(hold_covers(target, &root), held, "{target:?} on {root}");
        }
    }

    #[test]
    fn blocking_holds_names_every_covering_hold_in_order() {
        let p = pid('p');
        let holds = vec![
            hold(1, HoldTarget::Project(pid('q'))),
            hold(2, HoldTarget::Version(p.clone(), n(1))),
            hold(3, HoldTarget::Workspace),
        ];
        let ids = blocking_hold_ids(&holds, &ItemRef::Project(p.clone()));
        assert_eq!(ids, vec![holds[1].id.clone(), holds[2].id.clone()]);
        assert!(blocking_holds(&holds[..2], &ItemRef::Version(p, n(2))).is_empty());
    }
}
