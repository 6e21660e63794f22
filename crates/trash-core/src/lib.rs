//! # trash-core
//!
//! The rules of a recoverable-deletion subsystem ("trash"), independent of
//! storage, HTTP and runtime. Projects, dataset versions, workflows and
//! trainings moved to trash are kept for a retention window (30 days by
//! default), can be listed and restored, and are then removed for good by a
//! cleanup job.
//!
//! * [`domain`]: validated values (slugs, ids, scopes, retention) and records.
//! * [`rules`]: pure decisions (what a trash / restore / purge does).
//! * [`ports`]: what the core needs, one trait per role
//!   ([`ports::TrashReads`], [`ports::TrashWrites`], [`ports::WorkQueue`],
//!   [`ports::AuditLog`], and for the standalone server
//!   [`ports::ResourceStore`], [`ports::AccountStore`], [`ports::Health`]),
//!   plus [`ports::JobCanceller`], [`ports::Clock`], [`ports::IdGenerator`]
//!   and [`ports::Pause`], with the contract each implementation must keep.
//! * [`events`]: outbound events (webhook messages) as pure functions.
//! * [`usecases`]: [`TrashService`] (the trash roles only),
//!   [`ResourceService`], [`AccountService`]; one error enum per use case.
//!
//! Nothing here performs I/O or depends on an async runtime.
#![warn(missing_docs)]

pub mod domain;
pub mod events;
pub mod ports;
pub mod rules;
pub mod usecases;

pub use usecases::{
    AccountService, EventsConfig, ResourceService, Runtime, Services, SessionService, TrashConfig,
    TrashPorts, TrashService,
};
