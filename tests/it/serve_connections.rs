//! How `pubcat serve` meets connections before any request is served:
//! every loopback address under `localhost`, a request that must arrive
//! in time (idle, slowloris and stalled bodies are closed), and a cap on
//! the connections one client address holds.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::{Broker, assert_code, http, run_within};

/// Read until the server closes; the time that took.
fn closed_within(mut s: TcpStream, limit: Duration) -> (Duration, Vec<u8>) {
    let start = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    match s.read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("still open after {limit:?}: {e}"),
    }
    (start.elapsed(), got)
}

#[test]
fn localhost_is_both_loopback_addresses_on_one_port() {
    let broker = Broker::start_at("localhost:0", &[]);
    let port = broker.addr.port();
    let v4 = format!("ws://127.0.0.1:{port}/dual");
    let v6 = format!("ws://[::1]:{port}/dual");
    let out = run_within(&["pub", &v4, "from v4"], Duration::from_secs(10));
    assert_code(&out, 0);
    let out = run_within(
        &["sub", &format!("{v6}?since=0"), "-n", "1", "-o", "raw"],
        Duration::from_secs(10),
    );
    assert_code(&out, 0);
    assert_eq!(out.stdout, b"from v4\n");
}

#[test]
fn a_connection_that_sends_no_request_in_time_is_closed() {
    let broker = Broker::start_with(&["--request-timeout", "1s"]);
    let limit = Duration::from_secs(10);
    // Says nothing at all.
    let idle = TcpStream::connect(broker.addr).unwrap();
    // Slowloris: a request head that never ends.
    let mut slow = TcpStream::connect(broker.addr).unwrap();
    slow.write_all(b"GET /_/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: 1\r\n")
        .unwrap();
    // Kept alive after one answer, then idle.
    let mut kept = TcpStream::connect(broker.addr).unwrap();
    kept.write_all(b"GET /_/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    for (what, s) in [("idle", idle), ("slowloris", slow), ("keep-alive", kept)] {
        let (took, got) = closed_within(s, limit);
        assert!(took < limit, "{what}: {took:?}");
        if what == "keep-alive" {
            assert!(got.starts_with(b"HTTP/1.1 200"), "{what}: {got:?}");
        }
    }
}

#[test]
fn a_request_body_that_stalls_gets_408_and_publishes_nothing() {
    let broker = Broker::start_with(&["--request-timeout", "1s"]);
    let mut s = TcpStream::connect(broker.addr).unwrap();
    s.write_all(
        b"POST /stalled HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nab",
    )
    .unwrap();
    let (_, got) = closed_within(s, Duration::from_secs(10));
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains("--request-timeout"), "{got}");
    let (_, stats) = http(broker.addr, "GET", "/_/stats", b"");
    let stats = String::from_utf8_lossy(&stats);
    assert!(!stats.contains("stalled"), "{stats}");
}

/// A WebSocket upgrade by hand, so the test holds the socket: the `101`
/// is read, nothing else.
fn websocket(addr: SocketAddr, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("the 101");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{head:?}");
    s
}

#[test]
fn one_address_holds_at_most_max_connections_per_ip() {
    let broker = Broker::start_with(&["--max-connections-per-ip", "2"]);
    let url = broker.url("capped");
    // Two WebSockets: past the upgrade, they still count.
    let first = websocket(broker.addr, "/capped");
    let _second = websocket(broker.addr, "/capped");
    let out = run_within(&["pub", &url, "third"], Duration::from_secs(10));
    let err = assert_code(&out, 4);
    assert!(
        err.contains("503") && err.contains("too many connections from 127.0.0.1"),
        "{err}"
    );
    // One closes: its place is free again.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = run_within(&["pub", &url, "fits"], Duration::from_secs(10));
        if out.status.code() == Some(0) {
            break;
        }
        assert!(Instant::now() < deadline, "never admitted: {out:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    broker.wait_for_log("refused a connection: too many connections from 127.0.0.1");
    // Without -v, connections come and go without a line each.
    let log = broker.log.lock().unwrap();
    assert!(!log.iter().any(|l| l.contains("ws c")), "{log:?}");
}

#[test]
fn listening_beyond_loopback_without_a_token_warns() {
    let open = Broker::start_at("0.0.0.0:0", &[]);
    open.wait_for_log("warning: listening on 0.0.0.0 without --token");
    let guarded = Broker::start_at("0.0.0.0:0", &["--token", "s3cret"]);
    let line = guarded.wait_for_log("clients need a token");
    assert!(!line.contains("s3cret"), "{line}");
    assert!(
        !guarded
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("warning")),
        "{:?}",
        guarded.log.lock().unwrap()
    );
}
