//! Write holo-host record transforms in Rust.
//!
//! A transform is a WebAssembly component that holo-host runs on every batch of records
//! (`wit/transform.wit`). With this crate an author writes one function per record and
//! never sees the batch encoding or the component bindings:
//!
//! - [`Transform::new`] reads the `--set KEY=VALUE` settings from a [`Config`];
//! - [`Transform::output_schema`] maps the input columns to the output columns, and is
//!   where column names become indexes;
//! - [`Transform::process`] reads one input [`Row`] and writes zero or more output rows
//!   to an [`Emit`]; returning `Err` sends that record to the dead-letter output with
//!   the message, and the rest of the batch goes on.
//!
//! All three return [`Error`], which any error type, `String` or `&str` converts into
//! with `?`. [`Config`] parses settings such as `col[:name],…` lists into a
//! [`ColumnSpec`], resolved against the input columns in `output_schema`.
//!
//! [`export_transform!`] turns the type into the component's exports. Build with
//! `cargo build --target wasm32-wasip2 --profile guest`. The same code runs natively
//! through [`native::Runner`], for unit tests and benchmarks.
//!
//! # Example
//!
//! Upper-cases one column, named by the setting `column`:
//!
//! ```
//! use holo_transform_sdk::{Column, Config, Emit, Error, Row, Transform, ValueRef, resolve_column};
//!
//! struct Upper {
//!     name: String,
//!     index: usize,
//!     buf: String,
//! }
//!
//! impl Transform for Upper {
//!     fn new(config: &Config) -> Result<Self, Error> {
//!         config.check_keys(&["column"])?;
//!         let name = config.require("column")?.to_owned();
//!         Ok(Upper { name, index: 0, buf: String::new() })
//!     }
//!
//!     fn output_schema(&mut self, input: &[Column]) -> Result<Vec<Column>, Error> {
//!         self.index = resolve_column("column", input, "input column", &self.name)?;
//!         Ok(input.to_vec())
//!     }
//!
//!     fn process(&mut self, row: &Row<'_>, out: &mut Emit<'_>) -> Result<(), Error> {
//!         out.row();
//!         for i in 0..row.len() {
//!             match row.get(i) {
//!                 ValueRef::Text(s) if i == self.index => {
//!                     // A buffer kept in the transform: no allocation per row.
//!                     self.buf.clear();
//!                     self.buf.extend(s.chars().flat_map(char::to_uppercase));
//!                     out.text(&self.buf);
//!                 }
//!                 ValueRef::Int(_) if i == self.index => {
//!                     return Err(Error::msg(format!("column `{}` holds a number", self.name)));
//!                 }
//!                 _ => {
//!                     out.copy_value(row, i);
//!                 }
//!             }
//!         }
//!         Ok(())
//!     }
//! }
//!
//! holo_transform_sdk::export_transform!(Upper);
//!
//! // A unit test, run natively with a fake host:
//! use holo_transform_sdk::Value;
//! use holo_transform_sdk::native::{MemoryHost, Output, Runner};
//!
//! let mut runner = Runner::<Upper>::with_settings(&[("column", "name")], Box::new(MemoryHost::new()))?;
//! runner.output_schema(&[Column::text("id"), Column::text("name")])?;
//! let out = runner.run(&[
//!     vec!["1".into(), "kafka".into()],
//!     vec!["2".into(), Value::Int(7)],
//! ])?;
//! assert_eq!(out, [
//!     Output::Row { input: 0, values: vec!["1".into(), "KAFKA".into()] },
//!     Output::Error { input: 1, message: "column `name` holds a number".into() },
//! ]);
//! # Ok::<(), String>(())
//! ```
//!
//! Lookups into dimension tables (`--lookup books=csv:books.csv`) go through a
//! [`Lookup`] opened once in `new`; answers are cached for the length of a batch. Log lines
//! go to the host's log through [`log`].
//!
//! # Layout
//!
//! - `types`, `config`, `error`, `row`, `emit`, `lookup`, `log`: what authors use;
//! - `runtime`: the one generic path from an encoded batch to `process` calls and back;
//! - `wasm` (component builds only): the bindings, the host imports, the export glue;
//! - [`native`] (native builds only): the same runtime with a [`native::Host`] trait
//!   object for host calls.

mod config;
mod emit;
mod error;
pub mod log;
mod lookup;
mod row;
mod runtime;
pub mod types;

#[cfg(not(target_arch = "wasm32"))]
pub mod native;
#[cfg(not(target_arch = "wasm32"))]
use native as sys;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod wasm;
#[cfg(target_arch = "wasm32")]
use wasm as sys;

pub use config::{
    ColumnSpec, Config, ConfigError, OptionalPair, Picked, check_unique, resolve_column,
};
pub use emit::Emit;
pub use error::Error;
pub use holo_batch::ValueRef;
pub use lookup::Lookup;
pub use row::Row;
pub use types::{Column, ColumnType, Value};

/// A record transform. See the crate documentation for an example.
pub trait Transform: Sized + 'static {
    /// Builds the transform from its settings (`--set KEY=VALUE`, in command-line order).
    /// An `Err` stops the run before any data flows.
    fn new(config: &Config) -> Result<Self, Error>;

    /// Given the input columns, returns the output columns. Resolve column names to
    /// indexes here; an `Err` (say, an unknown column) stops the run before any data flows.
    fn output_schema(&mut self, input: &[Column]) -> Result<Vec<Column>, Error>;

    /// Writes the output rows for one input row: none filters it out, several are
    /// allowed. An `Err` rejects the record with that message: rows already emitted for
    /// it are dropped and the record goes to the dead-letter output.
    fn process(&mut self, row: &Row<'_>, out: &mut Emit<'_>) -> Result<(), Error>;
}

/// Exports `$t` (a [`Transform`]) as the component's `configure`, `output-schema` and
/// `process`. Use it once, at the root of a `cdylib` crate. On native targets it only
/// checks that `$t` is a transform; run it there with [`native::Runner`].
#[macro_export]
macro_rules! export_transform {
    ($t:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            ::std::thread_local! {
                static STATE: $crate::wasm::State<$t> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }

            struct Export;

            impl $crate::wasm::Guest for Export {
                fn configure(
                    settings: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
                ) -> ::std::result::Result<(), ::std::string::String> {
                    $crate::wasm::configure(&STATE, settings)
                }

                fn output_schema(
                    input: ::std::vec::Vec<$crate::wasm::WitColumn>,
                ) -> ::std::result::Result<
                    ::std::vec::Vec<$crate::wasm::WitColumn>,
                    ::std::string::String,
                > {
                    $crate::wasm::output_schema(&STATE, input)
                }

                fn process(
                    batch: ::std::vec::Vec<u8>,
                ) -> ::std::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                    $crate::wasm::process(&STATE, batch)
                }
            }

            $crate::wasm::bindings::__export_transform_world!(Export with_types_in $crate::wasm::bindings);
        };

        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = || {
            fn is_transform<T: $crate::Transform>() {}
            is_transform::<$t>();
        };
    };
}
