//! WebSocket (ws, wss) client transport on tokio-tungstenite.
//!
//! We open the TCP connection ourselves so that TCP_NODELAY is set (Nagle
//! costs a one-shot publish ~45 ms) and TLS goes through the shared rustls
//! configuration, then hand the stream to tungstenite for the handshake.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use base64::Engine;
use bytes::Bytes;
use futures_util::{Sink, Stream};
use http::HeaderValue;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Error as WsError, Message};
use url::Url;

use super::Options;
use super::message::Received;
use crate::error::{Error, Result};
use crate::log::{redact_header, redact_url};
use crate::tls;
use crate::{trace, verbose};

/// A byte stream, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

pub type Ws = WebSocketStream<Pin<Box<dyn Io>>>;

/// An open WebSocket seen as messages: pings and pongs are answered and
/// swallowed here, a close becomes [`Received::Closed`].
///
/// Writing and reading are one: while a write waits for the socket, what
/// the server sends is read into an inbox ([`WsLink::next`] hands it out
/// first). A server that applies back-pressure, as `pubcat serve` does,
/// may stop reading from us until we read what it sends us; a client that
/// only wrote would wait on it for ever (two publishers on one topic did).
pub struct WsLink {
    ws: Box<Ws>,
    url: Url,
    /// Set once we have sent our close frame.
    closing: bool,
    /// The code our close frame carries (1000 unless `connect`'s
    /// `/close CODE` said otherwise).
    close_code: u16,
    /// Something (a frame of any kind) arrived since [`WsLink::take_heard`].
    heard: bool,
    /// Read while a write was blocked; `None` is the end of the stream.
    inbox: VecDeque<Option<std::result::Result<Message, WsError>>>,
    /// The headers of the server's `101`, for what it said about the
    /// connection (the subprotocol it chose, where its stream starts).
    answer: Box<http::HeaderMap>,
}

/// Frames read into the inbox at the most before a blocked write stops
/// reading too (the back-pressure then reaches the server).
const INBOX_LIMIT: usize = 64 * 1024;

impl WsLink {
    pub fn new(ws: Ws, url: &Url) -> WsLink {
        WsLink::answered(ws, url, http::HeaderMap::new())
    }

    /// A link that keeps the headers of the server's `101`.
    pub fn answered(ws: Ws, url: &Url, answer: http::HeaderMap) -> WsLink {
        WsLink {
            ws: Box::new(ws),
            url: url.clone(),
            closing: false,
            close_code: 1000,
            heard: false,
            inbox: VecDeque::new(),
            answer: Box::new(answer),
        }
    }

    /// A header of the server's `101`, if it sent it (as text).
    pub fn answer_header(&self, name: &str) -> Option<&str> {
        self.answer.get(name).and_then(|v| v.to_str().ok())
    }

    /// The next message or close. Cancel-safe.
    pub async fn next(&mut self) -> Result<Received> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// The next message if one is already buffered, without waiting. No
    /// future is built: draining a burst calls this once per message, and
    /// it is inlined there (see `Session::drain_ready`).
    #[inline(always)]
    pub fn next_ready(&mut self) -> Option<Result<Received>> {
        match self.poll_next(&mut Context::from_waker(std::task::Waker::noop())) {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        }
    }

    #[inline(always)]
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<Received>> {
        if !self.inbox.is_empty()
            && let Some(received) = self.take_inbox()
        {
            return Poll::Ready(received);
        }
        // Each frame is looked at where tungstenite left it: taken from
        // the inbox or from it into one variable, it was copied whole, and
        // reading the copy back stalled the CPU on every message.
        loop {
            let frame = std::task::ready!(Pin::new(&mut *self.ws).poll_next(cx));
            if let Some(received) = self.received(frame) {
                return Poll::Ready(received);
            }
        }
    }

    /// What was read while a write was blocked, in order: a message or a
    /// close if there is one.
    #[cold]
    #[inline(never)]
    fn take_inbox(&mut self) -> Option<Result<Received>> {
        while let Some(frame) = self.inbox.pop_front() {
            if let Some(received) = self.received(frame) {
                return Some(received);
            }
        }
        None
    }

    /// A frame as what the link hands up; None for those it swallows
    /// (pings, whose pong tungstenite queues, and pongs).
    #[inline(always)]
    fn received(
        &mut self,
        frame: Option<std::result::Result<Message, WsError>>,
    ) -> Option<Result<Received>> {
        self.heard = true;
        match frame {
            Some(Ok(Message::Text(text))) => {
                trace!("recv text {} bytes", text.len());
                Some(Ok(Received::Text(text)))
            }
            Some(Ok(Message::Binary(body))) => {
                trace!("recv binary {} bytes", body.len());
                Some(Ok(Received::Binary(body)))
            }
            Some(Ok(Message::Ping(p))) => {
                trace!("recv ping {} bytes (pong queued)", p.len());
                None
            }
            Some(Ok(Message::Pong(p))) => {
                trace!("recv pong {} bytes", p.len());
                None
            }
            Some(Ok(Message::Close(frame))) => Some(self.closed(frame)),
            Some(Ok(Message::Frame(_))) => None,
            // The stream ends after a completed close handshake.
            None | Some(Err(WsError::ConnectionClosed)) => Some(Ok(Received::Closed {
                reason: "connection closed".into(),
                clean: self.closing,
            })),
            Some(Err(e)) => Some(Err(stream_error(&self.url, e))),
        }
    }

    /// A write could not go on: read what has arrived meanwhile. True when
    /// something was read, so the write should be tried again.
    fn read_while_blocked(&mut self, cx: &mut Context<'_>) -> bool {
        let ended = matches!(self.inbox.back(), Some(None | Some(Err(_))));
        if ended || self.inbox.len() >= INBOX_LIMIT {
            return false;
        }
        match Pin::new(&mut *self.ws).poll_next(cx) {
            Poll::Ready(frame) => {
                self.inbox.push_back(frame);
                true
            }
            Poll::Pending => false,
        }
    }

    /// The server's close frame: a close, or an error when it refuses us.
    /// Out of line, as rare paths in the receive loop should be: inlined,
    /// its formatting made the loop big enough that tokio-tungstenite's
    /// waker registration was no longer inlined into it (+2% instructions
    /// per message received).
    #[cold]
    #[inline(never)]
    fn closed(&self, frame: Option<CloseFrame>) -> Result<Received> {
        let reason = describe_close(frame.as_ref());
        verbose!("server sent close {reason}");
        // The answer to a close of our own code, echoed as servers do.
        let echoed = |f: &CloseFrame| u16::from(f.code) == self.close_code;
        if self.closing && self.close_code != 1000 && frame.as_ref().is_some_and(echoed) {
            return Ok(Received::Closed {
                clean: true,
                reason,
            });
        }
        if is_refusal(frame.as_ref()) {
            return Err(self.refused(reason));
        }
        Ok(Received::Closed {
            clean: is_clean_close(frame.as_ref()),
            reason,
        })
    }

    /// A write failed: when the server said why first (a close 1009 for a
    /// message too big, 1008 for a policy), that is the error, not the
    /// reset its closing socket gave the write.
    #[cold]
    fn write_error(&mut self, cx: &mut Context<'_>, e: WsError) -> Error {
        if !self.inbox.iter().any(is_close) {
            // What the kernel still holds, unless the reset discarded it.
            if let Poll::Ready(frame) = Pin::new(&mut *self.ws).poll_next(cx) {
                self.inbox.push_back(frame);
            }
        }
        let refusal = self.inbox.iter().find_map(|f| match f {
            Some(Ok(Message::Close(frame))) if !is_clean_close(frame.as_ref()) => {
                Some(describe_close(frame.as_ref()))
            }
            _ => None,
        });
        match refusal {
            Some(reason) => self.refused(reason),
            None => stream_error(&self.url, e),
        }
    }

    /// The server closed with an error code, described as `reason`.
    fn refused(&self, reason: String) -> Error {
        Error::server(format!(
            "{} closed the connection: {reason}",
            redact_url(&self.url)
        ))
    }

    /// Queue `frame`, waiting for room (and reading meanwhile) when the
    /// socket's buffer is full. The future of [`super::duplex::Duplex::feed`].
    pub fn poll_feed(
        &mut self,
        cx: &mut Context<'_>,
        frame: &mut Option<Message>,
    ) -> Poll<Result<()>> {
        loop {
            match Pin::new(&mut *self.ws).poll_ready(cx) {
                Poll::Ready(Ok(())) => {
                    let Some(frame) = frame.take() else {
                        return Poll::Ready(Ok(()));
                    };
                    return Poll::Ready(
                        Pin::new(&mut *self.ws)
                            .start_send(frame)
                            .map_err(|e| self.write_error(cx, e)),
                    );
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(self.write_error(cx, e))),
                Poll::Pending if self.read_while_blocked(cx) => {}
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Queue `frame`: [`WsLink::poll_feed`] as a future.
    pub async fn feed(&mut self, frame: Message) -> Result<()> {
        let mut frame = Some(frame);
        std::future::poll_fn(|cx| self.poll_feed(cx, &mut frame)).await
    }

    /// Write out everything queued, reading meanwhile.
    pub async fn flush(&mut self) -> Result<()> {
        std::future::poll_fn(|cx| {
            loop {
                match Pin::new(&mut *self.ws).poll_flush(cx) {
                    Poll::Ready(r) => {
                        return Poll::Ready(r.map_err(|e| self.write_error(cx, e)));
                    }
                    Poll::Pending if self.read_while_blocked(cx) => {}
                    Poll::Pending => return Poll::Pending,
                }
            }
        })
        .await
    }

    /// Like every write here, pings and the close read while they wait.
    pub async fn ping(&mut self) -> Result<()> {
        trace!("send ping");
        self.feed(Message::Ping(Bytes::from_static(b"pubcat")))
            .await?;
        self.flush().await
    }

    /// Send close 1000; the server's answer then arrives from
    /// [`WsLink::next`] as [`Received::Closed`].
    pub async fn start_close(&mut self) -> Result<()> {
        if self.closing {
            return Ok(());
        }
        self.closing = true;
        verbose!("sending close {}", self.close_code);
        let frame = CloseFrame {
            code: CloseCode::from(self.close_code),
            reason: "".into(),
        };
        self.feed(Message::Close(Some(frame))).await?;
        self.flush().await
    }

    pub fn take_heard(&mut self) -> bool {
        std::mem::take(&mut self.heard)
    }

    /// Close with this code rather than 1000 (`connect`'s `/close CODE`).
    pub fn set_close_code(&mut self, code: u16) {
        self.close_code = code;
    }
}

/// Connect, do the opening handshake, and return the open socket.
pub async fn connect(url: &Url, opts: &Options) -> Result<Ws> {
    Ok(open(url, opts).await?.0)
}

/// [`connect`], also returning the headers of the server's `101`. The
/// server must choose one of the `--subprotocol`s, if any were given.
pub async fn open(url: &Url, opts: &Options) -> Result<(Ws, http::HeaderMap)> {
    within_connect_timeout(
        url,
        opts,
        connect_inner(url, opts, &opts.subprotocols, true),
    )
    .await
}

/// Connect offering a dialect's `protocols` (unless the user chose with
/// `--subprotocol`). A server that picks none of them is answered all the
/// same (RFC 6455 4.1 lets it), on the same connection: the caller reads
/// the choice from the `101`'s headers.
pub async fn connect_offering(
    url: &Url,
    opts: &Options,
    protocols: &[&str],
) -> Result<(Ws, http::HeaderMap)> {
    let (offered, required) = offer(opts, protocols);
    within_connect_timeout(url, opts, connect_inner(url, opts, &offered, required)).await
}

/// [`connect_offering`] that keeps the raw stream rather than a
/// tungstenite socket (and its buffers): for a caller that reads and
/// writes the frames itself (bench's idle connections). Also returns what
/// came after the `101`'s head, the start of the first frames.
pub async fn connect_raw(
    url: &Url,
    opts: &Options,
    protocols: &[&str],
) -> Result<(Pin<Box<dyn Io>>, Vec<u8>)> {
    let (offered, required) = offer(opts, protocols);
    let opening = handshaken(url, opts, &offered, required);
    let (io, _, tail) = within_connect_timeout(url, opts, opening).await?;
    Ok((io, tail))
}

/// The subprotocols to offer and whether the server must choose one: the
/// user's `--subprotocol`s must be chosen, a dialect's may be declined.
fn offer(opts: &Options, protocols: &[&str]) -> (Vec<String>, bool) {
    if !opts.subprotocols.is_empty() || protocols.is_empty() {
        return (opts.subprotocols.clone(), true);
    }
    (protocols.iter().map(|p| p.to_string()).collect(), false)
}

/// TCP, TLS and the handshake, all within `--connect-timeout`.
async fn within_connect_timeout<T>(
    url: &Url,
    opts: &Options,
    connecting: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let started = Instant::now();
    match tokio::time::timeout(opts.connect_timeout, connecting).await {
        Ok(result) => {
            if result.is_ok() {
                verbose!(
                    "connected in {:.1} ms",
                    started.elapsed().as_secs_f64() * 1e3
                );
            }
            result
        }
        Err(_) => Err(Error::connect(format!(
            "timed out after {} connecting to {} (raise --connect-timeout?)",
            humantime::format_duration(opts.connect_timeout),
            redact_url(url)
        ))),
    }
}

const NO_SUBPROTOCOL: &str = "accepted none of the offered subprotocols";

async fn connect_inner(
    url: &Url,
    opts: &Options,
    offered: &[String],
    required: bool,
) -> Result<(Ws, http::HeaderMap)> {
    let (io, headers, tail) = handshaken(url, opts, offered, required).await?;
    let mut config = WebSocketConfig::default()
        .max_message_size(Some(opts.max_message_size))
        .max_frame_size(Some(opts.max_message_size));
    if let Some(size) = opts.ws_read_buffer {
        config = config.read_buffer_size(size);
    }
    if let Some(size) = opts.ws_write_buffer {
        config = config.write_buffer_size(size);
    }
    let ws = WebSocketStream::from_partially_read(io, tail, Role::Client, Some(config)).await;
    Ok((ws, headers))
}

/// TCP, TLS and the opening handshake: the stream, the `101`'s headers and
/// what came after them.
async fn handshaken(
    url: &Url,
    opts: &Options,
    offered: &[String],
    required: bool,
) -> Result<(Pin<Box<dyn Io>>, http::HeaderMap, Vec<u8>)> {
    let host = url
        .host_str()
        .ok_or_else(|| Error::usage(format!("URL `{}` has no host", redact_url(url))))?;
    // Url keeps IPv6 literals in brackets; the resolver wants them bare.
    let host_bare = host.trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(80);
    // Build the TLS configuration first: a bad --ca is a usage error that
    // should not wait for a connection.
    let tls_config = if url.scheme() == "wss" {
        Some(tls::client_config(&opts.tls, &[b"http/1.1"])?)
    } else {
        None
    };
    let tcp = tcp_connect(host_bare, port, opts.local_address).await?;
    let io: Pin<Box<dyn Io>> = if let Some(config) = tls_config {
        let name = rustls::pki_types::ServerName::try_from(host_bare.to_string())
            .map_err(|e| Error::usage(format!("`{host}` is not a valid TLS server name: {e}")))?;
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| Error::connect(tls::describe_failure(host, &e)))?;
        verbose!(
            "TLS {} established with {host}",
            stream
                .get_ref()
                .1
                .protocol_version()
                .map(|v| format!("{v:?}"))
                .unwrap_or_default()
        );
        Box::pin(stream)
    } else {
        Box::pin(tcp)
    };

    let request = build_request(url, opts, offered)?;
    verbose!("GET {} HTTP/1.1", request_target(url));
    for (name, value) in request.headers() {
        verbose!(
            "  {name}: {}",
            redact_header(name.as_str(), value.to_str().unwrap_or("<binary>"))
        );
    }
    let shown = redact_url(url);
    handshake(io, request, offered, required, &shown).await
}

/// Most bytes of a `101`'s head: far more than any server sends.
const MAX_ANSWER_HEAD: usize = 64 * 1024;

/// The opening handshake (RFC 6455 4.1), done here rather than by
/// tungstenite, which fails a handshake whose server picks none of the
/// offered subprotocols: offering one (`ws+meta.nchan`, STOMP's versions)
/// then cost a second connection to every server that does not speak it.
/// Returns the stream, the `101`'s headers and what came after them.
async fn handshake(
    mut io: Pin<Box<dyn Io>>,
    request: http::Request<()>,
    offered: &[String],
    required: bool,
    shown: &str,
) -> Result<(Pin<Box<dyn Io>>, http::HeaderMap, Vec<u8>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (bytes, key) = tungstenite::handshake::client::generate_request(request).map_err(|e| {
        Error::usage(format!(
            "cannot build the WebSocket request to {shown}: {e}"
        ))
    })?;
    let lost = |e: io::Error| {
        Error::connect(format!(
            "connection to {shown} failed during the handshake: {e}"
        ))
    };
    io.write_all(&bytes).await.map_err(lost)?;
    io.flush().await.map_err(lost)?;
    let mut buf = Vec::with_capacity(1024);
    let (status, headers, head_len) = loop {
        let mut chunk = [0u8; 4096];
        let n = io.read(&mut chunk).await.map_err(lost)?;
        if n == 0 {
            return Err(Error::connect(format!(
                "{shown} closed the connection during the WebSocket handshake"
            )));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut slots = [httparse::EMPTY_HEADER; 100];
        let mut answer = httparse::Response::new(&mut slots);
        match answer.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let mut headers = http::HeaderMap::new();
                for h in answer.headers.iter() {
                    if let (Ok(name), Ok(value)) = (
                        http::HeaderName::from_bytes(h.name.as_bytes()),
                        HeaderValue::from_bytes(h.value),
                    ) {
                        headers.append(name, value);
                    }
                }
                break (answer.code.unwrap_or(0), headers, len);
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_ANSWER_HEAD => {}
            Ok(httparse::Status::Partial) => {
                return Err(Error::server(format!(
                    "{shown} answered the WebSocket handshake with more than {} KiB of headers",
                    MAX_ANSWER_HEAD / 1024
                )));
            }
            Err(e) => {
                return Err(Error::server(format!(
                    "{shown} did not answer the WebSocket handshake in HTTP: {e}"
                )));
            }
        }
    };
    let tail = buf.split_off(head_len);
    verbose!("HTTP/1.1 {status}");
    for (name, value) in &headers {
        verbose!(
            "  {name}: {}",
            redact_header(name.as_str(), value.to_str().unwrap_or("<binary>"))
        );
    }
    if status != 101 {
        return Err(refused_with_status(shown, status, &tail));
    }
    let header_has = |name: http::header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    let failed = |why: &str| {
        Err(Error::server(format!(
            "WebSocket handshake with {shown} failed: {why}"
        )))
    };
    if !header_has(http::header::UPGRADE, "websocket") {
        return failed("the 101 has no `Upgrade: websocket`");
    }
    if !header_has(http::header::CONNECTION, "upgrade") {
        return failed("the 101 has no `Connection: Upgrade`");
    }
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    if headers
        .get(http::header::SEC_WEBSOCKET_ACCEPT)
        .map(HeaderValue::as_bytes)
        != Some(accept.as_bytes())
    {
        return failed("its Sec-WebSocket-Accept does not match our key");
    }
    match headers
        .get(http::header::SEC_WEBSOCKET_PROTOCOL)
        .map(|v| v.to_str().unwrap_or_default())
    {
        Some(chosen) if !offered.iter().any(|p| p == chosen) => {
            return failed(&format!(
                "it chose the subprotocol `{chosen}`, which was not offered"
            ));
        }
        None if required && !offered.is_empty() => {
            return Err(Error::server(format!(
                "{shown} {NO_SUBPROTOCOL} (drop --subprotocol, or check its name)"
            )));
        }
        _ => {}
    }
    Ok((io, headers, tail))
}

/// A handshake answered with a status other than 101; `after` is what came
/// after its head (the start of its body).
fn refused_with_status(shown: &str, status: u16, after: &[u8]) -> Error {
    let body = super::http::excerpt(after, 200);
    let hint = super::http::status_hint(status);
    let body = if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    };
    let status_line = http::StatusCode::from_u16(status)
        .map(|s| s.to_string())
        .unwrap_or_else(|_| status.to_string());
    Error::http_status(
        status,
        format!("{shown} refused the WebSocket handshake with HTTP {status_line}{body}{hint}"),
    )
}

/// Connect to `host`, from `local` when given (then only to the host's
/// addresses of its family).
async fn tcp_connect(host: &str, port: u16, local: Option<std::net::IpAddr>) -> Result<TcpStream> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Error::connect(format!("could not resolve host `{host}`: {e}")))?
        .filter(|a| local.is_none_or(|l| l.is_ipv4() == a.is_ipv4()))
        .collect();
    let mut last_err: Option<io::Error> = None;
    for addr in &addrs {
        trace!("TCP connect {addr}");
        let connected = match local {
            None => TcpStream::connect(addr).await,
            Some(ip) => connect_from(ip, *addr).await,
        };
        match connected {
            Ok(stream) => {
                // Nagle would hold small frames back ~40 ms waiting for ACKs.
                stream
                    .set_nodelay(true)
                    .map_err(|e| Error::connect(format!("TCP_NODELAY on {addr}: {e}")))?;
                verbose!("TCP connected to {addr}");
                return Ok(stream);
            }
            Err(e) => last_err = Some(e),
        }
    }
    let shown = addrs
        .first()
        .map(|a| a.to_string())
        .unwrap_or_else(|| format!("{host}:{port}"));
    Err(match last_err {
        Some(e) if e.kind() == io::ErrorKind::ConnectionRefused => Error::connect(format!(
            "connection refused by {shown} (is the server running? `pubcat serve` starts one)"
        )),
        Some(e) => Error::connect(format!("could not connect to {shown}: {e}")),
        None => match local {
            Some(ip) => Error::connect(format!(
                "host `{host}` has no {} address to connect to from {ip}",
                if ip.is_ipv4() { "IPv4" } else { "IPv6" }
            )),
            None => Error::connect(format!("host `{host}` resolved to no address")),
        },
    })
}

/// A TCP connection to `to` from `ip` (any free port of it).
async fn connect_from(ip: std::net::IpAddr, to: SocketAddr) -> io::Result<TcpStream> {
    let socket = if ip.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket
        .bind(SocketAddr::new(ip, 0))
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind to {ip}: {e}")))?;
    socket.connect(to).await
}

fn build_request(url: &Url, opts: &Options, offered: &[String]) -> Result<http::Request<()>> {
    // Credentials in the URL become Basic auth; they never go on the wire in
    // the request target or the Host header.
    let mut target = url.clone();
    let basic = (!url.username().is_empty()).then(|| {
        let user = percent_decode(url.username());
        let pass = url.password().map(percent_decode).unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    });
    let _ = target.set_username("");
    let _ = target.set_password(None);
    let mut request = target
        .as_str()
        .into_client_request()
        .map_err(|e| Error::usage(format!("invalid URL `{}`: {e}", redact_url(url))))?;
    let headers = request.headers_mut();
    if let Some(b) = basic {
        let value = HeaderValue::from_str(&format!("Basic {b}"))
            .map_err(|_| Error::usage("the URL's user name or password is not valid"))?;
        headers.insert(http::header::AUTHORIZATION, value);
    }
    if let (Some(_), Some(epoch)) = (&opts.resume_from, &opts.resume_epoch)
        && let Ok(value) = HeaderValue::from_str(epoch)
    {
        headers.insert(crate::codec::pubcat::EPOCH, value);
    }
    if !offered.is_empty() {
        let value = HeaderValue::from_str(&offered.join(", "))
            .map_err(|_| Error::usage("a --subprotocol name is not valid"))?;
        headers.insert(http::header::SEC_WEBSOCKET_PROTOCOL, value);
    }
    // A header the user gives replaces one we would send (e.g. the Basic
    // auth from the URL); repeating it in -H sends it several times.
    for (name, _) in &opts.headers {
        headers.remove(name);
    }
    for (name, value) in &opts.headers {
        headers.append(name.clone(), value.clone());
    }
    Ok(request)
}

/// Path and query as sent, with secret-looking query values hidden.
fn request_target(url: &Url) -> String {
    let shown = Url::parse(&redact_url(url)).unwrap_or_else(|_| url.clone());
    match shown.query() {
        Some(q) => format!("{}?{q}", shown.path()),
        None => shown.path().to_string(),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Describe a close frame for humans: `1000 normal`, `1011 internal error: why`.
pub fn describe_close(frame: Option<&tungstenite::protocol::CloseFrame>) -> String {
    match frame {
        None => "1005 (no status)".to_string(),
        Some(f) => {
            let name = match f.code {
                CloseCode::Normal => "normal",
                CloseCode::Away => "going away",
                CloseCode::Protocol => "protocol error",
                CloseCode::Unsupported => "unsupported data",
                CloseCode::Invalid => "invalid payload",
                CloseCode::Policy => "policy violation",
                CloseCode::Size => "message too big",
                CloseCode::Error => "server error",
                CloseCode::Restart => "service restart",
                CloseCode::Again => "try again later",
                _ => "",
            };
            let code = u16::from(f.code);
            let mut s = code.to_string();
            if !name.is_empty() {
                s.push(' ');
                s.push_str(name);
            }
            if !f.reason.is_empty() {
                s.push_str(": ");
                s.push_str(&f.reason);
            }
            s
        }
    }
}

fn is_close(frame: &Option<std::result::Result<Message, WsError>>) -> bool {
    matches!(frame, Some(Ok(Message::Close(_))))
}

/// Close codes that refuse what this client is or sent, so that a new
/// connection would be refused the same way: unsupported data (1003),
/// invalid data (1007), a policy violation (1008, often authorization),
/// a message too big (1009), a missing extension (1010). An error (exit 4),
/// not a lost connection for `tail` to retry. Others (1011 server error,
/// 1012 restart, 1013 try again later, application codes) may pass.
fn is_refusal(frame: Option<&tungstenite::protocol::CloseFrame>) -> bool {
    frame.is_some_and(|f| matches!(u16::from(f.code), 1003 | 1007 | 1008 | 1009 | 1010))
}

/// True for close codes that mean "all is well" (normal, going away).
pub fn is_clean_close(frame: Option<&tungstenite::protocol::CloseFrame>) -> bool {
    match frame {
        None => true,
        Some(f) => matches!(f.code, CloseCode::Normal | CloseCode::Away),
    }
}

/// The error for a connection that broke mid-stream.
pub fn stream_error(url: &Url, err: WsError) -> Error {
    let shown = redact_url(url);
    match err {
        WsError::Capacity(e) => Error::server(format!(
            "{shown} sent a message over the size limit ({e}); raise --max-message-size"
        )),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => Error::connect(format!(
            "connection to {shown} lost (1006: closed without a close frame)"
        )),
        WsError::Protocol(p) => Error::server(format!("{shown} broke the WebSocket protocol: {p}")),
        WsError::Utf8(e) => {
            Error::server(format!("{shown} sent a text frame that is not UTF-8: {e}"))
        }
        WsError::Io(e) => Error::connect(format!("connection to {shown} lost: {e}")),
        other => Error::connect(format!("connection to {shown} failed: {other}")),
    }
}
