//! The WebAssembly transform stage.
