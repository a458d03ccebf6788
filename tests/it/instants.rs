//! Instants are recorded at microsecond precision (SPEC §2), including the ones the server
//! fills in: a reminder recorded without `sentAt` is dated now, to the microsecond (it had
//! nanoseconds, found by a new user's client in issue 15).

use serde_json::json;

use crate::support::{open_acme, Client, Ledger, Server};

/// Digits after the decimal point of the seconds of an RFC 3339 instant.
fn fraction_digits(instant: &str) -> usize {
    instant
        .split_once('.')
        .map(|(_, rest)| rest.chars().take_while(char::is_ascii_digit).count())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_default_sent_at_has_microseconds_not_nanoseconds() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    let admin = Client::new(&server, Some(&ledger.admin));
    assert!(open_acme(&admin).await.get("errors").is_none());
    // Several, so a clock reading that happens to end in 000 ns cannot pass by luck.
    for _ in 0..3 {
        let answer = admin
            .query(
                "mutation { recordReminder(input: {customerId: \"ACME\", channel: \"email\"}) { events { type payload occurredAt } } }",
                json!({}),
            )
            .await;
        let event = &answer["data"]["recordReminder"]["events"][0];
        let sent_at = event["payload"]["sent_at"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"));
        assert!(fraction_digits(sent_at) <= 6, "sent_at = {sent_at}");
        let occurred_at = event["occurredAt"].as_str().expect("occurredAt");
        assert!(fraction_digits(occurred_at) <= 6, "{occurred_at}");
    }
}
