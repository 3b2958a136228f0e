//! The WebAssembly transforms: the examples and their ports to other languages, the
//! sandbox against hostile guests, hot reload and canaries, and the authoring commands.

mod authoring;
mod ports;
pub(crate) mod reload;
mod sandbox;
mod transforms;
