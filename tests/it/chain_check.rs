//! The chain check at start: the server verifies the log from its last verified position to the
//! end and, when a record there was changed behind its back, refuses every write (`INTERNAL`)
//! while reads and `verifyLog` keep working and name the bad position; its log says why.

use serde_json::json;

use crate::support::{error_code, open_acme, Client, Ledger, Server};

const ISSUE: &str =
    "mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) { events { position } } }";

async fn issue(client: &Client, invoice: &str) {
    let answer = client
        .query(
            ISSUE,
            json!({"i": {"customerId": "ACME", "invoiceId": invoice, "amount": "100.00",
                         "issuedOn": "2026-01-05"}}),
        )
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
}

/// Flips the last byte (part of the stored hash) of the envelope at `position`, as someone
/// editing the sled files would; the record still decodes. Format 2 keeps several envelopes per
/// value: `b/` + first position (u64 BE) → layout byte 1, count (u32 BE), then each envelope as
/// its length (u32 BE) and bytes.
fn tamper(data: &std::path::Path, position: u64) {
    let db = sled::open(data).expect("open the sled database");
    let tree = db.open_tree("log").expect("the log tree");
    let mut key = b"b/".to_vec();
    key.extend_from_slice(&position.to_be_bytes());
    let (block_key, block) = tree
        .range(..=key)
        .next_back()
        .expect("a block at or before the position")
        .expect("read");
    let first = u64::from_be_bytes(block_key[2..10].try_into().expect("a block key"));
    let mut value = block.to_vec();
    let mut at = 5;
    for _ in first..position {
        let len = u32::from_be_bytes(value[at..at + 4].try_into().expect("a length"));
        at += 4 + len as usize;
    }
    let len = u32::from_be_bytes(value[at..at + 4].try_into().expect("a length"));
    let last = at + 4 + len as usize - 1;
    value[last] ^= 0x01;
    tree.insert(block_key, value).expect("write");
    db.flush().expect("flush");
}

#[tokio::test]
async fn a_changed_tail_makes_the_server_refuse_writes() {
    let ledger = Ledger::new();
    let data = ledger.data();
    // Positions 1 (policy), 2 (account), 3 and 4 (invoices); the second start verifies them all
    // and remembers position 4.
    {
        let server = Server::start(&data);
        let client = Client::new(&server, Some(&ledger.admin));
        assert!(open_acme(&client).await.get("errors").is_none());
        issue(&client, "INV-1").await;
        issue(&client, "INV-2").await;
        server.terminate();
    }
    {
        let server = Server::start(&data);
        let client = Client::new(&server, Some(&ledger.admin));
        issue(&client, "INV-3").await; // 5
        issue(&client, "INV-4").await; // 6
        server.terminate();
    }
    tamper(&data, 5);

    let server = Server::start(&data);
    let client = Client::new(&server, Some(&ledger.admin));
    let refused = client
        .query(
            ISSUE,
            json!({"i": {"customerId": "ACME", "invoiceId": "INV-5", "amount": "1.00",
                         "issuedOn": "2026-01-05"}}),
        )
        .await;
    assert_eq!(
        error_code(&refused).as_deref(),
        Some("INTERNAL"),
        "{refused}"
    );
    // Reads still work, and verifyLog names the changed record.
    let verified = client
        .query(
            "{ verifyLog { ok checked firstBadPosition message } }",
            json!({}),
        )
        .await;
    let v = &verified["data"]["verifyLog"];
    assert_eq!(v["ok"], false, "{verified}");
    assert_eq!(v["firstBadPosition"], "5", "{verified}");
    let events = client
        .query("{ events(first: 10) { nodes { position } } }", json!({}))
        .await;
    assert_eq!(
        events["data"]["events"]["nodes"].as_array().map(Vec::len),
        Some(6),
        "{events}"
    );
    let aging = client
        .query(
            "{ aging(asOf: \"2026-03-31\") { totals { total } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        aging["data"]["aging"]["totals"][0]["total"], "400.00",
        "{aging}"
    );
    server.stop();
    // The server's log says why.
    let log = std::fs::read_to_string(data.with_extension("log")).expect("server log");
    assert!(
        log.contains("refusing writes") && log.contains("position 5: hash mismatch"),
        "{log}"
    );
}
