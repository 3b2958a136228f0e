//! The component side: the WIT bindings, the host calls through the imports, and the glue
//! that [`export_transform!`](crate::export_transform) expands to.

use std::cell::RefCell;
use std::thread::LocalKey;

use crate::log::Level;
use crate::runtime::Runtime;
use crate::{Column, ColumnType, Transform, Value};

/// The generated bindings, in a module of their own: the world's type names (`Column`)
/// would clash with the SDK's.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../../wit",
        world: "transform",
        export_macro_name: "__export_transform_world",
        pub_export_macro: true,
    });
}

pub use bindings::Guest;
use bindings::holo::transform::host as wit_host;
use bindings::holo::transform::types as wit;

/// The WIT `column` record, which the exported functions take and return.
pub use wit::Column as WitColumn;

/// Where `export_transform!` keeps the configured transform between calls.
pub type State<T> = RefCell<Option<Runtime<T>>>;

pub fn configure<T: Transform>(
    state: &'static LocalKey<State<T>>,
    settings: Vec<(String, String)>,
) -> Result<(), String> {
    let runtime = Runtime::configure(settings)?;
    state.with(|s| *s.borrow_mut() = Some(runtime));
    Ok(())
}

pub fn output_schema<T: Transform>(
    state: &'static LocalKey<State<T>>,
    input: Vec<wit::Column>,
) -> Result<Vec<wit::Column>, String> {
    let input: Vec<Column> = input.into_iter().map(from_wit_column).collect();
    state.with(|s| {
        let mut s = s.borrow_mut();
        let runtime = s
            .as_mut()
            .ok_or("`output-schema` was called before `configure` succeeded")?;
        let output = runtime.output_schema(&input)?;
        Ok(output.into_iter().map(to_wit_column).collect())
    })
}

pub fn process<T: Transform>(
    state: &'static LocalKey<State<T>>,
    batch: Vec<u8>,
) -> Result<Vec<u8>, String> {
    state.with(|s| {
        let mut s = s.borrow_mut();
        let runtime = s
            .as_mut()
            .ok_or("`process` was called before `configure` succeeded")?;
        // The canonical ABI frees the returned list, so each batch needs its own buffer;
        // sizing it like the last one avoids regrowing it.
        let mut out = Vec::with_capacity(runtime.output_hint());
        runtime.process(&batch, &mut out)?;
        Ok(out)
    })
}

pub(crate) fn host_log(level: Level, message: &str) {
    let level = match level {
        Level::Trace => wit_host::Level::Trace,
        Level::Debug => wit_host::Level::Debug,
        Level::Info => wit_host::Level::Info,
        Level::Warn => wit_host::Level::Warn,
        Level::Error => wit_host::Level::Error,
    };
    wit_host::log(level, message);
}

pub(crate) fn host_lookup_columns(table: &str) -> Result<Vec<Column>, String> {
    Ok(wit_host::lookup_columns(table)?
        .into_iter()
        .map(from_wit_column)
        .collect())
}

pub(crate) fn host_lookup(table: &str, key: &str) -> Result<Option<Vec<Value>>, String> {
    Ok(wit_host::lookup(table, key)?.map(|row| row.into_iter().map(from_wit_value).collect()))
}

fn from_wit_column(c: wit::Column) -> Column {
    let ty = match c.type_ {
        wit::ColumnType::Text => ColumnType::Text,
        wit::ColumnType::Int => ColumnType::Int,
        wit::ColumnType::Float => ColumnType::Float,
        wit::ColumnType::Boolean => ColumnType::Boolean,
        wit::ColumnType::Json => ColumnType::Json,
    };
    Column::new(c.name, ty)
}

fn to_wit_column(c: Column) -> wit::Column {
    let type_ = match c.ty {
        ColumnType::Text => wit::ColumnType::Text,
        ColumnType::Int => wit::ColumnType::Int,
        ColumnType::Float => wit::ColumnType::Float,
        ColumnType::Boolean => wit::ColumnType::Boolean,
        ColumnType::Json => wit::ColumnType::Json,
    };
    wit::Column {
        name: c.name,
        type_,
    }
}

fn from_wit_value(v: wit::Value) -> Value {
    match v {
        wit::Value::Null => Value::Null,
        wit::Value::Boolean(b) => Value::Bool(b),
        wit::Value::Int(i) => Value::Int(i),
        wit::Value::Float(f) => Value::Float(f),
        wit::Value::Text(s) => Value::Text(s),
    }
}
