//! Timeline, promises and metrics on worked examples.

use projections::metrics::paid_in_full_on;
use serde_json::json;

use crate::support::{d, issue, open, pay, t, History};
use crate::whatif::recorded_under_default;

#[test]
fn the_timeline_lists_contacts_promises_fees_holds_in_occurred_at_order_with_envelopes() {
    let h = recorded_under_default();
    let a = domain::CustomerId::parse("A").unwrap();
    let timeline = h.timeline(&a, None, None, None);
    for e in &timeline {
        println!(
            "{} | {} | recorded {} by {} at #{} | {}",
            e.occurred_at, e.event_type, e.recorded_at, e.actor, e.position, e.summary
        );
    }
    let types: Vec<&str> = timeline.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "LateFeeCharged",
            "ReminderSent",
            "PaymentPromised",
            "PromiseBroken",
            "CashOnlyImposed",
            "AccountHeld",
            "LateFeeCharged"
        ]
    );
    let reminder = &timeline[1];
    assert_eq!(reminder.occurred_at, t("2026-02-05T10:00:00Z"));
    assert_eq!(reminder.actor, "alice");
    assert_eq!(reminder.invoice_ids[0].as_str(), "INV-1");
    assert_eq!(reminder.payload["step"], "overdue_reminder");
    // The clock's hold is dated on the day its rule first held, not when the tick ran.
    let hold = &timeline[5];
    assert_eq!(hold.actor, "clock");
    assert_eq!(hold.occurred_at, t("2026-03-03T00:00:00Z"));
    assert!(timeline
        .windows(2)
        .all(|w| w[0].occurred_at <= w[1].occurred_at));

    // Filters: an instant range, and one invoice (holds are about the account, not the invoice).
    let feb = h.timeline(
        &a,
        None,
        Some(t("2026-02-06T00:00:00Z")),
        Some(t("2026-02-28T23:59:59Z")),
    );
    assert_eq!(feb.len(), 3);
    let inv = domain::InvoiceId::parse("INV-1").unwrap();
    let about_inv = h.timeline(&a, Some(&inv), None, None);
    let types: Vec<&str> = about_inv.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "LateFeeCharged",
            "ReminderSent",
            "PaymentPromised",
            "PromiseBroken",
            "LateFeeCharged"
        ]
    );
    let other = domain::InvoiceId::parse("INV-404").unwrap();
    assert_eq!(
        h.timeline(&a, Some(&other), None, None).len(),
        2,
        "account-wide promise"
    );
}

#[test]
fn promises_show_what_was_so_on_the_date_asked() {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-01");
    h.run(json!({"command": "record_promise", "customer_id": "A", "promise_id": "PR-1",
        "amount": "300.00", "promised_on": "2026-02-10", "invoice_ids": ["INV-1"], "made_on": "2026-02-01"}));
    h.run(
        json!({"command": "agree_payment_plan", "customer_id": "A", "plan_id": "PLAN-1",
        "agreed_on": "2026-02-01", "installments": [
            {"promise_id": "I-1", "amount": "100.00", "promised_on": "2026-03-01"},
            {"promise_id": "I-2", "amount": "100.00", "promised_on": "2026-04-01"}]}),
    );
    pay(&mut h, "A", "P1", "300.00", "2026-02-09");
    h.tick(d("2026-03-10"));
    let status = |date: &str| -> Vec<(String, String)> {
        h.ledger
            .promises(None, d(date))
            .iter()
            .map(|p| (p.promise_id.to_string(), p.status.clone()))
            .collect()
    };
    let s = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert!(status("2026-01-31").is_empty());
    assert_eq!(
        status("2026-02-08"),
        [s("PR-1", "OPEN"), s("I-1", "OPEN"), s("I-2", "OPEN")]
    );
    assert_eq!(
        status("2026-02-09"),
        [s("PR-1", "KEPT"), s("I-1", "OPEN"), s("I-2", "OPEN")]
    );
    assert_eq!(
        status("2026-03-10"),
        [s("PR-1", "KEPT"), s("I-1", "BROKEN"), s("I-2", "OPEN")]
    );
    let views = h.ledger.promises(
        Some(&domain::CustomerId::parse("A").unwrap()),
        d("2026-03-10"),
    );
    assert_eq!(views[0].kept_on, Some(d("2026-02-09")));
    assert_eq!(
        views[1].plan_id.as_ref().map(|p| p.as_str()),
        Some("PLAN-1")
    );
    assert_eq!(
        views[1].broken_on,
        Some(d("2026-03-04")),
        "promised_on + grace 2 + 1"
    );
    assert_eq!(
        views[1].shortfall.map(|s| s.to_string()),
        Some("100.00".to_owned())
    );
    let before = h.ledger.promises(None, d("2026-03-03"));
    assert_eq!((before[1].broken_on, before[1].shortfall), (None, None));
}

#[test]
fn metrics_per_currency_worked_example() {
    let mut h = History::new();
    open(&mut h, "A", "2025-10-01", "50000.00");
    h.run(
        json!({"command": "open_account", "customer_id": "U", "name": "U Inc", "currency": "USD",
        "credit_limit": "100.00", "opened_on": "2026-01-01", "terms": {"net_days": 30}}),
    );
    // Before the window: 2000.00 open at its start.
    issue(&mut h, "A", "OLD", "2000.00", "2025-12-01");
    // In the 90-day window to 2026-03-31 (2026-01-01 … 2026-03-31): 3000.00 of sales.
    issue(&mut h, "A", "S1", "1000.00", "2026-01-10");
    issue(&mut h, "A", "S2", "2000.00", "2026-03-15");
    // S1 paid in full 20 days after issue; OLD half paid.
    h.run(json!({"command": "record_payment", "customer_id": "A", "payment_id": "P1",
        "amount": "1000.00", "received_on": "2026-01-30", "allocations": [{"invoice_id": "S1", "amount": "1000.00"}]}));
    h.run(json!({"command": "record_payment", "customer_id": "A", "payment_id": "P2",
        "amount": "1000.00", "received_on": "2026-02-15", "allocations": [{"invoice_id": "OLD", "amount": "1000.00"}]}));
    h.run(
        json!({"command": "record_promise", "customer_id": "A", "promise_id": "K",
        "amount": "500.00", "promised_on": "2026-02-15", "made_on": "2026-02-10"}),
    );
    h.run(
        json!({"command": "record_promise", "customer_id": "A", "promise_id": "B",
        "amount": "500.00", "promised_on": "2026-03-01", "made_on": "2026-02-20"}),
    );
    h.tick(d("2026-03-31"));
    let metrics = h.ledger.metrics(d("2026-03-31"), 90);
    println!("{}", serde_json::to_string_pretty(&metrics).unwrap());
    assert_eq!(metrics.len(), 2);
    let eur = &metrics[0];
    assert_eq!(eur.currency.as_str(), "EUR");
    // Late fees are receivables too: OLD and S1 were charged while open.
    let fees: rust_decimal::Decimal = h
        .ledger
        .accounts
        .values()
        .flat_map(|a| a.invoices.iter())
        .map(|i| i.fees_on(d("2026-03-31")))
        .sum();
    let open = "3000.00".parse::<rust_decimal::Decimal>().unwrap() + fees;
    assert_eq!(eur.open_receivables, open);
    assert_eq!(eur.credit_sales.to_string(), "3000.00");
    assert_eq!(
        eur.dso,
        Some(
            (open / rust_decimal::Decimal::from(3000) * rust_decimal::Decimal::from(90))
                .round_dp(2)
        )
    );
    assert_eq!(
        eur.promise_kept_rate.map(|r| r.to_string()),
        Some("50.00".to_owned())
    );
    assert_eq!(
        eur.average_days_to_pay.map(|r| r.to_string()),
        Some("20.00".to_owned())
    );
    assert!(eur.cei.is_some());
    let usd = &metrics[1];
    assert_eq!(
        (usd.dso, usd.cei, usd.promise_kept_rate),
        (None, None, None)
    );
    let s1 = h
        .ledger
        .accounts
        .values()
        .next()
        .unwrap()
        .invoice(&domain::InvoiceId::parse("S1").unwrap())
        .unwrap();
    assert_eq!(paid_in_full_on(s1, d("2026-03-31")), Some(d("2026-01-30")));
    assert_eq!(paid_in_full_on(s1, d("2026-01-29")), None);
}

/// Issue 14: the timeline had no payments, reversals, deliveries, disputes or plans (SPEC §7).
#[test]
fn the_timeline_lists_payments_reversals_deliveries_disputes_plans_and_releases() {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-01");
    h.run(
        json!({"command": "confirm_delivery", "customer_id": "A", "invoice_id": "INV-1",
        "confirmed_on": "2026-01-03"}),
    );
    h.run(
        json!({"command": "raise_dispute", "customer_id": "A", "invoice_id": "INV-1",
        "reason": "wrong quantity", "disputed_on": "2026-01-10"}),
    );
    h.run(
        json!({"command": "resolve_dispute", "customer_id": "A", "invoice_id": "INV-1",
        "outcome": "customer accepted", "resolved_on": "2026-01-12"}),
    );
    pay(&mut h, "A", "P1", "400.00", "2026-01-15");
    h.run(
        json!({"command": "reverse_payment", "customer_id": "A", "payment_id": "P1",
        "reversed_on": "2026-01-18", "reason": "bounced"}),
    );
    h.run(
        json!({"command": "agree_payment_plan", "customer_id": "A", "plan_id": "PLAN-1",
        "agreed_on": "2026-01-20", "installments": [
            {"promise_id": "I-1", "amount": "500.00", "promised_on": "2026-02-01"}]}),
    );
    h.run(
        json!({"command": "hold_account", "customer_id": "A", "reason": "audit",
        "effective_on": "2026-01-21"}),
    );
    h.run(
        json!({"command": "release_account", "customer_id": "A", "reason": "audit done",
        "effective_on": "2026-01-22"}),
    );
    let a = domain::CustomerId::parse("A").unwrap();
    let timeline = h.timeline(&a, None, None, None);
    let lines: Vec<String> = timeline
        .iter()
        .map(|e| format!("{} {}", e.occurred_at.date_naive(), e.summary))
        .collect();
    assert_eq!(
        lines,
        [
            "2026-01-03 Delivery of INV-1 confirmed on 2026-01-03 (email)",
            "2026-01-10 Invoice INV-1 disputed on 2026-01-10 (wrong quantity)",
            "2026-01-12 Dispute on INV-1 resolved on 2026-01-12 (customer accepted)",
            "2026-01-15 Payment P1 of 400.00 received on 2026-01-15 (transfer): INV-1 400.00",
            "2026-01-18 Payment P1 reversed on 2026-01-18 (bounced)",
            "2026-01-20 Payment plan PLAN-1 agreed: 1 installments totalling 500.00",
            "2026-01-21 Account held from 2026-01-21 (audit, manual)",
            "2026-01-22 Account released from 2026-01-22 (audit done, manual)",
        ]
    );
    // The reversal is about the invoices its payment was on.
    let inv = domain::InvoiceId::parse("INV-1").unwrap();
    let about: Vec<String> = h
        .timeline(&a, Some(&inv), None, None)
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        about,
        [
            "InvoiceDelivered",
            "InvoiceDisputed",
            "DisputeResolved",
            "PaymentReceived",
            "PaymentReversed",
            "PaymentPlanAgreed"
        ]
    );
}

/// Issue 14: `Account.holds` showed `reason: null, manual: null` on releases.
#[test]
fn a_hold_change_that_releases_keeps_its_reason_and_who_released() {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "5000.00");
    h.run(
        json!({"command": "hold_account", "customer_id": "A", "reason": "audit",
        "effective_on": "2026-01-21"}),
    );
    h.run(
        json!({"command": "release_account", "customer_id": "A", "reason": "audit done",
        "effective_on": "2026-01-22"}),
    );
    let a = h
        .ledger
        .account(&domain::CustomerId::parse("A").unwrap())
        .unwrap();
    let release = a.holds.last().unwrap();
    assert!(release.state.is_none());
    assert_eq!(
        release.released,
        Some(domain::account::Release {
            reason: "audit done".to_owned(),
            manual: true
        })
    );
}

/// Issue 14: under `basis = "issue"` an invoice issued 05-15, due 06-14, aged as of 06-14 sat in
/// the 16-45 bucket with `oldestDaysPastDue` 0 instead of 30; and it was 0, not null, when
/// nothing was past due.
#[test]
fn oldest_days_past_due_follows_the_aging_basis_and_is_null_when_nothing_is_past_due() {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-05-15");
    // Under basis `due`, nothing is past due on the due date: null, not 0.
    let row = &h.ledger.aging(d("2026-06-14"), None).rows[0];
    assert_eq!(row.oldest_days_past_due, None);
    assert_eq!(
        h.ledger.aging(d("2026-06-20"), None).rows[0].oldest_days_past_due,
        Some(6)
    );

    let document = domain::policy::SINGLE_REMINDER_POLICY_TOML
        .replace("buckets = [30, 60, 90, 120]", "buckets = [15, 45]")
        .replace("basis = \"due\"", "basis = \"issue\"");
    h.adopt(&document);
    let report = h.ledger.aging(d("2026-06-14"), None);
    assert_eq!(report.buckets[2], "16-45");
    assert_eq!(report.rows[0].amounts[2].to_string(), "1000.00");
    assert_eq!(report.rows[0].oldest_days_past_due, Some(30));
    // Issued today: current, and nothing past due.
    issue(&mut h, "A", "INV-2", "10.00", "2026-06-14");
    let report = h.ledger.aging(d("2026-05-15"), None);
    assert_eq!(report.rows[0].oldest_days_past_due, None);
}

/// Issue 14: a promise taken on a 14:02 call, recorded the next morning, was listed at 00:00 —
/// before the call it was taken on. It carries the instant it was made.
#[test]
fn a_promise_is_listed_at_the_instant_it_was_made() {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-01");
    h.run(
        json!({"command": "log_call", "customer_id": "A", "invoice_ids": ["INV-1"],
        "outcome": "promised to pay", "called_at": "2026-02-05T14:02:00Z"}),
    );
    h.occurred_at = t("2026-02-06T08:30:00Z");
    h.run(
        json!({"command": "record_promise", "customer_id": "A", "promise_id": "PR-1",
        "amount": "500.00", "promised_on": "2026-02-20", "made_at": "2026-02-05T14:02:30Z"}),
    );
    let a = domain::CustomerId::parse("A").unwrap();
    let timeline = h.timeline(&a, None, None, None);
    let entries: Vec<(String, String)> = timeline
        .iter()
        .map(|e| (e.occurred_at.to_rfc3339(), e.event_type.clone()))
        .collect();
    assert_eq!(
        entries,
        [
            (
                "2026-02-05T14:02:00+00:00".to_owned(),
                "CallLogged".to_owned()
            ),
            (
                "2026-02-05T14:02:30+00:00".to_owned(),
                "PaymentPromised".to_owned()
            ),
        ]
    );
    assert_eq!(timeline[1].payload["made_on"], "2026-02-05");
}

/// Issue 14 (SPEC §7): the timeline lists reconciliations — fee reversals on their fee's date,
/// reinstated promises on the day they had been broken, releases named `reconciled` — each
/// with its position and the position of what it reverses. They were missing before.
#[test]
fn the_timeline_lists_reconciliations_with_what_they_reverse() {
    use domain::reconcile::execute;
    let mut h = History::new();
    open(&mut h, "B", "2026-01-01", "100000.00");
    issue(&mut h, "B", "J1", "1000.00", "2026-09-01");
    open(&mut h, "C", "2026-01-01", "100000.00");
    issue(&mut h, "C", "I1", "1000.00", "2026-09-01");
    h.run(
        json!({"command": "record_promise", "customer_id": "C", "promise_id": "PR1",
        "amount": "1000.00", "promised_on": "2026-09-10", "made_on": "2026-09-05",
        "invoice_ids": ["I1"], "via": "call"}),
    );
    h.tick(d("2026-11-15"));
    // Late facts, reconciled as the service does (the clock walked through 11-15).
    let late = |h: &mut History, customer: &str, json: serde_json::Value| {
        let policy = h.policy();
        let ctx = domain::Context {
            today: h.today,
            now: crate::support::decision_instant(),
            actor: "alice",
            policy: &policy,
        };
        let id = domain::CustomerId::parse(customer).unwrap();
        let events = execute(
            h.ledger.account(&id),
            &crate::support::command(json),
            &ctx,
            Some(d("2026-11-15")),
        )
        .unwrap();
        h.record(&id.stream(), events);
    };
    late(
        &mut h,
        "B",
        json!({"command": "record_payment", "customer_id": "B",
        "payment_id": "P2", "amount": "1000.00", "received_on": "2026-10-03", "method": "transfer"}),
    );
    late(
        &mut h,
        "C",
        json!({"command": "record_payment", "customer_id": "C",
        "payment_id": "P1", "amount": "1000.00", "received_on": "2026-09-11", "method": "transfer"}),
    );

    let line = |e: &projections::TimelineEntry| {
        format!(
            "{} {} @{} reverses {:?}",
            e.occurred_at.date_naive(),
            e.event_type,
            e.position,
            e.reverses
        )
    };
    let b = domain::CustomerId::parse("B").unwrap();
    let timeline: Vec<String> = h.timeline(&b, None, None, None).iter().map(line).collect();
    assert_eq!(
        timeline,
        [
            "2026-10-03 PaymentReceived @14 reverses None",
            "2026-10-06 LateFeeCharged @6 reverses None",
            "2026-10-06 LateFeeReversed @15 reverses Some(6)",
            "2026-11-01 AccountHeld @7 reverses None",
            "2026-11-01 AccountReleased @16 reverses Some(7)",
            "2026-11-05 LateFeeCharged @8 reverses None",
            "2026-11-05 LateFeeReversed @17 reverses Some(8)",
        ],
        "{timeline:#?}"
    );
    let entries = h.timeline(&b, None, None, None);
    assert_eq!(
        entries[2].summary,
        "Late fee 15.00 for J1 (period 1) reversed, the fee at position 6: payment P2 received 2026-10-03"
    );
    assert_eq!(entries[2].invoice_ids[0].as_str(), "J1");
    assert!(
        entries[4].summary.ends_with("undoing position 7"),
        "{}",
        entries[4].summary
    );

    let c = domain::CustomerId::parse("C").unwrap();
    let entries = h.timeline(&c, None, None, None);
    let reinstated = entries
        .iter()
        .find(|e| e.event_type == "PromiseReinstated")
        .unwrap_or_else(|| panic!("{:#?}", entries.iter().map(line).collect::<Vec<_>>()));
    let broken = entries
        .iter()
        .find(|e| e.event_type == "PromiseBroken")
        .unwrap();
    assert_eq!(reinstated.reverses, Some(broken.position));
    assert_eq!(reinstated.occurred_at, broken.occurred_at);
    assert_eq!(reinstated.invoice_ids[0].as_str(), "I1");
    assert!(
        reinstated
            .summary
            .starts_with("Promise PR1 reinstated from 2026-09-13"),
        "{}",
        reinstated.summary
    );
    // Reconciliations are in the timeline of a rebuild too.
    assert_eq!(h.timeline_in(&h.rebuilt(), &c, None, None, None), entries);
}
