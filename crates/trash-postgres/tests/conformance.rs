//! The conformance suite of `trash-conformance`, unchanged, against real
//! PostgreSQL: one database per case, one schema per store it creates. The
//! store plays every role, so it runs the account cases too.

mod support;

trash_conformance::store_conformance_tests!(support::PgFactory::default());
trash_conformance::account_conformance_tests!(support::PgFactory::default());
trash_conformance::outbox_conformance_tests!(support::PgFactory::default());
