//! Tidy tests that make invariants executable: the domain stays pure, every source file says what
//! lives in it and stays short enough to read, and docs/events.md and docs/policy.md stay true
//! (every event documented with an example that decodes as that event, every policy key documented).

use std::path::PathBuf;

use domain::event::EVENT_TYPES;
use domain::Event;

fn doc(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (event heading, JSON example) pairs, in the file's order.
fn examples(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(h) = line.strip_prefix("### ") {
            heading = h.trim().to_owned();
        } else if line.trim() == "```json" {
            let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            out.push((heading.clone(), block.join("\n")));
        }
    }
    out
}

#[test]
fn every_event_is_documented_with_an_example_that_decodes() {
    let examples = examples(&doc("events.md"));
    let documented: Vec<&str> = examples.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(
        documented, EVENT_TYPES,
        "one example per event, in EVENT_TYPES order"
    );
    for (name, json) in &examples {
        let payload: serde_json::Value =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: {e}"));
        let tagged = serde_json::json!({ name.as_str(): payload.clone() });
        let event: Event =
            serde_json::from_value(tagged.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(event.event_type(), name);
        // Every field written is a field of the event, spelled as it is stored.
        assert_eq!(serde_json::to_value(&event).unwrap(), tagged, "{name}");
    }
}

#[test]
fn every_policy_key_is_documented() {
    let text = doc("policy.md");
    for key in [
        "name",
        "[aging]",
        "basis",
        "buckets",
        "[probation]",
        "days",
        "limit_ratio",
        "[holds]",
        "days_past_due",
        "over_limit",
        "auto_release",
        "[promises]",
        "grace_days",
        "on_broken",
        "suspend_holds",
        "suspend_late_fees",
        "[late_fees]",
        "percent",
        "after_days",
        "every_days",
        "[[ladder]]",
        "step",
        "from",
        "channel",
    ] {
        assert!(
            text.contains(&format!("`{key}`")),
            "docs/policy.md does not document `{key}`"
        );
    }
}

#[test]
fn domain_depends_on_no_runtime_storage_or_server() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    for forbidden in ["tokio", "sled", "axum", "async-graphql", "reqwest"] {
        assert!(
            !manifest.contains(forbidden),
            "crates/domain depends on {forbidden}"
        );
    }
}

/// The `.rs` files under the crate's `dirs`, recursively.
fn rust_files(dirs: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for dir in dirs {
        walk(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir),
            &mut files,
        );
    }
    files.sort();
    files
}

#[test]
fn every_source_file_starts_with_a_doc_line() {
    let files = rust_files(&["src", "tests"]);
    assert!(files.len() > 10);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} does not start with a //! line",
            file.display()
        );
    }
}

/// Longest source file, in lines: one concept per file, readable in one sitting (issue 13).
const SOURCE_FILE_LINES_MAX: usize = 600;

/// Source files allowed over [`SOURCE_FILE_LINES_MAX`], each (path under `src/`, why it must be
/// long). Empty: every file that grew past the limit was split by concept instead.
const LONG_SOURCE_FILES: &[(&str, &str)] = &[];

#[test]
fn no_source_file_is_longer_than_600_lines_unless_allowed_with_a_reason() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut too_long = Vec::new();
    let mut allowed_but_short = Vec::new();
    for file in rust_files(&["src"]) {
        let lines = std::fs::read_to_string(&file).unwrap().lines().count();
        let name = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let allowed = LONG_SOURCE_FILES.iter().find(|(path, _)| *path == name);
        match allowed {
            None if lines > SOURCE_FILE_LINES_MAX => too_long.push(format!("src/{name}: {lines}")),
            Some(_) if lines <= SOURCE_FILE_LINES_MAX => allowed_but_short.push(name),
            _ => {}
        }
    }
    for (path, reason) in LONG_SOURCE_FILES {
        assert!(
            !reason.trim().is_empty(),
            "src/{path} is allowed long without a reason"
        );
    }
    assert!(
        too_long.is_empty(),
        "longer than {SOURCE_FILE_LINES_MAX} lines: split by concept, or add the file to \
         LONG_SOURCE_FILES with the reason it must be long:\n{}",
        too_long.join("\n")
    );
    assert!(
        allowed_but_short.is_empty(),
        "in LONG_SOURCE_FILES but no longer long (remove them): {allowed_but_short:?}"
    );
}
