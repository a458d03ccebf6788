//! The `check(given, when, expect)` helper and the builders that make each domain test one line
//! of data: `given` is a history of commands (and clock ticks), `when` is the command under
//! test, `expect` is a compact rendering of the events it yields or of the rejection.

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, Utc};
use domain::command::*;
use domain::event::{EscalationTarget, Installment, ReminderChannel, Terms};
use domain::reconcile::{execute, tick};
use domain::{evolve, Account, Command, Context, DomainError, Event, Policy};
use rust_decimal::Decimal;

/// The customer every test account belongs to.
pub const CUSTOMER: &str = "C";
/// The business date commands without a date of their own default to.
pub const TODAY: &str = "2026-06-01";
/// The instant commands are decided at.
pub const NOW: &str = "2026-06-01T12:00:00Z";

pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn m(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn customer() -> domain::CustomerId {
    domain::CustomerId::parse(CUSTOMER).unwrap()
}

fn inv(id: &str) -> domain::InvoiceId {
    domain::InvoiceId::parse(id).unwrap()
}

fn invs(ids: &[&str]) -> Vec<domain::InvoiceId> {
    ids.iter().map(|i| inv(i)).collect()
}

pub fn default_policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(Policy::default_policy)
}

/// A policy made of the given TOML sections (and nothing else: absent sections are off).
pub fn policy(sections: &str) -> Policy {
    Policy::parse(&format!("name = \"test\"\n{sections}")).unwrap()
}

pub fn ctx(policy: &Policy) -> Context<'_> {
    Context {
        today: d(TODAY),
        now: at(NOW),
        actor: "tester",
        policy,
    }
}

/// One step of a history: a command, or the clock ticking through a date.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // test data, built once per step
pub enum Step {
    Do(Command),
    Tick(NaiveDate),
}

impl From<Command> for Step {
    fn from(c: Command) -> Self {
        Step::Do(c)
    }
}

/// A history played through `decide` and `evolve`, with the clock run where it says so.
pub struct Ledger<'p> {
    pub policy: &'p Policy,
    pub state: Option<Account>,
    pub events: Vec<Event>,
    /// The last day the clock walked (`None`: never), as the service keeps it per account.
    pub clock: Option<NaiveDate>,
}

impl<'p> Ledger<'p> {
    pub fn new(policy: &'p Policy) -> Self {
        Ledger {
            policy,
            state: None,
            events: Vec::new(),
            clock: None,
        }
    }

    /// Runs a step; `Err` leaves the ledger as it was.
    pub fn run(&mut self, step: &Step) -> Result<Vec<Event>, DomainError> {
        let events = self.peek(step)?;
        if let Step::Tick(through) = step {
            self.clock = Some(self.clock.map_or(*through, |c| c.max(*through)));
        }
        for e in &events {
            evolve(&mut self.state, e);
        }
        self.events.extend(events.iter().cloned());
        Ok(events)
    }

    /// What a step would yield, without recording it.
    pub fn peek(&self, step: &Step) -> Result<Vec<Event>, DomainError> {
        match step {
            Step::Do(c) => execute(self.state.as_ref(), c, &ctx(self.policy), self.clock),
            Step::Tick(through) => {
                let account = self
                    .state
                    .as_ref()
                    .expect("tick before the account is opened");
                // The server ticks through today on the day itself: a tick through a date after
                // the tests' TODAY runs as if on that date.
                let today = d(TODAY).max(*through);
                tick(account, self.policy, self.clock, *through, today)
            }
        }
    }

    pub fn account(&self) -> &Account {
        self.state.as_ref().expect("no account")
    }
}

/// Plays `given` (each step must succeed) under `policy`.
pub fn history<'p>(policy: &'p Policy, given: &[Step]) -> Ledger<'p> {
    let mut ledger = Ledger::new(policy);
    for (i, step) in given.iter().enumerate() {
        if let Err(e) = ledger.run(step) {
            panic!("given step {i} ({step:?}) was rejected: {e}");
        }
    }
    ledger
}

/// Plays `given`, then `when`, and compares the rendered outcome with `expect`.
#[track_caller]
pub fn check(given: &[Step], when: Step, expect: &str) {
    check_with(default_policy(), given, when, expect);
}

/// `check` under another policy.
#[track_caller]
pub fn check_with(policy: &Policy, given: &[Step], when: Step, expect: &str) {
    let ledger = history(policy, given);
    let before = ledger.state.clone();
    let outcome = ledger.peek(&when);
    assert_eq!(render(&outcome), expect);
    // Deciding is pure: the state did not move, and asking again gives the same answer.
    assert_eq!(ledger.state, before);
    assert_eq!(ledger.peek(&when), outcome);
}

/// The account after `given`.
pub fn account_after(given: &[Step]) -> Account {
    history(default_policy(), given).account().clone()
}

// ---- Rendering ---------------------------------------------------------------------------------

pub fn render(outcome: &Result<Vec<Event>, DomainError>) -> String {
    match outcome {
        Ok(events) => format!(
            "Ok([{}])",
            events
                .iter()
                .map(render_event)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Err(e) => render_error(e),
    }
}

pub fn render_error(e: &DomainError) -> String {
    let detail = match e {
        DomainError::Invalid { field, value, .. }
        | DomainError::NotFound { field, value }
        | DomainError::Duplicate { field, value }
        | DomainError::InvalidState { field, value, .. } => format!("{field}={value}"),
        DomainError::InvalidPolicy { line, field, .. } => format!("line {line} {field}"),
        DomainError::AllocationExceedsAvailable {
            invoice_id,
            available,
            requested,
        } => format!(
            "AllocationExceedsAvailable {invoice_id} available {available} requested {requested}"
        ),
        DomainError::AmountExceedsAvailable {
            invoice_id,
            available,
            requested,
        } => {
            format!(
                "AmountExceedsAvailable {invoice_id} available {available} requested {requested}"
            )
        }
        DomainError::AllocationsExceedPayment { allocated, amount } => {
            format!("AllocationsExceedPayment allocated {allocated} amount {amount}")
        }
        DomainError::ExceedsUnappliedCash {
            available,
            requested,
        } => format!("ExceedsUnappliedCash available {available} requested {requested}"),
    };
    format!("Err({} {detail})", e.kind())
}

pub fn render_event(e: &Event) -> String {
    fn auto(manual: bool) -> &'static str {
        if manual {
            "manual"
        } else {
            "auto"
        }
    }
    match e {
        Event::InvoiceIssued(e) => format!(
            "InvoiceIssued {} {} {}..{}{}",
            e.invoice_id,
            e.amount,
            e.issued_on,
            e.due_on,
            e.override_reason
                .as_ref()
                .map(|r| format!(" override {r:?}"))
                .unwrap_or_default()
        ),
        Event::CreditNoteIssued(e) => format!(
            "CreditNoteIssued {} {} {} {}",
            e.credit_note_id, e.invoice_id, e.amount, e.issued_on
        ),
        Event::LateFeeCharged(e) => format!(
            "LateFeeCharged {} {} {} #{}",
            e.invoice_id, e.amount, e.charged_on, e.period
        ),
        Event::InvoiceWrittenOff(e) => format!(
            "InvoiceWrittenOff {} {} {}",
            e.invoice_id, e.amount, e.written_off_on
        ),
        Event::PaymentReceived(e) => format!(
            "PaymentReceived {} {} {} [{}] unapplied {}",
            e.payment_id,
            e.amount,
            e.received_on,
            e.allocations
                .iter()
                .map(|a| format!("{} {} discount {}", a.invoice_id, a.amount, a.discount))
                .collect::<Vec<_>>()
                .join(", "),
            e.unapplied
        ),
        Event::PaymentReversed(e) => format!("PaymentReversed {} {}", e.payment_id, e.reversed_on),
        Event::UnappliedCashApplied(e) => format!(
            "UnappliedCashApplied [{}] {}",
            e.allocations
                .iter()
                .map(|a| format!("{} {}", a.invoice_id, a.amount))
                .collect::<Vec<_>>()
                .join(", "),
            e.applied_on
        ),
        Event::InvoiceDisputed(e) => format!("InvoiceDisputed {} {}", e.invoice_id, e.disputed_on),
        Event::DisputeResolved(e) => format!("DisputeResolved {} {}", e.invoice_id, e.resolved_on),
        Event::PromiseKept(e) => format!("PromiseKept {} {}", e.promise_id, e.kept_on),
        Event::PromiseBroken(e) => format!(
            "PromiseBroken {} shortfall {} {}",
            e.promise_id, e.shortfall, e.effective_on
        ),
        Event::AccountHeld(e) => format!(
            "AccountHeld {} {} {}",
            e.reason,
            auto(e.manual),
            e.effective_on
        ),
        Event::AccountReleased(e) => format!(
            "AccountReleased {} {} {}",
            e.reason,
            auto(e.manual),
            e.effective_on
        ),
        Event::CashOnlyImposed(e) => format!("CashOnlyImposed {} {}", e.reason, e.effective_on),
        Event::CashOnlyLifted(e) => format!("CashOnlyLifted {}", e.effective_on),
        Event::LateFeeReversed(e) => format!(
            "LateFeeReversed {} {} #{} unapplied {}{} reverses @{} ({})",
            e.invoice_id,
            e.amount,
            e.period,
            e.unapplied,
            e.unapplied_on
                .map(|d| format!(" from {d}"))
                .unwrap_or_default(),
            e.reverses,
            e.reason
        ),
        Event::PromiseReinstated(e) => format!(
            "PromiseReinstated {} {} reverses @{} ({})",
            e.promise_id, e.effective_on, e.reverses, e.reason
        ),
        other => other.event_type().to_owned(),
    }
}

// ---- Builders ----------------------------------------------------------------------------------

pub fn net(days: u32) -> Terms {
    Terms {
        net_days: days,
        discount_percent: None,
        discount_days: None,
    }
}

/// Seeds 000/004: "2% if paid within 10 days", net 30.
pub fn terms_2_10_net_30() -> Terms {
    Terms {
        net_days: 30,
        discount_percent: Some(m("2")),
        discount_days: Some(10),
    }
}

/// Account C in EUR, limit 1,000,000.00, net 30, opened 2026-01-01.
pub fn opened() -> Step {
    opened_with(net(30), "1000000.00")
}

pub fn opened_with(terms: Terms, credit_limit: &str) -> Step {
    Command::OpenAccount(OpenAccount {
        customer_id: customer(),
        name: "Customer".to_owned(),
        currency: "EUR".to_owned(),
        credit_limit: m(credit_limit),
        terms,
        opened_on: d("2026-01-01"),
        contacts: Default::default(),
        sales_rep: None,
    })
    .into()
}

/// An invoice on the account's terms (due `issued_on + net_days`).
pub fn issued(id: &str, amount: &str, issued_on: &str) -> Step {
    issue(id, amount, issued_on, None, None)
}

pub fn issued_due(id: &str, amount: &str, issued_on: &str, due_on: &str) -> Step {
    issue(id, amount, issued_on, Some(due_on), None)
}

pub fn issue(
    id: &str,
    amount: &str,
    issued_on: &str,
    due_on: Option<&str>,
    override_reason: Option<&str>,
) -> Step {
    Command::IssueInvoice(IssueInvoice {
        customer_id: customer(),
        invoice_id: inv(id),
        amount: m(amount),
        issued_on: d(issued_on),
        due_on: due_on.map(d),
        terms: None,
        reference: None,
        override_reason: override_reason.map(str::to_owned),
    })
    .into()
}

/// A payment the domain allocates oldest first.
pub fn pay(id: &str, amount: &str, received_on: &str) -> Step {
    payment(id, amount, received_on, None)
}

/// A payment with explicit allocations.
pub fn pay_to(id: &str, amount: &str, received_on: &str, allocations: &[(&str, &str)]) -> Step {
    payment(id, amount, received_on, Some(allocations))
}

fn payment(
    id: &str,
    amount: &str,
    received_on: &str,
    allocations: Option<&[(&str, &str)]>,
) -> Step {
    Command::RecordPayment(RecordPayment {
        customer_id: customer(),
        payment_id: domain::PaymentId::parse(id).unwrap(),
        amount: m(amount),
        received_on: d(received_on),
        method: "transfer".to_owned(),
        allocations: allocations.map(|list| {
            list.iter()
                .map(|(i, a)| AllocationRequest {
                    invoice_id: inv(i),
                    amount: m(a),
                })
                .collect()
        }),
    })
    .into()
}

pub fn reverse(id: &str, reversed_on: &str) -> Step {
    Command::ReversePayment(ReversePayment {
        customer_id: customer(),
        payment_id: domain::PaymentId::parse(id).unwrap(),
        reversed_on: Some(d(reversed_on)),
        reason: "bounced".to_owned(),
    })
    .into()
}

pub fn apply(allocations: &[(&str, &str)], applied_on: &str) -> Step {
    Command::ApplyUnappliedCash(ApplyUnappliedCash {
        customer_id: customer(),
        allocations: allocations
            .iter()
            .map(|(i, a)| domain::event::Application {
                invoice_id: inv(i),
                amount: m(a),
            })
            .collect(),
        applied_on: Some(d(applied_on)),
    })
    .into()
}

pub fn credit_note(id: &str, invoice_id: &str, amount: &str, issued_on: &str) -> Step {
    Command::IssueCreditNote(IssueCreditNote {
        customer_id: customer(),
        credit_note_id: domain::CreditNoteId::parse(id).unwrap(),
        invoice_id: inv(invoice_id),
        amount: m(amount),
        reason: "price correction".to_owned(),
        issued_on: d(issued_on),
    })
    .into()
}

pub fn write_off(invoice_id: &str, written_off_on: &str) -> Step {
    Command::WriteOffInvoice(WriteOffInvoice {
        customer_id: customer(),
        invoice_id: inv(invoice_id),
        written_off_on: Some(d(written_off_on)),
        reason: "uncollectable".to_owned(),
    })
    .into()
}

pub fn dispute(invoice_id: &str, disputed_on: &str) -> Step {
    Command::RaiseDispute(RaiseDispute {
        customer_id: customer(),
        invoice_id: inv(invoice_id),
        reason: "damaged goods".to_owned(),
        disputed_on: Some(d(disputed_on)),
    })
    .into()
}

pub fn resolve(invoice_id: &str, resolved_on: &str) -> Step {
    Command::ResolveDispute(ResolveDispute {
        customer_id: customer(),
        invoice_id: inv(invoice_id),
        outcome: "upheld".to_owned(),
        resolved_on: Some(d(resolved_on)),
    })
    .into()
}

pub fn deliver(invoice_id: &str, confirmed_on: &str) -> Step {
    Command::ConfirmDelivery(ConfirmDelivery {
        customer_id: customer(),
        invoice_id: inv(invoice_id),
        channel: "email".to_owned(),
        confirmed_on: Some(d(confirmed_on)),
    })
    .into()
}

/// A promise about the whole account.
pub fn promise(id: &str, amount: &str, made_on: &str, promised_on: &str) -> Step {
    promise_for(id, amount, made_on, promised_on, &[])
}

pub fn promise_for(
    id: &str,
    amount: &str,
    made_on: &str,
    promised_on: &str,
    invoice_ids: &[&str],
) -> Step {
    Command::RecordPromise(RecordPromise {
        customer_id: customer(),
        promise_id: domain::PromiseId::parse(id).unwrap(),
        amount: m(amount),
        promised_on: d(promised_on),
        invoice_ids: invs(invoice_ids),
        made_on: Some(d(made_on)),
        made_at: None,
        via: "call".to_owned(),
    })
    .into()
}

pub fn plan(id: &str, agreed_on: &str, installments: &[(&str, &str, &str)]) -> Step {
    Command::AgreePaymentPlan(AgreePaymentPlan {
        customer_id: customer(),
        plan_id: domain::PlanId::parse(id).unwrap(),
        installments: installments
            .iter()
            .map(|(p, a, on)| Installment {
                promise_id: domain::PromiseId::parse(p).unwrap(),
                amount: m(a),
                promised_on: d(on),
            })
            .collect(),
        agreed_on: Some(d(agreed_on)),
    })
    .into()
}

pub fn hold(effective_on: &str) -> Step {
    Command::HoldAccount(HoldAccount {
        customer_id: customer(),
        reason: "customer in trouble".to_owned(),
        effective_on: Some(d(effective_on)),
    })
    .into()
}

pub fn release(effective_on: &str) -> Step {
    Command::ReleaseAccount(ReleaseAccount {
        customer_id: customer(),
        reason: "new understanding".to_owned(),
        effective_on: Some(d(effective_on)),
    })
    .into()
}

pub fn reminder(invoice_ids: &[&str], step: Option<&str>, sent_at: &str) -> Step {
    Command::RecordReminder(RecordReminder {
        customer_id: customer(),
        invoice_ids: invs(invoice_ids),
        channel: ReminderChannel::Email,
        step: step.map(str::to_owned),
        template: None,
        sent_at: Some(at(sent_at)),
    })
    .into()
}

pub fn call(invoice_ids: &[&str], outcome: &str, called_at: &str) -> Step {
    Command::LogCall(LogCall {
        customer_id: customer(),
        invoice_ids: invs(invoice_ids),
        outcome: outcome.to_owned(),
        step: None,
        called_at: Some(at(called_at)),
        notes: None,
    })
    .into()
}

pub fn notify_rep(invoice_ids: &[&str], sales_rep: Option<&str>) -> Step {
    Command::NotifySalesRep(NotifySalesRep {
        customer_id: customer(),
        invoice_ids: invs(invoice_ids),
        sales_rep: sales_rep.map(str::to_owned),
        step: None,
        notified_at: None,
    })
    .into()
}

pub fn escalate(invoice_ids: &[&str]) -> Step {
    Command::Escalate(Escalate {
        customer_id: customer(),
        invoice_ids: invs(invoice_ids),
        to: EscalationTarget::CollectionAgency,
        escalated_on: Some(d(TODAY)),
        notes: None,
    })
    .into()
}

pub fn change_limit(new_limit: &str) -> Step {
    Command::ChangeCreditLimit(ChangeCreditLimit {
        customer_id: customer(),
        new_limit: m(new_limit),
        reason: "review".to_owned(),
    })
    .into()
}

pub fn change_terms(terms: Terms) -> Step {
    Command::ChangeTerms(ChangeTerms {
        customer_id: customer(),
        terms,
    })
    .into()
}

pub fn update_contacts(emails: &[&str]) -> Step {
    Command::UpdateContactDetails(UpdateContactDetails {
        customer_id: customer(),
        contacts: domain::event::Contacts {
            emails: emails.iter().map(|e| (*e).to_owned()).collect(),
            ..Default::default()
        },
    })
    .into()
}

pub fn verify_contacts(by: Option<&str>) -> Step {
    Command::VerifyContactDetails(VerifyContactDetails {
        customer_id: customer(),
        verified_on: Some(d(TODAY)),
        by: by.map(str::to_owned),
    })
    .into()
}

pub fn assign_rep(sales_rep: &str) -> Step {
    Command::AssignSalesRep(AssignSalesRep {
        customer_id: customer(),
        sales_rep: sales_rep.to_owned(),
    })
    .into()
}

pub fn tick_through(through: &str) -> Step {
    Step::Tick(d(through))
}
