//! Interop with RabbitMQ Web-STOMP, a real broker we did not write. Start it
//! with `bash tests/peers/rabbitmq-stomp.sh start`, then run
//! `cargo test --test interop rabbitmq:: -- --include-ignored` (`.ci/run` does
//! both).

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, Lines, assert_code, collect, pubcat, wait_with_timeout};

const WS: &str = "ws://127.0.0.1:15674/ws";

/// A loud failure when RabbitMQ's Web-STOMP listener is not there.
fn rabbit() {
    let up = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:15674".parse().unwrap(),
        Duration::from_secs(2),
    )
    .is_ok();
    assert!(
        up,
        "RabbitMQ Web-STOMP is not answering on {WS}: start it with `bash tests/peers/rabbitmq-stomp.sh start`"
    );
}

/// A destination name no other run uses.
fn unique(name: &str) -> String {
    crate::unique(&format!("pubcat-{name}"))
}

fn stomp(args: &[&str]) -> std::process::Command {
    let mut cmd = pubcat();
    cmd.args(args)
        .args(["--user", "guest", "--password", "guest"])
        .stdin(Stdio::null());
    cmd
}

/// `pubcat VERB` to RabbitMQ's Web-STOMP with `--protocol stomp -t
/// DESTINATION`, as [`stomp`] (guest, stdin closed).
fn stomp_at(verb: &str, destination: &str) -> std::process::Command {
    stomp(&[verb, WS, "--protocol", "stomp", "-t", destination])
}

/// Publish `n` numbered messages to `destination` with receipts; asserts
/// every one was confirmed.
fn publish_numbered(destination: &str, n: usize) {
    let mut cmd = stomp_at("pub", destination);
    cmd.arg("--confirm");
    common::publish_numbered(cmd, n);
}

/// Number of consumers on a queue, from rabbitmqctl.
fn queue_field(queue: &str, field: &str) -> Option<u64> {
    let out = std::process::Command::new("rabbitmqctl")
        .args(["-q", "list_queues", "name", field])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let mut parts = l.split_whitespace();
        (parts.next() == Some(queue)).then(|| parts.next()?.parse().ok())?
    })
}

fn wait_for_queue(queue: &str, field: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while queue_field(queue, field) != Some(n) {
        assert!(
            Instant::now() < deadline,
            "queue {queue} never had {field} = {n} (now {:?})",
            queue_field(queue, field)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A STOMP subscriber printing raw bodies, its lines collected as they come.
fn consumer(args: &[&str]) -> Lines {
    let mut cmd = stomp(args);
    cmd.args(["-o", "raw"]);
    Lines::spawn(cmd)
}

#[test]
#[ignore = "needs RabbitMQ Web-STOMP: tests/interop.sh starts it and runs these"]
fn topic_fans_out_every_message_to_every_subscriber() {
    rabbit();
    let topic = format!("/topic/{}", unique("fan"));
    let subs: Vec<Child> = (0..2)
        .map(|_| {
            stomp_at("sub", &topic)
                .args(["-n", "1000"])
                .args(["-o", "raw", "--timeout", "60s"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // A topic subscription is a queue RabbitMQ binds when SUBSCRIBE is
    // processed: wait until both exist (two consumers on amq.topic queues
    // are not named; count connections' subscriptions via bindings).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = std::process::Command::new("rabbitmqctl")
            .args(["-q", "list_bindings", "source_name", "routing_key"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let key = topic.trim_start_matches("/topic/");
        if text
            .lines()
            .filter(|l| l.starts_with("amq.topic") && l.ends_with(key))
            .count()
            >= 2
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the two topic subscriptions never appeared"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    publish_numbered(&topic, 1000);
    let want: Vec<String> = (1..=1000).map(|i| format!("m{i}")).collect();
    for sub in subs {
        let out = sub.wait_with_output().unwrap();
        let stderr = assert_code(&out, 0);
        let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect();
        assert!(
            got == want,
            "a subscriber got {} messages, not 1..1000 in order: {stderr}",
            got.len()
        );
    }
}

#[test]
#[ignore = "needs RabbitMQ Web-STOMP: tests/interop.sh starts it and runs these"]
fn competing_consumers_on_a_queue_share_every_message_exactly_once() {
    rabbit();
    let name = unique("work");
    let queue = format!("/queue/{name}");
    let args = [
        "sub",
        WS,
        "--protocol",
        "stomp",
        "-t",
        &queue,
        "--ack",
        "client-individual",
        "--prefetch",
        "10",
    ];
    let a = consumer(&args);
    let b = consumer(&args);
    wait_for_queue(&name, "consumers", 2);
    publish_numbered(&queue, 1000);
    let deadline = Instant::now() + Duration::from_secs(60);
    while a.count() + b.count() < 1000 {
        assert!(
            Instant::now() < deadline,
            "only {} of 1000 arrived",
            a.count() + b.count()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Every message printed was acked: nothing left on the queue.
    wait_for_queue(&name, "messages", 0);
    let (code_a, lines_a, err_a) = a.stop();
    let (code_b, lines_b, err_b) = b.stop();
    assert_eq!((code_a, code_b), (Some(130), Some(130)), "{err_a}\n{err_b}");
    assert!(
        !lines_a.is_empty() && !lines_b.is_empty(),
        "one consumer got nothing: {err_a}\n{err_b}"
    );
    let mut all: Vec<String> = lines_a.into_iter().chain(lines_b).collect();
    all.sort_by_key(|m| m[1..].parse::<u32>().unwrap());
    let want: Vec<String> = (1..=1000).map(|i| format!("m{i}")).collect();
    assert!(
        all == want,
        "the union is not exactly 1..1000 ({} messages)",
        all.len()
    );
}

#[test]
#[ignore = "needs RabbitMQ Web-STOMP: tests/interop.sh starts it and runs these"]
fn a_message_a_killed_consumer_never_acked_goes_to_the_other() {
    rabbit();
    let name = unique("redeliver");
    let queue = format!("/queue/{name}");
    // The first consumer's stdout is a pipe nobody reads: printing a message
    // larger than the pipe's buffer blocks, so it is never flushed or acked.
    let mut stuck = stomp_at("sub", &queue)
        .args(["--ack", "client-individual"])
        .args(["-o", "raw"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_queue(&name, "consumers", 1);
    let big = "x".repeat(512 * 1024);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big");
    std::fs::write(&file, &big).unwrap();
    let out = stomp_at("pub", &queue)
        .args(["--file", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_code(&out, 0);
    wait_for_queue(&name, "messages_unacknowledged", 1);
    stuck.kill().unwrap();
    let _ = stuck.wait();
    let out = stomp_at("sub", &queue)
        .args(["-n", "1", "--timeout", "30s", "-o", "json"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["body"].as_str().map(str::len), Some(big.len()));
    let redelivered = m["headers"]
        .as_object()
        .and_then(|h| h.get("redelivered"))
        .and_then(|v| v.as_str());
    assert_eq!(redelivered, Some("true"), "{m}");
    wait_for_queue(&name, "messages", 0);
}

#[test]
#[ignore = "needs RabbitMQ Web-STOMP: tests/interop.sh starts it and runs these"]
fn count_acks_exactly_n_and_leaves_the_rest_on_the_queue() {
    rabbit();
    let name = unique("count");
    let queue = format!("/queue/{name}");
    publish_numbered(&queue, 10);
    let out = stomp_at("sub", &queue)
        .args(["-n", "3", "-o", "raw", "--timeout", "30s"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "m1\nm2\nm3\n");
    wait_for_queue(&name, "messages", 7);
    let out = stomp_at("sub", &queue)
        .args(["-n", "7", "-o", "raw", "--timeout", "30s"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let want: String = (4..=10).map(|i| format!("m{i}\n")).collect();
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
}

#[test]
#[ignore = "needs RabbitMQ Web-STOMP: tests/interop.sh starts it and runs these"]
fn wrong_password_exits_4_with_rabbitmqs_words() {
    rabbit();
    let out = pubcat()
        .args([
            "sub",
            WS,
            "--protocol",
            "stomp",
            "-t",
            "/topic/x",
            "--user",
            "guest",
            "--password",
            "wrong",
        ])
        .args(["-v"])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 4);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("pubcat: error:") && last.contains("ERROR"),
        "{stderr}"
    );
    assert!(
        stderr.to_lowercase().contains("access refused") || stderr.contains("Bad CONNECT"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("wrong"),
        "the passcode leaked into -v output: {stderr}"
    );
}

/// A body with NULs and line breaks needs `content-length` both ways.
/// (Binary, non-UTF-8 bodies need `web_stomp.ws_frame = binary` on the
/// broker: by default RabbitMQ puts them in text frames, which WebSocket
/// forbids and pubcat refuses.)
#[test]
#[ignore = "needs RabbitMQ Web-STOMP: tests/interop.sh starts it and runs these"]
fn stomp_scheme_and_bodies_with_nuls_round_trip() {
    rabbit();
    let name = unique("nul");
    let url = "stomp+ws://127.0.0.1:15674/ws";
    let queue = format!("/queue/{name}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body");
    let body = "a\0b\nc\r\n\0\0é";
    std::fs::write(&file, body).unwrap();
    let out = stomp(&["pub", url, "-t", &queue, "--file", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let out = stomp(&[
        "sub",
        url,
        "-t",
        &queue,
        "-n",
        "1",
        "-o",
        "raw",
        "--timeout",
        "30s",
    ])
    .output()
    .unwrap();
    assert_code(&out, 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{body}\n"));
}

/// `pubcat bench` over STOMP: a topic fans out to every subscriber; a
/// queue gives each message to exactly one of the competing consumers.
#[test]
#[ignore = "needs RabbitMQ Web-STOMP: tests/interop.sh starts it and runs these"]
fn bench_over_stomp_on_a_topic_and_a_queue() {
    rabbit();
    for (destination, subs, expected_per_sent) in [
        (format!("/topic/{}", unique("bench")), "3", 3),
        (format!("/queue/{}", unique("bench")), "2", 1),
    ] {
        let out = stomp_at("bench", &destination)
            .args(["--json", "--subs", subs])
            .args(["--rate", "2000", "--duration", "1s", "--warmup", "200ms"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{destination}: {stderr}");
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let sent = r["sent"].as_u64().unwrap();
        assert!(sent > 0, "{r}");
        assert_eq!(
            r["expected"].as_u64(),
            Some(sent * expected_per_sent),
            "{r}"
        );
        assert_eq!(r["received"], r["expected"], "{destination}: {r}");
        assert_eq!(r["lost"], 0, "{destination}: {r}");
        assert_eq!(r["duplicated"], 0, "{destination}: {r}");
    }
}

/// The local port of `pid`'s connection to RabbitMQ's Web-STOMP listener.
fn local_port_of(pid: u32) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = std::process::Command::new("ss")
            .args(["-Htnp", "state", "established", "( dport = :15674 )"])
            .output()
            .expect("ss (iproute2) is needed to find the test's connection");
        let text = String::from_utf8_lossy(&out.stdout);
        let port = text
            .lines()
            .find(|l| l.contains(&format!("pid={pid},")))
            .and_then(|l| l.split_whitespace().nth(2))
            .and_then(|local| local.rsplit(':').next())
            .and_then(|p| p.parse().ok());
        if let Some(port) = port {
            return port;
        }
        assert!(
            Instant::now() < deadline,
            "no connection of pid {pid}: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Close, from the broker's side, the one Web-STOMP connection whose peer
/// port is `port` (Web-STOMP connections are direct ones, which
/// `rabbitmqctl list_connections` does not show; connection tracking has
/// them). Nothing else on the shared broker is touched.
fn close_connection_from_the_broker(port: u16) {
    let expr = format!(
        "[amqp_direct_connection:server_close(element(6, C), 320, <<\"closed by pubcat's interop test\">>) \
         || C <- rabbit_connection_tracking:list(), element(10, C) =:= {port}]."
    );
    let out = std::process::Command::new("rabbitmqctl")
        .args(["-q", "eval", &expr])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(said.trim(), "[ok]", "rabbitmqctl did not close it: {said}");
}

#[test]
#[ignore = "needs RabbitMQ Web-STOMP: tests/interop.sh starts it and runs these"]
fn a_connection_the_broker_closes_mid_stream_ends_with_exit_3_and_one_line() {
    rabbit();
    // A consumer waiting for messages.
    let name = unique("midstream");
    let queue = format!("/queue/{name}");
    let mut sub = stomp_at("sub", &queue)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = collect(sub.stderr.take().unwrap());
    wait_for_queue(&name, "consumers", 1);
    close_connection_from_the_broker(local_port_of(sub.id()));
    let status = wait_with_timeout(&mut sub, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("pubcat: error: ws://127.0.0.1:15674/ws closed the connection"),
        "{stderr}"
    );

    // A publisher in the middle of its input.
    let mut publisher = stomp_at("pub", &queue)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = collect(publisher.stderr.take().unwrap());
    let mut input = publisher.stdin.take().unwrap();
    input.write_all(b"one\ntwo\n").unwrap();
    input.flush().unwrap();
    wait_for_queue(&name, "messages", 2);
    close_connection_from_the_broker(local_port_of(publisher.id()));
    let status = wait_with_timeout(&mut publisher, Duration::from_secs(30));
    drop(input);
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("closed the connection"), "{stderr}");
}
