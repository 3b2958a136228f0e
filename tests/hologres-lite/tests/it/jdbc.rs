//! The paths holo-client itself takes, through pgjdbc (the driver it is built on; Debian's
//! `libpostgresql-jdbc-java`, which `scripts/test.sh` installs): its session settings, the
//! unnest upsert, the OR-of-keys delete, Fixed Copy through `CopyManager` as a simple query
//! with binary rows, and a JDBC transaction whose statements commit on their own.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::server;

/// pgjdbc's jar: `HOLO_PGJDBC_JAR`, else Debian's.
fn pgjdbc() -> PathBuf {
    let jar = std::env::var_os("HOLO_PGJDBC_JAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java/postgresql.jar"));
    assert!(
        jar.exists(),
        "{} is missing: install Debian's libpostgresql-jdbc-java (scripts/test.sh does), or \
         set HOLO_PGJDBC_JAR",
        jar.display()
    );
    jar
}

#[test]
fn holo_client_paths_through_pgjdbc() {
    let jar = pgjdbc();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jdbc/HoloClientPaths.java");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hologres-lite-jdbc");
    std::fs::create_dir_all(&out).unwrap();
    let javac = Command::new("javac")
        .args([
            "-cp",
            &jar.display().to_string(),
            "-d",
            &out.display().to_string(),
        ])
        .arg(&source)
        .output()
        .expect("run javac (Java 17)");
    assert!(
        javac.status.success(),
        "javac: {}",
        String::from_utf8_lossy(&javac.stderr)
    );
    for version in ["1.3.30", "3.0.30"] {
        let s = server(version);
        let url = format!(
            "jdbc:postgresql://127.0.0.1:{}/postgres?user=postgres",
            s.port()
        );
        let run = Command::new("java")
            .args(["-cp", &format!("{}:{}", jar.display(), out.display())])
            .args(["HoloClientPaths", &url])
            .output()
            .expect("run java");
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "{version}:\n{stdout}\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert_eq!(
            stdout.lines().filter(|l| l.starts_with("ok ")).count(),
            6,
            "{stdout}"
        );
    }
}
