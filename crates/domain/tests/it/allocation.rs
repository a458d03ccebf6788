//! Payment allocation (SPEC §4): oldest first, the early-payment discount, reversals, unapplied
//! cash, and what a payment completes (promises kept, cash-only lifted).

use crate::support::*;

fn discounted() -> Step {
    opened_with(terms_2_10_net_30(), "1000000.00")
}

#[test]
fn payment_is_allocated_oldest_due_first() {
    check(
        &[
            opened(),
            issued_due("B", "100.00", "2026-03-01", "2026-04-15"),
            issued_due("A", "100.00", "2026-03-05", "2026-04-01"),
        ],
        pay("P1", "150.00", "2026-03-20"),
        "Ok([PaymentReceived P1 150.00 2026-03-20 [A 100.00 discount 0.00, B 50.00 discount 0.00] unapplied 0.00])",
    );
}

#[test]
fn same_due_date_is_allocated_by_issue_date_then_id() {
    check(
        &[
            opened(),
            issued_due("B2", "10.00", "2026-03-02", "2026-04-01"),
            issued_due("B1", "10.00", "2026-03-02", "2026-04-01"),
            issued_due("Z", "10.00", "2026-03-01", "2026-04-01"),
        ],
        pay("P1", "25.00", "2026-03-20"),
        "Ok([PaymentReceived P1 25.00 2026-03-20 [Z 10.00 discount 0.00, B1 10.00 discount 0.00, B2 5.00 discount 0.00] unapplied 0.00])",
    );
}

#[test]
fn oldest_first_includes_disputed_invoices() {
    check(
        &[
            opened(),
            issued("A", "100.00", "2026-03-01"),
            dispute("A", "2026-03-05"),
        ],
        pay("P1", "40.00", "2026-03-20"),
        "Ok([PaymentReceived P1 40.00 2026-03-20 [A 40.00 discount 0.00] unapplied 0.00])",
    );
}

#[test]
fn oldest_first_skips_invoices_issued_after_the_payment() {
    check(
        &[
            opened(),
            issued("A", "100.00", "2026-03-01"),
            issued("B", "100.00", "2026-03-25"),
        ],
        pay("P1", "150.00", "2026-03-20"),
        "Ok([PaymentReceived P1 150.00 2026-03-20 [A 100.00 discount 0.00] unapplied 50.00])",
    );
}

#[test]
fn money_left_after_every_invoice_is_unapplied() {
    check(
        &[opened()],
        pay("P1", "10.00", "2026-03-20"),
        "Ok([PaymentReceived P1 10.00 2026-03-20 [] unapplied 10.00])",
    );
}

#[test]
fn discount_settles_the_invoice_within_the_discount_days() {
    check(
        &[discounted(), issued("A", "1000.00", "2026-03-01")],
        pay("P1", "980.00", "2026-03-11"),
        "Ok([PaymentReceived P1 980.00 2026-03-11 [A 980.00 discount 20.00] unapplied 0.00])",
    );
}

#[test]
fn discount_is_lost_one_day_late() {
    check(
        &[discounted(), issued("A", "1000.00", "2026-03-01")],
        pay("P1", "980.00", "2026-03-12"),
        "Ok([PaymentReceived P1 980.00 2026-03-12 [A 980.00 discount 0.00] unapplied 0.00])",
    );
}

#[test]
fn discount_needs_the_rest_of_the_invoice_paid() {
    check(
        &[discounted(), issued("A", "1000.00", "2026-03-01")],
        pay("P1", "979.99", "2026-03-05"),
        "Ok([PaymentReceived P1 979.99 2026-03-05 [A 979.99 discount 0.00] unapplied 0.00])",
    );
}

#[test]
fn discount_is_rounded_to_minor_units_away_from_zero() {
    // 2% of 10.25 = 0.205 → 0.21.
    check(
        &[discounted(), issued("A", "10.25", "2026-03-01")],
        pay("P1", "10.04", "2026-03-05"),
        "Ok([PaymentReceived P1 10.04 2026-03-05 [A 10.04 discount 0.21] unapplied 0.00])",
    );
}

#[test]
fn discount_is_capped_at_what_is_available() {
    check(
        &[
            discounted(),
            issued("A", "1000.00", "2026-03-01"),
            credit_note("CN1", "A", "990.00", "2026-03-02"),
        ],
        pay("P1", "5.00", "2026-03-05"),
        "Ok([PaymentReceived P1 5.00 2026-03-05 [A 0.00 discount 10.00] unapplied 5.00])",
    );
}

#[test]
fn explicit_allocations_get_no_discount() {
    check(
        &[discounted(), issued("A", "1000.00", "2026-03-01")],
        pay_to("P1", "980.00", "2026-03-05", &[("A", "980.00")]),
        "Ok([PaymentReceived P1 980.00 2026-03-05 [A 980.00 discount 0.00] unapplied 0.00])",
    );
}

#[test]
fn reversed_payment_is_undone_from_its_reversal_date() {
    let account = account_after(&[
        opened(),
        issued("A", "1000.00", "2026-03-01"),
        pay("P1", "600.00", "2026-03-10"),
        reverse("P1", "2026-03-20"),
    ]);
    let a = account
        .invoice(&domain::InvoiceId::parse("A").unwrap())
        .unwrap();
    assert_eq!(a.open_on(d("2026-03-09")), m("1000.00"));
    assert_eq!(a.open_on(d("2026-03-19")), m("400.00"));
    assert_eq!(a.open_on(d("2026-03-20")), m("1000.00"));
}

#[test]
fn reversed_payment_takes_its_unapplied_cash_back() {
    let account = account_after(&[
        opened(),
        pay("P1", "600.00", "2026-03-10"),
        reverse("P1", "2026-03-20"),
    ]);
    assert_eq!(account.unapplied_on(d("2026-03-19")), m("600.00"));
    assert_eq!(account.unapplied_on(d("2026-03-20")), m("0"));
}

#[test]
fn payment_keeps_the_promise_it_completes() {
    check(
        &[opened(), issued("A", "1000.00", "2026-03-01"), promise("PR1", "500.00", "2026-04-01", "2026-04-10"), pay("P1", "200.00", "2026-04-02")],
        pay("P2", "300.00", "2026-04-12"),
        "Ok([PaymentReceived P2 300.00 2026-04-12 [A 300.00 discount 0.00] unapplied 0.00; PromiseKept PR1 2026-04-12])",
    );
}

#[test]
fn payment_before_the_promise_was_made_does_not_keep_it() {
    check(
        &[
            opened(),
            issued("A", "1000.00", "2026-03-01"),
            pay("P1", "500.00", "2026-03-30"),
        ],
        promise("PR1", "500.00", "2026-04-01", "2026-04-10"),
        "Ok([PaymentPromised])",
    );
}

#[test]
fn promises_are_kept_oldest_first() {
    check(
        &[
            opened(),
            issued("A", "1000.00", "2026-03-01"),
            promise("PR2", "100.00", "2026-04-02", "2026-04-10"),
            promise("PR1", "100.00", "2026-04-01", "2026-04-20"),
        ],
        pay("P1", "100.00", "2026-04-05"),
        "Ok([PaymentReceived P1 100.00 2026-04-05 [A 100.00 discount 0.00] unapplied 0.00; PromiseKept PR1 2026-04-05])",
    );
}

#[test]
fn cash_only_lifted_when_the_balance_reaches_zero() {
    let given = [
        opened(),
        issued("A", "1000.00", "2026-03-01"),
        promise("PR1", "1000.00", "2026-04-01", "2026-04-05"),
        // The clock has walked through yesterday (TODAY is 2026-06-01): the lift follows the
        // command, effective the day the balance reached zero.
        tick_through("2026-05-31"),
    ];
    let cash_only = policy("[promises]\ngrace_days = 2\non_broken = \"cash_only\"\n");
    check_with(
        &cash_only,
        &given,
        pay("P1", "999.99", "2026-04-09"),
        "Ok([PaymentReceived P1 999.99 2026-04-09 [A 999.99 discount 0.00] unapplied 0.00])",
    );
    check_with(
        &cash_only,
        &given,
        pay("P1", "1000.00", "2026-04-09"),
        "Ok([PaymentReceived P1 1000.00 2026-04-09 [A 1000.00 discount 0.00] unapplied 0.00; CashOnlyLifted 2026-04-09])",
    );
}

#[test]
fn cash_only_lift_waits_for_the_tick_when_the_clock_is_behind() {
    let cash_only = policy("[promises]\ngrace_days = 2\non_broken = \"cash_only\"\n");
    let given = [
        opened(),
        issued("A", "1000.00", "2026-03-01"),
        promise("PR1", "1000.00", "2026-04-01", "2026-04-05"),
        tick_through("2026-04-08"),
        pay("P1", "1000.00", "2026-04-09"),
    ];
    check_with(
        &cash_only,
        &given[..4],
        given[4].clone(),
        "Ok([PaymentReceived P1 1000.00 2026-04-09 [A 1000.00 discount 0.00] unapplied 0.00])",
    );
    check_with(
        &cash_only,
        &given,
        tick_through("2026-04-30"),
        "Ok([CashOnlyLifted 2026-04-09])",
    );
}

#[test]
fn cash_only_lifted_by_a_credit_note_that_clears_the_balance() {
    check_with(
        &policy("[promises]\ngrace_days = 2\non_broken = \"cash_only\"\n"),
        &[
            opened(),
            issued("A", "1000.00", "2026-03-01"),
            promise("PR1", "1000.00", "2026-04-01", "2026-04-05"),
            tick_through("2026-05-31"),
        ],
        credit_note("CN1", "A", "1000.00", "2026-04-09"),
        "Ok([CreditNoteIssued CN1 A 1000.00 2026-04-09; CashOnlyLifted 2026-04-09])",
    );
}

#[test]
fn broken_promise_hold_is_released_when_paid_in_full() {
    let hold_policy = policy("[promises]\ngrace_days = 2\non_broken = \"hold\"\n");
    check_with(
        &hold_policy,
        &[
            opened(),
            issued("A", "1000.00", "2026-03-01"),
            promise("PR1", "1000.00", "2026-04-01", "2026-04-05"),
            tick_through("2026-05-31"),
        ],
        pay("P1", "1000.00", "2026-04-09"),
        "Ok([PaymentReceived P1 1000.00 2026-04-09 [A 1000.00 discount 0.00] unapplied 0.00; AccountReleased paid_in_full auto 2026-04-09])",
    );
}

/// Scenario 02 of ../shared/scenarios, through the domain alone (written off before these
/// tests' today rather than on 2026-08-01: no fact may be dated after today).
#[test]
fn scenario_discounts_and_corrections() {
    let mut ledger = Ledger::new(default_policy());
    let steps = [
        (opened_with(terms_2_10_net_30(), "50000"), "Ok([AccountOpened])"),
        (issued_due("A", "10000.00", "2026-03-01", "2026-03-31"), "Ok([InvoiceIssued A 10000.00 2026-03-01..2026-03-31])"),
        (issued_due("B", "5000.00", "2026-03-02", "2026-04-01"), "Ok([InvoiceIssued B 5000.00 2026-03-02..2026-04-01])"),
        (pay("P1", "9800.00", "2026-03-11"), "Ok([PaymentReceived P1 9800.00 2026-03-11 [A 9800.00 discount 200.00] unapplied 0.00])"),
        (pay("P2", "4900.00", "2026-03-13"), "Ok([PaymentReceived P2 4900.00 2026-03-13 [B 4900.00 discount 0.00] unapplied 0.00])"),
        (credit_note("CN1", "B", "100.00", "2026-03-20"), "Ok([CreditNoteIssued CN1 B 100.00 2026-03-20])"),
        (credit_note("CN2", "A", "1.00", "2026-03-20"), "Err(VALIDATION AmountExceedsAvailable A available 0.00 requested 1.00)"),
        (issued_due("C", "3000.00", "2026-04-01", "2026-05-01"), "Ok([InvoiceIssued C 3000.00 2026-04-01..2026-05-01])"),
        (pay("P3", "4000.00", "2026-04-05"), "Ok([PaymentReceived P3 4000.00 2026-04-05 [C 2940.00 discount 60.00] unapplied 1060.00])"),
        (reverse("P3", "2026-04-12"), "Ok([PaymentReversed P3 2026-04-12])"),
        (dispute("C", "2026-04-15"), "Ok([InvoiceDisputed C 2026-04-15])"),
        (pay_to("P4", "200.00", "2026-03-05", &[("C", "200.00")]), "Err(VALIDATION allocations.invoice_id=C)"),
        (write_off("C", "2026-05-20"), "Ok([InvoiceWrittenOff C 3000.00 2026-05-20])"),
    ];
    for (step, expect) in steps {
        assert_eq!(render(&ledger.run(&step)), expect, "{step:?}");
    }
    let account = ledger.account();
    assert_eq!(account.exposure_on(d("2026-03-15")), m("100.00"));
    assert_eq!(account.unapplied_on(d("2026-04-10")), m("1060.00"));
    assert_eq!(account.exposure_on(d("2026-04-10")), m("-1060.00"));
    assert_eq!(account.exposure_on(d("2026-05-19")), m("3000.00"));
    assert_eq!(account.exposure_on(d("2026-05-20")), m("0"));
}
