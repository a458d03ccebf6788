//! `dunlog demo`: a realistic, reproducible year of history generated through the domain's own
//! commands — prompt payers, discount takers, late payers who answer calls, promise breakers,
//! disputes, bounced cheques, a customer on probation, and long-overdue accounts the clock holds.
//! The same seed gives the same commands (instants aside).

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, Result};
use chrono::{Days, NaiveDate, Utc};
use futures::StreamExt as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::app::service::{Service, ServiceError};

/// Customers generated concurrently (their appends share the store's group commit).
const CUSTOMERS_IN_FLIGHT_MAX: usize = 64;
/// The actor recorded on demo events.
const DEMO_ACTOR: &str = "demo";

pub struct DemoStats {
    pub events: u64,
    pub rejected: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    PromptPayer,
    DiscountTaker,
    LateButAnswers,
    PromiseBreaker,
    Disputer,
    BouncedCheque,
    Probation,
    LongOverdue,
}

/// How many of every 40 customers behave each way: most pay on time (issue 15: a real book has
/// a few percent on hold and a worklist a team can finish in a day).
const MIX_OF_40: [(Behaviour, usize); 8] = [
    (Behaviour::PromptPayer, 19),
    (Behaviour::DiscountTaker, 6),
    (Behaviour::LateButAnswers, 5),
    (Behaviour::Disputer, 2),
    (Behaviour::BouncedCheque, 2),
    (Behaviour::Probation, 3),
    (Behaviour::PromiseBreaker, 2),
    (Behaviour::LongOverdue, 1),
];

fn behaviour_of(index: usize) -> Behaviour {
    // Spread each kind over the customer ids rather than in runs.
    let slot = (index * 17) % 40;
    let mut upto = 0;
    for (behaviour, n) in MIX_OF_40 {
        upto += n;
        if slot < upto {
            return behaviour;
        }
    }
    Behaviour::PromptPayer
}

const FIRST: [&str; 12] = [
    "Nordlys", "Acme", "Mica", "Sol", "Baltic", "Carpat", "Fjord", "Iberia", "Rialto", "Lumen",
    "Tropis", "Orion",
];
const SECOND: [&str; 8] = [
    "Trading",
    "Logistics",
    "Foods",
    "Textiles",
    "Metals",
    "Pharma",
    "Timber",
    "Print",
];
const SUFFIX: [&str; 6] = ["AS", "SRL", "Ltd", "SA", "PT", "GmbH"];
const CURRENCIES: [&str; 4] = ["EUR", "EUR", "NOK", "RON"];
/// The seeds' languages (SPEC §12): every demo customer gets one.
pub const LANGUAGES: [&str; 6] = ["en", "pt", "fr", "nb", "ro", "id"];
/// Steps that fell due this many days before today or later are left to do: they are today's
/// worklist. Everything older the demo's collectors did on the day it fell due.
const BACKLOG_DAYS: i64 = 2;

fn add_days(d: NaiveDate, n: i64) -> NaiveDate {
    if n >= 0 {
        d.checked_add_days(Days::new(n.unsigned_abs())).unwrap_or(d)
    } else {
        d.checked_sub_days(Days::new(n.unsigned_abs())).unwrap_or(d)
    }
}

fn at_nine(d: NaiveDate) -> String {
    format!("{d}T09:00:00Z")
}

/// One invoice of a history and when (if ever) it was settled, for the collectors' steps and
/// for paying the late fees with it.
pub struct DemoInvoice {
    pub customer_id: String,
    pub invoice_id: String,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    /// The day its principal was paid (None: still open).
    pub paid_on: Option<NaiveDate>,
    /// The day a promise covering it was made (collectors stop chasing it then).
    pub promised_on: Option<NaiveDate>,
}

/// One customer's generated history.
struct History {
    commands: Vec<(NaiveDate, Value)>,
    invoices: Vec<DemoInvoice>,
}

/// The dated commands of one customer's history, in the order they happen.
// Long: one customer's story told in date order (invoices, payments, reminders, calls, promises,
// disputes, bounces by the customer's profile); split, the story would not read as one.
fn history(index: usize, seed: u64, today: NaiveDate) -> History {
    let mut rng = StdRng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let behaviour = behaviour_of(index);
    let id = format!("C{:04}", index + 1);
    let name = format!(
        "{} {} {}",
        FIRST[rng.gen_range(0..FIRST.len())],
        SECOND[rng.gen_range(0..SECOND.len())],
        SUFFIX[rng.gen_range(0..SUFFIX.len())]
    );
    let currency = CURRENCIES[rng.gen_range(0..CURRENCIES.len())];
    let opened_on = match behaviour {
        Behaviour::Probation => add_days(today, -rng.gen_range(30..60)),
        _ => add_days(today, -rng.gen_range(330..380)),
    };
    let limit = match behaviour {
        Behaviour::Probation => Decimal::new(rng.gen_range(12_000..24_000), 0),
        _ => Decimal::new(rng.gen_range(10..60) * 1_000, 0),
    };
    let terms = match behaviour {
        Behaviour::DiscountTaker => {
            json!({"net_days": 30, "discount_percent": "2", "discount_days": 10})
        }
        _ => {
            let net_days = [14, 30, 30, 45][rng.gen_range(0..4)];
            json!({ "net_days": net_days })
        }
    };
    let rep = ["ana", "bjorn", "chloe", "dewi"][index % 4];
    let domain = ["example.com", "example.org"][index % 2];
    // SPEC §12: every customer writes in one of the seeds' languages.
    let language = LANGUAGES[rng.gen_range(0..LANGUAGES.len())];
    let billing_email = format!("billing@{}.{domain}", id.to_lowercase());
    let mut out = vec![(
        opened_on,
        json!({
            "command": "open_account", "customer_id": id, "name": name, "currency": currency,
            "credit_limit": limit.to_string(), "terms": terms, "opened_on": opened_on.to_string(),
            "contacts": {"emails": [billing_email.clone()],
                         "phones": [format!("+47 555 {:05}", index)],
                         "billing_email": billing_email, "language": language},
            "sales_rep": rep,
        }),
    )];
    let mut invoices = Vec::new();
    let net_days = terms["net_days"].as_i64().unwrap_or(30);
    let mut issued_on = add_days(opened_on, rng.gen_range(2..10));
    let mut n = 0;
    while issued_on < today {
        n += 1;
        let invoice = format!("{id}-INV-{n:03}");
        let cents: i64 = match behaviour {
            Behaviour::Probation => rng.gen_range(30_000..150_000),
            _ => rng.gen_range(20_000..600_000),
        };
        let amount = Decimal::new(cents, 2);
        let due_on = add_days(issued_on, net_days);
        out.push((
            issued_on,
            json!({"command": "issue_invoice", "customer_id": id, "invoice_id": invoice,
                   "amount": amount.to_string(), "issued_on": issued_on.to_string()}),
        ));
        let pay = |on: NaiveDate, amount: Decimal, pid: &str, method: &str| {
            (
                on,
                json!({"command": "record_payment", "customer_id": id, "payment_id": pid,
                       "amount": amount.to_string(), "received_on": on.to_string(),
                       "method": method, "allocations": [{"invoice_id": invoice, "amount": amount.to_string()}]}),
            )
        };
        let pid = format!("{id}-PAY-{n:03}");
        let mut paid_on = None;
        let mut promised_on = None;
        let mut settle = |on: NaiveDate, amount: Decimal, out: &mut Vec<(NaiveDate, Value)>| {
            if on < today {
                out.push(pay(on, amount, &pid, "transfer"));
                paid_on = Some(on);
            }
        };
        match behaviour {
            Behaviour::PromptPayer | Behaviour::Probation => {
                let on = add_days(due_on, -rng.gen_range(-1..8));
                settle(on, amount, &mut out);
            }
            Behaviour::DiscountTaker => {
                let on = add_days(issued_on, rng.gen_range(3..10));
                if on < today {
                    let net = (amount * Decimal::new(98, 2)).round_dp(2);
                    out.push((
                        on,
                        json!({"command": "record_payment", "customer_id": id, "payment_id": pid,
                               "amount": net.to_string(), "received_on": on.to_string(), "method": "transfer"}),
                    ));
                    paid_on = Some(on);
                }
            }
            Behaviour::LateButAnswers => {
                let called = add_days(due_on, 7);
                if called < add_days(today, -BACKLOG_DAYS) {
                    let promised = add_days(due_on, 15);
                    out.push((
                        called,
                        json!({"command": "record_promise", "customer_id": id,
                               "promise_id": format!("{id}-PR-{n:03}"), "amount": amount.to_string(),
                               "promised_on": promised.to_string(), "invoice_ids": [invoice],
                               "made_on": called.to_string(), "via": "call"}),
                    ));
                    promised_on = Some(called);
                    settle(add_days(due_on, rng.gen_range(9..16)), amount, &mut out);
                }
            }
            Behaviour::PromiseBreaker => {
                let called = add_days(due_on, 7);
                let recent = add_days(today, -40) <= called;
                if called < add_days(today, -BACKLOG_DAYS) {
                    let promised = add_days(called, 7);
                    out.push((
                        called,
                        json!({"command": "record_promise", "customer_id": id,
                               "promise_id": format!("{id}-PR-{n:03}"), "amount": amount.to_string(),
                               "promised_on": promised.to_string(), "invoice_ids": [invoice],
                               "made_on": called.to_string(), "via": "call"}),
                    ));
                    promised_on = Some(called);
                    // The one recent promise is broken (cash only); the others kept late.
                    if !recent {
                        settle(add_days(promised, rng.gen_range(-2..2)), amount, &mut out);
                    }
                }
            }
            Behaviour::Disputer => {
                if n % 4 == 2 && add_days(due_on, -3) < today {
                    let disputed = add_days(issued_on, 5);
                    out.push((
                        disputed,
                        json!({"command": "raise_dispute", "customer_id": id, "invoice_id": invoice,
                               "reason": "goods damaged on arrival", "disputed_on": disputed.to_string()}),
                    ));
                    let resolved = add_days(disputed, 20);
                    if resolved < add_days(today, -10) {
                        let credit = (amount * Decimal::new(2, 1)).round_dp(2);
                        out.push((
                            resolved,
                            json!({"command": "issue_credit_note", "customer_id": id,
                                   "credit_note_id": format!("{id}-CN-{n:03}"), "invoice_id": invoice,
                                   "amount": credit.to_string(), "reason": "damaged goods",
                                   "issued_on": resolved.to_string()}),
                        ));
                        out.push((
                            resolved,
                            json!({"command": "resolve_dispute", "customer_id": id, "invoice_id": invoice,
                                   "outcome": "credit note 20%", "resolved_on": resolved.to_string()}),
                        ));
                        settle(add_days(resolved, 5), amount - credit, &mut out);
                    }
                } else {
                    settle(add_days(due_on, rng.gen_range(-3..4)), amount, &mut out);
                }
            }
            Behaviour::BouncedCheque => {
                let paid = add_days(due_on, -rng.gen_range(0..3));
                if paid < today {
                    out.push(pay(paid, amount, &pid, "cheque"));
                    paid_on = Some(paid);
                    let bounced = add_days(paid, 6);
                    if n % 5 == 3 && bounced < today {
                        out.push((
                            bounced,
                            json!({"command": "reverse_payment", "customer_id": id, "payment_id": pid,
                                   "reversed_on": bounced.to_string(), "reason": "cheque bounced"}),
                        ));
                        paid_on = None;
                        let again = add_days(bounced, rng.gen_range(5..12));
                        if again < today {
                            out.push(pay(again, amount, &format!("{pid}-B"), "transfer"));
                            paid_on = Some(again);
                        }
                    }
                }
            }
            Behaviour::LongOverdue => {
                if n <= 4 {
                    settle(add_days(due_on, rng.gen_range(20..40)), amount, &mut out);
                }
            }
        }
        invoices.push(DemoInvoice {
            customer_id: id.clone(),
            invoice_id: invoice,
            issued_on,
            due_on,
            paid_on,
            promised_on,
        });
        issued_on = add_days(issued_on, rng.gen_range(25..35));
    }
    // Contact details checked once a quarter (seed 003).
    let verified = add_days(today, -rng.gen_range(5..80));
    if verified > opened_on {
        out.push((
            verified,
            json!({"command": "verify_contact_details", "customer_id": id,
                   "verified_on": verified.to_string(), "by": rep}),
        ));
    }
    History {
        commands: out,
        invoices,
    }
}

/// The collectors' contacts: every ladder step that fell due while the invoice was open (and no
/// promise covered it), done on its day — up to [`BACKLOG_DAYS`] before today, which is what is
/// left on today's worklist. A step below its `min_open_amount` is not offered, so not done.
fn collectors_steps(
    invoice: &DemoInvoice,
    amount_open: impl Fn(NaiveDate) -> Decimal,
    currency: &str,
    policy: &domain::Policy,
    today: NaiveDate,
) -> Vec<(NaiveDate, Value)> {
    let done_before = add_days(today, -BACKLOG_DAYS);
    let mut out = Vec::new();
    for step in &policy.ladder {
        let Some(on) = projections::worklist::trigger_on(step, invoice.issued_on, invoice.due_on)
        else {
            continue;
        };
        let open = invoice.paid_on.is_none_or(|p| on < p);
        let promised = invoice.promised_on.is_some_and(|p| p <= on);
        let expired = step.days < 0 && on >= invoice.due_on;
        if on >= done_before || !open || promised || expired {
            continue;
        }
        if !step.offered_for(amount_open(on), currency) {
            continue;
        }
        let (c, i) = (&invoice.customer_id, &invoice.invoice_id);
        let command = match step.channel.as_str() {
            "email" | "letter" if step.step == "confirm_receipt" => json!({
                "command": "confirm_delivery", "customer_id": c, "invoice_id": i,
                "channel": "email", "confirmed_on": on.to_string()}),
            "email" | "letter" | "sms" => json!({
                "command": "record_reminder", "customer_id": c, "invoice_ids": [i],
                "channel": step.channel, "step": step.step, "sent_at": at_nine(on)}),
            "phone" => json!({
                "command": "log_call", "customer_id": c, "invoice_ids": [i],
                "outcome": "spoke to accounts payable", "step": step.step, "called_at": at_nine(on)}),
            "internal" => json!({
                "command": "notify_sales_rep", "customer_id": c, "invoice_ids": [i],
                "step": step.step, "notified_at": at_nine(on)}),
            "agency" => json!({
                "command": "escalate", "customer_id": c, "invoice_ids": [i],
                "to": "collection_agency", "escalated_on": on.to_string()}),
            _ => continue,
        };
        out.push((on, command));
    }
    out
}

/// Runs one customer's dated commands in order.
async fn run_commands(
    service: &Service,
    commands: Vec<(NaiveDate, Value)>,
    events: &AtomicU64,
    rejected: &AtomicU64,
) -> Result<()> {
    for (_, step) in commands {
        let command: domain::Command =
            serde_json::from_value(step).context("demo built a malformed command")?;
        match service.execute(DEMO_ACTOR, command, None).await {
            Ok(o) => {
                events.fetch_add(o.events.len() as u64, Ordering::Relaxed);
            }
            Err(ServiceError::Rejected { kind, message }) => {
                tracing::debug!(%kind, %message, "demo command rejected");
                rejected.fetch_add(1, Ordering::Relaxed);
            }
            Err(ServiceError::Internal(e)) => return Err(e),
        }
    }
    Ok(())
}

/// Generates `customers` histories into the service's ledger, then runs the clock to today.
///
/// In three passes, as a book is kept: the customers' invoices and payments with the
/// collectors' contacts; the clock through yesterday (late fees on what was paid late); the late
/// fees paid with the invoice they were charged on (a late payer pays the fee too), then the
/// clock through today, which releases the holds those fees caused.
pub async fn generate(
    service: &Service,
    customers: usize,
    seed: u64,
    show_progress: bool,
) -> Result<DemoStats> {
    let today = Utc::now().date_naive();
    let yesterday = add_days(today, -1);
    let policy = service.live.read().policy();
    let events = AtomicU64::new(0);
    let rejected = AtomicU64::new(0);
    let bar = if show_progress {
        indicatif::ProgressBar::new(customers as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let histories: Vec<History> = (0..customers).map(|i| history(i, seed, today)).collect();
    let results: Vec<Result<()>> = futures::stream::iter(&histories)
        .map(|h| {
            let (events, rejected, bar, policy) = (&events, &rejected, &bar, &policy);
            async move {
                let mut commands = h.commands.clone();
                let currency = commands
                    .first()
                    .and_then(|(_, c)| c["currency"].as_str())
                    .unwrap_or("EUR")
                    .to_owned();
                for invoice in &h.invoices {
                    let amount = commands
                        .iter()
                        .find(|(_, c)| {
                            c["command"] == "issue_invoice" && c["invoice_id"] == invoice.invoice_id
                        })
                        .and_then(|(_, c)| c["amount"].as_str())
                        .and_then(|a| a.parse::<Decimal>().ok())
                        .unwrap_or_default();
                    commands.extend(collectors_steps(
                        invoice,
                        |_| amount,
                        &currency,
                        policy,
                        today,
                    ));
                }
                // A stable sort: same-day commands keep their order (an invoice before its
                // contacts and payment).
                commands.sort_by_key(|(d, _)| *d);
                run_commands(service, commands, events, rejected).await?;
                bar.inc(1);
                Ok(())
            }
        })
        .buffer_unordered(CUSTOMERS_IN_FLIGHT_MAX)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    bar.finish_and_clear();
    let mut ticked = service
        .tick(yesterday)
        .await
        .map_err(|e| anyhow::anyhow!("demo tick: {e}"))?
        .len() as u64;
    // Late fees paid with the invoice: what is still open on a paid invoice is its fees.
    let fee_payments: Vec<(NaiveDate, Value)> = {
        let ledger = service.live.read();
        histories
            .iter()
            .flat_map(|h| &h.invoices)
            .filter_map(|invoice| {
                let paid_on = invoice.paid_on?;
                let account = ledger.accounts.get(invoice.customer_id.as_str())?;
                let found = account
                    .invoices
                    .iter()
                    .find(|i| i.id.as_str() == invoice.invoice_id)?;
                let fees = found.open_on(today);
                (fees > Decimal::ZERO).then(|| {
                    (
                        paid_on,
                        json!({"command": "record_payment", "customer_id": invoice.customer_id,
                               "payment_id": format!("{}-FEES", invoice.invoice_id),
                               "amount": fees.to_string(), "received_on": paid_on.to_string(),
                               "method": "transfer",
                               "allocations": [{"invoice_id": invoice.invoice_id, "amount": fees.to_string()}]}),
                    )
                })
            })
            .collect()
    };
    run_commands(service, fee_payments, &events, &rejected).await?;
    ticked += service
        .tick(today)
        .await
        .map_err(|e| anyhow::anyhow!("demo tick: {e}"))?
        .len() as u64;
    Ok(DemoStats {
        events: events.load(Ordering::Relaxed) + ticked,
        rejected: rejected.load(Ordering::Relaxed),
    })
}

/// What a demo ledger looks like on a day: the figures `dunlog demo` prints and the README states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFigures {
    pub as_of: NaiveDate,
    pub accounts: usize,
    /// Accounts by exposure status, in the order of `ExposureStatus`'s names.
    pub statuses: Vec<(&'static str, usize)>,
    pub held: usize,
    /// Today's worklist items by ladder step, in ladder order.
    pub worklist_by_step: Vec<(String, usize)>,
    pub worklist: usize,
}

/// The figures of `ledger` as of `as_of`.
pub fn figures(ledger: &projections::Ledger, as_of: NaiveDate) -> DemoFigures {
    let exposures = ledger.exposures(as_of, None);
    let mut statuses: Vec<(&'static str, usize)> = Vec::new();
    for e in &exposures {
        let name = e.status.as_str();
        match statuses.iter_mut().find(|(s, _)| *s == name) {
            Some((_, n)) => *n += 1,
            None => statuses.push((name, 1)),
        }
    }
    statuses.sort();
    let held = exposures
        .iter()
        .filter(|e| e.status == projections::ExposureStatus::Held)
        .count();
    let policy = ledger.policy();
    let items = ledger.worklist(as_of);
    let mut worklist_by_step: Vec<(String, usize)> =
        policy.ladder.iter().map(|s| (s.step.clone(), 0)).collect();
    for item in items.iter() {
        match worklist_by_step.iter_mut().find(|(s, _)| *s == item.step) {
            Some((_, n)) => *n += 1,
            None => worklist_by_step.push((item.step.clone(), 1)),
        }
    }
    DemoFigures {
        as_of,
        accounts: exposures.len(),
        statuses,
        held,
        worklist_by_step,
        worklist: items.len(),
    }
}

/// Prints the figures for a person.
pub fn print_figures(f: &DemoFigures, out: &mut dyn std::io::Write) -> Result<()> {
    let percent = |n: usize| {
        if f.accounts == 0 {
            0.0
        } else {
            n as f64 * 100.0 / f.accounts as f64
        }
    };
    writeln!(
        out,
        "as of {}: {} accounts, {} held ({:.1} %)",
        f.as_of,
        f.accounts,
        f.held,
        percent(f.held)
    )?;
    for (status, n) in &f.statuses {
        writeln!(out, "  {status:<12} {n:>5}  ({:.1} %)", percent(*n))?;
    }
    writeln!(out, "worklist today: {} items", f.worklist)?;
    for (step, n) in &f.worklist_by_step {
        writeln!(out, "  {step:<20} {n:>5}")?;
    }
    Ok(())
}
