//! Throughput of `pubcat publish --confirm` and `pubcat subscribe --ack
//! client-individual` against RabbitMQ Web-STOMP, beside a minimal STOMP
//! client on tokio-tungstenite doing the same work in the same run:
//! 1,000,000 64-byte messages into a queue with a RECEIPT for each SEND,
//! then out of it with an ACK for each MESSAGE, printed to a pipe. Prints
//! figures and ratios; asserts only correctness (every message confirmed,
//! queued, received and acknowledged), never time.
//!
//! Needs RabbitMQ with Web-STOMP on ws://127.0.0.1:15674/ws (guest/guest):
//! `bash tests/peers/rabbitmq-stomp.sh start`. Then
//! `cargo bench --bench stomp`; PUBCAT_BENCH_MESSAGES and PUBCAT_BENCH_RUNS
//! make it shorter or longer.
//!
//! The minimal client is this same executable run with PUBCAT_BENCH_ROLE
//! set, so it reads stdin and writes stdout through pipes exactly as
//! pubcat does.

mod common;

use std::io::{BufWriter, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use common::{count_output, current_thread, env_or, median, stdin_chunks};

const SIZE: usize = 64;
const WS: &str = "ws://127.0.0.1:15674/ws";
const HOST_PORT: &str = "127.0.0.1:15674";

fn main() {
    match std::env::var("PUBCAT_BENCH_ROLE").as_deref() {
        Ok("pub") => return minimal_pub(),
        Ok("sub") => return minimal_sub(),
        _ => {}
    }
    if std::net::TcpStream::connect_timeout(
        &HOST_PORT.parse().expect("addr"),
        Duration::from_secs(2),
    )
    .is_err()
    {
        eprintln!(
            "FAIL: RabbitMQ Web-STOMP is not answering on {WS}; start it with `bash tests/peers/rabbitmq-stomp.sh start`"
        );
        std::process::exit(1);
    }
    let n = env_or("PUBCAT_BENCH_MESSAGES", 1_000_000);
    let runs = env_or("PUBCAT_BENCH_RUNS", 1);
    let pubcat = env!("CARGO_BIN_EXE_pubcat");
    let me = std::env::current_exe().expect("current exe");

    let dir = std::env::temp_dir().join(format!("pubcat-stomp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let input = dir.join("input.txt");
    let mut f = BufWriter::new(std::fs::File::create(&input).expect("input file"));
    for i in 0..n {
        writeln!(f, "{i:0>SIZE$}").expect("write input");
    }
    f.flush().expect("flush input");
    drop(f);

    let contenders: [&str; 2] = ["pubcat", "minimal"];
    let command = |who: &str, role: &str, queue: &str| -> Command {
        let destination = format!("/queue/{queue}");
        if who == "pubcat" {
            let mut c = Command::new(pubcat);
            c.args(["-q", role, &format!("stomp+{WS}"), "-t", &destination]);
            c.args(["--user", "guest", "--password", "guest"]);
            match role {
                "pub" => c.args(["--confirm", "--timeout", "120s"]),
                _ => c
                    .args(["--ack", "client-individual", "-o", "raw", "-n"])
                    .arg(n.to_string()),
            };
            c
        } else {
            let mut c = Command::new(&me);
            c.env("PUBCAT_BENCH_ROLE", role)
                .env("PUBCAT_BENCH_N", n.to_string())
                .env("PUBCAT_BENCH_DESTINATION", &destination);
            c
        }
    };

    let mut publish: Vec<Vec<f64>> = vec![Vec::new(); 2];
    let mut receive: Vec<Vec<f64>> = vec![Vec::new(); 2];
    let mut failed = false;
    for run in 0..runs {
        // Alternate who goes first, so neither always meets a warmer broker.
        let order: Vec<usize> = if run % 2 == 0 { vec![0, 1] } else { vec![1, 0] };
        for &i in &order {
            let who = contenders[i];
            let queue = format!("pubcat-bench-{who}-{}-{run}", std::process::id());
            delete_queue(&queue);
            let started = Instant::now();
            let out = command(who, "pub", &queue)
                .stdin(std::fs::File::open(&input).expect("input"))
                .stdout(Stdio::null())
                .output()
                .expect("spawn publisher");
            let secs = started.elapsed().as_secs_f64();
            let queued = queue_length(&queue);
            if !out.status.success() || queued != Some(n as u64) {
                eprintln!(
                    "FAIL: {who} publish: exit {}, queue holds {queued:?} of {n}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                failed = true;
            }
            publish[i].push(n as f64 / secs);
            eprintln!("{who} publish --confirm: {:.0} msg/s", n as f64 / secs);

            let counted = count_output(&mut command(who, "sub", &queue));
            let secs = counted.secs;
            let left = queue_length(&queue);
            if !counted.is_complete(n, SIZE + 1) || left != Some(0) {
                eprintln!("FAIL: {who} subscribe: {counted}, {left:?} left on the queue");
                failed = true;
            }
            receive[i].push(n as f64 / secs);
            eprintln!(
                "{who} subscribe --ack client-individual: {:.0} msg/s",
                n as f64 / secs
            );
            delete_queue(&queue);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "{:<42} {:>13} {:>13} {:>7}  target",
        "workload (RabbitMQ Web-STOMP)", "pubcat", "minimal", "ratio"
    );
    for (name, v) in [
        (format!("publish --confirm {SIZE}B x{n}"), &publish),
        (format!("subscribe --ack client-individual x{n}"), &receive),
    ] {
        let (p, m) = (median(&v[0]), median(&v[1]));
        println!(
            "{name:<42} {:>13} {:>13} {:>7.2}  >= 0.80 {}",
            format!("{:.0} msg/s", p),
            format!("{:.0} msg/s", m),
            p / m,
            if p / m >= 0.8 { "ok" } else { "MISS" }
        );
    }
    println!(
        "(medians of {runs} run(s); minimal = tokio-tungstenite, TCP_NODELAY, one RECEIPT per SEND, one ACK per MESSAGE, BufWriter)"
    );
    if failed {
        eprintln!("FAIL: a run lost messages or failed; see above");
        std::process::exit(1);
    }
}

/// Messages on `queue` (RabbitMQ's count, ready and unacknowledged).
fn queue_length(queue: &str) -> Option<u64> {
    let out = Command::new("rabbitmqctl")
        .args(["-q", "list_queues", "name", "messages"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let mut parts = l.split_whitespace();
        (parts.next() == Some(queue)).then(|| parts.next()?.parse().ok())?
    })
}

fn delete_queue(queue: &str) {
    let _ = Command::new("rabbitmqctl")
        .args(["-q", "delete_queue", queue])
        .output();
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

/// Connect with the STOMP subprotocols and send CONNECT; returns once
/// CONNECTED arrived.
async fn connect() -> Ws {
    let tcp = TcpStream::connect(HOST_PORT).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let mut request = WS.into_client_request().expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "v12.stomp, v11.stomp, v10.stomp".parse().expect("header"),
    );
    let (mut ws, _) = tokio_tungstenite::client_async(request, tcp)
        .await
        .expect("handshake");
    ws.send(Message::text(
        "CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\nheart-beat:0,0\n\n\0",
    ))
    .await
    .expect("send CONNECT");
    let mut frames = Frames::default();
    loop {
        let data = next_data(&mut ws).await.expect("CONNECTED");
        frames.feed(&data);
        if let Some(f) = frames.next() {
            assert!(
                f.starts_with(b"CONNECTED"),
                "{}",
                String::from_utf8_lossy(&f)
            );
            return ws;
        }
    }
}

async fn next_data(ws: &mut Ws) -> Option<Bytes> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(t)) => return Some(Bytes::from(t)),
            Ok(Message::Binary(b)) => return Some(b),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Splits a byte stream into NUL-terminated frames (the bench's bodies
/// hold no NUL), skipping heart-beat EOLs.
#[derive(Default)]
struct Frames {
    buf: BytesMut,
}

impl Frames {
    fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    fn next(&mut self) -> Option<Bytes> {
        let start = self.buf.iter().position(|&b| b != b'\n' && b != b'\r')?;
        let _ = self.buf.split_to(start);
        let nul = memchr::memchr(0, &self.buf)?;
        let frame = self.buf.split_to(nul + 1).freeze();
        Some(frame.slice(..nul))
    }
}

fn header<'a>(frame: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let head_end = memchr::memmem::find(frame, b"\n\n")?;
    let pattern = format!("\n{name}:");
    let at = memchr::memmem::find(&frame[..head_end], pattern.as_bytes())? + pattern.len();
    let end = memchr::memchr(b'\n', &frame[at..]).map_or(head_end, |e| at + e);
    Some(&frame[at..end])
}

/// The baseline publisher: each stdin line a SEND with a receipt, fed and
/// flushed when no more input is ready; done when every receipt is in,
/// then DISCONNECT with a receipt.
fn minimal_pub() {
    let destination = std::env::var("PUBCAT_BENCH_DESTINATION").expect("destination");
    current_thread().block_on(async {
        let ws = connect().await;
        let (mut sink, mut stream) = ws.split();
        let mut rx = stdin_chunks();
        // Receipts are counted as they come, while sending goes on.
        let (count_tx, mut count_rx) = tokio::sync::watch::channel(0u64);
        let receipts = tokio::spawn(async move {
            let mut frames = Frames::default();
            let mut count = 0u64;
            while let Some(Ok(m)) = stream.next().await {
                let data = match m {
                    Message::Text(t) => Bytes::from(t),
                    Message::Binary(b) => b,
                    _ => continue,
                };
                frames.feed(&data);
                while let Some(f) = frames.next() {
                    if f.starts_with(b"RECEIPT") {
                        if header(&f, "receipt-id") == Some(b"bye") {
                            return;
                        }
                        count += 1;
                    } else {
                        panic!("unexpected frame {}", String::from_utf8_lossy(&f));
                    }
                }
                let _ = count_tx.send(count);
            }
        });
        let mut rest = BytesMut::new();
        let mut sent = 0u64;
        let mut frame = Vec::with_capacity(256);
        while let Some(chunk) = rx.recv().await {
            rest.extend_from_slice(&chunk);
            let data = rest.split().freeze();
            let mut start = 0;
            for nl in memchr::memchr_iter(b'\n', &data) {
                let body = &data[start..nl];
                sent += 1;
                frame.clear();
                write!(
                    frame,
                    "SEND\ndestination:{destination}\ncontent-type:text/plain\nreceipt:m-{sent}\ncontent-length:{}\n\n",
                    body.len()
                )
                .expect("frame");
                frame.extend_from_slice(body);
                frame.push(0);
                let text = String::from_utf8(frame.clone()).expect("utf8");
                sink.feed(Message::text(text)).await.expect("feed");
                start = nl + 1;
            }
            rest.extend_from_slice(&data[start..]);
            if rx.is_empty() {
                sink.flush().await.expect("flush");
            }
        }
        // RabbitMQ receipts SENDs once its publisher confirms are in; a
        // DISCONNECT before that would lose them.
        count_rx
            .wait_for(|c| *c >= sent)
            .await
            .expect("every SEND receipted");
        sink.send(Message::text("DISCONNECT\nreceipt:bye\n\n\0"))
            .await
            .expect("DISCONNECT");
        receipts.await.expect("receipts");
        let _ = sink.close().await;
    });
}

/// The baseline subscriber: SUBSCRIBE with client-individual acks; each
/// MESSAGE body + '\n' into a buffered stdout, flushed when no more is
/// ready, then an ACK for each.
fn minimal_sub() {
    let destination = std::env::var("PUBCAT_BENCH_DESTINATION").expect("destination");
    let n = env_or("PUBCAT_BENCH_N", 1_000_000);
    current_thread().block_on(async {
        let mut ws = connect().await;
        ws.send(Message::text(format!(
            "SUBSCRIBE\nid:s\ndestination:{destination}\nack:client-individual\n\n\0"
        )))
        .await
        .expect("SUBSCRIBE");
        let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        let mut frames = Frames::default();
        let mut acks: Vec<Bytes> = Vec::new();
        let mut got = 0;
        while got < n {
            let Some(data) = next_data(&mut ws).await else {
                break;
            };
            frames.feed(&data);
            // Drain what is already here, then print, flush and ack it.
            loop {
                while let Some(f) = frames.next() {
                    if !f.starts_with(b"MESSAGE") {
                        continue;
                    }
                    let body_at = memchr::memmem::find(&f, b"\n\n").expect("head") + 2;
                    out.write_all(&f[body_at..]).expect("write");
                    out.write_all(b"\n").expect("write");
                    acks.push(Bytes::copy_from_slice(header(&f, "ack").expect("ack")));
                    got += 1;
                }
                match ws.next().now_or_never() {
                    Some(Some(Ok(Message::Text(t)))) => frames.feed(t.as_bytes()),
                    Some(Some(Ok(Message::Binary(b)))) => frames.feed(&b),
                    Some(Some(Ok(_))) => {}
                    _ => break,
                }
            }
            out.flush().expect("flush");
            for ack in acks.drain(..) {
                let mut f = b"ACK\nid:".to_vec();
                f.extend_from_slice(&ack);
                f.extend_from_slice(b"\n\n\0");
                ws.feed(Message::text(String::from_utf8(f).expect("utf8")))
                    .await
                    .expect("ACK");
            }
            ws.flush().await.expect("flush");
        }
        ws.send(Message::text("DISCONNECT\nreceipt:bye\n\n\0"))
            .await
            .expect("DISCONNECT");
        'disconnect: while let Some(data) = next_data(&mut ws).await {
            frames.feed(&data);
            while let Some(f) = frames.next() {
                if f.starts_with(b"RECEIPT") {
                    break 'disconnect;
                }
            }
        }
        let _ = ws.close(None).await;
    });
}
