//! # trash-sqlite
//!
//! The SQLite implementation of every store role of `trash-core` (trash
//! reads and writes, work queue, audit log, resources, accounts, health):
//! the embedded default of `trashd`, one database file that needs no setup
//! and keeps the trash across restarts.
//!
//! * [`SqliteStore::open`] / [`SqliteStore::open_url`] open (creating with
//!   owner-only permissions, then migrating) a database file, refusing bad
//!   paths, read-only directories, foreign files and newer schemas with one
//!   sentence ([`SqliteError`]) and without touching them.
//! * Writes are `BEGIN IMMEDIATE` transactions guarded by the aggregate's
//!   revision; the journal is WAL with `synchronous = FULL`, foreign keys on,
//!   and a busy timeout so that a second process on the same file waits its
//!   turn instead of failing.
//!
//! See `docs/sqlite.md` for the schema, the concurrency approach, the
//! durability settings and the error mapping.
#![warn(missing_docs)]

mod error;
mod open;
mod rows;
mod store;

pub use error::SqliteError;
pub use store::{PoolStats, SqliteStore};
