//! The transform stage: runs a WebAssembly component (or nothing) on each batch.
//!
//! One [`wasmtime::Engine`] per run; each component is compiled once (or loaded from the
//! on-disk cache), pre-instantiated, and instantiated into its own [`Store`] that holds one
//! [`host::HostState`]. The guest sees only the `holo:transform/host` imports and a WASI
//! that grants nothing: no files, no network, no environment. Each instance has a memory
//! cap and every call a CPU deadline (epoch interruption); a call that breaks either traps,
//! and the trapped instance is thrown away.
//!
//! - [`stage`]: the transform stage of a pipeline: poison-record isolation, hot reload and
//!   canary runs on top of [`Transform`] and [`Instance`];
//! - [`watch`]: notices a new version of the component file; [`reload`]: the stage made
//!   ready for a run, taking up each new version whose output fits the destination;
//! - [`cache`]: compiled components on disk.

mod bindings;
pub(crate) mod cache;
mod host;
pub(crate) mod reload;
pub(crate) mod stage;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, Store, Trap};

use crate::lookup::Lookups;
use crate::record::{Batch, Column, ColumnType, Schema};
use bindings::holo::transform::types as wit;
use host::HostState;

/// Settings of the transform stage.
#[derive(Debug, Clone)]
pub struct TransformConfig {
    /// The component (`.wasm`) to run.
    pub path: PathBuf,
    /// `--set KEY=VALUE` pairs, in command-line order.
    pub settings: Vec<(String, String)>,
    /// Where compiled components are cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// Linear memory cap per instance, in bytes.
    pub memory_limit: usize,
    /// CPU time one call (a batch, or configuring the instance) may take.
    pub timeout: Duration,
}

impl TransformConfig {
    /// The component at `path` with no settings, no cache and the default limits.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        TransformConfig {
            path: path.into(),
            settings: Vec::new(),
            cache_dir: None,
            memory_limit: Self::default_memory_limit(),
            timeout: Self::default_timeout(),
        }
    }

    pub fn default_memory_limit() -> usize {
        64 << 20
    }

    /// Generous for a call: the example transforms take about a millisecond for 4,096 rows.
    pub fn default_timeout() -> Duration {
        Duration::from_secs(10)
    }

    /// `64 MiB memory, 10 s per call`, for the summary and errors.
    pub fn describe_limits(&self) -> String {
        format!(
            "{} MiB memory, {} per call",
            self.memory_limit >> 20,
            humantime_secs(self.timeout)
        )
    }
}

/// `10 s`, `250 ms`.
fn humantime_secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("cannot read transform `{}`", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` is not a usable transform component", path.display())]
    Compile {
        path: PathBuf,
        source: wasmtime::Error,
    },
    #[error(
        "`{}` was built for holo:transform@{found}, but this holo-host runs \
         holo:transform@{expected}: rebuild it against the WIT of this release (wit/)",
        path.display()
    )]
    Version {
        path: PathBuf,
        found: String,
        expected: &'static str,
    },
    #[error("transform `{name}` cannot be instantiated")]
    Instantiate {
        name: String,
        source: wasmtime::Error,
    },
    #[error("transform `{name}` rejected its configuration: {message}")]
    Configure { name: String, message: String },
    #[error("transform `{name}` cannot handle the input columns ({columns}): {message}")]
    Schema {
        name: String,
        columns: String,
        message: String,
    },
    #[error("transform `{name}` trapped on the batch starting at {origin}: {reason}")]
    Trap {
        name: String,
        origin: String,
        /// What happened, in words (see [`Failure`]).
        reason: String,
    },
    #[error("transform `{name}` trapped while starting: {reason}")]
    StartTrap { name: String, reason: String },
    #[error("transform `{name}` failed on the batch starting at {origin}: {message}")]
    Failed {
        name: String,
        origin: String,
        message: String,
    },
}

/// The WIT package this host implements, and its version.
pub const WIT_PACKAGE: &str = "holo:transform";
pub const WIT_VERSION: &str = "0.1.0";

/// A compiled, pre-instantiated transform component.
pub struct Transform {
    engine: Engine,
    pre: bindings::TransformPre<HostState>,
    name: Arc<str>,
    hash: Arc<str>,
    /// The component's imports (`holo:transform/host@0.1.0`, `wasi:io/streams@0.2.6`, …).
    imports: Vec<String>,
    /// The compiled code came from the on-disk cache.
    cached: bool,
    config: TransformConfig,
    lookups: Arc<Lookups>,
}

impl std::fmt::Debug for Transform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transform")
            .field("name", &self.name)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// How often the epoch advances: the granularity of CPU deadlines.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The one engine of the process, shared by every transform and every version of one, with
/// a thread that advances its epoch for the deadlines.
fn engine() -> wasmtime::Result<Engine> {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    if let Some(e) = ENGINE.get() {
        return Ok(e.clone());
    }
    let mut config = Config::new();
    // Transforms are synchronous; without concurrency support a call costs ~0.2 µs
    // instead of ~0.7 µs (see shared/notes/wasm-runtime.md).
    config.concurrency_support(false);
    // A runaway guest is stopped at its deadline; the checks cost far less than fuel.
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let engine = ENGINE.get_or_init(|| {
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("holo-epoch".into())
            .spawn(move || {
                while let Some(e) = weak.upgrade() {
                    e.increment_epoch();
                    drop(e);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .expect("spawn the epoch thread");
        engine
    });
    Ok(engine.clone())
}

/// Epoch ticks in `timeout` (at least one).
fn deadline_ticks(timeout: Duration) -> u64 {
    (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

/// Why a call into the guest did not return a result.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The instance trapped and must be discarded; the text says why.
    Trap(String),
    /// `process` returned an error for the whole batch; the instance is still usable.
    Error(String),
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Trap(m) | Failure::Error(m) => m,
        }
    }
}

impl Transform {
    /// Reads, compiles (or loads from cache) and pre-instantiates the component.
    pub fn load(config: TransformConfig, lookups: Arc<Lookups>) -> Result<Self, TransformError> {
        let bytes = std::fs::read(&config.path).map_err(|source| TransformError::Read {
            path: config.path.clone(),
            source,
        })?;
        Self::from_bytes(config, &bytes, lookups)
    }

    /// [`Transform::load`] with the file's bytes already read (a reload hashes what it
    /// compiles, even if the file changes again meanwhile).
    pub fn from_bytes(
        config: TransformConfig,
        bytes: &[u8],
        lookups: Arc<Lookups>,
    ) -> Result<Self, TransformError> {
        let path = &config.path;
        let compile_err = |source| TransformError::Compile {
            path: path.clone(),
            source,
        };
        let started = std::time::Instant::now();
        let (engine, component, facts) = compile(path, bytes, config.cache_dir.as_deref())?;
        let (hash, cached): (Arc<str>, bool) = (facts.hash.into(), facts.cached);
        let name: Arc<str> = transform_name(path).into();
        tracing::info!(
            transform = %name,
            hash = %hash,
            cached,
            ms = started.elapsed().as_millis() as u64,
            "transform loaded"
        );
        let imports = facts.imports;
        if let Some(found) = wit_version(&imports).filter(|v| *v != WIT_VERSION) {
            return Err(TransformError::Version {
                path: path.clone(),
                found: found.to_owned(),
                expected: WIT_VERSION,
            });
        }
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(compile_err)?;
        bindings::Transform::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(compile_err)?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(bindings::TransformPre::new)
            .map_err(compile_err)?;
        Ok(Transform {
            engine,
            pre,
            name,
            hash,
            imports,
            cached,
            config,
            lookups,
        })
    }

    /// The transform's name (its file name without `.wasm`), used in logs and errors.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `sha256:<hex>` of the component's bytes: names the exact version in dead letters.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// A fresh instance, configured and told the input schema; returns it and the output schema.
    pub fn start(&self, input: &Schema) -> Result<(Instance, Schema), TransformError> {
        let inst_err = |source| TransformError::Instantiate {
            name: self.name.to_string(),
            source,
        };
        let state = HostState::new(
            self.name.clone(),
            self.hash.clone(),
            self.lookups.clone(),
            host::Limits::new(self.config.memory_limit),
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        // Instantiation runs the guest's initializers: under the deadline too.
        store.set_epoch_deadline(deadline_ticks(self.config.timeout));
        let bindings = self.pre.instantiate(&mut store).map_err(inst_err)?;
        let mut instance = Instance {
            store,
            bindings,
            name: self.name.clone(),
            config: self.config.clone(),
        };
        instance.arm();
        let trap = |instance: &mut Instance, e: wasmtime::Error| TransformError::StartTrap {
            name: self.name.to_string(),
            reason: instance.explain(&e),
        };
        let configured = instance
            .bindings
            .call_configure(&mut instance.store, &self.config.settings);
        match configured {
            Ok(r) => r.map_err(|message| TransformError::Configure {
                name: self.name.to_string(),
                message,
            })?,
            Err(e) => return Err(trap(&mut instance, e)),
        }
        instance.arm();
        let wit_input: Vec<wit::Column> = input.iter().map(to_wit).collect();
        let output = match instance
            .bindings
            .call_output_schema(&mut instance.store, &wit_input)
        {
            Ok(r) => r.map_err(|message| TransformError::Schema {
                name: self.name.to_string(),
                columns: describe(input),
                message,
            })?,
            Err(e) => return Err(trap(&mut instance, e)),
        };
        let output: Schema = output.iter().map(from_wit).collect();
        Ok((instance, output))
    }

    /// The component's imports, as named in the component.
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    /// Whether the compiled code came from the on-disk cache.
    pub fn was_cached(&self) -> bool {
        self.cached
    }

    /// The settings this transform runs with.
    pub fn config(&self) -> &TransformConfig {
        &self.config
    }
}

/// One live instance of a transform.
pub struct Instance {
    store: Store<HostState>,
    bindings: bindings::Transform,
    name: Arc<str>,
    config: TransformConfig,
}

impl Instance {
    /// Runs the transform on `batch`; returns the output batch (see `wit/ENCODING.md`).
    ///
    /// `out` is reused across batches; its previous content is dropped. After a trap the
    /// instance must not be used again.
    pub fn process(&mut self, batch: &Batch, out: &mut Vec<u8>) -> Result<(), TransformError> {
        self.call(&batch.data, out).map_err(|f| {
            let origin = batch
                .origins
                .first()
                .map(|o| o.to_string())
                .unwrap_or_else(|| "an empty batch".into());
            let name = self.name.to_string();
            match f {
                Failure::Trap(reason) => TransformError::Trap {
                    name,
                    origin,
                    reason,
                },
                Failure::Error(message) => TransformError::Failed {
                    name,
                    origin,
                    message,
                },
            }
        })
    }

    /// Runs `process` on an encoded input batch.
    pub fn call(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), Failure> {
        self.arm();
        match self.bindings.call_process(&mut self.store, data) {
            Ok(Ok(bytes)) => {
                *out = bytes;
                Ok(())
            }
            Ok(Err(message)) => Err(Failure::Error(message)),
            Err(e) => Err(Failure::Trap(self.explain(&e))),
        }
    }

    /// Starts the deadline of the next call.
    fn arm(&mut self) {
        self.store
            .set_epoch_deadline(deadline_ticks(self.config.timeout));
        self.store.data_mut().limits.denied = None;
    }

    /// Says in words why a call trapped: the memory cap, the deadline, the stack, or the
    /// guest's own panic message.
    fn explain(&mut self, e: &wasmtime::Error) -> String {
        let stderr = self.store.data().stderr_tail();
        if let Some(wanted) = self.store.data_mut().limits.denied.take() {
            return format!(
                "out of memory: it asked for {} MiB, over its cap of {} MiB (raise it with \
                 --transform-memory)",
                wanted.div_ceil(1 << 20),
                self.config.memory_limit >> 20
            );
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => format!(
                "exceeded its CPU deadline of {} (raise it with --transform-timeout)",
                humantime_secs(self.config.timeout)
            ),
            Some(Trap::StackOverflow) => {
                "exhausted its call stack (unbounded recursion?)".to_owned()
            }
            // Languages that keep a stack in linear memory (Rust, C) run off its end
            // this way.
            Some(Trap::MemoryOutOfBounds) => "accessed memory out of bounds (its stack in \
                 linear memory overflowed, or it has a memory bug)"
                .to_owned(),
            Some(trap) if !stderr.is_empty() => format!("{stderr} ({trap})"),
            Some(trap) => trap.to_string(),
            None if !stderr.is_empty() => format!("{stderr} ({e})"),
            None => format!("{e:#}"),
        }
    }
}

/// What a component file is, read without running it (`holo-host inspect`).
#[derive(Debug, Clone)]
pub struct ComponentFacts {
    pub size: u64,
    /// `sha256:<hex>` of the file.
    pub hash: String,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    /// The compiled code was in the cache before this call.
    pub cached: bool,
}

/// Compiles (or loads from the cache) the component at `path` and lists its imports and
/// exports.
pub fn component_facts(
    path: &Path,
    cache_dir: Option<&Path>,
) -> Result<ComponentFacts, TransformError> {
    let bytes = std::fs::read(path).map_err(|source| TransformError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(compile(path, &bytes, cache_dir)?.2)
}

/// Compiles `bytes` (or loads them compiled from `cache_dir`) on the process's engine.
fn compile(
    path: &Path,
    bytes: &[u8],
    cache_dir: Option<&Path>,
) -> Result<(Engine, Component, ComponentFacts), TransformError> {
    let hash = content_hash(bytes);
    let compile_err = |source| TransformError::Compile {
        path: path.to_owned(),
        source,
    };
    let engine = engine().map_err(compile_err)?;
    let (component, cached) =
        cache::load(&engine, cache_dir, &hash[7..], bytes).map_err(compile_err)?;
    let ty = component.component_type();
    let facts = ComponentFacts {
        size: bytes.len() as u64,
        hash,
        imports: ty.imports(&engine).map(|(n, _)| n.to_owned()).collect(),
        exports: ty.exports(&engine).map(|(n, _)| n.to_owned()).collect(),
        cached,
    };
    Ok((engine, component, facts))
}

/// The version of `holo:transform` that `imports` name (`holo:transform/host@0.1.0`).
pub fn wit_version(imports: &[String]) -> Option<&str> {
    imports.iter().find_map(|name| {
        let rest = name.strip_prefix(WIT_PACKAGE)?.strip_prefix('/')?;
        Some(rest.split_once('@').map_or("", |(_, v)| v))
    })
}

/// `sha256:<hex>` of `bytes`.
pub fn content_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256:");
    for b in digest {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `sha256:` and the first 12 hex digits of a [`content_hash`], as people read it: enough
/// to tell versions apart where the full hash would crowd the line (dead letters, metrics
/// and `inspect` keep the full one).
pub fn short_hash(hash: &str) -> &str {
    hash.get(..7 + 12).unwrap_or(hash)
}

fn transform_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// `a text, b int` for error messages.
pub fn describe(schema: &[Column]) -> String {
    schema
        .iter()
        .map(|c| format!("{} {}", c.name, c.ty))
        .collect::<Vec<_>>()
        .join(", ")
}

fn to_wit(c: &Column) -> wit::Column {
    wit::Column {
        name: c.name.clone(),
        type_: match c.ty {
            ColumnType::Text => wit::ColumnType::Text,
            ColumnType::Int => wit::ColumnType::Int,
            ColumnType::Float => wit::ColumnType::Float,
            ColumnType::Boolean => wit::ColumnType::Boolean,
            ColumnType::Json => wit::ColumnType::Json,
        },
    }
}

fn from_wit(c: &wit::Column) -> Column {
    Column::new(
        c.name.clone(),
        match c.type_ {
            wit::ColumnType::Text => ColumnType::Text,
            wit::ColumnType::Int => ColumnType::Int,
            wit::ColumnType::Float => ColumnType::Float,
            wit::ColumnType::Boolean => ColumnType::Boolean,
            wit::ColumnType::Json => ColumnType::Json,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_is_sha256_hex() {
        assert_eq!(
            content_hash(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn short_hashes_keep_twelve_digits() {
        let full = content_hash(b"abc");
        assert_eq!(short_hash(&full), "sha256:ba7816bf8f01");
        assert!(full.starts_with(short_hash(&full)));
        assert_eq!(short_hash("-"), "-");
    }
}
