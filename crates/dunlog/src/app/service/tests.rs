//! The service's own tests: idempotency, the start-up chain check, ticks of any size and
//! reconciliation in appends that follow a command.

use super::*;
use chain_check::parse_checkpoint;

fn command(json: serde_json::Value) -> Command {
    serde_json::from_value(json).unwrap()
}

fn open_acme() -> Command {
    command(
        serde_json::json!({"command": "open_account", "customer_id": "ACME",
        "name": "Acme", "currency": "EUR", "credit_limit": "1000.00",
        "terms": {"net_days": 30}, "opened_on": "2026-01-01"}),
    )
}

fn invoice(amount: &str) -> Command {
    command(
        serde_json::json!({"command": "issue_invoice", "customer_id": "ACME",
        "invoice_id": "I-1", "amount": amount, "issued_on": "2026-01-05"}),
    )
}

/// Appends `count` invoices of 100.00 to account ACME straight to the log, in appends of 1,000
/// (decided one by one they would take minutes): issued from `first` over `spread` days, due 30
/// days later.
async fn append_invoices(service: &Service, count: u64, first: NaiveDate, spread: u64) {
    let mut version = service.store.stream_version("account-ACME").unwrap();
    let ids: Vec<u64> = (0..count).collect();
    for batch in ids.chunks(1_000) {
        let events: Vec<Event> = batch
            .iter()
            .map(|&n| {
                let issued = first + chrono::Days::new(n % spread);
                domain::event::InvoiceIssued {
                    invoice_id: domain::InvoiceId::parse(&format!("I{n}")).unwrap(),
                    amount: "100.00".parse().unwrap(),
                    issued_on: issued,
                    due_on: issued + chrono::Days::new(30),
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
        let req = service.new_request(
            "account-ACME".to_owned(),
            ExpectedVersion::Exact(version),
            events,
            "a",
            1,
            None,
        );
        let outcome = service.append(req).await.unwrap();
        version += outcome.events.len() as u64;
    }
}

#[tokio::test]
async fn a_fresh_ledger_adopts_the_default_policy_as_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path()).await.unwrap();
    assert_eq!(service.live.read().policy_version(), 1);
    assert_eq!(service.store.head(), 1);
    service.close().await;
    let service = Service::open(dir.path()).await.unwrap();
    assert_eq!(service.store.head(), 1, "reopening adopts nothing more");
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_result_or_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path()).await.unwrap();
    let opened = service.execute("alice", open_acme(), None).await.unwrap();
    assert_eq!(opened.events[0].actor, "alice");
    assert_eq!(opened.events[0].policy_version, Some(1));
    assert!(opened.events[0].correlation_id.is_some());
    let first = service
        .execute("alice", invoice("100.00"), Some("k".to_owned()))
        .await
        .unwrap();
    let again = service
        .execute("alice", invoice("100.00"), Some("k".to_owned()))
        .await
        .unwrap();
    let positions = |o: &CommandOutput| o.events.iter().map(|e| e.position).collect::<Vec<_>>();
    assert_eq!(positions(&first), positions(&again));
    assert_eq!(again.exposure.unwrap().exposure.to_string(), "100.00");
    let other = service
        .execute("alice", invoice("200.00"), Some("k".to_owned()))
        .await;
    assert!(matches!(
        other,
        Err(ServiceError::Rejected {
            kind: ErrorKind::Conflict,
            ..
        })
    ));
    let duplicate = service.execute("alice", invoice("100.00"), None).await;
    assert!(matches!(
        duplicate,
        Err(ServiceError::Rejected {
            kind: ErrorKind::Conflict,
            ..
        })
    ));
    assert_eq!(service.store.head(), 3);
}

#[tokio::test]
async fn start_verifies_the_tail_and_refuses_writes_when_it_does_not_verify() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path()).await.unwrap();
    service.execute("a", open_acme(), None).await.unwrap();
    service.execute("a", invoice("100.00"), None).await.unwrap();
    assert!(service.writes_refused().is_none());
    service.close().await;

    // The next start verifies the log and remembers the head and its hash.
    let service = Service::open(dir.path()).await.unwrap();
    let stored = service
        .store
        .meta_get(VERIFY_CHECKPOINT_KEY)
        .unwrap()
        .unwrap();
    let (position, hash) = parse_checkpoint(&stored).unwrap();
    assert_eq!(position, 3);
    assert_eq!(hash, service.store.read_from(2, 1).unwrap()[0].hash);
    // A remembered hash the log does not chain from (as if position 2 had been rewritten
    // since it was verified) is found at the next start.
    service
        .store
        .meta_put(
            VERIFY_CHECKPOINT_KEY,
            format!("2 {}", "ab".repeat(32)).as_bytes(),
        )
        .unwrap();
    service.close().await;

    let service = Service::open(dir.path()).await.unwrap();
    let reason = service.writes_refused().unwrap().to_owned();
    assert!(reason.contains("position 3"), "{reason}");
    let refused = service.execute("a", invoice("5.00"), None).await;
    assert!(
        matches!(refused, Err(ServiceError::Internal(_))),
        "{refused:?}"
    );
    assert!(service.tick("2026-06-30".parse().unwrap()).await.is_err());
    assert_eq!(service.store.head(), 3, "nothing was appended");
    // Reads still work.
    assert!(service.live.read().accounts.contains_key("ACME"));
}

/// Found by fuzzing the GraphQL inputs: `tick(date: "9999-12-31")` walked ~2.9 million days
/// per account, each scanning a growing list of late fees, and never came back.
#[tokio::test]
async fn a_tick_more_than_ten_years_ahead_is_refused_and_appends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path())
        .await
        .unwrap()
        .with_today(Some("2046-01-01".parse().unwrap()));
    service.execute("a", open_acme(), None).await.unwrap();
    service.execute("a", invoice("100.00"), None).await.unwrap();
    let head = service.store.head();
    let refused = service.tick("9999-12-31".parse().unwrap()).await;
    match refused {
        Err(ServiceError::Rejected {
            kind: ErrorKind::Validation,
            message,
        }) => assert!(message.contains("9999-12-31"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(service.store.head(), head);
    assert!(service.store.meta_get("clock/ACME").unwrap().is_none());
    // In steps it goes through.
    assert!(!service
        .tick("2035-12-31".parse().unwrap())
        .await
        .unwrap()
        .is_empty());
    assert!(service.tick("2045-12-31".parse().unwrap()).await.is_ok());
}

#[tokio::test]
async fn ticking_twice_emits_nothing_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path())
        .await
        .unwrap()
        .with_today(Some("2026-07-01".parse().unwrap()));
    service.execute("a", open_acme(), None).await.unwrap();
    service.execute("a", invoice("100.00"), None).await.unwrap();
    let through: NaiveDate = "2026-06-30".parse().unwrap();
    let first = service.tick(through).await.unwrap();
    assert!(!first.is_empty(), "late fees and a hold were due");
    assert!(first.iter().all(|e| e.actor == CLOCK_ACTOR));
    assert!(service.tick(through).await.unwrap().is_empty());
    assert_eq!(
        service.store.meta_get("clock/ACME").unwrap().unwrap(),
        b"2026-06-30".to_vec()
    );
}

#[tokio::test]
async fn a_tick_after_today_is_validation_and_appends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path())
        .await
        .unwrap()
        .with_today(Some("2026-06-30".parse().unwrap()));
    service.execute("a", open_acme(), None).await.unwrap();
    service.execute("a", invoice("100.00"), None).await.unwrap();
    let head = service.store.head();
    match service.tick("2026-07-01".parse().unwrap()).await {
        Err(ServiceError::Rejected {
            kind: ErrorKind::Validation,
            message,
        }) => assert!(message.contains("2026-07-01"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(service.store.head(), head);
    assert!(service.store.meta_get("clock/ACME").unwrap().is_none());
}

/// Issue 14: a payment recorded after the tick, received before the fee dates, reverses the
/// fees and releases the hold in its own append.
#[tokio::test]
async fn a_payment_recorded_after_the_tick_reconciles_in_its_own_append() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path())
        .await
        .unwrap()
        .with_today(Some("2026-05-20".parse().unwrap()));
    service.execute("a", open_acme(), None).await.unwrap();
    service
        .execute(
            "a",
            command(
                serde_json::json!({"command": "issue_invoice", "customer_id": "ACME",
            "invoice_id": "J1", "amount": "1000.00", "issued_on": "2026-03-01"}),
            ),
            None,
        )
        .await
        .unwrap();
    let ticked = service.tick("2026-05-15".parse().unwrap()).await.unwrap();
    let count = |events: &[RecordedEvent], t: &str| {
        events.iter().filter(|e| e.event.event_type() == t).count()
    };
    assert_eq!(count(&ticked, "LateFeeCharged"), 2);
    let paid = service
        .execute(
            "a",
            command(
                serde_json::json!({"command": "record_payment", "customer_id": "ACME",
            "payment_id": "P2", "amount": "1000.00", "received_on": "2026-04-02",
            "method": "transfer"}),
            ),
            None,
        )
        .await
        .unwrap();
    assert_eq!(paid.events[0].event.event_type(), "PaymentReceived");
    assert_eq!(count(&paid.events, "LateFeeReversed"), 2);
    // Each reversal names the log position of the fee it reverses.
    let fee_positions: Vec<u64> = ticked
        .iter()
        .filter(|e| e.event.event_type() == "LateFeeCharged")
        .map(|e| e.position)
        .collect();
    let reversed: Vec<u64> = paid
        .events
        .iter()
        .filter_map(|e| match &e.event {
            Event::LateFeeReversed(r) => Some(r.reverses),
            _ => None,
        })
        .collect();
    assert_eq!(reversed, fee_positions);
    assert_eq!(count(&paid.events, "AccountReleased"), 1);
    let exposure = service
        .live
        .read()
        .exposure(
            &CustomerId::parse("ACME").unwrap(),
            "2026-05-20".parse().unwrap(),
        )
        .unwrap();
    assert_eq!(exposure.exposure.to_string(), "0.00");
    assert_eq!(exposure.status, projections::ExposureStatus::Ok);
    assert!(service
        .tick("2026-05-20".parse().unwrap())
        .await
        .unwrap()
        .is_empty());
}

/// Issue 14: an account owing more automatic events than one append carries stopped the clock
/// for the whole book. 5,000 overdue invoices ticked across a year: tens of thousands of
/// fees, in appends of whole days within the store's limit.
#[tokio::test]
async fn a_tick_of_any_size_goes_through_in_appends_of_whole_days() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path())
        .await
        .unwrap()
        .with_today(Some("2027-03-01".parse().unwrap()));
    service.execute("a", open_acme(), None).await.unwrap();
    // A second account after it in key order must be ticked too.
    service
        .execute(
            "a",
            command(
                serde_json::json!({"command": "open_account", "customer_id": "ZED",
            "name": "Zed", "currency": "EUR", "credit_limit": "1000.00",
            "terms": {"net_days": 30}, "opened_on": "2026-01-01"}),
            ),
            None,
        )
        .await
        .unwrap();
    service
        .execute(
            "a",
            command(
                serde_json::json!({"command": "issue_invoice", "customer_id": "ZED",
            "invoice_id": "Z1", "amount": "100.00", "issued_on": "2026-01-05"}),
            ),
            None,
        )
        .await
        .unwrap();
    // 5,000 invoices due on 250 different days.
    append_invoices(
        &service,
        5_000,
        NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
        250,
    )
    .await;
    service.live.wait_for(service.store.head()).await.unwrap();
    let ticked = service.tick("2027-01-01".parse().unwrap()).await.unwrap();
    let fees = ticked
        .iter()
        .filter(|e| e.event.event_type() == "LateFeeCharged")
        .count();
    assert!(fees > 30_000, "{fees} fees");
    assert!(ticked.iter().any(|e| e.stream == "account-ZED"));
    assert_eq!(
        service.store.meta_get("clock/ACME").unwrap().unwrap(),
        b"2027-01-01".to_vec()
    );
    assert!(service
        .tick("2027-01-01".parse().unwrap())
        .await
        .unwrap()
        .is_empty());
}

/// Issue 14: a back-dated payment whose compensations exceed one append was refused with
/// `VALIDATION: an append carries at most 1000 events`. 2,000 overdue invoices fee-charged
/// over months, then one payment received before the first fee date: every fee is reversed,
/// in appends of whole days, and the ledger equals one walk of the clock over the facts.
#[tokio::test]
async fn a_back_dated_payment_with_compensations_beyond_one_append_goes_through() {
    let dir = tempfile::tempdir().unwrap();
    let today: NaiveDate = "2026-10-01".parse().unwrap();
    let service = Service::open(dir.path())
        .await
        .unwrap()
        .with_today(Some(today));
    service.execute("a", open_acme(), None).await.unwrap();
    // Issued on 20 different days, due 30 days later.
    append_invoices(
        &service,
        2_000,
        NaiveDate::from_ymd_opt(2026, 2, 2).unwrap(),
        20,
    )
    .await;
    service.live.wait_for(service.store.head()).await.unwrap();
    let mark: NaiveDate = "2026-09-30".parse().unwrap();
    let ticked = service.tick(mark).await.unwrap();
    let fees = ticked
        .iter()
        .filter(|e| e.event.event_type() == "LateFeeCharged")
        .count();
    assert!(fees >= 10_000, "{fees} fees");

    // 200,000.00 received 03-05, before the first fee date (03-09): no fee was justified.
    let head = service.store.head();
    let paid = service
        .execute(
            "a",
            command(
                serde_json::json!({"command": "record_payment", "customer_id": "ACME",
            "payment_id": "P1", "amount": "200000.00", "received_on": "2026-03-05",
            "method": "transfer"}),
            ),
            Some("pay-once".to_owned()),
        )
        .await
        .unwrap();
    assert_eq!(paid.events[0].event.event_type(), "PaymentReceived");
    let reversed = paid
        .events
        .iter()
        .filter(|e| e.event.event_type() == "LateFeeReversed")
        .count();
    assert_eq!(reversed, fees, "every fee reversed");
    assert_eq!(
        service.store.head(),
        head + paid.events.len() as u64,
        "the answer lists every event appended"
    );
    assert!(
        service.store.meta_get("reconcile/ACME").unwrap().is_none(),
        "nothing is owed any more"
    );
    // Several appends: the first carries the payment, each within the store's limit.
    let mut appends: std::collections::BTreeMap<String, usize> = Default::default();
    for e in &paid.events {
        *appends
            .entry(e.correlation_id.clone().unwrap_or_default())
            .or_default() += 1;
    }
    assert!(appends.len() > 1, "{appends:?}");
    assert!(appends.values().all(|n| *n <= store::EVENTS_PER_APPEND_MAX));

    // The ledger equals one walk of the clock over the facts as now known.
    {
        let ledger = service.live.read();
        let account = ledger.account(&CustomerId::parse("ACME").unwrap()).unwrap();
        let policy = ledger.policy();
        let base = domain::reconcile::before(account, account.opened_on);
        let (walked, _) = domain::clock::walk(&base, &policy, account.opened_on, mark, today);
        let net_fees = |a: &domain::Account| -> Vec<(String, u32, String, NaiveDate)> {
            a.invoices
                .iter()
                .flat_map(|i| {
                    i.extras()
                        .fees
                        .iter()
                        .filter(|f| f.reversed.is_none())
                        .map(|f| {
                            (
                                i.id.to_string(),
                                f.period,
                                f.amount.to_string(),
                                f.charged_on,
                            )
                        })
                })
                .collect()
        };
        assert_eq!(net_fees(account), net_fees(&walked));
        assert!(net_fees(account).is_empty());
        let mut on = account.opened_on;
        while on <= today {
            assert_eq!(
                account.hold_on(on).map(|h| h.rule.clone()),
                walked.hold_on(on).map(|h| h.rule.clone()),
                "hold on {on}"
            );
            on = on.succ_opt().unwrap();
        }
        assert_eq!(account.exposure_on(today), walked.exposure_on(today));
        assert!(account.exposure_on(today).is_zero());
    }

    // The same key answers with the command's first append, and nothing more is owed.
    let again = service
        .execute(
            "a",
            command(
                serde_json::json!({"command": "record_payment", "customer_id": "ACME",
            "payment_id": "P1", "amount": "200000.00", "received_on": "2026-03-05",
            "method": "transfer"}),
            ),
            Some("pay-once".to_owned()),
        )
        .await
        .unwrap();
    assert_eq!(again.events[0].position, paid.events[0].position);
    assert!(service.tick(mark).await.unwrap().is_empty());
}

/// A crash between the appends of a command whose compensations did not fit in one: the
/// command is recorded, its compensations not (yet). The reconciliation it still owes is
/// recorded before its first append, and the next tick finishes it.
#[tokio::test]
async fn a_reconciliation_a_crash_left_unfinished_is_finished_by_the_next_tick() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path())
        .await
        .unwrap()
        .with_today(Some("2026-05-20".parse().unwrap()));
    service.execute("a", open_acme(), None).await.unwrap();
    service
        .execute(
            "a",
            command(
                serde_json::json!({"command": "issue_invoice", "customer_id": "ACME",
            "invoice_id": "J1", "amount": "1000.00", "issued_on": "2026-03-01"}),
            ),
            None,
        )
        .await
        .unwrap();
    let mark: NaiveDate = "2026-05-15".parse().unwrap();
    service.tick(mark).await.unwrap();
    // The command's first append, as the process left it: the payment alone.
    let pay = command(
        serde_json::json!({"command": "record_payment", "customer_id": "ACME",
        "payment_id": "P2", "amount": "1000.00", "received_on": "2026-04-02",
        "method": "transfer"}),
    );
    let customer = CustomerId::parse("ACME").unwrap();
    let (events, version) = {
        let ledger = service.live.read();
        let policy = ledger.policy();
        let account = ledger.account(&customer).unwrap();
        let ctx = Context {
            today: service.today(),
            now: now_micros(),
            actor: "a",
            policy: &policy,
        };
        (
            domain::decide::decide(Some(account), &pay, &ctx).unwrap(),
            account.version,
        )
    };
    let planned = {
        let ledger = service.live.read();
        let policy = ledger.policy();
        let ctx = Context {
            today: service.today(),
            now: now_micros(),
            actor: "a",
            policy: &policy,
        };
        domain::reconcile::execute_planned(ledger.account(&customer), &pay, &ctx, Some(mark))
            .unwrap()
    };
    service
        .set_pending(&customer, planned.reconciled.as_ref().unwrap())
        .unwrap();
    let req = service.new_request(
        customer.stream(),
        ExpectedVersion::Exact(version),
        events,
        "a",
        1,
        None,
    );
    let outcome = service.append(req).await.unwrap();
    service
        .live
        .wait_for(outcome.events[0].position)
        .await
        .unwrap();
    service.close().await;

    // After the restart, the tick through the same day finishes the reconciliation.
    let service = Service::open(dir.path())
        .await
        .unwrap()
        .with_today(Some("2026-05-20".parse().unwrap()));
    let repaired = service.tick(mark).await.unwrap();
    let types: Vec<&str> = repaired.iter().map(|e| e.event.event_type()).collect();
    assert_eq!(
        types,
        ["LateFeeReversed", "AccountReleased", "LateFeeReversed"],
        "{repaired:?}"
    );
    match &repaired[0].event {
        Event::LateFeeReversed(r) => assert_eq!(r.reason, "payment P2 received 2026-04-02"),
        other => panic!("{other:?}"),
    }
    assert!(service.store.meta_get("reconcile/ACME").unwrap().is_none());
    let exposure = service
        .live
        .read()
        .exposure(&customer, "2026-05-20".parse().unwrap())
        .unwrap();
    assert_eq!(exposure.exposure.to_string(), "0.00");
    assert!(service.tick(mark).await.unwrap().is_empty());
}
