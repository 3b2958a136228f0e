//! A test transform that stamps each row with its own version, for tests of hot reload and
//! canary runs. Two versions are made from one build by patching the marker below in the
//! `.wasm` file (same length, so the component stays valid).
//!
//! Output: the input columns plus `version` (the marker's version field). With the marker's
//! mode field set to `fail`, every record is rejected instead; set to `dele`, every record
//! becomes a delete of the row with its key.

use holo_transform_sdk::{Column, Config, Emit, Error, Row, Transform};

/// `holo-stamp:<version>:<mode>`; tests replace `v1` and `ok__` in the binary.
static MARKER: &str = "holo-stamp:v1:ok__";

#[derive(Debug)]
pub struct Stamp {
    version: String,
    mode: Mode,
}

#[derive(Debug, PartialEq)]
enum Mode {
    Stamp,
    Fail,
    Delete,
}

impl Transform for Stamp {
    fn new(config: &Config) -> Result<Self, Error> {
        config.check_keys(&[])?;
        // Read through black_box so the marker stays in the data section, patchable.
        let marker: &str = std::hint::black_box(MARKER);
        let mut parts = marker.split(':').skip(1);
        let version = parts.next().unwrap_or("?").to_owned();
        let mode = match parts.next() {
            Some("fail") => Mode::Fail,
            Some("dele") => Mode::Delete,
            _ => Mode::Stamp,
        };
        Ok(Stamp { version, mode })
    }

    fn output_schema(&mut self, input: &[Column]) -> Result<Vec<Column>, Error> {
        let mut out = input.to_vec();
        out.push(Column::text("version"));
        Ok(out)
    }

    fn process(&mut self, row: &Row<'_>, out: &mut Emit<'_>) -> Result<(), Error> {
        match self.mode {
            Mode::Fail => Err(Error::msg(format!(
                "stamp {} fails every record",
                self.version
            ))),
            Mode::Delete => {
                out.delete().copy_row(row).text(&self.version);
                Ok(())
            }
            Mode::Stamp => {
                out.row().copy_row(row).text(&self.version);
                Ok(())
            }
        }
    }
}

holo_transform_sdk::export_transform!(Stamp);

#[cfg(test)]
mod tests {
    use super::*;
    use holo_transform_sdk::native::{MemoryHost, Output, Runner};

    #[test]
    fn rows_carry_the_version() {
        let mut r: Runner<Stamp> = Runner::with_settings(&[], Box::new(MemoryHost::new())).unwrap();
        r.output_schema(&[Column::text("id")]).unwrap();
        let out = r.run(&[vec!["1".into()]]).unwrap();
        assert_eq!(
            out,
            [Output::Row {
                input: 0,
                values: vec!["1".into(), "v1".into()]
            }]
        );
    }
}
