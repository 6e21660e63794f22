//! Runs `scripts/schemathesis.sh`: schemathesis (from PyPI, pinned) with
//! every check and every phase, stateful included, against the real
//! `trashd` binary and its own `/openapi.json`, for a bounded time. Zero
//! failures are accepted. It fails, and never skips, when python3, its
//! venv module, pip or curl are missing.

use std::path::PathBuf;
use std::process::Command;

fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .expect("crates/trashd sits two levels below the repository root")
        .to_path_buf()
}

fn have(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn schemathesis_finds_nothing_against_the_openapi_document() {
    assert!(
        have("python3", "--version"),
        "python3 is required for the schemathesis run; install it (it is not optional)"
    );
    assert!(
        have("curl", "--version"),
        "curl is required for the schemathesis run"
    );
    let root = repo_root();
    let script = root.join("scripts/schemathesis.sh");
    assert!(script.is_file(), "{} is missing", script.display());

    let output = Command::new("bash")
        .arg(&script)
        .current_dir(&root)
        .env("TRASHD_BIN", env!("CARGO_BIN_EXE_trashd"))
        .output()
        .expect("bash runs the script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the schemathesis run failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        output.status
    );
    assert!(
        stderr.contains("schemathesis: 0 failures"),
        "the script ended without its summary:\n{stderr}"
    );
}
