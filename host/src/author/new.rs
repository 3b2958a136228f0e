//! `holo-host new NAME --lang rust`: a transform project that builds and passes
//! `holo-host test` as generated: the transform, `build.sh` (which writes `NAME.wasm`
//! into the project), `sample.csv`, `expected.jsonl`, a README, and the Rust SDK and WIT
//! of this release, vendored so the project builds on its own.

use std::path::{Path, PathBuf};

/// The languages a project can be generated in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
}

impl std::str::FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "rust" | "rs" => Ok(Lang::Rust),
            "python" | "py" | "js" | "javascript" => Err(format!(
                "`{s}`: this release has no {s} SDK yet, so it cannot generate a {s} project; use rust"
            )),
            _ => Err(format!("unknown language `{s}`: use rust")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NewError {
    #[error(
        "`{name}` is not a usable project name: use letters, digits and `_` (it names the crate and the .wasm file)"
    )]
    BadName { name: String },
    #[error("`{}` already exists: pick another name or remove it", path.display())]
    Exists { path: PathBuf },
    #[error("cannot write `{}`", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The files of the SDK, the batch encoding and the WIT, as this release has them.
const VENDORED: &[(&str, &str)] = &[
    (
        "wit/transform.wit",
        include_str!("../../../wit/transform.wit"),
    ),
    (
        "vendor/batch/src/lib.rs",
        include_str!("../../../wit/batch/src/lib.rs"),
    ),
    (
        "vendor/batch/src/schema.rs",
        include_str!("../../../wit/batch/src/schema.rs"),
    ),
    (
        "vendor/sdk/src/config.rs",
        include_str!("../../../guest-transforms/sdk/src/config.rs"),
    ),
    (
        "vendor/sdk/src/emit.rs",
        include_str!("../../../guest-transforms/sdk/src/emit.rs"),
    ),
    (
        "vendor/sdk/src/error.rs",
        include_str!("../../../guest-transforms/sdk/src/error.rs"),
    ),
    (
        "vendor/sdk/src/lib.rs",
        include_str!("../../../guest-transforms/sdk/src/lib.rs"),
    ),
    (
        "vendor/sdk/src/log.rs",
        include_str!("../../../guest-transforms/sdk/src/log.rs"),
    ),
    (
        "vendor/sdk/src/lookup.rs",
        include_str!("../../../guest-transforms/sdk/src/lookup.rs"),
    ),
    (
        "vendor/sdk/src/native.rs",
        include_str!("../../../guest-transforms/sdk/src/native.rs"),
    ),
    (
        "vendor/sdk/src/row.rs",
        include_str!("../../../guest-transforms/sdk/src/row.rs"),
    ),
    (
        "vendor/sdk/src/runtime.rs",
        include_str!("../../../guest-transforms/sdk/src/runtime.rs"),
    ),
    (
        "vendor/sdk/src/types.rs",
        include_str!("../../../guest-transforms/sdk/src/types.rs"),
    ),
    (
        "vendor/sdk/src/wasm.rs",
        include_str!("../../../guest-transforms/sdk/src/wasm.rs"),
    ),
];

const BATCH_TOML: &str = r#"[package]
name = "holo-batch"
version = "0.1.0"
edition = "2024"
publish = false
"#;

const SDK_TOML: &str = r#"[package]
name = "holo-transform-sdk"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
holo-batch = { path = "../batch" }
rustc-hash = "2"
thiserror = "2"
wit-bindgen = { version = "0.61", default-features = false, features = ["macros", "realloc"] }
"#;

const LIB_RS: &str = r#"//! {name}: trims the spaces around every text value, and rejects a record whose
//! required column (the setting `required`, by default the first column) is empty.
//! Edit `process` to make it yours; `holo-host test {name}.wasm --input sample.csv`
//! shows what it does.

use holo_transform_sdk::{Column, Config, Emit, Error, Row, Transform, ValueRef, resolve_column};

pub struct Trim {
    required: Option<String>,
    index: usize,
    name: String,
}

impl Transform for Trim {
    fn new(config: &Config) -> Result<Self, Error> {
        config.check_keys(&["required"])?;
        Ok(Trim {
            required: config.get("required").map(str::to_owned),
            index: 0,
            name: String::new(),
        })
    }

    fn output_schema(&mut self, input: &[Column]) -> Result<Vec<Column>, Error> {
        self.index = match &self.required {
            Some(name) => resolve_column("required", input, "input column", name)?,
            None if input.is_empty() => return Err(Error::msg("the input has no columns")),
            None => 0,
        };
        self.name = input[self.index].name.clone();
        Ok(input.to_vec())
    }

    fn process(&mut self, row: &Row<'_>, out: &mut Emit<'_>) -> Result<(), Error> {
        match row.get(self.index) {
            ValueRef::Null => return Err(Error::msg(format!("column `{}` is empty", self.name))),
            ValueRef::Text(s) if s.trim().is_empty() => {
                return Err(Error::msg(format!("column `{}` is empty", self.name)));
            }
            _ => {}
        }
        out.row();
        for i in 0..row.len() {
            match row.get(i) {
                ValueRef::Text(s) => out.text(s.trim()),
                _ => out.copy_value(row, i),
            };
        }
        Ok(())
    }
}

holo_transform_sdk::export_transform!(Trim);
"#;

const SAMPLE_CSV: &str = "id,title\n1,  Kafka on the Shore  \n,no id here\n3,ノルウェイの森\n";

const EXPECTED: &str = r#"{"line":2,"emit":{"id":"1","title":"Kafka on the Shore"}}
{"line":3,"reject":"column `id` is empty","stage":"transform"}
{"line":4,"emit":{"id":"3","title":"ノルウェイの森"}}
"#;

const BUILD_SH: &str = r#"#!/usr/bin/env bash
# Builds {name}.wasm next to this script.
set -euo pipefail
cd "$(dirname "$0")"
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
cargo build --release --target wasm32-wasip2
cp "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/{name}.wasm" {name}.wasm
echo "built $(pwd)/{name}.wasm"
"#;

const README: &str = r#"# {name}

A holo-host transform, generated by `holo-host new {name} --lang rust`.

```
./build.sh                                                    # writes {name}.wasm
holo-host test {name}.wasm --input sample.csv                  # what it emits and rejects
holo-host test {name}.wasm --input sample.csv --expect expected.jsonl
holo-host inspect {name}.wasm --input-columns id:text,title:text
holo-host run --source csv:orders.csv --transform {name}.wasm --sink postgres://… --table …
```

`src/lib.rs` is the transform: `new` reads the `--set KEY=VALUE` settings, `output_schema`
maps the input columns to the output columns, `process` turns one record into zero or
more rows (or deletes, `out.delete()`), and an `Err` sends the record to the dead-letter
output with its message. `wit/transform.wit` is the interface it is built for; `vendor/`
holds the Rust SDK of the holo-host release that generated the project.

`expected.jsonl` holds one outcome per line: `{"line": N, "emit": {…}}`,
`{"line": N, "reject": "why", "stage": "transform"}` or `{"line": N, "delete": {…}}`.
"#;

/// Writes the project into `dir/name`; returns its path.
pub fn generate(dir: &Path, name: &str, lang: Lang) -> Result<PathBuf, NewError> {
    let Lang::Rust = lang;
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(NewError::BadName { name: name.into() });
    }
    let root = dir.join(name);
    if root.exists() {
        return Err(NewError::Exists { path: root });
    }
    let cargo_toml = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         [lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n\n\
         [dependencies]\nholo-transform-sdk = {{ path = \"vendor/sdk\" }}\n\n\
         # A project of its own, even inside another workspace.\n[workspace]\n\n\
         [profile.release]\nopt-level = \"s\"\nlto = true\ncodegen-units = 1\n"
    );
    let mut files: Vec<(String, String)> = vec![
        ("Cargo.toml".into(), cargo_toml),
        ("src/lib.rs".into(), LIB_RS.replace("{name}", name)),
        ("sample.csv".into(), SAMPLE_CSV.into()),
        ("expected.jsonl".into(), EXPECTED.into()),
        ("build.sh".into(), BUILD_SH.replace("{name}", name)),
        ("README.md".into(), README.replace("{name}", name)),
        (".gitignore".into(), "target/\n*.wasm\n".into()),
        ("vendor/batch/Cargo.toml".into(), BATCH_TOML.into()),
        ("vendor/sdk/Cargo.toml".into(), SDK_TOML.into()),
    ];
    files.extend(VENDORED.iter().map(|(p, c)| (p.to_string(), c.to_string())));
    for (rel, content) in files {
        let path = root.join(&rel);
        let write_err = |source| NewError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(path.parent().expect("a file in the project"))
            .map_err(write_err)?;
        std::fs::write(&path, content).map_err(write_err)?;
        if rel == "build.sh" {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(write_err)?;
        }
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_are_written_whole_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = generate(dir.path(), "my_tx", Lang::Rust).unwrap();
        for f in [
            "Cargo.toml",
            "src/lib.rs",
            "build.sh",
            "sample.csv",
            "expected.jsonl",
            "README.md",
            "wit/transform.wit",
            "vendor/sdk/src/wasm.rs",
            "vendor/batch/src/lib.rs",
        ] {
            assert!(root.join(f).is_file(), "{f}");
        }
        let build = std::fs::read_to_string(root.join("build.sh")).unwrap();
        assert!(build.contains("release/my_tx.wasm\" my_tx.wasm"), "{build}");
        assert!(matches!(
            generate(dir.path(), "my_tx", Lang::Rust),
            Err(NewError::Exists { .. })
        ));
        assert!(matches!(
            generate(dir.path(), "bad-name", Lang::Rust),
            Err(NewError::BadName { .. })
        ));
        assert!(
            "python"
                .parse::<Lang>()
                .unwrap_err()
                .contains("no python SDK")
        );
    }
}
