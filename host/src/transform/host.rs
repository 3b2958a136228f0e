//! What a transform instance may call: logging and lookups, plus a WASI that grants nothing.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
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
    pub(super) limits: Limits,
    lookups: Arc<Lookups>,
    name: Arc<str>,
    hash: Arc<str>,
    stderr: MemoryOutputPipe,
}

impl HostState {
    pub fn new(name: Arc<str>, hash: Arc<str>, lookups: Arc<Lookups>, limits: Limits) -> Self {
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

    /// What the guest last said on stderr, for a trap message: a Rust panic as
    /// `panicked at FILE:LINE:COL: MESSAGE`, else the last line that is not a `note:`.
    pub fn stderr_tail(&self) -> String {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        panic_message(&text).unwrap_or_else(|| {
            text.lines()
                .rev()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("note:"))
                .unwrap_or("")
                .to_owned()
        })
    }
}

/// The last panic in a guest's stderr: `thread '…' panicked at LOCATION:` followed by the
/// message lines, then the `note:` about backtraces.
fn panic_message(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr.lines().collect();
    let at = lines.iter().rposition(|l| l.contains(" panicked at "))?;
    let location = lines[at]
        .split_once(" panicked at ")
        .map(|(_, loc)| loc.trim_end_matches(':'))
        .unwrap_or("");
    let message: Vec<&str> = lines[at + 1..]
        .iter()
        .take_while(|l| !l.starts_with("note:"))
        .map(|l| l.trim())
        .collect();
    Some(format!("panicked at {location}: {}", message.join(" ")))
}

/// The memory cap of one instance, remembering a refused growth so that the trap that
/// follows (a Rust guest aborts when an allocation fails) can be explained as such.
pub struct Limits {
    inner: StoreLimits,
    /// The size in bytes the guest last asked for and was refused.
    pub denied: Option<usize>,
}

impl Limits {
    pub fn new(memory: usize) -> Self {
        Limits {
            inner: StoreLimitsBuilder::new()
                .memory_size(memory)
                // Components built from interpreters (componentize-py: libc, libpython, …)
                // hold a dozen core instances; Rust components hold one or two.
                .instances(32)
                .build(),
            denied: None,
        }
    }
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if !allowed {
            self.denied = Some(desired);
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
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
        // A database that cannot answer is the record's error, not a missing row.
        let row = t.try_get(&key).map_err(|e| format!("{e:#}"))?;
        Ok(row.map(|row| {
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
                format!("no lookup table `{table}`: none was given (use --lookup {table}=csv:PATH or {table}=postgres:TABLE)")
            } else {
                format!(
                    "no lookup table `{table}` (lookup tables: {})",
                    names.join(", ")
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::panic_message;

    #[test]
    fn panic_messages_are_found() {
        let stderr = "starting\nthread '<unnamed>' panicked at src/lib.rs:130:18:\nboom on row 3\n\
                      note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("panicked at src/lib.rs:130:18: boom on row 3")
        );
        assert_eq!(panic_message("just a log line\n"), None);
    }
}
