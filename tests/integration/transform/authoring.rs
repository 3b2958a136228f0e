//! The authoring commands through the binary: `test` (outcomes, `--expect`), `inspect`,
//! and `new`, whose project builds and passes its own test as generated.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{guest, holo_host, scratch, target_dir, write};

const ORDERS: &str = "order_id,user_id,book_id,book_name,order_cnt,order_amt\n\
    a1,1,3,海辺のカフカ,1,700\n\
    a2,1,3,x,1\n\
    a3,2,4,y,2,not-a-number\n";

/// `holo-host test` with the alias transform: an emit, a record the source rejects, one the
/// transform rejects; as JSON lines when stdout is not a terminal.
#[test]
fn test_prints_each_outcome_and_checks_expectations() {
    let dir = scratch();
    let input = write(dir.path(), "orders.csv", ORDERS);
    let alias = guest("alias");
    let base = |extra: &[&str]| {
        let mut cmd = holo_host();
        cmd.arg("test")
            .arg(&alias)
            .args(["--input", &input])
            .args([
                "--set",
                "rename=book_name:title",
                "--set",
                "cast=order_amt:int",
            ])
            .args(["--set", "select=order_id,title,order_amt"])
            .args(extra);
        cmd.output().unwrap()
    };
    let out = base(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines[0],
        serde_json::json!({"line": 2, "emit": {"order_id": "a1", "title": "海辺のカフカ", "order_amt": 700}})
    );
    assert_eq!(lines[1]["line"], 3);
    assert_eq!(lines[1]["stage"], "source");
    assert_eq!(lines[2]["line"], 4);
    assert_eq!(lines[2]["stage"], "transform");
    assert!(
        lines[2]["reject"]
            .as_str()
            .unwrap()
            .contains("not-a-number"),
        "{}",
        lines[2]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 emitted, 2 rejected, 0 deleted"),
        "{stderr}"
    );

    // What it printed is what --expect takes.
    let expected: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let same = write(dir.path(), "expected.jsonl", &expected);
    assert!(base(&["--expect", &same]).status.success());
    // One value changed: exit 1, and the difference names the outcome.
    let changed = write(dir.path(), "changed.jsonl", expected.replace("700", "701"));
    let out = base(&["--expect", &changed]);
    assert_eq!(out.status.code(), Some(1));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.starts_with("outcome 1: expected {"), "{shown}");
    assert!(shown.contains("701") && shown.contains("700"), "{shown}");
    // Fewer outcomes expected than seen: the extra ones are named.
    let first = write(dir.path(), "first.jsonl", expected.lines().next().unwrap());
    let shown = String::from_utf8(base(&["--expect", &first]).stdout).unwrap();
    assert!(
        shown.contains("outcome 2: unexpected") && shown.contains("outcome 3: unexpected"),
        "{shown}"
    );
}

#[test]
fn inspect_names_version_imports_and_output() {
    let out = holo_host()
        .arg("inspect")
        .arg(guest("alias"))
        .args(["--input-columns", "a:text,b:int", "--set", "rename=a:x"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "built for: holo:transform@0.1.0 (the version this holo-host runs)",
        "holo:transform/types@0.1.0  (the holo-host WIT)",
        "exports:   configure, output-schema, process",
        "hash:      sha256:",
        "input:     a text, b int",
        "output:    x text, b int",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(!text.contains("NOT PROVIDED"), "{text}");
}

/// `holo-host new` writes a project that builds (offline, with the crates the workspace
/// already has; named with a `-` as cargo takes it, its library with `_`) and passes
/// `holo-host test --expect` as generated; built against another
/// version of the WIT, the component is refused with both versions named.
#[test]
fn a_new_project_builds_and_passes_its_test() {
    let dir = scratch();
    let root = dir.path().join("my-tx");
    new_project(dir.path(), "my-tx", "rust");
    let test = || {
        holo_host()
            .arg("test")
            .arg(root.join("my-tx.wasm"))
            .arg("--input")
            .arg(root.join("sample.csv"))
            .arg("--expect")
            .arg(root.join("expected.jsonl"))
            .output()
            .unwrap()
    };
    let out = test();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("as expected (2 emitted, 1 rejected, 0 deleted)"),
        "{stderr}"
    );

    let wit = root.join("wit/transform.wit");
    let text = std::fs::read_to_string(&wit).unwrap();
    std::fs::write(
        &wit,
        text.replace("holo:transform@0.1.0", "holo:transform@0.2.0"),
    )
    .unwrap();
    // Cargo does not track the WIT the bindings macro reads, and it names a path
    // dependency's artifacts by its place in the project, so every project built in the
    // shared target directory shares `vendor/sdk`'s: the bumped SDK gets a place of its own
    // (touching its code was not enough while another test built its project meanwhile).
    std::fs::rename(root.join("vendor/sdk"), root.join("vendor/sdk_v2")).unwrap();
    let manifest = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("path = \"vendor/sdk\""), "{text}");
    let text = text.replace("path = \"vendor/sdk\"", "path = \"vendor/sdk_v2\"");
    std::fs::write(&manifest, text).unwrap();
    new_project_build(&root, "my-tx");
    let out = test();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "was built for holo:transform@0.2.0, but this holo-host runs holo:transform@0.1.0"
        ),
        "{stderr}"
    );

    let out = holo_host()
        .args(["new", "x", "--lang", "cobol", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("use rust, python or js"));
    assert!(!dir.path().join("x").exists());
}

/// Generates `name` in `lang` under `dir`, builds it with its own `build.sh`, and returns
/// the component.
fn new_project(dir: &Path, name: &str, lang: &str) -> PathBuf {
    let out = holo_host()
        .args(["new", name, "--lang", lang, "--dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    new_project_build(&dir.join(name), name)
}

/// The outcomes of `holo-host test`, as JSON lines, and its stderr.
fn outcomes(wasm: &Path, input: &Path, expect: Option<&Path>) -> (bool, String, String) {
    let mut cmd = holo_host();
    cmd.arg("test").arg(wasm).arg("--input").arg(input);
    if let Some(e) = expect {
        cmd.arg("--expect").arg(e);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The Python and JavaScript projects (their SDKs, built with componentize-py and
/// componentize-js, which their `build.sh` install where missing) pass their own test as
/// generated, within the default memory cap, and give the same outcomes as the Rust
/// project on the same input: Unicode, empty and blank fields, a multi-line field, a
/// record the source rejects.
#[test]
fn projects_in_every_language_agree() {
    let dir = scratch();
    let rust = new_project(dir.path(), "rs_tx", "rust");
    let input = write(
        dir.path(),
        "edge.csv",
        "id,title,note\n1,  Kafka  ,  \n ,blank id,x\n3,ノルウェイの森, 嫌われる勇気 \n\
         4,\"two\nlines \",\"\"\n5,short\n,,\n",
    );
    let input = Path::new(&input);
    let (ok_rs, rs, err_rs) = outcomes(&rust, input, None);
    assert!(ok_rs, "{err_rs}");
    assert_eq!(rs.lines().count(), 6, "{rs}");
    assert!(
        rs.contains(r#""title":"ノルウェイの森""#) && rs.contains(r#""note":"嫌われる勇気""#),
        "{rs}"
    );
    for (name, lang) in [("py_tx", "python"), ("js_tx", "js")] {
        let wasm = new_project(dir.path(), name, lang);
        let project = dir.path().join(name);
        let (ok, _, stderr) = outcomes(
            &wasm,
            &project.join("sample.csv"),
            Some(&project.join("expected.jsonl")),
        );
        assert!(ok, "{lang}: {stderr}");
        assert!(
            stderr.contains("as expected (2 emitted, 1 rejected, 0 deleted)"),
            "{lang}: {stderr}"
        );
        let (ok, out, stderr) = outcomes(&wasm, input, None);
        assert!(ok, "{lang}: {stderr}");
        assert_eq!(out, rs, "the {lang} and Rust transforms differ");
    }
}

/// Deletes and log lines from the Python and JavaScript SDKs: a record whose `op` is
/// `delete` becomes a delete by key, and each record logs a line through the host.
#[test]
fn python_and_js_sdks_delete_and_log() {
    let dir = scratch();
    let apps = [
        (
            "py_ops",
            "python",
            "app.py",
            "from holo_transform import export, log\n\n\
             class Ops:\n\
             \x20   def __init__(self, config):\n        pass\n\
             \x20   def output_schema(self, columns):\n        return columns\n\
             \x20   def process(self, row, emit):\n\
             \x20       log('info', f'op {row[1]} for {row[0]}')\n\
             \x20       (emit.delete if row[1] == 'delete' else emit.row)(row)\n\n\
             WitWorld = export(Ops)\n",
        ),
        (
            "js_ops",
            "js",
            "app.js",
            "import { exportTransform, log } from './vendor/holo_transform.js';\n\
             class Ops {\n\
             \x20 constructor(config) {}\n\
             \x20 outputSchema(columns) { return columns; }\n\
             \x20 process(row, emit) {\n\
             \x20   log('info', `op ${row[1]} for ${row[0]}`);\n\
             \x20   (row[1] === 'delete' ? emit.delete(row) : emit.row(row));\n\
             \x20 }\n\
             }\n\
             export const { configure, outputSchema, process } = exportTransform(Ops);\n",
        ),
    ];
    let input = write(dir.path(), "ops.csv", "id,op\n1,upsert\n2,delete\n");
    for (name, lang, file, source) in apps {
        let out = holo_host()
            .args(["new", name, "--lang", lang, "--dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        std::fs::write(dir.path().join(name).join(file), source).unwrap();
        let wasm = new_project_build(&dir.path().join(name), name);
        let out = holo_host()
            .env("RUST_LOG", "info")
            .arg("test")
            .arg(&wasm)
            .args(["--input", &input])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{lang}: {stderr}");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "{\"emit\":{\"id\":\"1\",\"op\":\"upsert\"},\"line\":2}\n\
             {\"delete\":{\"id\":\"2\",\"op\":\"delete\"},\"line\":3}\n",
            "{lang}"
        );
        assert!(stderr.contains("op delete for 2"), "{lang}: {stderr}");
    }
}

/// Runs the `build.sh` of the project at `root`; returns its component.
fn new_project_build(root: &Path, name: &str) -> PathBuf {
    let out = Command::new(root.join("build.sh"))
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_TARGET_DIR", target_dir().join("new-project"))
        .env("HOLO_PY_VENV", target_dir().join("py-componentize"))
        .env("HOLO_JS_TOOLCHAIN", target_dir().join("js-toolchain"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "build.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    root.join(format!("{name}.wasm"))
}
