//! Hostile transforms, limits and poison-record isolation.
//!
//! The `hostile` test transform attacks the host on the records a `when` setting selects;
//! for each attack the run must go on, say what happened, and lose nothing else.

use std::path::Path;
use std::process::Output;

use crate::support::{
    Args, assert_failure, assert_success, dead_letters, guest, pg::TestPg, query_i64, scratch,
    table, write,
};

/// `id,name` rows 1..=n.
fn ids_csv(n: u32) -> String {
    let mut s = String::from("id,name\n");
    for i in 1..=n {
        s.push_str(&format!("{i},書籍{i}\n"));
    }
    s
}

/// The hostile transform with `settings` over the CSV file `input`.
fn hostile(input: &str, settings: &[&str]) -> Args {
    Args::csv(input).transform(&guest("hostile")).set(settings)
}

/// Runs the hostile transform over `rows` records printed to stdout.
fn attack(dir: &Path, rows: u32, settings: &[&str], extra: &[&str]) -> Output {
    let input = write(dir, "in.csv", ids_csv(rows));
    hostile(&input, settings)
        .dead_letter(&dir.join("dead.jsonl"))
        .with(extra)
        .run()
}

/// Runs an attack over `rows` records that must not stop the run; the outcomes.
fn outcomes_of(rows: u32, settings: &[&str]) -> Vec<String> {
    let dir = scratch();
    let out = attack(dir.path(), rows, settings, &[]);
    assert_success(&out);
    outcomes(&out)
}

/// A load of `rows` records into a fresh table `name` with the hostile transform's output
/// columns: the scratch directory holding the input, the input and the table.
async fn load(name: &str, rows: u32) -> (tempfile::TempDir, String, String) {
    let dir = scratch();
    let input = write(dir.path(), "in.csv", ids_csv(rows));
    let t = table(
        name,
        "(id int8 PRIMARY KEY, name text NOT NULL, outcome text NOT NULL)",
    )
    .await;
    (dir, input, t)
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
        let o = outcomes_of(3, &["attack=read-file", &format!("path={path}")]);
        assert_eq!(o.len(), 3);
        assert!(o.iter().all(|s| s.starts_with("denied")), "{o:?}");
    }
}

#[test]
fn opening_a_socket_is_denied() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let o = outcomes_of(2, &["attack=socket", &format!("address={address}")]);
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
    let out = hostile(&input, &["attack=env"])
        .command()
        .env("HOLO_TEST_SECRET", "hunter2")
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
    assert!(stderr.contains("(48 MiB memory, 3 s per call)"), "{stderr}");
    // The version is named by a short hash.
    let summary = (stderr.lines())
        .find(|l| l.starts_with("holo-host: read"))
        .unwrap_or_else(|| panic!("a summary in {stderr}"));
    let hash = summary.split("sha256:").nth(1).unwrap_or_default();
    assert_eq!(hash.find(' '), Some(12), "{summary}");
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
    let stderr = assert_failure(&out);
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
    let stderr = assert_failure(&out);
    assert!(stderr.contains("no input column `nope`"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// A poison record in the middle of a 10,000-row load: exactly that row is dead-lettered,
/// the 9,999 others are written.
#[tokio::test]
async fn poison_record_in_a_large_load() {
    let (dir, input, t) = load("sandbox_poison", 10_000).await;
    let dl = dir.path().join("dead.jsonl");
    let out = hostile(&input, &["attack=panic", "when=id=5000"])
        .sink(&TestPg::shared().dsn(), &t)
        .dead_letter(&dl)
        .run();
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
    let (_dir, input, t) = load("sandbox_error_rate", 5000).await;
    let out = hostile(&input, &["attack=panic"])
        .sink(&TestPg::shared().dsn(), &t)
        .with([
            "--batch-rows",
            "500",
            "--max-error-rate",
            "0.5",
            "--error-window",
            "1000",
        ])
        .run();
    let stderr = assert_failure(&out);
    assert!(
        stderr.contains("failed 1000 of the last 1000 records, over the --max-error-rate of 0.5"),
        "{stderr}"
    );
    assert!(stderr.contains("in.csv:502"), "{stderr}");
    // The first batch (all dead-lettered) was committed, so a rerun resumes at line 502.
    let saved = query_i64(
        "SELECT (position->'source'->>'line')::int8 FROM holo_host.progress WHERE job LIKE '%sandbox_error_rate%'",
    )
    .await;
    assert_eq!(saved, 502);
}
