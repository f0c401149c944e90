//! The embedded broker behind `pubcat serve`: one port, topics are URL paths.
//!
//! | request | answer |
//! |---|---|
//! | `GET /_/health` | `200 ok` |
//! | `GET /_/stats` | JSON: `{"connections": N, "topics": [{"topic", "last_id", "subscribers", "history"}], "queues": [{"queue", "ready", "unacked", "consumers"}]}` |
//! | `GET /_/stomp` + WebSocket upgrade | STOMP 1.2 (see [`stomp`]); subprotocol `v12.stomp`, `v11.stomp` or `v10.stomp` when offered |
//! | `/_/sockjs/…` | STOMP 1.2 over SockJS: info, websocket, xhr-streaming, xhr-polling, xhr_send (see [`sockjs`]) |
//! | `GET /{topic}` + WebSocket upgrade | subscribe and publish on `topic` (see below) |
//! | `GET /{topic}` + `Accept: text/event-stream` | SSE (see [`http_sub`]) |
//! | `GET /{topic}` otherwise | long-poll in the Nchan convention (see [`http_sub`]) |
//! | `POST /{topic}` | publish the body; `200 {"id": N}`; `413` over `max_message_size` |
//!
//! Paths under `/_/` are the broker's own and never topics. A topic is the
//! path without its leading slash, exactly as sent (percent-escapes are not
//! decoded, so `/a%2Fb` and `/a/b` are different topics).
//!
//! **STOMP destinations.** `/topic/NAME` is the topic `NAME` above: a SEND
//! to `/topic/news` reaches `ws://HOST/news`, SSE and long-poll
//! subscribers, and a `POST /news` or a WebSocket frame on `/news` reaches
//! STOMP subscribers of `/topic/news` (with `content-type: text/plain` or
//! `application/octet-stream`). `/queue/NAME` is a work queue (see
//! [`queue`]), for STOMP only: each message to one consumer, kept until
//! acknowledged.
//!
//! **WebSocket.** The connection is a subscriber and a publisher on its
//! topic: every text or binary frame it sends is published (kind kept) to
//! the others, and everything the others publish is sent to it (text as
//! text, binary as binary); it never gets its own messages back. It is
//! subscribed before the `101` goes out, so once a client's handshake is
//! done, nothing published afterwards is missed. `?since=ID` first replays
//! the kept history after `ID` (`since=0`: all of it; `?last=N`: the last N
//! kept), then goes live with no gap or duplicate in between, on every
//! transport. No subprotocol is ever selected on topic paths.
//!
//! **HTTP publish.** The body is published as binary when the request says
//! `Content-Type: application/octet-stream` or when it is not valid UTF-8;
//! otherwise as text (so `curl -d hi`, JSON and plain text arrive as text
//! frames).
//!
//! The slow-subscriber policy is in [`broker`].

pub mod broker;
mod http_sub;
mod peer;
pub mod queue;
mod sockjs;
mod stomp;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::serve::ListenerExt;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use broker::{Broker, BrokerConfig};
use queue::Queues;

/// How the broker runs. Defaults live in the CLI, not here.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Per-topic history ring size.
    pub history: usize,
    /// Per-subscriber bounded queue, in messages.
    pub queue: usize,
    /// How long a publisher waits for a full subscriber queue before that
    /// subscriber is dropped.
    pub slow_timeout: Duration,
    /// Largest incoming WebSocket message or HTTP body, in bytes.
    pub max_message_size: usize,
    /// No connection logs on stderr.
    pub quiet: bool,
    /// How long a long-poll request is held before `304 Not Modified`.
    pub poll_timeout: Duration,
    /// Silence after which a SockJS receiver gets a heartbeat frame.
    pub sockjs_heartbeat: Duration,
}

/// A listening broker, not yet serving: the caller can print the address
/// (port 0 picks one) before [`Bound::run`].
pub struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
    cfg: ServerConfig,
    broker: Arc<Broker>,
    queues: Arc<Queues>,
}

/// Listen on `cfg.listen` with a backlog of 1024: bursts of connections do
/// not stall on SYN retransmits as with the default 128 (performance.md,
/// mistake 4).
pub async fn bind(cfg: ServerConfig) -> std::io::Result<Bound> {
    let socket = if cfg.listen.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // So a restarted `pubcat serve` can take its port back while old
    // connections sit in TIME_WAIT. Not on Windows, where SO_REUSEADDR
    // lets a second server steal a port in use.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(cfg.listen)?;
    let listener = socket.listen(1024)?;
    let addr = listener.local_addr()?;
    let broker = Arc::new(Broker::new(BrokerConfig {
        history: cfg.history,
        queue: cfg.queue,
        slow_timeout: cfg.slow_timeout,
    }));
    Ok(Bound {
        listener,
        addr,
        cfg,
        broker,
        queues: Arc::new(Queues::default()),
    })
}

/// After shutdown, how long WebSocket connections get to finish their close
/// handshake before they are dropped (a client that stopped reading would
/// otherwise hold `run` for ever).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl Bound {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The broker core, for in-process use (bench, tests).
    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// Serve until `shutdown` resolves, then close every WebSocket with 1001
    /// (going away) and return.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let (open_tx, _) = watch::channel(0usize);
        let open_tx = Arc::new(open_tx);
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(self.cfg.max_message_size))
            .max_frame_size(Some(self.cfg.max_message_size))
            // tungstenite's 128 KiB defaults cost ~137 KB per idle
            // connection; these keep it near 10 KB while still batching
            // writes (performance.md).
            .read_buffer_size(8 * 1024)
            .write_buffer_size(16 * 1024);
        let app = App(Arc::new(AppInner {
            broker: Arc::clone(&self.broker),
            queues: Arc::clone(&self.queues),
            sockjs: sockjs::Sessions::default(),
            cfg: self.cfg,
            ws_config,
            shutdown: stop_rx,
            open: Arc::clone(&open_tx),
        }));
        let router = Router::new()
            .route("/_/health", get(health))
            .route("/_/stats", get(stats))
            .route("/_/stomp", get(stomp_endpoint))
            .route("/_/sockjs", any(sockjs::route))
            .route("/_/sockjs/{*rest}", any(sockjs::route))
            .route("/{*topic}", get(topic_get).post(topic_post))
            .fallback(not_found)
            .with_state(app);
        let listener = self.listener.tap_io(|tcp| {
            // Nagle would hold small frames back ~40 ms (performance.md,
            // mistake 1). Failing to set it only costs latency.
            let _ = tcp.set_nodelay(true);
        });
        let signal = async move {
            shutdown.await;
            // Tell the WebSocket tasks (they are not HTTP connections any
            // more, so axum's graceful shutdown does not reach them).
            let _ = stop_tx.send(true);
        };
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal)
        .await?;
        // HTTP is done; wait for the WebSockets to finish closing.
        let _ = open_tx.subscribe().wait_for(|n| *n == 0).await;
        Ok(())
    }
}

#[derive(Clone)]
struct App(Arc<AppInner>);

struct AppInner {
    broker: Arc<Broker>,
    queues: Arc<Queues>,
    sockjs: sockjs::Sessions,
    cfg: ServerConfig,
    ws_config: WebSocketConfig,
    shutdown: watch::Receiver<bool>,
    /// Open WebSocket connections, so `run` can wait for their close.
    open: Arc<watch::Sender<usize>>,
}

/// Counts one WebSocket connection as open for as long as it lives.
struct OpenGuard(Arc<watch::Sender<usize>>);

impl OpenGuard {
    fn new(open: &Arc<watch::Sender<usize>>) -> OpenGuard {
        open.send_modify(|n| *n += 1);
        OpenGuard(Arc::clone(open))
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

async fn health() -> Response {
    text(StatusCode::OK, "ok\n")
}

#[derive(Serialize)]
struct Stats {
    connections: usize,
    topics: Vec<broker::TopicStats>,
    queues: Vec<queue::QueueStats>,
}

async fn stats(State(app): State<App>) -> Response {
    let stats = Stats {
        connections: *app.0.open.borrow(),
        topics: app.0.broker.stats(),
        queues: app.0.queues.stats(),
    };
    match serde_json::to_vec(&stats) {
        Ok(mut body) => {
            body.push(b'\n');
            json(body)
        }
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("stats: {e}\n")),
    }
}

async fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "not found: topics are paths like /events (ws:// to subscribe, POST to publish)\n",
    )
}

/// A request refused with a one-line text answer (small, unlike a
/// `Response`, so it travels cheaply in a `Result`).
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        text(self.0, self.1)
    }
}

/// The topic named by a request path, or why it names none.
fn topic_of(path: &str) -> Result<&str, Refusal> {
    let topic = path.strip_prefix('/').unwrap_or(path);
    if topic.is_empty() || topic == "_" || topic.starts_with("_/") {
        return Err(Refusal(
            StatusCode::NOT_FOUND,
            "not found: paths under /_/ belong to the broker, not to topics\n".to_string(),
        ));
    }
    Ok(topic)
}

/// `?last=N`: the cursor that replays the last N kept messages.
fn last_of(app: &App, topic: &str, query: Option<&str>) -> Option<u64> {
    let n = url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "last")
        .and_then(|(_, v)| v.parse().ok())?;
    Some(app.0.broker.cursor_for_last(topic, n))
}

/// `?since=ID` (or Nchan's `?last_event_id=ID`): `Ok(None)` when absent.
fn since_of(query: Option<&str>) -> Result<Option<u64>, Refusal> {
    let Some(query) = query else { return Ok(None) };
    match url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "since" || k == "last_event_id")
    {
        None => Ok(None),
        Some((_, v)) => v.parse().map(Some).map_err(|_| {
            Refusal(
                StatusCode::BAD_REQUEST,
                format!("since must be a message id (a whole number >= 0), not `{v}`\n"),
            )
        }),
    }
}

async fn topic_get(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let topic = match topic_of(req.uri().path()) {
        Ok(t) => t.to_string(),
        Err(refusal) => return refusal.into_response(),
    };
    if !header_has_token(req.headers(), header::UPGRADE, "websocket") {
        let wants_sse = req
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("text/event-stream"));
        let query = req.uri().query();
        let epoch = epoch_value(&app);
        let mut response = if wants_sse {
            let since = http_sub::cursor(req.headers(), query, "last-event-id");
            let since = this_run(&app, req.headers(), since);
            let since = since.or_else(|| last_of(&app, &topic, query));
            http_sub::sse(app, peer, &topic, since)
        } else {
            let since = http_sub::cursor(req.headers(), query, "if-none-match");
            let since = this_run(&app, req.headers(), since);
            let since = since.or_else(|| last_of(&app, &topic, query));
            http_sub::poll(app, peer, &topic, since).await
        };
        response.headers_mut().insert(EPOCH, epoch);
        return response;
    }
    let epoch = epoch_value(&app);
    let mut response = upgrade(app, peer, topic, req);
    response.headers_mut().insert(EPOCH, epoch);
    response
}

/// The run of the broker a subscriber's cursor came from, and this one's.
const EPOCH: header::HeaderName = header::HeaderName::from_static("x-pubcat-epoch");

fn epoch_value(app: &App) -> HeaderValue {
    HeaderValue::from_str(app.0.broker.epoch()).unwrap_or(HeaderValue::from_static("0"))
}

/// A cursor from an earlier run of the broker (the client says which with
/// `X-Pubcat-Epoch`) counts ids that no longer mean the same messages: it
/// replays all that is kept, as a cursor past the last id does. Without
/// the header a cursor is taken as it is.
fn this_run(app: &App, headers: &HeaderMap, since: Option<u64>) -> Option<u64> {
    match headers.get(EPOCH) {
        Some(e) if since.is_some() && e.as_bytes() != app.0.broker.epoch().as_bytes() => Some(0),
        _ => since,
    }
}

/// A WebSocket handshake found valid: the upgrade to await once the `101`
/// answer has gone out, and that answer.
struct Handshake {
    on_upgrade: hyper::upgrade::OnUpgrade,
    response: Response,
}

/// The server's end of an upgraded connection.
type ServerWs = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Check a WebSocket upgrade request (RFC 6455 4.2.1) and build the `101`,
/// selecting the first of `protocols` (ours, most preferred first) that
/// the client offers; a client that offers none of them gets none.
fn handshake(req: &mut Request, protocols: &[&'static str]) -> Result<Handshake, Box<Response>> {
    let headers = req.headers();
    if !header_has_token(headers, header::CONNECTION, "upgrade") {
        return Err(Box::new(text(
            StatusCode::BAD_REQUEST,
            "WebSocket handshake: Connection must include `upgrade`\n",
        )));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut resp = text(
            StatusCode::BAD_REQUEST,
            "WebSocket handshake: only Sec-WebSocket-Version 13 is supported\n",
        );
        // RFC 6455 4.4: say which version we speak.
        resp.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return Err(Box::new(resp));
    }
    // RFC 6455 4.2.1: the key is 16 random bytes, base64-encoded.
    let key = match headers.get(header::SEC_WEBSOCKET_KEY) {
        Some(k) if is_valid_key(k.as_bytes()) => k.as_bytes(),
        _ => {
            return Err(Box::new(text(
                StatusCode::BAD_REQUEST,
                "WebSocket handshake: missing or malformed Sec-WebSocket-Key\n",
            )));
        }
    };
    let Ok(accept) = HeaderValue::try_from(derive_accept_key(key)) else {
        return Err(Box::new(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot encode Sec-WebSocket-Accept\n",
        )));
    };
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let protocol = protocols.iter().find(|p| offered.contains(p)).copied();
    // Hyper only offers an upgrade on HTTP/1.1 connections.
    if req
        .extensions()
        .get::<hyper::upgrade::OnUpgrade>()
        .is_none()
    {
        return Err(Box::new(text(
            StatusCode::BAD_REQUEST,
            "WebSocket handshake needs HTTP/1.1\n",
        )));
    }
    let on_upgrade = hyper::upgrade::on(req);
    let mut response = (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, HeaderValue::from_static("upgrade")),
            (header::UPGRADE, HeaderValue::from_static("websocket")),
            (header::SEC_WEBSOCKET_ACCEPT, accept),
        ],
    )
        .into_response();
    if let Some(p) = protocol {
        response
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(p));
    }
    Ok(Handshake {
        on_upgrade,
        response,
    })
}

/// The WebSocket once hyper has switched protocols; None (logged) when the
/// upgrade failed.
async fn socket(app: &App, on_upgrade: hyper::upgrade::OnUpgrade, who: &str) -> Option<ServerWs> {
    let upgraded = match on_upgrade.await {
        Ok(u) => u,
        Err(e) => {
            app.log(format_args!("ws upgrade failed {who}: {e}"));
            return None;
        }
    };
    Some(
        WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(app.0.ws_config),
        )
        .await,
    )
}

/// Where a `ws+meta.nchan` stream starts, on the `101`.
const CURSOR: header::HeaderName = header::HeaderName::from_static("x-pubcat-cursor");

/// Validate the handshake, subscribe, answer 101 and hand the socket to a
/// task once hyper has switched protocols.
fn upgrade(app: App, peer: SocketAddr, topic: String, mut req: Request) -> Response {
    let since = match since_of(req.uri().query()) {
        Ok(s) => {
            this_run(&app, req.headers(), s).or_else(|| last_of(&app, &topic, req.uri().query()))
        }
        Err(refusal) => return refusal.into_response(),
    };
    let Handshake {
        on_upgrade,
        mut response,
    } = match handshake(&mut req, &[crate::codec::meta::SUBPROTOCOL]) {
        Ok(h) => h,
        Err(refusal) => return *refusal,
    };
    let meta = response
        .headers()
        .contains_key(header::SEC_WEBSOCKET_PROTOCOL);

    // Subscribe and count the connection before answering: a client whose
    // handshake completed misses nothing, and `run` waits for this socket.
    let sub = app.0.broker.subscribe(&topic, since);
    let gap = sub.gap();
    if meta {
        let headers = response.headers_mut();
        headers.insert(http_sub::IDS, http_sub::SEQUENCE);
        if !sub.has_backlog() {
            headers.insert(CURSOR, HeaderValue::from(sub.head()));
        }
    }
    let open = OpenGuard::new(&app.0.open);
    let path = format!("/{topic}");
    tokio::spawn(async move {
        let _open = open;
        let who = format!("{peer} {path}");
        let Some(socket) = socket(&app, on_upgrade, &who).await else {
            return;
        };
        // Raw WebSocket has no way to tell the client about a gap, so at
        // least the broker's log says it.
        match gap {
            Some(g) => app.log(format_args!(
                "ws connect {peer} {path} (ids {}..={} are no longer kept, replay starts after them)",
                g.first, g.last
            )),
            None => app.log(format_args!("ws connect {peer} {path}")),
        }
        let mut shutdown = app.0.shutdown.clone();
        let conn = ws::Conn {
            peer,
            path: path.clone(),
            sub,
            since,
            shutdown: app.0.shutdown.clone(),
            quiet: app.0.cfg.quiet,
            meta,
        };
        let mut stats = ws::ConnStats::default();
        tokio::select! {
            _ = ws::serve(socket, conn, &mut stats) => {}
            _ = grace_over(&mut shutdown) => {
                stats.reason = "server shutting down; client did not close in time".to_string();
            }
        }
        app.log(format_args!(
            "ws close {peer} {path} (in {}, out {}, {})",
            stats.messages_in, stats.messages_out, stats.reason
        ));
    });

    response
}

/// `GET /_/stomp`: STOMP over a WebSocket.
async fn stomp_endpoint(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    if !header_has_token(req.headers(), header::UPGRADE, "websocket") {
        return text(
            StatusCode::BAD_REQUEST,
            "this is STOMP over WebSocket: connect a STOMP client to ws://HOST/_/stomp (pubcat: stomp+ws://HOST/_/stomp)\n",
        );
    }
    stomp_upgrade(app, peer, req, "/_/stomp")
}

/// Answer a WebSocket upgrade and speak STOMP on it, selecting the STOMP
/// subprotocol the client offers (highest version first).
fn stomp_upgrade(app: App, peer: SocketAddr, mut req: Request, path: &str) -> Response {
    let Handshake {
        on_upgrade,
        response,
    } = match handshake(&mut req, &crate::dialect::stomp::SUBPROTOCOLS) {
        Ok(h) => h,
        Err(refusal) => return *refusal,
    };
    let who = format!("{peer} {path}");
    let open = OpenGuard::new(&app.0.open);
    tokio::spawn(async move {
        if let Some(ws) = socket(&app, on_upgrade, &who).await {
            run_stomp(app, peer::Peer::Ws(Box::new(ws)), who, open).await;
        }
    });
    response
}

/// Resolves [`SHUTDOWN_GRACE`] after shutdown began: a connection still
/// open then is dropped.
async fn grace_over(shutdown: &mut watch::Receiver<bool>) {
    ws::shutting_down(shutdown).await;
    tokio::time::sleep(SHUTDOWN_GRACE).await;
}

/// Serve a STOMP connection, counted open by `open`; one that has not
/// closed [`SHUTDOWN_GRACE`] after shutdown began is dropped.
async fn run_stomp(app: App, peer: peer::Peer, who: String, open: OpenGuard) {
    let _open = open;
    let mut shutdown = app.0.shutdown.clone();
    tokio::select! {
        _ = stomp::serve(app.clone(), peer, who.clone()) => {}
        _ = grace_over(&mut shutdown) => app.log(format_args!(
            "stomp close {who} (server shutting down; client did not close in time)"
        )),
    }
}

async fn topic_post(State(app): State<App>, req: Request) -> Response {
    let topic = match topic_of(req.uri().path()) {
        Ok(t) => t.to_string(),
        Err(refusal) => return refusal.into_response(),
    };
    let max = app.0.cfg.max_message_size;
    let too_large = || {
        text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body over the broker's max message size ({max} bytes)\n"),
        )
    };
    // Refuse on the declared length before reading anything.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return too_large();
    }
    let binary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/octet-stream"))
        });
    let body = match read_body(req.into_body(), max).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return too_large(),
        Err(BodyError::Read(e)) => {
            return text(StatusCode::BAD_REQUEST, format!("reading the body: {e}\n"));
        }
    };
    let id = app.0.broker.publish(&topic, body, binary, None).await;
    json(format!("{{\"id\":{id}}}\n").into_bytes())
}

enum BodyError {
    TooLarge,
    Read(axum::Error),
}

/// The whole body, at most `max` bytes (chunked bodies have no declared
/// length, so the limit is checked as it arrives). A body in one chunk is
/// not copied.
async fn read_body(body: Body, max: usize) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(BodyError::Read)?;
        total = total.saturating_add(chunk.len());
        if total > max {
            return Err(BodyError::TooLarge);
        }
        match first.take() {
            None if rest.is_empty() => first = Some(chunk),
            prev => {
                if let Some(prev) = prev {
                    rest.extend_from_slice(&prev);
                }
                rest.extend_from_slice(&chunk);
            }
        }
    }
    Ok(match first {
        Some(b) => b,
        None => rest.freeze(),
    })
}

impl App {
    fn log(&self, line: std::fmt::Arguments<'_>) {
        if !self.0.cfg.quiet {
            crate::log::line(format_args!("pubcat: {line}"));
        }
    }
}

/// True when a comma-separated header (any of its values) lists `token`,
/// case-insensitively: `Connection: keep-alive, Upgrade` has `upgrade`.
fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn is_valid_key(key: &[u8]) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .is_ok_and(|k| k.len() == 16)
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body.into(),
    )
        .into_response()
}

fn json(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::SinkExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;
    use tokio::time::timeout;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    pub(super) const LIMIT: Duration = Duration::from_secs(20);

    pub(super) type Client = WebSocketStream<TcpStream>;

    pub(super) struct Server {
        pub(super) addr: SocketAddr,
        pub(super) broker: Arc<Broker>,
        stop: Option<oneshot::Sender<()>>,
        task: JoinHandle<std::io::Result<()>>,
    }

    impl Server {
        /// Resolve the shutdown future given to `run`.
        pub(super) fn stop(&mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
        }

        /// Trigger shutdown and wait (bounded) for `run` to return.
        pub(super) async fn shut_down(mut self) -> std::io::Result<()> {
            self.stop();
            timeout(LIMIT, &mut self.task)
                .await
                .expect("run returned")
                .expect("run task")
        }
    }

    pub(super) async fn start(tweak: impl FnOnce(&mut ServerConfig)) -> Server {
        let mut cfg = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            history: 100,
            queue: 64,
            slow_timeout: Duration::from_secs(5),
            max_message_size: 1 << 20,
            quiet: true,
            poll_timeout: Duration::from_millis(300),
            sockjs_heartbeat: crate::codec::sockjs::DEFAULT_HEARTBEAT,
        };
        tweak(&mut cfg);
        let bound = bind(cfg).await.unwrap();
        let addr = bound.local_addr();
        assert_ne!(addr.port(), 0);
        let broker = Arc::clone(bound.broker());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.run(async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            broker,
            stop: Some(stop),
            task,
        }
    }

    pub(super) async fn client(addr: SocketAddr, path: &str) -> Client {
        let tcp = TcpStream::connect(addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let (ws, resp) = timeout(
            LIMIT,
            tokio_tungstenite::client_async(format!("ws://{addr}{path}"), tcp),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(resp.status(), 101);
        ws
    }

    /// The next data or close frame (tungstenite answers pings itself).
    pub(super) async fn next(ws: &mut Client) -> Message {
        loop {
            match timeout(LIMIT, ws.next()).await.expect("a frame in time") {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(m)) => return m,
                other => panic!("connection ended: {other:?}"),
            }
        }
    }

    /// Read until the server ends the connection (answering its close, or
    /// seeing ours answered), bounded.
    pub(super) async fn finish(mut ws: Client) {
        let end = timeout(LIMIT, async { while let Some(Ok(_)) = ws.next().await {} }).await;
        assert!(end.is_ok(), "the close handshake did not finish");
    }

    /// A raw HTTP/1.1 request: (status, body).
    pub(super) async fn http(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, String) {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        s.write_all(body).await.unwrap();
        let mut raw = Vec::new();
        timeout(LIMIT, s.read_to_end(&mut raw))
            .await
            .unwrap()
            .unwrap();
        let raw = String::from_utf8_lossy(&raw).to_string();
        let (head, body) = raw.split_once("\r\n\r\n").expect("response head");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        (status, body.to_string())
    }

    pub(super) async fn post(
        addr: SocketAddr,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, String) {
        let head = format!(
            "POST {path} HTTP/1.1\r\nContent-Type: {content_type}\r\nContent-Length: {}",
            body.len()
        );
        http(addr, &head, body).await
    }

    #[tokio::test]
    async fn ws_clients_exchange_text_and_binary_without_echo() {
        let mut server = start(|_| {}).await;
        let mut a = client(server.addr, "/room/1").await;
        let mut b = client(server.addr, "/room/1").await;
        let blob: Vec<u8> = vec![0, 0x9f, 0x92, 0x96, 0xff, b'\n'];
        a.send(Message::text("héllo ✓\n")).await.unwrap();
        a.send(Message::binary(blob.clone())).await.unwrap();

        assert_eq!(next(&mut b).await, Message::text("héllo ✓\n"));
        assert_eq!(next(&mut b).await, Message::binary(blob));
        // A round trip instead of a sleep: had `a` been sent its own two
        // messages, they would arrive before this one.
        b.send(Message::text("marker")).await.unwrap();
        assert_eq!(next(&mut a).await, Message::text("marker"));

        let (status, body) = http(server.addr, "GET /_/stats HTTP/1.1", b"").await;
        assert_eq!(status, 200);
        let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(stats["topics"][0]["topic"], "room/1");
        assert_eq!(stats["topics"][0]["last_id"], 3);
        assert_eq!(stats["topics"][0]["subscribers"], 2);
        assert_eq!(stats["topics"][0]["history"], 3);

        // Our close is answered; the other client is closed by shutdown.
        a.close(None).await.unwrap();
        finish(a).await;
        server.stop();
        finish(b).await;
        server.shut_down().await.unwrap();
    }

    #[tokio::test]
    async fn http_post_reaches_ws_subscribers_and_since_replays() {
        let server = start(|cfg| cfg.max_message_size = 1000).await;
        let mut sub = client(server.addr, "/jobs").await;

        let (status, body) = post(server.addr, "/jobs", "text/plain", b"first").await;
        assert_eq!((status, body.as_str()), (200, "{\"id\":1}\n"));
        assert_eq!(next(&mut sub).await, Message::text("first"));

        let (status, body) = post(
            server.addr,
            "/jobs",
            "application/octet-stream",
            b"\x00\x01bin",
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "{\"id\":2}\n"));
        assert_eq!(next(&mut sub).await, Message::binary(&b"\x00\x01bin"[..]));

        // Not UTF-8: binary whatever the Content-Type says.
        let (status, _) = post(server.addr, "/jobs", "text/plain", b"\xff\xfe").await;
        assert_eq!(status, 200);
        assert_eq!(next(&mut sub).await, Message::binary(&b"\xff\xfe"[..]));

        // Over the limit, refused on the declared length alone.
        let (status, _) = http(
            server.addr,
            "POST /jobs HTTP/1.1\r\nContent-Length: 1001",
            b"",
        )
        .await;
        assert_eq!(status, 413);

        // Replay after id 1, then live.
        let mut late = client(server.addr, "/jobs?since=1").await;
        assert_eq!(next(&mut late).await, Message::binary(&b"\x00\x01bin"[..]));
        assert_eq!(next(&mut late).await, Message::binary(&b"\xff\xfe"[..]));
        let (status, _) = post(server.addr, "/jobs", "application/json", b"{\"n\":4}").await;
        assert_eq!(status, 200);
        assert_eq!(next(&mut late).await, Message::text("{\"n\":4}"));
        assert_eq!(next(&mut sub).await, Message::text("{\"n\":4}"));
        let mut server = server;
        server.stop();
        finish(sub).await;
        finish(late).await;
        server.shut_down().await.unwrap();
    }

    #[tokio::test]
    async fn plain_http_routes() {
        let server = start(|_| {}).await;
        let addr = server.addr;
        assert_eq!(
            http(addr, "GET /_/health HTTP/1.1", b"").await,
            (200, "ok\n".to_string())
        );
        // Reserved paths are never topics.
        let (status, _) = post(addr, "/_/other", "text/plain", b"x").await;
        assert_eq!(status, 404);
        assert!(server.broker.stats().is_empty());
        // A plain GET is a long-poll: nothing published, so 304 after the
        // poll timeout.
        let (status, _) = http(addr, "GET /events HTTP/1.1", b"").await;
        assert_eq!(status, 304);
        // A bad handshake is a 400, not a socket.
        let bad_version = "GET /t HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8";
        assert_eq!(http(addr, bad_version, b"").await.0, 400);
        let bad_key = "GET /t HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13";
        assert_eq!(http(addr, bad_key, b"").await.0, 400);
        let bad_since = "GET /t?since=x HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13";
        assert_eq!(http(addr, bad_since, b"").await.0, 400);
        server.shut_down().await.unwrap();
    }

    #[tokio::test]
    async fn a_ws_message_over_the_limit_is_refused_with_1009() {
        let server = start(|cfg| cfg.max_message_size = 1000).await;
        let mut ws = client(server.addr, "/big").await;
        ws.send(Message::text("x".repeat(1001))).await.unwrap();
        match next(&mut ws).await {
            Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Size),
            other => panic!("expected a close, got {other:?}"),
        }
        finish(ws).await;
        assert_eq!(server.broker.last_id("big"), 0, "nothing was published");
        server.shut_down().await.unwrap();
    }

    #[tokio::test]
    async fn shutdown_closes_websockets_with_1001() {
        let mut server = start(|_| {}).await;
        let mut ws = client(server.addr, "/t").await;
        server.stop();
        match next(&mut ws).await {
            Message::Close(Some(frame)) => {
                assert_eq!(frame.code, CloseCode::Away);
                assert_eq!(frame.reason.as_str(), "server shutting down");
            }
            other => panic!("expected a close, got {other:?}"),
        }
        finish(ws).await;
        server.shut_down().await.unwrap();
    }

    #[tokio::test]
    async fn a_ws_client_that_stops_reading_is_closed_with_1013_and_its_resume_id() {
        let server = start(|cfg| {
            cfg.queue = 2;
            cfg.slow_timeout = Duration::from_millis(200);
        })
        .await;
        let mut stuck = client(server.addr, "/firehose").await;
        let topic = server.broker.topic("firehose");
        assert_eq!(topic.stats().subscribers, 1);
        // Publish big messages until the broker gives up on the client that
        // does not read (socket buffers fill first, then its queue).
        let mut published = 0u64;
        while topic.stats().subscribers > 0 {
            assert!(published < 20_000, "never dropped");
            let body = Bytes::from(vec![b'x'; 64 * 1024]);
            published = topic.publish(broker::Payload::Binary(body), None).await;
        }
        // Now read: everything it was sent, in order, then the close that
        // says where to resume.
        let mut received = 0u64;
        let reason = loop {
            match next(&mut stuck).await {
                Message::Binary(_) => received += 1,
                Message::Close(Some(frame)) => {
                    assert_eq!(frame.code, CloseCode::Again);
                    break frame.reason.to_string();
                }
                other => panic!("unexpected {other:?}"),
            }
        };
        assert!(received < published, "{received} of {published}");
        assert_eq!(
            reason,
            format!("subscriber too slow; resume from id {received}")
        );
        finish(stuck).await;
        server.shut_down().await.unwrap();
    }
}
