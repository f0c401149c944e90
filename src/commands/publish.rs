//! `pubcat publish URL [MESSAGE]...`
//!
//! Opens the connection first, then sends; input that arrives before the
//! socket is open waits in the pipe, so nothing is dropped. Messages are fed
//! into the socket's write buffer and flushed only when the input has
//! nothing more ready (a flush per message costs 16x), then the close
//! handshake tells us the server has read everything we wrote.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::cli::{Global, PublishArgs, StdinMode};
use crate::dialect::Dialect;
use crate::dialect::socketio;
use crate::endpoint::Role;
use crate::error::{Error, Kind, Outcome, Result};
use crate::message::Message;
use crate::render::{Format, Printer};
use crate::session::{Fed, Incoming, Session};
use crate::shutdown::Interrupt;
use crate::{status, trace, verbose, warn};

pub async fn run(
    global: &Global,
    mut args: PublishArgs,
    mut interrupt: Interrupt,
) -> Result<Outcome> {
    take_url_from_env(&mut args);
    let wants = super::Wants {
        content_type: args.content_type.clone(),
        emit: args.socketio.event.clone(),
        ..Default::default()
    };
    let mut connection = super::connection(&args.conn, Role::Publish, wants)?;
    // --rate is 0 or a finite rate of at least one a year (cli::per_second).
    let interval = args
        .interval
        .or((args.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / args.rate)));

    // Read fixed inputs before connecting: a missing or too large --file is
    // a usage error that should not cost a connection. A read that does not
    // end (/dev/zero, a pipe) stops at the limit, and gives way to Ctrl-C.
    let limit = args.conn.reach.max_message_size;
    let fixed: Option<Vec<Bytes>> = if let Some(path) = &args.file {
        let body = tokio::select! {
            body = read_file("--file", path, limit) => body?,
            _ = interrupt.wait() => return Ok(Outcome::Interrupted),
        };
        Some(vec![body])
    } else if !args.messages.is_empty() {
        Some(
            args.messages
                .iter()
                .map(|m| Bytes::from(m.clone()))
                .collect(),
        )
    } else {
        None
    };
    let fixed = if let Dialect::SocketIo(sio) = &mut connection.dialect {
        tokio::select! {
            fixed = socketio_input(&args, sio, fixed, limit) => fixed?,
            _ = interrupt.wait() => return Ok(Outcome::Interrupted),
        }
    } else if args.socketio.event.is_some() || args.socketio.binary_file.is_some() {
        return Err(Error::usage(
            "--event and --binary-file are for Socket.IO: use a socketio+http:// URL or --protocol socketio",
        ));
    } else {
        fixed
    };

    let session = tokio::select! {
        s = Session::connect(&connection) => s?,
        _ = interrupt.wait() => return Ok(Outcome::Interrupted),
    };
    if args.confirm && !session.acknowledges() {
        return Err(Error::usage(format!(
            "--confirm needs a transport that acknowledges messages (http, stomp, mqtt, nats, socketio), and {} does not",
            connection.endpoint.transport_name
        )));
    }
    let mut session = session;
    session.set_confirm(args.confirm);
    session.set_close_wait(args.timeout);
    let mut p = Publisher {
        session,
        binary: args.binary,
        count: args.count,
        interval,
        next_due: None,
        sent: 0,
        warned_utf8: false,
        interrupt,
        replies: Replies(super::printer(global, args.output, Format::Line)),
    };

    // Every wait of the publisher races the interrupt, a pending HTTP
    // POST's too: dropped, what it was sending is not confirmed (exit 130).
    let mut interrupt = p.interrupt.clone();
    let work = async {
        match fixed {
            Some(messages) => p.send_all(&messages).await,
            None => {
                let stdin = std::io::stdin();
                if stdin.is_terminal() {
                    status!("connected; type messages, one per line, Ctrl-D to finish");
                }
                match args.stdin_mode {
                    StdinMode::Line => p.send_lines(spawn_stdin_reader(), limit).await,
                    StdinMode::Whole => {
                        let body = read_all(spawn_stdin_reader(), limit).await?;
                        p.send_all(&[body]).await
                    }
                }
            }
        }
    };
    let result = tokio::select! {
        result = work => result,
        _ = interrupt.wait() => Err(Error::new(Kind::Interrupted, "interrupted")),
    };
    let interrupted = match result {
        Ok(()) => false,
        Err(e) if e.kind == Kind::Interrupted => true,
        // Input refused (too large) before it was sent: what came before
        // it is delivered and the connection closed cleanly, then exit 2.
        Err(e) if e.kind == Kind::Usage => {
            let _ = p.session.flush().await;
            let _ = p.session.close(|_| Ok(())).await;
            return Err(e);
        }
        Err(e) => return Err(e),
    };

    p.session.flush().await?;
    let sent = p.sent;
    let confirmed = p
        .session
        .close(|m| {
            trace!(
                "ignoring a message received while closing ({} bytes)",
                m.body.len()
            );
            Ok(())
        })
        .await?;
    for m in p.session.take_replies() {
        p.replies.print(&m)?;
    }
    p.replies.flush()?;
    if interrupted {
        status!("interrupted after {sent} message(s)");
        return Ok(Outcome::Interrupted);
    }
    if !confirmed {
        let why = p.session.unconfirmed().map(str::to_string).unwrap_or_else(|| {
            format!(
                "the server did not acknowledge them (close handshake, STOMP receipt, MQTT PUBACK or PINGRESP, Socket.IO ACK) within {}",
                humantime::format_duration(args.timeout)
            )
        });
        return Err(Error::new(
            Kind::Lost,
            format!("sent {sent} message(s) but {why}, so it may not have them all"),
        ));
    }
    verbose!("sent {sent} message(s); close handshake complete");
    Ok(Outcome::Done)
}

/// Socket.IO: the MESSAGE arguments (and `--binary-file`) are the
/// arguments of one emit, so they become one body, the JSON array of them;
/// stdin lines and `--file` stay one emit (one argument) each.
async fn socketio_input(
    args: &PublishArgs,
    sio: &mut socketio::SocketIoOptions,
    fixed: Option<Vec<Bytes>>,
    limit: usize,
) -> Result<Option<Vec<Bytes>>> {
    if let Some(path) = &args.socketio.binary_file {
        sio.attachment = Some(read_file("--binary-file", path, limit).await?);
    }
    if args.messages.is_empty() && sio.attachment.is_none() {
        return Ok(fixed);
    }
    sio.spread = true;
    Ok(Some(vec![socketio::args_body(&args.messages)]))
}

/// With `PUBCAT_URL` set, `pubcat pub hello` means the message "hello", not
/// the URL "hello": clap fills the URL slot first, so move a first argument
/// that does not look like a URL back to the messages.
fn take_url_from_env(args: &mut PublishArgs) {
    let Ok(env_url) = std::env::var("PUBCAT_URL") else {
        return;
    };
    let given = &args.conn.url;
    let looks_like_url = given.contains("://") || given.starts_with(':');
    if *given != env_url && !looks_like_url && args.file.is_none() {
        let message = std::mem::replace(&mut args.conn.url, env_url);
        args.messages.insert(0, message);
    }
}

/// Lines sent between two looks at what the server sent.
const DRAIN_EVERY: usize = 256;

struct Publisher {
    session: Session,
    binary: bool,
    count: u64,
    interval: Option<Duration>,
    next_due: Option<Instant>,
    sent: u64,
    warned_utf8: bool,
    interrupt: Interrupt,
    replies: Replies,
}

/// A closed stdout is no reason to stop publishing.
fn not_fatal(written: Result<()>) -> Result<()> {
    match written {
        Err(e) if e.kind == Kind::OutputClosed => Ok(()),
        other => other,
    }
}

/// Where the arguments of Socket.IO ACKs go (`--confirm`).
struct Replies(Printer<std::io::Stdout>);

impl Replies {
    /// Publishing is the job: a reader of the acks that went away
    /// (`| head -1`) stops their printing, not the sending and the close.
    fn print(&mut self, m: &Message) -> Result<()> {
        not_fatal(super::stdout_ok(self.0.print(m)))
    }

    fn flush(&mut self) -> Result<()> {
        not_fatal(super::stdout_ok(self.0.flush()))
    }

    /// What arrives while publishing (`sent` messages so far): replies are
    /// printed, other messages ignored, and a close ends the publish.
    fn on_incoming(&mut self, incoming: &Incoming, sent: u64) -> Result<()> {
        match incoming {
            Incoming::Message(m) => {
                trace!("ignoring a received message ({} bytes)", m.body.len());
                Ok(())
            }
            Incoming::Reply(m) => {
                self.print(m)?;
                self.flush()
            }
            Incoming::Closed { reason, .. } => Err(Error::server(format!(
                "the server closed the connection ({reason}) after {sent} message(s) were sent"
            ))),
        }
    }
}

impl Publisher {
    async fn send_all(&mut self, messages: &[Bytes]) -> Result<()> {
        for m in messages {
            for _ in 0..self.count {
                self.send(m.clone()).await?;
                if self.interrupt.is_set() {
                    return Err(Error::new(Kind::Interrupted, "interrupted"));
                }
            }
        }
        Ok(())
    }

    /// Send one message, waiting for its time first when paced. This is the
    /// hot path of bulk publishing: no copy, no extra reference count.
    async fn send(&mut self, body: Bytes) -> Result<()> {
        if let Some(interval) = self.interval {
            self.wait_turn(interval).await?;
        }
        self.feed(body).await?;
        if self.interval.is_some() {
            self.session.flush().await?;
        }
        Ok(())
    }

    /// [`Publisher::send`] without pacing.
    async fn feed(&mut self, body: Bytes) -> Result<()> {
        if self.session.feed(body, self.binary).await? && !self.binary {
            self.warn_binary(self.sent);
        }
        self.sent += 1;
        Ok(())
    }

    /// Bulk input: every body in one future, handling what the server sent
    /// between groups.
    async fn feed_all(&mut self, bodies: &mut Vec<Bytes>) -> Result<()> {
        let mut bodies = bodies.drain(..);
        while bodies.len() > 0 {
            let mut fed = Fed::default();
            let group = bodies.by_ref().take(DRAIN_EVERY);
            let result = self.session.feed_all(group, self.binary, &mut fed).await;
            if let Some(i) = fed.first_as_binary {
                self.warn_binary(self.sent + i);
            }
            self.sent += fed.count;
            result?;
            self.drain_incoming()?;
        }
        Ok(())
    }

    /// Wait for the next message's time, reading meanwhile: a protocol
    /// that needs answers (Socket.IO pongs, acks) must not go silent for a
    /// long `--interval`.
    async fn wait_turn(&mut self, interval: Duration) -> Result<()> {
        let due = *self.next_due.get_or_insert_with(Instant::now);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(due) => break,
                _ = self.interrupt.wait() => return Err(Error::new(Kind::Interrupted, "interrupted")),
                incoming = self.session.next() => self.replies.on_incoming(&incoming?, self.sent)?,
            }
        }
        self.next_due = Some(due + interval);
        Ok(())
    }

    /// Message `index` (from 0) went as binary for not being UTF-8.
    #[cold]
    fn warn_binary(&mut self, index: u64) {
        if !self.warned_utf8 {
            self.warned_utf8 = true;
            warn!(
                "message {} is not valid UTF-8, so it was sent as a binary frame (--binary sends every message as binary)",
                index + 1
            );
        }
    }

    /// Handle what the server already sent (STOMP receipts, pings,
    /// Socket.IO acks to print) without waiting. A bulk publish does this between lines: a server whose
    /// answers pile up unread stops reading too (RabbitMQ receipts every
    /// SEND, and a blocked send stalls its connection).
    ///
    /// Kept out of line: inlined, the session's whole receive path lands in
    /// the send loop and raw publishing slows down (measured here: 0.68 to
    /// 0.79x of the baseline client inlined, 0.82 to 0.84x not).
    #[inline(never)]
    fn drain_incoming(&mut self) -> Result<()> {
        let (replies, sent) = (&mut self.replies, self.sent);
        self.session
            .drain_ready(usize::MAX, |incoming| {
                replies.on_incoming(incoming, sent).map(|()| None::<()>)
            })
            .map(drop)
    }

    /// One message per line of input, as the lines arrive; a line longer
    /// than `limit` ends it (exit 2), after the lines before it.
    async fn send_lines(
        &mut self,
        mut input: mpsc::Receiver<std::io::Result<Bytes>>,
        limit: usize,
    ) -> Result<()> {
        let mut splitter = LineSplitter::new(limit);
        let mut lines = Vec::new();
        loop {
            let chunk = tokio::select! {
                biased;
                _ = self.interrupt.wait() => return Err(Error::new(Kind::Interrupted, "interrupted")),
                incoming = self.session.next() => {
                    self.replies.on_incoming(&incoming?, self.sent)?;
                    continue;
                }
                chunk = input.recv() => chunk,
            };
            let (done, refused) = splitter.take(chunk, &mut lines)?;
            if self.count == 1 && self.interval.is_none() {
                self.feed_all(&mut lines).await?;
            } else {
                for (i, line) in lines.drain(..).enumerate() {
                    for _ in 0..self.count {
                        self.send(line.clone()).await?;
                    }
                    if i % DRAIN_EVERY == DRAIN_EVERY - 1 {
                        self.drain_incoming()?;
                    }
                }
            }
            if let Some(refused) = refused {
                return Err(refused);
            }
            if done {
                return Ok(());
            }
            // Flush once the input has nothing more ready, so interactive
            // lines go out at once and bulk input is batched.
            if input.is_empty() {
                self.session.flush().await?;
            }
        }
    }
}

/// Read stdin on a plain thread in large chunks: tokio's stdin does a
/// blocking-pool hop per read, and a line reader copies every line.
pub(super) fn spawn_stdin_reader() -> mpsc::Receiver<std::io::Result<Bytes>> {
    const CHUNK: usize = 256 * 1024;
    let (tx, rx) = mpsc::channel(8);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut buf = BytesMut::zeroed(CHUNK);
            match stdin.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(buf.freeze())).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    rx
}

/// All of stdin as one message, refused (exit 2) once it is longer than
/// `limit`: the reader stops there, whatever is still coming.
pub(super) async fn read_all(
    mut input: mpsc::Receiver<std::io::Result<Bytes>>,
    limit: usize,
) -> Result<Bytes> {
    let mut all = Vec::new();
    while let Some(chunk) = input.recv().await {
        let chunk = chunk.map_err(|e| Error::local(format!("reading stdin: {e}")))?;
        if chunk.len() > limit - all.len() {
            return Err(Error::usage(format!(
                "stdin is larger than --max-message-size ({limit} bytes), so nothing was sent (raise --max-message-size to send it)"
            )));
        }
        grow(&mut all, chunk.len(), limit);
        all.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(all))
}

/// Make room in `buf` for `more` bytes, doubling as a Vec does but never
/// past `limit`, so a message of up to `limit` bytes takes no more than that.
fn grow(buf: &mut Vec<u8>, more: usize, limit: usize) {
    let need = buf.len() + more;
    if need > buf.capacity() {
        let to = need
            .max(buf.capacity().saturating_mul(2))
            .min(limit.max(need));
        buf.reserve_exact(to - buf.len());
    }
}

/// A file as one message, of at most `limit` bytes: a regular file's size
/// is looked at first, and any other (`/dev/zero`, a pipe) is read up to
/// one byte more than the limit, in chunks, so dropping the future (on
/// Ctrl-C) stops the read.
async fn read_file(flag: &str, path: &Path, limit: usize) -> Result<Bytes> {
    let cannot =
        |e: std::io::Error| Error::usage(format!("cannot read {flag} {}: {e}", path.display()));
    let too_large = || {
        Error::usage(format!(
            "{flag} {} is larger than --max-message-size ({limit} bytes), so nothing was sent (raise --max-message-size to send it)",
            path.display()
        ))
    };
    let mut file = tokio::fs::File::open(path).await.map_err(cannot)?;
    let size = match file.metadata().await {
        Ok(meta) if meta.is_file() => Some(meta.len()),
        _ => None,
    };
    if size.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    // Room for what the file says it holds and the byte that tells it grew.
    let first = size.map_or(READ_CHUNK, |n| n as usize + 1);
    let mut body = Vec::with_capacity(first.min(limit.saturating_add(1)));
    loop {
        if body.len() == body.capacity() {
            // At most the byte past the limit: body.len() <= limit here.
            let room = limit.saturating_add(1) - body.len();
            grow(&mut body, READ_CHUNK.min(room), limit.saturating_add(1));
        }
        if file.read_buf(&mut body).await.map_err(cannot)? == 0 {
            break;
        }
        if body.len() > limit {
            return Err(too_large());
        }
    }
    Ok(Bytes::from(body))
}

/// The first read of a file whose size is not known, and the least a
/// read asks for.
const READ_CHUNK: usize = 64 * 1024;

/// Splits a byte stream into lines without copying: a line inside one chunk
/// is a slice of it; only a line spanning chunks is copied together.
pub(super) struct LineSplitter {
    partial: BytesMut,
    /// The longest line taken (--max-message-size).
    limit: usize,
    /// Lines split so far.
    lines: u64,
}

impl LineSplitter {
    pub(super) fn new(limit: usize) -> LineSplitter {
        LineSplitter {
            partial: BytesMut::new(),
            limit,
            lines: 0,
        }
    }

    /// Split `chunk`, pushing its lines onto `out` up to the first one
    /// longer than the limit, which is the error (what follows it is not
    /// split). A partial line is kept only up to the limit too, and its CR.
    fn push(&mut self, chunk: Bytes, out: &mut Vec<Bytes>) -> Result<()> {
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', &chunk) {
            if self.partial.len() + (nl - start) > self.limit.saturating_add(1) {
                return Err(self.too_long());
            }
            let line = if self.partial.is_empty() {
                chunk.slice(start..nl)
            } else {
                self.partial.extend_from_slice(&chunk[start..nl]);
                self.partial.split().freeze()
            };
            let line = strip_cr(line);
            if line.len() > self.limit {
                return Err(self.too_long());
            }
            out.push(line);
            self.lines += 1;
            start = nl + 1;
        }
        if self.partial.len() + (chunk.len() - start) > self.limit.saturating_add(1) {
            return Err(self.too_long());
        }
        if start < chunk.len() {
            self.partial.extend_from_slice(&chunk[start..]);
        }
        Ok(())
    }

    #[cold]
    fn too_long(&self) -> Error {
        Error::usage(format!(
            "line {} of stdin is longer than --max-message-size ({} bytes), so it and what follows were not sent (the lines before it were)",
            self.lines + 1,
            self.limit
        ))
    }

    /// What the stdin reader gave (None: the end): its lines onto `out`.
    /// Returns whether the input ended, and a line refused as too long
    /// (what comes after it is not split); a read error is the Err.
    pub(super) fn take(
        &mut self,
        chunk: Option<std::io::Result<Bytes>>,
        out: &mut Vec<Bytes>,
    ) -> Result<(bool, Option<Error>)> {
        Ok(match chunk {
            Some(Ok(chunk)) => (false, self.push(chunk, out).err()),
            Some(Err(e)) => return Err(Error::local(format!("reading stdin: {e}"))),
            None => match self.finish() {
                Ok(last) => {
                    out.extend(last);
                    (true, None)
                }
                Err(refused) => (true, Some(refused)),
            },
        })
    }

    /// The last line, when the input did not end with a newline.
    fn finish(&mut self) -> Result<Option<Bytes>> {
        if self.partial.is_empty() {
            return Ok(None);
        }
        let line = strip_cr(self.partial.split().freeze());
        if line.len() > self.limit {
            return Err(self.too_long());
        }
        Ok(Some(line))
    }
}

fn strip_cr(line: Bytes) -> Bytes {
    if line.last() == Some(&b'\r') {
        line.slice(..line.len() - 1)
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut s = LineSplitter::new(usize::MAX);
        let mut out = Vec::new();
        for c in chunks {
            s.push(Bytes::copy_from_slice(c), &mut out).unwrap();
        }
        out.extend(s.finish().unwrap());
        out.into_iter().map(|b| b.to_vec()).collect()
    }

    #[test]
    fn lines_split_across_chunks_and_line_ends() {
        assert_eq!(
            split(&[b"a\nb\r\nc"]),
            vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        assert_eq!(
            split(&[b"he", b"llo\nwor", b"ld\n"]),
            vec![b"hello".to_vec(), b"world".to_vec()]
        );
        assert_eq!(split(&[b"\n\n"]), vec![Vec::<u8>::new(), Vec::new()]);
        assert_eq!(split(&[b""]), Vec::<Vec<u8>>::new());
        assert_eq!(split(&[b"x\r", b"\n"]), vec![b"x".to_vec()]);
    }

    #[test]
    fn a_line_longer_than_the_limit_is_refused_after_the_lines_before_it() {
        for chunks in [
            &[&b"abc\r\nabcd\nx\n"[..]][..],
            &[b"abc\nab", b"cd\n"],
            &[b"abc\nab", b"c", b"de"],
            &[b"abc\nabcd"],
        ] {
            let mut s = LineSplitter::new(3);
            let mut out = Vec::new();
            let refused = chunks
                .iter()
                .try_for_each(|c| s.push(Bytes::copy_from_slice(c), &mut out))
                .and_then(|()| s.finish().map(|last| out.extend(last)));
            let err = refused.expect_err("a line of 4 bytes over a limit of 3");
            assert!(err.to_string().starts_with("line 2 of stdin"), "{err}");
            assert_eq!(out, vec![Bytes::from_static(b"abc")], "{chunks:?}");
        }
        // Exactly the limit, with or without a CR, is a line.
        let mut s = LineSplitter::new(3);
        let mut out = Vec::new();
        s.push(Bytes::from_static(b"abc\r"), &mut out).unwrap();
        s.push(Bytes::from_static(b"\nxyz"), &mut out).unwrap();
        out.extend(s.finish().unwrap());
        assert_eq!(out, vec![&b"abc"[..], b"xyz"]);
    }

    #[test]
    fn grow_doubles_but_never_past_the_limit() {
        let mut v = Vec::new();
        grow(&mut v, 10, 100);
        assert_eq!(v.capacity(), 10);
        v.resize(10, 0);
        grow(&mut v, 1, 100);
        assert_eq!(v.capacity(), 20);
        v.resize(90, 0);
        grow(&mut v, 5, 100);
        assert_eq!(v.capacity(), 100);
    }

    #[test]
    fn every_split_point_gives_the_same_lines() {
        let input = b"one\ntwo\r\n\nthree";
        let want = split(&[input]);
        for i in 0..=input.len() {
            assert_eq!(split(&[&input[..i], &input[i..]]), want, "split at {i}");
        }
    }
}
