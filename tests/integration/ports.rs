//! The ports of the example transforms to other languages (`guest-transforms/python/`,
//! built by scripts/test.sh as `NAME-py.wasm`) against the Rust originals: the same
//! settings give the same outcomes on the same input, the same configuration errors, and
//! the same rows in PostgreSQL.

use std::path::Path;

use crate::support::pg::TestPg;
use crate::support::{
    Args, RATINGS, assert_success, books_csv, guest, holo_host, query_i64, scratch, table, write,
};

/// `holo-host test` of `wasm` on `input` with `settings`: exit status, stdout, stderr.
fn outcomes(wasm: &Path, input: &str, settings: &[&str]) -> (bool, String, String) {
    let mut cmd = holo_host();
    cmd.arg("test").arg(wasm).args(["--input", input]);
    cmd.args(["--lookup", &books_csv()]);
    for s in settings {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The error line of a failed run, without the transform's name (which differs).
fn reason(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line in {stderr}"));
    line.split_once(": ")
        .map_or(line, |(_, r)| r)
        .replace("enrich-py", "enrich")
}

#[test]
fn enrich_in_python_matches_rust() {
    let dir = scratch();
    let mut csv = holo_seed::ratings_csv(500, 11);
    // Unknown, empty, padded and non-numeric keys; Unicode in the other columns.
    csv.push_str("12,u-x,3\n,u-y,4\n 3,u-z,5\nabc,ユーザー,1\n9,\"multi\nline\",2\n");
    let input = write(dir.path(), "ratings.csv", &csv);
    let (rust, py) = (guest("enrich"), guest("enrich-py"));
    for settings in [
        &["lookup=books", "columns=name"][..],
        &["lookup=books", "key=id", "columns=name:book_name"],
        &["lookup=books"],
    ] {
        let (ok_rs, rs, err_rs) = outcomes(&rust, &input, settings);
        let (ok_py, py_out, err_py) = outcomes(&py, &input, settings);
        assert!(ok_rs && ok_py, "{settings:?}:\n{err_rs}\n{err_py}");
        assert_eq!(rs.lines().count(), 505, "{settings:?}");
        assert_eq!(py_out, rs, "{settings:?}: Python and Rust outcomes differ");
    }
    for settings in [
        &["columns=name"][..],
        &["lookup=nope"],
        &["lookup=books", "columns=title"],
        &["lookup=books", "key=book"],
        &["lookup=books", "colour=red"],
        &["lookup=books", "columns=name:x,name:x"],
    ] {
        let (ok_rs, _, err_rs) = outcomes(&rust, &input, settings);
        let (ok_py, _, err_py) = outcomes(&py, &input, settings);
        assert!(!ok_rs && !ok_py, "{settings:?}");
        assert_eq!(reason(&err_py), reason(&err_rs), "{settings:?}");
    }
}

/// S4 through both: the same rows land in PostgreSQL.
#[tokio::test]
async fn enrich_in_python_writes_the_same_rows() {
    let dir = scratch();
    let input = write(dir.path(), "ratings.csv", holo_seed::ratings_csv(300, 5));
    let dsn = TestPg::shared().dsn();
    let mut tables = Vec::new();
    for name in ["enrich", "enrich-py"] {
        let t = table(&format!("ports_{}", name.replace('-', "_")), RATINGS).await;
        let out = Args::csv(&input)
            .transform(&guest(name))
            .with(["--set", "lookup=books", "--set", "columns=name"])
            .with(["--lookup", &books_csv()])
            .sink(&dsn, &t)
            .run();
        assert_success(&out);
        tables.push(t);
    }
    let (a, b) = (&tables[0], &tables[1]);
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {a}")).await, 300);
    let differing = format!(
        "SELECT count(*) FROM ((TABLE {a} EXCEPT ALL TABLE {b}) UNION ALL (TABLE {b} EXCEPT ALL TABLE {a})) d"
    );
    assert_eq!(query_i64(&differing).await, 0);
}
