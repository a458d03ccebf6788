//! The snapshot file (format 12): a ledger of many accounts, cut into chunks decoded on every
//! core, comes back equal; damaged, cut, reordered or lying files are refused with a reason.

use std::ops::Range;

use domain::{InvoiceId, PaymentId};
use projections::snapshot::{self, SNAPSHOT_CHUNKS_TARGET, SNAPSHOT_FORMAT};
use projections::Ledger;
use serde_json::json;

use crate::support::{d, issue, open, pay, t, History};

const ACCOUNTS: usize = 300;

/// Accounts of different sizes (0 to 6 invoices, some paid, reminders and promises on the
/// timeline), an adopted policy and a clock run: chunks of unequal accounts.
fn many_accounts() -> History {
    let mut h = History::new();
    h.adopt(domain::policy::DEFAULT_POLICY_TOML);
    for a in 0..ACCOUNTS {
        let id = format!("C{a:04}");
        open(&mut h, &id, "2026-01-01", "100000.00");
        for i in 0..a % 7 {
            issue(&mut h, &id, &format!("{id}-I{i}"), "100.00", "2026-01-05");
        }
        if a % 3 == 0 && a % 7 > 0 {
            pay(&mut h, &id, &format!("{id}-P"), "150.00", "2026-02-01");
        }
        // A promise only where something is still owed (SPEC §2: no larger than what is owed).
        if a % 5 == 1 && a % 7 > 1 {
            h.run(json!({"command": "record_reminder", "customer_id": id,
                "invoice_ids": [format!("{id}-I0")], "channel": "email",
                "step": "overdue_reminder", "sent_at": "2026-02-10T10:00:00Z"}));
            h.run(json!({"command": "record_promise", "customer_id": id,
                "promise_id": format!("{id}-PR"), "amount": "50.00",
                "made_on": "2026-02-10", "promised_on": "2026-02-20", "invoice_ids": []}));
        }
    }
    h.occurred_at = t("2026-03-15T09:00:00Z");
    h.tick(d("2026-03-15"));
    h
}

/// The frames of a format-4 file's body (test-side parse): the head, then each chunk.
fn frames(bytes: &[u8]) -> Vec<Range<usize>> {
    let end = bytes.len() - 12;
    let mut at = 12;
    let mut frames = Vec::new();
    while at < end {
        let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
        frames.push(at + 8..at + 8 + len);
        at += 8 + len;
    }
    assert_eq!(at, end);
    frames
}

/// Rewrites the trailer (body length and CRC) after a test changed the body on purpose.
fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.truncate(bytes.len() - 12);
    let body = &bytes[12..];
    let (len, crc) = (body.len() as u64, crc32fast::hash(body));
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

fn refused(bytes: &[u8]) -> String {
    match snapshot::decode(bytes) {
        Ok(_) => panic!("a damaged snapshot decoded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_snapshot_of_many_accounts_in_many_chunks_decodes_to_the_same_ledger() {
    let h = many_accounts();
    assert_eq!(h.ledger.accounts.len(), ACCOUNTS);
    assert_eq!(h.ledger.policy_version(), 1);
    let bytes = snapshot::encode(&h.ledger, [9; 32]).unwrap();
    let chunks = frames(&bytes).len() - 1;
    assert!(
        (SNAPSHOT_CHUNKS_TARGET / 2..=SNAPSHOT_CHUNKS_TARGET).contains(&chunks),
        "{chunks} chunks"
    );

    let restored = snapshot::decode(&bytes).unwrap();
    assert_eq!(restored.checkpoint, h.ledger.checkpoint);
    assert_eq!(restored.hash, [9; 32]);
    assert_eq!(restored.policy_version, 1);
    assert_eq!(restored.ledger, h.ledger);
    assert_eq!(restored.ledger.policy(), h.ledger.policy());
    // The id indexes were rebuilt on the decoding threads: lookups by id find the same entries.
    for (id, account) in &restored.ledger.accounts {
        for invoice in &account.invoices {
            assert_eq!(account.invoice(&invoice.id), Some(invoice));
        }
        for payment in &account.payments {
            assert_eq!(account.payment(&payment.id), Some(payment));
        }
        assert_eq!(
            account.invoice(&InvoiceId::parse(&format!("{id}-nope")).unwrap()),
            None
        );
        assert_eq!(
            account.payment(&PaymentId::parse(&format!("{id}-P")).unwrap()),
            h.ledger.accounts[id].payment(&PaymentId::parse(&format!("{id}-P")).unwrap())
        );
    }
    for date in [d("2026-02-01"), d("2026-03-15"), d("2026-06-01")] {
        assert_eq!(restored.ledger.worklist(date), h.ledger.worklist(date));
        assert_eq!(
            restored.ledger.metrics(date, 90),
            h.ledger.metrics(date, 90)
        );
    }
    // The timeline, read from the log, is the same on the restored ledger.
    let mut timelines = 0;
    for id in h.ledger.accounts.keys() {
        let timeline = h.timeline(id, None, None, None);
        timelines += usize::from(!timeline.is_empty());
        assert_eq!(
            h.timeline_in(&restored.ledger, id, None, None, None),
            timeline
        );
    }
    assert!(
        timelines > ACCOUNTS / 5,
        "{timelines} accounts with a timeline"
    );
    // Encoding is deterministic, so the restored ledger gives back the same file.
    assert_eq!(snapshot::encode(&restored.ledger, [9; 32]).unwrap(), bytes);
}

/// Issue 18: every timeline event (payments with their allocations among them) was written
/// twice, once in its account and once more as a copy in the account's timeline, so the
/// snapshot at 1M events was 95 MB instead of 42 MB. Now the snapshot grows by what the
/// account itself holds, and nothing more.
#[test]
fn the_snapshot_grows_with_the_accounts_not_with_their_timeline_events() {
    let with_payments = |n: usize| {
        let mut h = History::new();
        open(&mut h, "A", "2026-01-01", "1000000.00");
        for i in 0..n {
            issue(&mut h, "A", &format!("I{i}"), "100.00", "2026-01-05");
        }
        for i in 0..n {
            pay(&mut h, "A", &format!("P{i}"), "40.00", "2026-02-01");
            h.run(json!({"command": "record_reminder", "customer_id": "A",
                "invoice_ids": [format!("I{i}")], "channel": "email",
                "step": "overdue_reminder", "sent_at": "2026-02-10T10:00:00Z"}));
        }
        let snapshot = snapshot::encode(&h.ledger, [0; 32]).unwrap().len();
        let account = &h.ledger.accounts["A"];
        assert_eq!(account.payments.len(), n);
        let account = bincode::encode_to_vec(account, bincode::config::standard())
            .unwrap()
            .len();
        (snapshot, account)
    };
    let (snapshot_small, account_small) = with_payments(40);
    let (snapshot_large, account_large) = with_payments(80);
    let snapshot_growth = snapshot_large - snapshot_small;
    let account_growth = account_large - account_small;
    // A few bytes of slack: varint lengths and the checkpoint grow by a byte or two.
    assert!(
        snapshot_growth <= account_growth + 16,
        "40 more payments and reminders grew the snapshot by {snapshot_growth} bytes \
         but the account by {account_growth}"
    );
}

#[test]
fn an_empty_ledger_round_trips_with_no_chunks() {
    let bytes = snapshot::encode(&Ledger::new(), [0; 32]).unwrap();
    assert_eq!(frames(&bytes).len(), 1);
    let restored = snapshot::decode(&bytes).unwrap();
    assert_eq!(restored.ledger, Ledger::new());
    assert_eq!(restored.checkpoint, 0);
}

#[test]
fn a_flipped_byte_in_a_chunk_is_refused_by_the_checksum() {
    let bytes = snapshot::encode(&many_accounts().ledger, [0; 32]).unwrap();
    let frames = frames(&bytes);
    for chunk in [
        &frames[1],
        &frames[frames.len() / 2],
        &frames[frames.len() - 1],
    ] {
        let mut flipped = bytes.clone();
        flipped[(chunk.start + chunk.end) / 2] ^= 0x01;
        assert_eq!(
            refused(&flipped),
            "snapshot: checksum does not match (the file is damaged)"
        );
    }
}

#[test]
fn a_cut_file_is_refused() {
    let bytes = snapshot::encode(&many_accounts().ledger, [0; 32]).unwrap();
    let frames = frames(&bytes);
    for cut in [
        0,
        11,
        12,
        100,
        frames[2].start,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        assert!(snapshot::decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    assert!(refused(&bytes[..bytes.len() / 2]).contains("(cut short or appended to)"));
    // Cut at a chunk's end with the trailer made to match: the chunks that remain are fewer
    // than the head says.
    let resealed = reseal([&bytes[..frames[3].end], &bytes[bytes.len() - 12..]].concat());
    let chunks = frames.len() - 1;
    assert_eq!(
        refused(&resealed),
        format!("snapshot: ends where the length of chunk 3 of {chunks} should be (0 bytes left)")
    );
    // Cut inside a chunk, trailer made to match: the chunk's length runs past the end.
    let resealed = reseal([&bytes[..frames[3].start + 5], &bytes[bytes.len() - 12..]].concat());
    assert_eq!(
        refused(&resealed),
        format!(
            "snapshot: chunk 2 of {chunks} says it is {} bytes but only 5 remain",
            frames[3].len()
        )
    );
}

#[test]
fn a_bogus_chunk_length_is_an_error_not_an_allocation() {
    let bytes = snapshot::encode(&many_accounts().ledger, [0; 32]).unwrap();
    let frames = frames(&bytes);
    let chunks = frames.len() - 1;
    let length_at = frames[1].start - 8;
    for bogus in [u64::MAX, 1 << 40, bytes.len() as u64] {
        let mut lying = bytes.clone();
        lying[length_at..length_at + 8].copy_from_slice(&bogus.to_le_bytes());
        let message = refused(&reseal(lying));
        assert!(
            message.starts_with(&format!(
                "snapshot: chunk 0 of {chunks} says it is {bogus} bytes"
            )),
            "{message}"
        );
    }
    // A length one byte short: the chunk no longer decodes whole, or the next is out of step.
    let mut short = bytes.clone();
    let length = frames[1].len() as u64 - 1;
    short[length_at..length_at + 8].copy_from_slice(&length.to_le_bytes());
    assert!(snapshot::decode(&reseal(short)).is_err());
    // The head's own length.
    let mut lying = bytes.clone();
    lying[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(refused(&reseal(lying)).starts_with("snapshot: the head says it is"));
}

#[test]
fn chunks_out_of_place_are_refused() {
    let bytes = snapshot::encode(&many_accounts().ledger, [0; 32]).unwrap();
    let frames = frames(&bytes);
    let chunks = frames.len() - 1;
    // Chunks 0 and 1 swapped, each with its length prefix.
    let (a, b) = (
        frames[1].start - 8..frames[1].end,
        frames[2].start - 8..frames[2].end,
    );
    let swapped = [
        &bytes[..a.start],
        &bytes[b.clone()],
        &bytes[a.clone()],
        &bytes[b.end..],
    ]
    .concat();
    assert_eq!(
        refused(&reseal(swapped)),
        format!("snapshot: chunk 0 of {chunks} says it is chunk 1")
    );
    // A chunk from a snapshot at another checkpoint.
    let mut h = many_accounts();
    open(&mut h, "LATE", "2026-03-15", "10.00");
    let later = snapshot::encode(&h.ledger, [0; 32]).unwrap();
    let later_frames = self::frames(&later);
    let spliced = [
        &bytes[..frames[1].start - 8],
        &later[later_frames[1].start - 8..later_frames[1].end],
        &bytes[frames[1].end..],
    ]
    .concat();
    let message = refused(&reseal(spliced));
    assert!(
        message.starts_with(&format!("snapshot: chunk 0 of {chunks} says checkpoint")),
        "{message}"
    );
}

#[test]
fn a_snapshot_of_another_format_is_refused() {
    let mut bytes = snapshot::encode(&many_accounts().ledger, [0; 32]).unwrap();
    bytes[8..12].copy_from_slice(&3u32.to_le_bytes());
    assert_eq!(
        refused(&bytes),
        format!("snapshot: format 3 is not this build's {SNAPSHOT_FORMAT}")
    );
}

#[test]
fn trailing_bytes_after_the_last_chunk_are_refused() {
    let bytes = snapshot::encode(&many_accounts().ledger, [0; 32]).unwrap();
    let body_end = bytes.len() - 12;
    let longer = reseal([&bytes[..body_end], &[0u8; 3], &bytes[body_end..]].concat());
    assert_eq!(
        refused(&longer),
        "snapshot: 3 trailing bytes after its last chunk"
    );
}

/// `load` reads and decodes the file at once (chunks decoded while the rest is read): the same
/// snapshot as `decode` of the file's bytes, the same refusals, and `None` when there is none.
#[test]
fn loading_the_file_gives_what_decoding_its_bytes_gives() {
    let dir = tempfile::tempdir().unwrap();
    assert!(snapshot::load(dir.path()).unwrap().is_none());
    let ledger = many_accounts().ledger;
    let bytes = snapshot::encode(&ledger, [7; 32]).unwrap();
    snapshot::write_file(dir.path(), &bytes).unwrap();
    let loaded = snapshot::load(dir.path()).unwrap().unwrap();
    assert_eq!(loaded.ledger, ledger);
    assert_eq!(loaded.hash, [7; 32]);
    assert_eq!(loaded.checkpoint, ledger.checkpoint);

    let frames = frames(&bytes);
    let mut flipped = bytes.clone();
    flipped[frames[2].start + 3] ^= 0x40;
    snapshot::write_file(dir.path(), &flipped).unwrap();
    let error = snapshot::load(dir.path()).unwrap_err().to_string();
    assert_eq!(error, refused(&flipped));
    assert_eq!(
        error,
        "snapshot: checksum does not match (the file is damaged)"
    );

    snapshot::write_file(dir.path(), &bytes[..bytes.len() / 2]).unwrap();
    let error = snapshot::load(dir.path()).unwrap_err().to_string();
    assert_eq!(error, refused(&bytes[..bytes.len() / 2]));
}
