//! Helpers shared by the store's tests: temporary stores and small append requests.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use domain::event::{CreditLimitChanged, ReminderChannel, ReminderSent};
use domain::{Event, InvoiceId};
use rust_decimal::Decimal;
use store::{AppendRequest, ExpectedVersion, Idempotency, NewEvent, Store};

pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// How long a reopen may wait for sled to let go of its file lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs `open` until it stops failing on sled's file lock. sled's background I/O threads can hold
/// the lock for a moment after the previous handle in this process was dropped.
pub fn retry_locked<T, E: std::fmt::Debug>(mut open: impl FnMut() -> Result<T, E>) -> T {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match open() {
            Ok(v) => return v,
            Err(e)
                if format!("{e:?}").contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(e) => panic!("open failed: {e:?}"),
        }
    }
}

pub fn open(dir: &Path) -> Store {
    retry_locked(|| Store::open(dir))
}

pub fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_780_000_000 + secs, 0).unwrap()
}

/// A small event whose content names `n`, so tests can tell events apart.
pub fn event(n: u64) -> Event {
    if n % 2 == 0 {
        Event::CreditLimitChanged(CreditLimitChanged {
            new_limit: Decimal::new(i64::try_from(n).unwrap() * 100, 2),
            reason: format!("event {n}"),
        })
    } else {
        Event::ReminderSent(ReminderSent {
            invoice_ids: vec![InvoiceId::parse(&format!("INV-{n}")).unwrap()],
            channel: ReminderChannel::Email,
            step: Some(format!("step {n}")),
            template: None,
            sent_at: at(i64::try_from(n).unwrap()),
        })
    }
}

pub fn request(stream: &str, expected: ExpectedVersion, ns: &[u64]) -> AppendRequest {
    AppendRequest {
        stream: stream.to_owned(),
        expected,
        events: ns
            .iter()
            .map(|n| NewEvent {
                event: event(*n),
                occurred_at: at(i64::try_from(*n).unwrap()),
            })
            .collect(),
        actor: "tester".to_owned(),
        correlation_id: None,
        causation_id: None,
        policy_version: None,
        idempotency: None,
    }
}

pub fn with_key(mut req: AppendRequest, key: &str, fingerprint: u8) -> AppendRequest {
    req.idempotency = Some(Idempotency {
        key: key.to_owned(),
        fingerprint: [fingerprint; 32],
    });
    req
}

/// Every event of the log, in order.
pub fn all(store: &Store) -> Vec<store::RecordedEvent> {
    store.iter_from(0).collect::<Result<Vec<_>, _>>().unwrap()
}
