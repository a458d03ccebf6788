//! `POST /graphql` through the real router on one scratch ledger: the first byte picks the
//! caller's role, the rest is the request body. `GraphqlHarness::post` panics when an answer
//! breaks a promise: a 5xx, an `INTERNAL` or undocumented code, an error without a message, a
//! refused mutation that appended, or a log that no longer verifies.
#![no_main]

use std::sync::OnceLock;

use dunlog::app::auth::Role;
use dunlog::fuzz::GraphqlHarness;
use libfuzzer_sys::fuzz_target;

static HARNESS: OnceLock<GraphqlHarness> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let harness = HARNESS.get_or_init(|| GraphqlHarness::new().expect("the harness starts"));
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let role = match pick % 8 {
        0 => None,
        1 => Some(Role::Viewer),
        2 => Some(Role::Auditor),
        3 => Some(Role::Collector),
        _ => Some(Role::Admin),
    };
    harness.post(body, role);
});
