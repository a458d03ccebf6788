//! Reading a snapshot a frame at a time: each chunk is handed to the decoding threads as soon
//! as it is read, and the body's length and CRC are checked before anything decoded is used.

use std::collections::BTreeMap;
use std::io::Read as _;

use domain::{Account, CustomerId};

use super::*;
use crate::error::ProjectionError;
use crate::ledger::Ledger;

/// How many chunks read and not yet decoded may wait, per decoding thread.
const CHUNKS_READ_AHEAD_PER_THREAD: usize = 2;

/// What reading the body's frames found, in the order the checks report it.
struct FramesRead {
    /// The head, or why it is not there.
    head: Result<Head, String>,
    /// Why the frames are not as the head says (a length past the end, trailing bytes).
    frames: Result<(), String>,
    /// Each chunk decoded, in the order read.
    chunks: Vec<(usize, Result<Chunk, String>)>,
}

/// Decodes a snapshot of `len` bytes read from `source` in order. The chunks are handed to
/// every core as they are read, before the CRC over the whole body is known: they are decoded
/// from unchecked bytes (the decoders return an error on any bytes, never panic, and reserve
/// nothing beyond the frame), and nothing decoded is used unless the length and the CRC match.
/// The checks report in the order a reader of the whole file would meet them: not a snapshot,
/// another format, cut or appended to, damaged, then what the frames and the chunks say.
pub(super) fn decode_from(
    mut source: impl std::io::Read,
    len: u64,
) -> Result<Snapshot, ProjectionError> {
    let bad = ProjectionError::Snapshot;
    let not_a_snapshot = || bad("is not a projection snapshot file".to_owned());
    let io = |e: std::io::Error| bad(format!("cannot be read: {e}"));
    let Some(body_len) = len.checked_sub((HEADER_BYTES + TRAILER_BYTES) as u64) else {
        return Err(not_a_snapshot());
    };
    if body_len > SNAPSHOT_BYTES_MAX as u64 {
        return Err(bad(format!(
            "is {len} bytes, more than {SNAPSHOT_BYTES_MAX}"
        )));
    }
    let mut header = [0u8; HEADER_BYTES];
    source.read_exact(&mut header).map_err(io)?;
    if header[..MAGIC.len()] != MAGIC {
        return Err(not_a_snapshot());
    }
    let format =
        le_u32(&header[MAGIC.len()..]).ok_or_else(|| bad("has no format number".to_owned()))?;
    if format != SNAPSHOT_FORMAT {
        return Err(bad(format!(
            "format {format} is not this build's {SNAPSHOT_FORMAT}"
        )));
    }

    let mut body = Body {
        source: &mut source,
        left: body_len,
        crc: crc32fast::Hasher::new(),
    };
    let read = read_frames(&mut body).map_err(io)?;
    // Whatever the frames said, the CRC covers every byte of the body.
    body.drain().map_err(io)?;
    let crc = body.crc.finalize();
    let mut trailer = [0u8; TRAILER_BYTES];
    source.read_exact(&mut trailer).map_err(io)?;
    let said_len = le_u64(&trailer[..8]).ok_or_else(|| bad("has no length".to_owned()))?;
    let said_crc = le_u32(&trailer[8..]).ok_or_else(|| bad("has no checksum".to_owned()))?;
    if said_len != body_len {
        return Err(bad(format!(
            "says its body is {said_len} bytes but it is {body_len} (cut short or appended to)"
        )));
    }
    if said_crc != crc {
        return Err(bad(
            "checksum does not match (the file is damaged)".to_owned()
        ));
    }

    let head = read.head.map_err(bad)?;
    read.frames.map_err(bad)?;
    if head.policies.last().map_or(0, |p| p.version) != head.policy_version {
        return Err(bad(format!(
            "says policy version {} but its ledger has {}",
            head.policy_version,
            head.policies.last().map_or(0, |p| p.version)
        )));
    }
    let mut chunks = read.chunks;
    chunks.sort_unstable_by_key(|(index, _)| *index);
    let mut accounts = Vec::new();
    for (_, chunk) in chunks {
        let chunk = chunk.map_err(bad)?;
        accounts.reserve(chunk.entries.len());
        for (customer_id, account) in chunk.entries {
            if let Some((last, _)) = accounts.last() {
                if *last >= customer_id {
                    return Err(bad(format!(
                        "account {customer_id} comes after {last}: accounts are out of order"
                    )));
                }
            }
            accounts.push((customer_id, account));
        }
    }
    if accounts.len() as u64 != head.accounts {
        return Err(bad(format!(
            "says it holds {} accounts but its chunks hold {}",
            head.accounts,
            accounts.len()
        )));
    }
    // Already in order: `from_iter`'s sort of sorted input is one pass, then a bulk build.
    let accounts: BTreeMap<CustomerId, Account> = accounts.into_iter().collect();
    let ledger = Ledger::from_snapshot_parts(head.checkpoint, accounts, head.policies);
    Ok(Snapshot {
        checkpoint: head.checkpoint,
        hash: head.hash,
        policy_version: head.policy_version,
        ledger,
    })
}

/// The body of a snapshot being read: how many of its bytes are left, and the CRC so far.
struct Body<'a, R> {
    source: &'a mut R,
    left: u64,
    crc: crc32fast::Hasher,
}

impl<R: std::io::Read> Body<'_, R> {
    /// The next `len` bytes of the body (`len` at most what is left).
    fn take(&mut self, len: u64) -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        (&mut *self.source).take(len).read_to_end(&mut bytes)?;
        if bytes.len() as u64 != len {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= len;
        self.crc.update(&bytes);
        Ok(bytes)
    }

    /// The next frame (its length, then its bytes), named `what` in errors. The length is
    /// checked against what is left before anything is reserved.
    fn frame(&mut self, what: &str) -> std::io::Result<Result<Vec<u8>, String>> {
        if self.left < FRAME_LENGTH_BYTES as u64 {
            return Ok(Err(format!(
                "ends where the length of {what} should be ({} bytes left)",
                self.left
            )));
        }
        let length = le_u64(&self.take(FRAME_LENGTH_BYTES as u64)?).unwrap_or(u64::MAX);
        if length > self.left {
            return Ok(Err(format!(
                "{what} says it is {length} bytes but only {} remain",
                self.left
            )));
        }
        self.take(length).map(Ok)
    }

    /// Reads the rest of the body into the CRC, a piece at a time.
    fn drain(&mut self) -> std::io::Result<()> {
        let mut piece = vec![0u8; 1 << 16];
        while self.left > 0 {
            let n = usize::try_from(self.left)
                .unwrap_or(usize::MAX)
                .min(piece.len());
            self.source.read_exact(&mut piece[..n])?;
            self.crc.update(&piece[..n]);
            self.left -= n as u64;
        }
        Ok(())
    }
}

/// Reads the head, then each chunk, handing each chunk as it is read to threads that decode
/// them (one per core, each taking the next chunk read).
fn read_frames<R: std::io::Read>(body: &mut Body<'_, R>) -> std::io::Result<FramesRead> {
    let head = match body.frame("the head")? {
        Ok(frame) => decode_frame::<Head>(&frame, "the head"),
        Err(why) => Err(why),
    };
    let Ok(Head {
        chunks: count,
        checkpoint,
        ..
    }) = head
    else {
        return Ok(FramesRead {
            head,
            frames: Ok(()),
            chunks: Vec::new(),
        });
    };
    let Some(count) = usize::try_from(count)
        .ok()
        .filter(|c| *c <= SNAPSHOT_CHUNKS_MAX)
    else {
        let frames = Err(format!(
            "says it has {count} chunks, more than {SNAPSHOT_CHUNKS_MAX}"
        ));
        return Ok(FramesRead {
            head,
            frames,
            chunks: Vec::new(),
        });
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(count)
        .max(1);
    // Reading is many times faster than decoding: a few chunks read ahead keep every thread
    // busy, and bound what is held of the file to those few (an unbounded queue held most of it).
    let (to_decode, frames_read) =
        std::sync::mpsc::sync_channel::<(usize, Vec<u8>)>(CHUNKS_READ_AHEAD_PER_THREAD * threads);
    // Owned by the workers only: once every one has stopped (even by a panic), sending fails
    // instead of waiting for room forever.
    let frames_read = std::sync::Arc::new(std::sync::Mutex::new(frames_read));
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let frames_read = std::sync::Arc::clone(&frames_read);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        // The lock is held only while waiting for the next frame.
                        let next = match frames_read.lock() {
                            Ok(frames) => frames.recv(),
                            Err(_) => return done,
                        };
                        let Ok((index, frame)) = next else {
                            return done;
                        };
                        done.push((index, decode_chunk(&frame, index, count, checkpoint)));
                    }
                })
            })
            .collect();
        drop(frames_read);
        let mut frames = Ok(());
        let mut failed = None;
        for index in 0..count {
            match body.frame(&format!("chunk {index} of {count}")) {
                Ok(Ok(frame)) => {
                    // Every worker gone (a panic) shows when they are joined.
                    if to_decode.send((index, frame)).is_err() {
                        break;
                    }
                }
                Ok(Err(why)) => {
                    frames = Err(why);
                    break;
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if frames.is_ok() && failed.is_none() && body.left > 0 {
            frames = Err(format!("{} trailing bytes after its last chunk", body.left));
        }
        drop(to_decode);
        let chunks: Vec<_> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        match failed {
            Some(e) => Err(e),
            None => Ok(FramesRead {
                head,
                frames,
                chunks,
            }),
        }
    })
}
