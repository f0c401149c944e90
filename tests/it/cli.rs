//! The real binary against a real broker (`pubcat serve`) on 127.0.0.1.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use crate::common::{self, Broker, assert_code, collect, pubcat, wait_with_timeout};

const LIMIT: Duration = Duration::from_secs(60);

/// Start `pubcat sub URL ARGS...` and wait until the broker counts it.
fn subscriber(broker: &Broker, topic: &str, args: &[&str]) -> std::process::Child {
    let child = pubcat()
        .arg("sub")
        .arg(broker.url(topic))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn subscriber");
    broker.wait_for_subscribers(topic, 1);
    child
}

fn finish(mut child: std::process::Child) -> (i32, Vec<u8>, String) {
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let status = wait_with_timeout(&mut child, LIMIT);
    let stdout = out.join().unwrap();
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
    (status.code().unwrap_or(-1), stdout, stderr)
}

fn publish(broker: &Broker, topic: &str, args: &[&str], stdin: &[u8]) -> (i32, String) {
    let mut child = pubcat()
        .arg("pub")
        .arg(broker.url(topic))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn publisher");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let (code, stdout, stderr) = finish(child);
    writer.join().unwrap();
    assert!(stdout.is_empty(), "publish printed on stdout: {stdout:?}");
    (code, stderr)
}

#[test]
fn hundred_thousand_piped_lines_all_arrive_in_order() {
    let broker = Broker::start();
    let sub = subscriber(
        &broker,
        "bulk",
        &["--count", "100000", "--timeout", "60s", "-o", "raw"],
    );
    let input: String = (1..=100_000).map(|i| format!("{i}\n")).collect();
    let (code, stderr) = publish(&broker, "bulk", &[], input.as_bytes());
    assert_eq!(code, 0, "publish failed: {stderr}");
    let (code, stdout, stderr) = finish(sub);
    assert_eq!(code, 0, "subscriber failed: {stderr}");
    assert!(
        stdout == input.as_bytes(),
        "received {} bytes, not the 100,000 lines in order",
        stdout.len()
    );
}

#[test]
fn message_arguments_and_a_last_line_without_newline_are_sent() {
    let broker = Broker::start();
    let sub = subscriber(
        &broker,
        "args",
        &["-n", "4", "-o", "line", "--timeout", "30s"],
    );
    let (code, stderr) = publish(&broker, "args", &["one", "two words"], b"");
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr) = publish(&broker, "args", &[], b"three\nfour");
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = finish(sub);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&stdout),
        "one\ntwo words\nthree\nfour\n"
    );
}

#[test]
fn until_exits_0_on_a_match_and_prints_it() {
    let broker = Broker::start();
    let sub = subscriber(
        &broker,
        "jobs",
        &[
            "--until",
            r#""status":"ready""#,
            "--timeout",
            "30s",
            "-o",
            "line",
        ],
    );
    let (code, stderr) = publish(
        &broker,
        "jobs",
        &[],
        b"{\"status\":\"starting\"}\n{\"status\":\"ready\"}\n{\"status\":\"after\"}\n",
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = finish(sub);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&stdout),
        "{\"status\":\"starting\"}\n{\"status\":\"ready\"}\n"
    );
}

#[test]
fn until_exits_1_when_the_timeout_passes_first() {
    let broker = Broker::start();
    let out = pubcat()
        .args([
            "sub",
            &broker.url("quiet"),
            "--until",
            "never",
            "--timeout",
            "300ms",
        ])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 1);
    assert!(stderr.contains("timed out"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn idle_exits_0_after_silence() {
    let broker = Broker::start();
    let out = pubcat()
        .args([
            "sub",
            &broker.url("idle"),
            "--idle",
            "200ms",
            "--timeout",
            "30s",
        ])
        .output()
        .unwrap();
    assert_code(&out, 0);
}

#[test]
fn refused_connection_exits_3_with_one_line() {
    let port = common::closed_port();
    let out = pubcat()
        .args(["pub", &format!("ws://127.0.0.1:{port}/x"), "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("connection refused"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn bad_urls_exit_2() {
    for url in ["ftp://host/x", "ws://", "ws://[::1/x", "ws://host:99999/x"] {
        let out = pubcat().args(["sub", url]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("pubcat: error:"), "{url}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn unknown_host_exits_3() {
    let out = pubcat()
        .args([
            "sub",
            "ws://no-such-host.invalid/x",
            "--connect-timeout",
            "10s",
        ])
        .output()
        .unwrap();
    assert_code(&out, 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("resolve"));
}

#[test]
fn handshake_rejected_by_http_status_exits_4_with_the_status() {
    let broker = Broker::start();
    let out = pubcat()
        .args(["sub", &format!("ws://{}/_/health", broker.addr)])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 4);
    assert!(
        stderr.contains("HTTP 200") || stderr.contains("HTTP 4"),
        "{stderr}"
    );
}

#[test]
fn binary_frames_round_trip_byte_exact() {
    let broker = Broker::start();
    let blob: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blob.bin");
    std::fs::write(&path, &blob).unwrap();
    let sub = subscriber(
        &broker,
        "blob",
        &["-n", "2", "-o", "raw", "--timeout", "30s"],
    );
    let (code, stderr) = publish(
        &broker,
        "blob",
        &["--binary", "--file", path.to_str().unwrap()],
        b"",
    );
    assert_eq!(code, 0, "{stderr}");
    // Invalid UTF-8 on stdin is not lost: it goes as a binary frame.
    let (code, stderr) = publish(&broker, "blob", &[], b"\xff\xfe\x00ok\n");
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("not valid UTF-8"), "{stderr}");
    let (code, stdout, stderr) = finish(sub);
    assert_eq!(code, 0, "{stderr}");
    let mut want = blob.clone();
    want.push(b'\n');
    want.extend_from_slice(b"\xff\xfe\x00ok\n");
    assert_eq!(stdout, want);
}

#[test]
fn binary_shows_as_hex_in_line_output_and_base64_in_json() {
    let broker = Broker::start();
    let line = subscriber(
        &broker,
        "hex",
        &["-n", "1", "-o", "line", "--timeout", "30s"],
    );
    let (code, stderr) = publish(&broker, "hex", &["--binary", "\u{1}AB"], b"");
    assert_eq!(code, 0, "{stderr}");
    let (_, stdout, _) = finish(line);
    assert_eq!(String::from_utf8_lossy(&stdout), "014142\n");

    let json = subscriber(
        &broker,
        "b64",
        &["-n", "2", "-o", "json", "--timeout", "30s"],
    );
    let (code, stderr) = publish(&broker, "b64", &["--binary", "AB"], b"");
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr) = publish(&broker, "b64", &["text\nbody"], b"");
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = finish(json);
    assert_eq!(code, 0, "{stderr}");
    let rows = common::json_lines(&stdout);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["body_base64"], "QUI=");
    assert_eq!(rows[0]["topic"], "b64");
    assert_eq!(rows[0]["transport"], "ws");
    assert_eq!(rows[1]["body"], "text\nbody");
    assert!(rows[1].get("body_base64").is_none());
}

#[test]
fn sigint_on_subscribe_closes_cleanly_and_exits_130() {
    let broker = Broker::start_with(&["-v"]);
    let child = subscriber(&broker, "ctrlc", &[]);
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    let rc = unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(rc, 0);
    let (code, _, stderr) = finish(child);
    assert_eq!(code, 130, "{stderr}");
    // The broker saw a close handshake, not a dropped connection.
    let line = broker.wait_for_log("ws close");
    assert!(line.contains("1000"), "{line}");
}

#[test]
fn a_peer_that_stops_answering_pings_is_declared_dead_with_exit_3() {
    let broker = Broker::start();
    let child = subscriber(&broker, "frozen", &["--ping-interval", "300ms"]);
    // A stopped process still has its kernel ACK TCP, but answers no ping.
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    assert_eq!(
        unsafe { libc::kill(broker.child.id() as i32, libc::SIGSTOP) },
        0
    );
    let (code, _, stderr) = finish(child);
    // SAFETY: as above.
    unsafe { libc::kill(broker.child.id() as i32, libc::SIGCONT) };
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("no answer from the server"), "{stderr}");
}

#[test]
fn publish_without_a_server_close_answer_is_not_reported_as_success() {
    // A server that accepts the handshake and then never answers our close:
    // pubcat cannot know the messages were read, so it must not exit 0.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let n = std::io::Read::read(&mut s, &mut buf).unwrap();
        let req = String::from_utf8_lossy(&buf[..n]).to_string();
        let key = req
            .lines()
            .find_map(|l| {
                l.strip_prefix("Sec-WebSocket-Key: ")
                    .or_else(|| l.strip_prefix("sec-websocket-key: "))
            })
            .unwrap()
            .trim()
            .to_string();
        let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
        write!(
            s,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .unwrap();
        // Read and ignore everything, never answer.
        while std::io::Read::read(&mut s, &mut buf)
            .map(|n| n > 0)
            .unwrap_or(false)
        {}
    });
    let out = pubcat()
        .args(["pub", &format!("ws://{addr}/x"), "hi"])
        .output()
        .unwrap();
    assert_code(&out, 5);
}

#[test]
fn pubcat_url_is_the_default_url_and_a_bare_word_is_a_message() {
    let broker = Broker::start();
    let sub = subscriber(
        &broker,
        "env",
        &["-n", "2", "-o", "line", "--timeout", "30s"],
    );
    let out = pubcat()
        .env("PUBCAT_URL", broker.url("env"))
        .args(["pub", "hello", "world"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let (code, stdout, stderr) = finish(sub);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(String::from_utf8_lossy(&stdout), "hello\nworld\n");
}

#[test]
fn sigint_on_publish_closes_cleanly_and_exits_130() {
    let broker = Broker::start_with(&["-v"]);
    let mut child = pubcat()
        .args(["pub", &broker.url("stop"), "--rate", "50"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Keep stdin open (the publisher is mid-stream), and wait until the
    // broker has the connection before interrupting.
    let mut input = child.stdin.take().unwrap();
    input.write_all(b"a\nb\n").unwrap();
    broker.wait_for_log("ws connect");
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let (code, _, stderr) = finish(child);
    drop(input);
    assert_eq!(code, 130, "{stderr}");
    let line = broker.wait_for_log("ws close");
    assert!(line.contains("1000"), "{line}");
}

#[test]
fn committed_completions_match_the_binary() {
    let files = [
        ("bash", "pubcat.bash"),
        ("zsh", "_pubcat"),
        ("fish", "pubcat.fish"),
        ("elvish", "pubcat.elv"),
        ("powershell", "_pubcat.ps1"),
    ];
    for (shell, file) in files {
        let out = pubcat().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        let path = format!("{}/completions/{file}", env!("CARGO_MANIFEST_DIR"));
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "{path} is stale: regenerate with `cargo run -- completions {shell} > completions/{file}`"
        );
    }
    let man = pubcat().arg("man").output().unwrap();
    let path = format!("{}/completions/pubcat.1", env!("CARGO_MANIFEST_DIR"));
    assert!(
        std::fs::read(&path).unwrap_or_default() == man.stdout,
        "{path} is stale: regenerate with `cargo run -- man > completions/pubcat.1`"
    );
    // A page per subcommand, each one the top-level page refers to.
    let top = String::from_utf8(man.stdout).unwrap();
    for name in [
        "publish",
        "subscribe",
        "tail",
        "connect",
        "request",
        "reply",
        "bench",
        "serve",
        "completions",
    ] {
        let page = pubcat().args(["man", name]).output().unwrap();
        assert!(page.status.success());
        let file = format!("pubcat-{name}.1");
        let path = format!("{}/completions/{file}", env!("CARGO_MANIFEST_DIR"));
        assert!(
            std::fs::read(&path).unwrap_or_default() == page.stdout,
            "{path} is stale: regenerate with `cargo run -- man {name} > completions/{file}`"
        );
        assert!(top.contains(&format!("pubcat\\-{name}(1)")), "{name}");
    }
    // And no page is referred to that does not exist.
    assert_eq!(top.matches("(1)").count(), 9, "{top}");
}

#[test]
fn an_idle_but_alive_server_is_not_declared_dead_by_pings() {
    let broker = Broker::start();
    let out = pubcat()
        .args([
            "sub",
            &broker.url("quiet"),
            "--ping-interval",
            "100ms",
            "--timeout",
            "1s",
        ])
        .output()
        .unwrap();
    common::assert_code(&out, 0);
}

/// Run `pubcat ARGS` with stdin closed, which must be refused: exit 2
/// within a bound, one error line on stderr (clap adds its `--help` tip to
/// the flags it refuses), no panic or backtrace. Returns the error line.
pub(crate) fn refused(args: &[&str]) -> String {
    let mut child = pubcat()
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = collect(child.stderr.take().unwrap());
    let status = wait_with_timeout(&mut child, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
    assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
    one_error_line(&stderr, args)
}

/// The one error line of `stderr`, asserting there is nothing else.
fn one_error_line(stderr: &str, args: &[&str]) -> String {
    for bad in ["panicked", "backtrace", "overflow", "memory allocation"] {
        assert!(!stderr.contains(bad), "{args:?}: {stderr}");
    }
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && *l != "For more information, try '--help'.")
        .collect();
    assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
    assert!(
        lines[0].starts_with("pubcat: error: ") || lines[0].starts_with("error: "),
        "{args:?}: {stderr}"
    );
    lines[0].to_string()
}

#[test]
fn urls_pubcat_cannot_use_exit_2_naming_what_it_can() {
    let port = common::closed_port();
    for (url, says) in [
        ("mailto:x@y", "unknown scheme `mailto:`"),
        ("gopher://h/x", "unknown scheme `gopher:`"),
        ("ws:/127.0.0.1:1/x", "did you mean ws://127.0.0.1:1/x?"),
        ("http:localhost/x", "did you mean http://localhost/x?"),
        ("sockjs+ws://h/echo", "use sockjs+http://h/echo"),
        ("sockjs+wss://h/echo", "use sockjs+https://h/echo"),
        ("ws:///events", "has no host"),
        ("http://", "has no host"),
    ] {
        for args in [&["sub", url][..], &["pub", url, "hi"], &["tail", url]] {
            let line = refused(args);
            assert!(line.contains(says), "{args:?}: {line}");
        }
    }
    let line = refused(&["bench", "ftp://h/x"]);
    for scheme in [
        "ws://",
        "socketio+http://",
        "socketio+https://",
        "sockjs+http://",
    ] {
        assert!(line.contains(scheme), "{line}");
    }
    // The forms that worked still do: they get as far as connecting.
    for (url, extra) in [
        (format!(":{port}/x"), None),
        (format!("127.0.0.1:{port}/x"), None),
        (format!("localhost:{port}/x"), None),
        (format!("stomp+ws://127.0.0.1:{port}/ws"), Some("/topic/x")),
        (format!("socketio+http://127.0.0.1:{port}/"), None),
        (format!("sockjs+http://127.0.0.1:{port}/echo"), None),
    ] {
        let mut cmd = pubcat();
        cmd.args(["sub", &url]).stdin(Stdio::null());
        if let Some(topic) = extra {
            cmd.args(["-t", topic]);
        }
        let out = cmd.output().unwrap();
        let stderr = common::assert_code(&out, 3);
        assert!(stderr.contains("refused"), "{url}: {stderr}");
    }
}

#[test]
fn absurd_numbers_and_durations_exit_2_before_connecting() {
    // Nothing listens there: a command that got past its flags would exit 3.
    let url = format!(":{}/x", common::closed_port());
    let url = url.as_str();
    for args in [
        &["sub", url, "--timeout", "99999999999s"][..],
        &["sub", url, "--timeout", "18446744073709551615s"],
        &["sub", url, "--idle", "1e30"],
        &["sub", url, "--connect-timeout", "1e30"],
        &["sub", url, "--ping-interval", "99999999999s"],
        &["sub", url, "--poll-timeout", "0"],
        &["pub", url, "--interval", "1e30", "hi"],
        &["pub", url, "--timeout", "NaN", "hi"],
        &["pub", url, "--rate", "1e-300", "hi"],
        &["pub", url, "--rate", "NaN", "hi"],
        &["pub", url, "--rate=-1", "hi"],
        &["pub", url, "--rate", "inf", "hi"],
        &["tail", url, "--backoff-min", "0"],
        &["tail", url, "--backoff-max", "1e30"],
        &["bench", "--duration", "99999999999s"],
        &["bench", "--warmup", "1e30"],
        &["bench", "--drain", "1e30"],
        &["bench", "--rate", "1e-300"],
        &["bench", "--rate", "NaN"],
    ] {
        let line = refused(args);
        let flag = args.iter().find(|a| a.starts_with("--")).unwrap();
        let flag = flag.split('=').next().unwrap();
        assert!(line.contains(flag), "{args:?}: {line}");
    }
}

#[test]
fn bench_sizes_and_connections_that_cannot_fit_exit_2_before_connecting() {
    let url = format!("ws://127.0.0.1:{}/load", common::closed_port());
    let url = url.as_str();
    for (args, says) in [
        // Once 1,024 messages of it were allocated up front, and that aborted.
        (&["bench", "--size", "100000000"][..], "the embedded broker"),
        (&["bench", url, "--size", "100M"], "--max-message-size"),
        (
            &[
                "bench",
                url,
                "--size",
                "1G",
                "--max-message-size",
                "1G",
                "--subs",
                "8",
            ],
            "more than the 4G",
        ),
        (&["bench", "--subs", "18446744073709551615"], "open files"),
        (&["bench", url, "--subs", "100000000000"], "open files"),
        (
            &["bench", "--rate", "0.01", "--duration", "1s"],
            "every 100s",
        ),
        (
            &["bench", "--rate", "0.001", "-n", "1000000"],
            "longer than a year",
        ),
    ] {
        let line = refused(args);
        assert!(line.contains(says), "{args:?}: {line}");
    }
}

/// A bench of the largest message the embedded broker takes, in an address
/// space of 4 GiB: no allocation is a multiple of the message size.
#[test]
fn bench_of_16_mib_messages_fits_in_bounded_memory() {
    use std::os::unix::process::CommandExt;
    let mut cmd = pubcat();
    cmd.args(["bench", "-q", "--size", "16M", "--subs", "1", "-n", "5"])
        .args(["--warmup", "0s", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 4 << 30,
                rlim_max: 4 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["config"]["size"], 16 << 20, "{report}");
}

/// `pubcat pub URL ARGS` with stdin from `stdin`, its (exit code, stderr),
/// killed and failed if it takes longer than `limit`.
fn publish_from(
    broker: &Broker,
    topic: &str,
    args: &[&str],
    stdin: Stdio,
    limit: Duration,
) -> (i32, String) {
    let mut child = pubcat()
        .arg("pub")
        .arg(broker.url(topic))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = collect(child.stderr.take().unwrap());
    let status = wait_with_timeout(&mut child, limit);
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
    (status.code().unwrap_or(-1), stderr)
}

fn dev_zero() -> Stdio {
    Stdio::from(std::fs::File::open("/dev/zero").unwrap())
}

#[test]
fn a_file_larger_than_max_message_size_is_refused_before_connecting() {
    let broker = Broker::start_with(&["-v"]);
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![7u8; (1 << 20) + 1]).unwrap();
    let big = big.to_str().unwrap();
    for (args, says) in [
        // Once read to the end: 5 GB and counting, deaf to SIGTERM.
        (&["--file", "/dev/zero"][..], "--file /dev/zero is larger"),
        (
            &["--file", "/dev/zero", "--max-message-size", "1M"],
            "(1048576 bytes)",
        ),
        (
            &["--file", big, "--max-message-size", "1M"],
            "big.bin is larger",
        ),
    ] {
        let (code, stderr) = publish_from(&broker, "big", args, Stdio::null(), LIMIT);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        let line = one_error_line(&stderr, args);
        assert!(line.contains(says), "{args:?}: {line}");
        assert!(line.contains("--max-message-size"), "{line}");
    }
    // Exactly the limit is a message.
    let exact = dir.path().join("exact.bin");
    std::fs::write(&exact, vec![7u8; 1 << 20]).unwrap();
    let args = ["--binary", "--max-message-size", "1M", "--file"];
    let (code, stderr) = publish_from(
        &broker,
        "big",
        &[&args[..], &[exact.to_str().unwrap()]].concat(),
        Stdio::null(),
        LIMIT,
    );
    assert_eq!(code, 0, "{stderr}");
    // The refused ones never connected: the one connection sent one message.
    let line = broker.wait_for_log("ws close");
    assert!(line.contains("(in 1, "), "{line}");
    assert_eq!(
        broker
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("ws connect"))
            .count(),
        1
    );
}

#[test]
fn stdin_larger_than_max_message_size_is_refused_and_what_came_before_is_sent() {
    let broker = Broker::start_with(&["-v"]);
    // Whole: nothing is sent, and the connection closes cleanly.
    let (code, stderr) = publish_from(
        &broker,
        "whole",
        &["--stdin-mode", "whole"],
        dev_zero(),
        LIMIT,
    );
    assert_eq!(code, 2, "{stderr}");
    let line = one_error_line(&stderr, &["--stdin-mode whole"]);
    assert!(
        line.contains("stdin is larger than --max-message-size"),
        "{line}"
    );
    let closed = broker.wait_for_log("ws close");
    assert!(
        closed.contains("(in 0, ") && closed.contains("1000"),
        "{closed}"
    );

    // Lines: those before the long one are delivered, then exit 2.
    let sub = subscriber(
        &broker,
        "lines",
        &["-o", "raw", "--idle", "1s", "--timeout", "30s"],
    );
    let mut input = b"one\ntwo\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', (1 << 20) + 1));
    input.extend(b"\nthree\n");
    let mut child = pubcat()
        .args(["pub", &broker.url("lines"), "--max-message-size", "1M"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let (code, _, stderr) = finish(child);
    writer.join().unwrap();
    assert_eq!(code, 2, "{stderr}");
    let line = one_error_line(&stderr, &["lines"]);
    assert!(line.contains("line 3 of stdin is longer"), "{line}");
    let (code, stdout, stderr) = finish(sub);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(String::from_utf8_lossy(&stdout), "one\ntwo\n");
}

/// A FIFO in a fresh directory.
fn fifo(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("fifo");
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    path
}

#[test]
fn reading_a_file_that_does_not_end_gives_way_to_sigint_and_sigterm() {
    for (signal, pour) in [(libc::SIGINT, false), (libc::SIGTERM, true)] {
        let dir = tempfile::tempdir().unwrap();
        let path = fifo(&dir);
        let mut child = pubcat()
            .args(["pub", ":1/never", "--max-message-size", "1G", "--file"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = collect(child.stderr.take().unwrap());
        // Opening the write end returns once pubcat opened the read end:
        // it is reading --file (its signal handlers are in place by then).
        let mut writer = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        // Silent, or pouring zeros as /dev/zero does.
        let pouring = pour.then(|| {
            let mut w = writer.try_clone().unwrap();
            std::thread::spawn(move || {
                let zeros = vec![0u8; 1 << 16];
                while w.write_all(&zeros).is_ok() {}
            })
        });
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let status = wait_with_timeout(&mut child, Duration::from_secs(10));
        let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
        assert_eq!(status.code(), Some(130), "signal {signal}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let _ = writer.flush();
        drop(writer);
        if let Some(t) = pouring {
            t.join().unwrap();
        }
    }
}

#[test]
fn sigterm_while_reading_whole_stdin_exits_130_after_a_clean_close() {
    let broker = Broker::start_with(&["-v"]);
    let mut child = pubcat()
        .args(["pub", &broker.url("whole"), "--stdin-mode", "whole"])
        .args(["--max-message-size", "1G"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = collect(child.stderr.take().unwrap());
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&[0u8; 4096]).unwrap();
    // Connected: stdin is read from now on.
    broker.wait_for_log("ws connect");
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    drop(stdin);
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).to_string();
    assert_eq!(status.code(), Some(130), "{stderr}");
    let line = broker.wait_for_log("ws close");
    assert!(line.contains("(in 0, ") && line.contains("1000"), "{line}");
}

/// A message over `pubcat serve`'s limit is refused with close 1009, and
/// the publisher says so (exit 4), although it was still writing when the
/// broker refused: the broker reads and drops the rest before it lets the
/// socket go (it used to close at once, and the client's kernel then threw
/// the close frame away on the reset: exit 5, "connection lost", in about
/// two runs of three).
#[test]
fn a_message_the_broker_refuses_as_too_big_exits_4_with_1009() {
    let broker = Broker::start_with(&["--max-message-size", "1K"]);
    let body = vec![b'a'; 300_000];
    for _ in 0..5 {
        let mut cmd = pubcat();
        cmd.args(["pub", &broker.url("big"), "--stdin-mode", "whole"])
            .args(["--max-message-size", "1M"]);
        let (status, stderr) = common::run_with_input(cmd, &body, Duration::from_secs(20));
        assert_eq!(status.code(), Some(4), "{stderr}");
        assert!(stderr.contains("1009"), "{stderr}");
    }
}

/// `serve` ends on SIGINT, SIGTERM and SIGHUP alike: it closes every client
/// with 1001 "going away" (a subscriber takes that for a normal end, exit 0)
/// and exits 130, as the exit-code table says (it exited 0, and SIGHUP
/// killed it without a close).
#[test]
fn serve_closes_its_clients_and_exits_130_on_sigint_sigterm_and_sighup() {
    // Under `nohup` the brokers would inherit an ignored SIGHUP, which serve
    // leaves ignored by design (as nohup asks): give them the default.
    // SAFETY: signal(2) only changes this process's disposition of SIGHUP.
    unsafe { libc::signal(libc::SIGHUP, libc::SIG_DFL) };
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let mut broker = Broker::start();
        let mut cmd = pubcat();
        cmd.args(["sub", &broker.url("bye"), "-o", "raw"]);
        let sub = common::Lines::spawn(cmd);
        broker.wait_for_subscribers("bye", 1);
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        assert_eq!(unsafe { libc::kill(broker.child.id() as i32, signal) }, 0);
        let status = wait_with_timeout(&mut broker.child, Duration::from_secs(15));
        assert_eq!(status.code(), Some(130), "signal {signal}");
        let (code, lines, stderr) = sub.finish();
        assert_eq!(code, Some(0), "signal {signal}: {stderr}");
        assert!(lines.is_empty(), "{lines:?}");
        assert!(stderr.contains("1001"), "signal {signal}: {stderr}");
    }
}
