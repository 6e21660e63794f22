//! The conformance suite: one contract every [`TrashStore`] must pass.
//!
//! A store crate runs it from an integration test:
//!
//! ```ignore
//! struct Factory;
//! #[async_trait::async_trait]
//! impl trash_conformance::StoreFactory for Factory {
//!     async fn create(&self) -> std::sync::Arc<dyn trash_core::ports::TrashStore> {
//!         /* a fresh, empty store (own database / file / schema) */
//!     }
//! }
//! trash_conformance::store_conformance_tests!(Factory);
//! ```
//!
//! Every case drives the store through the use cases of `trash-core`
//! (with a manual clock and a recording job canceller), so a store passes
//! only if the rules hold end to end on it. The race cases run each race
//! [`RACE_ITERATIONS`] times with real parallel tasks, each side on its own
//! [`gate::GatedStore`] over the store under test: a side's first guarded
//! write waits until the other side has reached its own, so both read
//! before either writes, and the race asserts the revision guard refused
//! the loser with `Conflict`.
#![warn(missing_docs)]

use std::sync::Arc;

use async_trait::async_trait;
use trash_core::ports::TrashStore;

pub mod cases;
pub mod gate;
pub mod harness;
pub mod races;

/// How many times each race is run.
pub const RACE_ITERATIONS: usize = 200;

/// Creates fresh, empty stores for the suite (one per test case, and one
/// per race iteration).
#[async_trait]
pub trait StoreFactory: Send + Sync + 'static {
    /// A new, empty, migrated store, isolated from every other one.
    async fn create(&self) -> Arc<dyn TrashStore>;
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
            delete_forever_and_empty_trash,
            version_numbers_are_never_reused,
            trashed_items_are_hidden_from_reads,
            keys_are_hashed_and_revocable,
            race_restore_vs_cleanup,
            race_restore_version_vs_trash_project,
            race_two_cleanup_workers,
            race_create_version_vs_trash_project,
            race_double_trash,
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let factory = $factory;
                $crate::cases::$case(&factory).await;
            }
        )*
    };
}
