//! The local channel between the CLI and a running `dunlog serve` on the same data directory
//! (SPEC §9): a Unix socket `dunlog.sock` inside the data directory, mode 0600, that accepts only
//! peers running as the socket's owner. The server runs each command with the same function the
//! CLI would run itself (`crate::cli::commands::execute`) and streams back its stdout, stderr and
//! exit status (docs/decisions/0025-the-cli-beside-a-live-server.md).
//!
//! Protocol, one command per connection: the client sends one JSON line
//! `{"version": 1, "data": "<dir as typed>", "command": <LedgerCommand>}`; the server answers
//! with frames `tag (1 byte) · length (u32, big endian) · bytes`, tag 1 stdout, 2 stderr, 3 the
//! exit status (one byte), which is the last frame.

use std::io::{BufRead as _, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::app::service::Service;
use crate::cli::commands::{self, LedgerCommand, Output};

/// The socket's file name inside the data directory.
pub const SOCKET_NAME: &str = "dunlog.sock";
/// The protocol version a client sends; the server refuses any other.
pub const PROTOCOL_VERSION: u32 = 1;
/// Longest request line accepted, in bytes (a command and a few paths).
pub const REQUEST_BYTES_MAX: u64 = 64 * 1024;
/// How long the server waits for a connected client's request line.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Bytes of stdout gathered before they are sent as one frame.
const STDOUT_FRAME_BYTES: usize = 64 * 1024;

const TAG_STDOUT: u8 = 1;
const TAG_STDERR: u8 = 2;
const TAG_EXIT: u8 = 3;

#[derive(Serialize, Deserialize)]
struct Request {
    version: u32,
    /// The data directory as the user typed it, for messages (the output is then the same as
    /// the CLI's own).
    data: PathBuf,
    command: LedgerCommand,
}

/// The socket of the server on `data`.
pub fn socket_path(data: &Path) -> PathBuf {
    data.join(SOCKET_NAME)
}

// ---------------------------------------------------------------------------------------------
// The client side.

/// Runs `command` through the server on `data`, if one answers there: `Ok(None)` when no server
/// runs (no socket, or a stale one nobody listens on), so the caller opens the directory itself.
pub fn run_remote(data: &Path, command: &LedgerCommand) -> Result<Option<u8>> {
    let path = socket_path(data);
    let stream = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(stream) => stream,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "a server seems to hold {} but its local channel {} cannot be opened",
                    data.display(),
                    path.display()
                )
            })
        }
    };
    let mut command = command.clone();
    command.make_paths_absolute()?;
    let request = Request {
        version: PROTOCOL_VERSION,
        data: data.to_owned(),
        command,
    };
    let mut line = serde_json::to_vec(&request).context("encoding the request")?;
    line.push(b'\n');
    let mut writer = &stream;
    writer
        .write_all(&line)
        .context("sending the command to the server")?;
    let mut reader = BufReader::new(&stream);
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    let mut stderr = std::io::stderr();
    loop {
        let Some((tag, bytes)) = read_frame(&mut reader)? else {
            bail!(
                "the server on {} closed the local channel before the command finished",
                data.display()
            );
        };
        match tag {
            TAG_STDOUT => {
                if let Err(e) = stdout.write_all(&bytes).and_then(|()| stdout.flush()) {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        // `dunlog … | head`: the reader has what it wanted.
                        return Ok(Some(0));
                    }
                    return Err(e).context("writing to stdout");
                }
            }
            TAG_STDERR => {
                let _ = stderr.write_all(&bytes);
            }
            TAG_EXIT => return Ok(Some(bytes.first().copied().unwrap_or(1))),
            other => bail!("the server sent an unknown frame ({other})"),
        }
    }
}

/// Whether a server answers on `data`'s local channel.
pub fn run_remote_probe(data: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(socket_path(data)).is_ok()
}

fn read_frame(reader: &mut impl Read) -> Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match reader.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e).context("reading from the server"),
    }
    let [tag, a, b, c, d] = head;
    let len = u32::from_be_bytes([a, b, c, d]) as usize;
    let mut bytes = vec![0u8; len];
    reader
        .read_exact(&mut bytes)
        .context("reading from the server")?;
    Ok(Some((tag, bytes)))
}

// ---------------------------------------------------------------------------------------------
// The server side.

/// The server's end of the channel: accepts connections until dropped, then removes the socket.
pub struct Listener {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Opens the channel of the server that holds `data` (call after the service opened it, so
/// sled's lock says no other server runs): a socket left by a server that did not stop cleanly
/// is removed first.
pub fn listen(data: &Path, service: Service) -> Result<Listener> {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let path = socket_path(data);
    if std::fs::symlink_metadata(&path).is_ok() {
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            bail!(
                "another server answers on {}; stop it first",
                path.display()
            );
        }
        std::fs::remove_file(&path)
            .with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
    }
    let listener = tokio::net::UnixListener::bind(&path)
        .with_context(|| format!("cannot create the local channel {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict {} to its owner", path.display()))?;
    let owner = std::fs::metadata(&path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .uid();
    let handle = tokio::runtime::Handle::current();
    let task = tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "local channel: accept failed");
                    continue;
                }
            };
            // The socket's mode already keeps others out; the peer's uid is checked as well,
            // in case the directory's permissions let someone replace the file's mode.
            match stream.peer_cred() {
                Ok(cred) if cred.uid() == owner => {}
                Ok(cred) => {
                    tracing::warn!(
                        uid = cred.uid(),
                        "local channel: refused a peer of another user"
                    );
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "local channel: peer credentials unreadable");
                    continue;
                }
            }
            let Ok(stream) = stream.into_std() else {
                continue;
            };
            let (service, handle) = (service.clone(), handle.clone());
            // Each command runs on a blocking thread that drives its future: commands write to
            // the socket with plain blocking writes, so a slow reader holds up only its command.
            tokio::task::spawn_blocking(move || {
                if let Err(e) = serve_one(&handle, &service, stream) {
                    tracing::debug!(error = %e, "local channel: connection ended");
                }
            });
        }
    });
    Ok(Listener { path, task })
}

/// One connection's writers: stdout is gathered into frames, stderr sent at once (after any
/// stdout gathered before it, so the order is kept).
struct Frames {
    stream: std::os::unix::net::UnixStream,
    stdout: Vec<u8>,
}

impl Frames {
    fn send(&mut self, tag: u8, bytes: &[u8]) -> std::io::Result<()> {
        let len = u32::try_from(bytes.len())
            .map_err(|_| std::io::Error::other("frame larger than 4 GiB"))?;
        let mut frame = Vec::with_capacity(5 + bytes.len());
        frame.push(tag);
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(bytes);
        self.stream.write_all(&frame)
    }

    fn flush_stdout(&mut self) -> std::io::Result<()> {
        if self.stdout.is_empty() {
            return Ok(());
        }
        let bytes = std::mem::take(&mut self.stdout);
        self.send(TAG_STDOUT, &bytes)
    }
}

struct Stream<'a> {
    frames: &'a std::cell::RefCell<Frames>,
    tag: u8,
}

impl Write for Stream<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut frames = self.frames.borrow_mut();
        if self.tag == TAG_STDOUT {
            frames.stdout.extend_from_slice(buf);
            if frames.stdout.len() >= STDOUT_FRAME_BYTES {
                frames.flush_stdout()?;
            }
        } else {
            frames.flush_stdout()?;
            frames.send(self.tag, buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.frames.borrow_mut().flush_stdout()
    }
}

fn serve_one(
    handle: &tokio::runtime::Handle,
    service: &Service,
    stream: std::os::unix::net::UnixStream,
) -> Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    let mut line = Vec::new();
    BufReader::new((&stream).take(REQUEST_BYTES_MAX)).read_until(b'\n', &mut line)?;
    let frames = std::cell::RefCell::new(Frames {
        stream: stream.try_clone()?,
        stdout: Vec::new(),
    });
    let status = match serde_json::from_slice::<Request>(&line) {
        Ok(request) if request.version == PROTOCOL_VERSION => {
            let mut out = Stream {
                frames: &frames,
                tag: TAG_STDOUT,
            };
            let mut err = Stream {
                frames: &frames,
                tag: TAG_STDERR,
            };
            let mut io = Output {
                out: &mut out,
                err: &mut err,
                progress: false,
            };
            let result = handle.block_on(commands::execute(
                service,
                &request.data,
                request.command,
                &mut io,
            ));
            match result {
                Ok(status) => status,
                Err(e) if crate::is_broken_pipe(&e) => return Ok(()),
                Err(e) => {
                    let _ = writeln!(io.err, "{}", crate::error_line(&e));
                    1
                }
            }
        }
        Ok(request) => {
            let message = format!(
                "error: this server speaks version {PROTOCOL_VERSION} of the local channel, the \
                 client version {}; use the same dunlog binary for both\n",
                request.version
            );
            frames.borrow_mut().send(TAG_STDERR, message.as_bytes())?;
            1
        }
        Err(e) => {
            let message = format!("error: the request is not understood ({e}); use the same dunlog binary for the CLI and the server\n");
            frames.borrow_mut().send(TAG_STDERR, message.as_bytes())?;
            1
        }
    };
    let mut frames = frames.borrow_mut();
    frames.flush_stdout()?;
    frames.send(TAG_EXIT, &[status])?;
    Ok(())
}
