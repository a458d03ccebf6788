//! Tidy tests that make invariants executable: the domain stays pure, every source file says what
//! lives in it, and docs/events.md and docs/policy.md stay true (every event documented with an
//! example that decodes as that event, every policy key documented).

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

#[test]
fn every_source_file_starts_with_a_doc_line() {
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
    for dir in ["src", "tests"] {
        walk(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir),
            &mut files,
        );
    }
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
