//! Runs `scripts/roboflow-cli-compat.sh`: the official Roboflow CLI
//! (roboflow-slim from PyPI) against the real `trashd` binary. It fails, and
//! never skips, when python3, its venv module, pip or curl are missing.

mod common;

#[test]
fn official_roboflow_cli_works_against_trashd() {
    common::run_repo_script(
        "roboflow-cli-compat.sh",
        "Roboflow CLI compatibility check",
        "checks passed",
    );
}
