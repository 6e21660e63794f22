//! The in-memory store: every role's methods under one mutex, so each call
//! is atomic. It is the reference the SQL stores are held against.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use trash_core::domain::*;
use trash_core::events::{DeliveryStatus, EventType, OutboxMessage, StoredMessage};
use trash_core::ports::*;

#[derive(Debug, Clone)]
struct ProjectRow {
    project: Project,
    revision: i64,
    next_version: VersionNumber,
}

#[derive(Debug, Clone)]
struct WorkflowRow {
    workflow: Workflow,
    revision: i64,
}

#[derive(Debug, Clone)]
struct OperationRow {
    op: TrashOperation,
    claimed_until: Option<Timestamp>,
}

#[derive(Debug, Clone)]
struct CancellationRow {
    pending: PendingCancellation,
    claimed_until: Timestamp,
}

#[derive(Debug, Default)]
struct State {
    workspaces: BTreeMap<WorkspaceSlug, Workspace>,
    keys: BTreeMap<KeyId, ApiKeyRecord>,
    users: BTreeMap<UserId, UserRecord>,
    sessions: Vec<SessionRecord>,
    projects: BTreeMap<ProjectId, ProjectRow>,
    versions: BTreeMap<(ProjectId, VersionNumber), Version>,
    trainings: BTreeMap<TrainingId, Training>,
    workflows: BTreeMap<WorkflowId, WorkflowRow>,
    operations: BTreeMap<OperationId, OperationRow>,
    images: BTreeMap<ImageId, Image>,
    links: BTreeSet<(ProjectId, ImageId)>,
    cancellations: BTreeMap<TrainingId, CancellationRow>,
    audit: Vec<AuditRecord>,
    outbox: BTreeMap<String, OutboxRow>,
    outbox_seq: u64,
    endpoints: BTreeMap<String, WebhookEndpoint>,
    empty_jobs: Vec<EmptyJob>,
    holds: BTreeMap<HoldId, Hold>,
    hold_revisions: BTreeMap<WorkspaceSlug, i64>,
}

#[derive(Debug, Clone)]
struct OutboxRow {
    stored: StoredMessage,
    available_at: Timestamp,
    seq: u64,
}

/// A thread-safe in-memory store playing every role (it is a
/// [`StandaloneStore`]). Nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::Internal("memory store poisoned by a panic".into()))
    }
}

impl State {
    fn check_guard(&self, guard: &Guard) -> Result<(), StoreError> {
        let current = match &guard.aggregate {
            AggregateId::Project(id) => self.projects.get(id).map(|r| r.revision),
            AggregateId::Workflow(id) => self.workflows.get(id).map(|r| r.revision),
        };
        if current == Some(guard.revision.0) {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    fn bump(&mut self, guard: &Guard) {
        match &guard.aggregate {
            AggregateId::Project(id) => {
                if let Some(r) = self.projects.get_mut(id) {
                    r.revision += 1;
                }
            }
            AggregateId::Workflow(id) => {
                if let Some(r) = self.workflows.get_mut(id) {
                    r.revision += 1;
                }
            }
        }
    }

    /// Writes outbox messages; an id already stored is kept as it is.
    fn enqueue(&mut self, messages: &[OutboxMessage]) {
        for m in messages {
            self.outbox_seq += 1;
            let seq = self.outbox_seq;
            self.outbox
                .entry(m.id.clone())
                .or_insert_with(|| OutboxRow {
                    stored: StoredMessage {
                        message: m.clone(),
                        status: DeliveryStatus::Pending,
                        attempts: 0,
                        acked: Vec::new(),
                        last_error: None,
                        finished_at: None,
                    },
                    available_at: m.due_at,
                    seq,
                });
        }
    }

    /// Deletes the pending `purge_soon` notices of these operations.
    fn withdraw_notices(&mut self, operations: &[OperationId]) {
        self.outbox.retain(|_, r| {
            let m = &r.stored.message;
            !(m.event == EventType::ItemPurgeSoon
                && r.stored.status == DeliveryStatus::Pending
                && m.operation.as_ref().is_some_and(|o| operations.contains(o)))
        });
    }

    fn record(&mut self, events: &[AuditEvent]) {
        for event in events {
            let seq = self.audit.len() as i64 + 1;
            self.audit.push(AuditRecord {
                seq,
                event: event.clone(),
            });
        }
    }

    /// One slug holder: active, or trashed at its live operation's time.
    fn holder<Id: Clone>(&self, state: &ItemState, id: &Id) -> Result<SlugHolder<Id>, StoreError> {
        let trashed_at = match state.operation() {
            None => None,
            Some(op) => Some(
                self.operations
                    .get(op)
                    .map(|r| r.op.deleted_at)
                    .ok_or_else(|| {
                        StoreError::Internal("trashed item refers to a missing operation".into())
                    })?,
            ),
        };
        Ok(SlugHolder {
            id: id.clone(),
            trashed_at,
        })
    }

    fn project_in(&self, ws: &WorkspaceSlug, id: &ProjectId) -> Option<&ProjectRow> {
        self.projects.get(id).filter(|r| &r.project.workspace == ws)
    }

    fn project_operations(&self, id: &ProjectId) -> Vec<TrashOperation> {
        self.operations
            .values()
            .filter(|r| match &r.op.root {
                ItemRef::Project(p) | ItemRef::Version(p, _) => p == id,
                ItemRef::Training(t) => self.trainings.get(t).is_some_and(|t| &t.project == id),
                ItemRef::Workflow(_) => false,
            })
            .map(|r| r.op.clone())
            .collect()
    }

    fn active_slug_holder(
        &self,
        ws: &WorkspaceSlug,
        space: SlugSpace,
        slug: &Slug,
        except: &str,
    ) -> Option<String> {
        match space {
            SlugSpace::Projects => self
                .projects
                .values()
                .map(|r| &r.project)
                .find(|p| {
                    &p.workspace == ws
                        && &p.slug == slug
                        && p.state.is_active()
                        && p.id.as_str() != except
                })
                .map(|p| p.id.to_string()),
            SlugSpace::Workflows => self
                .workflows
                .values()
                .map(|r| &r.workflow)
                .find(|w| {
                    &w.workspace == ws
                        && &w.slug == slug
                        && w.state.is_active()
                        && w.id.as_str() != except
                })
                .map(|w| w.id.to_string()),
        }
    }

    fn set_state(&mut self, item: &ItemRef, state: ItemState) {
        match item {
            ItemRef::Project(id) => {
                if let Some(r) = self.projects.get_mut(id) {
                    r.project.state = state;
                }
            }
            ItemRef::Version(p, n) => {
                if let Some(v) = self.versions.get_mut(&(p.clone(), *n)) {
                    v.state = state;
                }
            }
            ItemRef::Workflow(id) => {
                if let Some(r) = self.workflows.get_mut(id) {
                    r.workflow.state = state;
                }
            }
            ItemRef::Training(id) => {
                if let Some(t) = self.trainings.get_mut(id) {
                    t.state = state;
                }
            }
        }
    }
}

fn slug_matches(candidate: &Slug, base: &Slug) -> bool {
    candidate == base
        || candidate
            .as_str()
            .strip_prefix(base.as_str())
            .is_some_and(|rest| rest.starts_with('-'))
}

#[async_trait]
impl TrashReads for MemoryStore {
    async fn exclusive_images(
        &self,
        workspace: &WorkspaceSlug,
        project: &ProjectId,
    ) -> Result<u64, StoreError> {
        let s = self.lock()?;
        if s.projects
            .get(project)
            .is_none_or(|r| &r.project.workspace != workspace)
        {
            return Ok(0);
        }
        let exclusive = s
            .links
            .iter()
            .filter(|(p, _)| p == project)
            .filter(|(_, image)| {
                !s.links
                    .iter()
                    .any(|(other, i)| i == image && other != project)
            })
            .count();
        Ok(exclusive as u64)
    }

    async fn projects_with_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Vec<SlugHolder<ProjectId>>, StoreError> {
        let s = self.lock()?;
        s.projects
            .values()
            .map(|r| &r.project)
            .filter(|p| &p.workspace == workspace && &p.slug == slug)
            .map(|p| s.holder(&p.state, &p.id))
            .collect()
    }

    async fn workflows_with_slug(
        &self,
        workspace: &WorkspaceSlug,
        slug: &Slug,
    ) -> Result<Vec<SlugHolder<WorkflowId>>, StoreError> {
        let s = self.lock()?;
        s.workflows
            .values()
            .map(|r| &r.workflow)
            .filter(|w| &w.workspace == workspace && &w.slug == slug)
            .map(|w| s.holder(&w.state, &w.id))
            .collect()
    }

    async fn load_project(
        &self,
        workspace: &WorkspaceSlug,
        id: &ProjectId,
    ) -> Result<Option<ProjectAggregate>, StoreError> {
        let s = self.lock()?;
        let Some(row) = s.project_in(workspace, id) else {
            return Ok(None);
        };
        Ok(Some(ProjectAggregate {
            project: row.project.clone(),
            revision: Revision(row.revision),
            next_version: row.next_version,
            versions: s
                .versions
                .range((id.clone(), VersionNumber::FIRST)..)
                .take_while(|((p, _), _)| p == id)
                .map(|(_, v)| v.clone())
                .collect(),
            trainings: s
                .trainings
                .values()
                .filter(|t| &t.project == id)
                .cloned()
                .collect(),
            operations: s.project_operations(id),
        }))
    }

    async fn training_project(
        &self,
        workspace: &WorkspaceSlug,
        training: &TrainingId,
    ) -> Result<Option<ProjectId>, StoreError> {
        let s = self.lock()?;
        Ok(s.trainings
            .get(training)
            .filter(|t| s.project_in(workspace, &t.project).is_some())
            .map(|t| t.project.clone()))
    }

    async fn load_workflow(
        &self,
        workspace: &WorkspaceSlug,
        id: &WorkflowId,
    ) -> Result<Option<WorkflowAggregate>, StoreError> {
        let s = self.lock()?;
        Ok(s.workflows
            .get(id)
            .filter(|r| &r.workflow.workspace == workspace)
            .map(|r| WorkflowAggregate {
                workflow: r.workflow.clone(),
                revision: Revision(r.revision),
                operation: r
                    .workflow
                    .state
                    .operation()
                    .and_then(|op| s.operations.get(op))
                    .map(|o| o.op.clone()),
            }))
    }

    async fn taken_slugs(
        &self,
        workspace: &WorkspaceSlug,
        space: SlugSpace,
        base: &Slug,
    ) -> Result<Vec<Slug>, StoreError> {
        let s = self.lock()?;
        let mut out: Vec<Slug> = match space {
            SlugSpace::Projects => s
                .projects
                .values()
                .map(|r| &r.project)
                .filter(|p| &p.workspace == workspace && p.state.is_active())
                .map(|p| p.slug.clone())
                .filter(|slug| slug_matches(slug, base))
                .collect(),
            SlugSpace::Workflows => s
                .workflows
                .values()
                .map(|r| &r.workflow)
                .filter(|w| &w.workspace == workspace && w.state.is_active())
                .map(|w| w.slug.clone())
                .filter(|slug| slug_matches(slug, base))
                .collect(),
        };
        out.sort();
        Ok(out)
    }

    async fn list_trash(&self, query: &TrashQuery) -> Result<Vec<TrashEntry>, StoreError> {
        let s = self.lock()?;
        let mut ops: Vec<&TrashOperation> = s
            .operations
            .values()
            .map(|r| &r.op)
            .filter(|op| op.workspace == query.workspace)
            .filter(|op| query.kind.is_none_or(|k| op.root.kind() == k))
            .filter(|op| match &query.after {
                None => true,
                Some(c) => (op.deleted_at, &op.id) < (c.deleted_at, &c.operation),
            })
            .collect();
        ops.sort_by(|a, b| (b.deleted_at, &b.id).cmp(&(a.deleted_at, &a.id)));
        let mut out = Vec::new();
        for op in ops.into_iter().take(query.limit as usize) {
            let item = match &op.root {
                ItemRef::Project(id) => {
                    let p = &s.projects.get(id).ok_or_else(dangling)?.project;
                    TrashedItem::Project(ProjectItem {
                        id: p.id.clone(),
                        slug: p.slug.clone(),
                        name: p.name.clone(),
                    })
                }
                ItemRef::Version(pid, n) => {
                    let p = &s.projects.get(pid).ok_or_else(dangling)?.project;
                    let v = s.versions.get(&(pid.clone(), *n)).ok_or_else(dangling)?;
                    TrashedItem::Version(VersionItem {
                        project: p.id.clone(),
                        project_slug: p.slug.clone(),
                        project_name: p.name.clone(),
                        number: *n,
                        name: v.name.clone(),
                    })
                }
                ItemRef::Workflow(id) => {
                    let w = &s.workflows.get(id).ok_or_else(dangling)?.workflow;
                    TrashedItem::Workflow(WorkflowItem {
                        id: w.id.clone(),
                        slug: w.slug.clone(),
                        name: w.name.clone(),
                    })
                }
                ItemRef::Training(id) => {
                    let t = s.trainings.get(id).ok_or_else(dangling)?;
                    let p = &s.projects.get(&t.project).ok_or_else(dangling)?.project;
                    TrashedItem::Training(TrainingItem {
                        id: t.id.clone(),
                        project: p.id.clone(),
                        project_slug: p.slug.clone(),
                        version: t.version,
                    })
                }
            };
            out.push(TrashEntry {
                operation: op.clone(),
                item,
            });
        }
        Ok(out)
    }
}

#[async_trait]
impl AuditLog for MemoryStore {
    async fn audit_events(
        &self,
        workspace: &WorkspaceSlug,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let s = self.lock()?;
        Ok(s.audit
            .iter()
            .filter(|r| &r.event.workspace == workspace && after.is_none_or(|a| r.seq > a))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn audit_page(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let s = self.lock()?;
        Ok(s.audit
            .iter()
            .rev()
            .filter(|r| {
                r.event.workspace == query.workspace
                    && query.before.is_none_or(|b| r.seq < b)
                    && query.kinds.contains(&r.event.kind)
                    && query
                        .item_kind
                        .is_none_or(|k| r.event.item.as_ref().map(|i| i.kind()) == Some(k))
            })
            .take(query.limit as usize)
            .cloned()
            .collect())
    }
}

impl State {
    fn hold_revision(&self, workspace: &WorkspaceSlug) -> i64 {
        self.hold_revisions.get(workspace).copied().unwrap_or(0)
    }

    fn workspace_holds(&self, workspace: &WorkspaceSlug) -> WorkspaceHolds {
        let mut holds: Vec<Hold> = self
            .holds
            .values()
            .filter(|h| &h.workspace == workspace)
            .cloned()
            .collect();
        holds.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        WorkspaceHolds {
            workspace: workspace.clone(),
            revision: Revision(self.hold_revision(workspace)),
            holds,
        }
    }
}

#[async_trait]
impl LegalHolds for MemoryStore {
    async fn holds(&self, workspace: &WorkspaceSlug) -> Result<WorkspaceHolds, StoreError> {
        Ok(self.lock()?.workspace_holds(workspace))
    }

    async fn holds_of(
        &self,
        workspaces: &[WorkspaceSlug],
    ) -> Result<Vec<WorkspaceHolds>, StoreError> {
        let s = self.lock()?;
        Ok(workspaces.iter().map(|w| s.workspace_holds(w)).collect())
    }

    async fn place_hold(&self, hold: &Hold, event: &AuditEvent) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if s.holds.contains_key(&hold.id) {
            return Err(StoreError::AlreadyExists);
        }
        s.holds.insert(hold.id.clone(), hold.clone());
        *s.hold_revisions.entry(hold.workspace.clone()).or_insert(0) += 1;
        s.record(std::slice::from_ref(event));
        Ok(())
    }

    async fn release_hold(
        &self,
        workspace: &WorkspaceSlug,
        id: &HoldId,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        if s.holds.get(id).is_none_or(|h| &h.workspace != workspace) {
            return Ok(false);
        }
        s.holds.remove(id);
        for r in s.operations.values_mut() {
            if &r.op.workspace == workspace {
                r.claimed_until = None;
            }
        }
        s.record(std::slice::from_ref(event));
        Ok(true)
    }
}

#[async_trait]
impl TrashWrites for MemoryStore {
    async fn trash(&self, plan: &TrashPlan) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        s.check_guard(&plan.guard)?;
        let op = &plan.operation;
        s.set_state(
            &op.root,
            ItemState::Trashed {
                operation: op.id.clone(),
                cascaded: false,
            },
        );
        for member in &plan.members {
            s.set_state(
                member,
                ItemState::Trashed {
                    operation: op.id.clone(),
                    cascaded: true,
                },
            );
        }
        for training in &plan.cancel {
            if let Some(t) = s.trainings.get_mut(training) {
                t.status = TrainingStatus::Cancelled;
                t.ended_at = Some(op.deleted_at);
            }
            s.cancellations.insert(
                training.clone(),
                CancellationRow {
                    pending: PendingCancellation {
                        workspace: op.workspace.clone(),
                        training: training.clone(),
                        operation: op.id.clone(),
                        attempts: 0,
                    },
                    claimed_until: plan.cancel_claimed_until,
                },
            );
        }
        s.operations.insert(
            op.id.clone(),
            OperationRow {
                op: op.clone(),
                claimed_until: None,
            },
        );
        s.record(&plan.events);
        s.enqueue(&plan.outbox);
        s.bump(&plan.guard);
        Ok(())
    }

    async fn restore(&self, plan: &RestorePlan) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        s.check_guard(&plan.guard)?;
        let ws = s
            .operations
            .get(&plan.operation)
            .map(|r| r.op.workspace.clone())
            .ok_or(StoreError::Conflict)?;
        // Slug uniqueness among active items, checked before anything changes.
        let slug_check = match &plan.root {
            ItemRef::Project(id) => s.projects.get(id).map(|r| {
                (
                    SlugSpace::Projects,
                    plan.new_slug
                        .clone()
                        .unwrap_or_else(|| r.project.slug.clone()),
                    id.to_string(),
                )
            }),
            ItemRef::Workflow(id) => s.workflows.get(id).map(|r| {
                (
                    SlugSpace::Workflows,
                    plan.new_slug
                        .clone()
                        .unwrap_or_else(|| r.workflow.slug.clone()),
                    id.to_string(),
                )
            }),
            _ => None,
        };
        if let Some((space, slug, own)) = &slug_check {
            if let Some(conflicting) = s.active_slug_holder(&ws, *space, slug, own) {
                return Err(StoreError::SlugTaken { conflicting });
            }
        }
        let op_id = plan.operation.clone();
        let has_op = |state: &ItemState| state.operation() == Some(&op_id);
        for r in s.projects.values_mut() {
            if has_op(&r.project.state) {
                r.project.state = ItemState::Active;
                if let Some(slug) = &plan.new_slug {
                    r.project.slug = slug.clone();
                }
            }
        }
        for v in s.versions.values_mut() {
            if has_op(&v.state) {
                v.state = ItemState::Active;
            }
        }
        for t in s.trainings.values_mut() {
            if has_op(&t.state) {
                t.state = ItemState::Active;
            }
        }
        for r in s.workflows.values_mut() {
            if has_op(&r.workflow.state) {
                r.workflow.state = ItemState::Active;
                if let Some(slug) = &plan.new_slug {
                    r.workflow.slug = slug.clone();
                }
            }
        }
        s.operations.remove(&plan.operation);
        s.record(&plan.events);
        s.withdraw_notices(std::slice::from_ref(&plan.operation));
        s.enqueue(&plan.outbox);
        s.bump(&plan.guard);
        Ok(())
    }

    async fn purge(&self, plan: &PurgePlan) -> Result<PurgeCounts, StoreError> {
        let mut s = self.lock()?;
        s.check_purge(plan)?;
        let (mut counts, candidates) = s.apply_purge(plan);
        counts.images = s.delete_orphans(&candidates);
        Ok(counts)
    }

    async fn purge_batch(
        &self,
        plans: &[PurgePlan],
        _time_limit: chrono::Duration,
    ) -> Result<PurgeCounts, StoreError> {
        // Under the one lock: check every plan first, so a stale one
        // changes nothing; then apply them all (they name distinct
        // aggregates). Memory work never approaches the time limit.
        let mut s = self.lock()?;
        let mut aggregates = BTreeSet::new();
        for plan in plans {
            s.check_purge(plan)?;
            if !aggregates.insert(format!("{:?}", plan.guard.aggregate)) {
                return Err(StoreError::Internal(
                    "two plans of one batch name the same aggregate".into(),
                ));
            }
        }
        let mut counts = PurgeCounts::default();
        let mut candidates = BTreeSet::new();
        for plan in plans {
            let (removed, images) = s.apply_purge(plan);
            counts.add(removed);
            candidates.extend(images);
        }
        counts.images = s.delete_orphans(&candidates);
        Ok(counts)
    }
}

impl State {
    /// The guard of a purge plan holds and its operation exists.
    fn check_purge(&self, plan: &PurgePlan) -> Result<(), StoreError> {
        self.check_guard(&plan.guard)?;
        if self.hold_revision(&plan.holds.workspace) != plan.holds.revision.0 {
            return Err(StoreError::Conflict);
        }
        if !self.operations.contains_key(&plan.operation) {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    /// Removes exactly the rows a checked plan names; returns the counts
    /// and, when the plan asks for it, the images that lost a link.
    fn apply_purge(&mut self, plan: &PurgePlan) -> (PurgeCounts, BTreeSet<ImageId>) {
        let s = self;
        let set = &plan.remove;
        let mut counts = PurgeCounts::default();
        for id in &set.operations {
            s.operations.remove(id);
        }
        for key in &set.versions {
            counts.versions += u64::from(s.versions.remove(key).is_some());
        }
        for id in &set.trainings {
            counts.trainings += u64::from(s.trainings.remove(id).is_some());
        }
        for id in &set.workflows {
            counts.workflows += u64::from(s.workflows.remove(id).is_some());
        }
        let removed: BTreeSet<&ProjectId> = set.projects.iter().collect();
        let unlinked: BTreeSet<ImageId> = s
            .links
            .iter()
            .filter(|(p, _)| removed.contains(p))
            .map(|(_, i)| i.clone())
            .collect();
        s.links.retain(|(p, _)| !removed.contains(p));
        for id in &set.projects {
            counts.projects += u64::from(s.projects.remove(id).is_some());
        }
        s.record(&plan.events);
        s.withdraw_notices(&set.operations);
        s.enqueue(&plan.outbox);
        s.bump(&plan.guard);
        if plan.delete_orphaned_images {
            (counts, unlinked)
        } else {
            (counts, BTreeSet::new())
        }
    }

    /// Deletes those of `candidates` that no project links any more.
    fn delete_orphans(&mut self, candidates: &BTreeSet<ImageId>) -> u64 {
        let mut deleted = 0;
        for image in candidates {
            if !self.links.iter().any(|(_, i)| i == image) {
                deleted += u64::from(self.images.remove(image).is_some());
            }
        }
        deleted
    }
}

impl State {
    fn finish_attempt(
        &mut self,
        id: &str,
        acked: &[String],
        status: DeliveryStatus,
        at: Timestamp,
        error: Option<&str>,
    ) {
        if let Some(r) = self.outbox.get_mut(id) {
            r.stored.acked = acked.to_vec();
            r.stored.status = status;
            r.available_at = at;
            if let Some(e) = error {
                r.stored.attempts += 1;
                r.stored.last_error = Some(e.to_string());
            }
            if status != DeliveryStatus::Pending {
                r.stored.finished_at = Some(at);
            }
        }
    }
}

#[async_trait]
impl Outbox for MemoryStore {
    async fn claim_messages(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let mut s = self.lock()?;
        let mut due: Vec<(Timestamp, u64, String)> = s
            .outbox
            .values()
            .filter(|r| r.stored.status == DeliveryStatus::Pending && r.available_at <= now)
            .map(|r| (r.available_at, r.seq, r.stored.message.id.clone()))
            .collect();
        due.sort();
        let mut out = Vec::new();
        for (_, _, id) in due.into_iter().take(limit as usize) {
            if let Some(r) = s.outbox.get_mut(&id) {
                r.available_at = claimed_until;
                out.push(r.stored.clone());
            }
        }
        Ok(out)
    }

    async fn complete_message(
        &self,
        id: &str,
        acked: &[String],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        s.finish_attempt(id, acked, DeliveryStatus::Delivered, at, None);
        Ok(())
    }

    async fn retry_message(
        &self,
        id: &str,
        acked: &[String],
        retry_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        s.finish_attempt(id, acked, DeliveryStatus::Pending, retry_at, Some(error));
        Ok(())
    }

    async fn fail_message(
        &self,
        id: &str,
        acked: &[String],
        at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        s.finish_attempt(id, acked, DeliveryStatus::Failed, at, Some(error));
        Ok(())
    }

    async fn messages(
        &self,
        workspace: &WorkspaceSlug,
        failed_only: bool,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let s = self.lock()?;
        let mut rows: Vec<&OutboxRow> = s
            .outbox
            .values()
            .filter(|r| &r.stored.message.workspace == workspace)
            .filter(|r| !failed_only || r.stored.status == DeliveryStatus::Failed)
            .collect();
        rows.sort_by(|a, b| {
            (b.stored.message.due_at, b.seq).cmp(&(a.stored.message.due_at, a.seq))
        });
        Ok(rows
            .into_iter()
            .take(limit as usize)
            .map(|r| r.stored.clone())
            .collect())
    }

    async fn message(&self, id: &str) -> Result<Option<StoredMessage>, StoreError> {
        Ok(self.lock()?.outbox.get(id).map(|r| r.stored.clone()))
    }

    async fn redeliver(&self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        let Some(r) = s.outbox.get_mut(id) else {
            return Ok(false);
        };
        r.stored.status = DeliveryStatus::Pending;
        r.stored.attempts = 0;
        r.stored.acked.clear();
        r.stored.last_error = None;
        r.stored.finished_at = None;
        r.stored.message.due_at = now;
        r.available_at = now;
        Ok(true)
    }

    async fn prune_messages(
        &self,
        finished_before: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let mut s = self.lock()?;
        let mut finished: Vec<(Timestamp, String)> = s
            .outbox
            .iter()
            .filter(|(_, r)| r.stored.status != DeliveryStatus::Pending)
            .filter_map(|(id, r)| r.stored.finished_at.map(|at| (at, id.clone())))
            .filter(|(at, _)| *at < finished_before)
            .collect();
        finished.sort();
        finished.truncate(limit as usize);
        for (_, id) in &finished {
            s.outbox.remove(id);
        }
        Ok(finished.len() as u64)
    }
}

#[async_trait]
impl WebhookEndpoints for MemoryStore {
    async fn add_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if s.endpoints.contains_key(&endpoint.id) {
            return Err(StoreError::AlreadyExists);
        }
        s.endpoints.insert(endpoint.id.clone(), endpoint.clone());
        Ok(())
    }

    async fn endpoints(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let s = self.lock()?;
        let mut out: Vec<WebhookEndpoint> = s
            .endpoints
            .values()
            .filter(|e| &e.workspace == workspace)
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    async fn endpoint(&self, id: &str) -> Result<Option<WebhookEndpoint>, StoreError> {
        Ok(self.lock()?.endpoints.get(id).cloned())
    }

    async fn remove_endpoint(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.lock()?.endpoints.remove(id).is_some())
    }

    async fn rotate_endpoint_secret(
        &self,
        id: &str,
        secret: &str,
        previous_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        let Some(e) = s.endpoints.get_mut(id) else {
            return Ok(false);
        };
        let old = std::mem::replace(&mut e.secret, secret.to_string());
        e.previous_secret = Some((old, previous_until));
        Ok(true)
    }
}

#[async_trait]
impl QueueDepth for MemoryStore {
    async fn backlog(&self, now: Timestamp) -> Result<Backlog, StoreError> {
        let s = self.lock()?;
        let due = s
            .operations
            .values()
            .map(|r| r.op.scheduled_cleanup_at)
            .filter(|at| *at <= now);
        let (count, oldest) = due.fold((0u64, None::<Timestamp>), |(n, oldest), at| {
            (n + 1, Some(oldest.map_or(at, |o| o.min(at))))
        });
        Ok(Backlog {
            due_operations: count,
            oldest_due: oldest,
            pending_cancellations: s.cancellations.len() as u64,
            outbox_ready: s
                .outbox
                .values()
                .filter(|r| {
                    r.stored.status == trash_core::events::DeliveryStatus::Pending
                        && r.available_at <= now
                })
                .count() as u64,
        })
    }
}

#[async_trait]
impl WorkQueue for MemoryStore {
    async fn claim_due_operations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TrashOperation>, StoreError> {
        let mut s = self.lock()?;
        let mut due: Vec<&mut OperationRow> = s
            .operations
            .values_mut()
            .filter(|r| {
                r.op.scheduled_cleanup_at <= now && r.claimed_until.is_none_or(|c| c <= now)
            })
            .collect();
        due.sort_by(|a, b| {
            (a.op.scheduled_cleanup_at, &a.op.id).cmp(&(b.op.scheduled_cleanup_at, &b.op.id))
        });
        Ok(due
            .into_iter()
            .take(limit as usize)
            .map(|r| {
                r.claimed_until = Some(claimed_until);
                r.op.clone()
            })
            .collect())
    }

    async fn claim_cancellations(
        &self,
        now: Timestamp,
        claimed_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<PendingCancellation>, StoreError> {
        let mut s = self.lock()?;
        let mut due: Vec<&mut CancellationRow> = s
            .cancellations
            .values_mut()
            .filter(|r| r.claimed_until <= now)
            .collect();
        due.sort_by_key(|r| r.claimed_until);
        Ok(due
            .into_iter()
            .take(limit as usize)
            .map(|r| {
                r.claimed_until = claimed_until;
                r.pending.clone()
            })
            .collect())
    }

    async fn complete_cancellation(
        &self,
        training: &TrainingId,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        s.cancellations.remove(training);
        s.record(std::slice::from_ref(event));
        Ok(())
    }

    async fn fail_cancellation(
        &self,
        training: &TrainingId,
        retry_at: Timestamp,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if let Some(r) = s.cancellations.get_mut(training) {
            r.pending.attempts += 1;
            r.claimed_until = retry_at;
        }
        s.record(std::slice::from_ref(event));
        Ok(())
    }

    async fn pending_cancellations(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<PendingCancellation>, StoreError> {
        Ok(self
            .lock()?
            .cancellations
            .values()
            .filter(|r| &r.pending.workspace == workspace)
            .map(|r| r.pending.clone())
            .collect())
    }
}

#[async_trait]
impl ResourceStore for MemoryStore {
    async fn active_projects(
        &self,
        workspace: &WorkspaceSlug,
        after: Option<Slug>,
        limit: u32,
    ) -> Result<Vec<Project>, StoreError> {
        let s = self.lock()?;
        let mut out: Vec<Project> = s
            .projects
            .values()
            .map(|r| &r.project)
            .filter(|p| &p.workspace == workspace && p.state.is_active())
            .filter(|p| after.as_ref().is_none_or(|a| p.slug.as_str() > a.as_str()))
            .cloned()
            .collect();
        out.sort_by(|a, b| a.slug.as_str().cmp(b.slug.as_str()));
        out.truncate(limit as usize);
        Ok(out)
    }

    async fn image(
        &self,
        workspace: &WorkspaceSlug,
        id: &ImageId,
    ) -> Result<Option<ImageView>, StoreError> {
        let s = self.lock()?;
        Ok(s.images
            .get(id)
            .filter(|i| &i.workspace == workspace)
            .map(|image| ImageView {
                image: image.clone(),
                projects: s
                    .links
                    .iter()
                    .filter(|(_, i)| i == id)
                    .map(|(p, _)| p.clone())
                    .collect(),
            }))
    }

    async fn create_project(&self, project: &Project) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if !s.workspaces.contains_key(&project.workspace) {
            return Err(StoreError::Missing);
        }
        if let Some(conflicting) =
            s.active_slug_holder(&project.workspace, SlugSpace::Projects, &project.slug, "")
        {
            return Err(StoreError::SlugTaken { conflicting });
        }
        if s.projects.contains_key(&project.id) {
            return Err(StoreError::AlreadyExists);
        }
        s.projects.insert(
            project.id.clone(),
            ProjectRow {
                project: project.clone(),
                revision: 1,
                next_version: VersionNumber::FIRST,
            },
        );
        Ok(())
    }

    async fn create_workflow(&self, workflow: &Workflow) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if !s.workspaces.contains_key(&workflow.workspace) {
            return Err(StoreError::Missing);
        }
        if let Some(conflicting) = s.active_slug_holder(
            &workflow.workspace,
            SlugSpace::Workflows,
            &workflow.slug,
            "",
        ) {
            return Err(StoreError::SlugTaken { conflicting });
        }
        if s.workflows.contains_key(&workflow.id) {
            return Err(StoreError::AlreadyExists);
        }
        s.workflows.insert(
            workflow.id.clone(),
            WorkflowRow {
                workflow: workflow.clone(),
                revision: 1,
            },
        );
        Ok(())
    }

    async fn create_version(&self, guard: &Guard, version: &Version) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        s.check_guard(guard)?;
        let key = (version.project.clone(), version.number);
        if s.versions.contains_key(&key) {
            return Err(StoreError::AlreadyExists);
        }
        s.versions.insert(key, version.clone());
        if let Some(row) = s.projects.get_mut(&version.project) {
            row.next_version = version.number.next();
        }
        s.bump(guard);
        Ok(())
    }

    async fn create_training(&self, guard: &Guard, training: &Training) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        s.check_guard(guard)?;
        if s.trainings.contains_key(&training.id) {
            return Err(StoreError::AlreadyExists);
        }
        s.trainings.insert(training.id.clone(), training.clone());
        s.bump(guard);
        Ok(())
    }

    async fn set_training_status(
        &self,
        guard: &Guard,
        training: &TrainingId,
        status: TrainingStatus,
        ended_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        s.check_guard(guard)?;
        let t = s.trainings.get_mut(training).ok_or(StoreError::Missing)?;
        t.status = status;
        t.ended_at = ended_at;
        s.bump(guard);
        Ok(())
    }

    async fn add_image(&self, guard: &Guard, image: &Image) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        s.check_guard(guard)?;
        let AggregateId::Project(project) = &guard.aggregate else {
            return Err(StoreError::Internal("images link to projects".into()));
        };
        if s.images.contains_key(&image.id) {
            return Err(StoreError::AlreadyExists);
        }
        s.images.insert(image.id.clone(), image.clone());
        s.links.insert((project.clone(), image.id.clone()));
        s.bump(guard);
        Ok(())
    }

    async fn link_image(&self, guard: &Guard, image: &ImageId) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        s.check_guard(guard)?;
        let AggregateId::Project(project) = &guard.aggregate else {
            return Err(StoreError::Internal("images link to projects".into()));
        };
        let ws = s
            .projects
            .get(project)
            .map(|r| r.project.workspace.clone())
            .ok_or(StoreError::Conflict)?;
        if s.images.get(image).is_none_or(|i| i.workspace != ws) {
            return Err(StoreError::Missing);
        }
        s.links.insert((project.clone(), image.clone()));
        s.bump(guard);
        Ok(())
    }
}

#[async_trait]
impl AccountStore for MemoryStore {
    async fn create_workspace(&self, workspace: &Workspace) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if s.workspaces.contains_key(&workspace.slug) {
            return Err(StoreError::AlreadyExists);
        }
        s.workspaces
            .insert(workspace.slug.clone(), workspace.clone());
        Ok(())
    }

    async fn workspace(&self, slug: &WorkspaceSlug) -> Result<Option<Workspace>, StoreError> {
        Ok(self.lock()?.workspaces.get(slug).cloned())
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if s.keys.contains_key(&key.id) || s.keys.values().any(|k| k.hash == key.hash) {
            return Err(StoreError::AlreadyExists);
        }
        if !s.workspaces.contains_key(&key.workspace) {
            return Err(StoreError::Missing);
        }
        s.keys.insert(key.id.clone(), key.clone());
        Ok(())
    }

    async fn api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        Ok(self
            .lock()?
            .keys
            .values()
            .find(|k| &k.hash == hash)
            .cloned())
    }

    async fn revoke_api_key(&self, id: &KeyId, at: Timestamp) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        Ok(match s.keys.get_mut(id) {
            Some(k) => {
                k.revoked_at.get_or_insert(at);
                true
            }
            None => false,
        })
    }

    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if s.users.contains_key(&user.id) || s.users.values().any(|u| u.email == user.email) {
            return Err(StoreError::AlreadyExists);
        }
        if !s.workspaces.contains_key(&user.workspace) {
            return Err(StoreError::Missing);
        }
        s.users.insert(user.id.clone(), user.clone());
        Ok(())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>, StoreError> {
        Ok(self
            .lock()?
            .users
            .values()
            .find(|u| &u.email == email)
            .cloned())
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.lock()?.users.get(id).cloned())
    }

    async fn users_of(&self, workspace: &WorkspaceSlug) -> Result<Vec<UserRecord>, StoreError> {
        let mut users: Vec<UserRecord> = self
            .lock()?
            .users
            .values()
            .filter(|u| &u.workspace == workspace)
            .cloned()
            .collect();
        users.sort_by(|a, b| a.email.as_str().cmp(b.email.as_str()));
        Ok(users)
    }

    async fn api_keys_of(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut keys: Vec<ApiKeyRecord> = self
            .lock()?
            .keys
            .values()
            .filter(|k| &k.workspace == workspace)
            .cloned()
            .collect();
        keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(keys)
    }

    async fn touch_api_key(&self, id: &KeyId, at: Timestamp) -> Result<(), StoreError> {
        if let Some(k) = self.lock()?.keys.get_mut(id) {
            if k.last_used_at.is_none_or(|used| used < at) {
                k.last_used_at = Some(at);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl EmptyJobs for MemoryStore {
    async fn start_empty_job(&self, job: &EmptyJob) -> Result<Option<EmptyJob>, StoreError> {
        let mut s = self.lock()?;
        if let Some(running) = s
            .empty_jobs
            .iter()
            .find(|j| j.workspace == job.workspace && j.state == EmptyJobState::Running)
        {
            return Ok(Some(running.clone()));
        }
        s.empty_jobs.push(job.clone());
        Ok(None)
    }

    async fn latest_empty_job(
        &self,
        workspace: &WorkspaceSlug,
    ) -> Result<Option<EmptyJob>, StoreError> {
        let s = self.lock()?;
        Ok(s.empty_jobs
            .iter()
            .rev()
            .find(|j| &j.workspace == workspace)
            .cloned())
    }

    async fn claim_empty_job(
        &self,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<EmptyJob>, StoreError> {
        let mut s = self.lock()?;
        let job = s.empty_jobs.iter_mut().find(|j| {
            j.state == EmptyJobState::Running && j.claimed_until.is_none_or(|c| c <= now)
        });
        Ok(job.map(|j| {
            j.claimed_until = Some(until);
            j.clone()
        }))
    }

    async fn save_empty_job(&self, job: &EmptyJob) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if let Some(j) = s.empty_jobs.iter_mut().find(|j| j.id == job.id) {
            *j = job.clone();
        }
        Ok(())
    }

    async fn trash_size(&self, workspace: &WorkspaceSlug) -> Result<u64, StoreError> {
        let s = self.lock()?;
        Ok(s.operations
            .values()
            .filter(|r| &r.op.workspace == workspace)
            .count() as u64)
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if s.sessions.iter().any(|x| x.hash == session.hash) {
            return Err(StoreError::AlreadyExists);
        }
        if !s.users.contains_key(&session.user) {
            return Err(StoreError::Missing);
        }
        s.sessions.push(session.clone());
        Ok(())
    }

    async fn session_by_hash(&self, hash: &KeyHash) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self
            .lock()?
            .sessions
            .iter()
            .find(|x| &x.hash == hash)
            .cloned())
    }

    async fn touch_session(&self, hash: &KeyHash, at: Timestamp) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        Ok(match s.sessions.iter_mut().find(|x| &x.hash == hash) {
            Some(x) => {
                x.last_seen_at = x.last_seen_at.max(at);
                true
            }
            None => false,
        })
    }

    async fn delete_session(&self, hash: &KeyHash) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        let before = s.sessions.len();
        s.sessions.retain(|x| &x.hash != hash);
        Ok(s.sessions.len() < before)
    }

    async fn delete_user_sessions(&self, user: &UserId) -> Result<u64, StoreError> {
        let mut s = self.lock()?;
        let before = s.sessions.len();
        s.sessions.retain(|x| &x.user != user);
        Ok((before - s.sessions.len()) as u64)
    }

    async fn delete_ended_sessions(
        &self,
        last_seen_before: Timestamp,
        created_before: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut s = self.lock()?;
        let before = s.sessions.len();
        s.sessions
            .retain(|x| x.last_seen_at >= last_seen_before && x.created_at >= created_before);
        Ok((before - s.sessions.len()) as u64)
    }

    async fn set_user_role(&self, user: &UserId, role: Role) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        let Some(u) = s.users.get_mut(user) else {
            return Ok(false);
        };
        u.role = role;
        s.sessions.retain(|x| &x.user != user);
        Ok(true)
    }

    async fn set_user_password(
        &self,
        user: &UserId,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        let Some(u) = s.users.get_mut(user) else {
            return Ok(false);
        };
        u.password_hash = password_hash.to_owned();
        s.sessions.retain(|x| &x.user != user);
        Ok(true)
    }

    async fn remove_user(&self, user: &UserId) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        if s.users.remove(user).is_none() {
            return Ok(false);
        }
        s.sessions.retain(|x| &x.user != user);
        Ok(true)
    }
}

#[async_trait]
impl Health for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.lock().map(|_| ())
    }
}

fn dangling() -> StoreError {
    StoreError::Internal("operation refers to a missing item".into())
}
