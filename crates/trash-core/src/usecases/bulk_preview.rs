//! Dry run of a bulk restore. Its items depend on each other (a project
//! restored first lets its versions be restored), so each item is previewed
//! with [`TrashService::preview_restore`], the same checks and decision as
//! the real call, against reads that see the items previewed before it as
//! restored: [`AsIfRestored`] overlays those restores on the store's reads
//! in memory. Nothing is written.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::domain::*;
use crate::ports::{
    ProjectAggregate, SlugHolder, SlugSpace, StoreError, TrashEntry, TrashQuery, TrashReads,
    WorkflowAggregate,
};
use crate::rules;

use super::{AccessDenied, BulkRestoreError, Preview, RestoreError, RestoreItem, RestoreOutcome};
use super::{RestoreError as E, TrashService};

/// One restore a dry run assumes done: the operation rooted at `root`, and
/// the slug the root would be active under (projects and workflows).
#[derive(Debug, Clone)]
struct Assumed {
    workspace: WorkspaceSlug,
    root: ItemRef,
    slug: Option<Slug>,
}

/// The store's reads, with the restores of [`Assumed`] applied in memory:
/// the items recording those operations are active, the operations gone,
/// the roots under their (possibly new) slugs.
struct AsIfRestored {
    inner: Arc<dyn TrashReads>,
    assumed: Mutex<Vec<Assumed>>,
}

impl AsIfRestored {
    fn assumed(&self, workspace: &WorkspaceSlug) -> Vec<Assumed> {
        self.assumed
            .lock()
            .map(|a| {
                a.iter()
                    .filter(|x| &x.workspace == workspace)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn assume(&self, restore: Assumed) {
        if let Ok(mut a) = self.assumed.lock() {
            a.push(restore);
        }
    }

    /// The projects (or workflows) assumed restored, with their slugs.
    fn restored_roots(&self, workspace: &WorkspaceSlug) -> Vec<(ItemRef, Slug)> {
        self.assumed(workspace)
            .into_iter()
            .filter_map(|a| a.slug.map(|s| (a.root, s)))
            .collect()
    }
}

fn apply_to_project(agg: &mut ProjectAggregate, assumed: &[Assumed]) {
    for a in assumed {
        let Some(pos) = agg.operations.iter().position(|o| o.root == a.root) else {
            continue;
        };
        let op = agg.operations.remove(pos).id;
        let records = |s: &ItemState| s.operation() == Some(&op);
        if records(&agg.project.state) {
            agg.project.state = ItemState::Active;
            if let (ItemRef::Project(_), Some(slug)) = (&a.root, &a.slug) {
                agg.project.slug = slug.clone();
            }
        }
        for v in agg.versions.iter_mut().filter(|v| records(&v.state)) {
            v.state = ItemState::Active;
        }
        for t in agg.trainings.iter_mut().filter(|t| records(&t.state)) {
            t.state = ItemState::Active;
        }
    }
}

fn apply_to_workflow(agg: &mut WorkflowAggregate, assumed: &[Assumed]) {
    let root = ItemRef::Workflow(agg.workflow.id.clone());
    if let Some(a) = assumed.iter().find(|a| a.root == root) {
        if agg.operation.take().is_some() {
            agg.workflow.state = ItemState::Active;
            if let Some(slug) = &a.slug {
                agg.workflow.slug = slug.clone();
            }
        }
    }
}

/// Holders of `slug` as they would be: an assumed-restored root is active
/// (under its new slug if renamed: it leaves the old one's holders).
fn adjust_holders<Id: Clone + PartialEq>(
    mut holders: Vec<SlugHolder<Id>>,
    slug: &Slug,
    restored: &[(Id, Slug)],
) -> Vec<SlugHolder<Id>> {
    holders.retain(|h| restored.iter().all(|(id, now)| &h.id != id || now == slug));
    for (id, now) in restored {
        if now != slug {
            continue;
        }
        match holders.iter_mut().find(|h| &h.id == id) {
            Some(h) => h.trashed_at = None,
            None => holders.push(SlugHolder {
                id: id.clone(),
                trashed_at: None,
            }),
        }
    }
    holders
}

#[async_trait]
impl TrashReads for AsIfRestored {
    async fn projects_with_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Vec<SlugHolder<ProjectId>>, StoreError> {
        let holders = self.inner.projects_with_slug(workspace, slug).await?;
        let restored: Vec<(ProjectId, Slug)> = self
            .restored_roots(workspace)
            .into_iter()
            .filter_map(|(root, s)| match root {
                ItemRef::Project(p) => Some((p, s)),
                _ => None,
            })
            .collect();
        Ok(adjust_holders(holders, slug, &restored))
    }

    async fn workflows_with_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Vec<SlugHolder<WorkflowId>>, StoreError> {
        let holders = self.inner.workflows_with_slug(workspace, slug).await?;
        let restored: Vec<(WorkflowId, Slug)> = self
            .restored_roots(workspace)
            .into_iter()
            .filter_map(|(root, s)| match root {
                ItemRef::Workflow(w) => Some((w, s)),
                _ => None,
            })
            .collect();
        Ok(adjust_holders(holders, slug, &restored))
    }

    async fn load_project(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
    ) -> Result<Option<ProjectAggregate>, StoreError> {
        let mut agg = self.inner.load_project(workspace, id).await?;
        if let Some(agg) = agg.as_mut() {
            apply_to_project(agg, &self.assumed(workspace));
        }
        Ok(agg)
    }

    async fn training_project(
        &self,
        workspace: &WorkspaceSlug,
        training: &TrainingId,
    ) -> Result<Option<ProjectId>, StoreError> {
        self.inner.training_project(workspace, training).await
    }

    async fn load_workflow(
        &self,
        workspace: &WorkspaceSlug,
        id: &WorkflowId,
    ) -> Result<Option<WorkflowAggregate>, StoreError> {
        let mut agg = self.inner.load_workflow(workspace, id).await?;
        if let Some(agg) = agg.as_mut() {
            apply_to_workflow(agg, &self.assumed(workspace));
        }
        Ok(agg)
    }

    async fn taken_slugs(
        &self,
        workspace: &WorkspaceSlug,
        space: SlugSpace,
        base: &Slug,
    ) -> Result<Vec<Slug>, StoreError> {
        let mut taken = self.inner.taken_slugs(workspace, space, base).await?;
        let prefix = format!("{base}-");
        for (root, slug) in self.restored_roots(workspace) {
            let same_space = matches!(
                (&root, space),
                (ItemRef::Project(_), SlugSpace::Projects)
                    | (ItemRef::Workflow(_), SlugSpace::Workflows)
            );
            if same_space
                && (slug == *base || slug.as_str().starts_with(&prefix))
                && !taken.contains(&slug)
            {
                taken.push(slug);
            }
        }
        Ok(taken)
    }

    async fn list_trash(&self, query: &TrashQuery) -> Result<Vec<TrashEntry>, StoreError> {
        self.inner.list_trash(query).await
    }

    async fn exclusive_images(
        &self,
        workspace: &WorkspaceSlug,
        project: &ProjectId,
    ) -> Result<u64, StoreError> {
        self.inner.exclusive_images(workspace, project).await
    }
}

impl TrashService {
    /// Dry run of [`TrashService::restore_many`]: for each item, in request
    /// order, what a real bulk restore would answer for it now (the preview
    /// of [`TrashService::preview_restore`], with the items tried before it
    /// assumed restored, in the same order as the real call:
    /// [`rules::bulk_restore_order`]). Nothing changes.
    pub async fn preview_restore_many(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        items: &[RestoreItem],
    ) -> Result<Vec<Result<Preview<RestoreOutcome>, RestoreError>>, BulkRestoreError> {
        if principal.workspace() != workspace {
            return Err(AccessDenied::WrongWorkspace.into());
        }
        if items.is_empty() || items.len() > rules::MAX_BULK_RESTORE {
            return Err(BulkRestoreError::Count {
                given: items.len(),
                max: rules::MAX_BULK_RESTORE,
            });
        }
        let overlay = Arc::new(AsIfRestored {
            inner: self.reads.clone(),
            assumed: Mutex::new(Vec::new()),
        });
        let mut shadow = self.clone();
        shadow.reads = overlay.clone();
        let targets: Vec<ItemRef> = items.iter().map(|i| i.target.clone()).collect();
        let mut results: Vec<Option<Result<Preview<RestoreOutcome>, RestoreError>>> =
            vec![None; items.len()];
        for i in rules::bulk_restore_order(&targets) {
            let item = &items[i];
            let result = shadow
                .preview_restore(principal, workspace, &item.target, item.on_conflict)
                .await;
            match result {
                Err(E::Busy) => return Err(BulkRestoreError::Busy),
                Err(E::Store(e)) => return Err(BulkRestoreError::Store(e)),
                Ok(preview) => {
                    if !preview.outcome.already_active {
                        overlay.assume(Assumed {
                            workspace: workspace.clone(),
                            root: item.target.clone(),
                            slug: preview.outcome.slug.clone().filter(|_| {
                                matches!(item.target, ItemRef::Project(_) | ItemRef::Workflow(_))
                            }),
                        });
                    }
                    results[i] = Some(Ok(preview));
                }
                other => results[i] = Some(other),
            }
        }
        Ok(results.into_iter().flatten().collect())
    }
}
