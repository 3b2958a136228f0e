//! Each example transform, run inside the host through the library API.

use std::sync::Arc;

use holo_batch::{BatchWriter, Entry, OutputReader, ValueRef};
use holo_host::lookup::{LookupSpec, LookupTable, Lookups};
use holo_host::record::{Batch, Column, ColumnType, Origin, Schema};
use holo_host::transform::{Transform, TransformConfig, TransformError};

use crate::support::{data, guest};

fn config(name: &str, settings: &[(&str, &str)]) -> TransformConfig {
    TransformConfig {
        path: guest(name),
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        cache_dir: None,
        timeout: TransformConfig::default_timeout(),
        memory_limit: TransformConfig::default_memory_limit(),
    }
}

fn books() -> Arc<Lookups> {
    let spec: LookupSpec = format!("books=csv:{}?columns=id,name", data("books.csv").display())
        .parse()
        .unwrap();
    Arc::new(Lookups::new(vec![LookupTable::load(&spec).unwrap()]).unwrap())
}

fn schema(names: &[&str]) -> Schema {
    names.iter().map(|n| Column::text(*n)).collect()
}

/// A batch of text rows.
fn batch(rows: &[&[&str]]) -> Batch {
    let mut data = Vec::new();
    let mut offsets = Vec::new();
    let mut w = BatchWriter::new(&mut data);
    for row in rows {
        offsets.push(w.len() as u32);
        for v in *row {
            w.push_text(v);
        }
        w.end_row();
    }
    w.finish();
    let source: Arc<str> = "test.csv".into();
    Batch {
        seq: 0,
        stream: "test".into(),
        data,
        origins: (0..rows.len())
            .map(|i| Origin {
                source: source.clone(),
                line: i as u64 + 2,
            })
            .collect(),
        row_offsets: offsets,
        rejected: Vec::new(),
        records_read: rows.len() as u64,
        position: serde_json::Value::Null,
        lease: None,
    }
}

/// One output entry: the input row and its values, or the input row and the rejection.
type Decoded = Result<(u32, Vec<serde_json::Value>), (u32, String)>;

/// Runs `transform` on `rows`; returns the output schema and the entries, decoded.
fn process(t: &Transform, input: &Schema, rows: &[&[&str]]) -> (Schema, Vec<Decoded>) {
    let (mut instance, output) = t.start(input).unwrap();
    let b = batch(rows);
    let mut out = Vec::new();
    instance.process(&b, &mut out).unwrap();
    let entries = OutputReader::new(&out, output.len(), rows.len() as u32)
        .map(|e| match e.unwrap() {
            Entry::Row { input, row } => Ok((
                input,
                row.values().map(holo_host::record::value_json).collect(),
            )),
            Entry::Error { input, message } => Err((input, message.to_owned())),
            Entry::Delete { .. } => panic!("no deletes expected"),
        })
        .collect();
    (output, entries)
}

#[test]
fn passthrough_copies_every_row() {
    let t = Transform::load(config("passthrough", &[]), Arc::new(Lookups::default())).unwrap();
    assert!(t.hash().starts_with("sha256:"));
    let input = schema(&["a", "b"]);
    let (output, entries) = process(&t, &input, &[&["1", "こころ"], &["", "x,y"]]);
    assert_eq!(output, input);
    assert_eq!(
        entries,
        [
            Ok((0, vec!["1".into(), "こころ".into()])),
            Ok((1, vec!["".into(), "x,y".into()])),
        ]
    );
}

#[test]
fn alias_renames_selects_and_casts() {
    let t = Transform::load(
        config(
            "alias",
            &[
                ("rename", "__topic__:sls_topic,__source__:sls_source"),
                ("select", "id,sls_topic,rating"),
                ("cast", "rating:int"),
            ],
        ),
        Arc::new(Lookups::default()),
    )
    .unwrap();
    let input = schema(&["id", "rating", "__topic__", "__source__"]);
    let (output, entries) = process(
        &t,
        &input,
        &[
            &["1", "5", "books", "10.0.0.1"],
            &["2", "five", "books", "x"],
        ],
    );
    assert_eq!(
        &*output,
        [
            Column::text("id"),
            Column::text("sls_topic"),
            Column::new("rating", ColumnType::Int)
        ]
    );
    assert_eq!(
        entries[0],
        Ok((0, vec!["1".into(), "books".into(), 5.into()]))
    );
    let Err((1, message)) = &entries[1] else {
        panic!("row 1 should be rejected: {entries:?}")
    };
    assert!(
        message.contains("rating") && message.contains("five"),
        "{message}"
    );
}

#[test]
fn alias_names_an_unknown_column() {
    let t = Transform::load(
        config("alias", &[("select", "id,missing")]),
        Arc::new(Lookups::default()),
    )
    .unwrap();
    let err = t.start(&schema(&["id", "name"])).map(|_| ()).unwrap_err();
    assert!(matches!(err, TransformError::Schema { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("missing") && text.contains("alias"), "{text}");
}

#[test]
fn enrich_joins_and_rejects_unknown_keys() {
    let t = Transform::load(
        config(
            "enrich",
            &[
                ("lookup", "books"),
                ("key", "book_id"),
                ("columns", "name:book_name"),
            ],
        ),
        books(),
    )
    .unwrap();
    let input = schema(&["order_id", "book_id"]);
    let (output, entries) = process(&t, &input, &[&["o1", "3"], &["o2", "12"], &["o3", "8"]]);
    assert_eq!(
        output.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["order_id", "book_id", "book_name"]
    );
    assert_eq!(
        entries[0],
        Ok((0, vec!["o1".into(), "3".into(), "海辺のカフカ".into()]))
    );
    assert!(matches!(&entries[1], Err((1, m)) if m.contains("12") && m.contains("books")));
    assert_eq!(
        entries[2],
        Ok((2, vec!["o3".into(), "8".into(), "天声人语".into()]))
    );
}

#[test]
fn enrich_without_its_lookup_table_fails_before_data_flows() {
    let t = Transform::load(
        config("enrich", &[("lookup", "books"), ("key", "book_id")]),
        Arc::new(Lookups::default()),
    )
    .unwrap();
    let err = t.start(&schema(&["book_id"])).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("books"), "{err}");
}

#[test]
fn a_file_that_is_not_a_component_is_refused_with_its_path() {
    let dir = crate::support::scratch();
    let path = dir.path().join("broken.wasm");
    std::fs::write(&path, b"\0asm not really").unwrap();
    let mut c = config("passthrough", &[]);
    c.path = path.clone();
    let err = Transform::load(c, Arc::new(Lookups::default())).unwrap_err();
    assert!(err.to_string().contains("broken.wasm"), "{err}");
}

#[test]
fn values_cross_the_boundary_unchanged() {
    // Typed values, not only text, survive a passthrough.
    let t = Transform::load(config("passthrough", &[]), Arc::new(Lookups::default())).unwrap();
    let input: Schema = vec![
        Column::new("i", ColumnType::Int),
        Column::new("f", ColumnType::Float),
        Column::new("b", ColumnType::Boolean),
        Column::text("n"),
    ]
    .into();
    let (mut instance, _) = t.start(&input).unwrap();
    let mut b = batch(&[]);
    let mut w = BatchWriter::new(&mut b.data);
    for v in [
        ValueRef::Int(-7),
        ValueRef::Float(2.5),
        ValueRef::Bool(true),
        ValueRef::Null,
    ] {
        w.push_value(v);
    }
    w.end_row();
    w.finish();
    b.row_offsets = vec![4];
    let mut out = Vec::new();
    instance.process(&b, &mut out).unwrap();
    let entry = OutputReader::new(&out, 4, 1).next().unwrap().unwrap();
    let Entry::Row { row, .. } = entry else {
        panic!("{entry:?}")
    };
    assert_eq!(
        row.values().collect::<Vec<_>>(),
        [
            ValueRef::Int(-7),
            ValueRef::Float(2.5),
            ValueRef::Bool(true),
            ValueRef::Null
        ]
    );
}
