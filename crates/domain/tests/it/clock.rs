//! The clock (SPEC §5), one test per rule: late fees, broken promises and their consequence,
//! rule holds and their release, each effective on the first day its rule held.

use domain::{tick, Policy};

use crate::support::*;

fn fees() -> Policy {
    policy("[late_fees]\npercent = \"1.5\"\nafter_days = 5\nevery_days = 30\n")
}

fn promises(on_broken: &str) -> Policy {
    policy(&format!(
        "[promises]\ngrace_days = 2\non_broken = \"{on_broken}\"\n"
    ))
}

fn overdue_holds() -> Policy {
    policy("[holds]\ndays_past_due = 30\nauto_release = true\n")
}

fn limit_holds() -> Policy {
    policy("[holds]\nover_limit = true\nauto_release = true\n")
}

/// Invoice A: 1000.00 issued 2026-03-01, due 2026-03-31.
fn a() -> Step {
    issued("A", "1000.00", "2026-03-01")
}

// ---- Late fees ---------------------------------------------------------------------------------

#[test]
fn late_fee_on_due_plus_after_days_then_every_every_days() {
    check_with(
        &fees(),
        &[opened(), a()],
        tick_through("2026-04-04"),
        "Ok([])",
    );
    check_with(
        &fees(),
        &[opened(), a()],
        tick_through("2026-06-04"),
        "Ok([LateFeeCharged A 15.00 2026-04-05 #1; LateFeeCharged A 15.00 2026-05-05 #2; LateFeeCharged A 15.00 2026-06-04 #3])",
    );
}

#[test]
fn late_fee_without_every_days_is_charged_once() {
    let once = policy("[late_fees]\npercent = \"1.5\"\nafter_days = 5\n");
    check_with(
        &once,
        &[opened(), a()],
        tick_through("2026-12-31"),
        "Ok([LateFeeCharged A 15.00 2026-04-05 #1])",
    );
}

#[test]
fn no_late_fee_on_disputed_invoice() {
    check_with(
        &fees(),
        &[opened(), a(), dispute("A", "2026-04-01")],
        tick_through("2026-06-04"),
        "Ok([])",
    );
}

#[test]
fn late_fees_resume_after_the_dispute_is_resolved() {
    check_with(
        &fees(),
        &[
            opened(),
            a(),
            dispute("A", "2026-04-01"),
            resolve("A", "2026-04-20"),
        ],
        tick_through("2026-05-05"),
        "Ok([LateFeeCharged A 15.00 2026-05-05 #2])",
    );
}

#[test]
fn late_fees_do_not_compound() {
    // The second fee is on the principal of 1000.00, not on 1015.00.
    check_with(
        &fees(),
        &[opened(), a(), tick_through("2026-04-05")],
        tick_through("2026-05-05"),
        "Ok([LateFeeCharged A 15.00 2026-05-05 #2])",
    );
}

#[test]
fn late_fee_is_on_the_open_principal_after_money_settles_principal() {
    // 1000.00 principal − 500.00 paid = 500.00 (the 15.00 fee stays open): 1.5% = 7.50.
    check_with(
        &fees(),
        &[
            opened(),
            a(),
            tick_through("2026-04-05"),
            pay("P1", "500.00", "2026-04-10"),
        ],
        tick_through("2026-05-05"),
        "Ok([LateFeeCharged A 7.50 2026-05-05 #2])",
    );
}

#[test]
fn no_late_fee_once_the_invoice_is_paid() {
    check_with(
        &fees(),
        &[
            opened(),
            a(),
            tick_through("2026-04-05"),
            pay("P1", "1015.00", "2026-04-10"),
        ],
        tick_through("2026-06-30"),
        "Ok([])",
    );
}

#[test]
fn money_settles_principal_before_fees() {
    // 1000.00 paid on 1015.00 open settles the principal: only the 15.00 fee stays open, and a
    // fee is never charged on a fee.
    check_with(
        &fees(),
        &[
            opened(),
            a(),
            tick_through("2026-04-05"),
            pay("P1", "1000.00", "2026-04-10"),
        ],
        tick_through("2026-05-05"),
        "Ok([])",
    );
}

#[test]
fn no_late_fee_without_a_late_fees_section() {
    check_with(
        &policy(""),
        &[opened(), a()],
        tick_through("2026-12-31"),
        "Ok([])",
    );
}

// ---- Promises ----------------------------------------------------------------------------------

#[test]
fn promise_broken_the_day_after_promised_on_plus_grace() {
    let given = [
        opened(),
        a(),
        promise("PR1", "400.00", "2026-04-01", "2026-04-05"),
    ];
    check_with(
        &promises("none"),
        &given,
        tick_through("2026-04-07"),
        "Ok([])",
    );
    check_with(
        &promises("none"),
        &given,
        tick_through("2026-04-08"),
        "Ok([PromiseBroken PR1 shortfall 400.00 2026-04-08])",
    );
}

#[test]
fn kept_promise_is_not_broken() {
    check_with(
        &promises("cash_only"),
        &[
            opened(),
            a(),
            promise("PR1", "400.00", "2026-04-01", "2026-04-05"),
            pay("P1", "400.00", "2026-04-07"),
        ],
        tick_through("2026-04-30"),
        "Ok([])",
    );
}

#[test]
fn payment_after_the_grace_does_not_keep_a_promise() {
    check_with(
        &promises("none"),
        &[
            opened(),
            a(),
            promise("PR1", "400.00", "2026-04-01", "2026-04-05"),
            pay("P1", "400.00", "2026-04-08"),
        ],
        tick_through("2026-04-30"),
        "Ok([PromiseBroken PR1 shortfall 400.00 2026-04-08])",
    );
}

#[test]
fn partly_kept_promise_is_broken_by_its_shortfall() {
    check_with(
        &promises("none"),
        &[
            opened(),
            a(),
            promise("PR1", "400.00", "2026-04-01", "2026-04-05"),
            pay("P1", "150.00", "2026-04-03"),
        ],
        tick_through("2026-04-30"),
        "Ok([PromiseBroken PR1 shortfall 250.00 2026-04-08])",
    );
}

#[test]
fn bounced_payment_does_not_keep_a_promise() {
    check_with(
        &promises("none"),
        &[
            opened(),
            a(),
            promise("PR1", "400.00", "2026-04-01", "2026-04-05"),
            pay("P1", "150.00", "2026-04-03"),
            reverse("P1", "2026-04-06"),
        ],
        tick_through("2026-04-30"),
        "Ok([PromiseBroken PR1 shortfall 400.00 2026-04-08])",
    );
}

#[test]
fn broken_promise_puts_the_account_on_cash_only() {
    check_with(
        &promises("cash_only"),
        &[opened(), a(), promise("PR1", "400.00", "2026-04-01", "2026-04-05")],
        tick_through("2026-04-30"),
        "Ok([PromiseBroken PR1 shortfall 400.00 2026-04-08; CashOnlyImposed broken_promise 2026-04-08])",
    );
}

#[test]
fn broken_promise_holds_the_account_when_on_broken_is_hold() {
    check_with(
        &promises("hold"),
        &[opened(), a(), promise("PR1", "400.00", "2026-04-01", "2026-04-05")],
        tick_through("2026-04-30"),
        "Ok([PromiseBroken PR1 shortfall 400.00 2026-04-08; AccountHeld broken_promise auto 2026-04-08])",
    );
}

#[test]
fn second_broken_promise_does_not_impose_cash_only_again() {
    check_with(
        &promises("cash_only"),
        &[
            opened(),
            a(),
            promise("PR1", "100.00", "2026-04-01", "2026-04-05"),
            promise("PR2", "100.00", "2026-04-01", "2026-04-15"),
        ],
        tick_through("2026-04-30"),
        "Ok([PromiseBroken PR1 shortfall 100.00 2026-04-08; CashOnlyImposed broken_promise 2026-04-08; PromiseBroken PR2 shortfall 100.00 2026-04-18])",
    );
}

#[test]
fn each_installment_of_a_plan_is_a_promise() {
    check_with(
        &promises("none"),
        &[
            opened(),
            a(),
            plan(
                "PL1",
                "2026-04-01",
                &[
                    ("I1", "300.00", "2026-04-10"),
                    ("I2", "300.00", "2026-05-10"),
                ],
            ),
            pay("P1", "300.00", "2026-04-09"),
        ],
        tick_through("2026-05-31"),
        "Ok([PromiseBroken I2 shortfall 300.00 2026-05-13])",
    );
}

// ---- Holds -------------------------------------------------------------------------------------

#[test]
fn rule_hold_when_an_invoice_is_more_than_days_past_due() {
    // Due 2026-03-31: 30 days past due on 04-30, more than 30 on 05-01.
    check_with(
        &overdue_holds(),
        &[opened(), a()],
        tick_through("2026-04-30"),
        "Ok([])",
    );
    check_with(
        &overdue_holds(),
        &[opened(), a()],
        tick_through("2026-05-01"),
        "Ok([AccountHeld days_past_due auto 2026-05-01])",
    );
}

#[test]
fn disputed_invoice_does_not_cause_a_days_past_due_hold() {
    check_with(
        &overdue_holds(),
        &[opened(), a(), dispute("A", "2026-04-20")],
        tick_through("2026-06-30"),
        "Ok([])",
    );
}

#[test]
fn rule_hold_when_over_limit() {
    check_with(
        &limit_holds(),
        &[opened_with(net(30), "999.99"), a()],
        tick_through("2026-03-31"),
        "Ok([AccountHeld over_limit auto 2026-03-01])",
    );
}

#[test]
fn probation_limit_is_the_ratio_of_the_credit_limit() {
    // Opened 2026-01-01 with 90 days of probation at 0.25: a limit of 250.00 until 04-01.
    let probation = policy(
        "[probation]\ndays = 90\nlimit_ratio = \"0.25\"\n[holds]\nover_limit = true\nauto_release = true\n",
    );
    check_with(
        &probation,
        &[opened_with(net(30), "1000.00"), issued("A", "300.00", "2026-03-01")],
        tick_through("2026-04-30"),
        "Ok([AccountHeld over_limit auto 2026-03-01; AccountReleased no_hold_rule_holds auto 2026-04-01])",
    );
}

#[test]
fn rule_hold_is_released_automatically_when_no_rule_holds() {
    check_with(
        &overdue_holds(),
        &[opened(), a(), pay("P1", "1000.00", "2026-05-10")],
        tick_through("2026-05-31"),
        "Ok([AccountHeld days_past_due auto 2026-05-01; AccountReleased no_hold_rule_holds auto 2026-05-10])",
    );
}

#[test]
fn rule_hold_stays_without_auto_release() {
    let no_release = policy("[holds]\ndays_past_due = 30\nauto_release = false\n");
    check_with(
        &no_release,
        &[opened(), a(), pay("P1", "1000.00", "2026-05-10")],
        tick_through("2026-05-31"),
        "Ok([AccountHeld days_past_due auto 2026-05-01])",
    );
}

#[test]
fn manual_hold_is_not_auto_released() {
    check_with(
        &overdue_holds(),
        &[opened(), a(), hold("2026-03-10")],
        tick_through("2026-06-30"),
        "Ok([])",
    );
}

#[test]
fn manually_released_rule_hold_is_held_again_while_the_rule_holds() {
    check_with(
        &overdue_holds(),
        &[
            opened(),
            a(),
            tick_through("2026-05-01"),
            release("2026-05-03"),
        ],
        tick_through("2026-05-05"),
        "Ok([AccountHeld days_past_due auto 2026-05-03])",
    );
}

#[test]
fn broken_promise_hold_is_not_released_by_the_hold_rules() {
    let both = policy("[promises]\ngrace_days = 2\non_broken = \"hold\"\n[holds]\ndays_past_due = 30\nauto_release = true\n");
    check_with(
        &both,
        &[opened(), a(), promise("PR1", "400.00", "2026-04-01", "2026-04-05")],
        tick_through("2026-06-30"),
        "Ok([PromiseBroken PR1 shortfall 400.00 2026-04-08; AccountHeld broken_promise auto 2026-04-08])",
    );
}

// ---- The walk ----------------------------------------------------------------------------------

#[test]
fn one_day_runs_fees_then_promises_then_holds() {
    // On 2026-05-01 the fee, the broken promise, its cash-only and the overdue hold all fall due.
    let all = policy(
        "[late_fees]\npercent = \"1.5\"\nafter_days = 31\n[promises]\ngrace_days = 0\non_broken = \"cash_only\"\n[holds]\ndays_past_due = 30\n",
    );
    check_with(
        &all,
        &[opened(), a(), promise("PR1", "400.00", "2026-04-20", "2026-04-30")],
        tick_through("2026-05-01"),
        "Ok([LateFeeCharged A 15.00 2026-05-01 #1; PromiseBroken PR1 shortfall 400.00 2026-05-01; CashOnlyImposed broken_promise 2026-05-01; AccountHeld days_past_due auto 2026-05-01])",
    );
}

#[test]
fn effective_on_is_the_day_the_rule_first_held() {
    // Ticked for the first time long after: every event still carries the day its rule held.
    // No fee on 04-05: the promise was active then (a new understanding, SPEC §5).
    check(
        &[opened(), a(), promise("PR1", "400.00", "2026-04-01", "2026-04-05")],
        tick_through("2026-12-31"),
        "Ok([PromiseBroken PR1 shortfall 400.00 2026-04-08; CashOnlyImposed broken_promise 2026-04-08; AccountHeld days_past_due auto 2026-05-01; LateFeeCharged A 15.00 2026-05-05 #2; LateFeeCharged A 15.00 2026-06-04 #3; LateFeeCharged A 15.00 2026-07-04 #4; LateFeeCharged A 15.00 2026-08-03 #5; LateFeeCharged A 15.00 2026-09-02 #6; LateFeeCharged A 15.00 2026-10-02 #7; LateFeeCharged A 15.00 2026-11-01 #8; LateFeeCharged A 15.00 2026-12-01 #9; LateFeeCharged A 15.00 2026-12-31 #10])",
    );
}

#[test]
fn ticking_twice_emits_nothing_new() {
    let given = [
        opened(),
        a(),
        promise("PR1", "400.00", "2026-04-01", "2026-04-05"),
        tick_through("2026-12-31"),
    ];
    let ledger = history(default_policy(), &given);
    let account = ledger.account();
    assert!(tick(
        account,
        default_policy(),
        account.opened_on,
        d("2026-12-31")
    )
    .is_empty());
    assert!(tick(account, default_policy(), d("2026-06-01"), d("2026-12-31")).is_empty());
}

#[test]
fn ticking_daily_gives_the_same_events_as_ticking_once() {
    let given = [
        opened_with(net(30), "2000.00"),
        a(),
        issued("B", "800.00", "2026-03-15"),
        promise("PR1", "400.00", "2026-04-01", "2026-04-05"),
        pay("P1", "1000.00", "2026-05-20"),
        dispute("B", "2026-04-20"),
    ];
    let once = history(default_policy(), &given);
    let account = once.account();
    let all_at_once = tick(
        account,
        default_policy(),
        account.opened_on,
        d("2026-09-30"),
    );
    assert!(!all_at_once.is_empty());

    let mut daily = history(default_policy(), &given);
    let mut day = d("2026-01-01");
    while day <= d("2026-09-30") {
        daily.run(&Step::Tick(day)).unwrap();
        day = day.succ_opt().unwrap();
    }
    let mut weekly = history(default_policy(), &given);
    let mut day = d("2026-01-01");
    while day <= d("2026-09-30") {
        weekly.run(&Step::Tick(day)).unwrap();
        day = day + chrono::Days::new(7);
    }
    weekly.run(&Step::Tick(d("2026-09-30"))).unwrap();

    let emitted = |l: &Ledger| l.events[given.len()..].to_vec();
    assert_eq!(emitted(&daily), all_at_once);
    assert_eq!(emitted(&weekly), all_at_once);
}

#[test]
fn broken_promise_holds_an_account_already_held_by_a_rule() {
    // Held over the limit; the promise is broken; paying below the limit must not release the
    // account: the broken promise's hold stands until the account is paid in full.
    let both = policy(
        "[promises]\ngrace_days = 2\non_broken = \"hold\"\n[holds]\nover_limit = true\nauto_release = true\n",
    );
    check_with(
        &both,
        &[
            opened_with(net(30), "900.00"),
            a(),
            promise("PR1", "400.00", "2026-04-01", "2026-04-05"),
            pay("P1", "300.00", "2026-04-20"),
        ],
        tick_through("2026-05-31"),
        "Ok([AccountHeld over_limit auto 2026-03-01; PromiseBroken PR1 shortfall 400.00 2026-04-08; AccountHeld broken_promise auto 2026-04-08])",
    );
}

#[test]
fn promise_kept_by_a_payment_that_bounced_is_broken() {
    // Found by review: the PromiseKept recorded with the payment used to stand after the
    // payment was reversed, so a bounced cheque escaped the broken promise's cash-only.
    let given = [
        opened(),
        a(),
        promise("PR1", "400.00", "2026-04-01", "2026-04-05"),
        pay("P1", "400.00", "2026-04-03"),
        reverse("P1", "2026-04-06"),
    ];
    check_with(
        &promises("cash_only"),
        &given,
        tick_through("2026-04-30"),
        "Ok([PromiseBroken PR1 shortfall 400.00 2026-04-08; CashOnlyImposed broken_promise 2026-04-08])",
    );
    let cash_only = promises("cash_only");
    let mut ledger = history(&cash_only, &given);
    ledger.run(&tick_through("2026-04-30")).unwrap();
    let p = ledger
        .account()
        .promise(&"PR1".to_owned().try_into().unwrap())
        .unwrap()
        .clone();
    use domain::promise::PromiseStatus::*;
    assert_eq!(p.status_on(d("2026-04-07")), Some(Kept));
    assert_eq!(p.status_on(d("2026-04-08")), Some(Broken));
}

#[test]
fn payment_bounced_after_the_grace_still_kept_the_promise() {
    check_with(
        &promises("cash_only"),
        &[
            opened(),
            a(),
            promise("PR1", "400.00", "2026-04-01", "2026-04-05"),
            pay("P1", "400.00", "2026-04-03"),
            reverse("P1", "2026-04-20"),
        ],
        tick_through("2026-04-30"),
        "Ok([])",
    );
}
