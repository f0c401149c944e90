//! Interop with Nchan (nginx + nchan), a real pub/sub server we did not
//! write. Start it with `bash tests/peers/nchan.sh start`, then run
//! `cargo test --test interop nchan:: -- --include-ignored` (`.ci/run` does both).

use std::io::Write;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{self, assert_code, collect, pubcat, wait_with_timeout};

const HTTP: &str = "127.0.0.1:18080";
const TLS_PORT: u16 = 18443;

/// A loud failure when Nchan is not there.
fn nchan() -> SocketAddr {
    let addr: SocketAddr = HTTP.parse().unwrap();
    let up = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
        && common::http(addr, "GET", "/health", b"").0 == 200;
    assert!(
        up,
        "Nchan is not answering on {HTTP}: start it with `bash tests/peers/nchan.sh start`"
    );
    addr
}

/// A channel name no earlier run has used (Nchan keeps history for an hour).
fn channel(name: &str) -> String {
    crate::unique(&format!("pubcat-{name}"))
}

/// Wait (bounded) until Nchan reports `n` subscribers on the channel.
fn wait_for_subscribers(addr: SocketAddr, ch: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = common::http_with(
            addr,
            "GET",
            &format!("/pub/{ch}"),
            b"",
            &[("Accept", "application/json")],
        );
        if status == 200
            && let Ok(info) = serde_json::from_slice::<serde_json::Value>(&body)
            && info["subscribers"].as_u64().unwrap_or(0) >= n
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Nchan never saw {n} subscriber(s) on {ch}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ca_path() -> std::path::PathBuf {
    let root = std::env::var_os("PEERS_STATE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("pubsub-peers"));
    root.join("nchan/tls/ca.pem")
}

#[test]
#[ignore = "needs Nchan: tests/interop.sh starts it and runs these"]
fn publish_over_ws_reaches_a_ws_subscriber_in_order() {
    let addr = nchan();
    let ch = channel("ws");
    let mut sub = pubcat()
        .args([
            "sub",
            &format!("ws://{addr}/sub/{ch}"),
            "-n",
            "1000",
            "-o",
            "raw",
            "--timeout",
            "60s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = collect(sub.stdout.take().unwrap());
    let err = collect(sub.stderr.take().unwrap());
    wait_for_subscribers(addr, &ch, 1);

    let input: String = (1..=1000).map(|i| format!("message {i}\n")).collect();
    let mut publisher = pubcat()
        .args(["pub", &format!("ws://{addr}/pub/{ch}")])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    publisher
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let perr = collect(publisher.stderr.take().unwrap());
    let status = wait_with_timeout(&mut publisher, Duration::from_secs(60));
    assert!(
        status.success(),
        "publish failed: {}",
        String::from_utf8_lossy(&perr.join().unwrap())
    );

    let status = wait_with_timeout(&mut sub, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
    assert!(status.success(), "subscriber failed: {stderr}");
    assert!(
        out.join().unwrap() == input.as_bytes(),
        "not all 1000 messages arrived in order"
    );
}

#[test]
#[ignore = "needs Nchan: tests/interop.sh starts it and runs these"]
fn http_published_messages_replay_to_a_late_ws_subscriber() {
    let addr = nchan();
    let ch = channel("replay");
    for i in 1..=3 {
        let (status, _) = common::http(
            addr,
            "POST",
            &format!("/pub/{ch}"),
            format!("old {i}").as_bytes(),
        );
        assert!(status == 201 || status == 202, "POST answered {status}");
    }
    let out = pubcat()
        .args([
            "sub",
            &format!("ws://{addr}/sub/{ch}"),
            "-n",
            "3",
            "-o",
            "json",
            "--timeout",
            "20s",
        ])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let bodies = common::json_strings(&out.stdout, "body");
    assert_eq!(bodies, ["old 1", "old 2", "old 3"]);
}

#[test]
#[ignore = "needs Nchan: tests/interop.sh starts it and runs these"]
fn wss_with_the_servers_ca() {
    let addr = nchan();
    let ch = channel("wss");
    let (status, _) = common::http(addr, "POST", &format!("/pub/{ch}"), b"over tls");
    assert!(status == 201 || status == 202);
    let url = format!("wss://localhost:{TLS_PORT}/sub/{ch}");
    let out = pubcat()
        .args([
            "sub",
            &url,
            "-n",
            "1",
            "-o",
            "line",
            "--timeout",
            "20s",
            "--ca",
        ])
        .arg(ca_path())
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "over tls\n");

    let out = pubcat()
        .args(["sub", &url, "-n", "1", "--timeout", "20s"])
        .output()
        .unwrap();
    assert_code(&out, 3);
}

#[test]
#[ignore = "needs Nchan: tests/interop.sh starts it and runs these"]
fn a_forbidden_endpoint_is_a_server_refusal() {
    let addr = nchan();
    let out = pubcat()
        .args([
            "sub",
            &format!("ws://{addr}/no-such-endpoint"),
            "--timeout",
            "10s",
        ])
        .output()
        .unwrap();
    assert_code(&out, 4);
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 404"));
}

/// POST `bodies` to a fresh channel and return its name.
fn channel_with(addr: SocketAddr, name: &str, bodies: &[&str]) -> String {
    let ch = channel(name);
    for b in bodies {
        let (status, _) = common::http(addr, "POST", &format!("/pub/{ch}"), b.as_bytes());
        assert!(status == 201 || status == 202, "POST answered {status}");
    }
    ch
}

#[test]
#[ignore = "needs Nchan: tests/interop.sh starts it and runs these"]
fn sse_subscribe_gets_history_with_nchan_ids() {
    let addr = nchan();
    let ch = channel_with(addr, "sse", &["one", "two\nlines", "three"]);
    let out = pubcat()
        .args([
            "sub",
            &format!("http://{addr}/sub/{ch}"),
            "-n",
            "3",
            "-o",
            "json",
            "--timeout",
            "20s",
        ])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let rows = common::json_lines(&out.stdout);
    let bodies: Vec<&str> = rows.iter().map(|r| r["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["one", "two\nlines", "three"]);
    for r in &rows {
        assert_eq!(r["transport"], "sse");
        assert_eq!(r["event"], "message");
        // Nchan ids are `<time>:<seq>`.
        assert!(r["id"].as_str().is_some_and(|id| id.contains(':')), "{r}");
    }
}

#[test]
#[ignore = "needs Nchan: tests/interop.sh starts it and runs these"]
fn long_poll_subscribe_follows_etag_and_last_modified() {
    let addr = nchan();
    let ch = channel_with(addr, "poll", &["p1", "p2", "p3"]);
    let out = pubcat()
        .args([
            "sub",
            &format!("http://{addr}/sub/{ch}"),
            "--transport",
            "poll",
            "-n",
            "3",
            "-o",
            "line",
            "--timeout",
            "20s",
        ])
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "p1\np2\np3\n");
}

#[test]
#[ignore = "needs Nchan: tests/interop.sh starts it and runs these"]
fn http_publish_reaches_an_sse_subscriber() {
    let addr = nchan();
    let ch = channel("httppub");
    let out = pubcat()
        .args([
            "pub",
            &format!("http://{addr}/pub/{ch}"),
            "alpha",
            "beta",
            "--confirm",
        ])
        .output()
        .unwrap();
    assert_code(&out, 0);
    // Nchan's answer names the id it gave each message, as its
    // subscribers will see it (`SECONDS:N`).
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ids: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.split_once(" confirmed, id ").map(|(_, id)| id))
        .collect();
    assert_eq!(ids.len(), 2, "{stderr}");
    assert!(ids.iter().all(|id| id.contains(':')), "{stderr}");
    let out = pubcat()
        .args([
            "sub",
            &format!("http://{addr}/sub/{ch}"),
            "-n",
            "2",
            "-o",
            "json",
            "--timeout",
            "20s",
        ])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let rows = common::json_lines(&out.stdout);
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["body"].as_str().unwrap(), r["id"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [("alpha", ids[0]), ("beta", ids[1])]);
}

#[test]
#[ignore = "needs Nchan: tests/interop.sh starts it and runs these"]
fn refusals_over_http_exit_4_without_retrying() {
    let addr = nchan();
    // Publishing to a subscribe-only location is 403 in Nchan.
    let out = pubcat()
        .args(["pub", &format!("http://{addr}/sub/x"), "hi"])
        .output()
        .unwrap();
    assert_code(&out, 4);
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 403"));
    let out = pubcat()
        .args(["sub", &format!("http://{addr}/nope"), "--timeout", "10s"])
        .output()
        .unwrap();
    assert_code(&out, 4);
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 404"));
}

/// `tail` through a proxy that cuts the connection every 4 KiB while 1,000
/// messages are published: over SSE it resumes with Nchan's
/// `Last-Event-ID`, over long-poll with its `Etag`/`Last-Modified`; either
/// way each message is printed once, in order.
#[test]
#[ignore = "needs Nchan: tests/interop.sh starts it and runs these"]
fn tail_resumes_across_cut_connections_on_sse_and_long_poll() {
    let addr = nchan();
    for transport in ["sse", "poll"] {
        let ch = channel(&format!("tail-{transport}"));
        let proxy = common::flaky_proxy(addr, 4 * 1024);
        let tail = pubcat()
            .args(["tail", &format!("http://{proxy}/sub/{ch}"), "-o", "raw"])
            .args(["--transport", transport, "--backoff-min", "20ms"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_subscribers(addr, &ch, 1);
        let mut publisher = pubcat()
            .args(["pub", &format!("http://{addr}/pub/{ch}"), "--rate", "300"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let input: String = (1..=1000).map(|i| format!("message {i}\n")).collect();
        publisher
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        assert!(wait_with_timeout(&mut publisher, Duration::from_secs(60)).success());
        let (lines, code, stderr) = common::take_lines(tail, 1000);
        let want: Vec<String> = (1..=1000).map(|i| format!("message {i}")).collect();
        assert_eq!(
            lines.len(),
            1000,
            "{transport}: got {} lines; stderr: {stderr}",
            lines.len()
        );
        assert!(lines == want, "{transport}: out of order or repeated");
        assert_eq!(code, 130, "{stderr}");
        // Long-poll answers are small and each a request of its own: the
        // cuts land between them and show only as new connections.
        if transport == "sse" {
            assert!(stderr.contains("reconnect"), "never cut: {stderr}");
        }
        assert!(!stderr.contains("gap"), "{stderr}");
    }
}

/// The issue-16 promise against Nchan: `tail` through connections cut
/// every 150-600 ms from the first one, without `--since`, loses and
/// repeats nothing over SSE, long-poll and WebSocket (Nchan starts a new
/// subscriber at its oldest kept message, and resumes by Last-Event-ID,
/// Etag, and over ws `?last_event_id=` with the ids its `ws+meta.nchan`
/// frames carry).
/// PUBCAT_SOAK_MESSAGES=2000 PUBCAT_SOAK_RUNS=10 for the figures.
#[test]
#[ignore = "needs Nchan: tests/interop.sh starts it and runs these"]
fn tail_through_connections_cut_every_few_hundred_ms_loses_nothing() {
    let addr = nchan();
    let (n, runs) = common::soak_size(300, 1);
    for run in 0..runs {
        for (i, transport) in ["sse", "poll", "ws"].into_iter().enumerate() {
            let ch = channel(&format!("cut-{transport}"));
            let soak = common::tail_through_cuts(
                addr,
                &format!("/sub/{ch}"),
                &format!("http://{addr}/pub/{ch}"),
                transport,
                n,
                0xc0ffee + (run * 3 + i) as u64,
            );
            soak.assert_complete(n);
        }
    }
}

/// `pubcat bench` against Nchan, paced so Nchan keeps up: over WebSocket,
/// and publishing by POST to SSE subscribers. Every message must arrive.
#[test]
#[ignore = "needs Nchan: tests/interop.sh starts it and runs these"]
fn bench_against_nchan_loses_nothing_at_a_pace_it_keeps() {
    let addr = nchan();
    for (url, rate) in [
        (
            format!("ws://{addr}/pubsub/{}", channel("bench-ws")),
            "5000",
        ),
        (
            format!("http://{addr}/pubsub/{}", channel("bench-sse")),
            "1000",
        ),
    ] {
        let out = pubcat()
            .args(["bench", &url, "--json", "--subs", "2", "--rate", rate])
            .args(["--duration", "1s", "--warmup", "200ms"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{url}: {stderr}");
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(r["sent"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(r["lost"], 0, "{url}: {r}");
        assert_eq!(r["received"], r["expected"], "{url}: {r}");
        assert_eq!(r["expected"].as_u64(), r["sent"].as_u64().map(|s| s * 2));
        let p50 = r["latency_us"]["p50"].as_f64().unwrap();
        let p99 = r["latency_us"]["p99"].as_f64().unwrap();
        assert!(0.0 < p50 && p50 <= p99, "{r}");
    }
}
