//! Integration tests of holo-host: one test binary, grouped by layer (`source/`,
//! `transform/`, `sink/`, `operations/`), shared helpers in `support/`, fixtures in
//! `tests/data/`.

mod support;

mod operations;
mod sink;
mod source;
mod transform;
