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
use tokio_tungstenite::tungstenite::error::{ProtocolError, SubProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
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
    /// Something (a frame of any kind) arrived since [`WsLink::take_heard`].
    heard: bool,
    /// Read while a write was blocked; `None` is the end of the stream.
    inbox: VecDeque<Option<std::result::Result<Message, WsError>>>,
}

/// Frames read into the inbox at the most before a blocked write stops
/// reading too (the back-pressure then reaches the server).
const INBOX_LIMIT: usize = 64 * 1024;

impl WsLink {
    pub fn new(ws: Ws, url: &Url) -> WsLink {
        WsLink {
            ws: Box::new(ws),
            url: url.clone(),
            closing: false,
            heard: false,
            inbox: VecDeque::new(),
        }
    }

    /// The next message or close. Cancel-safe.
    pub async fn next(&mut self) -> Result<Received> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// The next message if one is already buffered, without waiting. No
    /// future is built: draining a burst calls this once per message.
    pub fn next_ready(&mut self) -> Option<Result<Received>> {
        match self.poll_next(&mut Context::from_waker(std::task::Waker::noop())) {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        }
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<Received>> {
        loop {
            let frame = match self.inbox.pop_front() {
                Some(frame) => frame,
                None => std::task::ready!(Pin::new(&mut *self.ws).poll_next(cx)),
            };
            self.heard = true;
            match frame {
                Some(Ok(Message::Text(text))) => {
                    trace!("recv text {} bytes", text.len());
                    return Poll::Ready(Ok(Received::Text(text)));
                }
                Some(Ok(Message::Binary(body))) => {
                    trace!("recv binary {} bytes", body.len());
                    return Poll::Ready(Ok(Received::Binary(body)));
                }
                Some(Ok(Message::Ping(p))) => trace!("recv ping {} bytes (pong queued)", p.len()),
                Some(Ok(Message::Pong(p))) => trace!("recv pong {} bytes", p.len()),
                Some(Ok(Message::Close(frame))) => return Poll::Ready(self.closed(frame)),
                Some(Ok(Message::Frame(_))) => {}
                // The stream ends after a completed close handshake.
                None | Some(Err(WsError::ConnectionClosed)) => {
                    return Poll::Ready(Ok(Received::Closed {
                        reason: "connection closed".into(),
                        clean: self.closing,
                    }));
                }
                Some(Err(e)) => return Poll::Ready(Err(stream_error(&self.url, e))),
            }
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
        verbose!("sending close 1000");
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        self.feed(Message::Close(Some(frame))).await?;
        self.flush().await
    }

    pub fn take_heard(&mut self) -> bool {
        std::mem::take(&mut self.heard)
    }
}

/// Connect, do the opening handshake, and return the open socket.
pub async fn connect(url: &Url, opts: &Options) -> Result<Ws> {
    let started = Instant::now();
    match tokio::time::timeout(opts.connect_timeout, connect_inner(url, opts)).await {
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

/// Connect offering a dialect's `protocols` (unless the user chose with
/// `--subprotocol`). A server that picks none of them must still work, but
/// tungstenite fails such a handshake, so then connect once more without
/// offering any.
pub async fn connect_offering(url: &Url, opts: &Options, protocols: &[&str]) -> Result<Ws> {
    if !opts.subprotocols.is_empty() || protocols.is_empty() {
        return connect(url, opts).await;
    }
    let mut offering = opts.clone();
    offering.subprotocols = protocols.iter().map(|p| p.to_string()).collect();
    match connect(url, &offering).await {
        Err(e) if e.message.contains(NO_SUBPROTOCOL) => {
            verbose!(
                "the server picked none of {}; connecting again without offering them",
                protocols.join(", ")
            );
            connect(url, opts).await
        }
        other => other,
    }
}

const NO_SUBPROTOCOL: &str = "accepted none of the offered subprotocols";

async fn connect_inner(url: &Url, opts: &Options) -> Result<Ws> {
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
    let tcp = tcp_connect(host_bare, port).await?;
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

    let request = build_request(url, opts)?;
    verbose!("GET {} HTTP/1.1", request_target(url));
    for (name, value) in request.headers() {
        verbose!(
            "  {name}: {}",
            redact_header(name.as_str(), value.to_str().unwrap_or("<binary>"))
        );
    }
    let mut config = WebSocketConfig::default()
        .max_message_size(Some(opts.max_message_size))
        .max_frame_size(Some(opts.max_message_size));
    if let Some(size) = opts.ws_read_buffer {
        config = config.read_buffer_size(size);
    }
    if let Some(size) = opts.ws_write_buffer {
        config = config.write_buffer_size(size);
    }
    match tokio_tungstenite::client_async_with_config(request, io, Some(config)).await {
        Ok((ws, response)) => {
            verbose!("HTTP/1.1 {}", response.status());
            for (name, value) in response.headers() {
                verbose!(
                    "  {name}: {}",
                    redact_header(name.as_str(), value.to_str().unwrap_or("<binary>"))
                );
            }
            Ok(ws)
        }
        Err(e) => Err(handshake_error(url, e)),
    }
}

async fn tcp_connect(host: &str, port: u16) -> Result<TcpStream> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Error::connect(format!("could not resolve host `{host}`: {e}")))?
        .collect();
    let mut last_err: Option<io::Error> = None;
    for addr in &addrs {
        trace!("TCP connect {addr}");
        match TcpStream::connect(addr).await {
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
        None => Error::connect(format!("host `{host}` resolved to no address")),
    })
}

fn build_request(url: &Url, opts: &Options) -> Result<http::Request<()>> {
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
    if !opts.subprotocols.is_empty() {
        let value = HeaderValue::from_str(&opts.subprotocols.join(", "))
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

fn handshake_error(url: &Url, err: WsError) -> Error {
    let shown = redact_url(url);
    match err {
        WsError::Http(response) => {
            let status = response.status();
            let body = response
                .body()
                .as_deref()
                .map(|b| {
                    String::from_utf8_lossy(&b[..b.len().min(200)])
                        .trim()
                        .replace(char::is_control, " ")
                })
                .unwrap_or_default();
            let hint = match status.as_u16() {
                401 | 403 => " (check credentials: -H 'Authorization: …' or user:pass@ in the URL)",
                404 => " (check the path)",
                426 => " (the server wants another protocol version)",
                _ => "",
            };
            let body = if body.is_empty() {
                String::new()
            } else {
                format!(": {body}")
            };
            Error::http_status(
                status.as_u16(),
                format!("{shown} refused the WebSocket handshake with HTTP {status}{body}{hint}"),
            )
        }
        WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(
            SubProtocolError::NoSubProtocol,
        )) => Error::server(format!(
            "{shown} {NO_SUBPROTOCOL} (drop --subprotocol, or check its name)"
        )),
        WsError::Protocol(p) => {
            Error::server(format!("WebSocket handshake with {shown} failed: {p}"))
        }
        WsError::Io(e) => Error::connect(format!(
            "connection to {shown} failed during the handshake: {e}"
        )),
        WsError::Tls(e) => Error::connect(format!("TLS with {shown} failed: {e}")),
        WsError::Url(e) => Error::usage(format!("invalid URL `{shown}`: {e}")),
        other => Error::connect(format!("WebSocket handshake with {shown} failed: {other}")),
    }
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
