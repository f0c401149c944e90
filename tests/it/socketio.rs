//! Socket.IO behaviour that needs no real Socket.IO server: a scripted
//! Engine.IO server on 127.0.0.1 (polling on axum, WebSocket on
//! tokio-tungstenite) drives pubcat into the cases a well-behaved server
//! never shows: silence, refusals, kicks, broken packets, a tiny maxPayload.
//! The real socket.io server is in tests/interop/socketio.rs.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::common::{self, assert_code, pubcat};

const LIMIT: Duration = Duration::from_secs(60);

/// What the scripted server does.
#[derive(Clone)]
struct Script {
    ping_interval_ms: u64,
    ping_timeout_ms: u64,
    max_payload: usize,
    /// Packets (Engine.IO text form) sent when the client's CONNECT arrives.
    on_connect: Vec<String>,
    /// Send a ping right away (to see it answered).
    ping_first: bool,
    /// WebSocket only: ping this often.
    ping_every: Option<Duration>,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
            max_payload: 1_000_000,
            on_connect: vec![r#"40{"sid":"fake-socket"}"#.into()],
            ping_first: false,
            ping_every: None,
        }
    }
}

impl Script {
    fn open(&self, upgrades: &str) -> String {
        format!(
            r#"0{{"sid":"fake-sid","upgrades":[{upgrades}],"pingInterval":{},"pingTimeout":{},"maxPayload":{}}}"#,
            self.ping_interval_ms, self.ping_timeout_ms, self.max_payload
        )
    }
}

/// What the server saw.
#[derive(Default)]
struct Seen {
    /// Every packet the client sent, in order.
    packets: Mutex<Vec<String>>,
    post_sizes: Mutex<Vec<usize>>,
    gets_now: AtomicUsize,
    gets_max: AtomicUsize,
    posts_now: AtomicUsize,
    posts_max: AtomicUsize,
}

impl Seen {
    fn packets(&self) -> Vec<String> {
        self.packets.lock().unwrap().clone()
    }

    /// Wait (bounded) until a packet satisfying `f` was received.
    fn wait_for(&self, what: &str, f: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + LIMIT;
        while !self.packets().iter().any(|p| f(p)) {
            assert!(
                Instant::now() < deadline,
                "the server never got {what}: {:?}",
                self.packets()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

struct Fake {
    script: Script,
    seen: Arc<Seen>,
    outbox: Mutex<VecDeque<String>>,
    wake: tokio::sync::Notify,
}

impl Fake {
    fn push(&self, packets: &[String]) {
        self.outbox.lock().unwrap().extend(packets.iter().cloned());
        self.wake.notify_waiters();
        self.wake.notify_one();
    }

    fn received(&self, packet: &str) {
        self.seen.packets.lock().unwrap().push(packet.to_string());
        if packet.starts_with("40") {
            self.push(&self.script.on_connect);
        }
    }
}

fn bump(now: &AtomicUsize, max: &AtomicUsize) {
    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
    max.fetch_max(n, Ordering::SeqCst);
}

/// A polling-only Engine.IO server; returns its address and what it saw.
fn polling_server(script: Script) -> (SocketAddr, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let fake = Arc::new(Fake {
        script: script.clone(),
        seen: seen.clone(),
        outbox: Mutex::new(VecDeque::new()),
        wake: tokio::sync::Notify::new(),
    });
    if script.ping_first {
        fake.push(&["2".to_string()]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = Router::new()
                .route("/socket.io/", get(poll_get).post(poll_post))
                .with_state(fake);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (rx.recv().unwrap(), seen)
}

async fn poll_get(
    State(fake): State<Arc<Fake>>,
    Query(q): Query<HashMap<String, String>>,
) -> String {
    if !q.contains_key("sid") {
        return fake.script.open("");
    }
    bump(&fake.seen.gets_now, &fake.seen.gets_max);
    let body = loop {
        let notified = fake.wake.notified();
        {
            let mut out = fake.outbox.lock().unwrap();
            if !out.is_empty() {
                break out.drain(..).collect::<Vec<_>>().join("\x1e");
            }
        }
        // Hold the request, as a real server does, until there is something
        // to send; never ping.
        notified.await;
    };
    fake.seen.gets_now.fetch_sub(1, Ordering::SeqCst);
    body
}

async fn poll_post(State(fake): State<Arc<Fake>>, body: String) -> &'static str {
    bump(&fake.seen.posts_now, &fake.seen.posts_max);
    fake.seen.post_sizes.lock().unwrap().push(body.len());
    for packet in body.split('\x1e') {
        fake.received(packet);
    }
    // Hold each POST a moment, so a second one sent too early overlaps it.
    tokio::time::sleep(Duration::from_millis(2)).await;
    fake.seen.posts_now.fetch_sub(1, Ordering::SeqCst);
    "ok"
}

/// A WebSocket-only Engine.IO server (one client at a time).
fn websocket_server(script: Script) -> (SocketAddr, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let seen2 = seen.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    continue;
                };
                let _ = ws.send(Frame::Text(script.open("").into())).await;
                if script.ping_first {
                    let _ = ws.send(Frame::Text("2".into())).await;
                }
                let every = script.ping_every.unwrap_or(Duration::from_secs(3600));
                let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                loop {
                    let frame = tokio::select! {
                        frame = ws.next() => frame,
                        _ = ping.tick() => {
                            let _ = ws.send(Frame::Text("2".into())).await;
                            continue;
                        }
                    };
                    let Some(Ok(frame)) = frame else { break };
                    let Frame::Text(t) = frame else { continue };
                    seen2.packets.lock().unwrap().push(t.to_string());
                    if t.starts_with("40") {
                        for p in &script.on_connect {
                            let _ = ws.send(Frame::Text(p.clone().into())).await;
                        }
                    }
                }
            }
        });
    });
    (rx.recv().unwrap(), seen)
}

/// A scripted server's constructor: its address and what it saw.
type Server = fn(Script) -> (SocketAddr, Arc<Seen>);

/// Both scripted servers, each with the `--transport` that reaches it.
const SERVERS: [(Server, &str); 2] = [(polling_server, "poll"), (websocket_server, "ws")];

fn run(args: &[&str]) -> std::process::Output {
    common::run_within(args, LIMIT)
}

#[test]
fn a_server_that_stops_pinging_is_a_dead_connection_exit_3() {
    let script = Script {
        ping_interval_ms: 300,
        ping_timeout_ms: 200,
        ..Script::default()
    };
    for (server, transport) in SERVERS {
        let (addr, _) = server(script.clone());
        let out = run(&[
            "sub",
            &format!("socketio+http://{addr}/"),
            "--transport",
            transport,
        ]);
        let stderr = assert_code(&out, 3);
        assert!(
            stderr.contains("no ping") && stderr.contains("500ms"),
            "{stderr}"
        );
    }
}

#[test]
fn pings_are_answered_with_pongs_on_both_transports() {
    let script = Script {
        ping_first: true,
        ..Script::default()
    };
    for (server, transport) in SERVERS {
        let (addr, seen) = server(script.clone());
        let mut child = pubcat()
            .args([
                "sub",
                &format!("socketio+http://{addr}/"),
                "--transport",
                transport,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seen.wait_for("a pong", |p| p == "3");
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[test]
fn a_paced_publisher_keeps_answering_pings_between_emits() {
    let script = Script {
        ping_every: Some(Duration::from_millis(100)),
        ..Script::default()
    };
    let (addr, seen) = websocket_server(script);
    let out = run(&[
        "pub",
        &format!("socketio+http://{addr}/"),
        "--transport",
        "ws",
        "--event",
        "slow",
        "x",
        "-n",
        "2",
        "--interval",
        "1s",
    ]);
    assert_code(&out, 0);
    let packets = seen.packets();
    let emits: Vec<usize> = (0..packets.len())
        .filter(|&i| packets[i] == r#"42["slow","x"]"#)
        .collect();
    assert_eq!(emits.len(), 2, "{packets:?}");
    let pongs_between = packets[emits[0]..emits[1]]
        .iter()
        .filter(|p| *p == "3")
        .count();
    assert!(
        pongs_between >= 5,
        "pings went unanswered while waiting: {packets:?}"
    );
}

#[test]
fn connect_error_exits_4_with_the_servers_message() {
    let script = Script {
        on_connect: vec![r#"44/private,{"message":"go away","data":{"why":"no token"}}"#.into()],
        ..Script::default()
    };
    let (addr, _) = polling_server(script);
    let out = run(&["sub", &format!("socketio+http://{addr}/private")]);
    let stderr = assert_code(&out, 4);
    assert!(
        stderr.contains("refused namespace /private: go away")
            && stderr.contains(r#"{"why":"no token"}"#),
        "{stderr}"
    );
}

#[test]
fn a_kick_from_the_server_exits_4_and_is_not_retried_by_tail() {
    let script = Script {
        on_connect: vec![r#"40{"sid":"s"}"#.into(), "41".into()],
        ..Script::default()
    };
    let (addr, seen) = polling_server(script);
    let out = run(&[
        "tail",
        &format!("socketio+http://{addr}/"),
        "--backoff-min",
        "10ms",
    ]);
    let stderr = assert_code(&out, 4);
    assert!(stderr.contains("kicked"), "{stderr}");
    let connects = seen
        .packets()
        .iter()
        .filter(|p| p.starts_with("40"))
        .count();
    assert_eq!(connects, 1, "tail reconnected after a kick: {stderr}");
}

#[test]
fn malformed_packets_exit_4_naming_the_problem() {
    for (bad, why) in [
        (r#"42{"not":"an array"}"#, "not an array"),
        (r#"42["connect"]"#, "reserved"),
        ("4x", "unknown Socket.IO packet type"),
        ("9", "unknown Engine.IO packet type"),
    ] {
        let script = Script {
            on_connect: vec![r#"40{"sid":"s"}"#.into(), bad.into()],
            ..Script::default()
        };
        let (addr, _) = polling_server(script);
        let out = run(&[
            "sub",
            &format!("socketio+http://{addr}/"),
            "--transport",
            "poll",
        ]);
        let stderr = assert_code(&out, 4);
        assert!(stderr.contains(why), "{bad}: {stderr}");
    }
}

#[test]
fn polling_sends_one_post_at_a_time_each_within_max_payload_and_loses_nothing() {
    let script = Script {
        max_payload: 200,
        ..Script::default()
    };
    let (addr, seen) = polling_server(script);
    let mut cmd = pubcat();
    cmd.args(["pub", &format!("socketio+http://{addr}/"), "--event", "n"])
        .stdout(Stdio::null());
    let input: String = (1..=500).map(|i| format!("line {i}\n")).collect();
    let (status, stderr) = common::run_with_input(cmd, input.as_bytes(), LIMIT);
    assert!(status.success(), "{stderr}");
    let emits: Vec<String> = seen
        .packets()
        .into_iter()
        .filter(|p| p.starts_with("42"))
        .collect();
    let want: Vec<String> = (1..=500)
        .map(|i| format!(r#"42["n","line {i}"]"#))
        .collect();
    assert_eq!(emits, want);
    let sizes = seen.post_sizes.lock().unwrap().clone();
    assert!(sizes.iter().all(|&s| s <= 200), "{sizes:?}");
    assert_eq!(
        seen.posts_max.load(Ordering::SeqCst),
        1,
        "two POSTs overlapped"
    );
    assert_eq!(
        seen.gets_max.load(Ordering::SeqCst),
        1,
        "two GETs overlapped"
    );
    let tail: Vec<String> = seen.packets().into_iter().rev().take(2).collect();
    assert_eq!(
        tail,
        vec!["1".to_string(), "41".to_string()],
        "DISCONNECT, then close"
    );
}

#[test]
fn server_ack_requests_are_answered_with_ack_reply_and_binary_arrives_byte_exact() {
    let script = Script {
        on_connect: vec![
            r#"40{"sid":"s"}"#.into(),
            r#"427["question","why?"]"#.into(),
            r#"451-["file",{"_placeholder":true,"num":0}]"#.into(),
            "bAAEC/w==".into(),
        ],
        ..Script::default()
    };
    let (addr, seen) = polling_server(script);
    let out = run(&[
        "sub",
        &format!("socketio+http://{addr}/"),
        "--ack-reply",
        r#"["yes",1]"#,
        "-n",
        "2",
        "-o",
        "raw",
    ]);
    let stderr = assert_code(&out, 0);
    assert_eq!(out.stdout, b"why?\n\x00\x01\x02\xff\n", "{stderr}");
    seen.wait_for("the ACK", |p| p == r#"437["yes",1]"#);
}

#[test]
fn socketio_flags_are_checked_before_connecting() {
    let port = common::closed_port();
    let url = format!("socketio+http://127.0.0.1:{port}/");
    for (args, why) in [
        (
            vec!["sub", &url, "--auth", "[1]"],
            "--auth must be a JSON object",
        ),
        (vec!["sub", &url, "--emit", "connect", "x"], "reserved"),
        (vec!["pub", &url, "--event", "disconnect", "x"], "reserved"),
        (vec!["sub", &url, "-t", "/topic/x"], "no destinations"),
        (
            vec!["sub", &url, "--transport", "sse"],
            "long-polling and WebSocket",
        ),
        (
            vec!["pub", &url, "--binary-file", "/nonexistent/file"],
            "cannot read --binary-file",
        ),
        (
            vec!["sub", "ws://127.0.0.1:1/x", "--emit", "join", "r"],
            "are for Socket.IO",
        ),
        (
            vec!["pub", "ws://127.0.0.1:1/x", "--event", "e", "x"],
            "are for Socket.IO",
        ),
    ] {
        let out = run(&args);
        let stderr = assert_code(&out, 2);
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    }
    let out = run(&["sub", &url]);
    assert_code(&out, 3);
}

#[test]
fn a_server_that_is_not_engineio_is_named_as_such() {
    let broker = common::Broker::start();
    let out = run(&[
        "sub",
        &format!("socketio+http://{}/", broker.addr),
        "--connect-timeout",
        "1s",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        matches!(out.status.code(), Some(3 | 4)) && stderr.contains("Engine.IO"),
        "{:?} {stderr}",
        out.status
    );
}
