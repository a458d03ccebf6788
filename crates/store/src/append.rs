//! What an append asks for and what it answers, and the checks made before it reaches the writer.

use chrono::{DateTime, Utc};

use crate::codec;
use crate::error::StoreError;
use crate::recorded::{truncate_to_us, RecordedEvent};

/// Most events one append may carry.
pub const EVENTS_PER_APPEND_MAX: usize = 1_000;
/// Longest stream name, in bytes.
pub const STREAM_LEN_MAX: usize = 128;
/// Longest actor, correlation id, causation id or idempotency key, in bytes.
pub const TEXT_LEN_MAX: usize = 256;
/// Largest encoded payload of one event, in bytes.
pub const PAYLOAD_BYTES_MAX: usize = 256 * 1024;

/// The version a stream must be at for an append to go through (optimistic concurrency).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Whatever the stream's version.
    Any,
    /// The stream must not exist yet (version 0).
    NoStream,
    /// The stream must be exactly at this version (0 = no stream).
    Exact(u64),
}

impl ExpectedVersion {
    pub(crate) fn admits(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(v) => actual == v,
        }
    }

    pub(crate) fn describe(self) -> String {
        match self {
            ExpectedVersion::Any => "any".to_owned(),
            ExpectedVersion::NoStream => "no stream".to_owned(),
            ExpectedVersion::Exact(v) => v.to_string(),
        }
    }
}

/// An event to append, with the instant it happened in the world.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub event: domain::Event,
    /// Stored with microsecond precision (truncated).
    pub occurred_at: DateTime<Utc>,
}

/// An idempotency key and the fingerprint (a hash of the command, computed by the caller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: [u8; 32],
}

/// One atomic append to one stream.
#[derive(Clone, Debug)]
pub struct AppendRequest {
    pub stream: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
    pub actor: String,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub policy_version: Option<u32>,
    pub idempotency: Option<Idempotency>,
}

/// What an append did.
#[derive(Clone, Debug)]
pub struct AppendOutcome {
    /// The recorded events; for a deduplicated append, those of the first append with the key.
    pub events: Vec<RecordedEvent>,
    /// True when the idempotency key was seen before and nothing was appended.
    pub deduplicated: bool,
}

/// What an idempotency key is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: [u8; 32],
    pub positions: Vec<u64>,
}

/// An event checked and encoded by the caller's thread, ready for the writer.
#[derive(Debug)]
pub(crate) struct PreparedEvent {
    pub event: domain::Event,
    pub event_type: &'static str,
    pub schema: u16,
    pub payload: Vec<u8>,
    pub occurred_at_us: i64,
}

/// An append checked and encoded outside the writer, so the writer only orders and hashes.
#[derive(Debug)]
pub(crate) struct PreparedAppend {
    pub stream: String,
    pub expected: ExpectedVersion,
    pub events: Vec<PreparedEvent>,
    pub actor: String,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub policy_version: Option<u32>,
    pub idempotency: Option<Idempotency>,
}

/// Stream names: `^[A-Za-z0-9][A-Za-z0-9._:-]*$`, at most [`STREAM_LEN_MAX`] bytes. No `/`, so a
/// stream's index keys never share a prefix with another stream's.
pub(crate) fn check_stream(stream: &str) -> Result<(), StoreError> {
    let bytes = stream.as_bytes();
    let first_ok = bytes.first().is_some_and(|b| b.is_ascii_alphanumeric());
    let rest_ok = bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if first_ok && rest_ok && bytes.len() <= STREAM_LEN_MAX {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "stream name {stream:?} must match ^[A-Za-z0-9][A-Za-z0-9._:-]*$ and have at most {STREAM_LEN_MAX} bytes"
        )))
    }
}

fn check_text(field: &str, value: &str, allow_empty: bool) -> Result<(), StoreError> {
    if (!allow_empty && value.is_empty()) || value.len() > TEXT_LEN_MAX {
        return Err(StoreError::Invalid(format!(
            "{field} must have 1 to {TEXT_LEN_MAX} bytes"
        )));
    }
    Ok(())
}

pub(crate) fn prepare(req: AppendRequest) -> Result<PreparedAppend, StoreError> {
    check_stream(&req.stream)?;
    if req.events.is_empty() {
        return Err(StoreError::Invalid(
            "an append needs at least one event".to_owned(),
        ));
    }
    if req.events.len() > EVENTS_PER_APPEND_MAX {
        return Err(StoreError::Invalid(format!(
            "an append carries at most {EVENTS_PER_APPEND_MAX} events, got {}",
            req.events.len()
        )));
    }
    check_text("actor", &req.actor, false)?;
    if let Some(c) = &req.correlation_id {
        check_text("correlation_id", c, true)?;
    }
    if let Some(c) = &req.causation_id {
        check_text("causation_id", c, true)?;
    }
    if let Some(i) = &req.idempotency {
        check_text("idempotency key", &i.key, false)?;
    }
    let mut events = Vec::with_capacity(req.events.len());
    for new in req.events {
        let (event_type, schema, payload) = codec::encode_payload(&new.event)
            .map_err(|e| StoreError::Invalid(format!("event does not encode: {e}")))?;
        if payload.len() > PAYLOAD_BYTES_MAX {
            return Err(StoreError::Invalid(format!(
                "{event_type} payload of {} bytes exceeds {PAYLOAD_BYTES_MAX}",
                payload.len()
            )));
        }
        events.push(PreparedEvent {
            event: new.event,
            event_type,
            schema,
            payload,
            occurred_at_us: truncate_to_us(new.occurred_at).timestamp_micros(),
        });
    }
    Ok(PreparedAppend {
        stream: req.stream,
        expected: req.expected,
        events,
        actor: req.actor,
        correlation_id: req.correlation_id,
        causation_id: req.causation_id,
        policy_version: req.policy_version,
        idempotency: req.idempotency,
    })
}
