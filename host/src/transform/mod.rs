//! The transform stage: runs a WebAssembly component (or nothing) on each batch.
//!
//! One [`wasmtime::Engine`] per run; each component is compiled once (or loaded from the
//! on-disk cache), pre-instantiated, and instantiated into its own [`Store`] that holds one
//! [`host::HostState`]. The guest sees only the `holo:transform/host` imports and a WASI
//! that grants nothing: no files, no network, no environment.

mod bindings;
pub mod cache;
mod host;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, Store, StoreLimitsBuilder};

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
}

impl TransformConfig {
    pub fn default_memory_limit() -> usize {
        64 << 20
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
    #[error("transform `{name}` failed on the batch starting at {origin}{stderr}")]
    Trap {
        name: String,
        origin: String,
        /// What the guest wrote to stderr (a Rust panic message lands there).
        stderr: String,
        source: wasmtime::Error,
    },
    #[error("transform `{name}` failed on the batch starting at {origin}: {message}")]
    Failed {
        name: String,
        origin: String,
        message: String,
    },
}

/// A compiled, pre-instantiated transform component.
pub struct Transform {
    engine: Engine,
    pre: bindings::TransformPre<HostState>,
    name: Arc<str>,
    hash: Arc<str>,
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

/// The engine settings every transform runs under.
fn engine() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    // Transforms are synchronous; without concurrency support a call costs ~0.2 µs
    // instead of ~0.7 µs (see shared/notes/wasm-runtime.md).
    config.concurrency_support(false);
    Engine::new(&config)
}

impl Transform {
    /// Reads, compiles (or loads from cache) and pre-instantiates the component.
    pub fn load(config: TransformConfig, lookups: Arc<Lookups>) -> Result<Self, TransformError> {
        let path = &config.path;
        let bytes = std::fs::read(path).map_err(|source| TransformError::Read {
            path: path.clone(),
            source,
        })?;
        let hash: Arc<str> = content_hash(&bytes).into();
        let compile_err = |source| TransformError::Compile {
            path: path.clone(),
            source,
        };
        let engine = engine().map_err(compile_err)?;
        let started = std::time::Instant::now();
        let (component, cached) =
            cache::load(&engine, config.cache_dir.as_deref(), &hash[7..], &bytes)
                .map_err(compile_err)?;
        let name: Arc<str> = transform_name(path).into();
        tracing::info!(
            transform = %name,
            hash = %hash,
            cached,
            ms = started.elapsed().as_millis() as u64,
            "transform loaded"
        );
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
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.config.memory_limit)
            .instances(4)
            .build();
        let state = HostState::new(
            self.name.clone(),
            self.hash.clone(),
            self.lookups.clone(),
            limits,
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        let bindings = self.pre.instantiate(&mut store).map_err(inst_err)?;
        bindings
            .call_configure(&mut store, &self.config.settings)
            .map_err(inst_err)?
            .map_err(|message| TransformError::Configure {
                name: self.name.to_string(),
                message,
            })?;
        let wit_input: Vec<wit::Column> = input.iter().map(to_wit).collect();
        let output = bindings
            .call_output_schema(&mut store, &wit_input)
            .map_err(inst_err)?
            .map_err(|message| TransformError::Schema {
                name: self.name.to_string(),
                columns: describe(input),
                message,
            })?;
        let output: Schema = output.iter().map(from_wit).collect();
        let instance = Instance {
            store,
            bindings,
            name: self.name.clone(),
        };
        Ok((instance, output))
    }
}

/// One live instance of a transform.
pub struct Instance {
    store: Store<HostState>,
    bindings: bindings::Transform,
    name: Arc<str>,
}

impl Instance {
    /// Runs the transform on `batch`; returns the output batch (see `wit/ENCODING.md`).
    ///
    /// `out` is reused across batches; its previous content is dropped.
    pub fn process(&mut self, batch: &Batch, out: &mut Vec<u8>) -> Result<(), TransformError> {
        let origin = || {
            batch
                .origins
                .first()
                .map(|o| o.to_string())
                .unwrap_or_else(|| "an empty batch".into())
        };
        match self.bindings.call_process(&mut self.store, &batch.data) {
            Ok(Ok(bytes)) => {
                *out = bytes;
                Ok(())
            }
            Ok(Err(message)) => Err(TransformError::Failed {
                name: self.name.to_string(),
                origin: origin(),
                message,
            }),
            Err(source) => {
                let stderr = self.store.data().stderr_tail();
                Err(TransformError::Trap {
                    name: self.name.to_string(),
                    origin: origin(),
                    stderr: if stderr.is_empty() {
                        String::new()
                    } else {
                        format!(" ({stderr})")
                    },
                    source,
                })
            }
        }
    }
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
}
