//! The loops `dunlog serve` runs beside the requests: when the clock runs (on start, then once
//! a day through the service's today), the outbox's retries, and projection snapshots as the log
//! grows. Each loop only calls the service; none decides anything itself.

use std::time::Duration;

use chrono::NaiveDate;

use crate::app::live::Live;
use crate::app::service::Service;
use crate::reminders::outbox::{RETRY_BACKOFF_MAX, RETRY_BACKOFF_MIN};

/// How often the daily clock looks whether the service's today has moved on.
const CLOCK_CHECK_INTERVAL: Duration = Duration::from_secs(60);
/// How often the server considers saving a projection snapshot.
const SNAPSHOT_CHECK_INTERVAL: Duration = Duration::from_secs(60);
/// Events applied since the last snapshot that make the server save a new one.
const SNAPSHOT_EVERY_EVENTS: u64 = 100_000;

/// The outbox: what a crash or a temporary failure left unsent is retried, with backoff, before
/// anything new is sent (SPEC §12, `reminders::outbox`).
pub fn spawn_courier(service: Service) {
    tokio::spawn(async move {
        let mut wait = RETRY_BACKOFF_MIN;
        loop {
            let waiting = service.reminders.retry_pending(&service).await;
            wait = if waiting == 0 {
                RETRY_BACKOFF_MIN
            } else {
                (wait * 2).min(RETRY_BACKOFF_MAX)
            };
            tokio::time::sleep(wait).await;
        }
    });
}

/// When the clock runs: on start and then once a day (SPEC §5), through the service's today
/// (never after it), then the reminders of `send = "auto"` steps that are due (SPEC §12).
/// Accounts the clock fails for are logged one by one and the day is tried again at the next
/// check, so a failure is retried until it goes through.
pub fn spawn_daily_clock(service: Service) {
    tokio::spawn(async move {
        let mut last: Option<NaiveDate> = None;
        loop {
            let today = service.today();
            if last != Some(today) {
                match service.tick_report(today).await {
                    Ok(report) => {
                        tracing::info!(
                            date = %today,
                            events = report.events.len(),
                            failed = report.failed.len(),
                            "daily tick"
                        );
                        if report.failed.is_empty() {
                            service.reminders.retry_pending(&service).await;
                            let sent = service.reminders.send_due(&service, today).await;
                            tracing::info!(date = %today, reminders = sent.len(), "automatic reminders");
                            eprintln!("dunlog: {} automatic reminder(s) for {today}", sent.len());
                            last = Some(today);
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "daily tick failed"),
                }
            }
            tokio::time::sleep(CLOCK_CHECK_INTERVAL).await;
        }
    });
}

/// Snapshots as the log grows keep restarts short (only the tail is replayed).
pub fn spawn_snapshots(live: Live) {
    tokio::spawn(async move {
        let mut saved_at = live.checkpoint();
        loop {
            tokio::time::sleep(SNAPSHOT_CHECK_INTERVAL).await;
            let checkpoint = live.checkpoint();
            if checkpoint.saturating_sub(saved_at) >= SNAPSHOT_EVERY_EVENTS {
                let saving = live.clone();
                match tokio::task::spawn_blocking(move || saving.save_snapshot()).await {
                    Ok(Ok(())) => saved_at = checkpoint,
                    Ok(Err(e)) => tracing::error!(error = %e, "snapshot failed"),
                    Err(e) => tracing::error!(error = %e, "snapshot task failed"),
                }
            }
        }
    });
}
