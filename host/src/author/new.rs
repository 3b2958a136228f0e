//! `holo-host new NAME --lang rust|python|js`: a transform project that builds and passes
//! `holo-host test` as generated: the transform, `build.sh` (which writes `NAME.wasm`
//! into the project), `sample.csv`, `expected.jsonl`, a README, and the SDK and WIT of
//! this release, vendored so the project builds on its own. Both languages generate the
//! same transform, with the same outcomes on the same sample.

use std::path::{Path, PathBuf};

/// The languages a project can be generated in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Python,
    JavaScript,
}

impl std::str::FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "rust" | "rs" => Ok(Lang::Rust),
            "python" | "py" => Ok(Lang::Python),
            "js" | "javascript" => Ok(Lang::JavaScript),
            _ => Err(format!("unknown language `{s}`: use rust, python or js")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NewError {
    #[error(
        "`{name}` is not a usable project name: {why} (it names the folder, the crate and the .wasm file)"
    )]
    BadName { name: String, why: &'static str },
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
        include_str!("../../../guest-transforms/sdk/rust/src/config.rs"),
    ),
    (
        "vendor/sdk/src/emit.rs",
        include_str!("../../../guest-transforms/sdk/rust/src/emit.rs"),
    ),
    (
        "vendor/sdk/src/error.rs",
        include_str!("../../../guest-transforms/sdk/rust/src/error.rs"),
    ),
    (
        "vendor/sdk/src/lib.rs",
        include_str!("../../../guest-transforms/sdk/rust/src/lib.rs"),
    ),
    (
        "vendor/sdk/src/log.rs",
        include_str!("../../../guest-transforms/sdk/rust/src/log.rs"),
    ),
    (
        "vendor/sdk/src/lookup.rs",
        include_str!("../../../guest-transforms/sdk/rust/src/lookup.rs"),
    ),
    (
        "vendor/sdk/src/native.rs",
        include_str!("../../../guest-transforms/sdk/rust/src/native.rs"),
    ),
    (
        "vendor/sdk/src/row.rs",
        include_str!("../../../guest-transforms/sdk/rust/src/row.rs"),
    ),
    (
        "vendor/sdk/src/runtime.rs",
        include_str!("../../../guest-transforms/sdk/rust/src/runtime.rs"),
    ),
    (
        "vendor/sdk/src/types.rs",
        include_str!("../../../guest-transforms/sdk/rust/src/types.rs"),
    ),
    (
        "vendor/sdk/src/wasm.rs",
        include_str!("../../../guest-transforms/sdk/rust/src/wasm.rs"),
    ),
];

/// The Python SDK of this release.
const PYTHON_SDK: &str =
    include_str!("../../../guest-transforms/sdk/python/holo_transform/__init__.py");

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
cp "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/{lib}.wasm" {name}.wasm
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

const APP_PY: &str = r#""""{name}: trims the spaces around every text value, and rejects a record whose
required column (the setting `required`, by default the first column) is empty.
Edit `process` to make it yours; `holo-host test {name}.wasm --input sample.csv` shows
what it does."""

from holo_transform import Column, Config, Emit, Reject, export, find_column


class Trim:
    def __init__(self, config: Config):
        config.check_keys(["required"])
        self.required = config.get("required")
        self.index = 0
        self.name = ""

    def output_schema(self, columns: list[Column]) -> list[Column]:
        if self.required is not None:
            self.index = find_column(columns, self.required)
        elif not columns:
            raise ValueError("the input has no columns")
        self.name = columns[self.index].name
        return columns

    def process(self, row: list, emit: Emit) -> None:
        key = row[self.index]
        if key is None or (isinstance(key, str) and not key.strip()):
            raise Reject(f"column `{self.name}` is empty")
        emit.row([v.strip() if isinstance(v, str) else v for v in row])


WitWorld = export(Trim)
"#;

const BUILD_PY_SH: &str = r#"#!/usr/bin/env bash
# Builds {name}.wasm next to this script with componentize-py, installed into a virtual
# environment ($HOLO_PY_VENV, else .venv) where it is missing.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${HOLO_PY_VENV:-.venv}
if [ ! -x "$VENV/bin/componentize-py" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'componentize-py==0.25.1'
fi
"$VENV/bin/componentize-py" -d wit -w transform componentize -p vendor -p . app -o {name}.wasm
echo "built $(pwd)/{name}.wasm"
"#;

const APP_JS: &str = r#"// {name}: trims the spaces around every text value, and rejects a record whose
// required column (the setting `required`, by default the first column) is empty.
// Edit `process` to make it yours; `holo-host test {name}.wasm --input sample.csv` shows
// what it does. Values: null, booleans, BigInt (int), numbers (float), strings.
import { Reject, exportTransform, findColumn, rustTrim } from './vendor/holo_transform.js';

class Trim {
  constructor(config) {
    config.checkKeys(['required']);
    this.required = config.get('required');
    this.index = 0;
    this.name = '';
  }

  outputSchema(columns) {
    if (this.required !== undefined) this.index = findColumn(columns, this.required);
    else if (columns.length === 0) throw new Error('the input has no columns');
    this.name = columns[this.index].name;
    return columns;
  }

  process(row, emit) {
    const key = row[this.index];
    if (key === null || (typeof key === 'string' && rustTrim(key) === '')) {
      throw new Reject(`column \`${this.name}\` is empty`);
    }
    emit.row(row.map((v) => (typeof v === 'string' ? rustTrim(v) : v)));
  }
}

export const { configure, outputSchema, process } = exportTransform(Trim);
"#;

const BUILD_JS_SH: &str = r#"#!/usr/bin/env bash
# Builds {name}.wasm next to this script with componentize-js: the toolchain in
# $HOLO_JS_TOOLCHAIN (a folder with build.mjs and its node_modules), else installed here
# with `npm ci` from package-lock.json.
set -euo pipefail
cd "$(dirname "$0")"
TOOLCHAIN=${HOLO_JS_TOOLCHAIN:-.}
if [ ! -d "$TOOLCHAIN/node_modules/@bytecodealliance/componentize-js" ]; then
    (cd "$TOOLCHAIN" && npm ci --no-audit --no-fund --silent)
fi
node "$TOOLCHAIN/build.mjs" app.js wit {name}.wasm
echo "built $(pwd)/{name}.wasm"
"#;

/// The JavaScript SDK and the toolchain that builds with it.
const JS_SDK: &str = include_str!("../../../guest-transforms/sdk/js/holo_transform.js");
const JS_PACKAGE: &str = include_str!("../../../guest-transforms/sdk/js/toolchain/package.json");
const JS_LOCK: &str = include_str!("../../../guest-transforms/sdk/js/toolchain/package-lock.json");
const JS_BUILD: &str = include_str!("../../../guest-transforms/sdk/js/toolchain/build.mjs");

/// A vendored file as the project holds it. The SDK sits one folder higher in a project
/// (`vendor/sdk`) than in this repository (`guest-transforms/sdk/rust`), so its bindings
/// reach the project's `wit/` with one `..` less.
fn vendored(path: &str, content: &str) -> String {
    if path == "vendor/sdk/src/wasm.rs" {
        content.replacen("path: \"../../../wit\"", "path: \"../../wit\"", 1)
    } else {
        content.to_string()
    }
}

/// Words Rust reserves: a crate cannot be named by one, as `cargo new` says.
const KEYWORDS: &[&str] = &[
    "Self", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
    "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if",
    "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Takes a project name as `cargo new` does: ASCII letters, digits, `-` and `_`, starting
/// with a letter or `_`, and no Rust keyword.
fn check_name(name: &str) -> Result<(), NewError> {
    let why = if !name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    {
        Some("start it with a letter or `_`")
    } else if !(name.chars()).all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        Some("use letters, digits, `-` and `_`")
    } else if KEYWORDS.contains(&name) {
        Some("it is a Rust keyword")
    } else {
        None
    };
    match why {
        Some(why) => Err(NewError::BadName {
            name: name.into(),
            why,
        }),
        None => Ok(()),
    }
}

/// Writes the project into `dir/name`; returns its path. The crate is named `name` as
/// given; its library (and so the `.wasm` cargo builds) has `-` turned into `_`, as cargo
/// names it.
pub fn generate(dir: &Path, name: &str, lang: Lang) -> Result<PathBuf, NewError> {
    check_name(name)?;
    let root = dir.join(name);
    if root.exists() {
        return Err(NewError::Exists { path: root });
    }
    let mut files: Vec<(String, String)> = vec![
        ("sample.csv".into(), SAMPLE_CSV.into()),
        ("expected.jsonl".into(), EXPECTED.into()),
        ("wit/transform.wit".into(), VENDORED[0].1.into()),
    ];
    files.extend(match lang {
        Lang::Rust => rust_files(name),
        Lang::Python => python_files(name),
        Lang::JavaScript => js_files(name),
    });
    write_files(&root, files)?;
    Ok(root)
}

/// `text` with `{name}` (the project) and `{lib}` (its library) filled in.
fn fill(text: &str, name: &str) -> String {
    text.replace("{lib}", &name.replace('-', "_"))
        .replace("{name}", name)
}

fn rust_files(name: &str) -> Vec<(String, String)> {
    let cargo_toml = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         [lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n\n\
         [dependencies]\nholo-transform-sdk = {{ path = \"vendor/sdk\" }}\n\n\
         # A project of its own, even inside another workspace.\n[workspace]\n\n\
         [profile.release]\nopt-level = \"s\"\nlto = true\ncodegen-units = 1\n"
    );
    let mut files: Vec<(String, String)> = vec![
        ("Cargo.toml".into(), cargo_toml),
        ("src/lib.rs".into(), fill(LIB_RS, name)),
        ("build.sh".into(), fill(BUILD_SH, name)),
        ("README.md".into(), fill(README, name)),
        (".gitignore".into(), "target/\n*.wasm\n".into()),
        ("vendor/batch/Cargo.toml".into(), BATCH_TOML.into()),
        ("vendor/sdk/Cargo.toml".into(), SDK_TOML.into()),
    ];
    files.extend(
        VENDORED[1..]
            .iter()
            .map(|(p, c)| (p.to_string(), vendored(p, c))),
    );
    files
}

fn python_files(name: &str) -> Vec<(String, String)> {
    let readme = README
        .replace("--lang rust", "--lang python")
        .replace(
            "`src/lib.rs` is the transform: `new`",
            "`app.py` is the transform: `__init__`",
        )
        .replace(
            "(or deletes, `out.delete()`), and an `Err` sends",
            "(`emit.row`, or deletes with `emit.delete`), and an exception sends",
        )
        .replace(
            "`vendor/`\nholds the Rust SDK",
            "`vendor/`\nholds the Python SDK",
        );
    vec![
        ("app.py".into(), fill(APP_PY, name)),
        ("build.sh".into(), fill(BUILD_PY_SH, name)),
        ("README.md".into(), fill(&readme, name)),
        (".gitignore".into(), ".venv/\n*.wasm\n__pycache__/\n".into()),
        (
            "vendor/holo_transform/__init__.py".into(),
            PYTHON_SDK.into(),
        ),
    ]
}

fn js_files(name: &str) -> Vec<(String, String)> {
    let readme = README
        .replace("--lang rust", "--lang js")
        .replace(
            "`src/lib.rs` is the transform: `new`",
            "`app.js` is the transform: `constructor`",
        )
        .replace("`output_schema`", "`outputSchema`")
        .replace(
            "(or deletes, `out.delete()`), and an `Err` sends",
            "(`emit.row`, or deletes with `emit.delete`), and a thrown error sends",
        )
        .replace(
            "`vendor/`\nholds the Rust SDK",
            "`vendor/`\nholds the JavaScript SDK",
        );
    vec![
        ("app.js".into(), fill(APP_JS, name)),
        ("build.sh".into(), fill(BUILD_JS_SH, name)),
        ("README.md".into(), fill(&readme, name)),
        (".gitignore".into(), "node_modules/\n*.wasm\n".into()),
        ("vendor/holo_transform.js".into(), JS_SDK.into()),
        ("package.json".into(), JS_PACKAGE.into()),
        ("package-lock.json".into(), JS_LOCK.into()),
        ("build.mjs".into(), JS_BUILD.into()),
    ]
}

/// Writes `files` (paths relative to `root`), `build.sh` executable.
fn write_files(root: &Path, files: Vec<(String, String)>) -> Result<(), NewError> {
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
    Ok(())
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
        let wasm = std::fs::read_to_string(root.join("vendor/sdk/src/wasm.rs")).unwrap();
        assert!(wasm.contains("path: \"../../wit\","), "{wasm}");
        let build = std::fs::read_to_string(root.join("build.sh")).unwrap();
        assert!(build.contains("release/my_tx.wasm\" my_tx.wasm"), "{build}");
        assert!(matches!(
            generate(dir.path(), "my_tx", Lang::Rust),
            Err(NewError::Exists { .. })
        ));
        assert!(matches!(
            generate(dir.path(), "bad name", Lang::Rust),
            Err(NewError::BadName { .. })
        ));
        assert!(
            "cobol"
                .parse::<Lang>()
                .unwrap_err()
                .contains("rust, python or js")
        );
        let js = generate(dir.path(), "js_tx", Lang::JavaScript).unwrap();
        for f in [
            "app.js",
            "build.sh",
            "build.mjs",
            "package-lock.json",
            "vendor/holo_transform.js",
        ] {
            assert!(js.join(f).is_file(), "{f}");
        }
        let py = generate(dir.path(), "py_tx", Lang::Python).unwrap();
        for f in [
            "app.py",
            "build.sh",
            "sample.csv",
            "expected.jsonl",
            "README.md",
            "wit/transform.wit",
            "vendor/holo_transform/__init__.py",
        ] {
            assert!(py.join(f).is_file(), "{f}");
        }
        let readme = std::fs::read_to_string(py.join("README.md")).unwrap();
        assert!(readme.contains("--lang python") && readme.contains("`app.py` is the transform"));
    }

    #[test]
    fn names_are_taken_as_cargo_takes_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = generate(dir.path(), "my-transform", Lang::Rust).unwrap();
        assert!(root.ends_with("my-transform"));
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"my-transform\""), "{manifest}");
        // Cargo builds the library as `my_transform.wasm`; the project's is named as given.
        let build = std::fs::read_to_string(root.join("build.sh")).unwrap();
        assert!(
            build.contains("release/my_transform.wasm\" my-transform.wasm"),
            "{build}"
        );
        let py = generate(dir.path(), "py-tx", Lang::Python).unwrap();
        let build = std::fs::read_to_string(py.join("build.sh")).unwrap();
        assert!(build.contains("-o py-tx.wasm"), "{build}");
        assert!(generate(dir.path(), "_private", Lang::JavaScript).is_ok());
        for (bad, why) in [
            ("1tx", "start it with a letter or `_`"),
            ("-tx", "start it with a letter or `_`"),
            ("", "start it with a letter or `_`"),
            ("my.tx", "use letters, digits, `-` and `_`"),
            ("fn", "it is a Rust keyword"),
        ] {
            let err = generate(dir.path(), bad, Lang::Rust)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(why) && err.contains(&format!("`{bad}`")),
                "{bad}: {err}"
            );
            assert!(!dir.path().join(bad).join("Cargo.toml").exists());
        }
    }
}
