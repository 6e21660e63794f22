//! Architecture checks, run by `cargo xtask tidy` and as a `#[test]`.
//!
//! Invariant: `trash-core` holds the rules and nothing else. It may not
//! depend on storage, HTTP, serialization formats or an async runtime, so
//! teams embedding it can unit-test the policy in isolation.

use std::path::{Path, PathBuf};

/// The only crates `trash-core` may depend on outside dev-dependencies:
/// none of them performs I/O, runs a runtime or speaks a wire format.
pub const ALLOWED_IN_CORE: &[&str] = &[
    "async-trait",
    "chrono",
    "thiserror",
    "sha2",
    "subtle",
    "unicode-general-category",
    "mockall",
];

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// The dependencies declared in the non-dev dependency tables of a manifest
/// (`[dependencies]`, `[build-dependencies]`, and their `[target.*.…]`
/// forms): the name used, and the package behind it when renamed with
/// `package = "…"`.
pub fn runtime_dependencies(manifest: &str) -> Vec<String> {
    let mut deps = Vec::new();
    let mut in_runtime_table = false;
    let mut in_dependency_table = false;
    for raw in manifest.lines() {
        let line = raw.trim();
        if line.starts_with('[') {
            let table = line.trim_matches(|c| c == '[' || c == ']').trim();
            let last = table.rsplit('.').next().unwrap_or(table);
            in_runtime_table = last == "dependencies" || last == "build-dependencies";
            in_dependency_table = false;
            // `[dependencies.foo]` form.
            for prefix in ["dependencies.", "build-dependencies."] {
                if let Some(rest) = table
                    .split(prefix)
                    .nth(1)
                    .filter(|_| !table.contains("dev-"))
                {
                    deps.push(rest.trim_matches('"').to_string());
                    in_dependency_table = true;
                }
            }
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            // `foo.workspace = true` declares `foo`.
            let key = key
                .trim()
                .trim_matches('"')
                .split('.')
                .next()
                .unwrap_or_default();
            if in_dependency_table && key == "package" {
                deps.push(value.trim().trim_matches('"').to_string());
            } else if in_runtime_table && !key.is_empty() && !key.starts_with('#') {
                deps.push(key.to_string());
                if let Some(package) = value.split("package").nth(1) {
                    let name = package
                        .trim_start_matches([' ', '='])
                        .split('"')
                        .nth(1)
                        .unwrap_or_default();
                    if !name.is_empty() {
                        deps.push(name.to_string());
                    }
                }
            }
        }
    }
    deps
}

/// Source-level uses that mean I/O, a runtime, the real clock or a wire format.
const FORBIDDEN_IN_SOURCE: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "std::thread",
    "std::env",
    "std::io::stdin",
    "std::io::stdout",
    "SystemTime",
    "Instant::now",
    "Utc::now",
    "Local::now",
    "tokio::",
    "sqlx::",
    "axum::",
    "serde_json",
    "println!",
    "eprintln!",
    "print!(",
];

/// Modules of `std` the core may not use, however they are imported
/// (`use std::{fs, …}` included).
const FORBIDDEN_STD_MODULES: &[&str] = &["fs", "net", "process", "thread", "env"];

/// The code of a file without its trailing unit-test module
/// (`#[cfg(test)]` followed by `mod tests`, with or without a visibility).
fn non_test_code(text: &str) -> &str {
    let mut from = 0;
    while let Some(i) = text[from..].find("#[cfg(test)]\n") {
        let at = from + i;
        let next = text[at + "#[cfg(test)]\n".len()..]
            .lines()
            .next()
            .unwrap_or("");
        let item = next
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub ");
        if item.starts_with("mod tests") {
            return &text[..at];
        }
        from = at + 1;
    }
    text
}

/// The most methods a port (a trait in `trash-core/src/ports`) may have: a
/// role an embedder implements should fit in one hand.
pub const MAX_PORT_METHODS: usize = 12;

/// Every `trait` declared in `code` with the number of `fn`s at its top
/// level. Comment lines are skipped, so braces in docs do not count.
pub fn trait_method_counts(code: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    let code = lines.join("\n");
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("trait ") {
        let before = &rest[..i];
        let at_item_start = before.chars().last().is_none_or(|c| c.is_whitespace());
        let after = &rest[i + "trait ".len()..];
        if !at_item_start {
            rest = after;
            continue;
        }
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let Some(open) = after.find(['{', ';']) else {
            break;
        };
        if after.as_bytes()[open] == b';' {
            rest = &after[open + 1..];
            continue;
        }
        let body = &after[open + 1..];
        let mut depth = 1usize;
        let mut methods = 0usize;
        let mut end = body.len();
        let mut word_start = true;
        for (j, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j;
                        break;
                    }
                }
                _ => {}
            }
            if depth == 1 && word_start && body[j..].starts_with("fn ") {
                methods += 1;
            }
            word_start = !(c.is_alphanumeric() || c == '_');
        }
        out.push((name, methods));
        rest = &body[end.min(body.len())..];
    }
    out
}

/// The `std` modules named inside `use std::{…}` groups.
fn grouped_std_modules(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("std::{") {
        let group = &rest[i + 6..];
        let end = group.find('}').unwrap_or(group.len());
        for item in group[..end].split(',') {
            let head = item.trim().split("::").next().unwrap_or("").trim();
            out.push(head.to_string());
        }
        rest = &group[end..];
    }
    out
}

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
                if !ALLOWED_IN_CORE.contains(&dep.as_str()) {
                    errors.push(format!(
                        "trash-core depends on `{dep}`: the core may only use {} (it stays free of I/O, runtimes and wire formats)",
                        ALLOWED_IN_CORE.join(", ")
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
        let code = non_test_code(&text);
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for module in grouped_std_modules(code) {
            if FORBIDDEN_STD_MODULES.contains(&module.as_str()) {
                errors.push(format!(
                    "{shown} uses `std::{module}`: trash-core performs no I/O and never reads the clock"
                ));
            }
        }
        for needle in FORBIDDEN_IN_SOURCE {
            if code.contains(needle) {
                errors.push(format!(
                    "{} uses `{needle}`: trash-core performs no I/O and never reads the clock",
                    file.strip_prefix(root).unwrap_or(&file).display()
                ));
            }
        }
    }
    let mut port_files = Vec::new();
    rust_files(&core.join("src/ports"), &mut port_files);
    let single = core.join("src/ports.rs");
    if single.exists() {
        port_files.push(single);
    }
    for file in port_files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (name, methods) in trait_method_counts(non_test_code(&text)) {
            if methods > MAX_PORT_METHODS {
                errors.push(format!(
                    "{}: port `{name}` has {methods} methods; a role has at most {MAX_PORT_METHODS} (split it by role)",
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
    fn the_real_ports_are_seen() {
        let mut files = Vec::new();
        rust_files(
            &workspace_root().join("crates/trash-core/src/ports"),
            &mut files,
        );
        let counts: Vec<(String, usize)> = files
            .iter()
            .flat_map(|f| trait_method_counts(&std::fs::read_to_string(f).unwrap()))
            .collect();
        for role in [
            "TrashReads",
            "TrashWrites",
            "WorkQueue",
            "AccountStore",
            "ResourceStore",
        ] {
            let n = counts
                .iter()
                .find(|(name, _)| name == role)
                .map(|(_, n)| *n)
                .unwrap_or_else(|| panic!("{role} not found in {counts:?}"));
            assert!((1..=MAX_PORT_METHODS).contains(&n), "{role}: {n}");
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
timer = { package = "tokio-timer", version = "0.2" }
sha2.workspace = true
"#;
        let deps = runtime_dependencies(manifest);
        assert!(deps.contains(&"tokio".to_string()));
        assert!(deps.contains(&"sqlx".to_string()));
        assert!(deps.contains(&"serde_json".to_string()));
        assert!(
            !deps.contains(&"axum".to_string()),
            "dev-dependencies are allowed"
        );
        assert!(
            deps.contains(&"tokio-timer".to_string()),
            "renamed packages are seen"
        );
        assert!(
            deps.contains(&"sha2".to_string()),
            "workspace inheritance is read"
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
        std::fs::write(
            src.join("grouped.rs"),
            "use std::{collections::BTreeMap, net::TcpStream};\n#[cfg(test)]\nmod tests {}\n",
        )
        .unwrap();
        let errors = check(&dir).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(errors.iter().any(|e| e.contains("axum")), "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("std::fs")), "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("std::net")), "{errors:?}");
        assert!(
            !errors.iter().any(|e| e.contains("std::collections")),
            "{errors:?}"
        );
    }

    #[test]
    fn ports_are_counted_and_big_ones_refused() {
        let code = "/// A { brace in a doc\n#[async_trait]\npub trait Small: Send {\n    /// doc fn x()\n    async fn a(&self) -> Result<(), E>;\n    fn b(&self) { let f = |x| x; }\n}\npub trait Marker: A + B {}\nimpl<T> Marker for T {}\n";
        assert_eq!(
            trait_method_counts(code),
            vec![("Small".to_string(), 2), ("Marker".to_string(), 0)]
        );
        let dir = std::env::temp_dir().join(format!("tidy-ports-{}", std::process::id()));
        let ports = dir.join("crates/trash-core/src/ports");
        std::fs::create_dir_all(&ports).unwrap();
        std::fs::write(dir.join("crates/trash-core/Cargo.toml"), "[dependencies]\n").unwrap();
        let methods: String = (0..13).map(|n| format!("    fn m{n}(&self);\n")).collect();
        std::fs::write(
            ports.join("big.rs"),
            format!("pub trait Everything {{\n{methods}}}\n"),
        )
        .unwrap();
        let errors = check(&dir).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e.contains("`Everything` has 13 methods")),
            "{errors:?}"
        );
    }

    #[test]
    fn test_modules_are_skipped_with_or_without_visibility() {
        assert_eq!(non_test_code("a\n#[cfg(test)]\nmod tests {}"), "a\n");
        assert_eq!(
            non_test_code("a\n#[cfg(test)]\npub(crate) mod tests {}"),
            "a\n"
        );
        assert_eq!(
            non_test_code("a\n#[cfg(test)]\nfn helper() {}\n"),
            "a\n#[cfg(test)]\nfn helper() {}\n"
        );
    }
}
