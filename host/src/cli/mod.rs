//! The command line: raw arguments (clap) first, then validated into a [`PipelineConfig`].
//!
//! - [`sink`]: the destination's arguments (`--sink`, `--table`, …);
//! - [`author`]: the arguments of `test`, `inspect` and `new`;
//! - [`config_file`]: `--config pipeline.toml`, a pipeline file turned into these flags.

mod author;
pub mod config_file;
mod sink;

pub use author::{InspectArgs, NewArgs, TestArgs};
pub use sink::SinkArgs;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{ErrorRate, PipelineConfig, Reload, SourceConfig, Start};
use crate::input::objects;
use crate::lookup::LookupSpec;
use crate::source::csv::{CsvSourceConfig, Partition};
use crate::source::sls::SlsSourceConfig;
use crate::transform::{TransformConfig, cache};

/// Moves records from CSV files into PostgreSQL/Hologres through a WebAssembly transform.
#[derive(Debug, Parser)]
#[command(name = "holo-host", version, about, long_about = None)]
pub struct Cli {
    /// More log output (-v debug, -vv trace); `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log lines as `text` for people, or `json` (one object per line) for log collectors.
    #[arg(long, value_name = "text|json", default_value = "text", global = true,
          value_parser = ["text", "json"])]
    pub log_format: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline: source → transform → sink.
    Run(RunArgs),
    /// Print what `run` with the same arguments would do (column mapping, write mode, the
    /// SQL it would send) without writing anything.
    Plan(RunArgs),
    /// Run a transform on a CSV file, with no database: what it emits, rejects and deletes,
    /// or with --expect how that differs from what was expected.
    Test(TestArgs),
    /// What a transform component is: the WIT version it was built for, its imports, size,
    /// hash, whether it is compiled in the cache, and its output columns.
    Inspect(InspectArgs),
    /// Create a transform project that builds and passes `holo-host test` as generated.
    New(NewArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Read the pipeline from a TOML file (sections [source], [transform], [lookups],
    /// [sink], [run] with keys named like these flags, `${ENV}` for secrets; the Flink
    /// connectors' option names are taken too). Other flags on the command line follow it.
    #[arg(long, value_name = "pipeline.toml")]
    pub config: Option<PathBuf>,

    /// Where records come from: `csv:PATH` (a file, a glob such as `csv:data/*.csv`, or
    /// `csv:-` for stdin; repeat for several files), or one Log Service logstore,
    /// `sls://PROJECT/LOGSTORE?endpoint=URL[&consumer_group=G][&start=begin|end|SECS]
    /// [&columns=a,b][&consumer=NAME][&timeout=SECS]` (access key from
    /// ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET).
    #[arg(long, value_name = "SPEC", required = true)]
    pub source: Vec<String>,

    /// The WebAssembly component that transforms each record. Without it, rows pass
    /// through unchanged.
    #[arg(long, value_name = "FILE.wasm")]
    pub transform: Option<PathBuf>,

    /// A setting for the transform, `KEY=VALUE` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub settings: Vec<(String, String)>,

    /// A dimension table transforms can query by key: `NAME=csv:PATH[?columns=a,b][&key=COL]`
    /// or `NAME=postgres:[SCHEMA.]TABLE[?key=COL][&columns=a,b][&preload=N][&cache=N]
    /// [&refresh=SECS][&dsn=DSN]` (the sink's database unless `dsn=` is given, last).
    #[arg(long = "lookup", value_name = "NAME=SPEC")]
    pub lookups: Vec<LookupSpec>,

    #[command(flatten)]
    pub sink: SinkArgs,

    /// Write rejected records to this file as JSON lines (appended).
    #[arg(long, value_name = "PATH")]
    pub dead_letter: Option<PathBuf>,

    /// Forget the saved position of this load and read the input from the beginning
    /// (rows already written stay in the table).
    #[arg(long)]
    pub from_scratch: bool,

    /// Rows per batch [default: 32768 for files, 4096 for streams]. A batch is one
    /// transaction; the transform takes it in calls of at most 4096 rows.
    #[arg(long, value_name = "N")]
    pub batch_rows: Option<usize>,

    /// Bytes (encoded) per batch at most, as a number of bytes or with a unit (`16MiB`)
    /// [default: 16MiB for files, 4MiB for streams].
    #[arg(long, value_name = "SIZE")]
    pub batch_bytes: Option<ByteSize>,

    /// For streams: bytes (uncompressed) each shard reads ahead, about: a pull asks for as
    /// many log groups as fit, by the size of the last ones (at least one).
    #[arg(long, value_name = "SIZE",
          default_value_t = ByteSize::of(SlsSourceConfig::default_prefetch_bytes()))]
    pub prefetch_bytes: ByteSize,

    /// A CSV record larger than this is dead-lettered with its size and line, and reading
    /// goes on at the next line, without holding it whole.
    #[arg(long, value_name = "SIZE",
          default_value_t = ByteSize(CsvSourceConfig::default_max_record_bytes()))]
    pub max_record_bytes: ByteSize,

    /// For streams: a batch that has waited this long is written, however small, so
    /// records are visible within about this time.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "500ms")]
    pub batch_interval: Duration,

    /// For streams: stop once every shard has been caught up for this long (tests,
    /// backfills). Without it a stream runs until SIGINT/SIGTERM.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub exit_when_idle: Option<Duration>,

    /// Memory cap of the transform, in MiB, or with a unit (`256MiB`, `1GiB`).
    #[arg(long, value_name = "MiB", value_parser = parse_mebibytes,
          default_value_t = TransformConfig::default_memory_limit() >> 20)]
    pub transform_memory: usize,

    /// CPU time the transform may spend on one batch (`10s`, `500ms`, or seconds) before it
    /// is stopped; the batch's records are then retried one group at a time to find the
    /// one that causes it.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          default_value = "10s")]
    pub transform_timeout: Duration,

    /// Reload the transform when its file changes, and on SIGHUP: the new version is
    /// compiled and checked in the background and takes over between two batches.
    #[arg(long, requires = "transform")]
    pub watch: bool,

    /// Run a new version beside the current one on N batches first (only the current
    /// one's output is written); it takes over only if it fails no more records.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "watch")]
    pub canary: u32,

    /// Stop the run when the transform fails more than this fraction of the records (over
    /// the last --error-window records), rather than dead-lettering a whole stream.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.9)]
    pub max_error_rate: f64,

    /// Records the --max-error-rate is measured over.
    #[arg(long, value_name = "N", default_value_t = ErrorRate::default_window())]
    pub error_window: u64,

    /// Load only one share of the input files: `INDEX/COUNT` (or `COUNT`, the index then
    /// coming from JOB_COMPLETION_INDEX, as in a Kubernetes Indexed Job). A file belongs to
    /// the share its path's stable hash falls to; each share keeps its own positions, so N
    /// processes load N disjoint shares exactly once and each resumes alone.
    #[arg(long, value_name = "INDEX/COUNT")]
    pub partition: Option<String>,

    /// Also write the run summary as JSON to this file (read, written, dead-lettered,
    /// seconds, how the run ended, the transform's counts).
    #[arg(long, value_name = "PATH")]
    pub summary_json: Option<PathBuf>,

    /// Where compiled transforms are cached (default: `~/.cache/holo-host`).
    #[arg(long, value_name = "DIR", env = "HOLO_HOST_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Serve Prometheus metrics on `/metrics`, and `/healthz` (alive) and `/readyz` (source
    /// and sink connected, transform loaded), at this address (`0.0.0.0:9464`).
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<std::net::SocketAddr>,

    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
}

pub(crate) fn parse_setting(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// `10s`, `1.5s`, `250ms`, `2m`, or a number of seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (number, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (say 10s, 500ms or 2m)"))?;
    let seconds = match unit.trim() {
        "ms" => n / 1000.0,
        "s" | "sec" => n,
        "m" | "min" => n * 60.0,
        _ => return Err(format!("`{s}`: unknown unit (use ms, s or m)")),
    };
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(format!("`{s}` must be a positive duration"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A size in bytes: a number of bytes (`524288`), or a number and a unit (`512KiB`,
/// `16 MiB`, `1.5GB`), the unit in any case: `B`; `KiB`, `MiB`, `GiB` are powers of 1024;
/// `KB`, `MB`, `GB` powers of 1000, as in the SI.
pub(crate) fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (number, unit) = t.split_at(t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len()));
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" => 1 << 10,
        "mb" => 1_000_000,
        "mib" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "`{s}`: unknown unit `{unit}` (use B, KB, KiB, MB, MiB, GB or GiB)"
            ));
        }
    };
    let number = number.trim();
    let bytes = match number.parse::<u64>() {
        Ok(n) => n.checked_mul(scale),
        // A fraction (`1.5GiB`) must still come to whole bytes.
        Err(_) => (number.parse::<f64>().ok())
            .map(|n| n * scale as f64)
            .filter(|b| b.is_finite() && *b >= 0.0 && b.fract() == 0.0 && *b < u64::MAX as f64)
            .map(|b| b as u64),
    };
    bytes.ok_or_else(|| format!("`{s}` is not a size (say 524288, 512KiB or 16MiB)"))
}

/// A memory cap in MiB: a number of MiB (`64`), or a size with a unit (`1GiB`) that comes
/// to whole MiB.
pub(crate) fn parse_mebibytes(s: &str) -> Result<usize, String> {
    if let Ok(mib) = s.trim().parse::<usize>() {
        return Ok(mib);
    }
    let bytes = parse_bytes(s)?;
    if !bytes.is_multiple_of(1 << 20) {
        return Err(format!("`{s}` is not a whole number of MiB"));
    }
    usize::try_from(bytes >> 20).map_err(|_| format!("`{s}` is too large"))
}

/// A byte size on the command line: parsed by [`parse_bytes`], shown in the largest binary
/// unit it is a whole number of (`512KiB`), so the help's defaults read as the docs write
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn of(bytes: usize) -> ByteSize {
        ByteSize(bytes as u64)
    }

    /// The size as a `usize`, saturated (a size past the address space bounds nothing).
    pub fn usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl std::str::FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        parse_bytes(s).map(ByteSize)
    }
}

impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
            if self.0 >= 1 << shift && self.0.is_multiple_of(1 << shift) {
                return write!(f, "{}{unit}", self.0 >> shift);
            }
        }
        write!(f, "{}", self.0)
    }
}

/// Why the arguments do not make a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    #[error(
        "--source `{0}` is not supported: use csv:PATH, csv:oss://BUCKET/KEY?endpoint=URL or sls://PROJECT/LOGSTORE?endpoint=URL"
    )]
    UnknownSource(String),
    /// A Log Service or object URL that does not parse.
    #[error("--source: {0}")]
    Sls(String),
    #[error("--source sls://… reads one logstore and cannot be combined with other sources")]
    MixedSources,
    #[error(transparent)]
    Sink(#[from] sink::SinkArgsError),
    #[error("--batch-rows must be at least 1")]
    BatchRows,
    #[error("--max-error-rate {0} is not a fraction in (0, 1]")]
    ErrorRate(f64),
    #[error("--error-window must be at least 1")]
    ErrorWindow,
    #[error("{0}")]
    Partition(String),
    #[error(
        "--partition splits CSV files; a Log Service stream scales through its consumer group: \
         run more members with the same consumer_group instead"
    )]
    PartitionStream,
}

impl RunArgs {
    /// Validates the raw arguments into the pipeline's settings.
    pub fn build(self) -> Result<PipelineConfig, ArgsError> {
        let mut inputs = Vec::with_capacity(self.source.len());
        let mut stream = None;
        for spec in &self.source {
            if spec.starts_with("sls://") {
                let mut sls = SlsSourceConfig::parse(spec).map_err(ArgsError::Sls)?;
                sls.batch_rows = self.batch_rows.unwrap_or(sls.batch_rows);
                sls.batch_bytes = self.batch_bytes.map_or(sls.batch_bytes, ByteSize::usize);
                sls.prefetch_bytes = self.prefetch_bytes.usize();
                sls.batch_interval = self.batch_interval;
                sls.exit_when_idle = self.exit_when_idle;
                stream = Some(sls);
                continue;
            }
            match spec.strip_prefix("csv:") {
                // An object URL is checked now, so a bad option stops the run before it
                // lists anything.
                Some(url) if objects::is_remote(url) => {
                    objects::ObjectUrl::parse(url).map_err(ArgsError::Sls)?;
                    inputs.push(url.to_owned());
                }
                Some(path) if !path.is_empty() => inputs.push(path.to_owned()),
                _ => return Err(ArgsError::UnknownSource(spec.clone())),
            }
        }
        if stream.is_some() && self.source.len() > 1 {
            return Err(ArgsError::MixedSources);
        }
        if self.batch_rows == Some(0) {
            return Err(ArgsError::BatchRows);
        }
        if !(self.max_error_rate > 0.0 && self.max_error_rate <= 1.0) {
            return Err(ArgsError::ErrorRate(self.max_error_rate));
        }
        if self.error_window == 0 {
            return Err(ArgsError::ErrorWindow);
        }
        let partition = match &self.partition {
            None => None,
            Some(_) if stream.is_some() => return Err(ArgsError::PartitionStream),
            Some(p) => Some(
                Partition::parse(p, std::env::var("JOB_COMPLETION_INDEX").ok().as_deref())
                    .map_err(ArgsError::Partition)?,
            ),
        };
        let sink = self.sink.build()?;
        let transform = self.transform.map(|path| TransformConfig {
            path,
            settings: self.settings,
            cache_dir: self.cache_dir.or_else(cache::default_dir),
            memory_limit: self.transform_memory << 20,
            timeout: self.transform_timeout,
        });
        Ok(PipelineConfig {
            source: match stream {
                Some(sls) => SourceConfig::Sls(Box::new(sls)),
                None => SourceConfig::Csv(CsvSourceConfig {
                    inputs,
                    batch_rows: (self.batch_rows)
                        .unwrap_or_else(CsvSourceConfig::default_batch_rows),
                    batch_bytes: (self.batch_bytes)
                        .map_or_else(CsvSourceConfig::default_batch_bytes, ByteSize::usize),
                    max_record_bytes: self.max_record_bytes.0,
                    partition,
                }),
            },
            transform,
            lookups: self.lookups,
            sink,
            dead_letter: self.dead_letter,
            start: if self.from_scratch {
                Start::FromScratch
            } else {
                Start::Resume
            },
            progress: !self.no_progress,
            reload: if self.watch {
                Reload::Watch {
                    canary_batches: self.canary,
                }
            } else {
                Reload::Never
            },
            // 1 (every record may fail) switches the check off.
            max_error_rate: (self.max_error_rate < 1.0).then_some(ErrorRate {
                limit: self.max_error_rate,
                window: self.error_window,
            }),
            metrics_addr: self.metrics_addr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SinkConfig;

    fn parse(args: &[&str]) -> Result<PipelineConfig, String> {
        let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
        let (Command::Run(run) | Command::Plan(run)) = cli.command else {
            return Err("not a run".into());
        };
        run.build().map_err(|e| e.to_string())
    }

    #[test]
    fn full_command_line() {
        let c = parse(&[
            "holo-host",
            "run",
            "--source",
            "csv:orders.csv",
            "--transform",
            "enrich.wasm",
            "--set",
            "lookup=books",
            "--set",
            "columns=name:book_name",
            "--lookup",
            "books=csv:books.csv?columns=id,name",
            "--sink",
            "postgres://u@h/db",
            "--table",
            "public.book_order",
            "--dead-letter",
            "rejected.jsonl",
        ])
        .unwrap();
        let SourceConfig::Csv(csv) = &c.source else {
            panic!("a CSV source")
        };
        assert_eq!(csv.inputs, ["orders.csv"]);
        let t = c.transform.unwrap();
        assert_eq!(t.settings[1], ("columns".into(), "name:book_name".into()));
        assert!(matches!(c.sink, SinkConfig::Postgres(p) if p.table == "public.book_order"));
        assert_eq!(c.lookups.len(), 1);
    }

    #[test]
    fn transform_runtime_flags() {
        let c = parse(&[
            "holo-host",
            "run",
            "--source",
            "csv:o.csv",
            "--transform",
            "t.wasm",
            "--transform-timeout",
            "250ms",
            "--watch",
            "--canary",
            "3",
            "--max-error-rate",
            "0.5",
        ])
        .unwrap();
        assert_eq!(c.transform.unwrap().timeout, Duration::from_millis(250));
        assert_eq!(c.reload, Reload::Watch { canary_batches: 3 });
        assert_eq!(
            c.max_error_rate,
            Some(ErrorRate {
                limit: 0.5,
                window: 1000
            })
        );
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5h").unwrap_err().contains("unknown unit"));
        assert!(
            parse(&[
                "holo-host",
                "run",
                "--source",
                "csv:a",
                "--max-error-rate",
                "1.5"
            ])
            .unwrap_err()
            .contains("--max-error-rate 1.5")
        );
        let off = parse(&[
            "holo-host",
            "run",
            "--source",
            "csv:a",
            "--max-error-rate",
            "1",
        ]);
        assert_eq!(off.unwrap().max_error_rate, None);
    }

    #[test]
    fn log_service_source() {
        let c = parse(&[
            "holo-host",
            "run",
            "--source",
            "sls://p/orders?endpoint=http://127.0.0.1:9&consumer_group=holo&start=end",
            "--batch-interval",
            "200ms",
            "--exit-when-idle",
            "2s",
        ])
        .unwrap();
        let SourceConfig::Sls(s) = c.source else {
            panic!("a Log Service source")
        };
        assert_eq!(s.logstore, "orders");
        assert_eq!(s.batch_interval, Duration::from_millis(200));
        assert_eq!(s.exit_when_idle, Some(Duration::from_secs(2)));
        let err = parse(&[
            "holo-host",
            "run",
            "--source",
            "sls://p/l?endpoint=x",
            "--source",
            "csv:a.csv",
        ])
        .unwrap_err();
        assert!(err.contains("cannot be combined"), "{err}");
    }

    #[test]
    fn byte_sizes_take_units() {
        assert_eq!(parse_bytes("524288"), Ok(524288));
        assert_eq!(parse_bytes("512KiB"), Ok(512 << 10));
        assert_eq!(parse_bytes("16 MiB"), Ok(16 << 20));
        assert_eq!(parse_bytes("16mib"), Ok(16 << 20));
        assert_eq!(parse_bytes("2KB"), Ok(2000));
        assert_eq!(parse_bytes("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_bytes("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_bytes("7B"), Ok(7));
        assert!(parse_bytes("1.5").is_err());
        assert!(
            parse_bytes("5TiB")
                .unwrap_err()
                .contains("unknown unit `TiB`")
        );
        assert!(
            parse_bytes("-1KiB")
                .unwrap_err()
                .contains("`-1KiB` is not a size")
        );
        assert_eq!(parse_mebibytes("128"), Ok(128));
        assert_eq!(parse_mebibytes("1GiB"), Ok(1024));
        assert!(
            parse_mebibytes("512KiB")
                .unwrap_err()
                .contains("whole number of MiB")
        );
        // The help shows the defaults in the units the docs use.
        assert_eq!(ByteSize(512 << 10).to_string(), "512KiB");
        assert_eq!(ByteSize(16 << 20).to_string(), "16MiB");
        assert_eq!(ByteSize(1000).to_string(), "1000");

        let c = parse(&[
            "holo-host",
            "run",
            "--source",
            "sls://p/l?endpoint=http://127.0.0.1:9",
            "--prefetch-bytes",
            "512KiB",
            "--batch-bytes",
            "2MB",
        ])
        .unwrap();
        let SourceConfig::Sls(s) = c.source else {
            panic!("a Log Service source")
        };
        assert_eq!((s.prefetch_bytes, s.batch_bytes), (512 << 10, 2_000_000));
        let c = parse(&[
            "holo-host",
            "run",
            "--source",
            "csv:a.csv",
            "--transform",
            "t.wasm",
            "--max-record-bytes",
            "16MiB",
            "--transform-memory",
            "1GiB",
        ])
        .unwrap();
        let SourceConfig::Csv(csv) = &c.source else {
            panic!("a CSV source")
        };
        assert_eq!(csv.max_record_bytes, 16 << 20);
        assert_eq!(c.transform.unwrap().memory_limit, 1 << 30);
        let err = parse(&[
            "holo-host",
            "run",
            "--source",
            "csv:a.csv",
            "--max-record-bytes",
            "16XB",
        ])
        .unwrap_err();
        assert!(
            err.contains("'16XB'") && err.contains("--max-record-bytes"),
            "{err}"
        );
    }

    #[test]
    fn bad_arguments_are_named() {
        assert!(
            parse(&["holo-host", "run", "--source", "kafka:x"])
                .unwrap_err()
                .contains("kafka:x")
        );
        assert!(
            parse(&[
                "holo-host",
                "run",
                "--source",
                "csv:a",
                "--sink",
                "postgres://h/db"
            ])
            .unwrap_err()
            .contains("--table")
        );
        assert!(
            parse(&["holo-host", "run", "--source", "csv:a", "--set", "novalue"])
                .unwrap_err()
                .contains("KEY=VALUE")
        );
    }
}
