//! SSE and long-poll subscribers on the broker's topic paths. Every answer
//! carries `X-Pubcat-Ids: sequence`: ids are consecutive integers per
//! topic, so a client may take a jump for a gap (another server's ids may
//! be global, or times: a client must not guess).
//!
//! **SSE** (`GET /{topic}` with `Accept: text/event-stream`): a `retry: 500`
//! hint, then one event per message, `id: N` then the body as `data:` lines
//! (a body's CR, LF and CRLF are all SSE line breaks, so each becomes a new
//! `data:` line and comes back as LF). A binary message is `event: binary`
//! with its body in base64. `: keep-alive` comments flow every 15 s of
//! silence. Replay: `Last-Event-ID`, `?last_event_id=N` or `?since=N` send
//! the kept history after N first, then live messages, with no gap or
//! duplicate in between; when part of it is no longer kept, a comment
//! `: gap: ids A..B are no longer kept` comes first. When there is nothing
//! to replay, the stream starts with a block of only `id: HEAD` (the
//! topic's last id; 0 for none yet), which sets the client's last event id
//! without an event: a client cut before its first message then resumes
//! from there and misses nothing published in between.
//!
//! **Dropped as too slow** (see `broker`'s module docs): the stream stops
//! sending messages at once (a message half written is finished first),
//! lets go of its queue, and ends with
//!
//! ```text
//! event: overflow
//! id: N
//! data: subscriber too slow; resume from id N
//! ```
//!
//! where N is the last message written: an `EventSource` reconnects with
//! `Last-Event-ID: N` by itself and resumes from history; pubcat's `sub`
//! reports it and exits 4, `tail` resumes.
//! A client that reads nothing at all never gets that far: its socket
//! closes the connection once a write has waited 10 s (see
//! [`super::socket`]).
//!
//! **Long-poll** (any other `GET /{topic}`), in the Nchan convention: the
//! cursor is `If-None-Match` (the `Etag` of the last answer, sent back as is)
//! or `?since=N`. Messages after it are answered at once, a page of them
//! (at most 1000 messages and 1 MiB of bodies, one message at least), as
//! `[{"id":N,"body":"…"} | {"id":N,"body_base64":"…"}, …]` with
//! `Content-Type: application/json`, `X-Pubcat-Batch: 1`, `Etag: <last id
//! of the page>` and `Last-Modified`: the client asks again with that Etag
//! for the next page. With none yet the request is held until one comes or
//! the poll timeout passes (`304`, cursor unchanged). A request without a
//! cursor is answered at once with `304` and `Etag: HEAD` (the topic's last
//! id), the cursor to ask with: so a first answer lost on the way (a cut
//! connection) loses no message. A cursor older than the oldest kept id
//! gets what is kept and `X-Pubcat-Gap: A-B`.
//!
//! **Bounded replay.** Neither answer is built whole: the messages (shared
//! with the history, not copied) are encoded into the body a piece of at
//! most [`PIECE`] bytes at a time as the connection takes them, so a
//! history of large messages costs each reader a piece, not a copy of it.
//!
//! Both end as at shutdown when their connection's chaos cut comes (the
//! stream ends, between pieces of a replay too; the held poll is
//! answered), and wait `--chaos-delay` before each write of messages; see
//! `server/chaos.rs`.

use std::convert::Infallible;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use std::collections::VecDeque;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;

use super::broker::{self, Start, Stored, Subscription};
use super::chaos::Chaos;
use super::shutdown::Shutdown;
use super::topic::{epoch_header, topic_full};
use super::{App, OpenGuard, Refusal};
use crate::codec::pubcat;

/// Silence after which an SSE stream gets a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How ids are made, for clients that check for gaps.
const SEQUENCE: HeaderValue = HeaderValue::from_static(pubcat::SEQUENCE);
/// Most messages in one long-poll answer.
const POLL_BATCH: usize = 1000;
/// Most message bytes in one long-poll answer (one message at least): a
/// client's limit is per message, and a backlog of large ones must come
/// in answers it can take.
const POLL_BATCH_BYTES: usize = 1 << 20;
/// About the most bytes of a body encoded at once (JSON escapes can make
/// a piece up to six times larger).
const PIECE: usize = 64 * 1024;

/// The id to resume after: `Last-Event-ID`, then `?last_event_id`, `?since`.
/// A value that is not an id of ours (another server's) is ignored.
pub fn cursor(headers: &HeaderMap, query: Option<&str>, header_name: &str) -> Option<u64> {
    if let Some(v) = headers.get(header_name).and_then(|v| v.to_str().ok()) {
        let v = v.trim().trim_start_matches("W/").trim_matches('"');
        if let Ok(id) = v.parse() {
            return Some(id);
        }
    }
    let query = query?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "last_event_id" || k == "since")
        .and_then(|(_, v)| v.parse().ok())
}

struct SseState {
    sub: Subscription,
    started: bool,
    /// The id of the last message written whole (or where the stream
    /// started): where a client dropped as too slow resumes.
    last_sent: u64,
    /// The overflow event went out: the stream is over.
    ended: bool,
    buf: Vec<Arc<Stored>>,
    out: Pieces<Sse>,
    /// The broker's shutdown, or the connection's chaos cut.
    shutdown: Shutdown,
    /// `--chaos-delay` before each write of messages, `--chaos-drop-close`.
    chaos: Chaos,
    log: SseLog,
}

/// Logs the end of an SSE stream whenever it ends, client gone included.
struct SseLog {
    app: App,
    peer: SocketAddr,
    path: String,
    out: u64,
    _open: OpenGuard,
}

impl Drop for SseLog {
    fn drop(&mut self) {
        self.app.log_conn(format_args!(
            "sse close {} {} (out {})",
            self.peer, self.path, self.out
        ));
    }
}

/// A subscribing request: who, which topic, where it starts, the run its
/// cursor came from (`X-Pubcat-Epoch`), and when it ends.
pub struct Ask<'a> {
    pub peer: SocketAddr,
    pub topic: &'a str,
    pub start: Start,
    pub epoch: Option<&'a [u8]>,
    /// The broker's shutdown, or the connection's chaos cut.
    pub ends: Shutdown,
}

pub fn sse(app: App, ask: Ask<'_>) -> Response {
    let peer = ask.peer;
    let (sub, path) = match subscribe(&app, &ask, "sse connect") {
        Ok(subscribed) => subscribed,
        Err(refused) => return refused.into_response(),
    };
    let epoch = epoch_header(&sub);
    let head = sub.head();
    let state = SseState {
        last_sent: sub.after().map_or(head, |s| s.min(head)),
        sub,
        started: false,
        ended: false,
        buf: Vec::new(),
        out: Pieces::new(Sse),
        shutdown: ask.ends,
        chaos: app.0.cfg.chaos,
        log: SseLog {
            app: app.clone(),
            peer,
            path,
            out: 0,
            _open: OpenGuard::new(&app.0.open, super::Transport::Sse),
        },
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        if st.ended {
            return None;
        }
        let mut out = Vec::new();
        if !st.started {
            st.started = true;
            out.extend_from_slice(b"retry: 500\n\n");
            if let Some(g) = st.sub.gap() {
                out.extend_from_slice(
                    format!(": gap: ids {}..{} are no longer kept\n\n", g.first, g.last).as_bytes(),
                );
            }
            let backlog = st.sub.take_backlog();
            if backlog.is_empty() {
                out.extend_from_slice(format!("id: {}\n\n", st.sub.head()).as_bytes());
            } else {
                // `--chaos-delay`: a replayed backlog is one write.
                st.chaos.delay().await;
            }
            st.log.out += backlog.len() as u64;
            st.out.extend(backlog);
        } else if st.sub.end_reason().is_some() {
            // Dropped as too slow: a message half written is finished, the
            // rest go, then the stream ends saying where to resume.
            st.out.keep_started();
            if st.out.is_empty() {
                return overflow(st);
            }
        } else if st.out.is_empty() {
            // Under `--chaos-delay`, an event a write, each after its delay.
            let most = if st.chaos.delays() { 1 } else { 1024 };
            tokio::select! {
                n = st.sub.recv_many(&mut st.buf, most) => {
                    if n == 0 {
                        // Only the broker ends a queue, and says why first.
                        return overflow(st);
                    }
                    st.log.out += n as u64;
                    st.out.extend(st.buf.drain(..));
                    st.chaos.delay().await;
                }
                _ = tokio::time::sleep(KEEP_ALIVE) => out.extend_from_slice(b": keep-alive\n\n"),
                _ = st.shutdown.recv() => return end(st.chaos.drop_close, st),
            }
        } else if shutting_down(&mut st.shutdown) {
            return end(st.chaos.drop_close, st);
        } else {
            // A piece of a backlog or of a batch going out is progress too.
            st.sub.progressed();
        }
        if let Some(id) = st.out.fill(&mut out) {
            st.last_sent = id;
        }
        Some((Ok::<_, io::Error>(Bytes::from(out)), st))
    });
    let mut response = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            ),
            (pubcat::IDS, SEQUENCE),
        ],
        Body::from_stream(stream),
    )
        .into_response();
    response.headers_mut().insert(pubcat::EPOCH, epoch);
    response
}

/// The end of an SSE stream: its last chunk, or under
/// `--chaos-drop-close` an error, which makes hyper drop the connection
/// without it.
fn end<S>(bare: bool, st: S) -> Option<(io::Result<Bytes>, S)> {
    bare.then(|| {
        let e = io::Error::new(io::ErrorKind::BrokenPipe, "chaos: stream dropped");
        (Err(e), st)
    })
}

/// The last piece of a stream whose subscriber the broker dropped as too
/// slow: the overflow event, which says where to resume (see the module
/// docs).
fn overflow(mut st: SseState) -> Option<(io::Result<Bytes>, SseState)> {
    if st.chaos.drop_close {
        return end(true, st);
    }
    let broker::EndReason::TooSlow { stalled, .. } = st.sub.end_reason()?;
    st.ended = true;
    let log = &st.log;
    log.app.log(format_args!(
        "slow subscriber {} {} dropped: queue full, nothing taken for {stalled:?}; resume from id {}",
        log.peer, log.path, st.last_sent
    ));
    let why = broker::too_slow(st.last_sent);
    let event = format!("event: overflow\nid: {}\ndata: {why}\n\n", st.last_sent);
    Some((Ok(Bytes::from(event)), st))
}

/// Subscribe an SSE or long-poll request and log it as `what`; the
/// subscription and the topic's path, or the refusal to answer with.
fn subscribe(app: &App, ask: &Ask<'_>, what: &str) -> Result<(Subscription, String), Refusal> {
    let Ask { peer, topic, .. } = *ask;
    let path = format!("/{topic}");
    let sub = match app.0.broker.subscribe(topic, ask.start, ask.epoch) {
        Ok(sub) => sub,
        Err(full) => return Err(topic_full(app, peer, &path, full)),
    };
    match sub.after() {
        Some(s) => app.log_conn(format_args!("{what} {peer} {path} (since {s})")),
        None => app.log_conn(format_args!("{what} {peer} {path}")),
    }
    Ok((sub, path))
}

/// Shutdown (or the connection's chaos cut) has come (checked between
/// pieces of a long replay).
fn shutting_down(shutdown: &mut Shutdown) -> bool {
    use futures_util::FutureExt;
    shutdown.recv().now_or_never().is_some()
}

pub async fn poll(app: App, mut ask: Ask<'_>) -> Response {
    let _open = OpenGuard::new(&app.0.open, super::Transport::Poll);
    let (mut sub, _) = match subscribe(&app, &ask, "poll") {
        Ok(subscribed) => subscribed,
        Err(refused) => return refused.into_response(),
    };
    let epoch = epoch_header(&sub);
    let gap = sub.gap();
    let mut batch = sub.take_backlog();
    batch.truncate(POLL_BATCH);
    if batch.is_empty() && sub.after().is_some() {
        tokio::select! {
            _ = sub.recv_many(&mut batch, POLL_BATCH) => {}
            _ = tokio::time::sleep(app.0.cfg.poll_timeout) => {}
            _ = ask.ends.recv() => {}
        }
    }
    let cursor = sub.after().unwrap_or_else(|| sub.head());
    // Live messages after this page are not its: the subscription goes
    // now, not when the answer is written.
    drop(sub);
    if !batch.is_empty() {
        // `--chaos-delay`: the answer is one write.
        app.0.cfg.chaos.delay().await;
    }
    let mut bytes = 0;
    let fits = batch
        .iter()
        .position(|m| {
            bytes += m.body().len();
            bytes > POLL_BATCH_BYTES
        })
        .unwrap_or(batch.len())
        .max(1);
    batch.truncate(fits);
    let Some(last) = batch.last().map(|m| m.id) else {
        // Nothing in time: the cursor stays where it was.
        let mut response = (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, HeaderValue::from(cursor)),
                (pubcat::IDS, SEQUENCE),
            ],
        )
            .into_response();
        response.headers_mut().insert(pubcat::EPOCH, epoch);
        return response;
    };
    let mut page = Pieces::new(Json::default());
    page.extend(batch);
    let body = futures_util::stream::unfold(Some(page), |page| async move {
        let mut page = page?;
        let mut out = Vec::new();
        page.fill(&mut out);
        if page.is_empty() {
            out.push(b']');
            return Some((Ok::<_, Infallible>(Bytes::from(out)), None));
        }
        Some((Ok(Bytes::from(out)), Some(page)))
    });
    let last_modified = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let mut resp = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::ETAG, HeaderValue::from(last)),
            (pubcat::IDS, SEQUENCE),
        ],
        Body::from_stream(body),
    )
        .into_response();
    let headers = resp.headers_mut();
    headers.insert(pubcat::BATCH, HeaderValue::from_static("1"));
    headers.insert(pubcat::EPOCH, epoch);
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
        headers.insert(header::LAST_MODIFIED, v);
    }
    if let Some(g) = gap
        && let Ok(v) = HeaderValue::from_str(&format!("{}-{}", g.first, g.last))
    {
        headers.insert(pubcat::GAP, v);
    }
    resp
}

/// How one message is written into a body, a piece at a time.
trait Format {
    /// What comes before the body.
    fn open(&mut self, out: &mut Vec<u8>, m: &Stored);
    /// Write some of the body from offset `from` (about `room` bytes of
    /// it, at least one when any is left); the offset reached.
    fn body(&mut self, out: &mut Vec<u8>, m: &Stored, from: usize, room: usize) -> usize;
    /// What comes after the body.
    fn close(&mut self, out: &mut Vec<u8>);
}

/// Messages waiting to be written, and how far the first one got.
struct Pieces<F> {
    messages: VecDeque<Arc<Stored>>,
    /// The first message was opened and this much of its body written.
    offset: Option<usize>,
    format: F,
}

impl<F: Format> Pieces<F> {
    fn new(format: F) -> Pieces<F> {
        Pieces {
            messages: VecDeque::new(),
            offset: None,
            format,
        }
    }

    fn extend(&mut self, messages: impl IntoIterator<Item = Arc<Stored>>) {
        self.messages.extend(messages);
    }

    fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Let go of every message but one half written.
    fn keep_started(&mut self) {
        let keep = usize::from(self.offset.is_some());
        self.messages.truncate(keep);
    }

    /// Write messages (or parts of one) until `out` holds about [`PIECE`]
    /// bytes or nothing is left; the id of the last one written whole.
    fn fill(&mut self, out: &mut Vec<u8>) -> Option<u64> {
        let mut done = None;
        while out.len() < PIECE {
            let Some(m) = self.messages.front() else {
                break;
            };
            let from = match self.offset {
                Some(from) => from,
                None => {
                    self.format.open(out, m);
                    0
                }
            };
            let len = m.body().len();
            let reached = if from < len {
                let room = PIECE.saturating_sub(out.len()).max(1);
                self.format.body(out, m, from, room)
            } else {
                len
            };
            if reached < len {
                self.offset = Some(reached);
                continue;
            }
            self.format.close(out);
            self.offset = None;
            done = Some(m.id);
            self.messages.pop_front();
        }
        done
    }
}

/// An SSE event: `id: N`, the body as `data:` lines (text) or in base64
/// after `event: binary`.
#[derive(Default)]
struct Sse;

impl Format for Sse {
    fn open(&mut self, out: &mut Vec<u8>, m: &Stored) {
        let _ = writeln!(out, "id: {}", m.id);
        if m.binary() {
            out.extend_from_slice(b"event: binary\n");
        }
        out.extend_from_slice(b"data: ");
    }

    fn body(&mut self, out: &mut Vec<u8>, m: &Stored, from: usize, room: usize) -> usize {
        let body = m.body();
        if m.binary() {
            return base64_piece(out, body, from, room);
        }
        // A body's CR, LF and CRLF each end a `data:` line.
        let rest = &body[from..];
        let line = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
        let take = line.min(room);
        out.extend_from_slice(&rest[..take]);
        if take < line || line == rest.len() {
            return from + take;
        }
        out.extend_from_slice(b"\ndata: ");
        let skip = if rest[line..].starts_with(b"\r\n") {
            2
        } else {
            1
        };
        from + line + skip
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\n\n");
    }
}

/// A long-poll batch item, `{"id":N,"body":"…"}` (JSON-escaped, byte for
/// byte what serde_json writes) or `{"id":N,"body_base64":"…"}`, after a
/// `[` or a `,`.
#[derive(Default)]
struct Json {
    started: bool,
}

impl Format for Json {
    fn open(&mut self, out: &mut Vec<u8>, m: &Stored) {
        out.push(if std::mem::replace(&mut self.started, true) {
            b','
        } else {
            b'['
        });
        let key = if m.binary() { "body_base64" } else { "body" };
        let _ = write!(out, "{{\"id\":{},\"{key}\":\"", m.id);
    }

    fn body(&mut self, out: &mut Vec<u8>, m: &Stored, from: usize, room: usize) -> usize {
        let body = m.body();
        if m.binary() {
            return base64_piece(out, body, from, room);
        }
        // UTF-8 beyond ASCII goes through as is, so a body can be cut
        // anywhere.
        let end = from + room.min(body.len() - from);
        for &b in &body[from..end] {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                0..0x20 => {
                    let _ = write!(out, "\\u{b:04x}");
                }
                _ => out.push(b),
            }
        }
        end
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\"}");
    }
}

/// Base64 of `body[from..]` in about `room` bytes: whole groups of three
/// bytes until the last, so the pieces join into the encoding of the whole.
fn base64_piece(out: &mut Vec<u8>, body: &[u8], from: usize, room: usize) -> usize {
    let take = (room / 4 * 3).max(3).min(body.len() - from);
    // Encoded into `out` directly: no String per piece.
    let start = out.len();
    out.resize(start + base64::encoded_len(take, true).unwrap_or(0), 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(&body[from..from + take], &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
    from + take
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::broker::Payload;

    fn stored(id: u64, body: &[u8], binary: bool) -> Arc<Stored> {
        Arc::new(Stored {
            id,
            payload: Payload::new(Bytes::copy_from_slice(body), binary),
            headers: Vec::new(),
            at: tokio::time::Instant::now(),
        })
    }

    /// Everything `messages` encode to, and the largest piece.
    fn encode<F: Format>(format: F, messages: &[Arc<Stored>]) -> (Vec<u8>, usize) {
        let mut pieces = Pieces::new(format);
        pieces.extend(messages.iter().cloned());
        let (mut all, mut largest) = (Vec::new(), 0);
        while !pieces.is_empty() {
            let mut out = Vec::new();
            pieces.fill(&mut out);
            largest = largest.max(out.len());
            all.extend_from_slice(&out);
        }
        (all, largest)
    }

    fn sse_of(m: Arc<Stored>) -> String {
        String::from_utf8(encode(Sse, &[m]).0).unwrap()
    }

    #[test]
    fn events_split_bodies_into_data_lines() {
        assert_eq!(
            sse_of(stored(3, b"a\r\nb\rc\nd", false)),
            "id: 3\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
        );
        assert_eq!(sse_of(stored(4, b"", false)), "id: 4\ndata: \n\n");
        assert_eq!(
            sse_of(stored(5, &[0, 255], true)),
            "id: 5\nevent: binary\ndata: AP8=\n\n"
        );
        assert_eq!(
            sse_of(stored(6, b"x\n", false)),
            "id: 6\ndata: x\ndata: \n\n"
        );
    }

    /// A large body goes out in pieces of about [`PIECE`] bytes, which join
    /// into exactly what it encodes to in one go: SSE lines, base64, and
    /// JSON escapes (cut inside a UTF-8 character too).
    #[test]
    fn large_bodies_are_written_a_piece_at_a_time_and_join_exactly() {
        let mut text = Vec::new();
        while text.len() < 5 * PIECE {
            text.extend_from_slice("héllo \"wörld\"\t\\ ✓\u{1}\r\n".as_bytes());
        }
        text.extend_from_slice(&vec![b'y'; 3 * PIECE]);
        let blob: Vec<u8> = (0..4 * PIECE + 7).map(|i| (i * 31 % 256) as u8).collect();
        let messages = [
            stored(1, &text, false),
            stored(2, &blob, true),
            stored(3, b"z", false),
        ];

        let (sse, largest) = encode(Sse, &messages);
        assert!(largest <= PIECE + 64, "a piece of {largest} bytes");
        let lines = String::from_utf8_lossy(&text).replace("\r\n", "\ndata: ");
        let b64 = base64::engine::general_purpose::STANDARD.encode(&blob);
        let whole = format!(
            "id: 1\ndata: {lines}\n\nid: 2\nevent: binary\ndata: {b64}\n\nid: 3\ndata: z\n\n"
        );
        assert!(
            sse == whole.as_bytes(),
            "the SSE pieces do not join into the events"
        );

        let (json, largest) = encode(Json::default(), &messages);
        assert!(largest <= 6 * PIECE + 64, "a piece of {largest} bytes");
        let expected = serde_json::json!([
            {"id": 1, "body": String::from_utf8(text.clone()).unwrap()},
            {"id": 2, "body_base64": b64},
            {"id": 3, "body": "z"},
        ]);
        let mut json = json;
        json.push(b']');
        assert!(
            json == serde_json::to_vec(&expected).unwrap(),
            "the JSON pieces differ from serde_json's"
        );
    }

    #[test]
    fn cursors_come_from_headers_then_the_query() {
        let mut h = HeaderMap::new();
        assert_eq!(cursor(&h, Some("since=4"), "last-event-id"), Some(4));
        assert_eq!(
            cursor(&h, Some("last_event_id=5&x=1"), "last-event-id"),
            Some(5)
        );
        h.insert("last-event-id", HeaderValue::from_static("7"));
        assert_eq!(cursor(&h, Some("since=4"), "last-event-id"), Some(7));
        h.insert("if-none-match", HeaderValue::from_static("W/\"9\""));
        assert_eq!(cursor(&h, None, "if-none-match"), Some(9));
        h.insert("if-none-match", HeaderValue::from_static("1795344492:1"));
        assert_eq!(cursor(&h, None, "if-none-match"), None);
    }
}
