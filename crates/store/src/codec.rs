//! The stored wire format: payloads and envelopes, envelopes encoded with bincode `=2.0.1`.
//!
//! This is the only module that knows bincode (SPEC §1). The configuration below is frozen: the
//! golden vectors under `tests/golden/` pin it, and changing it would make every stored byte
//! unreadable. A new shape of a payload gets a new schema number and an upcaster in
//! [`decode_payload`]; old bytes are never rewritten.
//!
//! Payloads are written in a binary form of their own (`payload_v2`: schema 2 of every type, 3
//! of four, decision 0048); the bincode-of-serde forms written before it (schema 1, and 2 of
//! the four) still decode, through serde. Envelopes stay bincode.

use std::collections::HashMap;
use std::sync::OnceLock;

use domain::event::*;
use domain::Event;
use serde::{Deserialize, Serialize};
use thiserror::Error;

mod payload_v2;

/// Largest encoded payload or envelope the codec reads or writes, in bytes. It also bounds what a
/// corrupt length prefix can make the decoder allocate.
pub const ENCODED_BYTES_MAX: usize = 1 << 20;

/// The first byte of every stored envelope: the envelope layout's version.
pub const ENVELOPE_LAYOUT_V1: u8 = 1;

/// The frozen bincode configuration: little endian, variable-length integers, a size limit.
fn config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<ENCODED_BYTES_MAX>,
> {
    bincode::config::standard().with_limit::<ENCODED_BYTES_MAX>()
}

/// Why bytes could not be decoded (or a value encoded).
#[derive(Error, Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    #[error("unknown event type {0:?}")]
    UnknownEventType(String),
    #[error("event type {event_type} has no schema {schema} (current is {current})")]
    UnknownSchema {
        event_type: String,
        schema: u16,
        current: u16,
    },
    #[error("unknown envelope layout {0}")]
    UnknownLayout(u8),
    #[error("bytes do not decode: {0}")]
    Decode(String),
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    #[error("value does not encode: {0}")]
    Encode(String),
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(value, config()).map_err(|e| CodecError::Encode(e.to_string()))
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, CodecError> {
    whole_body(
        bytes,
        bincode::serde::decode_from_slice::<T, _>(bytes, config()),
    )
}

macro_rules! payload_codec {
    ($($name:ident),* $(,)?) => {
        /// Encodes an event's payload (its struct, without the enum tag) at the current schema,
        /// the binary one (`payload_v2`). Returns the event type, the schema number and the bytes.
        pub fn encode_payload(event: &Event) -> Result<(&'static str, u16, Vec<u8>), CodecError> {
            let event_type = event.event_type();
            let bytes = match event {
                $(Event::$name(p) => payload_v2::encode(p)?,)*
            };
            Ok((event_type, current_schema(event_type)?, bytes))
        }

        /// Encodes an event's payload in its last serde form (bincode of serde's data model:
        /// schema 1, or 2 for the four types that had reached it), the bytes builds before the
        /// binary schemas wrote. Not for production use: tests and the codec bench build old
        /// logs with it.
        #[doc(hidden)]
        pub fn encode_payload_serde_form(
            event: &Event,
        ) -> Result<(&'static str, u16, Vec<u8>), CodecError> {
            let event_type = event.event_type();
            let bytes = match event {
                $(Event::$name(p) => encode(p)?,)*
            };
            Ok((event_type, serde_schema(event_type)?, bytes))
        }

        /// The decoders of each event type, by name: one hash lookup per event on replay, where
        /// matching the name against every type in turn (twice: the schema, then the decoder)
        /// was a twentieth of a rebuild.
        fn decoders() -> &'static HashMap<&'static str, Decoder> {
            static DECODERS: OnceLock<HashMap<&'static str, Decoder>> = OnceLock::new();
            DECODERS.get_or_init(|| {
                let mut decoders: HashMap<&'static str, Decoder> = HashMap::new();
                $(
                    let serde = serde_schema(stringify!($name)).unwrap_or(1);
                    decoders.insert(stringify!($name), Decoder {
                        schema: serde + 1,
                        decode: |bytes| Ok(Event::$name(payload_v2::decode::<$name>(bytes)?)),
                        serde_schema: serde,
                        decode_serde: |bytes| Ok(Event::$name(decode::<$name>(bytes)?)),
                    });
                )*
                decoders
            })
        }
    };
}

domain::for_each_event!(payload_codec);

/// The schema of each type's last serde form: bincode of serde's data model, where dates and
/// amounts are text. Stored logs hold these bytes forever; they decode through [`decode`] and
/// today's payload structs (field defaults of later schemas included).
fn serde_schema(event_type: &str) -> Result<u16, CodecError> {
    match event_type {
        // Schema 2: contacts gained `billing_email` and `language`; reminders delivered by dunlog
        // carry `message_id`, `to`, `language`, `content_sha256` (SPEC §12).
        "AccountOpened" | "ContactDetailsUpdated" | "ReminderSent" => Ok(2),
        // Schema 2: a promise carries `made_at`, the instant it was made (SPEC §7 timeline).
        "PaymentPromised" => Ok(2),
        t if EVENT_TYPES.contains(&t) => Ok(1),
        _ => Err(CodecError::UnknownEventType(event_type.to_owned())),
    }
}

/// The schema number new payloads of this type are written with: the binary form
/// (`payload_v2`, decision 0048), one after the type's last serde form — 2 for most types, 3
/// for the four whose serde form had reached 2.
///
/// When a payload struct changes shape: bump its number here, keep the old struct (renamed, e.g.
/// `InvoiceIssuedV2`) with its binary form, add one arm to [`decode_payload`] that decodes the
/// old bytes and upcasts them, and add golden vectors for the new schema.
pub fn current_schema(event_type: &str) -> Result<u16, CodecError> {
    Ok(serde_schema(event_type)? + 1)
}

/// How to decode one event type's payload: at its current (binary) schema, and in its last
/// serde form.
struct Decoder {
    schema: u16,
    decode: fn(&[u8]) -> Result<Event, CodecError>,
    serde_schema: u16,
    decode_serde: fn(&[u8]) -> Result<Event, CodecError>,
}

/// Decodes stored payload bytes written with `schema`, upcasting older schemas to today's event.
pub fn decode_payload(event_type: &str, schema: u16, bytes: &[u8]) -> Result<Event, CodecError> {
    let decoder = decoders()
        .get(event_type)
        .ok_or_else(|| CodecError::UnknownEventType(event_type.to_owned()))?;
    if schema == decoder.schema {
        return (decoder.decode)(bytes);
    }
    if schema == decoder.serde_schema {
        return (decoder.decode_serde)(bytes);
    }
    let current = decoder.schema;
    match (event_type, schema) {
        // Upcasters for older serde schemas, one arm each.
        ("AccountOpened", 1) => Ok(Event::AccountOpened(
            decode::<old::AccountOpenedV1>(bytes)?.into(),
        )),
        ("ContactDetailsUpdated", 1) => Ok(Event::ContactDetailsUpdated(
            decode::<old::ContactDetailsUpdatedV1>(bytes)?.into(),
        )),
        ("ReminderSent", 1) => Ok(Event::ReminderSent(
            decode::<old::ReminderSentV1>(bytes)?.into(),
        )),
        ("PaymentPromised", 1) => Ok(Event::PaymentPromised(
            decode::<old::PaymentPromisedV1>(bytes)?.into(),
        )),
        _ => Err(CodecError::UnknownSchema {
            event_type: event_type.to_owned(),
            schema,
            current,
        }),
    }
}

/// Payload shapes of older schemas, kept to decode the bytes written with them.
mod old;

/// An envelope as stored under its position: every field of SPEC §6, instants as microseconds
/// since the Unix epoch, the payload as its stored bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub position: u64,
    pub stream: String,
    pub version: u64,
    pub event_id: [u8; 16],
    pub event_type: String,
    pub schema: u16,
    pub occurred_at_us: i64,
    pub recorded_at_us: i64,
    pub actor: String,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub policy_version: Option<u32>,
    #[serde(with = "bytes")]
    pub payload: Vec<u8>,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// Encodes an envelope: one layout byte, then the bincode of [`Envelope`].
pub fn encode_envelope(envelope: &Envelope) -> Result<Vec<u8>, CodecError> {
    // Layout byte and body in one buffer: this runs once per event on the writer thread.
    let mut out = Vec::with_capacity(256);
    out.push(ENVELOPE_LAYOUT_V1);
    bincode::serde::encode_into_std_write(envelope, &mut out, config())
        .map_err(|e| CodecError::Encode(e.to_string()))?;
    within_limit("envelope", out)
}

/// `encoded` when it is at most [`ENCODED_BYTES_MAX`] bytes, else an error naming `what`.
fn within_limit(what: &str, encoded: Vec<u8>) -> Result<Vec<u8>, CodecError> {
    if encoded.len() > ENCODED_BYTES_MAX {
        return Err(CodecError::Encode(format!(
            "{what} of {} bytes exceeds {ENCODED_BYTES_MAX}",
            encoded.len()
        )));
    }
    Ok(encoded)
}

/// The envelope read with bincode's own decoder rather than through serde: the same bytes (the
/// encoder is serde's, and bincode writes each field alike either way), but the two hashes and
/// the event id are copied whole instead of one `u8` at a time through a tuple visitor, which
/// was a seventh of a rebuild's time (docs/performance.md, "Rebuild").
impl<Context> bincode::Decode<Context> for Envelope {
    fn decode<D: bincode::de::Decoder<Context = Context>>(
        d: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        Ok(Envelope {
            position: u64::decode(d)?,
            stream: String::decode(d)?,
            version: u64::decode(d)?,
            event_id: <[u8; 16]>::decode(d)?,
            event_type: String::decode(d)?,
            schema: u16::decode(d)?,
            occurred_at_us: i64::decode(d)?,
            recorded_at_us: i64::decode(d)?,
            actor: String::decode(d)?,
            correlation_id: Option::<String>::decode(d)?,
            causation_id: Option::<String>::decode(d)?,
            policy_version: Option::<u32>::decode(d)?,
            payload: Vec::<u8>::decode(d)?,
            prev_hash: <[u8; 32]>::decode(d)?,
            hash: <[u8; 32]>::decode(d)?,
        })
    }
}

/// Decodes stored envelope bytes. Never panics, whatever the bytes.
pub fn decode_envelope(bytes: &[u8]) -> Result<Envelope, CodecError> {
    let body = envelope_body(bytes)?;
    whole_body(
        body,
        bincode::decode_from_slice::<Envelope, _>(body, config()),
    )
}

/// The bytes after an envelope's layout byte, if this build knows the layout.
fn envelope_body(bytes: &[u8]) -> Result<&[u8], CodecError> {
    match bytes.split_first() {
        Some((&ENVELOPE_LAYOUT_V1, body)) => Ok(body),
        Some((&other, _)) => Err(CodecError::UnknownLayout(other)),
        None => Err(CodecError::Decode("empty record".to_owned())),
    }
}

/// A value decoded from `body`, refused unless it took every byte.
fn whole_body<T>(
    body: &[u8],
    decoded: Result<(T, usize), bincode::error::DecodeError>,
) -> Result<T, CodecError> {
    let (value, read) = decoded.map_err(|e| CodecError::Decode(e.to_string()))?;
    if read != body.len() {
        return Err(CodecError::TrailingBytes(body.len() - read));
    }
    Ok(value)
}

/// An envelope read in place: its text and payload borrowed from the stored bytes. Replay
/// decodes into events it already holds (`RecordedEvent::read_into`), so their strings and
/// payload buffers are reused instead of allocated and freed once per event.
#[derive(Debug, PartialEq, Eq)]
pub struct EnvelopeRef<'a> {
    pub position: u64,
    pub stream: &'a str,
    pub version: u64,
    pub event_id: [u8; 16],
    pub event_type: &'a str,
    pub schema: u16,
    pub occurred_at_us: i64,
    pub recorded_at_us: i64,
    pub actor: &'a str,
    pub correlation_id: Option<&'a str>,
    pub causation_id: Option<&'a str>,
    pub policy_version: Option<u32>,
    pub payload: &'a [u8],
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// The same bytes as [`Envelope`]'s decoder reads (text is checked to be UTF-8 all the same).
impl<'de, Context> bincode::BorrowDecode<'de, Context> for EnvelopeRef<'de> {
    fn borrow_decode<D: bincode::de::BorrowDecoder<'de, Context = Context>>(
        d: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        Ok(EnvelopeRef {
            position: bincode::BorrowDecode::borrow_decode(d)?,
            stream: bincode::BorrowDecode::borrow_decode(d)?,
            version: bincode::BorrowDecode::borrow_decode(d)?,
            event_id: bincode::BorrowDecode::borrow_decode(d)?,
            event_type: bincode::BorrowDecode::borrow_decode(d)?,
            schema: bincode::BorrowDecode::borrow_decode(d)?,
            occurred_at_us: bincode::BorrowDecode::borrow_decode(d)?,
            recorded_at_us: bincode::BorrowDecode::borrow_decode(d)?,
            actor: bincode::BorrowDecode::borrow_decode(d)?,
            correlation_id: bincode::BorrowDecode::borrow_decode(d)?,
            causation_id: bincode::BorrowDecode::borrow_decode(d)?,
            policy_version: bincode::BorrowDecode::borrow_decode(d)?,
            payload: bincode::BorrowDecode::borrow_decode(d)?,
            prev_hash: bincode::BorrowDecode::borrow_decode(d)?,
            hash: bincode::BorrowDecode::borrow_decode(d)?,
        })
    }
}

/// Decodes stored envelope bytes in place, borrowing its text and payload. Never panics,
/// whatever the bytes; refuses exactly what [`decode_envelope`] refuses.
pub fn decode_envelope_ref(bytes: &[u8]) -> Result<EnvelopeRef<'_>, CodecError> {
    let body = envelope_body(bytes)?;
    whole_body(
        body,
        bincode::borrow_decode_from_slice::<EnvelopeRef<'_>, _>(body, config()),
    )
}

/// The first byte of every stored block (format 2 of the log, see `keys.rs`).
pub const BLOCK_LAYOUT_V1: u8 = 1;

/// Frames already encoded envelopes of consecutive positions into one block: the layout byte,
/// the count (u32 BE), then each envelope as its length (u32 BE) and its bytes. The envelopes are
/// kept byte for byte, so the hash chain and the golden vectors do not change.
pub fn encode_block(envelopes: &[Vec<u8>]) -> Vec<u8> {
    let body: usize = envelopes.iter().map(|e| 4 + e.len()).sum();
    let mut out = Vec::with_capacity(1 + 4 + body);
    out.push(BLOCK_LAYOUT_V1);
    // A block holds at most a few dozen envelopes of at most `ENCODED_BYTES_MAX` bytes each.
    let count = u32::try_from(envelopes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&count.to_be_bytes());
    for envelope in envelopes {
        let len = u32::try_from(envelope.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(envelope);
    }
    out
}

/// A block split into its envelopes: the byte ranges of those that frame correctly, in order,
/// and, if the block is damaged, why the next one (index `entries.len()`) does not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockEntries {
    pub entries: Vec<std::ops::Range<usize>>,
    pub error: Option<CodecError>,
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let four = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(four.try_into().ok()?))
}

/// The number of envelopes a block says it holds, read from its header alone (even under an
/// unknown layout byte, which the walk reports at the block's first position anyway).
pub fn block_count(bytes: &[u8]) -> Option<u32> {
    be_u32(bytes, 1)
}

/// Splits stored block bytes into envelopes without decoding them. Never panics, whatever the
/// bytes; a damaged block keeps the envelopes before the damage.
pub fn split_block(bytes: &[u8]) -> BlockEntries {
    let mut out = BlockEntries::default();
    let fail = |mut out: BlockEntries, e: CodecError| {
        out.error = Some(e);
        out
    };
    match bytes.first() {
        Some(&BLOCK_LAYOUT_V1) => {}
        Some(&other) => return fail(out, CodecError::UnknownLayout(other)),
        None => return fail(out, CodecError::Decode("empty block".to_owned())),
    }
    let Some(count) = be_u32(bytes, 1) else {
        return fail(
            out,
            CodecError::Decode("block too short for its count".to_owned()),
        );
    };
    if count == 0 {
        return fail(out, CodecError::Decode("block of 0 envelopes".to_owned()));
    }
    let mut at = 5usize;
    for n in 0..count {
        let Some(len) = be_u32(bytes, at).and_then(|l| usize::try_from(l).ok()) else {
            return fail(
                out,
                CodecError::Decode(format!("block ends after {n} of {count} envelopes")),
            );
        };
        let start = at + 4;
        let Some(end) = start.checked_add(len).filter(|end| *end <= bytes.len()) else {
            return fail(
                out,
                CodecError::Decode(format!(
                    "envelope {n} of the block claims {len} bytes, more than are left"
                )),
            );
        };
        out.entries.push(start..end);
        at = end;
    }
    if at != bytes.len() {
        return fail(out, CodecError::TrailingBytes(bytes.len() - at));
    }
    out
}

/// What an idempotency key maps to: the command's fingerprint and the positions it appended
/// (always contiguous, because one append is one run of positions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IdempotencyEntry {
    pub fingerprint: [u8; 32],
    pub first_position: u64,
    pub count: u64,
}

pub(crate) fn encode_idempotency(entry: &IdempotencyEntry) -> Result<Vec<u8>, CodecError> {
    encode(entry)
}

pub(crate) fn decode_idempotency(bytes: &[u8]) -> Result<IdempotencyEntry, CodecError> {
    decode(bytes)
}

/// Byte strings as one length prefix and raw bytes (same bytes as a sequence of `u8`, faster).
mod bytes {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_byte_buf(Visitor)
    }
}
