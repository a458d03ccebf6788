//! Running the clock for the service (SPEC §5): `tick` through a date never after today, each
//! account in appends of whole days with its clock mark advanced after each, one account's failure
//! never stopping the others, and the reconciliation a command still owes finished first.

use chrono::NaiveDate;
use domain::reconcile::Pending;
use domain::{CustomerId, ErrorKind, Event};
use store::{ExpectedVersion, RecordedEvent};

use super::*;

/// The longest prefix of `events` (in the order they take effect) that fits in one append and
/// ends with a whole day, with that day; when one day alone has more events than fit, the first
/// `max` of them and no day (the clock mark stays before that day until its last part).
pub(super) fn whole_days(
    events: &[(NaiveDate, Event)],
    max: usize,
) -> (&[(NaiveDate, Event)], Option<NaiveDate>) {
    if events.len() <= max {
        return (events, None);
    }
    let mut cut = max;
    // `events[cut]` is the first left out: back off to the start of its day.
    while cut > 0 && events[cut - 1].0 == events[cut].0 {
        cut -= 1;
    }
    if cut == 0 {
        return (&events[..max], None);
    }
    (&events[..cut], Some(events[cut - 1].0))
}

fn last_tick_before(last: Option<NaiveDate>, day: NaiveDate) -> bool {
    last.is_none_or(|l| l < day)
}

impl Service {
    pub(super) fn last_tick(
        &self,
        customer_id: &CustomerId,
    ) -> Result<Option<NaiveDate>, ServiceError> {
        let key = format!("clock/{customer_id}");
        Ok(self
            .store
            .meta_get(&key)?
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.parse::<NaiveDate>().ok()))
    }

    /// Refuses a tick that would walk more than [`TICK_DAYS_MAX`] days for some account, before
    /// anything is appended.
    fn check_tick_span(
        &self,
        customers: &[CustomerId],
        date: NaiveDate,
    ) -> Result<(), ServiceError> {
        let mut last_ticks = Vec::with_capacity(customers.len());
        for customer_id in customers {
            last_ticks.push(self.last_tick(customer_id)?);
        }
        let ledger = self.live.read();
        for (customer_id, last) in customers.iter().zip(last_ticks) {
            let Some(account) = ledger.account(customer_id) else {
                continue;
            };
            let from = last.and_then(|d| d.succ_opt()).unwrap_or(account.opened_on);
            let Some(first) = domain::clock::first_day(account, from) else {
                continue;
            };
            let days = (date - first).num_days();
            if days > TICK_DAYS_MAX {
                return Err(ServiceError::rejected(
                    ErrorKind::Validation,
                    format!(
                        "date = {date}: {days} days after the clock of account {customer_id} \
                         ({first}); tick at most {TICK_DAYS_MAX} days at a time"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Runs the clock for every account through `date`; returns the events it appended. An
    /// account the clock fails for does not stop the others; the tick then fails naming them
    /// (see [`Service::tick_report`]).
    pub async fn tick(&self, date: NaiveDate) -> Result<Vec<RecordedEvent>, ServiceError> {
        let report = self.tick_report(date).await?;
        if report.failed.is_empty() {
            return Ok(report.events);
        }
        let names: Vec<String> = report
            .failed
            .iter()
            .map(|(c, why)| format!("{c}: {why}"))
            .collect();
        Err(ServiceError::Internal(anyhow::anyhow!(
            "the clock failed for {} account(s) (the others were ticked; these are retried at \
             the next tick): {}",
            report.failed.len(),
            names.join("; ")
        )))
    }

    /// Runs the clock for every account through `date` (never after today: `VALIDATION`).
    /// Each account's events go in appends of whole days within the store's limit, its clock
    /// mark advanced after each, so a tick of any size goes through and one interrupted resumes
    /// where it stopped. One account's failure is logged and reported, never stops the others.
    pub async fn tick_report(&self, date: NaiveDate) -> Result<TickReport, ServiceError> {
        self.check_writable()?;
        domain::reconcile::check_tick_date(date, self.today())?;
        let customers: Vec<CustomerId> = self.live.read().accounts.keys().cloned().collect();
        self.check_tick_span(&customers, date)?;
        let mut report = TickReport::default();
        for customer_id in customers {
            match self.tick_account(&customer_id, date).await {
                Ok(events) => report.events.extend(events),
                Err(e) => {
                    tracing::error!(customer = %customer_id, error = %e, "the clock failed for an account");
                    self.stats.tick_failures.fetch_add(1, Ordering::Relaxed);
                    report.failed.push((customer_id, e.to_string()));
                }
            }
            // An account with nothing to append never awaits: without this, catching up a
            // ledger's clock after days off would hold a worker thread (and the ledger's read
            // lock, turn by turn) for the whole walk, and the requests beside it would wait.
            tokio::task::yield_now().await;
        }
        if let Ok(mut failing) = self.stats.tick_failing.lock() {
            failing.clone_from(&report.failed);
        }
        Ok(report)
    }

    fn set_last_tick(&self, customer_id: &CustomerId, day: NaiveDate) -> Result<(), ServiceError> {
        self.store
            .meta_put(&format!("clock/{customer_id}"), day.to_string().as_bytes())?;
        Ok(())
    }

    fn pending(&self, customer_id: &CustomerId) -> Result<Option<Pending>, ServiceError> {
        Ok(self
            .store
            .meta_get(&format!("{RECONCILE_PENDING_PREFIX}{customer_id}"))?
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| Pending::decode(&text)))
    }

    /// Records the reconciliation a command still owes, keeping the earliest day if one is
    /// already owed.
    pub(super) fn set_pending(
        &self,
        customer_id: &CustomerId,
        pending: &Pending,
    ) -> Result<(), ServiceError> {
        let pending = match self.pending(customer_id)? {
            Some(owed) if owed.from < pending.from => owed,
            _ => pending.clone(),
        };
        self.store.meta_put(
            &format!("{RECONCILE_PENDING_PREFIX}{customer_id}"),
            pending.encode().as_bytes(),
        )?;
        Ok(())
    }

    /// Finishes the reconciliation an account is owed (recorded by a command whose
    /// compensations did not fit in one append): appends what one walk of the clock from its
    /// day still differs by, in appends of whole days within the store's limit, then forgets
    /// it. Nothing when nothing is owed.
    pub async fn reconcile_pending(
        &self,
        customer_id: &CustomerId,
        actor: &str,
    ) -> Result<Vec<RecordedEvent>, ServiceError> {
        let Some(pending) = self.pending(customer_id)? else {
            return Ok(Vec::new());
        };
        let mut appended = Vec::new();
        'attempt: for _attempt in 0..CONFLICT_RETRIES_MAX {
            let clock = self.last_tick(customer_id)?;
            let (events, mut version, policy_version) = {
                let ledger = self.live.read();
                let Some(account) = ledger.account(customer_id) else {
                    return Ok(appended);
                };
                let policy = ledger.policy();
                (
                    domain::reconcile::repair_dated(
                        account,
                        &policy,
                        &pending,
                        clock,
                        self.today(),
                    ),
                    account.version,
                    ledger.policy_version(),
                )
            };
            let mut rest = events.as_slice();
            while !rest.is_empty() {
                let (chunk, _) = whole_days(rest, store::EVENTS_PER_APPEND_MAX);
                rest = &rest[chunk.len()..];
                let req = self.new_request(
                    customer_id.stream(),
                    ExpectedVersion::Exact(version),
                    chunk.iter().map(|(_, e)| e.clone()).collect(),
                    actor,
                    policy_version,
                    None,
                );
                let Some(outcome) = self.append_and_wait(req).await? else {
                    // A command came in between: decide what is still owed again.
                    continue 'attempt;
                };
                version += outcome.events.len() as u64;
                appended.extend(outcome.events);
            }
            self.store
                .meta_delete(&format!("{RECONCILE_PENDING_PREFIX}{customer_id}"))?;
            return Ok(appended);
        }
        Err(ServiceError::rejected(
            ErrorKind::Conflict,
            format!(
                "customer_id = {customer_id:?}: the account kept changing during reconciliation"
            ),
        ))
    }

    /// The clock for one account through `date`, in appends of whole days.
    async fn tick_account(
        &self,
        customer_id: &CustomerId,
        date: NaiveDate,
    ) -> Result<Vec<RecordedEvent>, ServiceError> {
        let mut appended = self.reconcile_pending(customer_id, CLOCK_ACTOR).await?;
        let mut conflicts = 0;
        loop {
            let last = self.last_tick(customer_id)?;
            let (events, version, policy_version) = {
                let ledger = self.live.read();
                let Some(account) = ledger.account(customer_id) else {
                    return Ok(appended);
                };
                let policy = ledger.policy();
                (
                    domain::reconcile::tick_dated(account, &policy, last, date, self.today())?,
                    account.version,
                    ledger.policy_version(),
                )
            };
            let mut version = version;
            let mut rest = events.as_slice();
            let mut conflicted = false;
            while !rest.is_empty() {
                let (chunk, through) = whole_days(rest, store::EVENTS_PER_APPEND_MAX);
                rest = &rest[chunk.len()..];
                let req = self.new_request(
                    customer_id.stream(),
                    ExpectedVersion::Exact(version),
                    chunk.iter().map(|(_, e)| e.clone()).collect(),
                    CLOCK_ACTOR,
                    policy_version,
                    None,
                );
                let Some(outcome) = self.append_and_wait(req).await? else {
                    conflicted = true;
                    break;
                };
                version += outcome.events.len() as u64;
                appended.extend(outcome.events);
                // A whole number of days is recorded: a tick interrupted now resumes from the
                // next one (and reconciles whatever it finds recorded there).
                if let Some(day) = through {
                    if last_tick_before(self.last_tick(customer_id)?, day) {
                        self.set_last_tick(customer_id, day)?;
                    }
                }
            }
            if !conflicted {
                if last_tick_before(self.last_tick(customer_id)?, date) {
                    self.set_last_tick(customer_id, date)?;
                }
                return Ok(appended);
            }
            conflicts += 1;
            if conflicts >= CONFLICT_RETRIES_MAX {
                return Err(ServiceError::rejected(
                    ErrorKind::Conflict,
                    format!("customer_id = {customer_id:?}: the account kept changing during tick"),
                ));
            }
            // A command came in between: decide again from what is recorded.
        }
    }
}
