//! The embedded broker behind `pubcat serve`: one port, topics are URL paths.
//!
//! | request | answer |
//! |---|---|
//! | `GET /_/health` | `200 ok` |
//! | `GET /_/metrics` | the same numbers in the Prometheus text format (see [`metrics`]) |
//! | `GET /_/stats` | JSON: `{"connections": N, "transports": {"ws", "sse", "poll", "stomp", "sockjs"}, "topics": [{"topic", "last_id", "subscribers", "history", "history_bytes"}], "queues": [{"queue", "ready", "unacked", "consumers"}], "refused": {…}, "evicted": {…}, "removed": {…}, "kept_bytes": N, "slow_subscribers": {"dropped", "waited_ms"}}` (see [`bounds`]), and under `--chaos-cut` `"chaos": {"cuts_reset", "cuts_clean", "cuts_bare"}` (see [`chaos`]) |
//! | `GET /_/stomp` + WebSocket upgrade | STOMP 1.2 (see [`stomp`]); subprotocol `v12.stomp`, `v11.stomp` or `v10.stomp` when offered |
//! | `/_/sockjs/…` | STOMP 1.2 over SockJS: info, websocket, xhr-streaming, xhr-polling, xhr_send (see [`sockjs`]) |
//! | `GET /{topic}` + WebSocket upgrade | subscribe and publish on `topic` (see below, [`topic`], [`ws`]) |
//! | `GET /{topic}` + `Accept: text/event-stream` | SSE (see [`http_sub`]) |
//! | `GET /{topic}` otherwise | long-poll in the Nchan convention (see [`http_sub`]) |
//! | `POST /{topic}` | publish the body; `200 {"id": N}`; `413` over `max_message_size` (see [`publish`]) |
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
//! transport. The only subprotocol chosen on topic paths is Nchan's
//! `ws+meta.nchan` (each message behind an `id:` header block), when the
//! client offers it.
//!
//! The slow-subscriber policy is in [`broker`].
//!
//! This file is the router and the lifecycle (bind, serve, shut down
//! gracefully: [`shutdown`]); the WebSocket handshake is [`upgrade`], the
//! topic routes [`topic`] and HTTP publishing [`publish`].

mod auth;
mod bounds;
pub mod broker;
mod chaos;
mod http_sub;
mod listen;
mod metrics;
mod origin;
mod peer;
mod publish;
pub mod queue;
mod registry;
mod shutdown;
mod socket;
mod sockjs;
mod stomp;
pub(crate) mod store;
#[cfg(test)]
mod test_support;
mod topic;
mod upgrade;
mod ws;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub use auth::Tokens;
use broker::{Broker, BrokerConfig};
pub use chaos::{Chaos, Span};
use queue::{QueueLimits, Queues};
use shutdown::Shutdown;
use upgrade::{Handshake, handshake, header_has_token, socket};

/// How the broker runs. Defaults live in the CLI, not here.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Every address to listen on, one port for all (port 0: any free one).
    pub listen: Vec<SocketAddr>,
    /// Per-topic history ring size.
    pub history: usize,
    /// Per-topic (and per-queue) bytes kept.
    pub history_bytes: usize,
    /// Bytes kept by all topics and queues together.
    pub history_total: usize,
    /// How long history is kept; None: as long as there is room.
    pub retain_for: Option<Duration>,
    /// Most topics (and, separately, work queues) at once.
    pub max_topics: usize,
    /// Bytes one STOMP connection's open transactions may hold.
    pub transaction_bytes: usize,
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
    /// Web origins allowed besides loopback ones (`*`: any); see [`origin`].
    pub allow_origins: Vec<String>,
    /// Host names a loopback broker answers to besides loopback ones.
    pub allow_hosts: Vec<String>,
    /// How long a connection has to send a request head (and a body may
    /// stall); see [`listen`].
    pub request_timeout: Duration,
    /// Open connections one client address may hold (0: no cap).
    pub max_connections_per_ip: usize,
    /// Open connections in all (0: no cap): the open-file limit less a
    /// reserve, so the broker can still accept, answer and log.
    pub max_connections: usize,
    /// Serve TLS (wss://, https://) on every connection.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The tokens clients must present (none: open); see [`auth`].
    pub tokens: auth::Tokens,
    /// Keep topics' history and queues' messages here (`--data-dir`), and
    /// how safely; see [`store`].
    pub data_dir: Option<(std::path::PathBuf, store::Fsync)>,
    /// Print a summary line every [`SUMMARY_EVERY`] on a terminal when
    /// something happened (dimmed when true); None: never.
    pub summary: Option<bool>,
    /// `--chaos-*`: cuts, delays, bare closes (none by default); see
    /// [`chaos`].
    pub chaos: Chaos,
}

/// How often `serve` sums up on a terminal.
const SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// A listening broker, not yet serving: the caller can print the addresses
/// (port 0 picks one) before [`Bound::run`].
pub struct Bound {
    listeners: Vec<TcpListener>,
    addrs: Vec<SocketAddr>,
    cfg: ServerConfig,
    broker: Arc<Broker>,
    queues: Arc<Queues>,
    store: Option<Arc<store::Store>>,
    /// What the data directory gave back, for the caller to report.
    restored: Restored,
}

/// What `--data-dir` gave back at start.
#[derive(Debug, Default)]
pub struct Restored {
    pub topics: usize,
    pub messages: usize,
    pub queued: usize,
    /// One line per problem found in the files (a torn tail cut off).
    pub warnings: Vec<String>,
}

/// Listen on every address of `cfg.listen` (see [`listen::bind_all`]).
pub async fn bind(cfg: ServerConfig) -> std::io::Result<Bound> {
    let listeners = listen::bind_all(&cfg.listen)?;
    let addrs = listeners
        .iter()
        .map(TcpListener::local_addr)
        .collect::<std::io::Result<Vec<_>>>()?;
    let counters: Arc<bounds::Counters> = Arc::default();
    let (store, recovered) = match &cfg.data_dir {
        Some((dir, fsync)) => {
            let (store, recovered) = store::Store::open(dir, *fsync)?;
            (Some(Arc::new(store)), Some(recovered))
        }
        None => (None, None),
    };
    let persist = store.as_ref().map(|store| {
        let kept = recovered.as_ref().and_then(|r| r.epoch);
        let epoch = kept.unwrap_or_else(|| {
            let e = crate::random::u64();
            store.append(&crate::codec::log::Record::Epoch(e));
            e
        });
        broker::Persist {
            store: Arc::clone(store),
            epoch,
        }
    });
    let broker = Arc::new(Broker::with_store(
        BrokerConfig {
            history: cfg.history,
            history_bytes: cfg.history_bytes,
            history_total: cfg.history_total,
            retain_for: cfg.retain_for,
            max_topics: cfg.max_topics,
            queue: cfg.queue,
            slow_timeout: cfg.slow_timeout,
        },
        Arc::clone(&counters),
        persist,
    ));
    let limits = QueueLimits {
        max: cfg.max_topics,
        bytes: cfg.history_bytes,
        total: cfg.history_total,
    };
    let queues = Arc::new(Queues::new(limits, counters, store.clone()));
    let mut restored = Restored::default();
    if let Some(recovered) = recovered {
        restored.warnings = recovered.warnings;
        for (name, topic) in recovered.topics {
            restored.topics += 1;
            restored.messages += topic.messages.len();
            let messages = topic.messages.into_iter().collect();
            if broker.restore(&name, topic.last_id, messages).is_err() {
                restored
                    .warnings
                    .push(format!("topic {name} not restored: --max-topics reached"));
            }
        }
        if recovered.epoch.is_some() {
            broker.restored();
        }
        for (name, messages) in recovered.queues {
            restored.queued += messages.len();
            if queues
                .restore(&name, messages.into_values().collect())
                .is_err()
            {
                restored
                    .warnings
                    .push(format!("queue {name} not restored: --max-topics reached"));
            }
        }
    }
    Ok(Bound {
        listeners,
        addrs,
        cfg,
        broker,
        queues,
        store,
        restored,
    })
}

impl Bound {
    /// The first address listened on (the only one, unless a name was
    /// given).
    pub fn local_addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Every address listened on.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// What `--data-dir` gave back.
    pub fn restored(&self) -> &Restored {
        &self.restored
    }

    /// The broker core, for the tests.
    #[cfg(test)]
    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// Serve until `shutdown` resolves, then close every WebSocket with 1001
    /// (going away) and return.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = Shutdown::new();
        let open = Arc::new(Open::default());
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(self.cfg.max_message_size))
            .max_frame_size(Some(self.cfg.max_message_size))
            // tungstenite's 128 KiB defaults cost ~137 KB per idle
            // connection; these keep it near 10 KB while still batching
            // writes (performance.md).
            .read_buffer_size(8 * 1024)
            .write_buffer_size(16 * 1024);
        let cuts = Arc::new(chaos::Cuts::new(self.cfg.quiet));
        let gate = listen::Gate::new(self.cfg.max_connections_per_ip, self.cfg.max_connections);
        let sweeper = tokio::spawn(sweep(
            Arc::clone(&self.broker),
            Arc::clone(&self.queues),
            self.store.clone(),
            self.cfg.quiet,
        ));

        let app = App(Arc::new(AppInner {
            broker: Arc::clone(&self.broker),
            queues: Arc::clone(&self.queues),
            sockjs: sockjs::Sessions::default(),
            loopback_only: self.addrs.iter().all(|a| a.ip().is_loopback()),
            cfg: self.cfg,
            ws_config,
            shutdown: stop_rx,
            open: Arc::clone(&open),
            gate: Arc::clone(&gate),
            cuts,
        }));
        let summer = app
            .0
            .cfg
            .summary
            .map(|dim| tokio::spawn(summarize(app.clone(), dim)));
        let router = Router::new()
            .route("/_/health", get(health))
            .route("/_/stats", get(stats))
            .route("/_/metrics", get(metrics))
            .route("/_/stomp", get(stomp_endpoint))
            .route("/_/sockjs", any(sockjs::route))
            .route("/_/sockjs/{*rest}", any(sockjs::route))
            .route("/{*topic}", get(topic::topic_get).post(publish::topic_post))
            .fallback(not_found)
            .layer(axum::middleware::from_fn_with_state(
                app.clone(),
                auth::check,
            ))
            .layer(axum::middleware::from_fn_with_state(
                app.clone(),
                origin::check,
            ))
            .with_state(app.clone());
        let loops = self.listeners.into_iter().map(|listener| {
            listen::accept_loop(listener, router.clone(), Arc::clone(&gate), app.clone())
        });
        // Shutdown reaches the accept loops, the HTTP connections and the
        // WebSocket tasks alike, through the one flag.
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        futures_util::future::join_all(loops).await;
        // HTTP is done; wait for the WebSockets to finish closing.
        let _ = open.all.subscribe().wait_for(|n| *n == 0).await;
        sweeper.abort();
        if let Some(summer) = summer {
            summer.abort();
        }
        Ok(())
    }
}

/// Expire history and remove idle topics and queues, for ever.
async fn sweep(
    broker: Arc<Broker>,
    queues: Arc<Queues>,
    store: Option<Arc<store::Store>>,
    quiet: bool,
) {
    let mut every = tokio::time::interval(broker.sweep_every());
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A compaction runs beside the sweeps (a slow disk must not stop
    // history from expiring), one at a time.
    let mut compaction: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        every.tick().await;
        broker.sweep();
        queues.sweep();
        let Some(store) = &store else { continue };
        if compaction.as_ref().is_some_and(|c| !c.is_finished()) || !store.wants_compaction() {
            continue;
        }
        let (broker, queues, store) = (Arc::clone(&broker), Arc::clone(&queues), Arc::clone(store));
        compaction = Some(tokio::spawn(async move {
            if let Err(e) = compact(&broker, &queues, &store).await
                && !quiet
            {
                crate::log::line(format_args!(
                    "pubcat: warning: compacting the data directory failed: {e}"
                ));
            }
        }));
    }
}

/// Every [`SUMMARY_EVERY`], when something happened: a line for whoever
/// watches the terminal (connections now, messages since the last line).
async fn summarize(app: App, dim: bool) {
    let mut every = tokio::time::interval(SUMMARY_EVERY);
    every.tick().await;
    let mut last = (0u64, 0u64);
    loop {
        every.tick().await;
        let stats = bounds::stats(&app.0.broker, &app.0.queues);
        let now = (stats.messages.published, stats.messages.fanned_out);
        if now == last {
            continue;
        }
        crate::log::tty_status(
            dim,
            format_args!(
                "{} open connections; {} published, {} sent to subscribers in the last {}s; {} topics",
                app.0.gate.open(),
                now.0 - last.0,
                now.1 - last.1,
                SUMMARY_EVERY.as_secs(),
                app.0.broker.topic_count(),
            ),
        );
        last = now;
    }
}

/// Replace the data directory's logs with a snapshot of what the broker
/// keeps now (see [`store`]): appends go on meanwhile, to the new
/// generation's log.
async fn compact(
    broker: &Broker,
    queues: &Queues,
    store: &Arc<store::Store>,
) -> std::io::Result<()> {
    let generation = store.rotate().await?;
    let mut records = broker.snapshot().await;
    records.extend(queues.snapshot());
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || store.write_snapshot(generation, &records))
        .await
        .map_err(std::io::Error::other)?
}

#[derive(Clone)]
struct App(Arc<AppInner>);

struct AppInner {
    broker: Arc<Broker>,
    queues: Arc<Queues>,
    sockjs: sockjs::Sessions,
    cfg: ServerConfig,
    ws_config: WebSocketConfig,
    shutdown: Shutdown,
    /// Open connections, so `run` can wait for their close.
    open: Arc<Open>,
    /// Every address listened on is a loopback one (see [`origin`]).
    loopback_only: bool,
    /// Open connections by client address; see [`listen`].
    gate: Arc<listen::Gate>,
    /// The chaos cuts made so far.
    cuts: Arc<chaos::Cuts>,
}

/// What a subscriber (or STOMP client) came over: the label of its count
/// in `/_/stats` and `/_/metrics`.
#[derive(Clone, Copy)]
enum Transport {
    Ws,
    Sse,
    Poll,
    Stomp,
    SockJs,
}

impl Transport {
    const ALL: [Transport; 5] = [
        Transport::Ws,
        Transport::Sse,
        Transport::Poll,
        Transport::Stomp,
        Transport::SockJs,
    ];

    fn name(self) -> &'static str {
        match self {
            Transport::Ws => "ws",
            Transport::Sse => "sse",
            Transport::Poll => "poll",
            Transport::Stomp => "stomp",
            Transport::SockJs => "sockjs",
        }
    }
}

/// Open connections: in all, watched so that `run` can wait for their
/// close, and by transport.
#[derive(Default)]
struct Open {
    all: watch::Sender<usize>,
    by: [AtomicUsize; Transport::ALL.len()],
}

impl Open {
    fn by_transport(&self) -> BTreeMap<&'static str, usize> {
        Transport::ALL
            .iter()
            .map(|&t| (t.name(), self.by[t as usize].load(Ordering::Relaxed)))
            .collect()
    }
}

/// Counts one connection as open for as long as it lives.
struct OpenGuard(Arc<Open>, Transport);

impl OpenGuard {
    fn new(open: &Arc<Open>, transport: Transport) -> OpenGuard {
        open.by[transport as usize].fetch_add(1, Ordering::Relaxed);
        open.all.send_modify(|n| *n += 1);
        OpenGuard(Arc::clone(open), transport)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.by[self.1 as usize].fetch_sub(1, Ordering::Relaxed);
        self.0.all.send_modify(|n| *n -= 1);
    }
}

async fn health() -> Response {
    text(StatusCode::OK, "ok\n")
}

#[derive(Serialize)]
struct Stats {
    connections: usize,
    /// Of `connections`, by what they came over.
    transports: BTreeMap<&'static str, usize>,
    /// Connections refused over a cap ([`listen`]).
    refused_connections: u64,
    topics: Vec<broker::TopicStats>,
    queues: Vec<queue::QueueStats>,
    #[serde(flatten)]
    bounds: bounds::BoundsStats,
    /// Under `--chaos-cut`: the cuts made ([`chaos`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    chaos: Option<chaos::CutStats>,
}

fn stats_of(app: &App) -> Stats {
    Stats {
        connections: *app.0.open.all.borrow(),
        transports: app.0.open.by_transport(),
        refused_connections: app.0.gate.refused(),
        topics: app.0.broker.stats(),
        queues: app.0.queues.stats(),
        bounds: bounds::stats(&app.0.broker, &app.0.queues),
        chaos: app.0.cfg.chaos.cut.map(|_| app.0.cuts.stats()),
    }
}

async fn stats(State(app): State<App>) -> Response {
    match serde_json::to_vec(&stats_of(&app)) {
        Ok(mut body) => {
            body.push(b'\n');
            json(body)
        }
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("stats: {e}\n")),
    }
}

/// `/_/stats` in the Prometheus text format (see [`metrics`]).
async fn metrics(State(app): State<App>) -> Response {
    match serde_json::to_value(stats_of(&app)) {
        Ok(stats) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            )],
            metrics::render(&stats),
        )
            .into_response(),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("metrics: {e}\n")),
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
    } = match handshake(&mut req, &crate::codec::stomp::SUBPROTOCOLS) {
        Ok(h) => h,
        Err(refusal) => return *refusal,
    };
    let who = format!("{peer} {path}");
    let open = OpenGuard::new(&app.0.open, Transport::Stomp);
    let rights = auth::rights_of(&req);
    let ends = ends_of(&app, &req);
    tokio::spawn(async move {
        if let Some(ws) = socket(&app, on_upgrade, &who).await {
            let peer = peer::Peer::Ws(Box::new(ws));
            run_stomp(app, peer, who, open, rights, ends).await;
        }
    });
    response
}

/// Serve a STOMP connection, counted open by `open`, until `ends` (the
/// broker's shutdown or the connection's chaos cut); one that has not
/// closed within the shutdown grace is dropped. `rights`: those of the
/// HTTP request's token (None: CONNECT's passcode decides).
async fn run_stomp(
    app: App,
    peer: peer::Peer,
    who: String,
    open: OpenGuard,
    rights: Option<auth::Rights>,
    ends: Shutdown,
) {
    let _open = open;
    let mut shutdown = app.0.shutdown.clone();
    tokio::select! {
        _ = stomp::serve(app.clone(), peer, who.clone(), rights, ends) => {}
        _ = shutdown.grace_over() => app.log_conn(format_args!(
            "stomp close {who} (server shutting down; client did not close in time)"
        )),
    }
}

/// When what serves `req` ends: the broker's shutdown, or its
/// connection's chaos cut (see [`listen`]).
fn ends_of(app: &App, req: &Request) -> Shutdown {
    req.extensions()
        .get::<Shutdown>()
        .cloned()
        .unwrap_or_else(|| app.0.shutdown.clone())
}

impl App {
    fn log(&self, line: std::fmt::Arguments<'_>) {
        if !self.0.cfg.quiet {
            crate::log::line(format_args!("pubcat: {line}"));
        }
    }

    /// A connection's open or close (or a handshake that failed): one line
    /// each, at `-v` only, since a busy broker would otherwise write two
    /// lines per client to a terminal nobody reads them on.
    fn log_conn(&self, line: std::fmt::Arguments<'_>) {
        if crate::log::level() >= 1 {
            self.log(line);
        }
    }

    /// Log a refusal by a limit, throttled (see [`bounds::Counters::may_log`]).
    fn log_refusal(&self, line: std::fmt::Arguments<'_>) {
        if let Some(held) = self.0.broker.counters().may_log() {
            match held {
                0 => self.log(format_args!("refused: {line}")),
                n => self.log(format_args!(
                    "refused: {line} ({n} more refused since the last line)"
                )),
            }
        }
    }
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
    use bytes::Bytes;
    use futures_util::SinkExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::timeout;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    use super::test_support::*;

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

    /// A page from another site is refused before anything happens: no
    /// WebSocket, no replay, nothing published. Loopback pages and
    /// clients without an Origin are served.
    #[tokio::test]
    async fn foreign_web_origins_are_refused_and_loopback_ones_served() {
        let server = start(|_| {}).await;
        let addr = server.addr;
        let upgrade = |origin: &str| {
            format!(
                "GET /t?since=0 HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                 Origin: {origin}"
            )
        };
        let post = |origin: &str| {
            format!(
                "POST /t HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nOrigin: {origin}"
            )
        };
        for evil in [
            "http://evil.example",
            "null",
            "http://localhost.evil.example",
        ] {
            assert_eq!(http(addr, &upgrade(evil), b"").await.0, 403, "{evil}");
            assert_eq!(http(addr, &post(evil), b"hi").await.0, 403, "{evil}");
            let sse = format!("GET /t HTTP/1.1\r\nAccept: text/event-stream\r\nOrigin: {evil}");
            assert_eq!(http(addr, &sse, b"").await.0, 403, "{evil}");
            let sockjs = format!("GET /_/sockjs/info HTTP/1.1\r\nOrigin: {evil}");
            assert_eq!(http(addr, &sockjs, b"").await.0, 403, "{evil}");
        }
        assert_eq!(server.broker.last_id("t"), 0, "a refused POST published");
        // DNS rebinding: the page's own name, same-origin, no Origin.
        let rebound = raw_status(addr, "GET /t?since=0 HTTP/1.1\r\nHost: attacker.example:7878\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n").await;
        assert_eq!(rebound, 403);
        assert_eq!(
            http(addr, &post("http://localhost:3000"), b"hi").await.0,
            200
        );
        assert_eq!(post_plain(addr).await, 200);
        assert_eq!(server.broker.last_id("t"), 2);
        let mut ws = client(addr, "/t?since=0").await;
        assert_eq!(next(&mut ws).await, Message::Text("hi".into()));
        server.shut_down().await.unwrap();
    }

    /// Compaction keeps what the broker keeps (history, heads, queued
    /// messages, the epoch) and drops the rest; a broker started on the
    /// directory after it has exactly that, and goes on with the ids.
    #[tokio::test]
    async fn a_compacted_data_directory_restores_what_the_broker_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = || {
            let mut cfg = config();
            cfg.history = 3;
            cfg.data_dir = Some((dir.path().to_path_buf(), store::Fsync::Always));
            cfg
        };
        let bound = bind(cfg()).await.unwrap();
        for i in 1..=5 {
            let id = bound
                .broker
                .publish("t", Bytes::from(format!("m{i}")), false, None)
                .await
                .unwrap();
            assert_eq!(id, i);
        }
        let jobs = bound.queues.queue("jobs").unwrap();
        for job in ["j1", "j2"] {
            let ticket = jobs
                .publish(broker::Payload::Text(job.into()), Vec::new())
                .unwrap();
            jobs.confirmed(ticket).await.unwrap();
        }
        drop(jobs);
        let epoch = bound.broker.topic("t").unwrap().epoch();
        let store = bound.store.clone().unwrap();
        compact(&bound.broker, &bound.queues, &store).await.unwrap();
        drop((store, bound));
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n != "lock")
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(names, ["00000001.log", "00000001.snap"]);

        let bound = bind(cfg()).await.unwrap();
        let restored = bound.restored();
        assert_eq!(
            (restored.topics, restored.messages, restored.queued),
            (1, 3, 2)
        );
        let t = bound.broker.topic("t").unwrap();
        assert_eq!(t.epoch(), epoch);
        let kept: Vec<(u64, String)> = t
            .history_after(0)
            .messages
            .iter()
            .map(|m| (m.id, String::from_utf8_lossy(m.body()).to_string()))
            .collect();
        assert_eq!(kept, [(3, "m3".into()), (4, "m4".into()), (5, "m5".into())]);
        drop(t);
        let id = bound
            .broker
            .publish("t", Bytes::from_static(b"m6"), false, None)
            .await
            .unwrap();
        assert_eq!(id, 6);
        assert_eq!(bound.queues.stats()[0].ready, 2);
    }

    /// The status of the answer to a request sent byte for byte.
    async fn raw_status(addr: SocketAddr, request: &str) -> u16 {
        raw_head(addr, request).await[9..12].parse().unwrap()
    }

    /// The head of the answer to a request sent byte for byte, lowercase.
    async fn raw_head(addr: SocketAddr, request: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            tokio::time::timeout(LIMIT, s.read_exact(&mut byte))
                .await
                .unwrap()
                .unwrap();
            head.push(byte[0]);
        }
        String::from_utf8_lossy(&head).to_ascii_lowercase()
    }

    /// An allowed page gets CORS: its preflight is answered, every answer
    /// names it and exposes the resume headers. A foreign page's preflight
    /// is refused like its requests.
    #[tokio::test]
    async fn allowed_pages_get_cors_and_their_preflights_answered() {
        let server = start(|cfg| cfg.allow_origins = vec!["https://app.example".into()]).await;
        let addr = server.addr;
        for origin in ["http://localhost:3000", "https://app.example"] {
            let preflight = format!(
                "OPTIONS /t HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {origin}\r\n\
                 Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: last-event-id\r\n\r\n"
            );
            let head = raw_head(addr, &preflight).await;
            assert!(head.starts_with("http/1.1 204"), "{head}");
            assert!(
                head.contains(&format!("access-control-allow-origin: {origin}\r\n")),
                "{head}"
            );
            assert!(
                head.contains("access-control-allow-headers: last-event-id, "),
                "{head}"
            );
            let get = format!(
                "GET /t?since=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {origin}\r\nAccept: text/event-stream\r\n\r\n"
            );
            let head = raw_head(addr, &get).await;
            assert!(head.starts_with("http/1.1 200"), "{head}");
            assert!(
                head.contains(&format!("access-control-allow-origin: {origin}\r\n")),
                "{head}"
            );
            assert!(head.contains("access-control-expose-headers: etag, last-modified, x-pubcat-ids, x-pubcat-epoch"), "{head}");
            assert!(head.contains("vary: origin"), "{head}");
        }
        let foreign = "OPTIONS /t HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\n\
             Access-Control-Request-Method: POST\r\n\r\n";
        let head = raw_head(addr, foreign).await;
        assert!(head.starts_with("http/1.1 403"), "{head}");
        assert!(!head.contains("access-control-allow-origin"), "{head}");
        // No Origin, no CORS: curl and pubcat see the answers as before.
        let head = raw_head(addr, "GET /_/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
        assert!(!head.contains("access-control"), "{head}");
        server.shut_down().await.unwrap();
    }

    async fn post_plain(addr: SocketAddr) -> u16 {
        post(addr, "/t", "text/plain", b"hi").await.0
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

    /// A server whose subscribers have queues of 2 and are dropped after
    /// 50 ms without taking from a full one.
    async fn start_dropping_soon() -> Server {
        start(|cfg| {
            cfg.queue = 2;
            cfg.slow_timeout = Duration::from_millis(50);
        })
        .await
    }

    /// Publish messages of `size` bytes on `topic` until the broker drops
    /// its one subscriber; the last id published.
    async fn publish_until_dropped(server: &Server, topic: &str, size: usize) -> u64 {
        let topic = server.broker.topic(topic).unwrap();
        assert_eq!(topic.stats().subscribers, 1);
        let mut published = 0u64;
        while topic.stats().subscribers > 0 {
            assert!(published < 20_000, "never dropped");
            let body = Bytes::from(vec![b'x'; size]);
            published = topic
                .publish(broker::Payload::new(body, false), None)
                .await
                .unwrap();
        }
        published
    }

    /// A client that stops reading is dropped; it reads again only after
    /// a pause longer than a close normally gets (`CLOSE_GRACE`, which cut
    /// such a client off with nothing but a reset): what was written
    /// before the drop, in order, then the close that says where to resume.
    #[tokio::test]
    async fn a_ws_client_that_stops_reading_for_a_while_is_closed_with_1013_and_its_resume_id() {
        let server = start_dropping_soon().await;
        let mut stuck = client(server.addr, "/firehose").await;
        // Socket buffers fill first, then its queue.
        let published = publish_until_dropped(&server, "firehose", 64 * 1024).await;
        // The client's pause, which is what is tested here.
        tokio::time::sleep(ws::CLOSE_GRACE + Duration::from_secs(1)).await;
        let mut received = 0u64;
        let reason = loop {
            match next(&mut stuck).await {
                Message::Text(_) => received += 1,
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
        let dropped = &server.broker.counters().slow_dropped;
        assert_eq!(dropped.load(std::sync::atomic::Ordering::Relaxed), 1);
        server.shut_down().await.unwrap();
    }

    /// An SSE client that stops reading is dropped: its stream ends with
    /// an `event: overflow` whose id is the last event it was sent.
    #[tokio::test]
    async fn an_sse_client_that_stops_reading_gets_an_overflow_event_with_its_resume_id() {
        let server = start_dropping_soon().await;
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut sse = socket.connect(server.addr).await.unwrap();
        let head = format!(
            "GET /feed HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n",
            server.addr
        );
        sse.write_all(head.as_bytes()).await.unwrap();
        let mut raw = vec![0u8; 1024];
        let n = timeout(LIMIT, sse.read(&mut raw)).await.unwrap().unwrap();
        raw.truncate(n);
        let published = publish_until_dropped(&server, "feed", 16 * 1024).await;
        timeout(LIMIT, sse.read_to_end(&mut raw))
            .await
            .unwrap()
            .unwrap();
        let raw = String::from_utf8(raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let body = dechunk(body);
        let events: Vec<&str> = body.split_terminator("\n\n").collect();
        assert_eq!(events[..2], ["retry: 500", "id: 0"]);
        let ids: Vec<u64> = events[2..events.len() - 1]
            .iter()
            .map(|e| e.strip_prefix("id: ").unwrap().split_once('\n').unwrap().0)
            .map(|id| id.parse().unwrap())
            .collect();
        let last = ids.len() as u64;
        assert_eq!(ids, (1..=last).collect::<Vec<_>>());
        assert!(last < published, "{last} of {published}");
        let end = events[events.len() - 1];
        let overflow = format!(
            "event: overflow\nid: {last}\ndata: subscriber too slow; resume from id {last}"
        );
        assert!(end == overflow, "the stream ended with {:.80}", end);
        server.shut_down().await.unwrap();
    }

    /// An HTTP/1.1 chunked body, its chunks joined.
    fn dechunk(mut body: &str) -> String {
        let mut out = String::new();
        loop {
            let (size, rest) = body.split_once("\r\n").expect("a chunk size");
            let size = usize::from_str_radix(size, 16).unwrap();
            if size == 0 {
                return out;
            }
            out.push_str(&rest[..size]);
            body = &rest[size + 2..];
        }
    }
}
