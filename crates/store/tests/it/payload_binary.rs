//! The binary payload schemas (decision 0048): their layout written out by hand, clear errors
//! for bad bytes, and a log whose older part holds the serde forms (as builds before them wrote)
//! and whose newer part holds binary payloads: it replays, and its chain verifies.

use base64::Engine as _;
use chrono::NaiveDate;
use domain::event::*;
use domain::{Event, InvoiceId, PromiseId};
use rust_decimal::Decimal;
use serde_json::Value;
use store::chain::{self, Canonical};
use store::codec::{self, CodecError};
use store::{AppendRequest, ExpectedVersion, Store};

use crate::examples::examples;
use crate::support::*;

fn day(days_from_1970: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(days_from_1970)
}

#[test]
fn the_binary_layout_is_the_documented_one_byte_for_byte() {
    // LateFeeCharged { invoice_id, amount, charged_on, period }, in bincode's varints (a value
    // below 251 is its own byte; 251 starts a u16, 252 a u32, little endian): the id as length
    // and ASCII; the amount 12.50 as magnitude 1250 (fb e2 04) and scale 2; day 20,000 as zigzag
    // 40,000 (fb 40 9c); period 3.
    let fee = Event::LateFeeCharged(LateFeeCharged {
        invoice_id: InvoiceId::parse("INV-1").unwrap(),
        amount: Decimal::new(1250, 2),
        charged_on: day(20_000),
        period: 3,
    });
    let (event_type, schema, bytes) = codec::encode_payload(&fee).unwrap();
    assert_eq!((event_type, schema), ("LateFeeCharged", 2));
    let mut want = vec![5];
    want.extend_from_slice(b"INV-1");
    want.extend_from_slice(&[0xfb, 0xe2, 0x04, 0x02, 0xfb, 0x40, 0x9c, 0x03]);
    assert_eq!(bytes, want);
    assert_eq!(codec::decode_payload(event_type, schema, &bytes), Ok(fee));

    // A negative amount carries the sign in the top bit of its scale byte; a date before 1970
    // is a negative day number (zigzag 1 for day -1).
    let broken = Event::PromiseBroken(PromiseBroken {
        promise_id: PromiseId::parse("P").unwrap(),
        shortfall: Decimal::new(-5, 1),
        effective_on: day(-1),
    });
    let (_, schema, bytes) = codec::encode_payload(&broken).unwrap();
    assert_eq!(schema, 2);
    assert_eq!(bytes, [1, b'P', 0x05, 0x81, 0x01]);
    assert_eq!(
        codec::decode_payload("PromiseBroken", 2, &bytes),
        Ok(broken)
    );

    // An instant as seconds (zigzag) and nanoseconds; an option and an enum as one byte each.
    let call = Event::Escalated(Escalated {
        invoice_ids: vec![],
        to: EscalationTarget::Legal,
        escalated_on: day(0),
        notes: None,
    });
    assert_eq!(codec::encode_payload(&call).unwrap().2, [0, 1, 0, 0]);
    let sold = Event::SalesRepNotified(SalesRepNotified {
        invoice_ids: vec![],
        sales_rep: "r".to_owned(),
        step: Some(String::new()),
        notified_at: chrono::DateTime::from_timestamp(-2, 7).unwrap(),
    });
    assert_eq!(
        codec::encode_payload(&sold).unwrap().2,
        [0, 1, b'r', 1, 0, 0x03, 0x07]
    );
}

#[test]
fn amounts_keep_their_scale_and_sign_exactly() {
    for text in [
        "1.50",
        "-0.00",
        "0",
        "79228162514264337593543950335",
        "-0.0000000000000000000000000001",
    ] {
        let amount: Decimal = text.parse().unwrap();
        let event = Event::CreditLimitChanged(CreditLimitChanged {
            new_limit: amount,
            reason: String::new(),
        });
        let (t, s, bytes) = codec::encode_payload(&event).unwrap();
        match codec::decode_payload(t, s, &bytes).unwrap() {
            Event::CreditLimitChanged(back) => {
                assert_eq!(back.new_limit.to_string(), amount.to_string(), "{text}");
                assert_eq!(back.new_limit.serialize(), amount.serialize(), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }
}

fn decode_error(event_type: &str, schema: u16, bytes: &[u8]) -> String {
    match codec::decode_payload(event_type, schema, bytes) {
        Err(CodecError::Decode(reason)) => reason,
        other => panic!("{event_type} {bytes:?}: {other:?}"),
    }
}

#[test]
fn bad_binary_payloads_are_clear_errors_naming_the_field() {
    let fee = |tail: &[u8]| {
        let mut bytes = vec![5];
        bytes.extend_from_slice(b"INV-1");
        bytes.extend_from_slice(tail);
        bytes
    };
    let error = |event_type, bytes: &[u8]| decode_error(event_type, 2, bytes);
    // Cut short in the amount.
    assert_eq!(
        error("LateFeeCharged", &fee(&[0xfb, 0xe2])),
        "payload ends early in field LateFeeCharged.amount"
    );
    // A scale no decimal has.
    assert_eq!(
        error("LateFeeCharged", &fee(&[0x01, 29, 0x02, 0x03])),
        "decimal scale 29 above 28 in field LateFeeCharged.amount"
    );
    // A magnitude wider than 96 bits.
    let mut wide = vec![0xfe];
    wide.extend_from_slice(&[0xff; 16]);
    wide.extend_from_slice(&[0x02, 0x02, 0x03]);
    assert_eq!(
        error("LateFeeCharged", &fee(&wide)),
        "decimal magnitude wider than 96 bits in field LateFeeCharged.amount"
    );
    // A day number no date has.
    let far = [0x01, 0x02, 0xfc, 0xfe, 0xff, 0xff, 0xff, 0x03];
    assert_eq!(
        error("LateFeeCharged", &fee(&far)),
        "day number 2147483647 is not a date in field LateFeeCharged.charged_on"
    );
    // An id SPEC §2 refuses, and text that is not UTF-8.
    let bad_id = [2, b'-', b'x', 0x01, 0x02, 0x02, 0x03];
    let message = error("LateFeeCharged", &bad_id);
    assert!(
        message.contains("invoice_id") && message.contains("\"-x\""),
        "{message}"
    );
    let message = error("SalesRepAssigned", &[2, 0xc3, 0x28]);
    assert!(
        message.starts_with("text is not UTF-8")
            && message.ends_with("in field SalesRepAssigned.sales_rep"),
        "{message}"
    );
    // A length beyond the bytes, or beyond the limit: refused before anything is reserved.
    assert_eq!(
        error("SalesRepAssigned", &[0x05, b'a']),
        "payload ends early in field SalesRepAssigned.sales_rep"
    );
    let message = error(
        "UnappliedCashApplied",
        &[0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f],
    );
    assert_eq!(
        message,
        "a length beyond the 1048576-byte limit in field UnappliedCashApplied.allocations"
    );
    // Bytes left over, an unknown enum tag, a bad option tag, a bad boolean.
    assert_eq!(
        codec::decode_payload("CashOnlyLifted", 2, &[0x02, 0x00]),
        Err(CodecError::TrailingBytes(1))
    );
    assert_eq!(
        error("Escalated", &[0, 2, 0, 0]),
        "EscalationTarget tag 2 in field Escalated.to"
    );
    assert_eq!(
        error("AccountHeld", &[0, 7]),
        "option tag 7 in field AccountHeld.rule"
    );
    assert_eq!(
        error("AccountReleased", &[0, 2, 0]),
        "boolean byte 2 in field AccountReleased.manual"
    );
    // A schema this build never wrote.
    assert!(matches!(
        codec::decode_payload("CashOnlyLifted", 3, &[0x02]),
        Err(CodecError::UnknownSchema {
            schema: 3,
            current: 2,
            ..
        })
    ));
}

fn account_request(stream: &str, events: Vec<Event>) -> AppendRequest {
    request_of(stream, ExpectedVersion::Any, events.into_iter().zip(0..))
}

/// The export of a log written by a build before the binary schemas: the events of `dir`'s
/// log with their payloads in the serde forms, chained again from the start.
fn serde_form_export(dir: &std::path::Path) -> Vec<u8> {
    let store = open(dir);
    let recorded = all(&store);
    let mut export = Vec::new();
    store.export_jsonl(&mut export, None).unwrap();
    drop(store);
    let mut prev = chain::HASH_ZERO;
    let mut out = Vec::new();
    for (line, e) in std::str::from_utf8(&export).unwrap().lines().zip(&recorded) {
        let (_, schema, payload) = codec::encode_payload_serde_form(&e.event).unwrap();
        let hash = chain::next_hash(
            &prev,
            &chain::canonical(&Canonical {
                position: e.position,
                version: e.version,
                schema,
                occurred_at_us: e.occurred_at.timestamp_micros(),
                recorded_at_us: e.recorded_at.timestamp_micros(),
                event_id: e.event_id,
                stream: &e.stream,
                event_type: &e.event_type,
                actor: &e.actor,
                correlation_id: e.correlation_id.as_deref(),
                causation_id: e.causation_id.as_deref(),
                policy_version: e.policy_version,
                payload: &payload,
            }),
        );
        let mut v: Value = serde_json::from_str(line).unwrap();
        v["schema"] = schema.into();
        v["payload_bytes"] = base64::engine::general_purpose::STANDARD
            .encode(&payload)
            .into();
        v["prev_hash"] = chain::to_hex(&prev).into();
        v["hash"] = chain::to_hex(&hash).into();
        out.extend_from_slice(serde_json::to_string(&v).unwrap().as_bytes());
        out.push(b'\n');
        prev = hash;
    }
    out
}

#[test]
fn a_log_of_serde_payloads_continued_with_binary_ones_replays_and_verifies() {
    let written = temp_dir();
    let store = open(written.path());
    store
        .append_blocking(account_request("account-old", examples()))
        .unwrap();
    drop(store);
    let old_log = serde_form_export(written.path());

    let dir = temp_dir();
    assert_eq!(
        Store::import_jsonl(dir.path(), &mut &old_log[..]).unwrap(),
        examples().len() as u64
    );
    let store = open(dir.path());
    store
        .append_blocking(account_request("account-new", examples()))
        .unwrap();
    drop(store);

    // Replayed from disk by a fresh store: every event as it was appended, at its schema.
    let store = open(dir.path());
    let events = all(&store);
    let n = examples().len();
    assert_eq!(events.len(), 2 * n);
    for (i, e) in events.iter().enumerate() {
        let expected = &examples()[i % n];
        assert_eq!(&e.event, expected, "position {}", e.position);
        let current = codec::current_schema(&e.event_type).unwrap();
        if i < n {
            assert_eq!(
                e.schema,
                current - 1,
                "{} written in its serde form",
                e.event_type
            );
            assert_eq!(
                e.payload,
                codec::encode_payload_serde_form(expected).unwrap().2
            );
        } else {
            assert_eq!(
                e.schema, current,
                "{} written in its binary form",
                e.event_type
            );
        }
    }
    let verification = store.verify(0).unwrap();
    assert!(verification.ok, "{:?}", verification.message);
    assert_eq!(verification.checked, 2 * n as u64);

    // And the export of the mixed log imports again, byte for byte.
    let mut export = Vec::new();
    store.export_jsonl(&mut export, None).unwrap();
    drop(store);
    let again = temp_dir();
    Store::import_jsonl(again.path(), &mut &export[..]).unwrap();
    let store = open(again.path());
    let mut export_again = Vec::new();
    store.export_jsonl(&mut export_again, None).unwrap();
    assert_eq!(export_again, export);
}
