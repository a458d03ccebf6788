//! What a reminder says (SPEC §12): the invoices it covers, the customer's language, the
//! consequences the policy states, rendered through the templates into a [`Draft`] with its
//! deterministic `Message-ID`.

use super::statement::{enclosed_statement, encloses_statement, statement_period};
use chrono::{Days, NaiveDate};
use domain::event::ReminderChannel;
use domain::policy::{Anchor, LadderStep, Policy};
use domain::Event;
use domain::{Account, CustomerId, ErrorKind, InvoiceId};
use projections::Ledger;
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::style::{style, table};
use super::templates::{Rendered, Templates};
use crate::app::service::ServiceError;

/// A reminder ready to deliver: everything that goes into the message and into `ReminderSent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    pub customer_id: CustomerId,
    pub step: String,
    pub channel: ReminderChannel,
    pub invoice_ids: Vec<InvoiceId>,
    /// The e-mail address (email) or the postal address (letter); `None`: nothing on file.
    pub to: Option<String>,
    /// The business date the reminder is for; part of its `Message-ID`.
    pub date: NaiveDate,
    pub message_id: String,
    pub rendered: Rendered,
}

impl Draft {
    /// The body as delivered: UTF-8 with every line ending in CRLF, the canonical form of a text
    /// body on the wire (RFC 5322) — what the receiving server gets after transfer decoding, and
    /// what a letter file holds.
    pub fn canonical_body(&self) -> String {
        canonical_body(&self.rendered.body)
    }

    /// SHA-256 (hex) of [`Draft::canonical_body`]: what `ReminderSent.content_sha256` records.
    pub fn content_sha256(&self) -> String {
        hex(&Sha256::digest(self.canonical_body().as_bytes()))
    }
}

/// A text with CRLF line endings (templates render LF).
pub fn canonical_body(body: &str) -> String {
    let mut out = String::with_capacity(body.len() + body.len() / 32);
    for line in body.split_inclusive('\n') {
        let line = line
            .strip_suffix('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l));
        match line {
            Some(l) => {
                out.push_str(l);
                out.push_str("\r\n");
            }
            None => out.push_str(body.rsplit('\n').next().unwrap_or_default()),
        }
    }
    out
}

pub use store::hex::to_hex as hex;

/// The `Message-ID` of the reminder for (account, step, invoices, date): the same inputs give the
/// same id after any restart, which is what lets a re-send after a crash be recognised as the
/// same message by the receiver and recorded once by us.
pub fn message_id(
    customer_id: &CustomerId,
    step: &str,
    invoice_ids: &[InvoiceId],
    date: NaiveDate,
    domain: &str,
) -> String {
    let mut ids: Vec<&str> = invoice_ids.iter().map(InvoiceId::as_str).collect();
    ids.sort_unstable();
    let mut h = Sha256::new();
    for part in [
        customer_id.as_str(),
        step,
        &ids.join("\u{1f}"),
        &date.to_string(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let digest = h.finalize();
    format!(
        "<dunlog.{}.{}@{}>",
        hex(digest.get(..16).unwrap_or_default()),
        date.format("%Y%m%d"),
        domain
    )
}

/// Which kind of letter a step is: it picks the wording inside each language's template.
pub fn kind_of(step: &LadderStep) -> &'static str {
    if step.step == "confirm_receipt" || step.from == Anchor::Issue {
        "receipt"
    } else if step.days < 0 {
        "pre_due"
    } else if step.channel == "letter" || step.step.contains("final") {
        "final"
    } else {
        "overdue"
    }
}

#[derive(Serialize)]
struct InvoiceLine {
    number: String,
    amount: String,
    issued_on: String,
    due_on: String,
    days_overdue: i64,
    open_amount: String,
}

/// Everything a template may use. Every field is always present (`none` when it does not apply),
/// so templates are rendered strictly.
#[derive(Serialize)]
struct TemplateContext {
    lang: String,
    kind: &'static str,
    step: String,
    customer_id: String,
    customer: String,
    contact: String,
    numbers: String,
    first_due: String,
    invoices: Vec<InvoiceLine>,
    table: String,
    total: String,
    currency: String,
    discount_percent: Option<String>,
    discount_until: Option<String>,
    discount_lost: bool,
    late_fee_percent: Option<String>,
    late_fee_after_days: Option<u32>,
    late_fee_every_days: Option<u32>,
    hold_days: Option<u32>,
    agency_days: Option<i32>,
    how_to_pay: Option<String>,
    statement: Option<String>,
    sender: String,
}

/// Who sends the reminders and how to pay them, from `serve` options.
#[derive(Clone, Debug, Default)]
pub struct Sender {
    /// The signature and `From` display: the `--smtp-from` address.
    pub from: String,
    /// The domain `Message-ID`s are made in (the `--smtp-from` address's domain).
    pub domain: String,
    /// Payment instructions (`<data>/templates/how_to_pay.txt`), if written.
    pub how_to_pay: Option<String>,
}

impl Sender {
    pub fn new(from: &str, how_to_pay: Option<String>) -> Sender {
        let domain = from
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('>').to_owned())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "dunlog.invalid".to_owned());
        Sender {
            from: from.to_owned(),
            domain,
            how_to_pay,
        }
    }
}

/// What to write a reminder about.
pub struct Request<'a> {
    pub customer_id: &'a CustomerId,
    pub step: &'a str,
    pub date: NaiveDate,
    /// The invoices to name; `None`: those the worklist has due for this step on `date`.
    pub invoice_ids: Option<&'a [InvoiceId]>,
    /// A language other than the customer's (a preview); `None`: the customer's.
    pub language: Option<&'a str>,
    /// With nothing due and no invoices named, cover every open invoice instead of refusing (a
    /// preview of a step that is not due yet).
    pub open_when_nothing_due: bool,
}

fn rejected(kind: ErrorKind, message: String) -> ServiceError {
    ServiceError::rejected(kind, message)
}

/// The channel a step is delivered by, if dunlog can deliver it.
pub fn channel_of(step: &LadderStep) -> Option<ReminderChannel> {
    match step.channel.as_str() {
        "email" => Some(ReminderChannel::Email),
        "letter" => Some(ReminderChannel::Letter),
        _ => None,
    }
}

/// Writes the reminder a request asks for, against the ledger as it is. `stream` is the
/// account's own stream from the store (position, event), from which the enclosed statement of
/// account is made by the read model every other statement comes from.
pub fn compose<'e>(
    ledger: &Ledger,
    stream: impl IntoIterator<Item = (u64, &'e Event)>,
    templates: &Templates,
    sender: &Sender,
    req: &Request<'_>,
) -> Result<Draft, ServiceError> {
    let account = ledger.account(req.customer_id).ok_or_else(|| {
        rejected(
            ErrorKind::NotFound,
            format!("customerId = {:?}: not found", req.customer_id.as_str()),
        )
    })?;
    let policy = ledger.policy_in_use();
    let step = policy.step(req.step).ok_or_else(|| {
        let names: Vec<&str> = policy.ladder.iter().map(|s| s.step.as_str()).collect();
        rejected(
            ErrorKind::Validation,
            format!(
                "step = {:?}: not a step of the policy's ladder ({})",
                req.step,
                names.join(", ")
            ),
        )
    })?;
    let channel = channel_of(step).ok_or_else(|| {
        rejected(
            ErrorKind::Validation,
            format!(
                "step = {:?}: its channel is {:?}; only email and letter steps are sent",
                req.step, step.channel
            ),
        )
    })?;
    let invoice_ids = covered_invoices(account, &policy, req)?;
    let tag = req
        .language
        .map(str::to_owned)
        .or_else(|| account.contacts.language.clone())
        .unwrap_or_else(|| "en".to_owned());
    let to = match channel {
        ReminderChannel::Email => account.contacts.reminder_email().map(str::to_owned),
        _ => account
            .contacts
            .postal_address
            .clone()
            .filter(|a| !a.trim().is_empty()),
    };
    let lang = Templates::candidates(&tag)
        .into_iter()
        .find(|l| super::templates::LANGUAGES.contains(&l.as_str()))
        .unwrap_or_else(|| "en".to_owned());
    let statement = if encloses_statement(step, channel) {
        let (from, to) = statement_period(account, req.date);
        let statement = projections::statement::statement(stream, from, to)
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("enclosed statement: {e}")))?
            .ok_or_else(|| {
                ServiceError::Internal(anyhow::anyhow!(
                    "enclosed statement: no stream for customer {}",
                    req.customer_id
                ))
            })?;
        Some(enclosed_statement(&statement, &lang))
    } else {
        None
    };
    let context = context(
        account,
        &policy,
        step,
        req,
        &invoice_ids,
        &lang,
        sender,
        statement,
    );
    let rendered = templates
        .render(&tag, req.step, &context)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(Draft {
        customer_id: req.customer_id.clone(),
        step: req.step.to_owned(),
        channel,
        message_id: message_id(
            req.customer_id,
            req.step,
            &invoice_ids,
            req.date,
            &sender.domain,
        ),
        invoice_ids,
        to,
        date: req.date,
        rendered,
    })
}

fn covered_invoices(
    account: &Account,
    policy: &Policy,
    req: &Request<'_>,
) -> Result<Vec<InvoiceId>, ServiceError> {
    if let Some(ids) = req.invoice_ids.filter(|ids| !ids.is_empty()) {
        for id in ids {
            let invoice = account.invoice(id).ok_or_else(|| {
                rejected(
                    ErrorKind::NotFound,
                    format!(
                        "invoiceIds: {:?} is not an invoice of this account",
                        id.as_str()
                    ),
                )
            })?;
            if invoice.open_on(req.date) <= Decimal::ZERO {
                return Err(rejected(
                    ErrorKind::InvalidState,
                    format!("invoiceIds: {:?} is not open on {}", id.as_str(), req.date),
                ));
            }
        }
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        return Ok(ids);
    }
    let mut due: Vec<InvoiceId> =
        projections::worklist::account_worklist(account, policy, req.date)
            .into_iter()
            .filter(|item| item.step == req.step)
            .map(|item| item.invoice_id)
            .collect();
    if due.is_empty() && req.open_when_nothing_due {
        due = account
            .invoices
            .iter()
            .filter(|i| i.issued_on <= req.date && i.open_on(req.date) > Decimal::ZERO)
            .map(|i| i.id.clone())
            .collect();
    }
    if due.is_empty() {
        return Err(rejected(
            ErrorKind::InvalidState,
            format!(
                "step = {:?}: nothing of customer {} is due for it on {}; name invoiceIds to send anyway",
                req.step, req.customer_id, req.date
            ),
        ));
    }
    due.sort();
    due.dedup();
    Ok(due)
}

#[allow(clippy::too_many_arguments)]
fn context(
    account: &Account,
    policy: &Policy,
    step: &LadderStep,
    req: &Request<'_>,
    invoice_ids: &[InvoiceId],
    lang: &str,
    sender: &Sender,
    statement: Option<String>,
) -> TemplateContext {
    let st = style(lang);
    let kind = kind_of(step);
    let currency = &account.currency;
    let date = req.date;
    let mut rows = vec![st.headers.map(str::to_owned)];
    let mut lines = Vec::new();
    let mut total = Decimal::ZERO;
    let mut discount: Option<(Decimal, NaiveDate)> = None;
    let mut discount_lost = false;
    let mut first_due: Option<NaiveDate> = None;
    for id in invoice_ids {
        let Some(invoice) = account.invoice(id) else {
            continue;
        };
        let open = invoice.open_on(date);
        total = total.saturating_add(open);
        let days_overdue = (date - invoice.due_on).num_days().max(0);
        first_due = Some(first_due.map_or(invoice.due_on, |d| d.min(invoice.due_on)));
        if let Some(domain::invoice::Discount { percent, days }) = invoice.discount() {
            if let Some(until) = invoice
                .issued_on
                .checked_add_days(Days::new(u64::from(days)))
            {
                if date > until {
                    discount_lost = true;
                }
                discount = Some(match discount {
                    Some((p, u)) => (p, u.min(until)),
                    None => (percent, until),
                });
            }
        }
        rows.push([
            id.as_str().to_owned(),
            st.money(currency, invoice.amount()),
            st.date(invoice.due_on),
            days_overdue.to_string(),
            st.money(currency, open),
        ]);
        lines.push(InvoiceLine {
            number: id.as_str().to_owned(),
            amount: st.money(currency, invoice.amount()),
            issued_on: st.date(invoice.issued_on),
            due_on: st.date(invoice.due_on),
            days_overdue,
            open_amount: st.money(currency, open),
        });
    }
    let discount_until = discount
        .filter(|(_, until)| date <= *until)
        .map(|(_, until)| st.date(until));
    let agency_days = policy
        .ladder
        .iter()
        .find(|s| s.channel == "agency" && s.from == Anchor::Due)
        .map(|s| s.days);
    let numbers: Vec<&str> = invoice_ids.iter().map(InvoiceId::as_str).collect();
    TemplateContext {
        lang: lang.to_owned(),
        kind,
        step: step.step.clone(),
        customer_id: account.customer_id.as_str().to_owned(),
        customer: account.name.clone(),
        contact: account
            .contacts
            .billing_contact
            .clone()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| account.name.clone()),
        numbers: numbers.join(", "),
        first_due: first_due.map(|d| st.date(d)).unwrap_or_default(),
        invoices: lines,
        // Invoice and due date read left to right; the amounts line up right.
        table: table(&rows, [true, false, true, false, false]),
        total: st.money(currency, total),
        currency: currency.as_str().to_owned(),
        discount_percent: discount.map(|(p, _)| st.number(p.normalize())),
        discount_until,
        discount_lost: discount_lost && matches!(kind, "overdue" | "final"),
        late_fee_percent: policy
            .late_fees
            .as_ref()
            .map(|f| st.number(f.percent.normalize())),
        late_fee_after_days: policy.late_fees.as_ref().map(|f| f.after_days),
        late_fee_every_days: policy.late_fees.as_ref().and_then(|f| f.every_days),
        hold_days: policy.holds.days_past_due,
        agency_days,
        how_to_pay: sender.how_to_pay.clone(),
        statement,
        sender: sender.from.clone(),
    }
}
