//! The conformance suite of `trash-conformance`, unchanged, against real
//! PostgreSQL: one database per case, one schema per store it creates.

mod support;

trash_conformance::store_conformance_tests!(support::PgFactory::default());
