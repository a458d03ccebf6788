//! `dunlog soak` for a short, bounded time with few clients, as CI can afford: only correctness
//! is asserted (exit 0, no `INTERNAL`, every check passed, the log's head equal to its start plus
//! every acknowledged event). The timing figures are printed for whoever reads the log, never
//! judged.

use std::process::Command;

use serde_json::Value;

use crate::support::binary;

#[test]
fn a_short_soak_under_mixed_load_keeps_the_ledger_correct() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let output = Command::new(binary())
        .arg("--data")
        .arg(&data)
        .args([
            "soak",
            "--seconds",
            "15",
            "--writers",
            "2",
            "--readers",
            "2",
            "--interval",
            "5",
            "--json",
        ])
        .output()
        .expect("run dunlog soak");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "dunlog soak failed ({}):\n{stdout}",
        output.status
    );
    let report: Value = serde_json::from_str(stdout.trim()).expect("one JSON object on stdout");
    let totals = &report["totals"];
    assert_eq!(totals["errors_by_code"].get("INTERNAL"), None, "{totals}");
    assert_eq!(totals["failures"], 0, "{totals}");
    for check in report["checks"].as_array().expect("checks") {
        assert_eq!(check["ok"], true, "{check}");
    }
    assert_eq!(report["checks"].as_array().map(Vec::len), Some(6));
    let acknowledged = totals["events_acknowledged"].as_u64().expect("a count");
    assert!(
        totals["mutations_acknowledged"].as_u64() > Some(0),
        "{totals}"
    );
    assert_eq!(
        report["events_at_end"].as_u64(),
        report["events_at_start"]
            .as_u64()
            .map(|start| start + acknowledged),
        "the log holds exactly the events the writers were acknowledged"
    );
}
