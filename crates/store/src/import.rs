//! Restoring a log from its JSONL export (SPEC §6) into an empty data directory, checking every
//! line's chain link, position, version and payload on the way in.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine as _;
use chrono::DateTime;
use serde::Deserialize;
use uuid::Uuid;

use crate::append::check_stream;
use crate::block::LogBatch;
use crate::chain::{self, Canonical, HASH_ZERO};
use crate::codec::{self, Envelope};
use crate::db::{check_format, open_db};
use crate::durability::Durability;
use crate::error::StoreError;
use crate::keys::{self, ChainHead};

/// Events written per batch while importing.
const IMPORT_BATCH_EVENTS: usize = 10_000;

/// The fields of an export line that the log stores; `payload` (derived JSON) is not needed.
#[derive(Deserialize)]
struct Line {
    position: u64,
    stream: String,
    version: u64,
    event_id: String,
    event_type: String,
    schema: u16,
    occurred_at: String,
    recorded_at: String,
    actor: String,
    correlation_id: Option<String>,
    causation_id: Option<String>,
    policy_version: Option<u32>,
    payload_bytes: String,
    prev_hash: String,
    hash: String,
}

fn micros(field: &str, text: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_micros())
        .map_err(|e| format!("{field} {text:?}: {e}"))
}

fn hash32(field: &str, text: &str) -> Result<[u8; 32], String> {
    chain::from_hex(text)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| format!("{field} is not 64 hex digits"))
}

fn envelope_of(line: Line) -> Result<Envelope, String> {
    let event_id = Uuid::parse_str(&line.event_id).map_err(|e| format!("event_id: {e}"))?;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(&line.payload_bytes)
        .map_err(|e| format!("payload_bytes: {e}"))?;
    Ok(Envelope {
        position: line.position,
        occurred_at_us: micros("occurred_at", &line.occurred_at)?,
        recorded_at_us: micros("recorded_at", &line.recorded_at)?,
        prev_hash: hash32("prev_hash", &line.prev_hash)?,
        hash: hash32("hash", &line.hash)?,
        stream: line.stream,
        version: line.version,
        event_id: event_id.into_bytes(),
        event_type: line.event_type,
        schema: line.schema,
        actor: line.actor,
        correlation_id: line.correlation_id,
        causation_id: line.causation_id,
        policy_version: line.policy_version,
        payload,
    })
}

/// Rebuilds the log of an export in `dir`, which must hold no events. The result is the same
/// log: positions, ids, instants and hashes. Idempotency keys and meta entries are not part of
/// an export and are not restored. Returns the number of events imported.
pub(crate) fn import_jsonl(
    dir: &Path,
    input: &mut dyn std::io::BufRead,
) -> Result<u64, StoreError> {
    let db = open_db(dir)?;
    let tree = db.open_tree("log")?;
    check_format(&tree)?;
    if tree.scan_prefix(keys::BLOCK_PREFIX).next().is_some() {
        return Err(StoreError::Invalid(
            "import needs a data directory with an empty log".to_owned(),
        ));
    }
    let mut durability = Durability::open(dir, Default::default())?;
    let mut head = ChainHead {
        position: 0,
        hash: HASH_ZERO,
        recorded_at_us: i64::MIN,
    };
    let mut versions: HashMap<String, u64> = HashMap::new();
    let mut batch = LogBatch::default();
    let mut text = String::new();
    let mut line_number = 0u64;
    loop {
        text.clear();
        if input.read_line(&mut text)? == 0 {
            break;
        }
        line_number += 1;
        if text.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| StoreError::Invalid(format!("line {line_number}: {reason}"));
        let line: Line = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let env = envelope_of(line).map_err(bad)?;
        check_stream(&env.stream).map_err(|e| bad(e.to_string()))?;
        if env.position != head.position + 1 {
            return Err(bad(format!(
                "position {} after {}",
                env.position, head.position
            )));
        }
        if env.prev_hash != head.hash {
            return Err(bad("prev_hash is not the previous line's hash".to_owned()));
        }
        if env.recorded_at_us < head.recorded_at_us {
            return Err(bad("recorded_at goes back in time".to_owned()));
        }
        let last = versions.get(&env.stream).copied().unwrap_or(0);
        if env.version != last + 1 {
            return Err(bad(format!(
                "{} version {} after {last}",
                env.stream, env.version
            )));
        }
        codec::decode_payload(&env.event_type, env.schema, &env.payload)
            .map_err(|e| bad(format!("payload_bytes: {e}")))?;
        let computed = chain::next_hash(
            &env.prev_hash,
            &chain::canonical(&Canonical {
                position: env.position,
                version: env.version,
                schema: env.schema,
                occurred_at_us: env.occurred_at_us,
                recorded_at_us: env.recorded_at_us,
                event_id: Uuid::from_bytes(env.event_id),
                stream: &env.stream,
                event_type: &env.event_type,
                actor: &env.actor,
                correlation_id: env.correlation_id.as_deref(),
                causation_id: env.causation_id.as_deref(),
                policy_version: env.policy_version,
                payload: &env.payload,
            }),
        );
        if computed != env.hash {
            return Err(bad("hash does not match the line's content".to_owned()));
        }
        let bytes = codec::encode_envelope(&env).map_err(|e| bad(e.to_string()))?;
        batch.push(env.position, &env.stream, env.version, bytes);
        versions.insert(env.stream, env.version);
        head = ChainHead {
            position: env.position,
            hash: env.hash,
            recorded_at_us: env.recorded_at_us,
        };
        if batch.events() == IMPORT_BATCH_EVENTS {
            batch.insert(keys::CHAIN_HEAD, head.encode());
            tree.apply_batch(std::mem::take(&mut batch).finish())?;
        }
    }
    if batch.events() > 0 {
        batch.insert(keys::CHAIN_HEAD, head.encode());
        tree.apply_batch(batch.finish())?;
    }
    db.flush()?;
    durability.sync()?;
    Ok(head.position)
}
