//! What a command or a tick appends: its own events, then the reconciliation they make
//! necessary, cut into appends of whole days when it is long. Never the re-walk itself (`mod.rs`).

use chrono::NaiveDate;

use super::{reconcile_dated, Span, CLOCK_CAUSE, RECONCILED, RECONCILE_PASSES_MAX};
use crate::account::{evolve, Account};
use crate::event::*;
use crate::policy::Policy;

/// The reason recorded on the compensations a command causes: the fact, named as a person
/// would (`payment P1 received 2026-10-03`).
pub fn cause_of(events: &[Event]) -> String {
    events
        .iter()
        .find_map(|e| match e {
            Event::PaymentReceived(p) => Some(format!(
                "payment {} received {}",
                p.payment_id, p.received_on
            )),
            Event::PaymentReversed(p) => Some(format!(
                "payment {} reversed {}",
                p.payment_id, p.reversed_on
            )),
            Event::InvoiceIssued(i) => {
                Some(format!("invoice {} issued {}", i.invoice_id, i.issued_on))
            }
            Event::InvoiceDisputed(i) => Some(format!(
                "invoice {} disputed {}",
                i.invoice_id, i.disputed_on
            )),
            Event::DisputeResolved(i) => Some(format!(
                "dispute on invoice {} resolved {}",
                i.invoice_id, i.resolved_on
            )),
            Event::CreditNoteIssued(c) => Some(format!(
                "credit note {} issued {}",
                c.credit_note_id, c.issued_on
            )),
            Event::InvoiceWrittenOff(w) => Some(format!(
                "invoice {} written off {}",
                w.invoice_id, w.written_off_on
            )),
            Event::UnappliedCashApplied(a) => {
                Some(format!("unapplied cash applied {}", a.applied_on))
            }
            Event::PaymentPromised(p) => {
                Some(format!("promise {} made {}", p.promise_id, p.made_on))
            }
            Event::PaymentPlanAgreed(p) => {
                Some(format!("plan {} agreed {}", p.plan_id, p.agreed_on))
            }
            Event::AccountHeld(h) if h.manual => Some(format!("held {}", h.effective_on)),
            Event::AccountReleased(r) if r.manual => Some(format!("released {}", r.effective_on)),
            _ => None,
        })
        .unwrap_or_else(|| RECONCILED.to_owned())
}

/// Decides a command and reconciles the account with it (SPEC §5): the command's events, then
/// the compensations and decisions it makes necessary, all for one append.
///
/// `clock` is the last day the clock walked for the account (`None`: never). A fact dated on or
/// before it re-walks the account from its date through `clock`; and once the clock has walked
/// through yesterday, hold rules and the end of cash-only status follow the command through
/// today. An account whose clock is further behind waits for its tick.
pub fn execute(
    state: Option<&Account>,
    command: &crate::command::Command,
    ctx: &crate::context::Context,
    clock: Option<NaiveDate>,
) -> Result<Vec<Event>, crate::error::DomainError> {
    Ok(execute_planned(state, command, ctx, clock)?.events())
}

/// What [`execute_planned`] decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Executed {
    /// The command's own events.
    pub own: Vec<Event>,
    /// Then the compensations (and decisions newly justified) they make necessary, in the
    /// order they apply, each with the day it takes effect.
    pub compensations: Vec<(NaiveDate, Event)>,
    /// When the command reconciled: the first day re-walked and the cause named on the
    /// compensations — what a caller that spreads them over several appends records first, so
    /// that [`repair_dated`] finishes the work after a crash between them.
    pub reconciled: Option<Pending>,
}

/// Reconciliation still owed to an account: from which day, and the cause its compensations
/// name (docs/decisions/0012-compensations-beyond-one-append.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub from: NaiveDate,
    pub cause: String,
}

impl Pending {
    /// `2026-04-02 payment P1 received 2026-04-02`: how the service keeps it in the store's meta.
    pub fn encode(&self) -> String {
        format!("{} {}", self.from, self.cause)
    }

    /// The inverse of [`Pending::encode`]; `None` for anything else.
    pub fn decode(text: &str) -> Option<Pending> {
        let (from, cause) = text.split_once(' ').unwrap_or((text, RECONCILED));
        Some(Pending {
            from: from.parse().ok()?,
            cause: cause.to_owned(),
        })
    }
}

/// [`execute`], saying which events are the command's own and what it reconciled.
pub fn execute_planned(
    state: Option<&Account>,
    command: &crate::command::Command,
    ctx: &crate::context::Context,
    clock: Option<NaiveDate>,
) -> Result<Executed, crate::error::DomainError> {
    let events = crate::decide::decide(state, command, ctx)?;
    let unreconciled = |own| Executed {
        own,
        compensations: Vec::new(),
        reconciled: None,
    };
    let Some(mark) = clock else {
        return Ok(unreconciled(events));
    };
    if events.is_empty() {
        return Ok(unreconciled(events));
    }
    let mut after = state.cloned();
    for e in &events {
        evolve(&mut after, e);
    }
    let Some(after) = after else {
        return Ok(unreconciled(events));
    };
    let fact_on = events.iter().filter_map(Event::business_date).min();
    let follows = ctx
        .today
        .pred_opt()
        .is_some_and(|yesterday| mark >= yesterday);
    let next = mark.succ_opt().unwrap_or(mark);
    let from = match (fact_on, follows) {
        (Some(on), true) => on.min(next),
        (Some(on), false) => on,
        (None, true) => next,
        (None, false) => return Ok(unreconciled(events)),
    };
    let pending = Pending {
        from,
        cause: cause_of(&events),
    };
    Ok(Executed {
        compensations: reconcile_with_kept(&after, ctx.policy, &pending, mark, ctx.today),
        own: events,
        reconciled: Some(pending),
    })
}

impl Executed {
    /// Every event, the command's own first: what one append records.
    pub fn events(self) -> Vec<Event> {
        let mut events = self.own;
        events.extend(self.compensations.into_iter().map(|(_, e)| e));
        events
    }
}

/// The span a command (or the repair of one) reconciles: from `from` through the clock mark;
/// hold rules through today once the clock has walked through yesterday; widened over
/// automatic events recorded after today, which are compensated but never added to.
fn command_span(account: &Account, from: NaiveDate, mark: NaiveDate, today: NaiveDate) -> Span {
    let follows = today.pred_opt().is_some_and(|yesterday| mark >= yesterday);
    Span {
        from,
        through: mark,
        enforce_through: if follows { today.max(mark) } else { mark },
        adds_through: today,
    }
    .over_recorded(account)
}

/// Reconciles `account` from `pending.from` as a command does, and keeps the promises the
/// reconciled payments now cover: each event with the day it takes effect.
fn reconcile_with_kept(
    account: &Account,
    policy: &Policy,
    pending: &Pending,
    mark: NaiveDate,
    today: NaiveDate,
) -> Vec<(NaiveDate, Event)> {
    let span = command_span(account, pending.from, mark, today);
    let mut after = account.clone();
    let mut out = Vec::new();
    // A promise reinstated is kept by the payment that reinstated it, and a kept promise no
    // longer suspends fees and holds: that `PromiseKept` is reconciled in turn.
    for _pass in 0..RECONCILE_PASSES_MAX {
        let compensations = reconcile_dated(&after, policy, span, &pending.cause);
        if compensations.is_empty() {
            break;
        }
        for (_, e) in &compensations {
            after.evolve(e);
        }
        out.extend(compensations);
        let kept = crate::decide::promises_kept(&after, policy, pending.from);
        if kept.is_empty() {
            break;
        }
        for e in kept {
            after.evolve(&e);
            let on = match &e {
                Event::PromiseKept(k) => k.kept_on,
                _ => pending.from,
            };
            out.push((on, e));
        }
    }
    out
}

/// The reconciliation an interrupted command still owes (its compensations did not fit in one
/// append and the process stopped between appends): the compensations that make the account
/// agree with one walk of the clock from `pending.from`, each with the day it takes effect.
/// Empty when nothing is owed (also when the account's clock never ran).
pub fn repair_dated(
    account: &Account,
    policy: &Policy,
    pending: &Pending,
    clock: Option<NaiveDate>,
    today: NaiveDate,
) -> Vec<(NaiveDate, Event)> {
    match clock {
        Some(mark) => reconcile_with_kept(account, policy, pending, mark, today),
        None => Vec::new(),
    }
}

/// The clock through `date` for an account whose clock last walked `clock` (`None`: never):
/// the automatic events to append, reconciled with what is recorded. A date after `today` is
/// refused: the clock never runs ahead of today (SPEC §5).
pub fn tick(
    account: &Account,
    policy: &Policy,
    clock: Option<NaiveDate>,
    date: NaiveDate,
    today: NaiveDate,
) -> Result<Vec<Event>, crate::error::DomainError> {
    Ok(tick_dated(account, policy, clock, date, today)?
        .into_iter()
        .map(|(_, e)| e)
        .collect())
}

/// [`tick`], each event with the day it takes effect, in that order.
pub fn tick_dated(
    account: &Account,
    policy: &Policy,
    clock: Option<NaiveDate>,
    date: NaiveDate,
    today: NaiveDate,
) -> Result<Vec<(NaiveDate, Event)>, crate::error::DomainError> {
    check_tick_date(date, today)?;
    let from = clock
        .and_then(|mark| mark.succ_opt())
        .unwrap_or(account.opened_on);
    Ok(reconcile_dated(
        account,
        policy,
        Span::new(from, date, date),
        CLOCK_CAUSE,
    ))
}

/// `VALIDATION` for a tick after today.
pub fn check_tick_date(date: NaiveDate, today: NaiveDate) -> Result<(), crate::error::DomainError> {
    if date > today {
        return Err(crate::error::DomainError::invalid(
            "date",
            date,
            &format!("is after today ({today}): the clock never runs ahead of today"),
        ));
    }
    Ok(())
}
