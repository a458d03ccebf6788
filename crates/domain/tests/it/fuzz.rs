//! Fuzzing with proptest, run in CI on every build: hostile policy documents and hostile command
//! input never panic and always come back as a clear, located error. (cargo-fuzz needs a nightly
//! toolchain, which this project's machines cannot fetch; these run on stable within seconds.)

use domain::policy::{Policy, DEFAULT_POLICY_TOML};
use domain::{Command, Context, ErrorKind};
use proptest::prelude::*;

/// A mutation of a valid document: bytes replaced, inserted or removed at random places.
fn mutated_policy() -> impl Strategy<Value = String> {
    let base = DEFAULT_POLICY_TOML.as_bytes().to_vec();
    let len = base.len();
    prop::collection::vec((0..len, any::<u8>(), 0u8..3), 1..8).prop_map(move |edits| {
        let mut bytes = base.clone();
        for (at, byte, kind) in edits {
            let at = at.min(bytes.len().saturating_sub(1));
            match kind {
                0 => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn policy_parser_never_panics_on_mutated_documents(doc in mutated_policy()) {
        if let Err(e) = Policy::parse(&doc) {
            prop_assert_eq!(e.kind(), ErrorKind::Validation);
            let message = e.to_string();
            prop_assert!(message.contains("line"), "no line in {}", message);
        }
    }

    #[test]
    fn policy_parser_never_panics_on_arbitrary_text(doc in ".{0,400}") {
        let _ = Policy::parse(&doc);
    }

    #[test]
    fn hostile_command_json_is_a_clear_error_or_a_decision(
        name in prop::sample::select(vec!["open_account", "issue_invoice", "record_payment", "record_promise", "record_reminder", "issue_credit_note"]),
        amount in prop_oneof![Just("1e400".to_owned()), Just("-0".to_owned()), Just("NaN".to_owned()), "[0-9]{0,30}\\.?[0-9]{0,30}"],
        date in prop_oneof![Just("2026-02-30".to_owned()), Just("+275760-09-13".to_owned()), "[0-9-]{0,12}"],
        id in ".{0,80}",
    ) {
        let json = serde_json::json!({
            "command": name, "customer_id": id, "invoice_id": id, "payment_id": id, "promise_id": id,
            "credit_note_id": id, "name": id, "currency": "EUR", "credit_limit": amount, "amount": amount,
            "issued_on": date, "due_on": date, "opened_on": date, "received_on": date, "promised_on": date,
            "terms": {"net_days": 30}, "channel": "email", "reason": id,
        });
        if let Ok(command) = serde_json::from_value::<Command>(json) {
            let policy = Policy::default_policy();
            let now = chrono::Utc::now();
            let ctx = Context { today: now.date_naive(), now, actor: "fuzz", policy: &policy };
            let _ = domain::decide(None, &command, &ctx);
        }
    }
}
