//! Every command's rejections, one test per rule (SPEC §4), named after the rule it proves.

use domain::command::OpenAccount;
use domain::event::Terms;
use domain::Command;

use crate::support::*;

fn open(currency: &str, credit_limit: &str, name: &str, terms: Terms) -> Step {
    Command::OpenAccount(OpenAccount {
        customer_id: domain::CustomerId::parse(CUSTOMER).unwrap(),
        name: name.to_owned(),
        currency: currency.to_owned(),
        credit_limit: m(credit_limit),
        terms,
        opened_on: d("2026-01-01"),
        contacts: Default::default(),
        sales_rep: None,
    })
    .into()
}

fn a() -> Step {
    issued_due("A", "1000.00", "2026-03-01", "2026-03-31")
}

// ---- Accounts ----------------------------------------------------------------------------------

#[test]
fn account_opens_once() {
    check(&[opened()], opened(), "Err(CONFLICT customer_id=C)");
}

#[test]
fn account_currency_is_an_iso_code() {
    check(
        &[],
        open("eur", "10.00", "X", net(30)),
        "Err(VALIDATION currency=eur)",
    );
}

#[test]
fn account_credit_limit_is_not_negative() {
    check(
        &[],
        open("EUR", "-1.00", "X", net(30)),
        "Err(VALIDATION credit_limit=-1.00)",
    );
}

#[test]
fn account_credit_limit_has_the_currency_minor_units() {
    check(
        &[],
        open("JPY", "10.5", "X", net(30)),
        "Err(VALIDATION credit_limit=10.5)",
    );
}

#[test]
fn account_name_is_required() {
    check(
        &[],
        open("EUR", "10.00", " ", net(30)),
        "Err(VALIDATION name= )",
    );
}

#[test]
fn discount_needs_both_percent_and_days() {
    let terms = Terms {
        discount_days: None,
        ..terms_2_10_net_30()
    };
    check(
        &[],
        open("EUR", "10.00", "X", terms),
        "Err(VALIDATION terms.discount_days=none (discount_percent = 2))",
    );
}

#[test]
fn commands_on_an_unknown_account_are_not_found() {
    check(
        &[],
        issued("A", "1.00", "2026-03-01"),
        "Err(NOT_FOUND customer_id=C)",
    );
    check(
        &[],
        pay("P1", "1.00", "2026-03-01"),
        "Err(NOT_FOUND customer_id=C)",
    );
}

#[test]
fn credit_limit_may_not_be_negative() {
    check(
        &[opened()],
        change_limit("-0.01"),
        "Err(VALIDATION new_limit=-0.01)",
    );
}

#[test]
fn credit_limit_may_be_zero() {
    check(&[opened()], change_limit("0"), "Ok([CreditLimitChanged])");
}

#[test]
fn discount_percent_is_below_100() {
    let terms = Terms {
        discount_percent: Some(m("100")),
        ..terms_2_10_net_30()
    };
    check(
        &[opened()],
        change_terms(terms),
        "Err(VALIDATION terms.discount_percent=100)",
    );
}

#[test]
fn contact_emails_are_addresses() {
    check(
        &[opened()],
        update_contacts(&["nobody"]),
        "Err(VALIDATION contacts.emails=nobody)",
    );
}

#[test]
fn contact_verification_names_who_checked() {
    check(
        &[opened()],
        verify_contacts(Some("")),
        "Err(VALIDATION by=)",
    );
    check(
        &[opened()],
        verify_contacts(None),
        "Ok([ContactDetailsVerified])",
    );
}

#[test]
fn sales_rep_is_named() {
    check(&[opened()], assign_rep(" "), "Err(VALIDATION sales_rep= )");
}

// ---- Invoices ----------------------------------------------------------------------------------

#[test]
fn invoice_due_date_defaults_to_the_terms() {
    check(
        &[opened()],
        issued("A", "1000.00", "2026-03-01"),
        "Ok([InvoiceIssued A 1000.00 2026-03-01..2026-03-31])",
    );
}

#[test]
fn invoice_amount_is_positive() {
    check(
        &[opened()],
        issued("A", "0.00", "2026-03-01"),
        "Err(VALIDATION amount=0.00)",
    );
    check(
        &[opened()],
        issued("A", "-5.00", "2026-03-01"),
        "Err(VALIDATION amount=-5.00)",
    );
}

#[test]
fn invoice_amount_has_the_currency_minor_units() {
    check(
        &[opened()],
        issued("A", "5.001", "2026-03-01"),
        "Err(VALIDATION amount=5.001)",
    );
}

#[test]
fn invoice_is_not_due_before_it_is_issued() {
    check(
        &[opened()],
        issued_due("A", "5.00", "2026-05-20", "2026-05-17"),
        "Err(VALIDATION due_on=2026-05-17)",
    );
}

#[test]
fn invoice_id_is_unique_in_the_account() {
    check(
        &[opened(), a()],
        issued("A", "5.00", "2026-03-02"),
        "Err(CONFLICT invoice_id=A)",
    );
}

#[test]
fn held_account_gets_no_invoice_without_override() {
    check(
        &[opened(), hold("2026-03-01")],
        issued("B", "5.00", "2026-03-02"),
        "Err(INVALID_STATE customer_id=C)",
    );
}

#[test]
fn held_account_gets_an_invoice_with_override_reason() {
    check(
        &[opened(), hold("2026-03-01")],
        issue("B", "5.00", "2026-03-02", None, Some("prepaid")),
        "Ok([InvoiceIssued B 5.00 2026-03-02..2026-04-01 override \"prepaid\"])",
    );
}

#[test]
fn hold_does_not_block_invoices_dated_before_it() {
    check(
        &[opened(), hold("2026-03-01")],
        issued("B", "5.00", "2026-02-28"),
        "Ok([InvoiceIssued B 5.00 2026-02-28..2026-03-30])",
    );
}

#[test]
fn cash_only_account_gets_no_invoice_without_override() {
    check(
        &[
            opened(),
            a(),
            promise("PR1", "100.00", "2026-04-01", "2026-04-05"),
            tick_through("2026-04-08"),
        ],
        issued("B", "5.00", "2026-04-09"),
        "Err(INVALID_STATE customer_id=C)",
    );
}

#[test]
fn delivery_is_confirmed_once() {
    check(
        &[opened(), a(), deliver("A", "2026-03-02")],
        deliver("A", "2026-03-03"),
        "Err(INVALID_STATE invoice_id=A)",
    );
}

#[test]
fn delivery_is_not_confirmed_before_the_invoice() {
    check(
        &[opened(), a()],
        deliver("A", "2026-02-28"),
        "Err(VALIDATION confirmed_on=2026-02-28)",
    );
}

#[test]
fn delivery_of_an_unknown_invoice_is_not_found() {
    check(
        &[opened()],
        deliver("A", "2026-03-02"),
        "Err(NOT_FOUND invoice_id=A)",
    );
}

#[test]
fn dispute_needs_an_open_invoice() {
    check(
        &[opened(), a(), pay("P1", "1000.00", "2026-03-10")],
        dispute("A", "2026-03-15"),
        "Err(INVALID_STATE invoice_id=A)",
    );
}

#[test]
fn dispute_is_raised_once() {
    check(
        &[opened(), a(), dispute("A", "2026-03-05")],
        dispute("A", "2026-03-06"),
        "Err(INVALID_STATE invoice_id=A)",
    );
}

#[test]
fn dispute_is_not_raised_before_the_invoice() {
    check(
        &[opened(), a()],
        dispute("A", "2026-02-01"),
        "Err(VALIDATION disputed_on=2026-02-01)",
    );
}

#[test]
fn dispute_on_an_unknown_invoice_is_not_found() {
    check(
        &[opened()],
        dispute("Z", "2026-03-05"),
        "Err(NOT_FOUND invoice_id=Z)",
    );
}

#[test]
fn dispute_may_be_raised_again_after_it_is_resolved() {
    check(
        &[
            opened(),
            a(),
            dispute("A", "2026-03-05"),
            resolve("A", "2026-03-10"),
        ],
        dispute("A", "2026-03-12"),
        "Ok([InvoiceDisputed A 2026-03-12])",
    );
}

#[test]
fn only_a_disputed_invoice_is_resolved() {
    check(
        &[opened(), a()],
        resolve("A", "2026-03-05"),
        "Err(INVALID_STATE invoice_id=A)",
    );
}

#[test]
fn dispute_is_not_resolved_before_it_was_raised() {
    check(
        &[opened(), a(), dispute("A", "2026-03-05")],
        resolve("A", "2026-03-04"),
        "Err(VALIDATION resolved_on=2026-03-04)",
    );
}

#[test]
fn credit_note_cannot_exceed_available() {
    check(
        &[opened(), a()],
        credit_note("CN1", "A", "1000.01", "2026-03-02"),
        "Err(VALIDATION AmountExceedsAvailable A available 1000.00 requested 1000.01)",
    );
}

#[test]
fn credit_note_may_take_all_that_is_available() {
    check(
        &[opened(), a()],
        credit_note("CN1", "A", "1000.00", "2026-03-02"),
        "Ok([CreditNoteIssued CN1 A 1000.00 2026-03-02])",
    );
}

#[test]
fn credit_note_amount_is_positive() {
    check(
        &[opened(), a()],
        credit_note("CN1", "A", "0", "2026-03-02"),
        "Err(VALIDATION amount=0)",
    );
}

#[test]
fn credit_note_is_not_dated_before_the_invoice() {
    check(
        &[opened(), a()],
        credit_note("CN1", "A", "1.00", "2026-02-28"),
        "Err(VALIDATION issued_on=2026-02-28)",
    );
}

#[test]
fn credit_note_id_is_unique_in_the_account() {
    check(
        &[opened(), a(), credit_note("CN1", "A", "1.00", "2026-03-02")],
        credit_note("CN1", "A", "1.00", "2026-03-03"),
        "Err(CONFLICT credit_note_id=CN1)",
    );
}

#[test]
fn credit_note_on_an_unknown_invoice_is_not_found() {
    check(
        &[opened()],
        credit_note("CN1", "Z", "1.00", "2026-03-02"),
        "Err(NOT_FOUND invoice_id=Z)",
    );
}

#[test]
fn backdated_credit_note_may_not_drive_invoice_negative_later() {
    // Open is 1000 on 03-05 but only 400 from 03-10, when a payment took 600.
    check(
        &[
            opened(),
            a(),
            pay_to("P1", "600.00", "2026-03-10", &[("A", "600.00")]),
        ],
        credit_note("CN1", "A", "400.01", "2026-03-05"),
        "Err(VALIDATION AmountExceedsAvailable A available 400.00 requested 400.01)",
    );
}

#[test]
fn backdated_credit_note_counts_a_later_reversal() {
    // The payment of 03-10 is undone on 03-20, so from then the open amount is back to 1000:
    // the lowest point after 03-05 is still the 400 of 03-10..03-19.
    check(
        &[
            opened(),
            a(),
            pay_to("P1", "600.00", "2026-03-10", &[("A", "600.00")]),
            reverse("P1", "2026-03-20"),
        ],
        credit_note("CN1", "A", "400.00", "2026-03-05"),
        "Ok([CreditNoteIssued CN1 A 400.00 2026-03-05])",
    );
}

#[test]
fn write_off_takes_what_is_available_on_its_date() {
    check(
        &[opened(), a(), pay("P1", "250.00", "2026-03-10")],
        write_off("A", "2026-04-01"),
        "Ok([InvoiceWrittenOff A 750.00 2026-04-01])",
    );
}

#[test]
fn write_off_needs_something_open() {
    check(
        &[opened(), a(), pay("P1", "1000.00", "2026-03-10")],
        write_off("A", "2026-04-01"),
        "Err(INVALID_STATE invoice_id=A)",
    );
}

#[test]
fn write_off_is_not_dated_before_the_invoice() {
    check(
        &[opened(), a()],
        write_off("A", "2026-02-01"),
        "Err(VALIDATION written_off_on=2026-02-01)",
    );
}

#[test]
fn write_off_of_an_unknown_invoice_is_not_found() {
    check(
        &[opened()],
        write_off("Z", "2026-04-01"),
        "Err(NOT_FOUND invoice_id=Z)",
    );
}

// ---- Cash --------------------------------------------------------------------------------------

#[test]
fn payment_amount_is_positive() {
    check(
        &[opened(), a()],
        pay("P1", "0.00", "2026-03-10"),
        "Err(VALIDATION amount=0.00)",
    );
}

#[test]
fn payment_id_is_unique_in_the_account() {
    check(
        &[opened(), a(), pay("P1", "1.00", "2026-03-10")],
        pay("P1", "1.00", "2026-03-10"),
        "Err(CONFLICT payment_id=P1)",
    );
}

#[test]
fn payment_cannot_go_to_invoice_issued_after_it() {
    check(
        &[opened(), a()],
        pay_to("P1", "200.00", "2026-02-28", &[("A", "200.00")]),
        "Err(VALIDATION allocations.invoice_id=A)",
    );
}

#[test]
fn payment_allocation_cannot_exceed_available() {
    check(
        &[opened(), a()],
        pay_to("P1", "2000.00", "2026-03-10", &[("A", "1000.01")]),
        "Err(VALIDATION AllocationExceedsAvailable A available 1000.00 requested 1000.01)",
    );
}

#[test]
fn payment_allocations_cannot_exceed_the_payment() {
    check(
        &[opened(), a(), issued("B", "1000.00", "2026-03-01")],
        pay_to(
            "P1",
            "100.00",
            "2026-03-10",
            &[("A", "60.00"), ("B", "60.00")],
        ),
        "Err(VALIDATION AllocationsExceedPayment allocated 120.00 amount 100.00)",
    );
}

#[test]
fn payment_allocation_names_an_invoice_once() {
    check(
        &[opened(), a()],
        pay_to(
            "P1",
            "100.00",
            "2026-03-10",
            &[("A", "10.00"), ("A", "10.00")],
        ),
        "Err(VALIDATION allocations.invoice_id=A)",
    );
}

#[test]
fn payment_allocation_to_an_unknown_invoice_is_not_found() {
    check(
        &[opened()],
        pay_to("P1", "100.00", "2026-03-10", &[("Z", "10.00")]),
        "Err(NOT_FOUND invoice_id=Z)",
    );
}

#[test]
fn payment_allocation_amount_is_positive() {
    check(
        &[opened(), a()],
        pay_to("P1", "100.00", "2026-03-10", &[("A", "0")]),
        "Err(VALIDATION allocations.amount=0)",
    );
}

#[test]
fn payment_remainder_after_explicit_allocations_is_unapplied() {
    check(
        &[opened(), a()],
        pay_to("P1", "100.00", "2026-03-10", &[("A", "40.00")]),
        "Ok([PaymentReceived P1 100.00 2026-03-10 [A 40.00 discount 0.00] unapplied 60.00])",
    );
}

#[test]
fn backdated_payment_may_not_drive_invoice_negative_later() {
    check(
        &[
            opened(),
            a(),
            credit_note("CN1", "A", "900.00", "2026-03-20"),
        ],
        pay_to("P1", "200.00", "2026-03-10", &[("A", "200.00")]),
        "Err(VALIDATION AllocationExceedsAvailable A available 100.00 requested 200.00)",
    );
}

#[test]
fn reversal_of_an_unknown_payment_is_not_found() {
    check(
        &[opened()],
        reverse("P404", "2026-03-10"),
        "Err(NOT_FOUND payment_id=P404)",
    );
}

#[test]
fn payment_is_not_reversed_before_it_was_received() {
    check(
        &[opened(), a(), pay("P1", "300.00", "2026-03-10")],
        reverse("P1", "2026-03-09"),
        "Err(VALIDATION reversed_on=2026-03-09)",
    );
}

#[test]
fn payment_is_reversed_once() {
    check(
        &[
            opened(),
            a(),
            pay("P1", "300.00", "2026-03-10"),
            reverse("P1", "2026-03-12"),
        ],
        reverse("P1", "2026-03-13"),
        "Err(INVALID_STATE payment_id=P1)",
    );
}

#[test]
fn payment_whose_unapplied_cash_was_applied_cannot_be_reversed() {
    check(
        &[
            opened(),
            pay("P1", "300.00", "2026-03-10"),
            a(),
            apply(&[("A", "100.00")], "2026-03-15"),
        ],
        reverse("P1", "2026-03-12"),
        "Err(INVALID_STATE payment_id=P1)",
    );
}

#[test]
fn unapplied_cash_application_is_not_empty() {
    check(
        &[opened(), a()],
        apply(&[], "2026-03-15"),
        "Err(VALIDATION allocations=[])",
    );
}

#[test]
fn unapplied_cash_application_cannot_exceed_unapplied() {
    check(
        &[opened(), pay("P1", "300.00", "2026-03-10"), a()],
        apply(&[("A", "300.01")], "2026-03-15"),
        "Err(VALIDATION ExceedsUnappliedCash available 300.00 requested 300.01)",
    );
}

#[test]
fn unapplied_cash_is_not_applied_before_it_arrives() {
    check(
        &[opened(), a(), pay_to("P1", "300.00", "2026-03-10", &[])],
        apply(&[("A", "100.00")], "2026-03-09"),
        "Err(VALIDATION ExceedsUnappliedCash available 0 requested 100.00)",
    );
}

#[test]
fn unapplied_cash_application_cannot_exceed_the_invoice() {
    check(
        &[opened(), pay("P1", "3000.00", "2026-03-10"), a()],
        apply(&[("A", "1000.01")], "2026-03-15"),
        "Err(VALIDATION AllocationExceedsAvailable A available 1000.00 requested 1000.01)",
    );
}

#[test]
fn unapplied_cash_to_an_unknown_invoice_is_not_found() {
    check(
        &[opened(), pay("P1", "300.00", "2026-03-10")],
        apply(&[("Z", "1.00")], "2026-03-15"),
        "Err(NOT_FOUND invoice_id=Z)",
    );
}

#[test]
fn unapplied_cash_is_applied() {
    check(
        &[opened(), pay("P1", "300.00", "2026-03-10"), a()],
        apply(&[("A", "300.00")], "2026-03-15"),
        "Ok([UnappliedCashApplied [A 300.00] 2026-03-15])",
    );
}

// ---- Contacts ----------------------------------------------------------------------------------

#[test]
fn contact_names_invoices_of_the_account() {
    check(
        &[opened()],
        reminder(&["Z"], None, "2026-06-01T09:00:00Z"),
        "Err(NOT_FOUND invoice_ids=Z)",
    );
    check(
        &[opened()],
        call(&["Z"], "no answer", "2026-06-01T09:00:00Z"),
        "Err(NOT_FOUND invoice_ids=Z)",
    );
    check(
        &[opened()],
        notify_rep(&["Z"], Some("Ola")),
        "Err(NOT_FOUND invoice_ids=Z)",
    );
}

/// SPEC §2: a contact is a fact, and no fact may be dated after today (the ledger's today is
/// 2026-06-01 in these tests, the instant 12:00 that day).
#[test]
fn contact_is_not_after_today() {
    check(
        &[opened(), a()],
        reminder(&["A"], None, "2026-06-01T23:59:59Z"),
        "Ok([ReminderSent])",
    );
    check(
        &[opened(), a()],
        reminder(&["A"], None, "2026-06-02T00:00:00Z"),
        "Err(VALIDATION sent_at=2026-06-02T00:00:00+00:00)",
    );
}

#[test]
fn contact_step_is_a_step_of_the_ladder() {
    check(
        &[opened(), a()],
        reminder(&["A"], Some("overdue_reminder"), "2026-06-01T09:00:00Z"),
        "Ok([ReminderSent])",
    );
    check(
        &[opened(), a()],
        reminder(&["A"], Some("shout"), "2026-06-01T09:00:00Z"),
        "Err(VALIDATION step=shout)",
    );
}

#[test]
fn call_has_an_outcome() {
    check(
        &[opened(), a()],
        call(&["A"], "", "2026-06-01T09:00:00Z"),
        "Err(VALIDATION outcome=)",
    );
}

#[test]
fn sales_rep_notification_needs_a_sales_rep() {
    check(
        &[opened(), a()],
        notify_rep(&["A"], None),
        "Err(VALIDATION sales_rep=)",
    );
    check(
        &[opened(), a(), assign_rep("Ola")],
        notify_rep(&["A"], None),
        "Ok([SalesRepNotified])",
    );
}

#[test]
fn escalation_names_invoices_of_the_account() {
    check(
        &[opened()],
        escalate(&["Z"]),
        "Err(NOT_FOUND invoice_ids=Z)",
    );
    check(&[opened(), a()], escalate(&["A"]), "Ok([Escalated])");
}

// ---- Promises ----------------------------------------------------------------------------------

#[test]
fn promise_amount_is_positive() {
    check(
        &[opened(), a()],
        promise("PR1", "0", "2026-04-01", "2026-04-05"),
        "Err(VALIDATION amount=0)",
    );
}

#[test]
fn promise_is_not_for_a_date_before_it_was_made() {
    check(
        &[opened(), a()],
        promise("PR1", "1.00", "2026-04-01", "2026-03-31"),
        "Err(VALIDATION promised_on=2026-03-31)",
    );
}

#[test]
fn promise_id_is_unique_in_the_account() {
    check(
        &[
            opened(),
            a(),
            promise("PR1", "1.00", "2026-04-01", "2026-04-05"),
        ],
        promise("PR1", "1.00", "2026-04-01", "2026-04-05"),
        "Err(CONFLICT promise_id=PR1)",
    );
}

#[test]
fn promise_names_invoices_of_the_account() {
    check(
        &[opened()],
        promise_for("PR1", "1.00", "2026-04-01", "2026-04-05", &["Z"]),
        "Err(NOT_FOUND invoice_ids=Z)",
    );
}

#[test]
fn promise_names_open_invoices() {
    check(
        &[opened(), a(), pay("P1", "1000.00", "2026-03-10")],
        promise_for("PR1", "1.00", "2026-04-01", "2026-04-05", &["A"]),
        "Err(INVALID_STATE invoice_ids=A)",
    );
}

#[test]
fn promise_already_covered_by_payments_is_kept_at_once() {
    check(
        &[opened(), a(), pay("P1", "100.00", "2026-04-02")],
        promise("PR1", "100.00", "2026-04-01", "2026-04-05"),
        "Ok([PaymentPromised; PromiseKept PR1 2026-04-02])",
    );
}

#[test]
fn payment_plan_has_an_installment() {
    check(
        &[opened(), a()],
        plan("PL1", "2026-04-01", &[]),
        "Err(VALIDATION installments=0)",
    );
}

#[test]
fn payment_plan_dates_strictly_increase() {
    check(
        &[opened(), a()],
        plan(
            "PL1",
            "2026-04-01",
            &[
                ("I1", "100.00", "2026-04-10"),
                ("I2", "100.00", "2026-04-10"),
            ],
        ),
        "Err(VALIDATION installments.promised_on=2026-04-10)",
    );
}

#[test]
fn payment_plan_installments_are_not_before_the_agreement() {
    check(
        &[opened(), a()],
        plan("PL1", "2026-04-01", &[("I1", "100.00", "2026-03-31")]),
        "Err(VALIDATION installments.promised_on=2026-03-31)",
    );
}

#[test]
fn payment_plan_id_is_unique_in_the_account() {
    check(
        &[
            opened(),
            a(),
            plan("PL1", "2026-04-01", &[("I1", "100.00", "2026-04-10")]),
        ],
        plan("PL1", "2026-04-01", &[("I2", "100.00", "2026-04-10")]),
        "Err(CONFLICT plan_id=PL1)",
    );
}

#[test]
fn payment_plan_installment_ids_are_new_promise_ids() {
    check(
        &[
            opened(),
            a(),
            promise("I1", "1.00", "2026-04-01", "2026-04-05"),
        ],
        plan("PL1", "2026-04-01", &[("I1", "100.00", "2026-04-10")]),
        "Err(CONFLICT installments.promise_id=I1)",
    );
}

// ---- Enforcement -------------------------------------------------------------------------------

#[test]
fn account_is_held_once() {
    check(
        &[opened(), hold("2026-03-01")],
        hold("2026-03-02"),
        "Err(INVALID_STATE customer_id=C)",
    );
}

#[test]
fn manual_hold_may_not_be_backdated_before_a_later_hold_change() {
    // Found by test: a manual hold dated before a rule hold was superseded by it, and the
    // rule's automatic release then ended the manual hold too.
    let overdue = policy("[holds]\ndays_past_due = 30\nauto_release = true\n");
    let given = [opened(), a(), tick_through("2026-05-05")];
    check_with(
        &overdue,
        &given,
        hold("2026-04-20"),
        "Err(INVALID_STATE effective_on=2026-04-20)",
    );
    check_with(
        &overdue,
        &[
            opened(),
            a(),
            tick_through("2026-05-05"),
            release("2026-05-06"),
        ],
        hold("2026-05-06"),
        "Ok([AccountHeld customer in trouble manual 2026-05-06])",
    );
}

#[test]
fn only_a_held_account_is_released() {
    check(
        &[opened()],
        release("2026-03-02"),
        "Err(INVALID_STATE customer_id=C)",
    );
    check(
        &[opened(), hold("2026-03-01")],
        release("2026-03-02"),
        "Ok([AccountReleased new understanding manual 2026-03-02])",
    );
}

// ---- Policy ------------------------------------------------------------------------------------

#[test]
fn adopted_policy_must_validate() {
    let err =
        domain::policy::decide_adopt("name = \"x\"\n[holds]\nover_limit = 1\n", 3).unwrap_err();
    assert_eq!(err.kind(), domain::ErrorKind::Validation);
    let adopted = domain::policy::decide_adopt(domain::policy::DEFAULT_POLICY_TOML, 3).unwrap();
    assert_eq!((adopted.version, adopted.name.as_str()), (4, "default"));
}

#[test]
fn invoice_cannot_be_issued_before_the_account_opened() {
    check(
        &[opened()],
        issued("EARLY", "10.00", "2020-01-01"),
        "Err(VALIDATION issued_on=2020-01-01)",
    );
}
