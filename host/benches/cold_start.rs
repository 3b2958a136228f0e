//! Cold start of a transform: from nothing to the first processed record, with the compiled
//! component in the on-disk cache (warm) and, as the reference, compiled from scratch
//! (cold), in the same run. Also the whole `holo-host run` of a one-record file, process
//! start to exit, with a warm cache.
//!
//! `cargo bench -p holo-host --bench cold_start` (build the guests first: scripts/test.sh,
//! or `cargo build --profile guest --target wasm32-wasip2 -p holo-enrich`). Target from the
//! transform-runtime issue: under 100 ms to the first processed record with a warm cache.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use holo_host::transform::{Transform, TransformConfig};

const ROUNDS: usize = 7;

fn main() {
    let common::EnrichSetup {
        wasm,
        books,
        lookups,
        settings,
        input,
    } = common::enrich();
    let batch = common::encode_orders(1, 1).remove(0);
    let scratch = tempfile::tempdir().expect("scratch dir");

    // Load (compile or read the cache), instantiate, configure, process one record.
    let first_record = |cache: &Path| {
        let started = Instant::now();
        let config = TransformConfig {
            settings: settings.clone(),
            cache_dir: Some(cache.to_owned()),
            ..TransformConfig::new(&wasm)
        };
        let t = Transform::load(config, lookups.clone()).expect("load enrich.wasm");
        let (mut instance, _) = t.start(&input).expect("start");
        let mut out = Vec::new();
        instance.process(&batch, &mut out).expect("process");
        assert!(!out.is_empty());
        started.elapsed()
    };

    let mut cold = Vec::new();
    for round in 0..ROUNDS {
        let dir = scratch.path().join(format!("cold-{round}"));
        cold.push(first_record(&dir));
    }
    let warm_dir = scratch.path().join("warm");
    first_record(&warm_dir);
    let warm: Vec<Duration> = (0..ROUNDS).map(|_| first_record(&warm_dir)).collect();

    // The binary, start to exit, on a one-record file.
    let csv = scratch.path().join("one.csv");
    std::fs::write(
        &csv,
        "order_id,user_id,book_id,order_cnt,order_amt\nA-1,7,3,1,1500\n",
    )
    .unwrap();
    let run = || {
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_holo-host"))
            .env("HOLO_HOST_CACHE_DIR", &warm_dir)
            .env("RUST_LOG", "warn")
            .args(["run", "--no-progress", "--source"])
            .arg(format!("csv:{}", csv.display()))
            .arg("--transform")
            .arg(&wasm)
            .args(["--set", "lookup=books", "--set", "key=book_id"])
            .args(["--set", "columns=name:book_name", "--lookup"])
            .arg(format!("books=csv:{}?columns=id,name", books.display()))
            .output()
            .expect("run holo-host");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        started.elapsed()
    };
    run();
    let binary: Vec<Duration> = (0..ROUNDS).map(|_| run()).collect();

    println!("enrich.wasm, first record processed, {ROUNDS} rounds (median, best)");
    for (label, times) in [
        ("cold: compile, no cache (reference)", &cold),
        ("warm: on-disk cache", &warm),
        ("holo-host run, 1 record, warm cache", &binary),
    ] {
        let (median, best) = stats(times);
        println!("{label:<40} {median:>9.1} ms {best:>9.1} ms");
    }
    let (warm_median, _) = stats(&warm);
    let (cold_median, _) = stats(&cold);
    println!("cold / warm: {:.1}x", cold_median / warm_median);
    let (binary_median, _) = stats(&binary);
    println!(
        "target < 100 ms to the first record with a warm cache: {}",
        if warm_median < 100.0 && binary_median < 100.0 {
            "met"
        } else {
            "NOT met"
        }
    );
}

/// Median and best, in milliseconds.
fn stats(times: &[Duration]) -> (f64, f64) {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[0])
}
