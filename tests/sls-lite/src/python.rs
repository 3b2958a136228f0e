//! The official Python SDK (`aliyun-log-python-sdk` from PyPI) in a venv, for fidelity tests
//! here and in the host's tests. Without PyPI a test skips with a loud message, unless
//! `CI=true`, where it fails instead.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The SDK release the scripts were written against.
pub const SDK: &str = "aliyun-log-python-sdk==0.9.52";

/// The scripts kept with this crate (`roundtrip.py`, `consume.py`, `lifecycle.py`, …).
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name)
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (or fails under CI) with a message that cannot be missed.
pub fn unavailable(why: &str) {
    let message = format!("Python SDK test cannot run: {why}");
    if in_ci() {
        panic!("{message} (CI=true: failing instead of skipping)");
    }
    // Straight to the stream: libtest captures `eprintln!` of passing tests, not this.
    let bar = "!".repeat(88);
    let _ = writeln!(
        std::io::stderr(),
        "\n{bar}\n!!! SKIPPED: {message}\n!!! (set CI=true to make this a failure)\n{bar}\n"
    );
}

fn sdk_importable(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import aliyun.log, lz4"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The python of a venv at `venv` with the SDK installed, or why there is none (set up once
/// per process; several test binaries may share the venv).
pub fn with_sdk(venv: &Path) -> Result<PathBuf, String> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON.get_or_init(|| install_sdk(venv)).clone()
}

fn install_sdk(venv: &Path) -> Result<PathBuf, String> {
    let python = venv.join("bin").join("python");
    if python.exists() && sdk_importable(&python) {
        return Ok(python);
    }
    if !python.exists() {
        let made = ["python3.11", "python3"].iter().any(|exe| {
            Command::new(exe)
                .args(["-m", "venv"])
                .arg(venv)
                .status()
                .is_ok_and(|s| s.success())
        });
        if !made {
            return Err(format!(
                "cannot create a venv at {} (is python3 with venv installed?)",
                venv.display()
            ));
        }
    }
    let pip = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "--timeout",
            "30",
            SDK,
        ])
        .output()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if !pip.status.success() {
        return Err(format!(
            "pip cannot install {SDK} (is PyPI reachable?): {}",
            String::from_utf8_lossy(&pip.stderr).trim()
        ));
    }
    if !sdk_importable(&python) {
        return Err(format!("{SDK} installed but `import aliyun.log` fails"));
    }
    Ok(python)
}
