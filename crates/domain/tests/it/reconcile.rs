//! Reconciliation (SPEC §5): late facts correct the clock's past decisions by new events, so the
//! account's automatic events net of their compensations are what one walk of the clock over the
//! facts as now known decides — whenever the ticks ran. One line of data per rule.

use domain::reconcile::{self, Span};

use crate::support::*;

/// Invoice A 1,000.00 issued 03-01, due 03-31; the clock walked through 05-15: fees on 04-05 and
/// 05-05, held (days_past_due) from 05-01 — SPEC §5's example, in the tests' calendar.
fn walked_past_due() -> Vec<Step> {
    vec![
        opened(),
        issued("A", "1000.00", "2026-03-01"),
        tick_through("2026-05-15"),
    ]
}

#[test]
fn the_clock_walked_past_due() {
    check(
        &walked_past_due()[..2],
        tick_through("2026-05-15"),
        "Ok([LateFeeCharged A 15.00 2026-04-05 #1; AccountHeld days_past_due auto 2026-05-01; LateFeeCharged A 15.00 2026-05-05 #2])",
    );
}

#[test]
fn a_back_dated_payment_reverses_each_fee_it_makes_unjustified() {
    // Issue 14's first reproduction: the payment was received before the first fee date, so
    // neither fee nor the hold was ever justified.
    check(
        &walked_past_due(),
        pay("P1", "1000.00", "2026-04-02"),
        "Ok([PaymentReceived P1 1000.00 2026-04-02 [A 1000.00 discount 0.00] unapplied 0.00; \
         LateFeeReversed A 15.00 #1 unapplied 0.00 reverses @3 (payment P1 received 2026-04-02); \
         AccountReleased reconciled auto 2026-05-01; \
         LateFeeReversed A 15.00 #2 unapplied 0.00 reverses @5 (payment P1 received 2026-04-02)])",
    );
}

#[test]
fn a_back_dated_partial_payment_re_prices_the_fee_it_halves() {
    // Half paid on 04-20: the fee of 04-05 stands, the one of 05-05 is on 500.00 of principal.
    check(
        &walked_past_due(),
        pay("P1", "500.00", "2026-04-20"),
        "Ok([PaymentReceived P1 500.00 2026-04-20 [A 500.00 discount 0.00] unapplied 0.00; \
         LateFeeReversed A 15.00 #2 unapplied 0.00 reverses @5 (payment P1 received 2026-04-20); \
         LateFeeCharged A 7.50 2026-05-05 #2])",
    );
}

#[test]
fn money_that_covered_a_reversed_fee_becomes_unapplied_cash_from_its_payment() {
    // Paid in full with the first fee on 04-10; a dispute dated 04-01 turns up later: the fee
    // was never justified, and the 15.00 that paid it is the customer's credit from 04-10.
    let given = [
        opened(),
        issued("A", "1000.00", "2026-03-01"),
        tick_through("2026-04-09"),
        pay("P1", "1015.00", "2026-04-10"),
        tick_through("2026-05-15"),
    ];
    check(
        &given,
        dispute("A", "2026-04-01"),
        "Ok([InvoiceDisputed A 2026-04-01; \
         LateFeeReversed A 15.00 #1 unapplied 15.00 from 2026-04-10 reverses @3 (invoice A disputed 2026-04-01)])",
    );
    let mut ledger = history(default_policy(), &given);
    ledger.run(&dispute("A", "2026-04-01")).unwrap();
    let account = ledger.account();
    let invoice = account
        .invoice(&domain::InvoiceId::parse("A").unwrap())
        .unwrap();
    assert_eq!(invoice.open_on(d("2026-04-09")), m("1000.00"));
    assert_eq!(invoice.open_on(d("2026-04-10")), m("0.00"));
    assert_eq!(account.unapplied_on(d("2026-04-09")), m("0"));
    assert_eq!(account.unapplied_on(d("2026-04-10")), m("15.00"));
    assert_eq!(account.exposure_on(d("2026-05-15")), m("-15.00"));
}

#[test]
fn a_back_dated_payment_reversal_adds_the_fees_it_justifies() {
    let given = [
        opened(),
        issued("A", "1000.00", "2026-03-01"),
        pay("P1", "1000.00", "2026-03-20"),
        tick_through("2026-05-15"),
    ];
    check(
        &given,
        reverse("P1", "2026-04-01"),
        "Ok([PaymentReversed P1 2026-04-01; LateFeeCharged A 15.00 2026-04-05 #1; \
         AccountHeld days_past_due auto 2026-05-01; LateFeeCharged A 15.00 2026-05-05 #2])",
    );
}

#[test]
fn a_payment_inside_a_promises_grace_reinstates_it_and_lifts_cash_only_while_other_invoices_stay_open(
) {
    // PR1 for A, promised 04-05 (grace 2: until 04-07), broken on 04-08 as the clock knew it; the
    // payment received on 04-06 shows it was kept. B stays open: the lift undoes the imposition,
    // it is not a "paid in full".
    let given = [
        opened(),
        issued("A", "1000.00", "2026-03-01"),
        issued("B", "500.00", "2026-03-10"),
        promise_for("PR1", "1000.00", "2026-04-01", "2026-04-05", &["A"]),
        tick_through("2026-04-20"),
    ];
    check(
        &given[..4],
        tick_through("2026-04-20"),
        "Ok([PromiseBroken PR1 shortfall 1000.00 2026-04-08; CashOnlyImposed broken_promise 2026-04-08; LateFeeCharged B 7.50 2026-04-14 #1])",
    );
    check(
        &given,
        pay_to("P1", "1000.00", "2026-04-06", &[("A", "1000.00")]),
        "Ok([PaymentReceived P1 1000.00 2026-04-06 [A 1000.00 discount 0.00] unapplied 0.00; \
         PromiseReinstated PR1 2026-04-08 reverses @5 (payment P1 received 2026-04-06); \
         CashOnlyLifted 2026-04-08; \
         PromiseKept PR1 2026-04-06])",
    );
}

#[test]
fn a_hold_never_justified_is_released_from_its_first_day_even_without_auto_release() {
    let no_auto_release = policy(
        "[holds]\ndays_past_due = 30\nauto_release = false\n[late_fees]\npercent = \"1.5\"\nafter_days = 5\nevery_days = 30\n",
    );
    check_with(
        &no_auto_release,
        &walked_past_due(),
        pay("P1", "1000.00", "2026-04-02"),
        "Ok([PaymentReceived P1 1000.00 2026-04-02 [A 1000.00 discount 0.00] unapplied 0.00; \
         LateFeeReversed A 15.00 #1 unapplied 0.00 reverses @3 (payment P1 received 2026-04-02); \
         AccountReleased reconciled auto 2026-05-01; \
         LateFeeReversed A 15.00 #2 unapplied 0.00 reverses @5 (payment P1 received 2026-04-02)])",
    );
}

#[test]
fn a_hold_justified_once_stays_when_auto_release_is_off() {
    // Paid on 05-10, after the hold began on 05-01: the hold was justified; with auto_release
    // off nothing releases it, and the fee of 05-05 stands too.
    let no_auto_release = policy(
        "[holds]\ndays_past_due = 30\nauto_release = false\n[late_fees]\npercent = \"1.5\"\nafter_days = 5\nevery_days = 30\n",
    );
    check_with(
        &no_auto_release,
        &walked_past_due(),
        pay("P1", "1030.00", "2026-05-10"),
        "Ok([PaymentReceived P1 1030.00 2026-05-10 [A 1030.00 discount 0.00] unapplied 0.00])",
    );
}

#[test]
fn a_tick_after_today_is_validation() {
    let ledger = history(default_policy(), &walked_past_due());
    let outcome = reconcile::tick(
        ledger.account(),
        default_policy(),
        ledger.clock,
        d("2026-06-02"),
        d("2026-06-01"),
    );
    assert_eq!(render(&outcome), "Err(VALIDATION date=2026-06-02)");
    // Through today itself it runs.
    let outcome = reconcile::tick(
        ledger.account(),
        default_policy(),
        ledger.clock,
        d("2026-06-01"),
        d("2026-06-01"),
    );
    assert_eq!(render(&outcome), "Ok([])");
}

#[test]
fn reconciliation_twice_emits_nothing() {
    let mut given = walked_past_due();
    given.push(pay("P1", "500.00", "2026-04-20"));
    given.push(dispute("A", "2026-05-03"));
    let ledger = history(default_policy(), &given);
    let account = ledger.account();
    let span = Span::new(account.opened_on, d("2026-05-15"), d("2026-05-15"));
    assert!(reconcile::reconcile(account, default_policy(), span, "again").is_empty());
    check(&given, tick_through("2026-05-15"), "Ok([])");
}

#[test]
fn ticking_daily_or_once_gives_the_same_decisions_whatever_came_late() {
    // The same facts, the clock run three ways: once after everything, daily with the payment
    // recorded late, and weekly with it recorded early. Same fees, same holds on every day.
    let facts = [opened(), issued("A", "1000.00", "2026-03-01")];
    let late_payment = pay("P1", "500.00", "2026-04-20");
    let mut once = facts.to_vec();
    once.extend([late_payment.clone(), tick_through("2026-05-31")]);
    let mut daily = facts.to_vec();
    let mut on = d("2026-03-01");
    while on <= d("2026-05-31") {
        daily.push(Step::Tick(on));
        if on == d("2026-05-10") {
            daily.push(late_payment.clone());
        }
        on = on.succ_opt().unwrap();
    }
    let mut weekly = facts.to_vec();
    weekly.push(late_payment);
    let mut on = d("2026-03-07");
    while on <= d("2026-05-31") {
        weekly.push(Step::Tick(on));
        on = on + chrono::Days::new(7);
    }
    weekly.push(tick_through("2026-05-31"));
    let decisions = |steps: &[Step]| {
        let ledger = history(default_policy(), steps);
        let a = ledger.account().clone();
        let fees: Vec<_> = a.invoices[0]
            .extras()
            .fees
            .iter()
            .filter(|f| f.reversed.is_none())
            .map(|f| (f.period, f.amount, f.charged_on))
            .collect();
        let mut holds = Vec::new();
        let mut on = d("2026-03-01");
        while on <= d("2026-05-31") {
            holds.push(a.hold_on(on).is_some());
            on = on.succ_opt().unwrap();
        }
        (fees, holds, a.exposure_on(d("2026-05-31")))
    };
    let expected = decisions(&once);
    assert_eq!(
        format!("{:?}", expected.0),
        "[(1, 15.00, 2026-04-05), (2, 7.50, 2026-05-05)]"
    );
    assert_eq!(decisions(&daily), expected);
    assert_eq!(decisions(&weekly), expected);
}

/// Issue 14, first reproduction: exposure after a payment recorded after the tick that charged
/// fees and held the account. Found by trying dunlog as a new user would.
#[test]
fn issue_14_a_customer_who_paid_on_time_is_not_held_or_charged() {
    let mut given = walked_past_due();
    given.push(pay("P2", "1000.00", "2026-04-02"));
    given.push(tick_through("2026-05-20"));
    let account = history(default_policy(), &given).account().clone();
    assert_eq!(account.exposure_on(d("2026-05-20")), m("0.00"));
    assert_eq!(account.hold_on(d("2026-05-20")), None);
    assert_eq!(account.hold_on(d("2026-05-01")), None);
}

/// Issue 14, second reproduction: the outcome depended on when the clock ran. A promise broken
/// on 03-13 (grace 2), the payment received 03-20 recorded before the first tick: cash-only from
/// 03-13 and lifted on 03-20, as with a tick on 03-19 before the payment was recorded.
#[test]
fn issue_14_the_same_facts_give_the_same_status_whenever_the_clock_ran() {
    let facts = [
        opened(),
        issued("I1", "1000.00", "2026-03-01"),
        promise_for("PR1", "1000.00", "2026-03-05", "2026-03-10", &["I1"]),
    ];
    let mut paid_first = facts.to_vec();
    paid_first.extend([
        pay("P1", "1000.00", "2026-03-20"),
        tick_through("2026-03-30"),
    ]);
    let mut ticked_first = facts.to_vec();
    ticked_first.extend([
        tick_through("2026-03-19"),
        pay("P1", "1000.00", "2026-03-20"),
        tick_through("2026-03-30"),
    ]);
    for steps in [&paid_first, &ticked_first] {
        let account = history(default_policy(), steps).account().clone();
        assert_eq!(account.exposure_on(d("2026-03-30")), m("0.00"));
        assert!(account.cash_only_on(d("2026-03-13")).is_some());
        assert_eq!(account.cash_only_on(d("2026-03-20")), None);
        assert_eq!(account.cash_only_on(d("2026-03-30")), None);
    }
}

#[test]
fn a_promise_suspends_fees_and_the_days_past_due_hold_while_it_is_active() {
    // A promise made 04-01 for 05-10 (grace 2: until 05-12): no fee on 04-05 or 05-05, no hold on
    // 05-01; it breaks on 05-13 and both resume from then.
    check(
        &[
            opened(),
            issued("A", "1000.00", "2026-03-01"),
            promise("PR1", "1000.00", "2026-04-01", "2026-05-10"),
        ],
        tick_through("2026-05-31"),
        "Ok([PromiseBroken PR1 shortfall 1000.00 2026-05-13; CashOnlyImposed broken_promise 2026-05-13; AccountHeld days_past_due auto 2026-05-13])",
    );
}

/// Issue 14: a ledger written by an older dunlog, whose `tick` accepted any date, holds
/// automatic events dated after today. The next late fact reconciles them like any other: the
/// fees and the hold it makes unjustified are compensated, those still justified stay — and
/// nothing new is dated after today (B's hold from 07-01 waits for the clock to get there).
/// Before the fix the future fees were left standing (clock mark at today) or new events dated
/// after today were added (mark where the older dunlog left it).
#[test]
fn a_late_fact_reconciles_automatic_events_an_older_dunlog_dated_after_today() {
    // TODAY is 06-01. A due 03-31, B due 05-31; the older clock walked through 07-15.
    let given = [
        opened(),
        issued("A", "1000.00", "2026-03-01"),
        issued("B", "500.00", "2026-05-01"),
    ];
    check(
        &given,
        tick_through("2026-07-15"),
        "Ok([LateFeeCharged A 15.00 2026-04-05 #1; AccountHeld days_past_due auto 2026-05-01; \
         LateFeeCharged A 15.00 2026-05-05 #2; LateFeeCharged A 15.00 2026-06-04 #3; \
         LateFeeCharged B 7.50 2026-06-05 #1; LateFeeCharged A 15.00 2026-07-04 #4; \
         LateFeeCharged B 7.50 2026-07-05 #2])",
    );
    let mut ledger = history(default_policy(), &given);
    ledger.run(&tick_through("2026-07-15")).unwrap();
    let expect =
        "Ok([PaymentReceived P1 1000.00 2026-04-02 [A 1000.00 discount 0.00] unapplied 0.00; \
         LateFeeReversed A 15.00 #1 unapplied 0.00 reverses @4 (payment P1 received 2026-04-02); \
         AccountReleased reconciled auto 2026-05-01; \
         LateFeeReversed A 15.00 #2 unapplied 0.00 reverses @6 (payment P1 received 2026-04-02); \
         LateFeeReversed A 15.00 #3 unapplied 0.00 reverses @7 (payment P1 received 2026-04-02); \
         LateFeeReversed A 15.00 #4 unapplied 0.00 reverses @9 (payment P1 received 2026-04-02)])";
    let late_payment = pay_to("P1", "1000.00", "2026-04-02", &[("A", "1000.00")]);
    // The clock mark as the older dunlog left it (07-15), and as a restored ledger ticked
    // through today has it (06-01): the same compensations.
    for mark in ["2026-07-15", TODAY] {
        ledger.clock = Some(d(mark));
        assert_eq!(render(&ledger.peek(&late_payment)), expect, "mark {mark}");
    }
    // A second late fact re-prices B's fees dated after today: they are reversed, and charged
    // at the new amount only by the clock on their day, never ahead of today.
    ledger.run(&late_payment).unwrap();
    let part = pay_to("P2", "10.00", "2026-05-20", &[("B", "10.00")]);
    assert_eq!(
        render(&ledger.peek(&part)),
        "Ok([PaymentReceived P2 10.00 2026-05-20 [B 10.00 discount 0.00] unapplied 0.00; \
         LateFeeReversed B 7.50 #1 unapplied 0.00 reverses @8 (payment P2 received 2026-05-20); \
         LateFeeReversed B 7.50 #2 unapplied 0.00 reverses @10 (payment P2 received 2026-05-20)])"
    );
    ledger.run(&part).unwrap();
    ledger.clock = Some(d(TODAY));
    assert_eq!(
        render(&ledger.peek(&tick_through("2026-06-10"))),
        "Ok([LateFeeCharged B 7.35 2026-06-05 #1])"
    );
}
