//! Interop with Mosquitto 2.0's WebSocket listener, a real MQTT broker we
//! did not write. Start it with `bash tests/peers/mosquitto-ws.sh start`,
//! then run `cargo test --test interop mqtt:: -- --include-ignored`
//! (`tests/interop.sh` does both).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, Lines, assert_code, pubcat, wait_with_timeout};

const PORT: u16 = 18083;

fn url() -> String {
    format!("mqtt+ws://127.0.0.1:{PORT}/mqtt")
}

/// A loud failure when Mosquitto's WebSocket listener is not there.
fn mosquitto() {
    let up = std::net::TcpStream::connect_timeout(
        &format!("127.0.0.1:{PORT}").parse().unwrap(),
        Duration::from_secs(2),
    )
    .is_ok();
    assert!(
        up,
        "Mosquitto is not answering on {}: start it with `bash tests/peers/mosquitto-ws.sh start`",
        url()
    );
}

/// A topic no other run uses.
fn unique(name: &str) -> String {
    format!("pubcat/{}", crate::unique(name))
}

fn run(args: &[&str]) -> std::process::Output {
    common::run_within(args, Duration::from_secs(30))
}

/// `pubcat sub` started with `args`, returned once Mosquitto has taken its
/// subscription: the retained `ready` message published to `probe` (one
/// of its filters) has come back through it.
fn subscriber(args: &[&str], probe: &str, extra: &[&str]) -> Lines {
    let mut cmd = pubcat();
    cmd.args(args).args(extra);
    if !extra.contains(&"-o") {
        cmd.args(["-o", "raw"]);
    }
    let sub = Lines::spawn(cmd);
    let deadline = Instant::now() + Duration::from_secs(20);
    // Each probe is a plain QoS 0 message: the first that arrives proves
    // the subscription is live; it is not a message the test counts.
    while sub.count() == 0 {
        assert!(Instant::now() < deadline, "the subscriber never got ready");
        let out = run(&["pub", &url(), "-t", probe, "ready"]);
        assert_code(&out, 0);
        std::thread::sleep(Duration::from_millis(50));
    }
    sub
}

/// The lines after the probes.
fn after_ready(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| *l != "ready" && !l.contains("\"body\":\"ready\""))
        .cloned()
        .collect()
}

/// Wait (bounded) until `sub` printed `n` lines besides the probes, then
/// stop it: those lines.
fn take(sub: Lines, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while after_ready(&sub.snapshot()).len() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, lines, stderr) = sub.stop();
    assert_eq!(code, Some(130), "{stderr}");
    after_ready(&lines)
}

#[test]
#[ignore = "needs Mosquitto: tests/interop.sh starts it and runs these"]
fn messages_go_round_at_every_qos_with_exact_bodies() {
    mosquitto();
    for qos in ["0", "1", "2"] {
        let topic = unique(&format!("qos{qos}"));
        let sub = subscriber(&["sub", &url(), "-t", &topic, "--qos", qos], &topic, &[]);
        let mut pub_ = pubcat()
            .args(["pub", &url(), "-t", &topic, "--qos", qos, "--confirm"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        pub_.stdin
            .take()
            .unwrap()
            .write_all("one\n  two spaced  \nünïcode ✓\n".as_bytes())
            .unwrap();
        let out = pub_.wait_with_output().unwrap();
        let stderr = assert_code(&out, 0);
        if qos != "0" {
            for n in 1..=3 {
                assert!(
                    stderr.contains(&format!("message {n} confirmed")),
                    "{stderr}"
                );
            }
        }
        assert_eq!(
            take(sub, 3),
            ["one", "  two spaced  ", "ünïcode ✓"],
            "QoS {qos}"
        );
    }
}

#[test]
#[ignore = "needs Mosquitto: tests/interop.sh starts it and runs these"]
fn wildcards_and_several_filters_take_what_they_match() {
    mosquitto();
    let base = unique("wild");
    let (plus, hash, other) = (
        format!("{base}/+/temp"),
        format!("{base}/alerts/#"),
        format!("{base}/probe"),
    );
    let sub = subscriber(
        &["sub", &url(), "-t", &plus, "-t", &hash, "-t", &other],
        &other,
        &["-o", "json"],
    );
    for (topic, body) in [
        (format!("{base}/kitchen/temp"), "21"),
        (format!("{base}/kitchen/humidity"), "no"),
        (format!("{base}/a/b/temp"), "no"),
        (format!("{base}/alerts"), "parent"),
        (format!("{base}/alerts/fire/now"), "deep"),
    ] {
        assert_code(&run(&["pub", &url(), "-t", &topic, body]), 0);
    }
    let got: Vec<(String, String)> = take(sub, 3)
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| {
            assert_eq!(v["transport"], "mqtt+ws");
            (
                v["topic"].as_str().unwrap().to_string(),
                v["body"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (format!("{base}/kitchen/temp"), "21".to_string()),
            // `#` matches its parent level too.
            (format!("{base}/alerts"), "parent".to_string()),
            (format!("{base}/alerts/fire/now"), "deep".to_string()),
        ]
    );
}

#[test]
#[ignore = "needs Mosquitto: tests/interop.sh starts it and runs these"]
fn a_retained_message_reaches_a_later_subscriber_marked_as_retained() {
    mosquitto();
    let topic = unique("retained");
    let out = run(&[
        "pub",
        &url(),
        "-t",
        &topic,
        "--retain",
        "--message-expiry",
        "1h",
        "last",
    ]);
    assert_code(&out, 0);
    let out = run(&["sub", &url(), "-t", &topic, "-n", "1", "-o", "json"]);
    assert_code(&out, 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&v["body"], &v["headers"]["retain"]),
        (&"last".into(), &"true".into())
    );
    // What is left of its expiry, by the broker's count.
    let left: u32 = v["headers"]["message-expiry"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3500..=3600).contains(&left), "{v}");
    // An empty retained message clears it (the broker's rule).
    assert_code(&run(&["pub", &url(), "-t", &topic, "--retain", ""]), 0);
}

#[test]
#[ignore = "needs Mosquitto: tests/interop.sh starts it and runs these"]
fn user_properties_travel_as_headers_in_mqtt_5() {
    mosquitto();
    let topic = unique("props");
    let sub = subscriber(&["sub", &url(), "-t", &topic], &topic, &["-o", "json"]);
    let out = run(&[
        "pub",
        &url(),
        "-t",
        &topic,
        "-H",
        "trace-id: abc123",
        "-H",
        "tenant: blue",
        "hello",
    ]);
    assert_code(&out, 0);
    let lines = take(sub, 1);
    let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(v["body"], "hello");
    assert_eq!(v["headers"]["trace-id"], "abc123");
    assert_eq!(v["headers"]["tenant"], "blue");
}

/// `tail` at QoS 1 and 2 with a session Mosquitto keeps, through a proxy
/// that cuts every connection (the first one too) after 150-600 ms: every
/// message exactly once and in order, those published while it was away
/// included.
#[test]
#[ignore = "needs Mosquitto: tests/interop.sh starts it and runs these"]
fn tail_with_a_kept_session_gets_each_message_exactly_once_across_cuts() {
    mosquitto();
    for qos in ["1", "2"] {
        tail_through_cuts(qos);
    }
}

fn tail_through_cuts(qos: &str) {
    const N: usize = 300;
    let topic = unique(&format!("exactly-once-{qos}"));
    let client_id = crate::unique("pubcat-tail");
    let upstream = format!("127.0.0.1:{PORT}").parse().unwrap();
    let (proxy, connections) = common::cutting_proxy(
        upstream,
        Duration::from_millis(150),
        Duration::from_millis(600),
        0x5eed,
    );
    let tail_args = |url: &str| -> Command {
        let mut cmd = pubcat();
        cmd.args(["tail", url, "-t", &topic, "--qos", qos, "--clean", "false"])
            .args(["--client-id", &client_id, "-o", "raw"])
            .args(["--backoff-min", "100ms", "--backoff-max", "300ms"]);
        cmd
    };
    // The session exists before anything is published: a first
    // subscriber with its client id connects straight to the broker (its
    // probes go at QoS 0, which the broker does not keep for it) and leaves.
    let direct = subscriber(
        &[
            "sub",
            &url(),
            "-t",
            &topic,
            "--qos",
            qos,
            "--clean",
            "false",
        ],
        &topic,
        &["--client-id", &client_id],
    );
    assert_eq!(take(direct, 0), Vec::<String>::new());

    let tail = Lines::spawn(tail_args(&format!("mqtt+ws://{proxy}/mqtt")));
    let input: String = (1..=N).map(|i| format!("m{i}\n")).collect();
    let mut cmd = pubcat();
    cmd.args(["pub", &url(), "-t", &topic, "--qos", qos, "--confirm"])
        .args(["--rate", "100"]);
    let (status, pub_err) = common::run_with_input(cmd, input.as_bytes(), Duration::from_secs(60));
    assert!(status.success(), "{pub_err}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while tail.count() < N && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, lines, stderr) = tail.stop();
    let want: Vec<String> = (1..=N).map(|i| format!("m{i}")).collect();
    let cuts = connections.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "mqtt QoS {qos} exactly once: {N} published, {} printed, {cuts} connections",
        lines.len()
    );
    assert_eq!(lines, want, "{stderr}");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        cuts >= 3,
        "only {cuts} connection(s): the proxy did not cut"
    );
    assert!(!stderr.contains("carry no ids"), "{stderr}");
}

#[test]
#[ignore = "needs Mosquitto: tests/interop.sh starts it and runs these"]
fn a_will_is_published_when_a_client_vanishes() {
    mosquitto();
    let topic = unique("will");
    let gone = format!("{topic}/gone");
    let watcher = subscriber(&["sub", &url(), "-t", &gone], &gone, &[]);
    let client_id = crate::unique("pubcat-will");
    let mut vanishing = subscriber(
        &["sub", &url(), "-t", &topic],
        &topic,
        &[
            "--will-topic",
            &gone,
            "--will-message",
            "client died",
            "--client-id",
            &client_id,
        ],
    );
    // Killed: no DISCONNECT, so the broker publishes the will.
    vanishing.child.kill().unwrap();
    wait_with_timeout(&mut vanishing.child, Duration::from_secs(10));
    assert_eq!(take(watcher, 1), ["client died"]);
}

/// A broker of our own that wants a password (the shared one lets anyone
/// in): a refused CONNECT is exit 4 with the reason, and the right
/// password gets in.
#[test]
#[ignore = "needs Mosquitto: tests/interop.sh starts it and runs these"]
fn a_refused_connect_is_exit_4_with_the_reason() {
    mosquitto();
    let dir = tempfile::tempdir().unwrap();
    let passwords = dir.path().join("passwords");
    let status = Command::new("mosquitto_passwd")
        .args(["-c", "-b"])
        .arg(&passwords)
        .args(["alice", "wonderland"])
        .status()
        .expect("mosquitto_passwd");
    assert!(status.success());
    let broker = OwnBroker::start(&format!(
        "allow_anonymous false\npassword_file {}\n",
        passwords.display()
    ));
    let url = broker.url.clone();
    for version in ["5", "3.1.1"] {
        let publish = |login: &[&str]| {
            let mut args = vec!["pub", &url, "-t", "x", "--qos", "1", "--confirm"];
            args.extend(["--mqtt-version", version]);
            args.extend(login);
            args.push("hi");
            run(&args)
        };
        let stderr = assert_code(&publish(&[]), 4);
        assert!(stderr.contains("CONNACK"), "{stderr}");
        assert!(
            stderr.contains("not authorized") || stderr.contains("bad user name or password"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        let stderr = assert_code(&publish(&["--user", "alice", "--password", "nope"]), 4);
        assert!(!stderr.contains("nope"), "the password was shown: {stderr}");
        assert_code(
            &publish(&["--user", "alice", "--password", "wonderland"]),
            0,
        );
    }
    drop(broker);
}

/// The bulk check: `seq 100000 | pubcat pub --qos 1 --confirm`
/// exits 0, and a `sub` started before it has every line, in order.
#[test]
#[ignore = "needs Mosquitto: tests/interop.sh starts it and runs these"]
fn a_hundred_thousand_at_qos_1_are_all_confirmed_and_received_in_order() {
    mosquitto();
    const N: usize = 100_000;
    let topic = unique("bulk");
    let sub = subscriber(&["sub", &url(), "-t", &topic, "--qos", "1"], &topic, &[]);
    let input: String = (1..=N).map(|i| format!("{i}\n")).collect();
    let mut cmd = pubcat();
    cmd.args(["pub", &url(), "-t", &topic, "--qos", "1", "--confirm"]);
    let (status, stderr) = common::run_with_input(cmd, input.as_bytes(), Duration::from_secs(120));
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("message {N} confirmed")),
        "{stderr}"
    );
    let lines = take(sub, N);
    let want: Vec<String> = (1..=N).map(|i| i.to_string()).collect();
    assert!(
        lines == want,
        "{} lines, first wrong at {:?}",
        lines.len(),
        lines.iter().zip(&want).position(|(a, b)| a != b)
    );
}

/// `request` and `reply` over MQTT 5: the reply comes to the request's
/// response topic with its correlation data; without a replier, exit 1
/// once --timeout passed.
#[test]
#[ignore = "needs Mosquitto: tests/interop.sh starts it and runs these"]
fn request_and_reply_over_mqtt_5() {
    mosquitto();
    let topic = unique("svc");
    let replier = subscriber(&["reply", &url(), "-t", &topic], &topic, &["-o", "json"]);
    for (asked, qos) in [("ping", "0"), ("pong?", "1")] {
        let out = run(&[
            "request",
            &url(),
            "-t",
            &topic,
            "--qos",
            qos,
            "-o",
            "json",
            asked,
        ]);
        assert_code(&out, 0);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // Echoed back, to this request's own topic, correlated.
        assert_eq!(v["body"], asked);
        let reply_topic = v["topic"].as_str().unwrap();
        assert!(reply_topic.starts_with("pubcat/replies/"), "{v}");
        assert_eq!(
            v["headers"]["correlation-data"],
            reply_topic["pubcat/replies/".len()..]
        );
    }
    let requests = take(replier, 2);
    for (line, asked) in requests.iter().zip(["ping", "pong?"]) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["body"], asked);
        assert!(v["headers"]["response-topic"].is_string(), "{v}");
    }

    let started = Instant::now();
    let out = run(&[
        "request",
        &url(),
        "-t",
        &unique("nobody"),
        "--timeout",
        "1s",
        "hi",
    ]);
    let stderr = assert_code(&out, 1);
    assert!(stderr.contains("no reply within 1s"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let out = run(&[
        "request",
        &url(),
        "-t",
        "x",
        "--mqtt-version",
        "3.1.1",
        "hi",
    ]);
    assert_code(&out, 2);
}

/// MQTT over wss:// (Mosquitto's TLS WebSocket listener, its certificate
/// signed by the peer's own CA): trusted with --ca, refused without (exit 3).
#[test]
#[ignore = "needs Mosquitto: tests/interop.sh starts it and runs these"]
fn mqtt_over_wss_trusts_the_ca_it_is_given() {
    mosquitto();
    let url = "mqtt+wss://localhost:18084/mqtt";
    let ca = "/tmp/pubsub-peers/mosquitto-ws/tls/ca.pem";
    let topic = unique("tls");
    let sub = subscriber(&["sub", url, "-t", &topic, "--ca", ca], &topic, &[]);
    assert_code(
        &run(&[
            "pub",
            url,
            "-t",
            &topic,
            "--ca",
            ca,
            "--qos",
            "1",
            "--confirm",
            "over tls",
        ]),
        0,
    );
    assert_eq!(take(sub, 1), ["over tls"]);
    let stderr = assert_code(&run(&["pub", url, "-t", &topic, "hi"]), 3);
    assert!(stderr.contains("not trusted"), "{stderr}");
}

/// The keep-alive: an idle subscriber with `--ping-interval 1s` (CONNECT's
/// keep-alive 1 s, which Mosquitto enforces at 1.5 s) sends PINGREQ and
/// hears PINGRESP, and is still subscribed after three of them.
#[test]
#[ignore = "needs Mosquitto: tests/interop.sh starts it and runs these"]
fn an_idle_subscriber_keeps_its_connection_with_pingreq() {
    use std::io::BufRead;
    mosquitto();
    let topic = unique("keepalive");
    let mut child = pubcat()
        .args([
            "-vv",
            "sub",
            &url(),
            "-t",
            &topic,
            // Not 1 s: the shared Mosquitto, busy with another test's
            // 100,000 messages, once took longer than that to answer.
            "--ping-interval",
            "2s",
            "-n",
            "1",
            "-o",
            "raw",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut pongs = 0;
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while pongs < 3 {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).unwrap_or_else(|e| {
            panic!(
                "no third PINGRESP within 30 s ({e}); stderr:\n{}",
                seen.join("\n")
            )
        });
        pongs += usize::from(line.contains("recv PINGRESP"));
        seen.push(line);
    }
    assert_code(&run(&["pub", &url(), "-t", &topic, "still here"]), 0);
    let out = common::collect(child.stdout.take().unwrap());
    let status = wait_with_timeout(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
    assert_eq!(out.join().unwrap(), b"still here\n");
}

/// A Mosquitto of the test's own, from `settings` (its listeners added
/// here), killed when dropped.
struct OwnBroker {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl OwnBroker {
    fn start(settings: &str) -> OwnBroker {
        let dir = tempfile::tempdir().unwrap();
        let (mqtt_port, ws_port) = (common::free_port(), common::free_port());
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "per_listener_settings false\n{settings}\
                 listener {mqtt_port} 127.0.0.1\nsocket_domain ipv4\n\
                 listener {ws_port} 127.0.0.1\nsocket_domain ipv4\nprotocol websockets\n"
            ),
        )
        .unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", ws_port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        OwnBroker {
            child,
            url: format!("mqtt+ws://127.0.0.1:{ws_port}/mqtt"),
            _dir: dir,
        }
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        self.signal(libc::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A broker that stops answering while a QoS 1 publisher has its whole
/// window in flight: the publisher pings it, then gives it up (exit 3)
/// within twice `--ping-interval`, rather than waiting for ever.
#[test]
#[ignore = "needs Mosquitto: tests/interop.sh starts it and runs these"]
fn a_publisher_whose_broker_freezes_mid_window_ends_with_exit_3() {
    use std::io::BufRead;
    let broker = OwnBroker::start("allow_anonymous true\n");
    let mut child = pubcat()
        .args([
            "pub",
            &broker.url,
            "-t",
            "frozen",
            "--qos",
            "1",
            "--confirm",
        ])
        .args(["--ping-interval", "500ms"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    stdin.write_all(b"first\n").unwrap();
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("no confirmation");
    assert!(line.contains("message 1 confirmed"), "{line}");
    broker.signal(libc::SIGSTOP);
    let started = Instant::now();
    let lines: String = (0..100).map(|i| format!("m{i}\n")).collect();
    stdin.write_all(lines.as_bytes()).unwrap();
    let status = wait_with_timeout(&mut child, Duration::from_secs(20));
    let rest: Vec<String> = rx.try_iter().collect();
    assert_eq!(status.code(), Some(3), "{rest:?}");
    assert!(
        rest.iter()
            .any(|l| l.contains("connection considered dead")),
        "{rest:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    drop(stdin);
}
