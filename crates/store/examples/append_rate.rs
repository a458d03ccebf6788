//! Measures only the durable-append part of `dunlog bench` (SPEC §10), without building the
//! whole binary or generating a ledger: the raw `fdatasync` rate, then durable appends of one
//! `AccountOpened` event each from 1 and from 64 concurrent writers, each on its own streams,
//! exactly as `dunlog bench` does. Prints one JSON object with the bench's key names.
//!
//! `cargo run --release -p store --example append_rate -- [--secs 3] [--writers 1,64] DIR`
//! (`DIR` must not exist; it is removed at the end).

use std::error::Error;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use domain::event::{AccountOpened, Contacts, Event, Terms};
use domain::{Currency, CustomerId};
use rust_decimal::Decimal;
use store::{AppendRequest, ExpectedVersion, NewEvent, Store};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

fn opened(customer: &CustomerId) -> Result<Event> {
    Ok(AccountOpened {
        customer_id: customer.clone(),
        name: format!("Customer {customer}"),
        currency: Currency::parse("EUR")?,
        credit_limit: Decimal::new(5_000_000, 2),
        terms: Terms {
            net_days: 30,
            discount_percent: None,
            discount_days: None,
        },
        opened_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
        contacts: Contacts::default(),
        sales_rep: Some("rep-1".to_owned()),
    }
    .into())
}

fn fdatasync_rate(path: &Path, secs: u64) -> Result<f64> {
    let mut file = std::fs::File::create(path)?;
    let block = vec![0xA5u8; 4096];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(secs) {
        file.write_all(&block)?;
        file.sync_data()?;
        n += 1;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(path)?;
    Ok(rate)
}

async fn append_rate(dir: &Path, writers: usize, secs: u64) -> Result<f64> {
    let store = Store::open(dir)?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(writers);
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let customer = CustomerId::parse(&format!("W{w}-{n}"))?;
                let event = opened(&customer)?;
                store
                    .append(AppendRequest {
                        stream: customer.stream(),
                        expected: ExpectedVersion::NoStream,
                        events: vec![NewEvent {
                            event,
                            occurred_at: Utc::now(),
                        }],
                        actor: "bench".to_owned(),
                        correlation_id: None,
                        causation_id: None,
                        policy_version: None,
                        idempotency: None,
                    })
                    .await?;
                n += 1;
            }
            Result::Ok(n)
        }));
    }
    let mut total = 0u64;
    for t in tasks {
        total += t.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

fn main() -> Result<()> {
    let mut secs = 3u64;
    let mut writers = vec![1usize, 64];
    let mut fsync = true;
    let mut dir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--secs" => secs = args.next().ok_or("--secs needs a value")?.parse()?,
            "--writers" => {
                writers = args
                    .next()
                    .ok_or("--writers needs a value")?
                    .split(',')
                    .map(str::parse)
                    .collect::<std::result::Result<_, _>>()?;
            }
            "--no-fsync" => fsync = false,
            other => dir = Some(PathBuf::from(other)),
        }
    }
    let dir = dir.ok_or("usage: append_rate [--secs N] [--writers 1,64] [--no-fsync] DIR")?;
    if dir.exists() {
        return Err(format!("{} must not exist", dir.display()).into());
    }
    std::fs::create_dir_all(&dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut fields = Vec::new();
    if fsync {
        let rate = fdatasync_rate(&dir.join("fsync-probe"), secs.min(2))?;
        fields.push(format!("\"fdatasync_per_s\":{rate:.0}"));
    }
    for w in writers {
        let rate = rt.block_on(append_rate(&dir.join(format!("append-{w}")), w, secs))?;
        fields.push(format!("\"append_{w}_events_per_s\":{rate:.0}"));
    }
    drop(rt);
    std::fs::remove_dir_all(&dir)?;
    println!("{{{}}}", fields.join(","));
    Ok(())
}
