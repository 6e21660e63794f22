//! The conformance suite: one contract every store must pass, role by role.
//!
//! A store crate runs it from an integration test:
//!
//! ```text
//! struct Factory;
//! #[async_trait::async_trait]
//! impl trash_conformance::StoreFactory for Factory {
//!     async fn create(&self) -> trash_conformance::StoreUnderTest {
//!         // a fresh, empty store (own database / file / schema)
//!         trash_conformance::StoreUnderTest::whole(std::sync::Arc::new(MyStore::new()))
//!     }
//! }
//! trash_conformance::store_conformance_tests!(Factory);
//! // and, for a store that also plays the accounts role:
//! trash_conformance::account_conformance_tests!(Factory);
//! ```
//!
//! A store that plays only the trash roles (an embedder's) builds the
//! [`StoreUnderTest`] field by field: its own trash roles, and any store
//! sharing its data (or a fixture loader) for resources and accounts.
//!
//! Every case drives the store through the use cases of `trash-core`
//! (with a manual clock and a recording job canceller), so a store passes
//! only if the rules hold end to end on it. The race cases run each race
//! [`RACE_ITERATIONS`] times with real parallel tasks, each side on its own
//! [`gate::GatedStore`] over the store under test: a side's first guarded
//! write waits until the other side has reached its own, so both read
//! before either writes, and the race asserts the revision guard refused
//! the loser with `Conflict`.
//!
//! [`outbox`] holds a store that also keeps the outbox of outbound events
//! to writing messages atomically with the changes they report, claiming
//! each for one worker at a time, and withdrawing purge notices; a store
//! runs it with [`outbox_conformance_tests!`].
//!
//! [`exact_purge`] holds a store to removing exactly what a purge plan
//! names: it compares what the store's reads see before and after each
//! purge with a set built from the fixtures alone. [`contention`] runs
//! several writers on one project at a bounded rate with the production
//! retry pauses and asserts none is answered `Busy`. [`batch`] holds the
//! cleanup's batches to their contract: one transaction for a healthy
//! batch, all or nothing, the batch read equal to the one-by-one reads, one
//! operation per aggregate, and a failing operation isolated (the batch is
//! retried item by item).
#![warn(missing_docs)]

use std::sync::Arc;

use async_trait::async_trait;
use trash_core::ports::*;

pub mod batch;
pub mod bulk;
pub mod cases;
pub mod contention;
pub mod events;
pub mod exact_purge;
pub mod gate;
pub mod harness;
pub mod holds;
pub mod outbox;
pub mod preview;
pub mod races;

/// How many times each race is run.
pub const RACE_ITERATIONS: usize = 200;

/// One store as the suite sees it: the trash roles under test, and where
/// the fixtures (workspaces, projects, versions, trainings, images) are
/// created. Fixtures MUST land in the same data the trash roles read.
#[derive(Clone)]
pub struct StoreUnderTest {
    /// Trash reads under test.
    pub reads: Arc<dyn TrashReads>,
    /// Guarded transitions under test.
    pub writes: Arc<dyn TrashWrites>,
    /// The work queue under test.
    pub queue: Arc<dyn WorkQueue>,
    /// The audit log under test.
    pub audit: Arc<dyn AuditLog>,
    /// Legal holds under test.
    pub holds: Arc<dyn LegalHolds>,
    /// Creates resource fixtures (and is under test for the resource cases).
    pub resources: Arc<dyn ResourceStore>,
    /// Creates the workspaces (and is under test for the account cases).
    pub accounts: Arc<dyn AccountStore>,
    /// Web sessions (under test for the account cases); MUST share the
    /// users of `accounts`.
    pub sessions: Arc<dyn SessionStore>,
    /// "Empty Trash" jobs (under test for the job cases); MUST share the
    /// trash of `reads`.
    pub empty_jobs: Arc<dyn EmptyJobs>,
}

impl StoreUnderTest {
    /// Every role from one store.
    pub fn whole(store: Arc<dyn StandaloneStore>) -> StoreUnderTest {
        StoreUnderTest {
            reads: store.clone(),
            writes: store.clone(),
            queue: store.clone(),
            audit: store.clone(),
            holds: store.clone(),
            resources: store.clone(),
            accounts: store.clone(),
            sessions: store.clone(),
            empty_jobs: store,
        }
    }
}

/// Creates fresh, empty stores for the suite (one per test case, and one
/// per race iteration).
#[async_trait]
pub trait StoreFactory: Send + Sync + 'static {
    /// A new, empty, migrated store, isolated from every other one.
    async fn create(&self) -> StoreUnderTest;
}

/// Expands to one `#[tokio::test]` per conformance case, each calling the
/// case with `$factory` (an expression implementing [`StoreFactory`]).
#[macro_export]
macro_rules! store_conformance_tests {
    ($factory:expr) => {
        $crate::store_conformance_tests!(@cases $factory;
            trash_project_cascades_and_lists_only_the_root,
            retention_is_fixed_at_trash_time,
            restore_brings_back_exactly_the_operation,
            cascaded_item_cannot_be_restored_alone,
            parent_active_rule,
            owner_check_has_no_existence_oracle,
            missing_scope_is_refused,
            in_flight_training_cannot_be_trashed,
            trashing_cancels_in_flight_trainings_and_restore_never_resumes,
            failing_canceller_keeps_trash_and_retries_cancellation,
            delete_and_restore_are_idempotent,
            slug_is_free_while_trashed_and_restore_handles_conflicts,
            restore_window_closes_at_schedule,
            cleanup_waits_for_schedule_and_takes_dependants,
            cleanup_deletes_only_exclusive_images,
            cleanup_is_resumable_after_a_lost_claim,
            listing_pages_newest_first_with_filters,
            audit_trail_records_every_transition,
            audit_page_reads_newest_first_with_filters,
            events_page_through_a_long_trail,
            bulk_restore_restores_parents_first_item_by_item,
            delete_forever_and_empty_trash,
            delete_forever_preview_counts_what_goes,
            empty_trash_job_runs_in_batches_and_resumes,
            search_pages_within_a_budget,
            version_numbers_are_never_reused,
            trashed_items_are_hidden_from_reads,
            narrow_reads_and_resource_pages,
            purge_removes_exactly_the_plan,
            cleanup_batches_and_isolates_a_failing_item,
            cleanup_batch_takes_one_operation_per_aggregate,
            purge_batch_is_all_or_nothing,
            writers_on_one_project_are_never_busy,
            race_restore_vs_cleanup,
            race_restore_version_vs_trash_project,
            race_two_cleanup_workers,
            race_create_version_vs_trash_project,
            race_double_trash,
            race_empty_job_start_and_claim,
        );
        $crate::store_conformance_tests!(@holds $factory;
            hold_on_an_active_project_applies_once_trashed,
            workspace_hold_keeps_a_due_backlog,
            held_items_refuse_permanent_deletion_but_restore,
            holds_are_scoped_to_their_workspace,
            hold_placed_between_claim_and_purge_blocks_it,
            hold_placed_during_delete_forever_refuses_it,
            race_hold_vs_cleanup,
            empty_trash_job_keeps_held_items,
        );
    };
    (@holds $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let factory = $factory;
                $crate::holds::$case(&factory).await;
            }
        )*
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $crate::store_conformance_tests!(@each $factory; $($case),*);
    };
    (@each $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let factory = $factory;
                $crate::cases::$case(&factory).await;
            }
        )*
    };
}

/// Expands to one `#[tokio::test]` per case of the accounts role
/// (workspaces, keys, users), for stores that play it.
#[macro_export]
macro_rules! account_conformance_tests {
    ($factory:expr) => {
        $crate::store_conformance_tests!(@each $factory;
            keys_are_hashed_and_revocable,
            sessions_end_with_time_sign_out_and_user_changes,
            users_and_keys_are_listed_by_workspace,
        );
    };
}
