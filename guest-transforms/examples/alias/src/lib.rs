//! Renames, selects and casts columns: the mapping between a source's field names and a
//! table's column names (scenario S3 renames Log Service's `__topic__` to `sls_topic`).
//!
//! Settings, applied in this order:
//! - `rename=old:new,…`: input column names to output names;
//! - `select=a,b,…`: keep only these columns (names after renaming), in this order;
//! - `cast=col:type,…`: convert values (names after renaming; types `text`, `int`,
//!   `float`, `boolean`, `json`).
//!
//! A name that matches no column is an error before any data flows; a value that does not
//! convert rejects its record.

use std::fmt::Write as _;

use holo_transform_sdk::types::column_names;
use holo_transform_sdk::{
    Column, ColumnSpec, ColumnType, Config, ConfigError, Emit, Error, Row, Transform, ValueRef,
    check_unique, resolve_column,
};

/// The settings this transform knows.
const SETTINGS: [&str; 3] = ["rename", "select", "cast"];

/// Longest text quoted in an error message, in characters.
const QUOTE_LIMIT: usize = 64;

#[derive(Debug)]
pub struct Alias {
    rename: Option<ColumnSpec>,
    select: Option<ColumnSpec>,
    cast: Vec<(String, ColumnType)>,
    /// One entry per output column, set by `output_schema`.
    plan: Vec<Slot>,
    /// The output is the input unchanged: copy whole rows.
    identity: bool,
    /// Formatting buffer for casts to text, reused across rows.
    buf: String,
}

/// Where an output column comes from.
#[derive(Debug)]
struct Slot {
    input: usize,
    /// Output name, for error messages.
    name: String,
    cast: Option<ColumnType>,
}

impl Transform for Alias {
    fn new(config: &Config) -> Result<Self, Error> {
        config.check_keys(&SETTINGS)?;
        let rename = config.renames("rename")?;
        rename.as_ref().map(ColumnSpec::check_unique).transpose()?;
        let select = config.names("select")?;
        select.as_ref().map(ColumnSpec::check_unique).transpose()?;
        let cast = config
            .pairs("cast")?
            .unwrap_or_default()
            .into_iter()
            .map(|(name, ty)| match ty.parse::<ColumnType>() {
                Ok(ty) => Ok((name.to_owned(), ty)),
                Err(e) => Err(ConfigError::invalid(
                    "cast",
                    format!("column `{name}`: {e}"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        check_unique("cast", cast.iter().map(|(name, _)| name.as_str()))?;
        Ok(Alias {
            rename,
            select,
            cast,
            plan: Vec::new(),
            identity: false,
            buf: String::new(),
        })
    }

    fn output_schema(&mut self, input: &[Column]) -> Result<Vec<Column>, Error> {
        let mut renamed = input.to_vec();
        if let Some(rename) = &self.rename {
            for p in rename.resolve(input, "input column")? {
                renamed[p.index].name = p.name;
            }
        }
        let chosen: Vec<usize> = match &self.select {
            None => (0..renamed.len()).collect(),
            Some(select) => select
                .resolve(&renamed, "column")?
                .into_iter()
                .map(|p| p.index)
                .collect(),
        };
        let mut output: Vec<Column> = chosen.iter().map(|&i| renamed[i].clone()).collect();
        check_unique("rename", output.iter().map(|c| c.name.as_str())).map_err(|_| {
            format!(
                "setting `rename`: two output columns would have the same name (columns: {})",
                column_names(&output)
            )
        })?;
        let mut casts = vec![None; output.len()];
        for (name, ty) in &self.cast {
            let o = resolve_column("cast", &output, "output column", name)?;
            casts[o] = Some(*ty);
            output[o].ty = *ty;
        }
        self.plan = chosen
            .iter()
            .zip(&output)
            .zip(casts)
            .map(|((&input, column), cast)| Slot {
                input,
                name: column.name.clone(),
                cast,
            })
            .collect();
        self.identity = self.plan.len() == input.len()
            && self
                .plan
                .iter()
                .enumerate()
                .all(|(i, s)| s.input == i && s.cast.is_none());
        Ok(output)
    }

    #[inline]
    fn process(&mut self, row: &Row<'_>, out: &mut Emit<'_>) -> Result<(), Error> {
        out.row();
        if self.identity {
            out.copy_row(row);
            return Ok(());
        }
        for slot in &self.plan {
            match slot.cast {
                None => {
                    out.copy_value(row, slot.input);
                }
                Some(ty) => {
                    let v = row.get(slot.input);
                    let cast = cast(v, ty, &mut self.buf).map_err(|what| {
                        Error::msg(format!("column `{}`: `{}` {what}", slot.name, Quoted(v)))
                    })?;
                    out.value(cast);
                }
            }
        }
        Ok(())
    }
}

holo_transform_sdk::export_transform!(Alias);

/// Converts `v` to type `ty`; text made from a number is written to `buf`. The error
/// completes "`value` …", as in "is not an integer".
fn cast<'a>(
    v: ValueRef<'a>,
    ty: ColumnType,
    buf: &'a mut String,
) -> Result<ValueRef<'a>, &'static str> {
    Ok(match (ty, v) {
        (_, ValueRef::Null) => ValueRef::Null,
        (ColumnType::Text | ColumnType::Json, ValueRef::Bool(b)) => {
            ValueRef::Text(if b { "true" } else { "false" })
        }
        (ColumnType::Text | ColumnType::Json, ValueRef::Int(i)) => {
            buf.clear();
            write!(buf, "{i}").expect("writing to a String");
            ValueRef::Text(buf)
        }
        (ColumnType::Text, ValueRef::Float(f)) => {
            buf.clear();
            write!(buf, "{f}").expect("writing to a String");
            ValueRef::Text(buf)
        }
        (ColumnType::Json, ValueRef::Float(f)) => {
            if !f.is_finite() {
                return Err("is not valid JSON");
            }
            buf.clear();
            write!(buf, "{f}").expect("writing to a String");
            ValueRef::Text(buf)
        }
        (ColumnType::Text, ValueRef::Text(s)) => ValueRef::Text(s),
        (ColumnType::Json, ValueRef::Text(s)) => {
            serde_json::from_str::<serde::de::IgnoredAny>(s).map_err(|_| "is not valid JSON")?;
            ValueRef::Text(s)
        }
        (ColumnType::Int, ValueRef::Int(i)) => ValueRef::Int(i),
        (ColumnType::Int, ValueRef::Text(s)) => {
            ValueRef::Int(s.trim().parse().map_err(|_| "is not an integer")?)
        }
        // Exactly the floats with an integer value in range; 2^63 itself is out of range.
        (ColumnType::Int, ValueRef::Float(f))
            if f.fract() == 0.0
                && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) =>
        {
            ValueRef::Int(f as i64)
        }
        (ColumnType::Int, _) => return Err("is not an integer"),
        (ColumnType::Float, ValueRef::Float(f)) => ValueRef::Float(f),
        (ColumnType::Float, ValueRef::Int(i)) => ValueRef::Float(i as f64),
        (ColumnType::Float, ValueRef::Text(s)) => {
            ValueRef::Float(s.trim().parse().map_err(|_| "is not a number")?)
        }
        (ColumnType::Float, ValueRef::Bool(_)) => return Err("is not a number"),
        (ColumnType::Boolean, ValueRef::Bool(b)) => ValueRef::Bool(b),
        (ColumnType::Boolean, ValueRef::Int(0)) => ValueRef::Bool(false),
        (ColumnType::Boolean, ValueRef::Int(1)) => ValueRef::Bool(true),
        (ColumnType::Boolean, ValueRef::Text(s)) => {
            ValueRef::Bool(parse_bool(s.trim()).ok_or("is not a boolean")?)
        }
        (ColumnType::Boolean, _) => return Err("is not a boolean"),
    })
}

/// The spellings PostgreSQL's `boolean` input accepts (case-insensitive).
fn parse_bool(s: &str) -> Option<bool> {
    const TRUE: [&str; 6] = ["true", "t", "yes", "y", "on", "1"];
    const FALSE: [&str; 6] = ["false", "f", "no", "n", "off", "0"];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(s)) {
        Some(true)
    } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(s)) {
        Some(false)
    } else {
        None
    }
}

/// A value as an error message quotes it: text cut to [`QUOTE_LIMIT`] characters.
struct Quoted<'a>(ValueRef<'a>);

impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            ValueRef::Null => f.write_str("null"),
            ValueRef::Bool(b) => write!(f, "{b}"),
            ValueRef::Int(i) => write!(f, "{i}"),
            ValueRef::Float(x) => write!(f, "{x}"),
            ValueRef::Text(s) => match s.char_indices().nth(QUOTE_LIMIT) {
                None => f.write_str(s),
                Some((end, _)) => write!(f, "{}…", &s[..end]),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use holo_transform_sdk::Value;
    use holo_transform_sdk::native::{MemoryHost, Output, Runner};

    fn runner(settings: &[(&str, &str)]) -> Result<Runner<Alias>, String> {
        Runner::with_settings(settings, Box::new(MemoryHost::new()))
    }

    fn texts(names: &[&str]) -> Vec<Column> {
        names.iter().map(|&n| Column::text(n)).collect()
    }

    fn names(columns: &[Column]) -> Vec<&str> {
        columns.iter().map(|c| c.name.as_str()).collect()
    }

    fn row(input: u32, values: Vec<Value>) -> Output {
        Output::Row { input, values }
    }

    /// Scenario S3: Log Service metadata renamed, everything else as is.
    #[test]
    fn renames_metadata_fields() {
        let mut r = runner(&[(
            "rename",
            "__topic__:sls_topic,__source__:sls_source,__timestamp__:sls_timestamp",
        )])
        .unwrap();
        let mut input = texts(&["id", "name", "rating", "__topic__", "__source__"]);
        input.push(Column::new("__timestamp__", ColumnType::Int));
        let output = r.output_schema(&input).unwrap();
        assert_eq!(
            names(&output),
            [
                "id",
                "name",
                "rating",
                "sls_topic",
                "sls_source",
                "sls_timestamp"
            ]
        );
        assert_eq!(output[5].ty, ColumnType::Int);
        let values: Vec<Value> = vec![
            "3".into(),
            "海辺のカフカ".into(),
            "5".into(),
            "orders".into(),
            "10.0.0.1".into(),
            Value::Int(1_700_000_000),
        ];
        assert!(r.transform().identity, "a rename alone copies whole rows");
        assert_eq!(
            r.run(std::slice::from_ref(&values)).unwrap(),
            [row(0, values)]
        );
    }

    #[test]
    fn select_follows_rename_and_orders_output() {
        let mut r = runner(&[("select", "c,x,a"), ("rename", "b:x")]).unwrap();
        let output = r.output_schema(&texts(&["a", "b", "c", "d"])).unwrap();
        assert_eq!(names(&output), ["c", "x", "a"]);
        let out = r
            .run(&[vec![
                "1".into(),
                "ノルウェイの森".into(),
                Value::Null,
                "4".into(),
            ]])
            .unwrap();
        assert_eq!(
            out,
            [row(
                0,
                vec![Value::Null, "ノルウェイの森".into(), "1".into()]
            )]
        );
    }

    #[test]
    fn casts_convert_or_reject_the_record() {
        let mut r = runner(&[
            ("rename", "count:n"),
            ("cast", "n:int,price:float,ok:boolean,doc:json,id:text"),
        ])
        .unwrap();
        let mut input = texts(&["count", "price", "ok", "doc"]);
        input.push(Column::new("id", ColumnType::Int));
        let output = r.output_schema(&input).unwrap();
        let types: Vec<ColumnType> = output.iter().map(|c| c.ty).collect();
        assert_eq!(
            types,
            [
                ColumnType::Int,
                ColumnType::Float,
                ColumnType::Boolean,
                ColumnType::Json,
                ColumnType::Text
            ]
        );
        let out = r
            .run(&[
                vec![
                    " 42".into(),
                    "2.5".into(),
                    "Yes".into(),
                    r#"{"a":"こころ"}"#.into(),
                    Value::Int(-7),
                ],
                vec![
                    "abc".into(),
                    "1".into(),
                    "t".into(),
                    "1".into(),
                    Value::Int(1),
                ],
                vec![
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ],
                vec![
                    "1".into(),
                    "x".into(),
                    "t".into(),
                    "1".into(),
                    Value::Int(1),
                ],
                vec![
                    "1".into(),
                    "1".into(),
                    "maybe".into(),
                    "1".into(),
                    Value::Int(1),
                ],
                vec![
                    "1".into(),
                    "1".into(),
                    "0".into(),
                    "{bad".into(),
                    Value::Int(1),
                ],
            ])
            .unwrap();
        assert_eq!(
            out,
            [
                row(
                    0,
                    vec![
                        Value::Int(42),
                        Value::Float(2.5),
                        Value::Bool(true),
                        r#"{"a":"こころ"}"#.into(),
                        "-7".into()
                    ]
                ),
                Output::Error {
                    input: 1,
                    message: "column `n`: `abc` is not an integer".into()
                },
                row(2, vec![Value::Null; 5]),
                Output::Error {
                    input: 3,
                    message: "column `price`: `x` is not a number".into()
                },
                Output::Error {
                    input: 4,
                    message: "column `ok`: `maybe` is not a boolean".into()
                },
                Output::Error {
                    input: 5,
                    message: "column `doc`: `{bad` is not valid JSON".into()
                },
            ]
        );
    }

    #[test]
    fn cast_rules_between_typed_values() {
        let mut buf = String::new();
        let mut c = |v, ty| cast(v, ty, &mut buf).map(Value::from_value_ref);
        assert_eq!(c(ValueRef::Float(3.0), ColumnType::Int), Ok(Value::Int(3)));
        assert_eq!(
            c(ValueRef::Float(3.5), ColumnType::Int),
            Err("is not an integer")
        );
        assert_eq!(
            c(ValueRef::Float(9.3e18), ColumnType::Int),
            Err("is not an integer")
        );
        assert_eq!(
            c(ValueRef::Bool(true), ColumnType::Int),
            Err("is not an integer")
        );
        assert_eq!(
            c(ValueRef::Int(2), ColumnType::Float),
            Ok(Value::Float(2.0))
        );
        assert_eq!(
            c(ValueRef::Int(1), ColumnType::Boolean),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            c(ValueRef::Int(2), ColumnType::Boolean),
            Err("is not a boolean")
        );
        assert_eq!(c(ValueRef::Float(0.5), ColumnType::Text), Ok("0.5".into()));
        assert_eq!(
            c(ValueRef::Bool(false), ColumnType::Json),
            Ok("false".into())
        );
        assert_eq!(
            c(ValueRef::Float(f64::NAN), ColumnType::Json),
            Err("is not valid JSON")
        );
        assert_eq!(
            c(ValueRef::Text("OFF"), ColumnType::Boolean),
            Ok(Value::Bool(false))
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let mut r = runner(&[("cast", "n:int")]).unwrap();
        r.output_schema(&texts(&["n"])).unwrap();
        let long = "人".repeat(100);
        let out = r.run(&[vec![long.as_str().into()]]).unwrap();
        let expected = format!(
            "column `n`: `{}…` is not an integer",
            "人".repeat(QUOTE_LIMIT)
        );
        assert_eq!(
            out,
            [Output::Error {
                input: 0,
                message: expected
            }]
        );
    }

    #[test]
    fn unknown_columns_are_named_with_the_available_ones() {
        let input = texts(&["id", "__topic__"]);
        let err = |settings: &[(&str, &str)]| {
            runner(settings).unwrap().output_schema(&input).unwrap_err()
        };
        assert_eq!(
            err(&[("rename", "__tpoic__:sls_topic")]),
            "setting `rename`: no input column `__tpoic__` (columns: id, __topic__)"
        );
        assert_eq!(
            err(&[
                ("rename", "__topic__:sls_topic"),
                ("select", "id,__topic__")
            ]),
            "setting `select`: no column `__topic__` (columns: id, sls_topic)"
        );
        assert_eq!(
            err(&[("select", "id"), ("cast", "__topic__:int")]),
            "setting `cast`: no output column `__topic__` (columns: id)"
        );
        assert_eq!(
            err(&[("rename", "__topic__:id")]),
            "setting `rename`: two output columns would have the same name (columns: id, id)"
        );
    }

    #[test]
    fn bad_settings_are_configuration_errors() {
        let err = |settings: &[(&str, &str)]| runner(settings).err().unwrap();
        assert_eq!(
            err(&[("renam", "a:b")]),
            "unknown setting `renam` (settings this transform knows: rename, select, cast)"
        );
        assert_eq!(
            err(&[("cast", "n:integer")]),
            "setting `cast`: column `n`: unknown column type `integer` (types: text, int, float, boolean, json)"
        );
        assert_eq!(
            err(&[("select", "a,b,a")]),
            "setting `select`: column `a` appears twice"
        );
        assert_eq!(
            err(&[("rename", "a")]),
            "item `a` of setting `rename` is not of the form `name:value`"
        );
    }
}
