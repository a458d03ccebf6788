//! The clock (SPEC §5): a pure function of (account, policy, dates) that emits the automatic
//! events not emitted yet — late fees, broken promises and their consequence, rule holds and
//! their release — each effective on the first day its rule held.
//!
//! Every automatic event has an identity (a fee by invoice and period, a broken promise by id,
//! a hold by the account's status that day), so walking a day twice emits nothing new. The
//! caller says where to start: the day after its last tick, or the opening when it does not know.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use crate::account::{evolve, Account};
use crate::decide::BROKEN_PROMISE;
use crate::event::*;
use crate::invoice::Invoice;
use crate::money::percent_of;
use crate::policy::{OnBroken, Policy};
use crate::promise::coverage;

/// Rule name of the `[holds] days_past_due` rule.
pub const RULE_DAYS_PAST_DUE: &str = "days_past_due";
/// Rule name of the `[holds] over_limit` rule.
pub const RULE_OVER_LIMIT: &str = "over_limit";
/// Reason of an automatic release when no hold rule holds any more.
pub const NO_HOLD_RULE_HOLDS: &str = "no_hold_rule_holds";
/// Reason of the release of a broken-promise hold once nothing is owed.
pub const PAID_IN_FULL: &str = "paid_in_full";

/// Walks each day from `from` (never before the opening) through `through` and returns the
/// automatic events, in the order they take effect — the differences between what the clock
/// recorded from `from` on and what one walk over the facts as now known decides
/// ([`crate::reconcile`]): on an account the clock never walked past `from`, simply its decisions.
pub fn tick(account: &Account, policy: &Policy, from: NaiveDate, through: NaiveDate) -> Vec<Event> {
    crate::reconcile::reconcile(
        account,
        policy,
        crate::reconcile::Span::new(from, through, through),
        crate::reconcile::CLOCK_CAUSE,
    )
}

/// Which of the day's steps a walk takes: the clock's decisions (fees, broken promises) run
/// through the last day the clock walked; the enforcement steps (lifts and hold rules) may run
/// further, through today, once holds follow commands (SPEC §5).
#[derive(Clone, Copy, Debug)]
pub struct Steps {
    pub decide: bool,
    pub enforce: bool,
}

/// Walks `account` (in which nothing automatic is recorded from `from` on) day by day from
/// `from`: the clock's decisions through `through`, the enforcement steps through
/// `enforce_through`. Returns the state walked and the events, in the order they take effect.
pub fn walk(
    account: &Account,
    policy: &Policy,
    from: NaiveDate,
    through: NaiveDate,
    enforce_through: NaiveDate,
) -> (Account, Vec<Event>) {
    let mut state = Some(account.clone());
    let mut emitted = Vec::new();
    let end = through.max(enforce_through);
    let mut day = from;
    while day <= end {
        let Some(current) = state.as_ref() else {
            break;
        };
        let steps = Steps {
            decide: day <= through,
            enforce: day <= enforce_through,
        };
        let events = day_events(current, policy, day, steps);
        for e in events {
            evolve(&mut state, &e);
            emitted.push(e);
        }
        match day.checked_add_days(Days::new(1)) {
            Some(next) => day = next,
            None => break,
        }
    }
    (state.unwrap_or_else(|| account.clone()), emitted)
}

/// The first day [`tick`] from `from` decides anything for: not before the account's opening nor
/// its first invoice or promise. `None`: the account has neither, so there is nothing to decide.
pub fn first_day(account: &Account, from: NaiveDate) -> Option<NaiveDate> {
    let first_activity = account
        .invoices
        .iter()
        .map(|i| i.issued_on)
        .chain(account.promises.iter().map(|p| p.made_on))
        .min()?;
    Some(from.max(account.opened_on).max(first_activity))
}

/// The decisions for one day, in SPEC order: fees, then promises, then the end of cash-only
/// status (and of a broken-promise hold) once nothing is owed, then hold rules. Each step sees
/// the events of the steps before it.
fn day_events(account: &Account, policy: &Policy, day: NaiveDate, steps: Steps) -> Vec<Event> {
    // Most days emit nothing: the account is copied only once a step emits an event, so the
    // next step can see it.
    let mut changed: Option<Account> = None;
    let mut out = Vec::new();
    let mut record = |changed: &mut Option<Account>, events: Vec<Event>| {
        if events.is_empty() {
            return;
        }
        let mut state = Some(changed.take().unwrap_or_else(|| account.clone()));
        for e in &events {
            evolve(&mut state, e);
        }
        *changed = state;
        out.extend(events);
    };

    if steps.decide {
        let fees = late_fees(account, policy, day);
        record(&mut changed, fees);
        let broken = broken_promises(changed.as_ref().unwrap_or(account), policy, day);
        record(&mut changed, broken);
    }
    if steps.enforce {
        let lifted = paid_in_full(changed.as_ref().unwrap_or(account), day);
        record(&mut changed, lifted);
        let hold = hold_rules(changed.as_ref().unwrap_or(account), policy, day);
        record(&mut changed, hold.into_iter().collect());
    }
    out
}

/// Whether an active promise covers the invoice on `day` (made, not kept, not past its grace;
/// one without invoice ids covers every invoice): a new understanding with the customer.
fn under_promise(account: &Account, policy: &Policy, invoice: &Invoice, day: NaiveDate) -> bool {
    let grace = policy.promises.grace_days;
    account
        .promises
        .iter()
        .any(|p| p.covers_on(&invoice.id, day, grace) && p.broken_on.is_none_or(|b| b > day))
}

/// Step 3: cash-only status ends, and so does a broken-promise hold, on the first day the
/// account owes nothing (SPEC §3 `CashOnlyLifted`: "when the account's open balance reaches
/// zero").
fn paid_in_full(account: &Account, day: NaiveDate) -> Vec<Event> {
    let cash_only = account.cash_only_on(day).is_some();
    let broken_promise_hold = account
        .hold_on(day)
        .is_some_and(|h| !h.manual && h.rule.as_deref() == Some(BROKEN_PROMISE));
    if !(cash_only || broken_promise_hold) || account.exposure_on(day) > Decimal::ZERO {
        return Vec::new();
    }
    let mut out = Vec::new();
    if cash_only {
        out.push(CashOnlyLifted { effective_on: day }.into());
    }
    if broken_promise_hold {
        out.push(
            AccountReleased {
                reason: PAID_IN_FULL.to_owned(),
                manual: false,
                effective_on: day,
            }
            .into(),
        );
    }
    out
}

/// Step 1: a fee on `due_on + after_days`, then every `every_days`, while the open principal
/// is above zero and the invoice is not disputed.
fn late_fees(account: &Account, policy: &Policy, day: NaiveDate) -> Vec<Event> {
    let Some(fees) = &policy.late_fees else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for invoice in &account.invoices {
        let Some(period) = fee_period(invoice, fees.after_days, fees.every_days, day) else {
            continue;
        };
        if invoice.extras().fee_periods.contains(&period) || invoice.disputed_on(day) {
            continue;
        }
        if policy.promises.suspend_late_fees && under_promise(account, policy, invoice, day) {
            continue;
        }
        let principal = invoice.principal_open_on(day);
        if principal <= Decimal::ZERO {
            continue;
        }
        let amount = percent_of(&account.currency, fees.percent, principal);
        if amount > Decimal::ZERO {
            out.push(
                LateFeeCharged {
                    invoice_id: invoice.id.clone(),
                    amount,
                    charged_on: day,
                    period,
                }
                .into(),
            );
        }
    }
    out
}

/// Which fee (1, 2, …) falls due on `day`, if one does.
fn fee_period(
    invoice: &Invoice,
    after_days: u32,
    every_days: Option<u32>,
    day: NaiveDate,
) -> Option<u32> {
    let first = invoice
        .due_on
        .checked_add_days(Days::new(u64::from(after_days)))?;
    let since = (day - first).num_days();
    if since < 0 {
        return None;
    }
    match every_days {
        None => (since == 0).then_some(1),
        Some(every) if every > 0 => {
            let every = i64::from(every);
            (since % every == 0).then(|| u32::try_from(since / every + 1).ok())?
        }
        Some(_) => None,
    }
}

/// Step 2: promises whose grace ended yesterday and that payments did not cover, then the
/// policy's consequence (seed 004: cash only).
///
/// Whether a promise is kept is decided here from the payments in force on `day`, not from an
/// earlier `PromiseKept`: a payment that kept a promise and then bounced (reversed by `day`) did
/// not bring the money the customer promised.
fn broken_promises(account: &Account, policy: &Policy, day: NaiveDate) -> Vec<Event> {
    let grace = policy.promises.grace_days;
    let due: Vec<usize> = account
        .promises
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            p.broken_on.is_none() && p.deadline(grace).checked_add_days(Days::new(1)) == Some(day)
        })
        .map(|(i, _)| i)
        .collect();
    if due.is_empty() {
        return Vec::new();
    }
    let covered = coverage(&account.promises, &account.cash_in_on(day), grace);
    let mut out = Vec::new();
    for i in due {
        let (Some(promise), Some(&covered)) = (account.promises.get(i), covered.get(i)) else {
            continue;
        };
        if covered >= promise.amount {
            continue;
        }
        out.push(
            PromiseBroken {
                promise_id: promise.id.clone(),
                shortfall: promise.amount.saturating_sub(covered),
                effective_on: day,
            }
            .into(),
        );
    }
    if out.is_empty() {
        return out;
    }
    match policy.promises.on_broken {
        OnBroken::CashOnly if account.cash_only_on(day).is_none() => out.push(
            CashOnlyImposed {
                reason: BROKEN_PROMISE.to_owned(),
                effective_on: day,
            }
            .into(),
        ),
        // A rule hold would be released automatically once the rule stops holding, so the broken
        // promise's hold takes its place: it stands until the account is paid in full. A manual
        // or broken-promise hold already stands on its own.
        OnBroken::Hold
            if account
                .hold_on(day)
                .is_none_or(|h| !h.manual && h.rule.as_deref() != Some(BROKEN_PROMISE)) =>
        {
            out.push(
                AccountHeld {
                    reason: BROKEN_PROMISE.to_owned(),
                    rule: Some(BROKEN_PROMISE.to_owned()),
                    manual: false,
                    effective_on: day,
                }
                .into(),
            )
        }
        _ => {}
    }
    out
}

/// The `[holds]` rule that holds on `day`, if any.
pub fn hold_rule_on(account: &Account, policy: &Policy, day: NaiveDate) -> Option<&'static str> {
    if let Some(limit_days) = policy.holds.days_past_due {
        let overdue = account.invoices.iter().any(|i| {
            (day - i.due_on).num_days() > i64::from(limit_days)
                && !i.disputed_on(day)
                && i.open_on(day) > Decimal::ZERO
                && !(policy.promises.suspend_holds && under_promise(account, policy, i, day))
        });
        if overdue {
            return Some(RULE_DAYS_PAST_DUE);
        }
    }
    if policy.holds.over_limit && account.exposure_on(day) > account.effective_limit_on(day, policy)
    {
        return Some(RULE_OVER_LIMIT);
    }
    None
}

/// Step 3: hold when a rule holds and the account is not held; release a rule hold when no
/// rule holds and `auto_release` is on. Manual holds are released only manually.
fn hold_rules(account: &Account, policy: &Policy, day: NaiveDate) -> Option<Event> {
    let rule = hold_rule_on(account, policy, day);
    match (account.hold_on(day), rule) {
        (None, Some(rule)) => Some(
            AccountHeld {
                reason: rule.to_owned(),
                rule: Some(rule.to_owned()),
                manual: false,
                effective_on: day,
            }
            .into(),
        ),
        (Some(hold), None)
            if policy.holds.auto_release
                && !hold.manual
                && matches!(
                    hold.rule.as_deref(),
                    Some(RULE_DAYS_PAST_DUE | RULE_OVER_LIMIT)
                ) =>
        {
            Some(
                AccountReleased {
                    reason: NO_HOLD_RULE_HOLDS.to_owned(),
                    manual: false,
                    effective_on: day,
                }
                .into(),
            )
        }
        _ => None,
    }
}
