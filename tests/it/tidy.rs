//! Tidy tests over the whole workspace (issue 13): which crate may depend on what, every source
//! file says what lives in it, no `unwrap`/`expect` outside tests, and no file or function grows
//! long without a reason written beside it (a file's test module, which comes last, is not counted).

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Every `.rs` file below `dir` (relative to the workspace root), sorted.
fn rust_files(dir: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "target") {
                    continue;
                }
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join(dir), &mut out);
    out.sort();
    out
}

/// The product's sources: `crates/*/src`.
fn product_sources() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for krate in ["domain", "store", "projections", "dunlog", "loadtest"] {
        out.extend(rust_files(&format!("crates/{krate}/src")));
    }
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Whether the file is a test module of its own: `tests.rs`, or a file its parent declares under
/// `#[cfg(test)]` (e.g. `ops/import/fuzz.rs` from `#[cfg(test)] mod fuzz;` in `ops/import.rs`).
fn is_test_module_file(path: &Path) -> bool {
    let Some(name) = path.file_stem().and_then(|n| n.to_str()) else {
        return false;
    };
    if name == "tests" {
        return true;
    }
    let Some(dir) = path.parent() else {
        return false;
    };
    let declaration = format!("#[cfg(test)]\nmod {name};");
    let parents = [
        dir.with_extension("rs"),
        dir.join("mod.rs"),
        dir.join("lib.rs"),
    ];
    parents
        .iter()
        .any(|parent| std::fs::read_to_string(parent).is_ok_and(|text| text.contains(&declaration)))
}

/// The text of a source file up to its test module (tests come last in every file here), or
/// nothing when the whole file is a test module.
fn non_test_text(path: &Path) -> String {
    if is_test_module_file(path) {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap_or_default();
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// The names in a Cargo.toml's `[dependencies]` table.
fn normal_dependencies(krate: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("crates/{krate}/Cargo.toml: {e}"));
    let mut names = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
        } else if inside && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
            names.push(name.trim().to_owned());
        }
    }
    names
}

#[test]
fn crates_depend_only_downward() {
    // (crate, what it must never depend on, why)
    let rules: [(&str, &[&str], &str); 5] = [
        (
            "domain",
            &[
                "store",
                "projections",
                "dunlog",
                "loadtest",
                "tokio",
                "sled",
                "axum",
                "async-graphql",
            ],
            "the domain is pure: no I/O, no runtime, no storage, no server",
        ),
        (
            "store",
            &["projections", "dunlog", "loadtest", "axum", "async-graphql"],
            "the log knows nothing of read models or the API",
        ),
        (
            "projections",
            &["dunlog", "loadtest", "axum", "async-graphql"],
            "read models know nothing of the API",
        ),
        (
            "loadtest",
            &["dunlog"],
            "the product depends on its load tools, not the reverse",
        ),
        (
            "dunlog",
            &["reqwest"],
            "the server carries no HTTP client (decision 0041)",
        ),
    ];
    let mut broken = Vec::new();
    for (krate, forbidden, why) in rules {
        for dep in normal_dependencies(krate) {
            if forbidden.contains(&dep.as_str()) {
                broken.push(format!("{krate} depends on {dep}: {why}"));
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}

#[test]
fn every_rust_file_in_the_workspace_starts_with_a_doc_line() {
    let mut files = product_sources();
    for dir in [
        "crates/domain/tests",
        "crates/store/tests",
        "crates/projections/tests",
        "crates/store/benches",
        "crates/projections/benches",
        "crates/dunlog/examples",
        "tests",
        "fuzz/fuzz_targets",
    ] {
        files.extend(rust_files(dir));
    }
    assert!(files.len() > 100, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            !std::fs::read_to_string(f)
                .unwrap_or_default()
                .starts_with("//!")
        })
        .map(|f| relative(f))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` first line: {missing:#?}"
    );
}

#[test]
fn no_unwrap_or_expect_outside_tests() {
    let mut found = Vec::new();
    for file in product_sources() {
        for (i, line) in non_test_text(&file).lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if code.contains(".unwrap()") || code.contains(".expect(") {
                found.push(format!("{}:{}: {}", relative(&file), i + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "use `?`, a named error or a default; input must never panic: {found:#?}"
    );
}

/// Files allowed over [`FILE_LINES_MAX`], each with the reason.
const LONG_FILES: &[(&str, &str)] = &[];

const FILE_LINES_MAX: usize = 600;

#[test]
fn no_source_file_is_over_600_lines_without_a_reason() {
    let mut long = Vec::new();
    for file in product_sources() {
        // Test modules at the end of a file are not counted: they are read apart from the code.
        let lines = non_test_text(&file).lines().count();
        let name = relative(&file);
        if lines > FILE_LINES_MAX && !LONG_FILES.iter().any(|(f, _)| *f == name) {
            long.push(format!("{name}: {lines} lines"));
        }
    }
    assert!(
        long.is_empty(),
        "split by concept, or list in LONG_FILES with the reason: {long:#?}"
    );
}

const FUNCTION_LINES_MAX: usize = 120;

/// Functions longer than [`FUNCTION_LINES_MAX`] whose comment above does not say why
/// (a comment line containing "long").
fn long_functions(text: &str) -> Vec<(usize, usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let head = trimmed
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub ")
            .trim_start_matches("async ")
            .trim_start_matches("const ");
        if !head.starts_with("fn ") {
            continue;
        }
        let close = format!("{indent}}}");
        let Some(end) = lines[i + 1..].iter().position(|l| *l == close) else {
            continue;
        };
        let length = end + 2;
        if length <= FUNCTION_LINES_MAX {
            continue;
        }
        let says_why = lines[..i]
            .iter()
            .rev()
            .take_while(|l| {
                let t = l.trim_start();
                t.starts_with("//") || t.starts_with("#[")
            })
            .any(|l| l.to_lowercase().contains("long"));
        if !says_why {
            out.push((i + 1, length, trimmed.chars().take(60).collect()));
        }
    }
    out
}

#[test]
fn no_function_is_over_120_lines_without_saying_why() {
    let mut found = Vec::new();
    for file in product_sources() {
        for (line, length, head) in long_functions(&non_test_text(&file)) {
            found.push(format!(
                "{}:{line}: {length} lines: {head}",
                relative(&file)
            ));
        }
    }
    assert!(
        found.is_empty(),
        "split it, or say in its comment why it must be long: {found:#?}"
    );
}

#[test]
fn the_length_check_sees_a_long_function_and_its_reason() {
    let body = "    let x = 1;\n".repeat(130);
    let unexplained = format!("/// Does a thing.\nfn f() {{\n{body}}}\n");
    assert_eq!(long_functions(&unexplained).len(), 1);
    let explained = format!("/// Long: one arm per event.\nfn f() {{\n{body}}}\n");
    assert!(long_functions(&explained).is_empty());
}
