//! Tools for people who write transforms, none of which needs a database:
//! - [`run_test`] (the `test` command): runs a transform on a CSV file and shows what it
//!   emits, rejects and deletes, or how that differs from what was expected;
//! - [`inspect`]: what a `.wasm` file is (WIT version, imports, size, hash, output columns);
//! - [`new`]: a ready transform project to start from.

pub mod inspect;
pub mod new;
pub mod run_test;
