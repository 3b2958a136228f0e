//! Arguments of the authoring commands: `test`, `inspect` and `new` (see [`crate::author`]).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{parse_duration, parse_mebibytes, parse_setting};
use crate::author::new::Lang;
use crate::lookup::LookupSpec;
use crate::record::Schema;
use crate::transform::{TransformConfig, cache};

/// How a transform is run by `test` and `inspect`.
#[derive(Debug, Args)]
pub struct TransformArgs {
    /// The transform component.
    #[arg(value_name = "TRANSFORM.wasm")]
    pub transform: PathBuf,

    /// A setting for the transform, `KEY=VALUE` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub settings: Vec<(String, String)>,

    /// A dimension table the transform can query: `NAME=csv:PATH[?columns=a,b][&key=COL]`
    /// (database tables need `dsn=`).
    #[arg(long = "lookup", value_name = "NAME=SPEC")]
    pub lookups: Vec<LookupSpec>,

    /// Memory cap of the transform, in MiB, or with a unit (`256MiB`, `1GiB`).
    #[arg(long, value_name = "MiB", value_parser = parse_mebibytes,
          default_value_t = TransformConfig::default_memory_limit() >> 20)]
    pub transform_memory: usize,

    /// CPU time the transform may spend on one batch.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub transform_timeout: Duration,

    /// Where compiled transforms are cached (default: `~/.cache/holo-host`).
    #[arg(long, value_name = "DIR", env = "HOLO_HOST_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

impl TransformArgs {
    pub fn config(&self) -> TransformConfig {
        TransformConfig {
            path: self.transform.clone(),
            settings: self.settings.clone(),
            cache_dir: self.cache_dir.clone().or_else(cache::default_dir),
            memory_limit: self.transform_memory << 20,
            timeout: self.transform_timeout,
        }
    }
}

#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub transform: TransformArgs,

    /// The records to run it on: a CSV file with a header row.
    #[arg(long, value_name = "FILE.csv")]
    pub input: PathBuf,

    /// The outcomes expected, as JSON lines (what `test` prints when not on a terminal):
    /// any difference is shown and the exit code is 1.
    #[arg(long, value_name = "FILE.jsonl")]
    pub expect: Option<PathBuf>,

    /// `table` or `json` (JSON lines); by default a table on a terminal, JSON otherwise.
    #[arg(long, value_name = "table|json")]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub transform: TransformArgs,

    /// Input columns to ask the transform's output columns for: `a:text,b:int,…` (types:
    /// text, int, float, boolean, json; text when left out).
    #[arg(long, value_name = "COLUMNS", value_parser = parse_columns)]
    pub input_columns: Option<Schema>,
}

fn parse_columns(s: &str) -> Result<Schema, String> {
    crate::author::inspect::parse_columns(s)
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The project's name, as `cargo new` takes it (letters, digits, `-` and `_`); it names
    /// the folder, the crate and the `.wasm` file (the Rust library has `-` as `_`).
    pub name: String,

    /// The language of the transform.
    #[arg(long, value_name = "rust|python|js", default_value = "rust")]
    pub lang: Lang,

    /// Where to create the project folder.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}
