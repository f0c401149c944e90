//! `pubcat serve --token`: without the token every transport refuses the
//! client (exit 4, with a line that says a token is needed); the token
//! works as a Bearer header, `?token=`, `PUBCAT_TOKEN` or STOMP's
//! passcode; subscribe-only and publish-only tokens keep to their rights;
//! and no token ever shows in the broker's log or a client's `-vv`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::common::{self, Broker, Lines, assert_code, pubcat, run_within};

const LIMIT: Duration = Duration::from_secs(60);
const TOKEN: &str = "s3cret-t0ken";
const WRONG: &str = "wr0ng-t0ken";
const READ: &str = "r3ad-only";
const WRITE: &str = "wr1te-only";

/// The whole answer to a request sent byte for byte: (head, body).
fn exchange(addr: SocketAddr, head: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    write!(
        s,
        "{head}\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response head");
    (head.to_string(), body.to_string())
}

/// The broker's log so far, asserted free of every token.
fn assert_log_has_no_token(b: &Broker) {
    let log = b.log.lock().unwrap().join("\n");
    for secret in [TOKEN, WRONG, READ, WRITE] {
        assert!(!log.contains(secret), "the broker logged a token: {log}");
    }
}

#[test]
fn without_the_token_every_transport_refuses_and_the_client_exits_4_saying_so() {
    let b = Broker::start_with(&["--token", TOKEN]);
    let a = b.addr;
    let ws = b.url("t");
    let http = format!("http://{a}/t");
    let stomp = format!("stomp+ws://{a}/_/stomp");
    let sockjs = format!("stomp+sockjs+http://{a}/_/sockjs");
    let ws_401 = "refused the WebSocket handshake with HTTP 401 Unauthorized: a token is required";
    let sse_401 = "answered HTTP 401 Unauthorized instead of an event stream: a token is required";
    let stomp_error = "sent ERROR: this broker wants a token: give the token as CONNECT's passcode";
    let cases: [(&[&str], &str); 9] = [
        (&["sub", &ws], ws_401),
        (&["sub", &http], sse_401),
        (
            &["sub", &http, "--transport", "poll"],
            "answered HTTP 401 Unauthorized to the long-poll: a token is required",
        ),
        // A refusal, not a lost connection: tail does not retry it.
        (&["tail", &http], sse_401),
        (&["pub", &ws, "hi"], ws_401),
        (
            &["pub", &http, "hi"],
            "answered HTTP 401 Unauthorized to the POST: a token is required",
        ),
        (&["sub", &stomp, "-t", "/topic/t"], stomp_error),
        (&["pub", &stomp, "-t", "/topic/t", "hi"], stomp_error),
        (&["sub", &sockjs, "-t", "/topic/t"], stomp_error),
    ];
    for (args, says) in cases {
        let out = run_within(args, LIMIT);
        let stderr = assert_code(&out, 4);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        if !args.contains(&stomp.as_str()) && !args.contains(&sockjs.as_str()) {
            assert!(
                stderr.contains("(credentials needed: --token TOKEN, -H 'Authorization: …'"),
                "{args:?}: {stderr}"
            );
        }
    }

    // A wrong token, however it is given, is refused the same way; -vv
    // shows the request but not the token.
    let ws_wrong = format!("ws://{a}/t?token={WRONG}");
    let wrong: [(&[&str], &str); 4] = [
        (
            &["-vv", "sub", &ws_wrong],
            "HTTP 401 Unauthorized: wrong token: this broker does not know the one given",
        ),
        (
            &["-vv", "sub", &http, "--token", WRONG],
            "HTTP 401 Unauthorized instead of an event stream: wrong token",
        ),
        (
            &[
                "-vv",
                "pub",
                &http,
                "-H",
                &format!("Authorization: Bearer {WRONG}"),
                "x",
            ],
            "HTTP 401 Unauthorized to the POST: wrong token",
        ),
        (
            &[
                "-vv",
                "sub",
                &stomp,
                "-t",
                "/topic/t",
                "--user",
                "u",
                "--password",
                WRONG,
            ],
            "sent ERROR: wrong token: the passcode is not one this broker knows",
        ),
    ];
    for (args, says) in wrong {
        let out = run_within(args, LIMIT);
        let stderr = assert_code(&out, 4);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(stderr.contains("[redacted]"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains(WRONG),
            "{args:?} showed the token: {stderr}"
        );
    }

    // Nothing was published, no topic made; the refusals are in the log,
    // by path, without their query.
    let stats = b.stats();
    assert_eq!(stats["topics"], serde_json::json!([]), "{stats}");
    b.wait_for_log("refused GET /t: no token");
    b.wait_for_log("refused POST /t: no token");
    b.wait_for_log("refused GET /t: wrong token");
    b.wait_for_log("refused POST /t: wrong token");
    b.wait_for_log("ERROR wrong token: the passcode is not one this broker knows");
    assert_log_has_no_token(&b);
}

#[test]
fn the_token_as_bearer_query_env_or_passcode_reaches_every_transport() {
    let b = Broker::start_with(&["--token", TOKEN, "--token", "another"]);
    let a = b.addr;
    let bearer = format!("Authorization: Bearer {TOKEN}");
    let stomp = format!("stomp+ws://{a}/_/stomp");
    let sockjs = format!("stomp+sockjs+http://{a}/_/sockjs");
    let sub = |url: &str, extra: &[&str]| {
        let mut cmd = pubcat();
        cmd.args([
            "-vv",
            "sub",
            url,
            "-n",
            "2",
            "-o",
            "raw",
            "--timeout",
            "50s",
        ])
        .args(extra);
        Lines::spawn(cmd)
    };
    let live = [
        ("ws --token", sub(&b.url("t"), &["--token", TOKEN])),
        ("ws ?token=", sub(&format!("ws://{a}/t?token={TOKEN}"), &[])),
        ("sse -H", sub(&format!("http://{a}/t"), &["-H", &bearer])),
        (
            "stomp passcode",
            sub(
                &stomp,
                &["-t", "/topic/t", "--user", "ignored", "--password", TOKEN],
            ),
        ),
        ("stomp -H", sub(&stomp, &["-t", "/topic/t", "-H", &bearer])),
        (
            "sockjs passcode",
            sub(&sockjs, &["-t", "/topic/t", "--password", TOKEN]),
        ),
        (
            "sockjs xhr ?token=",
            sub(
                &format!("{sockjs}?token={TOKEN}"),
                &["-t", "/topic/t", "--sockjs-transport", "xhr-streaming"],
            ),
        ),
    ];
    b.wait_for_subscribers("t", 7);
    // POST with ?token=, then a WebSocket publisher with PUBCAT_TOKEN.
    let (status, body) = common::http(a, "POST", &format!("/t?token={TOKEN}"), b"one");
    assert_eq!((status, body.as_slice()), (200, &b"{\"id\":1}\n"[..]));
    let out = pubcat()
        .env("PUBCAT_TOKEN", TOKEN)
        .args(["-vv", "pub", &b.url("t"), "two"])
        .output()
        .unwrap();
    let stderr = assert_code(&out, 0);
    assert!(!stderr.contains(TOKEN), "{stderr}");
    assert!(
        stderr.contains("authorization: [redacted]"),
        "PUBCAT_TOKEN was not sent: {stderr}"
    );
    // Long-poll from the start of history, the token in the query.
    let poll = sub(
        &format!("http://{a}/t?since=0&token={TOKEN}"),
        &["--transport", "poll"],
    );
    for (name, lines) in live.into_iter().chain([("poll ?token=", poll)]) {
        let (code, got, stderr) = lines.finish();
        assert_eq!(code, Some(0), "{name}: {stderr}");
        assert_eq!(got, ["one", "two"], "{name}: {stderr}");
        assert!(!stderr.contains(TOKEN), "{name} showed the token: {stderr}");
    }
    assert_log_has_no_token(&b);
}

#[test]
fn subscribe_only_and_publish_only_tokens_keep_to_their_rights() {
    let b = Broker::start_with(&["--token-sub", READ, "--token-pub", WRITE]);
    let a = b.addr;
    let ws = b.url("t");
    let http = format!("http://{a}/t");
    let stomp = format!("stomp+ws://{a}/_/stomp");

    // A subscribe-only token publishes nothing, on any transport.
    let (status, body) = common::http(a, "POST", &format!("/t?token={READ}"), b"no");
    assert_eq!(status, 403);
    assert_eq!(body, b"this token may subscribe but not publish\n");
    let out = run_within(&["pub", &ws, "--token", READ, "no"], LIMIT);
    let stderr = assert_code(&out, 4);
    assert!(
        stderr.contains("1008 policy violation: this token may subscribe but not publish"),
        "{stderr}"
    );
    // (The passcode's rights: the HTTP request has no token.)
    let out = run_within(
        &["pub", &stomp, "-t", "/topic/t", "--password", READ, "no"],
        LIMIT,
    );
    let stderr = assert_code(&out, 4);
    assert!(
        stderr.contains("sent ERROR: not allowed: this token may subscribe but not publish"),
        "{stderr}"
    );
    let stats = b.stats();
    assert!(
        stats["topics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["last_id"] == 0),
        "something was published: {stats}"
    );

    // A publish-only token subscribes to nothing.
    let lacks = "this token may publish but not subscribe";
    for args in [
        &["sub", &http, "--token", WRITE][..],
        &["sub", &http, "--transport", "poll", "--token", WRITE],
        // (The HTTP request's rights: --token sends a Bearer header.)
        &["sub", &stomp, "-t", "/topic/t", "--token", WRITE],
    ] {
        let out = run_within(args, LIMIT);
        let stderr = assert_code(&out, 4);
        assert!(stderr.contains(lacks), "{args:?}: {stderr}");
    }
    // Its WebSocket publishes but is sent nothing: not the history it
    // asks for, not what others publish. The broker drops its
    // subscription, so the topic counts no subscriber while the
    // connection is open.
    let (status, _) = common::http(a, "POST", &format!("/t?token={WRITE}"), b"kept");
    assert_eq!(status, 200);
    let mut cmd = pubcat();
    cmd.args([
        "sub",
        &format!("{ws}?since=0"),
        "--token",
        WRITE,
        "-o",
        "raw",
    ]);
    let publisher_only = Lines::spawn(cmd);
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let stats = b.stats();
        if stats["connections"] == 1 && stats["topics"][0]["subscribers"] == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{stats}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A reader gets what the publish-only socket and POST publish.
    let mut cmd = pubcat();
    cmd.args(["sub", &ws, "--token", READ, "-n", "2", "-o", "raw"]);
    let reader = Lines::spawn(cmd);
    b.wait_for_subscribers("t", 1);
    let out = pubcat()
        .args(["pub", &ws, "--token", WRITE, "over ws"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let (status, _) = common::http(a, "POST", &format!("/t?token={WRITE}"), b"over post");
    assert_eq!(status, 200);
    let (code, got, stderr) = reader.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(got, ["over ws", "over post"], "{stderr}");
    let (code, got, stderr) = publisher_only.stop();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(got.is_empty(), "a publish-only socket was sent {got:?}");
    assert_log_has_no_token(&b);
}

#[test]
fn health_is_open_and_stats_want_a_token() {
    let b = Broker::start_with(&["--token", TOKEN, "--token-pub", WRITE]);
    let a = b.addr;
    let (head, body) = exchange(a, "GET /_/health HTTP/1.1");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "ok\n");

    let (head, body) = exchange(a, "GET /_/stats HTTP/1.1");
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    assert!(head.contains("www-authenticate: Bearer\r\n"), "{head}");
    assert_eq!(
        body,
        "a token is required: send Authorization: Bearer TOKEN or add ?token=TOKEN to the URL\n"
    );
    let (head, body) = exchange(a, &format!("GET /_/stats?token={WRONG} HTTP/1.1"));
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    assert!(
        head.contains("www-authenticate: Bearer error=\"invalid_token\"\r\n"),
        "{head}"
    );
    assert_eq!(
        body,
        "wrong token: this broker does not know the one given\n"
    );
    // Any valid token reads the stats; Basic's password is one too.
    let (head, body) = exchange(
        a,
        &format!("GET /_/stats HTTP/1.1\r\nAuthorization: Bearer {WRITE}"),
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.starts_with("{\"connections\":0,"), "{body}");
    // base64("anyone:s3cret-t0ken")
    let (head, _) = exchange(
        a,
        "GET /_/stats HTTP/1.1\r\nAuthorization: Basic YW55b25lOnMzY3JldC10MGtlbg==",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_log_has_no_token(&b);
}

#[test]
fn help_never_shows_the_token_from_the_environment() {
    for command in ["serve", "sub", "pub", "tail", "bench"] {
        let out = pubcat()
            .env("PUBCAT_TOKEN", TOKEN)
            .args([command, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("[env: PUBCAT_TOKEN]"), "{command}: {help}");
        assert!(!help.contains(TOKEN), "{command} --help showed the token");
    }
}
