//! Interop with nats-server's WebSocket listener, a real server we did not
//! write. Start it with `bash tests/peers/nats-ws.sh start`, then run
//! `cargo test --test interop nats:: -- --include-ignored` (tests/interop.sh
//! does both). The tests that need auth or a restart start nats-servers of
//! their own, on free ports, from a config in a temp dir.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

use crate::common::{self, Lines, assert_code, free_port, pubcat, run_within};

const WS: &str = "nats+ws://127.0.0.1:18085";
const MONITOR: &str = "127.0.0.1:18222";

/// A loud failure when the nats-ws peer is not there.
fn nats() {
    let up = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:18085".parse().unwrap(),
        Duration::from_secs(2),
    )
    .is_ok();
    assert!(
        up,
        "nats-server is not answering on ws://127.0.0.1:18085: start it with `bash tests/peers/nats-ws.sh start`"
    );
}

/// A subject no other run uses (tokens may not hold `.`).
fn unique(name: &str) -> String {
    crate::unique(&format!("pubcat-{name}")).replace('.', "_")
}

/// The subscriptions to exactly `subject` (in `queue`, when given) the
/// server at `monitor` holds.
fn subscriptions(monitor: &str, subject: &str, queue: Option<&str>) -> usize {
    let addr: SocketAddr = monitor.parse().unwrap();
    // `test` lists the subscriptions that would get a message on the
    // subject: a wildcard subscription is counted under its own pattern.
    let concrete = subject.replace(['*', '>'], "x");
    let path = format!("/subsz?subs=1&limit=100000&test={concrete}");
    let Ok((200, body)) = common::try_http_with(addr, "GET", &path, b"", &[]) else {
        return 0;
    };
    let v: serde_json::Value = serde_json::from_slice(&body).expect("/subsz JSON");
    v["subscriptions_list"]
        .as_array()
        .map(|subs| {
            subs.iter()
                .filter(|s| s["subject"] == subject)
                .filter(|s| s["qgroup"].as_str() == queue)
                .count()
        })
        .unwrap_or(0)
}

/// Wait until the server at `monitor` holds `n` subscriptions to `subject`.
fn wait_for_subs(monitor: &str, subject: &str, queue: Option<&str>, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = subscriptions(monitor, subject, queue);
        if now == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{subject} never had {n} subscriptions (now {now})"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `pubcat sub` on `subject` with `args`, output collected.
fn subscriber(url: &str, subject: &str, args: &[&str]) -> Child {
    pubcat()
        .args(["sub", url, "-t", subject])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> std::process::Output {
    let mut child = child;
    let out = common::collect(child.stdout.take().unwrap());
    let err = common::collect(child.stderr.take().unwrap());
    let status = common::wait_with_timeout(&mut child, Duration::from_secs(60));
    std::process::Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Publish `input` (stdin) to `subject` with `args`; asserts exit `code`,
/// returns stderr.
fn publish(url: &str, subject: &str, args: &[&str], input: &[u8], code: i32) -> String {
    let mut cmd = pubcat();
    cmd.args(["pub", url, "-t", subject]).args(args);
    let (status, stderr) = common::run_with_input(cmd, input, Duration::from_secs(120));
    assert_eq!(status.code(), Some(code), "pub: {stderr}");
    stderr
}

#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn bodies_round_trip_byte_exact_with_their_subject() {
    nats();
    let subject = unique("round");
    let sub = subscriber(WS, &subject, &["-n", "3", "-o", "json", "--timeout", "30s"]);
    wait_for_subs(MONITOR, &subject, None, 1);
    let out = run_within(
        &["pub", WS, "-t", &subject, "hello", "ünï cödé  two  spaces"],
        Duration::from_secs(30),
    );
    assert_code(&out, 0);
    let binary: Vec<u8> = (0..=255u8).chain(*b"\r\nPUB x 3\r\n").collect();
    publish(WS, &subject, &["--stdin-mode", "whole"], &binary, 0);
    let out = finish(sub);
    assert_code(&out, 0);
    let lines = common::json_lines(&out.stdout);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["body"], "hello");
    assert_eq!(lines[1]["body"], "ünï cödé  two  spaces");
    assert!(lines[2]["body"].is_null());
    let got = base64::engine::general_purpose::STANDARD
        .decode(lines[2]["body_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(got, binary);
    for line in &lines {
        assert_eq!(line["topic"], subject.as_str());
        assert_eq!(line["transport"], "nats+ws");
    }
}

#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn wildcards_star_and_greater_than_match_as_nats_says() {
    nats();
    let base = unique("wild");
    let star = format!("{base}.*");
    let rest = format!("{base}.>");
    // `*` takes one token: its first message is base.a, not base.a.b.
    let one = subscriber(WS, &star, &["-n", "1", "-o", "json", "--timeout", "30s"]);
    let two = subscriber(WS, &rest, &["-n", "2", "-o", "json", "--timeout", "30s"]);
    wait_for_subs(MONITOR, &star, None, 1);
    wait_for_subs(MONITOR, &rest, None, 1);
    for (subject, body) in [
        (format!("{base}.a.b"), "deep"),
        (format!("{base}x.a"), "elsewhere"),
        (format!("{base}.a"), "shallow"),
    ] {
        let out = run_within(&["pub", WS, "-t", &subject, body], Duration::from_secs(30));
        assert_code(&out, 0);
    }
    let out = finish(one);
    assert_code(&out, 0);
    let got = common::json_lines(&out.stdout);
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0]["topic"].as_str(), got[0]["body"].as_str()),
        (Some(format!("{base}.a").as_str()), Some("shallow"))
    );
    let out = finish(two);
    assert_code(&out, 0);
    let got: Vec<(String, String)> = common::json_lines(&out.stdout)
        .iter()
        .map(|v| {
            (
                v["topic"].as_str().unwrap().to_string(),
                v["body"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (format!("{base}.a.b"), "deep".to_string()),
            (format!("{base}.a"), "shallow".to_string())
        ]
    );
    // A wildcard is for subscribing: publishing to one is a usage error.
    let out = run_within(&["pub", WS, "-t", &star, "x"], Duration::from_secs(30));
    let stderr = assert_code(&out, 2);
    assert!(stderr.contains("wildcard"), "{stderr}");
}

#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn headers_given_with_dash_h_arrive_in_hmsg() {
    nats();
    let subject = unique("headers");
    let sub = subscriber(WS, &subject, &["-n", "1", "-o", "json", "--timeout", "30s"]);
    wait_for_subs(MONITOR, &subject, None, 1);
    let out = run_within(
        &[
            "pub",
            WS,
            "-t",
            &subject,
            "-H",
            "X-Trace-Id: abc 123",
            "-H",
            "Kind:order",
            "with headers",
        ],
        Duration::from_secs(30),
    );
    assert_code(&out, 0);
    let out = finish(sub);
    assert_code(&out, 0);
    let got = common::json_lines(&out.stdout);
    assert_eq!(got[0]["body"], "with headers");
    assert_eq!(got[0]["headers"]["X-Trace-Id"], "abc 123");
    assert_eq!(got[0]["headers"]["Kind"], "order");
}

/// Wait until the consumers hold `n` lines between them.
fn wait_total(consumers: &[&Lines], n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let total: usize = consumers.iter().map(|c| c.count()).sum();
        if total >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {total} of {n} messages arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `m{from}`..`m{to}`, one a line.
fn numbered(from: usize, to: usize) -> String {
    (from..=to).map(|i| format!("m{i}\n")).collect()
}

/// Asserts `lines` hold `m{from}`..`m{to}` exactly once each.
fn exactly_once(lines: &[String], from: usize, to: usize) {
    let mut seen = BTreeSet::new();
    for line in lines {
        assert!(seen.insert(line.clone()), "{line} arrived twice");
    }
    let want: BTreeSet<String> = (from..=to).map(|i| format!("m{i}")).collect();
    assert_eq!(seen, want, "not exactly m{from}..m{to}");
}

#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn a_queue_group_shares_each_message_with_one_member_also_after_one_dies() {
    nats();
    let subject = unique("work");
    let group = unique("workers");
    let consumer = || {
        let mut cmd = pubcat();
        cmd.args([
            "sub",
            WS,
            "-t",
            &subject,
            "--queue-group",
            &group,
            "-o",
            "raw",
        ]);
        Lines::spawn(cmd)
    };
    let (a, b, mut c) = (consumer(), consumer(), consumer());
    wait_for_subs(MONITOR, &subject, Some(&group), 3);
    let n = 300;
    let stderr = publish(WS, &subject, &["--confirm"], numbered(1, n).as_bytes(), 0);
    assert!(stderr.contains("confirmed"), "{stderr}");
    wait_total(&[&a, &b, &c], n);
    // One member dies: the server forgets its subscription with the
    // connection, and the survivors share what comes next.
    c.child.kill().unwrap();
    wait_for_subs(MONITOR, &subject, Some(&group), 2);
    let (_, lines_c, _) = c.finish();
    let (a_before, b_before) = (a.count(), b.count());
    assert_eq!(a_before + b_before + lines_c.len(), n);
    publish(
        WS,
        &subject,
        &["--confirm"],
        numbered(n + 1, 2 * n).as_bytes(),
        0,
    );
    wait_total(&[&a, &b], 2 * n - lines_c.len());
    let (code_a, lines_a, err_a) = a.stop();
    let (code_b, lines_b, err_b) = b.stop();
    assert_eq!((code_a, code_b), (Some(130), Some(130)), "{err_a}\n{err_b}");
    let first: Vec<String> = lines_a[..a_before]
        .iter()
        .chain(&lines_b[..b_before])
        .chain(&lines_c)
        .cloned()
        .collect();
    exactly_once(&first, 1, n);
    let after: Vec<String> = lines_a[a_before..]
        .iter()
        .chain(&lines_b[b_before..])
        .cloned()
        .collect();
    exactly_once(&after, n + 1, 2 * n);
    // Every member got a share (NATS picks one at random per message).
    assert!(a_before > 0 && b_before > 0 && !lines_c.is_empty());
    assert!(lines_a.len() > a_before && lines_b.len() > b_before);
}

#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn confirm_waits_for_the_pong_after_the_last_pub() {
    nats();
    let subject = unique("confirm");
    let sub = subscriber(
        WS,
        &subject,
        &["-n", "1000", "-o", "raw", "--timeout", "60s"],
    );
    wait_for_subs(MONITOR, &subject, None, 1);
    let stderr = publish(
        WS,
        &subject,
        &["--confirm"],
        numbered(1, 1000).as_bytes(),
        0,
    );
    assert!(
        stderr.contains("1000 message(s) confirmed"),
        "one confirmation for all: {stderr}"
    );
    let out = finish(sub);
    assert_code(&out, 0);
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    let want: Vec<String> = (1..=1000).map(|i| format!("m{i}")).collect();
    assert!(lines == want, "not m1..m1000 in order");
}

/// A nats-server of the test's own, from `config` (its `websocket` and
/// `http` blocks added here), killed when dropped.
struct OwnServer {
    child: Child,
    ws: u16,
    monitor: u16,
    dir: std::path::PathBuf,
}

impl OwnServer {
    fn start(config: &str) -> OwnServer {
        let (ws, monitor) = (free_port(), free_port());
        Self::start_on(config, ws, monitor)
    }

    fn start_on(config: &str, ws: u16, monitor: u16) -> OwnServer {
        let dir = std::env::temp_dir().join(unique("nats-conf"));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("nats.conf");
        std::fs::write(
            &conf,
            format!(
                "listen: 127.0.0.1:-1\nhttp: 127.0.0.1:{monitor}\n{config}\n\
                 websocket {{ host: 127.0.0.1, port: {ws}, no_tls: true }}\n"
            ),
        )
        .unwrap();
        let child = Command::new("nats-server")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server (apt-get install nats-server; tests/peers/nats-ws.sh does)");
        let server = OwnServer {
            child,
            ws,
            monitor,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr: SocketAddr = format!("127.0.0.1:{ws}").parse().unwrap();
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "own nats-server never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn url(&self) -> String {
        format!("nats+ws://127.0.0.1:{}", self.ws)
    }

    fn monitor(&self) -> String {
        format!("127.0.0.1:{}", self.monitor)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn a_token_server_refuses_without_the_token_with_exit_4() {
    let server = OwnServer::start("authorization { token: \"s3cret-tok\" }");
    let url = server.url();
    for args in [&[][..], &["--token", "wrong"][..]] {
        let out = run_within(
            &[&["pub", url.as_str(), "-t", "a", "x"][..], args].concat(),
            Duration::from_secs(30),
        );
        let stderr = assert_code(&out, 4);
        assert!(stderr.contains("Authorization Violation"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(!stderr.contains("wrong"), "the token is never shown");
    }
    // -vv shows CONNECT without the token.
    let out = run_within(
        &["pub", &url, "-t", "a", "x", "--token", "s3cret-tok", "-vv"],
        Duration::from_secs(30),
    );
    let stderr = assert_code(&out, 0);
    assert!(stderr.contains("CONNECT {"), "{stderr}");
    assert!(!stderr.contains("s3cret-tok"), "{stderr}");
}

#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn users_and_permissions_are_the_servers_to_refuse() {
    let server = OwnServer::start(
        "authorization { users: [ { user: alice, password: \"pw-alice\", \
         permissions: { publish: { deny: \"secret.>\" } } } ] }",
    );
    let url = server.url();
    let out = run_within(
        &[
            "pub",
            &url,
            "-t",
            "a",
            "x",
            "--user",
            "alice",
            "--password",
            "nope",
        ],
        Duration::from_secs(30),
    );
    let stderr = assert_code(&out, 4);
    assert!(stderr.contains("Authorization Violation"), "{stderr}");
    assert!(!stderr.contains("nope"), "{stderr}");
    let me = ["--user", "alice", "--password", "pw-alice"];
    let sub = pubcat()
        .args(["sub", &url, "-t", "open.x", "-n", "1", "-o", "raw"])
        .args(me)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_subs(&server.monitor(), "open.x", None, 1);
    let out = run_within(
        &[
            &["pub", url.as_str(), "-t", "open.x", "fine", "--confirm"][..],
            &me[..],
        ]
        .concat(),
        Duration::from_secs(30),
    );
    assert_code(&out, 0);
    let out = finish(sub);
    assert_code(&out, 0);
    assert_eq!(out.stdout, b"fine\n");
    // Publishing where the permissions deny it: the server's -ERR comes
    // before the PONG that would confirm, so exit 4 with its words.
    let out = run_within(
        &[
            &["pub", url.as_str(), "-t", "secret.x", "no", "--confirm"][..],
            &me[..],
        ]
        .concat(),
        Duration::from_secs(30),
    );
    let stderr = assert_code(&out, 4);
    assert!(stderr.contains("Permissions Violation"), "{stderr}");
    // The URL's `user:password@` is the same as --user and --password.
    let with_userinfo = url.replace("nats+ws://", "nats+ws://alice:pw-alice@");
    let out = run_within(
        &["pub", &with_userinfo, "-t", "open.y", "x", "--confirm"],
        Duration::from_secs(30),
    );
    assert_code(&out, 0);
}

#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn tail_follows_a_restarted_server() {
    let mut server = OwnServer::start("");
    let (ws, monitor) = (server.ws, server.monitor);
    let url = server.url();
    let mut cmd = pubcat();
    cmd.args([
        "tail",
        &url,
        "-t",
        "t.>",
        "-o",
        "raw",
        "--backoff-max",
        "1s",
    ]);
    let tail = Lines::spawn(cmd);
    wait_for_subs(&server.monitor(), "t.>", None, 1);
    let out = run_within(&["pub", &url, "-t", "t.a", "one"], Duration::from_secs(30));
    assert_code(&out, 0);
    wait_total(&[&tail], 1);
    server.stop();
    let server = OwnServer::start_on("", ws, monitor);
    wait_for_subs(&server.monitor(), "t.>", None, 1);
    let out = run_within(&["pub", &url, "-t", "t.b", "two"], Duration::from_secs(30));
    assert_code(&out, 0);
    wait_total(&[&tail], 2);
    let (code, lines, stderr) = tail.stop();
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(lines, ["one", "two"], "{stderr}");
}

/// The connections the server at `monitor` has (`/connz`).
fn connections(monitor: &str) -> u64 {
    let addr: SocketAddr = monitor.parse().unwrap();
    let Ok((200, body)) = common::try_http_with(addr, "GET", "/connz", b"", &[]) else {
        return 0;
    };
    let v: serde_json::Value = serde_json::from_slice(&body).expect("/connz JSON");
    v["num_connections"].as_u64().unwrap_or(0)
}

/// Freeze or thaw our own nats-server: its sockets stay open, it answers
/// nothing.
fn signal(server: &OwnServer, sig: i32) {
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    let sent = unsafe { libc::kill(server.child.id() as i32, sig) };
    assert_eq!(sent, 0);
}

#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn a_server_that_stops_answering_pings_is_dead_with_exit_3() {
    let server = OwnServer::start("");
    let url = server.url();
    let mut cmd = pubcat();
    cmd.args(["sub", &url, "-t", "quiet", "--ping-interval", "300ms", "-v"]);
    // Frozen once the subscription is confirmed (its PONG came): the
    // keep-alive, not the subscribing, is what goes unanswered.
    let (mut sub, err) = spawn_until(cmd, "subscribed to quiet");
    signal(&server, libc::SIGSTOP);
    let status = common::wait_with_timeout(&mut sub, Duration::from_secs(30));
    signal(&server, libc::SIGCONT);
    let stderr = err.join().unwrap();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("considered dead"), "{stderr}");
}

#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn confirm_without_the_pong_exits_5() {
    use std::io::Write;
    let server = OwnServer::start("");
    let url = server.url();
    let mut cmd = pubcat();
    cmd.args([
        "pub",
        &url,
        "-t",
        "lost",
        "--confirm",
        "--timeout",
        "1s",
        "-v",
    ]);
    // Frozen once CONNECT's PING is answered: the confirmation is what
    // goes unanswered.
    let (mut child, err) = spawn_until(cmd, "NATS connected");
    assert_eq!(connections(&server.monitor()), 1);
    signal(&server, libc::SIGSTOP);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"m1\n").unwrap();
    drop(stdin);
    let status = common::wait_with_timeout(&mut child, Duration::from_secs(30));
    signal(&server, libc::SIGCONT);
    let stderr = err.join().unwrap();
    assert_eq!(status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("sent 1 message(s) but"), "{stderr}");
}

/// Start `cmd` (stdin piped, stdout ignored) and return once its stderr
/// has a line holding `needle`: the child, and its whole stderr when it
/// ends.
fn spawn_until(mut cmd: Command, needle: &'static str) -> (Child, std::thread::JoinHandle<String>) {
    use std::io::BufRead;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains(needle) {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    if rx.recv_timeout(Duration::from_secs(30)).is_err() {
        let _ = child.kill();
        panic!("never said `{needle}`: {}", err.join().unwrap());
    }
    (child, err)
}

#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn the_servers_pings_are_answered_so_an_idle_subscriber_stays() {
    // The server pings every 100ms and drops a client that leaves two
    // unanswered (`Stale Connection`); our own pings are off.
    let server = OwnServer::start("ping_interval: \"100ms\"\nping_max: 2");
    let out = run_within(
        &[
            "sub",
            &server.url(),
            "-t",
            "idle",
            "--ping-interval",
            "0",
            "--timeout",
            "2s",
        ],
        Duration::from_secs(30),
    );
    // Exit 0 at --timeout: still connected after some 20 server pings.
    assert_code(&out, 0);
}

#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn a_body_near_max_payload_crosses_many_frames_intact_and_one_over_is_refused() {
    nats();
    let subject = unique("big");
    let sub = subscriber(WS, &subject, &["-n", "1", "-o", "raw", "--timeout", "30s"]);
    wait_for_subs(MONITOR, &subject, None, 1);
    let body: Vec<u8> = (0..1_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    publish(WS, &subject, &["--stdin-mode", "whole"], &body, 0);
    let out = finish(sub);
    assert_code(&out, 0);
    assert_eq!(out.stdout.len(), body.len() + 1);
    assert!(out.stdout[..body.len()] == body[..], "the body changed");
    // nats-server's max_payload is 1MB here: over it, refused before
    // anything is sent.
    let over = vec![b'x'; 1024 * 1024 + 1];
    let stderr = publish(WS, &subject, &["--stdin-mode", "whole"], &over, 2);
    assert!(stderr.contains("max_payload"), "{stderr}");
}

#[test]
fn a_websocket_server_that_sends_no_info_is_not_nats_exit_3_within_connect_timeout() {
    // pubcat serve: a WebSocket server that says nothing first.
    let broker = common::Broker::start();
    let url = format!("nats+ws://{}/t", broker.addr);
    let started = Instant::now();
    let out = run_within(
        &["sub", &url, "-t", "a", "--connect-timeout", "500ms"],
        Duration::from_secs(30),
    );
    let stderr = assert_code(&out, 3);
    assert!(
        stderr.contains("no NATS INFO within 500ms (--connect-timeout"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn connect_subscribes_to_a_wildcard_and_publishes_where_topic_says() {
    nats();
    let base = unique("chat");
    let mut cmd = pubcat();
    cmd.args(["connect", WS, "-t", &format!("{base}.>"), "-o", "json"]);
    let input = format!("not sent\n/topic {base}.room\nhello room\n");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = common::collect(child.stdout.take().unwrap());
    let err = common::collect(child.stderr.take().unwrap());
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
    }
    let status = common::wait_with_timeout(&mut child, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("not published"), "{stderr}");
    // The server echoes our own PUB to our subscription before the PONG
    // that the close waits for.
    let got = common::json_lines(&out.join().unwrap());
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["topic"], format!("{base}.room").as_str());
    assert_eq!(got[0]["body"], "hello room");
}

/// `request` and `reply` over NATS: the request carries its inbox as the
/// reply subject; two replies in a queue group answer each request once;
/// a subject nobody subscribes to is exit 1 at once (no responders).
#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn request_and_reply_over_a_reply_subject() {
    nats();
    let subject = unique("svc");
    let replier = |answer: &str| {
        let mut cmd = pubcat();
        cmd.args([
            "reply",
            WS,
            "-t",
            &subject,
            "--queue-group",
            "svc",
            "-o",
            "json",
            answer,
        ]);
        Lines::spawn(cmd)
    };
    let (a, b) = (replier("from a"), replier("from b"));
    wait_for_subs(MONITOR, &subject, Some("svc"), 2);
    let mut answers = Vec::new();
    for i in 0..6 {
        let out = run_within(
            &[
                "request",
                WS,
                "-t",
                &subject,
                "-o",
                "json",
                &format!("q{i}"),
            ],
            Duration::from_secs(30),
        );
        assert_code(&out, 0);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            v["topic"].as_str().unwrap().starts_with("_INBOX.pubcat."),
            "{v}"
        );
        answers.push(v["body"].as_str().unwrap().to_string());
    }
    assert!(
        answers.iter().all(|a| a == "from a" || a == "from b"),
        "{answers:?}"
    );
    // Each request went to one member of the group: six requests seen in all.
    let deadline = Instant::now() + Duration::from_secs(20);
    while a.count() + b.count() < 6 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (_, seen_a, _) = a.stop();
    let (_, seen_b, _) = b.stop();
    let mut bodies: Vec<String> = seen_a
        .iter()
        .chain(&seen_b)
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["body"].to_string())
        .collect();
    bodies.sort();
    let want: Vec<String> = (0..6).map(|i| format!("\"q{i}\"")).collect();
    assert_eq!(bodies, want);

    let started = Instant::now();
    let out = run_within(
        &[
            "request",
            WS,
            "-t",
            &unique("nobody"),
            "--timeout",
            "10s",
            "hi",
        ],
        Duration::from_secs(30),
    );
    let stderr = assert_code(&out, 1);
    assert!(stderr.contains("no responders"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// `bench` over NATS, plain and with a queue group: a group's messages are
/// counted once for the group (each to one member), and none is lost.
#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn bench_counts_a_queue_group_once_per_message() {
    nats();
    for (group, delivery) in [(None, "fan-out"), (Some("g"), "queue")] {
        let subject = unique("bench");
        let mut args = vec!["-q", "bench", WS, "-t", &subject, "--subs", "3"];
        args.extend(["--rate", "2000", "--duration", "1s", "--json"]);
        if let Some(g) = group {
            args.extend(["--queue-group", g]);
        }
        let out = run_within(&args, Duration::from_secs(60));
        assert_code(&out, 0);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["config"]["delivery"], delivery, "{v}");
        assert_eq!(
            (&v["lost"], &v["duplicated"]),
            (&0.into(), &0.into()),
            "{v}"
        );
        let (sent, received) = (v["sent"].as_u64().unwrap(), v["received"].as_u64().unwrap());
        let per_message = if group.is_some() { 1 } else { 3 };
        assert!(sent > 0 && received == sent * per_message, "{v}");
    }
}

/// The bulk check: `seq 100000 | pubcat pub --confirm` exits 0,
/// and a `sub` started before it has every line, in order.
#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn a_hundred_thousand_confirmed_arrive_in_order() {
    nats();
    const N: usize = 100_000;
    let subject = unique("bulk");
    let sub = subscriber(WS, &subject, &["-o", "raw", "-n", &N.to_string()]);
    wait_for_subs(MONITOR, &subject, None, 1);
    let input: String = (1..=N).map(|i| format!("{i}\n")).collect();
    let stderr = publish(WS, &subject, &["--confirm"], input.as_bytes(), 0);
    assert!(stderr.contains("confirmed"), "{stderr}");
    let out = finish(sub);
    assert_code(&out, 0);
    assert!(
        out.stdout == input.as_bytes(),
        "{} bytes, not the {N} lines in order",
        out.stdout.len()
    );
}

/// NKey authentication against a server that knows the user only by its
/// public key (the NATS documentation's example pair): the seed signs the
/// server's nonce and gets in; another user's seed, or none, is refused
/// (exit 4); the seed is never shown, not even by -vv.
#[test]
#[ignore = "needs nats-server: tests/interop.sh starts it and runs these"]
fn an_nkey_signs_the_nonce_and_gets_in() {
    const SEED: &str = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY";
    const PUBLIC: &str = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";
    let server = OwnServer::start(&format!(
        "authorization {{ users = [ {{ nkey: {PUBLIC} }} ] }}"
    ));
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    // `pub … x` with the seed FILE holds as --nkey (none without one).
    let publish = |seed: Option<&str>, extra: &[&str]| {
        let mut args = vec!["pub", url.as_str(), "-t", "a", "x"];
        let path = dir.path().join("user.nk");
        if let Some(seed) = seed {
            std::fs::write(&path, format!("{seed}\n")).unwrap();
            args.extend(["--nkey", path.to_str().unwrap()]);
        }
        args.extend(extra);
        run_within(&args, Duration::from_secs(30))
    };
    let stderr = assert_code(&publish(Some(SEED), &["--confirm", "-vv"]), 0);
    assert!(
        stderr.contains(&format!("\"nkey\":\"{PUBLIC}\"")),
        "{stderr}"
    );
    assert!(stderr.contains("\"sig\":\"[redacted]\""), "{stderr}");
    assert!(!stderr.contains(SEED), "the seed was shown: {stderr}");

    let stderr = assert_code(&publish(None, &[]), 4);
    assert!(stderr.contains("Authorization Violation"), "{stderr}");
    // A seed the server does not know: a valid key, not this user's.
    let other = "SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4";
    let stderr = assert_code(&publish(Some(other), &[]), 4);
    assert!(stderr.contains("Authorization Violation"), "{stderr}");
    // Not a seed at all: exit 2 before connecting, the file's text unquoted.
    let stderr = assert_code(&publish(Some("not-a-seed"), &[]), 2);
    assert!(!stderr.contains("not-a-seed"), "{stderr}");
}
