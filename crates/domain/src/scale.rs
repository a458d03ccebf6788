//! Every amount of an event written at exactly its currency's minor units (SPEC §2 "amounts as
//! shown"): `"3000"` given for a RON invoice is recorded as `3000.00`.
//!
//! Applied once, to the events `decide` returns, so that no command can record an amount in any
//! other form; the clock's amounts come from `Currency::round`, which writes them at scale too.
//! Padding never changes a value (`3000 == 3000.00`): only how it is written in events, exports
//! and answers.

use rust_decimal::Decimal;

use crate::event::Event;
use crate::money::Currency;

/// `event` with each of its amounts at `currency`'s minor units.
pub fn at_scale(currency: &Currency, mut event: Event) -> Event {
    let s = |v: &mut Decimal| *v = currency.display(*v);
    match &mut event {
        Event::AccountOpened(e) => s(&mut e.credit_limit),
        Event::CreditLimitChanged(e) => s(&mut e.new_limit),
        Event::InvoiceIssued(e) => s(&mut e.amount),
        Event::CreditNoteIssued(e) => s(&mut e.amount),
        Event::LateFeeCharged(e) => s(&mut e.amount),
        Event::InvoiceWrittenOff(e) => s(&mut e.amount),
        Event::PaymentReceived(e) => {
            s(&mut e.amount);
            s(&mut e.unapplied);
            for a in &mut e.allocations {
                s(&mut a.amount);
                s(&mut a.discount);
            }
        }
        Event::UnappliedCashApplied(e) => {
            for a in &mut e.allocations {
                s(&mut a.amount);
            }
        }
        Event::PaymentPromised(e) => s(&mut e.amount),
        Event::PaymentPlanAgreed(e) => {
            for i in &mut e.installments {
                s(&mut i.amount);
            }
        }
        Event::PromiseBroken(e) => s(&mut e.shortfall),
        Event::LateFeeReversed(e) => {
            s(&mut e.amount);
            s(&mut e.unapplied);
        }
        // Events without amounts. Listed by name so that a new event with an amount is a
        // compile error here until it is handled.
        Event::TermsChanged(_)
        | Event::ContactDetailsUpdated(_)
        | Event::ContactDetailsVerified(_)
        | Event::SalesRepAssigned(_)
        | Event::InvoiceDelivered(_)
        | Event::InvoiceDisputed(_)
        | Event::DisputeResolved(_)
        | Event::PaymentReversed(_)
        | Event::ReminderSent(_)
        | Event::CallLogged(_)
        | Event::SalesRepNotified(_)
        | Event::PromiseKept(_)
        | Event::PromiseReinstated(_)
        | Event::AccountHeld(_)
        | Event::AccountReleased(_)
        | Event::CashOnlyImposed(_)
        | Event::CashOnlyLifted(_)
        | Event::Escalated(_)
        | Event::PolicyAdopted(_) => {}
    }
    event
}
