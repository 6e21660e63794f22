//! The rules of the trash as pure functions: given what was read and `now`,
//! decide what happens. No I/O here; the use cases read, call these, and hand
//! the resulting plan to the store, which applies it atomically under a guard.

use chrono::Duration;

mod bulk;
mod holds;
mod preview;

pub use bulk::*;
pub use holds::*;
pub use preview::*;

use crate::domain::*;
use crate::ports::{
    Guard, HoldGuard, ProjectAggregate, ProjectItem, PurgePlan, PurgeSet, RestorePlan, SlugHolder,
    TrainingItem, TrashPlan, TrashedItem, VersionItem, WorkflowAggregate, WorkflowItem,
    WorkspaceHolds,
};

/// Everything a trash decision needs besides what was read.
#[derive(Debug, Clone)]
pub struct TrashContext {
    /// Who trashes.
    pub actor: Actor,
    /// The instant of the decision.
    pub now: Timestamp,
    /// The retention in force now (fixed into the operation).
    pub retention: Retention,
    /// The id of the new operation.
    pub operation_id: OperationId,
    /// For projects: delete exclusive images at cleanup.
    pub cleanup_delete_images: bool,
    /// How long the trashing caller holds the claim on its cancellations.
    pub cancel_claim: Duration,
}

/// The outcome of deciding a move to trash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrashDecision {
    /// The item is already in trash: nothing changes. Carries the item's operation.
    AlreadyInTrash(TrashOperation),
    /// Apply this plan.
    Apply(TrashPlan),
}

/// Why an item cannot be moved to trash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrashRefusal {
    /// No such item in the aggregate.
    NotFound,
    /// A training is queued or running.
    TrainingInProgress(TrainingId),
}

fn find_operation<'a>(ops: &'a [TrashOperation], id: &OperationId) -> Option<&'a TrashOperation> {
    ops.iter().find(|op| &op.id == id)
}

fn already(ops: &[TrashOperation], state: &ItemState) -> Option<TrashDecision> {
    let op = state.operation()?;
    // A trashed item always has its operation in the aggregate; if a store
    // breaks that, treat the item as missing rather than inventing a schedule.
    find_operation(ops, op).map(|op| TrashDecision::AlreadyInTrash(op.clone()))
}

fn new_operation(
    ctx: &TrashContext,
    workspace: &WorkspaceSlug,
    root: ItemRef,
    contains: Contains,
    delete_images: bool,
) -> TrashOperation {
    TrashOperation {
        id: ctx.operation_id.clone(),
        workspace: workspace.clone(),
        root,
        actor: ctx.actor.clone(),
        deleted_at: ctx.now,
        scheduled_cleanup_at: ctx.retention.cleanup_at(ctx.now),
        cleanup_delete_images: delete_images,
        contains,
    }
}

fn event(
    op: &TrashOperation,
    kind: AuditKind,
    actor: &Actor,
    item: ItemRef,
    at: Timestamp,
) -> AuditEvent {
    AuditEvent {
        workspace: op.workspace.clone(),
        at,
        kind,
        actor: actor.clone(),
        item: Some(item),
        operation: Some(op.id.clone()),
    }
}

fn trash_plan(
    guard: Guard,
    ctx: &TrashContext,
    op: TrashOperation,
    members: Vec<ItemRef>,
    cancel: Vec<TrainingId>,
) -> TrashPlan {
    let mut events = vec![event(
        &op,
        AuditKind::Trashed,
        &ctx.actor,
        op.root.clone(),
        ctx.now,
    )];
    events.extend(cancel.iter().map(|t| {
        event(
            &op,
            AuditKind::CancellationRequested,
            &ctx.actor,
            ItemRef::Training(t.clone()),
            ctx.now,
        )
    }));
    TrashPlan {
        guard,
        cancel_claimed_until: ctx.now.plus(ctx.cancel_claim),
        operation: op,
        members,
        cancel,
        events,
        outbox: Vec::new(),
    }
}

fn project_guard(agg: &ProjectAggregate) -> Guard {
    Guard {
        aggregate: AggregateId::Project(agg.project.id.clone()),
        revision: agg.revision,
    }
}

/// Decide trashing a project: it takes its active versions and their active
/// trainings with it (cascaded) and cancels the in-flight ones.
pub fn trash_project(agg: &ProjectAggregate, ctx: &TrashContext) -> TrashDecision {
    if let Some(done) = already(&agg.operations, &agg.project.state) {
        return done;
    }
    let versions: Vec<&Version> = agg
        .versions
        .iter()
        .filter(|v| v.state.is_active())
        .collect();
    let trainings: Vec<&Training> = agg
        .trainings
        .iter()
        .filter(|t| t.state.is_active())
        .collect();
    let members = versions
        .iter()
        .map(|v| ItemRef::Version(v.project.clone(), v.number))
        .chain(trainings.iter().map(|t| ItemRef::Training(t.id.clone())))
        .collect();
    let cancel = trainings
        .iter()
        .filter(|t| t.status.is_in_flight())
        .map(|t| t.id.clone())
        .collect();
    let contains = Contains {
        versions: versions.len() as u32,
        trainings: trainings.len() as u32,
    };
    let op = new_operation(
        ctx,
        &agg.project.workspace,
        ItemRef::Project(agg.project.id.clone()),
        contains,
        ctx.cleanup_delete_images,
    );
    TrashDecision::Apply(trash_plan(project_guard(agg), ctx, op, members, cancel))
}

/// Decide trashing a version: it takes its active trainings with it and
/// cancels the in-flight ones.
pub fn trash_version(
    agg: &ProjectAggregate,
    number: VersionNumber,
    ctx: &TrashContext,
) -> Result<TrashDecision, TrashRefusal> {
    let version = agg
        .versions
        .iter()
        .find(|v| v.number == number)
        .ok_or(TrashRefusal::NotFound)?;
    if let Some(done) = already(&agg.operations, &version.state) {
        return Ok(done);
    }
    if !agg.project.state.is_active() {
        // Unreachable while the store keeps "no active child under a trashed
        // parent"; refuse rather than trash under a trashed project.
        return Err(TrashRefusal::NotFound);
    }
    let trainings: Vec<&Training> = agg
        .trainings
        .iter()
        .filter(|t| t.version == number && t.state.is_active())
        .collect();
    let members = trainings
        .iter()
        .map(|t| ItemRef::Training(t.id.clone()))
        .collect();
    let cancel = trainings
        .iter()
        .filter(|t| t.status.is_in_flight())
        .map(|t| t.id.clone())
        .collect();
    let contains = Contains {
        versions: 0,
        trainings: trainings.len() as u32,
    };
    let op = new_operation(
        ctx,
        &agg.project.workspace,
        ItemRef::Version(agg.project.id.clone(), number),
        contains,
        false,
    );
    Ok(TrashDecision::Apply(trash_plan(
        project_guard(agg),
        ctx,
        op,
        members,
        cancel,
    )))
}

/// Decide trashing a training: refused while it is in flight.
pub fn trash_training(
    agg: &ProjectAggregate,
    id: &TrainingId,
    ctx: &TrashContext,
) -> Result<TrashDecision, TrashRefusal> {
    let training = agg
        .trainings
        .iter()
        .find(|t| &t.id == id)
        .ok_or(TrashRefusal::NotFound)?;
    if let Some(done) = already(&agg.operations, &training.state) {
        return Ok(done);
    }
    if training.status.is_in_flight() {
        return Err(TrashRefusal::TrainingInProgress(id.clone()));
    }
    let op = new_operation(
        ctx,
        &agg.project.workspace,
        ItemRef::Training(id.clone()),
        Contains::default(),
        false,
    );
    Ok(TrashDecision::Apply(trash_plan(
        project_guard(agg),
        ctx,
        op,
        vec![],
        vec![],
    )))
}

/// Decide trashing a workflow.
pub fn trash_workflow(agg: &WorkflowAggregate, ctx: &TrashContext) -> TrashDecision {
    if agg.workflow.state.operation().is_some() {
        if let Some(op) = &agg.operation {
            return TrashDecision::AlreadyInTrash(op.clone());
        }
    }
    let op = new_operation(
        ctx,
        &agg.workflow.workspace,
        ItemRef::Workflow(agg.workflow.id.clone()),
        Contains::default(),
        false,
    );
    let guard = Guard {
        aggregate: AggregateId::Workflow(agg.workflow.id.clone()),
        revision: agg.revision,
    };
    TrashDecision::Apply(trash_plan(guard, ctx, op, vec![], vec![]))
}

/// The outcome of deciding a restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreDecision {
    /// The item is active: nothing to do.
    AlreadyActive,
    /// Apply this plan.
    Apply(RestorePlan),
}

/// Why an item cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreRefusal {
    /// No such item.
    NotFound,
    /// The restore window has closed (`now >= scheduledCleanupAt`).
    RetentionExpired,
    /// The item was trashed along with `root`; restore that instead.
    CascadedWith {
        /// The root of the item's operation.
        root: ItemRef,
    },
    /// A parent of the item is in trash.
    ParentInTrash {
        /// The trashed parent (the project, or the training's version).
        parent: ItemRef,
    },
}

struct Located<'a> {
    state: &'a ItemState,
    parents: Vec<(ItemRef, &'a ItemState)>,
}

fn locate<'a>(agg: &'a ProjectAggregate, target: &ItemRef) -> Option<Located<'a>> {
    let project_ref = ItemRef::Project(agg.project.id.clone());
    match target {
        ItemRef::Project(id) if id == &agg.project.id => Some(Located {
            state: &agg.project.state,
            parents: vec![],
        }),
        ItemRef::Version(p, n) if p == &agg.project.id => {
            let v = agg.versions.iter().find(|v| v.number == *n)?;
            Some(Located {
                state: &v.state,
                parents: vec![(project_ref, &agg.project.state)],
            })
        }
        ItemRef::Training(id) => {
            let t = agg.trainings.iter().find(|t| &t.id == id)?;
            let v = agg.versions.iter().find(|v| v.number == t.version)?;
            Some(Located {
                state: &t.state,
                parents: vec![
                    (project_ref, &agg.project.state),
                    (ItemRef::Version(agg.project.id.clone(), v.number), &v.state),
                ],
            })
        }
        _ => None,
    }
}

fn restore_checks(
    state: &ItemState,
    ops: &[&TrashOperation],
    parents: &[(ItemRef, &ItemState)],
    now: Timestamp,
) -> Result<Option<TrashOperation>, RestoreRefusal> {
    let ItemState::Trashed {
        operation,
        cascaded,
    } = state
    else {
        return Ok(None);
    };
    let op = ops
        .iter()
        .find(|op| &op.id == operation)
        .ok_or(RestoreRefusal::NotFound)?;
    if !op.is_restorable_at(now) {
        return Err(RestoreRefusal::RetentionExpired);
    }
    if *cascaded {
        return Err(RestoreRefusal::CascadedWith {
            root: op.root.clone(),
        });
    }
    if let Some((parent, _)) = parents.iter().find(|(_, s)| !s.is_active()) {
        return Err(RestoreRefusal::ParentInTrash {
            parent: parent.clone(),
        });
    }
    Ok(Some((*op).clone()))
}

fn restore_plan(
    guard: Guard,
    op: TrashOperation,
    actor: &Actor,
    now: Timestamp,
    new_slug: Option<Slug>,
) -> RestorePlan {
    let events = vec![event(&op, AuditKind::Restored, actor, op.root.clone(), now)];
    RestorePlan {
        guard,
        operation: op.id,
        root: op.root,
        new_slug,
        events,
        outbox: Vec::new(),
    }
}

/// Decide restoring an item of a project aggregate (the project, a version
/// or a training). `new_slug` is used only for a project root.
pub fn restore_in_project(
    agg: &ProjectAggregate,
    target: &ItemRef,
    actor: &Actor,
    now: Timestamp,
    new_slug: Option<Slug>,
) -> Result<RestoreDecision, RestoreRefusal> {
    let located = locate(agg, target).ok_or(RestoreRefusal::NotFound)?;
    let ops: Vec<&TrashOperation> = agg.operations.iter().collect();
    match restore_checks(located.state, &ops, &located.parents, now)? {
        None => Ok(RestoreDecision::AlreadyActive),
        Some(op) => {
            let slug = matches!(target, ItemRef::Project(_))
                .then_some(new_slug)
                .flatten();
            Ok(RestoreDecision::Apply(restore_plan(
                project_guard(agg),
                op,
                actor,
                now,
                slug,
            )))
        }
    }
}

/// Decide restoring a workflow.
pub fn restore_workflow(
    agg: &WorkflowAggregate,
    actor: &Actor,
    now: Timestamp,
    new_slug: Option<Slug>,
) -> Result<RestoreDecision, RestoreRefusal> {
    let ops: Vec<&TrashOperation> = agg.operation.iter().collect();
    match restore_checks(&agg.workflow.state, &ops, &[], now)? {
        None => Ok(RestoreDecision::AlreadyActive),
        Some(op) => {
            let guard = Guard {
                aggregate: AggregateId::Workflow(agg.workflow.id.clone()),
                revision: agg.revision,
            };
            Ok(RestoreDecision::Apply(restore_plan(
                guard, op, actor, now, new_slug,
            )))
        }
    }
}

/// An item of a project aggregate: its state and how it is shown in the
/// trash (project, version or training), or `None` if the aggregate has no
/// such item.
pub fn describe_in_project(
    agg: &ProjectAggregate,
    target: &ItemRef,
) -> Option<(ItemState, TrashedItem)> {
    let p = &agg.project;
    match target {
        ItemRef::Project(id) if id == &p.id => Some((
            p.state.clone(),
            TrashedItem::Project(ProjectItem {
                id: p.id.clone(),
                slug: p.slug.clone(),
                name: p.name.clone(),
            }),
        )),
        ItemRef::Version(id, n) if id == &p.id => {
            let v = agg.versions.iter().find(|v| v.number == *n)?;
            Some((
                v.state.clone(),
                TrashedItem::Version(VersionItem {
                    project: p.id.clone(),
                    project_slug: p.slug.clone(),
                    project_name: p.name.clone(),
                    number: v.number,
                    name: v.name.clone(),
                }),
            ))
        }
        ItemRef::Training(id) => {
            let t = agg.trainings.iter().find(|t| &t.id == id)?;
            Some((
                t.state.clone(),
                TrashedItem::Training(TrainingItem {
                    id: t.id.clone(),
                    project: p.id.clone(),
                    project_slug: p.slug.clone(),
                    version: t.version,
                }),
            ))
        }
        _ => None,
    }
}

/// A workflow as shown in the trash.
pub fn describe_workflow(agg: &WorkflowAggregate) -> WorkflowItem {
    WorkflowItem {
        id: agg.workflow.id.clone(),
        slug: agg.workflow.slug.clone(),
        name: agg.workflow.name.clone(),
    }
}

/// The first slug `base-2`, `base-3`, … not in `taken`.
pub fn free_slug(base: &Slug, taken: &[Slug]) -> Slug {
    (2u32..)
        .map(|n| base.with_suffix(n))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| base.clone())
}

/// Why a purge is the way it is: cleanup at its schedule, or a web admin's
/// "delete forever" or "Empty Trash" before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeReason {
    /// The cleanup job, at or after `scheduledCleanupAt`.
    Cleanup,
    /// A web admin's explicit permanent deletion of one item.
    DeleteForever,
    /// A web admin's "Empty Trash" (recorded as `emptied`).
    EmptyTrash,
}

/// Why an operation is not purged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurgeRefusal {
    /// The operation no longer exists (restored, or purged with its parent).
    Gone,
    /// Cleanup may not remove it yet.
    NotDue,
    /// Legal holds stop its destruction (their ids, in the order read).
    Held(Vec<HoldId>),
}

#[allow(clippy::too_many_arguments)]
fn purge_plan(
    guard: Guard,
    holds: HoldGuard,
    op: &TrashOperation,
    remove: PurgeSet,
    ops: &[TrashOperation],
    reason: PurgeReason,
    actor: &Actor,
    now: Timestamp,
) -> PurgePlan {
    let kind = match reason {
        PurgeReason::Cleanup => AuditKind::Purged,
        PurgeReason::DeleteForever => AuditKind::DeletedForever,
        PurgeReason::EmptyTrash => AuditKind::Emptied,
    };
    // One event per operation that disappears: the purged one first, then
    // every operation rooted in a removed item.
    let events = std::iter::once(op)
        .chain(
            ops.iter()
                .filter(|o| o.id != op.id && remove.operations.contains(&o.id)),
        )
        .map(|o| event(o, kind, actor, o.root.clone(), now))
        .collect();
    PurgePlan {
        guard,
        holds,
        operation: op.id.clone(),
        root: op.root.clone(),
        remove,
        delete_orphaned_images: op.cleanup_delete_images && matches!(op.root, ItemRef::Project(_)),
        events,
        outbox: Vec::new(),
    }
}

fn check_purgeable<'a>(
    ops: &'a [TrashOperation],
    id: &OperationId,
    reason: PurgeReason,
    holds: &WorkspaceHolds,
    now: Timestamp,
) -> Result<&'a TrashOperation, PurgeRefusal> {
    let op = find_operation(ops, id).ok_or(PurgeRefusal::Gone)?;
    if reason == PurgeReason::Cleanup && !op.is_due_at(now) {
        return Err(PurgeRefusal::NotDue);
    }
    if op.workspace != holds.workspace {
        // Holds of another workspace were read: a caller broke the contract.
        return Err(PurgeRefusal::Gone);
    }
    let held = blocking_hold_ids(&holds.holds, &op.root);
    if !held.is_empty() {
        return Err(PurgeRefusal::Held(held));
    }
    Ok(op)
}

/// What purging `root` removes from a project aggregate: a project takes
/// every version, training and live operation of the aggregate; a version
/// takes every training of its number and the operations rooted in any of
/// them; a training takes itself and its operation. Trashed or not, earlier
/// operations or not: a dependant cannot outlive what it depends on.
pub fn purge_set(agg: &ProjectAggregate, root: &ItemRef) -> PurgeSet {
    let pid = &agg.project.id;
    let mut set = PurgeSet::default();
    match root {
        ItemRef::Project(p) if p == pid => {
            set.projects.push(pid.clone());
            set.versions = agg
                .versions
                .iter()
                .map(|v| (pid.clone(), v.number))
                .collect();
            set.trainings = agg.trainings.iter().map(|t| t.id.clone()).collect();
        }
        ItemRef::Version(p, n) if p == pid => {
            set.versions.push((pid.clone(), *n));
            set.trainings = agg
                .trainings
                .iter()
                .filter(|t| t.version == *n)
                .map(|t| t.id.clone())
                .collect();
        }
        ItemRef::Training(t) if agg.trainings.iter().any(|x| &x.id == t) => {
            set.trainings.push(t.clone());
        }
        // Not an item of this aggregate: nothing to remove.
        _ => return set,
    }
    set.operations = agg
        .operations
        .iter()
        .filter(|op| match &op.root {
            ItemRef::Project(p) => set.projects.contains(p),
            ItemRef::Version(p, n) => set.versions.contains(&(p.clone(), *n)),
            ItemRef::Training(t) => set.trainings.contains(t),
            ItemRef::Workflow(_) => false,
        })
        .map(|op| op.id.clone())
        .collect();
    set
}

/// Decide purging an operation of a project aggregate (rooted in the
/// project, one of its versions or one of its trainings), refused while a
/// legal hold of `holds` (the workspace's, [`blocking_holds`]) covers it.
pub fn purge_in_project(
    agg: &ProjectAggregate,
    id: &OperationId,
    reason: PurgeReason,
    holds: &WorkspaceHolds,
    actor: &Actor,
    now: Timestamp,
) -> Result<PurgePlan, PurgeRefusal> {
    let op = check_purgeable(&agg.operations, id, reason, holds, now)?;
    let remove = purge_set(agg, &op.root);
    if !remove.operations.contains(&op.id) {
        // Its root is not in the aggregate: a store broke its invariants.
        return Err(PurgeRefusal::Gone);
    }
    Ok(purge_plan(
        project_guard(agg),
        holds.guard(),
        op,
        remove,
        &agg.operations,
        reason,
        actor,
        now,
    ))
}

/// Decide purging a workflow's operation, refused while a legal hold of
/// `holds` covers it.
pub fn purge_workflow(
    agg: &WorkflowAggregate,
    id: &OperationId,
    reason: PurgeReason,
    holds: &WorkspaceHolds,
    actor: &Actor,
    now: Timestamp,
) -> Result<PurgePlan, PurgeRefusal> {
    let ops: Vec<TrashOperation> = agg.operation.iter().cloned().collect();
    let op = check_purgeable(&ops, id, reason, holds, now)?;
    let guard = Guard {
        aggregate: AggregateId::Workflow(agg.workflow.id.clone()),
        revision: agg.revision,
    };
    let remove = PurgeSet {
        workflows: vec![agg.workflow.id.clone()],
        operations: vec![op.id.clone()],
        ..PurgeSet::default()
    };
    Ok(purge_plan(
        guard,
        holds.guard(),
        op,
        remove,
        &ops,
        reason,
        actor,
        now,
    ))
}

/// Which of the items holding a slug the slug means: the active one, else
/// the most recently trashed one (latest `deleted_at`, then the greatest
/// id), so a repeated delete by slug stays idempotent after the slug was
/// reused and trashed again.
pub fn preferred_holder<Id: Clone + Ord>(holders: &[SlugHolder<Id>]) -> Option<Id> {
    holders
        .iter()
        .find(|h| h.trashed_at.is_none())
        .or_else(|| {
            holders
                .iter()
                .max_by(|a, b| (a.trashed_at, &a.id).cmp(&(b.trashed_at, &b.id)))
        })
        .map(|h| h.id.clone())
}

/// How long to wait before attempt `retry + 1` of a write that lost a race
/// (`retry` counts from 0): exponential from `backoff.first`, capped at
/// `backoff.max`, with "full jitter": `random` (any number, reduced modulo
/// the delay) picks a point between zero and that ceiling, so writers that
/// collided once do not collide again in lockstep.
pub fn retry_delay(backoff: Backoff, retry: u32, random: u64) -> Duration {
    let ceiling = backoff
        .first
        .num_microseconds()
        .unwrap_or(i64::MAX)
        .max(1)
        .saturating_mul(1i64 << retry.min(20))
        .min(backoff.max.num_microseconds().unwrap_or(i64::MAX).max(1));
    let jittered = (random % (ceiling as u64 + 1)) as i64;
    Duration::microseconds(jittered)
}

/// The waits of [`retry_delay`]: the first ceiling and the largest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first wait (default 2 ms).
    pub first: Duration,
    /// The largest ceiling (default 100 ms).
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::milliseconds(2),
            max: Duration::milliseconds(100),
        }
    }
}

/// How long to wait before retrying a failed cancellation: 30 s doubled per
/// failed attempt, at most one hour.
pub fn cancellation_backoff(attempts: u32) -> Duration {
    let secs = 30i64.saturating_mul(1i64 << attempts.min(7));
    Duration::seconds(secs.min(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(cancellation_backoff(0), Duration::seconds(30));
        assert_eq!(cancellation_backoff(1), Duration::seconds(60));
        assert_eq!(cancellation_backoff(40), Duration::seconds(3600));
    }

    #[test]
    fn free_slug_skips_taken() {
        let base = Slug::parse("det").unwrap();
        let taken = vec![base.clone(), base.with_suffix(2), base.with_suffix(3)];
        assert_eq!(free_slug(&base, &taken).as_str(), "det-4");
        assert_eq!(free_slug(&base, &[]).as_str(), "det-2");
    }

    fn ts(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms).expect("valid")
    }

    #[test]
    fn the_active_holder_wins_else_the_latest_trashed() {
        let h = |id: &str, at: Option<i64>| SlugHolder {
            id: id.to_string(),
            trashed_at: at.map(ts),
        };
        assert_eq!(preferred_holder::<String>(&[]), None);
        assert_eq!(
            preferred_holder(&[h("a", Some(5)), h("b", None), h("c", Some(9))]),
            Some("b".to_string())
        );
        assert_eq!(
            preferred_holder(&[h("a", Some(5)), h("c", Some(9)), h("b", Some(7))]),
            Some("c".to_string())
        );
        // A tie on the time goes to the greater id, whatever the order read.
        assert_eq!(
            preferred_holder(&[h("y", Some(9)), h("x", Some(9))]),
            Some("y".to_string())
        );
        assert_eq!(
            preferred_holder(&[h("x", Some(9)), h("y", Some(9))]),
            Some("y".to_string())
        );
    }

    #[test]
    fn retry_delays_grow_cap_and_jitter_within_the_ceiling() {
        let b = Backoff {
            first: Duration::milliseconds(2),
            max: Duration::milliseconds(100),
        };
        for retry in 0..40 {
            for random in [0u64, 1, 999, 123_456_789, u64::MAX] {
                let d = retry_delay(b, retry, random);
                assert!(d >= Duration::zero() && d <= b.max, "{retry} {random} {d}");
            }
        }
        assert_eq!(retry_delay(b, 0, 0), Duration::zero());
        assert_eq!(retry_delay(b, 0, 2000), Duration::microseconds(2000));
        assert_eq!(retry_delay(b, 3, 16_000), Duration::microseconds(16_000));
        assert_eq!(retry_delay(b, 30, 100_000), Duration::milliseconds(100));
        // Different random numbers spread the waits.
        let spread: std::collections::BTreeSet<_> =
            (0..50u64).map(|r| retry_delay(b, 4, r * 7919)).collect();
        assert!(spread.len() > 10);
    }

    fn aggregate() -> ProjectAggregate {
        let ws = WorkspaceSlug::parse("acme").unwrap();
        let pid = ProjectId::parse("p0000000000000000001").unwrap();
        let op = |n: u8, root: ItemRef| TrashOperation {
            id: OperationId::parse(&format!("o000000000000000000{n}")).unwrap(),
            workspace: ws.clone(),
            root,
            actor: Actor::system(),
            deleted_at: ts(0),
            scheduled_cleanup_at: ts(10),
            cleanup_delete_images: true,
            contains: Contains::default(),
        };
        let v = |n: u32| VersionNumber::new(n).unwrap();
        let t = |n: u8| TrainingId::parse(&format!("t000000000000000000{n}")).unwrap();
        let trashed = |o: &TrashOperation, cascaded| ItemState::Trashed {
            operation: o.id.clone(),
            cascaded,
        };
        // Version 1 trashed on its own (op 1), training 2 of version 2 on its
        // own (op 2), version 3 active with training 3.
        let op1 = op(1, ItemRef::Version(pid.clone(), v(1)));
        let op2 = op(2, ItemRef::Training(t(2)));
        let version = |n, state| Version {
            project: pid.clone(),
            number: v(n),
            name: Name::parse("v").unwrap(),
            created_at: ts(0),
            state,
        };
        let training = |n, version_n, state| Training {
            id: t(n),
            project: pid.clone(),
            version: v(version_n),
            status: TrainingStatus::Succeeded,
            started_at: ts(0),
            ended_at: None,
            state,
        };
        ProjectAggregate {
            project: Project {
                id: pid.clone(),
                workspace: ws.clone(),
                slug: Slug::parse("p").unwrap(),
                name: Name::parse("p").unwrap(),
                created_at: ts(0),
                state: ItemState::Active,
            },
            revision: crate::ports::Revision(7),
            next_version: v(4),
            versions: vec![
                version(1, trashed(&op1, false)),
                version(2, ItemState::Active),
                version(3, ItemState::Active),
            ],
            trainings: vec![
                training(1, 1, trashed(&op1, true)),
                training(2, 2, trashed(&op2, false)),
                training(3, 3, ItemState::Active),
            ],
            operations: vec![op1, op2],
        }
    }

    #[test]
    fn purge_sets_name_the_root_and_exactly_its_dependants() {
        let agg = aggregate();
        let pid = agg.project.id.clone();
        let v = |n: u32| VersionNumber::new(n).unwrap();
        let version1 = purge_set(&agg, &ItemRef::Version(pid.clone(), v(1)));
        assert_eq!(version1.versions, vec![(pid.clone(), v(1))]);
        assert_eq!(version1.trainings, vec![agg.trainings[0].id.clone()]);
        assert_eq!(version1.operations, vec![agg.operations[0].id.clone()]);
        assert!(version1.projects.is_empty() && version1.workflows.is_empty());

        let training2 = purge_set(&agg, &ItemRef::Training(agg.trainings[1].id.clone()));
        assert_eq!(training2.trainings, vec![agg.trainings[1].id.clone()]);
        assert_eq!(training2.operations, vec![agg.operations[1].id.clone()]);
        assert!(training2.versions.is_empty());

        let project = purge_set(&agg, &ItemRef::Project(pid.clone()));
        assert_eq!(project.projects, vec![pid.clone()]);
        assert_eq!(project.versions.len(), 3);
        assert_eq!(project.trainings.len(), 3);
        // Earlier operations of its children go with it.
        assert_eq!(project.operations.len(), 2);

        let other = ProjectId::parse("p0000000000000000002").unwrap();
        assert_eq!(
            purge_set(&agg, &ItemRef::Project(other)),
            PurgeSet::default()
        );
    }

    #[test]
    fn a_purge_plan_records_one_event_per_vanishing_operation() {
        let agg = aggregate();
        let none = WorkspaceHolds::none(agg.project.workspace.clone());
        let plan = purge_in_project(
            &agg,
            &agg.operations[0].id,
            PurgeReason::Cleanup,
            &none,
            &Actor::system(),
            ts(10),
        )
        .expect("due");
        assert_eq!(plan.events.len(), 1);
        assert!(
            !plan.delete_orphaned_images,
            "images go only with a project"
        );
        assert_eq!(
            purge_in_project(
                &agg,
                &agg.operations[0].id,
                PurgeReason::Cleanup,
                &none,
                &Actor::system(),
                ts(9),
            ),
            Err(PurgeRefusal::NotDue)
        );
        // A hold on the operation's root refuses every reason, naming it,
        // and a plan carries the hold revision it was decided at.
        let root = agg.operations[0].root.clone();
        let target = match root {
            ItemRef::Version(p, n) => HoldTarget::Version(p, n),
            other => panic!("{other:?}"),
        };
        let held = WorkspaceHolds {
            workspace: agg.project.workspace.clone(),
            revision: crate::ports::Revision(7),
            holds: vec![Hold {
                id: HoldId::parse("h0000000000000000001").unwrap(),
                workspace: agg.project.workspace.clone(),
                target,
                reason: HoldReason::parse("case").unwrap(),
                created_at: ts(0),
                created_by: Actor::system(),
            }],
        };
        for reason in [
            PurgeReason::Cleanup,
            PurgeReason::DeleteForever,
            PurgeReason::EmptyTrash,
        ] {
            assert_eq!(
                purge_in_project(
                    &agg,
                    &agg.operations[0].id,
                    reason,
                    &held,
                    &Actor::system(),
                    ts(10)
                ),
                Err(PurgeRefusal::Held(vec![held.holds[0].id.clone()]))
            );
        }
        let unheld = WorkspaceHolds {
            holds: Vec::new(),
            ..held
        };
        let plan = purge_in_project(
            &agg,
            &agg.operations[0].id,
            PurgeReason::Cleanup,
            &unheld,
            &Actor::system(),
            ts(10),
        )
        .expect("released");
        assert_eq!(plan.holds, unheld.guard());
    }
}
