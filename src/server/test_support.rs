//! What the broker's unit tests share: a server on a free port, a
//! WebSocket client, raw HTTP requests, all bounded by [`LIMIT`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::broker::Broker;
use super::{ServerConfig, bind};

pub(in crate::server) const LIMIT: Duration = Duration::from_secs(20);

pub(in crate::server) type Client = WebSocketStream<TcpStream>;

pub(in crate::server) struct Server {
    pub(in crate::server) addr: SocketAddr,
    pub(in crate::server) broker: Arc<Broker>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Resolve the shutdown future given to `run`.
    pub(in crate::server) fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Trigger shutdown and wait (bounded) for `run` to return.
    pub(in crate::server) async fn shut_down(mut self) -> std::io::Result<()> {
        self.stop();
        timeout(LIMIT, &mut self.task)
            .await
            .expect("run returned")
            .expect("run task")
    }
}

/// The configuration the tests start from.
pub(in crate::server) fn config() -> ServerConfig {
    ServerConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        history: 100,
        history_bytes: 16 << 20,
        history_total: 64 << 20,
        retain_for: None,
        max_topics: 1000,
        transaction_bytes: 1 << 20,
        queue: 64,
        slow_timeout: Duration::from_secs(5),
        max_message_size: 1 << 20,
        quiet: true,
        poll_timeout: Duration::from_millis(300),
        sockjs_heartbeat: crate::codec::sockjs::DEFAULT_HEARTBEAT,
        allow_origins: Vec::new(),
        allow_hosts: Vec::new(),
        request_timeout: Duration::from_secs(10),
        max_connections_per_ip: 0,
        max_connections: 0,
        tls: None,
        data_dir: None,
        summary: None,
        tokens: Default::default(),
        chaos: Default::default(),
    }
}

pub(in crate::server) async fn start(tweak: impl FnOnce(&mut ServerConfig)) -> Server {
    let mut cfg = config();
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

pub(in crate::server) async fn client(addr: SocketAddr, path: &str) -> Client {
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
pub(in crate::server) async fn next(ws: &mut Client) -> Message {
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
pub(in crate::server) async fn finish(mut ws: Client) {
    let end = timeout(LIMIT, async { while let Some(Ok(_)) = ws.next().await {} }).await;
    assert!(end.is_ok(), "the close handshake did not finish");
}

/// A raw HTTP/1.1 request: (status, body).
pub(in crate::server) async fn http(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, String) {
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

pub(in crate::server) async fn post(
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
