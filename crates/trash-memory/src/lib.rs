//! In-memory reference implementation of the `trash-core` ports: a store
//! ([`MemoryStore`]), clocks, id generators and job cancellers. The SQL
//! stores are held against it by the conformance suite.
#![warn(missing_docs)]

mod adapters;
mod store;

pub use adapters::*;
pub use store::MemoryStore;
