//! Where the read model's memory goes, without a store or a disk: builds the ledger of `dunlog
//! bench`'s synthetic history in memory and reports the process's resident memory, the snapshot's
//! size and how long it takes to encode and decode (docs/performance.md, "Memory and restart").
//!
//! ```text
//! cargo run --release -p dunlog --example ledger_memory -- build 1000000 /tmp/x.snapshot
//! cargo run --release -p dunlog --example ledger_memory -- restore /tmp/x.snapshot
//! ```
//!
//! `build` applies the events and writes the snapshot; `restore`, in a fresh process, reads and
//! decodes it as a restarting server does (`snapshot::load_file`; `load_s` is reading and
//! decoding together, which overlap; before session 7 it printed `read_s` and `decode_s`). Each
//! prints one JSON object. Resident memory comes from `/proc/self/status`; `build` also says
//! which part of the accounts holds how many bytes (`accounts_heap`), and `heaptrack` shows
//! where the rest is allocated. Like the server, it allocates with mimalloc.

use std::path::Path;
use std::time::Instant;

/// The server's allocator (docs/decisions/0006-allocator.md), so that `restore` measures what a
/// restarting `dunlog serve` does. It matters for the snapshot's parallel decode: glibc grows a
/// second thread's arena a few pages at a time with `mprotect` (39,000 calls for 1M events),
/// and each call stalls the other thread's page faults, so two decoding threads were no faster
/// than one.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{bail, Context as _};
use chrono::Utc;
use projections::{snapshot, synthetic, Ledger};

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Where the accounts' heap bytes go, per event, counted from each list's capacity and each
/// type's size (what the allocator rounds up to is not counted; the difference between the
/// resident memory and `counted` is that, the map nodes, the id indexes and the allocator's
/// own room). Also the in-memory size of each type, for layout work.
fn breakdown(ledger: &Ledger, events: u64) -> serde_json::Value {
    use domain::account::Payment;
    use domain::invoice::{Dispute, Entry, Fee, Invoice, InvoiceExtras};
    use domain::promise::Promise;
    use domain::Account;
    use std::mem::size_of;
    let (mut invoices, mut entries, mut fees, mut payments, mut allocations) = (0, 0, 0, 0, 0);
    let (mut promises, mut other) = (0, 0);
    for account in ledger.accounts.values() {
        invoices += account.invoices.capacity() * size_of::<Invoice>();
        for invoice in &account.invoices {
            entries += invoice.entries.heap_bytes();
            let extras = invoice.extras();
            if invoice.has_extras() {
                fees += size_of::<InvoiceExtras>()
                    + extras.fees.capacity() * size_of::<Fee>()
                    + extras.fee_periods.capacity() * size_of::<u32>()
                    + extras.disputes.capacity() * size_of::<Dispute>()
                    + extras.reference.as_ref().map_or(0, String::capacity);
            }
        }
        payments += account.payments.capacity() * size_of::<Payment>();
        for payment in &account.payments {
            allocations += payment.invoices.heap_bytes();
        }
        promises += account.promises.capacity() * size_of::<Promise>();
        other += size_of::<Account>() + account.name.capacity();
    }
    let per_event = |bytes: usize| bytes as f64 / events.max(1) as f64;
    let counted = invoices + entries + fees + payments + allocations + promises + other;
    serde_json::json!({
        "bytes_per_event": {
            "invoice_structs": per_event(invoices),
            "invoice_entries": per_event(entries),
            "invoice_extras": per_event(fees),
            "payment_structs": per_event(payments),
            "payment_invoices": per_event(allocations),
            "promises": per_event(promises),
            "account_structs_names": per_event(other),
            "counted": per_event(counted),
        },
        "type_bytes": {
            "Invoice": size_of::<Invoice>(),
            "Entry": size_of::<Entry>(),
            "Payment": size_of::<Payment>(),
            "Account": size_of::<Account>(),
            "Decimal": size_of::<rust_decimal::Decimal>(),
            "InvoiceId": size_of::<domain::InvoiceId>(),
            "Event": size_of::<domain::Event>(),
        },
    })
}

fn build(events: u64, file: &Path) -> anyhow::Result<()> {
    let rss_before_kib = status_kib("VmRSS:");
    let accounts = loadtest::bench::accounts_for(events);
    let per_account = (events / accounts).max(2);
    let start = loadtest::bench::history_start();
    let now = Utc::now();
    let mut ledger = Ledger::new();
    let mut position = 0u64;
    let started = Instant::now();
    for a in 0..accounts {
        for (meta, event) in synthetic::account_log(a, per_account, start, position, now)? {
            position = meta.position;
            ledger.apply(&meta, &event);
        }
    }
    let apply_s = started.elapsed().as_secs_f64();
    let rss_ledger_kib = status_kib("VmRSS:");
    // As the runtime does after a replay; freed room is reused, not returned, so RSS stays.
    ledger.shrink_to_fit();
    let started = Instant::now();
    let bytes = snapshot::encode(&ledger, [0; 32])?;
    let encode_s = started.elapsed().as_secs_f64();
    std::fs::write(file, &bytes).with_context(|| format!("writing {}", file.display()))?;
    let ledger_bytes_per_event =
        (rss_ledger_kib.saturating_sub(rss_before_kib) * 1024) as f64 / position as f64;
    let heap = breakdown(&ledger, position);
    println!(
        "{}",
        serde_json::json!({
            "events": position,
            "accounts": accounts,
            "apply_s": apply_s,
            "rss_before_mib": mib(rss_before_kib),
            "rss_ledger_mib": mib(rss_ledger_kib),
            "ledger_bytes_per_event": ledger_bytes_per_event,
            "snapshot_bytes": bytes.len(),
            "snapshot_bytes_per_event": bytes.len() as f64 / position as f64,
            "accounts_heap": heap,
            "encode_s": encode_s,
        })
    );
    Ok(())
}

fn restore(file: &Path) -> anyhow::Result<()> {
    let rss_before_kib = status_kib("VmRSS:");
    let snapshot_bytes = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    // As a restarting server loads it: read and decoded at once, a chunk at a time.
    let started = Instant::now();
    let snap =
        snapshot::load_file(file)?.with_context(|| format!("no snapshot at {}", file.display()))?;
    let load_s = started.elapsed().as_secs_f64();
    let rss_restored_kib = status_kib("VmRSS:");
    let events = snap.checkpoint.max(1);
    // Lookups by id are built on an account's first one (decision 0052): as after every account
    // has been written to.
    let started = Instant::now();
    for account in snap.ledger.accounts.values() {
        let first_invoice = account.invoices.first().map(|i| &i.id);
        let first_payment = account.payments.first().map(|p| &p.id);
        let found = first_invoice.and_then(|id| account.invoice(id)).is_some()
            && first_payment.and_then(|id| account.payment(id)).is_some();
        std::hint::black_box(found);
    }
    let build_indexes_s = started.elapsed().as_secs_f64();
    let rss_indexed_kib = status_kib("VmRSS:");
    println!(
        "{}",
        serde_json::json!({
            "events": snap.checkpoint,
            "accounts": snap.ledger.accounts.len(),
            "snapshot_bytes": snapshot_bytes,
            "load_s": load_s,
            "rss_before_mib": mib(rss_before_kib),
            "rss_restored_mib": mib(rss_restored_kib),
            "rss_peak_mib": mib(status_kib("VmHWM:")),
            "restored_bytes_per_event":
                (rss_restored_kib.saturating_sub(rss_before_kib) * 1024) as f64 / events as f64,
            "build_indexes_s": build_indexes_s,
            "rss_indexed_mib": mib(rss_indexed_kib),
            "indexed_bytes_per_event":
                (rss_indexed_kib.saturating_sub(rss_before_kib) * 1024) as f64 / events as f64,
        })
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["build", events, file] => build(events.parse()?, Path::new(file)),
        ["restore", file] => restore(Path::new(file)),
        _ => bail!("usage: ledger_memory build EVENTS FILE | ledger_memory restore FILE"),
    }
}
