//! A subscriber that stops reading (its stdout is a pipe nobody reads, so
//! it stops reading its socket) is dropped by `pubcat serve` as too slow,
//! with a close it can see: `sub` says where to resume and exits 4,
//! `tail` resumes from history and loses nothing. Over a WebSocket (close
//! 1013) and SSE (`event: overflow`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command};
use std::time::Duration;

use crate::common::{
    Broker, collect, pubcat, publish_input, start_subscriber, take_lines, wait_with_timeout,
};

/// Messages published past the subscriber: ~20 MB, more than its pipe,
/// its socket buffers and its queue hold.
const N: usize = 20_000;

/// A broker that keeps all of it and gives subscribers small queues.
fn broker() -> Broker {
    Broker::start_with(&["--history", "20000", "--queue", "64"])
}

fn line(i: usize) -> String {
    format!("{i} {}", "x".repeat(1000))
}

/// The URLs of `topic` on `broker` by WebSocket and by SSE.
fn urls(broker: &Broker, topic: &str) -> [String; 2] {
    [
        broker.url(topic),
        format!("http://{}/{topic}-sse", broker.addr),
    ]
}

/// Start `cmd` with its stdout piped and not read, publish N messages to
/// `url` past it, and return once the broker says it dropped it.
fn stall(broker: &Broker, cmd: Command, url: &str, drops: usize) -> Child {
    let topic = url.rsplit('/').next().unwrap();
    let child = start_subscriber(broker, topic, cmd);
    let input: String = (1..=N).map(|i| line(i) + "\n").collect();
    let ws = format!("ws://{}/{topic}", broker.addr);
    publish_input(&ws, input.as_bytes(), Duration::from_secs(120));
    let dropped = |b: &Broker| b.stats()["slow_subscribers"]["dropped"].as_u64();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while dropped(broker) < Some(drops as u64) {
        assert!(std::time::Instant::now() < deadline, "never dropped");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn tail_dropped_as_too_slow_resumes_from_history_losing_nothing() {
    let broker = broker();
    for (i, url) in urls(&broker, "tailed").iter().enumerate() {
        let mut cmd = pubcat();
        cmd.args(["tail", url, "-o", "raw", "--backoff-min", "20ms"]);
        let tail = stall(&broker, cmd, url, i + 1);
        let (lines, code, stderr) = take_lines(tail, N);
        assert_eq!(lines.len(), N, "{url}: {stderr}");
        assert!(
            lines.iter().enumerate().all(|(i, l)| *l == line(i + 1)),
            "{url}: lines out of order or repeated"
        );
        assert_eq!(code, 130, "{stderr}");
        assert!(
            stderr.contains("subscriber too slow; resume from id") && stderr.contains("reconnect"),
            "{url}: {stderr}"
        );
        assert!(!stderr.contains("gap"), "{stderr}");
    }
}

#[test]
fn sub_dropped_as_too_slow_says_where_to_resume_and_exits_4() {
    let broker = broker();
    for (i, url) in urls(&broker, "subbed").iter().enumerate() {
        let mut cmd = pubcat();
        cmd.args(["sub", url, "-o", "raw"]);
        let mut sub = stall(&broker, cmd, url, i + 1);
        let err = collect(sub.stderr.take().unwrap());
        let lines: Vec<String> = BufReader::new(sub.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok)
            .collect();
        let code = wait_with_timeout(&mut sub, Duration::from_secs(30)).code();
        let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
        assert_eq!(code, Some(4), "{url}: {stderr}");
        // What it printed is all it was sent, and the resume id says so.
        assert!(lines.len() < N, "{url}: never dropped");
        assert!(
            lines.iter().enumerate().all(|(i, l)| *l == line(i + 1)),
            "{url}: lines out of order or repeated"
        );
        let resume = format!("subscriber too slow; resume from id {}\n", lines.len());
        assert!(
            stderr.starts_with("pubcat: error: ") && stderr.ends_with(&resume),
            "{url}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{url}: {stderr}");
    }
}

/// A client that stops reading its socket altogether is disconnected once
/// nothing written to it has been taken for 10 s, whatever it was sent:
/// an SSE stream, or long-poll answers it asked for and never read. (The
/// broker's queue for it is large here, so the subscriber is not dropped
/// as too slow first: a drop could come while its socket still had room,
/// and then the overflow event is written and nothing stalls. Dropped or
/// not, a stream the socket does not take is the same stalled write.) It
/// used to hold its connection until the broker shut down.
#[test]
fn a_client_that_takes_nothing_is_disconnected() {
    use std::io::{Read, Write};
    let broker = Broker::start_with(&["--history", "20000", "--queue", "100000"]);
    let input: String = (1..=N).map(|i| line(i) + "\n").collect();
    publish_input(
        &broker.url("kept"),
        input.as_bytes(),
        Duration::from_secs(120),
    );
    let sse = "GET /stuck HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
    let polls = "GET /kept?since=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(100);
    for (what, request) in [("sse", sse), ("long-poll", polls.as_str())] {
        let mut tcp = std::net::TcpStream::connect(broker.addr).unwrap();
        tcp.write_all(request.as_bytes()).unwrap();
        if what == "sse" {
            broker.wait_for_subscribers("stuck", 1);
            let ws = broker.url("stuck");
            publish_input(&ws, input.as_bytes(), Duration::from_secs(120));
        }
        let me = tcp.local_addr().unwrap();
        let logged = broker.wait_for_log(&format!(
            "connection from {me} closed: the client took nothing for 10 s"
        ));
        assert!(logged.starts_with("pubcat: "), "{what}: {logged}");
        // What the kernel had buffered, then the end (or a reset).
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut sink = Vec::new();
        match tcp.read_to_end(&mut sink) {
            Ok(_) => {}
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{what}: {e}"),
        }
    }
}
