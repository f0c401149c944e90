//! SockJS client: `GET <base>/info`, then a session at
//! `<base>/<server>/<session>/<transport>` over the framed WebSocket
//! transport, falling back to xhr-streaming and then xhr-polling when it
//! fails (or one of them, forced with `--sockjs-transport`).
//!
//! The WebSocket is opened by [`super::ws`] and the HTTP requests go
//! through [`super::http`]'s client, so TLS, headers and timeouts mean the
//! same as everywhere else. Framing is [`crate::codec::sockjs`].
//!
//! Receiving over HTTP runs in a task of its own (one request at a time, as
//! the protocol wants: a second receiver gets `c[2010,…]`), which hands
//! frames over a bounded channel; that keeps [`SockJs::next`] cancel-safe.
//! Sending batches what was fed since the last flush into one JSON array:
//! one WebSocket message or one `xhr_send` POST.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::header::CONTENT_TYPE;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::transport::sleep_until_some;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

use super::Options;
use super::http::{
    body_excerpt, body_limited, client, log_exchange, refused, request_error, send, timed_out,
};
use super::message::{Data, Received};
use super::ws::{self, WsLink};
use crate::codec::sockjs::{Batch, CloseKind, DecodeError, Frame, LineDecoder, close_kind, decode};
use crate::error::{Error, Kind, Result};
use crate::log::redact_url;
use crate::{status, trace, verbose};

/// The SockJS transports pubcat speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SockJsTransport {
    /// Framed WebSocket: one SockJS frame per WebSocket message.
    Websocket,
    /// A long chunked POST response carries frames; POSTs to xhr_send carry ours.
    XhrStreaming,
    /// One POST per batch of frames; POSTs to xhr_send carry ours.
    XhrPolling,
}

impl SockJsTransport {
    pub fn name(self) -> &'static str {
        match self {
            SockJsTransport::Websocket => "websocket",
            SockJsTransport::XhrStreaming => "xhr-streaming",
            SockJsTransport::XhrPolling => "xhr-polling",
        }
    }
}

/// What the user asked of a SockJS session.
#[derive(Clone, Debug)]
pub struct SockJsOptions {
    /// Only this transport; None: websocket, then the two xhr fallbacks.
    pub transport: Option<SockJsTransport>,
    /// How often the server sends `h` frames when idle; silence for twice
    /// that means the server is gone.
    pub heartbeat: Duration,
}

impl Default for SockJsOptions {
    fn default() -> Self {
        SockJsOptions {
            transport: None,
            heartbeat: crate::codec::sockjs::DEFAULT_HEARTBEAT,
        }
    }
}

/// Above this many bytes of queued messages, a batch goes out without
/// waiting for a flush (servers limit message sizes: Spring's default
/// SockJS buffer is 64 KiB).
const BATCH_BYTES: usize = 32 * 1024;

/// Frames handed from the HTTP receiving task before it waits.
const FRAME_QUEUE: usize = 64;

pub struct SockJs {
    base: Url,
    wire: Wire,
    transport: SockJsTransport,
    /// Messages of a frame not yet handed out.
    pending: VecDeque<String>,
    out: Batch,
    heartbeat: Duration,
    check: bool,
    last_heard: Instant,
    heard: bool,
    /// Set once the server closed the session: (reason, clean).
    closed: Option<(String, bool)>,
    closing: bool,
    /// How long a POST's answer may take (`--connect-timeout`).
    within: Duration,
}

enum Wire {
    /// The framed WebSocket, through the same link as raw WebSocket, so
    /// its writes read while they wait (see [`WsLink`]).
    Ws(Box<WsLink>),
    Xhr {
        client: reqwest::Client,
        send_url: Url,
        frames: mpsc::Receiver<Result<Frame>>,
        task: tokio::task::JoinHandle<()>,
    },
}

impl Drop for SockJs {
    fn drop(&mut self) {
        if let Wire::Xhr { task, .. } = &self.wire {
            task.abort();
        }
    }
}

#[derive(serde::Deserialize)]
struct Info {
    #[serde(default = "yes")]
    websocket: bool,
    #[serde(default)]
    cookie_needed: bool,
}

fn yes() -> bool {
    true
}

impl SockJs {
    /// Ask `<url>/info`, then open a session on the first transport that
    /// works.
    pub async fn connect(url: &Url, opts: &Options) -> Result<SockJs> {
        let base = base_of(url);
        let client = client(&base, opts)?;
        let info = info(&client, &base, opts.connect_timeout).await?;
        if info.cookie_needed {
            verbose!(
                "the server says cookie_needed (sticky sessions): pubcat sends only cookies given with -H 'Cookie: …'"
            );
        }
        let order: Vec<SockJsTransport> = match opts.sockjs.transport {
            Some(t) => vec![t],
            None if info.websocket => vec![
                SockJsTransport::Websocket,
                SockJsTransport::XhrStreaming,
                SockJsTransport::XhrPolling,
            ],
            None => {
                verbose!("the server's info says websocket: false; using xhr transports");
                vec![SockJsTransport::XhrStreaming, SockJsTransport::XhrPolling]
            }
        };
        let mut failures: Vec<(SockJsTransport, Error)> = Vec::new();
        for (i, &transport) in order.iter().enumerate() {
            let session = session_url(&base)?;
            verbose!(
                "SockJS session {} over {}",
                session.path(),
                transport.name()
            );
            let limit = opts.connect_timeout;
            let opened = tokio::time::timeout(limit, open(transport, &client, &session, opts))
                .await
                .unwrap_or_else(|_| {
                    Err(Error::connect(format!(
                        "no open frame within {} (raise --connect-timeout?)",
                        humantime::format_duration(limit)
                    )))
                });
            match opened {
                Ok(wire) => {
                    verbose!("SockJS session open over {}", transport.name());
                    return Ok(SockJs {
                        base,
                        wire,
                        transport,
                        pending: VecDeque::new(),
                        out: Batch::default(),
                        heartbeat: opts.sockjs.heartbeat,
                        within: opts.connect_timeout,
                        check: true,
                        last_heard: Instant::now(),
                        heard: false,
                        closed: None,
                        closing: false,
                    });
                }
                Err(e) if matches!(e.kind, Kind::Connect | Kind::Server) => {
                    if let Some(next) = order.get(i + 1) {
                        status!(
                            "SockJS {} failed ({e}); trying {}",
                            transport.name(),
                            next.name()
                        );
                    }
                    failures.push((transport, e));
                }
                Err(e) => return Err(e),
            }
        }
        // One transport tried: its error as it is; several: each one's.
        let kind = failures.last().map_or(Kind::Connect, |(_, e)| e.kind);
        if failures.len() == 1
            && let Some((_, e)) = failures.pop()
        {
            return Err(e);
        }
        let tried: Vec<String> = failures
            .iter()
            .map(|(t, e)| format!("{}: {e}", t.name()))
            .collect();
        let mut e = Error::new(
            kind,
            format!(
                "no SockJS transport worked at {} ({})",
                redact_url(&base),
                tried.join("; ")
            ),
        );
        // Worth another try when any transport's failure was.
        e.transient = failures.iter().any(|(_, e)| e.transient);
        Err(e)
    }

    /// The next message or close. Cancel-safe.
    pub async fn next(&mut self) -> Result<Received> {
        loop {
            if let Some(m) = self.pending.pop_front() {
                return Ok(Received::Text(m.into()));
            }
            if let Some((reason, clean)) = &self.closed {
                return Ok(Received::Closed {
                    reason: reason.clone(),
                    clean: *clean,
                });
            }
            let dead_at =
                (self.check && !self.closing).then(|| self.last_heard + 2 * self.heartbeat);
            let frame = tokio::select! {
                frame = self.recv_frame() => frame?,
                _ = sleep_until_some(dead_at) => {
                    return Err(Error::connect(format!(
                        "no SockJS frame from {} ({}) for {}: connection considered dead (the server should send a heartbeat every {}, see --sockjs-heartbeat)",
                        redact_url(&self.base),
                        self.transport.name(),
                        humantime::format_duration(2 * self.heartbeat),
                        humantime::format_duration(self.heartbeat),
                    )));
                }
            };
            let Some(frame) = frame else {
                // Our own close ended the session.
                self.closed = Some(("connection closed".into(), true));
                continue;
            };
            self.last_heard = Instant::now();
            self.heard = true;
            match frame {
                Frame::Messages(messages) => {
                    trace!("recv {} message(s)", messages.len());
                    self.pending.extend(messages);
                }
                Frame::Heartbeat => trace!("recv SockJS heartbeat"),
                Frame::Open => {
                    return Err(Error::connect(format!(
                        "{} opened a new SockJS session: the old one was lost",
                        redact_url(&self.base)
                    )));
                }
                Frame::Close { code, reason } => {
                    verbose!("server sent SockJS close {code} {reason}");
                    let shown = format!("SockJS close {code} {reason}");
                    match close_kind(code) {
                        CloseKind::Clean => self.closed = Some((shown, true)),
                        CloseKind::Refused => self.closed = Some((shown, false)),
                        CloseKind::Lost => {
                            return Err(Error::connect(format!(
                                "{} interrupted the SockJS session ({shown})",
                                redact_url(&self.base)
                            )));
                        }
                    }
                }
            }
        }
    }

    /// The next frame from the wire; None once our own close finished.
    async fn recv_frame(&mut self) -> Result<Option<Frame>> {
        match &mut self.wire {
            Wire::Ws(ws) => loop {
                match ws.next().await? {
                    // Empty messages carry nothing (sockjs-node ignores them too).
                    Received::Text(t) if t.is_empty() => {}
                    Received::Text(t) => {
                        return decode(t.as_bytes())
                            .map(Some)
                            .map_err(|e| broken(&self.base, e));
                    }
                    Received::Binary(b) => {
                        return decode(&b).map(Some).map_err(|e| broken(&self.base, e));
                    }
                    Received::Closed { .. } if self.closing => return Ok(None),
                    Received::Closed { reason, .. } => {
                        return Err(Error::connect(format!(
                            "{} closed the WebSocket ({reason}) without a SockJS close frame",
                            redact_url(&self.base)
                        )));
                    }
                }
            },
            Wire::Xhr { frames, .. } => match frames.recv().await {
                Some(frame) => frame.map(Some),
                None if self.closing => Ok(None),
                None => Err(Error::connect(format!(
                    "the SockJS receiver for {} stopped",
                    redact_url(&self.base)
                ))),
            },
        }
    }

    /// Queue a message for the next batch. SockJS messages are strings,
    /// so binary data cannot be sent.
    /// True when the batch is full: [`SockJs::send_batch`] then, before
    /// the next push. Not async, so queueing (nearly every message) costs
    /// no future.
    pub fn push(&mut self, data: Data) -> Result<bool> {
        let Data::Text(text) = data else {
            return Err(Error::usage(
                "SockJS carries text messages only, and this one is binary (or not UTF-8)",
            ));
        };
        self.out.push(text.as_str());
        Ok(self.out.size() >= BATCH_BYTES)
    }

    pub async fn flush(&mut self) -> Result<()> {
        self.send_batch().await?;
        if let Wire::Ws(ws) = &mut self.wire {
            ws.flush().await?;
        }
        Ok(())
    }

    /// Send the queued messages as one batch.
    pub async fn send_batch(&mut self) -> Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let n = self.out.len();
        let body = self.out.take();
        trace!("send {n} message(s) in {} bytes", body.len());
        match &mut self.wire {
            Wire::Ws(ws) => ws.feed(Message::Text(body.into())).await,
            Wire::Xhr {
                client, send_url, ..
            } => xhr_send(client, send_url, body, self.within).await,
        }
    }

    /// End the session: WebSocket close 1000; over HTTP, stop receiving
    /// (the protocol has no client close: the server times the session
    /// out). Every batch sent was answered already.
    pub async fn start_close(&mut self) -> Result<()> {
        if self.closing {
            return Ok(());
        }
        self.flush().await?;
        self.closing = true;
        match &mut self.wire {
            Wire::Ws(ws) => ws.start_close().await,
            Wire::Xhr { task, .. } => {
                task.abort();
                Ok(())
            }
        }
    }

    pub fn take_heard(&mut self) -> bool {
        std::mem::take(&mut self.heard)
    }

    pub fn check_heartbeats(&mut self, on: bool) {
        self.check = on;
    }
}

/// The base URL: the service prefix without a trailing slash or fragment.
fn base_of(url: &Url) -> Url {
    let mut base = url.clone();
    base.set_fragment(None);
    let path = base.path().trim_end_matches('/').to_string();
    base.set_path(&path);
    base
}

/// `base` with `/suffix` appended to its path (the query stays).
fn with_suffix(base: &Url, suffix: &str) -> Url {
    let mut url = base.clone();
    let path = format!("{}/{suffix}", base.path().trim_end_matches('/'));
    url.set_path(&path);
    url
}

/// `<base>/<server>/<session>`: a server id of three digits and a fresh
/// session id of 16 URL-safe characters.
fn session_url(base: &Url) -> Result<Url> {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::local(format!("no random numbers for a SockJS session id: {e}")))?;
    let server = u16::from_le_bytes([bytes[0], bytes[1]]) % 1000;
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz012345";
    let session: String = bytes[2..]
        .iter()
        .map(|b| ALPHABET[usize::from(b % 32)] as char)
        .collect();
    Ok(with_suffix(base, &format!("{server:03}/{session}")))
}

async fn info(client: &reqwest::Client, base: &Url, within: Duration) -> Result<Info> {
    let url = with_suffix(base, "info");
    let response = send(client.get(url.clone()), &url, within).await?;
    log_exchange("GET", &url, &response);
    if !response.status().is_success() {
        let hint = format!(
            " (is {} a SockJS endpoint? give its base URL, e.g. http://host:port/echo)",
            redact_url(base)
        );
        return Err(refused(response, &url, "", &hint).await);
    }
    // The info document is a few fields of JSON, and part of connecting.
    let body = tokio::time::timeout(within, body_limited(response, &url, 64 * 1024))
        .await
        .map_err(|_| timed_out("the SockJS info", &url, within))??;
    serde_json::from_slice(&body).map_err(|e| {
        Error::server(format!(
            "{} did not answer SockJS info JSON ({e}); is it a SockJS endpoint?",
            redact_url(&url)
        ))
    })
}

/// Open the session over `transport`; Ok once the open frame arrived.
async fn open(
    transport: SockJsTransport,
    client: &reqwest::Client,
    session: &Url,
    opts: &Options,
) -> Result<Wire> {
    let max = opts.max_message_size;
    match transport {
        SockJsTransport::Websocket => {
            let mut url = with_suffix(session, "websocket");
            let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
            url.set_scheme(scheme).map_err(|()| {
                Error::usage(format!("cannot use {scheme}:// for {}", redact_url(&url)))
            })?;
            let mut socket = ws::connect(&url, opts).await?;
            loop {
                match socket.next().await {
                    Some(Ok(Message::Text(t))) => {
                        expect_open(&url, decode(t.as_bytes()))?;
                        return Ok(Wire::Ws(Box::new(WsLink::new(socket, &url))));
                    }
                    Some(Ok(Message::Close(frame))) => {
                        return Err(Error::server(format!(
                            "{} closed the WebSocket ({}) before the SockJS open frame",
                            redact_url(&url),
                            ws::describe_close(frame.as_ref())
                        )));
                    }
                    Some(Ok(_)) => {}
                    None => {
                        return Err(Error::connect(format!(
                            "{} closed before the SockJS open frame",
                            redact_url(&url)
                        )));
                    }
                    Some(Err(e)) => return Err(ws::stream_error(&url, e)),
                }
            }
        }
        SockJsTransport::XhrStreaming => {
            let url = with_suffix(session, "xhr_streaming");
            let mut response = receive_request(client, &url).await?;
            let mut decoder = LineDecoder::new(max);
            loop {
                while let Some(frame) = decoder.next_frame().map_err(|e| broken(&url, e))? {
                    if frame == Frame::Heartbeat {
                        continue;
                    }
                    expect_open(&url, Ok(frame))?;
                    return Ok(xhr_wire(client, session, &url, max, |r| {
                        r.stream(response, decoder)
                    }));
                }
                match response.chunk().await {
                    Ok(Some(chunk)) => decoder.feed(&chunk),
                    Ok(None) => {
                        return Err(Error::server(format!(
                            "{} ended its response before the SockJS open frame",
                            redact_url(&url)
                        )));
                    }
                    Err(e) => return Err(request_error(&url, e)),
                }
            }
        }
        SockJsTransport::XhrPolling => {
            let url = with_suffix(session, "xhr");
            let body = body_limited(receive_request(client, &url).await?, &url, max).await?;
            let mut decoder = LineDecoder::new(max);
            decoder.feed(&body);
            let first = decoder.next_frame().map_err(|e| broken(&url, e))?;
            expect_open(&url, first.ok_or(DecodeError::Empty))?;
            Ok(xhr_wire(client, session, &url, max, |r| r.poll(decoder)))
        }
    }
}

/// An HTTP session whose receiving side runs as `receive` (streaming or
/// polling `url`) on a task of its own, handing frames over a channel.
fn xhr_wire<F>(
    client: &reqwest::Client,
    session: &Url,
    url: &Url,
    max: usize,
    receive: impl FnOnce(Receiver) -> F,
) -> Wire
where
    F: Future<Output = ()> + Send + 'static,
{
    let (tx, frames) = mpsc::channel(FRAME_QUEUE);
    let receiver = Receiver {
        client: client.clone(),
        url: url.clone(),
        max,
        tx,
    };
    Wire::Xhr {
        client: client.clone(),
        send_url: with_suffix(session, "xhr_send"),
        frames,
        task: tokio::spawn(receive(receiver)),
    }
}

/// The first frame must be `o`; a `c` frame says why the server refused.
fn expect_open(url: &Url, first: std::result::Result<Frame, DecodeError>) -> Result<()> {
    match first {
        Ok(Frame::Open) => Ok(()),
        Ok(Frame::Close { code, reason }) => Err(Error::server(format!(
            "{} refused the SockJS session: close {code} {reason}",
            redact_url(url)
        ))),
        Ok(other) => Err(Error::server(format!(
            "{} sent {other:?} before the SockJS open frame",
            redact_url(url)
        ))),
        Err(e) => Err(broken(url, e)),
    }
}

fn broken(url: &Url, e: DecodeError) -> Error {
    Error::server(format!("{} sent {e}", redact_url(url)))
}

/// A receiving POST (`xhr`, `xhr_streaming`), its status checked.
async fn receive_request(client: &reqwest::Client, url: &Url) -> Result<reqwest::Response> {
    trace!("POST {}", redact_url(url));
    let response = client
        .post(url.clone())
        .send()
        .await
        .map_err(|e| request_error(url, e))?;
    if response.status() != http::StatusCode::OK {
        return Err(refused(response, url, "", "").await);
    }
    Ok(response)
}

/// POST a batch to `xhr_send`; the server answers 204 once it has it.
async fn xhr_send(
    client: &reqwest::Client,
    url: &Url,
    body: String,
    within: Duration,
) -> Result<()> {
    let request = client
        .post(url.clone())
        .header(CONTENT_TYPE, "text/plain;charset=UTF-8")
        .body(body);
    let response = send(request, url, within).await?;
    let status = response.status();
    trace!("POST {} -> HTTP {status}", redact_url(url));
    if status.is_success() {
        return Ok(());
    }
    if status == http::StatusCode::NOT_FOUND {
        let excerpt = body_excerpt(response).await;
        return Err(Error::connect(format!(
            "{} no longer knows the SockJS session (xhr_send answered 404{excerpt})",
            redact_url(url)
        )));
    }
    Err(refused(response, url, " to xhr_send", "").await)
}

/// The HTTP receiving side, run as a task: frames go to `tx` until a
/// close frame, an error, or the session being dropped.
struct Receiver {
    client: reqwest::Client,
    url: Url,
    max: usize,
    tx: mpsc::Sender<Result<Frame>>,
}

impl Receiver {
    /// Hand over the decoded frames; false when done (a close frame, an
    /// error, or nobody listening).
    async fn hand_over(&self, decoder: &mut LineDecoder) -> bool {
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    let last = matches!(frame, Frame::Close { .. });
                    if self.tx.send(Ok(frame)).await.is_err() || last {
                        return false;
                    }
                }
                Ok(None) => return true,
                Err(e) => {
                    let _ = self.tx.send(Err(broken(&self.url, e))).await;
                    return false;
                }
            }
        }
    }

    async fn fail(&self, e: Error) {
        let _ = self.tx.send(Err(e)).await;
    }

    /// xhr_streaming: read the response as it comes; when the server ends
    /// it (after ~128 KiB), POST again.
    async fn stream(self, first: reqwest::Response, mut decoder: LineDecoder) {
        let mut response = Some(first);
        loop {
            if !self.hand_over(&mut decoder).await {
                return;
            }
            let Some(r) = response.as_mut() else {
                match receive_request(&self.client, &self.url).await {
                    Ok(r) => response = Some(r),
                    Err(e) => return self.fail(e).await,
                }
                decoder = LineDecoder::new(self.max);
                continue;
            };
            match r.chunk().await {
                Ok(Some(chunk)) => decoder.feed(&chunk),
                Ok(None) if decoder.has_partial() => {
                    return self
                        .fail(Error::connect(format!(
                            "{} ended its response in the middle of a frame",
                            redact_url(&self.url)
                        )))
                        .await;
                }
                Ok(None) => {
                    trace!("xhr_streaming response ended; asking again");
                    response = None;
                }
                Err(e) => {
                    return self
                        .fail(Error::connect(format!(
                            "connection to {} lost: {e}",
                            redact_url(&self.url)
                        )))
                        .await;
                }
            }
        }
    }

    /// xhr: one POST per batch of frames, asked again at once.
    async fn poll(self, mut decoder: LineDecoder) {
        loop {
            if !self.hand_over(&mut decoder).await {
                return;
            }
            let body = match receive_request(&self.client, &self.url).await {
                Ok(r) => body_limited(r, &self.url, self.max).await,
                Err(e) => Err(e),
            };
            match body {
                Ok(body) => decoder.feed(&with_newline(body)),
                Err(e) => return self.fail(e).await,
            }
        }
    }
}

/// A polled body whose last frame lacks its newline still ends there.
fn with_newline(body: Bytes) -> Bytes {
    if body.last() == Some(&b'\n') || body.is_empty() {
        body
    } else {
        let mut v = body.to_vec();
        v.push(b'\n');
        Bytes::from(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_the_prefix_and_query() {
        let base = base_of(&Url::parse("http://h:1/app/echo/?t=1#x").unwrap());
        assert_eq!(base.as_str(), "http://h:1/app/echo?t=1");
        assert_eq!(
            with_suffix(&base, "info").as_str(),
            "http://h:1/app/echo/info?t=1"
        );
        let root = base_of(&Url::parse("http://h/").unwrap());
        assert_eq!(with_suffix(&root, "info").as_str(), "http://h/info");
        let s = session_url(&base).unwrap();
        let parts: Vec<&str> = s.path().split('/').collect();
        assert_eq!(parts.len(), 5, "{s}");
        assert_eq!((parts[1], parts[2]), ("app", "echo"));
        assert!(parts[3].len() == 3 && parts[3].chars().all(|c| c.is_ascii_digit()));
        assert!(parts[4].len() == 16 && !parts[4].contains('.'));
        assert_ne!(session_url(&base).unwrap(), s, "session ids are fresh");
    }
}
