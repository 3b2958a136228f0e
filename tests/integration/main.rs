//! Integration tests of holo-host: one test binary, shared helpers in `support/`,
//! fixtures in `tests/data/`.

mod support;

mod pipeline;
mod postgres_sink;
mod transforms;
