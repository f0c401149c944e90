//! One WebSocket connection to the broker: a subscriber and a publisher on
//! one topic at once.
//!
//! The connection is split into a reader (each text or binary frame is
//! published, binary flag kept, never echoed back to this connection) and a
//! writer (the backlog, then every message published by others, batched:
//! `recv_many`, `feed` each, one `flush`). Both run in one task; whichever
//! ends first decides how the connection closes:
//!
//! | what happened | close sent |
//! |---|---|
//! | client sent Close | tungstenite's echo of it |
//! | broker dropped the subscriber as too slow | 1013 `subscriber too slow; resume from id N`, right behind what was already written (see below) |
//! | server shutting down | 1001 `server shutting down` |
//! | a clean chaos cut (`serve --chaos-cut`) | 1001 `chaos: connection cut` |
//! | incoming message over the size limit | 1009 |
//! | protocol error | 1002 |
//! | a message from a connection whose token may not publish | 1008 |
//!
//! **Dropped as too slow.** The broker drops a subscriber whose queue is
//! full and which took nothing from it for `--slow-timeout` (see
//! `broker`'s module docs): its socket is then full too, so a close frame
//! cannot go out at once. The writer stops sending messages at once (even
//! in the middle of a batch; what tungstenite already holds is whole
//! frames and goes first), lets go of its queue, and then waits up to
//! [`SLOW_CLOSE_GRACE`] for the client to read what is buffered and the
//! 1013 behind it, whose `N` is the last message written: a client that
//! only paused sees the close and resumes from `N`. Only then is the TCP
//! connection cut.
//!
//! Under `serve --chaos-drop-close` none of these goes out: the socket is
//! dropped without a close frame (see `server/chaos.rs`).
//!
//! A connection whose token may publish but not subscribe is sent nothing:
//! its subscription is dropped before anything goes out (see
//! `server/auth.rs`).
//!
//! A client that offers Nchan's `ws+meta.nchan` subprotocol gets each
//! message behind an `id: N` header block (`crate::codec::meta`), and the
//! `101` says `X-Pubcat-Ids: sequence` and, when there is nothing to
//! replay, `X-Pubcat-Cursor: HEAD` (the topic's last id): what a `tail` cut
//! before its first message resumes from.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::auth::{MAY_NOT_PUBLISH, Rights};
use super::broker::{EndReason, Payload, Stored, Subscription, TopicHandle};
use super::chaos::Chaos;
use super::shutdown::Shutdown;
use super::store::StoreError;

type Ws = super::upgrade::ServerWs;

/// Messages taken from the queue per write batch: enough to amortize the
/// flush, small enough that shutdown and drops are noticed between batches.
const BATCH: usize = 256;

/// How long we wait for the peer's side of a close handshake (or for a
/// close frame to get out) before dropping the TCP connection.
pub(super) const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How long a client dropped as too slow has to read what was buffered
/// for it, and the 1013 behind it: its socket was full when it was
/// dropped, so this is a client's pause that still ends in a close it can
/// see. It holds a connection (no queue) that long at the most.
pub(super) const SLOW_CLOSE_GRACE: Duration = Duration::from_secs(10);

/// Bytes written between the writer's signs of progress to the broker
/// (see `Subscription::progressed`): a batch of large messages to a
/// client that reads is progress before the whole batch is out.
const PROGRESS_BYTES: usize = 64 * 1024;

/// What a connection did, for the close log line.
#[derive(Debug, Default)]
pub(crate) struct ConnStats {
    /// Messages received from the client (and published).
    pub messages_in: u64,
    /// Messages sent to the client.
    pub messages_out: u64,
    /// Why it ended, in words.
    pub reason: String,
}

/// What the connection needs besides the socket.
pub(crate) struct Conn {
    pub peer: SocketAddr,
    /// The topic as the client wrote it, with the leading slash, for logs.
    pub path: String,
    pub sub: Subscription,
    /// The broker's shutdown, or this connection's chaos cut.
    pub shutdown: Shutdown,
    /// `--chaos-delay` before each message, `--chaos-drop-close`.
    pub chaos: Chaos,
    /// The client chose `ws+meta.nchan`: each message goes with its id.
    pub meta: bool,
    pub quiet: bool,
    /// What its token allows: without `subscribe` it is sent nothing,
    /// without `publish` its first message closes it (1008).
    pub rights: Rights,
}

enum ReadEnd {
    ClientClose(Option<u16>),
    /// A message from a connection that may not publish.
    NotAllowed,
    /// The store could not keep a message (`--data-dir`).
    Store(StoreError),
    Eof,
    Error(WsError),
}

enum WriteEnd {
    Shutdown,
    /// The broker dropped us; `drained` says every queued message was sent.
    Dropped(Option<EndReason>, bool),
    Error(WsError),
}

/// Serve one upgraded connection until it closes. `stats` is filled as it
/// goes, so a caller that gives up on this future (forced shutdown) still
/// has the counts.
pub(crate) async fn serve(ws: Ws, mut conn: Conn, stats: &mut ConnStats) {
    let (mut sink, mut stream) = ws.split();
    let topic = conn.sub.topic().clone();
    let me = conn.sub.id();
    // Where this client's view of the topic ends: what its replay starts
    // after, or the head when it joined live.
    let head = conn.sub.head();
    let mut last_sent = conn.sub.after().map_or(head, |s| s.min(head));
    // Publish-only: unsubscribed before anything (history too) is sent.
    let mut sub = conn.rights.subscribe.then_some(conn.sub);

    let end = {
        let may_publish = conn.rights.publish;
        let reader = read_loop(&mut stream, &topic, me, may_publish, &mut stats.messages_in);
        let (shutdown, meta, chaos) = (&mut conn.shutdown, conn.meta, &conn.chaos);
        let (sink, count, last_sent) = (&mut sink, &mut stats.messages_out, &mut last_sent);
        let writer = async {
            match &mut sub {
                Some(sub) => write_loop(sink, sub, shutdown, count, last_sent, meta, chaos).await,
                None => {
                    shutdown.recv().await;
                    WriteEnd::Shutdown
                }
            }
        };
        // Publishing is cancel-safe (see `Topic::publish`), so dropping the
        // reader mid-publish when the writer ends loses nothing.
        tokio::select! {
            r = reader => Ok(r),
            w = writer => Err(w),
        }
    };

    // Refused mid-message: the rest of what the client sends is read and
    // dropped for a while after our close (see `linger`).
    let mut refused = false;
    let bare = conn.chaos.drop_close;
    stats.reason = match end {
        Ok(ReadEnd::ClientClose(code)) => {
            // tungstenite queued the echo of the client's Close; reading on
            // flushes it and then reports the end.
            drain(&mut stream).await;
            match code {
                Some(code) => format!("client closed {code}"),
                None => "client closed".to_string(),
            }
        }
        Ok(ReadEnd::Eof) => "connection dropped without a close".to_string(),
        Ok(ReadEnd::NotAllowed) => {
            let why = MAY_NOT_PUBLISH.to_string();
            close_unless(bare, &mut sink, &mut stream, CloseCode::Policy, why.clone()).await;
            refused = true;
            why
        }
        Ok(ReadEnd::Store(e)) => {
            let why = e.to_string();
            close_unless(bare, &mut sink, &mut stream, CloseCode::Error, why.clone()).await;
            why
        }
        Ok(ReadEnd::Error(e)) => {
            let (code, why) = match &e {
                WsError::Capacity(_) => (Some(CloseCode::Size), "message too big"),
                WsError::Protocol(_) | WsError::Utf8(_) => {
                    (Some(CloseCode::Protocol), "protocol error")
                }
                _ => (None, ""),
            };
            if let Some(code) = code {
                close_unless(bare, &mut sink, &mut stream, code, why.to_string()).await;
                refused = true;
            }
            format!("read error: {e}")
        }
        Err(WriteEnd::Shutdown) => {
            let why = conn.shutdown.why();
            close_unless(bare, &mut sink, &mut stream, CloseCode::Away, why.into()).await;
            why.to_string()
        }
        Err(WriteEnd::Dropped(reason, drained)) => {
            // Its queue (the messages not written) goes now, not after the grace.
            drop(sub);
            // If the whole queue went out, the broker's resume point is the
            // precise one (it also skips this client's own messages);
            // otherwise only what we actually sent counts.
            let resume_after = match reason {
                Some(EndReason::TooSlow { resume_after, .. }) if drained => resume_after,
                _ => last_sent,
            };
            let stalled = match reason {
                Some(EndReason::TooSlow { stalled, .. }) => stalled,
                None => Duration::ZERO,
            };
            if !conn.quiet {
                crate::log::line(format_args!(
                    "pubcat: slow subscriber {} {} dropped: queue full, nothing taken for {stalled:?}; resume from id {resume_after}",
                    conn.peer, conn.path
                ));
            }
            let why = super::broker::too_slow(resume_after);
            if !bare {
                let code = CloseCode::Again;
                close_within(&mut sink, &mut stream, code, why.clone(), SLOW_CLOSE_GRACE).await;
            }
            why
        }
        Err(WriteEnd::Error(e)) => format!("write error: {e}"),
    };
    if refused && let Ok(ws) = sink.reunite(stream) {
        linger(ws).await;
    }
}

/// After refusing what a client was still sending (a message too big, a
/// protocol error), send FIN and read and drop the rest for a while:
/// closing a socket with unread data sends an RST, which makes the
/// client's kernel discard our close frame before the client reads it, and
/// the client would report a lost connection instead of the refusal.
async fn linger(mut ws: Ws) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let io = ws.get_mut();
    let _ = io.shutdown().await;
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = io.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

async fn read_loop(
    stream: &mut SplitStream<Ws>,
    topic: &TopicHandle,
    me: super::broker::SubscriberId,
    may_publish: bool,
    count: &mut u64,
) -> ReadEnd {
    while let Some(item) = stream.next().await {
        let payload = match item {
            Ok(Message::Text(t)) => Payload::Text(t),
            Ok(Message::Binary(b)) => Payload::Binary(b),
            Ok(Message::Close(frame)) => {
                return ReadEnd::ClientClose(frame.map(|f| u16::from(f.code)));
            }
            // tungstenite answers pings itself; the answer goes out on the
            // next read or flush, and this loop reads again right away.
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
            // The peer vanished (killed, network gone): not a protocol
            // error worth answering, just the end.
            Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => break,
            Err(e) => return ReadEnd::Error(e),
        };
        if !may_publish {
            return ReadEnd::NotAllowed;
        }
        if let Err(e) = topic.publish(payload, Some(me)).await {
            return ReadEnd::Store(e);
        }
        *count += 1;
    }
    ReadEnd::Eof
}

async fn write_loop(
    sink: &mut SplitSink<Ws, Message>,
    sub: &mut Subscription,
    shutdown: &mut Shutdown,
    count: &mut u64,
    last_sent: &mut u64,
    meta: bool,
    chaos: &Chaos,
) -> WriteEnd {
    // The backlog is the first batch.
    let mut batch = sub.take_backlog();
    loop {
        if !batch.is_empty() {
            // Race the writes against the broker dropping us and shutdown:
            // a client that stopped reading blocks `flush` for ever.
            tokio::select! {
                r = write_batch(sink, sub, &batch, count, last_sent, meta, chaos) => {
                    if let Err(e) = r {
                        return WriteEnd::Error(e);
                    }
                }
                reason = sub.ended() => return WriteEnd::Dropped(Some(reason), false),
                _ = shutdown.recv() => return WriteEnd::Shutdown,
            }
            batch.clear();
        }
        tokio::select! {
            biased;
            _ = shutdown.recv() => return WriteEnd::Shutdown,
            n = sub.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    // Only the broker closes our queue, after draining it here.
                    return WriteEnd::Dropped(sub.end_reason(), true);
                }
            }
        }
    }
}

/// `feed` each message (no flush per message: 16× slower, performance.md
/// mistake 2), then one `flush`; tells `sub` of its progress every
/// [`PROGRESS_BYTES`]. Under `--chaos-delay`, each waits its delay after
/// what came before it went out.
async fn write_batch(
    sink: &mut SplitSink<Ws, Message>,
    sub: &Subscription,
    batch: &[Arc<Stored>],
    count: &mut u64,
    last_sent: &mut u64,
    meta: bool,
    chaos: &Chaos,
) -> Result<(), WsError> {
    let mut written = 0;
    for m in batch {
        if chaos.delays() {
            sink.flush().await?;
            chaos.delay().await;
        }
        sink.feed(if meta { with_id(m) } else { to_frame(m) })
            .await?;
        *count += 1;
        *last_sent = m.id;
        written += m.body().len();
        if written >= PROGRESS_BYTES {
            written = 0;
            sub.progressed();
        }
    }
    sink.flush().await
}

/// Text as text, binary as binary; both share the stored buffer.
fn to_frame(m: &Stored) -> Message {
    match &m.payload {
        Payload::Text(t) => Message::Text(t.clone()),
        Payload::Binary(b) => Message::Binary(b.clone()),
    }
}

/// The message behind its `ws+meta.nchan` header block, in a frame of its
/// own type (a text body stays text: the block is ASCII).
fn with_id(m: &Stored) -> Message {
    let content_type = m
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.as_str());
    let mut frame = crate::codec::meta::header(m.id, content_type);
    match &m.payload {
        Payload::Text(text) => {
            frame.push_str(text.as_str());
            Message::Text(frame.into())
        }
        Payload::Binary(body) => {
            let mut frame = frame.into_bytes();
            frame.extend_from_slice(body);
            Message::Binary(frame.into())
        }
    }
}

/// [`close`], or under `--chaos-drop-close` (`bare`) nothing: the socket
/// is dropped without a close frame.
async fn close_unless(
    bare: bool,
    sink: &mut SplitSink<Ws, Message>,
    stream: &mut SplitStream<Ws>,
    code: CloseCode,
    reason: String,
) {
    if !bare {
        close(sink, stream, code, reason).await;
    }
}

/// Send a Close and wait (bounded) for the client's answer.
/// Any WebSocket's two halves: the STOMP peer closes the same way.
pub(super) async fn close<Si, St, T, E>(
    sink: &mut Si,
    stream: &mut St,
    code: CloseCode,
    reason: String,
) where
    Si: futures_util::Sink<Message> + Unpin,
    St: futures_util::Stream<Item = std::result::Result<T, E>> + Unpin,
{
    close_within(sink, stream, code, reason, CLOSE_GRACE).await;
}

/// [`close`], with `grace` for the close frame to get out (behind what
/// is buffered); [`CLOSE_GRACE`] for the answer.
async fn close_within<Si, St, T, E>(
    sink: &mut Si,
    stream: &mut St,
    code: CloseCode,
    reason: String,
    grace: Duration,
) where
    Si: futures_util::Sink<Message> + Unpin,
    St: futures_util::Stream<Item = std::result::Result<T, E>> + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if let Ok(Ok(())) = tokio::time::timeout(grace, sink.send(Message::Close(Some(frame)))).await {
        drain(stream).await;
    }
}

/// Read until the connection reports its end (which is also how a queued
/// close echo gets flushed), for at most [`CLOSE_GRACE`]. Any WebSocket
/// stream: the broker's STOMP and SockJS endpoints close the same way.
pub(super) async fn drain<S, T, E>(stream: &mut S)
where
    S: futures_util::Stream<Item = std::result::Result<T, E>> + Unpin,
{
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await;
}
