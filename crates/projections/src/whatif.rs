//! What-if (SPEC §7, `dunlog whatif --policy FILE [--as-of D]`): what the clock would have done
//! under another policy, over the facts actually recorded, compared with what was recorded.
//! It runs in memory and appends nothing.
//!
//! How: each account's recorded state is stripped of every automatic effect (late fees, broken
//! promises, rule holds and automatic releases, cash-only changes) — what is left are the facts
//! people recorded, including manual holds and releases, which the account's hold changes tell
//! apart from automatic ones (their `manual` flag). The clock (`domain::tick`) then walks the stripped account
//! from its opening to `as_of` under the policy, day by day, and its events are evolved into it.
//! Because the clock decides each day only from facts dated on or before that day, walking once
//! over the final facts is what daily ticking would have done had every fact been recorded on
//! time; so even under the recorded policy, a difference can show where a fact was back-dated
//! after the clock had acted.
//!
//! Cash-only changes are not compared: `CashOnlyLifted` is emitted by the payment command that
//! settles the account, not by the clock, so a replay of the clock alone cannot say when it
//! would have been lifted.

use chrono::{Days, NaiveDate};
use domain::invoice::EntryKind;
use domain::{Account, CustomerId, Policy};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::ledger::Ledger;
use crate::worklist::{account_worklist, WorkItem};

/// What one account (or the total, with customer id `TOTAL`) got and would have got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WhatIfAccount {
    pub customer_id: CustomerId,
    /// Holds in force at some time on or before `as_of` (manual ones count on both sides).
    pub holds_recorded: u32,
    pub holds_would: u32,
    pub broken_promises_recorded: u32,
    pub broken_promises_would: u32,
    pub late_fees_recorded: Decimal,
    pub late_fees_would: Decimal,
    pub late_fee_count_recorded: u32,
    pub late_fee_count_would: u32,
    /// Work items on `as_of`.
    pub worklist_recorded: u32,
    pub worklist_would: u32,
    /// One line per difference, for a person.
    pub differences: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WhatIfReport {
    pub policy_name: String,
    pub as_of: NaiveDate,
    /// Only the accounts where something differs, ordered by customer id.
    pub accounts: Vec<WhatIfAccount>,
    pub totals: WhatIfAccount,
    /// The totals line per currency (money is never summed across currencies): every account
    /// compared, in that currency, by currency code.
    pub totals_by_currency: Vec<(String, WhatIfAccount)>,
    pub accounts_compared: u32,
}

/// Customer id of the totals line.
pub const TOTAL_ID: &str = "TOTAL";

/// The account as people recorded it: every automatic effect taken out (fees, broken
/// promises, automatic holds and cash-only changes; reconciliation's events with them), manual
/// holds and releases kept. Money a fee reversal released stays released: it moved.
pub fn strip_automatic(account: &Account) -> Account {
    domain::reconcile::before(account, account.opened_on)
}

/// The stripped account after the clock walked it under `policy` to `as_of`, visiting only the
/// days on which the clock can act (see [`clock_days`]).
pub fn replay_clock(account: &Account, policy: &Policy, as_of: NaiveDate) -> Account {
    let facts = strip_automatic(account);
    let days = clock_days(&facts, policy, as_of);
    // The clock copies the account it is given every day it walks; hand it only what it reads,
    // and evolve what it emits into both.
    let mut lean = Some(lean_for_clock(&facts));
    let mut state = Some(facts);
    for day in days {
        let Some(current) = lean.as_ref() else {
            break;
        };
        let events = domain::tick(current, policy, day, day);
        for e in &events {
            domain::evolve(&mut lean, e);
            domain::evolve(&mut state, e);
        }
    }
    // `evolve` keeps an opened account opened; the fallback only satisfies the types.
    state.unwrap_or_else(|| account.clone())
}

/// The account without what the clock never reads (contacts, ladder steps fulfilled,
/// references, promise invoice lists): cheaper to copy, same clock decisions.
/// Indexes and positions (invoices, payments, promises) are kept, so the clock's events apply to
/// it exactly as to the whole account.
pub fn lean_for_clock(account: &Account) -> Account {
    let mut lean = account.clone();
    lean.contacts = Default::default();
    lean.contacts_made = Vec::new();
    lean.steps_fulfilled = Vec::new();
    lean.credit_notes = Default::default();
    lean.plans = Default::default();
    for invoice in &mut lean.invoices {
        let extras = invoice.extras();
        if !extras.steps_fulfilled.is_empty() || extras.reference.is_some() {
            let extras = invoice.extras_mut();
            extras.steps_fulfilled = Vec::new();
            extras.reference = None;
        }
    }
    for promise in &mut lean.promises {
        // The invoices a promise covers stay: an active promise suspends their fees and holds.
        promise.via = String::new();
    }
    lean
}

/// The same walk, every day from the opening: the reference [`replay_clock`] must equal.
pub fn replay_clock_daily(account: &Account, policy: &Policy, as_of: NaiveDate) -> Account {
    let facts = strip_automatic(account);
    let events = domain::tick(&facts, policy, facts.opened_on, as_of);
    let mut state = Some(facts);
    for e in &events {
        domain::evolve(&mut state, e);
    }
    state.unwrap_or_else(|| account.clone())
}

/// The days, up to `as_of`, on which the clock's answer can change: every date a recorded fact
/// takes effect, every fee date, every promise's first day past its grace, the day an invoice
/// passes the hold rule's days past due, the end of probation. Between two such days every input
/// of the clock's rules is constant, so it emits nothing there (SPEC §5: its decision for a day
/// depends only on the policy and the facts dated on or before it). A year of history then costs
/// a few dozen clock days per account instead of 365.
pub fn clock_days(account: &Account, policy: &Policy, as_of: NaiveDate) -> Vec<NaiveDate> {
    let plus = |d: NaiveDate, n: u32| d.checked_add_days(Days::new(u64::from(n)));
    let mut days: Vec<NaiveDate> = Vec::new();
    days.push(account.opened_on);
    days.extend(plus(account.opened_on, policy.probation.days));
    for invoice in &account.invoices {
        days.push(invoice.issued_on);
        days.push(invoice.due_on);
        if let Some(limit) = policy.holds.days_past_due {
            days.extend(plus(invoice.due_on, limit.saturating_add(1)));
        }
        for e in &invoice.entries {
            days.push(e.on);
            days.extend(e.until);
        }
        for dispute in &invoice.extras().disputes {
            days.push(dispute.from);
            days.extend(dispute.until);
        }
        if let Some(fees) = &policy.late_fees {
            let mut fee_day = plus(invoice.due_on, fees.after_days);
            while let Some(day) = fee_day.filter(|d| *d <= as_of) {
                days.push(day);
                fee_day = match fees.every_days {
                    Some(every) if every > 0 => plus(day, every),
                    _ => None,
                };
            }
        }
    }
    for p in &account.payments {
        days.push(p.received_on);
        days.extend(p.reversed_on);
    }
    days.extend(account.applications.iter().map(|(on, _)| *on));
    for p in &account.promises {
        days.push(p.made_on);
        days.extend(p.kept_on);
        days.extend(plus(p.deadline(policy.promises.grace_days), 1));
    }
    days.extend(account.holds.iter().map(|h| h.effective_on));
    days.retain(|d| *d <= as_of);
    days.sort_unstable();
    days.dedup();
    days
}

struct Outcome {
    holds: u32,
    broken: u32,
    fees: Decimal,
    fee_count: u32,
    worklist: Vec<WorkItem>,
}

fn outcome(account: &Account, policy: &Policy, as_of: NaiveDate) -> Outcome {
    let mut fees = Decimal::ZERO;
    let mut fee_count = 0;
    for invoice in &account.invoices {
        for e in &invoice.entries {
            // A reversed fee is in force on no date.
            if e.kind == EntryKind::LateFee && e.on <= as_of && e.until.is_none() {
                fees = fees.saturating_add(e.change());
                fee_count += 1;
            }
        }
    }
    let holds = account
        .holds
        .iter()
        .filter(|h| h.state.is_some() && h.effective_on <= as_of)
        .count();
    let broken = account
        .promises
        .iter()
        .filter(|p| p.broken_on.is_some_and(|b| b <= as_of))
        .count();
    Outcome {
        holds: u32::try_from(holds).unwrap_or(u32::MAX),
        broken: u32::try_from(broken).unwrap_or(u32::MAX),
        fees: account.currency.display(fees),
        fee_count,
        worklist: account_worklist(account, policy, as_of),
    }
}

/// Compares one account; `None` when it is not opened by `as_of`.
pub fn compare_account(
    account: &Account,
    recorded_policy: &Policy,
    policy: &Policy,
    as_of: NaiveDate,
) -> Option<WhatIfAccount> {
    if account.opened_on > as_of {
        return None;
    }
    let would_state = replay_clock(account, policy, as_of);
    let recorded = outcome(account, recorded_policy, as_of);
    let would = outcome(&would_state, policy, as_of);
    let mut differences = Vec::new();
    if recorded.holds != would.holds {
        differences.push(format!(
            "holds: recorded {}, would be {}",
            recorded.holds, would.holds
        ));
    }
    if recorded.broken != would.broken {
        differences.push(format!(
            "broken promises: recorded {}, would be {}",
            recorded.broken, would.broken
        ));
    }
    if recorded.fee_count != would.fee_count || recorded.fees != would.fees {
        differences.push(format!(
            "late fees: recorded {} totalling {} {}, would be {} totalling {} {}",
            recorded.fee_count,
            recorded.fees,
            account.currency,
            would.fee_count,
            would.fees,
            account.currency
        ));
    }
    let key = |w: &WorkItem| (w.invoice_id.clone(), w.step.clone());
    let recorded_items: Vec<_> = recorded.worklist.iter().map(key).collect();
    let would_items: Vec<_> = would.worklist.iter().map(key).collect();
    for (invoice, step) in &recorded_items {
        if !would_items.contains(&(invoice.clone(), step.clone())) {
            differences.push(format!(
                "worklist: {invoice} {step} is due as recorded, would not be"
            ));
        }
    }
    for (invoice, step) in &would_items {
        if !recorded_items.contains(&(invoice.clone(), step.clone())) {
            differences.push(format!(
                "worklist: {invoice} {step} would be due, is not as recorded"
            ));
        }
    }
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Some(WhatIfAccount {
        customer_id: account.customer_id.clone(),
        holds_recorded: recorded.holds,
        holds_would: would.holds,
        broken_promises_recorded: recorded.broken,
        broken_promises_would: would.broken,
        late_fees_recorded: recorded.fees,
        late_fees_would: would.fees,
        late_fee_count_recorded: recorded.fee_count,
        late_fee_count_would: would.fee_count,
        worklist_recorded: count(recorded.worklist.len()),
        worklist_would: count(would.worklist.len()),
        differences,
    })
}

fn total_id() -> CustomerId {
    CustomerId::parse(TOTAL_ID).unwrap_or_else(|_| unreachable!("TOTAL is a valid id"))
}

/// Replays every account's recorded facts through the clock under `policy` up to `as_of` and
/// reports what would differ from what was recorded. Appends nothing. Accounts are spread over
/// the machine's cores.
pub fn whatif(ledger: &Ledger, policy: &Policy, as_of: NaiveDate) -> WhatIfReport {
    let recorded_policy = ledger.policy();
    let accounts: Vec<&Account> = ledger.accounts.values().collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 16);
    let chunk = accounts.len().div_ceil(threads).max(1);
    let compared: Vec<(WhatIfAccount, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = accounts
            .chunks(chunk)
            .map(|part| {
                let recorded_policy = &recorded_policy;
                scope.spawn(move || {
                    part.iter()
                        .filter_map(|a| {
                            compare_account(a, recorded_policy, policy, as_of)
                                .map(|c| (c, a.currency.as_str().to_owned()))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let zero = || WhatIfAccount {
        customer_id: total_id(),
        holds_recorded: 0,
        holds_would: 0,
        broken_promises_recorded: 0,
        broken_promises_would: 0,
        late_fees_recorded: Decimal::ZERO,
        late_fees_would: Decimal::ZERO,
        late_fee_count_recorded: 0,
        late_fee_count_would: 0,
        worklist_recorded: 0,
        worklist_would: 0,
        differences: Vec::new(),
    };
    let mut totals = zero();
    let mut by_currency: std::collections::BTreeMap<String, WhatIfAccount> =
        std::collections::BTreeMap::new();
    let mut fees_by_currency: std::collections::BTreeMap<String, (Decimal, Decimal)> =
        std::collections::BTreeMap::new();
    for (a, currency) in &compared {
        totals.holds_recorded += a.holds_recorded;
        totals.holds_would += a.holds_would;
        totals.broken_promises_recorded += a.broken_promises_recorded;
        totals.broken_promises_would += a.broken_promises_would;
        totals.late_fee_count_recorded += a.late_fee_count_recorded;
        totals.late_fee_count_would += a.late_fee_count_would;
        totals.worklist_recorded += a.worklist_recorded;
        totals.worklist_would += a.worklist_would;
        let line = by_currency.entry(currency.clone()).or_insert_with(zero);
        line.holds_recorded += a.holds_recorded;
        line.holds_would += a.holds_would;
        line.broken_promises_recorded += a.broken_promises_recorded;
        line.broken_promises_would += a.broken_promises_would;
        line.late_fee_count_recorded += a.late_fee_count_recorded;
        line.late_fee_count_would += a.late_fee_count_would;
        line.worklist_recorded += a.worklist_recorded;
        line.worklist_would += a.worklist_would;
        line.late_fees_recorded = line.late_fees_recorded.saturating_add(a.late_fees_recorded);
        line.late_fees_would = line.late_fees_would.saturating_add(a.late_fees_would);
        let fees = fees_by_currency.entry(currency.clone()).or_default();
        fees.0 = fees.0.saturating_add(a.late_fees_recorded);
        fees.1 = fees.1.saturating_add(a.late_fees_would);
    }
    // Money is never summed across currencies: the totals line carries the fee amounts only
    // when every account has the same currency, and one line per currency otherwise.
    if fees_by_currency.len() == 1 {
        if let Some((recorded, would)) = fees_by_currency.values().next() {
            totals.late_fees_recorded = *recorded;
            totals.late_fees_would = *would;
        }
    } else {
        for (currency, (recorded, would)) in &fees_by_currency {
            totals.differences.push(format!(
                "late fees in {currency}: recorded {recorded}, would be {would}"
            ));
        }
    }
    let differing = compared
        .iter()
        .filter(|(a, _)| !a.differences.is_empty())
        .count();
    totals.differences.insert(
        0,
        format!("{differing} of {} accounts differ", compared.len()),
    );
    let accounts_compared = u32::try_from(compared.len()).unwrap_or(u32::MAX);
    WhatIfReport {
        policy_name: policy.name.clone(),
        as_of,
        accounts: compared
            .into_iter()
            .map(|(a, _)| a)
            .filter(|a| !a.differences.is_empty())
            .collect(),
        totals,
        totals_by_currency: by_currency.into_iter().collect(),
        accounts_compared,
    }
}
