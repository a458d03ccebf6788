//! How reminders leave dunlog (SPEC §12): e-mail over SMTP with lettre (STARTTLS, TLS and auth
//! as the URL says), letters as plain-text files written atomically for a print service.
//!
//! Every attempt ends in one of three ways, and only the first is ever recorded as sent:
//! the receiver accepted the message (2xx, or the letter file is durable), a temporary failure
//! (4xx, connection refused or timed out: retried later, nothing recorded), or a permanent one
//! (5xx, an address that cannot be used: `ReminderFailed`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How long one SMTP conversation may take before it counts as a temporary failure.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// What one delivery attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Accepted at this instant: the 2xx to the message's data, or the letter's rename made durable.
    Accepted(DateTime<Utc>),
    /// Try again later; nothing is recorded.
    Temporary(String),
    /// Will never succeed as it is; recorded as `ReminderFailed`.
    Permanent(String),
}

/// A message as it is handed to a transport.
#[derive(Clone, Debug)]
pub struct Outgoing<'a> {
    pub message_id: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// The SMTP relay reminders go through.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    /// `url` as lettre reads it: `smtp://host:port` (plain; add `?tls=required` for STARTTLS),
    /// `smtps://host:465` (TLS from the first byte), `smtp://user:password@host:587?tls=required`.
    pub fn new(url: &str, from: &str) -> Result<Smtp> {
        let from: Mailbox = from
            .parse()
            .with_context(|| format!("--smtp-from {from:?} is not an e-mail address"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .with_context(|| format!("--smtp {url:?} is not an SMTP URL"))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Smtp { transport, from })
    }

    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// One attempt to hand the message to the relay.
    pub async fn send(&self, m: &Outgoing<'_>) -> Attempt {
        let to: Mailbox = match m.to.parse() {
            Ok(to) => to,
            Err(e) => return Attempt::Permanent(format!("address {:?} is not usable: {e}", m.to)),
        };
        // Base64 keeps the body byte for byte whatever its language, so the receiver's copy
        // decodes to exactly what `content_sha256` hashes.
        let body = match Body::new_with_encoding(m.body.to_owned(), ContentTransferEncoding::Base64)
        {
            Ok(body) => body,
            Err(_) => return Attempt::Permanent("the body cannot be encoded".to_owned()),
        };
        let message = Message::builder()
            .message_id(Some(m.message_id.to_owned()))
            .from(self.from.clone())
            .to(to)
            .subject(m.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body);
        let message = match message {
            Ok(message) => message,
            Err(e) => return Attempt::Permanent(format!("the message cannot be built: {e}")),
        };
        match self.transport.send(message).await {
            Ok(_) => Attempt::Accepted(Utc::now()),
            Err(e) if e.is_permanent() => {
                Attempt::Permanent(format!("the mail server refused it: {e}"))
            }
            Err(e) => Attempt::Temporary(format!("{e}")),
        }
    }
}

/// A file name for a message: its id reduced to letters, digits, `.` and `-`.
fn file_stem(message_id: &str) -> String {
    message_id
        .trim_matches(|c| c == '<' || c == '>')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Where letters are written for a print service to pick up.
#[derive(Clone, Debug)]
pub struct Letters {
    pub dir: PathBuf,
}

impl Letters {
    /// The file a letter is (or will be) written to.
    pub fn path(&self, message_id: &str) -> PathBuf {
        self.dir.join(format!("{}.txt", file_stem(message_id)))
    }

    /// Writes the letter atomically: a temporary file, fsync, rename, fsync of the directory. A
    /// print service never sees half a letter, and after a crash the letter either is there
    /// whole or not at all (then it is written again, to the same name).
    pub fn write(&self, m: &Outgoing<'_>) -> Attempt {
        match self.write_file(m) {
            Ok(()) => Attempt::Accepted(Utc::now()),
            Err(e) => Attempt::Temporary(format!("{e:#}")),
        }
    }

    fn write_file(&self, m: &Outgoing<'_>) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let path = self.path(m.message_id);
        let tmp = path.with_extension("txt.tmp");
        let text = format!(
            "Message-ID: {}\r\nTo: {}\r\nSubject: {}\r\n\r\n{}",
            m.message_id,
            m.to.replace('\n', "\r\n    "),
            m.subject,
            m.body
        );
        {
            let mut file = std::fs::File::create(&tmp)
                .with_context(|| format!("creating {}", tmp.display()))?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &path).with_context(|| format!("renaming to {}", path.display()))?;
        sync_dir(&self.dir)?;
        Ok(())
    }
}

/// Makes a rename in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))?;
    Ok(())
}
