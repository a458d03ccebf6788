//! Property tests over random command sequences (SPEC §4, §5, §7): money is conserved per
//! invoice on every date, no invoice or unapplied balance is ever negative, rejected commands
//! change nothing, replay rebuilds the state, and the clock is the same ticked daily or once and
//! emits nothing the second time.
//!
//! Each case plays a few accounts' worth of plausible commands with dates in a two-month window,
//! so back-dated facts, discounts, reversals, disputes, promises and ticks interact.

use std::collections::BTreeSet;

use chrono::{Days, NaiveDate};
use domain::command::*;
use domain::event::{Application, Terms};
use domain::{tick, Account, Command, ErrorKind, Event, InvoiceId};
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::support::*;

const INVOICES: u8 = 4;
const PAYMENTS: u8 = 6;
const IDS: u8 = 4;

fn window_start() -> NaiveDate {
    d("2026-03-01")
}

fn opened_on() -> NaiveDate {
    d("2026-02-01")
}

/// The last day the clock runs to in the tick properties: long enough for every rule to fire.
fn horizon() -> NaiveDate {
    d("2026-08-31")
}

fn day(n: u8) -> NaiveDate {
    window_start() + Days::new(u64::from(n))
}

fn cents(n: i64) -> Decimal {
    Decimal::new(n, 2)
}

#[derive(Clone, Debug)]
enum Op {
    Issue {
        inv: u8,
        cents: i64,
        day: u8,
        due_after: u8,
        overridden: bool,
    },
    Pay {
        pay: u8,
        cents: i64,
        day: u8,
        to: Option<Vec<(u8, i64)>>,
    },
    CreditNote {
        id: u8,
        inv: u8,
        cents: i64,
        day: u8,
    },
    WriteOff {
        inv: u8,
        day: u8,
    },
    Reverse {
        pay: u8,
        day: u8,
    },
    Apply {
        inv: u8,
        cents: i64,
        day: u8,
    },
    /// A dispute, and maybe its resolution some days later.
    Dispute {
        inv: u8,
        day: u8,
        resolve_after: Option<u8>,
    },
    Resolve {
        inv: u8,
        day: u8,
    },
    Promise {
        id: u8,
        cents: i64,
        day: u8,
        after: u8,
    },
    /// A plan of installments every `every` days from `day + every`.
    Plan {
        id: u8,
        cents: i64,
        count: u8,
        day: u8,
        every: u8,
    },
    Hold {
        day: u8,
    },
    Release {
        day: u8,
    },
    Tick {
        day: u8,
    },
}

fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![1i64..=200_000, Just(100_000), Just(50_000), 1i64..=100]
}

/// Corrections and applications: usually a part of an invoice, so they often fit.
fn small_amount() -> impl Strategy<Value = i64> {
    prop_oneof![1i64..=30_000, 1i64..=100]
}

fn issue_op() -> impl Strategy<Value = Op> {
    (
        0..INVOICES,
        amount(),
        0u8..60,
        0u8..40,
        proptest::bool::weighted(0.3),
    )
        .prop_map(|(inv, cents, day, due_after, overridden)| Op::Issue {
            inv,
            cents,
            day,
            due_after,
            overridden,
        })
}

fn op() -> impl Strategy<Value = Op> {
    let inv = 0..INVOICES;
    let pay = 0..PAYMENTS;
    let dayn = 0u8..60;
    prop_oneof![
        3 => issue_op(),
        5 => (pay.clone(), amount(), dayn.clone(), proptest::option::of(proptest::collection::vec((0..INVOICES, small_amount()), 0..3)))
            .prop_map(|(pay, cents, day, to)| Op::Pay { pay, cents, day, to }),
        3 => (0..IDS, inv.clone(), small_amount(), dayn.clone())
            .prop_map(|(id, inv, cents, day)| Op::CreditNote { id, inv, cents, day }),
        1 => (inv.clone(), dayn.clone()).prop_map(|(inv, day)| Op::WriteOff { inv, day }),
        2 => (pay, dayn.clone()).prop_map(|(pay, day)| Op::Reverse { pay, day }),
        3 => (inv.clone(), small_amount(), dayn.clone()).prop_map(|(inv, cents, day)| Op::Apply { inv, cents, day }),
        2 => (inv.clone(), dayn.clone(), proptest::option::of(0u8..30))
            .prop_map(|(inv, day, resolve_after)| Op::Dispute { inv, day, resolve_after }),
        2 => (inv, dayn.clone()).prop_map(|(inv, day)| Op::Resolve { inv, day }),
        2 => (0..IDS, amount(), dayn.clone(), 0u8..15)
            .prop_map(|(id, cents, day, after)| Op::Promise { id, cents, day, after }),
        1 => (0..IDS, small_amount(), 1u8..4, dayn.clone(), 1u8..20)
            .prop_map(|(id, cents, count, day, every)| Op::Plan { id, cents, count, day, every }),
        1 => dayn.clone().prop_map(|day| Op::Hold { day }),
        1 => dayn.clone().prop_map(|day| Op::Release { day }),
        2 => dayn.prop_map(|day| Op::Tick { day }),
    ]
}

/// A few invoices first, then anything: so most commands have something to work on.
fn account_ops() -> impl Strategy<Value = Vec<Op>> {
    (
        proptest::collection::vec(issue_op(), 1..5),
        proptest::collection::vec(op(), 1..40),
    )
        .prop_map(|(mut issues, rest)| {
            issues.extend(rest);
            issues
        })
}

fn id<T: TryFrom<String>>(prefix: &str, n: u8) -> T
where
    T::Error: std::fmt::Debug,
{
    T::try_from(format!("{prefix}{n}")).unwrap()
}

fn customer() -> domain::CustomerId {
    domain::CustomerId::parse(CUSTOMER).unwrap()
}

fn open_command() -> Command {
    Command::OpenAccount(OpenAccount {
        customer_id: customer(),
        name: "Random".to_owned(),
        currency: "EUR".to_owned(),
        // Small enough for probation (×0.25) and over-limit holds to matter.
        credit_limit: m("4000.00"),
        terms: Terms {
            net_days: 30,
            discount_percent: Some(m("2")),
            discount_days: Some(10),
        },
        opened_on: opened_on(),
        contacts: Default::default(),
        sales_rep: None,
    })
}

/// The steps an op stands for: one, or a dispute and its resolution.
fn to_steps(op: &Op) -> Vec<Step> {
    match *op {
        Op::Dispute {
            inv,
            day: t,
            resolve_after: Some(after),
        } => vec![
            to_step(&Op::Dispute {
                inv,
                day: t,
                resolve_after: None,
            }),
            to_step(&Op::Resolve {
                inv,
                day: t.saturating_add(after),
            }),
        ],
        _ => vec![to_step(op)],
    }
}

fn to_step(op: &Op) -> Step {
    let c = customer();
    let command = match op.clone() {
        Op::Issue {
            inv,
            cents: n,
            day: t,
            due_after,
            overridden,
        } => Command::IssueInvoice(IssueInvoice {
            customer_id: c,
            invoice_id: id("I", inv),
            amount: cents(n),
            issued_on: day(t),
            due_on: Some(day(t) + Days::new(u64::from(due_after))),
            terms: None,
            reference: None,
            override_reason: overridden.then(|| "prepaid".to_owned()),
        }),
        Op::Pay {
            pay,
            cents: n,
            day: t,
            to,
        } => Command::RecordPayment(RecordPayment {
            customer_id: c,
            payment_id: id("P", pay),
            amount: cents(n),
            received_on: day(t),
            method: "transfer".to_owned(),
            allocations: to.map(|list| {
                list.into_iter()
                    .map(|(inv, n)| AllocationRequest {
                        invoice_id: id("I", inv),
                        amount: cents(n),
                    })
                    .collect()
            }),
        }),
        Op::CreditNote {
            id: n,
            inv,
            cents: a,
            day: t,
        } => Command::IssueCreditNote(IssueCreditNote {
            customer_id: c,
            credit_note_id: id("CN", n),
            invoice_id: id("I", inv),
            amount: cents(a),
            reason: "correction".to_owned(),
            issued_on: day(t),
        }),
        Op::WriteOff { inv, day: t } => Command::WriteOffInvoice(WriteOffInvoice {
            customer_id: c,
            invoice_id: id("I", inv),
            written_off_on: Some(day(t)),
            reason: "uncollectable".to_owned(),
        }),
        Op::Reverse { pay, day: t } => Command::ReversePayment(ReversePayment {
            customer_id: c,
            payment_id: id("P", pay),
            reversed_on: Some(day(t)),
            reason: "bounced".to_owned(),
        }),
        Op::Apply {
            inv,
            cents: n,
            day: t,
        } => Command::ApplyUnappliedCash(ApplyUnappliedCash {
            customer_id: c,
            allocations: vec![Application {
                invoice_id: id("I", inv),
                amount: cents(n),
            }],
            applied_on: Some(day(t)),
        }),
        Op::Dispute { inv, day: t, .. } => Command::RaiseDispute(RaiseDispute {
            customer_id: c,
            invoice_id: id("I", inv),
            reason: "damaged".to_owned(),
            disputed_on: Some(day(t)),
        }),
        Op::Resolve { inv, day: t } => Command::ResolveDispute(ResolveDispute {
            customer_id: c,
            invoice_id: id("I", inv),
            outcome: "resolved".to_owned(),
            resolved_on: Some(day(t)),
        }),
        Op::Promise {
            id: n,
            cents: a,
            day: t,
            after,
        } => Command::RecordPromise(RecordPromise {
            customer_id: c,
            promise_id: id("PR", n),
            amount: cents(a),
            promised_on: day(t) + Days::new(u64::from(after)),
            invoice_ids: Vec::new(),
            made_on: Some(day(t)),
            made_at: None,
            via: "call".to_owned(),
        }),
        Op::Plan {
            id: n,
            cents: a,
            count,
            day: t,
            every,
        } => Command::AgreePaymentPlan(AgreePaymentPlan {
            customer_id: c,
            plan_id: id("PL", n),
            installments: (1..=count)
                .map(|k| domain::event::Installment {
                    promise_id: id(&format!("PL{n}-"), k),
                    amount: cents(a),
                    promised_on: day(t) + Days::new(u64::from(every) * u64::from(k)),
                })
                .collect(),
            agreed_on: Some(day(t)),
        }),
        Op::Hold { day: t } => Command::HoldAccount(HoldAccount {
            customer_id: c,
            reason: "manual".to_owned(),
            effective_on: Some(day(t)),
        }),
        Op::Release { day: t } => Command::ReleaseAccount(ReleaseAccount {
            customer_id: c,
            reason: "manual".to_owned(),
            effective_on: Some(day(t)),
        }),
        Op::Tick { day: t } => return Step::Tick(day(t)),
    };
    Step::Do(command)
}

// ---- Invariants, derived from the recorded events alone ---------------------------------------

/// Every business date the events mention, and the day before each: money only moves on them.
fn dates_of(events: &[Event]) -> BTreeSet<NaiveDate> {
    let mut dates = BTreeSet::new();
    for e in events {
        let on = match e {
            Event::InvoiceIssued(e) => vec![e.issued_on, e.due_on],
            Event::CreditNoteIssued(e) => vec![e.issued_on],
            Event::LateFeeCharged(e) => vec![e.charged_on],
            Event::InvoiceWrittenOff(e) => vec![e.written_off_on],
            Event::PaymentReceived(e) => vec![e.received_on],
            Event::PaymentReversed(e) => vec![e.reversed_on],
            Event::UnappliedCashApplied(e) => vec![e.applied_on],
            Event::LateFeeReversed(e) => e.unapplied_on.into_iter().collect(),
            _ => vec![],
        };
        for t in on {
            dates.insert(t);
            if let Some(before) = t.pred_opt() {
                dates.insert(before);
            }
        }
    }
    dates.insert(horizon());
    dates
}

fn reversed_on(events: &[Event], payment: &domain::PaymentId) -> Option<NaiveDate> {
    events.iter().find_map(|e| match e {
        Event::PaymentReversed(r) if &r.payment_id == payment => Some(r.reversed_on),
        _ => None,
    })
}

/// The terms of SPEC §7's open amount for one invoice as of `on`, summed from the events.
#[derive(Debug, Default, PartialEq)]
struct Ledger {
    issued: Decimal,
    fees: Decimal,
    allocated: Decimal,
    discounts: Decimal,
    applied: Decimal,
    credit_notes: Decimal,
    written_off: Decimal,
    /// Money moved off the invoice to unapplied cash by fee reversals.
    released: Decimal,
}

/// The fee a `LateFeeReversed` names: the event at its position (in these histories, an
/// account's events are the log and positions count them from 1).
fn reversed_fee(events: &[Event], reverses: u64) -> Option<&domain::event::LateFeeCharged> {
    let index = usize::try_from(reverses).ok()?.checked_sub(1)?;
    match events.get(index) {
        Some(Event::LateFeeCharged(f)) => Some(f),
        _ => None,
    }
}

fn terms_on(events: &[Event], invoice: &InvoiceId, on: NaiveDate) -> Ledger {
    let mut l = Ledger::default();
    for e in events {
        match e {
            Event::InvoiceIssued(e) if &e.invoice_id == invoice && e.issued_on <= on => {
                l.issued += e.amount;
            }
            Event::LateFeeCharged(e) if &e.invoice_id == invoice && e.charged_on <= on => {
                l.fees += e.amount;
            }
            Event::LateFeeReversed(r) if &r.invoice_id == invoice => {
                let fee = reversed_fee(events, r.reverses).expect("a reversal names a fee");
                assert_eq!((&fee.invoice_id, fee.amount), (invoice, r.amount));
                if fee.charged_on <= on {
                    l.fees -= r.amount;
                }
                if r.unapplied_on.is_some_and(|u| u <= on) {
                    l.released += r.unapplied;
                }
            }
            Event::PaymentReceived(p) if p.received_on <= on => {
                if reversed_on(events, &p.payment_id).is_some_and(|r| r <= on) {
                    continue;
                }
                for a in p.allocations.iter().filter(|a| &a.invoice_id == invoice) {
                    l.allocated += a.amount;
                    l.discounts += a.discount;
                }
            }
            Event::UnappliedCashApplied(e) if e.applied_on <= on => {
                for a in e.allocations.iter().filter(|a| &a.invoice_id == invoice) {
                    l.applied += a.amount;
                }
            }
            Event::CreditNoteIssued(e) if &e.invoice_id == invoice && e.issued_on <= on => {
                l.credit_notes += e.amount;
            }
            Event::InvoiceWrittenOff(e) if &e.invoice_id == invoice && e.written_off_on <= on => {
                l.written_off += e.amount;
            }
            _ => {}
        }
    }
    l
}

fn unapplied_from_events(events: &[Event], on: NaiveDate) -> Decimal {
    let mut total = Decimal::ZERO;
    for e in events {
        match e {
            Event::PaymentReceived(p)
                if p.received_on <= on
                    && reversed_on(events, &p.payment_id).is_none_or(|r| r > on) =>
            {
                total += p.unapplied;
            }
            Event::UnappliedCashApplied(a) if a.applied_on <= on => {
                total -= a.allocations.iter().map(|x| x.amount).sum::<Decimal>();
            }
            Event::LateFeeReversed(r) if r.unapplied_on.is_some_and(|u| u <= on) => {
                total += r.unapplied;
            }
            _ => {}
        }
    }
    total
}

/// Money is conserved per invoice on every date, nothing is negative, and the events say the
/// same as the aggregate.
fn assert_invariants(events: &[Event], account: &Account) -> Result<(), TestCaseError> {
    let dates = dates_of(events);
    for e in events {
        if let Event::PaymentReceived(p) = e {
            let allocated: Decimal = p.allocations.iter().map(|a| a.amount).sum();
            prop_assert_eq!(
                allocated + p.unapplied,
                p.amount,
                "payment {}",
                p.payment_id
            );
            prop_assert!(p.unapplied >= Decimal::ZERO);
            for a in &p.allocations {
                prop_assert!(a.amount >= Decimal::ZERO && a.discount >= Decimal::ZERO);
            }
        }
    }
    for invoice in &account.invoices {
        for &on in &dates {
            let t = terms_on(events, &invoice.id, on);
            let open = invoice.open_on(on);
            prop_assert!(
                open >= Decimal::ZERO,
                "{} is {} on {}",
                invoice.id,
                open,
                on
            );
            prop_assert!(t.fees >= Decimal::ZERO, "fees {} on {}", t.fees, on);
            prop_assert_eq!(
                t.issued + t.fees + t.released,
                t.allocated + t.discounts + t.applied + t.credit_notes + t.written_off + open,
                "money not conserved on {} for {}: {:?}, open {}",
                on,
                invoice.id,
                t,
                open
            );
        }
    }
    for &on in &dates {
        let unapplied = account.unapplied_on(on);
        prop_assert!(
            unapplied >= Decimal::ZERO,
            "unapplied {} on {}",
            unapplied,
            on
        );
        prop_assert_eq!(
            unapplied,
            unapplied_from_events(events, on),
            "unapplied on {}",
            on
        );
    }
    Ok(())
}

type NetFee = (String, u32, Decimal, NaiveDate);

/// The fees in force (charged and not reversed) charged on or before `through`.
fn net_fees(account: &Account, through: NaiveDate) -> Vec<NetFee> {
    let mut fees: Vec<NetFee> = account
        .invoices
        .iter()
        .flat_map(|i| {
            i.extras()
                .fees
                .iter()
                .filter(|f| f.reversed.is_none() && f.charged_on <= through)
                .map(|f| (i.id.to_string(), f.period, f.amount, f.charged_on))
        })
        .collect();
    fees.sort();
    fees
}

fn net_broken(account: &Account, through: NaiveDate) -> Vec<(String, NaiveDate, Option<Decimal>)> {
    account
        .promises
        .iter()
        .filter(|p| p.broken_on.is_some_and(|b| b <= through))
        .map(|p| (p.id.to_string(), p.broken_on.unwrap(), p.shortfall))
        .collect()
}

/// SPEC §5, the rule in one line: the account's automatic events net of their compensations
/// are exactly what one walk of the clock over the facts as now known emits through the last
/// day the clock walked — same fees (amounts and dates), same broken promises, the same hold
/// and cash-only status on every day.
fn assert_reconciled(ledger: &crate::support::Ledger<'_>) -> Result<(), TestCaseError> {
    let Some(mark) = ledger.clock else {
        return Ok(());
    };
    let account = ledger.account();
    let base = domain::reconcile::before(account, account.opened_on);
    let (walked, _) = domain::clock::walk(&base, ledger.policy, account.opened_on, mark, mark);
    prop_assert_eq!(net_fees(account, mark), net_fees(&walked, mark), "fees");
    prop_assert_eq!(
        net_broken(account, mark),
        net_broken(&walked, mark),
        "broken promises"
    );
    let mut on = account.opened_on;
    while on <= mark {
        prop_assert_eq!(
            account.hold_on(on).map(|h| h.rule.clone()),
            walked.hold_on(on).map(|h| h.rule.clone()),
            "hold on {}",
            on
        );
        prop_assert_eq!(
            account.cash_only_on(on).is_some(),
            walked.cash_only_on(on).is_some(),
            "cash-only on {}",
            on
        );
        on = on.succ_opt().unwrap();
    }
    Ok(())
}

/// `Account::exposure_steps` against `Account::exposure_on` (as numbers, and as shown: the
/// walk's own scale depends on the order it adds in), on every day from five days before the first date the
/// events name to five days after the last, and on `NaiveDate::MIN` and `MAX`.
fn assert_exposure_steps_equal_the_walk(
    events: &[Event],
    account: &Account,
) -> Result<(), TestCaseError> {
    let steps = account.exposure_steps();
    prop_assert!(steps.is_some(), "amounts within 10^15 always get an index");
    let steps = steps.unwrap();
    let dates = dates_of(events);
    let first = (*dates.first().unwrap()).min(account.opened_on) - Days::new(5);
    let last = *dates.last().unwrap() + Days::new(5);
    let mut on = first;
    let mut every = vec![NaiveDate::MIN, NaiveDate::MAX];
    while on <= last {
        every.push(on);
        on = on.succ_opt().unwrap();
    }
    for on in every {
        let (indexed, walked) = (steps.on(on), account.exposure_on(on));
        prop_assert_eq!(indexed, walked, "exposure on {}", on);
        // And the same text where it is shown (a negative zero would show as `-0.00`).
        prop_assert_eq!(
            account.currency.display(indexed).to_string(),
            account.currency.display(walked).to_string(),
            "exposure shown on {}",
            on
        );
    }
    Ok(())
}

fn replay(events: &[Event]) -> Option<Account> {
    let mut state = None;
    for e in events {
        domain::evolve(&mut state, e);
    }
    state
}

/// Plays one account's commands, checking the invariants after every step.
fn play(ops: &[Op]) -> Result<crate::support::Ledger<'static>, TestCaseError> {
    let mut ledger = crate::support::Ledger::new(default_policy());
    ledger.run(&Step::Do(open_command())).unwrap();
    for step in ops.iter().flat_map(to_steps) {
        let before = ledger.state.clone();
        let events_before = ledger.events.len();
        match ledger.run(&step) {
            Ok(_) => {
                assert_invariants(&ledger.events, ledger.account())?;
                assert_reconciled(&ledger)?;
            }
            Err(e) => {
                prop_assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::Validation
                            | ErrorKind::NotFound
                            | ErrorKind::Conflict
                            | ErrorKind::InvalidState
                    ),
                    "{:?}",
                    e
                );
                prop_assert_eq!(
                    &ledger.state,
                    &before,
                    "a rejected command changed the state"
                );
                prop_assert_eq!(ledger.events.len(), events_before);
                // Asking again gives the same answer: the decision is a function of its inputs.
                prop_assert_eq!(ledger.peek(&step), Err(e));
            }
        }
    }
    Ok(ledger)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn money_is_conserved_and_never_negative(accounts in proptest::collection::vec(account_ops(), 1..=3)) {
        for ops in &accounts {
            play(ops)?;
        }
    }

    #[test]
    fn replaying_the_events_rebuilds_the_same_state(accounts in proptest::collection::vec(account_ops(), 1..=3)) {
        for ops in &accounts {
            let ledger = play(ops)?;
            prop_assert_eq!(replay(&ledger.events), ledger.state);
        }
    }

    #[test]
    fn ticking_daily_gives_the_same_events_as_ticking_once(ops in account_ops()) {
        let ledger = play(&ops)?;
        let policy = default_policy();
        let account = ledger.account().clone();
        let once = tick(&account, policy, account.opened_on, horizon());

        let mut state = Some(account.clone());
        let mut daily = Vec::new();
        let mut on = account.opened_on;
        while on <= horizon() {
            let events = tick(state.as_ref().unwrap(), policy, on, on);
            for e in &events {
                domain::evolve(&mut state, e);
            }
            daily.extend(events);
            on = on.succ_opt().unwrap();
        }
        prop_assert_eq!(&daily, &once);

        // Every clock event is effective on a day of the walk, in order.
        let effective: Vec<NaiveDate> = once.iter().filter_map(effective_on).collect();
        prop_assert!(effective.windows(2).all(|w| w[0] <= w[1]), "{:?}", effective);

        // What the clock adds keeps the books whole.
        let mut events = ledger.events.clone();
        events.extend(once.iter().cloned());
        assert_invariants(&events, state.as_ref().unwrap())?;
    }

    /// SPEC §5: the clock's decision for a day depends only on the facts dated on or before it,
    /// so facts recorded later but dated after the day change nothing up to it.
    #[test]
    fn clock_decides_a_day_on_the_facts_dated_up_to_it(ops in account_ops(), cut in 0u8..90) {
        let ledger = play(&ops)?;
        let policy = default_policy();
        let cut = day(cut);
        let account = ledger.account();
        let known: Vec<Event> = ledger
            .events
            .iter()
            .filter(|e| !e.is_automatic() && business_date(e).is_none_or(|on| on <= cut))
            .cloned()
            .collect();
        let earlier = replay(&known);
        let earlier = earlier.as_ref().unwrap();
        // What one walk over the facts decides through `cut`, with nothing automatic recorded.
        let ideal = |a: &Account| {
            let base = domain::reconcile::before(a, a.opened_on);
            domain::clock::walk(&base, policy, a.opened_on, cut, cut).1
        };
        let facts_only = replay(
            &ledger.events.iter().filter(|e| !e.is_automatic()).cloned().collect::<Vec<_>>(),
        );
        prop_assert_eq!(ideal(facts_only.as_ref().unwrap()), ideal(earlier));
        let _ = account;
    }

    /// The exposure index answers what the walk answers on every date
    /// around the facts and on the first and last dates there are; before and after the clock
    /// has charged (and reconciliation reversed) late fees through the horizon.
    #[test]
    fn exposure_steps_equal_the_walk_on_every_date(ops in account_ops()) {
        let ledger = play(&ops)?;
        let account = ledger.account();
        assert_exposure_steps_equal_the_walk(&ledger.events, account)?;
        let mut state = ledger.state.clone();
        let mut events = ledger.events.clone();
        for e in tick(account, default_policy(), account.opened_on, horizon()) {
            domain::evolve(&mut state, &e);
            events.push(e);
        }
        assert_exposure_steps_equal_the_walk(&events, state.as_ref().unwrap())?;
    }

    #[test]
    fn ticking_twice_emits_nothing_new(ops in account_ops()) {
        let ledger = play(&ops)?;
        let policy = default_policy();
        let mut state = ledger.state.clone();
        let account = ledger.account();
        let first = tick(account, policy, account.opened_on, horizon());
        for e in &first {
            domain::evolve(&mut state, e);
        }
        let after = state.as_ref().unwrap();
        prop_assert_eq!(tick(after, policy, after.opened_on, horizon()), Vec::<Event>::new());
        prop_assert_eq!(tick(after, policy, d("2026-04-01"), horizon()), Vec::<Event>::new());
    }
}

/// The business date an event takes effect on, for the ones the clock may look at.
fn business_date(e: &Event) -> Option<NaiveDate> {
    match e {
        Event::AccountOpened(e) => Some(e.opened_on),
        Event::InvoiceIssued(e) => Some(e.issued_on),
        Event::CreditNoteIssued(e) => Some(e.issued_on),
        Event::InvoiceWrittenOff(e) => Some(e.written_off_on),
        Event::PaymentReceived(e) => Some(e.received_on),
        Event::PaymentReversed(e) => Some(e.reversed_on),
        Event::UnappliedCashApplied(e) => Some(e.applied_on),
        Event::InvoiceDisputed(e) => Some(e.disputed_on),
        Event::DisputeResolved(e) => Some(e.resolved_on),
        Event::PaymentPromised(e) => Some(e.made_on),
        Event::PromiseKept(e) => Some(e.kept_on),
        other => effective_on(other),
    }
}

fn effective_on(e: &Event) -> Option<NaiveDate> {
    match e {
        Event::LateFeeCharged(e) => Some(e.charged_on),
        Event::PromiseBroken(e) => Some(e.effective_on),
        Event::AccountHeld(e) => Some(e.effective_on),
        Event::AccountReleased(e) => Some(e.effective_on),
        Event::CashOnlyImposed(e) => Some(e.effective_on),
        Event::CashOnlyLifted(e) => Some(e.effective_on),
        _ => None,
    }
}
