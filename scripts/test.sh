#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: formatting, lints, the example transforms'
# build (Rust, and the Python and JavaScript ports with their toolchains under target/),
# then every unit and integration test (which start their own PostgreSQL), and smoke runs
# of the benchmark suite and of the kill-anywhere soak.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_wasm_target
ensure_postgres
ensure_pgjdbc
say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy"
cargo clippy --quiet --workspace --all-targets -- -D warnings
build_guests
build_ported_guests
say "cargo test"
cargo test --workspace -- --test-threads="${TEST_THREADS:-2}"
say "benchmark suite, smoke run (scripts/bench.sh --smoke)"
scripts/bench.sh --smoke
say "kill-anywhere soak, smoke run (scripts/soak.sh --smoke)"
scripts/soak.sh --smoke
