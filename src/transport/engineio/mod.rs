//! Engine.IO v4 client transport: HTTP long-polling, WebSocket, and the
//! upgrade from one to the other. It moves Engine.IO message packets (text
//! and binary) and keeps the session alive; what the messages mean is the
//! Socket.IO dialect's business.
//!
//! - Polling: the handshake GET answers the open packet (sid, ping timing,
//!   maxPayload). Then one task holds the receiving GET and another sends
//!   POSTs, so there is never more than one of each in flight (a second
//!   one makes the server kill the session). Outgoing packets queue up and
//!   go in as few POSTs as maxPayload allows.
//! - WebSocket: one Engine.IO packet per WebSocket message; binary packets
//!   are binary frames without a type byte.
//! - Upgrade: right after the polling handshake, before any polling request
//!   is in flight, open the WebSocket with the sid, send `2probe`, expect
//!   `3probe`, send `5`; from then on only the WebSocket is used. A failed
//!   probe leaves the session on polling.
//!
//! The server pings (`2`) every pingInterval and we answer `3`; no ping for
//! pingInterval + pingTimeout means the connection is dead (exit 3).
//!
//! The HTTP requests use the shared reqwest client builder and the
//! WebSocket the shared connect, so `--ca`, `--insecure`, `-H` and the
//! timeouts mean what they mean everywhere else.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::header::CONTENT_TYPE;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use url::Url;

use super::Options;
use super::http::{body_limited, client, log_exchange, request_error};
use super::ws::{self, Ws};
use crate::codec::engineio::{self, Handshake, Packet};
use crate::error::{Error, Kind, Result};
use crate::log::redact_url;
use crate::{trace, verbose};

/// Which transports to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Polling handshake, then the upgrade to WebSocket when offered.
    #[default]
    Upgrade,
    /// Long-polling only.
    Polling,
    /// WebSocket from the start (no polling handshake).
    WebSocket,
}

/// How long the server has to answer the upgrade probe (its own
/// `upgradeTimeout` is 10 s).
const PROBE_WAIT: Duration = Duration::from_secs(10);

/// Outgoing packets queued for the polling writer: it takes them in
/// batches, so this only bounds memory.
const OUTGOING_QUEUE: usize = 4096;

/// What [`EngineIo::next`] gives.
#[derive(Debug)]
pub enum Received {
    /// A text message packet's data.
    Message(Bytes),
    /// A binary message packet.
    Binary(Bytes),
    /// The server ended the session (close packet, WebSocket close).
    Closed { reason: String },
}

pub struct EngineIo {
    io: Io,
    handshake: Handshake,
    /// The Engine.IO URL (http or https, the handshake's), for messages.
    shown: String,
    url: Url,
    /// WebSocket only: the polling reader keeps its own clock.
    last_ping: Instant,
    pong_due: bool,
    closing: bool,
    transport_name: &'static str,
}

enum Io {
    Ws(Box<Ws>),
    Polling(Polling),
}

struct Polling {
    incoming: mpsc::Receiver<Result<Vec<Packet>>>,
    pending: VecDeque<Packet>,
    outgoing: mpsc::Sender<Outgoing>,
    /// Why the writer stopped, once it has.
    failed: Arc<Mutex<Option<(Kind, String)>>>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Drop for Polling {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

enum Outgoing {
    Packet(Part),
    /// Answered once everything queued before it has been POSTed.
    Flush(oneshot::Sender<Result<(), (Kind, String)>>),
}

/// One packet of a polling body.
enum Part {
    /// A text packet in its text form (`4…`).
    Text(Vec<u8>),
    Binary(Bytes),
}

/// `b` + base64 of `n` bytes.
fn binary_part_len(n: usize) -> usize {
    base64::encoded_len(n, true).map_or(usize::MAX, |l| l.saturating_add(1))
}

impl Part {
    /// Its length in the body.
    fn len(&self) -> usize {
        match self {
            Part::Text(t) => t.len(),
            Part::Binary(b) => binary_part_len(b.len()),
        }
    }

    fn append_to(self, body: &mut Vec<u8>) {
        match self {
            Part::Text(t) => body.extend_from_slice(&t),
            Part::Binary(b) => Packet::Binary(b).encode_text(body),
        }
    }
}

/// `url` with the engine path and the Engine.IO query for `transport`,
/// keeping the user's own query parameters (they reach the server's
/// middleware), and the scheme the transport needs.
pub fn engine_url(base: &Url, path: &str, transport: &str, sid: Option<&str>) -> Url {
    let mut url = base.clone();
    url.set_path(path);
    let keep: Vec<(String, String)> = base
        .query_pairs()
        .filter(|(k, _)| !matches!(k.as_ref(), "EIO" | "transport" | "sid" | "t"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut q = url.query_pairs_mut();
        q.clear();
        q.extend_pairs(keep);
        q.append_pair("EIO", "4");
        q.append_pair("transport", transport);
        if let Some(sid) = sid {
            q.append_pair("sid", sid);
        }
    }
    let tls = matches!(base.scheme(), "https" | "wss");
    let scheme = match (transport, tls) {
        ("websocket", false) => "ws",
        ("websocket", true) => "wss",
        (_, false) => "http",
        (_, true) => "https",
    };
    // All four schemes are "special" in the URL standard, so switching
    // between them always works.
    let _ = url.set_scheme(scheme);
    url
}

impl EngineIo {
    /// Open a session at `base` (http(s), the path is ignored) under the
    /// Engine.IO `path`.
    pub async fn connect(base: &Url, path: &str, mode: Mode, opts: &Options) -> Result<EngineIo> {
        let polling_url = engine_url(base, path, "polling", None);
        let shown = redact_url(&polling_url);
        let connecting = async {
            match mode {
                Mode::WebSocket => Self::connect_ws(base, path, opts).await,
                Mode::Polling | Mode::Upgrade => {
                    Self::connect_polling(base, path, mode == Mode::Upgrade, opts).await
                }
            }
        };
        match tokio::time::timeout(opts.connect_timeout, connecting).await {
            Ok(result) => result,
            Err(_) => Err(Error::connect(format!(
                "timed out waiting for the Engine.IO handshake from {shown} after {} (is it a Socket.IO server? raise --connect-timeout?)",
                humantime::format_duration(opts.connect_timeout)
            ))),
        }
    }

    async fn connect_ws(base: &Url, path: &str, opts: &Options) -> Result<EngineIo> {
        let url = engine_url(base, path, "websocket", None);
        let mut ws = ws::connect(&url, opts).await?;
        let shown = redact_url(&url);
        // The open packet is the first frame.
        let handshake = loop {
            match ws.next().await {
                Some(Ok(Frame::Text(t))) => break parse_open(&shown, Bytes::from(t))?,
                Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => continue,
                Some(Ok(Frame::Close(c))) => {
                    return Err(Error::server(format!(
                        "{shown} closed the WebSocket before the Engine.IO handshake ({})",
                        ws::describe_close(c.as_ref())
                    )));
                }
                Some(Ok(_)) => {
                    return Err(Error::server(format!(
                        "{shown} sent a binary frame where the Engine.IO open packet belongs (is it a Socket.IO server?)"
                    )));
                }
                None => {
                    return Err(Error::connect(format!(
                        "{shown} closed the connection before the Engine.IO handshake"
                    )));
                }
                Some(Err(e)) => return Err(ws::stream_error(&url, e)),
            }
        };
        verbose!(
            "Engine.IO session {} over websocket (ping every {}, timeout {})",
            handshake.sid,
            humantime::format_duration(handshake.ping_interval),
            humantime::format_duration(handshake.ping_timeout)
        );
        Ok(EngineIo {
            transport_name: ws_name(base),
            io: Io::Ws(Box::new(ws)),
            handshake,
            shown,
            url,
            last_ping: Instant::now(),
            pong_due: false,
            closing: false,
        })
    }

    async fn connect_polling(
        base: &Url,
        path: &str,
        upgrade: bool,
        opts: &Options,
    ) -> Result<EngineIo> {
        let url = engine_url(base, path, "polling", None);
        let shown = redact_url(&url);
        let http = client(&url, opts)?;
        let response = http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| request_error(&url, e))?;
        log_exchange("GET", &url, &response);
        if !response.status().is_success() {
            return Err(http_failure(&shown, "the Engine.IO handshake", response).await);
        }
        // The handshake is a short JSON open packet.
        let body = body_limited(response, &url, 64 * 1024).await?;
        let mut packets = engineio::decode_payload(&body)
            .map_err(|e| not_engineio(&shown, &e.to_string(), &body))?
            .into_iter();
        let handshake = match packets.next() {
            Some(Packet::Open(data)) => {
                Handshake::parse(&data).map_err(|e| not_engineio(&shown, &e.to_string(), &body))?
            }
            _ => return Err(not_engineio(&shown, "no open packet", &body)),
        };
        let early: VecDeque<Packet> = packets.collect();
        let session_url = engine_url(base, path, "polling", Some(&handshake.sid));
        verbose!(
            "Engine.IO session {} over polling (ping every {}, timeout {}, maxPayload {})",
            handshake.sid,
            humantime::format_duration(handshake.ping_interval),
            humantime::format_duration(handshake.ping_timeout),
            handshake.max_payload
        );
        if upgrade && early.is_empty() {
            if handshake.upgrades.iter().any(|u| u == "websocket") {
                match probe(base, path, &handshake.sid, opts).await {
                    Ok(ws) => {
                        verbose!("upgraded to websocket");
                        let url = engine_url(base, path, "websocket", Some(&handshake.sid));
                        return Ok(EngineIo {
                            transport_name: ws_name(base),
                            io: Io::Ws(Box::new(ws)),
                            handshake,
                            shown: redact_url(&url),
                            url,
                            last_ping: Instant::now(),
                            pong_due: false,
                            closing: false,
                        });
                    }
                    Err(e) => verbose!("websocket upgrade failed ({e}); staying on polling"),
                }
            } else {
                verbose!("the server offers no websocket upgrade; staying on polling");
            }
        }
        let max_body = super::http::batch_limit(opts.max_message_size);
        let polling = Polling::start(http, session_url.clone(), &handshake, early, max_body);
        Ok(EngineIo {
            transport_name: polling_name(base),
            io: Io::Polling(polling),
            handshake,
            shown: redact_url(&session_url),
            url: session_url,
            last_ping: Instant::now(),
            pong_due: false,
            closing: false,
        })
    }

    /// True on long-polling, false on WebSocket.
    pub fn is_polling(&self) -> bool {
        matches!(self.io, Io::Polling(_))
    }

    /// "socketio+ws", "socketio+https", ...: the transport in use now.
    pub fn transport_name(&self) -> &'static str {
        self.transport_name
    }

    /// The next message packet. Pings are answered, noops skipped.
    /// Cancel-safe: a select may drop it between packets.
    pub async fn next(&mut self) -> Result<Received> {
        match &mut self.io {
            Io::Ws(ws) => loop {
                if self.pong_due {
                    ws.feed(Frame::Text("3".into()))
                        .await
                        .map_err(|e| ws::stream_error(&self.url, e))?;
                    self.pong_due = false;
                    ws.flush()
                        .await
                        .map_err(|e| ws::stream_error(&self.url, e))?;
                    trace!("send pong");
                }
                let h = &self.handshake;
                let dead_at = self.last_ping + h.ping_interval + h.ping_timeout;
                let frame = tokio::select! {
                    biased;
                    frame = ws.next() => frame,
                    _ = sleep_until(dead_at) => return Err(dead(&self.shown, h)),
                };
                match frame {
                    Some(Ok(Frame::Text(t))) => {
                        let packet = engineio::decode_text(Bytes::from(t))
                            .map_err(|e| Error::server(format!("{} sent {e}", self.shown)))?;
                        match packet {
                            Packet::Message(m) => return Ok(Received::Message(m)),
                            Packet::Ping(_) => {
                                trace!("recv ping");
                                self.last_ping = Instant::now();
                                self.pong_due = true;
                            }
                            Packet::Close => {
                                return Ok(Received::Closed {
                                    reason: "the server closed the Engine.IO session".into(),
                                });
                            }
                            other => trace!("ignoring Engine.IO {other:?}"),
                        }
                    }
                    Some(Ok(Frame::Binary(b))) => return Ok(Received::Binary(b)),
                    Some(Ok(Frame::Close(c))) => {
                        verbose!("server sent close {}", ws::describe_close(c.as_ref()));
                        return Ok(Received::Closed {
                            reason: format!("WebSocket close {}", ws::describe_close(c.as_ref())),
                        });
                    }
                    Some(Ok(_)) => {}
                    None | Some(Err(tokio_tungstenite::tungstenite::Error::ConnectionClosed)) => {
                        if self.closing {
                            return Ok(Received::Closed {
                                reason: "connection closed".into(),
                            });
                        }
                        return Err(Error::connect(format!(
                            "{} dropped the connection",
                            self.shown
                        )));
                    }
                    Some(Err(e)) => return Err(ws::stream_error(&self.url, e)),
                }
            },
            Io::Polling(p) => loop {
                match p.pending.pop_front() {
                    Some(Packet::Message(m)) => return Ok(Received::Message(m)),
                    Some(Packet::Binary(b)) => return Ok(Received::Binary(b)),
                    Some(Packet::Close) => {
                        return Ok(Received::Closed {
                            reason: "the server closed the Engine.IO session".into(),
                        });
                    }
                    Some(other) => trace!("ignoring Engine.IO {other:?}"),
                    None => match p.incoming.recv().await {
                        Some(Ok(batch)) => p.pending.extend(batch),
                        Some(Err(e)) => return Err(e),
                        None => {
                            return Err(Error::connect(format!(
                                "polling of {} stopped",
                                self.shown
                            )));
                        }
                    },
                }
            },
        }
    }

    /// Queue a text message packet whose data `encode` writes.
    pub async fn feed_message(&mut self, encode: impl FnOnce(&mut String)) -> Result<()> {
        let mut text = String::with_capacity(64);
        text.push('4');
        encode(&mut text);
        self.check_size(text.len())?;
        match &mut self.io {
            Io::Ws(ws) => ws
                .feed(Frame::Text(text.into()))
                .await
                .map_err(|e| ws::stream_error(&self.url, e)),
            Io::Polling(p) => {
                p.queue(Outgoing::Packet(Part::Text(text.into_bytes())))
                    .await
            }
        }
    }

    /// Queue a binary message packet.
    pub async fn feed_binary(&mut self, bytes: Bytes) -> Result<()> {
        let len = match &self.io {
            Io::Ws(_) => bytes.len(),
            // Polling carries it as `b` + base64, a third larger.
            Io::Polling(_) => binary_part_len(bytes.len()),
        };
        self.check_size(len)?;
        match &mut self.io {
            Io::Ws(ws) => ws
                .feed(Frame::Binary(bytes))
                .await
                .map_err(|e| ws::stream_error(&self.url, e)),
            Io::Polling(p) => p.queue(Outgoing::Packet(Part::Binary(bytes))).await,
        }
    }

    fn check_size(&self, len: usize) -> Result<()> {
        if len > self.handshake.max_payload {
            return Err(Error::usage(format!(
                "a packet of {len} bytes is larger than the server accepts (its maxPayload is {} bytes)",
                self.handshake.max_payload
            )));
        }
        Ok(())
    }

    /// Send everything queued: written to the WebSocket, or POSTed and
    /// answered `ok`.
    pub async fn flush(&mut self) -> Result<()> {
        match &mut self.io {
            Io::Ws(ws) => ws.flush().await.map_err(|e| ws::stream_error(&self.url, e)),
            Io::Polling(p) => p.flush().await,
        }
    }

    /// Send the close packet and end the transport. True when the server
    /// has everything we sent: the WebSocket close was answered, or every
    /// POST was.
    pub async fn close(&mut self) -> Result<bool> {
        self.closing = true;
        match &mut self.io {
            Io::Ws(ws) => {
                let _ = ws.feed(Frame::Text("1".into())).await;
                let frame = CloseFrame {
                    code: CloseCode::Normal,
                    reason: "".into(),
                };
                if let Err(e) = WebSocketStream::close(&mut **ws, Some(frame)).await {
                    verbose!("close frame not sent: {e}");
                    return Ok(false);
                }
                // Read to the server's close so the socket ends cleanly.
                let answered = tokio::time::timeout(Duration::from_secs(5), async {
                    loop {
                        match ws.next().await {
                            Some(Ok(Frame::Close(_))) | None => return true,
                            Some(Ok(_)) => {}
                            Some(Err(e)) => {
                                verbose!("while closing: {e}");
                                return false;
                            }
                        }
                    }
                })
                .await;
                Ok(answered.unwrap_or(false))
            }
            Io::Polling(p) => {
                p.queue(Outgoing::Packet(Part::Text(b"1".to_vec()))).await?;
                match p.flush().await {
                    Ok(()) => Ok(true),
                    Err(e) => {
                        verbose!("while closing: {e}");
                        Ok(false)
                    }
                }
            }
        }
    }
}

fn ws_name(base: &Url) -> &'static str {
    if matches!(base.scheme(), "https" | "wss") {
        "socketio+wss"
    } else {
        "socketio+ws"
    }
}

fn polling_name(base: &Url) -> &'static str {
    if matches!(base.scheme(), "https" | "wss") {
        "socketio+https"
    } else {
        "socketio+http"
    }
}

fn parse_open(shown: &str, text: Bytes) -> Result<Handshake> {
    match engineio::decode_text(text.clone()) {
        Ok(Packet::Open(data)) => {
            Handshake::parse(&data).map_err(|e| not_engineio(shown, &e.to_string(), &text))
        }
        Ok(_) => Err(not_engineio(shown, "no open packet", &text)),
        Err(e) => Err(not_engineio(shown, &e.to_string(), &text)),
    }
}

fn not_engineio(shown: &str, why: &str, body: &[u8]) -> Error {
    let excerpt: String = String::from_utf8_lossy(&body[..body.len().min(80)])
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    Error::server(format!(
        "{shown} did not answer like an Engine.IO v4 server ({why}; it sent `{excerpt}`); check the URL and --path"
    ))
}

fn dead(shown: &str, h: &Handshake) -> Error {
    Error::connect(format!(
        "no ping from {shown} for {} (pingInterval + pingTimeout): connection considered dead",
        humantime::format_duration(h.ping_interval + h.ping_timeout)
    ))
}

/// An HTTP error from an Engine.IO server, which answers
/// `{"code":N,"message":"…"}`. "Session ID unknown" means the session is
/// gone (the server restarted or timed us out): a lost connection, which
/// `tail` reconnects, not a refusal.
async fn http_failure(shown: &str, what: &str, response: reqwest::Response) -> Error {
    let status = response.status();
    let url = response.url().clone();
    let body = body_limited(response, &url, 4096).await.unwrap_or_default();
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    let code = parsed.as_ref().and_then(|v| v["code"].as_u64());
    let message = parsed
        .as_ref()
        .and_then(|v| v["message"].as_str())
        .map(str::to_string);
    match (code, message) {
        (Some(1), _) => Error::connect(format!(
            "{shown} no longer knows this Engine.IO session (it restarted or timed us out)"
        )),
        (Some(code), Some(message)) => Error::http_status(
            status.as_u16(),
            format!(
                "{shown} refused {what} with HTTP {status}: {} (Engine.IO error {code})",
                message.replace(char::is_control, " ")
            ),
        ),
        _ => {
            let hint = if status == http::StatusCode::NOT_FOUND {
                " (is the Engine.IO path right? see --path)"
            } else {
                ""
            };
            let excerpt = String::from_utf8_lossy(&body[..body.len().min(200)])
                .trim()
                .replace(char::is_control, " ");
            let excerpt = if excerpt.is_empty() {
                String::new()
            } else {
                format!(": {excerpt}")
            };
            Error::http_status(
                status.as_u16(),
                format!("{shown} refused {what} with HTTP {status}{excerpt}{hint}"),
            )
        }
    }
}

/// Open the WebSocket for session `sid` and do the probe exchange.
async fn probe(base: &Url, path: &str, sid: &str, opts: &Options) -> Result<Ws> {
    let url = engine_url(base, path, "websocket", Some(sid));
    let mut ws = ws::connect(&url, opts).await?;
    ws.send(Frame::Text("2probe".into()))
        .await
        .map_err(|e| ws::stream_error(&url, e))?;
    let answered = tokio::time::timeout(PROBE_WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Frame::Text(t))) => return Ok(t.as_str() == "3probe"),
                Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => {}
                Some(Ok(_)) | None => return Ok(false),
                Some(Err(e)) => return Err(ws::stream_error(&url, e)),
            }
        }
    })
    .await;
    match answered {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => return Err(Error::server("the probe was not answered with 3probe")),
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return Err(Error::connect(format!(
                "no answer to the probe within {}s",
                PROBE_WAIT.as_secs()
            )));
        }
    }
    ws.send(Frame::Text("5".into()))
        .await
        .map_err(|e| ws::stream_error(&url, e))?;
    Ok(ws)
}

impl Polling {
    fn start(
        http: reqwest::Client,
        url: Url,
        handshake: &Handshake,
        early: VecDeque<Packet>,
        max_body: usize,
    ) -> Polling {
        let (in_tx, incoming) = mpsc::channel(64);
        let (outgoing, out_rx) = mpsc::channel(OUTGOING_QUEUE);
        let failed = Arc::new(Mutex::new(None));
        let reader = tokio::spawn(read_loop(
            http.clone(),
            url.clone(),
            handshake.clone(),
            max_body,
            in_tx,
            outgoing.clone(),
        ));
        let writer = tokio::spawn(write_loop(
            http,
            url,
            handshake.clone(),
            out_rx,
            failed.clone(),
        ));
        Polling {
            incoming,
            pending: early,
            outgoing,
            failed,
            reader,
            writer,
        }
    }

    async fn queue(&mut self, item: Outgoing) -> Result<()> {
        if self.outgoing.send(item).await.is_err() {
            return Err(self.writer_error());
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.queue(Outgoing::Flush(tx)).await?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err((kind, message))) => Err(Error::new(kind, message)),
            Err(_) => Err(self.writer_error()),
        }
    }

    fn writer_error(&self) -> Error {
        match self.failed.lock().ok().and_then(|f| f.clone()) {
            Some((kind, message)) => Error::new(kind, message),
            None => Error::connect("the polling writer stopped"),
        }
    }
}

/// Hold one GET at a time (its body at most `max_body` bytes); answer
/// pings; hand the rest to the session.
async fn read_loop(
    http: reqwest::Client,
    url: Url,
    handshake: Handshake,
    max_body: usize,
    to_session: mpsc::Sender<Result<Vec<Packet>>>,
    to_server: mpsc::Sender<Outgoing>,
) {
    let shown = redact_url(&url);
    let mut last_ping = Instant::now();
    loop {
        let dead_at = last_ping + handshake.ping_interval + handshake.ping_timeout;
        let wait = dead_at.saturating_duration_since(Instant::now());
        let result = async {
            if wait.is_zero() {
                return Err(dead(&shown, &handshake));
            }
            let response = match http.get(url.clone()).timeout(wait).send().await {
                Ok(r) => r,
                Err(e) if e.is_timeout() => return Err(dead(&shown, &handshake)),
                Err(e) => return Err(request_error(&url, e)),
            };
            log_exchange("GET", &url, &response);
            if !response.status().is_success() {
                return Err(http_failure(&shown, "a polling GET", response).await);
            }
            body_limited(response, &url, max_body).await
        }
        .await;
        let body = match result {
            Ok(body) => body,
            Err(e) => {
                let _ = to_session.send(Err(e)).await;
                return;
            }
        };
        trace!("polled {} bytes", body.len());
        let packets = match engineio::decode_payload(&body) {
            Ok(p) => p,
            Err(e) => {
                let _ = to_session
                    .send(Err(Error::server(format!("{shown} sent {e}"))))
                    .await;
                return;
            }
        };
        let mut batch = Vec::with_capacity(packets.len());
        let mut closed = false;
        for packet in packets {
            match packet {
                Packet::Ping(_) => {
                    trace!("recv ping; send pong");
                    last_ping = Instant::now();
                    if to_server
                        .send(Outgoing::Packet(Part::Text(b"3".to_vec())))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Packet::Noop => {}
                Packet::Close => {
                    closed = true;
                    batch.push(Packet::Close);
                    break;
                }
                other => batch.push(other),
            }
        }
        if !batch.is_empty() && to_session.send(Ok(batch)).await.is_err() {
            return;
        }
        if closed {
            return;
        }
    }
}

/// POST what is queued, one request at a time, as few as maxPayload allows.
async fn write_loop(
    http: reqwest::Client,
    url: Url,
    handshake: Handshake,
    mut queue: mpsc::Receiver<Outgoing>,
    failed: Arc<Mutex<Option<(Kind, String)>>>,
) {
    let max_payload = handshake.max_payload;
    // A server that sits on a POST this long has stopped answering.
    let post_wait = handshake.ping_interval + handshake.ping_timeout;
    let mut carry: Option<Part> = None;
    let mut body = Vec::new();
    let mut flushes = Vec::new();
    loop {
        let mut next = match carry.take() {
            Some(part) => Some(Outgoing::Packet(part)),
            None => match queue.recv().await {
                Some(item) => Some(item),
                None => return,
            },
        };
        while let Some(item) = next.take() {
            match item {
                Outgoing::Flush(tx) => flushes.push(tx),
                Outgoing::Packet(part) => {
                    let separator = usize::from(!body.is_empty());
                    if separator == 1 && body.len() + separator + part.len() > max_payload {
                        // Over the limit: this packet opens the next POST.
                        carry = Some(part);
                        break;
                    }
                    if separator == 1 {
                        body.push(engineio::SEPARATOR);
                    }
                    part.append_to(&mut body);
                }
            }
            next = queue.try_recv().ok();
        }
        if !body.is_empty() {
            let sent = std::mem::take(&mut body);
            if let Err(e) = post(&http, &url, sent, post_wait).await {
                let failure = (e.kind, e.message);
                if let Ok(mut f) = failed.lock() {
                    *f = Some(failure.clone());
                }
                for tx in flushes.drain(..) {
                    let _ = tx.send(Err(failure.clone()));
                }
                return;
            }
        }
        for tx in flushes.drain(..) {
            let _ = tx.send(Ok(()));
        }
    }
}

async fn post(http: &reqwest::Client, url: &Url, body: Vec<u8>, wait: Duration) -> Result<()> {
    let shown = redact_url(url);
    trace!("POST {} bytes", body.len());
    let response = http
        .post(url.clone())
        .header(CONTENT_TYPE, "text/plain;charset=UTF-8")
        .timeout(wait)
        .body(body)
        .send()
        .await
        .map_err(|e| request_error(url, e))?;
    log_exchange("POST", url, &response);
    if !response.status().is_success() {
        return Err(http_failure(&shown, "a polling POST", response).await);
    }
    // The answer is `ok`: a server that sends more is not read further.
    let answer = body_limited(response, url, 4096).await?;
    if &answer[..] != b"ok" {
        let excerpt = body_excerpt_of(&answer);
        return Err(Error::server(format!(
            "{shown} answered a polling POST with `{excerpt}` instead of `ok`"
        )));
    }
    Ok(())
}

fn body_excerpt_of(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(80)]).replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_urls_keep_the_users_query_and_switch_scheme() {
        let base = Url::parse("https://h:1/chat?token=x&EIO=3&transport=polling").unwrap();
        let u = engine_url(&base, "/socket.io/", "websocket", Some("abc"));
        assert_eq!(
            u.as_str(),
            "wss://h:1/socket.io/?token=x&EIO=4&transport=websocket&sid=abc"
        );
        let base = Url::parse("http://h/").unwrap();
        let u = engine_url(&base, "/engine/", "polling", None);
        assert_eq!(u.as_str(), "http://h/engine/?EIO=4&transport=polling");
    }
}
