//! The on-disk cache of compiled components, keyed by content hash, so that a restart or a
//! reload of a known transform does not compile it again.

use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components are kept: `HOLO_HOST_CACHE_DIR`, else `$XDG_CACHE_HOME/holo-host`,
/// else `~/.cache/holo-host`, else none (compile every time).
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("HOLO_HOST_CACHE_DIR") {
        return Some(dir.into());
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(Path::new(&dir).join("holo-host"));
    }
    std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/holo-host"))
}

/// Loads `bytes` (whose content hash is `hash`) as a component, from the cache when this
/// engine compiled it before, else compiling it and storing the result.
///
/// Returns the component and whether it came from the cache.
pub fn load(
    engine: &Engine,
    dir: Option<&Path>,
    hash: &str,
    bytes: &[u8],
) -> wasmtime::Result<(Component, bool)> {
    let Some(dir) = dir else {
        return Ok((Component::new(engine, bytes)?, false));
    };
    // The compatibility hash changes with the wasmtime version and engine settings, so an
    // artifact is only ever loaded by an engine that can run it.
    let compat = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        h.finish()
    };
    let path = dir.join(format!("{hash}-{compat:016x}.cwasm"));
    if path.exists() {
        // SAFETY: the file was written by `precompile_component` of an engine with the same
        // compatibility hash, into a directory this user owns; a file that fails to load is
        // compiled again below.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(c) => return Ok((c, true)),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cached component unusable, compiling again")
            }
        }
    }
    let compiled = engine.precompile_component(bytes)?;
    if let Err(e) = store(dir, &path, &compiled) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot cache compiled component");
    }
    // SAFETY: `compiled` was just produced by this engine.
    let component = unsafe { Component::deserialize(engine, &compiled)? };
    Ok((component, false))
}

/// Writes atomically (temporary file, then rename) so a concurrent reader never sees half a file.
fn store(dir: &Path, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, compiled)?;
    std::fs::rename(&tmp, path)
}
