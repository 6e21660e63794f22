//! Runs `scripts/schemathesis.sh`: schemathesis (from PyPI, pinned) with
//! every check and every phase, stateful included, against the real
//! `trashd` binary and its own `/openapi.json`, for a bounded time. Zero
//! failures are accepted. It fails, and never skips, when python3, its
//! venv module, pip or curl are missing.

mod common;

#[test]
fn schemathesis_finds_nothing_against_the_openapi_document() {
    common::run_repo_script(
        "schemathesis.sh",
        "schemathesis run",
        "schemathesis: 0 failures",
    );
}
