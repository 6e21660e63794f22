//! In-memory reference implementation of the `trash-core` ports: a store
//! ([`MemoryStore`]) playing every role, and test doubles for the small
//! ports (a manual clock, seeded ids, a pause that does not wait, a
//! recording job canceller). The SQL stores are held against it by the
//! conformance suite. Production adapters live in `trash-runtime`.
#![warn(missing_docs)]

mod adapters;
mod store;

pub use adapters::*;
pub use store::MemoryStore;
