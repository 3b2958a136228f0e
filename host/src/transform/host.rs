//! What a transform instance may call: logging and lookups, plus a WASI that grants nothing.

use std::sync::Arc;

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::holo::transform::{host, types};
use crate::lookup::Lookups;

/// How much of a guest's stderr is kept to explain a trap.
const STDERR_CAPTURE: usize = 16 * 1024;

/// The state of one transform instance's `Store`.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limits: StoreLimits,
    lookups: Arc<Lookups>,
    name: Arc<str>,
    hash: Arc<str>,
    stderr: MemoryOutputPipe,
}

impl HostState {
    pub fn new(name: Arc<str>, hash: Arc<str>, lookups: Arc<Lookups>, limits: StoreLimits) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE);
        // No preopened directories, no environment, no arguments, no network: the builder
        // grants none of these unless asked to.
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        HostState {
            wasi,
            table: ResourceTable::new(),
            limits,
            lookups,
            name,
            hash,
            stderr,
        }
    }

    /// The last line the guest wrote to stderr (a Rust panic message ends up there).
    pub fn stderr_tail(&self) -> String {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        text.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_owned()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

impl host::Host for HostState {
    fn log(&mut self, level: host::Level, message: String) {
        let (name, hash) = (&*self.name, &*self.hash);
        match level {
            host::Level::Trace => tracing::trace!(transform = name, hash, "{message}"),
            host::Level::Debug => tracing::debug!(transform = name, hash, "{message}"),
            host::Level::Info => tracing::info!(transform = name, hash, "{message}"),
            host::Level::Warn => tracing::warn!(transform = name, hash, "{message}"),
            host::Level::Error => tracing::error!(transform = name, hash, "{message}"),
        }
    }

    fn lookup_columns(&mut self, table: String) -> Result<Vec<types::Column>, String> {
        let t = self.table_named(&table)?;
        Ok(t.columns()
            .iter()
            .map(|c| types::Column {
                name: c.name.clone(),
                type_: types::ColumnType::Text,
            })
            .collect())
    }

    fn lookup(&mut self, table: String, key: String) -> Result<Option<Vec<types::Value>>, String> {
        let t = self.table_named(&table)?;
        Ok(t.get(&key).map(|row| {
            row.iter()
                .map(|v| match v {
                    Some(s) => types::Value::Text(s.clone()),
                    None => types::Value::Null,
                })
                .collect()
        }))
    }
}

impl HostState {
    fn table_named(&self, table: &str) -> Result<&crate::lookup::LookupTable, String> {
        self.lookups.get(table).ok_or_else(|| {
            let names = self.lookups.names().collect::<Vec<_>>();
            if names.is_empty() {
                format!("no lookup table `{table}`: none was given (use --lookup {table}=csv:PATH)")
            } else {
                format!(
                    "no lookup table `{table}` (lookup tables: {})",
                    names.join(", ")
                )
            }
        })
    }
}
