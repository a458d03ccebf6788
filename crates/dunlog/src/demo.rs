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

use crate::service::{Service, ServiceError};

/// Customers generated concurrently (their appends share the store's group commit).
const CUSTOMERS_IN_FLIGHT_MAX: usize = 64;
/// The actor recorded on demo events.
const DEMO_ACTOR: &str = "demo";

pub struct DemoStats {
    pub events: u64,
    pub rejected: u64,
}

#[derive(Clone, Copy, Debug)]
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

const BEHAVIOURS: [Behaviour; 8] = [
    Behaviour::PromptPayer,
    Behaviour::DiscountTaker,
    Behaviour::LateButAnswers,
    Behaviour::PromiseBreaker,
    Behaviour::Disputer,
    Behaviour::BouncedCheque,
    Behaviour::Probation,
    Behaviour::LongOverdue,
];

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

/// The dated commands of one customer's history, in the order they happen.
fn history(index: usize, seed: u64, today: NaiveDate) -> Vec<(NaiveDate, Value)> {
    let mut rng = StdRng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let behaviour = BEHAVIOURS[index % BEHAVIOURS.len()];
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
        Behaviour::Probation => Decimal::new(rng.gen_range(8_000..20_000), 0),
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
    let mut out = vec![(
        opened_on,
        json!({
            "command": "open_account", "customer_id": id, "name": name, "currency": currency,
            "credit_limit": limit.to_string(), "terms": terms, "opened_on": opened_on.to_string(),
            "contacts": {"emails": [format!("ap@{}.example", id.to_lowercase())],
                         "phones": [format!("+47 555 {:05}", index)]},
            "sales_rep": rep,
        }),
    )];
    let net_days = terms["net_days"].as_i64().unwrap_or(30);
    let mut issued_on = add_days(opened_on, rng.gen_range(2..10));
    let mut n = 0;
    while issued_on < today {
        n += 1;
        let invoice = format!("{id}-INV-{n:03}");
        let cents: i64 = match behaviour {
            Behaviour::Probation => rng.gen_range(50_000..300_000),
            _ => rng.gen_range(20_000..600_000),
        };
        let amount = Decimal::new(cents, 2);
        let due_on = add_days(issued_on, net_days);
        out.push((
            issued_on,
            json!({"command": "issue_invoice", "customer_id": id, "invoice_id": invoice,
                   "amount": amount.to_string(), "issued_on": issued_on.to_string()}),
        ));
        if rng.gen_bool(0.6) {
            let on = add_days(issued_on, rng.gen_range(1..4));
            out.push((
                on,
                json!({"command": "confirm_delivery", "customer_id": id, "invoice_id": invoice,
                       "channel": "email", "confirmed_on": on.to_string()}),
            ));
        }
        let pay = |on: NaiveDate, amount: Decimal, pid: String| {
            (
                on,
                json!({"command": "record_payment", "customer_id": id, "payment_id": pid,
                       "amount": amount.to_string(), "received_on": on.to_string(),
                       "method": "transfer", "allocations": [{"invoice_id": invoice, "amount": amount.to_string()}]}),
            )
        };
        let reminder = |on: NaiveDate| {
            (
                on,
                json!({"command": "record_reminder", "customer_id": id, "invoice_ids": [invoice],
                       "channel": "email", "step": "overdue_reminder", "sent_at": at_nine(on)}),
            )
        };
        let call = |on: NaiveDate, outcome: &str| {
            (
                on,
                json!({"command": "log_call", "customer_id": id, "invoice_ids": [invoice],
                       "outcome": outcome, "step": "call", "called_at": at_nine(on)}),
            )
        };
        let pid = format!("{id}-PAY-{n:03}");
        match behaviour {
            Behaviour::PromptPayer | Behaviour::Probation => {
                let on = add_days(due_on, -rng.gen_range(0..6));
                if on < today {
                    out.push(pay(on, amount, pid));
                }
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
                }
            }
            Behaviour::LateButAnswers => {
                if add_days(due_on, 5) < today {
                    out.push(reminder(add_days(due_on, 5)));
                }
                if add_days(due_on, 7) < today {
                    let called = add_days(due_on, 7);
                    out.push(call(called, "promised to pay"));
                    let promised = add_days(due_on, 15);
                    out.push((
                        called,
                        json!({"command": "record_promise", "customer_id": id,
                               "promise_id": format!("{id}-PR-{n:03}"), "amount": amount.to_string(),
                               "promised_on": promised.to_string(), "invoice_ids": [invoice],
                               "made_on": called.to_string(), "via": "call"}),
                    ));
                    let paid = add_days(due_on, rng.gen_range(12..16));
                    if paid < today {
                        out.push(pay(paid, amount, pid));
                    }
                }
            }
            Behaviour::PromiseBreaker => {
                let overdue = add_days(due_on, 7) < today;
                if overdue && n <= 6 {
                    let paid = add_days(due_on, rng.gen_range(10..25));
                    if paid < today {
                        out.push(pay(paid, amount, pid));
                    }
                } else if overdue && n == 7 {
                    let called = add_days(due_on, 7);
                    out.push(call(called, "promised to pay"));
                    out.push((
                        called,
                        json!({"command": "record_promise", "customer_id": id,
                               "promise_id": format!("{id}-PR-{n:03}"), "amount": amount.to_string(),
                               "promised_on": add_days(called, 7).to_string(), "invoice_ids": [invoice],
                               "made_on": called.to_string(), "via": "call"}),
                    ));
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
                        let paid = add_days(resolved, 5);
                        if paid < today {
                            out.push(pay(paid, amount - credit, pid));
                        }
                    }
                } else {
                    let paid = add_days(due_on, rng.gen_range(0..10));
                    if paid < today {
                        out.push(pay(paid, amount, pid));
                    }
                }
            }
            Behaviour::BouncedCheque => {
                let paid = add_days(due_on, -rng.gen_range(0..3));
                if paid < today {
                    out.push((
                        paid,
                        json!({"command": "record_payment", "customer_id": id, "payment_id": pid,
                               "amount": amount.to_string(), "received_on": paid.to_string(),
                               "method": "cheque", "allocations": [{"invoice_id": invoice, "amount": amount.to_string()}]}),
                    ));
                    if n % 5 == 3 && add_days(paid, 6) < today {
                        out.push((
                            add_days(paid, 6),
                            json!({"command": "reverse_payment", "customer_id": id, "payment_id": pid,
                                   "reversed_on": add_days(paid, 6).to_string(), "reason": "cheque bounced"}),
                        ));
                        out.push(reminder(add_days(paid, 8)));
                    }
                }
            }
            Behaviour::LongOverdue => {
                if n <= 4 {
                    let paid = add_days(due_on, rng.gen_range(20..40));
                    if paid < today {
                        out.push(pay(paid, amount, pid));
                    }
                } else if add_days(due_on, 5) < today {
                    out.push(reminder(add_days(due_on, 5)));
                    if add_days(due_on, 95) < today && n == 5 {
                        out.push((
                            add_days(due_on, 95),
                            json!({"command": "escalate", "customer_id": id, "invoice_ids": [invoice],
                                   "to": "collection_agency", "escalated_on": add_days(due_on, 95).to_string()}),
                        ));
                    }
                }
            }
        }
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
    out.sort_by_key(|(d, _)| *d);
    out
}

/// Generates `customers` histories into the service's ledger, then runs the clock to today.
pub async fn generate(
    service: &Service,
    customers: usize,
    seed: u64,
    show_progress: bool,
) -> Result<DemoStats> {
    let today = Utc::now().date_naive();
    let events = AtomicU64::new(0);
    let rejected = AtomicU64::new(0);
    let bar = if show_progress {
        indicatif::ProgressBar::new(customers as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let results: Vec<Result<()>> = futures::stream::iter(0..customers)
        .map(|i| {
            let (events, rejected, bar) = (&events, &rejected, &bar);
            async move {
                for (_, step) in history(i, seed, today) {
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
                bar.inc(1);
                Ok(())
            }
        })
        .buffer_unordered(CUSTOMERS_IN_FLIGHT_MAX)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    bar.finish_and_clear();
    let ticked = service
        .tick(today)
        .await
        .map_err(|e| anyhow::anyhow!("demo tick: {e}"))?;
    Ok(DemoStats {
        events: events.load(Ordering::Relaxed) + ticked.len() as u64,
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
