//! Runs a transform as native code: the host calls go to a [`Host`] trait object instead
//! of the component's imports. Unit tests use it with [`MemoryHost`]; the host's benchmark
//! uses it to compare native code with the component, both on the same runtime path.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use holo_batch::{BatchWriter, Entry, OutputReader};

use crate::runtime::Runtime;

pub use crate::log::Level;
use crate::{Column, Transform, Value};

/// What a native host offers a transform (mirrors the WIT `host` interface).
pub trait Host: Send {
    /// Writes a line to the host's log.
    fn log(&mut self, level: Level, message: &str);

    /// The columns of dimension table `table`; `Err` if there is no such table.
    fn lookup_columns(&mut self, table: &str) -> Result<Vec<Column>, String>;

    /// The row of `table` whose key column equals `key`, in `lookup_columns` order.
    fn lookup(&mut self, table: &str, key: &str) -> Result<Option<Vec<Value>>, String>;
}

thread_local! {
    /// The host of the runner that is calling into its transform on this thread.
    static HOST: RefCell<Option<Box<dyn Host>>> = const { RefCell::new(None) };
}

/// Lends `host` to the SDK's host calls while `f` runs, and takes it back afterwards
/// (also when `f` panics).
fn with_host<R>(host: &mut Option<Box<dyn Host>>, f: impl FnOnce() -> R) -> R {
    struct Restore<'h> {
        owner: &'h mut Option<Box<dyn Host>>,
        previous: Option<Box<dyn Host>>,
    }
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let previous = self.previous.take();
            *self.owner = HOST.with(|h| h.replace(previous));
        }
    }
    let previous = HOST.with(|h| h.replace(host.take()));
    let _restore = Restore {
        owner: host,
        previous,
    };
    f()
}

pub(crate) fn host_log(level: Level, message: &str) {
    HOST.with(|h| match h.borrow_mut().as_mut() {
        Some(host) => host.log(level, message),
        None => eprintln!("{level}: {message}"),
    });
}

const NO_HOST: &str =
    "no host: lookups are available only while a `native::Runner` runs the transform";

pub(crate) fn host_lookup_columns(table: &str) -> Result<Vec<Column>, String> {
    HOST.with(|h| match h.borrow_mut().as_mut() {
        Some(host) => host.lookup_columns(table),
        None => Err(NO_HOST.to_owned()),
    })
}

pub(crate) fn host_lookup(table: &str, key: &str) -> Result<Option<Vec<Value>>, String> {
    HOST.with(|h| match h.borrow_mut().as_mut() {
        Some(host) => host.lookup(table, key),
        None => Err(NO_HOST.to_owned()),
    })
}

/// A transform compiled natively, driven exactly as the component export drives it.
pub struct Runner<T> {
    runtime: Runtime<T>,
    /// `None` only while lent out by [`with_host`].
    host: Option<Box<dyn Host>>,
}

impl<T: Transform> Runner<T> {
    /// Configures the transform with `settings` (the `--set` pairs).
    pub fn new(settings: &[(String, String)], host: Box<dyn Host>) -> Result<Self, String> {
        let mut host = Some(host);
        let runtime = with_host(&mut host, || Runtime::configure(settings.to_vec()))?;
        Ok(Runner { runtime, host })
    }

    /// Like [`Runner::new`], with `&str` pairs.
    pub fn with_settings(settings: &[(&str, &str)], host: Box<dyn Host>) -> Result<Self, String> {
        let settings: Vec<(String, String)> = settings
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Self::new(&settings, host)
    }

    /// The output columns for `input`; must succeed before [`Runner::process`].
    pub fn output_schema(&mut self, input: &[Column]) -> Result<Vec<Column>, String> {
        let Runner { runtime, host } = self;
        with_host(host, || runtime.output_schema(input))
    }

    /// Processes one encoded input batch into `out` (cleared first), as `process` of the
    /// component does.
    pub fn process(&mut self, batch: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let Runner { runtime, host } = self;
        with_host(host, || runtime.process(batch, out))
    }

    /// Encodes `rows`, processes them and decodes the output: for tests.
    pub fn run(&mut self, rows: &[Vec<Value>]) -> Result<Vec<Output>, String> {
        let width = self
            .runtime
            .output_width()
            .ok_or("`run` was called before `output_schema` succeeded")?;
        let batch = encode_rows(rows);
        let mut out = Vec::with_capacity(self.runtime.output_hint());
        self.process(&batch, &mut out)?;
        decode_output(&out, width, rows.len() as u32)
    }

    pub fn transform(&self) -> &T {
        self.runtime.transform()
    }

    pub fn transform_mut(&mut self) -> &mut T {
        self.runtime.transform_mut()
    }
}

/// One entry of an output batch, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A row emitted for input row `input`.
    Row { input: u32, values: Vec<Value> },
    /// Input row `input` rejected with `message`.
    Error { input: u32, message: String },
    /// A delete emitted for input row `input`: the key is in `values`.
    Delete { input: u32, values: Vec<Value> },
}

/// Encodes `rows` as an input batch.
pub fn encode_rows(rows: &[Vec<Value>]) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = BatchWriter::new(&mut buf);
    for row in rows {
        for v in row {
            w.push_value(v.as_value_ref());
        }
        w.end_row();
    }
    w.finish();
    buf
}

/// Decodes and checks an output batch of `width` columns for `input_rows` input rows.
pub fn decode_output(out: &[u8], width: usize, input_rows: u32) -> Result<Vec<Output>, String> {
    OutputReader::new(out, width, input_rows)
        .map(|entry| match entry.map_err(|e| e.to_string())? {
            Entry::Row { input, row } => Ok(Output::Row {
                input,
                values: row.values().map(Value::from_value_ref).collect(),
            }),
            Entry::Error { input, message } => Ok(Output::Error {
                input,
                message: message.to_owned(),
            }),
            Entry::Delete { input, row } => Ok(Output::Delete {
                input,
                values: row.values().map(Value::from_value_ref).collect(),
            }),
        })
        .collect()
}

/// A [`Host`] with in-memory dimension tables that records its logs and counts lookups.
/// Clones share their state, so a test keeps one clone to inspect after giving the other
/// to a [`Runner`].
#[derive(Debug, Clone, Default)]
pub struct MemoryHost {
    state: Arc<Mutex<MemoryState>>,
}

#[derive(Debug, Default)]
struct MemoryState {
    tables: Vec<MemoryTable>,
    lookup_calls: usize,
    logs: Vec<(Level, String)>,
}

#[derive(Debug)]
struct MemoryTable {
    name: String,
    columns: Vec<Column>,
    rows: Vec<Vec<Value>>,
    /// Text of the first column → row index.
    index: HashMap<String, usize>,
}

impl MemoryHost {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds table `name`, keyed by its first column (a value's text, as `lookup` receives it).
    pub fn with_table(self, name: &str, columns: Vec<Column>, rows: Vec<Vec<Value>>) -> Self {
        let index = rows
            .iter()
            .enumerate()
            .filter_map(|(i, row)| Some((row.first()?.as_value_ref().to_text()?, i)))
            .collect();
        self.lock().tables.push(MemoryTable {
            name: name.to_owned(),
            columns,
            rows,
            index,
        });
        self
    }

    /// How many times `lookup` was called.
    pub fn lookup_calls(&self) -> usize {
        self.lock().lookup_calls
    }

    /// The lines logged so far.
    pub fn logs(&self) -> Vec<(Level, String)> {
        self.lock().logs.clone()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryState> {
        // A test that panicked while holding the lock leaves usable state behind.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl MemoryState {
    fn table(&self, name: &str) -> Result<&MemoryTable, String> {
        self.tables.iter().find(|t| t.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.tables.iter().map(|t| t.name.as_str()).collect();
            format!(
                "no lookup table `{name}` (tables: {}): pass `--lookup {name}=...`",
                names.join(", ")
            )
        })
    }
}

impl Host for MemoryHost {
    fn log(&mut self, level: Level, message: &str) {
        self.lock().logs.push((level, message.to_owned()));
    }

    fn lookup_columns(&mut self, table: &str) -> Result<Vec<Column>, String> {
        Ok(self.lock().table(table)?.columns.clone())
    }

    fn lookup(&mut self, table: &str, key: &str) -> Result<Option<Vec<Value>>, String> {
        let mut state = self.lock();
        state.lookup_calls += 1;
        let t = state.table(table)?;
        Ok(t.index.get(key).map(|&i| t.rows[i].clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ColumnType, Config, Emit, Error, Lookup, Row, log};

    /// Emits each row `|n|` times where `n` is the row's first value, then rejects it if `n`
    /// is negative; logs in `new`; with a lookup, adds a row that is one value short
    /// when the key has no match.
    struct Repeat {
        lookup: Option<Lookup>,
    }

    impl Transform for Repeat {
        fn new(config: &Config) -> Result<Self, Error> {
            config.check_keys(&["lookup"])?;
            log::info("repeat configured");
            let lookup = config.get("lookup").map(Lookup::open).transpose()?;
            Ok(Repeat { lookup })
        }

        fn output_schema(&mut self, input: &[Column]) -> Result<Vec<Column>, Error> {
            let mut out = input.to_vec();
            out.push(Column::text("extra"));
            Ok(out)
        }

        fn process(&mut self, row: &Row<'_>, out: &mut Emit<'_>) -> Result<(), Error> {
            let crate::ValueRef::Int(n) = row.get(0) else {
                return Err(Error::msg(format!("not an int: {:?}", row.get(0))));
            };
            for i in 0..n.abs() {
                out.row().copy_row(row).text(&format!("#{i}"));
            }
            if let Some(l) = &mut self.lookup {
                let key = row.get(1).to_text().unwrap_or_default();
                match l.get(&key)? {
                    Some(values) => {
                        out.row()
                            .copy_value(row, 0)
                            .value(&values[1])
                            .text("looked up");
                    }
                    None => {
                        out.row().copy_value(row, 0);
                    }
                }
            }
            if n < 0 {
                return Err(Error::msg(format!("negative count {n}")));
            }
            Ok(())
        }
    }

    fn input() -> Vec<Column> {
        vec![Column::new("n", ColumnType::Int), Column::text("key")]
    }

    fn runner(settings: &[(&str, &str)], host: &MemoryHost) -> Runner<Repeat> {
        let mut r = Runner::<Repeat>::with_settings(settings, Box::new(host.clone())).unwrap();
        r.output_schema(&input()).unwrap();
        r
    }

    fn row(input: u32, values: &[Value]) -> Output {
        Output::Row {
            input,
            values: values.to_vec(),
        }
    }

    #[test]
    fn several_rows_none_and_errors() {
        let host = MemoryHost::new();
        let mut r = runner(&[], &host);
        let out = r
            .run(&[
                vec![Value::Int(2), "a".into()],
                vec![Value::Int(0), "b".into()],
                vec![Value::Int(-1), "c".into()],
                vec!["x".into(), "d".into()],
            ])
            .unwrap();
        assert_eq!(
            out,
            vec![
                row(0, &[Value::Int(2), "a".into(), "#0".into()]),
                row(0, &[Value::Int(2), "a".into(), "#1".into()]),
                Output::Error {
                    input: 2,
                    message: "negative count -1".into()
                },
                Output::Error {
                    input: 3,
                    message: "not an int: Text(\"x\")".into()
                },
            ]
        );
        assert_eq!(host.logs(), vec![(Level::Info, "repeat configured".into())]);
    }

    #[test]
    fn rows_emitted_before_an_error_are_discarded() {
        let host = MemoryHost::new();
        let mut r = runner(&[], &host);
        // Row 1 emits three rows then fails: the batch must hold its error entry only, or
        // the host would reject the batch; the rows around it are kept.
        let batch = encode_rows(&[
            vec![Value::Int(1), "a".into()],
            vec![Value::Int(-3), "b".into()],
            vec![Value::Int(1), "c".into()],
        ]);
        let mut out = vec![9; 100];
        r.process(&batch, &mut out).unwrap();
        assert_eq!(
            decode_output(&out, 3, 3).unwrap(),
            vec![
                row(0, &[Value::Int(1), "a".into(), "#0".into()]),
                Output::Error {
                    input: 1,
                    message: "negative count -3".into()
                },
                row(2, &[Value::Int(1), "c".into(), "#0".into()]),
            ]
        );
    }

    #[test]
    fn wrong_width_is_a_record_error_naming_both_counts() {
        let host = MemoryHost::new().with_table(
            "t",
            vec![Column::text("k"), Column::text("v")],
            vec![vec!["a".into(), "A".into()]],
        );
        let mut r = runner(&[("lookup", "t")], &host);
        let out = r
            .run(&[
                vec![Value::Int(0), "a".into()],
                vec![Value::Int(1), "zz".into()],
            ])
            .unwrap();
        assert_eq!(
            out,
            vec![
                row(0, &[Value::Int(0), "A".into(), "looked up".into()]),
                Output::Error {
                    input: 1,
                    message:
                        "the transform emitted a row of 1 values but its output schema has 3 columns"
                            .into()
                },
            ]
        );
    }

    #[test]
    fn lookups_are_cached_per_batch() {
        let rows: Vec<Vec<Value>> = (1..=9)
            .map(|i| vec![Value::Int(i), Value::Text(format!("name {i}"))])
            .collect();
        let host = MemoryHost::new().with_table(
            "t",
            vec![Column::new("k", ColumnType::Int), Column::text("v")],
            rows,
        );
        let mut r = runner(&[("lookup", "t")], &host);
        let batch: Vec<Vec<Value>> = (0..1000)
            .map(|i| vec![Value::Int(0), Value::Text(((i % 9) + 1).to_string())])
            .collect();
        let out = r.run(&batch).unwrap();
        assert_eq!(out.len(), 1000);
        assert_eq!(
            out[4],
            row(4, &[Value::Int(0), "name 5".into(), "looked up".into()])
        );
        assert_eq!(host.lookup_calls(), 9);
        r.run(&batch[..20]).unwrap();
        assert_eq!(
            host.lookup_calls(),
            18,
            "a new batch starts with an empty cache"
        );
    }

    #[test]
    fn configuration_errors_reach_the_caller() {
        let host = MemoryHost::new();
        let err = Runner::<Repeat>::with_settings(&[("lookup", "books")], Box::new(host.clone()))
            .err()
            .unwrap();
        assert_eq!(
            err,
            "no lookup table `books` (tables: ): pass `--lookup books=...`"
        );
        let err = Runner::<Repeat>::with_settings(&[("x", "1")], Box::new(host))
            .err()
            .unwrap();
        assert!(err.starts_with("unknown setting `x`"), "{err}");
    }

    #[test]
    fn malformed_batches_and_order_fail_the_batch() {
        let host = MemoryHost::new();
        let mut r = Runner::<Repeat>::with_settings(&[], Box::new(host.clone())).unwrap();
        let mut out = Vec::new();
        let batch = encode_rows(&[vec![Value::Int(1), "a".into()]]);
        assert!(
            r.process(&batch, &mut out)
                .unwrap_err()
                .contains("output-schema")
        );
        r.output_schema(&input()).unwrap();
        let mut bad = batch.clone();
        bad.push(0);
        assert_eq!(
            r.process(&bad, &mut out).unwrap_err(),
            format!(
                "malformed batch at byte {}: bytes after the last row",
                batch.len()
            )
        );
        assert!(r.process(&batch[..batch.len() - 1], &mut out).is_err());
        assert!(r.process(&[1, 0], &mut out).is_err());
        r.process(&batch, &mut out).unwrap();
        assert_eq!(decode_output(&out, 3, 1).unwrap().len(), 1);
    }

    #[test]
    fn host_is_restored_after_a_panic() {
        struct Panics;
        impl Transform for Panics {
            fn new(_: &Config) -> Result<Self, Error> {
                Ok(Panics)
            }
            fn output_schema(&mut self, input: &[Column]) -> Result<Vec<Column>, Error> {
                Ok(input.to_vec())
            }
            fn process(&mut self, _: &Row<'_>, _: &mut Emit<'_>) -> Result<(), Error> {
                panic!("boom")
            }
        }
        let host = MemoryHost::new();
        let mut r = Runner::<Panics>::new(&[], Box::new(host.clone())).unwrap();
        r.output_schema(&input()).unwrap();
        let batch = encode_rows(&[vec![Value::Int(1), "a".into()]]);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            r.process(&batch, &mut Vec::new())
        }));
        assert!(result.is_err());
        assert!(r.host.is_some());
        assert!(HOST.with(|h| h.borrow().is_none()));
        crate::log::warn("after");
        assert!(
            host.logs().is_empty(),
            "no runner is active, nothing reaches its host"
        );
    }

    /// Upserts rows whose `op` is `u`, deletes (by the key `id`) those whose `op` is `d`.
    struct Changes;

    impl Transform for Changes {
        fn new(_: &Config) -> Result<Self, Error> {
            Ok(Changes)
        }

        fn output_schema(&mut self, input: &[Column]) -> Result<Vec<Column>, Error> {
            Ok(input[1..].to_vec())
        }

        fn process(&mut self, row: &Row<'_>, out: &mut Emit<'_>) -> Result<(), Error> {
            match row.get(0) {
                crate::ValueRef::Text("u") => out.row().copy_value(row, 1).copy_value(row, 2),
                crate::ValueRef::Text("d") => out.delete().copy_value(row, 1).null(),
                other => return Err(Error::msg(format!("unknown op {other:?}"))),
            };
            Ok(())
        }
    }

    #[test]
    fn deletes_are_delete_entries() {
        let mut r = Runner::<Changes>::with_settings(&[], Box::new(MemoryHost::new())).unwrap();
        r.output_schema(&[
            Column::text("op"),
            Column::new("id", ColumnType::Int),
            Column::text("name"),
        ])
        .unwrap();
        let out = r
            .run(&[
                vec!["u".into(), Value::Int(1), "a".into()],
                vec!["d".into(), Value::Int(1), "a".into()],
                vec!["x".into(), Value::Int(2), "b".into()],
            ])
            .unwrap();
        assert_eq!(
            out,
            vec![
                row(0, &[Value::Int(1), "a".into()]),
                Output::Delete {
                    input: 1,
                    values: vec![Value::Int(1), Value::Null]
                },
                Output::Error {
                    input: 2,
                    message: "unknown op Text(\"x\")".into()
                },
            ]
        );
    }
}
