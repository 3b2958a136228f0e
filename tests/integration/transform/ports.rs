//! The ports of the example transforms to other languages (`python/` and `js/` beside each
//! crate in `guest-transforms/examples/`, built by scripts/test.sh as `NAME-py.wasm` and
//! `NAME-js.wasm`) against the Rust originals: the same settings give the same outcomes on
//! the same input, the same configuration errors, and the same rows in PostgreSQL.

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

/// The languages the examples are ported to, by the suffix of their components.
const PORTS: [&str; 2] = ["py", "js"];

/// The error line of a failed run, without the transform's name (which differs).
fn reason(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line in {stderr}"));
    let mut r = line.split_once(": ").map_or(line, |(_, r)| r).to_owned();
    for lang in PORTS {
        r = r.replace(&format!("-{lang}`"), "`");
    }
    r
}

#[test]
fn enrich_ports_match_rust() {
    let dir = scratch();
    let mut csv = holo_seed::ratings_csv(500, 11);
    // Unknown, empty, padded and non-numeric keys; Unicode in the other columns.
    csv.push_str("12,u-x,3\n,u-y,4\n 3,u-z,5\nabc,ユーザー,1\n9,\"multi\nline\",2\n");
    let input = write(dir.path(), "ratings.csv", &csv);
    let rust = guest("enrich");
    for lang in PORTS {
        let port = guest(&format!("enrich-{lang}"));
        for settings in [
            &["lookup=books", "columns=name"][..],
            &["lookup=books", "key=id", "columns=name:book_name"],
            &["lookup=books"],
        ] {
            let (ok_rs, rs, err_rs) = outcomes(&rust, &input, settings);
            let (ok, out, err) = outcomes(&port, &input, settings);
            assert!(ok_rs && ok, "{lang} {settings:?}:\n{err_rs}\n{err}");
            assert_eq!(rs.lines().count(), 505, "{settings:?}");
            assert_eq!(out, rs, "{lang} {settings:?}: outcomes differ from Rust's");
        }
        same_errors(&rust, &port, &input, ENRICH_ERRORS);
    }
}

/// Settings the transform refuses, each with a message the ports must repeat word for word.
const ENRICH_ERRORS: &[&[&str]] = &[
    &["columns=name"],
    &["lookup=nope"],
    &["lookup=books", "columns=title"],
    &["lookup=books", "key=book"],
    &["lookup=books", "colour=red"],
    &["lookup=books", "columns=name:x,name:x"],
];

fn same_errors(rust: &Path, port: &Path, input: &str, cases: &[&[&str]]) {
    for settings in cases {
        let (ok_rs, _, err_rs) = outcomes(rust, input, settings);
        let (ok, _, err) = outcomes(port, input, settings);
        assert!(!ok_rs && !ok, "{settings:?}");
        assert_eq!(
            reason(&err),
            reason(&err_rs),
            "{} {settings:?}",
            port.display()
        );
    }
}

/// S4 through every implementation: the same rows land in PostgreSQL.
#[tokio::test]
async fn enrich_ports_write_the_same_rows() {
    let dir = scratch();
    let input = write(dir.path(), "ratings.csv", holo_seed::ratings_csv(300, 5));
    let dsn = TestPg::shared().dsn();
    let mut tables = Vec::new();
    for name in ["enrich", "enrich-py", "enrich-js"] {
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
    let a = &tables[0];
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {a}")).await, 300);
    for b in &tables[1..] {
        let differing = format!(
            "SELECT count(*) FROM ((TABLE {a} EXCEPT ALL TABLE {b}) UNION ALL \
             (TABLE {b} EXCEPT ALL TABLE {a})) d"
        );
        assert_eq!(query_i64(&differing).await, 0, "{b} differs from {a}");
    }
}

/// Values that test every cast's edges: signs, spaces, underscores, other scripts'
/// digits, i64 bounds, infinities, JSON that is and is not valid, long text quoted short.
const CASTS: &str = r#"a,b,c,d
1,1.5,yes,"{""k"": [1, 2]}"
 42 ,+7,Off,"[1,"
+7,1_000,t,NaN
1_000,inf,maybe,"""text"""
٣,NaN,1,null
9223372036854775808,1e5,0,  true
-9223372036854775808,.5,Y,{}
1.0,5.,no,1e400
,,,
x,-0,ON,"[""日本""]"
this is a rather long value that goes on and on and on past sixty-four characters for sure,abc,true,"{""a"":NaN}"
short,row
"#;

#[test]
fn alias_ports_match_rust() {
    let dir = scratch();
    let input = write(dir.path(), "casts.csv", CASTS);
    let rust = guest("alias");
    for lang in PORTS {
        let port = guest(&format!("alias-{lang}"));
        for settings in [
            &["cast=a:int"][..],
            &["cast=b:float"],
            &["cast=c:boolean"],
            &["cast=d:json"],
            &["cast=a:text,b:float,c:boolean,d:json"],
            &["rename=a:x,b:y", "select=y,x", "cast=x:int"],
            &["select=d,c"],
            &[],
        ] {
            let (ok_rs, rs, err_rs) = outcomes(&rust, &input, settings);
            let (ok, out, err) = outcomes(&port, &input, settings);
            assert!(ok_rs && ok, "{lang} {settings:?}:\n{err_rs}\n{err}");
            assert_eq!(rs.lines().count(), 12, "{settings:?}");
            assert_eq!(out, rs, "{lang} {settings:?}: outcomes differ from Rust's");
        }
        same_errors(
            &rust,
            &port,
            &input,
            &[
                &["cast=a:integer"],
                &["rename=a"],
                &["rename=a:x,a:y"],
                &["select=a,nope"],
                &["rename=a:b"],
                &["cast=zz:int"],
                &["select="],
                &["shout=yes"],
            ],
        );
    }
}
