//! Architecture checks, run by `cargo xtask tidy` and as a `#[test]`.
//!
//! Invariant: `trash-core` holds the rules and nothing else. It may not
//! depend on storage, HTTP, serialization formats or an async runtime, so
//! teams embedding it can unit-test the policy in isolation.

use std::path::{Path, PathBuf};

/// Crates `trash-core` must never depend on (outside dev-dependencies).
pub const FORBIDDEN_IN_CORE: &[&str] = &[
    "sqlx",
    "axum",
    "tokio",
    "serde_json",
    "serde",
    "hyper",
    "reqwest",
    "tower",
    "tower-http",
    "rusqlite",
    "postgres",
    "tokio-postgres",
    "diesel",
    "async-std",
    "smol",
    "mio",
    "tracing",
    "rand",
    "getrandom",
    "std-fs",
    "clap",
    "utoipa",
];

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// Returns the dependency names declared in the non-dev dependency tables
/// of a manifest (`[dependencies]`, `[build-dependencies]`, and their
/// `[target.*.…]` forms).
pub fn runtime_dependencies(manifest: &str) -> Vec<String> {
    let mut deps = Vec::new();
    let mut in_runtime_table = false;
    for raw in manifest.lines() {
        let line = raw.trim();
        if line.starts_with('[') {
            let table = line.trim_matches(|c| c == '[' || c == ']').trim();
            let last = table.rsplit('.').next().unwrap_or(table);
            in_runtime_table = last == "dependencies" || last == "build-dependencies";
            // `[dependencies.foo]` form.
            if let Some(rest) = table.strip_prefix("dependencies.") {
                deps.push(rest.trim_matches('"').to_string());
            }
            continue;
        }
        if in_runtime_table {
            if let Some((name, _)) = line.split_once('=') {
                let name = name.trim().trim_matches('"');
                if !name.is_empty() && !name.starts_with('#') {
                    deps.push(name.to_string());
                }
            }
        }
    }
    deps
}

/// Source-level uses that mean I/O, a runtime or a wire format.
const FORBIDDEN_IN_SOURCE: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "std::thread::sleep",
    "std::env",
    "SystemTime::now",
    "Utc::now",
    "Local::now",
    "tokio::",
    "sqlx::",
    "axum::",
    "serde_json",
    "println!",
    "eprintln!",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
}

/// Checks the invariants; returns one message per violation.
pub fn check(root: &Path) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let core = root.join("crates/trash-core");
    match std::fs::read_to_string(core.join("Cargo.toml")) {
        Ok(manifest) => {
            for dep in runtime_dependencies(&manifest) {
                if FORBIDDEN_IN_CORE.contains(&dep.as_str()) {
                    errors.push(format!(
                        "trash-core depends on `{dep}`: the core must stay free of I/O, runtimes and wire formats"
                    ));
                }
            }
        }
        Err(e) => errors.push(format!("cannot read trash-core/Cargo.toml: {e}")),
    }
    let mut files = Vec::new();
    rust_files(&core.join("src"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        // Only non-test code: cut at the first `#[cfg(test)]`.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for needle in FORBIDDEN_IN_SOURCE {
            if code.contains(needle) {
                errors.push(format!(
                    "{} uses `{needle}`: trash-core performs no I/O and never reads the clock",
                    file.strip_prefix(root).unwrap_or(&file).display()
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trash_core_stays_pure() {
        if let Err(errors) = check(&workspace_root()) {
            panic!("architecture invariant broken:\n{}", errors.join("\n"));
        }
    }

    #[test]
    fn tidy_catches_forbidden_dependencies() {
        let manifest = r#"
[package]
name = "x"
[dependencies]
chrono = "0.4"
tokio = { version = "1" }
[dependencies.sqlx]
version = "0.8"
[dev-dependencies]
axum = "0.8"
[target.'cfg(unix)'.dependencies]
serde_json = "1"
"#;
        let deps = runtime_dependencies(manifest);
        assert!(deps.contains(&"tokio".to_string()));
        assert!(deps.contains(&"sqlx".to_string()));
        assert!(deps.contains(&"serde_json".to_string()));
        assert!(
            !deps.contains(&"axum".to_string()),
            "dev-dependencies are allowed"
        );
    }

    #[test]
    fn tidy_catches_io_in_a_core_like_tree() {
        let dir = std::env::temp_dir().join(format!("tidy-probe-{}", std::process::id()));
        let src = dir.join("crates/trash-core/src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(
            dir.join("crates/trash-core/Cargo.toml"),
            "[dependencies]\naxum = \"0.8\"\n",
        )
        .unwrap();
        std::fs::write(
            src.join("lib.rs"),
            "fn f() { let _ = std::fs::read(\"x\"); }\n",
        )
        .unwrap();
        let errors = check(&dir).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(errors.iter().any(|e| e.contains("axum")), "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("std::fs")), "{errors:?}");
    }
}
