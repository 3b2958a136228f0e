//! Hostile transforms, limits and poison-record isolation.
//!
//! The `hostile` test transform attacks the host on the records a `when` setting selects;
//! for each attack the run must go on, say what happened, and lose nothing else.

use std::path::Path;
use std::process::Output;

use crate::support::{
    assert_success, dead_letters, guest, pg::TestPg, query_i64, run, scratch, table, write,
};

/// `id,name` rows 1..=n.
fn ids_csv(n: u32) -> String {
    let mut s = String::from("id,name\n");
    for i in 1..=n {
        s.push_str(&format!("{i},書籍{i}\n"));
    }
    s
}

/// Runs the hostile transform over `rows` records printed to stdout.
fn attack(dir: &Path, rows: u32, settings: &[&str], extra: &[&str]) -> Output {
    let input = write(dir, "in.csv", ids_csv(rows));
    let dl = dir.join("dead.jsonl");
    let hostile = guest("hostile");
    let mut args = vec![
        "--source".to_owned(),
        format!("csv:{input}"),
        "--transform".to_owned(),
        hostile.to_str().unwrap().to_owned(),
        "--dead-letter".to_owned(),
        dl.to_str().unwrap().to_owned(),
    ];
    for s in settings {
        args.push("--set".into());
        args.push((*s).to_owned());
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The `outcome` column of each row printed on stdout.
fn outcomes(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            v["outcome"].as_str().expect("outcome").to_owned()
        })
        .collect()
}

/// A trap on record `id=3` of 10: that record is dead-lettered with `expect` in its reason,
/// the 9 others are written, and the summary counts the isolation.
fn trap_isolated(attack_name: &str, expect: &str, extra: &[&str]) {
    let dir = scratch();
    let out = attack(
        dir.path(),
        10,
        &[&format!("attack={attack_name}"), "when=id=3"],
        extra,
    );
    let stderr = assert_success(&out);
    let written = outcomes(&out);
    assert_eq!(written.len(), 9, "{stderr}");
    assert!(written.iter().all(|o| o == "spared"), "{written:?}");
    let dl = dead_letters(&dir.path().join("dead.jsonl"));
    assert_eq!(dl.len(), 1, "{dl:?}");
    assert_eq!(dl[0]["record"]["id"], "3");
    assert_eq!(dl[0]["stage"], "transform");
    assert_eq!(dl[0]["line"], 4);
    let reason = dl[0]["reason"].as_str().unwrap();
    assert!(reason.contains(expect), "{reason}");
    assert!(
        dl[0]["transform"]
            .as_str()
            .is_some_and(|h| h.starts_with("sha256:")),
        "{dl:?}"
    );
    assert!(stderr.contains("1 records isolated"), "{stderr}");
}

#[test]
fn reading_a_host_file_is_denied() {
    // A file that certainly exists and is readable by the host.
    let target = crate::support::data("books.csv");
    for path in ["/etc/passwd", target.to_str().unwrap()] {
        let dir = scratch();
        let out = attack(
            dir.path(),
            3,
            &["attack=read-file", &format!("path={path}")],
            &[],
        );
        assert_success(&out);
        let o = outcomes(&out);
        assert_eq!(o.len(), 3);
        assert!(o.iter().all(|s| s.starts_with("denied")), "{o:?}");
    }
}

#[test]
fn opening_a_socket_is_denied() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let dir = scratch();
    let out = attack(
        dir.path(),
        2,
        &["attack=socket", &format!("address={address}")],
        &[],
    );
    assert_success(&out);
    let o = outcomes(&out);
    assert!(o.iter().all(|s| s.starts_with("denied")), "{o:?}");
    assert!(
        listener.accept().is_err(),
        "the transform reached a socket on the host"
    );
}

#[test]
fn the_environment_is_empty() {
    let dir = scratch();
    let input = write(dir.path(), "in.csv", ids_csv(2));
    let hostile = guest("hostile");
    let out = crate::support::holo_host()
        .env("HOLO_TEST_SECRET", "hunter2")
        .args([
            "run",
            "--source",
            &format!("csv:{input}"),
            "--transform",
            hostile.to_str().unwrap(),
            "--set",
            "attack=env",
        ])
        .output()
        .unwrap();
    assert_success(&out);
    let o = outcomes(&out);
    assert_eq!(o, ["denied: no environment variables"; 2]);
}

#[test]
fn allocating_past_the_cap_is_isolated() {
    trap_isolated("alloc", "out of memory", &["--transform-memory", "32"]);
    trap_isolated(
        "alloc",
        "over its cap of 32 MiB",
        &["--transform-memory", "32"],
    );
}

#[test]
fn an_endless_loop_meets_the_deadline() {
    trap_isolated(
        "loop",
        "exceeded its CPU deadline of 200 ms",
        &["--transform-timeout", "200ms"],
    );
}

#[test]
fn unbounded_recursion_is_isolated() {
    trap_isolated("recurse", "stack", &[]);
}

#[test]
fn a_panic_is_isolated_with_its_message() {
    trap_isolated("panic", "hostile transform panics on purpose", &[]);
}

#[test]
fn limits_are_in_the_summary() {
    let dir = scratch();
    let out = attack(
        dir.path(),
        2,
        &["attack=none"],
        &["--transform-memory", "48", "--transform-timeout", "3s"],
    );
    let stderr = assert_success(&out);
    assert!(
        stderr.contains("(48 MiB memory, 3 s per batch)"),
        "{stderr}"
    );
}

#[test]
fn a_transform_stuck_while_starting_is_stopped() {
    let dir = scratch();
    let out = attack(
        dir.path(),
        2,
        &["attack=loop", "phase=configure"],
        &["--transform-timeout", "300ms"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "transform `hostile` trapped while starting: exceeded its CPU deadline of 300 ms"
        ),
        "{stderr}"
    );
}

#[test]
fn a_bad_setting_stops_the_run_before_data_flows() {
    let dir = scratch();
    let out = attack(dir.path(), 2, &["attack=none", "when=nope=1"], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no input column `nope`"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// A poison record in the middle of a 10,000-row load: exactly that row is dead-lettered,
/// the 9,999 others are written.
#[tokio::test]
async fn poison_record_in_a_large_load() {
    let pg = TestPg::shared();
    let dir = scratch();
    let input = write(dir.path(), "in.csv", ids_csv(10_000));
    let t = table(
        "sandbox_poison",
        "(id int8 PRIMARY KEY, name text NOT NULL, outcome text NOT NULL)",
    )
    .await;
    let dl = dir.path().join("dead.jsonl");
    let hostile = guest("hostile");
    let out = run(&[
        "--source",
        &format!("csv:{input}"),
        "--transform",
        hostile.to_str().unwrap(),
        "--set",
        "attack=panic",
        "--set",
        "when=id=5000",
        "--sink",
        &pg.dsn(),
        "--table",
        &t,
        "--dead-letter",
        dl.to_str().unwrap(),
    ]);
    let stderr = assert_success(&out);
    assert!(
        stderr.contains("read 10000 rows, wrote 9999, dead-lettered 1"),
        "{stderr}"
    );
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 9999);
    assert_eq!(
        query_i64(&format!("SELECT count(*) FROM {t} WHERE id = 5000")).await,
        0
    );
    assert_eq!(
        query_i64(&format!("SELECT sum(id)::int8 FROM {t}")).await,
        10_000 * 10_001 / 2 - 5000
    );
    let letters = dead_letters(&dl);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["record"]["id"], "5000");
    assert_eq!(letters[0]["line"], 5001);
    assert!(
        letters[0]["reason"]
            .as_str()
            .unwrap()
            .contains("panics on purpose"),
        "{letters:?}"
    );
}

/// A transform that fails nearly everything stops the run instead of dead-lettering the
/// whole input; what was committed before stays.
#[tokio::test]
async fn max_error_rate_stops_the_run() {
    let pg = TestPg::shared();
    let dir = scratch();
    let input = write(dir.path(), "in.csv", ids_csv(5000));
    let t = table(
        "sandbox_error_rate",
        "(id int8 PRIMARY KEY, name text NOT NULL, outcome text NOT NULL)",
    )
    .await;
    let hostile = guest("hostile");
    let out = run(&[
        "--source",
        &format!("csv:{input}"),
        "--transform",
        hostile.to_str().unwrap(),
        "--set",
        "attack=panic",
        "--sink",
        &pg.dsn(),
        "--table",
        &t,
        "--batch-rows",
        "500",
        "--max-error-rate",
        "0.5",
        "--error-window",
        "1000",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("failed 1000 of the last 1000 records, over the --max-error-rate of 0.5"),
        "{stderr}"
    );
    assert!(stderr.contains("in.csv:502"), "{stderr}");
    // The first batch (all dead-lettered) was committed, so a rerun resumes at line 502.
    let saved = query_i64(
        "SELECT (position->>'line')::int8 FROM holo_host.progress WHERE job LIKE '%sandbox_error_rate%'",
    )
    .await;
    assert_eq!(saved, 502);
}
