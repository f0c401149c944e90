//! The idle connections of `--connections`: opened before the run, held
//! through it, and what they cost (the connect rate, memory per
//! connection, how many the server closed meanwhile).
//!
//! A raw WebSocket is held as its bare stream once the transport's own
//! connect has done TCP, TLS and the handshake (so headers, credentials
//! and `--connect-timeout` apply as everywhere): no tungstenite socket and
//! no buffer of its own. A small task per connection waits for the stream
//! with nothing to read into; woken, it reads onto its stack, answers a
//! ping with a pong, takes a close as the end, and skips anything else.
//! Only a frame split across reads is kept between wakes (a control frame
//! is 127 bytes at most, plus what followed one in the same read). It
//! keeps alive as a session does (a ping every `--ping-interval`, a server
//! silent since the last one is dead). That brought an idle connection
//! from ~19.5 KB of client memory to ~1.4 KB.
//! Other transports and dialects are held as whole sessions, read the same
//! way, so their keep-alives run and their closes are seen too.

use std::collections::BTreeMap;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::{AsyncWriteExt, ReadBuf};
use tokio::task::{AbortHandle, JoinSet};

use super::report::{self, IdleConnections, count_error};
use super::{Plan, Shared};
use crate::dialect::Dialect;
use crate::endpoint::Transport;
use crate::error::{Error, Result};
use crate::session::{self, Connection, Incoming, Session};
use crate::transport::ws::{self, Io};

/// Idle connections opened at once.
const CONNECT_CONCURRENCY: usize = 256;

/// What a woken connection reads at a time, on its stack: nothing is sent
/// to an idle connection but control frames, 127 bytes at the most.
const READ_CHUNK: usize = 1024;

const CONTINUATION: u8 = 0x0;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// The idle connections, held by their tasks until [`Idle::finish`].
pub struct Idle {
    held: Vec<AbortHandle>,
    closed: Arc<Closed>,
    measured: Option<IdleConnections>,
}

/// The connections the server closed during the run.
#[derive(Default)]
struct Closed {
    count: AtomicU64,
    /// Why the first one closed.
    first: Mutex<Option<String>>,
}

impl Closed {
    fn note(&self, why: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = self.first.lock() {
            first.get_or_insert(why);
        }
    }
}

/// A connection once open: a raw WebSocket's stream (with what came after
/// its `101`), or a whole session.
enum Opened {
    Raw(Pin<Box<dyn Io>>, Vec<u8>),
    Session(Box<Session>),
}

impl Idle {
    /// Open `--connections` connections (this shard's part of them), a
    /// bounded number at a time, measuring the connect rate and what they
    /// cost in memory. Failures are counted in `errors` (the first one is
    /// said).
    pub async fn open(
        plan: &Plan,
        shared: &Shared,
        connect_ns: &mut Histogram<u64>,
        errors: &mut BTreeMap<String, u64>,
    ) -> Idle {
        let count = plan.shard.part(plan.connections).len();
        let closed = Arc::new(Closed::default());
        let mut held = Vec::with_capacity(count);
        if count == 0 {
            return Idle {
                held,
                closed,
                measured: None,
            };
        }
        let mut base = plan.idle.clone();
        if matches!(base.endpoint.url.scheme(), "wss" | "https") {
            // One TLS configuration for all (a failure is each connection's).
            let tls = &mut base.transport.tls;
            tls.built = crate::tls::client_config(tls, &[b"http/1.1"]).ok();
        }
        let every = base.transport.ping_interval;
        let rss_before = crate::limits::rss_bytes();
        let started = Instant::now();
        // Connects are spawned as room frees up, not all at once: every
        // waiting task would hold its future, several KB, and what the
        // allocator took for them stays resident.
        let mut connecting = JoinSet::new();
        let mut asked = 0;
        let mut first_error: Option<Error> = None;
        loop {
            while asked < count && connecting.len() < CONNECT_CONCURRENCY {
                let (connection, source) = shared.sources.pick(&base);
                connecting.spawn(async move {
                    let t = Instant::now();
                    let opened = connect(&connection).await;
                    (opened, t.elapsed(), source)
                });
                asked += 1;
            }
            let Some(joined) = connecting.join_next().await else {
                break;
            };
            match joined {
                Ok((Ok(opened), took, source)) => {
                    connect_ns.saturating_record(took.as_nanos().max(1) as u64);
                    let closed = Arc::clone(&closed);
                    let task = match opened {
                        Opened::Raw(io, tail) => tokio::spawn(hold_raw(io, tail, every, closed)),
                        Opened::Session(s) => tokio::spawn(hold_session(s, closed)),
                    };
                    held.push(task.abort_handle());
                    shared.connected.fetch_add(1, Ordering::Relaxed);
                    shared.sources.opened(source);
                }
                Ok((Err(e), _, _)) => {
                    count_error(errors, &e);
                    first_error.get_or_insert(e);
                }
                Err(e) => count_error(errors, &Error::local(e.to_string())),
            }
        }
        let secs = started.elapsed().as_secs_f64();
        if let Some(e) = first_error {
            crate::warn!(
                "{} of {} idle connections failed; the first: {e}",
                count - held.len(),
                count
            );
        }
        let rss_after = crate::limits::rss_bytes();
        let per = match (rss_before, rss_after) {
            (Some(b), Some(a)) if !held.is_empty() => {
                a.saturating_sub(b) as f64 / held.len() as f64
            }
            _ => 0.0,
        };
        let measured = IdleConnections {
            asked: count,
            opened: held.len(),
            connect_per_s: report::per_second(held.len() as u64, secs),
            rss_bytes_per_connection: per,
            closed: 0,
        };
        Idle {
            held,
            closed,
            measured: Some(measured),
        }
    }

    /// The run is over: drop the connections, and say how many the server
    /// closed while it went on.
    pub fn finish(self) -> Option<IdleConnections> {
        for task in &self.held {
            task.abort();
        }
        let mut measured = self.measured?;
        measured.closed = self.closed.count.load(Ordering::Relaxed);
        if measured.closed > 0 {
            let first = self.closed.first.lock().ok().and_then(|mut f| f.take());
            crate::warn!(
                "the server closed {} of {} idle connections during the run; the first: {}",
                measured.closed,
                measured.opened,
                first.unwrap_or_default()
            );
        }
        Some(measured)
    }
}

/// Open one connection: a raw WebSocket bare, anything else as a session.
async fn connect(c: &Connection) -> Result<Opened> {
    match (&c.dialect, c.endpoint.transport) {
        (Dialect::Raw | Dialect::RawWithIds, Transport::Ws) => {
            let protocols = session::subprotocols(&c.dialect);
            let (io, mut tail) = ws::connect_raw(&c.endpoint.url, &c.transport, protocols).await?;
            tail.shrink_to_fit();
            Ok(Opened::Raw(io, tail))
        }
        _ => Ok(Opened::Session(Box::new(Session::connect(c).await?))),
    }
}

/// Hold a raw WebSocket until the server closes it or the run ends. Its
/// keep-alive is a session's: a ping every `every` (0: none), and a server
/// that sent nothing at all between two of them is dead.
async fn hold_raw(mut io: Pin<Box<dyn Io>>, tail: Vec<u8>, every: Duration, closed: Arc<Closed>) {
    let mut frames = Frames {
        pending: tail,
        skip: 0,
        heard: false,
    };
    let ping = tokio::time::sleep(every);
    tokio::pin!(ping);
    let mut pinged = false;
    let (why, answer) = loop {
        let event = tokio::select! {
            biased;
            event = poll_fn(|cx| frames.poll_next(io.as_mut(), cx)) => event,
            () = &mut ping, if !every.is_zero() => {
                ping.as_mut().reset(tokio::time::Instant::now() + every);
                if pinged && !std::mem::take(&mut frames.heard) {
                    let dead = format!(
                        "no answer from the server for {}: connection considered dead",
                        humantime::format_duration(every)
                    );
                    Event::Closed(dead, None)
                } else {
                    frames.heard = false;
                    pinged = true;
                    Event::Send(frame(PING, b"pubcat"))
                }
            }
        };
        match event {
            Event::Send(frame) => {
                if let Err(e) = send(&mut io, &frame).await {
                    break (format!("connection lost: {e}"), None);
                }
            }
            Event::Closed(why, answer) => break (why, answer),
        }
    };
    // Counted before the answer goes out: whoever sees it knows the close
    // was counted.
    closed.note(why);
    if let Some(frame) = answer {
        let _ = send(&mut io, &frame).await;
    }
}

async fn send(io: &mut Pin<Box<dyn Io>>, frame: &[u8]) -> std::io::Result<()> {
    io.write_all(frame).await?;
    io.flush().await
}

/// Hold a session, reading it (its keep-alive runs), until it ends or the
/// run does.
async fn hold_session(mut session: Box<Session>, closed: Arc<Closed>) {
    let why = loop {
        match session.next().await {
            Ok(Incoming::Closed { reason, .. }) => break reason,
            Ok(_) => {}
            Err(e) => break e.to_string(),
        }
    };
    closed.note(why);
}

/// What a held WebSocket has to act on.
#[derive(Debug, PartialEq)]
enum Event {
    /// Send this frame: a pong, or a ping of ours.
    Send(Vec<u8>),
    /// The connection is over, for this reason; send this frame (a close)
    /// first, if any.
    Closed(String, Option<Vec<u8>>),
}

/// The server's frames, read without a buffer of their own.
struct Frames {
    /// What arrived but is not acted on yet: a frame's head (or a control
    /// frame) cut by the end of a read, or what followed a ping. Empty,
    /// and unallocated, between frames.
    pending: Vec<u8>,
    /// Bytes of a data frame's payload still to come, skipped.
    skip: u64,
    /// Something arrived since the keep-alive last looked.
    heard: bool,
}

impl Frames {
    fn poll_next(&mut self, mut io: Pin<&mut dyn Io>, cx: &mut Context<'_>) -> Poll<Event> {
        if !self.pending.is_empty()
            && let Some(event) = self.take(&[])
        {
            return Poll::Ready(event);
        }
        loop {
            let mut chunk = [0u8; READ_CHUNK];
            let mut read = ReadBuf::new(&mut chunk);
            let event = match ready!(io.as_mut().poll_read(cx, &mut read)) {
                Err(e) => Some(Event::Closed(format!("connection lost: {e}"), None)),
                Ok(()) if read.filled().is_empty() => Some(Event::Closed(
                    "the connection ended without a close frame".into(),
                    None,
                )),
                Ok(()) => {
                    self.heard = true;
                    self.take(read.filled())
                }
            };
            if let Some(event) = event {
                return Poll::Ready(event);
            }
        }
    }

    /// Go through what was read after what was pending, up to the first
    /// thing to act on; keep what is left for later.
    fn take(&mut self, data: &[u8]) -> Option<Event> {
        let joined;
        let mut rest = if self.pending.is_empty() {
            data
        } else {
            self.pending.extend_from_slice(data);
            joined = std::mem::take(&mut self.pending);
            &joined[..]
        };
        loop {
            let skipped = self.skip.min(rest.len() as u64);
            self.skip -= skipped;
            rest = &rest[skipped as usize..];
            if rest.is_empty() {
                return None;
            }
            let head = match head(rest) {
                None => {
                    self.pending = rest.to_vec();
                    return None;
                }
                Some(Err(why)) => {
                    let answer = frame(CLOSE, &1002u16.to_be_bytes());
                    return Some(Event::Closed(why, Some(answer)));
                }
                Some(Ok(head)) => head,
            };
            if head.opcode <= BINARY {
                // Data, which nothing sends to an idle connection: skipped.
                rest = &rest[head.len..];
                self.skip = head.payload;
                continue;
            }
            let end = head.len + head.payload as usize;
            if rest.len() < end {
                self.pending = rest.to_vec();
                return None;
            }
            let (payload, after) = (&rest[head.len..end], &rest[end..]);
            match head.opcode {
                PING => {
                    self.pending = after.to_vec();
                    return Some(Event::Send(frame(PONG, payload)));
                }
                CLOSE => {
                    let code = payload.get(..2).unwrap_or_default();
                    return Some(Event::Closed(
                        describe_close(payload),
                        Some(frame(CLOSE, code)),
                    ));
                }
                _ => rest = after,
            }
        }
    }
}

/// A server frame's head.
#[derive(Debug, PartialEq)]
struct Head {
    opcode: u8,
    /// The head's length.
    len: usize,
    payload: u64,
}

/// The head of the frame `b` starts with: None until all of it is there,
/// an error for what a server may not send (RFC 6455 5.1, 5.2, 5.5).
fn head(b: &[u8]) -> Option<std::result::Result<Head, String>> {
    let (b0, b1) = (*b.first()?, *b.get(1)?);
    if b1 & 0x80 != 0 {
        return Some(Err("the server sent a masked frame".into()));
    }
    let (payload, len) = match b1 & 0x7f {
        126 => (u64::from(u16::from_be_bytes([*b.get(2)?, *b.get(3)?])), 4),
        127 => (u64::from_be_bytes(b.get(2..10)?.try_into().ok()?), 10),
        n => (u64::from(n), 2),
    };
    let opcode = b0 & 0x0f;
    let fin = b0 & 0x80 != 0;
    let valid = match opcode {
        CONTINUATION..=BINARY => true,
        CLOSE..=PONG => fin && payload <= 125,
        _ => false,
    };
    if !valid {
        return Some(Err(format!(
            "the server sent a frame no WebSocket server may (opcode {opcode:#x}, {payload} bytes)"
        )));
    }
    Some(Ok(Head {
        opcode,
        len,
        payload,
    }))
}

/// A client's control frame (at most 125 bytes of payload), masked as a
/// client's frames must be.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = (crate::random::u64() as u32).to_be_bytes();
    let mut f = Vec::with_capacity(6 + payload.len());
    f.extend_from_slice(&[0x80 | opcode, 0x80 | payload.len() as u8]);
    f.extend_from_slice(&mask);
    f.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    f
}

/// A close frame's payload as a reason: its code and text.
fn describe_close(payload: &[u8]) -> String {
    match payload {
        [a, b, text @ ..] => {
            let code = u16::from_be_bytes([*a, *b]);
            let text = String::from_utf8_lossy(text);
            if text.is_empty() {
                format!("close {code}")
            } else {
                format!("close {code} ({text})")
            }
        }
        _ => "close without a code".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames() -> Frames {
        Frames {
            pending: Vec::new(),
            skip: 0,
            heard: false,
        }
    }

    /// A client frame's payload, unmasked.
    fn unmasked(f: &[u8]) -> (u8, Vec<u8>) {
        assert_eq!(f[1] & 0x80, 0x80, "a client frame is masked");
        let len = (f[1] & 0x7f) as usize;
        let mask = &f[2..6];
        let payload = f[6..6 + len].iter().zip(mask.iter().cycle());
        (f[0], payload.map(|(b, m)| b ^ m).collect())
    }

    #[test]
    fn a_ping_is_answered_with_its_payload_in_any_pieces() {
        let wire = [&[0x89, 3][..], b"abc"].concat();
        for cut in 0..wire.len() {
            let mut f = frames();
            assert_eq!(f.take(&wire[..cut]), None);
            let Some(Event::Send(pong)) = f.take(&wire[cut..]) else {
                panic!("no pong at cut {cut}");
            };
            assert_eq!(unmasked(&pong), (0x8A, b"abc".to_vec()));
            assert!(f.pending.is_empty());
        }
    }

    #[test]
    fn data_is_skipped_and_what_follows_a_ping_is_kept() {
        // A 300-byte binary frame (16-bit length), a pong, a ping, a close.
        let mut wire = vec![0x82, 126, 1, 44];
        wire.extend([7u8; 300]);
        wire.extend([0x8A, 0, 0x89, 1, b'x', 0x88, 2, 0x03, 0xE9]);
        let mut f = frames();
        assert_eq!(f.take(&wire[..100]), None);
        assert_eq!(f.pending, Vec::<u8>::new(), "data is not kept");
        let Some(Event::Send(pong)) = f.take(&wire[100..]) else {
            panic!("no pong");
        };
        assert_eq!(unmasked(&pong), (0x8A, b"x".to_vec()));
        let Some(Event::Closed(why, Some(answer))) = f.take(&[]) else {
            panic!("no close");
        };
        assert_eq!(why, "close 1001");
        assert_eq!(unmasked(&answer), (0x88, vec![0x03, 0xE9]));
    }

    #[test]
    fn what_a_server_may_not_send_ends_the_connection_with_1002() {
        for wire in [
            &[0x81, 0x81, 0, 0, 0, 0, b'a'][..], // masked
            &[0x09, 0],                          // a ping not final
            &[0x83, 0],                          // opcode 3
        ] {
            let Some(Event::Closed(_, Some(answer))) = frames().take(wire) else {
                panic!("{wire:?} accepted");
            };
            assert_eq!(unmasked(&answer), (0x88, vec![0x03, 0xEA]));
        }
    }
}
