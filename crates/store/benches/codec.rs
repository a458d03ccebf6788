//! Encoding and decoding one envelope (`cargo bench -p store --bench codec`): the per-event cost
//! of every append (encode) and every replay, verify and export (decode). `…/serde_form` is the
//! same envelope with its payload in the serde form older builds wrote (schema 1), which logs
//! still hold: the A/B of the binary payload schemas (decision 0048).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use domain::event::{Allocation, Event, InvoiceIssued, PaymentReceived, Terms};
use domain::{InvoiceId, PaymentId};
use rust_decimal::Decimal;
use store::codec::{self, Envelope};

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn invoice_issued() -> Event {
    InvoiceIssued {
        invoice_id: InvoiceId::parse("INV-2026-000123").unwrap(),
        amount: Decimal::new(1_234_567, 2),
        issued_on: date("2026-03-01"),
        due_on: date("2026-03-31"),
        terms: Terms {
            net_days: 30,
            discount_percent: Some(Decimal::new(2, 0)),
            discount_days: Some(10),
        },
        reference: Some("PO-77".to_owned()),
        override_reason: None,
    }
    .into()
}

fn payment_received() -> Event {
    PaymentReceived {
        payment_id: PaymentId::parse("PAY-2026-000456").unwrap(),
        amount: Decimal::new(1_000_000, 2),
        received_on: date("2026-03-20"),
        method: "transfer".to_owned(),
        allocations: vec![
            Allocation {
                invoice_id: InvoiceId::parse("INV-2026-000123").unwrap(),
                amount: Decimal::new(600_000, 2),
                discount: Decimal::ZERO,
            },
            Allocation {
                invoice_id: InvoiceId::parse("INV-2026-000124").unwrap(),
                amount: Decimal::new(400_000, 2),
                discount: Decimal::ZERO,
            },
        ],
        unapplied: Decimal::ZERO,
    }
    .into()
}

/// An envelope as the writer stores it, with `event` as its payload (in its serde form if
/// `serde_form`).
fn envelope(event: &Event, serde_form: bool) -> Envelope {
    let (event_type, schema, payload) = if serde_form {
        codec::encode_payload_serde_form(event).unwrap()
    } else {
        codec::encode_payload(event).unwrap()
    };
    Envelope {
        position: 1_000_042,
        stream: "account-C004242".to_owned(),
        version: 37,
        event_id: [7; 16],
        event_type: event_type.to_owned(),
        schema,
        occurred_at_us: 1_773_480_600_123_456,
        recorded_at_us: 1_773_480_601_000_001,
        actor: "collector-7".to_owned(),
        correlation_id: Some("req-1".to_owned()),
        causation_id: None,
        policy_version: Some(3),
        payload,
        prev_hash: [0xab; 32],
        hash: [0xcd; 32],
    }
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(1));
    for (name, event) in [
        ("invoice_issued", invoice_issued()),
        ("payment_received", payment_received()),
    ] {
        let env = envelope(&event, false);
        let bytes = codec::encode_envelope(&env).unwrap();
        let serde_bytes = codec::encode_envelope(&envelope(&event, true)).unwrap();
        type EncodePayload = fn(&Event) -> Result<(&'static str, u16, Vec<u8>), codec::CodecError>;
        let encoders: [(&str, EncodePayload); 2] = [
            ("", codec::encode_payload),
            ("/serde_form", codec::encode_payload_serde_form),
        ];
        for (form, encode_payload) in encoders {
            group.bench_function(format!("encode/{name}{form}"), |b| {
                b.iter(|| {
                    let (event_type, schema, payload) = encode_payload(black_box(&event)).unwrap();
                    let env = Envelope {
                        event_type: event_type.to_owned(),
                        schema,
                        payload,
                        ..env.clone()
                    };
                    codec::encode_envelope(&env).unwrap()
                })
            });
        }
        for (form, bytes) in [("", &bytes), ("/serde_form", &serde_bytes)] {
            group.bench_function(format!("decode/{name}{form}"), |b| {
                b.iter(|| {
                    let env = codec::decode_envelope(black_box(bytes)).unwrap();
                    codec::decode_payload(&env.event_type, env.schema, &env.payload).unwrap()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
