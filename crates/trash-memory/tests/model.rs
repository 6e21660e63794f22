//! Property test: random sequences of operations, checked after every step
//! against invariants and a small model of what each transition must do.
//!
//! - restore gives back exactly the pre-trash state of the root's subtree;
//! - nothing is purged before its schedule (or that of a due ancestor);
//! - a purged item's dependants are all gone;
//! - no active child under a trashed parent;
//! - images linked to a surviving project (active or trashed) survive.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::Duration;
use proptest::prelude::*;
use trash_conformance::harness::{num, slug, Harness};
use trash_core::domain::*;
use trash_core::ports::*;
use trash_core::usecases::*;
use trash_memory::MemoryStore;

#[derive(Debug, Clone)]
enum Op {
    NewProject(usize),
    NewVersion(usize),
    NewTraining(usize, u32),
    Finish(usize),
    TrashProject(usize, bool),
    TrashVersion(usize, u32),
    TrashTraining(usize),
    RestoreProject(usize),
    RestoreVersion(usize, u32),
    RestoreTraining(usize),
    Advance(i64),
    Cleanup,
    AddImage(usize),
    LinkImage(usize, usize),
}

const SLUGS: [&str; 2] = ["a", "b"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0..2usize).prop_map(Op::NewProject),
        3 => (0..2usize).prop_map(Op::NewVersion),
        3 => (0..2usize, 1..4u32).prop_map(|(p, v)| Op::NewTraining(p, v)),
        2 => (0..8usize).prop_map(Op::Finish),
        2 => (0..2usize, any::<bool>()).prop_map(|(p, i)| Op::TrashProject(p, i)),
        2 => (0..2usize, 1..4u32).prop_map(|(p, v)| Op::TrashVersion(p, v)),
        2 => (0..8usize).prop_map(Op::TrashTraining),
        2 => (0..2usize).prop_map(Op::RestoreProject),
        2 => (0..2usize, 1..4u32).prop_map(|(p, v)| Op::RestoreVersion(p, v)),
        2 => (0..8usize).prop_map(Op::RestoreTraining),
        2 => (1..(24 * 20i64)).prop_map(Op::Advance),
        2 => Just(Op::Cleanup),
        1 => (0..2usize).prop_map(Op::AddImage),
        1 => (0..6usize, 0..2usize).prop_map(|(i, p)| Op::LinkImage(i, p)),
    ]
}

/// The state of every item of a project, keyed by item.
type Snapshot = BTreeMap<ItemRef, ItemState>;

fn snapshot(agg: &ProjectAggregate) -> Snapshot {
    let mut s = Snapshot::new();
    s.insert(
        ItemRef::Project(agg.project.id.clone()),
        agg.project.state.clone(),
    );
    for v in &agg.versions {
        s.insert(
            ItemRef::Version(v.project.clone(), v.number),
            v.state.clone(),
        );
    }
    for t in &agg.trainings {
        s.insert(ItemRef::Training(t.id.clone()), t.state.clone());
    }
    s
}

/// Whether `item` is `root` or lies under it.
fn under(
    agg_trainings: &BTreeMap<TrainingId, VersionNumber>,
    root: &ItemRef,
    item: &ItemRef,
) -> bool {
    match (root, item) {
        (ItemRef::Project(p), ItemRef::Project(q)) => p == q,
        (ItemRef::Project(p), ItemRef::Version(q, _)) => p == q,
        (ItemRef::Project(_), ItemRef::Training(_)) => true,
        (ItemRef::Version(p, n), ItemRef::Version(q, m)) => p == q && n == m,
        (ItemRef::Version(_, n), ItemRef::Training(t)) => agg_trainings.get(t) == Some(n),
        (ItemRef::Training(a), ItemRef::Training(b)) => a == b,
        _ => false,
    }
}

struct World {
    h: Harness,
    projects: BTreeSet<ProjectId>,
    trainings: Vec<(usize, u32, TrainingId)>,
    images: Vec<ImageId>,
    /// Snapshot of the root's project taken just before each trash, by operation.
    before_trash: BTreeMap<OperationId, Snapshot>,
}

impl World {
    async fn aggregates(&self) -> Vec<ProjectAggregate> {
        let mut out = Vec::new();
        for id in &self.projects {
            if let Some(agg) = self.h.agg(id).await {
                out.push(agg);
            }
        }
        out
    }

    async fn project_id(&self, p: usize) -> Option<ProjectId> {
        self.h.project_id(SLUGS[p]).await
    }

    async fn trash(&mut self, target: TrashTarget, project: Option<ProjectId>) {
        let before = match &project {
            Some(id) => self.h.agg(id).await.map(|a| snapshot(&a)),
            None => None,
        };
        if let Ok(out) = self
            .h
            .service
            .move_to_trash(&self.h.key, &self.h.ws, &target)
            .await
        {
            if out.already_in_trash {
                return;
            }
            assert_eq!(
                out.scheduled_cleanup_at,
                out.deleted_at.plus(Duration::days(30))
            );
            if let (Some(id), Some(before)) = (project, before) {
                let agg = self.h.must_agg(&id).await;
                let root = out.item.item_ref();
                let op = agg
                    .operations
                    .iter()
                    .find(|o| o.root == root)
                    .expect("new operation")
                    .clone();
                self.before_trash.insert(op.id, before);
            }
        }
    }

    async fn restore(&mut self, item: ItemRef, project: ProjectId) {
        let before = self.h.agg(&project).await;
        let result = self.h.restore(item.clone()).await;
        let Ok(outcome) = result else { return };
        if outcome.already_active {
            return;
        }
        let before = before.expect("restored item existed");
        let op = before
            .operations
            .iter()
            .find(|o| o.root == item)
            .expect("restored item was a root")
            .clone();
        let expected = self
            .before_trash
            .get(&op.id)
            .expect("snapshot taken at trash")
            .clone();
        let after = self.h.must_agg(&project).await;
        let trainings: BTreeMap<TrainingId, VersionNumber> = after
            .trainings
            .iter()
            .map(|t| (t.id.clone(), t.version))
            .collect();
        let now = snapshot(&after);
        for (it, state) in &now {
            if !under(&trainings, &op.root, it) {
                continue;
            }
            match expected.get(it) {
                Some(was) => assert_eq!(state, was, "{it} after restoring {}", op.root),
                None => panic!("{it} appeared under {} while it was in trash", op.root),
            }
        }
    }

    async fn check_invariants(&self) {
        for agg in self.aggregates().await {
            if !agg.project.state.is_active() {
                assert!(agg.versions.iter().all(|v| !v.state.is_active()));
            }
            for t in &agg.trainings {
                let v = agg
                    .versions
                    .iter()
                    .find(|v| v.number == t.version)
                    .expect("version");
                if !v.state.is_active() {
                    assert!(!t.state.is_active());
                }
            }
            for state in snapshot(&agg).values() {
                if let Some(op) = state.operation() {
                    assert!(
                        agg.operations.iter().any(|o| &o.id == op),
                        "dangling operation"
                    );
                }
            }
        }
    }

    async fn cleanup(&mut self) {
        let now = self.h.clock.now();
        let before = self.aggregates().await;
        let mut images_before = BTreeMap::new();
        for id in &self.images {
            if let Some(view) = self
                .h
                .store
                .resources
                .image(&self.h.ws, id)
                .await
                .expect("image")
            {
                images_before.insert(id.clone(), view);
            }
        }
        self.h.drain_cleanup(&self.h.service).await;
        let after = self.aggregates().await;
        let surviving: BTreeMap<ProjectId, Snapshot> = after
            .iter()
            .map(|a| (a.project.id.clone(), snapshot(a)))
            .collect();
        let mut purged_projects = BTreeMap::new();
        for agg in &before {
            let ops: BTreeMap<&OperationId, &TrashOperation> =
                agg.operations.iter().map(|o| (&o.id, o)).collect();
            let due = |state: &ItemState| {
                state
                    .operation()
                    .and_then(|o| ops.get(o))
                    .is_some_and(|o| o.scheduled_cleanup_at <= now)
            };
            let version_of: BTreeMap<&TrainingId, &Version> = agg
                .trainings
                .iter()
                .map(|t| {
                    (
                        &t.id,
                        agg.versions
                            .iter()
                            .find(|v| v.number == t.version)
                            .expect("v"),
                    )
                })
                .collect();
            let after_items = surviving.get(&agg.project.id);
            if after_items.is_none() {
                assert!(
                    due(&agg.project.state),
                    "project purged before its schedule"
                );
                purged_projects.insert(agg.project.id.clone(), agg.clone());
                for t in &agg.trainings {
                    assert!(self
                        .h
                        .store
                        .reads
                        .training_project(&self.h.ws, &t.id)
                        .await
                        .expect("q")
                        .is_none());
                }
                continue;
            }
            let after_items = after_items.expect("checked");
            for v in &agg.versions {
                let key = ItemRef::Version(v.project.clone(), v.number);
                if !after_items.contains_key(&key) {
                    assert!(
                        due(&v.state) || due(&agg.project.state),
                        "version purged before its schedule"
                    );
                    for t in agg.trainings.iter().filter(|t| t.version == v.number) {
                        assert!(!after_items.contains_key(&ItemRef::Training(t.id.clone())));
                    }
                }
            }
            for t in &agg.trainings {
                if !after_items.contains_key(&ItemRef::Training(t.id.clone())) {
                    let v = version_of[&t.id];
                    assert!(
                        due(&t.state) || due(&v.state) || due(&agg.project.state),
                        "training purged before its schedule"
                    );
                }
            }
        }
        for (id, view) in images_before {
            let still = self
                .h
                .store
                .resources
                .image(&self.h.ws, &id)
                .await
                .expect("image");
            let linked_to_survivor = view.projects.iter().any(|p| surviving.contains_key(p));
            if linked_to_survivor {
                assert!(
                    still.is_some(),
                    "an image shared with a surviving project was deleted"
                );
            }
            if still.is_none() {
                // Deleted only with the last project linking it, and only
                // because one of the purged projects asked for it.
                assert!(view
                    .projects
                    .iter()
                    .all(|p| purged_projects.contains_key(p)));
                assert!(view.projects.iter().any(|p| {
                    purged_projects[p]
                        .operations
                        .iter()
                        .any(|o| o.root == ItemRef::Project(p.clone()) && o.cleanup_delete_images)
                }));
            }
        }
    }

    async fn apply(&mut self, op: Op) {
        let h = &self.h;
        match op {
            Op::NewProject(p) => {
                if let Ok(project) = h
                    .resources
                    .create_project(
                        &h.key,
                        &h.ws,
                        trash_conformance::harness::name(SLUGS[p]),
                        Some(slug(SLUGS[p])),
                    )
                    .await
                {
                    self.projects.insert(project.id);
                }
            }
            Op::NewVersion(p) => {
                let _ = h
                    .resources
                    .create_version(&h.key, &h.ws, &slug(SLUGS[p]), None)
                    .await;
            }
            Op::NewTraining(p, v) => {
                if let Ok(t) = h
                    .resources
                    .create_training(&h.key, &h.ws, &slug(SLUGS[p]), num(v))
                    .await
                {
                    self.trainings.push((p, v, t.id));
                }
            }
            Op::Finish(i) => {
                if let Some((p, v, id)) = self.trainings.get(i).cloned() {
                    let _ = h
                        .resources
                        .set_training_status(
                            &h.key,
                            &h.ws,
                            &slug(SLUGS[p]),
                            num(v),
                            &id,
                            FinishedStatus::parse("succeeded").expect("v"),
                        )
                        .await;
                }
            }
            Op::TrashProject(p, images) => {
                let id = self.project_id(p).await;
                self.trash(
                    TrashTarget::Project {
                        slug: slug(SLUGS[p]),
                        cleanup_delete_images: images,
                    },
                    id,
                )
                .await;
            }
            Op::TrashVersion(p, v) => {
                let id = self.project_id(p).await;
                self.trash(
                    TrashTarget::Version {
                        project: slug(SLUGS[p]),
                        number: num(v),
                    },
                    id,
                )
                .await;
            }
            Op::TrashTraining(i) => {
                if let Some((p, v, t)) = self.trainings.get(i).cloned() {
                    let id = self.project_id(p).await;
                    self.trash(
                        TrashTarget::Training {
                            project: slug(SLUGS[p]),
                            number: num(v),
                            id: t,
                        },
                        id,
                    )
                    .await;
                }
            }
            Op::RestoreProject(p) => {
                // Restore the most recent project with this slug, active or not.
                if let Some(id) = self.project_id(p).await {
                    self.restore(ItemRef::Project(id.clone()), id).await;
                }
            }
            Op::RestoreVersion(p, v) => {
                if let Some(id) = self.project_id(p).await {
                    self.restore(ItemRef::Version(id.clone(), num(v)), id).await;
                }
            }
            Op::RestoreTraining(i) => {
                if let Some((_, _, t)) = self.trainings.get(i).cloned() {
                    if let Some(pid) = h.store.reads.training_project(&h.ws, &t).await.expect("q") {
                        self.restore(ItemRef::Training(t), pid).await;
                    }
                }
            }
            Op::Advance(hours) => h.clock.advance(Duration::hours(hours)),
            Op::Cleanup => self.cleanup().await,
            Op::AddImage(p) => {
                if let Ok(img) = h
                    .resources
                    .add_image(
                        &h.key,
                        &h.ws,
                        &slug(SLUGS[p]),
                        trash_conformance::harness::name("img"),
                    )
                    .await
                {
                    self.images.push(img.image.id);
                }
            }
            Op::LinkImage(i, p) => {
                if let Some(img) = self.images.get(i).cloned() {
                    let _ = h
                        .resources
                        .link_image(&h.key, &h.ws, &slug(SLUGS[p]), &img)
                        .await;
                }
            }
        }
        self.check_invariants().await;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_histories_keep_the_rules(ops in proptest::collection::vec(op(), 1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let h = Harness::whole(Arc::new(MemoryStore::new())).await;
            let mut world = World {
                h,
                projects: BTreeSet::new(),
                trainings: Vec::new(),
                images: Vec::new(),
                before_trash: BTreeMap::new(),
            };
            world.apply(Op::NewProject(0)).await;
            world.apply(Op::NewProject(1)).await;
            for op in ops {
                world.apply(op).await;
            }
            world.apply(Op::Advance(24 * 400)).await;
            world.apply(Op::Cleanup).await;
            // After everything is due and cleaned, the trash is empty.
            assert!(world.h.listing().await.is_empty());
        });
    }
}
