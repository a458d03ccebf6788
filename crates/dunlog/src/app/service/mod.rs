//! The service layer: runs a domain command for an actor against the live ledger and appends its
//! events with optimistic concurrency, idempotency keys and read-your-writes; also the clock
//! (`tick`, in `clock.rs`) and policy adoption. Never decides a business rule itself: that is
//! `domain`'s, with today and the policy passed in.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};

use domain::{Command, Context, CustomerId, ErrorKind, Event};
use projections::{Exposure, KnownAtCache, Ledger};
use sha2::{Digest, Sha256};
use store::{
    AppendRequest, ExpectedVersion, Idempotency, NewEvent, RecordedEvent, Store, StoreError,
};

use crate::app::live::Live;

mod chain_check;
mod clock;
mod error;

pub use chain_check::{check_chain, VERIFY_CHECKPOINT_KEY};
use clock::whole_days;
pub use error::ServiceError;

/// How many times a command is re-decided after a version conflict before `CONFLICT`.
pub const CONFLICT_RETRIES_MAX: usize = 5;
pub use crate::api::limits::{IDEMPOTENCY_KEY_LEN_MAX, TICK_DAYS_MAX};
/// The actor recorded on events the clock emits.
pub const CLOCK_ACTOR: &str = "clock";

/// The clock's instant at microsecond precision, as SPEC §2 records instants.
pub fn now_micros() -> DateTime<Utc> {
    use chrono::SubsecRound as _;
    Utc::now().trunc_subsecs(6)
}

/// What a command did: the events appended (or found under its idempotency key) and the
/// account's exposure after them.
#[derive(Debug)]
pub struct CommandOutput {
    pub events: Vec<RecordedEvent>,
    pub exposure: Option<Exposure>,
}

/// Counters the `/metrics` endpoint reports.
#[derive(Default)]
pub struct AppendStats {
    pub appends: AtomicU64,
    pub events: AtomicU64,
    pub conflicts: AtomicU64,
    /// Accounts the clock failed for, over all ticks (each is retried at the next tick).
    pub tick_failures: AtomicU64,
    /// The accounts the last tick failed for, with why (empty when it went through).
    pub tick_failing: std::sync::Mutex<Vec<(CustomerId, String)>>,
}

/// What a tick did: the events appended, and the accounts it could not tick (the others went
/// through regardless; these are retried at the next tick).
#[derive(Debug, Default)]
pub struct TickReport {
    pub events: Vec<RecordedEvent>,
    pub failed: Vec<(CustomerId, String)>,
}

/// The ledger as a user drives it.
#[derive(Clone)]
pub struct Service {
    pub store: Store,
    pub live: Live,
    pub stats: Arc<AppendStats>,
    /// The API tokens, changed at runtime by `createToken`/`revokeToken` and `dunlog token`.
    pub tokens: crate::app::auth::TokenTable,
    known_at_cache: Arc<KnownAtCache>,
    /// Why writes are refused, when the log did not verify at start (see [`check_chain`]).
    writes_refused: Arc<Option<String>>,
    /// Reminder templates and transports (SPEC §12); `serve` configures the transports.
    pub reminders: Arc<crate::reminders::Reminders>,
    /// The ledger's today when fixed (`--today`, tests and scenarios); else the UTC date.
    today_fixed: Option<NaiveDate>,
    /// Every append holds this shared; an import holds it alone from its check of every row to
    /// its last append, so no other write lands in between and the import is all or nothing
    /// also beside a running server (docs/decisions/0037-an-import-holds-the-writes.md).
    writes: Arc<tokio::sync::RwLock<()>>,
    /// True on the handle an [`ExclusiveWrites`] gives: its appends already hold `writes`.
    holds_writes: bool,
}

/// The writes of a ledger held by one caller alone (an import); others' appends wait until it
/// is dropped. Append through [`ExclusiveWrites::service`].
pub struct ExclusiveWrites {
    pub service: Service,
    _guard: tokio::sync::OwnedRwLockWriteGuard<()>,
}

/// The `meta` key prefix (`reconcile/{customer}`) of the reconciliation a command still owes
/// its account (its compensations did not fit in one append): its first day and cause.
pub const RECONCILE_PENDING_PREFIX: &str = "reconcile/";

/// Ledgers as known at past instants kept for time-travel queries.
pub const KNOWN_AT_CACHE_MAX: usize = 8;

/// SHA-256 of the command's canonical JSON: what binds an idempotency key to one command.
pub fn fingerprint(command: &serde_json::Value) -> [u8; 32] {
    let bytes = serde_json::to_vec(command).unwrap_or_default();
    Sha256::digest(&bytes).into()
}

impl Service {
    /// Opens the data directory, replays the log, follows it, and on a fresh directory adopts the
    /// default policy as version 1. Must be called inside a tokio runtime.
    pub async fn open(dir: &std::path::Path) -> anyhow::Result<Service> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create data directory {}", dir.display()))?;
        let store = Store::open(dir)
            .with_context(|| format!("cannot open the ledger in {}", dir.display()))?;
        let checked = store.clone();
        let writes_refused = tokio::task::spawn_blocking(move || check_chain(&checked))
            .await
            .context("checking the chain")??;
        if let Some(reason) = &writes_refused {
            tracing::error!(reason = %reason, "refusing writes");
            eprintln!("dunlog: refusing writes: {reason}");
        }
        let live = Live::start(&store).await?;
        let service = Service {
            tokens: crate::app::auth::TokenTable::load(&store),
            store,
            live,
            stats: Arc::new(AppendStats::default()),
            known_at_cache: Arc::new(KnownAtCache::new(KNOWN_AT_CACHE_MAX)),
            writes_refused: Arc::new(writes_refused),
            reminders: Arc::new(crate::reminders::Reminders::previews(dir)),
            today_fixed: None,
            writes: Arc::new(tokio::sync::RwLock::new(())),
            holds_writes: false,
        };
        if service.writes_refused.is_none() && service.store.stream_version("policy")? == 0 {
            service
                .adopt_policy("system", domain::policy::DEFAULT_POLICY_TOML, None)
                .await
                .map_err(|e| anyhow::anyhow!("adopting the default policy: {e}"))?;
        }
        Ok(service)
    }

    /// Fixes the ledger's today (`--today D`; tests and scenarios): no fact or tick after it.
    pub fn with_today(mut self, today: Option<NaiveDate>) -> Service {
        self.today_fixed = today;
        self
    }

    /// The ledger's today: the server's clock in UTC, unless fixed with [`Service::with_today`].
    pub fn today(&self) -> NaiveDate {
        self.today_fixed.unwrap_or_else(|| Utc::now().date_naive())
    }

    /// Why writes are refused (the log did not verify at start), if they are.
    pub fn writes_refused(&self) -> Option<&str> {
        self.writes_refused.as_deref()
    }

    fn check_writable(&self) -> Result<(), ServiceError> {
        match self.writes_refused() {
            None => Ok(()),
            Some(reason) => Err(ServiceError::Internal(anyhow::anyhow!(
                "writes are refused: {reason}"
            ))),
        }
    }

    /// Stops the read model's follower and drops this handle; the data directory is free once
    /// every clone is gone.
    pub async fn close(self) {
        self.live.shutdown().await;
    }

    fn new_request(
        &self,
        stream: String,
        expected: ExpectedVersion,
        events: Vec<Event>,
        actor: &str,
        policy_version: u32,
        idempotency: Option<Idempotency>,
    ) -> AppendRequest {
        let now = now_micros();
        AppendRequest {
            stream,
            expected,
            events: events
                .into_iter()
                .map(|event| NewEvent {
                    event,
                    occurred_at: now,
                })
                .collect(),
            actor: actor.to_owned(),
            correlation_id: Some(uuid::Uuid::now_v7().to_string()),
            causation_id: None,
            policy_version: (policy_version > 0).then_some(policy_version),
            idempotency,
        }
    }

    /// Waits until every append under way has finished and holds off all others until the
    /// result is dropped; the read model has then caught up with the log.
    pub async fn exclusive_writes(&self) -> anyhow::Result<ExclusiveWrites> {
        let guard = Arc::clone(&self.writes).write_owned().await;
        self.live.wait_for(self.store.head()).await?;
        let mut service = self.clone();
        service.holds_writes = true;
        Ok(ExclusiveWrites {
            service,
            _guard: guard,
        })
    }

    async fn append(&self, req: AppendRequest) -> Result<store::AppendOutcome, StoreError> {
        let _shared = if self.holds_writes {
            None
        } else {
            Some(self.writes.read().await)
        };
        let outcome = self.store.append(req).await;
        match &outcome {
            Ok(o) if !o.deduplicated => {
                self.stats.appends.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .events
                    .fetch_add(o.events.len() as u64, Ordering::Relaxed);
            }
            Err(StoreError::Conflict { .. }) => {
                self.stats.conflicts.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
        outcome
    }

    /// Appends `req` and waits until the read model holds its events (read-your-writes).
    /// `Ok(None)` is a conflict: the stream moved since it was read, and the read model has been
    /// caught up to the log's head so the caller can decide again on what is now recorded. The
    /// one place the service meets a conflict; each caller bounds its own retries by
    /// [`CONFLICT_RETRIES_MAX`].
    async fn append_and_wait(
        &self,
        req: AppendRequest,
    ) -> Result<Option<store::AppendOutcome>, ServiceError> {
        match self.append(req).await {
            Ok(outcome) => {
                let last = outcome.events.iter().map(|e| e.position).max().unwrap_or(0);
                self.live.wait_for(last).await?;
                Ok(Some(outcome))
            }
            Err(StoreError::Conflict { .. }) => {
                self.live.wait_for(self.store.head()).await?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Reads back the events an idempotency key is bound to.
    fn recorded_at_positions(&self, positions: &[u64]) -> Result<Vec<RecordedEvent>, ServiceError> {
        let mut events = Vec::with_capacity(positions.len());
        for &p in positions {
            let mut found = self.store.read_from(p.saturating_sub(1), 1)?;
            match found.pop() {
                Some(e) if e.position == p => events.push(e),
                _ => {
                    return Err(ServiceError::Internal(anyhow::anyhow!(
                        "idempotency record names position {p}, which is not in the log"
                    )))
                }
            }
        }
        Ok(events)
    }

    fn check_key(
        &self,
        key: Option<&str>,
        fingerprint: [u8; 32],
    ) -> Result<Option<Vec<RecordedEvent>>, ServiceError> {
        let Some(key) = key else { return Ok(None) };
        crate::api::limits::check_idempotency_key(key)
            .map_err(|message| ServiceError::rejected(ErrorKind::Validation, message))?;
        match self.store.idempotency(key)? {
            Some(record) if record.fingerprint == fingerprint => {
                Ok(Some(self.recorded_at_positions(&record.positions)?))
            }
            Some(_) => Err(ServiceError::rejected(
                ErrorKind::Conflict,
                format!("idempotencyKey = {key:?}: already used for a different command"),
            )),
            None => Ok(None),
        }
    }

    fn exposure_today(&self, customer_id: &CustomerId) -> Option<Exposure> {
        self.live.read().exposure(customer_id, self.today())
    }

    /// The events an idempotency key is bound to, if it was used.
    pub fn recorded_under(&self, key: &str) -> Result<Option<Vec<RecordedEvent>>, ServiceError> {
        match self.store.idempotency(key)? {
            Some(record) => Ok(Some(self.recorded_at_positions(&record.positions)?)),
            None => Ok(None),
        }
    }

    /// Decides and appends a command for `actor`.
    pub async fn execute(
        &self,
        actor: &str,
        command: Command,
        idempotency_key: Option<String>,
    ) -> Result<CommandOutput, ServiceError> {
        let command_json = serde_json::to_value(&command).context("encoding the command")?;
        let fp = fingerprint(&command_json);
        self.execute_with(actor, command, idempotency_key, fp).await
    }

    /// Like [`Service::execute`], with the fingerprint that binds the key given by the caller:
    /// the reminder outbox binds `reminder/<Message-ID>` to the message, not to the instant it
    /// was accepted, so a re-send after a crash finds the first record (see `reminders::outbox`).
    pub async fn execute_keyed(
        &self,
        actor: &str,
        command: Command,
        key: String,
        fp: [u8; 32],
    ) -> Result<CommandOutput, ServiceError> {
        self.execute_with(actor, command, Some(key), fp).await
    }

    async fn execute_with(
        &self,
        actor: &str,
        command: Command,
        idempotency_key: Option<String>,
        fp: [u8; 32],
    ) -> Result<CommandOutput, ServiceError> {
        self.check_writable()?;
        let customer_id = command.customer_id().clone();
        if let Some(events) = self.check_key(idempotency_key.as_deref(), fp)? {
            return Ok(CommandOutput {
                events,
                exposure: self.exposure_today(&customer_id),
            });
        }
        let stream = customer_id.stream();
        for _attempt in 0..CONFLICT_RETRIES_MAX {
            // Instants are recorded at microsecond precision (SPEC §2): a contact's default
            // `sent_at`/`called_at` is this `now`.
            let now = now_micros();
            // The last day the clock walked for the account: a fact dated on or before it is
            // reconciled with what the clock decided (SPEC §5), in the command's own append.
            let clock = self.last_tick(&customer_id)?;
            // A reconciliation an earlier command left unfinished (a crash between its
            // appends) is finished first, so this command decides on a reconciled account.
            self.reconcile_pending(&customer_id, CLOCK_ACTOR).await?;
            let (events, version, policy_version) = {
                let ledger = self.live.read();
                let policy = ledger.policy();
                let account = ledger.account(&customer_id);
                let ctx = Context {
                    today: self.today(),
                    now,
                    actor,
                    policy: &policy,
                };
                let decided = domain::reconcile::execute_planned(account, &command, &ctx, clock);
                (
                    decided,
                    account.map(|a| a.version).unwrap_or(0),
                    ledger.policy_version(),
                )
            };
            let planned = match events {
                Ok(planned) if !planned.own.is_empty() => planned,
                decided => {
                    // The same key may have been appended by a concurrent request since it was
                    // checked above (the read model now holds its events): answer as it did.
                    if let Some(events) = self.check_key(idempotency_key.as_deref(), fp)? {
                        return Ok(CommandOutput {
                            events,
                            exposure: self.exposure_today(&customer_id),
                        });
                    }
                    decided?;
                    return Ok(CommandOutput {
                        events: Vec::new(),
                        exposure: self.exposure_today(&customer_id),
                    });
                }
            };
            let expected = if version == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exact(version)
            };
            let idempotency = idempotency_key.clone().map(|key| Idempotency {
                key,
                fingerprint: fp,
            });
            // Compensations beyond one append (a back-dated fact on a very large account): the
            // command and the whole days that fit go in its own append, the rest in appends
            // that follow; the reconciliation still owed is recorded first, so a crash between
            // appends is finished by the next command or tick on the account
            // (docs/decisions/0012-compensations-beyond-one-append.md).
            let room = store::EVENTS_PER_APPEND_MAX.saturating_sub(planned.own.len());
            let (first, _) = whole_days(&planned.compensations, room);
            let split = first.len() < planned.compensations.len();
            if split {
                if let Some(pending) = &planned.reconciled {
                    self.set_pending(&customer_id, pending)?;
                }
            }
            let mut events = planned.own.clone();
            events.extend(first.iter().map(|(_, e)| e.clone()));
            let req = self.new_request(
                stream.clone(),
                expected,
                events,
                actor,
                policy_version,
                idempotency,
            );
            let Some(outcome) = self.append_and_wait(req).await? else {
                // The read model has caught up with the log: decide again.
                continue;
            };
            let mut events = outcome.events;
            if split {
                // The command is recorded: what follows finishes its reconciliation,
                // and a failure here is finished by the next command or tick.
                match self.reconcile_pending(&customer_id, actor).await {
                    Ok(rest) => events.extend(rest),
                    Err(e) => tracing::error!(
                        customer = %customer_id, error = %e,
                        "the rest of a reconciliation failed; it is finished at the next command or tick"
                    ),
                }
            }
            return Ok(CommandOutput {
                events,
                exposure: self.exposure_today(&customer_id),
            });
        }
        Err(ServiceError::rejected(
            ErrorKind::Conflict,
            format!("customer_id = {customer_id:?}: the account kept changing; try again"),
        ))
    }

    /// Adopts a policy document as the next version.
    pub async fn adopt_policy(
        &self,
        actor: &str,
        document: &str,
        idempotency_key: Option<String>,
    ) -> Result<Vec<RecordedEvent>, ServiceError> {
        self.check_writable()?;
        let fp = fingerprint(&serde_json::json!({"command": "adopt_policy", "document": document}));
        if let Some(events) = self.check_key(idempotency_key.as_deref(), fp)? {
            return Ok(events);
        }
        for _attempt in 0..CONFLICT_RETRIES_MAX {
            let current = self.live.read().policy_version();
            let adopted = domain::policy::decide_adopt(document, current)?;
            let version = adopted.version;
            let expected = if current == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exact(u64::from(current))
            };
            let req = self.new_request(
                "policy".to_owned(),
                expected,
                vec![Event::PolicyAdopted(adopted)],
                actor,
                version,
                idempotency_key.clone().map(|key| Idempotency {
                    key,
                    fingerprint: fp,
                }),
            );
            if let Some(outcome) = self.append_and_wait(req).await? {
                return Ok(outcome.events);
            }
        }
        Err(ServiceError::rejected(
            ErrorKind::Conflict,
            "document: the policy changed concurrently; try again",
        ))
    }

    /// The ledger as known at an instant (only events recorded at or before it): replayed into
    /// a fresh ledger, never touching the live one, and cached.
    pub async fn known_at(&self, at: DateTime<Utc>) -> anyhow::Result<Arc<Ledger>> {
        let store = self.store.clone();
        let cache = self.known_at_cache.clone();
        let ledger = tokio::task::spawn_blocking(move || cache.get_or_build(&store, at)).await??;
        Ok(ledger)
    }
}

#[cfg(test)]
mod tests;
