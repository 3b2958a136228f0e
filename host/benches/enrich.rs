//! Throughput of the `enrich` transform inside the host, side by side with the same Rust
//! code compiled natively and run through the SDK's native runner, in the same process.
//!
//! `cargo bench -p holo-host --bench enrich` (build the guests first: scripts/test.sh or
//! `cargo build --profile guest --target wasm32-wasip2 -p holo-enrich`). Targets from the
//! batch-pipeline issue: ≥ 2 M rows/s on one core, within 2× of native.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use holo_host::lookup::Lookups;
use holo_host::record::Column;
use holo_host::transform::{Transform, TransformConfig};
use holo_transform_sdk::native;

const ROWS: usize = 200_000;
const BATCH_ROWS: usize = 4096;
const ROUNDS: usize = 5;

fn main() {
    let common::EnrichSetup {
        wasm,
        lookups,
        settings,
        input,
        ..
    } = common::enrich();
    let batches = common::encode_orders(ROWS, BATCH_ROWS);

    // WebAssembly, through the host's transform stage.
    let t = Transform::load(
        TransformConfig {
            path: wasm,
            settings: settings.clone(),
            cache_dir: None,
            timeout: TransformConfig::default_timeout(),
            memory_limit: TransformConfig::default_memory_limit(),
        },
        lookups.clone(),
    )
    .expect("load enrich.wasm");
    let (mut instance, output) = t.start(&input).expect("start");
    let mut out = Vec::new();
    let wasm_time = best_of(|| {
        let mut produced = 0;
        for b in &batches {
            instance.process(b, &mut out).expect("process");
            produced += out.len();
        }
        produced
    });

    // The same transform compiled natively, same encoding, same lookups.
    let mut runner =
        native::Runner::<enrich::Enrich>::new(&settings, Box::new(NativeLookups(lookups.clone())))
            .expect("native runner");
    let native_output = runner
        .output_schema(&to_sdk(&input))
        .expect("native schema");
    assert_eq!(native_output.len(), output.len());
    let native_time = best_of(|| {
        let mut produced = 0;
        for b in &batches {
            runner.process(&b.data, &mut out).expect("process");
            produced += out.len();
        }
        produced
    });

    let rate = |d: Duration| ROWS as f64 / d.as_secs_f64();
    let (w, n) = (rate(wasm_time), rate(native_time));
    let ratio = wasm_time.as_secs_f64() / native_time.as_secs_f64();
    println!("enrich, {ROWS} rows in batches of {BATCH_ROWS}, best of {ROUNDS} rounds, one core");
    println!("{:<28} {:>14} {:>12}", "", "rows/s", "ns/row");
    println!(
        "{:<28} {:>14.0} {:>12.1}",
        "wasm component (host)",
        w,
        1e9 / w
    );
    println!("{:<28} {:>14.0} {:>12.1}", "native (same code)", n, 1e9 / n);
    println!("wasm / native time: {ratio:.2}x");
    println!(
        "target ≥ 2,000,000 rows/s: {}; target ≤ 2.0x native: {}",
        if w >= 2e6 { "met" } else { "NOT met" },
        if ratio <= 2.0 { "met" } else { "NOT met" }
    );
}

/// Runs `f` `ROUNDS` times and returns the fastest; the result is kept alive so the
/// work cannot be optimised away.
fn best_of(mut f: impl FnMut() -> usize) -> Duration {
    let mut best = Duration::MAX;
    let mut sink = 0;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        sink += f();
        best = best.min(t.elapsed());
    }
    std::hint::black_box(sink);
    best
}

fn to_sdk(schema: &[Column]) -> Vec<holo_transform_sdk::Column> {
    schema
        .iter()
        .map(|c| {
            holo_transform_sdk::Column::new(c.name.clone(), holo_transform_sdk::ColumnType::Text)
        })
        .collect()
}

/// The host's lookup tables behind the SDK's native host interface.
struct NativeLookups(Arc<Lookups>);

impl native::Host for NativeLookups {
    fn log(&mut self, _level: native::Level, _message: &str) {}

    fn lookup_columns(&mut self, table: &str) -> Result<Vec<holo_transform_sdk::Column>, String> {
        let t = self
            .0
            .get(table)
            .ok_or_else(|| format!("no table {table}"))?;
        Ok(to_sdk(t.columns()))
    }

    fn lookup(
        &mut self,
        table: &str,
        key: &str,
    ) -> Result<Option<Vec<holo_transform_sdk::Value>>, String> {
        let t = self
            .0
            .get(table)
            .ok_or_else(|| format!("no table {table}"))?;
        Ok(t.get(key).map(|row| {
            row.iter()
                .map(|v| match v {
                    Some(s) => holo_transform_sdk::Value::Text(s.clone()),
                    None => holo_transform_sdk::Value::Null,
                })
                .collect()
        }))
    }
}
