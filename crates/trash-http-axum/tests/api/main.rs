//! Router-level tests of the REST API (`tower::ServiceExt::oneshot` against
//! `router(AppState::new(services))` over the in-memory store).

mod bad_input;
mod bulk;
mod common;
mod dry_run;
mod edge;
mod errors;
mod events;
mod holds;
mod no_purge;
mod openapi;
mod routes;
mod scopes;
