//! Contention: several writers on one project at a bounded rate, with the
//! real retry pauses, are never answered `Busy`. The case asserts outcomes
//! (every write landed, none was refused), never times.

use std::sync::Arc;

use trash_core::domain::*;
use trash_core::usecases::{Page, ResourceError, RestoreError, TrashError};
use trash_core::{ResourceService, Runtime, TrashConfig, TrashService};
use trash_runtime::{RandomIds, TokioPause};

use crate::harness::*;
use crate::StoreFactory;

/// Requests each writer makes (about).
const REQUESTS: u32 = 24;

/// The pause between one writer's requests: the bounded rate.
const GAP: std::time::Duration = std::time::Duration::from_millis(2);

/// What one writer saw.
#[derive(Debug, Default)]
struct Tally {
    ok: u32,
    images: Vec<ImageId>,
    busy: Vec<String>,
    failed: Vec<String>,
}

/// A use case error that may say `Busy`.
trait MaybeBusy: std::fmt::Debug {
    fn is_busy(&self) -> bool;
}

impl MaybeBusy for ResourceError {
    fn is_busy(&self) -> bool {
        matches!(self, ResourceError::Busy)
    }
}

impl MaybeBusy for TrashError {
    fn is_busy(&self) -> bool {
        matches!(self, TrashError::Busy)
    }
}

impl MaybeBusy for RestoreError {
    fn is_busy(&self) -> bool {
        matches!(self, RestoreError::Busy)
    }
}

impl Tally {
    fn count<T, E: MaybeBusy>(&mut self, what: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => {
                self.ok += 1;
                Some(v)
            }
            Err(e) => {
                let text = format!("{what}: {e:?}");
                if e.is_busy() {
                    self.busy.push(text);
                } else {
                    self.failed.push(text);
                }
                None
            }
        }
    }
}

/// Everything a writer needs, cloned into its task.
#[derive(Clone)]
struct Writer {
    trash: TrashService,
    resources: ResourceService,
    key: Principal,
    ws: WorkspaceSlug,
    project: Slug,
    id: ProjectId,
}

impl Writer {
    async fn versions(self) -> Tally {
        let mut tally = Tally::default();
        for _ in 0..REQUESTS {
            let r = self
                .resources
                .create_version(&self.key, &self.ws, &self.project, None)
                .await;
            tally.count("create version", r);
            tokio::time::sleep(GAP).await;
        }
        tally
    }

    async fn trainings(self) -> Tally {
        let mut tally = Tally::default();
        for _ in 0..REQUESTS / 2 {
            let r = self
                .resources
                .create_training(&self.key, &self.ws, &self.project, num(1))
                .await;
            let started = tally.count("create training", r);
            tokio::time::sleep(GAP).await;
            if let Some(t) = started {
                let status = FinishedStatus::parse("succeeded").expect("valid");
                let r = self
                    .resources
                    .set_training_status(&self.key, &self.ws, &self.project, num(1), &t.id, status)
                    .await;
                tally.count("set training status", r);
                tokio::time::sleep(GAP).await;
            }
        }
        tally
    }

    async fn images(self) -> Tally {
        let mut tally = Tally::default();
        for i in 0..REQUESTS {
            let r = self
                .resources
                .add_image(
                    &self.key,
                    &self.ws,
                    &self.project,
                    name(&format!("img-{i}")),
                )
                .await;
            if let Some(view) = tally.count("add image", r) {
                tally.images.push(view.image.id);
            }
            tokio::time::sleep(GAP).await;
        }
        tally
    }

    /// Creates a version, trashes it, restores it.
    async fn trash_and_restore(self) -> Tally {
        let mut tally = Tally::default();
        for _ in 0..REQUESTS / 3 {
            let r = self
                .resources
                .create_version(&self.key, &self.ws, &self.project, None)
                .await;
            let Some(v) = tally.count("create version", r) else {
                continue;
            };
            tokio::time::sleep(GAP).await;
            let r = self
                .trash
                .trash_version(&self.key, &self.ws, &self.project, v.number)
                .await;
            tally.count("trash version", r);
            tokio::time::sleep(GAP).await;
            let item = ItemRef::Version(self.id.clone(), v.number);
            let r = self
                .trash
                .restore(&self.key, &self.ws, &item, OnConflict::Fail)
                .await;
            tally.count("restore version", r);
            tokio::time::sleep(GAP).await;
        }
        tally
    }
}

/// Four writers on one project at once (versions; trainings and their
/// statuses; images; versions trashed and restored), each pausing between
/// requests, with the production retry pauses: no call answers `Busy`, and
/// every write landed.
pub async fn writers_on_one_project_are_never_busy(f: &dyn StoreFactory) {
    let h = Harness::new(f.create().await).await;
    let project = h.project("busy").await;
    h.version("busy").await;
    let runtime = Runtime {
        clock: h.clock.clone(),
        ids: Arc::new(RandomIds),
        pause: Arc::new(TokioPause),
        locks: Arc::new(trash_core::ports::NoLocks),
    };
    let config = TrashConfig::default();
    let writer = Writer {
        trash: h.service_on(h.roles(), runtime.clone(), config.clone()),
        resources: h.resources_on(h.store.resources.clone(), runtime, config),
        key: h.key.clone(),
        ws: h.ws.clone(),
        project: slug("busy"),
        id: project.id.clone(),
    };
    let tasks = [
        tokio::spawn(writer.clone().versions()),
        tokio::spawn(writer.clone().trainings()),
        tokio::spawn(writer.clone().images()),
        tokio::spawn(writer.clone().trash_and_restore()),
    ];
    let mut tallies = Vec::new();
    for task in tasks {
        tallies.push(task.await.expect("writer panicked"));
    }
    let busy: Vec<&String> = tallies.iter().flat_map(|t| &t.busy).collect();
    let failed: Vec<&String> = tallies.iter().flat_map(|t| &t.failed).collect();
    assert!(busy.is_empty(), "writers were answered Busy: {busy:?}");
    assert!(failed.is_empty(), "writes failed: {failed:?}");
    let rounds = REQUESTS / 3;
    assert_eq!(
        tallies.iter().map(|t| t.ok).collect::<Vec<_>>(),
        vec![REQUESTS, REQUESTS / 2 * 2, REQUESTS, rounds * 3]
    );

    // Every write landed.
    let agg = h.must_agg(&project.id).await;
    let versions = 1 + REQUESTS + rounds;
    assert_eq!(agg.versions.len() as u32, versions);
    let mut numbers: Vec<u32> = agg.versions.iter().map(|v| v.number.get()).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=versions).collect::<Vec<_>>());
    assert_eq!(agg.next_version, num(versions + 1));
    assert!(agg.versions.iter().all(|v| v.state.is_active()));
    assert!(agg.operations.is_empty());
    assert_eq!(agg.trainings.len() as u32, REQUESTS / 2);
    assert!(agg
        .trainings
        .iter()
        .all(|t| t.status == TrainingStatus::Succeeded && t.state.is_active()));
    let view = h
        .resources
        .get_project(&h.key, &h.ws, &slug("busy"), Page::default())
        .await
        .expect("project");
    assert_eq!(view.versions.len() as u32, versions);
    let events = h.audit().await;
    let count = |kind| events.iter().filter(|e| e.kind == kind).count() as u32;
    assert_eq!(
        (count(AuditKind::Trashed), count(AuditKind::Restored)),
        (rounds, rounds)
    );
    let images: Vec<&ImageId> = tallies.iter().flat_map(|t| &t.images).collect();
    assert_eq!(images.len() as u32, REQUESTS);
    for image in images {
        let view = h
            .store
            .resources
            .image(&h.ws, image)
            .await
            .expect("image")
            .expect("image stored");
        assert_eq!(view.projects, vec![project.id.clone()]);
    }
}
