//! Setup shared by the benchmarks: the `enrich` component with the books lookup, and the
//! seed's orders without their book name (enrich adds it back), encoded in batches.

// Each benchmark compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use holo_batch::BatchWriter;
use holo_host::lookup::{LookupSpec, LookupTable, Lookups};
use holo_host::record::{Batch, Column, Origin, Schema};

/// What a benchmark of `enrich.wasm` needs.
pub struct EnrichSetup {
    pub wasm: PathBuf,
    /// The headerless books file behind the lookup.
    pub books: PathBuf,
    pub lookups: Arc<Lookups>,
    /// `lookup=books key=book_id columns=name:book_name`.
    pub settings: Vec<(String, String)>,
    /// The orders' columns without `book_name`.
    pub input: Schema,
}

/// Finds the built component (exits 2 with the build command when it is missing) and
/// loads the books.
pub fn enrich() -> EnrichSetup {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let guest_dir = std::env::var_os("HOLO_GUEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/wasm32-wasip2/guest"));
    let wasm = guest_dir.join("enrich.wasm");
    if !wasm.exists() {
        eprintln!(
            "{} is missing: cargo build --profile guest --target wasm32-wasip2 -p holo-enrich",
            wasm.display()
        );
        std::process::exit(2);
    }
    let books = root.join("tests/data/books.csv");
    let spec: LookupSpec = format!("books=csv:{}?columns=id,name", books.display())
        .parse()
        .expect("lookup spec");
    let table = LookupTable::load(&spec).expect("books");
    EnrichSetup {
        wasm,
        books,
        lookups: Arc::new(Lookups::new(vec![table]).expect("lookups")),
        settings: vec![
            ("lookup".to_owned(), "books".to_owned()),
            ("key".to_owned(), "book_id".to_owned()),
            ("columns".to_owned(), "name:book_name".to_owned()),
        ],
        input: ["order_id", "user_id", "book_id", "order_cnt", "order_amt"]
            .into_iter()
            .map(Column::text)
            .collect(),
    }
}

/// `rows` seed orders in the input columns of [`EnrichSetup`], `per_batch` to a batch.
pub fn encode_orders(rows: usize, per_batch: usize) -> Vec<Batch> {
    let orders: Vec<_> = holo_seed::orders(rows, 42).collect();
    let source: Arc<str> = "bench".into();
    orders
        .chunks(per_batch)
        .enumerate()
        .map(|(seq, chunk)| {
            let mut data = Vec::new();
            let mut offsets = Vec::with_capacity(chunk.len());
            let mut w = BatchWriter::new(&mut data);
            for o in chunk {
                offsets.push(w.len() as u32);
                for v in [
                    o.order_id.clone(),
                    o.user_id.to_string(),
                    o.book_id.to_string(),
                    o.order_cnt.to_string(),
                    o.order_amt.to_string(),
                ] {
                    w.push_text(&v);
                }
                w.end_row();
            }
            w.finish();
            Batch {
                seq: seq as u64,
                stream: "test".into(),
                data,
                origins: vec![
                    Origin {
                        source: source.clone(),
                        line: 0
                    };
                    chunk.len()
                ],
                row_offsets: offsets,
                rejected: Vec::new(),
                records_read: chunk.len() as u64,
                position: serde_json::Value::Null,
                lease: None,
            }
        })
        .collect()
}
