//! The benches' history: `projections::synthetic`, the one `dunlog bench` measures, from a
//! fixed start so runs compare.

use chrono::{DateTime, NaiveDate, Utc};
use domain::event::Event;
use projections::{synthetic, EventMeta};

/// The first business day of the history.
pub fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 1).expect("a valid date")
}

/// `accounts` accounts of `per_account` events each, in position order.
pub fn history(accounts: u64, per_account: u64) -> Vec<(EventMeta, Event)> {
    let recorded_at = DateTime::<Utc>::from_timestamp(1_767_225_600, 0).expect("a valid instant");
    let mut log = Vec::new();
    for a in 0..accounts {
        let after = log.len() as u64;
        log.extend(
            synthetic::account_log(a, per_account, start(), after, recorded_at)
                .expect("a valid history"),
        );
    }
    log
}
