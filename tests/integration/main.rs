//! Integration tests of holo-host: one test binary, shared helpers in `support/`,
//! fixtures in `tests/data/`.

mod support;

mod postgres_sink;
