//! Reconciliation (SPEC §5): after every command and tick, an account's automatic events net of
//! their compensations are exactly what one walk of the clock over all facts as now known emits.
//!
//! Facts arrive late — a bank statement shows on Monday a payment received on Friday — so the
//! clock may have decided days that a later fact changes. [`reconcile`] re-walks the account
//! from the first day that may have changed, starting from what was recorded before that day
//! with nothing automatic after it, and compares the walk with what is recorded from that day
//! on: fees by (invoice, period, amount, date), broken promises by (promise, date, shortfall),
//! and hold and cash-only status day by day. The differences become new events — reversals,
//! reinstatements, releases and holds named `reconciled`, and the decisions newly justified —
//! that the caller appends with the command (or tick) that caused them. Nothing recorded is
//! rewritten: a `knownAt` before the late fact still shows what the ledger believed then.
//!
//! Decisions before the re-walk's first day are left as recorded: a day's decisions depend
//! only on facts dated on or before it, so a fact dated `d` cannot change them — and a policy
//! adopted since does not rewrite history (docs/decisions/0010-reconciliation.md).

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use crate::account::{evolve, Account, Hold, StatusChange};
use crate::clock::{first_day, walk};
use crate::event::*;
use crate::policy::Policy;

mod execute;

pub use self::execute::{
    cause_of, check_tick_date, execute, execute_planned, repair_dated, tick, tick_dated, Executed,
    Pending,
};

/// The reason a tick gives the compensations it emits (a late fact recorded while the clock
/// had not walked its date yet is reconciled by the tick that walks it).
pub const CLOCK_CAUSE: &str = "clock";
/// The reason of holds, releases and cash-only changes that undo a recorded one.
pub const RECONCILED: &str = "reconciled";

/// The days a reconciliation covers: re-walked from `from`; the clock's decisions (fees,
/// broken promises) through `through`, the last day the clock walked; hold rules and the end
/// of cash-only status through `enforce_through` (today, once holds follow commands).
///
/// Nothing new is added after `adds_through` (today: the clock never runs ahead of it); what
/// is recorded after it — automatic events an older dunlog dated after today — is only
/// compensated where the facts as now known do not justify it
/// (docs/decisions/0011-automatic-events-after-today.md).
#[derive(Clone, Copy, Debug)]
pub struct Span {
    pub from: NaiveDate,
    pub through: NaiveDate,
    pub enforce_through: NaiveDate,
    pub adds_through: NaiveDate,
}

impl Span {
    /// The span of a walk that may add decisions on every day it covers.
    pub fn new(from: NaiveDate, through: NaiveDate, enforce_through: NaiveDate) -> Span {
        Span {
            from,
            through,
            enforce_through,
            adds_through: through.max(enforce_through),
        }
    }

    /// The span widened over the automatic events recorded after it (dated after today by an
    /// older dunlog): they are compared with the walk like any other, but nothing new is added
    /// after the span's own last day.
    pub fn over_recorded(self, account: &Account) -> Span {
        let Some(last) = last_automatic_on(account) else {
            return self;
        };
        Span {
            through: self.through.max(last),
            enforce_through: self.enforce_through.max(last),
            ..self
        }
    }
}

/// The last day an automatic decision recorded on the account takes effect (fees not reversed,
/// broken promises, the clock's hold and cash-only changes); `None` when there is none.
pub fn last_automatic_on(account: &Account) -> Option<NaiveDate> {
    let fees = account
        .invoices
        .iter()
        .flat_map(|i| i.extras().fees.iter())
        .filter(|f| f.reversed.is_none())
        .map(|f| f.charged_on);
    let broken = account.promises.iter().filter_map(|p| p.broken_on);
    let holds = account
        .holds
        .iter()
        .filter(|c| c.automatic)
        .map(|c| c.effective_on);
    let cash_only = account
        .cash_only
        .iter()
        .filter(|c| c.automatic)
        .map(|c| c.effective_on);
    fees.chain(broken).chain(holds).chain(cash_only).max()
}

/// The compensations and newly justified decisions that make the account's automatic events
/// equal one walk of the clock over the facts as now known, over `span`. `cause` names the
/// fact that made them necessary (recorded as their reason). Empty when nothing differs.
pub fn reconcile(account: &Account, policy: &Policy, span: Span, cause: &str) -> Vec<Event> {
    reconcile_dated(account, policy, span, cause)
        .into_iter()
        .map(|(_, e)| e)
        .collect()
}

/// [`reconcile`], each event with the day it takes effect (a fee reversal: its fee's
/// `charged_on`), so a caller can cut the answer into appends of whole days.
pub fn reconcile_dated(
    account: &Account,
    policy: &Policy,
    span: Span,
    cause: &str,
) -> Vec<(NaiveDate, Event)> {
    // A fee reversed moves the money that had covered it to unapplied cash, and that money is
    // then a fact the walk sees; so the differences are taken again until there are none
    // (in practice one pass, rarely two).
    let mut state = account.clone();
    let mut out = Vec::new();
    for _pass in 0..RECONCILE_PASSES_MAX {
        let events = reconcile_once(&state, policy, span, cause);
        if events.is_empty() {
            break;
        }
        for (_, e) in &events {
            state.evolve(e);
        }
        out.extend(events);
    }
    // Stable: a later pass's change on the same day still comes after the earlier one's.
    out.sort_by_key(|(on, _)| *on);
    out
}

/// Most passes [`reconcile`] takes before it settles for what it has.
pub const RECONCILE_PASSES_MAX: usize = 8;

fn reconcile_once(
    account: &Account,
    policy: &Policy,
    span: Span,
    cause: &str,
) -> Vec<(NaiveDate, Event)> {
    let Some(from) = first_day(account, span.from) else {
        return Vec::new();
    };
    let end = span.through.max(span.enforce_through);
    if from > end {
        return Vec::new();
    }
    let base = before(account, from);
    let (walked, ideal) = walk(&base, policy, from, span.through, span.enforce_through);

    let mut re = Rewalk {
        work: Some(account.clone()),
        out: Vec::new(),
    };
    reconcile_fees(&mut re, account, &ideal, from, span, cause);
    reconcile_broken_promises(&mut re, account, &ideal, from, span, cause);
    reconcile_status(&mut re, &walked, &ideal, from, span);

    // In the order they take effect (stable: within a day, reversals before charges before
    // promises before status, as emitted).
    let mut out = re.out;
    out.sort_by_key(|(on, _)| *on);
    out
}

/// The account as reconciliation has changed it so far, and the events that changed it, each
/// with the date it takes effect (for the order of the answer).
struct Rewalk {
    work: Option<Account>,
    out: Vec<(NaiveDate, Event)>,
}

impl Rewalk {
    fn emit(&mut self, e: Event) {
        let on = effective_on(&e);
        self.emit_on(on, e);
    }

    fn emit_on(&mut self, on: NaiveDate, e: Event) {
        evolve(&mut self.work, &e);
        self.out.push((on, e));
    }
}

fn reconcile_fees(
    re: &mut Rewalk,
    account: &Account,
    ideal: &[Event],
    from: NaiveDate,
    span: Span,
    cause: &str,
) {
    // Fees: each recorded fee from `from` the walk does not make exactly is reversed; each fee
    // the walk makes that is not recorded is charged.
    let ideal_fees: Vec<&LateFeeCharged> = ideal
        .iter()
        .filter_map(|e| match e {
            Event::LateFeeCharged(f) => Some(f),
            _ => None,
        })
        .collect();
    let mut fee_matched = vec![false; ideal_fees.len()];
    // By (invoice, period): an account may carry thousands of fees.
    let mut by_identity: std::collections::HashMap<(&str, u32), Vec<usize>> =
        std::collections::HashMap::new();
    for (i, f) in ideal_fees.iter().enumerate() {
        by_identity
            .entry((f.invoice_id.as_str(), f.period))
            .or_default()
            .push(i);
    }
    for invoice in &account.invoices {
        for fee in &invoice.extras().fees {
            if fee.reversed.is_some() || fee.charged_on < from || fee.charged_on > span.through {
                continue;
            }
            let found = by_identity
                .get(&(invoice.id.as_str(), fee.period))
                .and_then(|candidates| {
                    candidates.iter().copied().find(|&i| {
                        !fee_matched[i]
                            && ideal_fees[i].amount == fee.amount
                            && ideal_fees[i].charged_on == fee.charged_on
                    })
                });
            if let Some(i) = found {
                fee_matched[i] = true;
                continue;
            }
            let Some(current) = re.work.as_ref().and_then(|w| w.invoice(&invoice.id)) else {
                continue;
            };
            let (unapplied, unapplied_on) = released(current, fee.amount, fee.charged_on);
            // Written at the currency's minor units, like every amount (SPEC §2).
            let unapplied = account.currency.display(unapplied);
            let reversal = LateFeeReversed {
                invoice_id: invoice.id.clone(),
                period: fee.period,
                amount: fee.amount,
                unapplied,
                unapplied_on,
                reason: cause.to_owned(),
                reverses: fee.position,
            };
            re.emit_on(fee.charged_on, reversal.into());
        }
    }
    for (f, matched) in ideal_fees.iter().zip(&fee_matched) {
        if !matched && f.charged_on <= span.adds_through {
            re.emit(Event::LateFeeCharged((*f).clone()));
        }
    }
}

fn reconcile_broken_promises(
    re: &mut Rewalk,
    account: &Account,
    ideal: &[Event],
    from: NaiveDate,
    span: Span,
    cause: &str,
) {
    // Broken promises: the same, by promise, date and shortfall.
    let ideal_broken: Vec<&PromiseBroken> = ideal
        .iter()
        .filter_map(|e| match e {
            Event::PromiseBroken(b) => Some(b),
            _ => None,
        })
        .collect();
    let mut broken_matched = vec![false; ideal_broken.len()];
    for promise in &account.promises {
        let (Some(on), Some(position)) = (promise.broken_on, promise.broken_position) else {
            continue;
        };
        if on < from || on > span.through {
            continue;
        }
        let found = ideal_broken.iter().enumerate().position(|(i, b)| {
            !broken_matched[i]
                && b.promise_id == promise.id
                && b.effective_on == on
                && Some(b.shortfall) == promise.shortfall
        });
        if let Some(i) = found {
            broken_matched[i] = true;
            continue;
        }
        let reinstated = PromiseReinstated {
            promise_id: promise.id.clone(),
            reason: cause.to_owned(),
            reverses: position,
            effective_on: on,
        };
        re.emit(reinstated.into());
    }
    for (b, matched) in ideal_broken.iter().zip(&broken_matched) {
        if !matched && b.effective_on <= span.adds_through {
            re.emit(Event::PromiseBroken((*b).clone()));
        }
    }
}

fn reconcile_status(
    re: &mut Rewalk,
    walked: &Account,
    ideal: &[Event],
    from: NaiveDate,
    span: Span,
) {
    // Cash-only and hold status, day by day: where the recorded status (with what was emitted
    // so far) differs from the walk's, a change effective that day makes it agree — the walk's
    // own event if it changed status that day, else one named `reconciled` that undoes what
    // was recorded. Each change holds until the next recorded one, so the runs line up.
    //
    // After `adds_through` nothing new is decided: a change is emitted only where it brings
    // the recorded status back to what it was on that last day, undoing a change recorded
    // after today that the walk does not make.
    let mut day = from;
    while day <= span.enforce_through {
        let Some(current) = re.work.as_ref() else {
            break;
        };
        let frozen = (day > span.adds_through).then(|| {
            (
                current.cash_only_on(span.adds_through).is_some(),
                hold_key(current.hold_on(span.adds_through)).map(|r| r.map(str::to_owned)),
            )
        });
        let recorded = current.cash_only_on(day).is_some();
        let wanted = walked.cash_only_on(day).is_some();
        let undoes = |frozen_cash: bool| frozen_cash == wanted;
        if recorded != wanted && frozen.as_ref().is_none_or(|(c, _)| undoes(*c)) {
            let own = ideal.iter().rev().find(|e| match e {
                Event::CashOnlyImposed(c) => wanted && c.effective_on == day,
                Event::CashOnlyLifted(c) => !wanted && c.effective_on == day,
                _ => false,
            });
            let e = own.cloned().unwrap_or_else(|| {
                if wanted {
                    CashOnlyImposed {
                        reason: RECONCILED.to_owned(),
                        effective_on: day,
                    }
                    .into()
                } else {
                    CashOnlyLifted { effective_on: day }.into()
                }
            });
            re.emit(e);
        }
        let Some(current) = re.work.as_ref() else {
            break;
        };
        let recorded = hold_key(current.hold_on(day));
        let wanted_hold = walked.hold_on(day);
        let undoes_hold = frozen
            .as_ref()
            .is_none_or(|(_, h)| h.as_ref().map(|r| r.as_deref()) == hold_key(wanted_hold));
        if recorded != hold_key(wanted_hold) && undoes_hold {
            let own = ideal.iter().rev().find(|e| match e {
                Event::AccountHeld(h) => wanted_hold.is_some() && h.effective_on == day,
                Event::AccountReleased(r) => wanted_hold.is_none() && r.effective_on == day,
                _ => false,
            });
            let e = own.cloned().unwrap_or_else(|| match wanted_hold {
                Some(h) => AccountHeld {
                    reason: RECONCILED.to_owned(),
                    rule: h.rule.clone(),
                    manual: false,
                    effective_on: day,
                }
                .into(),
                None => AccountReleased {
                    reason: RECONCILED.to_owned(),
                    manual: false,
                    effective_on: day,
                }
                .into(),
            });
            re.emit(e);
        }
        match day.checked_add_days(Days::new(1)) {
            Some(next) => day = next,
            None => break,
        }
    }
}

/// What distinguishes one hold status from another for reconciliation: held or not, and by
/// which rule (a manual hold has none). The reason is wording, not status.
fn hold_key(hold: Option<&Hold>) -> Option<Option<&str>> {
    hold.map(|h| h.rule.as_deref())
}

/// The date an automatic event takes effect (a fee reversal's is its fee's `charged_on`,
/// which the account knows, not the event).
fn effective_on(event: &Event) -> NaiveDate {
    match event {
        Event::LateFeeCharged(e) => e.charged_on,
        Event::PromiseBroken(e) => e.effective_on,
        Event::PromiseReinstated(e) => e.effective_on,
        Event::AccountHeld(e) => e.effective_on,
        Event::AccountReleased(e) => e.effective_on,
        Event::CashOnlyImposed(e) => e.effective_on,
        Event::CashOnlyLifted(e) => e.effective_on,
        _ => NaiveDate::MIN,
    }
}

/// The account as the clock left it before `from`: every automatic decision in force from
/// `from` on taken out (fees charged from then, broken promises, automatic hold and cash-only
/// changes). Facts people recorded stay, and so does money a fee reversal already released.
pub fn before(account: &Account, from: NaiveDate) -> Account {
    let mut base = account.clone();
    for invoice in &mut base.invoices {
        // Fees reversed stay: they are in force on no date, and the money their reversal moved
        // to unapplied cash has moved (a fact the walk sees, like an application of cash).
        let dropped: Vec<(NaiveDate, Decimal)> = invoice
            .extras()
            .fees
            .iter()
            .filter(|f| f.reversed.is_none() && f.charged_on >= from)
            .map(|f| (f.charged_on, f.amount))
            .collect();
        if dropped.is_empty() {
            continue;
        }
        let extras = invoice.extras_mut();
        extras
            .fees
            .retain(|f| f.reversed.is_some() || f.charged_on < from);
        extras.fee_periods = extras
            .fees
            .iter()
            .filter(|f| f.reversed.is_none())
            .map(|f| f.period)
            .collect();
        for (charged_on, amount) in &dropped {
            let fee = invoice.entries.iter().position(|e| {
                e.kind == crate::invoice::EntryKind::LateFee
                    && e.on == *charged_on
                    && e.change() == *amount
                    && e.until.is_none()
            });
            if let Some(i) = fee {
                let _ = invoice.entries.remove(i);
            }
        }
    }
    for promise in &mut base.promises {
        if promise.broken_on.is_some_and(|b| b >= from) {
            promise.broken_on = None;
            promise.shortfall = None;
            promise.broken_position = None;
        }
    }
    let keep = |c: &StatusChange<Hold>| !(c.automatic && c.effective_on >= from);
    base.holds.retain(keep);
    base.cash_only
        .retain(|c| !(c.automatic && c.effective_on >= from));
    base
}

/// What reversing a fee of `amount` charged on `charged_on` releases to unapplied cash: the
/// most that money on the invoice exceeds what it would owe without the fee on any date, from
/// the first date it does — so that the invoice is never negative on any date.
fn released(
    invoice: &crate::invoice::Invoice,
    amount: Decimal,
    charged_on: NaiveDate,
) -> (Decimal, Option<NaiveDate>) {
    let mut dates: Vec<NaiveDate> = std::iter::once(charged_on)
        .chain(
            invoice
                .entries
                .iter()
                .flat_map(|e| [Some(e.on), e.until])
                .flatten()
                .filter(|t| *t > charged_on),
        )
        .collect();
    dates.sort();
    dates.dedup();
    let mut most = Decimal::ZERO;
    let mut first = None;
    for t in dates {
        let excess = amount.saturating_sub(invoice.open_on(t));
        if excess > Decimal::ZERO {
            first.get_or_insert(t);
            most = most.max(excess);
        }
    }
    (most, first)
}
