//! The outbox: delivers reminders and records each accepted one exactly once (SPEC §12).
//!
//! The argument, step by step (docs/reminders.md has it in prose):
//! 1. Before the first attempt, the message — id, recipient, subject, body, hash — is written to
//!    `<data>/outbox/<key>.json` (temporary file, fsync, rename, directory fsync). From then on a
//!    crash at any point leaves either nothing sent and the entry, or the entry and a message the
//!    receiver may have accepted.
//! 2. On acceptance, `ReminderSent` is appended under the store idempotency key
//!    `reminder/<sha256(Message-ID)>`: the key and the event are one atomic append, so the event
//!    is in the log at most once whatever happens around it.
//! 3. Only then is the entry removed. At start and on every round of the delivery loop, each entry
//!    left is looked up by its key: recorded → removed without sending; not recorded → sent again,
//!    with the same `Message-ID` and the same bytes (receivers drop duplicates by id), and recorded.
//!
//! Temporary failures leave the entry for the next round (backoff); permanent ones append
//! `ReminderFailed` under `reminder-failed/<…>` and remove it.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use domain::command::{Delivery, RecordReminder, RecordReminderFailure};
use domain::event::ReminderChannel;
use domain::policy::SendMode;
use domain::{Command, CustomerId, ErrorKind, InvoiceId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::RecordedEvent;

use super::compose::{self, hex, Draft, Request, Sender};
use super::templates::Templates;
use super::transport::{self, Attempt, Letters, Outgoing, Smtp};
use crate::app::service::{Service, ServiceError};

/// Test hook: milliseconds to wait between the receiver's acceptance and the append, so a crash
/// test can kill the server inside that window. Never set in production.
pub const PAUSE_AFTER_ACCEPT_ENV: &str = "DUNLOG_TEST_PAUSE_AFTER_ACCEPT_MS";
/// Test hook: milliseconds to wait between the append of `ReminderSent` and the removal of the
/// outbox entry, so a crash test can kill the server inside that window. Never set in production.
pub const PAUSE_AFTER_RECORD_ENV: &str = "DUNLOG_TEST_PAUSE_AFTER_RECORD_MS";
/// The actor recorded on reminders the delivery loop sends on its own (`send = "auto"`).
pub const DELIVERY_ACTOR: &str = "delivery";
/// Attempts `sendReminder` makes before answering that delivery is deferred to the loop.
pub const INTERACTIVE_ATTEMPTS_MAX: u32 = 3;
/// The first and the longest wait between attempts after a temporary failure.
pub const RETRY_BACKOFF_MIN: Duration = Duration::from_millis(500);
pub const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Most outbox entries one round of the delivery loop attempts.
pub const OUTBOX_ROUND_MAX: usize = 1_000;

/// A message written down before its first attempt (step 1 of the module's argument).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub customer_id: CustomerId,
    pub step: String,
    pub channel: ReminderChannel,
    pub invoice_ids: Vec<InvoiceId>,
    pub to: Option<String>,
    pub language: String,
    pub subject: String,
    pub body: String,
    pub message_id: String,
    pub content_sha256: String,
    pub date: NaiveDate,
    pub actor: String,
}

impl Pending {
    fn of(draft: &Draft, actor: &str) -> Pending {
        Pending {
            customer_id: draft.customer_id.clone(),
            step: draft.step.clone(),
            channel: draft.channel,
            invoice_ids: draft.invoice_ids.clone(),
            to: draft.to.clone(),
            language: draft.rendered.language.clone(),
            subject: draft.rendered.subject.clone(),
            body: draft.canonical_body(),
            message_id: draft.message_id.clone(),
            content_sha256: draft.content_sha256(),
            date: draft.date,
            actor: actor.to_owned(),
        }
    }

    fn digest(&self) -> String {
        hex(&Sha256::digest(self.message_id.as_bytes()))
    }

    /// The store idempotency key `ReminderSent` is appended under.
    pub fn sent_key(&self) -> String {
        format!("reminder/{}", self.digest())
    }

    fn failed_key(&self) -> String {
        format!("reminder-failed/{}", self.digest())
    }

    fn fingerprint(&self, what: &str) -> [u8; 32] {
        Sha256::digest(format!(
            "{what}\n{}\n{}",
            self.message_id, self.content_sha256
        ))
        .into()
    }
}

/// What a delivery came to.
#[derive(Debug)]
pub enum Delivered {
    /// Accepted and recorded (now, or before: the same message is never recorded twice).
    Sent(Vec<RecordedEvent>),
    /// Refused for good and recorded as `ReminderFailed`.
    Failed(Vec<RecordedEvent>),
    /// Not delivered yet (temporary failure); the outbox keeps it and retries.
    Deferred(String),
}

/// How reminders are written and delivered for one data directory.
pub struct Reminders {
    outbox_dir: PathBuf,
    pub templates: Templates,
    pub sender: Sender,
    smtp: Option<Smtp>,
    letters: Option<Letters>,
    in_flight: Mutex<HashSet<String>>,
    pause_after_accept: Option<Duration>,
    pause_after_record: Option<Duration>,
}

/// Transport settings from `serve`.
#[derive(Clone, Debug, Default)]
pub struct DeliveryOptions {
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub letters_dir: Option<PathBuf>,
}

impl Reminders {
    /// Previews only: templates from the data directory, no transport.
    pub fn previews(data_dir: &Path) -> Reminders {
        Reminders {
            outbox_dir: data_dir.join("outbox"),
            templates: Templates::new(data_dir),
            sender: Sender::new("", read_how_to_pay(data_dir)),
            smtp: None,
            letters: None,
            in_flight: Mutex::new(HashSet::new()),
            pause_after_accept: None,
            pause_after_record: None,
        }
    }

    /// Reminders delivered by the transports the options name.
    pub fn new(data_dir: &Path, options: &DeliveryOptions) -> Result<Reminders> {
        let mut r = Reminders::previews(data_dir);
        let from = options.smtp_from.clone().unwrap_or_default();
        r.sender = Sender::new(&from, read_how_to_pay(data_dir));
        if let Some(url) = &options.smtp_url {
            if from.is_empty() {
                anyhow::bail!("--smtp needs --smtp-from ADDR (the sender of reminders)");
            }
            r.smtp = Some(Smtp::new(url, &from)?);
        }
        r.letters = options.letters_dir.clone().map(|dir| Letters { dir });
        let pause = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .map(Duration::from_millis)
        };
        r.pause_after_accept = pause(PAUSE_AFTER_ACCEPT_ENV);
        r.pause_after_record = pause(PAUSE_AFTER_RECORD_ENV);
        Ok(r)
    }

    /// Whether a reminder by this channel can be delivered here.
    pub fn can_deliver(&self, channel: ReminderChannel) -> bool {
        match channel {
            ReminderChannel::Email => self.smtp.is_some(),
            ReminderChannel::Letter => self.letters.is_some(),
            ReminderChannel::Sms => false,
        }
    }

    /// Writes the reminder a request asks for, against the live ledger.
    pub fn compose(&self, service: &Service, req: &Request<'_>) -> Result<Draft, ServiceError> {
        // The account's stream, read before the ledger's lock is taken: the enclosed statement
        // is made from it by the same read model as `dunlog statement`.
        let stream = service.store.read_stream(&req.customer_id.stream(), 0)?;
        let ledger = service.live.read();
        compose::compose(
            &ledger,
            stream.iter().map(|e| (e.position, &e.event)),
            &self.templates,
            &self.sender,
            req,
        )
    }

    /// Delivers a draft: records it first in the outbox, then attempts it (up to `attempts`
    /// times, with backoff, while failures are temporary).
    pub async fn deliver(
        &self,
        service: &Service,
        draft: &Draft,
        actor: &str,
        attempts: u32,
    ) -> Result<Delivered, ServiceError> {
        if !self.can_deliver(draft.channel) {
            return Err(ServiceError::rejected(
                ErrorKind::InvalidState,
                format!(
                    "step = {:?}: no transport for {:?} reminders (start serve with {})",
                    draft.step,
                    draft.channel,
                    if draft.channel == ReminderChannel::Letter {
                        "--letters-dir DIR"
                    } else {
                        "--smtp URL --smtp-from ADDR"
                    }
                ),
            ));
        }
        let pending = Pending::of(draft, actor);
        if let Some(events) = recorded(service, &pending.sent_key())? {
            return Ok(Delivered::Sent(events));
        }
        self.write_pending(&pending)
            .map_err(ServiceError::Internal)?;
        let mut wait = RETRY_BACKOFF_MIN;
        let mut last = Delivered::Deferred("not attempted".to_owned());
        for attempt in 0..attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_BACKOFF_MAX);
            }
            last = self.attempt(service, &pending).await?;
            if !matches!(last, Delivered::Deferred(_)) {
                break;
            }
        }
        Ok(last)
    }

    /// One attempt at a pending message, and what is recorded for it.
    async fn attempt(&self, service: &Service, p: &Pending) -> Result<Delivered, ServiceError> {
        let key = p.sent_key();
        {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            if !in_flight.insert(key.clone()) {
                return Ok(Delivered::Deferred(
                    "being delivered by another request".to_owned(),
                ));
            }
        }
        let result = self.attempt_once(service, p).await;
        self.in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        result
    }

    async fn attempt_once(
        &self,
        service: &Service,
        p: &Pending,
    ) -> Result<Delivered, ServiceError> {
        if let Some(events) = recorded(service, &p.sent_key())? {
            self.remove_pending(p).map_err(ServiceError::Internal)?;
            return Ok(Delivered::Sent(events));
        }
        let outcome = match (&p.to, p.channel) {
            (None, ReminderChannel::Email) => {
                Attempt::Permanent("no e-mail address on file".to_owned())
            }
            (None, _) => Attempt::Permanent("no postal address on file".to_owned()),
            (Some(to), channel) => {
                let message = Outgoing {
                    message_id: &p.message_id,
                    to,
                    subject: &p.subject,
                    body: &p.body,
                };
                match (channel, &self.smtp, &self.letters) {
                    (ReminderChannel::Email, Some(smtp), _) => smtp.send(&message).await,
                    (ReminderChannel::Letter, _, Some(letters)) => {
                        let letters = letters.clone();
                        let owned = (
                            p.message_id.clone(),
                            to.clone(),
                            p.subject.clone(),
                            p.body.clone(),
                        );
                        tokio::task::spawn_blocking(move || {
                            letters.write(&Outgoing {
                                message_id: &owned.0,
                                to: &owned.1,
                                subject: &owned.2,
                                body: &owned.3,
                            })
                        })
                        .await
                        .unwrap_or_else(|e| {
                            Attempt::Temporary(format!("letter writer failed: {e}"))
                        })
                    }
                    _ => Attempt::Temporary(format!("no transport for {channel:?}")),
                }
            }
        };
        match outcome {
            Attempt::Accepted(sent_at) => {
                if let Some(pause) = self.pause_after_accept {
                    eprintln!("dunlog: accepted {} (test pause)", p.message_id);
                    tokio::time::sleep(pause).await;
                }
                let command = Command::RecordReminder(RecordReminder {
                    customer_id: p.customer_id.clone(),
                    invoice_ids: p.invoice_ids.clone(),
                    channel: p.channel,
                    step: Some(p.step.clone()),
                    template: Some(format!("{}/{}", p.language, p.step)),
                    sent_at: Some(sent_at),
                    delivery: Some(Delivery {
                        message_id: p.message_id.clone(),
                        to: p.to.clone().unwrap_or_default(),
                        language: p.language.clone(),
                        content_sha256: p.content_sha256.clone(),
                    }),
                });
                let out = service
                    .execute_keyed(&p.actor, command, p.sent_key(), p.fingerprint("sent"))
                    .await?;
                if let Some(pause) = self.pause_after_record {
                    eprintln!("dunlog: recorded {} (test pause)", p.message_id);
                    tokio::time::sleep(pause).await;
                }
                self.remove_pending(p).map_err(ServiceError::Internal)?;
                Ok(Delivered::Sent(out.events))
            }
            Attempt::Temporary(reason) => {
                tracing::warn!(message_id = %p.message_id, %reason, "reminder deferred");
                Ok(Delivered::Deferred(reason))
            }
            Attempt::Permanent(reason) => {
                let command = Command::RecordReminderFailure(RecordReminderFailure {
                    customer_id: p.customer_id.clone(),
                    invoice_ids: p.invoice_ids.clone(),
                    channel: p.channel,
                    step: Some(p.step.clone()),
                    to: p.to.clone(),
                    reason,
                    permanent: true,
                    failed_at: Some(chrono::Utc::now()),
                });
                let out = service
                    .execute_keyed(&p.actor, command, p.failed_key(), p.fingerprint("failed"))
                    .await?;
                self.remove_pending(p).map_err(ServiceError::Internal)?;
                Ok(Delivered::Failed(out.events))
            }
        }
    }

    fn pending_path(&self, p: &Pending) -> PathBuf {
        self.outbox_dir.join(format!("{}.json", p.digest()))
    }

    fn write_pending(&self, p: &Pending) -> Result<()> {
        std::fs::create_dir_all(&self.outbox_dir)
            .with_context(|| format!("creating {}", self.outbox_dir.display()))?;
        let path = self.pending_path(p);
        if path.exists() {
            return Ok(());
        }
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(p).context("encoding an outbox entry")?;
        {
            use std::io::Write as _;
            let mut file = std::fs::File::create(&tmp)
                .with_context(|| format!("creating {}", tmp.display()))?;
            file.write_all(&bytes)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        transport::sync_dir(&self.outbox_dir)
    }

    fn remove_pending(&self, p: &Pending) -> Result<()> {
        match std::fs::remove_file(self.pending_path(p)) {
            Ok(()) => transport::sync_dir(&self.outbox_dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The entries left in the outbox (oldest file name order; unreadable ones are logged).
    pub fn pending(&self) -> Vec<Pending> {
        let Ok(dir) = std::fs::read_dir(&self.outbox_dir) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .take(OUTBOX_ROUND_MAX)
            .filter_map(|path| {
                let read = std::fs::read(&path)
                    .map_err(anyhow::Error::from)
                    .and_then(|b| serde_json::from_slice::<Pending>(&b).map_err(Into::into));
                match read {
                    Ok(p) => Some(p),
                    Err(e) => {
                        tracing::error!(path = %path.display(), error = %e, "unreadable outbox entry");
                        None
                    }
                }
            })
            .collect()
    }

    /// One round over the outbox (step 3 of the module's argument). Returns how many entries are
    /// still waiting after temporary failures.
    pub async fn retry_pending(&self, service: &Service) -> usize {
        let mut waiting = 0;
        for p in self.pending() {
            if !self.can_deliver(p.channel) && p.to.is_some() {
                waiting += 1;
                continue;
            }
            match self.attempt(service, &p).await {
                Ok(Delivered::Deferred(_)) => waiting += 1,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(message_id = %p.message_id, error = %e, "recording a delivery failed");
                    waiting += 1;
                }
            }
        }
        waiting
    }

    /// Sends what the worklist has due on `date` for `send = "auto"` steps whose transport is
    /// configured: one message per account and step, covering its due invoices. Items whose last
    /// attempt failed for good wait for a person (they show on the worklist). Returns the
    /// deliveries made.
    pub async fn send_due(&self, service: &Service, date: NaiveDate) -> Vec<Delivered> {
        // A message for an (account, step) still waiting in the outbox (its relay down since
        // an earlier day) is that step's message: a new day must not write a second one with
        // a new Message-ID beside it.
        let waiting: HashSet<(CustomerId, String)> = self
            .pending()
            .into_iter()
            .map(|p| (p.customer_id, p.step))
            .collect();
        let groups: BTreeMap<(CustomerId, String), Vec<InvoiceId>> = {
            let ledger = service.live.read();
            let policy = ledger.policy_in_use();
            let mut groups: BTreeMap<(CustomerId, String), Vec<InvoiceId>> = BTreeMap::new();
            for item in ledger.worklist(date).iter() {
                let Some(step) = policy.step(&item.step) else {
                    continue;
                };
                let deliverable = compose::channel_of(step).is_some_and(|c| self.can_deliver(c));
                if step.send != SendMode::Auto
                    || !deliverable
                    || item.last_attempt_failed.is_some()
                    || waiting.contains(&(item.customer_id.clone(), item.step.clone()))
                {
                    continue;
                }
                groups
                    .entry((item.customer_id.clone(), item.step.clone()))
                    .or_default()
                    .push(item.invoice_id.clone());
            }
            groups
        };
        let mut out = Vec::new();
        for ((customer_id, step), invoice_ids) in groups {
            let req = Request {
                customer_id: &customer_id,
                step: &step,
                date,
                invoice_ids: Some(&invoice_ids),
                language: None,
                open_when_nothing_due: false,
            };
            let delivered = match self.compose(service, &req) {
                Ok(draft) => self.deliver(service, &draft, DELIVERY_ACTOR, 1).await,
                Err(e) => Err(e),
            };
            match delivered {
                Ok(d) => out.push(d),
                Err(e) => {
                    tracing::error!(customer = %customer_id, %step, error = %e, "auto reminder failed")
                }
            }
        }
        out
    }
}

fn read_how_to_pay(data_dir: &Path) -> Option<String> {
    std::fs::read_to_string(data_dir.join("templates").join("how_to_pay.txt"))
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// The events recorded under a store idempotency key, if any.
fn recorded(service: &Service, key: &str) -> Result<Option<Vec<RecordedEvent>>, ServiceError> {
    service.recorded_under(key)
}
