//! Time travel: a fact back-dated and recorded later changes `aging(asOf)` but not the ledger
//! known at an instant before it was recorded.

use std::sync::Arc;

use chrono::Utc;
use projections::{ledger_known_at, KnownAtCache};
use store::Store;

use crate::support::{d, issue, open, pay, wait_until_past, History};

#[test]
fn a_back_dated_payment_changes_aging_but_not_what_was_known_before_it_was_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut h = History::with_store(store.clone());
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-01");
    let known_at = h.log.last().unwrap().0.recorded_at;
    wait_until_past(known_at);
    // Recorded now, dated in February.
    pay(&mut h, "A", "P1", "400.00", "2026-02-01");
    let recorded_later = h.log.last().unwrap().0.recorded_at;
    assert!(recorded_later > known_at);

    let as_of = d("2026-03-01");
    let live = h.ledger.aging(as_of, None);
    assert_eq!(live.totals[0].total.to_string(), "600.00");

    let then = ledger_known_at(&store, known_at).unwrap();
    let aging_then = then.aging(as_of, None);
    println!("payment recorded at {recorded_later}");
    println!(
        "aging(asOf: {as_of}) = {}",
        serde_json::to_string(&live.rows).unwrap()
    );
    println!(
        "aging(asOf: {as_of}, knownAt: {known_at}) = {}",
        serde_json::to_string(&aging_then.rows).unwrap()
    );
    assert_eq!(aging_then.totals[0].total.to_string(), "1000.00");
    assert_eq!(
        aging_then.rows[0].amounts[1].to_string(),
        "1000.00",
        "1-30 bucket"
    );

    // Known at the instant it was recorded (inclusive), and at any later instant, it shows.
    let now = ledger_known_at(&store, recorded_later).unwrap();
    assert_eq!(now, h.ledger);
    // Known before anything was recorded: an empty ledger.
    let before = ledger_known_at(&store, known_at - chrono::Duration::days(1)).unwrap();
    assert!(before.accounts.is_empty());

    // The cache answers the same, reuses what it built, and never touches the live ledger.
    let cache = KnownAtCache::new(2);
    let a = cache.get_or_build(&store, known_at).unwrap();
    assert_eq!(*a, then);
    let again = cache.get_or_build(&store, known_at).unwrap();
    assert!(Arc::ptr_eq(&a, &again));
    let later = cache.get_or_build(&store, recorded_later).unwrap();
    assert_eq!(*later, h.ledger);
    // An instant in the future is not final: a new append must show up.
    let future = Utc::now() + chrono::Duration::days(1);
    let f1 = cache.get_or_build(&store, future).unwrap();
    assert_eq!(f1.checkpoint, store.head());
    pay(&mut h, "A", "P2", "100.00", "2026-02-02");
    let f2 = cache.get_or_build(&store, future).unwrap();
    assert_eq!(f2.checkpoint, store.head());
    assert_eq!(*f2, h.ledger);
    assert!(cache.len() <= 2);
}

/// The timeline known at an instant (issue 18: read from the log, not kept in the ledger) lists
/// only what was recorded by then, though the stream read from the store holds more.
#[test]
fn the_timeline_known_at_an_instant_lists_only_what_was_recorded_by_then() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut h = History::with_store(store.clone());
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-01");
    h.run(
        serde_json::json!({"command": "record_reminder", "customer_id": "A",
        "invoice_ids": ["INV-1"], "channel": "email", "step": "overdue_reminder",
        "sent_at": "2026-02-05T10:00:00Z"}),
    );
    let known_at = h.log.last().unwrap().0.recorded_at;
    wait_until_past(known_at);
    // Recorded later, dated before the reminder.
    pay(&mut h, "A", "P1", "400.00", "2026-02-01");

    let a = domain::CustomerId::parse("A").unwrap();
    let stream = store.read_stream(&a.stream(), 0).unwrap();
    let timeline = |ledger: &projections::Ledger| -> Vec<String> {
        ledger
            .timeline(&a, stream.iter().map(Into::into), None, None, None)
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    };
    assert_eq!(timeline(&h.ledger), ["PaymentReceived", "ReminderSent"]);
    let then = ledger_known_at(&store, known_at).unwrap();
    assert_eq!(timeline(&then), ["ReminderSent"]);
    let cache = KnownAtCache::new(2);
    assert_eq!(
        timeline(&cache.get_or_build(&store, known_at).unwrap()),
        ["ReminderSent"]
    );
    let now = ledger_known_at(&store, h.log.last().unwrap().0.recorded_at).unwrap();
    assert_eq!(timeline(&now), ["PaymentReceived", "ReminderSent"]);
    assert_eq!(
        then.timeline(&a, stream.iter().map(Into::into), None, None, None),
        h.timeline(&a, None, None, None)
            .into_iter()
            .filter(|e| e.event_type == "ReminderSent")
            .collect::<Vec<_>>()
    );
}

/// Several thousand events, so replays cut the log into many ranges read by several threads.
#[test]
fn long_logs_replay_in_order_and_stop_at_the_instant_asked() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut h = History::with_store(store.clone());
    let mut cut = None;
    for i in 0..8 {
        let id = format!("C{i}");
        open(&mut h, &id, "2026-01-01", "100000.00");
        let events: Vec<domain::Event> = (0..600)
            .map(|n| {
                domain::event::InvoiceIssued {
                    invoice_id: domain::InvoiceId::parse(&format!("I{n}")).unwrap(),
                    amount: rust_decimal::Decimal::new(1000 + n, 2),
                    issued_on: d("2026-01-02"),
                    due_on: d("2026-02-01"),
                    terms: domain::event::Terms {
                        net_days: 30,
                        discount_percent: None,
                        discount_days: None,
                    },
                    reference: None,
                    override_reason: None,
                }
                .into()
            })
            .collect();
        h.record(&domain::CustomerId::parse(&id).unwrap().stream(), events);
        if i == 4 {
            let instant = h.log.last().unwrap().0.recorded_at;
            wait_until_past(instant);
            cut = Some((instant, h.ledger.clone()));
        }
    }
    assert!(store.head() > 4 * projections::replay::REPLAY_RANGE_EVENTS);
    let mut calls = Vec::new();
    let (rebuilt, stats) =
        projections::rebuild(&store, None, &mut |done, total| calls.push((done, total))).unwrap();
    assert_eq!(rebuilt, h.ledger);
    assert_eq!(stats.events, store.head());
    assert_eq!(calls.first(), Some(&(0, store.head())));
    assert_eq!(calls.last(), Some(&(store.head(), store.head())));
    let (instant, then) = cut.unwrap();
    let known = ledger_known_at(&store, instant).unwrap();
    assert_eq!(known, then);
}
