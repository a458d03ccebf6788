//! Property tests: every event type survives encode → decode unchanged; envelopes too; arbitrary
//! bytes never make a decoder panic.

use chrono::{DateTime, NaiveDate, Utc};
use domain::event::*;
use domain::{CreditNoteId, Currency, CustomerId, Event, InvoiceId, PaymentId, PlanId, PromiseId};
use proptest::prelude::*;
use rust_decimal::Decimal;
use store::codec::{self, Envelope};

/// Raw material for one event of any type.
#[derive(Debug, Clone)]
struct Parts {
    kind: usize,
    ids: Vec<String>,
    texts: Vec<String>,
    opt_text: Option<String>,
    amounts: Vec<Decimal>,
    dates: Vec<NaiveDate>,
    instant: DateTime<Utc>,
    number: u32,
    flag: bool,
    currency: &'static str,
}

fn id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9._:-]{0,20}"
}

fn amount() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0u32..=6).prop_map(|(m, s)| Decimal::new(m, s))
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (-200_000i64..200_000).prop_map(|d| {
        NaiveDate::from_num_days_from_ce_opt(738_000 + i32::try_from(d).unwrap()).unwrap()
    })
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        0..EVENT_TYPES.len(),
        prop::collection::vec(id(), 1..4),
        prop::collection::vec(".{0,30}", 3),
        prop::option::of(".{0,30}"),
        prop::collection::vec(amount(), 3),
        prop::collection::vec(date(), 3),
        // Instants to the nanosecond, as `Utc::now()` gives them in `sent_at` and the like.
        (-4_000_000_000i64..4_000_000_000, 0u32..1_000_000_000)
            .prop_map(|(s, ns)| DateTime::from_timestamp(s, ns).unwrap()),
        any::<u32>(),
        any::<bool>(),
        prop::sample::select(vec!["EUR", "NOK", "JPY", "KWD", "RON", "IDR"]),
    )
        .prop_map(
            |(kind, ids, texts, opt_text, amounts, dates, instant, number, flag, currency)| Parts {
                kind,
                ids,
                texts,
                opt_text,
                amounts,
                dates,
                instant,
                number,
                flag,
                currency,
            },
        )
}

fn build(p: &Parts) -> Event {
    let inv = |i: usize| InvoiceId::parse(&p.ids[i % p.ids.len()]).unwrap();
    let invs = || {
        p.ids
            .iter()
            .map(|s| InvoiceId::parse(s).unwrap())
            .collect::<Vec<_>>()
    };
    let promise = |i: usize| PromiseId::parse(&p.ids[i % p.ids.len()]).unwrap();
    let t = |i: usize| p.texts[i].clone();
    let terms = Terms {
        net_days: p.number,
        discount_percent: p.flag.then_some(p.amounts[2]),
        discount_days: p.flag.then_some(p.number / 2),
    };
    let contacts = Contacts {
        emails: p.texts.clone(),
        phones: vec![t(1)],
        postal_address: p.opt_text.clone(),
        billing_contact: p.flag.then(|| t(2)),
        billing_email: p.flag.then(|| t(1)),
        language: (!p.flag).then(|| t(2)),
    };
    let (a, b, c) = (p.amounts[0], p.amounts[1], p.amounts[2]);
    let (d0, d1, d2) = (p.dates[0], p.dates[1], p.dates[2]);
    let e: Event = match EVENT_TYPES[p.kind] {
        "AccountOpened" => AccountOpened {
            customer_id: CustomerId::parse(&p.ids[0]).unwrap(),
            name: t(0),
            currency: Currency::parse(p.currency).unwrap(),
            credit_limit: a,
            terms,
            opened_on: d0,
            contacts,
            sales_rep: p.opt_text.clone(),
        }
        .into(),
        "CreditLimitChanged" => CreditLimitChanged {
            new_limit: a,
            reason: t(0),
        }
        .into(),
        "TermsChanged" => TermsChanged { terms }.into(),
        "ContactDetailsUpdated" => ContactDetailsUpdated { contacts }.into(),
        "ContactDetailsVerified" => ContactDetailsVerified {
            verified_on: d0,
            by: t(0),
        }
        .into(),
        "SalesRepAssigned" => SalesRepAssigned { sales_rep: t(0) }.into(),
        "InvoiceIssued" => InvoiceIssued {
            invoice_id: inv(0),
            amount: a,
            issued_on: d0,
            due_on: d1,
            terms,
            reference: p.opt_text.clone(),
            override_reason: p.flag.then(|| t(1)),
        }
        .into(),
        "InvoiceDelivered" => InvoiceDelivered {
            invoice_id: inv(0),
            channel: t(0),
            confirmed_on: d0,
        }
        .into(),
        "InvoiceDisputed" => InvoiceDisputed {
            invoice_id: inv(0),
            reason: t(0),
            disputed_on: d0,
        }
        .into(),
        "DisputeResolved" => DisputeResolved {
            invoice_id: inv(0),
            outcome: t(0),
            resolved_on: d0,
        }
        .into(),
        "CreditNoteIssued" => CreditNoteIssued {
            credit_note_id: CreditNoteId::parse(&p.ids[0]).unwrap(),
            invoice_id: inv(1),
            amount: a,
            reason: t(0),
            issued_on: d0,
        }
        .into(),
        "LateFeeCharged" => LateFeeCharged {
            invoice_id: inv(0),
            amount: a,
            charged_on: d0,
            period: p.number,
        }
        .into(),
        "InvoiceWrittenOff" => InvoiceWrittenOff {
            invoice_id: inv(0),
            amount: a,
            written_off_on: d0,
            reason: t(0),
        }
        .into(),
        "PaymentReceived" => PaymentReceived {
            payment_id: PaymentId::parse(&p.ids[0]).unwrap(),
            amount: a,
            received_on: d0,
            method: t(0),
            allocations: invs()
                .into_iter()
                .map(|invoice_id| Allocation {
                    invoice_id,
                    amount: b,
                    discount: c,
                })
                .collect(),
            unapplied: c,
        }
        .into(),
        "PaymentReversed" => PaymentReversed {
            payment_id: PaymentId::parse(&p.ids[0]).unwrap(),
            reversed_on: d0,
            reason: t(0),
        }
        .into(),
        "UnappliedCashApplied" => UnappliedCashApplied {
            allocations: invs()
                .into_iter()
                .map(|invoice_id| Application {
                    invoice_id,
                    amount: b,
                })
                .collect(),
            applied_on: d0,
        }
        .into(),
        "ReminderSent" => ReminderSent {
            invoice_ids: invs(),
            channel: if p.flag {
                ReminderChannel::Sms
            } else {
                ReminderChannel::Email
            },
            step: p.opt_text.clone(),
            template: p.flag.then(|| t(0)),
            sent_at: p.instant,
            message_id: p.flag.then(|| t(1)),
            to: p.opt_text.clone(),
            language: (!p.flag).then(|| t(2)),
            content_sha256: p.flag.then(|| t(0)),
        }
        .into(),
        "ReminderFailed" => ReminderFailed {
            invoice_ids: invs(),
            channel: ReminderChannel::Letter,
            step: p.opt_text.clone(),
            to: p.flag.then(|| t(1)),
            reason: t(0),
            permanent: p.flag,
            failed_at: p.instant,
        }
        .into(),
        "CallLogged" => CallLogged {
            invoice_ids: invs(),
            outcome: t(0),
            step: p.opt_text.clone(),
            called_at: p.instant,
            notes: p.flag.then(|| t(1)),
        }
        .into(),
        "SalesRepNotified" => SalesRepNotified {
            invoice_ids: invs(),
            sales_rep: t(0),
            step: p.opt_text.clone(),
            notified_at: p.instant,
        }
        .into(),
        "PaymentPromised" => PaymentPromised {
            promise_id: promise(0),
            amount: a,
            promised_on: d0,
            invoice_ids: invs(),
            made_on: d1,
            via: t(0),
            made_at: p.flag.then_some(p.instant),
        }
        .into(),
        "PaymentPlanAgreed" => PaymentPlanAgreed {
            plan_id: PlanId::parse(&p.ids[0]).unwrap(),
            installments: (0..p.ids.len())
                .map(|i| Installment {
                    promise_id: promise(i),
                    amount: b,
                    promised_on: d2,
                })
                .collect(),
            agreed_on: d0,
        }
        .into(),
        "PromiseKept" => PromiseKept {
            promise_id: promise(0),
            kept_on: d0,
        }
        .into(),
        "PromiseBroken" => PromiseBroken {
            promise_id: promise(0),
            shortfall: a,
            effective_on: d0,
        }
        .into(),
        "AccountHeld" => AccountHeld {
            reason: t(0),
            rule: p.opt_text.clone(),
            manual: p.flag,
            effective_on: d0,
        }
        .into(),
        "AccountReleased" => AccountReleased {
            reason: t(0),
            manual: p.flag,
            effective_on: d0,
        }
        .into(),
        "CashOnlyImposed" => CashOnlyImposed {
            reason: t(0),
            effective_on: d0,
        }
        .into(),
        "CashOnlyLifted" => CashOnlyLifted { effective_on: d0 }.into(),
        "Escalated" => Escalated {
            invoice_ids: invs(),
            to: if p.flag {
                EscalationTarget::Legal
            } else {
                EscalationTarget::CollectionAgency
            },
            escalated_on: d0,
            notes: p.opt_text.clone(),
        }
        .into(),
        "PolicyAdopted" => PolicyAdopted {
            version: p.number,
            name: t(0),
            document: t(1),
        }
        .into(),
        "LateFeeReversed" => LateFeeReversed {
            invoice_id: inv(0),
            period: p.number,
            amount: a,
            unapplied: b,
            unapplied_on: p.flag.then_some(d1),
            reason: t(0),
            reverses: u64::from(p.number) * 7 + 1,
        }
        .into(),
        "PromiseReinstated" => PromiseReinstated {
            promise_id: promise(0),
            reason: t(0),
            reverses: u64::from(p.number),
            effective_on: d0,
        }
        .into(),
        other => panic!("no generator for {other}: add one"),
    };
    assert_eq!(e.event_type(), EVENT_TYPES[p.kind]);
    e
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_payload_round_trips(p in parts()) {
        let event = build(&p);
        let (event_type, schema, bytes) = codec::encode_payload(&event).unwrap();
        prop_assert_eq!(event_type, event.event_type());
        prop_assert_eq!(schema, codec::current_schema(event_type).unwrap());
        let back = codec::decode_payload(event_type, schema, &bytes).unwrap();
        prop_assert_eq!(&back, &event);
        // The serde form older builds wrote (schema 1, or 2 of four types) still decodes to it.
        let (_, old_schema, old_bytes) = codec::encode_payload_serde_form(&event).unwrap();
        prop_assert_eq!(old_schema + 1, schema);
        prop_assert_eq!(&codec::decode_payload(event_type, old_schema, &old_bytes).unwrap(), &event);
        // The JSON the export shows also round-trips (field names of SPEC §3).
        let json = serde_json::to_value(&event).unwrap();
        prop_assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
    }

    #[test]
    fn envelopes_round_trip(p in parts(), position in 1u64.., version in 1u64.., corr in prop::option::of(id()), pv in prop::option::of(any::<u32>())) {
        let event = build(&p);
        let (event_type, schema, payload) = codec::encode_payload(&event).unwrap();
        let env = Envelope {
            position, stream: format!("account-{}", p.ids[0]), version, event_id: [3; 16],
            event_type: event_type.into(), schema, occurred_at_us: p.instant.timestamp_micros(),
            recorded_at_us: p.instant.timestamp_micros(), actor: p.texts[0].clone(),
            correlation_id: corr.clone(), causation_id: corr, policy_version: pv, payload,
            prev_hash: [1; 32], hash: [2; 32],
        };
        let bytes = codec::encode_envelope(&env).unwrap();
        // Replay's in-place decoder reads the same fields from the same bytes.
        let borrowed = codec::decode_envelope_ref(&bytes).unwrap();
        prop_assert_eq!(borrowed.stream, env.stream.as_str());
        prop_assert_eq!(borrowed.event_type, env.event_type.as_str());
        prop_assert_eq!(borrowed.actor, env.actor.as_str());
        prop_assert_eq!(borrowed.correlation_id, env.correlation_id.as_deref());
        prop_assert_eq!(borrowed.causation_id, env.causation_id.as_deref());
        prop_assert_eq!(borrowed.payload, env.payload.as_slice());
        prop_assert_eq!(
            (borrowed.position, borrowed.version, borrowed.event_id, borrowed.schema),
            (env.position, env.version, env.event_id, env.schema)
        );
        prop_assert_eq!(
            (borrowed.occurred_at_us, borrowed.recorded_at_us, borrowed.policy_version),
            (env.occurred_at_us, env.recorded_at_us, env.policy_version)
        );
        prop_assert_eq!((borrowed.prev_hash, borrowed.hash), (env.prev_hash, env.hash));
        prop_assert_eq!(codec::decode_envelope(&bytes).unwrap(), env);
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_decoder(bytes in prop::collection::vec(any::<u8>(), 0..200), kind in 0..EVENT_TYPES.len()) {
        // Both envelope decoders refuse the same bytes, with the same reason.
        prop_assert_eq!(
            codec::decode_envelope(&bytes).err(),
            codec::decode_envelope_ref(&bytes).err()
        );
        let _ = codec::decode_payload(EVENT_TYPES[kind], 1, &bytes);
        let _ = codec::decode_payload("NoSuchEvent", 1, &bytes);
        let _ = codec::decode_payload(EVENT_TYPES[kind], 2, &bytes);
        let _ = codec::decode_payload(EVENT_TYPES[kind], 3, &bytes);
        let split = codec::split_block(&bytes);
        // Whatever the bytes, the ranges it returns lie inside them, in order.
        let mut end = 0;
        for range in &split.entries {
            assert!(end <= range.start && range.start <= range.end && range.end <= bytes.len());
            end = range.end;
        }
    }

    #[test]
    fn blocks_split_back_into_their_envelopes(
        envelopes in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..20),
        cut in any::<prop::sample::Index>(),
    ) {
        let block = codec::encode_block(&envelopes);
        let split = codec::split_block(&block);
        prop_assert_eq!(split.error, None);
        let back: Vec<Vec<u8>> = split.entries.into_iter().map(|r| block[r].to_vec()).collect();
        prop_assert_eq!(&back, &envelopes);
        prop_assert_eq!(codec::block_count(&block), Some(envelopes.len() as u32));
        // A block cut short keeps the envelopes before the cut and says why the next is gone.
        let short = &block[..cut.index(block.len())];
        let split = codec::split_block(short);
        prop_assert!(split.error.is_some());
        prop_assert!(split.entries.len() < envelopes.len());
    }
}
