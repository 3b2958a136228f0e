//! `--config pipeline.toml`: a pipeline described in a file, turned into the command line
//! it stands for before the command line is parsed, so a file and flags mean exactly the
//! same thing and are checked by the same code.
//!
//! Sections `[source]`, `[transform]`, `[lookups]`, `[sink]` and `[run]` hold keys named like
//! the flags (`batch-rows` or `batch_rows` for `--batch-rows`); `true` stands for a flag
//! without a value, a list for a repeated flag. `${NAME}` in a value is the environment
//! variable NAME. A key that is no flag is an error naming it and its line. The Log
//! Service and Hologres sections also take the option names of the Flink connectors of the
//! seeds (`endpoint`, `project`, `logstore`, `consumerGroup`, `startTime`, `accessId`,
//! `accessKey`; `endpoint`, `dbname`, `tablename`, `username`, `password`, `mutatetype`,
//! `createparttable`, `partitionrouter`); secrets among them go to the environment
//! variables holo-host reads them from, never to the command line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use toml::Value;

use super::Cli;

#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("cannot read the pipeline file `{}`", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` is not valid TOML: {message}", path.display())]
    Toml { path: PathBuf, message: String },
    #[error("`{}` line {line}: {message}", path.display())]
    Key {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("--config needs a file: `--config pipeline.toml`")]
    NoPath,
}

/// What a pipeline file stands for: flags, and environment variables to set (secrets).
#[derive(Debug, Default, PartialEq)]
pub struct Expanded {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// An argv, and environment variables to set before it runs.
pub type ArgvAndEnv = (Vec<String>, Vec<(String, String)>);

/// Replaces `--config PATH` (or `--config=PATH`) in `argv` by the flags of the file; the
/// other arguments stay, after them. Returns the new argv and the environment to set.
pub fn expand_argv(argv: Vec<String>) -> Result<ArgvAndEnv, ConfigFileError> {
    let Some(at) = argv
        .iter()
        .position(|a| a == "--config" || a.starts_with("--config="))
    else {
        return Ok((argv, Vec::new()));
    };
    let mut argv = argv;
    let path = match argv[at].strip_prefix("--config=") {
        Some(p) => {
            let p = p.to_owned();
            argv.remove(at);
            p
        }
        None => {
            if at + 1 >= argv.len() {
                return Err(ConfigFileError::NoPath);
            }
            argv.remove(at);
            argv.remove(at)
        }
    };
    let file = load(Path::new(&path), &|name| std::env::var(name).ok())?;
    argv.splice(at..at, file.args);
    Ok((argv, file.env))
}

/// Reads a pipeline file; `env` looks up `${NAME}`.
pub fn load(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Expanded, ConfigFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text, env)
}

/// The flags `run` takes, by long name.
fn known_flags() -> Vec<String> {
    let cmd = Cli::command();
    let run = cmd.find_subcommand("run").expect("a run subcommand");
    (run.get_arguments().chain(cmd.get_arguments()))
        .filter_map(|a| a.get_long().map(str::to_owned))
        .collect()
}

/// The flags and environment `text` (the pipeline file at `path`) stands for.
pub fn parse(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Expanded, ConfigFileError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigFileError::Toml {
            path: path.to_owned(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
    let file = FileText { path, text };
    let flags = known_flags();
    let mut out = Expanded::default();
    for (section, value) in &table {
        let keys = file.section(section, value)?;
        // Values as text, `${NAME}` replaced.
        let mut values: BTreeMap<String, Value> = BTreeMap::new();
        for (key, v) in keys {
            let v = interpolate(v, env)
                .map_err(|m| file.err(section, key, format!("key `{key}`: {m}")))?;
            values.insert(key.clone(), v);
        }
        match section.as_str() {
            "lookups" => {
                lookups(&values, &mut out).map_err(|(k, m)| file.err(section, &k, m))?;
                continue;
            }
            "source" => {
                flink_sls(&mut values, &mut out).map_err(|(k, m)| file.err(section, &k, m))?
            }
            "sink" => {
                flink_hologres(&mut values, &mut out).map_err(|(k, m)| file.err(section, &k, m))?
            }
            "transform" => {
                transform(&mut values, &mut out).map_err(|(k, m)| file.err(section, &k, m))?
            }
            _ => {}
        }
        for (key, v) in values {
            let flag = key.replace('_', "-");
            if !flags.contains(&flag) || ["config", "help", "version"].contains(&flag.as_str()) {
                return Err(file.err(
                    section,
                    &key,
                    format!("unknown key `{key}` in [{section}]: it is no flag of `holo-host run`"),
                ));
            }
            check_value(&flag, &v)
                .map_err(|m| file.err(section, &key, format!("key `{key}`: {m}")))?;
            push_flag(&mut out.args, &flag, &v).map_err(|m| file.err(section, &key, m))?;
        }
    }
    Ok(out)
}

/// A pipeline file's name and text, to name the line of a mistake.
struct FileText<'a> {
    path: &'a Path,
    text: &'a str,
}

impl FileText<'_> {
    fn err(&self, section: &str, key: &str, message: String) -> ConfigFileError {
        ConfigFileError::Key {
            path: self.path.to_owned(),
            line: line_of(self.text, section, key),
            message,
        }
    }

    /// The keys of `[section]`, which must be one of the known sections.
    fn section<'v>(
        &self,
        section: &str,
        value: &'v Value,
    ) -> Result<&'v toml::Table, ConfigFileError> {
        let Value::Table(keys) = value else {
            return Err(self.err(
                "",
                section,
                format!("`{section}` must be a section ([{section}])"),
            ));
        };
        if !["source", "transform", "lookups", "sink", "run"].contains(&section) {
            return Err(self.err(
                "",
                section,
                format!(
                    "unknown section [{section}]: use [source], [transform], [lookups], [sink] or [run]"
                ),
            ));
        }
        Ok(keys)
    }
}

/// `[lookups]`: `NAME = "SPEC"`, each a `--lookup NAME=SPEC`.
fn lookups(values: &BTreeMap<String, Value>, out: &mut Expanded) -> Result<(), (String, String)> {
    for (name, spec) in values {
        let spec = scalar(spec)
            .ok_or_else(|| (name.clone(), format!("lookup `{name}` must be a string")))?;
        out.args
            .extend(["--lookup".into(), format!("{name}={spec}")]);
    }
    Ok(())
}

/// `[transform]`: `path`, `memory` and `timeout` for the `--transform…` flags, and the
/// settings table `set`.
fn transform(
    values: &mut BTreeMap<String, Value>,
    out: &mut Expanded,
) -> Result<(), (String, String)> {
    for (short, long) in [
        ("path", "transform"),
        ("memory", "transform-memory"),
        ("timeout", "transform-timeout"),
    ] {
        if let Some(v) = values.remove(short) {
            values.insert(long.into(), v);
        }
    }
    let Some(set) = values.remove("set") else {
        return Ok(());
    };
    let Value::Table(set) = set else {
        return Err((
            "set".into(),
            "`set` must be a table: set = { key = \"value\" }".into(),
        ));
    };
    for (k, v) in set {
        let v = scalar(&v).ok_or_else(|| {
            (
                "set".to_owned(),
                format!("setting `{k}` must be a string or a number"),
            )
        })?;
        out.args.extend(["--set".into(), format!("{k}={v}")]);
    }
    Ok(())
}

/// `[source]`: `csv` and `sls`, and the Flink Log Service connector's options.
fn flink_sls(
    keys: &mut BTreeMap<String, Value>,
    out: &mut Expanded,
) -> Result<(), (String, String)> {
    if let Some(csv) = keys.remove("csv") {
        let files = match csv {
            Value::Array(items) => items,
            v => vec![v],
        };
        for f in files {
            let f = scalar(&f).ok_or((
                "csv".to_owned(),
                "`csv` must be a path or a list of paths".to_owned(),
            ))?;
            out.args.extend(["--source".into(), format!("csv:{f}")]);
        }
    }
    if let Some(sls) = keys.remove("sls") {
        let s = scalar(&sls).ok_or(("sls".to_owned(), "`sls` must be an sls:// URL".to_owned()))?;
        out.args.extend(["--source".into(), s]);
    }
    let (project, logstore) = (keys.remove("project"), keys.remove("logstore"));
    let endpoint = keys.remove("endpoint");
    match (project, logstore, endpoint) {
        (None, None, None) => {}
        (Some(p), Some(l), Some(e)) => {
            let (p, l, e) = (
                scalar(&p).unwrap_or_default(),
                scalar(&l).unwrap_or_default(),
                scalar(&e).unwrap_or_default(),
            );
            let e = if e.contains("://") {
                e
            } else {
                format!("https://{e}")
            };
            let mut url = format!("sls://{p}/{l}?endpoint={e}");
            for (keys_of, param) in [
                (["consumerGroup", "consumer_group"], "consumer_group"),
                (["startTime", "start"], "start"),
            ] {
                for k in keys_of {
                    if let Some(v) = keys.remove(k) {
                        url.push_str(&format!("&{param}={}", scalar(&v).unwrap_or_default()));
                    }
                }
            }
            out.args.extend(["--source".into(), url]);
        }
        _ => {
            return Err((
                "endpoint".into(),
                "the Log Service options need all of `endpoint`, `project` and `logstore`".into(),
            ));
        }
    }
    for (k, var) in [
        ("accessId", "ALIBABA_CLOUD_ACCESS_KEY_ID"),
        ("accessKey", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    ] {
        if let Some(v) = keys.remove(k) {
            out.env.push((var.into(), scalar(&v).unwrap_or_default()));
        }
    }
    Ok(())
}

/// `[sink]`: `dsn`, and the Flink Hologres connector's options.
fn flink_hologres(
    keys: &mut BTreeMap<String, Value>,
    out: &mut Expanded,
) -> Result<(), (String, String)> {
    if let Some(dsn) = keys.remove("dsn") {
        keys.insert("sink".into(), dsn);
    }
    if let Some(t) = keys.remove("tablename") {
        keys.insert("table".into(), t);
    }
    if let Some(m) = keys.remove("mutatetype") {
        keys.insert("mode".into(), m);
    }
    if let Some(v) = keys.remove("createparttable")
        && scalar(&v).as_deref() == Some("true")
    {
        keys.insert("create-partitions".into(), Value::Boolean(true));
    }
    // Rows are routed to a partitioned table's children whatever this says.
    keys.remove("partitionrouter");
    let endpoint = keys.remove("endpoint");
    let dbname = keys.remove("dbname");
    let username = keys.remove("username");
    if let Some(p) = keys.remove("password") {
        out.env
            .push(("PGPASSWORD".into(), scalar(&p).unwrap_or_default()));
    }
    match (endpoint, dbname) {
        (None, None) => {}
        (Some(e), Some(d)) => {
            let user = username
                .and_then(|u| scalar(&u))
                .map(|u| format!("{}@", encode_user(&u)))
                .unwrap_or_default();
            let dsn = format!(
                "postgres://{user}{}/{}",
                scalar(&e).unwrap_or_default(),
                scalar(&d).unwrap_or_default()
            );
            keys.insert("sink".into(), Value::String(dsn));
        }
        _ => {
            return Err((
                "endpoint".into(),
                "the Hologres options need both `endpoint` and `dbname`".into(),
            ));
        }
    }
    Ok(())
}

/// A user name as it may stand in a URL (access key ids hold no reserved characters, but
/// RAM user names may hold `@`).
fn encode_user(u: &str) -> String {
    u.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' | '~' => c.to_string(),
            c => c.to_string().bytes().map(|b| format!("%{b:02X}")).collect(),
        })
        .collect()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Integer(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Checks `v` with `--flag`'s own parser, so a bad value (`16XB` for a size) names its line
/// in the file and not only the flag it became. Whatever depends on other flags (one flag
/// requiring another) is left to the command line's parse.
fn check_value(flag: &str, v: &Value) -> Result<(), String> {
    let items = match v {
        Value::Array(items) => items.as_slice(),
        v => std::slice::from_ref(v),
    };
    for value in items.iter().filter(|v| !v.is_bool()).filter_map(scalar) {
        let argv = [
            "holo-host",
            "run",
            "--source",
            "csv:-",
            &format!("--{flag}"),
            &value,
        ];
        if let Err(e) = Cli::command().try_get_matches_from(argv)
            && matches!(
                e.kind(),
                clap::error::ErrorKind::InvalidValue | clap::error::ErrorKind::ValueValidation
            )
        {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            return Err(first.trim_start_matches("error: ").to_owned());
        }
    }
    Ok(())
}

fn push_flag(args: &mut Vec<String>, flag: &str, v: &Value) -> Result<(), String> {
    match v {
        Value::Boolean(true) => args.push(format!("--{flag}")),
        Value::Boolean(false) => {}
        Value::Array(items) => {
            for item in items {
                push_flag(args, flag, item)?;
            }
        }
        v => {
            let s =
                scalar(v).ok_or_else(|| format!("`{flag}` takes a string, a number or true"))?;
            args.extend([format!("--{flag}"), s]);
        }
    }
    Ok(())
}

/// `v` with `${NAME}` replaced in every string.
fn interpolate(v: &Value, env: &dyn Fn(&str) -> Option<String>) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => {
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(at) = rest.find("${") {
                out.push_str(&rest[..at]);
                let end = rest[at..]
                    .find('}')
                    .ok_or_else(|| format!("`${{` without `}}` in `{s}`"))?;
                let name = &rest[at + 2..at + end];
                let value = env(name).ok_or_else(|| {
                    format!("environment variable {name} (in `${{{name}}}`) is not set")
                })?;
                out.push_str(&value);
                rest = &rest[at + end + 1..];
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| interpolate(i, env))
                .collect::<Result<_, _>>()?,
        ),
        Value::Table(t) => Value::Table(
            t.iter()
                .map(|(k, v)| Ok((k.clone(), interpolate(v, env)?)))
                .collect::<Result<_, String>>()?,
        ),
        v => v.clone(),
    })
}

/// The line (from 1) of `key` in `[section]` (or at the top when `section` is empty).
fn line_of(text: &str, section: &str, key: &str) -> usize {
    let mut in_section = section.is_empty();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            let name = t.trim_matches(|c| c == '[' || c == ']').trim();
            if section.is_empty() && name == key {
                return i + 1;
            }
            in_section = name == section;
            continue;
        }
        let k = t.split('=').next().unwrap_or("").trim().trim_matches('"');
        if in_section && k == key {
            return i + 1;
        }
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOLO_DSN" => Some("postgres://u@db:5432/books".into()),
            "AK" => Some("ak-id".into()),
            "SK" => Some("sk-secret".into()),
            "PW" => Some("pw".into()),
            _ => None,
        }
    }

    fn parse_text(text: &str) -> Result<Expanded, ConfigFileError> {
        parse(Path::new("pipeline.toml"), text, &env)
    }

    #[test]
    fn a_file_stands_for_flags() {
        let e = parse_text(
            r#"
[source]
csv = ["orders.csv", "more/*.csv"]
batch_rows = 500

[transform]
path = "enrich.wasm"
set = { lookup = "books", columns = "name" }
memory = 128

[lookups]
books = "csv:books.csv?columns=id,name"

[sink]
dsn = "${HOLO_DSN}"
table = "public.book_order"
mode = "insert-or-update"
create-table = true
primary-key = ["order_id"]

[run]
dead-letter = "rejected.jsonl"
no-progress = true
"#,
        )
        .unwrap();
        let args = e.args.join(" ");
        for want in [
            "--source csv:orders.csv --source csv:more/*.csv",
            "--batch-rows 500",
            "--set columns=name --set lookup=books",
            "--transform enrich.wasm",
            "--transform-memory 128",
            "--lookup books=csv:books.csv?columns=id,name",
            "--sink postgres://u@db:5432/books",
            "--create-table",
            "--primary-key order_id",
            "--no-progress",
        ] {
            assert!(args.contains(want), "missing {want:?} in {args}");
        }
        assert!(e.env.is_empty());
    }

    #[test]
    fn flink_connector_options_are_taken() {
        let e = parse_text(
            r#"
[source]
endpoint = "ap-northeast-1.log.aliyuncs.com"
project = "books"
logstore = "ratings"
consumerGroup = "holo"
startTime = "begin"
accessId = "${AK}"
accessKey = "${SK}"

[sink]
endpoint = "hgpost.hologres.aliyuncs.com:80"
dbname = "books"
tablename = "public.book_rating"
username = "${AK}"
password = "${PW}"
mutatetype = "insertorupdate"
createparttable = "true"
partitionrouter = "true"
"#,
        )
        .unwrap();
        let args = e.args.join(" ");
        assert!(args.contains("--source sls://books/ratings?endpoint=https://ap-northeast-1.log.aliyuncs.com&consumer_group=holo&start=begin"), "{args}");
        assert!(
            args.contains("--sink postgres://ak-id@hgpost.hologres.aliyuncs.com:80/books"),
            "{args}"
        );
        assert!(
            args.contains("--table public.book_rating") && args.contains("--mode insertorupdate")
        );
        assert!(args.contains("--create-partitions"), "{args}");
        // Secrets go to the environment, not the command line.
        assert!(
            !args.contains("sk-secret") && !args.contains("pw"),
            "{args}"
        );
        let mut env = e.env;
        env.sort();
        assert_eq!(
            env,
            [
                (
                    "ALIBABA_CLOUD_ACCESS_KEY_ID".to_string(),
                    "ak-id".to_string()
                ),
                (
                    "ALIBABA_CLOUD_ACCESS_KEY_SECRET".to_string(),
                    "sk-secret".to_string()
                ),
                ("PGPASSWORD".to_string(), "pw".to_string()),
            ]
        );
    }

    #[test]
    fn mistakes_name_the_key_and_the_line() {
        let err = parse_text("[sink]\ntable = \"t\"\ntabel = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "`pipeline.toml` line 3: unknown key `tabel` in [sink]: it is no flag of `holo-host run`"
        );
        let err = parse_text("[source]\ncsv = \"a.csv\"\n\n[sinks]\nx = 1\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("`pipeline.toml` line 4: unknown section [sinks]"),
            "{err}"
        );
        let err = parse_text("[sink]\ndsn = \"${NOPE}\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "`pipeline.toml` line 2: key `dsn`: environment variable NOPE (in `${NOPE}`) is not set"
        );
        let err = parse_text("[sink\n").unwrap_err().to_string();
        assert!(
            err.starts_with("`pipeline.toml` is not valid TOML"),
            "{err}"
        );
        let err = parse_text("[source]\nproject = \"p\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("need all of `endpoint`, `project` and `logstore`"),
            "{err}"
        );
    }

    #[test]
    fn sizes_in_a_file_take_units() {
        let e = parse_text(
            "[source]\ncsv = \"a.csv\"\nmax_record_bytes = \"16 MiB\"\nbatch-bytes = 65536\n\n\
             [transform]\npath = \"t.wasm\"\nmemory = \"1GiB\"\n",
        )
        .unwrap();
        let argv = ["holo-host", "run"]
            .map(String::from)
            .into_iter()
            .chain(e.args);
        let cli = <Cli as clap::Parser>::try_parse_from(argv).unwrap();
        let super::super::Command::Run(run) = cli.command else {
            panic!("a run")
        };
        let c = run.build().unwrap();
        let crate::config::SourceConfig::Csv(csv) = &c.source else {
            panic!("a CSV source")
        };
        assert_eq!((csv.max_record_bytes, csv.batch_bytes), (16 << 20, 65536));
        assert_eq!(c.transform.unwrap().memory_limit, 1 << 30);
    }

    #[test]
    fn a_bad_value_names_its_line() {
        let err = parse_text("[source]\ncsv = \"a.csv\"\nmax_record_bytes = \"16XB\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("`pipeline.toml` line 3: key `max_record_bytes`: invalid value '16XB' for '--max-record-bytes <SIZE>'"),
            "{err}"
        );
        assert!(err.contains("unknown unit `XB`"), "{err}");
        let err = parse_text("[run]\nbatch-interval = \"soon\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("`pipeline.toml` line 2: key `batch-interval`"),
            "{err}"
        );
    }

    #[test]
    fn the_command_line_keeps_its_other_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "[source]\ncsv = \"a.csv\"\n").unwrap();
        let argv: Vec<String> = [
            "holo-host",
            "run",
            "--config",
            path.to_str().unwrap(),
            "--no-progress",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (argv, env) = expand_argv(argv).unwrap();
        assert_eq!(
            argv,
            ["holo-host", "run", "--source", "csv:a.csv", "--no-progress"]
        );
        assert!(env.is_empty());
        let cli = <Cli as clap::Parser>::try_parse_from(&argv).unwrap();
        assert!(matches!(cli.command, super::super::Command::Run(_)));
    }
}
