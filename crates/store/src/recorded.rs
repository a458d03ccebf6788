//! `RecordedEvent`: an event as the log holds it (envelope + decoded payload), and its JSON forms.

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::chain::{self, Canonical};
use crate::codec::{self, Envelope, EnvelopeRef};
use crate::error::StoreError;

/// One event in the log, with its envelope (SPEC §6).
#[derive(Clone, Debug)]
pub struct RecordedEvent {
    pub position: u64,
    pub stream: String,
    pub version: u64,
    pub event_id: Uuid,
    pub event_type: String,
    /// The schema the payload was written with (the chain covers these bytes); `event` is always
    /// today's shape, upcast if needed.
    pub schema: u16,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub policy_version: Option<u32>,
    pub event: domain::Event,
    /// The stored payload bytes.
    pub payload: Vec<u8>,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

pub(crate) fn instant_from_us(us: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
}

/// An instant truncated to whole microseconds, the precision the log keeps.
pub(crate) fn truncate_to_us(at: DateTime<Utc>) -> DateTime<Utc> {
    instant_from_us(at.timestamp_micros()).unwrap_or(at)
}

fn rfc3339(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// What an envelope yields once checked: its payload decoded, its instants in range.
struct Checked {
    event: domain::Event,
    occurred_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
}

impl Checked {
    /// The checks every read of an envelope makes, whichever way it was decoded.
    fn of(position: u64, env: &EnvelopeRef<'_>) -> Result<Checked, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt { position, reason };
        if env.position != position {
            return Err(corrupt(format!(
                "envelope stored under position {position} says position {}",
                env.position
            )));
        }
        let event = codec::decode_payload(env.event_type, env.schema, env.payload)
            .map_err(|e| corrupt(format!("payload: {e}")))?;
        let occurred_at = instant_from_us(env.occurred_at_us)
            .ok_or_else(|| corrupt("occurred_at out of range".to_owned()))?;
        let recorded_at = instant_from_us(env.recorded_at_us)
            .ok_or_else(|| corrupt("recorded_at out of range".to_owned()))?;
        Ok(Checked {
            event,
            occurred_at,
            recorded_at,
        })
    }
}

/// Overwrites `to` with `text`, keeping its buffer; copies nothing when it already holds it
/// (the event type, the actor and often the stream repeat from one event to the next).
fn replace_text(to: &mut String, text: &str) {
    if to != text {
        to.clear();
        to.push_str(text);
    }
}

fn replace_optional_text(to: &mut Option<String>, text: Option<&str>) {
    match (to.as_mut(), text) {
        (Some(to), Some(text)) => replace_text(to, text),
        (_, None) => *to = None,
        (None, Some(text)) => *to = Some(text.to_owned()),
    }
}

impl RecordedEvent {
    /// Builds the event from stored envelope bytes found under `position`.
    pub(crate) fn from_stored(position: u64, bytes: &[u8]) -> Result<RecordedEvent, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt { position, reason };
        let env = codec::decode_envelope(bytes).map_err(|e| corrupt(format!("envelope: {e}")))?;
        Self::from_envelope(position, env)
    }

    pub(crate) fn from_envelope(position: u64, env: Envelope) -> Result<RecordedEvent, StoreError> {
        let checked = Checked::of(
            position,
            &EnvelopeRef {
                position: env.position,
                stream: &env.stream,
                version: env.version,
                event_id: env.event_id,
                event_type: &env.event_type,
                schema: env.schema,
                occurred_at_us: env.occurred_at_us,
                recorded_at_us: env.recorded_at_us,
                actor: &env.actor,
                correlation_id: env.correlation_id.as_deref(),
                causation_id: env.causation_id.as_deref(),
                policy_version: env.policy_version,
                payload: &env.payload,
                prev_hash: env.prev_hash,
                hash: env.hash,
            },
        )?;
        Ok(RecordedEvent {
            position,
            stream: env.stream,
            version: env.version,
            event_id: Uuid::from_bytes(env.event_id),
            event_type: env.event_type,
            schema: env.schema,
            occurred_at: checked.occurred_at,
            recorded_at: checked.recorded_at,
            actor: env.actor,
            correlation_id: env.correlation_id,
            causation_id: env.causation_id,
            policy_version: env.policy_version,
            event: checked.event,
            payload: env.payload,
            prev_hash: env.prev_hash,
            hash: env.hash,
        })
    }

    /// Decodes the envelope stored under `position` into this event, reusing its strings and
    /// payload buffer: replay reads every event of the log this way into events it already
    /// holds, where a fresh event cost five or six allocations and frees each. Refuses exactly
    /// what [`RecordedEvent::from_stored`] refuses; on an error `self` is left as it was (every
    /// check runs before the first field is written).
    pub(crate) fn read_into(&mut self, position: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt { position, reason };
        let env =
            codec::decode_envelope_ref(bytes).map_err(|e| corrupt(format!("envelope: {e}")))?;
        let checked = Checked::of(position, &env)?;
        self.position = position;
        replace_text(&mut self.stream, env.stream);
        self.version = env.version;
        self.event_id = Uuid::from_bytes(env.event_id);
        replace_text(&mut self.event_type, env.event_type);
        self.schema = env.schema;
        self.occurred_at = checked.occurred_at;
        self.recorded_at = checked.recorded_at;
        replace_text(&mut self.actor, env.actor);
        replace_optional_text(&mut self.correlation_id, env.correlation_id);
        replace_optional_text(&mut self.causation_id, env.causation_id);
        self.policy_version = env.policy_version;
        self.event = checked.event;
        self.payload.clear();
        self.payload.extend_from_slice(env.payload);
        self.prev_hash = env.prev_hash;
        self.hash = env.hash;
        Ok(())
    }

    /// The fields the hash chain covers.
    pub fn canonical_fields(&self) -> Canonical<'_> {
        Canonical {
            position: self.position,
            version: self.version,
            schema: self.schema,
            occurred_at_us: self.occurred_at.timestamp_micros(),
            recorded_at_us: self.recorded_at.timestamp_micros(),
            event_id: self.event_id,
            stream: &self.stream,
            event_type: &self.event_type,
            actor: &self.actor,
            correlation_id: self.correlation_id.as_deref(),
            causation_id: self.causation_id.as_deref(),
            policy_version: self.policy_version,
            payload: &self.payload,
        }
    }

    /// Recomputes this event's hash from `prev_hash` and its fields.
    pub fn computed_hash(&self) -> [u8; 32] {
        chain::next_hash(&self.prev_hash, &chain::canonical(&self.canonical_fields()))
    }

    /// The payload as a JSON object with the field names of SPEC §3.
    pub fn payload_json(&self) -> serde_json::Value {
        // `Event` serializes externally tagged: `{"InvoiceIssued": {...}}`; keep the inside.
        match serde_json::to_value(&self.event) {
            Ok(serde_json::Value::Object(map)) if map.len() == 1 => {
                map.into_iter().next().map(|(_, v)| v).unwrap_or_default()
            }
            Ok(other) => other,
            Err(_) => serde_json::Value::Null,
        }
    }

    fn export_line(&self) -> ExportLine<'_> {
        ExportLine {
            position: self.position,
            stream: &self.stream,
            version: self.version,
            event_id: self.event_id.to_string(),
            event_type: &self.event_type,
            schema: self.schema,
            occurred_at: rfc3339(&self.occurred_at),
            recorded_at: rfc3339(&self.recorded_at),
            actor: &self.actor,
            correlation_id: self.correlation_id.as_deref(),
            causation_id: self.causation_id.as_deref(),
            policy_version: self.policy_version,
            payload: self.payload_json(),
            payload_bytes: base64::engine::general_purpose::STANDARD.encode(&self.payload),
            prev_hash: chain::to_hex(&self.prev_hash),
            hash: chain::to_hex(&self.hash),
        }
    }

    /// The export line object of SPEC §6.
    pub fn to_export_json(&self) -> serde_json::Value {
        serde_json::to_value(self.export_line()).unwrap_or_default()
    }

    /// Writes the export line (keys in SPEC §6 order) without the trailing newline.
    pub(crate) fn write_export_line(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer(out, &self.export_line()).map_err(std::io::Error::other)
    }
}

/// One line of the JSONL export; fields in the order SPEC §6 lists them.
#[derive(Serialize)]
struct ExportLine<'a> {
    position: u64,
    stream: &'a str,
    version: u64,
    event_id: String,
    event_type: &'a str,
    schema: u16,
    occurred_at: String,
    recorded_at: String,
    actor: &'a str,
    correlation_id: Option<&'a str>,
    causation_id: Option<&'a str>,
    policy_version: Option<u32>,
    payload: serde_json::Value,
    payload_bytes: String,
    prev_hash: String,
    hash: String,
}
