//! The identity transform: every record leaves as it came, its bytes copied unchanged.
//! Measures the cost of the transform stage itself.

use holo_transform_sdk::{Column, Config, Emit, Error, Row, Transform};

/// Emits each input row unchanged; takes no settings.
#[derive(Debug)]
pub struct Passthrough;

impl Transform for Passthrough {
    fn new(config: &Config) -> Result<Self, Error> {
        config.check_keys(&[])?;
        Ok(Passthrough)
    }

    fn output_schema(&mut self, input: &[Column]) -> Result<Vec<Column>, Error> {
        Ok(input.to_vec())
    }

    #[inline]
    fn process(&mut self, row: &Row<'_>, out: &mut Emit<'_>) -> Result<(), Error> {
        out.row().copy_row(row);
        Ok(())
    }
}

holo_transform_sdk::export_transform!(Passthrough);

#[cfg(test)]
mod tests {
    use super::*;
    use holo_transform_sdk::native::{MemoryHost, Output, Runner, encode_rows};
    use holo_transform_sdk::{ColumnType, Value};

    fn runner(settings: &[(&str, &str)]) -> Result<Runner<Passthrough>, String> {
        Runner::with_settings(settings, Box::new(MemoryHost::new()))
    }

    #[test]
    fn rows_leave_unchanged() {
        let input = vec![
            Column::text("book_name"),
            Column::new("n", ColumnType::Int),
            Column::new("price", ColumnType::Float),
            Column::new("ok", ColumnType::Boolean),
            Column::new("doc", ColumnType::Json),
        ];
        let mut r = runner(&[]).unwrap();
        assert_eq!(r.output_schema(&input).unwrap(), input);
        let rows = vec![
            vec![
                "海辺のカフカ".into(),
                Value::Int(-7),
                Value::Float(0.5),
                Value::Bool(true),
                r#"{"a":[1,"ノルウェイの森"]}"#.into(),
            ],
            vec![
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Bool(false),
                "".into(),
            ],
        ];
        let out = r.run(&rows).unwrap();
        let expected: Vec<Output> = rows
            .iter()
            .enumerate()
            .map(|(i, values)| Output::Row {
                input: i as u32,
                values: values.clone(),
            })
            .collect();
        assert_eq!(out, expected);

        // Byte for byte: each entry is a 5-byte header followed by the input row.
        let batch = encode_rows(&rows);
        let mut out = Vec::new();
        r.process(&batch, &mut out).unwrap();
        assert_eq!(out.len(), batch.len() - 4 + 2 * 5);
    }

    #[test]
    fn empty_batch_gives_empty_output() {
        let mut r = runner(&[]).unwrap();
        r.output_schema(&[Column::text("a")]).unwrap();
        assert_eq!(r.run(&[]).unwrap(), []);
    }

    #[test]
    fn settings_are_rejected() {
        let err = runner(&[("rename", "a:b")]).err().unwrap();
        assert_eq!(
            err,
            "unknown setting `rename` (settings this transform knows: )"
        );
    }
}
