//! Incremental == rebuild == snapshot restored and caught up, for random histories; aging totals
//! tie to the open invoices less unapplied cash, every time.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use projections::{snapshot, Ledger};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;

use crate::support::{command, History};

#[derive(Clone, Debug)]
pub enum Op {
    Issue {
        c: u8,
        cents: u32,
        day: u16,
        net: u8,
    },
    Pay {
        c: u8,
        cents: u32,
        day: u16,
    },
    Reverse {
        c: u8,
        n: u8,
        day: u16,
    },
    Promise {
        c: u8,
        cents: u32,
        day: u16,
        within: u8,
        inv: Option<u8>,
    },
    Remind {
        c: u8,
        inv: u8,
        day: u16,
        step: u8,
    },
    Deliver {
        c: u8,
        inv: u8,
        day: u16,
    },
    Dispute {
        c: u8,
        inv: u8,
        day: u16,
    },
    Resolve {
        c: u8,
        inv: u8,
        day: u16,
    },
    CreditNote {
        c: u8,
        inv: u8,
        cents: u32,
        day: u16,
    },
    Hold {
        c: u8,
        day: u16,
    },
    Release {
        c: u8,
        day: u16,
    },
    Escalate {
        c: u8,
        inv: u8,
        day: u16,
    },
    Tick {
        day: u16,
    },
    Adopt,
}

const CUSTOMERS: [&str; 3] = ["ACME", "BETA", "GAMMA"];
const STEPS: [&str; 4] = ["confirm_receipt", "overdue_reminder", "call", "not_a_step"];

pub fn day(n: u16) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .checked_add_days(Days::new(u64::from(n)))
        .unwrap()
}

fn money(cents: u32) -> String {
    Decimal::new(i64::from(cents), 2).to_string()
}

pub fn op() -> impl Strategy<Value = Op> {
    let c = 0u8..3;
    let dd = 0u16..150;
    prop_oneof![
        4 => (c.clone(), 100u32..500_000, dd.clone(), 0u8..60).prop_map(|(c, cents, day, net)| Op::Issue { c, cents, day, net }),
        3 => (c.clone(), 100u32..400_000, dd.clone()).prop_map(|(c, cents, day)| Op::Pay { c, cents, day }),
        1 => (c.clone(), 0u8..4, dd.clone()).prop_map(|(c, n, day)| Op::Reverse { c, n, day }),
        2 => (c.clone(), 100u32..300_000, dd.clone(), 0u8..20, proptest::option::of(0u8..4)).prop_map(|(c, cents, day, within, inv)| Op::Promise { c, cents, day, within, inv }),
        2 => (c.clone(), 0u8..4, dd.clone(), 0u8..4).prop_map(|(c, inv, day, step)| Op::Remind { c, inv, day, step }),
        1 => (c.clone(), 0u8..4, dd.clone()).prop_map(|(c, inv, day)| Op::Deliver { c, inv, day }),
        1 => (c.clone(), 0u8..4, dd.clone()).prop_map(|(c, inv, day)| Op::Dispute { c, inv, day }),
        1 => (c.clone(), 0u8..4, dd.clone()).prop_map(|(c, inv, day)| Op::Resolve { c, inv, day }),
        1 => (c.clone(), 0u8..4, 100u32..50_000, dd.clone()).prop_map(|(c, inv, cents, day)| Op::CreditNote { c, inv, cents, day }),
        1 => (c.clone(), dd.clone()).prop_map(|(c, day)| Op::Hold { c, day }),
        1 => (c.clone(), dd.clone()).prop_map(|(c, day)| Op::Release { c, day }),
        1 => (c.clone(), 0u8..4, dd.clone()).prop_map(|(c, inv, day)| Op::Escalate { c, inv, day }),
        2 => dd.prop_map(|day| Op::Tick { day }),
        1 => Just(Op::Adopt),
    ]
}

fn inv_id(c: u8, i: u8) -> String {
    format!("{}-INV-{i}", CUSTOMERS[usize::from(c)])
}

/// Runs the ops; refused commands are skipped (they append nothing).
pub fn history(ops: &[Op]) -> History {
    let mut h = History::new();
    for (i, name) in CUSTOMERS.iter().enumerate() {
        h.run(json!({"command": "open_account", "customer_id": name, "name": format!("{name} SA"),
            "currency": if i == 2 { "USD" } else { "EUR" }, "credit_limit": "5000.00",
            "opened_on": "2026-01-01", "terms": {"net_days": 30, "discount_percent": "2", "discount_days": 10}}));
    }
    let mut invoices = [0u8; 3];
    let mut payments = [0u8; 3];
    for (n, op) in ops.iter().enumerate() {
        let cust = |c: &u8| CUSTOMERS[usize::from(*c)];
        let j = match op {
            Op::Issue {
                c,
                cents,
                day: dd,
                net,
            } => {
                let i = invoices[usize::from(*c)];
                invoices[usize::from(*c)] += 1;
                json!({"command": "issue_invoice", "customer_id": cust(c), "invoice_id": inv_id(*c, i),
                    "amount": money(*cents), "issued_on": day(*dd),
                    "due_on": day(*dd).checked_add_days(Days::new(u64::from(*net))).unwrap(),
                    "override_reason": "test"})
            }
            Op::Pay { c, cents, day: dd } => {
                let i = payments[usize::from(*c)];
                payments[usize::from(*c)] += 1;
                json!({"command": "record_payment", "customer_id": cust(c), "payment_id": format!("P{i}"),
                    "amount": money(*cents), "received_on": day(*dd)})
            }
            Op::Reverse { c, n, day: dd } => {
                json!({"command": "reverse_payment", "customer_id": cust(c),
                "payment_id": format!("P{n}"), "reversed_on": day(*dd), "reason": "bounced"})
            }
            Op::Promise {
                c,
                cents,
                day: dd,
                within,
                inv,
            } => json!({"command": "record_promise",
                "customer_id": cust(c), "promise_id": format!("PR{n}"), "amount": money(*cents),
                "made_on": day(*dd), "promised_on": day(*dd + u16::from(*within)),
                "invoice_ids": inv.map(|i| vec![inv_id(*c, i)]).unwrap_or_default()}),
            Op::Remind {
                c,
                inv,
                day: dd,
                step,
            } => json!({"command": "record_reminder",
                "customer_id": cust(c), "invoice_ids": [inv_id(*c, *inv)], "channel": "email",
                "step": STEPS[usize::from(*step)],
                "sent_at": format!("{}T10:00:00Z", day(*dd))}),
            Op::Deliver { c, inv, day: dd } => {
                json!({"command": "confirm_delivery", "customer_id": cust(c),
                "invoice_id": inv_id(*c, *inv), "confirmed_on": day(*dd)})
            }
            Op::Dispute { c, inv, day: dd } => {
                json!({"command": "raise_dispute", "customer_id": cust(c),
                "invoice_id": inv_id(*c, *inv), "reason": "wrong", "disputed_on": day(*dd)})
            }
            Op::Resolve { c, inv, day: dd } => {
                json!({"command": "resolve_dispute", "customer_id": cust(c),
                "invoice_id": inv_id(*c, *inv), "outcome": "ok", "resolved_on": day(*dd)})
            }
            Op::CreditNote {
                c,
                inv,
                cents,
                day: dd,
            } => json!({"command": "issue_credit_note",
                "customer_id": cust(c), "credit_note_id": format!("CN{n}"), "invoice_id": inv_id(*c, *inv),
                "amount": money(*cents), "issued_on": day(*dd)}),
            Op::Hold { c, day: dd } => json!({"command": "hold_account", "customer_id": cust(c),
                "reason": "manual", "effective_on": day(*dd)}),
            Op::Release { c, day: dd } => {
                json!({"command": "release_account", "customer_id": cust(c),
                "reason": "manual", "effective_on": day(*dd)})
            }
            Op::Escalate { c, inv, day: dd } => {
                json!({"command": "escalate", "customer_id": cust(c),
                "invoice_ids": [inv_id(*c, *inv)], "to": "legal", "escalated_on": day(*dd)})
            }
            Op::Tick { day: dd } => {
                h.tick(day(*dd));
                continue;
            }
            Op::Adopt => {
                h.adopt(domain::policy::SINGLE_REMINDER_POLICY_TOML);
                continue;
            }
        };
        let _ = h.try_run(&command(j));
    }
    h
}

/// Aging totals per currency tie to Σ open invoices − Σ unapplied cash.
pub fn check_aging_ties(ledger: &Ledger, as_of: NaiveDate) {
    let report = ledger.aging(as_of, None);
    let mut expected: BTreeMap<String, Decimal> = BTreeMap::new();
    for a in ledger.accounts.values() {
        let open: Decimal = a.invoices.iter().map(|i| i.open_on(as_of)).sum();
        *expected.entry(a.currency.as_str().to_owned()).or_default() +=
            open - a.unapplied_on(as_of);
        assert!(a.invoices.iter().all(|i| i.open_on(as_of) >= Decimal::ZERO));
    }
    for row in &report.rows {
        let sum: Decimal = row.amounts.iter().copied().sum();
        assert_eq!(row.total, sum - row.unapplied, "row {}", row.customer_id);
    }
    for total in &report.totals {
        let e = expected
            .get(total.currency.as_str())
            .copied()
            .unwrap_or_default();
        assert_eq!(total.total, e, "{} as of {as_of}", total.currency);
        let rows: Decimal = report
            .rows
            .iter()
            .filter(|r| r.currency == total.currency)
            .map(|r| r.total)
            .sum();
        assert_eq!(total.total, rows);
    }
    for (currency, e) in &expected {
        if !e.is_zero() {
            assert!(report
                .totals
                .iter()
                .any(|t| t.currency.as_str() == currency));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn incremental_equals_rebuild_equals_snapshot_and_aging_ties(
        ops in proptest::collection::vec(op(), 1..60),
        split in 0usize..1000,
        as_of in 0u16..220,
    ) {
        let h = history(&ops);
        let rebuilt = h.rebuilt();
        prop_assert_eq!(&h.ledger, &rebuilt);

        let k = split % (h.log.len() + 1);
        let mut head = Ledger::new();
        for (meta, event) in &h.log[..k] {
            head.apply(meta, event);
        }
        let bytes = snapshot::encode(&head, [7; 32]).unwrap();
        let restored = snapshot::decode(&bytes).unwrap();
        prop_assert_eq!(restored.hash, [7; 32]);
        let mut caught_up = restored.ledger;
        for (meta, event) in &h.log {
            caught_up.apply(meta, event); // events at or below the checkpoint are skipped
        }
        prop_assert_eq!(&h.ledger, &caught_up);

        for date in [day(as_of), day(0), day(400)] {
            check_aging_ties(&h.ledger, date);
            prop_assert_eq!(h.ledger.worklist(date), caught_up.worklist(date));
            prop_assert_eq!(h.ledger.metrics(date, 90), caught_up.metrics(date, 90));
        }
    }

    /// The timeline is read from the log at query time (issue 18): the incremental ledger, a
    /// rebuild and a snapshot restored and caught up answer the same; a ledger that has applied
    /// only part of the log (a snapshot's, a ledger known at an instant) shows only that part
    /// even when handed the whole stream, exactly as if the log had ended there.
    #[test]
    fn timeline_incremental_equals_rebuild_and_a_partial_ledger_shows_only_what_it_applied(
        ops in proptest::collection::vec(op(), 1..60),
        split in 0usize..1000,
        invoice in proptest::option::of(0u8..4),
    ) {
        let h = history(&ops);
        let rebuilt = h.rebuilt();
        let k = split % (h.log.len() + 1);
        let mut head = Ledger::new();
        for (meta, event) in &h.log[..k] {
            head.apply(meta, event);
        }
        let restored = snapshot::decode(&snapshot::encode(&head, [0; 32]).unwrap()).unwrap();
        let mut caught_up = restored.ledger;
        for (meta, event) in &h.log {
            caught_up.apply(meta, event);
        }
        let mut upto_k = History::new();
        upto_k.log = h.log[..k].to_vec();
        for (c, name) in CUSTOMERS.iter().enumerate() {
            let customer = domain::CustomerId::parse(name).unwrap();
            let inv = invoice.map(|i| domain::InvoiceId::parse(&inv_id(c as u8, i)).unwrap());
            let live = h.timeline(&customer, inv.as_ref(), None, None);
            prop_assert!(live.iter().all(|e| e.customer_id == customer));
            prop_assert_eq!(&live, &h.timeline_in(&rebuilt, &customer, inv.as_ref(), None, None));
            prop_assert_eq!(&live, &h.timeline_in(&caught_up, &customer, inv.as_ref(), None, None));
            // The whole stream, handed to a ledger that applied only the first k events.
            prop_assert_eq!(
                h.timeline_in(&head, &customer, inv.as_ref(), None, None),
                upto_k.timeline_in(&head, &customer, inv.as_ref(), None, None)
            );
        }
        // Every timeline event of the log is on its account's timeline, once.
        let listed: usize = CUSTOMERS
            .iter()
            .map(|n| h.timeline(&domain::CustomerId::parse(n).unwrap(), None, None, None).len())
            .sum();
        let expected = h
            .log
            .iter()
            .filter(|(_, e)| projections::timeline::is_timeline_event(e))
            .count();
        prop_assert_eq!(listed, expected);
    }
}

#[test]
fn a_snapshot_that_does_not_decode_is_an_error_not_a_panic() {
    let h = history(&[Op::Issue {
        c: 0,
        cents: 1000,
        day: 1,
        net: 30,
    }]);
    let bytes = snapshot::encode(&h.ledger, [0; 32]).unwrap();
    for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
        assert!(snapshot::decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut flipped = bytes.clone();
    flipped[0] ^= 0xff;
    assert!(snapshot::decode(&flipped).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// What-if visits only the days the clock can act on; it must equal walking every day.
    #[test]
    fn whatif_clock_days_walk_equals_the_daily_walk(
        ops in proptest::collection::vec(op(), 1..50),
        as_of in 0u16..300,
        single in any::<bool>(),
    ) {
        let h = history(&ops);
        let policy = if single {
            domain::Policy::parse(domain::policy::SINGLE_REMINDER_POLICY_TOML).unwrap()
        } else {
            domain::Policy::default_policy()
        };
        for a in h.ledger.accounts.values() {
            let fast = projections::whatif::replay_clock(a, &policy, day(as_of));
            let daily = projections::whatif::replay_clock_daily(a, &policy, day(as_of));
            prop_assert_eq!(fast, daily);
        }
    }
}

#[test]
fn large_ledgers_answer_the_same_split_over_cores() {
    let mut h = History::new();
    let n = projections::ledger::PARALLEL_ACCOUNTS_MIN + 37;
    for i in 0..n {
        let id = format!("C{i:05}");
        crate::support::open(&mut h, &id, "2026-01-01", "100.00");
        crate::support::issue(&mut h, &id, "I1", &money(1000 + i as u32), "2026-01-05");
    }
    let as_of = day(60);
    let policy = h.ledger.policy();
    let report = h.ledger.aging(as_of, None);
    let sequential: Vec<_> = h
        .ledger
        .accounts
        .values()
        .filter_map(|a| projections::aging::aging_row(a, &policy.aging, as_of))
        .collect();
    assert_eq!(report.rows.len(), n);
    assert_eq!(report.rows, sequential);
    let worklist = h.ledger.worklist(as_of);
    let mut expected: Vec<_> = h
        .ledger
        .accounts
        .values()
        .flat_map(|a| projections::worklist::account_worklist(a, &policy, as_of))
        .collect();
    expected.sort_by(|a, b| {
        (a.trigger_on, &a.customer_id, &a.invoice_id).cmp(&(
            b.trigger_on,
            &b.customer_id,
            &b.invoice_id,
        ))
    });
    assert_eq!(*worklist, expected);
    let exposures = h.ledger.exposures(as_of, None);
    assert_eq!(exposures.len(), n);
    assert!(exposures
        .windows(2)
        .all(|w| w[0].customer_id < w[1].customer_id));
}

/// Replay's reading threads decode each range into the events of a range already applied,
/// reusing their buffers; that only starts once every thread has filled its queue, so this log
/// is many ranges long. Streams, event types and lengths change from one event to the next, so
/// a field not overwritten would show. A full replay and one stopped at an instant must equal
/// applying the events one by one as the store iterates them.
#[test]
fn replay_over_many_ranges_equals_applying_each_event_in_turn() {
    use store::{AppendRequest, ExpectedVersion, NewEvent, Store};

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let accounts = 60u64;
    let per_account = 900u64;
    let chunk = 40usize;
    let start = day(0);
    let histories: Vec<Vec<domain::Event>> = (0..accounts)
        .map(|a| projections::synthetic::account_history(a, per_account, start).unwrap())
        .collect();
    let at = chrono::DateTime::from_timestamp(1_600_000_000, 0).unwrap();
    for round in 0..(per_account as usize).div_ceil(chunk) {
        for (a, history) in histories.iter().enumerate() {
            let events: Vec<_> = history.iter().skip(round * chunk).take(chunk).collect();
            if events.is_empty() {
                continue;
            }
            let stream = projections::synthetic::customer(a as u64).unwrap().stream();
            store
                .append_blocking(AppendRequest {
                    stream,
                    expected: ExpectedVersion::Any,
                    events: events
                        .into_iter()
                        .map(|event| NewEvent {
                            event: event.clone(),
                            occurred_at: at,
                        })
                        .collect(),
                    // Actors and ids that come and go, so reused strings are overwritten or
                    // dropped.
                    actor: format!("actor-{}", a % 3),
                    correlation_id: (a % 2 == 0).then(|| format!("corr-{round}-{a}")),
                    causation_id: None,
                    policy_version: None,
                    idempotency: None,
                })
                .unwrap();
        }
    }
    let total = accounts * per_account;
    assert_eq!(store.head(), total);
    assert!(
        total > 10 * projections::replay::REPLAY_RANGE_EVENTS * 4,
        "enough ranges for every reading thread to reuse its events"
    );
    let sequential = |known_at: Option<chrono::DateTime<chrono::Utc>>| {
        let mut ledger = Ledger::new();
        for event in store.iter_from(0) {
            let event = event.unwrap();
            if known_at.is_some_and(|t| event.recorded_at > t) {
                break;
            }
            ledger.apply_recorded(&event);
        }
        ledger
    };

    let (rebuilt, stats) = projections::rebuild(&store, None, &mut |_, _| {}).unwrap();
    let expected = sequential(None);
    assert_eq!(stats.events, total);
    assert_eq!(rebuilt.checkpoint, total);
    assert_eq!(rebuilt.accounts, expected.accounts);
    assert_eq!(rebuilt.policies, expected.policies);

    // Stopped at the instant of an event two thirds in: the first one recorded later ends it.
    let known_at = store
        .read_from(total * 2 / 3, 1)
        .unwrap()
        .first()
        .unwrap()
        .recorded_at;
    let mut partial = Ledger::new();
    let replayed =
        projections::replay::replay(&store, &mut partial, Some(known_at), &mut |_, _| {}).unwrap();
    let expected = sequential(Some(known_at));
    assert!(replayed.reached_known_at);
    assert_eq!(replayed.events, expected.checkpoint);
    assert_eq!(partial.checkpoint, expected.checkpoint);
    assert_eq!(partial.accounts, expected.accounts);
}
