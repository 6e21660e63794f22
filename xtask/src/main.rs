//! Project automation: `cargo xtask ci | tidy | bench`.

use std::process::{Command, ExitCode};

mod tidy;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => bench(&args[1..]),
        Some("tidy") => tidy::check(&tidy::workspace_root()).map_err(|errors| errors.join("\n")),
        _ => {
            eprintln!("usage: cargo xtask <ci|tidy|bench [--quick] [--sqlite|--postgres]>");
            eprintln!("  ci     fmt check, clippy -D warnings, every test, the bench's smoke run");
            eprintln!("  tidy   architecture checks (trash-core stays pure)");
            eprintln!("  bench  speed and memory targets, as ratios against a same-run baseline");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("+ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(tidy::workspace_root())
        .status()
        .map_err(|e| format!("could not start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

fn ci() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // The PostgreSQL tests need a running server; start the local one if it is down.
    let ensure_pg = tidy::workspace_root().join("scripts/ensure-postgres.sh");
    if ensure_pg.exists() {
        run("bash", &[ensure_pg.to_str().ok_or("non-UTF-8 path")?])?;
    }
    run(&cargo, &["fmt", "--all", "--", "--check"])?;
    run(
        &cargo,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // Unit, integration and doc tests of every crate.
    run(
        &cargo,
        &["test", "--workspace", "--all-features", "--no-fail-fast"],
    )?;
    // The bench's smoke run: every row end to end at its quick sizes, on
    // the debug build the tests just made (ratios shown, not enforced).
    let deps = tidy::workspace_root().join("scripts/bench-deps.sh");
    run("bash", &[deps.to_str().ok_or("non-UTF-8 path")?])?;
    run(
        &cargo,
        &[
            "run",
            "--quiet",
            "-p",
            "trash-bench",
            "--",
            "--quick",
            "--smoke",
        ],
    )?;
    Ok(())
}

fn bench(extra: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // PostgreSQL up and pgbench installed: the PostgreSQL rows need both.
    if !extra.iter().any(|a| a == "--sqlite") {
        let deps = tidy::workspace_root().join("scripts/bench-deps.sh");
        run("bash", &[deps.to_str().ok_or("non-UTF-8 path")?])?;
    }
    let mut args = vec!["run", "--release", "--quiet", "-p", "trash-bench", "--"];
    args.extend(extra.iter().map(String::as_str));
    run(&cargo, &args)
}
