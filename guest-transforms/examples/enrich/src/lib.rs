//! Joins each record with a row of a dimension table (`--lookup NAME=...`) by key, adding
//! some of that row's columns (scenario S4 adds a book's name to each rating).
//!
//! Settings:
//! - `lookup=NAME`: the dimension table (required);
//! - `key=COLUMN`: the input column whose value is looked up, as text; defaults to the
//!   name of the table's first column;
//! - `columns=col[:name],…`: the table's columns to add, optionally renamed; defaults to
//!   every column but the first. An added column named like an input column fills that
//!   column instead of adding a second one of the same name.
//!
//! A record whose key is null or matches no row is rejected.

use std::fmt::Write as _;

use holo_transform_sdk::types::column_names;
use holo_transform_sdk::{
    Column, Config, ConfigError, Emit, Error, Lookup, Picked, Row, Transform, ValueRef,
    check_unique, resolve_column,
};

/// The settings this transform knows.
const SETTINGS: [&str; 3] = ["lookup", "key", "columns"];

#[derive(Debug)]
pub struct Enrich {
    lookup: Lookup,
    /// Name of the input key column, and whether it came from the `key` setting.
    key_name: String,
    key_set: bool,
    /// The lookup columns added to the output (indexes in the lookup's columns).
    added: Vec<Picked>,
    /// Input index of the key column, set by `output_schema`.
    key: usize,
    /// One entry per output column when an added column replaces an input column;
    /// empty when the output is the input followed by the added columns.
    plan: Vec<Slot>,
    /// The key formatted as text when it is not text, reused across rows.
    key_buf: String,
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Input(usize),
    /// Index in the lookup's columns.
    Lookup(usize),
}

impl Transform for Enrich {
    fn new(config: &Config) -> Result<Self, Error> {
        config.check_keys(&SETTINGS)?;
        let table = config.require("lookup")?;
        let lookup = Lookup::open(table).map_err(|e| ConfigError::invalid("lookup", e))?;
        let columns = lookup.columns();
        let Some(first) = columns.first() else {
            return Err(Error::msg(format!("lookup `{table}` has no columns")));
        };
        let added = match config.columns("columns")? {
            Some(spec) => spec.resolve(columns, "lookup column")?,
            None => (1..columns.len())
                .map(|index| Picked {
                    index,
                    name: columns[index].name.clone(),
                })
                .collect(),
        };
        if added.is_empty() {
            return Err(Error::msg(format!(
                "lookup `{table}` has only its key column `{}`: nothing to add",
                first.name
            )));
        }
        let names = added.iter().map(|a| a.name.as_str());
        if let Err(ConfigError::Duplicate { name, .. }) = check_unique("columns", names) {
            return Err(Error::msg(format!(
                "setting `columns`: two added columns are named `{name}`"
            )));
        }
        let (key_name, key_set) = match config.get("key") {
            Some(key) => (key.to_owned(), true),
            None => (first.name.clone(), false),
        };
        Ok(Enrich {
            lookup,
            key_name,
            key_set,
            added,
            key: 0,
            plan: Vec::new(),
            key_buf: String::new(),
        })
    }

    fn output_schema(&mut self, input: &[Column]) -> Result<Vec<Column>, Error> {
        self.key = match resolve_column("key", input, "input column", &self.key_name) {
            Ok(key) => key,
            Err(e) if self.key_set => return Err(e.into()),
            Err(_) => {
                return Err(Error::msg(format!(
                    "the key (by default the first column of the lookup; set `key=...`): \
                     no input column `{}` (columns: {})",
                    self.key_name,
                    column_names(input)
                )));
            }
        };
        let mut output = input.to_vec();
        let mut plan: Vec<Slot> = (0..input.len()).map(Slot::Input).collect();
        let mut replaces = false;
        for a in &self.added {
            let column = Column::new(a.name.clone(), self.lookup.columns()[a.index].ty);
            match input.iter().position(|c| c.name == a.name) {
                Some(i) => {
                    replaces = true;
                    output[i] = column;
                    plan[i] = Slot::Lookup(a.index);
                }
                None => {
                    output.push(column);
                    plan.push(Slot::Lookup(a.index));
                }
            }
        }
        // Without replacements a row is copied whole and the added values follow.
        self.plan = if replaces { plan } else { Vec::new() };
        Ok(output)
    }

    #[inline]
    fn process(&mut self, row: &Row<'_>, out: &mut Emit<'_>) -> Result<(), Error> {
        let Enrich {
            lookup,
            key_name,
            added,
            key,
            plan,
            key_buf,
            ..
        } = self;
        let key: &str = match row.get(*key) {
            ValueRef::Text(s) => s,
            ValueRef::Int(i) => {
                key_buf.clear();
                write!(key_buf, "{i}").expect("writing to a String");
                key_buf
            }
            ValueRef::Float(f) => {
                key_buf.clear();
                write!(key_buf, "{f}").expect("writing to a String");
                key_buf
            }
            ValueRef::Bool(b) => {
                if b {
                    "true"
                } else {
                    "false"
                }
            }
            ValueRef::Null => {
                return Err(Error::msg(format!(
                    "no row in lookup `{}` for {key_name}: the key is null",
                    lookup.table()
                )));
            }
        };
        let Some(values) = lookup.get(key)? else {
            return Err(Error::msg(format!(
                "no row in lookup `{}` for {key_name} `{key}`",
                lookup.table()
            )));
        };
        out.row();
        if plan.is_empty() {
            out.copy_row(row);
            for a in added.iter() {
                out.value(&values[a.index]);
            }
        } else {
            for slot in plan.iter() {
                match *slot {
                    Slot::Input(i) => out.copy_value(row, i),
                    Slot::Lookup(c) => out.value(&values[c]),
                };
            }
        }
        Ok(())
    }
}

holo_transform_sdk::export_transform!(Enrich);

#[cfg(test)]
mod tests {
    use super::*;
    use holo_transform_sdk::native::{MemoryHost, Output, Runner};
    use holo_transform_sdk::{ColumnType, Value};

    /// Table `books` (id, name, price) with the nine seed books.
    fn host() -> MemoryHost {
        let rows = holo_seed::BOOKS
            .iter()
            .map(|&(id, name, _)| vec![Value::Int(id), name.into(), Value::Int(id * 100)])
            .collect();
        MemoryHost::new().with_table(
            "books",
            vec![
                Column::new("id", ColumnType::Int),
                Column::text("name"),
                Column::new("price", ColumnType::Int),
            ],
            rows,
        )
    }

    fn orders() -> Vec<Column> {
        let mut columns: Vec<Column> = ["order_id", "user_id", "book_id"]
            .into_iter()
            .map(Column::text)
            .collect();
        columns.push(Column::new("order_cnt", ColumnType::Int));
        columns
    }

    fn runner(host: &MemoryHost, settings: &[(&str, &str)]) -> Result<Runner<Enrich>, String> {
        Runner::with_settings(settings, Box::new(host.clone()))
    }

    fn order(id: &str, book: Value) -> Vec<Value> {
        vec![id.into(), "u1".into(), book, Value::Int(2)]
    }

    #[test]
    fn adds_the_book_name_and_rejects_unknown_or_null_keys() {
        let host = host();
        let mut r = runner(
            &host,
            &[
                ("lookup", "books"),
                ("key", "book_id"),
                ("columns", "name:book_name"),
            ],
        )
        .unwrap();
        let output = r.output_schema(&orders()).unwrap();
        let mut expected = orders();
        expected.push(Column::text("book_name"));
        assert_eq!(output, expected);
        let out = r
            .run(&[
                order("o1", "3".into()),
                order("o2", "12".into()),
                order("o3", Value::Int(9)),
                order("o4", Value::Null),
            ])
            .unwrap();
        let mut enriched = order("o1", "3".into());
        enriched.push("海辺のカフカ".into());
        let mut by_int = order("o3", Value::Int(9));
        by_int.push("幸せになる勇気".into());
        assert_eq!(
            out,
            [
                Output::Row {
                    input: 0,
                    values: enriched
                },
                Output::Error {
                    input: 1,
                    message: "no row in lookup `books` for book_id `12`".into()
                },
                Output::Row {
                    input: 2,
                    values: by_int
                },
                Output::Error {
                    input: 3,
                    message: "no row in lookup `books` for book_id: the key is null".into()
                },
            ]
        );
    }

    #[test]
    fn one_host_call_per_distinct_key_and_batch() {
        let host = host();
        let mut r = runner(&host, &[("lookup", "books"), ("key", "book_id")]).unwrap();
        let output = r.output_schema(&orders()).unwrap();
        assert_eq!(output.len(), 6, "name and price by default");
        let batch: Vec<Vec<Value>> = (0..500)
            .map(|i| order(&format!("o{i}"), Value::Int(i % 9 + 1)))
            .collect();
        let out = r.run(&batch).unwrap();
        assert_eq!(out.len(), 500);
        let Output::Row { values, .. } = &out[13] else {
            panic!("row expected: {:?}", out[13]);
        };
        assert_eq!(values[4..], [Value::from("容疑者Ⅹの献身"), Value::Int(500)]);
        assert_eq!(host.lookup_calls(), 9);
        r.run(&batch).unwrap();
        assert_eq!(host.lookup_calls(), 18);
    }

    /// Scenario S4: input `id`, no `key` setting: the table's first column names it.
    #[test]
    fn key_defaults_to_the_tables_first_column() {
        let host = host();
        let mut r = runner(&host, &[("lookup", "books"), ("columns", "name")]).unwrap();
        let input = vec![
            Column::text("id"),
            Column::text("user_id"),
            Column::text("rating"),
        ];
        let output = r.output_schema(&input).unwrap();
        assert_eq!(output[3], Column::text("name"));
        let out = r.run(&[vec!["7".into(), "u".into(), "5".into()]]).unwrap();
        assert_eq!(
            out,
            [Output::Row {
                input: 0,
                values: vec!["7".into(), "u".into(), "5".into(), "こころ".into()]
            }]
        );
        let err = r.output_schema(&[Column::text("book_id")]).unwrap_err();
        assert_eq!(
            err,
            "the key (by default the first column of the lookup; set `key=...`): no input column `id` (columns: book_id)"
        );
    }

    #[test]
    fn an_added_column_named_like_an_input_column_fills_it() {
        let host = host();
        let mut r = runner(
            &host,
            &[
                ("lookup", "books"),
                ("key", "book_id"),
                ("columns", "price:order_cnt,name:book_name"),
            ],
        )
        .unwrap();
        let output = r.output_schema(&orders()).unwrap();
        let names: Vec<&str> = output.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["order_id", "user_id", "book_id", "order_cnt", "book_name"]
        );
        let out = r.run(&[order("o1", "2".into())]).unwrap();
        assert_eq!(
            out,
            [Output::Row {
                input: 0,
                values: vec![
                    "o1".into(),
                    "u1".into(),
                    "2".into(),
                    Value::Int(200),
                    "ノルウェイの森".into()
                ]
            }]
        );
    }

    #[test]
    fn missing_table_column_or_key_is_a_configuration_error() {
        let host = host();
        let err = |settings: &[(&str, &str)]| runner(&host, settings).err().unwrap();
        assert_eq!(
            err(&[("key", "book_id")]),
            "missing setting `lookup`: pass `--set lookup=...`"
        );
        assert_eq!(
            err(&[("lookup", "authors")]),
            "setting `lookup`: no lookup table `authors` (tables: books): pass `--lookup authors=...`"
        );
        assert_eq!(
            err(&[("lookup", "books"), ("columns", "title:book_name")]),
            "setting `columns`: no lookup column `title` (columns: id, name, price)"
        );
        assert_eq!(
            err(&[("lookup", "books"), ("columns", "name:x,price:x")]),
            "setting `columns`: two added columns are named `x`"
        );
        assert_eq!(
            err(&[("lookup", "books"), ("table", "x")]),
            "unknown setting `table` (settings this transform knows: lookup, key, columns)"
        );
        let mut r = runner(&host, &[("lookup", "books"), ("key", "bookid")]).unwrap();
        assert_eq!(
            r.output_schema(&orders()).unwrap_err(),
            "setting `key`: no input column `bookid` (columns: order_id, user_id, book_id, order_cnt)"
        );
    }
}
