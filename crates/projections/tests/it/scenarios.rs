//! Runs every `../shared/scenarios/*.json`, and the project's own `tests/scenarios/*.json`,
//! through the domain (`domain::reconcile::execute`) and the read model.

use std::path::PathBuf;

use projections::scenario::{run, InMemory};

fn scenario_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("DUNLOG_SCENARIOS") {
        return PathBuf::from(dir);
    }
    // crates/projections → repo root → ../shared/scenarios
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/scenarios")
}

#[test]
fn every_shared_scenario_passes_through_the_domain() {
    let dir = scenario_dir();
    let own = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .chain(std::fs::read_dir(&own).unwrap_or_else(|e| panic!("{}: {e}", own.display())))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenarios in {}", dir.display());
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let scenario: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut target = InMemory::new(chrono::Utc::now());
        if let Err(f) = run(&scenario, &mut target) {
            failures.push(format!("{}: {f}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
