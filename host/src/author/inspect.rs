//! `holo-host inspect`: what a transform component is, without a database or input: the
//! WIT package and version it was built for, its imports (anything beyond that WIT and
//! the WASI it is given is named), its size and `sha256:`, whether its compiled code is in
//! the cache, and, given input columns, the output columns it declares.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use crate::lookup::Lookups;
use crate::record::{Column, ColumnType, Schema};
use crate::transform::{
    ComponentFacts, Transform, TransformConfig, TransformError, WIT_PACKAGE, WIT_VERSION,
    component_facts, describe, wit_version,
};

/// What to inspect.
#[derive(Debug, Clone)]
pub struct InspectConfig {
    pub transform: TransformConfig,
    /// Input columns to ask the transform's output columns for.
    pub input: Option<Schema>,
}

/// How one import is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// The holo-host WIT.
    Wit,
    /// WASI 0.2, given with no files, network or environment.
    Wasi,
    /// Nothing here provides it: the component cannot be instantiated.
    Missing,
}

pub fn import_kind(name: &str) -> ImportKind {
    if name.starts_with(&format!("{WIT_PACKAGE}/")) {
        ImportKind::Wit
    } else if name.starts_with("wasi:") && name.contains("@0.2.") {
        ImportKind::Wasi
    } else {
        ImportKind::Missing
    }
}

/// The report, as text for people.
pub fn inspect(config: &InspectConfig, lookups: Arc<Lookups>) -> Result<String, TransformError> {
    let path = &config.transform.path;
    let facts = component_facts(path, config.transform.cache_dir.as_deref())?;
    let mut out = String::new();
    report_facts(&mut out, path, &facts, config.transform.cache_dir.is_some());
    if let Some(input) = &config.input {
        let transform = Transform::load(config.transform.clone(), lookups)?;
        let (_, output) = transform.start(input)?;
        writeln!(out, "input:     {}", describe(input)).expect("writing to a String cannot fail");
        writeln!(out, "output:    {}", describe(&output)).expect("writing to a String cannot fail");
    }
    Ok(out)
}

fn report_facts(out: &mut String, path: &Path, facts: &ComponentFacts, caching: bool) {
    let w = |out: &mut String, line: String| {
        out.push_str(&line);
        out.push('\n');
    };
    w(out, format!("file:      {}", path.display()));
    w(
        out,
        format!(
            "size:      {} bytes ({:.1} MiB)",
            facts.size,
            facts.size as f64 / (1 << 20) as f64
        ),
    );
    w(out, format!("hash:      {}", facts.hash));
    let built_for = match wit_version(&facts.imports) {
        Some(v) if v == WIT_VERSION => {
            format!("{WIT_PACKAGE}@{v} (the version this holo-host runs)")
        }
        Some(v) => format!(
            "{WIT_PACKAGE}@{v}: INCOMPATIBLE, this holo-host runs {WIT_PACKAGE}@{WIT_VERSION}"
        ),
        None => format!(
            "no {WIT_PACKAGE} import: not a holo-host transform, or one that imports nothing"
        ),
    };
    w(out, format!("built for: {built_for}"));
    w(out, "imports:".into());
    for name in &facts.imports {
        let note = match import_kind(name) {
            ImportKind::Wit => "the holo-host WIT",
            ImportKind::Wasi => "WASI, given with no files, network or environment",
            ImportKind::Missing => "NOT PROVIDED by holo-host: the component cannot run",
        };
        w(out, format!("  {name}  ({note})"));
    }
    w(out, format!("exports:   {}", facts.exports.join(", ")));
    let cache = match (caching, facts.cached) {
        (false, _) => "no cache directory: compiled on each run",
        (true, true) => "compiled code was in the cache",
        (true, false) => "not in the cache before: compiled now and cached",
    };
    w(out, format!("cache:     {cache}"));
}

/// `a:text,b:int` as columns.
pub fn parse_columns(s: &str) -> Result<Schema, String> {
    s.split(',')
        .map(|part| {
            let (name, ty) = part.split_once(':').unwrap_or((part, "text"));
            let ty = match ty.trim() {
                "text" => ColumnType::Text,
                "int" => ColumnType::Int,
                "float" => ColumnType::Float,
                "boolean" | "bool" => ColumnType::Boolean,
                "json" => ColumnType::Json,
                other => {
                    return Err(format!(
                        "`{other}` in `{part}` is not a column type: use text, int, float, boolean or json"
                    ));
                }
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(format!("`{part}` has no column name"));
            }
            Ok(Column::new(name, ty))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_classified() {
        assert_eq!(import_kind("holo:transform/host@0.1.0"), ImportKind::Wit);
        assert_eq!(import_kind("wasi:io/streams@0.2.6"), ImportKind::Wasi);
        assert_eq!(import_kind("wasi:http/types@0.3.0"), ImportKind::Missing);
        assert_eq!(import_kind("acme:secrets/vault"), ImportKind::Missing);
    }

    #[test]
    fn input_columns() {
        let cols = parse_columns("a:text,b:int, c").unwrap();
        assert_eq!(
            cols.to_vec(),
            vec![
                Column::text("a"),
                Column::new("b", ColumnType::Int),
                Column::text("c")
            ]
        );
        assert!(parse_columns("a:date").unwrap_err().contains("`date`"));
        assert!(parse_columns(":int").is_err());
    }
}
