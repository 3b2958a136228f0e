//! The malformed-input corpus (`tests/data/malformed/`, outcomes in its `expected.json` and
//! the reasons in its README): every file run through `holo-host run` to stdout, its rows,
//! dead letters (line and reason) and errors as written down.

use serde_json::Value;

use crate::support::{data, dead_letters, holo_host, scratch};

#[test]
fn every_file_of_the_corpus_has_its_written_outcome() {
    let dir = data("malformed");
    let expected: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    // Every file has an outcome written down, and every outcome a file.
    let mut files: Vec<String> = (std::fs::read_dir(&dir).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    files.sort();
    let mut named: Vec<String> = expected.keys().cloned().collect();
    named.sort();
    assert_eq!(files, named);

    let scratch = scratch();
    for (file, want) in &expected {
        let dl = scratch.path().join(format!("{file}.jsonl"));
        let out = holo_host()
            .arg("run")
            .arg("--source")
            .arg(format!("csv:{}", dir.join(file).display()))
            .arg("--dead-letter")
            .arg(&dl)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if let Some(error) = want.get("error").and_then(Value::as_str) {
            assert!(!out.status.success(), "{file}: should fail");
            assert!(stderr.contains(error), "{file}: {stderr}");
            assert!(
                stderr.contains(file.as_str()),
                "{file}: names the file: {stderr}"
            );
            continue;
        }
        assert!(out.status.success(), "{file}: {stderr}");
        let rows: Vec<Value> = (String::from_utf8(out.stdout).unwrap().lines())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        match &want["rows"] {
            Value::Number(n) => assert_eq!(rows.len() as u64, n.as_u64().unwrap(), "{file}"),
            Value::Array(want_rows) => {
                let got: Vec<Value> = (rows.iter())
                    .map(|r| serde_json::json!([r["id"], r["name"]]))
                    .collect();
                assert_eq!(&got, want_rows, "{file}");
            }
            other => panic!("{file}: rows {other}"),
        }
        let letters = if dl.exists() {
            dead_letters(&dl)
        } else {
            Vec::new()
        };
        let want_dead = want["dead"].as_array().unwrap();
        assert_eq!(letters.len(), want_dead.len(), "{file}: {letters:?}");
        for (got, want) in letters.iter().zip(want_dead) {
            assert_eq!(got["line"], want[0], "{file}: {got}");
            let reason = got["reason"].as_str().unwrap();
            assert!(
                reason.contains(want[1].as_str().unwrap()),
                "{file}: {reason}"
            );
            assert_eq!(got["stage"], "source", "{file}");
        }
    }
}

/// A field far larger than `--max-record-bytes` (here 20 MiB against the default 16 MiB) is
/// dead-lettered with its size and line, quoted only by its beginning, and the records after
/// it are loaded.
#[test]
fn a_record_past_the_bound_is_dead_lettered_by_size_and_line() {
    let dir = scratch();
    let path = dir.path().join("huge.csv");
    let mut content = b"id,name\n1,a\n2,".to_vec();
    content.extend(std::iter::repeat_n(b'x', 20 << 20));
    content.extend_from_slice(b"\n3,c\n");
    std::fs::write(&path, content).unwrap();
    let dl = dir.path().join("dl.jsonl");
    let out = holo_host()
        .arg("run")
        .arg("--source")
        .arg(format!("csv:{}", path.display()))
        .arg("--dead-letter")
        .arg(&dl)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let ids: Vec<Value> = (String::from_utf8(out.stdout).unwrap().lines())
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].clone())
        .collect();
    assert_eq!(ids, ["1", "3"]);
    let letters = dead_letters(&dl);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["line"], 3);
    let reason = letters[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("larger than --max-record-bytes (16777216 bytes)")
            && reason.contains("reading goes on at line 4"),
        "{reason}"
    );
    assert!(letters[0]["record"].as_str().unwrap().len() < 70_000);
}
