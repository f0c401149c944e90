//! Interop with sockjs-node (npm sockjs 0.3.24, the reference SockJS
//! server), a real server we did not write: its `/echo` and `/broadcast`
//! endpoints over each transport pubcat speaks, forced and chosen by
//! fallback. Start it with `bash tests/peers/sockjs.sh start`, then run
//! `cargo test --test interop sockjs:: -- --include-ignored` (`.ci/run` does
//! both).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use crate::common::{self, Lines, assert_code, pubcat, run_with_input};

const ADDR: &str = "127.0.0.1:18088";
const TRANSPORTS: [&str; 3] = ["websocket", "xhr-streaming", "xhr-polling"];

/// A loud failure when sockjs-node is not there.
fn sockjs() -> SocketAddr {
    let addr: SocketAddr = ADDR.parse().unwrap();
    let up = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
        && common::http(addr, "GET", "/health", b"").0 == 200;
    assert!(
        up,
        "sockjs-node is not answering on {ADDR}: start it with `bash tests/peers/sockjs.sh start`"
    );
    addr
}

fn url(addr: SocketAddr, endpoint: &str) -> String {
    format!("sockjs+http://{addr}/{endpoint}")
}

/// A subscriber printing raw bodies, its lines collected as they come.
fn subscriber(args: &[&str]) -> Lines {
    let mut cmd = pubcat();
    cmd.args(args).args(["-o", "raw"]);
    Lines::spawn(cmd)
}

// Helpers only these tests use, so they live here and not in common/,
// which tests/it compiles too.
impl Lines {
    /// Wait (bounded) for a first line: the server has this subscriber.
    fn wait_for_a_line(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.count() == 0 {
            assert!(Instant::now() < deadline, "the subscriber printed nothing");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A TCP proxy to `upstream` that answers `502 Bad Gateway` to any request
/// whose head contains one of `blocked` (matched case-insensitively), as a
/// proxy without WebSocket support does to `upgrade: websocket`; everything
/// else passes both ways untouched.
fn blocking_proxy(upstream: SocketAddr, blocked: &[&str]) -> SocketAddr {
    let blocked: Vec<String> = blocked.iter().map(|b| b.to_ascii_lowercase()).collect();
    common::proxy(upstream, move |mut client, mut server| {
        common::pipe(server.try_clone().unwrap(), client.try_clone().unwrap());
        let blocked = blocked.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            loop {
                let n = match client.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let seen = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
                if blocked.iter().any(|b| seen.contains(b.as_str())) {
                    let _ = client.write_all(
                        b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    break;
                }
                if server.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
        });
    })
}

#[test]
#[ignore = "needs sockjs-node: tests/interop.sh starts it and runs these"]
fn echo_round_trips_over_each_transport() {
    let addr = sockjs();
    // JSON escapes, characters SockJS escapes on the wire, and a message
    // big enough for several TCP segments.
    let tricky = "quote \" backslash \\ tab \t é ✓ 😀 \u{2028} \u{feff} end";
    let big = "b".repeat(100 * 1024);
    for transport in TRANSPORTS {
        let out = pubcat()
            .args(["sub", &url(addr, "echo"), "--sockjs-transport", transport])
            .args(["--send", tricky, "--send", &big, "--send", ""])
            .args(["-n", "3", "--timeout", "30s", "-o", "json"])
            .output()
            .unwrap();
        let stderr = assert_code(&out, 0);
        let got = common::json_lines(&out.stdout);
        assert_eq!(got.len(), 3, "{transport}: {stderr}");
        assert_eq!(got[0]["body"], tricky, "{transport}");
        assert_eq!(got[1]["body"].as_str().map(str::len), Some(big.len()));
        assert_eq!(got[2]["body"], "", "{transport}");
        assert_eq!(got[0]["transport"], "sockjs");
        assert_eq!(got[0]["topic"], "echo");
    }
}

#[test]
#[ignore = "needs sockjs-node: tests/interop.sh starts it and runs these"]
fn broadcast_reaches_every_transport_from_every_transport() {
    let addr = sockjs();
    // 1000 messages of ~200 bytes: more than the 128 KiB after which
    // sockjs-node ends an xhr_streaming answer, so that client asks again.
    let n = 1000;
    let body = |i: usize| format!("m{i}-{}", "x".repeat(200));
    let input: String = (1..=n).map(|i| body(i) + "\n").collect();
    for publisher in TRANSPORTS {
        let subs: Vec<(&str, Lines)> = TRANSPORTS
            .iter()
            .map(|&t| {
                let s = subscriber(&[
                    "sub",
                    &url(addr, "broadcast"),
                    "--sockjs-transport",
                    t,
                    // What comes back proves the subscriber is registered.
                    "--send",
                    &format!("ready {t}"),
                    "--until",
                    &format!("^m{n}-"),
                    "--timeout",
                    "60s",
                ]);
                (t, s)
            })
            .collect();
        for (_, s) in &subs {
            s.wait_for_a_line();
        }
        let mut cmd = pubcat();
        cmd.args([
            "pub",
            &url(addr, "broadcast"),
            "--sockjs-transport",
            publisher,
        ]);
        let (status, stderr) = run_with_input(cmd, input.as_bytes(), Duration::from_secs(60));
        assert!(status.success(), "publish over {publisher}: {stderr}");
        let want: Vec<String> = (1..=n).map(body).collect();
        for (t, s) in subs {
            let (code, lines, stderr) = s.finish();
            assert_eq!(code, Some(0), "{publisher} -> {t}: {stderr}");
            let got: Vec<String> = lines.into_iter().filter(|l| l.starts_with('m')).collect();
            assert!(
                got == want,
                "{publisher} -> {t}: {} messages, not the {n} in order: {stderr}",
                got.len()
            );
        }
    }
}

#[test]
#[ignore = "needs sockjs-node: tests/interop.sh starts it and runs these"]
fn a_blocked_websocket_falls_back_to_xhr_streaming_then_xhr_polling() {
    let addr = sockjs();
    let cases = [
        (&["upgrade: websocket"][..], "xhr-streaming"),
        (
            &["upgrade: websocket", "/xhr_streaming "][..],
            "xhr-polling",
        ),
    ];
    for (blocked, lands_on) in cases {
        let proxy = blocking_proxy(addr, blocked);
        let out = pubcat()
            .args(["-v", "sub", &url(proxy, "echo"), "--send", "through"])
            .args(["-n", "1", "--timeout", "30s", "-o", "raw"])
            .output()
            .unwrap();
        let stderr = assert_code(&out, 0);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "through\n");
        assert!(
            stderr.contains("SockJS websocket failed") && stderr.contains("502"),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("SockJS session open over {lands_on}")),
            "{stderr}"
        );
        // Publishing falls back the same way. /broadcast is shared with
        // the other tests, so this one's messages carry a tag of their own.
        let tag = format!("{}-{lands_on}", std::process::id());
        let (first, last) = (format!("first {tag}"), format!("last {tag}"));
        let sub = subscriber(&[
            "sub",
            &url(addr, "broadcast"),
            "--send",
            "ready",
            "--until",
            &format!("^{last}$"),
            "--timeout",
            "30s",
        ]);
        sub.wait_for_a_line();
        let out = pubcat()
            .args(["pub", &url(proxy, "broadcast"), &first, &last])
            .output()
            .unwrap();
        assert_code(&out, 0);
        let (code, lines, stderr) = sub.finish();
        assert_eq!(code, Some(0), "{stderr}");
        let got: Vec<&String> = lines.iter().filter(|l| l.contains(&tag)).collect();
        assert_eq!(got, [&first, &last]);
    }
}

#[test]
#[ignore = "needs sockjs-node: tests/interop.sh starts it and runs these"]
fn a_path_that_is_no_sockjs_endpoint_exits_4_with_a_hint() {
    let addr = sockjs();
    let out = pubcat()
        .args(["sub", &url(addr, "nope"), "--timeout", "10s"])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 4);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("/nope/info answered HTTP 404") && stderr.contains("SockJS endpoint"),
        "{stderr}"
    );
}

#[test]
#[ignore = "needs sockjs-node: tests/interop.sh starts it and runs these"]
fn binary_messages_are_refused_since_sockjs_carries_text() {
    let addr = sockjs();
    let out = pubcat()
        .args(["pub", &url(addr, "echo"), "--binary", "x"])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 2);
    assert!(stderr.contains("SockJS carries text"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// sockjs-client, the reference SockJS client, speaking STOMP to
/// `pubcat serve`'s SockJS endpoint over each transport. It runs from the
/// modules `tests/peers/sockjs.sh start` installed.
#[test]
#[ignore = "needs sockjs-node: tests/interop.sh starts it and runs these"]
fn sockjs_client_speaks_stomp_to_the_embedded_broker() {
    sockjs();
    let modules = std::env::var_os("PEERS_STATE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("pubsub-peers"))
        .join("sockjs/app/node_modules");
    assert!(
        modules.join("sockjs-client").is_dir(),
        "sockjs-client is not in {}: `bash tests/peers/sockjs.sh start` installs it",
        modules.display()
    );
    let script = format!(
        "{}/tests/peers/sockjs/stomp-client.js",
        env!("CARGO_MANIFEST_DIR")
    );
    let broker = common::Broker::start();
    let base = format!("http://{}/_/sockjs", broker.addr);
    for transport in TRANSPORTS {
        // A pubcat subscriber on the same topic sees what sockjs-client sent.
        let topic = format!("js-{transport}");
        let sub = subscriber(&[
            "sub",
            &format!("stomp+ws://{}/_/stomp", broker.addr),
            "-t",
            &format!("/topic/{topic}"),
            "-n",
            "1",
            "--timeout",
            "30s",
        ]);
        broker.wait_for_subscribers(&topic, 1);
        let out = std::process::Command::new("node")
            .arg(&script)
            .args([&base, transport, &format!("/topic/{topic}")])
            .env("NODE_PATH", &modules)
            .output()
            .expect("run node");
        let stderr = assert_code(&out, 0);
        let hello = format!("hello over {transport}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{hello}\ndisconnected\n"),
            "{stderr}"
        );
        let (code, lines, stderr) = sub.finish();
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(lines, [hello]);
    }
}

/// Needs no server, so it is not ignored.
#[test]
fn sockjs_flags_without_a_sockjs_endpoint_are_usage_errors() {
    let out = pubcat()
        .args([
            "sub",
            "ws://127.0.0.1:9/x",
            "--sockjs-transport",
            "xhr-polling",
        ])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 2);
    assert!(
        stderr.contains("--sockjs-transport needs a SockJS endpoint"),
        "{stderr}"
    );
    let out = pubcat()
        .args([
            "sub",
            "stomp+ws://127.0.0.1:9/x",
            "-t",
            "/topic/x",
            "--transport",
            "sse",
        ])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 2);
    assert!(
        stderr.contains("STOMP runs over WebSocket or SockJS"),
        "{stderr}"
    );
}
