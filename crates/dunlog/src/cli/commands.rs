//! The CLI commands that touch a ledger, each a function over an already-open [`Service`] writing
//! to an [`Output`]: the CLI runs them in its own process when no server holds the data directory,
//! and `dunlog serve` runs the very same functions for a client of its local channel
//! (`crate::cli::channel`), so the output is the same either way by construction
//! (docs/decisions/0025-the-cli-beside-a-live-server.md).

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use chrono::NaiveDate;

use crate::app::auth::Role;
use crate::app::service::Service;
pub use crate::cli::args::{
    AccountCommand, DeliveryArgs, ExportFormat, LedgerCommand, TokenCommand,
};
use crate::cli::report::{self};

/// Where a command writes: its stdout and stderr, and whether long work may draw a progress bar
/// (only in the user's own terminal: the server's process has none).
pub struct Output<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    pub progress: bool,
}

impl Output<'_> {
    /// A progress bar of `len` steps on the user's terminal, or a hidden one.
    pub fn bar(&self, len: u64, template: &str) -> indicatif::ProgressBar {
        if !self.progress {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new(len);
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    }
}

/// The actor recorded on events commands of the CLI append.
pub const CLI_ACTOR: &str = "cli";

fn read_policy(path: &Path) -> Result<(String, domain::Policy)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read policy {}", path.display()))?;
    let policy =
        domain::Policy::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok((text, policy))
}

/// A writer that remembers whether its reader went away (EPIPE), since some layers (the store's
/// export, csv) turn the I/O error into their own.
struct PipeWatch<'a> {
    inner: &'a mut dyn Write,
    broken: bool,
}

impl Write for PipeWatch<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| {
            self.broken |= e.kind() == std::io::ErrorKind::BrokenPipe;
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().inspect_err(|e| {
            self.broken |= e.kind() == std::io::ErrorKind::BrokenPipe;
        })
    }
}

/// Runs one command against an open ledger. `data` is the directory as the user named it (for
/// messages). Returns the exit status; an error is printed by the caller as one line, except a
/// closed stdout (`dunlog … | head`), which comes back as an `io::ErrorKind::BrokenPipe` error
/// for the caller to end quietly on.
pub async fn execute(
    service: &Service,
    data: &Path,
    command: LedgerCommand,
    io: &mut Output<'_>,
) -> Result<u8> {
    let mut watch = PipeWatch {
        inner: &mut *io.out,
        broken: false,
    };
    let mut watched = Output {
        out: &mut watch,
        err: &mut *io.err,
        progress: io.progress,
    };
    let result = execute_unwatched(service, data, command, &mut watched).await;
    match result {
        Err(_) if watch.broken => Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into()),
        other => other,
    }
}

// Long: one arm per ledger command of SPEC §9, each arm that command's whole behaviour, so a
// command reads the same whether the CLI or the server over the local channel runs it.
async fn execute_unwatched(
    service: &Service,
    data: &Path,
    command: LedgerCommand,
    io: &mut Output<'_>,
) -> Result<u8> {
    match command {
        LedgerCommand::Demo { customers, seed } => {
            if !service.live.read().accounts.is_empty() {
                bail!(
                    "{} already holds accounts; demo needs an empty ledger",
                    data.display()
                );
            }
            let stats = crate::ops::demo::generate(service, customers, seed, io.progress).await?;
            service.live.save_snapshot()?;
            writeln!(
                io.err,
                "demo: {} customers, {} events in {} ({} generated commands refused by the domain)",
                customers,
                stats.events,
                data.display(),
                stats.rejected
            )?;
            let figures = crate::ops::demo::figures(&service.live.read(), service.today());
            crate::ops::demo::print_figures(&figures, io.out)?;
        }
        LedgerCommand::Import {
            accounts,
            invoices,
            payments,
        } => {
            let files = crate::ops::import::Files {
                accounts: accounts.as_deref(),
                invoices: invoices.as_deref(),
                payments: payments.as_deref(),
            };
            let count = crate::ops::import::import(service, files, io).await?;
            writeln!(io.out, "imported {count} rows")?;
        }
        LedgerCommand::Account { command } => match command {
            AccountCommand::Open {
                customer,
                name,
                currency,
                credit_limit,
                net_days,
                discount_percent,
                discount_days,
                opened_on,
                email,
                phone,
                sales_rep,
            } => {
                let step =
                    crate::ops::import::open_account_json(crate::ops::import::AccountFields {
                        customer_id: &customer,
                        name: &name,
                        currency: &currency,
                        credit_limit: &credit_limit,
                        net_days: Some(net_days),
                        discount_percent: discount_percent.as_deref(),
                        discount_days,
                        opened_on: opened_on.unwrap_or_else(|| service.today()),
                        emails: email,
                        phones: phone,
                        sales_rep,
                    })
                    .map_err(|e| {
                        anyhow::anyhow!("{}", e.replace("credit_limit", "--credit-limit"))
                    })?;
                let command: domain::Command =
                    serde_json::from_value(step).context("building the open_account command")?;
                let done = service
                    .execute(CLI_ACTOR, command, None)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let position = done.events.first().map_or(0, |e| e.position);
                writeln!(
                    io.out,
                    "opened account {customer} ({currency}, credit limit {credit_limit}) at position {position}"
                )?;
            }
        },
        LedgerCommand::Tick { date, today } => {
            // Through a server, the server's own today holds unless one is given here.
            let service = match today {
                Some(_) => service.clone().with_today(today),
                None => service.clone(),
            };
            let date = date.unwrap_or_else(|| service.today());
            let report = service
                .tick_report(date)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            writeln!(
                io.out,
                "tick through {date}: {} events appended",
                report.events.len()
            )?;
            if !report.failed.is_empty() {
                for (customer, why) in &report.failed {
                    writeln!(io.err, "dunlog: the clock failed for {customer}: {why}")?;
                }
                bail!(
                    "the clock failed for {} account(s); the others were ticked",
                    report.failed.len()
                );
            }
        }
        LedgerCommand::Verify { today } => {
            // Through a server, the server's own today holds unless one is given here.
            let today = today.unwrap_or_else(|| service.today());
            let mut warnings = Vec::new();
            let v = service
                .store
                .verify_inspecting(0, &mut |recorded| warn(recorded, today, &mut warnings))?;
            if v.ok {
                writeln!(io.out, "ok: {} events verified", v.checked)?;
                for warning in warnings {
                    writeln!(io.out, "{warning}")?;
                }
            } else {
                bail!(
                    "log does not verify at position {}: {} ({} events checked before it)",
                    v.first_bad_position.unwrap_or(0),
                    v.message.unwrap_or_default(),
                    v.checked
                );
            }
        }
        LedgerCommand::Export { format, known_at } => {
            let ExportFormat::Jsonl = format;
            service.store.export_jsonl(io.out, known_at)?;
        }
        LedgerCommand::Aging { as_of, format } => {
            // The report is computed under the read lock and written after it is released, so a
            // slow reader of the output never holds up the server's follower.
            let report = service
                .live
                .read()
                .aging(as_of.unwrap_or_else(|| service.today()), None);
            report::aging(&report, format, io.out)?;
        }
        LedgerCommand::Exposure { as_of, format } => {
            let items = service
                .live
                .read()
                .exposures(as_of.unwrap_or_else(|| service.today()), None);
            report::exposures(&items, format, io.out)?;
        }
        LedgerCommand::Statement {
            customer,
            from,
            to,
            format,
        } => {
            let customer_id = domain::CustomerId::parse(&customer)
                .map_err(|e| anyhow::anyhow!("--customer: {e}"))?;
            let events = service.store.read_stream(&customer_id.stream(), 0)?;
            let statement = projections::statement::statement(
                events.iter().map(|e| (e.position, &e.event)),
                from,
                to,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .ok_or_else(|| anyhow::anyhow!("customer = {customer:?}: not found"))?;
            report::statement(&statement, format, io.out)?;
        }
        LedgerCommand::Worklist { as_of, format } => {
            let items = service
                .live
                .read()
                .worklist(as_of.unwrap_or_else(|| service.today()));
            report::worklist(&items, format, io.out)?;
        }
        LedgerCommand::Rebuild {
            policy,
            adopt,
            as_of,
        } => rebuild(service, policy.as_deref(), adopt, as_of, io).await?,
        LedgerCommand::Whatif {
            policy,
            as_of,
            format,
        } => {
            let (_, policy) = read_policy(&policy)?;
            let as_of = as_of.unwrap_or_else(|| service.today());
            let report = projections::whatif(&service.live.read(), &policy, as_of);
            report::whatif(&report, format, io.out)?;
        }
        LedgerCommand::Remind {
            customer,
            step,
            invoices,
            language,
            date,
            preview,
            send: _,
            delivery,
        } => {
            return remind(
                service,
                RemindArgs {
                    customer,
                    step,
                    invoices,
                    language,
                    date,
                    preview,
                    delivery,
                },
                io,
            )
            .await
        }
        LedgerCommand::Token { command } => match command {
            TokenCommand::Create { name, role } => {
                let role: Role = role.parse()?;
                let secret = service.tokens.create(&name, role)?;
                writeln!(io.out, "{secret}")?;
            }
            TokenCommand::List => {
                for t in service.tokens.list() {
                    writeln!(
                        io.out,
                        "{}\t{}\t{}",
                        t.name,
                        t.role,
                        t.created_at.to_rfc3339()
                    )?;
                }
            }
            TokenCommand::Revoke { name } => {
                if !service.tokens.revoke(&name)? {
                    bail!("no token named {name:?}");
                }
                writeln!(io.err, "revoked {name}")?;
            }
        },
    }
    io.out.flush()?;
    Ok(0)
}

struct RemindArgs {
    customer: String,
    step: String,
    invoices: Vec<String>,
    language: Option<String>,
    date: Option<NaiveDate>,
    preview: bool,
    delivery: DeliveryArgs,
}

/// `dunlog remind`: prints the reminder, or sends and records it like `sendReminder`. The
/// transports are those given with the command, else the service's own (a running server's
/// `--smtp`/`--letters-dir`; none when the CLI opened the directory itself). Exit status: 0 sent,
/// 1 refused for good (recorded as `ReminderFailed`), 75 (EX_TEMPFAIL) deferred to the outbox.
// Long: parse, compose, then print or deliver and say what became of it, in the order a person
// reads the output.
async fn remind(service: &Service, args: RemindArgs, io: &mut Output<'_>) -> Result<u8> {
    use crate::reminders::{Delivered, Reminders, Request};
    let customer = domain::CustomerId::parse(&args.customer)
        .map_err(|e| anyhow::anyhow!("--customer: {e}"))?;
    let invoices = args
        .invoices
        .iter()
        .map(|i| domain::InvoiceId::parse(i).map_err(|e| anyhow::anyhow!("--invoice: {e}")))
        .collect::<Result<Vec<_>>>()?;
    let reminders = if args.delivery.is_empty() {
        service.reminders.clone()
    } else {
        std::sync::Arc::new(Reminders::new(
            service.store.dir(),
            &args.delivery.options(),
        )?)
    };
    let req = Request {
        customer_id: &customer,
        step: &args.step,
        date: args.date.unwrap_or_else(|| service.today()),
        invoice_ids: (!invoices.is_empty()).then_some(invoices.as_slice()),
        language: args.language.as_deref(),
        open_when_nothing_due: args.preview,
    };
    let draft = reminders
        .compose(service, &req)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if args.preview {
        writeln!(
            io.out,
            "To: {}",
            draft.to.as_deref().unwrap_or("(none on file)")
        )?;
        writeln!(io.out, "Subject: {}", draft.rendered.subject)?;
        writeln!(io.out, "Language: {}", draft.rendered.language)?;
        writeln!(io.out, "Message-ID: {}", draft.message_id)?;
        writeln!(io.out)?;
        write!(io.out, "{}", draft.rendered.body)?;
        io.out.flush()?;
        return Ok(0);
    }
    let delivered = reminders
        .deliver(
            service,
            &draft,
            CLI_ACTOR,
            crate::reminders::outbox::INTERACTIVE_ATTEMPTS_MAX,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let status = match delivered {
        Delivered::Sent(events) => {
            writeln!(
                io.out,
                "sent {} ({} event(s) recorded)",
                draft.message_id,
                events.len()
            )?;
            0
        }
        Delivered::Failed(_) => {
            writeln!(
                io.out,
                "not delivered, recorded as ReminderFailed: {}",
                draft.message_id
            )?;
            1
        }
        Delivered::Deferred(reason) => {
            writeln!(
                io.out,
                "not delivered yet ({reason}); kept in the outbox, the server retries it: {}",
                draft.message_id
            )?;
            75
        }
    };
    io.out.flush()?;
    Ok(status)
}

/// `rebuild [--policy FILE [--adopt]]`: a full replay from position 1, timed; with a policy, the
/// figures under it beside the adopted one's.
async fn rebuild(
    service: &Service,
    policy: Option<&Path>,
    adopt: bool,
    as_of: Option<NaiveDate>,
    io: &mut Output<'_>,
) -> Result<()> {
    let document = policy.map(read_policy).transpose()?;
    let bar = io.bar(
        service.store.head(),
        "rebuild {bar:40} {pos}/{len} events ({per_sec}, eta {eta})",
    );
    let (ledger, stats) = projections::rebuild(
        &service.store,
        document.as_ref().map(|(_, p)| p.clone()),
        &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    )?;
    bar.finish_and_clear();
    writeln!(
        io.out,
        "rebuilt {} events ({} accounts) in {:.3} s: {:.0} events/s",
        stats.events,
        ledger.accounts.len(),
        stats.seconds,
        stats.events_per_s
    )?;
    let (Some((text, candidate)), Some(path)) = (document, policy) else {
        return Ok(());
    };
    let as_of = as_of.unwrap_or_else(|| service.today());
    let (adopted_name, adopted_version, adopted) = {
        let live = service.live.read();
        (
            live.policy().name.clone(),
            live.policy_version(),
            report::PolicyFigures::of(&live, as_of),
        )
    };
    let under = report::PolicyFigures::of(&ledger, as_of);
    report::policy_comparison(
        as_of,
        (
            &format!("adopted v{adopted_version} {adopted_name:?}"),
            &adopted,
        ),
        (&format!("{} {:?}", path.display(), candidate.name), &under),
        io.out,
    )?;
    if adopt {
        let events = service
            .adopt_policy(CLI_ACTOR, &text, None)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let position = events.first().map_or(0, |e| e.position);
        writeln!(
            io.out,
            "adopted {:?} as policy version {} (PolicyAdopted at position {position})",
            candidate.name,
            adopted_version.saturating_add(1)
        )?;
    } else {
        writeln!(
            io.out,
            "nothing changed; run again with --adopt to adopt {}",
            path.display()
        )?;
    }
    Ok(())
}

/// What `dunlog verify` warns about in one recorded event, seen in its one pass over the log
/// (the ledger still serves either way):
/// - an amount beyond what a client may give (SPEC §2, 10^15), which a ledger written before
///   the bound existed may hold; sums saturate (docs/decisions/0009-amounts-never-overflow.md)
///   and a credit note or write-off brings such an invoice down;
/// - an automatic event dated after `today`, which an older dunlog's `tick` wrote when it
///   accepted any date; it is left as recorded, and the next late fact reconciles it
///   (docs/decisions/0011-automatic-events-after-today.md).
fn warn(recorded: &store::RecordedEvent, today: NaiveDate, warnings: &mut Vec<String>) {
    if let Some(amount) = recorded
        .event
        .amounts()
        .into_iter()
        .find(|a| domain::money::out_of_bounds(*a))
    {
        warnings.push(format!(
            "warning: position {} ({} in {}): amount {amount} is beyond the bound of 10^15",
            recorded.position, recorded.event_type, recorded.stream
        ));
    }
    if let Some(on) = recorded.event.automatic_on().filter(|on| *on > today) {
        warnings.push(format!(
            "warning: position {} ({} in {}): automatic event dated {on}, after today ({today})",
            recorded.position, recorded.event_type, recorded.stream
        ));
    }
}
