//! Golden vectors: committed bytes of every event type at every schema ever written, decoded
//! forever after; and one envelope with its canonical bytes and hash, pinning the chain.
//!
//! `DUNLOG_WRITE_GOLDEN=1 cargo test -p store --test it golden` adds vectors for (type, schema)
//! pairs the files lack. It never rewrites a line already there: old bytes are the point.

use std::collections::BTreeSet;
use std::path::PathBuf;

use domain::event::EVENT_TYPES;
use domain::Event;
use serde_json::{json, Value};
use store::chain::{self, Canonical};
use store::codec::{self, Envelope};

use crate::examples::examples;

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn hex(bytes: &[u8]) -> String {
    chain::to_hex(bytes)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn read_lines(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(golden_path(name)).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_lines(name: &str, lines: &[Value]) {
    let mut text = String::new();
    for l in lines {
        text.push_str(&serde_json::to_string(l).unwrap());
        text.push('\n');
    }
    std::fs::write(golden_path(name), text).unwrap();
}

/// The example envelope of the golden file.
fn example_envelope() -> Envelope {
    let event = &examples()[6]; // InvoiceIssued
                                // Pinned when payloads were bincode of serde (schema 1): those bytes are still in the file.
    let (event_type, schema, payload) = codec::encode_payload_serde_form(event).unwrap();
    let mut env = Envelope {
        position: 42,
        stream: "account-ACME-1".into(),
        version: 7,
        event_id: *uuid::Uuid::parse_str("01890a5d-ac96-774b-bcce-b302099a8057")
            .unwrap()
            .as_bytes(),
        event_type: event_type.into(),
        schema,
        occurred_at_us: 1_773_480_600_123_456,
        recorded_at_us: 1_773_480_601_000_001,
        actor: "collector-7".into(),
        correlation_id: Some("req-1".into()),
        causation_id: None,
        policy_version: Some(3),
        payload,
        prev_hash: [0xab; 32],
        hash: [0; 32],
    };
    env.hash = chain::next_hash(&env.prev_hash, &chain::canonical(&canonical_of(&env)));
    env
}

fn canonical_of(env: &Envelope) -> Canonical<'_> {
    Canonical {
        position: env.position,
        version: env.version,
        schema: env.schema,
        occurred_at_us: env.occurred_at_us,
        recorded_at_us: env.recorded_at_us,
        event_id: uuid::Uuid::from_bytes(env.event_id),
        stream: &env.stream,
        event_type: &env.event_type,
        actor: &env.actor,
        correlation_id: env.correlation_id.as_deref(),
        causation_id: env.causation_id.as_deref(),
        policy_version: env.policy_version,
        payload: &env.payload,
    }
}

#[test]
fn write_golden_vectors_when_asked() {
    if std::env::var("DUNLOG_WRITE_GOLDEN").as_deref() != Ok("1") {
        return;
    }
    let mut lines = read_lines("payloads.jsonl");
    let present: BTreeSet<(String, u64)> = lines
        .iter()
        .map(|l| {
            (
                l["event_type"].as_str().unwrap().to_owned(),
                l["schema"].as_u64().unwrap(),
            )
        })
        .collect();
    for event in examples() {
        let (event_type, schema, bytes) = codec::encode_payload(&event).unwrap();
        if present.contains(&(event_type.to_owned(), u64::from(schema))) {
            continue;
        }
        lines.push(json!({
            "event_type": event_type,
            "schema": schema,
            "hex": hex(&bytes),
            "expected": serde_json::to_value(&event).unwrap(),
        }));
    }
    write_lines("payloads.jsonl", &lines);

    if read_lines("envelope.jsonl").is_empty() {
        let env = example_envelope();
        write_lines(
            "envelope.jsonl",
            &[json!({
                "hex": hex(&codec::encode_envelope(&env).unwrap()),
                "canonical": hex(&chain::canonical(&canonical_of(&env))),
                "prev_hash": hex(&env.prev_hash),
                "hash": hex(&env.hash),
            })],
        );
    }
}

#[test]
fn every_golden_payload_still_decodes_to_its_expected_event() {
    let lines = read_lines("payloads.jsonl");
    assert!(
        !lines.is_empty(),
        "golden vectors missing; see the module doc"
    );
    for line in &lines {
        let event_type = line["event_type"].as_str().unwrap();
        let schema = u16::try_from(line["schema"].as_u64().unwrap()).unwrap();
        let bytes = unhex(line["hex"].as_str().unwrap());
        let expected: Event = serde_json::from_value(line["expected"].clone()).unwrap();
        let decoded = codec::decode_payload(event_type, schema, &bytes)
            .unwrap_or_else(|e| panic!("{event_type} schema {schema}: {e}"));
        assert_eq!(decoded, expected, "{event_type} schema {schema}");
        if schema == codec::current_schema(event_type).unwrap() {
            // Today's encoder must still produce the committed bytes of today's schema.
            let (_, _, again) = codec::encode_payload(&expected).unwrap();
            assert_eq!(hex(&again), hex(&bytes), "{event_type} encodes differently");
        }
    }
}

#[test]
fn every_event_type_has_a_golden_vector_at_its_current_schema() {
    let present: BTreeSet<(String, u16)> = read_lines("payloads.jsonl")
        .iter()
        .map(|l| {
            let schema = u16::try_from(l["schema"].as_u64().unwrap()).unwrap();
            (l["event_type"].as_str().unwrap().to_owned(), schema)
        })
        .collect();
    for event_type in EVENT_TYPES {
        let schema = codec::current_schema(event_type).unwrap();
        assert!(
            present.contains(&((*event_type).to_owned(), schema)),
            "no golden vector for {event_type} schema {schema}: run with DUNLOG_WRITE_GOLDEN=1"
        );
    }
    let example_types: Vec<&str> = examples().iter().map(|e| e.event_type()).collect();
    assert_eq!(
        example_types, EVENT_TYPES,
        "examples() must cover every type, in order"
    );
}

#[test]
fn the_golden_envelope_decodes_and_its_chain_hash_is_pinned() {
    let lines = read_lines("envelope.jsonl");
    let line = lines.first().expect("golden envelope missing");
    let bytes = unhex(line["hex"].as_str().unwrap());
    let env = codec::decode_envelope(&bytes).unwrap();
    assert_eq!(env, example_envelope());
    let canonical = chain::canonical(&canonical_of(&env));
    assert_eq!(hex(&canonical), line["canonical"].as_str().unwrap());
    assert_eq!(hex(&env.prev_hash), line["prev_hash"].as_str().unwrap());
    let hash = chain::next_hash(&env.prev_hash, &canonical);
    assert_eq!(hex(&hash), line["hash"].as_str().unwrap());
    assert_eq!(hash, env.hash);
}

#[test]
fn canonical_layout_matches_spec_byte_for_byte() {
    // SPEC §6 written out by hand for a tiny envelope, independent of `chain::canonical`.
    let id = uuid::Uuid::from_bytes([7; 16]);
    let c = Canonical {
        position: 1,
        version: 2,
        schema: 1,
        occurred_at_us: -1,
        recorded_at_us: 5,
        event_id: id,
        stream: "s",
        event_type: "T",
        actor: "a",
        correlation_id: None,
        causation_id: Some("c"),
        policy_version: Some(12),
        payload: &[0xff],
    };
    let mut want = Vec::new();
    want.extend_from_slice(&1u64.to_be_bytes());
    want.extend_from_slice(&2u64.to_be_bytes());
    want.extend_from_slice(&1u16.to_be_bytes());
    want.extend_from_slice(&(-1i64).to_be_bytes());
    want.extend_from_slice(&5i64.to_be_bytes());
    want.extend_from_slice(&[7; 16]);
    for field in [&b"s"[..], b"T", b"a", b"", b"c", b"12", &[0xff]] {
        want.extend_from_slice(&u32::try_from(field.len()).unwrap().to_be_bytes());
        want.extend_from_slice(field);
    }
    assert_eq!(chain::canonical(&c), want);
}

/// The byte where two encodings differ, and the two values there; panics unless exactly one.
fn single_difference(a: &[u8], b: &[u8]) -> (usize, u8, u8) {
    assert_eq!(a.len(), b.len());
    let diffs: Vec<usize> = (0..a.len()).filter(|i| a[*i] != b[*i]).collect();
    assert_eq!(diffs.len(), 1, "{a:?} vs {b:?}");
    (diffs[0], a[diffs[0]], b[diffs[0]])
}

#[test]
fn enum_variants_keep_their_stored_indexes() {
    // bincode stores an enum variant by its index, so reordering `ReminderChannel` or
    // `EscalationTarget` would silently change stored facts. Pin every variant's index.
    use domain::event::{EscalationTarget, ReminderChannel};
    let base = examples();
    let of_type = |t: &str| base.iter().find(|e| e.event_type() == t).unwrap().clone();
    let with_channel = |channel| match of_type("ReminderSent") {
        Event::ReminderSent(mut e) => {
            e.channel = channel;
            codec::encode_payload(&Event::ReminderSent(e)).unwrap().2
        }
        other => panic!("{other:?}"),
    };
    let email = with_channel(ReminderChannel::Email);
    let (at, e, l) = single_difference(&email, &with_channel(ReminderChannel::Letter));
    let (at2, _, s) = single_difference(&email, &with_channel(ReminderChannel::Sms));
    assert_eq!((at, e, l, s), (at2, 0, 1, 2));

    let with_target = |to| match of_type("Escalated") {
        Event::Escalated(mut e) => {
            e.to = to;
            codec::encode_payload(&Event::Escalated(e)).unwrap().2
        }
        other => panic!("{other:?}"),
    };
    let (_, agency, legal) = single_difference(
        &with_target(EscalationTarget::CollectionAgency),
        &with_target(EscalationTarget::Legal),
    );
    assert_eq!((agency, legal), (0, 1));
}
